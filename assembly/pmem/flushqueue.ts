// Each thread's outstanding clwb/clflushopt: (line, last sequence number covered).
// x86 orders a flush only against the issuing thread's later sfence, so the queue is
// per thread. A full queue is drained early: a write-back may complete at any time
// after the flush is issued, so early completion is a legal behaviour, not a shortcut.
import { FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, C_FLUSHQ_DRAINS } from "../abi";
import { threadAreaAddr, flushQueueCapacity, counterAdd } from "./state";
import { retireLineUpTo, retiresWhole, retireRun, advanceTail } from "./storelog";

export function flushQueuePush(line: u32, upToSeq: u32): void {
  const area = threadAreaAddr();
  let count = load<u32>(area);
  if (count >= flushQueueCapacity) {
    flushQueueDrain();
    counterAdd(C_FLUSHQ_DRAINS, 1);
    count = 0;
  }
  const slot = area + FLUSHQ_FIRST_ENTRY + <usize>count * FLUSHQ_ENTRY_BYTES;
  store<u32>(slot, line);
  store<u32>(slot, upToSeq, 4);
  store<u32>(area, count + 1);
}

// The fence: every queued flush completes, in queue order. Queued lines that follow each
// other, each with one whole-line entry that leaves its bytes in the visible line (a
// multi-line store flushed whole: a tree block, a data extent), retire as one run.
export function flushQueueDrain(): void {
  const area = threadAreaAddr();
  const count = load<u32>(area);
  let i: u32 = 0;
  while (i < count) {
    const slot = queueSlot(area, i);
    const line = load<u32>(slot), upTo = load<u32>(slot, 4);
    let run: u32 = 0;
    if (retiresWhole(line, upTo)) {
      run = 1;
      while (i + run < count) {
        const next = queueSlot(area, i + run);
        if (load<u32>(next) != line + run || !retiresWhole(line + run, load<u32>(next, 4))) break;
        run++;
      }
    }
    if (run >= 2) {
      retireRun(line, run);
      i += run;
    } else {
      retireLineUpTo(line, upTo);
      i++;
    }
  }
  store<u32>(area, 0);
  advanceTail();
}

@inline function queueSlot(area: usize, i: u32): usize {
  return area + FLUSHQ_FIRST_ENTRY + <usize>i * FLUSHQ_ENTRY_BYTES;
}

export function flushQueueLength(): u32 {
  return load<u32>(threadAreaAddr());
}
