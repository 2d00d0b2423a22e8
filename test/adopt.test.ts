// Images pmcow did not write: a 128 MiB image made by mkfs.btrfs 6.2 from a sample tree
// (scripts/make-mkfs-fixture.sh) mounts, its files read back as the tree had them, the
// mount's adoption (src/fs/adopt.ts) leaves an image fsck calls clean and pmcow keeps
// using; features pmcow does not run are refused by name. (npm run check:btrfs-progs also
// runs btrfs check on the adopted images, over more sample trees and mkfs options.)
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PmemDevice, Rng } from '../src/index.js';
import { FsError } from '../src/errors.js';
import { FileSystem } from '../src/filesystem.js';
import { unpackImage } from './helpers/image-pack.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'mkfs-btrfs-6.2-rootdir.pack.gz');
/** 12 MiB of data: mkfs.btrfs's second and third data chunks lie elsewhere on the device. */
const LARGE = join(import.meta.dirname, 'fixtures', 'mkfs-btrfs-6.2-rootdir-large.pack.gz');

/** The sample tree's files, by the rules scripts/make-mkfs-fixture.sh made them with. */
function sampleTree(): Map<string, Uint8Array> {
  const medium = new Uint8Array(20000).map((_, i) => (i * 7) & 255);
  const sparse = new Uint8Array(1 << 20);
  sparse[700000] = 120;
  return new Map([
    ['/small', new TextEncoder().encode('hello, btrfs')],
    ['/medium', medium],
    ['/sparse', sparse],
    ['/empty', new Uint8Array(0)],
    ['/d1/d2/n', new TextEncoder().encode('nested\n')],
    ['/d1/large', new Uint8Array(70000).map((_, i) => (i >> 8) & 255)],
    ['/d1/link', medium],
  ]);
}

/** Every regular file under `dir`, with its bytes. */
function filesOf(fs: FileSystem, dir = '/'): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of fs.readdir(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    if (fs.stat(path).kind !== 'file') for (const [p, b] of filesOf(fs, path)) out.set(p, b);
    else out.set(path, fs.readFile(path));
  }
  return out;
}

/** Paths whose bytes differ between two file maps (compared as bytes: deep equality of megabytes is slow). */
function differences(got: Map<string, Uint8Array>, want: Map<string, Uint8Array>): string[] {
  const out: string[] = [];
  for (const [path, bytes] of want) {
    const g = got.get(path);
    if (!g || g.length !== bytes.length || Buffer.compare(g, bytes) !== 0) out.push(path);
  }
  for (const path of got.keys()) if (!want.has(path)) out.push(path);
  return out;
}

/** The image with its superblock copies edited by `edit` (checksums put right). */
function withSuperblock(image: Uint8Array, edit: (dv: DataView) => void, crc: (b: Uint8Array) => number): Uint8Array {
  const out = image.slice();
  for (const at of [64 << 10, 64 << 20]) {
    const sb = out.subarray(at, at + 4096);
    const dv = new DataView(sb.buffer, sb.byteOffset, 4096);
    if (dv.getBigUint64(64, true) !== 0x4d5f53665248425fn) continue; // no copy here
    edit(dv);
    dv.setUint32(0, crc(sb.subarray(32)), true);
  }
  return out;
}

describe('images made by mkfs.btrfs', () => {
  it('mount: the sample tree reads back, the adoption is reported and fsck finds nothing; pmcow writes on and mounts it again without adopting', async () => {
    const dev = await PmemDevice.fromImage(unpackImage(FIXTURE));
    let fs = FileSystem.mount(dev);
    expect(fs.adoption).toEqual({ freeSpaceTreeDropped: true, dataRefsKeyed: 3, sharedBlockRefsKeyed: 0, csumItemsRewritten: 3, inlineExtentsMoved: 2, dataExtentsMoved: 0, mappedDataChunksRemoved: 0 });
    expect(differences(filesOf(fs), sampleTree())).toEqual([]);
    expect(fs.stat('/medium').nlink).toBe(2);
    expect(fs.stat('/d1/link').ino).toBe(fs.stat('/medium').ino);
    expect(fs.fsck()).toEqual([]);
    // Written on: a new file, an overwrite of an adopted one, a hard link, a subvolume and a snapshot.
    fs.writeFile('/new', new Uint8Array(9000).fill(5));
    const fd = fs.open('/medium');
    fs.pwrite(fd, new Uint8Array(100).fill(9), 4096);
    fs.close(fd);
    fs.link('/d1/large', '/d1/large2');
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/f', new Uint8Array(5000).fill(6));
    fs.snapshot('/sv', '/snap');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    fs = FileSystem.mount(dev);
    expect(fs.adoption).toBeNull();
    const want = sampleTree();
    const medium = want.get('/medium')!.slice();
    medium.fill(9, 4096, 4196);
    want.set('/medium', medium).set('/d1/link', medium).set('/new', new Uint8Array(9000).fill(5));
    want.set('/d1/large2', want.get('/d1/large')!).set('/sv/f', new Uint8Array(5000).fill(6)).set('/snap/f', new Uint8Array(5000).fill(6));
    expect(differences(filesOf(fs), want)).toEqual([]);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
  });

  it('data chunks whose stripe lies elsewhere (mkfs.btrfs\'s second and third) are emptied, their data written again where DAX maps it, and removed', async () => {
    const dev = await PmemDevice.fromImage(unpackImage(LARGE));
    let fs = FileSystem.mount(dev);
    const report = fs.adoption!;
    expect(report.mappedDataChunksRemoved).toBe(2);
    expect(report.dataExtentsMoved).toBeGreaterThan(0);
    const big1 = new Uint8Array(6 << 20).map((_, i) => (i * 31 + (i >> 12)) & 255);
    const big2 = new Uint8Array((6 << 20) + 1234).map((_, i) => ((i >> 9) ^ (i & 7)) & 255);
    const want = new Map([['/big1', big1], ['/big2', big2], ['/small', new TextEncoder().encode('still here')]]);
    expect(differences(filesOf(fs), want)).toEqual([]);
    expect(fs.fsck()).toEqual([]);
    // Every data chunk left is mapped 1:1: the chunk items say a stripe at the logical start.
    for (const it of fs.kernel.chunkTree.range({ objectid: 256, type: 228, offset: 0 }, { objectid: 256, type: 228, offset: 2 ** 53 - 1 })) {
      const dv = new DataView(it.data.buffer, it.data.byteOffset);
      if ((dv.getBigUint64(24, true) & 7n) === 1n) expect(Number(dv.getBigUint64(48 + 8, true))).toBe(it.key.offset);
    }
    // Through DAX: a mapping reads the bytes the file holds.
    const map = fs.mmap('/big2', { offset: 5 << 20, length: 8192, prot: 'r' });
    expect(map.load(4096, 16)).toEqual(big2.subarray((5 << 20) + 4096, (5 << 20) + 4112));
    map.unmap();
    fs.unmount();
    fs = FileSystem.mount(dev);
    expect(fs.adoption).toBeNull();
    expect(differences(filesOf(fs), want)).toEqual([]);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
  });

  it('a crash at any point of the adoption leaves an image that mounts with the same files: still revision 0, adopted again', async () => {
    const image = unpackImage(LARGE);
    const big1 = new Uint8Array(6 << 20).map((_, i) => (i * 31 + (i >> 12)) & 255);
    const big2 = new Uint8Array((6 << 20) + 1234).map((_, i) => ((i >> 9) ^ (i & 7)) & 255);
    const want = new Map([['/big1', big1], ['/big2', big2], ['/small', new TextEncoder().encode('still here')]]);
    // The adoption's stores, counted.
    const counting = await PmemDevice.fromImage(image);
    let stores = 0;
    counting.beforeStore = () => { stores++; };
    FileSystem.mount(counting).unmount();
    counting.close();
    expect(stores).toBeGreaterThan(10);
    const cuts = [1, 2, 3, ...Array.from({ length: 9 }, (_, i) => Math.floor(((i + 1) * stores) / 10)), stores - 1];
    for (const cut of cuts) {
      const dev = await PmemDevice.fromImage(image);
      let n = 0;
      dev.beforeStore = () => { if (++n === cut) throw new Error('crash'); };
      expect(() => FileSystem.mount(dev)).toThrow(/crash/);
      dev.beforeStore = null;
      for (const mode of ['strict', 'random'] as const) {
        const crashed = dev.crash({ mode, seed: cut });
        const fs = FileSystem.mount(crashed);
        // Its superblock says revision 0 until the adoption's last commit: adopted again.
        expect(fs.adoption, `crash at store ${cut} of ${stores} (${mode})`).not.toBeNull();
        expect(differences(filesOf(fs), want), `crash at store ${cut} of ${stores} (${mode})`).toEqual([]);
        expect(fs.fsck(), `crash at store ${cut} (${mode})`).toEqual([]);
        fs.unmount();
        crashed.close();
      }
      dev.close();
    }
  });

  it('damaged mkfs.btrfs images (bits flipped in tree blocks, checksums put right): the adopting mount fails with an FsError naming the damage, or mounts; never an internal error', async () => {
    const image = unpackImage(FIXTURE);
    const node = 16384;
    const dv = new DataView(image.buffer);
    const fsid = image.subarray((64 << 10) + 32, (64 << 10) + 48);
    const blocks: number[] = [];
    for (let at = 1 << 20; at + node <= image.length; at += 4096) {
      if (image.subarray(at + 32, at + 48).every((b, i) => b === fsid[i]) && dv.getBigUint64(at + 48, true) !== 0n) blocks.push(at);
    }
    expect(blocks.length).toBeGreaterThan(10);
    const crcDev = await PmemDevice.create({ sizeBytes: 2 << 20 });
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= 80; seed++) {
      const rng = new Rng(seed);
      const img = image.slice();
      const b = blocks[rng.below(blocks.length)]!;
      const items = new DataView(img.buffer).getUint32(b + 96, true);
      for (let f = 0; f <= rng.below(4); f++) {
        // Item headers or item data (the end of a leaf), where a flip changes what is read.
        const at = rng.below(2) ? b + 101 + rng.below(Math.max(1, Math.min(items, 600) * 25)) : b + node - 1 - rng.below(3000);
        img[at]! ^= 1 << rng.below(8);
      }
      new DataView(img.buffer).setUint32(b, crcDev.crc32cBytes(img.subarray(b + 32, b + node)), true);
      const dev = await PmemDevice.fromImage(img);
      let outcome: string;
      try {
        const fs = FileSystem.mount(dev);
        outcome = fs.fsck().length ? 'mounted, damage found' : 'mounted clean';
        fs.unmount();
      } catch (e) {
        expect(e, `seed ${seed}`).toBeInstanceOf(FsError);
        expect((e as FsError).code, `seed ${seed}: ${(e as Error).message}`).not.toBe('EFAULT');
        outcome = (e as FsError).code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      dev.close();
    }
    crcDev.close();
    expect(outcomes.get('mounted, damage found') ?? 0, JSON.stringify([...outcomes])).toBeGreaterThan(0);
  });

  it('refuses, by name, the features pmcow does not run: compression, a tree-log, a second device, the block group tree', async () => {
    const image = unpackImage(FIXTURE);
    const crcDev = await PmemDevice.create({ sizeBytes: 2 << 20 });
    const crc = (b: Uint8Array): number => crcDev.crc32cBytes(b);
    const cases: Array<[(dv: DataView) => void, RegExp]> = [
      [(dv) => dv.setBigUint64(188, dv.getBigUint64(188, true) | (1n << 4n), true), /EOPNOTSUPP: zstd compression/],
      [(dv) => dv.setBigUint64(96, 30408704n, true), /EOPNOTSUPP: a tree-log at 30408704/],
      [(dv) => dv.setBigUint64(136, 2n, true), /EOPNOTSUPP: 2 devices/],
      [(dv) => dv.setBigUint64(180, dv.getBigUint64(180, true) | (1n << 3n), true), /EOPNOTSUPP: the block group tree/],
    ];
    for (const [edit, why] of cases) {
      const dev = await PmemDevice.fromImage(withSuperblock(image, edit, crc));
      expect(() => FileSystem.mount(dev)).toThrow(why);
      dev.close();
    }
    crcDev.close();
  });
});
