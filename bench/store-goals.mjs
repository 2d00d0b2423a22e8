// Issue 17's goal table: the store figures as medians over the store bench's repeats
// (store.bench.mjs), the writer figures from the dax rows.
import { median } from './harness.mjs';

const COPY = 'mem_copy (raw memory.copy)';
const SET = 'JS copy from JS heap into a SharedArrayBuffer (TypedArray.set)';
const BATCH = (name) => name.startsWith('device.storeBatch from JS heap');

// [figure, group, row (a name or a test), baseline row, goal]: time ratios, lower is better.
const STORE_GOALS = [
  ['4 KiB store in the core / memory.copy of the same bytes', 'store 4 KiB', 'core pmem_store from scratch', COPY, 3],
  ['4 KiB device.store from JS / TypedArray.set into a SharedArrayBuffer', 'store 4 KiB', 'device.store from JS heap', SET, 3],
  ['64 B device.store from JS / TypedArray.set', 'store 64 B', 'device.store from JS heap', SET, 3],
  ['64 B device.storeBatch from JS, per store / TypedArray.set', 'store 64 B', BATCH, SET, 3],
  ['4 KiB device.storeBatch from JS, per store / TypedArray.set', 'store 4 KiB', BATCH, SET, null],
  ['the undo log\'s floor: two mem_copy (old bytes out, new in) / memory.copy, 4 KiB', 'store 4 KiB', 'two mem_copy: the old bytes out to a 4 MiB ring, then the new in', COPY, null],
  ['64 B store in the core / memory.copy', 'store 64 B', 'core pmem_store from scratch', COPY, null],
];

const WRITERS_64 = 'dax writers, 64 B random stores, 1 MiB mapping';
const WRITERS_4K = 'dax writers, 4 KiB random stores, 1 MiB mapping';
const TWO_WRITERS = '2 writers concurrently, nodatacow (no faults), partitioned slots';

const pick = (rows, group, name) => rows.find((r) => r.group === group
  && (typeof name === 'function' ? name(r.name) : r.name === name));

/** Ratios of one goal in each repeat: by medians of batch means, and by means. */
function ratios(repeats, [, group, name, base]) {
  const out = { byMedian: [], byMean: [] };
  for (const rows of repeats) {
    const row = pick(rows, group, name), b = pick(rows, group, base);
    if (!row || !b) continue;
    out.byMedian.push(row.p50Ns / b.p50Ns);
    out.byMean.push(row.meanNs / b.meanNs);
  }
  return out;
}

export function storeGoalsMarkdown(repeats, rows, measured) {
  if (!repeats?.length) return '';
  const x2 = (v) => `${v.toFixed(2)}×`;
  const out = ['## Issue 17 goals', ''];
  out.push(`Store figures: the store groups ran ${repeats.length} times (measured ${measured.store ?? 'in this run'}; the table above is the last repeat); per repeat, the ratio of the rows' medians (p50 of the batch means), and the median of those. The means' ratios are beside them: a mean takes in the few slow batches of a loaded machine.`, '');
  out.push('| figure | per repeat (medians) | median | by means (median) | goal | holds? |');
  out.push('| --- | --- | ---: | ---: | ---: | --- |');
  for (const goal of STORE_GOALS) {
    const r = ratios(repeats, goal);
    if (r.byMedian.length === 0) { out.push(`| ${goal[0]} | — (no row) | | | | |`); continue; }
    const m = median(r.byMedian);
    const bound = goal[4] == null ? '—' : `≤ ${goal[4]}`;
    const holds = goal[4] == null ? '(reference)' : m <= goal[4] ? 'yes' : 'no';
    out.push(`| ${goal[0]} | ${r.byMedian.map(x2).join(', ')} | ${x2(m)} | ${x2(median(r.byMean))} | ${bound} | ${holds} |`);
  }
  for (const [label, group] of [['64 B', WRITERS_64], ['4 KiB', WRITERS_4K]]) {
    const row = pick(rows, group, TWO_WRITERS);
    const figure = `2 writers / 1 writer, ${label} random stores, nodatacow (dax rows, measured ${measured.dax ?? 'in this run'})`;
    if (!row) { out.push(`| ${figure} | — (no row) | | | ≥ 1.8 | — |`); continue; }
    out.push(`| ${figure} | | ${x2(row.ratio)} | | ≥ 1.8 | ${row.ratio >= 1.8 ? 'yes' : 'no'} |`);
  }
  out.push('');
  return out.join('\n');
}
