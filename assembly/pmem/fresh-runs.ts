// Fresh runs whose store-log entries are not written yet.
//
// A store of whole lines none of which is pending (a tree block written at commit, a data
// extent written by a datacow write) makes each line's only entry, its bytes the visible
// line's, in consecutive ring slots. Most such lines are flushed and retired by the next
// fence without anything else ever reading those entries, so writing them (32 bytes per
// line) and their lists (8 bytes), and checking them again at the fence, was most of the
// store path's cost for whole blocks (the store bench's `core pmem_store + device.persist`
// row, docs/pmem.md). Such a run is recorded here instead, as one row:
//
//     table (FRESH_RUNS_CAPACITY rows of FRESH_RUN_BYTES)
//     +------------+------------+--------------------+
//     | first line | line count | first sequence no. |   count 0: retired (a hole)
//     +------------+------------+--------------------+
//
// Everything else of the store is done as before: the pre-images are copied to the ring
// slots of their sequence numbers, the lines are stamped, pending and counted in
// H_LINES_PENDING. A deferred line also has LINE_DEFERRED set, and its list holds no entry:
// the run's first line holds (row + 1) in its list head, the others 0.
//
// Invariants:
//  - a line is LINE_DEFERRED iff it is in a live row; its ring slot is reserved (the tail
//    never passes the oldest live row's first sequence number) and holds live = 0;
//  - nothing reads a deferred line's entries or list: every reader of the log (crash scans
//    and builds, media reads, line tables, evictions, stores to a pending line) calls
//    materializeFreshRuns first, which writes the entries and lists exactly as an eager
//    append would have (so every crash image is the same), and debug builds assert it in
//    lineHeadIndex;
//  - a fence retires a row whole when a flush record covers its lines and its stores (the
//    lines' only entries leave, as retireRun would do); any other overlap materializes.
import {
  H_FRESH_RUN_COUNT, H_FRESH_RUN_LIVE, FRESH_RUN_BYTES, FRESH_RUNS_CAPACITY, LINE_DEFERRED, LINE_PENDING,
} from "../abi";
import { headerAddr, freshRunsAddr, lineStateAddr, lineListAddr, logCapacity, lineCount } from "./state";
import { writeFreshEntriesWrapped, updateLineStates, seqBefore } from "./storelog";
import { CHECKS } from "../shared/checks";

@inline function rowAddr(row: u32): usize {
  return freshRunsAddr + <usize>row * FRESH_RUN_BYTES;
}
@inline function rowLine(row: u32): u32 { return load<u32>(rowAddr(row)); }
@inline function rowCount(row: u32): u32 { return load<u32>(rowAddr(row), 4); }
@inline function rowSeq(row: u32): u32 { return load<u32>(rowAddr(row), 8); }

// Whether this instance defers fresh runs (on by default; off writes every entry at once, as
// before: the equivalence test runs one device each way).
let deferring: bool = true;

/** Turn deferral on or off for this instance (off: the caller materializes first). */
export function setFreshRunDeferral(on: bool): void {
  deferring = on;
}

/** Live rows: runs whose lines are pending without their entries. */
@inline export function freshRunsDeferred(): u32 {
  return load<u32>(headerAddr + H_FRESH_RUN_LIVE);
}

/** Is `line` in a deferred run? */
@inline export function lineDeferred(line: u32): bool {
  return (load<u8>(lineStateAddr + line) & LINE_DEFERRED) != 0;
}

/**
 * Record whole lines [line, line + count), fresh and pending now, with entries seq.. as a
 * deferred run (their pre-images copied, states and stamps set by the caller). False when
 * the table is full: the caller writes the entries now.
 */
export function deferFreshRun(line: u32, count: u32, seq: u32): bool {
  assert(count > 0 && line + count <= lineCount, "fresh runs: a run outside the device");
  assert(count <= logCapacity, "fresh runs: a run longer than the log");
  if (!deferring) return false;
  // One row per store, even when it continues the last one: a flush of one store's lines
  // (a data extent flushed at commit) then finds exactly its row.
  const used = load<u32>(headerAddr + H_FRESH_RUN_COUNT);
  if (used >= FRESH_RUNS_CAPACITY) return false;
  const r = rowAddr(used);
  store<u32>(r, line);
  store<u32>(r, count, 4);
  store<u32>(r, seq, 8);
  store<u32>(headerAddr + H_FRESH_RUN_COUNT, used + 1);
  store<u32>(headerAddr + H_FRESH_RUN_LIVE, freshRunsDeferred() + 1);
  markDeferred(line, count, true);
  store<u64>(lineListAddr + (<usize>line << 3), <u64>(used + 1)); // the row, in the first line's list head
  return true;
}

/** Set (or clear) LINE_DEFERRED on lines [line, line + count). */
@inline function markDeferred(line: u32, count: u32, on: bool): void {
  updateLineStates(line, count, on ? 0xff : ~LINE_DEFERRED, on ? LINE_DEFERRED : 0);
}

/** Write the entries and lists of every deferred run (as an eager append would have) and empty the table. */
export function materializeFreshRuns(): void {
  const used = load<u32>(headerAddr + H_FRESH_RUN_COUNT);
  for (let row: u32 = 0; row < used; row++) if (rowCount(row) != 0) materializeRow(row);
  store<u32>(headerAddr + H_FRESH_RUN_COUNT, 0);
  store<u32>(headerAddr + H_FRESH_RUN_LIVE, 0);
}

/**
 * Write the entries of the deferred runs with a line in [first, first + count) only (a store
 * to one of their lines, a flush record that cannot retire them whole): the others stay
 * deferred. A scan of the table, not of the log.
 */
export function materializeFreshRunsIn(first: u32, count: u32): void {
  const used = load<u32>(headerAddr + H_FRESH_RUN_COUNT);
  let live = freshRunsDeferred();
  for (let row: u32 = 0; row < used; row++) {
    const n = rowCount(row);
    if (n == 0 || rowLine(row) >= first + count || rowLine(row) + n <= first) continue;
    materializeRow(row);
    live--;
  }
  store<u32>(headerAddr + H_FRESH_RUN_LIVE, live);
  if (live == 0) store<u32>(headerAddr + H_FRESH_RUN_COUNT, 0);
  if (CHECKS) for (let l = first; l < first + count; l++) assert(!lineDeferred(l)); // a line of the range still deferred
}

/** Write row `row`'s entries and lists, clear its lines' deferred bits, and retire the row. */
function materializeRow(row: u32): void {
  const count = rowCount(row);
  assert(count != 0, "fresh runs: a retired row written");
  const line = rowLine(row), seq = rowSeq(row);
  if (CHECKS) assert(allPendingDeferred(line, count)); // a deferred run with a line not pending or not deferred
  markDeferred(line, count, false);
  writeFreshEntriesWrapped(seq, line, count);
  store<u32>(rowAddr(row), 0, 4);
}

/** Debug builds: every line of the run is pending and deferred. */
function allPendingDeferred(line: u32, count: u32): bool {
  for (let l = line; l < line + count; l++) {
    if ((load<u8>(lineStateAddr + l) & (LINE_PENDING | LINE_DEFERRED)) != (LINE_PENDING | LINE_DEFERRED)) return false;
  }
  return true;
}

/**
 * At a fence, `line` is deferred: the row whose run starts at it, when the flush record
 * [line, end) with newest store `upTo` covers the whole run and its stores; else -1 (the
 * caller materializes every run and retires the lines one by one).
 */
export function retirableRunAt(line: u32, end: u32, upTo: u32): i32 {
  assert(lineDeferred(line), "fresh runs: a run looked up at a line not deferred");
  const row = <u32>load<u64>(lineListAddr + (<usize>line << 3));
  if (row == 0) return -1; // the record starts inside a run
  const r = row - 1;
  assert(r < load<u32>(headerAddr + H_FRESH_RUN_COUNT) && rowLine(r) == line && rowCount(r) != 0, "fresh runs: a first line's list names another row");
  if (line + rowCount(r) > end || seqBefore(upTo, rowSeq(r) + rowCount(r) - 1)) return -1;
  return <i32>r;
}

/**
 * Retire row `row`'s run (retirableRunAt said so): its lines leave the log as retireRun
 * would take them, without their entries ever being written. Returns its line count.
 */
export function retireFreshRun(row: u32): u32 {
  const line = rowLine(row), count = rowCount(row);
  assert(count != 0, "fresh runs: a retired row retired again");
  if (CHECKS) assert(allPendingDeferred(line, count)); // a deferred run with a line not pending or not deferred
  markDeferred(line, count, false);
  store<u64>(lineListAddr + (<usize>line << 3), 0);
  store<u32>(rowAddr(row), 0, 4);
  const live = freshRunsDeferred() - 1;
  store<u32>(headerAddr + H_FRESH_RUN_LIVE, live);
  if (live == 0) store<u32>(headerAddr + H_FRESH_RUN_COUNT, 0);
  return count;
}

/**
 * The oldest sequence number of a deferred run (the tail must not pass it); `head` when none.
 * Rows are appended in sequence order (one per store, and the table empties when no row is
 * live), so it is the first live row's.
 */
export function oldestDeferredSeq(head: u32): u32 {
  const used = load<u32>(headerAddr + H_FRESH_RUN_COUNT);
  for (let row: u32 = 0; row < used; row++) {
    if (rowCount(row) == 0) continue;
    if (CHECKS) assert(row + 1 >= used || seqBefore(rowSeq(row), rowSeq(row + 1))); // rows out of sequence order
    return rowSeq(row);
  }
  return head;
}
