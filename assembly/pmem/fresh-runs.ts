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
//     table (one per thread slot, for the runs of its ring: a ring of FRESH_RUNS_CAPACITY
//     rows of FRESH_RUN_BYTES, positions [start, end) in TL_FRESH_START/END)
//     +------------+------------+--------------------+-------------+---------------------+
//     | first line | line count | first sequence no. | stamp epoch | first ring position |
//     +------------+------------+--------------------+-------------+---------------------+
//     count 0: retired (a hole)
//
// Everything else of the store is done as before: the pre-images are copied to the ring
// slots of their ring positions, the lines are stamped, pending and counted. A deferred line
// also has LINE_DEFERRED set, and its list holds no entry: the run's first line holds the
// row's reference + 1 in its list head (thread slot x FRESH_RUNS_CAPACITY + row), the
// others 0.
//
// Invariants:
//  - a line is LINE_DEFERRED iff it is in a live row; its ring slot is reserved (the tail
//    never passes the oldest live row's first position) and holds live = 0;
//  - nothing reads a deferred line's entries or list: every reader of the log (crash scans
//    and builds, media reads, line tables, evictions, stores to a pending line) calls
//    materializeFreshRuns first, which writes the entries and lists exactly as an eager
//    append would have (so every crash image is the same), and debug builds assert it in
//    lineHeadIndex;
//  - a fence retires a row whole when a flush record covers its lines and its stores (the
//    lines' only entries leave, as retireRun would do); any other overlap materializes;
//  - rows lie in sequence order from `start` to `end`; the ring's front is trimmed of
//    retired rows, so a full log that evicts its oldest rows (a prefix of the oldest row at
//    a time: evictFreshRunPrefix, the lines leaving as evicting their entries one by one
//    would take them) keeps deferring new ones. Why: a full log used to write every
//    deferred entry before each eviction, then evict them line by line.
import {
  FRESH_RUN_BYTES, FRESH_RUNS_CAPACITY, LINE_DEFERRED, LINE_PENDING, TL_FRESH_START, TL_FRESH_END,
  TL_FRESH_LIVE,
} from "../abi";
import {
  freshRunsAddr, lineStateAddr, lineListAddr, logCapacity, lineCount, maxThreads,
} from "./state";
import { lineDeferred, updateLineStates } from "./line-state";
import { writeFreshEntriesAt } from "./fresh-entries";
import { seqBefore } from "./seq-compare";
import { ringAt, myRing, myRingIndex, addRingLive, ringsInUse } from "./ring";
import { CHECKS } from "../shared/checks";
import { storesLockStripes } from "./store-mode";

// A row's reference: thread slot x FRESH_RUNS_CAPACITY + its index in that slot's table (a
// ring slot: positions count up, indices wrap).
@inline function rowRef(t: u32, position: u32): u32 {
  return t * FRESH_RUNS_CAPACITY + (position & (FRESH_RUNS_CAPACITY - 1));
}
@inline function rowThread(ref: u32): u32 { return ref / FRESH_RUNS_CAPACITY; }
@inline function rowAddr(ref: u32): usize {
  return freshRunsAddr + <usize>ref * FRESH_RUN_BYTES;
}
@inline function rowLine(ref: u32): u32 { return load<u32>(rowAddr(ref)); }
@inline function rowCount(ref: u32): u32 { return load<u32>(rowAddr(ref), 4); }
@inline function rowSeq(ref: u32): u32 { return load<u32>(rowAddr(ref), 8); }
// The stamp epoch its store gave its lines (stamps.ts). A line of a live row is not stored to
// again (that writes the row first), so while the epoch has not moved on, its stamps are it.
@inline function rowEpoch(ref: u32): u32 { return load<u32>(rowAddr(ref), 12); }
@inline function rowPosition(ref: u32): u32 { return load<u32>(rowAddr(ref), 16); }
@inline function startPosition(ring: usize): u32 { return load<u32>(ring + TL_FRESH_START); }
@inline function endPosition(ring: usize): u32 { return load<u32>(ring + TL_FRESH_END); }
@inline function liveRows(ring: usize): u32 { return load<u32>(ring + TL_FRESH_LIVE); }

// What the last evictFreshRunPrefix or retireFreshRun took: how many lines, and whether
// their stamps were still the current epoch's (then the caller need not stamp them again).
export let evictedLines: u32 = 0;
export let evictedStamped: bool = false;

// Whether this instance defers fresh runs (on by default; off writes every entry at once, as
// before: the equivalence test runs one device each way).
let deferring: bool = true;

/** Turn deferral on or off for this instance (off: the caller materializes first). */
export function setFreshRunDeferral(on: bool): void {
  deferring = on;
}

/** Live rows of this thread's table. */
@inline export function myFreshRuns(): u32 {
  return liveRows(myRing());
}

/** Live rows of every thread's table: runs whose lines are pending without their entries. */
export function freshRunsDeferred(): u32 {
  let n: u32 = 0;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) n += liveRows(ringAt(ctz(rings)));
  return n;
}

/**
 * Record whole lines [line, line + count), fresh and pending now, with entries seq.. at ring
 * positions position.. of this thread's ring, as a deferred run (their pre-images copied,
 * stamps set to `epoch` and LINE_PENDING by the caller; LINE_DEFERRED too when this returns
 * true). False when the table is full: the caller writes the entries now.
 */
@inline export function deferFreshRun(
  line: u32, count: u32, seq: u32, epoch: u32, position: u32,
): bool {
  assert(count > 0 && line + count <= lineCount, "fresh runs: a run outside the device");
  assert(count <= logCapacity, "fresh runs: a run longer than the log");
  // Several threads storing: no rows, since a row is its thread's and the others' stores,
  // flushes and evictions would change it (the last thread to attach wrote them all).
  if (!deferring || storesLockStripes()) return false;
  // One row per store, even when it continues the last one: a flush of one store's lines
  // (a data extent flushed at commit) then finds exactly its row.
  const ring = myRing();
  const end = endPosition(ring);
  if (end - startPosition(ring) >= FRESH_RUNS_CAPACITY) return false;
  const ref = rowRef(myRingIndex(), end);
  const r = rowAddr(ref);
  store<u32>(r, line);
  store<u32>(r, count, 4);
  store<u32>(r, seq, 8);
  store<u32>(r, epoch, 12);
  store<u32>(r, position, 16);
  store<u32>(ring + TL_FRESH_END, end + 1);
  store<u32>(ring + TL_FRESH_LIVE, liveRows(ring) + 1);
  // the row, in the first line's list head
  store<u64>(lineListAddr + (<usize>line << 3), <u64>(ref + 1));
  return true;
}

/** Set (or clear) LINE_DEFERRED on lines [line, line + count). */
@inline function markDeferred(line: u32, count: u32, on: bool): void {
  updateLineStates(line, count, on ? 0xff : ~LINE_DEFERRED, on ? LINE_DEFERRED : 0);
}

/**
 * Write the entries and lists of every thread's deferred runs (as an eager append would have) and
 * empty the tables.
 */
export function materializeFreshRuns(): void {
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const t = <u32>ctz(rings);
    const ring = ringAt(t);
    if (liveRows(ring) == 0) continue;
    const end = endPosition(ring);
    for (let at = startPosition(ring); at != end; at++) {
      if (rowCount(rowRef(t, at)) != 0) materializeRow(rowRef(t, at));
    }
    emptyTable(ring);
  }
}

@inline function emptyTable(ring: usize): void {
  store<u32>(ring + TL_FRESH_START, 0);
  store<u32>(ring + TL_FRESH_END, 0);
  store<u32>(ring + TL_FRESH_LIVE, 0);
}

// One row of `ring`'s table fewer is live: the ring's front loses its retired rows, and a
// table with no live row starts over at position 0.
function rowRetired(t: u32): void {
  const ring = ringAt(t);
  const live = liveRows(ring);
  assert(live > 0, "fresh runs: more rows retired than were live");
  if (live == 1) { emptyTable(ring); return; }
  store<u32>(ring + TL_FRESH_LIVE, live - 1);
  const end = endPosition(ring);
  let start = startPosition(ring);
  while (start != end && rowCount(rowRef(t, start)) == 0) start++;
  store<u32>(ring + TL_FRESH_START, start);
}

/**
 * Write the entries of the deferred runs with a line in [first, first + count) only (a store
 * to one of their lines, a flush record that cannot retire them whole), whichever thread's:
 * the others stay deferred. A scan of the tables, not of the log.
 */
export function materializeFreshRunsIn(first: u32, count: u32): void {
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const t = <u32>ctz(rings);
    const ring = ringAt(t);
    const end = endPosition(ring);
    for (let at = startPosition(ring); at != end && liveRows(ring) > 0; at++) {
      const ref = rowRef(t, at);
      const n = rowCount(ref);
      if (n == 0 || rowLine(ref) >= first + count || rowLine(ref) + n <= first) continue;
      materializeRow(ref);
      rowRetired(t);
    }
  }
  // a line of the range still deferred
  if (CHECKS) for (let l = first; l < first + count; l++) assert(!lineDeferred(l));
}

/**
 * Write row `ref`'s entries and lists, clear its lines' deferred bits, and mark the row retired
 * (the caller counts it).
 */
function materializeRow(ref: u32): void {
  const count = rowCount(ref);
  assert(count != 0, "fresh runs: a retired row written");
  const line = rowLine(ref), seq = rowSeq(ref);
  // a deferred run with a line not pending or not deferred
  if (CHECKS) assert(allPendingDeferred(line, count));
  markDeferred(line, count, false);
  writeFreshEntriesAt(rowThread(ref), rowPosition(ref), seq, line, count);
  store<u32>(rowAddr(ref), 0, 4);
}

/** Debug builds: every line of the run is pending and deferred. */
function allPendingDeferred(line: u32, count: u32): bool {
  for (let l = line; l < line + count; l++) {
    if ((load<u8>(lineStateAddr + l) & (LINE_PENDING | LINE_DEFERRED))
        != (LINE_PENDING | LINE_DEFERRED)) {
      return false;
    }
  }
  return true;
}

/**
 * At a fence, `line` is deferred: the reference of the row whose run starts at it, when the
 * flush record [line, end) with newest store `upTo` covers the whole run and its stores;
 * else -1 (the caller materializes the runs and retires the lines one by one).
 */
export function retirableRunAt(line: u32, end: u32, upTo: u32): i32 {
  assert(lineDeferred(line), "fresh runs: a run looked up at a line not deferred");
  const named = <u32>load<u64>(lineListAddr + (<usize>line << 3));
  if (named == 0) return -1; // the record starts inside a run
  const ref = named - 1;
  assert(ref < maxThreads * FRESH_RUNS_CAPACITY && rowLine(ref) == line && rowCount(ref) != 0,
    "fresh runs: a first line's list names another row");
  if (line + rowCount(ref) > end || seqBefore(upTo, rowSeq(ref) + rowCount(ref) - 1)) return -1;
  return <i32>ref;
}

/**
 * Retire row `ref`'s run (retirableRunAt said so): its lines leave the log as retireRun
 * would take them, without their entries ever being written. Returns its line count, and
 * evictedStamped says whether their stamps are still the epoch `epoch` (the caller takes
 * the lines out of the log with LINE_DEFERRED: linesLeaveLog).
 */
export function retireFreshRun(ref: u32, epoch: u32): u32 {
  const line = rowLine(ref), count = rowCount(ref);
  assert(count != 0, "fresh runs: a retired row retired again");
  // a deferred run with a line not pending or not deferred
  if (CHECKS) assert(allPendingDeferred(line, count));
  evictedStamped = rowEpoch(ref) == epoch;
  store<u64>(lineListAddr + (<usize>line << 3), 0);
  store<u32>(rowAddr(ref), 0, 4);
  addRingLive(ringAt(rowThread(ref)), -<i32>count);
  rowRetired(rowThread(ref));
  return count;
}

/**
 * The first ring position of this thread's oldest deferred run (its ring's tail must not pass
 * it); `head` when none. Rows are appended in position order (one per store) and the front is
 * kept trimmed, so it is the row at the start.
 */
@inline export function oldestDeferredPosition(head: u32): u32 {
  const ring = myRing();
  if (liveRows(ring) == 0) return head;
  const ref = rowRef(myRingIndex(), startPosition(ring));
  // the table's front is a retired row (rowRetired trims it)
  if (CHECKS) assert(rowCount(ref) != 0);
  return rowPosition(ref);
}

/**
 * Evict the first `most` lines (at least one) of this thread's oldest row, whose first entry
 * is its ring's oldest live one: what evicting those entries one at a time would do (each is
 * its line's only entry, its bytes the visible line's: the line's media is its visible bytes
 * from then on, nothing to copy). Returns the first line evicted; evictedLines says how
 * many, evictedStamped whether their stamps are still the current epoch's (the caller
 * takes the lines out of the log: linesLeaveLog, without restamping them then).
 */
@inline export function evictFreshRunPrefix(most: u32, epoch: u32): u32 {
  const ring = myRing(), t = myRingIndex();
  assert(most > 0 && liveRows(ring) > 0, "fresh runs: an eviction with no deferred run");
  const ref = rowRef(t, startPosition(ring));
  const line = rowLine(ref), count = rowCount(ref);
  // a deferred run with a line not pending or not deferred
  if (CHECKS) assert(allPendingDeferred(line, count));
  const k = min<u32>(most, count);
  store<u64>(lineListAddr + (<usize>line << 3), 0);
  evictedLines = k;
  evictedStamped = rowEpoch(ref) == epoch;
  addRingLive(ring, -<i32>k);
  if (k == count) {
    store<u32>(rowAddr(ref), 0, 4);
    rowRetired(t);
    return line;
  }
  const r = rowAddr(ref);
  store<u32>(r, line + k);
  store<u32>(r, count - k, 4);
  store<u32>(r, rowSeq(ref) + k, 8);
  store<u32>(r, rowPosition(ref) + k, 16);
  store<u64>(lineListAddr + (<usize>(line + k) << 3), <u64>(ref + 1)); // the run's new first line
  return line;
}
