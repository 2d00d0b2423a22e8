// Deferred fresh runs (assembly/pmem/fresh-runs.ts) against the eager store log: a store of
// whole lines none of which is pending records one row instead of an entry per line, and the
// entries are written only when something reads the log. Two devices run the same random
// program, one with deferral on (the default) and one with it off (every entry written at
// once, as before); after every step they must agree on everything a user can observe:
// visible and media bytes, the number of legal crash images and sampled images byte for
// byte, line info, the log's gauges and the counters. The programs mix what makes runs
// (aligned multi-line stores of fresh lines, non-temporal ones), what retires them whole
// (a flush of exactly the run, or of more, then a fence) and what must write them first
// (partial and overlapping stores, flushes starting inside a run, clflush, evictions from a
// small log, crash scans and builds, media reads, line info). The debug build runs too: its
// assertions catch a deferred line's list read before its entries are written.
import { describe, expect, it } from 'vitest';
import { Rng, PmemDevice, type CoreTarget } from '../src/index.js';
import { expectSameBytes } from './helpers/device.js';

const BYTES = 1 << 16;

function randomBytes(rng: Rng, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => 1 + rng.below(255));
}

interface Pair { on: PmemDevice; off: PmemDevice }

async function pair(logCapacity: number, target: CoreTarget): Promise<Pair> {
  const make = (): Promise<PmemDevice> => PmemDevice.create({ sizeBytes: BYTES, maxThreads: 2, scratchBytes: 1 << 16, logCapacity, target });
  const on = await make(), off = await make();
  expect(off.core.pmem_set_fresh_run_deferral(0)).toBe(0);
  return { on, off };
}

function both(p: Pair, f: (d: PmemDevice) => void): void {
  f(p.on);
  f(p.off);
}

const COUNTERS = ['stores', 'bytesStored', 'clwb', 'sfence', 'evictions', 'linesRetired', 'logEntries'] as const;

function expectSame(p: Pair, rng: Rng, what: string): void {
  expectSameBytes(p.on.load(0, BYTES), p.off.load(0, BYTES), `${what}: visible`);
  expectSameBytes(p.on.readMedia(0, BYTES), p.off.readMedia(0, BYTES), `${what}: media`);
  for (let i = 0; i < 4; i++) {
    const addr = 64 * rng.below(BYTES / 64);
    expect(p.on.lineInfo(addr), `${what}: line ${addr / 64}`).toEqual(p.off.lineInfo(addr));
  }
  expect(p.on.linesPending(), `${what}: lines pending`).toBe(p.off.linesPending());
  expect(p.on.logSpan(), `${what}: log span`).toBe(p.off.logSpan());
  const a = p.on.counters(), b = p.off.counters();
  for (const k of COUNTERS) expect(a[k], `${what}: counter ${k}`).toBe(b[k]);
}

function expectSameCrashes(p: Pair, rng: Rng, what: string): void {
  const count = p.on.crashImageCount();
  expect(count, `${what}: legal crash images`).toBe(p.off.crashImageCount());
  for (let i = 0; i < 3; i++) {
    const index = BigInt(rng.below(Number(count > 1_000_000n ? 1_000_000n : count)));
    const x = p.on.crashImageAt(index), y = p.off.crashImageAt(index);
    expectSameBytes(x.load(0, BYTES), y.load(0, BYTES), `${what}: crash image ${index}`);
    x.close();
    y.close();
  }
}

/** One random step on both devices. */
function step(p: Pair, rng: Rng, runs: Array<[number, number]>): void {
  const what = rng.below(20);
  if (what < 8) {
    // A run of whole lines (fresh unless it lands on pending ones), sometimes non-temporal.
    const lines = 1 + rng.below(rng.chance(0.3) ? 64 : 8);
    const addr = 64 * rng.below(BYTES / 64 - lines);
    const bytes = randomBytes(rng, 64 * lines);
    const nt = rng.chance(0.15);
    both(p, (d) => (nt ? d.ntStore(addr, bytes) : d.store(addr, bytes)));
    runs.push([addr, bytes.length]);
  } else if (what < 11) {
    // A small or unaligned store, often into a recent run.
    const near = runs.length && rng.chance(0.6) ? runs[rng.below(runs.length)]! : [rng.below(BYTES - 512), 256];
    const addr = Math.min(BYTES - 200, near[0] + rng.below(near[1]));
    const bytes = randomBytes(rng, 1 + rng.below(rng.chance(0.5) ? 16 : 200));
    both(p, (d) => d.store(addr, bytes));
  } else if (what < 15) {
    // A flush of a run exactly, of a wider range, or from inside one; then often a fence.
    const [addr, length] = runs.length ? runs[rng.below(runs.length)]! : [0, 64];
    const shape = rng.below(3);
    const from = shape === 0 ? addr : shape === 1 ? Math.max(0, addr - 64 * rng.below(4)) : addr + 64 * rng.below(Math.max(1, length / 64));
    const len = shape === 0 ? length : Math.min(BYTES - from, length + 64 * rng.below(6));
    const kind = rng.chance(0.1) ? 'clflush' : rng.chance(0.2) ? 'clflushopt' : 'clwb';
    both(p, (d) => d.flush(from, Math.max(1, len), kind));
    if (rng.chance(0.7)) both(p, (d) => d.sfence());
  } else if (what < 16) {
    both(p, (d) => d.sfence());
  } else if (what < 17) {
    both(p, (d) => d.persist(0, BYTES));
    runs.length = 0;
  } else {
    // Readers in the middle: they write the deferred entries on the deferring device.
    const r = rng.below(3);
    if (r === 0) expect(p.on.crashImageCount()).toBe(p.off.crashImageCount());
    else if (r === 1) { const a = 64 * rng.below(BYTES / 64 - 4); expectSameBytes(p.on.readMedia(a, 256), p.off.readMedia(a, 256), 'media read'); }
    else { const a = 64 * rng.below(BYTES / 64); expect(p.on.lineInfo(a)).toEqual(p.off.lineInfo(a)); }
  }
}

async function program(seed: number, target: CoreTarget, steps: number): Promise<void> {
  const rng = new Rng(seed);
  // Some seeds with a small log: evictions reach deferred runs.
  const p = await pair(seed % 3 === 0 ? 256 : 65536, target);
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < steps; i++) {
    step(p, rng, runs);
    if (i % 25 === 24) expectSame(p, rng, `seed ${seed} step ${i}`);
  }
  expectSame(p, rng, `seed ${seed} end`);
  // Crash images only where a few lines are pending (the oracle of the image count is the
  // other device; building images reads every entry).
  both(p, (d) => d.persist(0, BYTES));
  for (let i = 0; i < 4; i++) step(p, rng, runs);
  expectSameCrashes(p, rng, `seed ${seed} crash`);
  expectSame(p, rng, `seed ${seed} after the crash images`);
  p.on.close();
  p.off.close();
}

describe('deferred fresh runs against the eager store log', () => {
  it('agree on bytes, crash images, line info, gauges and counters over 60 random programs (release build)', async () => {
    for (let seed = 1; seed <= 60; seed++) await program(seed, 'release', 200);
  });

  it('agree on the debug build, whose assertions forbid reading a deferred line before its entries are written', async () => {
    for (let seed = 101; seed <= 115; seed++) await program(seed, 'debug', 150);
  });

  it('a run stored after the flush that spans its lines stays pending through the fence', async () => {
    // Lines 0 and 9 pending, one clwb over 0..9 (lines 1..8 not pending then), a fresh run on
    // lines 2..5 after it: the fence covers lines 0 and 9 only, the run's stores came later.
    for (const target of ['release', 'debug'] as const) {
      const p = await pair(65536, target);
      const rng = new Rng(11);
      const a = randomBytes(rng, 64), z = randomBytes(rng, 64), run = randomBytes(rng, 256);
      both(p, (d) => { d.store(0, a); d.store(9 * 64, z); d.flush(0, 10 * 64); d.store(2 * 64, run); d.sfence(); });
      expect(p.on.linesPending(), target).toBe(4);
      expect(p.on.lineInfo(3 * 64).pendingStores, target).toBe(1);
      expectSameBytes(p.on.readMedia(2 * 64, 256), new Uint8Array(256), `${target}: the run is not durable`);
      expectSameCrashes(p, rng, `${target}: run after the flush`);
      expectSame(p, rng, `${target}: run after the flush`);
      p.on.close();
      p.off.close();
    }
  });

  it('a commit-sized burst: blocks stored and flushed one by one, one fence, nothing left in the table', async () => {
    const p = await pair(65536, 'release');
    const rng = new Rng(7);
    for (let b = 0; b < 12; b++) {
      const addr = 4096 * b;
      const bytes = randomBytes(rng, 4096);
      both(p, (d) => { d.store(addr, bytes); d.flush(addr, 4096); });
    }
    expect(p.on.linesPending()).toBe(12 * 64);
    both(p, (d) => d.sfence());
    expect(p.on.linesPending()).toBe(0);
    expectSame(p, rng, 'burst');
    p.on.close();
    p.off.close();
  });
});
