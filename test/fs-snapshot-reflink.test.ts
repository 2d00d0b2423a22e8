// Snapshots, reflinks, nodatacow, scrub and the error contract, one scenario at a time.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import type { ErrnoName } from '../src/errors.js';
import { patternBytes } from '../src/workload/pattern.js';
import { expectSameBytes } from './helpers/device.js';

const MiB = 1 << 20;
const BLOCK = 4096;

async function freshFs(size = 64 * MiB): Promise<[PmemDevice, FileSystem]> {
  const dev = await PmemDevice.create({ sizeBytes: size });
  FileSystem.mkfs(dev);
  return [dev, FileSystem.mount(dev)];
}

function rnd(len: number, seed: number): Uint8Array {
  return patternBytes(seed, len);
}

/** Blocks that each start with a unique 32-byte marker "<tag>#<block>" (the rest random). */
function tagged(tag: string, blocks: number, seed = 1): Uint8Array {
  const out = rnd(blocks * BLOCK, seed);
  for (let b = 0; b < blocks; b++) out.set(marker(tag, b), b * BLOCK);
  return out;
}

function marker(tag: string, block: number): Uint8Array {
  const m = new Uint8Array(32).fill(0x2e);
  m.set(new TextEncoder().encode(`PMCOWTEST:${tag}#${block}`).subarray(0, 32));
  return m;
}

/** Device addresses where `pattern` starts (scanning the visible bytes in 1 MiB chunks). */
function findOnDevice(dev: PmemDevice, pattern: Uint8Array): number[] {
  const found: number[] = [];
  const chunk = MiB;
  for (let base = 0; base < dev.sizeBytes; base += chunk) {
    // Overlap by the pattern length so a match across a chunk boundary is not missed.
    const len = Math.min(chunk + pattern.length - 1, dev.sizeBytes - base);
    const bytes = Buffer.from(dev.load(base, len));
    for (let at = bytes.indexOf(pattern); at >= 0 && at < chunk; at = bytes.indexOf(pattern, at + 1)) found.push(base + at);
  }
  return found;
}

function theAddress(dev: PmemDevice, pattern: Uint8Array, what: string): number {
  const found = findOnDevice(dev, pattern);
  expect(found.length, `${what}: copies of the marker on the device (${found.join(', ')})`).toBe(1);
  return found[0]!;
}

function expectCode(fn: () => unknown, codes: ErrnoName | ErrnoName[], what?: string): void {
  const allowed = Array.isArray(codes) ? codes : [codes];
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  const label = what ?? fn.toString().replace(/\s+/g, ' ').slice(0, 120);
  if (!(caught instanceof FsError)) {
    const detail = caught === undefined ? 'it succeeded' : `got ${(caught as Error)?.name}: ${(caught as Error)?.message}`;
    expect.fail(`${label}: expected an FsError ${allowed.join(' or ')}, ${detail}`);
  }
  expect(allowed, `${label}: code ${caught.code}`).toContain(caught.code);
}

/** Run fn; return the FsError it throws, or undefined; anything else is rethrown. */
function attemptFs(fn: () => unknown): FsError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof FsError) return e;
    throw e;
  }
}

function pwriteAt(fs: FileSystem, path: string, data: Uint8Array, offset: number): void {
  const fd = fs.open(path);
  try {
    expect(fs.pwrite(fd, data, offset)).toBe(data.length);
  } finally {
    fs.close(fd);
  }
}

describe('snapshots', () => {
  it('isolate: writes to the source do not reach the snapshot and vice versa, across remount', async () => {
    const [dev, fs] = await freshFs();
    const A = rnd(300_000, 1);
    const B = rnd(5000, 2);
    fs.mkdir('/d');
    fs.writeFile('/d/a', A);
    fs.writeFile('/b', B);
    fs.link('/b', '/d/b-link');
    fs.commit();
    fs.snapshot('/', '/s1');
    expect(fs.stat('/s1').kind).toBe('subvolume');
    expect(fs.stat('/s1').subvolume).not.toBe(fs.stat('/').subvolume);
    expect(fs.stat('/s1/d/a').subvolume).toBe(fs.stat('/s1').subvolume);
    expect(fs.stat('/d/a').subvolume).toBe(5);
    expect(fs.readdir('/s1').sort()).toEqual(['b', 'd']);
    // Change the source in every way.
    pwriteAt(fs, '/d/a', rnd(10_000, 3), 4096);
    fs.truncate('/b', 10);
    fs.writeFile('/new', rnd(100, 4));
    fs.rename('/d/b-link', '/d/renamed');
    fs.mkdir('/d/sub');
    // Change the snapshot.
    const C = rnd(70_000, 5);
    fs.writeFile('/s1/d/a2', C);
    fs.punchHole('/s1/b', 0, 4096);
    const A2 = A.slice();
    A2.set(rnd(10_000, 3), 4096);
    const B2 = B.slice(0, 10);
    const Bs = B.slice();
    Bs.fill(0, 0, 4096);
    const check = (f: FileSystem, when: string): void => {
      expectSameBytes(f.readFile('/d/a'), A2, `/d/a ${when}`);
      expectSameBytes(f.readFile('/b'), B2, `/b ${when}`);
      expectSameBytes(f.readFile('/d/renamed'), B2, `/d/renamed (a link of /b) ${when}`);
      expect(f.exists('/d/a2')).toBe(false);
      expect(f.readdir('/d').sort()).toEqual(['a', 'renamed', 'sub']);
      expectSameBytes(f.readFile('/s1/d/a'), A, `/s1/d/a ${when}`);
      expectSameBytes(f.readFile('/s1/b'), Bs, `/s1/b ${when}`);
      expectSameBytes(f.readFile('/s1/d/b-link'), Bs, `/s1/d/b-link (a link of /s1/b) ${when}`);
      expectSameBytes(f.readFile('/s1/d/a2'), C, `/s1/d/a2 ${when}`);
      expect(f.exists('/s1/new')).toBe(false);
      expect(f.readdir('/s1/d').sort()).toEqual(['a', 'a2', 'b-link']);
      expect(f.stat('/s1/b').nlink).toBe(2);
      expect(f.stat('/b').nlink).toBe(2);
    };
    check(fs, 'before remount');
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    check(fs2, 'after remount');
    expect(fs2.fsck()).toEqual([]);
  });

  it('a snapshot of a snapshot, and subvolumes created empty', async () => {
    const [, fs] = await freshFs();
    fs.writeFile('/f', rnd(9000, 6));
    fs.snapshot('/', '/s1');
    fs.writeFile('/s1/f', rnd(100, 7));
    fs.snapshot('/s1', '/s2');
    fs.writeFile('/s1/f', rnd(200, 8));
    expectSameBytes(fs.readFile('/s2/f'), rnd(100, 7), '/s2/f');
    expectSameBytes(fs.readFile('/f'), rnd(9000, 6), '/f');
    fs.createSubvolume('/sv');
    expect(fs.readdir('/sv')).toEqual([]);
    expect(fs.stat('/sv').kind).toBe('subvolume');
    fs.writeFile('/sv/x', rnd(10, 9));
    expectCode(() => fs.createSubvolume('/sv'), 'EEXIST');
    expectCode(() => fs.snapshot('/', '/sv'), 'EEXIST');
    expectCode(() => fs.createSubvolume('/nope/sv'), 'ENOENT');
    expect(fs.fsck()).toEqual([]);
  });

  it('a snapshot of a subvolume holding a subvolume: no live alias, no dangling entry once the inner one is deleted', async () => {
    const [dev, fs] = await freshFs();
    fs.createSubvolume('/inner');
    fs.writeFile('/inner/x', rnd(100, 12));
    fs.writeFile('/top', rnd(10, 13));
    fs.snapshot('/', '/outer-snap');
    expectSameBytes(fs.readFile('/outer-snap/top'), rnd(10, 13), '/outer-snap/top');
    // Whatever /outer-snap/inner is (an empty placeholder, or a copy), it is not /inner itself.
    fs.writeFile('/inner/after', rnd(5, 14));
    expect(fs.exists('/outer-snap/inner/after'), 'a write to /inner after the snapshot shows in the snapshot').toBe(false);
    if (fs.exists('/outer-snap/inner')) {
      attemptFs(() => fs.writeFile('/outer-snap/inner/mine', rnd(5, 15)));
      expect(fs.exists('/inner/mine'), 'a write through the snapshot shows in /inner').toBe(false);
    }
    expect(fs.fsck()).toEqual([]);
    fs.deleteSubvolume('/inner');
    fs.commit();
    // Every name the snapshot lists can be looked at.
    for (const name of fs.readdir('/outer-snap')) {
      const e = attemptFs(() => fs.stat(`/outer-snap/${name}`));
      expect(e?.message, `stat /outer-snap/${name} after deleting /inner`).toBeUndefined();
    }
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expect(fs2.fsck()).toEqual([]);
    for (const name of fs2.readdir('/outer-snap')) {
      const e = attemptFs(() => fs2.stat(`/outer-snap/${name}`));
      expect(e?.message, `stat /outer-snap/${name} after remount`).toBeUndefined();
    }
    fs2.deleteSubvolume('/outer-snap');
    expect(fs2.readdir('/')).toEqual(['top']);
  });

  it('a readonly snapshot refuses every write with EROFS, stays readonly after remount, and can be deleted', async () => {
    const [dev, fs] = await freshFs();
    fs.mkdir('/d');
    fs.mkdir('/empty');
    fs.writeFile('/d/f', rnd(20_000, 10));
    fs.create('/zero');
    fs.snapshot('/', '/ro', { readonly: true });
    const writes: Array<[string, () => unknown]> = [
      ['writeFile existing', () => fs.writeFile('/ro/d/f', rnd(10, 1))],
      ['writeFile new', () => fs.writeFile('/ro/d/g', rnd(10, 1))],
      ['create', () => fs.create('/ro/d/g')],
      ['open create', () => fs.open('/ro/d/g', { create: true })],
      ['open truncate', () => fs.open('/ro/d/f', { truncate: true })],
      ['mkdir', () => fs.mkdir('/ro/x')],
      ['unlink', () => fs.unlink('/ro/d/f')],
      ['rmdir', () => fs.rmdir('/ro/empty')],
      ['rename inside', () => fs.rename('/ro/d/f', '/ro/d/f2')],
      ['link inside', () => fs.link('/ro/d/f', '/ro/d/f3')],
      ['truncate', () => fs.truncate('/ro/d/f', 0)],
      ['fallocate', () => fs.fallocate('/ro/d/f', 0, 100_000, {})],
      ['punchHole', () => fs.punchHole('/ro/d/f', 0, 4096)],
      ['zeroRange', () => fs.zeroRange('/ro/d/f', 0, 4096)],
      ['setNoDataCow', () => fs.setNoDataCow('/ro/zero')],
      ['cloneRange into', () => fs.cloneRange('/d/f', 0, '/ro/d/f', 0, 4096)],
      ['cloneFile into', () => fs.cloneFile('/d/f', '/ro/d/f')],
      ['snapshot into', () => fs.snapshot('/', '/ro/snap')],
      ['createSubvolume into', () => fs.createSubvolume('/ro/sv')],
    ];
    const tryAll = (): void => {
      for (const [what, fn] of writes) expectCode(fn, 'EROFS', `readonly snapshot: ${what}`);
      const fd = fs.open('/ro/d/f');
      expectCode(() => fs.pwrite(fd, rnd(10, 2), 0), 'EROFS', 'readonly snapshot: pwrite');
      expectSameBytes(fs.pread(fd, 100, 0), rnd(20_000, 10).subarray(0, 100), 'pread of a readonly file');
      fs.close(fd);
      expectSameBytes(fs.readFile('/ro/d/f'), rnd(20_000, 10), '/ro/d/f unchanged');
      expect(fs.readdir('/ro').sort()).toEqual(['d', 'empty', 'zero']);
      expect(fs.readdir('/ro/d')).toEqual(['f']);
    };
    tryAll();
    // Cloning *from* a readonly snapshot and snapshotting it writable are fine.
    fs.cloneFile('/ro/d/f', '/copy');
    expectSameBytes(fs.readFile('/copy'), rnd(20_000, 10), '/copy');
    fs.snapshot('/ro', '/rw');
    fs.writeFile('/rw/d/f', rnd(5, 3));
    expectSameBytes(fs.readFile('/rw/d/f'), rnd(5, 3), '/rw/d/f');
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expectCode(() => fs2.writeFile('/ro/d/f', rnd(10, 1)), 'EROFS', 'readonly after remount');
    expectSameBytes(fs2.readFile('/ro/d/f'), rnd(20_000, 10), '/ro/d/f after remount');
    fs2.deleteSubvolume('/ro');
    expect(fs2.exists('/ro')).toBe(false);
    expect(fs2.fsck()).toEqual([]);
  });

  it('deleteSubvolume frees the space only it referenced, after commit', async () => {
    const [dev, fs] = await freshFs();
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/big', rnd(4 * MiB, 11));
    fs.writeFile('/kept', rnd(2 * MiB, 12));
    fs.commit();
    const before = fs.statfs().usedBytes;
    fs.deleteSubvolume('/sv');
    expect(fs.exists('/sv')).toBe(false);
    expect(fs.readdir('/')).toEqual(['kept']);
    fs.commit();
    const after = fs.statfs().usedBytes;
    expect(before - after, `usedBytes ${before} -> ${after}`).toBeGreaterThanOrEqual(4 * MiB);
    // A snapshot whose data the source still references frees (almost) nothing.
    fs.snapshot('/', '/s');
    fs.commit();
    const withSnap = fs.statfs().usedBytes;
    fs.deleteSubvolume('/s');
    fs.commit();
    const without = fs.statfs().usedBytes;
    expect(withSnap - without).toBeLessThan(MiB);
    expectSameBytes(fs.readFile('/kept'), rnd(2 * MiB, 12), '/kept');
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expect(fs2.readdir('/')).toEqual(['kept']);
    expect(Math.abs(fs2.statfs().usedBytes - without)).toBeLessThan(MiB);
    expect(fs2.fsck()).toEqual([]);
  });
});

describe('reflinks', () => {
  it('cloneFile then writes to either side do not affect the other', async () => {
    const [dev, fs] = await freshFs();
    const S = rnd(MiB + 1234, 20);
    fs.writeFile('/src', S);
    fs.commit();
    fs.cloneFile('/src', '/dst');
    expectSameBytes(fs.readFile('/dst'), S, '/dst right after the clone');
    expect(fs.stat('/dst').ino).not.toBe(fs.stat('/src').ino);
    const s = S.slice();
    const d = S.slice();
    pwriteAt(fs, '/src', rnd(5000, 21), 8192);
    s.set(rnd(5000, 21), 8192);
    pwriteAt(fs, '/dst', rnd(3000, 22), 100);
    d.set(rnd(3000, 22), 100);
    fs.punchHole('/src', 65536, 65536);
    s.fill(0, 65536, 131072);
    fs.truncate('/dst', 500_000);
    const d2 = d.slice(0, 500_000);
    expectSameBytes(fs.readFile('/src'), s, '/src');
    expectSameBytes(fs.readFile('/dst'), d2, '/dst');
    // cloneRange into the middle of an existing file, and a tail reaching the source EOF.
    fs.writeFile('/mid', rnd(40_000, 23));
    const mid = rnd(40_000, 23);
    fs.cloneRange('/src', 4096, '/mid', 8192, 3 * 4096);
    mid.set(s.subarray(4096, 4096 + 3 * 4096), 8192);
    fs.cloneRange('/src', MiB, '/mid', 40_960, s.length - MiB);
    const mid2 = new Uint8Array(40_960 + s.length - MiB);
    mid2.set(mid);
    mid2.set(s.subarray(MiB), 40_960);
    expectSameBytes(fs.readFile('/mid'), mid2, '/mid');
    pwriteAt(fs, '/mid', rnd(4096, 24), 8192);
    mid2.set(rnd(4096, 24), 8192);
    expectSameBytes(fs.readFile('/src'), s, '/src after writing /mid');
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expectSameBytes(fs2.readFile('/src'), s, '/src after remount');
    expectSameBytes(fs2.readFile('/dst'), d2, '/dst after remount');
    expectSameBytes(fs2.readFile('/mid'), mid2, '/mid after remount');
    expect(fs2.fsck()).toEqual([]);
  });

  it('shared extents: a clone or a snapshot does not double usedBytes; a new copy does', async () => {
    const [, fs] = await freshFs();
    fs.writeFile('/big', rnd(4 * MiB, 30));
    fs.commit();
    const u1 = fs.statfs().usedBytes;
    fs.cloneFile('/big', '/big2');
    fs.commit();
    const u2 = fs.statfs().usedBytes;
    expect(u2 - u1, `usedBytes ${u1} -> ${u2} after a 4 MiB clone`).toBeLessThan(MiB);
    expect(fs.stat('/big2').allocatedBytes).toBeGreaterThanOrEqual(4 * MiB);
    fs.snapshot('/', '/snap');
    fs.commit();
    const u3 = fs.statfs().usedBytes;
    expect(u3 - u2, `usedBytes ${u2} -> ${u3} after a snapshot`).toBeLessThan(MiB);
    fs.writeFile('/copy', fs.readFile('/big'));
    fs.commit();
    const u4 = fs.statfs().usedBytes;
    expect(u4 - u3, `usedBytes ${u3} -> ${u4} after a real 4 MiB copy`).toBeGreaterThanOrEqual(4 * MiB);
    // Overwriting half of a shared file allocates only that half.
    pwriteAt(fs, '/big2', rnd(2 * MiB, 31), 0);
    fs.commit();
    const u5 = fs.statfs().usedBytes;
    expect(u5 - u4).toBeGreaterThanOrEqual(2 * MiB);
    expect(u5 - u4).toBeLessThan(3 * MiB);
    const st = fs.statfs();
    expect(st.usedBytes + st.freeBytes).toBeLessThanOrEqual(st.totalBytes);
    expect(fs.fsck()).toEqual([]);
  });

  it('cloneFile onto itself (same path or another hard link) keeps the data', async () => {
    const [dev, fs] = await freshFs();
    const A = rnd(10_000, 41);
    fs.writeFile('/a', A);
    fs.link('/a', '/a2');
    for (const dst of ['/a', '/a2']) {
      const e = attemptFs(() => fs.cloneFile('/a', dst));
      if (e) expect(['EINVAL']).toContain(e.code);
      expectSameBytes(fs.readFile('/a'), A, `/a after cloneFile('/a', '${dst}')`);
    }
    fs.unmount();
    expectSameBytes(FileSystem.mount(dev).readFile('/a'), A, '/a after remount');
  });

  it('a cloneFile that fails (datacow and nodatacow files) leaves the destination as it was', async () => {
    const [, fs] = await freshFs();
    fs.create('/nc');
    fs.setNoDataCow('/nc');
    fs.writeFile('/nc', rnd(8192, 42));
    const D = rnd(5000, 43);
    fs.writeFile('/d', D);
    const e = attemptFs(() => fs.cloneFile('/nc', '/d'));
    if (e) {
      expect(e.code).toBe('EINVAL');
      expectSameBytes(fs.readFile('/d'), D, '/d after a failed cloneFile');
    } else {
      expectSameBytes(fs.readFile('/d'), rnd(8192, 42), '/d after cloneFile');
    }
    const e2 = attemptFs(() => fs.cloneFile('/d', '/nc'));
    if (e2) expectSameBytes(fs.readFile('/nc'), rnd(8192, 42), '/nc after a failed cloneFile');
    expect(fs.fsck()).toEqual([]);
  });

  it('unaligned clone offsets, past-EOF sources, overlaps and directories are EINVAL/EISDIR', async () => {
    const [, fs] = await freshFs();
    fs.writeFile('/a', rnd(3 * 4096 + 10, 40));
    fs.create('/b');
    fs.mkdir('/d');
    expectCode(() => fs.cloneRange('/a', 1, '/b', 0, 4096), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', 0, '/b', 100, 4096), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', 0, '/b', 0, 100), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', 0, '/b', 0, 5 * 4096), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', 0, '/a', 4096, 2 * 4096), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', -4096, '/b', 0, 4096), 'EINVAL');
    expectCode(() => fs.cloneRange('/a', 0, '/d', 0, 4096), ['EISDIR', 'EINVAL']);
    expectCode(() => fs.cloneRange('/nope', 0, '/b', 0, 4096), 'ENOENT');
    expectCode(() => fs.cloneFile('/d', '/c'), ['EISDIR', 'EINVAL']);
    expectCode(() => fs.cloneFile('/nope', '/c'), 'ENOENT');
    // The unaligned tail reaching the source EOF is allowed.
    fs.cloneRange('/a', 4096, '/b', 0, 2 * 4096 + 10);
    expectSameBytes(fs.readFile('/b'), rnd(3 * 4096 + 10, 40).subarray(4096), '/b');
    expect(fs.fsck()).toEqual([]);
  });
});

describe('nodatacow', () => {
  it('overwrites in place; after a snapshot it COWs once (the snapshot keeps the old data), then is in place again', async () => {
    const [dev, fs] = await freshFs();
    fs.create('/nc');
    fs.setNoDataCow('/nc');
    expect(fs.stat('/nc').nodatacow).toBe(true);
    fs.writeFile('/nc', tagged('NC1', 4));
    fs.commit();
    const a1 = theAddress(dev, marker('NC1', 0), 'NC1');
    pwriteAt(fs, '/nc', tagged('NC2', 4, 2), 0);
    fs.commit();
    const a2 = theAddress(dev, marker('NC2', 0), 'NC2');
    expect(a2, 'a nodatacow overwrite lands in place').toBe(a1);
    expect(findOnDevice(dev, marker('NC1', 0))).toEqual([]);
    // Snapshot: the extent is shared, so the next overwrite must copy.
    fs.snapshot('/', '/snap');
    fs.commit();
    pwriteAt(fs, '/nc', tagged('NC3', 4, 3), 0);
    fs.commit();
    const a3 = theAddress(dev, marker('NC3', 0), 'NC3');
    expect(a3, 'the first overwrite after a snapshot is copied').not.toBe(a1);
    expect(findOnDevice(dev, marker('NC2', 0))).toEqual([a1]);
    expectSameBytes(fs.readFile('/snap/nc'), tagged('NC2', 4, 2), '/snap/nc keeps the old data');
    expectSameBytes(fs.readFile('/nc'), tagged('NC3', 4, 3), '/nc');
    // Now unshared again: in place.
    pwriteAt(fs, '/nc', tagged('NC4', 4, 4), 0);
    fs.commit();
    expect(theAddress(dev, marker('NC4', 0), 'NC4')).toBe(a3);
    expect(fs.stat('/snap/nc').nodatacow).toBe(true);
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expectSameBytes(fs2.readFile('/snap/nc'), tagged('NC2', 4, 2), '/snap/nc after remount');
    expectSameBytes(fs2.readFile('/nc'), tagged('NC4', 4, 4), '/nc after remount');
    expect(fs2.fsck()).toEqual([]);
  });

  it('a block shared inside one file (cloneRange) is copied on write, not overwritten in place', async () => {
    const [, fs] = await freshFs();
    fs.create('/nc');
    fs.setNoDataCow('/nc');
    const A = rnd(7 * BLOCK, 44);
    fs.writeFile('/nc', A);
    fs.cloneRange('/nc', BLOCK, '/nc', 5 * BLOCK, 4 * BLOCK);
    const expected = new Uint8Array(9 * BLOCK);
    expected.set(A);
    expected.set(A.subarray(BLOCK, 5 * BLOCK), 5 * BLOCK);
    expectSameBytes(fs.readFile('/nc'), expected, '/nc after the clone');
    // Partial-block writes (zeroRange, pwrite) into the cloned copy and into the original.
    fs.zeroRange('/nc', 7 * BLOCK + 305, 155);
    expected.fill(0, 7 * BLOCK + 305, 7 * BLOCK + 460);
    pwriteAt(fs, '/nc', rnd(100, 45), 2 * BLOCK + 10);
    expected.set(rnd(100, 45), 2 * BLOCK + 10);
    expectSameBytes(fs.readFile('/nc'), expected, '/nc after writes to both references');
    fs.commit();
    pwriteAt(fs, '/nc', rnd(BLOCK, 46), 6 * BLOCK);
    expected.set(rnd(BLOCK, 46), 6 * BLOCK);
    expectSameBytes(fs.readFile('/nc'), expected, '/nc after a commit and a whole-block write');
    expect(fs.fsck()).toEqual([]);
  });

  it('a regular (COW) file overwrite goes to new blocks', async () => {
    const [dev, fs] = await freshFs();
    fs.writeFile('/cow', tagged('COW1', 4));
    fs.commit();
    const a1 = theAddress(dev, marker('COW1', 0), 'COW1');
    pwriteAt(fs, '/cow', tagged('COW2', 4, 2), 0);
    fs.commit();
    const a2 = theAddress(dev, marker('COW2', 0), 'COW2');
    expect(a2).not.toBe(a1);
    expect(fs.stat('/cow').nodatacow).toBe(false);
  });

  it('setNoDataCow only on an empty regular file', async () => {
    const [, fs] = await freshFs();
    fs.writeFile('/full', rnd(10, 50));
    fs.mkdir('/d');
    expectCode(() => fs.setNoDataCow('/full'), 'EINVAL');
    expectCode(() => fs.setNoDataCow('/d'), 'EINVAL');
    expectCode(() => fs.setNoDataCow('/nope'), 'ENOENT');
    expect(fs.stat('/full').nodatacow).toBe(false);
    fs.truncate('/full', 0);
    fs.setNoDataCow('/full');
    expect(fs.stat('/full').nodatacow).toBe(true);
  });
});

describe('scrub', () => {
  it('finds a corrupted data sector; reading that file fails with EIO, other data still reads', async () => {
    const [dev, fs] = await freshFs();
    const victim = tagged('SCRUB', 16, 60);
    const other = rnd(50_000, 61);
    fs.writeFile('/victim', victim);
    fs.writeFile('/other', other);
    fs.commit();
    const clean = fs.scrub();
    expect(clean.csumErrors).toBe(0);
    expect(clean.metadataErrors).toBe(0);
    expect(clean.errors).toEqual([]);
    expect(clean.bytesChecked).toBeGreaterThanOrEqual(victim.length + other.length);
    const addr = theAddress(dev, marker('SCRUB', 5), 'SCRUB#5') + 200;
    const old = dev.load(addr, 1)[0]!;
    dev.store(addr, new Uint8Array([old ^ 0xff]));
    dev.persist(addr, 1);
    const report = fs.scrub();
    expect(report.csumErrors).toBeGreaterThanOrEqual(1);
    expect(report.metadataErrors).toBe(0);
    const hit = report.errors.find((e) => e.kind === 'data-csum' && e.bytenr <= addr && addr < e.bytenr + BLOCK);
    expect(hit, `a data-csum error covering ${addr}: ${JSON.stringify(report.errors)}`).toBeDefined();
    if (hit?.owners) {
      expect(hit.owners.some((o) => o.ino === fs.stat('/victim').ino && o.offset === 5 * BLOCK)).toBe(true);
    }
    expectCode(() => fs.readFile('/victim'), 'EIO');
    const fd = fs.open('/victim');
    expectCode(() => fs.pread(fd, BLOCK, 5 * BLOCK), 'EIO');
    expectSameBytes(fs.pread(fd, 5 * BLOCK, 0), victim.subarray(0, 5 * BLOCK), 'sectors before the bad one');
    fs.close(fd);
    expectSameBytes(fs.readFile('/other'), other, '/other');
    // Still bad after a remount (the checksum is on the device, not in memory).
    fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expectCode(() => fs2.readFile('/victim'), 'EIO');
    expect(fs2.scrub().csumErrors).toBeGreaterThanOrEqual(1);
    // Rewriting the file replaces the bad sector.
    fs2.writeFile('/victim', victim);
    fs2.commit();
    expectSameBytes(fs2.readFile('/victim'), victim, '/victim rewritten');
    expect(fs2.scrub().csumErrors).toBe(0);
  });

  it('a media error (poisoned line) under file data reads as EIO, not a crash', async () => {
    const [dev, fs] = await freshFs();
    fs.writeFile('/p', tagged('POISON', 4, 70));
    fs.commit();
    const addr = theAddress(dev, marker('POISON', 2), 'POISON#2');
    dev.poison(addr + 64);
    expectCode(() => fs.readFile('/p'), 'EIO');
    const report = fs.scrub();
    expect(report.errors.length, 'scrub reports the unreadable sector').toBeGreaterThanOrEqual(1);
  });
});

describe('errors', () => {
  it('names the errno for each bad path or bad state', async () => {
    const [, fs] = await freshFs();
    fs.mkdir('/d');
    fs.mkdir('/d/sub');
    fs.mkdir('/empty');
    fs.writeFile('/f', rnd(100, 80));
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/g', rnd(10, 81));
    expectCode(() => fs.readFile('/nope'), 'ENOENT');
    expectCode(() => fs.stat('/nope/x'), 'ENOENT');
    expectCode(() => fs.open('/nope'), 'ENOENT');
    expectCode(() => fs.truncate('/nope', 0), 'ENOENT');
    expectCode(() => fs.unlink('/nope'), 'ENOENT');
    expectCode(() => fs.rmdir('/nope'), 'ENOENT');
    expectCode(() => fs.rename('/nope', '/x'), 'ENOENT');
    expectCode(() => fs.rename('/f', '/nope/x'), 'ENOENT');
    expectCode(() => fs.link('/nope', '/x'), 'ENOENT');
    expectCode(() => fs.readdir('/nope'), 'ENOENT');
    expectCode(() => fs.mkdir('/nope/x'), 'ENOENT');
    expectCode(() => fs.writeFile('/nope/x', rnd(1, 1)), 'ENOENT');
    expectCode(() => fs.snapshot('/nope', '/x'), 'ENOENT');
    expectCode(() => fs.deleteSubvolume('/nope'), 'ENOENT');
    expectCode(() => fs.mkdir('/d'), 'EEXIST');
    expectCode(() => fs.mkdir('/f'), 'EEXIST');
    expectCode(() => fs.mkdir('/'), ['EEXIST', 'EBUSY']);
    expectCode(() => fs.create('/f'), 'EEXIST');
    expectCode(() => fs.create('/d'), 'EEXIST');
    expectCode(() => fs.link('/f', '/d'), 'EEXIST');
    expectCode(() => fs.snapshot('/', '/d'), 'EEXIST');
    expectCode(() => fs.stat('/f/x'), 'ENOTDIR');
    expectCode(() => fs.create('/f/x'), 'ENOTDIR');
    expectCode(() => fs.readdir('/f'), 'ENOTDIR');
    expectCode(() => fs.rmdir('/f'), 'ENOTDIR');
    expectCode(() => fs.rename('/d', '/f'), 'ENOTDIR');
    expectCode(() => fs.readFile('/d'), 'EISDIR');
    expectCode(() => fs.open('/d'), 'EISDIR');
    expectCode(() => fs.writeFile('/d', rnd(1, 1)), 'EISDIR');
    expectCode(() => fs.truncate('/d', 0), 'EISDIR');
    expectCode(() => fs.rename('/f', '/empty'), 'EISDIR');
    expectCode(() => fs.unlink('/d'), ['EISDIR', 'EPERM']);
    expectCode(() => fs.link('/d', '/x'), 'EPERM');
    expectCode(() => fs.rmdir('/d'), ['ENOTEMPTY', 'EEXIST']);
    expectCode(() => fs.rename('/empty', '/d'), ['ENOTEMPTY', 'EEXIST']);
    expectCode(() => fs.rename('/d', '/d/sub/x'), 'EINVAL');
    expectCode(() => fs.rename('/f', '/sv/f'), 'EXDEV');
    expectCode(() => fs.rename('/sv/g', '/g'), 'EXDEV');
    expectCode(() => fs.link('/f', '/sv/f'), 'EXDEV');
    expectCode(() => fs.link('/sv/g', '/g'), 'EXDEV');
    expectCode(() => fs.snapshot('/d', '/x'), 'EINVAL');
    expectCode(() => fs.snapshot('/f', '/x'), ['EINVAL', 'ENOTDIR']);
    expectCode(() => fs.deleteSubvolume('/d'), 'EINVAL');
    expectCode(() => fs.deleteSubvolume('/'), ['EPERM', 'EBUSY', 'EINVAL']);
    expectCode(() => fs.rmdir('/'), ['EBUSY', 'EPERM', 'EINVAL']);
    expectCode(() => fs.unlink('/'), ['EISDIR', 'EPERM', 'EBUSY']);
    expectCode(() => fs.rename('/', '/x'), ['EBUSY', 'EINVAL', 'EPERM']);
    // A directory onto an empty directory, and a file onto a file, are fine.
    fs.mkdir('/e2');
    fs.rename('/e2', '/empty');
    fs.writeFile('/f2', rnd(7, 82));
    fs.rename('/f2', '/f');
    expectSameBytes(fs.readFile('/f'), rnd(7, 82), '/f replaced');
    expect(fs.exists('/f2')).toBe(false);
    expect(fs.exists('/e2')).toBe(false);
    expect(fs.fsck()).toEqual([]);
  });

  it('bad arguments are EINVAL (or EBADF for descriptors), never a TypeError or a RuntimeError', async () => {
    const [, fs] = await freshFs();
    fs.writeFile('/f', rnd(10_000, 90));
    const fd = fs.open('/f');
    const inval: Array<[string, () => unknown, ErrnoName[]]> = [
      ['mkdir(42)', () => fs.mkdir(bad(42)), ['EINVAL']],
      ['readFile(null)', () => fs.readFile(bad(null)), ['EINVAL']],
      ['stat(undefined)', () => fs.stat(bad(undefined)), ['EINVAL']],
      ['readdir({})', () => fs.readdir(bad({})), ['EINVAL']],
      ['unlink(Symbol)', () => fs.unlink(bad(Symbol('x'))), ['EINVAL']],
      ['rename(1, 2)', () => fs.rename(bad(1), bad(2)), ['EINVAL']],
      ['relative path', () => fs.mkdir('a/b'), ['EINVAL', 'ENOENT']],
      ['empty path', () => fs.create(''), ['EINVAL', 'ENOENT']],
      ['long name', () => fs.create(`/${'x'.repeat(300)}`), ['ENAMETOOLONG', 'EINVAL']],
      ['writeFile string data', () => fs.writeFile('/g', bad('hello')), ['EINVAL']],
      ['writeFile null data', () => fs.writeFile('/g', bad(null)), ['EINVAL']],
      ['pwrite array data', () => fs.pwrite(fd, bad([1, 2, 3]), 0), ['EINVAL']],
      ['pwrite negative offset', () => fs.pwrite(fd, rnd(10, 1), -1), ['EINVAL']],
      ['pwrite fractional offset', () => fs.pwrite(fd, rnd(10, 1), 1.5), ['EINVAL']],
      ['pwrite NaN offset', () => fs.pwrite(fd, rnd(10, 1), NaN), ['EINVAL']],
      ['pwrite huge offset', () => fs.pwrite(fd, rnd(10, 1), Number.MAX_SAFE_INTEGER), ['EFBIG', 'EINVAL']],
      ['pread negative length', () => fs.pread(fd, -1, 0), ['EINVAL']],
      ['pread negative offset', () => fs.pread(fd, 10, -5), ['EINVAL']],
      ['pread string length', () => fs.pread(fd, bad('10'), 0), ['EINVAL']],
      ['truncate -1', () => fs.truncate('/f', -1), ['EINVAL']],
      ['truncate NaN', () => fs.truncate('/f', NaN), ['EINVAL']],
      ['truncate Infinity', () => fs.truncate('/f', Infinity), ['EINVAL', 'EFBIG']],
      ['fallocate negative offset', () => fs.fallocate('/f', -1, 10, {}), ['EINVAL']],
      ['fallocate negative length', () => fs.fallocate('/f', 0, -10, {}), ['EINVAL']],
      ['punchHole negative offset', () => fs.punchHole('/f', -4096, 4096), ['EINVAL']],
      ['punchHole negative length', () => fs.punchHole('/f', 0, -1), ['EINVAL']],
      ['zeroRange negative offset', () => fs.zeroRange('/f', -1, 1), ['EINVAL']],
      ['cloneRange negative length', () => fs.cloneRange('/f', 0, '/f', 8192, -4096), ['EINVAL']],
      ['cloneRange string offset', () => fs.cloneRange('/f', bad('0'), '/f', 8192, 4096), ['EINVAL']],
      ['close(9999)', () => fs.close(9999), ['EBADF', 'EINVAL']],
      ['pread(-1)', () => fs.pread(-1, 1, 0), ['EBADF', 'EINVAL']],
      ['pwrite("x")', () => fs.pwrite(bad('x'), rnd(1, 1), 0), ['EBADF', 'EINVAL']],
      ['fsync(12345)', () => fs.fsync(12345), ['EBADF', 'EINVAL']],
      ['snapshot bad dest', () => fs.snapshot('/', bad(7)), ['EINVAL']],
    ];
    for (const [what, fn, codes] of inval) expectCode(fn, codes, what);
    // A closed descriptor is bad too.
    fs.close(fd);
    expectCode(() => fs.pread(fd, 1, 0), ['EBADF', 'EINVAL'], 'pread after close');
    expectCode(() => fs.close(fd), ['EBADF', 'EINVAL'], 'double close');
    // exists() never throws for a string path; a non-string is false or EINVAL.
    expect(fs.exists('/f/x')).toBe(false);
    expect(fs.exists('/nope/x')).toBe(false);
    try {
      expect(fs.exists(bad(42))).toBe(false);
    } catch (e) {
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe('EINVAL');
    }
    // Nothing above changed anything.
    expect(fs.readdir('/')).toEqual(['f']);
    expectSameBytes(fs.readFile('/f'), rnd(10_000, 90), '/f untouched');
    expect(fs.fsck()).toEqual([]);
  });

  it('mkfs and mount validate their input; an unmounted file system refuses calls', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 64 * MiB });
    expectCode(() => FileSystem.mount(dev), ['EINVAL', 'EIO'], 'mount of an unformatted device');
    expectCode(() => FileSystem.mkfs(dev, { nodeSize: 1000 }), 'EINVAL', 'nodeSize 1000');
    expectCode(() => FileSystem.mkfs(dev, { nodeSize: 131072 }), 'EINVAL', 'nodeSize 128 KiB');
    expectCode(() => FileSystem.mkfs(dev, { nodeSize: 2048 }), 'EINVAL', 'nodeSize 2 KiB');
    expectCode(() => FileSystem.mkfs(bad(null)), 'EINVAL', 'mkfs(null)');
    const tiny = await PmemDevice.create({ sizeBytes: 64 << 10 });
    expectCode(() => FileSystem.mkfs(tiny), ['ENOSPC', 'EINVAL'], 'mkfs of a 64 KiB device');
    for (const nodeSize of [4096, 65536]) {
      const dev = await PmemDevice.create({ sizeBytes: 64 * MiB });
      FileSystem.mkfs(dev, { nodeSize, label: `n${nodeSize}` });
      const fs = FileSystem.mount(dev);
      const st = fs.statfs();
      expect(st.nodeSize).toBe(nodeSize);
      expect(st.sectorSize).toBe(4096);
      expect(st.label).toBe(`n${nodeSize}`);
      expect(st.totalBytes).toBeLessThanOrEqual(64 * MiB);
      expect(st.freeBytes).toBeGreaterThan(32 * MiB);
      fs.writeFile('/x', rnd(100_000, nodeSize));
      const g0 = fs.statfs().generation;
      fs.commit();
      expect(fs.statfs().generation).toBeGreaterThan(g0);
      fs.unmount();
      expectCode(() => fs.readFile('/x'), ['EBADF', 'EINVAL', 'EIO', 'EPERM'], 'readFile after unmount');
      expectCode(() => fs.commit(), ['EBADF', 'EINVAL', 'EIO', 'EPERM'], 'commit after unmount');
      const again = FileSystem.mount(dev);
      expectSameBytes(again.readFile('/x'), rnd(100_000, nodeSize), `/x with nodeSize ${nodeSize}`);
      expect(again.fsck()).toEqual([]);
      again.unmount();
      dev.close();
    }
    // The default node size.
    FileSystem.mkfs(dev);
    expect(FileSystem.mount(dev).statfs().nodeSize).toBe(16384);
  });

  it('mkfs over an existing file system gives an empty one (the old superblocks are gone)', async () => {
    for (const [before, after] of [[16384, 16384], [4096, 65536]] as const) {
      for (const commits of [1, 2, 3]) {
        const dev = await PmemDevice.create({ sizeBytes: 64 * MiB });
        FileSystem.mkfs(dev, { nodeSize: before, label: 'old' });
        const fs = FileSystem.mount(dev);
        for (let i = 0; i < commits; i++) {
          fs.writeFile(`/old${i}`, rnd(20_000, i));
          fs.commit();
        }
        fs.unmount();
        FileSystem.mkfs(dev, { nodeSize: after, label: 'new' });
        const what = `mkfs nodeSize ${after} over ${before} after ${commits} commits`;
        let fresh: FileSystem;
        try {
          fresh = FileSystem.mount(dev);
        } catch (e) {
          expect.fail(`${what}: mount failed: ${(e as Error).message}`);
        }
        expect(fresh.readdir('/'), what).toEqual([]);
        expect(fresh.statfs().label, what).toBe('new');
        expect(fresh.statfs().nodeSize, what).toBe(after);
        expect(fresh.fsck(), what).toEqual([]);
        dev.close();
      }
    }
  });

  it('every valid node size works on a 32 MiB device created with default options', async () => {
    for (const nodeSize of [4096, 16384, 65536]) {
      const dev = await PmemDevice.create({ sizeBytes: 32 * MiB });
      FileSystem.mkfs(dev, { nodeSize });
      const fs = FileSystem.mount(dev);
      fs.writeFile('/x', rnd(50_000, nodeSize));
      fs.unmount();
      expectSameBytes(FileSystem.mount(dev).readFile('/x'), rnd(50_000, nodeSize), `/x with nodeSize ${nodeSize}`);
      dev.close();
    }
  });
});

function bad(v: unknown): never {
  return v as never;
}
