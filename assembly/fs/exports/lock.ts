// The fs exports of the fs lock (fs-lock.ts).
import { EINVAL, EPERM, TA_READS } from "../../abi";
import * as S from "../../pmem/state";
import { threadArea } from "../state";
import { lockAcquire, lockTry, lockRelease, lockHolder } from "../fs-lock";
import { ready } from "./args";

// --- the fs lock (fs-lock.ts) -------------------------------------------------------------

// Take the fs lock (nested: the depth this thread now holds), waiting while another thread holds
// it.
export function fs_lock(): i32 {
  if (!ready()) return -EINVAL;
  const depth = lockAcquire();
  assert(depth > 0, "lock depth");
  assert(lockHolder() == S.threadSlot, "lock holder");
  return <i32>depth;
}

// 1 when this thread took (or already held) the lock, 0 when another thread holds it.
export function fs_try_lock(): i32 {
  if (!ready()) return -EINVAL;
  const taken = lockTry();
  assert(!taken || lockHolder() == S.threadSlot, "lock holder");
  return taken ? 1 : 0;
}

// Give one level of the lock back: 0, -EPERM when this thread does not hold it.
export function fs_unlock(): i32 {
  if (!ready()) return -EINVAL;
  const released = lockRelease();
  // Released or not, the lock has a holder or none (never a slot past the threads).
  assert(lockHolder() >= -1 && lockHolder() < <i32>S.maxThreads, "lock holder");
  return released ? 0 : -EPERM;
}

// The thread slot holding the fs lock, -1 when it is free.
export function fs_lock_holder(): i32 {
  if (!ready()) return -EINVAL;
  const holder = lockHolder();
  assert(holder >= -1 && holder < <i32>S.maxThreads, "lock holder");
  return holder;
}

// Count a file read this thread served through the core (TA_READS: the other threads see it).
export function fs_read_done(): i32 {
  if (!ready()) return -EINVAL;
  const at = threadArea() + TA_READS;
  const before = atomic.load<u32>(at);
  atomic.store<u32>(at, before + 1);
  // Only this thread counts in its area: nobody else changed it meanwhile.
  assert(atomic.load<u32>(at) == before + 1, "read count");
  return <i32>atomic.load<u32>(at);
}
