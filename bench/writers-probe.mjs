// Writer threads alone, for comparing builds: 1 and 2 writers storing `size`-byte records at
// random slots of a 1 MiB nodatacow mapping (the dax bench's writer rows, without commits),
// the two configurations alternating, each run's stores per second printed as the best and
// the median over the runs. The dax bench's table takes medians of 5; this takes more runs
// and the best as well, which a noisy machine moves less.
//   node bench/writers-probe.mjs [size] [runs] [root] [fileKiB] [logCapacity]
//   (root: a checkout with dist/ and build/ made, default this one; fileKiB: the mapping's
//   size, default 1024; logCapacity: the store log's entries per thread, default the
//   device's 65536. A small file and log fit the writers' caches: whether two writers scale
//   then says whether the log's footprint is what holds them back.)
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writtenFile } from './written-file.mjs';

const size = Number(process.argv[2] ?? 4096);
const runs = Number(process.argv[3] ?? 9);
const root = process.argv[4] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..');
if (!(size > 0) || !(runs > 0)) throw new Error('usage: writers-probe.mjs [size] [runs] [root]');
const { PmemDevice, FileSystem, WriterPool } = await import(pathToFileURL(path.join(root, 'dist/index.js')).href);

const FILE_BYTES = Number(process.argv[5] ?? 1024) * 1024;
const logCapacity = process.argv[6] === undefined ? undefined : Number(process.argv[6]);
if (!(FILE_BYTES >= 64 << 10) || FILE_BYTES % 4096 !== 0) throw new Error('fileKiB: 64 or more, whole pages');
const device = await PmemDevice.create({
  sizeBytes: 128 << 20, ...(logCapacity === undefined ? {} : { logCapacity }),
});
FileSystem.mkfs(device);
const fs = FileSystem.mount(device);
writtenFile(fs, '/w', FILE_BYTES, { nocow: true });
const mapping = fs.mmap('/w', { length: FILE_BYTES });
const pool = await WriterPool.start(fs, 2);
const spec = (writers, w, stores, kind, seed, bytes = size, layout = 'partitioned') => ({
  mapping: mapping.handle(), kind, stores, storeBytes: bytes, writers, writerIndex: w, seed, layout,
});
// Every page writable (no fault in a timed run), every slot stored once.
const fillAll = () => pool.run([0, 1].map((w) => spec(2, w, FILE_BYTES / 64 / 2, 'sequential', 1, 64, 'interleaved')));
await fillAll();
const stores = size >= 4096 ? 100_000 : 1_000_000;
let seed = 1;
const rates = { 1: [], 2: [] };
for (let r = 0; r < runs + 1; r++) {
  for (const writers of [1, 2]) {
    fs.commit();
    await fillAll();
    seed++;
    const t = performance.now();
    const results = await pool.run(Array.from({ length: writers }, (_, w) => spec(writers, w, stores / writers, 'random', seed)));
    const ms = performance.now() - t;
    if (results.some((x) => x.faults !== 0)) throw new Error('a fault in a timed run');
    if (r > 0) rates[writers].push(stores / (ms / 1000)); // the first round warms up
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const best = (xs) => Math.max(...xs);
console.log(`${size} B, ${FILE_BYTES >> 10} KiB mapping, log ${device.config.logCapacity} per thread, ${runs} runs: 1 writer ${(1e9 / best(rates[1])).toFixed(0)} ns/store best, ${(1e9 / med(rates[1])).toFixed(0)} median; `
  + `2 writers ${(1e9 / best(rates[2])).toFixed(0)} best, ${(1e9 / med(rates[2])).toFixed(0)} median; `
  + `2/1 best ${(best(rates[2]) / best(rates[1])).toFixed(2)}, median ${(med(rates[2]) / med(rates[1])).toFixed(2)}`);
await pool.close?.();
process.exit(0);
