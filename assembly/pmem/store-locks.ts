// Who may change the store log, and when. Two modes, chosen per store by how many threads
// are attached (H_THREAD_SLOTS):
//  - one thread: nothing to exclude; a store, flush or fence takes no lock word at all;
//  - several: each store, flush or fence is a *shared* section (its thread's active flag,
//    TL_ACTIVE, set for its length), and locks the stripes (STRIPE_LINES lines each, hashed
//    into STRIPE_LOCKS padded words) of the lines it changes, in ascending order. Two
//    threads storing to different pages touch no common word: no device-wide lock
//    (issue 17).
// Under eADR a shared section is the store lock (H_LOCK) instead, one thread or several: a
// crash keeps a prefix of one global order of stores, and only one lock gives that order
// the order in which the stores became visible.
// Everything else that reads or rewrites the log as a whole (crash scans and builds, media
// reads, line info, stamp epochs, attach and detach) takes the *world* lock: H_LOCK, then
// H_WORLD set, then a wait until no other thread is in a shared section. A shared section
// that finds H_WORLD set steps out and waits. The flag is set before H_WORLD is read and
// H_WORLD before the flags are read (sequentially consistent atomics), so at least one side
// sees the other.
// Lock order: world, then stripes in ascending order; a thread never waits for a stripe
// while it holds one of a higher number, nor for the world while it holds a stripe.
import {
  H_LOCK, H_WORLD, H_THREAD_SLOTS, TL_ACTIVE, STRIPE_LOCKS, STRIPE_LOCK_BYTES, STRIPE_SHIFT,
  DOMAIN_EADR,
} from "../abi";
import { headerAddr, threadSlot, stripeLocksAddr, domain, lineCount } from "./state";
import { ringAt, myRing, settleOwnLive, forgetOwnLive } from "./ring";
import { storesLockStripes, setLockingStripes, setWorldHeld, worldHeld } from "./store-mode";
import { spinlockAcquire, spinlockRelease } from "../shared/spinlock";
import { CHECKS } from "../shared/checks";

// shared sections this instance is inside (nested: a store inside a transaction's)
let sharedDepth: u32 = 0;

@inline function owner(): u32 { return <u32>threadSlot + 1; }


/**
 * Enter a shared section (a store, flush or fence, or several of them). Inlined into every
 * store, flush and fence: the common case is one flag store and two loads.
 */
@inline export function enterShared(): void {
  if (CHECKS) assert(threadSlot >= 0); // a shared section without a thread slot
  if (worldHeld()) return; // the world lock excludes everyone already
  if (sharedDepth++ > 0) return;
  // eADR: the store lock, the one global order (a world locker takes it first, so no flag).
  if (domain == DOMAIN_EADR) { spinlockAcquire(headerAddr + H_LOCK,
    owner()); setLockingStripes(false); return; }
  const flag = myRing() + TL_ACTIVE;
  atomic.store<u32>(flag, 1);
  if (atomic.load<u32>(headerAddr + H_WORLD) != 0) waitOutWorld(flag);
  setLockingStripes(popcnt<u32>(atomic.load<u32>(headerAddr + H_THREAD_SLOTS)) > 1);
}

// A world locker came first: step out (flag down) until it is done, then in again.
function waitOutWorld(flag: usize): void {
  assert(atomic.load<u32>(flag) == 1, "store locks: waiting out the world without the flag up");
  while (true) {
    atomic.store<u32>(flag, 0);
    while (atomic.load<u32>(headerAddr + H_WORLD) != 0) {}
    atomic.store<u32>(flag, 1);
    if (atomic.load<u32>(headerAddr + H_WORLD) == 0) return;
  }
}

@inline export function exitShared(): void {
  if (worldHeld()) return;
  assert(sharedDepth > 0, "store locks: a shared section left twice");
  if (--sharedDepth > 0) return;
  if (domain == DOMAIN_EADR) { spinlockRelease(headerAddr + H_LOCK, owner()); return; }
  settleOwnLive(); // before the flag drops: a world locker may read the count then
  atomic.store<u32>(myRing() + TL_ACTIVE, 0);
}

/** Take the world lock: no other thread is in a shared section until unlockWorld. Not reentrant. */
export function lockWorld(): void {
  assert(!worldHeld() && sharedDepth == 0,
    "store locks: the world lock taken inside a locked section");
  spinlockAcquire(headerAddr + H_LOCK, owner());
  // Only attached threads enter shared sections, and one attaching waits for H_LOCK first:
  // with no other thread attached there is no one to stop (and no flag to write and clear).
  const others = atomic.load<u32>(headerAddr + H_THREAD_SLOTS) & ~(1 << <u32>threadSlot);
  if (others != 0) {
    atomic.store<u32>(headerAddr + H_WORLD, 1);
    worldFlagSet = true;
    for (let waiting = others; waiting != 0; waiting &= waiting - 1) {
      while (atomic.load<u32>(ringAt(ctz(waiting)) + TL_ACTIVE) != 0) {}
    }
  }
  setWorldHeld(true);
}

let worldFlagSet: bool = false; // this instance's lockWorld set H_WORLD

export function unlockWorld(): void {
  assert(worldHeld(), "store locks: the world lock released by a thread that does not hold it");
  setWorldHeld(false);
  if (worldFlagSet) { atomic.store<u32>(headerAddr + H_WORLD, 0); worldFlagSet = false; }
  spinlockRelease(headerAddr + H_LOCK, owner());
}

/** Does this instance hold the world lock? */
@inline export function worldLocked(): bool { return worldHeld(); }

@inline function stripeWord(stripe: u32): usize {
  return stripeLocksAddr + <usize>(stripe & (STRIPE_LOCKS - 1)) * STRIPE_LOCK_BYTES;
}

/**
 * Lock the stripes of lines [first, first + count) when several threads are attached (inside
 * a shared section). Stripes are numbered mod STRIPE_LOCKS, so a range of STRIPE_LOCKS
 * stripes or more takes all of them; a range that wraps takes the low numbers first.
 */
@inline export function lockLines(first: u32, count: u32): void {
  if (storesLockStripes()) lockStripes(first, count);
}

@inline export function unlockLines(first: u32, count: u32): void {
  if (storesLockStripes()) unlockStripes(first, count);
}

// The stripe an eviction run holds (its first line), -1: none. Evictions of the ring's oldest
// entries one at a time (logMakeRoom) keep their stripe locked from one to the next while the
// lines share it (the 64 entries of an older page store do), instead of a lock and an unlock
// per line, two locked instructions each: a thread still holds one stripe at most.
let heldStripeLine: i32 = -1;

/** Hold the stripe of `line` (several threads attached), letting go of another one first. */
@inline export function holdLineStripe(line: u32): void {
  if (!storesLockStripes()) return;
  assert(sharedDepth > 0 && line < lineCount,
    "store locks: a stripe held outside a shared section");
  if (heldStripeLine >= 0) {
    if ((<u32>heldStripeLine >> STRIPE_SHIFT) == (line >> STRIPE_SHIFT)) return;
    unlockStripes(<u32>heldStripeLine, 1);
  }
  lockStripes(line, 1);
  heldStripeLine = <i32>line;
}

/** Let go of the stripe holdLineStripe holds, if any. */
@inline export function releaseHeldStripe(): void {
  if (heldStripeLine < 0) return;
  assert(storesLockStripes(), "store locks: a stripe held with one thread storing");
  unlockStripes(<u32>heldStripeLine, 1);
  heldStripeLine = -1;
}

function lockStripes(first: u32, count: u32): void {
  // stripes locked outside a shared section, or outside the device
  if (CHECKS) assert(sharedDepth > 0 && count > 0 && first + count <= lineCount);
  const lo = first >> STRIPE_SHIFT, hi = (first + count - 1) >> STRIPE_SHIFT;
  if (hi - lo + 1 >= STRIPE_LOCKS) {
    for (let s: u32 = 0; s < STRIPE_LOCKS; s++) spinlockAcquire(stripeWord(s), owner());
    return;
  }
  const a = lo & (STRIPE_LOCKS - 1), b = hi & (STRIPE_LOCKS - 1);
  if (a <= b) { for (let s = a; s <= b; s++) spinlockAcquire(stripeWord(s), owner()); return; }
  for (let s: u32 = 0; s <= b; s++) spinlockAcquire(stripeWord(s), owner());
  for (let s = a; s < STRIPE_LOCKS; s++) spinlockAcquire(stripeWord(s), owner());
}

function unlockStripes(first: u32, count: u32): void {
  assert(count > 0 && sharedDepth > 0, "store locks: stripes unlocked outside a shared section");
  const lo = first >> STRIPE_SHIFT, hi = (first + count - 1) >> STRIPE_SHIFT;
  if (hi - lo + 1 >= STRIPE_LOCKS) {
    for (let s: u32 = 0; s < STRIPE_LOCKS; s++) spinlockRelease(stripeWord(s), owner());
    return;
  }
  for (let s = lo; s <= hi; s++) spinlockRelease(stripeWord(s), owner());
}

/**
 * After a failed check (a trap) inside a locked section: release every lock word and flag
 * this thread holds, so that the other threads are not stopped for good (src/core/module.ts
 * calls it from the abort import). The state the failed call left is not repaired.
 */
export function releaseAfterTrap(): void {
  if (threadSlot < 0) return;
  for (let s: u32 = 0; s < STRIPE_LOCKS; s++) {
    if (atomic.load<u32>(stripeWord(s)) == owner()) atomic.store<u32>(stripeWord(s), 0);
  }
  if (worldHeld()) {
    setWorldHeld(false);
    worldFlagSet = false;
    atomic.store<u32>(headerAddr + H_WORLD, 0);
  }
  if (atomic.load<u32>(headerAddr + H_LOCK) == owner()) atomic.store<u32>(headerAddr + H_LOCK, 0);
  sharedDepth = 0;
  heldStripeLine = -1;
  forgetOwnLive();
  atomic.store<u32>(myRing() + TL_ACTIVE, 0);
}
