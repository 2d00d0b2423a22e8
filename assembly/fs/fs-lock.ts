// The fs lock: one lock in shared memory for every file-system operation, whichever
// thread runs it (issue 14: "one fs lock is a fine start"). It nests: an operation that
// calls another takes it again (the depth counts). A thread waits by spinning on plain
// loads: browsers forbid Atomics.wait on the main thread, and operations are short.
import { F_LOCK, F_LOCK_DEPTH } from "../abi";
import { fsBase } from "./state";
import { threadSlot, maxThreads } from "../pmem/state";
import { CHECKS } from "../shared/checks";

// The lock word holds the holder's thread slot + 1 (0: free); the depth is the holder's.

@inline function me(): u32 {
  assert(threadSlot >= 0 && <u32>threadSlot < maxThreads, "thread slot");
  return <u32>threadSlot + 1;
}

/** Take the lock (waiting for another holder); returns the depth this thread now holds. */
export function lockAcquire(): u32 {
  const word = fsBase + F_LOCK;
  if (atomic.load<u32>(word) == me()) {
    assert(load<u32>(fsBase + F_LOCK_DEPTH) > 0, "fs lock: held with depth 0");
    store<u32>(fsBase + F_LOCK_DEPTH, load<u32>(fsBase + F_LOCK_DEPTH) + 1);
    return load<u32>(fsBase + F_LOCK_DEPTH);
  }
  while (atomic.cmpxchg<u32>(word, 0, me()) != 0) {
    while (atomic.load<u32>(word) != 0) {}
  }
  // A free lock has no depth left from its last holder.
  assert(load<u32>(fsBase + F_LOCK_DEPTH) == 0, "lock depth");
  store<u32>(fsBase + F_LOCK_DEPTH, 1);
  if (CHECKS) assert(atomic.load<u32>(word) == me()); // a lock taken and held by another
  return 1;
}

/** Take the lock if it is free or this thread's; false when another thread holds it. */
export function lockTry(): bool {
  const word = fsBase + F_LOCK;
  if (atomic.load<u32>(word) == me()) {
    assert(load<u32>(fsBase + F_LOCK_DEPTH) > 0, "fs lock: held with depth 0");
    store<u32>(fsBase + F_LOCK_DEPTH, load<u32>(fsBase + F_LOCK_DEPTH) + 1);
    return true;
  }
  if (atomic.cmpxchg<u32>(word, 0, me()) != 0) return false;
  assert(load<u32>(fsBase + F_LOCK_DEPTH) == 0, "lock depth");
  store<u32>(fsBase + F_LOCK_DEPTH, 1);
  if (CHECKS) assert(atomic.load<u32>(word) == me()); // a lock taken and held by another
  return true;
}

/** Give one level back; the lock is free when the depth reaches 0. False when not held here. */
export function lockRelease(): bool {
  const word = fsBase + F_LOCK;
  if (atomic.load<u32>(word) != me()) return false;
  const depth = load<u32>(fsBase + F_LOCK_DEPTH);
  assert(depth > 0, "fs lock: held with depth 0");
  store<u32>(fsBase + F_LOCK_DEPTH, depth - 1);
  if (depth == 1) atomic.store<u32>(word, 0);
  return true;
}

/** The holder's thread slot, or -1 when the lock is free. */
export function lockHolder(): i32 {
  const holder = <i32>atomic.load<u32>(fsBase + F_LOCK) - 1;
  assert(holder >= -1 && holder < <i32>maxThreads, "lock holder");
  return holder;
}
