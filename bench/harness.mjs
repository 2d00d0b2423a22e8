// Shared helpers: batched tinybench tasks, row extraction and the markdown table.
//
// Many operations here take tens of nanoseconds, less than one timer call. So every
// task runs a calibrated batch of inner calls per tinybench iteration and reports
// the batch mean through `overriddenDuration` (and the batch's whole cost through
// `overriddenIterationCost`, so the `time` budget stays honest). Percentiles are
// therefore percentiles of batch means (each batch ~ BATCH_TARGET_NS of work).
import { Bench } from 'tinybench';

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const TASK_TIME_MS = 400;
export const WARMUP_TIME_MS = 100;
const BATCH_TARGET_NS = 20_000;

const nowNs = () => Number(process.hrtime.bigint());

/**
 * How many calls of `op` take about BATCH_TARGET_NS (at least 1). Three timing rounds,
 * the fastest wins: a round the OS preempted (loaded machine) overestimates the cost
 * per call and would leave a batch of 1, i.e. a timer call per op.
 */
function calibrateBatch(op) {
  for (let i = 0; i < 64; i++) op(i); // let the JIT see it first
  let calls = 0;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = nowNs();
    const first = calls;
    let elapsed = 0;
    while (elapsed < 1_000_000 && calls - first < 500_000) {
      op(calls++);
      if ((calls & 15) === 0) elapsed = nowNs() - start;
    }
    elapsed = nowNs() - start;
    best = Math.min(best, elapsed / (calls - first));
  }
  return Math.max(1, Math.round(BATCH_TARGET_NS / best));
}

/**
 * A group of tasks sharing a baseline. Each spec: { name, op(i), bytes, baseline?, prepare?,
 * opsPerCall? }. `op(i)` performs one operation (i counts calls, for rotating addresses), or
 * `opsPerCall` of them (a batch API: the row reports the time per operation).
 * `prepare(i)`, when given, runs before each `op(i)` outside the timed region (for slow
 * operations that need untimed setup, e.g. dirtying nodes before a commit): such a task
 * times one call per iteration (no batch) and charges prepare + op to the time budget.
 * Returns rows with per-operation statistics.
 */
export async function runGroup(group, specs, { ratio }) {
  const bench = new Bench({
    name: group,
    time: TASK_TIME_MS,
    warmupTime: WARMUP_TIME_MS,
    warmupIterations: 8,
    iterations: 16,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  const batches = new Map();
  for (const spec of specs) {
    if (spec.prepare) {
      batches.set(spec.name, 1);
      let counter = 0;
      const { op, prepare } = spec;
      bench.add(spec.name, () => {
        const before = bench.now();
        prepare(counter);
        const start = bench.now();
        op(counter++);
        const end = bench.now();
        return { overriddenDuration: end - start, overriddenIterationCost: end - before };
      }, { async: false });
      continue;
    }
    const batch = calibrateBatch(spec.op);
    batches.set(spec.name, batch);
    let counter = 0;
    const op = spec.op, ops = batch * (spec.opsPerCall ?? 1);
    bench.add(spec.name, () => {
      const start = bench.now();
      for (let k = 0; k < batch; k++) op(counter++);
      const elapsed = bench.now() - start;
      return { overriddenDuration: elapsed / ops, overriddenIterationCost: elapsed };
    }, { async: false });
  }
  await bench.run();

  const rows = specs.map((spec) => {
    const task = bench.getTask(spec.name);
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${group} / ${spec.name}: ${r.state} ${r.error?.stack ?? ''}`);
    const meanNs = r.latency.mean * 1e6;
    return {
      group,
      name: spec.name,
      baseline: Boolean(spec.baseline),
      bytes: spec.bytes,
      batch: batches.get(spec.name),
      samples: r.latency.samplesCount,
      opsPerSec: 1e9 / meanNs,
      meanNs,
      p50Ns: r.latency.p50 * 1e6,
      p99Ns: r.latency.p99 * 1e6,
      rmePct: r.latency.rme,
      bytesPerSec: spec.bytes * (1e9 / meanNs),
    };
  });
  const base = rows.find((row) => row.baseline);
  if (!base) throw new Error(`${group}: no baseline`);
  for (const row of rows) {
    // 'throughput': throughput / baseline throughput (higher is faster);
    // 'time': time per op / baseline time per op (higher is slower).
    row.ratioKind = ratio;
    row.ratio = ratio === 'throughput' ? base.meanNs / row.meanNs : row.meanNs / base.meanNs;
  }
  return rows;
}

function fmtInt(x) {
  return Math.round(x).toLocaleString('en-US');
}

function fmtNs(x) {
  return x >= 100 ? fmtInt(x) : x.toFixed(1);
}

function fmtRate(bytesPerSec) {
  if (bytesPerSec >= 1e9) return `${(bytesPerSec / 1e9).toFixed(2)} GB/s`;
  return `${(bytesPerSec / 1e6).toFixed(0)} MB/s`;
}

export function markdownTable(rows) {
  const header = ['group', 'name', 'ops/s', 'mean ns', 'p99 ns', 'throughput', 'ratio vs baseline'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((h, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const r of rows) {
    const ratio = r.baseline ? '1.00 (baseline)' : `${r.ratio.toFixed(2)}`;
    const rate = r.bytes ? fmtRate(r.bytesPerSec) : '—';
    lines.push(`| ${r.group} | ${r.name} | ${fmtInt(r.opsPerSec)} | ${fmtNs(r.meanNs)} | ${r.p99Ns == null ? '—' : fmtNs(r.p99Ns)} | ${rate} | ${ratio} |`);
  }
  return lines.join('\n');
}
