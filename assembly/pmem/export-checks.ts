// The argument checks of the core's device exports (index.ts, exports.ts): each export
// returns -EINVAL instead of trapping on an argument these refuse. And the world lock the
// exports take (store-locks.ts).
import * as S from "./state";
import { EINVAL } from "../abi";
import { lockWorld, unlockWorld, worldLocked } from "./store-locks";

// The world lock (store-locks.ts): no store, flush or fence of another thread runs meanwhile.
@inline export function lock(): void { lockWorld(); }
@inline export function unlock(): void { unlockWorld(); }

@inline export function attached(): bool { return S.threadSlot >= 0; }

@inline export function deviceRangeValid(addr: u32, len: u32): bool {
  return <u64>addr + <u64>len <= <u64>S.deviceBytes;
}

// A source range inside this memory.
@inline export function bufferValid(ptr: u32, len: u32): bool {
  const end = <u64>ptr + <u64>len;
  if (end > (<u64>memory.size() << 16)) return false;
  return true;
}

// A destination range the core may overwrite: a thread area (scratch) or the region of
// the upper layers, never the header, log, line state, visible or media bytes.
export function destinationValid(ptr: u32, len: u32): bool {
  const start = <u64>ptr;
  const end = start + <u64>len;
  if (end > (<u64>memory.size() << 16)) return false;
  const threads = <u64>S.threadsAddr;
  if (start >= threads && end <= threads + <u64>S.maxThreads * S.threadStride) return true;
  if (start >= <u64>S.kernelAddr) return true;
  return false;
}

// The stamp calls also run inside a pmem_crash_build(keepLocked) hold of the lock.
@inline export function holdsLock(): bool {
  return worldLocked();
}
