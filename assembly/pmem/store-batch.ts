// Batch stores from JavaScript (pmem_store_batch): many records in one call, each stored
// exactly as pmem_store stores it (deviceStore: the same entries, evictions, counters and
// crash images), in order, inside one shared section. Why: a JavaScript writer crossed into
// the core once per store, and for small stores the crossing and the argument checks around
// it cost as much as the store (issue 17). Descriptor layout: STORE_BATCH_DESC_BYTES, SBD_*
// in assembly/abi.ts. The whole batch is checked before any record is stored: a bad one
// stores nothing. No managed allocation: every thread's instance shares this memory.
import { STORE_BATCH_DESC_BYTES, SBD_ADDR, SBD_LENGTH } from "../abi";
import { threadScratchAddr, scratchBytes, threadSlot } from "./state";
import { deviceStore, deviceLock, deviceUnlock } from "./device";
import { deviceRangeValid } from "./export-checks";
import { CHECKS } from "../shared/checks";

// The descriptors lie inside this thread's scratch, 4-byte aligned: nothing a record stores
// can change them (stores write visible bytes only), so the checked batch is the stored one.
function descsValid(descs: u32, count: u32): bool {
  assert(threadSlot >= 0, "store batch: no thread slot");
  const scratch = <u64>threadScratchAddr();
  const end = <u64>descs + <u64>count * STORE_BATCH_DESC_BYTES;
  assert(end >= <u64>descs, "store batch: descriptors wrap");
  return (descs & 3) == 0 && <u64>descs >= scratch && end <= scratch + <u64>scratchBytes;
}

// The bytes of every record together, or -1 when a record lies outside the device.
function payloadBytes(descs: u32, count: u32): i64 {
  let total: i64 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const d = <usize>descs + <usize>r * STORE_BATCH_DESC_BYTES;
    const len = load<u32>(d + SBD_LENGTH);
    if (!deviceRangeValid(load<u32>(d + SBD_ADDR), len)) return -1;
    total += <i64>len;
  }
  return total;
}

// Is the whole batch storable: its descriptors in this thread's scratch, every record in the
// device, the bytes of them all in memory?
export function storeBatchValid(descs: u32, count: u32, payload: u32): bool {
  if (!descsValid(descs, count)) return false;
  const total = payloadBytes(descs, count);
  if (total < 0) return false;
  return <u64>payload + <u64>total <= (<u64>memory.size() << 16);
}

// Store the records of a checked batch in order (storeBatchValid), one shared section.
export function storeBatch(descs: u32, count: u32, payload: u32, nonTemporal: bool): void {
  if (CHECKS) assert(storeBatchValid(descs, count, payload)); // an unchecked batch
  let src = <usize>payload;
  deviceLock();
  for (let r: u32 = 0; r < count; r++) {
    const d = <usize>descs + <usize>r * STORE_BATCH_DESC_BYTES;
    const len = load<u32>(d + SBD_LENGTH);
    if (len == 0) continue; // as pmem_store: an empty store stores and counts nothing
    deviceStore(load<u32>(d + SBD_ADDR), src, len, nonTemporal);
    src += len;
  }
  deviceUnlock();
  // every record's bytes read, and no more
  if (CHECKS) assert(<i64>(src - <usize>payload) == payloadBytes(descs, count));
}
