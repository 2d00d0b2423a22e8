// Each thread slot's own store-log ring: the entries of the stores that thread made, in
// its program order. Entry i of ring t is entry (t * logCapacity + i) of the log region
// (and of the data and pre-image regions), so a line's list links entries of any ring by
// that one index. The ring's header (TA_LOG in the thread's area) counts positions: the
// ring's line parts, one per entry, which map to slots (position - base) mod capacity;
// sequence numbers (ENTRY_SEQ) order the parts of every ring together.
// Why rings of their own: a thread appends and evicts in its own ring, so two threads
// storing to different lines share no header word and no ring slot (issue 17).
import {
  TA_LOG, TL_HEAD, TL_TAIL, TL_SLOT_BASE, TL_VERSION, TL_PENDING, TL_LIVE, TL_CLOCK, H_RINGS_USED,
} from "../abi";
import {
  threadsAddr, threadStride, threadSlot, logCapacity, logCapacityShift, headerAddr, maxThreads,
} from "./state";
import { storesLockStripes } from "./store-mode";
import { CHECKS } from "../shared/checks";

/** The header of ring `t` (thread slot t's). */
@inline export function ringAt(t: u32): usize {
  if (CHECKS) assert(t < maxThreads); // a ring beyond the device's thread slots
  return threadsAddr + <usize>t * threadStride + TA_LOG;
}

/** This thread's ring (its address, kept per instance: set at attach by ringAttach). */
let myRingAddr: usize = 0;
@inline export function myRing(): usize {
  // the ring of another slot than this thread's
  if (CHECKS) assert(myRingAddr == ringAt(<u32>threadSlot));
  return myRingAddr;
}

/** This instance attached to slot `threadSlot`: its ring is known from now on, and in use. */
export function ringAttach(): void {
  assert(threadSlot >= 0 && <u32>threadSlot < maxThreads, "ring: attached without a thread slot");
  myRingAddr = ringAt(<u32>threadSlot);
  atomic.or<u32>(headerAddr + H_RINGS_USED, 1 << <u32>threadSlot);
  ringChanged(myRingAddr); // the log's version moves: a ring joined the sum
}

/**
 * The rings that may hold entries (bit t: slot t has attached since the device was
 * formatted). Loops over every ring go over these only: one storing thread, one ring, where
 * a loop over every slot read maxThreads headers at every crash scan and build.
 */
@inline export function ringsInUse(): u32 {
  return atomic.load<u32>(headerAddr + H_RINGS_USED);
}

@inline export function myRingIndex(): u32 {
  return <u32>threadSlot;
}

@inline export function ringHead(ring: usize): u32 { return load<u32>(ring + TL_HEAD); }
@inline export function ringTail(ring: usize): u32 { return load<u32>(ring + TL_TAIL); }
@inline export function ringLive(ring: usize): u32 {
  const live = atomic.load<u32>(ring + TL_LIVE);
  return ring == myRingAddr ? <u32>(<i32>live + ownLiveOwed) : live;
}

// What this thread's own retirements of its ring's slots take off its live count (TL_LIVE)
// and have not taken yet (several threads storing): one atomic add when its shared section
// ends (settleOwnLive), where a store's evictions made one per entry they retired, a locked
// instruction each. Only this thread reads its count inside its sections (ringLive adds
// what is owed); the others read it under the world lock, which waits for the section to end.
// Only decrements wait: the count in memory stays at or above the true one, so another
// thread's retirement of one of this ring's entries never takes it below 0.
let ownLiveOwed: i32 = 0;

/** Add what this thread owes its ring's live count (its shared section ends). */
@inline export function settleOwnLive(): void {
  if (ownLiveOwed == 0) return;
  const live = <i32>atomic.add<u32>(myRingAddr + TL_LIVE, <u32>ownLiveOwed) + ownLiveOwed;
  ownLiveOwed = 0;
  assert(live >= 0, "ring: fewer than no live slots");
}

/** After a trap: what was owed is forgotten with the state the trap left. */
export function forgetOwnLive(): void { ownLiveOwed = 0; } // (no assert: a trap's handler)
@inline export function setRingHead(ring: usize, position: u32): void {
  store<u32>(ring + TL_HEAD, position);
}
@inline export function setRingTail(ring: usize, position: u32): void {
  store<u32>(ring + TL_TAIL, position);
}
// Atomic when several threads store: a thread that writes a line back may retire entries
// of another thread's ring. (One thread: no one else changes a ring, and a locked add would
// cost every store.)
@inline export function addRingLive(ring: usize, delta: i32): void {
  let live: i32;
  if (storesLockStripes()) {
    if (ring == myRingAddr && delta < 0) { ownLiveOwed += delta; return; } // settleOwnLive
    live = <i32>atomic.add<u32>(ring + TL_LIVE, <u32>delta) + delta;
  } else { live = <i32>load<u32>(ring + TL_LIVE) + delta; store<u32>(ring + TL_LIVE, <u32>live); }
  assert(live >= 0, "ring: fewer than no live slots");
}

/** The ring an entry index belongs to (the thread slot that appended it). */
@inline export function ringOfIndex(index: u32): u32 {
  return index >> logCapacityShift;
}

/** The log index of ring `t`'s slot for `position`. */
@inline export function ringIndex(t: u32, ring: usize, position: u32): u32 {
  // another ring's header, or a position outside the ring's window
  if (CHECKS) assert(ring == ringAt(t) && position - ringTail(ring) <= logCapacity);
  return t * logCapacity + ((position - load<u32>(ring + TL_SLOT_BASE)) & (logCapacity - 1));
}

/** The ring slot (0 .. logCapacity-1) of `position`. */
@inline export function ringSlot(ring: usize, position: u32): u32 {
  return (position - load<u32>(ring + TL_SLOT_BASE)) & (logCapacity - 1);
}

/** An empty ring starts over at slot 0 (its first, cache-warm slots). */
@inline export function ringRebase(ring: usize): void {
  assert(ringHead(ring) == ringTail(ring), "ring: rebased while it holds positions");
  store<u32>(ring + TL_SLOT_BASE, load<u32>(ring + TL_HEAD));
}

/** This thread changed the log: a crash scan made before no longer describes it. */
@inline export function ringChanged(ring: usize): void {
  store<u32>(ring + TL_VERSION, load<u32>(ring + TL_VERSION) + 1);
}

/** This thread made `delta` lines pending (negative: took them out). */
@inline export function addPending(ring: usize, delta: i32): void {
  store<u32>(ring + TL_PENDING, <u32>(<i32>load<u32>(ring + TL_PENDING) + delta));
}

/** The log's version: the sum of every ring's (each only grows). */
export function logVersion(): u32 {
  let v: u32 = 0;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    v += load<u32>(ringAt(ctz(rings)) + TL_VERSION);
  }
  return v;
}

/** Lines with stores not yet on media: the sum of every thread's changes. */
export function linesPendingTotal(): u32 {
  let n: i32 = 0;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    n += <i32>load<u32>(ringAt(ctz(rings)) + TL_PENDING);
  }
  assert(n >= 0, "ring: fewer than no pending lines");
  return <u32>n;
}

/** Positions the rings span (head - tail, summed): what a crash may still lose is within them. */
export function logSpanTotal(): u32 {
  let n: u32 = 0;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const span = ringHead(ringAt(ctz(rings))) - ringTail(ringAt(ctz(rings)));
    assert(span <= logCapacity, "ring: a window wider than the ring");
    n += span;
  }
  return n;
}

/** Empty every ring (a crash forgot the log): positions, counts and bases back to 0. */
export function ringsReset(): void {
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const r = ringAt(ctz(rings));
    store<u32>(r + TL_HEAD, 0);
    store<u32>(r + TL_TAIL, 0);
    store<u32>(r + TL_SLOT_BASE, 0);
    store<u32>(r + TL_PENDING, 0);
    store<u32>(r + TL_LIVE, 0);
    store<u32>(r + TL_CLOCK, 0);
    ringChanged(r);
  }
}
