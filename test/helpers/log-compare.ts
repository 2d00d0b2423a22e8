// Running one store / flush / fence program on two store logs and comparing everything a
// user can observe (test/pmem-log-vs-old.test.ts): the old core's (the reference) and the
// current one's. A mismatch is reported with the program's label (configuration and seed),
// the step index and the program up to that step as code, so that it can be replayed.
import type { Rng } from '../../src/index.js';
import { OldStoreLog } from './old-store-log.js';
import { NewStoreLog } from './new-store-log.js';
import {
  formatProgram, runStep, stepLines, type LogConfig, type LogDriver, type Step,
} from './log-program.js';

/** The old core's default log capacity, for configurations that leave it out. */
export const OLD_DEFAULT_LOG_CAPACITY = 65536;

export class Mismatch extends Error {}

/** What the comparisons covered, for the test's summary and its coverage checks. */
export interface Tally {
  programs: number;
  steps: number;
  checkpoints: number;
  /** Checkpoints whose images were all compared, index by index. */
  enumerations: number;
  /** Images compared byte for byte: enumerated, sampled by index, by seed, strict. */
  images: number;
  largestCount: bigint;
  /** The largest count whose images were all compared. */
  largestEnumerated: bigint;
}

export function newTally(): Tally {
  return {
    programs: 0, steps: 0, checkpoints: 0, enumerations: 0, images: 0,
    largestCount: 0n, largestEnumerated: 0n,
  };
}

export interface CrashCheck {
  /** Counts up to this: every image. Above: samples. */
  enumerateUpTo: number;
  /** Sampled indices besides the first and the last. */
  sampledIndices: number;
  /** Random images by seed (the same seed must give the same image). */
  seeds: number;
}

function sameBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.length === want.length && Buffer.from(got).equals(Buffer.from(want))) return;
  let at = 0;
  while (at < got.length && got[at] === want[at]) at++;
  const where = `byte ${at} (line ${Math.floor(at / 64)}, word ${Math.floor((at % 64) / 8)})`;
  throw new Mismatch(`${what}: lengths ${got.length} / ${want.length}, first difference at `
    + `${where}: new ${got[at]}, old ${want[at]}`);
}

function same<T>(got: T, want: T, what: string): void {
  const g = typeof got === 'object' ? JSON.stringify(got) : String(got);
  const w = typeof want === 'object' ? JSON.stringify(want) : String(want);
  if (g !== w) throw new Mismatch(`${what}: new ${g}, old ${w}`);
}

/** A reader step's results on both sides. */
export function sameResult(now: unknown, old: unknown, what: string): void {
  if (now instanceof Uint8Array && old instanceof Uint8Array) sameBytes(now, old, what);
  else same(now, old, what);
}

/**
 * Bytes, gauges, line info of `lines`, and the counters both cores have. A counter whose
 * meaning the new log changes on purpose (logEntries counts entries, which range records
 * may count differently) is to be left out here by name, with the reason in docs/pmem.md.
 */
export function compareState(now: LogDriver, old: LogDriver, sizeBytes: number,
  lines: Iterable<number>): void {
  sameBytes(now.load(0, sizeBytes), old.load(0, sizeBytes), 'visible bytes');
  sameBytes(now.readMedia(0, sizeBytes), old.readMedia(0, sizeBytes), 'media bytes');
  same(now.linesPending(), old.linesPending(), 'linesPending');
  same(now.logSpan(), old.logSpan(), 'logSpan');
  same(now.flushesQueued(), old.flushesQueued(), 'flushesQueued');
  for (const line of lines) same(now.lineInfo(line), old.lineInfo(line), `lineInfo(line ${line})`);
  const a = now.counters(), b = old.counters();
  for (const name of Object.keys(b)) if (name in a) same(a[name], b[name], `counter ${name}`);
}

function randomBelow(rng: Rng, n: bigint): bigint {
  return ((BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) % n;
}

/** Every image of both, in lockstep: same numbering, same bytes, same patch size. */
function compareEveryImage(now: LogDriver, old: LogDriver, tally: Tally): void {
  const mine = now.images()[Symbol.iterator]();
  for (const want of old.images()) {
    const got = mine.next();
    if (got.done) throw new Mismatch(`image ${want.index}: the new enumeration ended early`);
    same(got.value.index, want.index, 'image index');
    sameBytes(got.value.bytes, want.bytes, `image ${want.index}`);
    same(got.value.changedLines, want.changedLines, `image ${want.index}: changedLines`);
    tally.images++;
  }
  if (!mine.next().done) throw new Mismatch('the new enumeration has more images');
}

/** The image count, then every image, or sampled indices and seeds; and the strict one. */
export function compareCrashes(now: LogDriver, old: LogDriver, rng: Rng, check: CrashCheck,
  tally: Tally): void {
  const count = old.crashCount();
  same(now.crashCount(), count, 'crash image count');
  if (count > tally.largestCount) tally.largestCount = count;
  if (count <= BigInt(check.enumerateUpTo)) {
    compareEveryImage(now, old, tally);
    tally.enumerations++;
    if (count > tally.largestEnumerated) tally.largestEnumerated = count;
  } else {
    const indices = [0n, count - 1n];
    for (let i = 0; i < check.sampledIndices; i++) indices.push(randomBelow(rng, count));
    for (const index of indices) {
      const what = `image ${index} of ${count}`;
      sameBytes(now.crashImageBytes(index), old.crashImageBytes(index), what);
    }
    tally.images += indices.length;
  }
  for (let i = 0; i < check.seeds; i++) {
    const seed = randomBelow(rng, 1n << 64n);
    const what = `random image of seed ${seed}`;
    sameBytes(now.crashImageBytes({ seed }), old.crashImageBytes({ seed }), what);
  }
  sameBytes(now.crashImageBytes('strict'), old.crashImageBytes('strict'), 'strict image');
  tally.images += check.seeds + 1;
}

/** One program to run on both sides. */
export interface ProgramRun {
  /** Names the program in reports: configuration and seed. */
  label: string;
  config: LogConfig;
  /** Compare state and crash images after every this many steps (and at the end). */
  checkEvery: number;
  crash: CrashCheck;
  /** Draws the comparisons' samples (not the program). */
  rng: Rng;
  /** The next steps, or null at the end; `old` answers questions about the state. */
  next(old: OldStoreLog): Step[] | null;
  /** Checks of the reference alone (a hand-written program's expectations), at the end. */
  expectOld?(old: OldStoreLog): void;
}

/** Both sides of a program, with the same configuration. */
async function openBoth(config: LogConfig): Promise<[NewStoreLog, OldStoreLog]> {
  const logCapacity = config.logCapacity === 'default'
    ? OLD_DEFAULT_LOG_CAPACITY : config.logCapacity;
  const kernelBytes = config.sizeBytes; // the old driver's output buffer
  const old = await OldStoreLog.create({ ...config, logCapacity, kernelBytes });
  return [await NewStoreLog.create(config, kernelBytes), old];
}

/** Run `run` on both sides; any difference (or an exception on one side) throws a report. */
export async function compareProgram(run: ProgramRun, tally: Tally): Promise<void> {
  const [now, old] = await openBoth(run.config);
  const steps: Step[] = [];
  let touched = new Set<number>();
  // The stamp epochs at the last checkpoint: the lines changed since must be the same.
  let epochs = [now.stampsAdvance(), old.stampsAdvance()] as const;
  const checkpoint = (): void => {
    compareState(now, old, run.config.sizeBytes, touched);
    same(now.changedRuns(epochs[0]), old.changedRuns(epochs[1]), 'lines stamped since');
    epochs = [now.stampsAdvance(), old.stampsAdvance()];
    compareCrashes(now, old, run.rng, run.crash, tally);
    touched = new Set();
    tally.checkpoints++;
  };
  try {
    for (let next = run.next(old); next !== null; next = run.next(old)) {
      for (const step of next) {
        steps.push(step);
        const want = runStep(old, step);
        sameResult(runStep(now, step), want, `${step.op} result`);
        for (const line of stepLines(step)) touched.add(line);
        if (steps.length % run.checkEvery === 0) checkpoint();
      }
    }
    checkpoint();
    run.expectOld?.(old);
  } catch (e) {
    const at = steps.length - 1;
    throw new Mismatch(`${run.label}, step ${at}: ${(e as Error).message}\n`
      + `program (bytes(n, s) = pattern(n, s) of test/helpers/log-program.ts):\n`
      + formatProgram(run.config, steps, at), { cause: e });
  } finally {
    now.close();
    old.close();
  }
  tally.programs++;
  tally.steps += steps.length;
}
