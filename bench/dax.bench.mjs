// DAX benchmarks: the store path through a mapping, write-fault latency by kind, and
// writer-thread scaling. Every figure is a ratio against a baseline measured in the
// same run on the same device (see the notes and bench/results.md).
//
// 1. Stores through a writable mapping. A 8 MiB nodatacow file, written whole with
//    pwrite first (1 MiB extents), mapped and faulted writable page by page before any
//    timing (nodatacow pages stay writable across commits). Rows: core.dax_store from
//    scratch, core.pmem_store and core.mem_copy to the very same device bytes (the
//    mapping's page-table entries give the physical page), and the public
//    mapping.store(offset, Uint8Array) from the JS heap. Destinations rotate over the
//    8 MiB as in store.bench.mjs, so the store log stays full (steady state).
// 2. Write-fault latency. One mapping.store of 8 bytes per sample, timed alone with
//    process.hrtime; untimed before each sample: fs.commit() (so every fault is the first
//    change of its transaction) plus the kind's setup. fs.dax.stats deltas around each
//    sample must show exactly one write fault of the intended kind (the baseline: none).
//    Also recorded per sample: process CPU time and GC overlap (to explain the p99).
// 3. Writer threads. WriterPool workers store tagged records (storeTag in every 8 bytes)
//    at random slots of a 1 MiB mapping, WRITER_BATCH_RECORDS stores per call into the
//    core (dax_store_batch); aggregate stores/s = all stores / wall time of pool.run, this
//    thread idle (awaiting it). 1 vs 2 writers on a nodatacow file (no faults: its pages
//    are stored to, so writable, before each run), 64 B and 4 KiB stores, each writer
//    owning a contiguous half of the slots (partitioned), and 64 B with the slots
//    interleaved; then 64 B on a datacow file with this thread committing every ~5 ms
//    (each commit write-protects the dirtied pages: COW once per transaction). The
//    records of every 2-writer configuration are checked through the mapping after.
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { PmemDevice, FileSystem, WriterPool, storeTag, slotPicker } from '../dist/index.js';
import { WRITER_BATCH_RECORDS } from '../dist/workers/writer.js';
import { runGroup, median } from './harness.mjs';
import { writtenFile } from './written-file.mjs';

const PAGE = 4096;
const PTE_BLOCK_MASK = 0x07ffffff;
const DEVICE = { sizeBytes: 128 << 20 };
const STORE_FILE_BYTES = 8 << 20;
const FAULT_SAMPLES = 400;
const FAULT_WARMUP = 24;
const FAULT_PAGES = FAULT_SAMPLES + FAULT_WARMUP;
const WRITER_FILE_BYTES = 1 << 20;
const WRITER_TARGET_MS = 400; // one 1-writer run without commits (of each store size)
const WRITER_COMMIT_TARGET_MS = 800; // one 1-writer run with commits (fewer, slower stores: noisier)
const WRITER_REPS = 5;
const COMMIT_EVERY_MS = 5;

const nowNs = () => Number(process.hrtime.bigint());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FAULT_KINDS = ['writeFaults', 'readFaults', 'holeFills', 'cowFaults', 'inPlaceFaults'];

function statsDelta(before, after) {
  const d = {};
  for (const k of Object.keys(after)) d[k] = after[k] - before[k];
  return d;
}

function percentile(sorted, p) {
  // Nearest rank.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Fault every page of the mapping writable (one 8-byte store per page). */
function faultAllWritable(mapping) {
  const eight = new Uint8Array(8).fill(0xa5);
  for (let off = 0; off < mapping.length; off += PAGE) mapping.store(off, eight);
}

// --- 1. store path -----------------------------------------------------------------

async function storeBenches(fs) {
  const device = fs.device;
  const core = device.core;
  const dax = fs.dax;
  writtenFile(fs, '/store', STORE_FILE_BYTES, { nocow: true });
  const mapping = fs.mmap('/store', { length: STORE_FILE_BYTES });
  fs.commit();
  faultAllWritable(mapping);
  // Physical device byte of each mapped page, from the page table (checked against the
  // extent map). A commit write-protects the pages stored to since the last one (the
  // next store faults and dirties them again), so none happens from here to the timing.
  const pages = STORE_FILE_BYTES / PAGE;
  const pagePhys = new Int32Array(pages);
  for (let p = 0; p < pages; p++) {
    const pte = dax.pte(mapping, p);
    if ((pte & 0x80000000) === 0 || (pte & 0x40000000) === 0) throw new Error(`dax store bench: page ${p} not writable after the warm-up`);
    pagePhys[p] = (pte & PTE_BLOCK_MASK) * PAGE;
  }
  for (const { fileOffset, diskBytenr, offset, bytes } of fs.fileExtents('/store')) {
    for (let at = 0; at < bytes; at += PAGE) {
      if (pagePhys[(fileOffset + at) / PAGE] !== diskBytenr + offset + at) throw new Error('dax store bench: page table disagrees with the extent map');
    }
  }
  const visible = device.region(0);
  const scratch = device.scratch();
  const src = scratch.byteOffset;
  for (let i = 0; i < 65536; i++) scratch[i] = (Math.random() * 256) | 0;

  const rows = [];
  const checks = [];
  for (const size of [4096, 64]) {
    const slots = STORE_FILE_BYTES / size;
    const off = (i) => (i % slots) * size;
    const phys = new Int32Array(slots);
    for (let s = 0; s < slots; s++) phys[s] = pagePhys[(s * size) >> 12] + ((s * size) & (PAGE - 1));
    const at = (i) => phys[i % slots];
    const heapBytes = scratch.slice(0, size);

    // Correctness before timing: a dax_store lands where the page table says, in full.
    if (core.dax_store(mapping.id, size, src, size) !== size) throw new Error('dax_store faulted on a writable page');
    const back = device.load(phys[1], size);
    if (!back.every((b, i) => b === scratch[i])) throw new Error('dax_store: bytes at the physical page differ');
    if (!mapping.load(size, size).every((b, i) => b === scratch[i])) throw new Error('dax_store: bytes loaded through the mapping differ');
    // Fill the log so every timed store runs in the evicting steady state.
    for (let i = 0; i < slots; i++) core.dax_store(mapping.id, off(i), src, size);

    const statsBefore = { ...dax.stats };
    let short = 0;
    let bad = 0;
    const label = size >= 1024 ? `${size >> 10} KiB` : `${size} B`;
    rows.push(...await runGroup(`dax store ${label}`, [
      { name: 'mem_copy (raw memory.copy), same device bytes', bytes: size, baseline: true,
        op: (i) => { bad |= core.mem_copy(visible + at(i), src, size); } },
      { name: 'core pmem_store from scratch, same device bytes', bytes: size,
        op: (i) => { bad |= core.pmem_store(at(i), src, size, 0); } },
      { name: 'core dax_store from scratch (writable mapping)', bytes: size,
        op: (i) => { if (core.dax_store(mapping.id, off(i), src, size) !== size) short++; } },
      { name: 'mapping.store from JS heap', bytes: size,
        op: (i) => { mapping.store(off(i), heapBytes); } },
    ], { ratio: 'time' }));
    const d = statsDelta(statsBefore, dax.stats);
    if (bad !== 0 || short !== 0) throw new Error(`dax store ${label}: ${bad ? `core error ${bad}` : ''} ${short} short dax stores`);
    if (d.writeFaults !== 0 || d.readFaults !== 0) throw new Error(`dax store ${label}: ${d.writeFaults} write faults during the timed runs`);
    checks.push({ size, slots, faultsDuringTimedRuns: d.writeFaults + d.readFaults, shortDaxStores: short });
  }
  mapping.unmap();
  return { rows, checks, fileBytes: STORE_FILE_BYTES };
}

// --- 2. write-fault latency --------------------------------------------------------

/**
 * Time `FAULT_SAMPLES` single 8-byte mapping.store calls (after FAULT_WARMUP untimed
 * ones). prepare(i) runs untimed before sample i and returns the offset to store at.
 * Each sample's fs.dax.stats delta must match `expect` (counts of FAULT_KINDS).
 */
function faultSamples(fs, mapping, prepare, expect) {
  const dax = fs.dax;
  const eight = new Uint8Array(8).fill(0x5a);
  const samples = [];
  const spans = []; // [start, end] in performance.now() ms, to match against GC entries
  const cpuUs = []; // process CPU time (all threads) around each sample, µs
  const extra = { shootdowns: 0, invalidations: 0 };
  for (let i = 0; i < FAULT_PAGES; i++) {
    const offset = prepare(i);
    // Every fault is the first change of its transaction. (Not for the no-fault baseline: a
    // commit write-protects the pages stored to since the last one.)
    if (Object.keys(expect).length) fs.commit();
    const before = { ...dax.stats };
    const c0 = process.cpuUsage();
    const p0 = performance.now();
    const t0 = nowNs();
    mapping.store(offset, eight);
    const t1 = nowNs();
    const p1 = performance.now();
    const c1 = process.cpuUsage(c0);
    const d = statsDelta(before, dax.stats);
    for (const k of FAULT_KINDS) {
      if ((d[k] ?? 0) !== (expect[k] ?? 0)) throw new Error(`fault sample ${i} at ${offset}: ${k} +${d[k]}, expected +${expect[k] ?? 0} (${JSON.stringify(d)})`);
    }
    if (i < FAULT_WARMUP) continue;
    samples.push(t1 - t0);
    spans.push([p0, p1]);
    cpuUs.push(c1.user + c1.system);
    extra.shootdowns += d.shootdowns;
    extra.invalidations += d.invalidations;
  }
  return { samples, spans, cpuUs, perSample: { shootdowns: extra.shootdowns / FAULT_SAMPLES, invalidations: extra.invalidations / FAULT_SAMPLES } };
}

async function faultBenches(fs) {
  const bytes = FAULT_PAGES * PAGE;
  const kinds = [];
  // Garbage collections, to tell how many slow samples overlapped one.
  const gcs = [];
  const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]); });
  observer.observe({ entryTypes: ['gc'] });

  // Baseline: a writable nodatacow page, no fault.
  writtenFile(fs, '/f-base', bytes, { nocow: true });
  const base = fs.mmap('/f-base', { length: bytes });
  faultAllWritable(base);
  kinds.push({ name: 'no fault: 8 B store to a writable page (nodatacow)', baseline: true, expect: {},
    ...faultSamples(fs, base, (i) => (i % FAULT_PAGES) * PAGE + 64, {}) });
  base.unmap();

  // Hole fault: a sparse nodatacow file; each sample writes a page never written.
  fs.create('/f-hole');
  fs.setNoDataCow('/f-hole');
  fs.truncate('/f-hole', bytes);
  fs.commit();
  const hole = fs.mmap('/f-hole', { length: bytes });
  const holeExpect = { writeFaults: 1, holeFills: 1 };
  kinds.push({ name: 'hole fault: sparse nodatacow file (allocate + zero a block)', expect: holeExpect,
    ...faultSamples(fs, hole, (i) => i * PAGE + 64, holeExpect) });
  hole.unmap();

  // Shared fault: a nodatacow file whose pages were writable; before each sample its page i
  // is reflinked into another file (cloneRange, which write-protects the page), so the
  // store must copy the shared block.
  writtenFile(fs, '/f-shared', bytes, { nocow: true });
  fs.create('/f-shared-clone');
  fs.setNoDataCow('/f-shared-clone');
  fs.commit();
  const shared = fs.mmap('/f-shared', { length: bytes });
  faultAllWritable(shared);
  const sharedExpect = { writeFaults: 1, cowFaults: 1 };
  kinds.push({ name: 'shared fault: page just reflinked (nodatacow, COW copy)', expect: sharedExpect,
    ...faultSamples(fs, shared, (i) => { fs.cloneRange('/f-shared', i * PAGE, '/f-shared-clone', i * PAGE, PAGE); return i * PAGE + 64; }, sharedExpect) });
  shared.unmap();

  // Per-transaction COW fault: a datacow file, every page faulted writable once, then
  // committed (the commit write-protects them); each sample's store is the page's first
  // after a commit: it COWs the page again.
  writtenFile(fs, '/f-cow', bytes, { nocow: false });
  const cow = fs.mmap('/f-cow', { length: bytes });
  faultAllWritable(cow);
  const cowExpect = { writeFaults: 1, cowFaults: 1 };
  kinds.push({ name: 'per-transaction COW fault: datacow page, first store after a commit', expect: cowExpect,
    ...faultSamples(fs, cow, (i) => i * PAGE + 64, cowExpect) });
  cow.unmap();

  await new Promise((r) => setTimeout(r, 20)); // let the observer deliver
  observer.disconnect();
  for (const k of kinds) {
    const hit = k.spans.map(([a, b]) => gcs.some(([g0, g1]) => g0 < b && g1 > a));
    const sorted = [...k.samples].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    k.gcOverlap = hit.filter(Boolean).length;
    k.gcOverlapAtOrAboveP99 = k.samples.filter((ns, i) => hit[i] && ns >= p99).length;
    k.atOrAboveP99 = k.samples.filter((ns) => ns >= p99).length;
    // Off the CPU: the process (every thread of it) ran for less than half the sample's
    // wall time, so this thread waited (other processes, page faults of the host...).
    k.offCpuAtOrAboveP99 = k.samples.filter((ns, i) => ns >= p99 && k.cpuUs[i] * 1000 < ns / 2).length;
    k.cpuMedianUs = median(k.cpuUs);
    // Drift: does a fault get slower as the file accumulates extents?
    const q = Math.floor(k.samples.length / 4);
    k.firstQuarterMedian = median(k.samples.slice(0, q));
    k.lastQuarterMedian = median(k.samples.slice(-q));
  }

  const problems = fs.fsck();
  if (problems.length) throw new Error(`fsck after the fault benchmarks: ${problems.slice(0, 3).join('; ')}`);

  const group = 'dax write fault, 8 B mapping.store';
  const rows = kinds.map((k) => {
    const sorted = [...k.samples].sort((a, b) => a - b);
    const meanNs = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    return {
      group, name: k.name, baseline: Boolean(k.baseline), bytes: 0, batch: 1, samples: sorted.length,
      opsPerSec: 1e9 / meanNs, meanNs, p50Ns: percentile(sorted, 50), p99Ns: percentile(sorted, 99),
      minNs: sorted[0], maxNs: sorted[sorted.length - 1], rmePct: null, bytesPerSec: 0,
      verified: `${sorted.length + FAULT_WARMUP} samples, each exactly ${k.expect.writeFaults ? `1 write fault (+1 ${Object.keys(k.expect).find((x) => x !== 'writeFaults')})` : 'no fault'}`,
      shootdownsPerSample: k.perSample.shootdowns, invalidationsPerSample: k.perSample.invalidations,
      gcOverlap: k.gcOverlap, gcOverlapAtOrAboveP99: k.gcOverlapAtOrAboveP99, atOrAboveP99: k.atOrAboveP99,
      offCpuAtOrAboveP99: k.offCpuAtOrAboveP99, cpuMedianUs: k.cpuMedianUs,
      firstQuarterMedianNs: k.firstQuarterMedian, lastQuarterMedianNs: k.lastQuarterMedian,
    };
  });
  const b = rows.find((r) => r.baseline);
  for (const r of rows) { r.ratioKind = 'median time'; r.ratio = r.p50Ns / b.p50Ns; }
  return { rows };
}

// --- 3. writer threads -------------------------------------------------------------

/**
 * The writer configurations, in the order each repetition runs them. `size` names the
 * row group (ratios are against the 1-writer row of the same size); the 1-writer rows
 * are the same for both layouts (one writer owns every slot either way).
 */
function writerConfigs(nocow, cow) {
  const plain = (key, storeBytes, writers, layout, name, baseline = false) =>
    ({ key, name, mapping: nocow, storeBytes, writers, layout, commits: false, baseline });
  return [
    plain('1w', 64, 1, 'partitioned', '1 writer, nodatacow (no faults)', true),
    plain('2w', 64, 2, 'partitioned', '2 writers concurrently, nodatacow (no faults), partitioned slots'),
    plain('2w-i', 64, 2, 'interleaved', '2 writers concurrently, nodatacow (no faults), interleaved slots'),
    plain('1w-4k', 4096, 1, 'partitioned', '1 writer, nodatacow (no faults)', true),
    plain('2w-4k', 4096, 2, 'partitioned', '2 writers concurrently, nodatacow (no faults), partitioned slots'),
    { key: '1w+c', name: `1 writer, datacow, main thread commits every ~${COMMIT_EVERY_MS} ms`, mapping: cow, storeBytes: 64, writers: 1, layout: 'interleaved', commits: true },
    { key: '2w+c', name: `2 writers, datacow, main thread commits every ~${COMMIT_EVERY_MS} ms`, mapping: cow, storeBytes: 64, writers: 2, layout: 'interleaved', commits: true },
  ];
}

/** Every record of a run where it belongs: each slot a writer stored to holds the tag of its last store there. */
function verifyRecords(fs, mapping, fileBytes, specs, results) {
  fs.commit();
  const view = new DataView(mapping.load(0, fileBytes).buffer);
  let checked = 0;
  for (const r of results) {
    const spec = specs[r.writerIndex];
    const picker = slotPicker(spec);
    for (let k = 0; k < r.lastSeq.length; k++) {
      const seq = r.lastSeq[k];
      if (seq === 0) continue;
      const at = picker.slot(k) * spec.storeBytes;
      const tag = storeTag(r.writerIndex, seq);
      for (let w = 0; w < spec.storeBytes; w += 8) {
        if (view.getBigUint64(at + w, true) !== tag) throw new Error(`writer records: the record at ${at} is not writer ${r.writerIndex}'s last store there`);
      }
      checked++;
    }
  }
  return checked;
}

/** The medians of one configuration's runs. */
function writerSummary(c, rs, storesPerWriter) {
  const rate = median(rs.map((r) => r.storesPerSec));
  return {
    name: c.name, writers: c.writers, storeBytes: c.storeBytes, layout: c.layout, storesPerWriter, commits: c.commits,
    storesPerSecMedian: rate,
    storesPerSecRuns: rs.map((r) => r.storesPerSec),
    perWriterStoresPerSec: rate / c.writers,
    wallMsRuns: rs.map((r) => r.wallMs),
    writerElapsedMsRuns: rs.map((r) => r.writerElapsedMs),
    faultsPerRun: median(rs.map((r) => r.faults)),
    mainThreadBusy: median(rs.map((r) => r.mainThreadBusy)),
    commitsPerSec: median(rs.map((r) => r.commits / (r.wallMs / 1000))),
    faultsPer1kStores: median(rs.map((r) => (1000 * r.faults) / r.stores)),
    faultsHereShare: median(rs.map((r) => (r.faults ? r.faultsHere / r.faults : 1))),
    commitsPerRun: median(rs.map((r) => r.commits)),
    commitMeanMs: median(rs.map((r) => r.commitMeanMs)),
    shootdownsPerRun: median(rs.map((r) => r.shootdowns)),
  };
}

export async function writerBenches(fs) {
  const dax = fs.dax;
  const fileBytes = WRITER_FILE_BYTES;
  writtenFile(fs, '/w-nocow', fileBytes, { nocow: true });
  writtenFile(fs, '/w-cow', fileBytes, { nocow: false });
  const nocow = fs.mmap('/w-nocow', { length: fileBytes });
  const cow = fs.mmap('/w-cow', { length: fileBytes });
  const poolStart = performance.now();
  const pool = await WriterPool.start(fs, 2);
  const poolStartMs = performance.now() - poolStart;

  const spec = (c, writerIndex, stores, kind, seed) => ({
    mapping: c.mapping.handle(), kind, stores, storeBytes: c.storeBytes, writers: c.writers, writerIndex, seed, layout: c.layout,
  });
  const slots = fileBytes / 64;
  // Untimed: both writers store to every 64-byte slot of a mapping (faults every page writable).
  const fillAll = (mapping) => pool.run([0, 1].map((w) => spec({ mapping, storeBytes: 64, writers: 2, layout: 'interleaved' }, w, slots / 2, 'sequential', 1)));
  // Warm-up: every slot of both mappings (both threads' TLBs and JITs warm), then a run of each size.
  for (const m of [nocow, cow]) await fillAll(m);
  const configs = writerConfigs(nocow, cow);
  for (const c of configs.filter((x) => !x.commits)) await pool.run([spec(c, 0, 20_000, 'random', 1)]);

  let seed = 100;
  const runOnce = async (c, stores) => {
    seed++;
    const specs = Array.from({ length: c.writers }, (_, w) => spec(c, w, stores, 'random', seed));
    fs.commit(); // untimed: every run starts clean (pages stored to since the last commit write-protected)
    // Untimed: nodatacow runs are timed without faults, so their pages are made writable again.
    if (!c.commits) await fillAll(c.mapping);
    const statsBefore = { ...dax.stats };
    const commitMs = [];
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    let done = false;
    const work = pool.run(specs).finally(() => { done = true; });
    if (c.commits) {
      // Sleep ~5 ms, commit, repeat: faults are served between commits (this thread).
      while (!done) {
        await sleep(COMMIT_EVERY_MS);
        if (done) break;
        const c0 = performance.now();
        fs.commit();
        commitMs.push(performance.now() - c0);
      }
    }
    const results = await work;
    const wallMs = performance.now() - t0;
    const elu = performance.eventLoopUtilization(elu0).utilization; // this thread: commits + serving faults
    const d = statsDelta(statsBefore, dax.stats);
    const faults = results.reduce((a, r) => a + r.faults, 0);
    if (!c.commits && (faults !== 0 || d.writeFaults !== 0)) throw new Error(`${c.name}: ${faults} faults without commits`);
    if (faults !== d.writeFaults) throw new Error(`${c.name}: writers saw ${faults} faults, the manager ${d.writeFaults}`);
    const total = results.reduce((a, r) => a + r.stores, 0);
    return {
      specs, results,
      run: {
        wallMs, stores: total, storesPerSec: total / (wallMs / 1000), mainThreadBusy: elu,
        writerElapsedMs: results.map((r) => r.elapsedMs),
        faults, faultsHere: results.reduce((a, r) => a + r.faultsServedHere, 0), cowFaults: d.cowFaults, inPlaceFaults: d.inPlaceFaults, shootdowns: d.shootdowns,
        commits: commitMs.length, commitMeanMs: commitMs.length ? commitMs.reduce((a, b) => a + b, 0) / commitMs.length : 0,
      },
    };
  };

  // Stores per writer: about WRITER_TARGET_MS of one writer of each size, and
  // WRITER_COMMIT_TARGET_MS with commits (faults make those far slower; a shared N would take minutes).
  const calibrate = async (key, probeStores, targetMs, min) => {
    const { run } = await runOnce(configs.find((c) => c.key === key), probeStores);
    return Math.max(min, Math.round((probeStores * targetMs) / run.wallMs / 1000) * 1000);
  };
  const storesFor = {
    plain: await calibrate('1w', 50_000, WRITER_TARGET_MS, 50_000),
    plain4k: await calibrate('1w-4k', 5_000, WRITER_TARGET_MS, 5_000),
    commits: Math.min(50_000, await calibrate('1w+c', 5_000, WRITER_COMMIT_TARGET_MS, 2_000)),
  };
  const storesOf = (c) => (c.commits ? storesFor.commits : c.storeBytes === 64 ? storesFor.plain : storesFor.plain4k);

  const runs = new Map(configs.map((c) => [c.key, []]));
  const verified = {};
  for (let rep = 0; rep < WRITER_REPS; rep++) {
    for (const c of configs) {
      const { specs, results, run } = await runOnce(c, storesOf(c));
      runs.get(c.key).push(run);
      // The last repetition's 2-writer runs: every record read back through the mapping.
      if (rep === WRITER_REPS - 1 && c.writers === 2) verified[c.key] = verifyRecords(fs, c.mapping, fileBytes, specs, results);
    }
  }
  await pool.stop();
  nocow.unmap();
  cow.unmap();
  const problems = fs.fsck();
  if (problems.length) throw new Error(`fsck after the writer benchmarks: ${problems.slice(0, 3).join('; ')}`);

  const summary = Object.fromEntries(configs.map((c) => [c.key, writerSummary(c, runs.get(c.key), storesOf(c))]));
  const rate = (key) => summary[key].storesPerSecMedian;
  const rows = configs.map((c) => {
    const s = summary[c.key];
    const meanNs = 1e9 / s.storesPerSecMedian;
    const base = c.storeBytes === 64 ? rate('1w') : rate('1w-4k');
    return {
      group: writerGroup(c.storeBytes), name: c.name, baseline: c.baseline, bytes: c.storeBytes, batch: s.storesPerWriter * c.writers,
      samples: WRITER_REPS, opsPerSec: s.storesPerSecMedian, meanNs, p50Ns: meanNs, p99Ns: null, rmePct: null,
      bytesPerSec: c.storeBytes * s.storesPerSecMedian,
      ratioKind: 'aggregate throughput', ratio: s.storesPerSecMedian / base,
    };
  });
  return {
    rows,
    details: {
      poolStartMs, storesPerWriter: storesFor, reps: WRITER_REPS, commitEveryMs: COMMIT_EVERY_MS, summary, recordsVerified: verified,
      batchRecords: WRITER_BATCH_RECORDS,
      scaling: rate('2w') / rate('1w'),
      scalingInterleaved: rate('2w-i') / rate('1w'),
      scaling4k: rate('2w-4k') / rate('1w-4k'),
      scalingWithCommits: rate('2w+c') / rate('1w+c'),
      commitCost1w: rate('1w+c') / rate('1w'),
      commitCost2w: rate('2w+c') / rate('2w-i'),
    },
  };
}

const writerGroup = (storeBytes) => `dax writers, ${storeBytes >= 1024 ? `${storeBytes >> 10} KiB` : `${storeBytes} B`} random stores, ${WRITER_FILE_BYTES >> 20} MiB mapping`;

// --- all --------------------------------------------------------------------------

export async function daxBenches() {
  const started = performance.now();
  const phases = {};
  let mark = started;
  const phase = (name) => { const t = performance.now(); phases[name] = (t - mark) / 1000; mark = t; };
  const device = await PmemDevice.create(DEVICE);
  FileSystem.mkfs(device);
  const fs = FileSystem.mount(device);
  phase('setup');
  const store = await storeBenches(fs);
  phase('store path');
  const fault = await faultBenches(fs);
  phase('fault latency');
  const writers = await writerBenches(fs);
  phase('writer threads');
  const config = { deviceBytes: device.sizeBytes, logCapacity: device.config.logCapacity, maxThreads: device.config.maxThreads };
  fs.unmount();
  device.close();
  return {
    rows: [...store.rows, ...fault.rows, ...writers.rows],
    details: {
      device: config,
      store: {
        fileBytes: store.fileBytes, checks: store.checks,
        // Medians next to the means: on a loaded machine a few preempted batches inflate a mean.
        rows: store.rows.map((r) => {
          const base = store.rows.find((b) => b.group === r.group && b.baseline);
          return { group: r.group, name: r.name, batch: r.batch, meanNs: r.meanNs, p50Ns: r.p50Ns, p99Ns: r.p99Ns, ratioMean: r.ratio, ratioMedian: r.p50Ns / base.p50Ns };
        }),
      },
      faults: fault.rows.map((r) => ({
        name: r.name, samples: r.samples, medianNs: r.p50Ns, p99Ns: r.p99Ns, meanNs: r.meanNs, minNs: r.minNs, maxNs: r.maxNs,
        ratioMedian: r.ratio, verified: r.verified, shootdownsPerSample: r.shootdownsPerSample, invalidationsPerSample: r.invalidationsPerSample,
        gcOverlap: r.gcOverlap, gcOverlapAtOrAboveP99: r.gcOverlapAtOrAboveP99, atOrAboveP99: r.atOrAboveP99,
        offCpuAtOrAboveP99: r.offCpuAtOrAboveP99, cpuMedianUs: r.cpuMedianUs,
        firstQuarterMedianNs: r.firstQuarterMedianNs, lastQuarterMedianNs: r.lastQuarterMedianNs,
      })),
      writers: writers.details,
      phases,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

export function daxNotes(d) {
  const w = d.writers;
  return [
    `dax store groups: ratio = time per op / time of mem_copy of the same bytes to the same device bytes (higher is slower). A ${d.store.fileBytes >> 20} MiB nodatacow file, faulted writable before timing; stores rotate over it (store log, ${d.device.logCapacity} entries, kept full). No fault happened during the timed runs (fs.dax.stats checked).`,
    `dax write fault: one 8-byte mapping.store per sample timed alone with process.hrtime (the baseline row is the same measurement without a fault: mapping.store overhead plus one timer read); fs.commit() and the kind's setup run untimed before each sample, so every fault is the first change of its transaction. ${FAULT_SAMPLES} samples per kind after ${FAULT_WARMUP} warm-up ones; every sample's fs.dax.stats delta was checked (exactly one write fault of the intended kind; none for the baseline). ratio = median / baseline median; "p99 ns" is the p99 of single samples, "mean ns" their mean (median in the table below, with the median of the first and last 100 samples: faults can slow down as the files gain extent items over the run).`,
    `dax writers: each writer thread stores tagged records (storeTag in every 8 bytes) at random slots of a ${WRITER_FILE_BYTES >> 20} MiB mapping, ${w.batchRecords} stores per call into its core (dax_store_batch: one crossing per batch, each store through dax_store's translation, TLB and shootdown path, the core filling the bytes with the tag); ${w.storesPerWriter.plain.toLocaleString('en-US')} (64 B) and ${w.storesPerWriter.plain4k.toLocaleString('en-US')} (4 KiB) stores per writer per run without commits, ${w.storesPerWriter.commits.toLocaleString('en-US')} with (about ${WRITER_TARGET_MS} and ${WRITER_COMMIT_TARGET_MS} ms of one writer); median of ${w.reps} runs, the configurations interleaved, fs.commit() before each run (untimed, as is the store to every page of a nodatacow mapping that makes its pages writable again). ops/s = all writers' stores / wall time of pool.run, the owning thread idle (awaiting pool.run) except in the commit rows; "mean ns" = 1e9 / that (aggregate ns per store). ratio = aggregate throughput / that of 1 writer of the same store size without commits (higher is faster). Layouts: partitioned = each writer owns a contiguous half of the slots; interleaved = slot % 2 == writer (two writers then store to adjacent 64-byte lines of the same pages); one writer owns every slot either way. Without commits no fault happened in any timed run (checked: the writers' counts and fs.dax.stats). 2 writers / 1 writer without commits: ${w.scaling.toFixed(2)} (64 B, partitioned), ${w.scalingInterleaved.toFixed(2)} (64 B, interleaved), ${w.scaling4k.toFixed(2)} (4 KiB, partitioned). With several threads attached each store locks only the stripes (4 KiB pages) of its lines and appends to its own thread's store-log ring (assembly/pmem/store-locks.ts, ring.ts; docs/pmem.md), so the two writers share no lock word; the 1-writer rows run with the owning thread attached too, so they pay the same stripe locks (and keep no deferred fresh runs). The 2 cores are shared with the owning thread and any other process (see the load average). With commits (datacow, 64 B, interleaved slots, COW once per transaction) each page's first store after a commit faults, and the writer's own core serves the fault under the fs lock (assembly/dax/fault.ts; served on the writer's thread: ${(100 * w.summary['1w+c'].faultsHereShare).toFixed(0)}% / ${(100 * w.summary['2w+c'].faultsHereShare).toFixed(0)}% of the faults of the 1- / 2-writer runs, the rest by a message to the owning thread), waiting only while another thread holds that lock (the owning thread's commits: it is busy ${(100 * w.summary['1w+c'].mainThreadBusy).toFixed(0)}% / ${(100 * w.summary['2w+c'].mainThreadBusy).toFixed(0)}% of the runs); throughput falls to ${(100 * w.commitCost1w).toFixed(1)}% / ${(100 * w.commitCost2w).toFixed(1)}% of the no-commit rate (64 B, interleaved); 2 writers / 1 writer with commits: ${w.scalingWithCommits.toFixed(2)}. Faults are per page, not per writer: two writers interleave their slots on the same 256 pages, so one fault serves both writers' later stores to that page until the next commit (faults per 1k stores: ${w.summary['1w+c'].faultsPer1kStores.toFixed(0)} with 1 writer, ${w.summary['2w+c'].faultsPer1kStores.toFixed(0)} with 2), and the 2-writer figure varies widely between runs (see the per-run rates).`,
  ];
}

export function daxMarkdown(d) {
  const out = [];
  out.push('DAX stores through a writable mapping, means and medians (ns per op; each sample is a batch mean, "batch" calls long):', '');
  out.push('| group | name | batch | mean | median | ratio (mean) | ratio (median) |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const ns = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
  for (const r of d.store.rows) out.push(`| ${r.group} | ${r.name} | ${r.batch} | ${ns(r.meanNs)} | ${ns(r.p50Ns)} | ${r.ratioMean.toFixed(2)} | ${r.ratioMedian.toFixed(2)} |`);
  out.push('');
  out.push('DAX write-fault latency (8-byte mapping.store that faults; µs):', '');
  out.push('| kind | samples | median | p99 | mean | min | max | median / baseline | median, first / last 100 | shootdowns per sample | samples >= p99: during a GC / mostly off CPU | checked |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const us = (ns) => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);
  for (const f of d.faults) {
    out.push(`| ${f.name} | ${f.samples} | ${us(f.medianNs)} | ${us(f.p99Ns)} | ${us(f.meanNs)} | ${us(f.minNs)} | ${us(f.maxNs)} | ${f.ratioMedian.toFixed(1)} | ${us(f.firstQuarterMedianNs)} / ${us(f.lastQuarterMedianNs)} | ${f.shootdownsPerSample.toFixed(2)} | ${f.atOrAboveP99}: ${f.gcOverlapAtOrAboveP99} / ${f.offCpuAtOrAboveP99} | ${f.verified} |`);
  }
  const w = d.writers;
  out.push('', `DAX writer threads (random tagged stores over a ${WRITER_FILE_BYTES >> 20} MiB mapping, ${w.batchRecords} stores per call into the core, median of ${w.reps} runs; pool start ${w.poolStartMs.toFixed(0)} ms):`, '');
  out.push('| configuration | store | slots | stores per writer | aggregate stores/s | aggregate ns per store | per writer | runs (stores/s) | faults per 1k stores | commits/s | mean commit ms | main thread busy |');
  out.push('| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  const int = (x) => Math.round(x).toLocaleString('en-US');
  for (const s of Object.values(w.summary)) {
    const size = s.storeBytes >= 1024 ? `${s.storeBytes >> 10} KiB` : `${s.storeBytes} B`;
    out.push(`| ${s.name} | ${size} | ${s.writers === 1 ? '—' : s.layout} | ${int(s.storesPerWriter)} | ${int(s.storesPerSecMedian)} | ${int(1e9 / s.storesPerSecMedian)} | ${int(s.perWriterStoresPerSec)} | ${s.storesPerSecRuns.map(int).join(', ')} | ${s.faultsPer1kStores.toFixed(1)} | ${s.commits ? s.commitsPerSec.toFixed(0) : '—'} | ${s.commits ? s.commitMeanMs.toFixed(2) : '—'} | ${(100 * s.mainThreadBusy).toFixed(0)}% |`);
  }
  out.push('', `2 writers / 1 writer (aggregate stores/s, the goal of issue 17: ≥ 1.8): ${w.scaling.toFixed(2)} (64 B, partitioned), ${w.scaling4k.toFixed(2)} (4 KiB, partitioned), ${w.scalingInterleaved.toFixed(2)} (64 B, interleaved), ${w.scalingWithCommits.toFixed(2)} (64 B, datacow, commits every ~${w.commitEveryMs} ms). With commits / without: ${w.commitCost1w.toFixed(2)} (1 writer), ${w.commitCost2w.toFixed(2)} (2 writers). Records verified through the mapping after the last 2-writer runs: ${Object.entries(w.recordsVerified).map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`).join(', ')}. DAX benchmarks took ${d.seconds.toFixed(1)} s (${Object.entries(d.phases).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}).`, '');
  return out.join('\n');
}
