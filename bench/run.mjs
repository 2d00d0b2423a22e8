// Runs every benchmark, prints a markdown table, writes bench/results.{json,md}.
// `npm run bench` builds first; `node bench/run.mjs` uses the existing dist/ and build/.
// `node bench/run.mjs crash dax` runs only the named benches (crc32c, store, fs, dax,
// crash, engine) and keeps the other benches' rows and details from the previous
// results.json. The engine bench's section ("Issue 14 goals") also quotes the dax rows:
// run `node bench/run.mjs dax engine` for a goal table measured in one run.
// `PMCOW_BASELINE_ROOT=/tmp/old node bench/run.mjs baseline` compares crash exploration with
// an older build (bench/baseline.bench.mjs); it runs only when named.
import os from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { PmemDevice } from '../dist/index.js';
import { crc32cBenches } from './crc32c.bench.mjs';
import { storeBenches } from './store.bench.mjs';
import { storeGoalsMarkdown } from './store-goals.mjs';
import { fsBenches, fsNotes, fsMarkdown } from './fs.bench.mjs';
import { daxBenches, daxNotes, daxMarkdown } from './dax.bench.mjs';
import { crashBenches, crashNotes, crashMarkdown } from './crash.bench.mjs';
import { engineBenches, engineNotes, engineMarkdown } from './engine.bench.mjs';
import { baselineBenches, baselineNotes } from './baseline.bench.mjs';
import { markdownTable, TASK_TIME_MS, WARMUP_TIME_MS } from './harness.mjs';

const BENCHES = ['crc32c', 'store', 'fs', 'dax', 'crash', 'engine', 'baseline'];
// Run only when named: it needs an older build's checkout (bench/baseline.bench.mjs).
const NAMED_ONLY = ['baseline'];
const only = process.argv.slice(2);
for (const name of only) if (!BENCHES.includes(name)) throw new Error(`unknown bench ${name} (one of ${BENCHES.join(', ')})`);
const runs = (name) => only.includes(name) || (only.length === 0 && !NAMED_ONLY.includes(name));
const here = new URL('.', import.meta.url);
// A filtered run keeps the other benches' figures from the previous results.
const previous = JSON.parse(await readFile(new URL('results.json', here), 'utf8').catch(() => 'null'));
// Rows of results written before rows named their bench: by group.
const benchOf = (row) => row.bench ?? (row.group.startsWith('crc32c') ? 'crc32c' : row.group.startsWith('store ') ? 'store'
  : row.group.startsWith('dax ') ? 'dax' : row.group.startsWith('crash ') ? 'crash' : row.group.startsWith('engine ') ? 'engine' : 'fs');
const keptRows = (name) => {
  const rs = (previous?.rows ?? []).filter((r) => benchOf(r) === name).map((r) => ({ ...r, bench: name }));
  if (rs.length === 0 && !NAMED_ONLY.includes(name)) throw new Error(`bench ${name}: not run and no rows of it in results.json (run it too)`);
  return rs;
};
const tag = (name, rs) => rs.map((r) => ({ ...r, bench: name }));

const started = Date.now();
const loadBefore = os.loadavg();
const device = await PmemDevice.create({ sizeBytes: 64 << 20 });

const crc = runs('crc32c') ? await crc32cBenches(device) : { rows: keptRows('crc32c'), checks: previous.crcChecks };
const store = runs('store') ? await storeBenches(device)
  : { rows: keptRows('store'), logStats: previous.storeLog, repeats: previous.storeRepeats };
const fs = runs('fs') ? await fsBenches() : { rows: keptRows('fs'), details: previous.fs };
const dax = runs('dax') ? await daxBenches() : { rows: keptRows('dax'), details: previous.dax };
const crash = runs('crash') ? await crashBenches() : { rows: keptRows('crash'), details: previous.crash };
const engine = runs('engine') ? await engineBenches() : { rows: keptRows('engine'), details: previous.engine };
const baseline = runs('baseline') ? await baselineBenches() : { rows: keptRows('baseline'), details: previous?.baseline };
const rows = [...tag('crc32c', crc.rows), ...tag('store', store.rows), ...tag('fs', fs.rows), ...tag('dax', dax.rows), ...tag('crash', crash.rows), ...tag('engine', engine.rows), ...tag('baseline', baseline.rows)];

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
// When each bench's figures were measured (a filtered run keeps the others' dates).
const measured = Object.fromEntries(BENCHES.map((name) => [name, runs(name) ? machine.date : (previous?.measured?.[name] ?? previous?.machine.date)]));
const kept = BENCHES.filter((name) => !runs(name) && (name !== 'baseline' || baseline.rows.length > 0));

const notes = [
  'ops/s = 1e9 / mean ns. Each sample is the mean of a calibrated batch (~20 µs) of calls, so p99 is the p99 of batch means.',
  'crc32c groups: ratio = throughput / throughput of the JS table baseline (higher is faster).',
  'store groups: ratio = time per op / time per op of mem_copy of the same bytes (higher is slower).',
  `Stores rotate over 8 MiB of a ${device.sizeBytes >> 20} MiB device (store log ${device.config.logCapacity} entries, kept full: each stored line evicts the oldest entry). The two-copy row is the least any undo log moves per store: the old bytes out into a 4 MiB ring (as the pre-images are kept), then the new bytes in; the store path adds its log records, evictions and stamps to it.`,
  `tinybench time ${TASK_TIME_MS} ms per task, warmup ${WARMUP_TIME_MS} ms.`,
  ...fsNotes(fs.details),
  ...daxNotes(dax.details),
  ...crashNotes(crash.details),
  ...engineNotes(engine.details),
  ...baselineNotes(baseline.details),
  ...(kept.length ? [`This run measured ${BENCHES.filter(runs).join(', ')} only; kept from earlier runs (machine line above is this run's): ${kept.map((name) => `${name} (${measured[name]})`).join(', ')}.`] : []),
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
  storeGoalsMarkdown(store.repeats, rows, measured),
  fsMarkdown(fs.details),
  daxMarkdown(dax.details),
  crashMarkdown(crash.details),
  // Issue 14's goal table, from this run's rows (the fault and writer figures are dax rows).
  engineMarkdown(engine.details, rows, { dax: measured.dax, engine: measured.engine }),
].join('\n');

console.log(table);
console.log();
for (const n of notes) console.log(`- ${n}`);
console.log(`\nTotal ${((Date.now() - started) / 1000).toFixed(1)} s`);

await writeFile(new URL('results.json', here), JSON.stringify({
  machine, measured, notes, crcChecks: crc.checks, storeLog: store.logStats, storeRepeats: store.repeats, fs: fs.details, dax: dax.details, crash: crash.details, engine: engine.details, baseline: baseline.details, rows,
}, null, 2) + '\n');
await writeFile(new URL('results.md', here), md);
device.close();
