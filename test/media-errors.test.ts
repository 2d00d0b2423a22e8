// Media errors (poisoned lines) under data and metadata. Data: reads of the poisoned
// range are EIO, everything else reads; a load through a DAX mapping raises SIGBUS naming
// every owner of the block (reflinks and snapshots included); scrub lists the sector with
// the same owners. Metadata: with the single profile the subvolume under the node is
// read-only and its unreadable parts fail with EIO, the rest of the file system works;
// with the dup profile everything reads and the bad copy is rewritten (healed).
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { errnoOf } from './helpers/errno-of.js';
import { chunkBytesFor } from '../src/fs/chunks.js';

/** Where a dup tree block's second copy lies: its chunk's mirror half (16 KiB nodes). */
function mirror(dev: { sizeBytes: number }): number {
  return chunkBytesFor(dev.sizeBytes - (dev.sizeBytes % 4096), 16384, 2) / 2;
}

const BLOCK = 4096;

function pattern(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 7 + seed * 13 + (i >> 12)) & 255);
}

const code = errnoOf;

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function pread(fs: FileSystem, path: string, length: number, offset: number): Uint8Array {
  const fd = fs.open(path);
  try { return fs.pread(fd, length, offset); } finally { fs.close(fd); }
}

async function device(): Promise<PmemDevice> {
  return PmemDevice.create({ sizeBytes: 16 << 20, maxThreads: 2 });
}

describe('media errors in data', () => {
  it('EIO for the poisoned range only; SIGBUS and scrub name every owner (reflink, snapshot)', async () => {
    const dev = await device();
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const a = pattern(4 * BLOCK, 1), other = pattern(4 * BLOCK, 2);
    fs.createSubvolume('/vol');
    fs.writeFile('/vol/a', a);
    fs.cloneFile('/vol/a', '/vol/b');
    fs.writeFile('/other', other);
    fs.snapshot('/vol', '/snap');
    fs.commit();
    const extent = fs.fileExtents('/vol/a')[0]!;
    const bad = extent.diskBytenr + BLOCK + 64; // a line in the second sector
    dev.poison(bad);

    const sharing = ['/vol/a', '/vol/b', '/snap/a', '/snap/b'];
    for (const path of sharing) {
      expect(code(() => pread(fs, path, BLOCK, BLOCK)), path).toBe('EIO');
      // The rest of the sector too: its checksum cannot be checked without the poisoned line.
      expect(code(() => pread(fs, path, 10, BLOCK + 4000)), `${path}: the same sector`).toBe('EIO');
      expect(same(pread(fs, path, BLOCK, 0), a.subarray(0, BLOCK)), `${path}: first sector`).toBe(true);
      expect(same(pread(fs, path, 2 * BLOCK, 2 * BLOCK), a.subarray(2 * BLOCK)), `${path}: last sectors`).toBe(true);
    }
    expect(same(fs.readFile('/other'), other)).toBe(true);

    const ino = fs.stat('/vol/a').ino, cloneIno = fs.stat('/vol/b').ino;
    const vol = fs.stat('/vol/a').subvolume, snap = fs.stat('/snap/a').subvolume;
    const expected = [
      { subvolume: vol, ino, offset: BLOCK + 64 }, { subvolume: vol, ino: cloneIno, offset: BLOCK + 64 },
      { subvolume: snap, ino, offset: BLOCK + 64 }, { subvolume: snap, ino: cloneIno, offset: BLOCK + 64 },
    ];
    const byKey = (x: { subvolume: number; ino: number }, y: { subvolume: number; ino: number }): number => x.subvolume - y.subvolume || x.ino - y.ino;
    expect([...fs.blockOwners(bad).files].sort(byKey)).toEqual(expected);

    // A load through a mapping: the page maps (the fault does not read it), the load hits the poison.
    const m = fs.mmap('/vol/a', { length: 4 * BLOCK, prot: 'r' });
    expect(same(m.load(0, BLOCK), a.subarray(0, BLOCK))).toBe(true);
    let sigbus: (FsError & { owners?: { files: typeof expected; mappings: Array<{ mapping: number; offset: number }> } }) | null = null;
    try { m.load(BLOCK, 128); } catch (e) { sigbus = e as typeof sigbus; }
    expect(sigbus).toBeInstanceOf(FsError);
    expect(sigbus!.code).toBe('SIGBUS');
    // The fault names the page (its owners at the page's offset in each file).
    const pageOwners = expected.map((o) => ({ ...o, offset: BLOCK }));
    expect([...sigbus!.owners!.files].sort(byKey)).toEqual(pageOwners);
    expect(sigbus!.owners!.mappings.map((x) => x.offset)).toEqual([BLOCK]);
    for (const o of pageOwners) expect(sigbus!.message).toContain(`subvolume ${o.subvolume} inode ${o.ino} offset ${o.offset}`);
    m.unmap();

    const report = fs.scrub();
    expect(report.csumErrors).toBe(1);
    expect(report.metadataErrors).toBe(0);
    const err = report.errors[0]!;
    expect(err).toMatchObject({ kind: 'data-csum', bytenr: extent.diskBytenr + BLOCK, detail: 'media error' });
    expect([...err.owners!].sort(byKey)).toEqual(expected.map((o) => ({ ...o, offset: BLOCK })));
    expect(fs.fsck()).toEqual([]); // the metadata is intact

    // Rewriting the file moves it off the bad sector; the snapshot still holds it.
    fs.writeFile('/vol/a', a);
    fs.commit();
    expect(same(fs.readFile('/vol/a'), a)).toBe(true);
    expect(code(() => fs.readFile('/snap/a'))).toBe('EIO');
  });
});

/** Two subvolumes with files; returns the tree root of /x (a leaf: few items). */
async function twoSubvolumes(profile: 'single' | 'dup'): Promise<{ dev: PmemDevice; x: number; files: Map<string, Uint8Array> }> {
  const dev = await device();
  FileSystem.mkfs(dev, { metadataProfile: profile });
  const fs = FileSystem.mount(dev);
  const files = new Map<string, Uint8Array>();
  for (const dir of ['/x', '/y']) {
    fs.createSubvolume(dir);
    for (let i = 0; i < 3; i++) files.set(`${dir}/f${i}`, pattern(BLOCK + i * 1000, i + dir.length));
  }
  files.set('/top', pattern(3000, 9));
  for (const [path, bytes] of files) fs.writeFile(path, bytes);
  fs.commit();
  const x = fs.subvolume(fs.stat('/x').subvolume)!.tree.root;
  fs.unmount();
  return { dev, x, files };
}

describe('media errors in metadata', () => {
  it('single: the subvolume under the poisoned node is read-only with EIO reads; the rest works', async () => {
    const { dev, x, files } = await twoSubvolumes('single');
    dev.poison(x + 256);
    const fs = FileSystem.mount(dev);
    for (const [path, bytes] of files) {
      if (path.startsWith('/x/')) expect(code(() => fs.readFile(path)), path).toBe('EIO');
      else expect(same(fs.readFile(path), bytes), path).toBe(true);
    }
    expect(code(() => fs.readdir('/x'))).toBe('EIO');
    // Read-only in memory; creating a file there fails on the unreadable directory first.
    const damaged = fs.subvolume(fs.subvolumeIds().find((id) => id >= 256 && fs.subvolume(id)!.tree.root === x)!)!;
    expect(damaged.damaged?.reason).toMatch(/media error/);
    expect(['EIO', 'EROFS']).toContain(code(() => fs.writeFile('/x/new', pattern(10, 1))));
    fs.writeFile('/y/new', pattern(5000, 4));
    fs.commit();
    expect(same(fs.readFile('/y/new'), pattern(5000, 4))).toBe(true);
    const report = fs.scrub();
    expect(report.metadataErrors).toBe(1);
    expect(report.metadataRepaired).toBe(0);
    expect(report.errors).toContainEqual(expect.objectContaining({ kind: 'metadata', bytenr: x }));
    expect(report.errors.find((e) => e.bytenr === x)!.detail).toMatch(/media error/);
    expect(fs.fsck().some((p) => p.includes(`${x}`) && p.includes('media error'))).toBe(true);
    // The poison is still there: a second mount sees the same.
    fs.unmount();
    expect(code(() => FileSystem.mount(dev).readFile('/x/f0'))).toBe('EIO');
  });

  it('dup: a poisoned first copy is read from the second and rewritten; everything reads', async () => {
    const { dev, x, files } = await twoSubvolumes('dup');
    dev.poison(x + 256);
    const fs = FileSystem.mount(dev);
    for (const [path, bytes] of files) expect(same(fs.readFile(path), bytes), path).toBe(true);
    expect(fs.kernel.healedCopies).toBe(1);
    expect(dev.lineInfo(x + 256).poisoned).toBe(false);
    expect(same(dev.load(x, 16384), dev.load(x + mirror(dev), 16384))).toBe(true);
    fs.writeFile('/x/new', pattern(100, 3));
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    expect(fs.scrub()).toMatchObject({ metadataErrors: 0, csumErrors: 0 });
  });

  it('dup: a poisoned second copy is found by fsck and repaired by scrub', async () => {
    const { dev, x, files } = await twoSubvolumes('dup');
    dev.poison(x + mirror(dev) + 512);
    const fs = FileSystem.mount(dev);
    for (const [path, bytes] of files) expect(same(fs.readFile(path), bytes), path).toBe(true);
    expect(fs.kernel.healedCopies).toBe(0); // reads use the first copy
    expect(fs.fsck()).toEqual([expect.stringContaining(`tree block ${x} copy 2: media error`)]);
    const report = fs.scrub();
    expect(report).toMatchObject({ metadataErrors: 1, metadataRepaired: 1 });
    expect(report.errors[0]).toMatchObject({ kind: 'metadata', bytenr: x, copy: 2, repaired: true });
    expect(dev.lineInfo(x + mirror(dev) + 512).poisoned).toBe(false);
    expect(fs.scrub()).toMatchObject({ metadataErrors: 0, metadataRepaired: 0 });
    expect(fs.fsck()).toEqual([]);
  });

  it('dup: both copies poisoned is EIO, as single', async () => {
    const { dev, x, files } = await twoSubvolumes('dup');
    dev.poison(x + 256);
    dev.poison(x + mirror(dev) + 256);
    const fs = FileSystem.mount(dev);
    for (const [path, bytes] of files) {
      if (path.startsWith('/x/')) expect(code(() => fs.readFile(path)), path).toBe('EIO');
      else expect(same(fs.readFile(path), bytes), path).toBe(true);
    }
    const report = fs.scrub();
    expect(report).toMatchObject({ metadataErrors: 2, metadataRepaired: 0 });
  });

  it('dup: crash images mount the last commit, fsck clean (both copies written before the superblock)', async () => {
    const dev = await device();
    FileSystem.mkfs(dev, { metadataProfile: 'dup' });
    const fs = FileSystem.mount(dev);
    for (let i = 0; i < 20; i++) fs.writeFile(`/c${i}`, pattern(3000 + i, i));
    fs.commit();
    for (let i = 0; i < 20; i++) fs.writeFile(`/c${i}`, pattern(100, 50 + i)); // not committed
    const into = await device();
    for (const seed of [1, 2, 3, 4]) {
      const image = dev.crash({ mode: 'random', seed, into });
      const after = FileSystem.mount(image);
      expect(after.statfs().generation).toBe(fs.statfs().generation);
      for (let i = 0; i < 20; i++) expect(same(after.readFile(`/c${i}`), pattern(3000 + i, i))).toBe(true);
      expect(after.fsck()).toEqual([]);
      expect(after.scrub()).toMatchObject({ metadataErrors: 0, csumErrors: 0 });
    }
  });
});
