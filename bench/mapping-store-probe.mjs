// DaxMapping.store from JavaScript alone, at its best: the least time per store over chunks of
// stores, for comparing two builds on this noisy machine (the dax bench's "mapping.store"
// rows take medians). A 4 MiB nodatacow mapping, every page made writable first, stores of
// `size` bytes from a JavaScript Uint8Array rotating over it (no fault in the timed loop).
//   node bench/mapping-store-probe.mjs [size] [root]   (root: a checkout with dist/ and build/
//   made, default this one; run two roots alternately to compare builds)
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writtenFile } from './written-file.mjs';

const size = Number(process.argv[2] ?? 64);
const root = process.argv[3] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..');
if (!(size > 0 && size % 8 === 0)) throw new Error('usage: mapping-store-probe.mjs [size] [root]');
const { PmemDevice, FileSystem } = await import(pathToFileURL(path.join(root, 'dist/index.js')).href);

const FILE_BYTES = 4 << 20;
const device = await PmemDevice.create({ sizeBytes: 64 << 20 });
FileSystem.mkfs(device);
const fs = FileSystem.mount(device);
writtenFile(fs, '/m', FILE_BYTES, { nocow: true });
const mapping = fs.mmap('/m', { length: FILE_BYTES });
const heap = new Uint8Array(size).fill(5);
const slots = FILE_BYTES / size;
for (let i = 0; i < slots; i++) mapping.store(i * size, heap); // every page writable
const faultsBefore = fs.dax.stats.writeFaults;
const chunk = size >= 4096 ? 500 : 5000;
const times = [];
let n = 0;
const start = performance.now();
while (performance.now() - start < 3000) {
  const t = performance.now();
  for (let k = 0; k < chunk; k++) mapping.store((n++ % slots) * size, heap);
  times.push(((performance.now() - t) * 1e6) / chunk);
}
if (fs.dax.stats.writeFaults !== faultsBefore) throw new Error('a fault in the timed loop');
times.sort((a, b) => a - b);
console.log(`mapping.store ${size} B: least ${times[0].toFixed(1)} ns, p25 ${times[times.length >> 2].toFixed(1)} ns per store (${times.length} chunks of ${chunk})`);
process.exit(0);
