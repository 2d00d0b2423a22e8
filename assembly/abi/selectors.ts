// The core's ABI: region, gauge and counter selectors (assembly/abi.ts: the rules for these files;
// docs/abi.md). scripts/gen-abi.mjs writes src/core/abi/selectors.ts from it.

// --- regions, gauges, counters ----------------------------------------------------------

// pmem_region selectors.
// @ts object REGION
export const R_VISIBLE: u32 = 0; // "visible": address of the visible bytes
// address of the pre-image slots (media bytes of pending lines)
export const R_PREIMAGE: u32 = 1; // "preimage"
export const R_SCRATCH: u32 = 2; // "scratch": address of this thread's scratch
export const R_SCRATCH_BYTES: u32 = 3; // "scratchBytes": its size
export const R_PATCH: u32 = 4; // "patch": address of the crash patch
export const R_LINE_STATE: u32 = 5; // "lineState": address of the line state bytes
export const R_LINE_COUNT: u32 = 6; // "lineCount": device size in lines
export const R_KERNEL: u32 = 7; // "kernel": address of the region of the upper layers
export const R_KERNEL_BYTES: u32 = 8; // "kernelBytes": its size
export const R_DEVICE_BYTES: u32 = 9; // "deviceBytes": device size in bytes
export const R_THREAD_SLOT: u32 = 10; // "threadSlot": this instance's thread slot
export const R_DOMAIN: u32 = 11; // "domain": DOMAIN_*
export const R_LOG_CAPACITY: u32 = 12; // "logCapacity": store-log entries
export const R_CRASH_TABLE: u32 = 13; // "crashTable": address of the crash table (CRASH_ROW_* rows)
export const R_CRASH_ROWS: u32 = 14; // "crashRows": rows of the last crash scan
export const R_STAMP_RUNS: u32 = 15; // "stampRuns": address of the runs of the last pmem_stamp_runs

// pmem_gauge selectors.
// @ts object GAUGE
export const G_LINES_PENDING: u32 = 0; // "linesPending": lines with stores not yet on media
export const G_LOG_SPAN: u32 = 1; // "logSpan": live store-log span
export const G_FLUSH_QUEUE: u32 = 2; // "flushQueue": this thread's queued flushes
export const G_POISONED_LINES: u32 = 3; // "poisonedLines": lines with LINE_POISON set

// Counter indices (u64 each at TA_COUNTERS + 8 * index of every thread area; a counter is
// the sum over the thread slots); the keys are PmemDevice.counters().
// @ts array COUNTER_NAMES
export const C_STORES: u32 = 0; // "stores"
export const C_STORE_BYTES: u32 = 1; // "bytesStored"
export const C_NT_STORES: u32 = 2; // "ntStores"
export const C_CLWB: u32 = 3; // "clwb"
export const C_CLFLUSHOPT: u32 = 4; // "clflushopt"
export const C_CLFLUSH: u32 = 5; // "clflush"
export const C_SFENCE: u32 = 6; // "sfence"
export const C_MFENCE: u32 = 7; // "mfence"
export const C_EVICTIONS: u32 = 8; // "evictions"
export const C_LOADS: u32 = 9; // "loads"
export const C_LOAD_BYTES: u32 = 10; // "bytesLoaded"
export const C_FLUSHQ_DRAINS: u32 = 11; // "flushQueueDrains"
export const C_RETIRED: u32 = 12; // "linesRetired"
export const C_LOG_ENTRIES: u32 = 13; // "logEntries"

// counters per thread (TA_COUNTERS + 8 * COUNTER_COUNT <= FLUSHQ_FIRST_ENTRY)
export const COUNTER_COUNT: u32 = C_LOG_ENTRIES + 1;
