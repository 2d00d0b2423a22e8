// The core's store path alone, at its best: the least time per pmem_store over chunks of
// stores, for comparing two builds on this noisy machine (the store bench's groups take
// medians; a change of a few percent drowns in them). Modes:
//   fresh    stores rotate over 8 MiB of a 64 MiB device, as the store bench's: each stored
//            line is fresh and the full log evicts the oldest run
//   restore  stores to 256 pseudo-random slots of `size` bytes (1 MiB with 4 KiB): the lines
//            are pending already, as a DAX writer's stores into a small mapping are
//   copy     no store: memory.copy of the scratch into the fresh mode's addresses (its baseline)
//   two      no store: the undo log's floor, the old bytes out to a 4 MiB ring, then the new in
//   js       device.store from a JavaScript Uint8Array, at the fresh mode's addresses (the
//            public API's path: the wrapper, the copy into the scratch, the core's store)
//   set      no store: TypedArray.set of those bytes into a SharedArrayBuffer (js's baseline)
//   node bench/store-probe.mjs [fresh|restore|copy|two|js|set] [size] [root]
//   (root: a checkout with dist/ and build/ made, default this one; run two roots alternately
//   to compare builds)
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const mode = process.argv[2] ?? 'fresh';
const size = Number(process.argv[3] ?? 4096);
const root = process.argv[4] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..');
if (!['fresh', 'restore', 'copy', 'two', 'js', 'set'].includes(mode) || !(size > 0)) throw new Error('usage: store-probe.mjs [fresh|restore|copy|two|js|set] [size] [root]');
const { PmemDevice } = await import(pathToFileURL(path.join(root, 'dist/index.js')).href);

const device = await PmemDevice.create({ sizeBytes: 64 << 20 });
const core = device.core;
const scratch = device.scratch();
for (let i = 0; i < 65536; i++) scratch[i] = (i * 131) & 255;
const src = scratch.byteOffset;
const BASE = 16 << 20, SPAN = 8 << 20, slots = SPAN / size;
const at = mode === 'restore'
  ? (i) => BASE + (((i * 2654435761) >>> 0) % 256) * size
  : (i) => BASE + (i % slots) * size;
const visible = core.pmem_region(0), RING = visible + (32 << 20), ringSlots = (4 << 20) / size;
const heap = new Uint8Array(size).fill(3), sab = new Uint8Array(new SharedArrayBuffer(64 << 20));
const op = mode === 'copy' ? (i) => core.mem_copy(visible + at(i), src, size)
  : mode === 'js' ? (i) => { device.store(at(i), heap); return 0; }
  : mode === 'set' ? (i) => { sab.set(heap, at(i)); return 0; }
  : mode === 'two' ? (i) => core.mem_copy(RING + (i % ringSlots) * size, visible + at(i), size) | core.mem_copy(visible + at(i), src, size)
    : (i) => core.pmem_store(at(i), src, size, 0);
for (let i = 0; i < slots; i++) core.pmem_store(BASE + (i % slots) * size, src, size, 0); // log full
const chunk = size >= 4096 ? 500 : 5000;
const times = [];
let n = 0;
let bad = 0;
const start = performance.now();
while (performance.now() - start < 3000) {
  const t = performance.now();
  for (let k = 0; k < chunk; k++) bad |= op(n++);
  times.push(((performance.now() - t) * 1e6) / chunk);
}
if (bad !== 0) throw new Error(`${mode}: a core call failed`);
times.sort((a, b) => a - b);
console.log(`${mode} ${size} B: least ${times[0].toFixed(1)} ns, p25 ${times[times.length >> 2].toFixed(1)} ns per store (${times.length} chunks of ${chunk})`);
device.close();
