// The soak campaign: writer threads store tagged words through DAX mappings of a
// datacow file (/d) and a nodatacow MAP_SYNC file (/n, every store flushed and fenced)
// while this thread commits, snapshots, reflinks, freezes and takes crash images, for a
// configurable time. Every crash image is mounted, fsck-ed and compared with what must
// have survived; every few batches the device itself "reboots" into a crash image and the
// campaign goes on from there. docs/reliability.md says what each check promises.
import { sameBytes } from '../bytes.js';
import { FsError, describeValue, isOptions } from '../errors.js';
import { PmemDevice, type CrashMode } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import { loadCoreModule } from '../core/module.js';
import { WriterPool } from '../workers/pool.js';
import type { DaxMapping } from '../dax/mapping.js';
import type { DaxPolicy } from '../dax/policy.js';
import type { SlotLayout, WorkloadResult, WorkloadSpec } from '../workers/writer.js';
import { Rng } from '../random.js';
import { Tally, TaggedFile } from './tagged-file.js';

export interface SoakOptions {
  /** Run for at least this long (default 5000 ms)... */
  durationMs?: number;
  /** ...and at least this many batches (default 2). The last batch always ends in a reboot. */
  minRounds?: number;
  /** Writer threads, 2..7 (default 2): even ones store into /d, odd ones into /n. */
  writers?: number;
  /** Seeds the choice of operations, crash images and writer workloads (default 1). */
  seed?: number;
  /** Device size (default 32 MiB). */
  deviceBytes?: number;
  /** Stores per writer per batch (default 3000). */
  storesPerBatch?: number;
  /** Reboot into a crash image after every this many batches (default 2). */
  rebootEvery?: number;
  /** Writer entry script (default: dist/workers/node-entry.js, next to the compiled pool). */
  entryUrl?: URL;
  /** Which slots of a file each writer of it owns (WorkloadSpec.layout; default 'interleaved'). */
  layout?: SlotLayout;
  /** DAX switches (default all on): a switch turned off must show up as violations. */
  dax?: Partial<DaxPolicy>;
  /** Called after every batch with the totals so far. */
  onProgress?: (report: SoakReport) => void;
}

export interface SoakReport {
  /** Slot comparisons against the oracle: one per 64-byte tagged slot per file state checked. */
  storesChecked: number;
  violations: number;
  /** Commits that wrote a new generation (explicit, implicit, MAP_SYNC faults). */
  commits: number;
  snapshots: number;
  reflinks: number;
  freezes: number;
  /** Crash images taken (mid-batch and at reboots). */
  crashes: number;
  /** Mounts of crash images (mid-batch images and reboots). */
  remounts: number;
  /** Reboots: the campaign went on from a crash image of its device. */
  reboots: number;
  fsckErrors: number;
  rounds: number;
  /** Stores the writer threads made. */
  writerStores: number;
  elapsedMs: number;
  /** The first violation messages (at most 50). */
  messages: string[];
}

const FILE_BYTES = 16 * 4096;
const STORE_BYTES = 64;
/** Snapshots and clones kept at once (older ones are deleted): bounds space on a long soak. */
const KEEP = 3;
/** Stores per /n writer in the tail before a reboot (after a snapshot, no commits). */
const TAIL_STORES = 256;
/** Everything the last commit made durable that the oracle compares. */
interface Committed {
  generation: number;
  /** /d as committed. */
  d: Uint8Array;
  /** Snapshot and clone paths that existed at the commit. */
  names: Set<string>;
}

/** A snapshot (its /d) or a clone of /d, and its content when it was taken. */
interface Frozen {
  kind: 'snapshot' | 'clone';
  path: string;
  file: string;
  content: Uint8Array;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An optional integer option: undefined is the fallback. */
function checkCount(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new FsError('EINVAL', `${name} must be an integer in ${min}..${max}, got ${describeValue(value)}`);
  }
  return value;
}

function snapshotAndCloneNames(fs: FileSystem): Set<string> {
  const names = new Set<string>();
  for (const n of fs.readdir('/')) if (n.startsWith('snap')) names.add(`/${n}`);
  for (const n of fs.readdir('/c')) names.add(`/c/${n}`);
  return names;
}


export async function soak(options: SoakOptions = {}): Promise<SoakReport> {
  if (!isOptions(options)) throw new FsError('EINVAL', 'soak options must be an object');
  const durationMs = checkCount(options.durationMs, 'durationMs', 5000, 0, 2 ** 40);
  const minRounds = checkCount(options.minRounds, 'minRounds', 2, 1, 2 ** 30);
  const writers = checkCount(options.writers, 'writers', 2, 2, 7);
  const seed = checkCount(options.seed, 'seed', 1, 0, 2 ** 31);
  const deviceBytes = checkCount(options.deviceBytes, 'deviceBytes', 32 << 20, 16 << 20, 1 << 30);
  const storesPerBatch = checkCount(options.storesPerBatch, 'storesPerBatch', 3000, 1, 1 << 24);
  const rebootEvery = checkCount(options.rebootEvery, 'rebootEvery', 2, 1, 2 ** 30);
  const dax = options.dax === undefined ? {} : options.dax;
  const layout = options.layout ?? 'interleaved';
  if (layout !== 'interleaved' && layout !== 'partitioned') throw new FsError('EINVAL', `soak layout must be 'interleaved' or 'partitioned', got ${describeValue(layout)}`);

  const started = performance.now();
  const tally = new Tally();
  const report: SoakReport = {
    storesChecked: 0, violations: 0, commits: 0, snapshots: 0, reflinks: 0, freezes: 0, crashes: 0, remounts: 0, reboots: 0,
    fsckErrors: 0, rounds: 0, writerStores: 0, elapsedMs: 0, messages: tally.messages,
  };
  const rng = Rng.scaled(seed); // the soak's stream since its first version (src/random.ts)
  await loadCoreModule();
  let live = await PmemDevice.create({ sizeBytes: deviceBytes });
  // Crash images go into this one device, again and again: shared memories are freed late.
  let spare = await PmemDevice.create({ sizeBytes: deviceBytes });
  FileSystem.mkfs(live);
  let fs = FileSystem.mount(live, { dax });
  fs.mkdir('/c');
  fs.writeFile('/d', new Uint8Array(FILE_BYTES));
  fs.create('/n');
  fs.setNoDataCow('/n');
  fs.writeFile('/n', new Uint8Array(FILE_BYTES));
  fs.commit();
  const d = new TaggedFile('/d', FILE_BYTES, STORE_BYTES);
  const n = new TaggedFile('/n', FILE_BYTES, STORE_BYTES);
  let items: Frozen[] = [];
  let counter = 0;

  const readOrViolation = (on: FileSystem, path: string, what: string): Uint8Array | null => {
    try {
      return on.readFile(path);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      tally.violation(`${what}: reading ${path}: ${e.message}`);
      return null;
    }
  };

  // The oracle's record of the last commit, taken as each commit returns (whoever made it:
  // an op, an early commit, a MAP_SYNC fault): then /d's blocks are write-protected in
  // every mapping, so what the read sees is exactly what the commit wrote.
  let committed: Committed = { generation: fs.kernel.generation, d: fs.readFile('/d'), names: new Set() };
  const observeCommits = (on: FileSystem): void => {
    const k = on.kernel;
    const commit = k.commit.bind(k);
    k.commit = () => {
      const before = k.generation;
      commit();
      if (k.generation === before) return;
      report.commits++;
      committed = { generation: k.generation, d: readOrViolation(on, '/d', 'commit record') ?? new Uint8Array(0), names: snapshotAndCloneNames(on) };
    };
  };
  observeCommits(fs);

  /** A snapshot's file or a clone, as read now (null: unreadable, counted already), equals its content when it was taken. */
  const checkUnchanged = (item: Frozen, bytes: Uint8Array | null, what: string): void => {
    tally.storesChecked += d.slots;
    if (bytes && !sameBytes(bytes, item.content)) tally.violation(`${what}: ${item.kind} ${item.file} changed since it was taken`);
  };

  /** Compare a mounted crash image with the last commit; returns the image's /d and /n. */
  const checkImage = (img: FileSystem, c: Committed, what: string): { imgD: Uint8Array | null; imgN: Uint8Array | null } => {
    report.remounts++;
    const generation = img.statfs().generation;
    if (generation !== c.generation) tally.violation(`${what}: mounted generation ${generation}, the last commit was ${c.generation}`);
    const problems = img.fsck();
    report.fsckErrors += problems.length;
    for (const p of problems) tally.violation(`${what}: fsck: ${p}`);
    const imgD = readOrViolation(img, '/d', what);
    if (imgD && c.d.length) { // an unreadable commit record was counted when it was taken
      tally.storesChecked += d.slots;
      if (!sameBytes(imgD, c.d)) tally.violation(`${what}: /d differs from its content at commit ${c.generation}`);
    }
    const names = snapshotAndCloneNames(img);
    for (const name of c.names) if (!names.has(name)) tally.violation(`${what}: committed ${name} is missing`);
    for (const name of names) if (!c.names.has(name)) tally.violation(`${what}: ${name} was never committed`);
    for (const item of items) {
      if (!c.names.has(item.path) || !names.has(item.path)) continue;
      checkUnchanged(item, readOrViolation(img, item.file, what), what);
    }
    return { imgD, imgN: readOrViolation(img, '/n', what) };
  };

  const crashImage = (mode: CrashMode): PmemDevice => {
    report.crashes++;
    return live.crash({ mode, seed: rng.u32(), into: spare });
  };

  let mD!: DaxMapping;
  /** A second mapping of /d: the /d writers use one or the other, batch by batch (multiMapping). */
  let mD2!: DaxMapping;
  let mN!: DaxMapping;
  let pool: WriterPool | null = null;
  let afterBatch: Array<() => void> = [];
  /** The batch running now: an unexpected error waits for it before stopping the writers. */
  let work: Promise<unknown> = Promise.resolve();
  const stopPool = async (): Promise<void> => {
    const p = pool;
    pool = null;
    await p?.stop();
  };
  const attach = async (): Promise<void> => {
    mD = fs.mmap('/d', { length: FILE_BYTES });
    mD2 = fs.mmap('/d', { length: FILE_BYTES });
    mN = fs.mmap('/n', { length: FILE_BYTES, sync: true });
    pool = await WriterPool.start(fs, writers, options.entryUrl ? { entryUrl: options.entryUrl } : {});
  };
  await attach();
  const detach = async (): Promise<void> => {
    mD.unmap();
    mD2.unmap();
    mN.unmap();
    await stopPool();
  };

  const takeSnapshot = (): void => {
    const path = `/snap${++counter}`;
    fs.snapshot('/', path);
    report.snapshots++;
    for (const file of [`${path}/d`, `${path}/n`]) {
      const content = readOrViolation(fs, file, 'new snapshot');
      if (!content) continue;
      // Checked exactly, live and in crash images, also for /n taken while the writers
      // store into it: the snapshot's commit writes back every page dirtied through a
      // mapping (stores a writer made visible but had not flushed yet included) before
      // its superblock, and write-protects it, so what the snapshot shares is durable
      // with it (Linux: dax_writeback_one + pfn_mkclean_range).
      items.push({ kind: 'snapshot', path, file, content });
    }
    const old = [...new Set(items.filter((i) => i.kind === 'snapshot').map((i) => i.path))];
    if (old.length > KEEP) { fs.deleteSubvolume(old[0]!); items = items.filter((i) => i.path !== old[0]); }
  };

  /** One spec per writer: even writers store into /d, odd ones into /n (flushed and fenced). */
  const batchSpecs = (round: number, dStores: number, nStores: number, seedSalt: number): WorkloadSpec[] => {
    const specs: WorkloadSpec[] = [];
    const groups = [[] as number[], [] as number[]];
    for (let i = 0; i < writers; i++) groups[i % 2]!.push(i);
    for (let i = 0; i < writers; i++) {
      const toD = i % 2 === 0;
      const group = groups[i % 2]!;
      specs.push({
        mapping: (toD ? ((round + group.indexOf(i)) % 2 ? mD2 : mD) : mN).handle(), kind: toD && round % 2 ? 'hot' : 'random', stores: toD ? dStores : nStores,
        storeBytes: STORE_BYTES, writers: group.length, writerIndex: group.indexOf(i), seed: (seed * 7919 + round + seedSalt) % 2 ** 31,
        hotPages: 4, persist: !toD, layout,
      });
    }
    d.beginBatch(specs.filter((_, i) => i % 2 === 0));
    n.beginBatch(specs.filter((_, i) => i % 2 === 1));
    return specs;
  };
  const endBatch = (results: WorkloadResult[]): void => {
    report.writerStores += results.reduce((sum, r) => sum + r.stores, 0);
    d.endBatch(results.filter((_, i) => i % 2 === 0));
    n.endBatch(results.filter((_, i) => i % 2 === 1));
  };

  const ops: Array<[number, () => Promise<void> | void]> = [
    [3, () => { fs.commit(); }],
    [1, () => takeSnapshot()],
    [2, () => {
      const path = `/c/c${++counter}`;
      fs.cloneFile('/d', path);
      fs.commit();
      report.reflinks++;
      const content = readOrViolation(fs, path, 'new clone');
      if (content) items.push({ kind: 'clone', path, file: path, content });
      const old = items.filter((i) => i.kind === 'clone');
      if (old.length > KEEP) { fs.unlink(old[0]!.path); fs.commit(); items = items.filter((i) => i !== old[0]); }
    }],
    [1, async () => {
      fs.freeze();
      report.freezes++;
      const before = live.counters().stores;
      await sleep(3); // the writers keep going: their stores must wait for thaw
      const stored = live.counters().stores - before;
      fs.thaw();
      if (stored !== 0) tally.violation(`${stored} stores reached the device while frozen`);
    }],
    [2, () => {
      // A crash image of this instant, writers still storing: mounted and checked now,
      // its /n once the batch is over (its allowed values are known then).
      const mode: CrashMode = rng.below(2) ? 'strict' : 'random';
      const what = `crash image (${mode}) during batch ${report.rounds + 1}`;
      const c = committed;
      const img = FileSystem.mount(crashImage(mode), { dax });
      const { imgN } = checkImage(img, c, what);
      const check = n.snapshotAllowed();
      if (imgN) afterBatch.push(() => check(imgN, what, tally));
    }],
  ];
  const totalWeight = ops.reduce((s, [w]) => s + w, 0);
  const pickOp = (): (() => Promise<void> | void) => {
    let x = rng.below(totalWeight);
    for (const [w, op] of ops) { if (x < w) return op; x -= w; }
    return ops[0]![1];
  };

  const reboot = async (): Promise<void> => {
    // The MAP_SYNC promise, at its sharpest: a snapshot shares /n's blocks, so the next
    // store to each page COWs it; a short tail of flushed and fenced stores to /n then
    // runs with no commit but the faults' own, and the crash comes right after.
    takeSnapshot();
    endBatch(await pool!.run(batchSpecs(report.rounds, 0, TAIL_STORES, 0x5000)));
    await detach();
    const mode: CrashMode = report.crashes % 2 ? 'random' : 'strict';
    const what = `reboot into a ${mode} crash image after batch ${report.rounds}`;
    report.reboots++;
    const c = committed;
    const image = crashImage(mode);
    const next = FileSystem.mount(image, { dax });
    const { imgD, imgN } = checkImage(next, c, what);
    // Every store to /n was flushed and fenced, and its faults committed: all of it is there.
    if (imgN) n.checkExact(imgN, what, tally);
    const scrub = next.scrub();
    for (const e of scrub.errors) tally.violation(`${what}: scrub: ${e.kind} at ${e.bytenr}: ${e.detail}`);
    // Stores to /d since the last commit are gone; so are snapshots and clones never committed.
    // (When the commit record or the image's /d was unreadable, a violation is counted: go on from what the image holds.)
    d.resetTo(c.d.length ? c.d : imgD ?? new Uint8Array(FILE_BYTES));
    items = items.filter((i) => c.names.has(i.path));
    spare = live;
    live = image;
    fs = next;
    observeCommits(fs);
    committed = { generation: fs.kernel.generation, d: readOrViolation(fs, '/d', 'after reboot') ?? new Uint8Array(0), names: snapshotAndCloneNames(fs) };
    await attach();
  };

  try {
  for (;;) {
    const round = report.rounds + 1;
    const specs = batchSpecs(round, storesPerBatch, storesPerBatch, 0);
    let done = false;
    let failure: unknown = null;
    const batch = pool!.run(specs).catch((e: unknown) => { failure = e; return [] as WorkloadResult[]; }).finally(() => { done = true; });
    work = batch;
    while (!done) {
      await sleep(2);
      if (done) break;
      try {
        await pickOp()();
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        tally.violation(`batch ${round}: ${e.message}`);
        if (fs.isFrozen) fs.thaw();
      }
    }
    const results = await batch;
    if (failure) {
      tally.violation(`batch ${round}: a writer failed: ${(failure as Error).message}`);
      break;
    }
    report.rounds = round;
    endBatch(results);
    for (const check of afterBatch) check();
    afterBatch = [];
    // Quiescent: every slot holds its last tag, seen through the mappings and through read.
    const what = `after batch ${round}`;
    const viaD = mD.load(0, FILE_BYTES);
    const viaN = mN.load(0, FILE_BYTES);
    d.checkExact(viaD, `${what}, through the mapping`, tally);
    n.checkExact(viaN, `${what}, through the mapping`, tally);
    const readD = readOrViolation(fs, '/d', what);
    if (readD && !sameBytes(readD, viaD)) tally.violation(`${what}: readFile('/d') differs from the mapping`);
    const readN = readOrViolation(fs, '/n', what);
    if (readN && !sameBytes(readN, viaN)) tally.violation(`${what}: readFile('/n') differs from the mapping`);
    for (const item of items) checkUnchanged(item, readOrViolation(fs, item.file, what), what);
    const last = performance.now() - started >= durationMs && round >= minRounds;
    if (last || round % rebootEvery === 0) await reboot();
    Object.assign(report, { storesChecked: tally.storesChecked, violations: tally.violations, elapsedMs: performance.now() - started });
    options.onProgress?.(report);
    if (last) break;
  }
  } catch (e) {
    // Not a finding but a failure of the campaign itself: let the writers finish, stop them, rethrow.
    if (fs.isFrozen) fs.thaw();
    await work.catch(() => undefined);
    await stopPool();
    throw e;
  }

  await detach();
  const problems = fs.fsck();
  report.fsckErrors += problems.length;
  for (const p of problems) tally.violation(`at the end: fsck: ${p}`);
  fs.unmount();
  live.close();
  spare.close();
  Object.assign(report, { storesChecked: tally.storesChecked, violations: tally.violations, elapsedMs: performance.now() - started });
  return report;
}
