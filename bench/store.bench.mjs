// The device store path vs a raw in-WASM memory.copy of the same bytes.
//
// Source bytes sit in this thread's scratch (shared memory), so the core rows measure
// the core alone: core.pmem_store(addr, scratchPtr, len, 0) against
// core.mem_copy(visible + addr, scratchPtr, len). Destinations rotate over SPAN bytes
// (8 MiB = 2x what the default 65536-entry log covers with 64 B entries), so the log
// stays full and each stored line evicts the oldest entry to media: a steady state.
import { runGroup } from './harness.mjs';

const BASE = 16 << 20;
const SPAN = 8 << 20;
const RING = 32 << 20, RING_BYTES = 4 << 20; // device bytes the two-copy row uses as its ring
const STORES_PER_BATCH = 64; // records per device.storeBatch call

// The store groups run STORE_REPEATS times, one size after the other: this machine's
// speed drifts between runs (once by 2x), so the goal figures (store-goals.mjs) are medians
// over the repeats, and the table shows the last repeat.
const STORE_REPEATS = 5;

export async function storeBenches(device) {
  const core = device.core;
  const scratch = device.scratch();
  for (let i = 0; i < 65536; i++) scratch[i] = (Math.random() * 256) | 0;
  const repeats = [];
  let last = null;
  for (let r = 0; r < STORE_REPEATS; r++) {
    last = await storeRound(device);
    repeats.push(last.rows.map(({ group, name, meanNs, p50Ns }) => ({ group, name, meanNs, p50Ns })));
  }
  return { rows: last.rows, logStats: last.logStats, repeats };
}

// One repeat: the 4 KiB group, then the 64-byte one.
async function storeRound(device) {
  const core = device.core;
  const visible = core.pmem_region(0);
  const scratch = device.scratch();
  const src = scratch.byteOffset;
  const rows = [];
  const logStats = [];
  for (const size of [4096, 64]) {
    const slots = SPAN / size;
    const at = (i) => BASE + (i % slots) * size;
    const heapBytes = scratch.slice(0, size); // a copy in the JS heap
    // A writer's batch: STORES_PER_BATCH records of `size` bytes, their bytes one after another.
    const batchBytes = new Uint8Array(STORES_PER_BATCH * size);
    for (let k = 0; k < STORES_PER_BATCH; k++) batchBytes.set(heapBytes, k * size);
    const batchAddrs = new Array(STORES_PER_BATCH).fill(0);
    const sharedCopy = new Uint8Array(new SharedArrayBuffer(SPAN));

    // Correctness before timing: the store path stores, mem_copy copies.
    if (core.pmem_store(BASE, src, size, 0) !== 0) throw new Error('pmem_store failed');
    const back = device.load(BASE, size);
    if (!back.every((b, i) => b === scratch[i])) throw new Error('pmem_store: loaded bytes differ');
    if (core.mem_copy(visible + BASE, src, size) !== 0) throw new Error('mem_copy failed');

    // Fill the log so every timed store runs in the evicting steady state.
    for (let i = 0; i < slots; i++) core.pmem_store(at(i), src, size, 0);

    const ring = visible + RING, ringSlots = RING_BYTES / size;
    let bad = 0;
    const label = size >= 1024 ? `${size >> 10} KiB` : `${size} B`;
    rows.push(...await runGroup(`store ${label}`, [
      { name: 'mem_copy (raw memory.copy)', bytes: size, baseline: true,
        op: (i) => { bad |= core.mem_copy(visible + at(i), src, size); } },
      // What an undo log must move at the least: the old bytes out (into a 4 MiB ring, as the
      // pre-images are), then the new ones in. Raw copies of device bytes, not stores.
      { name: 'two mem_copy: the old bytes out to a 4 MiB ring, then the new in', bytes: size,
        op: (i) => { const v = visible + at(i); bad |= core.mem_copy(ring + (i % ringSlots) * size, v, size); bad |= core.mem_copy(v, src, size); } },
      { name: 'core pmem_store from scratch', bytes: size,
        op: (i) => { bad |= core.pmem_store(at(i), src, size, 0); } },
      { name: 'device.store from JS heap', bytes: size,
        op: (i) => { device.store(at(i), heapBytes); } },
      // Issue 17, point 2: one call into the core per batch; the row is per store.
      { name: `device.storeBatch from JS heap, ${STORES_PER_BATCH} stores per call (per store)`,
        bytes: size, opsPerCall: STORES_PER_BATCH,
        op: (i) => {
          for (let k = 0; k < STORES_PER_BATCH; k++) batchAddrs[k] = at(i * STORES_PER_BATCH + k);
          device.storeBatch(batchAddrs, size, batchBytes);
        } },
      // Issue 17's second baseline: what JavaScript pays to put the same bytes in shared
      // memory at all (a SharedArrayBuffer of its own, not the device).
      { name: 'JS copy from JS heap into a SharedArrayBuffer (TypedArray.set)', bytes: size,
        op: (i) => { sharedCopy.set(heapBytes, (i % slots) * size); } },
      // Last: persisting drains the log, which the rows above want full.
      { name: 'core pmem_store + device.persist', bytes: size,
        op: (i) => { const a = at(i); bad |= core.pmem_store(a, src, size, 0); device.persist(a, size); } },
    ], { ratio: 'time' }));
    if (bad !== 0) throw new Error(`store ${label}: a core call returned an error (${bad})`);

    logStats.push(characterise(device, size, slots, at, src));
  }
  return { rows, logStats };
}

// What one store costs the log in the steady state: entries, evictions, retirements.
function characterise(device, size, slots, at, src) {
  const core = device.core;
  for (let i = 0; i < slots; i++) core.pmem_store(at(i), src, size, 0); // refill
  const before = device.counters();
  const n = 4096;
  for (let i = 0; i < n; i++) core.pmem_store(at(i), src, size, 0);
  const after = device.counters();
  const per = (k) => (after[k] - before[k]) / n;
  return {
    size,
    storesMeasured: n,
    logEntriesPerStore: per('logEntries'),
    evictionsPerStore: per('evictions'),
    linesRetiredPerStore: per('linesRetired'),
    logSpan: device.logSpan(),
    linesPending: device.linesPending(),
    logCapacity: device.config.logCapacity,
  };
}
