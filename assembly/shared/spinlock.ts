// A spinlock word in shared memory. No Atomics.wait: browsers forbid waiting on the main
// thread, and every critical section here is short (bounded by one store call).
export function spinlockAcquire(word: usize): void {
  while (atomic.cmpxchg<u32>(word, 0, 1) != 0) {
    // Spin until the holder releases; a relaxed load avoids hammering the line with RMWs.
    while (atomic.load<u32>(word) != 0) {}
  }
}

export function spinlockRelease(word: usize): void {
  assert(atomic.load<u32>(word) == 1, "spinlock released while not held");
  atomic.store<u32>(word, 0);
}
