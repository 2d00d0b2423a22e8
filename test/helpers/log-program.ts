// Store / flush / fence programs for comparing two store logs (test/pmem-log-vs-old.test.ts):
// what a step is, how a random one is drawn, how it runs on a driver, and how a program
// prints as code that replays it on a PmemDevice. A step holds everything it does (its
// store bytes are a pattern of a length and a seed), so a printed program is the program.
import type { Rng } from '../../src/index.js';

export type FlushKind = 'clwb' | 'clflushopt' | 'clflush';

/** One device configuration; the same on both sides of a comparison. */
export interface LogConfig {
  sizeBytes: number;
  domain: 'adr' | 'eadr';
  /** 'default': the option left out (the old core's default was 65536). */
  logCapacity: number | 'default';
  flushQueueCapacity: number;
  scratchBytes: number;
  maxThreads: number;
  /** The new side's core (default release; debug checks its invariants as it runs). */
  target?: 'release' | 'debug';
}

/** What both sides offer: the old core's driver and PmemDevice (test/helpers/new-store-log.ts). */
export interface LogDriver {
  store(addr: number, data: Uint8Array, nt: boolean): void;
  flush(addr: number, length: number, kind: FlushKind): void;
  fence(mfence: boolean): void;
  load(addr: number, length: number): Uint8Array;
  readMedia(addr: number, length: number): Uint8Array;
  crashCount(): bigint;
  crashImageBytes(choice: bigint | { seed: bigint } | 'strict'): Uint8Array;
  images(): Iterable<{ index: bigint; bytes: Uint8Array; changedLines: number }>;
  lineInfo(line: number): { pendingStores: number; poisoned: boolean };
  linesPending(): number;
  logSpan(): number;
  flushesQueued(): number;
  counters(): Record<string, number>;
  close(): void;
}

/** `shape` names why a store was drawn (for reading a printed program); it changes nothing. */
export type Step =
  | { op: 'store'; addr: number; length: number; seed: number; nt: boolean; shape: string }
  | { op: 'flush'; addr: number; length: number; kind: FlushKind }
  | { op: 'fence'; mfence: boolean }
  | { op: 'load'; addr: number; length: number }
  | { op: 'media'; addr: number; length: number }
  | { op: 'count' }
  | { op: 'info'; line: number };

/** Deterministic store bytes, never 0 (so a store rarely writes what media holds). */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 0x9e3779b1 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = 1 + ((x >>> 16) % 255);
  }
  return out;
}

/** Run one step. Readers return what they read, for the caller to compare. */
export function runStep(d: LogDriver, s: Step): Uint8Array | bigint | string | undefined {
  switch (s.op) {
    case 'store': d.store(s.addr, pattern(s.length, s.seed), s.nt); return undefined;
    case 'flush': d.flush(s.addr, s.length, s.kind); return undefined;
    case 'fence': d.fence(s.mfence); return undefined;
    case 'load': return d.load(s.addr, s.length);
    case 'media': return d.readMedia(s.addr, s.length);
    case 'count': return d.crashCount();
    case 'info': return JSON.stringify(d.lineInfo(s.line));
  }
}

/** Lines a step touches (the comparisons look at their line info). */
export function stepLines(s: Step): number[] {
  if (s.op === 'fence' || s.op === 'count') return [];
  if (s.op === 'info') return [s.line];
  const first = Math.floor(s.addr / 64);
  const last = Math.floor((s.addr + Math.max(1, s.length) - 1) / 64);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** One step as a line of code on a PmemDevice `dev` (`bytes` is `pattern` above). */
export function formatStep(s: Step): string {
  const at = `0x${'addr' in s ? s.addr.toString(16) : ''}`;
  switch (s.op) {
    case 'store':
      return `dev.${s.nt ? 'ntStore' : 'store'}(${at}, bytes(${s.length}, ${s.seed})); `
        + `// ${s.shape}`;
    case 'flush': return `dev.flush(${at}, ${s.length}, '${s.kind}');`;
    case 'fence': return s.mfence ? 'dev.mfence();' : 'dev.sfence();';
    case 'load': return `dev.load(${at}, ${s.length});`;
    case 'media': return `dev.readMedia(${at}, ${s.length});`;
    case 'count': return 'dev.crashImageCount();';
    case 'info': return `dev.lineInfo(${s.line} * 64);`;
  }
}

/** A program as code, numbered by step; `upTo` marks the step that failed. */
export function formatProgram(config: LogConfig, steps: Step[], upTo = steps.length - 1): string {
  const { logCapacity, ...rest } = config;
  const options = logCapacity === 'default' ? rest : { ...rest, logCapacity };
  const lines = steps.slice(0, upTo + 1).map((s, i) => `/* ${i} */ ${formatStep(s)}`);
  return [`const dev = await PmemDevice.create(${JSON.stringify(options)});`, ...lines].join('\n');
}

// --- random programs --------------------------------------------------------------------

/** What the generator knows while it draws: the device and the recent stores. */
export interface DrawContext {
  config: LogConfig;
  /** The log's capacity in entries (65536 for 'default'). */
  capacity: number;
  /** Stores go to [0, window). */
  window: number;
  /** Recent store ranges [addr, length], newest last. */
  recent: Array<[number, number]>;
  /** Is the line pending now (asked of the old core, which never changes)? */
  pending(line: number): boolean;
  mix: Mix;
}

/** How often each kind of step and each shape of store is drawn. */
export interface Mix {
  /** Weights of: a store, a flush, a fence, a persist of the window, a reader. */
  steps: readonly number[];
  /** Weights of STORE_SHAPES, in order. */
  stores: readonly number[];
  /** Longest 'unaligned' store (bytes). */
  unalignedMax: number;
}

export const STORE_SHAPES = ['word', 'subword', 'unaligned', 'line', 'fresh-run', 'over-pending',
  'into-recent', 'huge', 'again'] as const;

/** Every shape of store, long runs of lines, few persists: evictions, huge image counts. */
export const WIDE_MIX: Mix = {
  steps: [46, 24, 14, 5, 11], stores: [14, 10, 16, 10, 16, 10, 12, 2, 10], unalignedMax: 400,
};

/**
 * Small stores and frequent persists of the window: few pending words, so that the images
 * of most checkpoints can all be enumerated (ADR counts multiply over the pending lines).
 */
export const NARROW_MIX: Mix = {
  steps: [40, 20, 15, 18, 7], stores: [30, 25, 30, 4, 0, 0, 11, 0, 0], unalignedMax: 24,
};

function clampRange(ctx: DrawContext, addr: number, length: number): [number, number] {
  const a = Math.min(Math.max(0, addr), ctx.config.sizeBytes - 1);
  return [a, Math.max(0, Math.min(length, ctx.config.sizeBytes - a))];
}

function recentRange(rng: Rng, ctx: DrawContext): [number, number] {
  if (ctx.recent.length === 0) return [64 * rng.below(ctx.window / 64), 64];
  return ctx.recent[ctx.recent.length - 1 - rng.below(Math.min(8, ctx.recent.length))]!;
}

/** Whole lines starting at a line, as many as are not pending (at least one). */
function freshRun(rng: Rng, ctx: DrawContext): [number, number] {
  let line = rng.below(ctx.window / 64);
  for (let tries = 0; tries < 8 && ctx.pending(line); tries++) line = rng.below(ctx.window / 64);
  const want = 2 + rng.below(rng.chance(0.3) ? 63 : 7);
  let lines = 1;
  const lineCount = ctx.config.sizeBytes / 64;
  while (lines < want && line + lines < lineCount && !ctx.pending(line + lines)) lines++;
  return [64 * line, 64 * lines];
}

/** A store longer than the log holds, or (with a large log) one longer than the scratch. */
function hugeStore(rng: Rng, ctx: DrawContext): [number, number] {
  const lines = ctx.capacity + 1 + rng.below(ctx.capacity);
  const length = lines * 64 <= ctx.config.sizeBytes / 2 ? lines * 64
    : Math.min(ctx.config.sizeBytes / 2, ctx.config.scratchBytes + 64 * (1 + rng.below(8)));
  return [64 * rng.below((ctx.config.sizeBytes - length) / 64 + 1), length];
}

type StoreShape = typeof STORE_SHAPES[number];

function storeRange(rng: Rng, ctx: DrawContext, shape: StoreShape): [number, number] {
  const anywhere = rng.below(ctx.window);
  switch (shape) {
    case 'word': return [anywhere & ~7, 8];
    case 'subword': return [anywhere, 1 + rng.below(8 - (anywhere % 8))];
    case 'unaligned': {
      const length = 9 + rng.below(ctx.mix.unalignedMax - 8);
      return [(anywhere & ~7) + 1 + rng.below(7), length];
    }
    case 'line': return [anywhere & ~63, 64];
    case 'fresh-run': return freshRun(rng, ctx);
    case 'over-pending': {
      const [a, n] = recentRange(rng, ctx);
      const first = Math.floor(a / 64) - rng.below(2);
      return [64 * first, 64 * (Math.ceil((a + n) / 64) - first + rng.below(3))];
    }
    case 'into-recent': {
      const [a, n] = recentRange(rng, ctx);
      return [a + rng.below(n), 1 + rng.below(rng.chance(0.5) ? 16 : ctx.mix.unalignedMax)];
    }
    case 'huge': return hugeStore(rng, ctx);
    case 'again': { // the whole lines of a recent store again: often every one still pending
      const [a, n] = recentRange(rng, ctx);
      const first = Math.floor(a / 64);
      return [64 * first, 64 * (Math.ceil((a + Math.max(1, n)) / 64) - first)];
    }
  }
}

function randomStore(rng: Rng, ctx: DrawContext): Step {
  const shape = STORE_SHAPES[weightedIndex(rng, ctx.mix.stores)]!;
  const [addr, length] = clampRange(ctx, ...storeRange(rng, ctx, shape));
  ctx.recent.push([addr, length]);
  if (ctx.recent.length > 32) ctx.recent.shift();
  return { op: 'store', addr, length, seed: rng.u32(), nt: rng.chance(0.15), shape };
}

function randomFlush(rng: Rng, ctx: DrawContext): Step {
  const kind: FlushKind = rng.chance(0.15) ? 'clflush' : rng.chance(0.35) ? 'clflushopt' : 'clwb';
  const [a, n] = recentRange(rng, ctx);
  const shape = rng.below(6);
  const range: [number, number] =
    shape === 0 ? [a, n] // exactly a store's range
      : shape === 1 ? [a + rng.below(Math.max(1, n)), rng.below(n + 64)] // from inside it
        : shape === 2 ? [a - 64 * rng.below(4), n + 64 * rng.below(8)] // spanning it
          : shape === 3 ? [rng.below(ctx.window), 1 + rng.below(512)] // anywhere, often clean
            : shape === 4 ? [rng.below(ctx.window), 0] // length 0: the line of addr
              : [0, ctx.window]; // the whole window
  const [addr, length] = clampRange(ctx, ...range);
  return { op: 'flush', addr, length, kind };
}

function randomReader(rng: Rng, ctx: DrawContext): Step {
  const what = rng.below(4);
  const addr = rng.below(ctx.window);
  const [a, n] = clampRange(ctx, addr, 1 + rng.below(300));
  if (what === 0) return { op: 'load', addr: a, length: n };
  if (what === 1) return { op: 'media', addr: a, length: n };
  if (what === 2) return { op: 'count' };
  return { op: 'info', line: Math.floor(recentRange(rng, ctx)[0] / 64) };
}

function weightedIndex(rng: Rng, weights: readonly number[]): number {
  let r = rng.below(weights.reduce((s, w) => s + w, 0));
  for (let i = 0; i < weights.length; i++) {
    if (r < weights[i]!) return i;
    r -= weights[i]!;
  }
  return weights.length - 1;
}

/**
 * The next steps of a random program (one, or two for a persist of the window: a clwb of
 * all of it and an sfence, which keep the crash-image counts small enough to enumerate).
 */
export function randomSteps(rng: Rng, ctx: DrawContext): Step[] {
  switch (weightedIndex(rng, ctx.mix.steps)) {
    case 0: return [randomStore(rng, ctx)];
    case 1: return [randomFlush(rng, ctx)];
    case 2: return [{ op: 'fence', mfence: rng.chance(0.3) }];
    case 3: return [
      { op: 'flush', addr: 0, length: ctx.window, kind: 'clwb' },
      { op: 'fence', mfence: false },
    ];
    default: return [randomReader(rng, ctx)];
  }
}
