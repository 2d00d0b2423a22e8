// PmemDevice.storeBatch (src/pmem/store-batch.ts, assembly/pmem/store-batch.ts): a batch of
// stores in one call into the core must be exactly a store (or ntStore) per record, in
// order. Two devices run the same random program, one storing each batch with storeBatch and
// the other record by record; they must agree on everything a user can observe: visible and
// media bytes, every counter, the log's gauges, line info, the number of legal crash images
// and sampled images byte for byte. Batches mix sizes (1..8192 bytes, unaligned, records
// overlapping each other and longer than the scratch), non-temporal ones, small logs (a
// record longer than the log), eADR, flushes and fences between them.
import { describe, expect, it } from 'vitest';
import { Rng, PmemDevice, FsError, type CoreTarget, type PersistenceDomain } from '../src/index.js';
import { expectSameBytes } from './helpers/device.js';

const BYTES = 1 << 16;

interface Pair { batched: PmemDevice; single: PmemDevice }

interface Batch { addrs: number[]; lengths: number[] | number; data: Uint8Array; nonTemporal: boolean }

async function pair(seed: number, target: CoreTarget): Promise<Pair> {
  const domain: PersistenceDomain = seed % 5 === 4 ? 'eadr' : 'adr';
  const logCapacity = [65536, 256, 16][seed % 3]!;
  // A small scratch for some seeds: batches split, and records longer than it are stores.
  const scratchBytes = seed % 4 === 1 ? 4096 : 1 << 16;
  const make = (): Promise<PmemDevice> => PmemDevice.create({
    sizeBytes: BYTES, maxThreads: 2, scratchBytes, logCapacity, domain, target,
  });
  return { batched: await make(), single: await make() };
}

function recordLength(rng: Rng): number {
  const shape = rng.below(10);
  if (shape < 4) return 1 + rng.below(16);
  if (shape < 6) return 8 * (1 + rng.below(8));
  if (shape < 8) return 1 + rng.below(300);
  return 1 + rng.below(8192);
}

/** A random batch: often near a few spots (records overlap), sometimes one length for all. */
function randomBatch(rng: Rng): Batch {
  const count = rng.chance(0.1) ? 0 : 1 + rng.below(rng.chance(0.3) ? 64 : 8);
  const same = rng.chance(0.3) ? recordLength(rng) : -1;
  const spot = rng.below(BYTES - 8192);
  const addrs: number[] = [], lengths: number[] = [];
  for (let k = 0; k < count; k++) {
    const length = same >= 0 ? same : rng.chance(0.05) ? 0 : recordLength(rng);
    const addr = rng.chance(0.5) ? spot + rng.below(512) : rng.below(BYTES - length + 1);
    addrs.push(addr);
    lengths.push(length);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  const data = Uint8Array.from({ length: total }, () => 1 + rng.below(255));
  return { addrs, lengths: same >= 0 && rng.chance(0.7) ? same : lengths, data, nonTemporal: rng.chance(0.2) };
}

function storeEach(d: PmemDevice, b: Batch): void {
  let at = 0;
  b.addrs.forEach((addr, k) => {
    const n = typeof b.lengths === 'number' ? b.lengths : b.lengths[k]!;
    const bytes = b.data.subarray(at, at + n);
    if (b.nonTemporal) d.ntStore(addr, bytes); else d.store(addr, bytes);
    at += n;
  });
}

function step(p: Pair, rng: Rng): void {
  const what = rng.below(10);
  if (what < 6) {
    const b = randomBatch(rng);
    p.batched.storeBatch(b.addrs, b.lengths, b.data, { nonTemporal: b.nonTemporal });
    storeEach(p.single, b);
  } else if (what < 8) {
    const addr = rng.below(BYTES - 4096), len = 1 + rng.below(4096);
    const kind = rng.pick(['clwb', 'clflushopt', 'clflush'] as const);
    for (const d of [p.batched, p.single]) d.flush(addr, len, kind);
  } else if (what < 9) {
    for (const d of [p.batched, p.single]) d.sfence();
  } else {
    for (const d of [p.batched, p.single]) d.persist(0, BYTES);
  }
}

function expectSame(p: Pair, rng: Rng, what: string): void {
  const { batched: a, single: b } = p;
  expectSameBytes(a.load(0, BYTES), b.load(0, BYTES), `${what}: visible`);
  expectSameBytes(a.readMedia(0, BYTES), b.readMedia(0, BYTES), `${what}: media`);
  expect(a.counters(), `${what}: counters`).toEqual(b.counters());
  expect(a.linesPending(), `${what}: lines pending`).toBe(b.linesPending());
  expect(a.logSpan(), `${what}: log span`).toBe(b.logSpan());
  expect(a.flushesQueued(), `${what}: flushes queued`).toBe(b.flushesQueued());
  for (let i = 0; i < 4; i++) {
    const addr = 64 * rng.below(BYTES / 64);
    expect(a.lineInfo(addr), `${what}: line ${addr / 64}`).toEqual(b.lineInfo(addr));
  }
  const count = a.crashImageCount();
  expect(count, `${what}: legal crash images`).toBe(b.crashImageCount());
  for (let i = 0; i < 2; i++) {
    const index = BigInt(rng.below(Number(count > 1_000_000n ? 1_000_000n : count)));
    const x = a.crashImageAt(index), y = b.crashImageAt(index);
    expectSameBytes(x.load(0, BYTES), y.load(0, BYTES), `${what}: crash image ${index}`);
    x.close();
    y.close();
  }
}

async function program(seed: number, target: CoreTarget, steps: number): Promise<void> {
  const rng = new Rng(seed);
  const p = await pair(seed, target);
  for (let i = 0; i < steps; i++) {
    step(p, rng);
    if (i % 10 === 9) expectSame(p, rng, `seed ${seed} step ${i}`);
  }
  expectSame(p, rng, `seed ${seed} end`);
  p.batched.close();
  p.single.close();
}

async function device(options: { scratchBytes?: number } = {}): Promise<PmemDevice> {
  return PmemDevice.create({ sizeBytes: BYTES, maxThreads: 2, ...options });
}

function expectEinval(f: () => void, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe('EINVAL');
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error('no error');
}

describe('storeBatch against a store per record', () => {
  it('agrees on bytes, media, counters, gauges and crash images over 40 random programs (release build)', async () => {
    for (let seed = 1; seed <= 40; seed++) await program(seed, 'release', 60);
  });

  it('agrees on the debug build, whose assertions check every stored record', async () => {
    for (let seed = 101; seed <= 110; seed++) await program(seed, 'debug', 40);
  });

  it('calls beforeStore once per record, each before its store, and stores the same', async () => {
    const a = await device(), b = await device();
    const seen: Array<[number, number]> = [];
    for (const d of [a, b]) d.beforeStore = () => { seen.push([d === a ? 0 : 1, d.counters().stores]); };
    const batch = { addrs: [0, 64, 200, 5000], lengths: [8, 0, 70, 3000] };
    const data = Uint8Array.from({ length: 3078 }, (_, i) => i & 0xff);
    a.storeBatch(batch.addrs, batch.lengths, data);
    storeEach(b, { ...batch, data, nonTemporal: false });
    expect(seen.filter(([d]) => d === 0).map(([, n]) => n)).toEqual([0, 1, 1, 2]);
    expect(seen.filter(([d]) => d === 0)).toEqual(seen.filter(([d]) => d === 1).map(([, n]) => [0, n]));
    expectSameBytes(a.load(0, BYTES), b.load(0, BYTES));
    expect(a.counters()).toEqual(b.counters());
  });

  it('fills the scratch per core call: one call for a batch that fits, more for one that does not', async () => {
    // The descriptors of the last core call stay at the scratch's start.
    const d = await device({ scratchBytes: 4096 }); // 56 records of 64 bytes per call
    const words = new Uint32Array(d.memory.buffer, d.scratch().byteOffset, 4);
    d.storeBatch(Array.from({ length: 56 }, (_, k) => 64 * k), 64, new Uint8Array(56 * 64));
    expect([...words]).toEqual([0, 64, 64, 64]);
    expect(d.counters().stores).toBe(56);
    d.storeBatch(Array.from({ length: 60 }, (_, k) => 64 * k), 64, new Uint8Array(60 * 64));
    expect([...words]).toEqual([56 * 64, 64, 57 * 64, 64]); // the second call began at record 56
    d.storeBatch([0, 100, 9000], [10, 5000, 10], new Uint8Array(5020).fill(3)); // the middle one: a store
    expect([...words.subarray(0, 2)]).toEqual([9000, 10]);
    expect(d.load(100, 5000).every((x) => x === 3)).toBe(true);
    expect(d.counters().stores).toBe(56 + 60 + 1 + 2 + 1); // 5000 bytes: two stores through the scratch
  });

  it('stores bytes that lie in the device memory (the scratch itself) as a store per record', async () => {
    const a = await device(), b = await device();
    for (const d of [a, b]) d.scratch().subarray(0, 300).forEach((_, i, s) => { s[i] = i & 0xff; });
    a.storeBatch([10, 1000, 50], [100, 100, 100], a.scratch().subarray(0, 300));
    const bytes = b.scratch().slice(0, 300);
    storeEach(b, { addrs: [10, 1000, 50], lengths: 100, data: bytes, nonTemporal: false });
    expectSameBytes(a.load(0, BYTES), b.load(0, BYTES));
    expect(a.counters()).toEqual(b.counters());
  });
});

describe('storeBatch refuses a bad batch before storing any byte', () => {
  const bad: Array<[string, unknown[], RegExp]> = [
    ['lengths that do not add up', [[0, 64], [8, 8], new Uint8Array(15)], /add up to 16 bytes, but data holds 15/],
    ['a record past the device', [[0, BYTES - 4], 8, new Uint8Array(16)], /record 1: range \[65532, 65540\) is outside/],
    ['a negative address', [[0, -64], 8, new Uint8Array(16)], /record 1: address must be a non-negative integer/],
    ['a fractional address', [[0.5], 8, new Uint8Array(8)], /record 0: address must be/],
    ['a bigint address', [[0n], 8, new Uint8Array(8)], /record 0: address must be a non-negative integer, got 0n/],
    ['a string address', [['8'], 8, new Uint8Array(8)], /record 0: address must be/],
    ['an address past 2^32', [[2 ** 32], 0, new Uint8Array(0)], /record 0: address must be/],
    ['a NaN length', [[0, 8], [8, NaN], new Uint8Array(16)], /record 1: length must be/],
    ['a negative length for all', [[0], -1, new Uint8Array(0)], /lengths must be a non-negative integer/],
    ['more addresses than lengths', [[0, 8], [8], new Uint8Array(8)], /2 addresses but 1 lengths/],
    ['addresses not in an array', [8, 8, new Uint8Array(8)], /addrs must be an array or typed array/],
    ['a string of addresses', ['08', 8, new Uint8Array(16)], /addrs must be an array or typed array/],
    ['data not bytes', [[0], 1, [1]], /data must be/],
    ['a non-boolean nonTemporal', [[0], 1, new Uint8Array(1), { nonTemporal: 1 }], /nonTemporal must be a boolean/],
    ['options not an object', [[0], 1, new Uint8Array(1), 'nt'], /options must be an object/],
  ];
  for (const [what, args, message] of bad) {
    it(what, async () => {
      const d = await device();
      d.storeBatch([0], 16, new Uint8Array(16).fill(1)); // something pending already
      const visible = d.load(0, BYTES), before = d.counters(), images = d.crashImageCount();
      expectEinval(() => (d.storeBatch as (...a: unknown[]) => void)(...args), message);
      expect(d.counters()).toEqual(before);
      expectSameBytes(d.load(0, BYTES), visible);
      expect(d.crashImageCount()).toBe(images);
      d.close();
    });
  }

  it('a closed device is EBADF; an empty batch stores nothing', async () => {
    const d = await device();
    d.storeBatch([], [], new Uint8Array(0));
    d.storeBatch([], 64, new ArrayBuffer(0));
    expect(d.counters().stores).toBe(0);
    d.close();
    expect(() => d.storeBatch([0], 1, new Uint8Array(1))).toThrow(/EBADF/);
  });

  it('the core refuses descriptors outside the scratch, records outside the device and payloads outside memory', async () => {
    const d = await device();
    const scratch = d.scratch().byteOffset, words = new Uint32Array(d.memory.buffer, scratch, 4);
    words.set([0, 8, BYTES - 4, 8]);
    const memoryBytes = d.memory.buffer.byteLength;
    expect(d.core.pmem_store_batch(scratch, 2, scratch + 16, 0)).toBe(-22); // record 1 past the device
    words.set([0, 8, 8, 8]);
    expect(d.core.pmem_store_batch(scratch + 2, 1, scratch + 16, 0)).toBe(-22); // unaligned
    expect(d.core.pmem_store_batch(scratch - 8, 2, scratch + 16, 0)).toBe(-22); // below the scratch
    expect(d.core.pmem_store_batch(scratch, 0x7fffffff, scratch + 16, 0)).toBe(-22); // past it
    expect(d.core.pmem_store_batch(scratch, 2, memoryBytes - 8, 0)).toBe(-22); // payload past memory
    expect(d.core.pmem_store_batch(scratch, 2, -1, 0)).toBe(-22);
    expect(d.counters().stores).toBe(0);
    expect(d.core.pmem_store_batch(scratch, 2, scratch + 16, 0)).toBe(0);
    expect(d.counters().stores).toBe(2);
  });
});
