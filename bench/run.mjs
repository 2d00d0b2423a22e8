// Runs every benchmark, prints a markdown table, writes bench/results.{json,md}.
// `npm run bench` builds first; `node bench/run.mjs` uses the existing dist/ and build/.
import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import { PmemDevice } from '../dist/index.js';
import { crc32cBenches } from './crc32c.bench.mjs';
import { storeBenches } from './store.bench.mjs';
import { fsBenches, fsNotes, fsMarkdown } from './fs.bench.mjs';
import { daxBenches, daxNotes, daxMarkdown } from './dax.bench.mjs';
import { markdownTable, TASK_TIME_MS, WARMUP_TIME_MS } from './harness.mjs';

const started = Date.now();
const loadBefore = os.loadavg();
const device = await PmemDevice.create({ sizeBytes: 64 << 20 });

const crc = await crc32cBenches(device);
const store = await storeBenches(device);
const fs = await fsBenches();
const dax = await daxBenches();
const rows = [...crc.rows, ...store.rows, ...fs.rows, ...dax.rows];

const cpus = os.cpus();
const machine = {
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpuModel: cpus[0]?.model ?? 'unknown',
  cpuCount: cpus.length,
  totalMemBytes: os.totalmem(),
  // 1-minute load average at the start and the end: other processes on the machine skew timings.
  loadAvg1m: [loadBefore[0], os.loadavg()[0]].map((x) => Number(x.toFixed(2))),
  date: new Date().toISOString(),
};

const notes = [
  'ops/s = 1e9 / mean ns. Each sample is the mean of a calibrated batch (~20 µs) of calls, so p99 is the p99 of batch means.',
  'crc32c groups: ratio = throughput / throughput of the JS table baseline (higher is faster).',
  'store groups: ratio = time per op / time per op of mem_copy of the same bytes (higher is slower).',
  `Stores rotate over 8 MiB of a ${device.sizeBytes >> 20} MiB device (store log ${device.config.logCapacity} entries, kept full: each stored line evicts the oldest entry).`,
  `tinybench time ${TASK_TIME_MS} ms per task, warmup ${WARMUP_TIME_MS} ms.`,
  ...fsNotes(fs.details),
  ...daxNotes(dax.details),
];

const table = markdownTable(rows);
const md = [
  '# pmcow benchmarks',
  '',
  `${machine.date} · Node ${machine.node} · ${machine.cpuModel} (${machine.cpuCount} CPUs) · ${machine.platform} · load average (1 min) ${machine.loadAvg1m.join(' → ')}`,
  '',
  table,
  '',
  ...notes.map((n) => `- ${n}`),
  '',
  'Store log per store in the steady state:',
  '',
  '| store size | log entries | evictions | lines retired | log span / capacity |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...store.logStats.map((s) => `| ${s.size} B | ${s.logEntriesPerStore} | ${s.evictionsPerStore} | ${s.linesRetiredPerStore} | ${s.logSpan} / ${s.logCapacity} |`),
  '',
  fsMarkdown(fs.details),
  daxMarkdown(dax.details),
].join('\n');

console.log(table);
console.log();
for (const n of notes) console.log(`- ${n}`);
console.log(`\nTotal ${((Date.now() - started) / 1000).toFixed(1)} s`);

const here = new URL('.', import.meta.url);
await writeFile(new URL('results.json', here), JSON.stringify({
  machine, notes, crcChecks: crc.checks, storeLog: store.logStats, fs: fs.details, dax: dax.details, rows,
}, null, 2) + '\n');
await writeFile(new URL('results.md', here), md);
device.close();
