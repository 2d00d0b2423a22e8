// Images pmcow did not write: a 128 MiB image made by mkfs.btrfs 6.2 from a sample tree
// (scripts/make-mkfs-fixture.sh) mounts, its files read back as the tree had them, the
// mount's adoption (src/fs/adopt.ts) leaves an image fsck calls clean and pmcow keeps
// using; features pmcow does not run are refused by name. (npm run check:btrfs-progs also
// runs btrfs check on the adopted images, over more sample trees and mkfs options.)
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/fs/filesystem.js';
import { unpackImage } from './helpers/image-pack.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'mkfs-btrfs-6.2-rootdir.pack.gz');

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
    expect(fs.adoption).toEqual({ freeSpaceTreeDropped: true, dataRefsKeyed: 3, sharedBlockRefsKeyed: 0, csumItemsRewritten: 3, inlineExtentsMoved: 2 });
    expect(filesOf(fs)).toEqual(sampleTree());
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
    expect(filesOf(fs)).toEqual(want);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
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
