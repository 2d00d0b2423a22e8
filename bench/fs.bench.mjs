// File-system benchmarks: snapshot time vs tree size, commit time vs dirty nodes, and
// 4 KiB file I/O against raw device stores. Every figure is a ratio against a baseline
// measured in the same run (see the notes and bench/results.md).
//
// Sizing. 100k empty files cost four items each in the fs tree: INODE_ITEM (25 + 64 B),
// INODE_REF (25 + 10 + name), DIR_ITEM and DIR_INDEX (25 + 20 + name each), about 230 B
// per file, 23 MB in all; leaves split half-full, so 23-46 MB of 16 KiB leaves (measured:
// ~2,560 leaves, 40 MiB, see results.json `fs.setup`). Old copies stay pinned until their
// commit and snapshots keep theirs, so a 256 MiB device leaves ample room. kernelBytes is
// 64 MiB: a pool of ~4,000 dirty 16 KiB nodes, whose 40% auto-commit threshold (~1,600)
// is above the largest commit measured here (~1,040 dirty nodes).
import { PmemDevice, FileSystem, Rng } from '../dist/index.js';
import { runGroup } from './harness.mjs';

const NODE_BYTES = 16384;
const DEVICE = { sizeBytes: 256 << 20, kernelBytes: 64 << 20 };
const LIVE_SNAPSHOTS = 64; // per task: older ones are deleted (untimed) before each snapshot
const FILES_PER_DIR = 1000;
const CREATE_COMMIT_EVERY = 4000;
const BIG_FILES = 100_000;
const SMALL_FILES = 1_000;
const COMMIT_TARGETS = [16, 64, 256, 1024];
const IO_FILE_BYTES = 16 << 20;
const IO_BYTES = 4096;
const IO_SLOTS = IO_FILE_BYTES / IO_BYTES;
const COMMIT_EVERY_WRITES = 256;
const SNAPSHOT_PROBES = 4;

const now = () => performance.now();

function filePath(i) {
  return `/d${Math.floor(i / FILES_PER_DIR)}/f${i % FILES_PER_DIR}`;
}

/** A fresh file system with `files` empty files in directories of 1000. */
async function buildTree(files, sizeBytes) {
  const started = now();
  const device = await PmemDevice.create({ ...DEVICE, sizeBytes });
  FileSystem.mkfs(device, { nodeSize: NODE_BYTES });
  const fs = FileSystem.mount(device);
  for (let i = 0; i < files; i++) {
    if (i % FILES_PER_DIR === 0) fs.mkdir(`/d${i / FILES_PER_DIR}`);
    fs.create(filePath(i));
    if ((i + 1) % CREATE_COMMIT_EVERY === 0) fs.commit();
  }
  fs.commit();
  const seconds = (now() - started) / 1000;
  const st = fs.statfs();
  return { device, fs, info: { files, seconds, usedBytes: st.usedBytes, deviceBytes: device.sizeBytes, fsTree: treeShape(fs.subvolume(5).tree), extentTree: treeShape(fs.kernel.extentTree) } };
}

/** Nodes per level of a tree: { levels, nodes: [leaves, level 1, ...] }. */
function treeShape(tree) {
  const nodes = [];
  tree.visitNodes((_bytenr, node) => { nodes[node.level] = (nodes[node.level] ?? 0) + 1; return true; });
  return { levels: nodes.length, nodes };
}

/** Deterministic random slots (the project's Rng, src/random.ts). */
function randomSlots(seed, slots) {
  const rng = new Rng(seed);
  return () => rng.below(slots);
}

// --- 1. snapshot time vs tree size -------------------------------------------------

async function snapshotBenches(small, big) {
  const rows = [];
  const perSnapshot = [];
  const variants = [
    { group: 'snapshot / -> /snapN', dest: (tag, n) => `/snap-${tag}-${n}`,
      note: 'destination in the source subvolume: the snapshot also adds its entry to the just-shared tree' },
    { group: 'snapshot / -> /snaps/N', dest: (tag, n) => `/snaps/${tag}-${n}`,
      note: 'destination in another subvolume: the source tree is not modified' },
  ];
  for (const t of [small, big]) t.fs.createSubvolume('/snaps');
  for (const v of variants) {
    const spec = (t, tag, baseline) => {
      let n = 0;
      return {
        name: `${t.info.files.toLocaleString('en-US')} files`, baseline, bytes: 0,
        // Clean before each snapshot (a no-op: snapshot commits after). The device holds a few
        // thousand snapshots of the small tree and fewer beside the big one, and the task runs
        // for a time, not a count: the oldest snapshot beyond LIVE_SNAPSHOTS is deleted here,
        // untimed, so that a faster snapshot never fills the device.
        prepare: () => {
          if (n >= LIVE_SNAPSHOTS) t.fs.deleteSubvolume(v.dest(tag, n - LIVE_SNAPSHOTS));
          t.fs.commit();
        },
        op: () => t.fs.snapshot('/', v.dest(tag, n++)),
      };
    };
    rows.push(...await runGroup(v.group, [spec(small, 'a', true), spec(big, 'b', false)], { ratio: 'time' }));
    // What one snapshot writes to pmem (its commits: tree nodes + superblock).
    for (const [t, tag] of [[small, 'a'], [big, 'b']]) {
      t.fs.commit();
      const before = t.device.counters();
      const reps = SNAPSHOT_PROBES;
      for (let i = 0; i < reps; i++) t.fs.snapshot('/', v.dest(`${tag}x`, i));
      const after = t.device.counters();
      perSnapshot.push({
        group: v.group, files: t.info.files, note: v.note,
        bytesStoredPerSnapshot: (after.bytesStored - before.bytesStored) / reps,
        nodesWrittenPerSnapshot: (after.bytesStored - before.bytesStored) / reps / NODE_BYTES,
      });
    }
  }
  return { rows, perSnapshot };
}

// --- 2. commit time vs dirty nodes -------------------------------------------------

async function commitBenches(big) {
  const { fs, info } = big;
  const k = fs.kernel;
  let size = 1;
  // Touch K files spread evenly over the tree (an inode update each: truncate to a new
  // size, no data), so each lands in its own leaf; the COW paths add the internal nodes.
  const pathsFor = (count) => Array.from({ length: count }, (_, j) => filePath(Math.floor((j + 0.5) * info.files / count)));
  const dirtyWith = (paths) => { size++; for (const p of paths) fs.truncate(p, size); return k.dirtyNodeCount(); };
  const plans = [];
  for (const target of COMMIT_TARGETS) {
    // Binary search for the number of files whose touch dirties closest to `target` nodes
    // (dirty = leaves + the internal nodes on their paths, nearly monotone in the count).
    const probe = (count) => { const d = dirtyWith(pathsFor(count)); fs.commit(); return d; };
    let lo = 1, hi = target;
    let best = { count: 1, dirty: probe(1) };
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const dirty = probe(mid);
      if (Math.abs(dirty - target) < Math.abs(best.dirty - target)) best = { count: mid, dirty };
      if (dirty === target) break;
      if (dirty < target) lo = mid + 1; else hi = mid - 1;
    }
    plans.push({ target, files: best.count, paths: pathsFor(best.count), dirtyProbe: best.dirty, seen: [] });
  }
  const specs = plans.map((plan, idx) => ({
    name: `commit, ${plan.dirtyProbe} dirty nodes (${plan.files} files touched)`,
    baseline: idx === 0,
    bytes: plan.dirtyProbe * NODE_BYTES,
    // dirtyNodeCount() read just before the commit is timed.
    prepare: () => { plan.seen.push(dirtyWith(plan.paths)); },
    op: () => fs.commit(),
  }));
  const rows = await runGroup(`commit (${info.files.toLocaleString('en-US')}-file tree)`, specs, { ratio: 'time' });

  // What a commit writes beyond the nodes dirty before it (extent-tree nodes the delayed
  // refs dirty during the commit, the superblock), and how many delayed refs it runs.
  const details = [];
  const base = rows[0];
  const baseDirty = mean(plans[0].seen);
  let prev = null;
  for (const [i, plan] of plans.entries()) {
    const row = rows[i];
    const dirty = mean(plan.seen);
    row.dirtyNodes = dirty;
    row.dirtyNodesMin = Math.min(...plan.seen);
    row.dirtyNodesMax = Math.max(...plan.seen);
    row.nsPerDirtyNode = row.meanNs / dirty;
    row.bytes = dirty * NODE_BYTES;
    row.bytesPerSec = row.bytes * row.opsPerSec;
    row.ratioKind = 'time per dirty node';
    row.ratio = row.nsPerDirtyNode / (base.meanNs / baseDirty);
    dirtyWith(plan.paths);
    const delayedRefs = k.delayed?.size;
    const c0 = big.device.counters();
    fs.commit();
    const c1 = big.device.counters();
    const d = {
      target: plan.target, filesTouched: plan.files, dirtyNodes: dirty, dirtyMin: row.dirtyNodesMin, dirtyMax: row.dirtyNodesMax,
      commitMeanMs: row.meanNs / 1e6, commitP50Ms: row.p50Ns / 1e6, usPerDirtyNode: row.nsPerDirtyNode / 1e3, ratioPerNode: row.ratio,
      marginalUsPerNode: prev ? (row.meanNs - prev.meanNs) / (dirty - prev.dirty) / 1e3 : null,
      nodesWritten: (c1.bytesStored - c0.bytesStored) / NODE_BYTES, delayedRefsAtCommit: delayedRefs ?? null,
    };
    details.push(d);
    prev = { meanNs: row.meanNs, dirty };
  }
  return { rows, details };
}

function checkFs(fs, when) {
  const problems = fs.fsck();
  if (problems.length) throw new Error(`fsck ${when}: ${problems.slice(0, 3).join('; ')}`);
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

// --- 3. 4 KiB file I/O vs raw device stores --------------------------------------

async function ioBenches() {
  const started = now();
  const device = await PmemDevice.create(DEVICE);
  FileSystem.mkfs(device, { nodeSize: NODE_BYTES });
  const fs = FileSystem.mount(device);
  const fill = new Uint8Array(IO_FILE_BYTES).fill(1);
  // Both 16 MiB files written whole on a fresh fs: 16 extents of 1 MiB each.
  const files = [{ path: '/cow', label: 'datacow' }, { path: '/nocow', label: 'nodatacow' }];
  for (const f of files) {
    fs.create(f.path);
    if (f.path === '/nocow') fs.setNoDataCow(f.path);
    f.fd = fs.open(f.path);
    fs.pwrite(f.fd, fill, 0);
    fs.commit();
  }
  // A nodatacow file written 4 KiB at a time: one extent per 4 KiB (4096 extents).
  const frag = { path: '/nocow-frag', label: 'nodatacow, 4096-extent file' };
  fs.create(frag.path);
  fs.setNoDataCow(frag.path);
  frag.fd = fs.open(frag.path);
  for (let s = 0; s < IO_SLOTS; s++) {
    fs.pwrite(frag.fd, fill.subarray(0, IO_BYTES), s * IO_BYTES);
    if ((s + 1) % COMMIT_EVERY_WRITES === 0) fs.commit();
  }
  fs.commit();
  const setupSeconds = (now() - started) / 1000;

  // Baseline: device.store of 4 KiB from the JS heap on an identically configured device,
  // rotating over 16 MiB (the store log kept full, as on the file system's device).
  const raw = await PmemDevice.create(DEVICE);
  const RAW_BASE = 64 << 20;
  const rawAt = (i) => RAW_BASE + (i % IO_SLOTS) * IO_BYTES;
  for (let i = 0; i < IO_SLOTS; i++) raw.store(rawAt(i), fill.subarray(0, IO_BYTES));

  const data = new Uint8Array(IO_BYTES);
  for (let i = 0; i < IO_BYTES; i++) data[i] = (i * 131 + 7) & 255;
  const writer = (f, random, seed) => {
    const next = random ? randomSlots(seed, IO_SLOTS) : (() => { let s = 0; return () => (s++) % IO_SLOTS; })();
    let writes = 0;
    return () => {
      fs.pwrite(f.fd, data, next() * IO_BYTES);
      if (++writes % COMMIT_EVERY_WRITES === 0) fs.commit();
    };
  };
  const reader = (f, random, seed) => {
    const next = random ? randomSlots(seed, IO_SLOTS) : (() => { let s = 0; return () => (s++) % IO_SLOTS; })();
    return () => { if (fs.pread(f.fd, IO_BYTES, next() * IO_BYTES).length !== IO_BYTES) throw new Error('short read'); };
  };
  const specs = [
    { name: 'device.store 4 KiB (raw, from JS heap)', bytes: IO_BYTES, baseline: true, op: (i) => raw.store(rawAt(i), data) },
    { name: 'device.load 4 KiB (raw)', bytes: IO_BYTES, op: (i) => raw.load(rawAt(i), IO_BYTES) },
  ];
  for (const [fi, f] of files.entries()) {
    specs.push(
      { name: `${f.label} pwrite sequential`, bytes: IO_BYTES, op: writer(f, false) },
      { name: `${f.label} pwrite random`, bytes: IO_BYTES, op: writer(f, true, 0x9e3779b9 + fi) },
      { name: `${f.label} pread sequential`, bytes: IO_BYTES, op: reader(f, false) },
      { name: `${f.label} pread random`, bytes: IO_BYTES, op: reader(f, true, 0x85ebca6b + fi) },
    );
  }
  specs.push({ name: `${frag.label} pwrite random`, bytes: IO_BYTES, op: writer(frag, true, 0xc2b2ae35) });
  const rows = await runGroup('fs 4 KiB I/O, 16 MiB file', specs, { ratio: 'time' });
  fs.commit();

  const extents = {};
  for (const f of [...files, frag]) extents[f.path] = fs.fileExtents(f.path).length;
  checkFs(fs, 'after the I/O benchmarks');
  for (const f of [...files, frag]) fs.close(f.fd);
  fs.unmount();
  device.close();
  raw.close();
  return { rows, setupSeconds, extentsAfter: extents };
}

// --- all --------------------------------------------------------------------------

export async function fsBenches() {
  const started = now();
  const phases = {};
  let mark = started;
  const phase = (name) => { const t = now(); phases[name] = (t - mark) / 1000; mark = t; };
  const small = await buildTree(SMALL_FILES, 64 << 20);
  const big = await buildTree(BIG_FILES, DEVICE.sizeBytes);
  phase('build trees');

  const commit = await commitBenches(big); // before the snapshots: no shared nodes yet
  phase('commit benches');
  checkFs(big.fs, 'after the commit benchmarks');
  phase('fsck 100k');
  const snapshot = await snapshotBenches(small, big);
  phase('snapshot benches');
  for (const t of [small, big]) {
    t.info.subvolumesAfter = t.fs.subvolumeIds().length;
    t.fs.unmount();
    t.device.close();
  }
  const io = await ioBenches();
  phase('io benches');

  return {
    rows: [...snapshot.rows, ...commit.rows, ...io.rows],
    details: {
      nodeBytes: NODE_BYTES,
      setup: { small: small.info, big: big.info, ioSetupSeconds: io.setupSeconds },
      snapshot: snapshot.perSnapshot,
      commit: commit.details,
      io: { fileBytes: IO_FILE_BYTES, ioBytes: IO_BYTES, commitEveryWrites: COMMIT_EVERY_WRITES, extentsAfter: io.extentsAfter },
      phases,
      seconds: (now() - started) / 1000,
    },
  };
}

export function fsNotes(d) {
  const s = d.setup;
  const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  return [
    `fs: ${d.nodeBytes >> 10} KiB nodes. Setup: ${s.big.files.toLocaleString('en-US')} empty files (dirs of 1000, commit every 4000) in ${s.big.seconds.toFixed(1)} s, ${mib(s.big.usedBytes)} used of ${mib(s.big.deviceBytes)}, fs tree ${s.big.fsTree.levels} levels (${s.big.fsTree.nodes.join(' / ')} nodes, leaves first); ${s.small.files.toLocaleString('en-US')} files: ${s.small.fsTree.levels} levels (${s.small.fsTree.nodes.join(' / ')}). fs benchmarks took ${d.seconds.toFixed(1)} s in all.`,
    'snapshot groups: ratio = time of fs.snapshot on the 100k-file tree / on the 1k-file tree (near 1: O(1)). Each timed call starts clean (committed) with a fresh destination; it includes the commit after.',
    'commit group: time of fs.commit() after touching K files spread over the 100k-file tree (an inode update each); dirty nodes = fs.kernel.dirtyNodeCount() just before the commit (mean over samples); ratio = time per dirty node / that of the smallest N (near 1: linear; below 1: fixed costs amortised). Throughput = dirty node bytes / commit time.',
    `fs 4 KiB I/O: ratio = time per op / time of device.store of 4 KiB (higher is slower). Writes commit every ${d.io.commitEveryWrites} writes inside the timed op (amortised in the mean, visible in p99). datacow/nodatacow files are 16 MiB written whole first (16 extents); the fragmented nodatacow file has one extent per 4 KiB.`,
  ];
}

export function fsMarkdown(d) {
  const out = [];
  out.push(`File system: pmem bytes written per snapshot (${SNAPSHOT_PROBES}-snapshot average, after the timed runs):`, '');
  out.push('| group | files | KiB stored per snapshot | 16 KiB nodes |', '| --- | ---: | ---: | ---: |');
  for (const s of d.snapshot) {
    out.push(`| ${s.group} | ${s.files.toLocaleString('en-US')} | ${(s.bytesStoredPerSnapshot / 1024).toFixed(0)} | ${s.nodesWrittenPerSnapshot.toFixed(1)} |`);
  }
  out.push('', 'File system: commit time vs dirty nodes (100k-file tree):', '');
  out.push('| target N | files touched | dirty nodes (min-max) | commit ms (mean / p50) | µs per dirty node | ratio per node | marginal µs per added node | nodes written | delayed refs |');
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of d.commit) {
    const range = c.dirtyMin === c.dirtyMax ? `${c.dirtyMin}` : `${c.dirtyNodes.toFixed(0)} (${c.dirtyMin}-${c.dirtyMax})`;
    out.push(`| ${c.target} | ${c.filesTouched} | ${range} | ${c.commitMeanMs.toFixed(2)} / ${c.commitP50Ms.toFixed(2)} | ${c.usPerDirtyNode.toFixed(1)} | ${c.ratioPerNode.toFixed(2)} | ${c.marginalUsPerNode === null ? '—' : c.marginalUsPerNode.toFixed(1)} | ${c.nodesWritten.toFixed(0)} | ${c.delayedRefsAtCommit ?? '—'} |`);
  }
  out.push('', `File extents after the I/O runs: ${Object.entries(d.io.extentsAfter).map(([p, n]) => `${p} ${n}`).join(', ')}.`, '');
  return out.join('\n');
}
