// The core's ABI: batch stores from JavaScript (pmem_store_batch, assembly/pmem/store-batch.ts;
// assembly/abi.ts: the rules for these files). scripts/gen-abi.mjs writes
// src/core/abi/store-batch.ts from it.

// One call of pmem_store_batch stores `count` records in order, each as pmem_store would:
// the records' descriptors lie in this thread's scratch, 4-byte aligned, one after another;
// their bytes lie one after another from `payload` (record k's start where record k - 1's end).
export const STORE_BATCH_DESC_BYTES: u32 = 8; // bytes per descriptor
export const SBD_ADDR: u32 = 0; // u32 device address of the record
export const SBD_LENGTH: u32 = 4; // u32 bytes of the record (0: nothing stored, nothing counted)
