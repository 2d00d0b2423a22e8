// A spinlock word in shared memory. No Atomics.wait: browsers forbid waiting on the main
// thread, and every critical section here is short (bounded by one store call).
// The word holds the owner's thread slot + 1, so that a thread that fails an internal
// check while holding the lock can be recognised and the lock released (src/core).
export function spinlockAcquire(word: usize, owner: u32): void {
  while (atomic.cmpxchg<u32>(word, 0, owner) != 0) {
    // Spin on plain atomic loads until the holder releases, rather than on RMWs.
    while (atomic.load<u32>(word) != 0) {}
  }
}

export function spinlockRelease(word: usize, owner: u32): void {
  assert(atomic.load<u32>(word) == owner, "spinlock released by a thread that does not hold it");
  atomic.store<u32>(word, 0);
}
