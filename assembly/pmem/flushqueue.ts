// Each thread's outstanding clwb/clflushopt, one record per flush instruction range:
// (first line, line count, sequence number of the newest store when it was issued). The
// record stands for "each of these lines, up to that store": every store to one of the
// lines made before the flush has a sequence number at or below it, every later store one
// above, so this is the per-line (line, newest store of the line) of x86 in one record.
// x86 orders a flush only against the issuing thread's later sfence, so the queue is
// per thread. A full queue is drained early: a write-back may complete at any time
// after the flush is issued, so early completion is a legal behaviour, not a shortcut.
import {
  FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, C_FLUSHQ_DRAINS, FQ_FIRST, FQ_COUNT, FQ_UP_TO,
  LINE_DEFERRED,
} from "../abi";
import { threadAreaAddr, flushQueueCapacity, counterAdd, lineCount } from "./state";
import { CHECKS } from "../shared/checks";
import {
  retireLineUpTo, takeWholeRun, retireTakenRun, advanceTail, linesLeaveLog,
} from "./storelog";
import {
  retirableRunAt, retireFreshRun, materializeFreshRunsIn, evictedStamped,
} from "./fresh-runs";
import { lineDeferred } from "./line-state";
import { stampEpoch } from "./stamps";
import { lockLines, unlockLines } from "./store-locks";

export function flushQueuePush(first: u32, count: u32, upToSeq: u32): void {
  assert(count > 0, "flush queue: an empty range");
  const area = threadAreaAddr();
  let queued = load<u32>(area);
  if (queued >= flushQueueCapacity) {
    flushQueueDrain();
    counterAdd(C_FLUSHQ_DRAINS, 1);
    queued = 0;
  }
  const slot = queueSlot(area, queued);
  store<u32>(slot + FQ_FIRST, first);
  store<u32>(slot + FQ_COUNT, count);
  store<u32>(slot + FQ_UP_TO, upToSeq);
  store<u32>(area, queued + 1);
}

// The fence: every queued flush completes, in queue order. Lines of a record that follow
// each other, each with one whole-line entry that leaves its bytes in the visible line (a
// multi-line store flushed whole: a tree block, a data extent), retire as one run.
export function flushQueueDrain(): void {
  const area = threadAreaAddr();
  const queued = load<u32>(area);
  assert(queued <= flushQueueCapacity, "flush queue: more records than it holds");
  for (let i: u32 = 0; i < queued; i++) {
    const slot = queueSlot(area, i);
    drainRecord(load<u32>(slot + FQ_FIRST), load<u32>(slot + FQ_COUNT), load<u32>(slot + FQ_UP_TO));
  }
  store<u32>(area, 0);
  advanceTail();
  if (CHECKS) assert(flushQueueLength() == 0); // a fence that left flushes queued
}

function drainRecord(first: u32, count: u32, upTo: u32): void {
  assert(count > 0 && <u64>first + <u64>count <= <u64>lineCount,
    "flush queue: a record outside the device");
  lockLines(first, count);
  retireRecord(first, count, upTo);
  unlockLines(first, count);
}

// drainRecord's work, with the record's lines locked.
function retireRecord(first: u32, count: u32, upTo: u32): void {
  const end = first + count;
  let line = first;
  while (line < end) {
    if (lineDeferred(line)) {
      // A fresh run whose entries were never written (fresh-runs.ts): whole, or they are
      // written now and the lines retire one by one below.
      const row = retirableRunAt(line, end, upTo);
      if (row >= 0) {
        const lines = retireFreshRun(<u32>row, stampEpoch());
        linesLeaveLog(line, lines, LINE_DEFERRED, !evictedStamped);
        line += lines;
        continue;
      }
      materializeFreshRunsIn(first, count);
    }
    // takeWholeRun checks and takes the entries of a run in one pass over them.
    const run = takeWholeRun(line, end, upTo);
    if (run > 0) {
      retireTakenRun(line, run);
      line += run;
    } else {
      retireLineUpTo(line, upTo);
      line++;
    }
  }
}

@inline function queueSlot(area: usize, i: u32): usize {
  return area + FLUSHQ_FIRST_ENTRY + <usize>i * FLUSHQ_ENTRY_BYTES;
}

export function flushQueueLength(): u32 {
  return load<u32>(threadAreaAddr());
}
