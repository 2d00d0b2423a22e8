import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { PmemDevice } from '../src/index.js';
import { expectSameBytes } from './helpers/device.js';
import { legalImages, renderLines, touchedLines, type OracleStore } from './helpers/persistency-oracle.js';
// @ts-expect-error plain JS helper shared with the worker threads
import { patternByte, sharedWord, shuffledChunks, storeChunksBatched, storeSharedRound } from './workers/pattern.mjs';

const WORKER_URL = new URL('./workers/store-worker.mjs', import.meta.url);

interface Layout { threads: number; privateBase: number; privateBytes: number; sharedBase: number; sharedBytes: number; rounds: number; batch?: boolean }

function expectedImage(size: number, layout: Layout): Uint8Array {
  const image = new Uint8Array(size);
  for (let t = 0; t < layout.threads; t++) {
    const base = layout.privateBase + t * layout.privateBytes;
    for (let i = 0; i < layout.privateBytes; i++) image[base + i] = patternByte(t, i);
  }
  const view = new DataView(image.buffer);
  for (let word = 0; word < layout.sharedBytes / 8; word++) {
    const owner = word % layout.threads;
    view.setBigUint64(layout.sharedBase + word * 8, sharedWord(owner, word, layout.rounds - 1), true);
  }
  return image;
}

function runWorkers(dev: PmemDevice, layout: Layout, workerThreads: number[]): { go: SharedArrayBuffer; done: Promise<Array<{ thread: number; slot: number }>> } {
  const go = new SharedArrayBuffer(8);
  const done = Promise.all(workerThreads.map((thread) => new Promise<{ thread: number; slot: number }>((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { handle: dev.handle(), thread, go, ...layout } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker ${thread} exited with ${code}`)); });
  })));
  return { go, done };
}

async function waitForReady(go: SharedArrayBuffer, count: number): Promise<void> {
  const gate = new Int32Array(go);
  while (Atomics.load(gate, 1) < count) await new Promise((r) => setTimeout(r, 2));
}

describe('one shared memory, many threads', () => {
  for (const [how, batch] of [['store', false], ['storeBatch', true]] as const) it(`worker threads and the main thread store concurrently (${how}); every byte is where it belongs, visible and durable`, async () => {
    const layout: Layout = { threads: 3, privateBase: 0, privateBytes: 256 << 10, sharedBase: 1 << 20, sharedBytes: 16 << 10, rounds: 20, batch };
    const dev = await PmemDevice.create({ sizeBytes: 2 << 20, logCapacity: 4096, flushQueueCapacity: 4096 });
    // Threads 0 and 1 are workers; thread 2 is this (main) thread.
    const { go, done } = runWorkers(dev, layout, [0, 1]);
    await waitForReady(go, 2);
    const gate = new Int32Array(go);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);

    const main = 2;
    const base = layout.privateBase + main * layout.privateBytes;
    const chunks = shuffledChunks(layout.privateBytes, main + 1) as Array<[number, number]>;
    // Batches of 16 chunks; a new instance attaching meanwhile re-applies the core's data segments.
    if (batch) storeChunksBatched(dev, main, base, chunks.slice(0, 100));
    if (batch) PmemDevice.attach(dev.handle()).close();
    if (batch) storeChunksBatched(dev, main, base, chunks.slice(100));
    for (const [offset, length] of batch ? [] : chunks) {
      dev.store(base + offset, Uint8Array.from({ length }, (_, i) => patternByte(main, offset + i)));
      // A new instance attaching mid-run re-applies the core's data segments: harmless.
      if (offset === 0) PmemDevice.attach(dev.handle()).close();
    }
    dev.persist(base, layout.privateBytes);
    for (let round = 0; round < layout.rounds; round++) {
      if (batch) storeSharedRound(dev, main, layout.threads, layout.sharedBase, layout.sharedBytes, round);
      for (let word = main; !batch && word < layout.sharedBytes / 8; word += layout.threads) {
        dev.storeU64(layout.sharedBase + word * 8, sharedWord(main, word, round));
      }
    }
    dev.persist(layout.sharedBase, layout.sharedBytes);
    const results = await done;
    expect(new Set(results.map((r) => r.slot)).size).toBe(2); // each worker had its own slot
    expect(results.map((r) => r.slot)).not.toContain(dev.threadSlot);

    const expected = expectedImage(dev.sizeBytes, layout);
    expectSameBytes(dev.load(0, dev.sizeBytes), expected, 'visible bytes');
    expectSameBytes(dev.readMedia(0, dev.sizeBytes), expected, 'media bytes');
    expectSameBytes(dev.crash().load(0, dev.sizeBytes), expected, 'strict crash image');
    expect(dev.linesPending()).toBe(0);
    const c = dev.counters();
    expect(c.evictions).toBeGreaterThan(0); // the small log was under pressure throughout
  });

  it('a thread that stores without flushing loses its stores in a strict crash, whatever other threads fence', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    const other = PmemDevice.attach(dev.handle());
    other.store(0, new Uint8Array(64).fill(1));
    other.clwb(0);
    dev.sfence();
    expect(dev.crash().load(0, 1)[0]).toBe(0);
    other.close();
    // detach completes the thread's outstanding flushes
    expect(dev.crash().load(0, 1)[0]).toBe(1);
  });

  it("a fence covers the stores made before its clwb, whichever thread made them, and none made after (threads' clocks apart)", async () => {
    // A stores line X, then 40 other lines (its clock runs far ahead of X's newest store and
    // of B's clock), and clwb's X; then B stores to X; then A fences. A's store is durable,
    // B's is not: B's store was numbered above A's flush point although B's own clock and
    // X's newest store were behind it.
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    const a = PmemDevice.attach(dev.handle()), b = PmemDevice.attach(dev.handle());
    const x = 4096;
    b.store(x + 32, new Uint8Array(8).fill(3)); // before A's clwb: covered by it
    a.store(x, new Uint8Array(8).fill(1));
    for (let line = 100; line < 140; line++) a.store(line * 64, new Uint8Array(64).fill(7));
    a.clwb(x);
    b.store(x + 8, new Uint8Array(8).fill(2)); // after A's clwb: not covered
    a.sfence();
    const image = dev.crash().load(x, 40);
    expect([image[0], image[8], image[32]]).toEqual([1, 0, 3]);
    expect(dev.lineInfo(x).pendingStores).toBe(1);
    b.clwb(x);
    b.sfence();
    expect(dev.crash().load(x, 16)[8]).toBe(2);
    a.close();
    b.close();
  });

  for (const domain of ['adr', 'eadr'] as const) {
    it(`${domain}: stores of two threads (rings of their own, locks per stripe) give exactly the oracle's images of their one order`, async () => {
      // Two instances attached (several threads: stripe locks, Lamport numbers under ADR,
      // the store lock and one count under eADR) store in turns to shared and own lines.
      // The stores happen in one order (this thread makes them one after the other), and the
      // legal images are the oracle's for that order: each line a prefix of its stores (ADR),
      // or one prefix of them all (eADR), the next store torn at words.
      const dev = await PmemDevice.create({ sizeBytes: 1 << 16, domain });
      const a = PmemDevice.attach(dev.handle()), b = PmemDevice.attach(dev.handle());
      const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i) % 251 + 1);
      const plan: Array<[PmemDevice, OracleStore]> = [
        // Not in turns: a, b, b, b, a, a (numbering from each thread's own clock would order
        // them a, b, a, b, a, b).
        [a, { addr: 0, bytes: bytes(8, 1) }], [b, { addr: 8, bytes: bytes(16, 2) }], [b, { addr: 128, bytes: bytes(8, 4) }],
        [b, { addr: 4096, bytes: bytes(24, 6) }], [a, { addr: 60, bytes: bytes(8, 3) }], [a, { addr: 4, bytes: bytes(8, 5) }],
      ];
      for (const [who, s] of plan) who.store(s.addr, s.bytes);
      const stores = plan.map(([, s]) => s);
      const oracle = legalImages(stores, (l) => dev.readMedia(l * 64, 64), dev.domain);
      expect(dev.crashImageCount()).toBe(BigInt(oracle.count));
      const lines = touchedLines(stores), seen = new Set<string>(), target = dev.crash();
      for (const image of dev.crashImages({ maxImages: 100_000 })) {
        const crashed = image.device(target);
        const rendered = renderLines((at, n) => crashed.load(at, n), lines);
        expect(oracle.images.has(rendered), `image ${image.index} is not legal: ${rendered}`).toBe(true);
        seen.add(rendered);
      }
      expect(seen).toEqual(oracle.images);
      a.close();
      b.close();
    });
  }

  it("whole-line stores to one line from two threads' rings: an older one's bytes are kept for the newer (in its pre-image slot), written back without a copy, and every image is the oracle's", async () => {
    // Line 0 is stored whole by a, then b, then a again: each older entry keeps its bytes in
    // the pre-image slot of the newer one, in the other thread's ring (ENTRY_DATA_IN_NEXT).
    // Then a's ring (16 entries) fills with stores to other lines and evicts a's first store:
    // the line's media must be that store's bytes, and the images those of b's and a's later
    // stores over it.
    const dev = await PmemDevice.create({ sizeBytes: 1 << 16, logCapacity: 16 });
    const a = PmemDevice.attach(dev.handle()), b = PmemDevice.attach(dev.handle());
    const line = (seed: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, i) => (seed * 37 + i) % 251 + 1);
    const first = line(1), second = line(2), third = line(3);
    a.store(0, first);
    b.store(0, second);
    a.store(0, third);
    const all: OracleStore[] = [first, second, third].map((bytes) => ({ addr: 0, bytes }));
    const before = legalImages(all, () => new Uint8Array(64), 'adr');
    expect(dev.crashImageCount()).toBe(BigInt(before.count));
    const images = (): Set<string> => {
      const seen = new Set<string>(), target = dev.crash();
      for (const image of dev.crashImages({ maxImages: 100_000 })) {
        seen.add(renderLines((at, n) => image.device(target).load(at, n), [0]));
      }
      return seen;
    };
    expect(images()).toEqual(before.images);
    // 14 stores of a to lines 1..14 fill its ring (16 entries); the 15th evicts `first`.
    for (let l = 1; l <= 15; l++) a.store(l * 64, line(10 + l).subarray(0, 8));
    expect(dev.counters().evictions).toBe(1);
    a.flush(64, 15 * 64);
    a.sfence(); // the fillers leave the log: line 0's two later stores stay pending
    expect(dev.linesPending()).toBe(1);
    expect(dev.readMedia(0, 64)).toEqual(first);
    const after = legalImages(all.slice(1), () => first, 'adr');
    expect(dev.crashImageCount()).toBe(BigInt(after.count));
    expect(images()).toEqual(after.images);
    // 15 more fill a's ring again (its `third` and 15 new ones): the last evicts `third`,
    // and b's `second` before it (a line's entries leave from its oldest).
    for (let l = 1; l <= 15; l++) a.store(l * 64, line(30 + l).subarray(0, 8));
    expect(dev.counters().evictions).toBe(3);
    expect(dev.lineInfo(0).pendingStores).toBe(0);
    expect(dev.readMedia(0, 64)).toEqual(third);
    expect(dev.load(0, 64)).toEqual(third);
    a.close();
    b.close();
  });

  it('crash images taken while writers store to the same lines hold every fenced round and nothing not yet stored', async () => {
    // Two writers own alternate words of the same 64 lines; each fences every other round.
    // The main thread crashes the device (random images, the world lock) while they run: a
    // word must hold a round its writer had fenced before the crash or a later one it had
    // begun storing, and (8-byte aligned) whole. Their fences must cover their own stores
    // made before each clwb even when the other thread stored to the line since, and
    // nothing after (the flush points of several threads: docs/pmem.md section 1).
    const threads = 2, base = 64 << 10, bytes = 4096, rounds = 400;
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20, logCapacity: 1024, flushQueueCapacity: 1024 });
    const go = new SharedArrayBuffer(8), progress = new SharedArrayBuffer(4 * 2 * threads);
    const seen = new Int32Array(progress);
    const done = Promise.all([0, 1].map((thread) => new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./workers/round-worker.mjs', import.meta.url), {
        workerData: { handle: dev.handle(), thread, threads, base, bytes, rounds, go, progress },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker ${thread} exited with ${code}`)); });
    })));
    await waitForReady(go, threads);
    const gate = new Int32Array(go);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    let images = 0, running = true;
    void done.then(() => { running = false; });
    const target = await PmemDevice.create({ sizeBytes: 1 << 20, logCapacity: 1024 });
    while (running || images < 20) {
      const fenced = [0, 1].map((t) => Atomics.load(seen, t));
      const image = dev.crash({ mode: 'random', seed: images, into: target }).load(base, bytes);
      const storing = [0, 1].map((t) => Atomics.load(seen, threads + t));
      const words = new DataView(image.buffer, image.byteOffset, image.byteLength);
      for (let word = 0; word < bytes / 8; word++) {
        const t = word % threads;
        const value = words.getBigUint64(word * 8, true);
        const round = Number((value >> 32n) & 0xffffffn);
        const legal = (round === 0 && value === 0n && fenced[t] === 0) || (value === sharedWord(t, word, round) && round >= fenced[t]! && round <= storing[t]!);
        if (!legal) expect.fail(`image ${images}, word ${word} (thread ${t}): ${value.toString(16)}, fenced ${fenced[t]}, storing ${storing[t]}`);
      }
      images++;
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(images).toBeGreaterThanOrEqual(20);
    // Both fenced their last round: a strict crash keeps it.
    const last = dev.crash().load(base, bytes);
    const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
    for (let word = 0; word < bytes / 8; word++) expect(view.getBigUint64(word * 8, true)).toBe(sharedWord(word % threads, word, rounds));
  });
});
