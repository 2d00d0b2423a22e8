// Batch stores (dax_store_batch): many records in one call, each stored through the same
// translation, TLB and shootdown path as dax_store (access.ts accessPieces), in order.
// Why: a writer thread crossed from JS into the core once per store, and built each
// store's bytes with a typed-array fill; a batch crosses once per few hundred stores, and
// a fill record's bytes are laid out here with v128 stores. Record layout and results:
// BATCH_* and BR_* in assembly/abi.ts. The batch stops at the first fault and leaves in
// the record how far it got, so the caller resumes without storing a byte twice (a
// re-store would add log entries and change what crash images can show).
import {
  BATCH_RECORD_BYTES, BR_OFFSET, BR_LENGTH, BR_FLAGS, BR_DONE, BR_TAG, BR_SOURCE, BRF_FILL,
  BRF_PERSIST, BATCH_FILL_BYTES, BATCH_BAD_SHIFT, BATCH_BAD_DESCS, BATCH_BAD_MAPPING,
  BATCH_BAD_LENGTH, BATCH_BAD_RANGE, BATCH_BAD_FLAGS, BATCH_BAD_SOURCE, PAGE_BYTES, EINVAL,
  T_FAULT_REASON,
} from "../abi";
import { threadScratchAddr, scratchBytes, threadSlot } from "../pmem/state";
import { deviceLock, deviceUnlock, deviceFence } from "../pmem/device";
import { CHECKS } from "../shared/checks";
import {
  mappingValid, accessEnter, accessLeave, accessPieces, ACCESS_STORE, ACCESS_FLUSH,
} from "./access";

// This instance's last refusal (every thread has its own instance): dax_batch_error.
let batchError: u32 = 0;

export function batchErrorInfo(): u32 {
  assert(batchError >>> BATCH_BAD_SHIFT <= BATCH_BAD_SOURCE, "batch: an unknown refusal");
  assert(threadSlot >= 0, "batch: no thread slot");
  return batchError;
}

// The core's fill area: the last BATCH_FILL_BYTES of this thread's scratch.
@inline function fillArea(): usize {
  // batchProblem refuses a scratch without room
  if (CHECKS) assert(scratchBytes > BATCH_FILL_BYTES);
  if (CHECKS) assert(threadSlot >= 0); // a fill area of no thread
  return threadScratchAddr() + scratchBytes - BATCH_FILL_BYTES;
}

// Why a record cannot be stored (BATCH_BAD_*), or 0.
function recordProblem(mapping: u32, rec: usize): u32 {
  assert((rec & 7) == 0, "batch: a record not 8-byte aligned");
  assert(rec + BATCH_RECORD_BYTES <= fillArea(), "batch: a record in the fill area");
  const offset = load<u32>(rec + BR_OFFSET), len = load<u32>(rec + BR_LENGTH),
    flags = load<u32>(rec + BR_FLAGS);
  if ((flags & ~(BRF_FILL | BRF_PERSIST)) != 0) return BATCH_BAD_FLAGS;
  if (len == 0 || load<u32>(rec + BR_DONE) >= len) return BATCH_BAD_LENGTH;
  if (!mappingValid(mapping, offset, len)) return BATCH_BAD_RANGE;
  if ((flags & BRF_FILL) == 0
      && <u64>load<u32>(rec + BR_SOURCE) + len > (<u64>memory.size() << 16)) {
    return BATCH_BAD_SOURCE;
  }
  return 0;
}

// The whole batch checked before any record is stored: a bad one stores nothing.
function batchProblem(mapping: u32, descs: u32, count: u32): u32 {
  assert(threadSlot >= 0, "batch: no thread slot");
  if (scratchBytes <= BATCH_FILL_BYTES) return BATCH_BAD_DESCS << BATCH_BAD_SHIFT;
  const scratch = <u64>threadScratchAddr();
  const end = <u64>descs + <u64>count * BATCH_RECORD_BYTES;
  if ((descs & 7) != 0 || <u64>descs < scratch || end > <u64>fillArea()
      || count >= 1 << BATCH_BAD_SHIFT) {
    return BATCH_BAD_DESCS << BATCH_BAD_SHIFT;
  }
  if (!mappingValid(mapping, 0, 0)) return BATCH_BAD_MAPPING << BATCH_BAD_SHIFT;
  for (let r: u32 = 0; r < count; r++) {
    const reason = recordProblem(mapping, <usize>descs + <usize>r * BATCH_RECORD_BYTES);
    if (reason != 0) return (reason << BATCH_BAD_SHIFT) | r;
  }
  if (CHECKS) assert(end <= scratch + scratchBytes); // records past the scratch
  return 0;
}

// Lay out `bytes` (rounded up to 16) of the repeated tag at `dst` (16-byte aligned).
@inline function fillTag(dst: usize, tag: u64, bytes: u32): void {
  if (CHECKS) assert((dst & 15) == 0 && bytes <= BATCH_FILL_BYTES); // a fill outside the fill area
  if (CHECKS) assert(bytes > 8); // a fill of no record bytes
  const v = i64x2.splat(<i64>tag);
  const end = dst + ((<usize>bytes + 15) & ~<usize>15);
  for (let p = dst; p < end; p += 16) v128.store(p, v);
}

// Store a fill record's bytes from `from` on, page by page from the pattern (its phase is
// the position in the record mod 8). Returns the bytes of the record stored in all.
function storeFill(area: usize, mapping: u32, rec: usize, from: u32): u32 {
  const offset = load<u32>(rec + BR_OFFSET), len = load<u32>(rec + BR_LENGTH);
  assert(from < len, "batch: a fill with nothing left");
  const fill = fillArea();
  fillTag(fill, load<u64>(rec + BR_TAG), min<u32>(len - from, PAGE_BYTES) + 8);
  let done = from;
  while (done < len) {
    const at = offset + done;
    const count = min<u32>(PAGE_BYTES - (at & (PAGE_BYTES - 1)), len - done);
    const stored = accessPieces(area, ACCESS_STORE, mapping, at, fill + (done & 7), count);
    done += stored;
    if (stored < count) break;
  }
  assert(done <= len, "batch: a fill past its record");
  return done;
}

// Store one record (from BR_DONE on) and, with BRF_PERSIST, write it back and fence.
// False at a fault: BR_DONE then holds the bytes of the record stored.
function storeRecord(area: usize, mapping: u32, rec: usize): bool {
  const offset = load<u32>(rec + BR_OFFSET), len = load<u32>(rec + BR_LENGTH),
    flags = load<u32>(rec + BR_FLAGS);
  const from = load<u32>(rec + BR_DONE);
  assert(from < len, "batch: a record with nothing left");
  const done = (flags & BRF_FILL) != 0 ? storeFill(area, mapping, rec, from)
    : from + accessPieces(area, ACCESS_STORE, mapping, offset + from,
      <usize>load<u32>(rec + BR_SOURCE) + from, len - from);
  if (CHECKS) assert(done >= from && done <= len); // a record stored backwards or past its end
  if (done < len) {
    store<u32>(rec + BR_DONE, done);
    return false;
  }
  if ((flags & BRF_PERSIST) != 0) {
    // As dax_flush then pmem_fence: clwb of the record's lines through this thread's
    // translations (unmapped pages skipped), then sfence.
    accessPieces(area, ACCESS_FLUSH, mapping, offset, 0, len);
    deviceLock();
    deviceFence(false);
    deviceUnlock();
  }
  return true;
}

// Store `count` records at descs in order: the records completed, or -EINVAL (nothing
// stored; batchErrorInfo says which record and why).
export function daxStoreBatch(mapping: u32, descs: u32, count: u32): i32 {
  batchError = batchProblem(mapping, descs, count);
  if (batchError != 0) return -EINVAL;
  const area = accessEnter();
  let r: u32 = 0;
  while (r < count && storeRecord(area, mapping, <usize>descs + <usize>r * BATCH_RECORD_BYTES)) r++;
  // a batch that stopped without a fault
  if (CHECKS) assert(r == count || load<u32>(area + T_FAULT_REASON) != 0);
  accessLeave(area);
  assert(r <= count, "batch: more records than given");
  return <i32>r;
}
