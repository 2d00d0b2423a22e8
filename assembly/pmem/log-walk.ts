// A walk of the live entries of every thread's ring in sequence order (the rings merged):
// what one shared log walked from its tail to its head gave before the rings were split
// (crash scans, the eADR cut, crash forgetting). Each ring is in sequence order already, so
// the walk takes, at each step, the ring whose next live entry is oldest. The rings in use
// are found once per walk; with one ring (one storing thread, the common case) a step is
// one ring's step.
// The walk's positions live in the walking thread's area (TA_MERGE): no managed memory.
import { TA_MERGE, MAX_THREADS } from "../abi";
import { maxThreads, threadAreaAddr } from "./state";
import { ringAt, ringHead, ringTail, ringIndex, ringsInUse } from "./ring";
import { entryAddr } from "./log-slots";
import { seqBefore } from "./seq-compare";
import { LogEntry } from "./log-entry";
import { CHECKS } from "../shared/checks";

let walking: u32 = 0; // bit t: ring t has positions left to walk

@inline function cursorAddr(t: u32): usize {
  return threadAreaAddr() + TA_MERGE + (<usize>t << 2);
}

/** Start a walk at every ring's tail. */
export function walkStart(): void {
  assert(maxThreads <= MAX_THREADS, "walk: more rings than cursors");
  walking = 0;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const t = <u32>ctz(rings);
    const ring = ringAt(t);
    store<u32>(cursorAddr(t), ringTail(ring));
    if (ringHead(ring) != ringTail(ring)) walking |= 1 << t;
  }
}

/** The next live entry's log index + 1, in sequence order; 0 when the walk is done. */
export function walkNext(): u32 {
  let best: u32 = 0, bestSeq: u32 = 0, bestRing: u32 = 0;
  let rings = walking;
  while (rings != 0) {
    const t = <u32>ctz(rings);
    rings &= rings - 1;
    const ring = ringAt(t);
    const head = ringHead(ring);
    let at = load<u32>(cursorAddr(t));
    while (at != head && changetype<LogEntry>(entryAddr(ringIndex(t, ring, at))).live == 0) at++;
    store<u32>(cursorAddr(t), at);
    // (a position past the ring's head:)
    if (CHECKS) assert(at - ringTail(ring) <= head - ringTail(ring));
    if (at == head) { walking &= ~(1 << t); continue; }
    const index = ringIndex(t, ring, at);
    const seq = changetype<LogEntry>(entryAddr(index)).seq;
    if (best == 0 || seqBefore(seq, bestSeq)) { best = index + 1; bestSeq = seq; bestRing = t; }
  }
  if (best != 0) store<u32>(cursorAddr(bestRing), load<u32>(cursorAddr(bestRing)) + 1);
  return best;
}
