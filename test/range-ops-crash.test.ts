// Crash images around dedupeRange, collapseRange and insertRange: each runs in one
// transaction, so every crash image holds the files as they were before the operation or
// as they are after it, never a half-moved or half-shared file, and fsck finds it clean.
// Checked as fs-crash.test.ts checks the other operations (the strict crash and random
// crash images after the operation and after its commit), and with the crash explorer at
// every fence of the commit that makes it durable (every legal image of each point, or
// samples when there are too many), and before every store it makes.
import { describe, expect, it } from 'vitest';
import { CrashExplorer, PmemDevice, type CrashOracle } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { patternBytes } from '../src/workload/pattern.js';

const B = 4096;
const RANDOM_CRASH_SEEDS = [1, 2, 3, 4, 5, 6];
const rnd = (len: number, seed: number): Uint8Array => patternBytes(seed, len);

const PATHS = ['/a', '/b', '/n', '/clone', '/v/a', '/s/a'];

/** The files' sizes, content digests (checksums verified by the read) and extent maps (what a dedupe changes). */
function filesOf(fs: FileSystem): string {
  return PATHS.filter((p) => fs.exists(p)).map((p) => {
    const extents = fs.fileExtents(p).map((e) => `${e.fileOffset}>${e.diskBytenr}+${e.offset}/${e.bytes}${e.prealloc ? 'p' : ''}`);
    return `${p}:${fs.stat(p).size}:${fs.contentDigest(p)}:${extents.join(',')}`;
  }).join(' ');
}

/** A file system with datacow, nodatacow (preallocated tail), reflinked and snapshotted files; committed. */
async function setUp(): Promise<[PmemDevice, FileSystem]> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev);
  const data = rnd(12 * B + 300, 1);
  fs.writeFile('/a', data);
  fs.writeFile('/b', data);
  fs.pwrite(fs.open('/b'), rnd(B, 2), 6 * B); // /b differs from /a in block 6 only
  fs.create('/n');
  fs.setNoDataCow('/n');
  fs.writeFile('/n', rnd(10 * B, 3));
  fs.fallocate('/n', 10 * B, 3 * B, { keepSize: true });
  fs.cloneFile('/a', '/clone');
  fs.createSubvolume('/v');
  fs.writeFile('/v/a', data);
  fs.snapshot('/v', '/s');
  fs.commit();
  return [dev, fs];
}

interface Counts { images: number; mounted: number; points: number }

/**
 * Run `op` on a committed file system, then commit it. The strict crash and random crash
 * images after the op must mount the state before it; after the commit, the state after
 * it; at every fence of the commit, either one.
 */
async function crashAround(name: string, op: (fs: FileSystem) => void): Promise<Counts> {
  const [dev, fs] = await setUp();
  const before = filesOf(fs);
  op(fs);
  const after = filesOf(fs);
  expect(after, `${name}: the op changes the files`).not.toBe(before);
  const mountedState = (image: PmemDevice, what: string): string => {
    const m = FileSystem.mount(image);
    expect(m.fsck(), `${what}: fsck`).toEqual([]);
    return filesOf(m);
  };
  expect(mountedState(dev.crash(), `${name}: strict crash before the commit`)).toBe(before);
  for (const seed of RANDOM_CRASH_SEEDS) expect(mountedState(dev.crash({ mode: 'random', seed }), `${name}: random crash ${seed}`)).toBe(before);
  const oracle: CrashOracle = {
    check(image: FileSystem): string[] {
      const now = filesOf(image);
      const problems = now === before || now === after ? [] : [`files are neither before nor after ${name}: ${now}`];
      return [...problems, ...image.fsck()];
    },
  };
  const explorer = new CrashExplorer(dev, oracle, { enumerateBound: 256, samples: 24, seed: 7, lineTables: false });
  const violations: string[] = [];
  const explore = (where: string): void => {
    violations.push(...explorer.explore(`${name}: ${where} of the commit`).violations.map((v) => `${v.point}: ${v.problems.join('; ')}`));
  };
  dev.beforeFence = () => explore('a fence');
  dev.beforeStore = () => explore('a store');
  try {
    fs.commit();
  } finally {
    dev.beforeFence = null;
    dev.beforeStore = null;
  }
  expect(violations).toEqual([]);
  expect(mountedState(dev.crash(), `${name}: strict crash after the commit`)).toBe(after);
  for (const seed of RANDOM_CRASH_SEEDS) expect(mountedState(dev.crash({ mode: 'random', seed }), `${name}: random crash ${seed} after the commit`)).toBe(after);
  expect(fs.fsck()).toEqual([]);
  fs.unmount();
  dev.close();
  return { images: explorer.totals.images, mounted: explorer.totals.mounted, points: explorer.totals.points };
}

describe('crash images around the range operations: before or after, never between', () => {
  const ops: Array<[string, (fs: FileSystem) => void]> = [
    ['dedupeRange (same)', (fs) => expect(fs.dedupeRange('/a', 0, '/b', 0, 6 * B).status).toBe('same')],
    ['dedupeRanges (several destinations, EOF block)', (fs) => {
      const infos = fs.dedupeRanges('/a', 7 * B, 5 * B + 300, [{ path: '/b', offset: 7 * B }, { path: '/v/a', offset: 7 * B }]);
      expect(infos.map((i) => i.status)).toEqual(['same', 'same']);
    }],
    ['collapseRange (datacow, reflinked)', (fs) => fs.collapseRange('/a', 2 * B, 5 * B)],
    ['collapseRange (nodatacow, preallocated tail)', (fs) => fs.collapseRange('/n', 0, 3 * B)],
    ['insertRange (datacow, in a snapshot\'s source)', (fs) => fs.insertRange('/v/a', B, 4 * B)],
    ['insertRange then collapseRange (nodatacow)', (fs) => { fs.insertRange('/n', 4 * B, 2 * B); fs.collapseRange('/n', B, B); }],
  ];
  for (const [name, op] of ops) {
    it(name, async () => {
      const counts = await crashAround(name, op);
      expect(counts.points).toBeGreaterThan(0);
      expect(counts.mounted).toBeGreaterThan(0);
      // RANGE_OPS_COUNTS=1 prints what was checked (the figures of docs/reliability.md).
      if (process.env.RANGE_OPS_COUNTS) console.log(`${name}: ${counts.points} crash points (stores and fences), ${counts.images} images checked, ${counts.mounted} mounted`);
    });
  }
});
