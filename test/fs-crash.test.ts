// Crash consistency: whatever was committed (commit, fsync or unmount) is exactly what a
// crashed device mounts with, for the strict crash (every pending line lost) and for
// random legal crash images (any subset of pending lines, torn at 8-byte words); and the
// crashed file system is clean (fsck) and usable.
// The file system may also commit on its own (a snapshot or a subvolume deletion does, and
// so does a full dirty-node pool); statfs().generation shows it, and the harness then lets
// the crash show the state before, inside or after that op (Harness.durable). The
// deterministic tests check that their premise holds: no commit they did not ask for.
// The operations are workload statements, run through the workload Runner and on the model.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { FsModel } from './helpers/fs-model.js';
import { patternBytes } from '../src/workload/pattern.js';
import { Harness, Mismatch } from './helpers/model-harness.js';
import { OpGenerator, opRng, type GeneratorOptions } from '../src/model/guided-ops.js';
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
  let probe: Harness;
  try {
    probe = Harness.mount(image);
  } catch (e) {
    throw new Error(`${what}: mount of the crashed device failed: ${(e as Error).message}`);
  }
  const fs = probe.fs;
  let match: number;
  try {
    match = probe.checkTreeAny(candidates);
  } catch (e) {
    if (e instanceof Mismatch) throw new Error(`${what}: the committed state is not what mounted:\n${e.message}`);
    throw e;
  }
  expect(fs.fsck(), `${what}: fsck`).toEqual([]);
  const h = new Harness(probe.runner, candidates[match]!.clone());
  h.trackDurable = true;
  return h;
}

/** Run ops, checking every one against the model; mismatches carry the seed and history. */
function runOps(h: Harness, gen: OpGenerator, count: number, label: string): void {
  for (let i = 0; i < count; i++) {
    try {
      h.apply(gen.next(h.fds));
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
    h.applyScript('open /a creat trunc\nwrite /a 0 50000 seed 1\nmkdir /d');
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
    h.applyScript(`mkdir /d
open /d/keep creat trunc
write /d/keep 0 70000 seed 2
open /over creat trunc
write /over 0 9000 seed 3
snapshot / /snap1
commit`);
    const committed = h.committed;
    const generation = h.generation();
    // Every kind of change, uncommitted.
    h.applyScript(`write /over 4096 8192 seed 4
truncate /d/keep 100
rename /d /e
open /new creat trunc
write /new 0 30000 seed 5
unlink /over
mkdir /snap1/inside
open /snap1/over creat trunc
write /snap1/over 0 100 seed 6
fallocate /new 0 200000
clone /new 0 /e/keep 8192 8192
link /new /e/new-link`);
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
    fs.writeFile('/a', patternBytes(7, 20000));
    fs.commit();
    const fd = fs.open('/log', { create: true });
    const first = patternBytes(8, 12345);
    expect(fs.pwrite(fd, first, 0)).toBe(first.length);
    fs.fsync(fd);
    // After the fsync: more (unsynced) writes to the same file and another file.
    const generation = fs.statfs().generation;
    fs.pwrite(fd, patternBytes(9, 5000), 10000);
    fs.writeFile('/b', new Uint8Array(100).fill(1));
    expect(fs.statfs().generation, 'no commit after the fsync').toBe(generation);
    const image = dev.crash();
    const after = mountCrashed(image, 'strict crash after fsync');
    expectSameBytes(after.readFile('/log'), first, '/log after the crash');
    expect(after.stat('/log').size).toBe(first.length);
    expectSameBytes(after.readFile('/a'), patternBytes(7, 20000), '/a');
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
    h.applyScript(`open /k creat trunc
write /k 0 5000 seed 10
open k /k
unlink /k
write k 100 3000 seed 11
read k 0 10000
fsync k
open /later creat trunc
write /later 0 10 seed 12`);
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
    const fs = h.fs;
    h.closeAll();
    h.script('unmount');
    checkImage(dev.crash(), h.model, 'strict crash after unmount');
    checkImage(dev.crash({ mode: 'random', seed: 5 }), h.model, 'random crash after unmount');
    // An unmounted file system is unusable: every call fails with an FsError.
    let caught: unknown;
    try { fs.readdir('/'); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(FsError);
  });
});
