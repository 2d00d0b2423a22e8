// Fixed-offset layout of the shared region, computed from the device configuration.
// No managed allocation anywhere: several instances share this memory and the
// AssemblyScript stub runtime would hand every one of them the same heap.
import {
  HEADER_BYTES, CRC_TABLE_BYTES, CRASH_ROW_BYTES, PATCH_BYTES, ENTRY_BYTES, ENTRY_DATA_BYTES,
  FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, LINE_SHIFT, LINE_BYTES, MAX_THREADS, STAMP_RUNS_CAPACITY,
  FRESH_RUN_BYTES, FRESH_RUNS_CAPACITY, STRIPE_LOCKS, STRIPE_LOCK_BYTES,
} from "../abi";

const REGION_ALIGN: u64 = 4096;

@inline function alignUp(value: u64, align: u64): u64 {
  return (value + align - 1) & ~(align - 1);
}

// The plan is returned through globals (per instance), never through a managed object:
// a `new` would allocate from the stub runtime's heap, which every instance sharing
// this memory places at the same address.
export let planCrcTables: u64 = 0;
export let planCrashTable: u64 = 0;
export let planPatch: u64 = 0;
export let planLog: u64 = 0;
export let planLogData: u64 = 0;
export let planThreads: u64 = 0;
export let planThreadStride: u64 = 0;
export let planLineState: u64 = 0;
export let planLineList: u64 = 0;
export let planVisible: u64 = 0;
export let planPreimage: u64 = 0;
export let planLineStamp: u64 = 0;
export let planChunkStamp: u64 = 0;
export let planChunkCrc: u64 = 0;
export let planChunkUniform: u64 = 0;
export let planRuns: u64 = 0;
export let planFreshRuns: u64 = 0;
export let planKernel: u64 = 0;
export let planTotal: u64 = 0;
export let planPatchRows: u64 = 0;
export let planLineSeq: u64 = 0;
export let planStripeLocks: u64 = 0;

export function planLayout(
  base: u64, deviceBytes: u64, maxThreads: u64, logCapacity: u64,
  scratchBytes: u64, flushQueueCapacity: u64, kernelBytes: u64,
): void {
  assert(maxThreads <= MAX_THREADS, "layout: too many threads");
  const lineCount = deviceBytes >> LINE_SHIFT;
  let at = base + HEADER_BYTES;
  planCrcTables = at; at = alignUp(at + CRC_TABLE_BYTES, REGION_ALIGN);
  // Every thread slot has a ring of its own (storelog.ts); a pending line has a live entry,
  // so the crash table and the patch need a row per line up to all the rings' entries.
  const entries = maxThreads * logCapacity;
  planPatchRows = min(lineCount, entries);
  planCrashTable = at; at = alignUp(at + planPatchRows * CRASH_ROW_BYTES, REGION_ALIGN);
  planPatch = at; at = alignUp(at + planPatchRows * PATCH_BYTES, REGION_ALIGN);
  planLog = at; at = alignUp(at + entries * ENTRY_BYTES, REGION_ALIGN);
  planLogData = at; at = alignUp(at + entries * ENTRY_DATA_BYTES, REGION_ALIGN);
  planPreimage = at; at = alignUp(at + entries * LINE_BYTES, REGION_ALIGN);
  planThreadStride = alignUp(FLUSHQ_FIRST_ENTRY + flushQueueCapacity * FLUSHQ_ENTRY_BYTES,
    64) + alignUp(scratchBytes, 64);
  planThreads = at; at = alignUp(at + maxThreads * planThreadStride, REGION_ALIGN);
  planLineState = at; at = alignUp(at + lineCount, REGION_ALIGN);
  planLineList = at; at = alignUp(at + lineCount * 8, REGION_ALIGN);
  planLineStamp = at; at = alignUp(at + lineCount * 4, REGION_ALIGN);
  planChunkStamp = at; at = alignUp(at + ((lineCount + 63) >> 6) * 4, REGION_ALIGN);
  planChunkCrc = at; at = alignUp(at + ((lineCount + 63) >> 6) * 8, REGION_ALIGN);
  planChunkUniform = at; at = alignUp(at + ((lineCount + 63) >> 6), REGION_ALIGN);
  planRuns = at; at = alignUp(at + STAMP_RUNS_CAPACITY * 8, REGION_ALIGN);
  planLineSeq = at; at = alignUp(at + lineCount * 4, REGION_ALIGN);
  planStripeLocks = at; at = alignUp(at + <u64>STRIPE_LOCKS * STRIPE_LOCK_BYTES, REGION_ALIGN);
  planFreshRuns = at; at = alignUp(at + maxThreads * FRESH_RUNS_CAPACITY * FRESH_RUN_BYTES,
    REGION_ALIGN);
  planVisible = at; at = alignUp(at + deviceBytes, REGION_ALIGN);
  planKernel = at; at = alignUp(at + kernelBytes, REGION_ALIGN);
  planTotal = at;
}
