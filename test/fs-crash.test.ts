// Crash consistency: whatever was committed (commit, fsync or unmount) is exactly what a
// crashed device mounts with, for the strict crash (every pending line lost) and for
// random legal crash images (any subset of pending lines, torn at 8-byte words); and the
// crashed file system is clean (fsck) and usable.
// The file system may also commit on its own (a snapshot or a subvolume deletion does, and
// so does a full dirty-node pool); statfs().generation shows it, and the harness then lets
// the crash show the state before, inside or after that op (Harness.durable). The
// deterministic tests check that their premise holds: no commit they did not ask for.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/fs/filesystem.js';
import { FsModel } from './helpers/fs-model.js';
import { Harness, Mismatch, OpGenerator, opRng, makeData, type GeneratorOptions } from './helpers/fs-ops.js';
import { expectSameBytes } from './helpers/device.js';

const DEVICE_BYTES = 32 << 20;
const RANDOM_CRASH_SEEDS = [1, 2, 3, 4, 5, 6];

function mountCrashed(dev: PmemDevice, what: string): FileSystem {
  try {
    return FileSystem.mount(dev);
  } catch (e) {
    throw new Error(`${what}: mount of the crashed device failed: ${(e as Error).message}`);
  }
}

/**
 * Mount a crashed image and compare it with the durable state (or, after an op during
 * which the file system committed on its own, with one of the candidate states); fsck
 * must be clean. Returns a harness on the mounted image, its model the state that matched.
 */
function checkImage(image: PmemDevice, durable: FsModel | FsModel[], what: string): Harness {
  const candidates = Array.isArray(durable) ? durable : [durable];
  const fs = mountCrashed(image, what);
  const probe = new Harness(image, fs);
  let match: number;
  try {
    match = probe.checkTreeAny(candidates);
  } catch (e) {
    if (e instanceof Mismatch) throw new Error(`${what}: the committed state is not what mounted:\n${e.message}`);
    throw e;
  }
  expect(fs.fsck(), `${what}: fsck`).toEqual([]);
  const h = new Harness(image, fs, candidates[match]!.clone());
  h.trackDurable = true;
  return h;
}

/** Run ops, checking every one against the model; mismatches carry the seed and history. */
function runOps(h: Harness, gen: OpGenerator, count: number, label: string): void {
  for (let i = 0; i < count; i++) {
    try {
      h.apply(gen.next(h.openFds()));
      if ((i + 1) % 40 === 0) h.checkTree();
    } catch (e) {
      if (e instanceof Mismatch) throw new Error(`${label}, op #${i}: ${e.message}\nrecent ops:\n${h.recent(30)}`);
      throw e;
    }
  }
}

describe('crash consistency', () => {
  it('mkfs is durable: a strict crash right after mkfs mounts an empty, clean file system', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    FileSystem.mkfs(dev, { label: 'crashy' });
    const image = dev.crash();
    const fs = mountCrashed(image, 'after mkfs');
    expect(fs.readdir('/')).toEqual([]);
    expect(fs.statfs().label).toBe('crashy');
    expect(fs.fsck()).toEqual([]);
    fs.writeFile('/x', new Uint8Array([1, 2, 3]));
    fs.unmount();
    expect([...FileSystem.mount(image).readFile('/x')]).toEqual([1, 2, 3]);
  });

  it('a mount with no changes, then a crash, loses nothing', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    const h = Harness.fresh(dev);
    h.apply({ op: 'writeFile', path: '/a', data: { len: 50000, seed: 1, kind: 'random' } });
    h.apply({ op: 'mkdir', path: '/d' });
    h.fs.unmount();
    const fs2 = FileSystem.mount(dev);
    expect(fs2.readdir('/').sort()).toEqual(['a', 'd']);
    // mounted, read, nothing changed, not unmounted: crash
    checkImage(dev.crash(), h.model, 'crash after a read-only session');
    for (const seed of RANDOM_CRASH_SEEDS.slice(0, 2)) {
      checkImage(dev.crash({ mode: 'random', seed }), h.model, `random crash ${seed} after a read-only session`);
    }
  });

  it('uncommitted changes vanish whole: the strict crash shows the last commit exactly', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    const h = Harness.fresh(dev);
    h.apply({ op: 'mkdir', path: '/d' });
    h.apply({ op: 'writeFile', path: '/d/keep', data: { len: 70000, seed: 2, kind: 'random' } });
    h.apply({ op: 'writeFile', path: '/over', data: { len: 9000, seed: 3, kind: 'random' } });
    h.apply({ op: 'snapshot', src: '/', dst: '/snap1', readonly: false });
    h.apply({ op: 'commit' });
    const committed = h.committed;
    const generation = h.generation();
    // Every kind of change, uncommitted.
    h.apply({ op: 'pwrite', path: '/over', offset: 4096, data: { len: 8192, seed: 4, kind: 'random' } });
    h.apply({ op: 'truncate', path: '/d/keep', size: 100 });
    h.apply({ op: 'rename', from: '/d', to: '/e' });
    h.apply({ op: 'writeFile', path: '/new', data: { len: 30000, seed: 5, kind: 'random' } });
    h.apply({ op: 'unlink', path: '/over' });
    h.apply({ op: 'mkdir', path: '/snap1/inside' });
    h.apply({ op: 'writeFile', path: '/snap1/over', data: { len: 100, seed: 6, kind: 'random' } });
    h.apply({ op: 'fallocate', path: '/new', offset: 0, length: 200000, keepSize: false });
    h.apply({ op: 'cloneRange', src: '/new', srcOffset: 0, dst: '/e/keep', dstOffset: 8192, length: 8192 });
    h.apply({ op: 'link', from: '/new', to: '/e/new-link' });
    h.checkTree();
    // The premise: none of these committed on its own.
    expect(h.generation()).toBe(generation);
    checkImage(dev.crash(), committed, 'strict crash');
    for (const seed of RANDOM_CRASH_SEEDS) checkImage(dev.crash({ mode: 'random', seed }), committed, `random crash ${seed}`);
  });

  it('fsync(fd) makes that file durable across a strict crash', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.writeFile('/a', makeData({ len: 20000, seed: 7, kind: 'random' }));
    fs.commit();
    const fd = fs.open('/log', { create: true });
    const first = makeData({ len: 12345, seed: 8, kind: 'random' });
    expect(fs.pwrite(fd, first, 0)).toBe(first.length);
    fs.fsync(fd);
    // After the fsync: more (unsynced) writes to the same file and another file.
    const generation = fs.statfs().generation;
    fs.pwrite(fd, makeData({ len: 5000, seed: 9, kind: 'random' }), 10000);
    fs.writeFile('/b', new Uint8Array(100).fill(1));
    expect(fs.statfs().generation, 'no commit after the fsync').toBe(generation);
    const image = dev.crash();
    const after = mountCrashed(image, 'strict crash after fsync');
    expectSameBytes(after.readFile('/log'), first, '/log after the crash');
    expect(after.stat('/log').size).toBe(first.length);
    expectSameBytes(after.readFile('/a'), makeData({ len: 20000, seed: 7, kind: 'random' }), '/a');
    expect(after.exists('/b')).toBe(false);
    expect(after.fsck()).toEqual([]);
    // The same for random crash images.
    for (const seed of RANDOM_CRASH_SEEDS) {
      const img = dev.crash({ mode: 'random', seed });
      const f = mountCrashed(img, `random crash ${seed} after fsync`);
      expectSameBytes(f.readFile('/log'), first, `/log after random crash ${seed}`);
      expect(f.exists('/b')).toBe(false);
      expect(f.fsck()).toEqual([]);
    }
  });

  it('fsync of a file written through an fd after its name was unlinked elsewhere keeps the tree consistent', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    const h = Harness.fresh(dev);
    h.apply({ op: 'writeFile', path: '/k', data: { len: 5000, seed: 10, kind: 'random' } });
    h.apply({ op: 'openFd', path: '/k', create: false, truncate: false });
    const fd = h.openFds()[0]!;
    h.apply({ op: 'unlink', path: '/k' });
    h.apply({ op: 'fdWrite', fd, offset: 100, data: { len: 3000, seed: 11, kind: 'random' } });
    h.apply({ op: 'fdRead', fd, offset: 0, length: 10000 });
    h.apply({ op: 'fsync', fd });
    h.apply({ op: 'writeFile', path: '/later', data: { len: 10, seed: 12, kind: 'random' } });
    // The orphan (open, unlinked) inode must not be visible or leak after the crash.
    const h2 = checkImage(dev.crash(), h.durable, 'strict crash with an orphan');
    expect(h2.fs.readdir('/')).toEqual([]);
  });

  const CRASH_PLANS: Array<[number, GeneratorOptions]> = [
    [101, {}], [102, {}], [103, {}], [104, {}], [105, { bigWrites: true, maxFileBytes: 2 << 20, softLimitBytes: 12 << 20 }],
  ];
  for (const [seed, extra] of CRASH_PLANS) {
    it(`seed ${seed}${extra.bigWrites ? ' (big writes)' : ''}: random ops, commits and fsyncs; crashes (strict and random) mount the last commit, repeatedly`, async () => {
      const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
      const spare = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
      let h = Harness.fresh(dev);
      h.trackDurable = true;
      let current = dev;
      let implicit = 0;
      const rng = opRng(seed);
      const genOptions: GeneratorOptions = { noDataCow: false, commits: false, fds: true, maxFileBytes: 1 << 20, softLimitBytes: 8 << 20, ...extra };
      for (let cycle = 0; cycle < 3; cycle++) {
        const label = `seed ${seed} cycle ${cycle}`;
        const gen = new OpGenerator(rng, h.model, genOptions);
        runOps(h, gen, 80, `${label} (committed part)`);
        h.apply({ op: 'commit' });
        runOps(h, gen, 40, `${label} (committed part 2)`);
        // fsync is a commit too: the harness moves its committed copy.
        if (h.openFds().length > 0) h.apply({ op: 'fsync', fd: h.openFds()[0]! });
        else h.apply({ op: 'commit' });
        runOps(h, gen, 60, `${label} (uncommitted part)`);
        const committed = h.durable;
        implicit += h.implicitCommits;
        // Random images first (into the spare device), then the strict crash we go on with.
        for (const crashSeed of RANDOM_CRASH_SEEDS) {
          const image = current.crash({ mode: 'random', seed: crashSeed * 1000 + cycle, into: spare });
          checkImage(image, committed, `${label}: random crash ${crashSeed}`);
        }
        const image = current.crash();
        h = checkImage(image, committed, `${label}: strict crash`);
        current = image;
      }
      // The recovered file system still works, and survives a clean remount.
      const gen = new OpGenerator(rng, h.model, genOptions);
      runOps(h, gen, 60, `seed ${seed} after recovery`);
      h.remount();
      // Snapshots and subvolume deletions commit on their own; they are part of the test.
      expect(implicit).toBeGreaterThan(0);
    });
  }

  it('after unmount, a crash loses nothing', async () => {
    const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    const h = Harness.fresh(dev);
    const gen = new OpGenerator(opRng(77), h.model, { noDataCow: false, commits: false, maxFileBytes: 1 << 20 });
    runOps(h, gen, 100, 'seed 77');
    h.closeAll();
    h.fs.unmount();
    checkImage(dev.crash(), h.model, 'strict crash after unmount');
    checkImage(dev.crash({ mode: 'random', seed: 5 }), h.model, 'random crash after unmount');
    // An unmounted file system is unusable: every call fails with an FsError.
    let caught: unknown;
    try { h.fs.readdir('/'); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(FsError);
  });
});
