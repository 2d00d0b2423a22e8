// The current store log against the old one (issue 17, point 4). The old core is frozen in
// test/fixtures/old-store-log/core.wasm (its README says from which commit) and driven by
// test/helpers/old-store-log.ts; the current one is PmemDevice, through its public API
// (test/helpers/new-store-log.ts; it runs build/release.wasm: build first).
// Both run the same programs, step by step, with the same configuration, and must agree on
// everything a user can observe: the results of loads, media reads, line info and image
// counts between steps; and at checkpoints the visible and media bytes, the gauges, the
// line info of the lines touched since the last checkpoint, the counters both have, the
// number of legal crash images and the images themselves: every one, index by index, when
// there are few (the numbering is part of the contract: docs/pmem.md section 3), else the
// first, the last and sampled indices, and the random images of sampled seeds (the same
// seed on the same state must give the same image), and the strict one.
//
// Today this compares the old log with itself, and passes. When the new log lands, it is
// the proof that every legal image is still produced, under the same number. A failure
// names the configuration, the seed and the step, and prints the program up to that step
// as PmemDevice calls (`bytes(n, s)` is `pattern` of test/helpers/log-program.ts).
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import {
  compareProgram, newTally, type CrashCheck, type ProgramRun, type Tally,
} from './helpers/log-compare.js';
import {
  NARROW_MIX, WIDE_MIX, pattern, randomSteps,
  type DrawContext, type FlushKind, type LogConfig, type Mix, type Step,
} from './helpers/log-program.js';
import type { OldStoreLog } from './helpers/old-store-log.js';

const KiB = 1024;

function config(domain: 'adr' | 'eadr', sizeBytes: number, logCapacity: number | 'default',
  more: Partial<LogConfig> = {}): LogConfig {
  const defaults = { flushQueueCapacity: 65536, scratchBytes: 64 * KiB, maxThreads: 2 };
  return { sizeBytes, domain, logCapacity, ...defaults, ...more };
}

/**
 * Both domains; small logs (evictions, stores longer than the log), small flush queues
 * (early drains), small scratch (stores and loads in chunks), and the default log.
 */
const CONFIGS: LogConfig[] = [
  config('adr', 4 * KiB, 16, { flushQueueCapacity: 16, scratchBytes: 4 * KiB }),
  config('adr', 64 * KiB, 64),
  config('adr', 64 * KiB, 256, { flushQueueCapacity: 16, scratchBytes: 4 * KiB }),
  config('adr', 256 * KiB, 'default'),
  config('eadr', 4 * KiB, 16, { scratchBytes: 4 * KiB }),
  config('eadr', 64 * KiB, 64, { flushQueueCapacity: 16 }),
  config('eadr', 64 * KiB, 256),
  config('eadr', 256 * KiB, 'default'),
];

const SEEDS_PER_CONFIG = 12;
const STEPS = 200;

/**
 * How many images a checkpoint compares, by device size (each image is the whole device,
 * built and read on both sides): on the 4 KiB devices, every image of a full 16-entry eADR
 * log (1 + 16 x 255 = 4081); on the largest, fewer samples.
 */
function crashCheck(c: LogConfig): CrashCheck {
  if (c.sizeBytes <= 4 * KiB) return { enumerateUpTo: 4096, sampledIndices: 6, seeds: 4 };
  if (c.sizeBytes <= 64 * KiB) return { enumerateUpTo: 256, sampledIndices: 6, seeds: 4 };
  return { enumerateUpTo: 128, sampledIndices: 3, seeds: 2 };
}

function describeConfig(c: LogConfig): string {
  return `${c.domain} ${c.sizeBytes / KiB} KiB, log ${c.logCapacity}, `
    + `queue ${c.flushQueueCapacity}, scratch ${c.scratchBytes}`;
}

/**
 * A random program of `STEPS` steps, drawn as it runs (a fresh run asks the old core which
 * lines are pending). Wide programs store every shape and check every 8 to 15 steps;
 * narrow ones store a few words between persists and check every 3 to 6 steps, so that
 * most of their checkpoints compare every image.
 */
function randomProgram(c: LogConfig, seed: number, mix: Mix): ProgramRun {
  const rng = new Rng(seed);
  const narrow = mix === NARROW_MIX;
  const ctx: DrawContext = {
    config: c,
    capacity: c.logCapacity === 'default' ? 65536 : c.logCapacity,
    window: Math.min(c.sizeBytes, (narrow ? 256 : 1024) << rng.below(narrow ? 4 : 6)),
    recent: [],
    pending: () => false,
    mix,
  };
  let drawn = 0;
  return {
    label: `seed ${seed} (${narrow ? 'narrow' : 'wide'}, ${describeConfig(c)}, `
      + `window ${ctx.window})`,
    config: c,
    checkEvery: narrow ? 3 + rng.below(4) : 8 + rng.below(8),
    crash: crashCheck(c),
    rng: new Rng(seed ^ 0x5eed),
    next(old: OldStoreLog): Step[] | null {
      if (drawn >= STEPS) return null;
      ctx.pending = (line) => old.isPending(line);
      const steps = randomSteps(rng, ctx);
      drawn += steps.length;
      return steps;
    },
  };
}

describe('the store log against the old one, on random programs', () => {
  for (const [i, c] of CONFIGS.entries()) {
    it(`${describeConfig(c)}: ${SEEDS_PER_CONFIG} programs of ${STEPS} steps`, async () => {
      const tally = newTally();
      for (let s = 1; s <= SEEDS_PER_CONFIG; s++) {
        const mix = s % 2 ? WIDE_MIX : NARROW_MIX;
        await compareProgram(randomProgram(c, 1000 * i + s, mix), tally);
      }
      console.log(`${describeConfig(c)}: ${summary(tally)}`);
      // The programs must reach what they are for: many checkpoints whose every image is
      // compared (eADR counts only grow until the log evicts: fewer there), some of them
      // with more than a few images.
      expect(tally.enumerations).toBeGreaterThan(60);
      expect(tally.largestEnumerated).toBeGreaterThan(64n);
    });
  }
});

// The debug core asserts the log's invariants as it runs (an older entry keeps its bytes, a
// deferred line is never read, the lists name the right entries): the small logs, where
// most stores evict, on fewer programs (it is several times slower).
describe('the debug core against the old store log', () => {
  for (const [i, c] of CONFIGS.entries()) {
    if (c.logCapacity === 'default') continue;
    it(`${describeConfig(c)}: 4 programs of ${STEPS} steps`, async () => {
      const tally = newTally();
      for (let s = 1; s <= 4; s++) {
        const mix = s % 2 ? WIDE_MIX : NARROW_MIX;
        await compareProgram(randomProgram({ ...c, target: 'debug' }, 7000 + 100 * i + s, mix),
          tally);
      }
      expect(tally.checkpoints).toBeGreaterThan(20);
      expect(tally.images).toBeGreaterThan(1000);
    });
  }
});

function summary(t: Tally): string {
  return `${t.programs} programs, ${t.steps} steps, ${t.checkpoints} checkpoints `
    + `(${t.enumerations} with every image, up to ${t.largestEnumerated}), `
    + `${t.images} crash images compared, largest count ${t.largestCount}`;
}

// --- hand-written programs: one per rule, compared after every step ---------------------

const HAND_CHECK: CrashCheck = { enumerateUpTo: 1024, sampledIndices: 16, seeds: 8 };

const store = (addr: number, length: number, seed: number, nt = false): Step =>
  ({ op: 'store', addr, length, seed, nt, shape: 'hand' });
const flush = (addr: number, length: number, kind: FlushKind = 'clwb'): Step =>
  ({ op: 'flush', addr, length, kind });
const sfence: Step = { op: 'fence', mfence: false };
const mfence: Step = { op: 'fence', mfence: true };

/** A fixed program; `expectOld` states the rule on the reference (the new side equals it). */
function handProgram(label: string, c: LogConfig, steps: Step[],
  expectOld: (old: OldStoreLog) => void): ProgramRun {
  let given = false;
  return {
    label, config: c, checkEvery: 1, crash: HAND_CHECK, rng: new Rng(17), expectOld,
    next: () => (given ? null : ((given = true), steps)),
  };
}

/** Offsets where two byte arrays differ. */
function differences(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

/** The bytes a store step writes. */
function bytesOf(s: Step): Uint8Array {
  if (s.op !== 'store') throw new Error('not a store');
  return pattern(s.length, s.seed);
}

/** Offsets where crash image `choice` differs from `base` (media or visible bytes). */
function imageDifferences(old: OldStoreLog, choice: bigint | 'strict', base: Uint8Array): number[] {
  return differences(old.crashImageBytes(choice), base);
}

const HAND_PROGRAMS: ProgramRun[] = [
  // docs/pmem.md section 3, "the 320-image window": 5 x 8 x 4 x 2 images, numbered mixed-radix.
  handProgram('the 320-image window', config('adr', 64 * KiB, 'default'),
    [store(0, 8, 1), store(8, 16, 2), store(64, 24, 3), store(176, 24, 4)], (old) => {
      expect([old.crashCount(), old.linesPending(), old.logSpan()]).toEqual([320n, 4, 5]);
      const media = old.readMedia(0, 64 * KiB), visible = old.load(0, 64 * KiB);
      expect(imageDifferences(old, 40n, media), 'image 40: line 2, word 6').toEqual(range(176, 184));
      expect(imageDifferences(old, 319n, visible), 'image 319: every store').toEqual([]);
    }),
  // A 16-entry log: the 17th to 20th stores evict the 1st to 4th, oldest first.
  handProgram('eviction order with a 16-entry log', config('adr', 4 * KiB, 16),
    range(0, 20).map((i) => store(8 * i, 8, 100 + i)), (old) => {
      expect(old.counters().evictions).toBe(4);
      expect([old.logSpan(), old.linesPending()]).toEqual([16, 3]);
      // Words 0..3 of line 0 (the evicted stores) are on media, word 4 on is not.
      expect(differences(old.readMedia(0, 64), old.load(0, 64))).toEqual(range(32, 64));
    }),
  // A 20-line run into a full 16-entry log: it evicts what appending its parts one by one
  // would: the 16 older entries, then its own first 4 lines.
  handProgram('a run longer than the room in a 16-entry log', config('adr', 4 * KiB, 16),
    [...range(0, 16).map((i) => store(64 * i, 8, 200 + i)), store(1024, 20 * 64, 300)], (old) => {
      expect(old.counters().evictions).toBe(20);
      expect([old.logSpan(), old.linesPending()]).toEqual([16, 16]);
      const pending = range(1024 + 4 * 64, 1024 + 20 * 64);
      expect(differences(old.readMedia(0, 4 * KiB), old.load(0, 4 * KiB))).toEqual(pending);
    }),
  // The fence covers the stores made before the flush: A is durable, B (after the clwb) not.
  handProgram('clwb, then a store to the line, then the fence', config('adr', 64 * KiB, 'default'),
    [store(0, 16, 1), flush(0, 1), store(8, 8, 2), sfence], (old) => {
      expect(old.lineInfo(0).pendingStores).toBe(1);
      expect(old.crashCount()).toBe(2n); // media, or B
      expect(differences(old.readMedia(0, 64), old.load(0, 64))).toEqual(range(8, 16));
      expect(old.readMedia(0, 16)).toEqual(bytesOf(store(0, 16, 1)));
    }),
  // eADR: one cut across all stores, the store at the cut torn at words: 1 + 15 + 1 + 255.
  handProgram('eADR: a prefix of all stores, torn at the cut', config('eadr', 64 * KiB, 'default'),
    [store(4, 24, 1), store(128, 8, 2), store(192, 64, 3), flush(0, 256), sfence], (old) => {
      expect(old.crashCount()).toBe(272n); // flushes and fences retire nothing under eADR
      const media = old.readMedia(0, 64 * KiB), visible = old.load(0, 64 * KiB);
      expect(imageDifferences(old, 1n, media), 'image 1: word 0 of store 0').toEqual(range(4, 8));
      expect(imageDifferences(old, 271n, visible), 'image 271: every store').toEqual([]);
      expect(imageDifferences(old, 'strict', visible), 'strict: every store').toEqual([]);
    }),
  // A non-temporal store is durable after the next sfence (its own queued write-back).
  handProgram('a non-temporal store, then sfence', config('adr', 64 * KiB, 64),
    [store(256, 100, 1, true), store(512, 8, 2), mfence], (old) => {
      expect(old.linesPending()).toBe(1); // the plain store's line
      expect(differences(old.readMedia(0, 1024), old.load(0, 1024))).toEqual(range(512, 520));
    }),
  // A full 16-entry flush queue drains early (legal: a write-back may finish any time).
  handProgram('a full flush queue drains early',
    config('adr', 64 * KiB, 'default', { flushQueueCapacity: 16 }),
    range(0, 17).flatMap((i) => [store(64 * i, 8, i), flush(64 * i, 64, i % 2 ? 'clwb' : 'clflushopt')]),
    (old) => {
      expect(old.counters().flushQueueDrains).toBe(1);
      expect([old.linesPending(), old.flushesQueued()]).toEqual([1, 1]);
    }),
  // clflush persists at once, with no fence; of a line with nothing pending it does nothing.
  handProgram('clflush persists at once', config('adr', 64 * KiB, 256),
    [store(100, 200, 1), flush(64, 64, 'clflush'), flush(4096, 0, 'clflush'), flush(128, 0)], (old) => {
      expect(old.linesPending()).toBe(3); // lines 2, 3, 4: line 1 is on media
      expect(old.flushesQueued()).toBe(1); // the clwb of line 2
    }),
];

describe('hand-written programs, one per rule, against the old store log', () => {
  for (const run of HAND_PROGRAMS) {
    it(run.label, async () => {
      await compareProgram(run, newTally());
    });
  }
});
