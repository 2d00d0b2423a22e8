// The fs exports of the delayed refs (delayed-ref.ts) and of the extent tree (extent-tree.ts).
import {
  EINVAL, MAX_LEVEL, ROOT_POINTER, BAD_ARGUMENT_BIAS, F_EXTENT_ROOT, F_EXTENT_LEVEL, F_CSUM_ROOT,
  F_CSUM_LEVEL,
} from "../../abi";
import * as S from "../../pmem/state";
import { fsBase } from "../state";
import { CHECKS } from "../../shared/checks";
import {
  refChange, refDelta, refCount, backrefCount, refPressure, takeBatch,
} from "../delayed-ref";
import { runDelayedRefs } from "../extent-tree";
import { extentRefs } from "../extent-items";
import { droppedCount } from "../dropped";
import { u64Arg, ready, stateSound } from "./args";

// --- delayed refs (delayed-ref.ts) --------------------------------------------------------

// A pointer from `container` (a block, or ROOT_POINTER = -1) to tree block `target` at
// `level` appeared (+1) or went (-1); data pointers are reported by the B-tree itself
// (their back references name the item's tree, inode and offset). Problems (a full table,
// a block referenced as data and as a tree block) are thrown by fs_fail.
export function fs_ref_change(
  container: f64, target: f64, owner: f64, level: i32, bytes: u32, delta: i32,
): i32 {
  const t = u64Arg(target), o = u64Arg(owner);
  const c: i64 = container == ROOT_POINTER ? ROOT_POINTER : u64Arg(container);
  if (!ready() || t < 0 || o < 0 || (c < 0 && c != ROOT_POINTER) || level > <i32>MAX_LEVEL
      || level < 0 || bytes != 0 || (delta != 1 && delta != -1)) {
    return -EINVAL;
  }
  if (<u64>t >= <u64>S.deviceBytes) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_change is called
  refChange(c, <u64>t, <u64>o, level, 0, delta);
  assert(refCount() > 0, "ref lost");
  if (CHECKS) assert(stateSound()); // fs_ref_change broke the state's invariants
  return 0;
}

// The change of `target`'s reference count in this transaction.
export function fs_ref_delta(target: f64): i32 {
  const t = u64Arg(target);
  if (!ready() || t < 0 || <u64>t >= <u64>S.deviceBytes) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_delta is called
  return refDelta(<u64>t);
}

export function fs_ref_count(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_count is called
  const n = refCount();
  // The tables run at half full at most (refPressure), so the count fits an i32 with room.
  assert(n <= 0x40000000, "delayed-ref count");
  return <i32>n;
}

// How full the delayed-ref tables are, in 1/1000 (the file system runs them at 500).
export function fs_ref_pressure(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_pressure is called
  return <i32>refPressure();
}

// Move every delayed ref into the batch (F_BATCH, sorted by target) and clear the tables;
// the number of refs in the batch.
export function fs_refs_take(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_refs_take is called
  const n = takeBatch();
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  if (CHECKS) assert(stateSound()); // fs_refs_take broke the state's invariants
  return <i32>n;
}

// --- the extent tree (extent-tree.ts) --------------------------------------------------------

// The extent and csum trees' roots and levels, kept where every thread finds them (the
// core changes those trees on its own when it runs delayed refs).
export function fs_set_system_roots(
  extentRoot: f64, extentLevel: u32, csumRoot: f64, csumLevel: u32,
): i32 {
  const e = u64Arg(extentRoot), c = u64Arg(csumRoot);
  if (!ready() || e < 0 || c < 0 || extentLevel > MAX_LEVEL || csumLevel > MAX_LEVEL) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_system_roots is called
  store<u64>(fsBase + F_EXTENT_ROOT, <u64>e);
  store<u32>(fsBase + F_EXTENT_LEVEL, extentLevel);
  store<u64>(fsBase + F_CSUM_ROOT, <u64>c);
  store<u32>(fsBase + F_CSUM_LEVEL, csumLevel);
  return 0;
}

// The reference count of an extent with this transaction's delayed changes (a tree block:
// data 0, bytes 0).
export function fs_extent_refs(bytenr: f64, data: u32, bytes: f64): f64 {
  const b = u64Arg(bytenr), n = u64Arg(bytes);
  if (!ready() || b < 0 || n < 0) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_extent_refs is called
  const refs = extentRefs(<u64>b, data != 0, <u64>n);
  if (CHECKS) assert(stateSound()); // fs_extent_refs broke the state's invariants
  return <f64>refs;
}

// Apply every delayed ref to the extent tree (batch after batch, until none are left);
// problems are thrown by fs_fail.
export function fs_run_delayed_refs(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_run_delayed_refs is called
  runDelayedRefs();
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  if (CHECKS) assert(stateSound()); // fs_run_delayed_refs broke the state's invariants
  return 0;
}

// Blocks whose pointers were dropped early and still hold a reference (0 after a run).
export function fs_dropped_blocks(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dropped_blocks is called
  return <i32>droppedCount();
}
