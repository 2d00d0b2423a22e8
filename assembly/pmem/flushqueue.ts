// Each thread's outstanding clwb/clflushopt: (line, last sequence number covered).
// x86 orders a flush only against the issuing thread's later sfence, so the queue is
// per thread. A full queue is drained early: a write-back may complete at any time
// after the flush is issued, so early completion is a legal behaviour, not a shortcut.
import { FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, C_FLUSHQ_DRAINS } from "../abi";
import { threadAreaAddr, flushQueueCapacity, counterAdd } from "./state";
import { retireLineUpTo, advanceTail } from "./storelog";

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

// The fence: every queued flush completes, in queue order.
export function flushQueueDrain(): void {
  const area = threadAreaAddr();
  const count = load<u32>(area);
  for (let i: u32 = 0; i < count; i++) {
    const slot = area + FLUSHQ_FIRST_ENTRY + <usize>i * FLUSHQ_ENTRY_BYTES;
    retireLineUpTo(load<u32>(slot), load<u32>(slot, 4));
  }
  store<u32>(area, 0);
  advanceTail();
}

export function flushQueueLength(): u32 {
  return load<u32>(threadAreaAddr());
}
