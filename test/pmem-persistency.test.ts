import { describe, expect, it } from 'vitest';
import type { PmemDevice } from '../src/index.js';
import { device, expectSameBytes, filled, hex } from './helpers/device.js';
import { legalImages, renderLines, touchedLines, type OracleStore } from './helpers/persistency-oracle.js';

function distinctBytes(length: number, start: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) % 251 + 1);
}

// One crash target per device, reused: thousands of images without thousands of memories.
const targets = new WeakMap<PmemDevice, PmemDevice>();
function reusableTarget(dev: PmemDevice): PmemDevice {
  let target = targets.get(dev);
  if (!target) { target = dev.crash(); targets.set(dev, target); }
  return target;
}

/** Enumerate the device's images and compare them, as a set and a count, with the oracle. */
function checkAgainstOracle(dev: PmemDevice, stores: OracleStore[]): number {
  for (const s of stores) dev.store(s.addr, s.bytes);
  const lines = touchedLines(stores);
  const oracle = legalImages(stores, (l) => dev.readMedia(l * 64, 64), dev.domain);
  expect(dev.crashImageCount()).toBe(BigInt(oracle.count));
  const seen = new Set<string>();
  let count = 0;
  const target = dev.crash();
  for (const image of dev.crashImages({ maxImages: 100_000 })) {
    const crashed = image.device(target);
    const rendered = renderLines((a, n) => crashed.load(a, n), lines);
    expect(oracle.images.has(rendered), `image ${image.index} is not legal: ${rendered}`).toBe(true);
    expectSameBytes(crashed.readMedia(0, dev.sizeBytes), crashed.load(0, dev.sizeBytes), 'media and visible after crash');
    seen.add(rendered);
    count++;
  }
  expect(count).toBe(oracle.count);
  expect(seen).toEqual(oracle.images); // every legal image is produced
  return count;
}

describe('persistency rules (ADR)', () => {
  it('a store that was never flushed is lost by a strict crash', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1));
    expect(hex(dev.crash().load(0, 8))).toBe('0000000000000000');
    expect(dev.load(0, 8)).toEqual(filled(8, 1)); // the original is untouched
  });

  it('clwb without a fence does not make a store durable', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1));
    dev.clwb(0);
    expect(dev.flushesQueued()).toBe(1);
    expect(dev.crash().load(0, 8)).toEqual(filled(8, 0));
    // ...but the write-back may already have happened: some random crash keeps it.
    const kept = Array.from({ length: 32 }, (_, seed) => dev.crash({ mode: 'random', seed, into: reusableTarget(dev) }).load(0, 8)[0]);
    expect(kept).toContain(1);
    expect(kept).toContain(0);
  });

  it('clwb or clflushopt followed by sfence or mfence makes it durable', async () => {
    for (const [flush, fence] of [['clwb', 'sfence'], ['clflushopt', 'sfence'], ['clwb', 'mfence'], ['clflushopt', 'mfence']] as const) {
      const dev = await device();
      dev.store(64, filled(64, 7));
      dev.flush(64, 64, flush);
      if (fence === 'sfence') dev.sfence(); else dev.mfence();
      for (let seed = 0; seed < 8; seed++) expect(dev.crash({ mode: 'random', seed, into: reusableTarget(dev) }).load(64, 64)).toEqual(filled(64, 7));
      expect(dev.crashImageCount()).toBe(1n);
    }
  });

  it('a fence covers only stores made before the flush', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1));
    dev.clwb(0);
    dev.store(8, filled(8, 2)); // same line, after the clwb
    dev.sfence();
    const image = dev.crash().load(0, 16);
    expect(image).toEqual(Uint8Array.from([...filled(8, 1), ...filled(8, 0)]));
    expect(dev.lineInfo(0).pendingStores).toBe(1);
  });

  it('a fence orders only the flushes of its own thread', async () => {
    const dev = await device();
    const other = (await import('../src/index.js')).PmemDevice.attach(dev.handle());
    dev.store(0, filled(8, 1));
    dev.clwb(0);
    other.sfence(); // another CPU's fence does not complete this CPU's clwb
    expect(dev.crash().load(0, 8)).toEqual(filled(8, 0));
    dev.sfence();
    expect(dev.crash().load(0, 8)).toEqual(filled(8, 1));
    other.close();
  });

  it('clflush persists at once, with no fence', async () => {
    const dev = await device();
    dev.store(0, filled(8, 3));
    dev.clflush(0);
    expect(dev.crash().load(0, 8)).toEqual(filled(8, 3));
  });

  it('a non-temporal store is durable after sfence and not before', async () => {
    const dev = await device();
    dev.ntStore(0, filled(64, 4));
    expect(dev.crash().load(0, 64)).toEqual(filled(64, 0));
    dev.sfence();
    expect(dev.crash().load(0, 64)).toEqual(filled(64, 4));
  });

  it('stores to one line persist in program order', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1)); // A
    dev.store(8, filled(8, 2)); // B, same line, later
    // Legal: {}, {A}, {A,B}. Never B without A.
    expect(dev.crashImageCount()).toBe(3n);
    for (let seed = 0; seed < 200; seed++) {
      const image = dev.crash({ mode: 'random', seed, into: reusableTarget(dev) }).load(0, 16);
      if (image[8] === 2) expect(image[0], `seed ${seed} kept B without A`).toBe(1);
    }
  });

  it('lines are independent', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1)); // line 0
    dev.store(64, filled(8, 2)); // line 1, later
    expect(dev.crashImageCount()).toBe(4n);
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const img = dev.crash({ mode: 'random', seed, into: reusableTarget(dev) });
      seen.add(`${img.load(0, 1)[0]}${img.load(64, 1)[0]}`);
    }
    expect(seen).toEqual(new Set(['00', '10', '02', '12'])); // including the later line alone
  });

  it('an aligned 8-byte store never tears; wider or unaligned stores tear at words', async () => {
    const atomic = await device();
    atomic.store(16, distinctBytes(8, 1));
    expect(atomic.crashImageCount()).toBe(2n);
    const wide = await device();
    wide.store(0, distinctBytes(16, 1));
    expect(wide.crashImageCount()).toBe(4n);
    const unaligned = await device();
    unaligned.store(4, distinctBytes(8, 1)); // straddles words 0 and 1
    expect(unaligned.crashImageCount()).toBe(4n);
    const torn = new Set<string>();
    for (let seed = 0; seed < 300; seed++) torn.add(hex(wide.crash({ mode: 'random', seed, into: reusableTarget(wide) }).load(0, 16)));
    expect(torn.size).toBe(4);
  });

  it('the same seed gives the same image; different seeds explore', async () => {
    const dev = await device();
    for (let i = 0; i < 20; i++) dev.store(i * 64 + 8 * (i % 8), distinctBytes(24, i));
    const a = dev.crash({ mode: 'random', seed: 42 }).load(0, 1280);
    const b = dev.crash({ mode: 'random', seed: 42n }).load(0, 1280);
    expect(a).toEqual(b);
    const distinct = new Set(Array.from({ length: 20 }, (_, seed) => hex(dev.crash({ mode: 'random', seed, into: reusableTarget(dev) }).load(0, 1280))));
    expect(distinct.size).toBeGreaterThan(15);
  });

  it('enumerates every legal image of a small window, and only those', async () => {
    // Window: line 0 gets an 8-byte store then a 16-byte store (1 + 1 + 3 = 5 versions);
    // line 1 gets a 24-byte store (1 + 7 = 8 versions); a store straddling lines 2 and 3
    // (each part its own line): 4 * 2. Total 5 * 8 * 4 * 2 = 320.
    const dev = await device();
    const count = checkAgainstOracle(dev, [
      { addr: 0, bytes: distinctBytes(8, 10) },
      { addr: 8, bytes: distinctBytes(16, 40) },
      { addr: 64, bytes: distinctBytes(24, 80) },
      { addr: 2 * 64 + 48, bytes: distinctBytes(24, 120) },
    ]);
    expect(count).toBe(320);
  });

  it('enumeration sees past a partially durable state', async () => {
    const dev = await device();
    dev.store(0, distinctBytes(64, 1));
    dev.persist(0, 64);
    const count = checkAgainstOracle(dev, [
      { addr: 0, bytes: distinctBytes(16, 100) },
      { addr: 0, bytes: distinctBytes(8, 200) },
    ]);
    expect(count).toBe(1 + 3 + 1);
  });

  it('refuses to enumerate above the bound with E2BIG', async () => {
    const dev = await device();
    for (let l = 0; l < 10; l++) dev.store(l * 64, distinctBytes(64, l)); // 256^10 images
    expect(dev.crashImageCount()).toBe(256n ** 10n > 2n ** 64n - 1n ? 2n ** 64n - 1n : 256n ** 10n);
    expect(() => dev.crashImages({ maxImages: 1000 }).next()).toThrow(/E2BIG/);
  });

  it('a bounded store log evicts the oldest stores to media, in order', async () => {
    const dev = await device(1 << 16, { logCapacity: 16 });
    for (let i = 0; i < 100; i++) dev.store(i * 64, filled(8, i + 1));
    const c = dev.counters();
    expect(c.evictions).toBe(84);
    expect(dev.logSpan()).toBe(16);
    const crashed = dev.crash(); // strict: only evicted lines survive
    for (let i = 0; i < 100; i++) expect(crashed.load(i * 64, 1)[0]).toBe(i < 84 ? i + 1 : 0);
  });

  it('a full flush queue completes its oldest write-backs early (legal: clwb may finish any time)', async () => {
    const dev = await device(1 << 16, { flushQueueCapacity: 16 });
    for (let i = 0; i < 20; i++) { dev.store(i * 64, filled(8, 1)); dev.clwb(i * 64); }
    expect(dev.counters().flushQueueDrains).toBe(1);
    const crashed = dev.crash();
    for (let i = 0; i < 20; i++) expect(crashed.load(i * 64, 1)[0]).toBe(i < 16 ? 1 : 0);
  });

  it('crashInPlace reboots the device itself into a legal image', async () => {
    const dev = await device();
    dev.store(0, filled(8, 1));
    dev.persist(0, 8);
    dev.store(64, filled(8, 2));
    dev.crashInPlace();
    expect(dev.load(0, 8)).toEqual(filled(8, 1));
    expect(dev.load(64, 8)).toEqual(filled(8, 0));
    expect(dev.linesPending()).toBe(0);
    dev.store(64, filled(8, 3));
    dev.persist(64, 8);
    expect(dev.crash().load(64, 8)).toEqual(filled(8, 3));
  });
});

describe('persistency rules (eADR)', () => {
  it('every completed store is durable with no flush', async () => {
    const dev = await device(1 << 16, { domain: 'eadr' });
    dev.store(0, filled(100, 9));
    expect(dev.crash().load(0, 100)).toEqual(filled(100, 9));
  });

  it('a crash keeps a prefix of all stores, across lines', async () => {
    const dev = await device(1 << 16, { domain: 'eadr' });
    dev.store(0, filled(8, 1)); // line 0
    dev.store(64, filled(8, 2)); // line 1, later
    expect(dev.crashImageCount()).toBe(3n); // {}, {A}, {A,B}: never B without A
    for (let seed = 0; seed < 200; seed++) {
      const img = dev.crash({ mode: 'random', seed, into: reusableTarget(dev) });
      if (img.load(64, 1)[0] === 2) expect(img.load(0, 1)[0]).toBe(1);
    }
  });

  it('enumerates exactly the prefixes with a torn interrupted store', async () => {
    const dev = await device(1 << 16, { domain: 'eadr' });
    const count = checkAgainstOracle(dev, [
      { addr: 0, bytes: distinctBytes(8, 10) },
      { addr: 64, bytes: distinctBytes(16, 40) },
      { addr: 8, bytes: distinctBytes(8, 80) },
      { addr: 120, bytes: distinctBytes(16, 100) }, // straddles lines 1 and 2
    ]);
    expect(count).toBe(1 + 1 + 3 + 1 + 1 + 1);
  });
});
