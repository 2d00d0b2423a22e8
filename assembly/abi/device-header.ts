// The core's ABI: the device header (assembly/abi.ts: the rules for these files; docs/abi.md).
// scripts/gen-abi.mjs writes src/core/abi/device-header.ts from it.

// --- the device header -----------------------------------------------------------------
// The control header at the start of the shared region. It is the contract between all
// instances that share one memory: every address a core instance uses is read from here
// at attach time into that instance's own globals (WebAssembly globals are per instance,
// memory is shared).

export const HEADER_MAGIC: u32 = 0x57434d50; // "PMCW"
export const HEADER_VERSION: u32 = 9; // bumped by every change of this layout
export const HEADER_BYTES: u32 = 4096; // the header's size: regions start after it

// Header field offsets (bytes from the header base).
export const H_MAGIC: u32 = 0; // u32 HEADER_MAGIC, written last at format
export const H_VERSION: u32 = 4; // u32 HEADER_VERSION
export const H_DEVICE_BYTES: u32 = 8; // u32 device size in bytes
export const H_LINE_COUNT: u32 = 12; // u32 device size in lines
export const H_DOMAIN: u32 = 16; // u32 DOMAIN_*
export const H_MAX_THREADS: u32 = 20; // u32 thread slots
export const H_LOG_CAPACITY: u32 = 24; // u32 entries of each thread's store-log ring
export const H_SCRATCH_BYTES: u32 = 28; // u32 scratch bytes per thread
export const H_CRC_TABLES: u32 = 32; // u32 address of the crc32c tables
export const H_THREADS: u32 = 36; // u32 address of the thread areas
export const H_THREAD_STRIDE: u32 = 40; // u32 bytes per thread area
export const H_FLUSHQ_CAPACITY: u32 = 44; // u32 flush-queue entries per thread
export const H_LINE_STATE: u32 = 48; // u32 address of the line state bytes
export const H_LINE_LIST: u32 = 52; // u32 address of the line lists
// u32 address of the store log: the rings of thread slots 0, 1, ... (logCapacity entries each)
export const H_LOG: u32 = 56;
export const H_PATCH: u32 = 60; // u32 address of the crash patch
export const H_VISIBLE: u32 = 64; // u32 address of the visible bytes
// u32 address of the pre-image slots (maxThreads x logCapacity x 64 bytes): a pending line's media
// bytes, in its oldest entry's slot
export const H_PREIMAGE: u32 = 68;
export const H_TOTAL_BYTES: u32 = 72; // u32 end address of the layout
export const H_THREAD_SLOTS: u32 = 76; // bitmap of claimed thread slots
export const H_LOCK: u32 = 80; // device spinlock
export const H_KERNEL: u32 = 84; // start of the region reserved for upper layers
// u32 1 while a thread holds the world lock (store-locks.ts): shared sections wait
export const H_WORLD: u32 = 88;
// u32 address of the line sequence numbers (u32 per line: store-locks.ts, seq-order.ts)
export const H_LINE_SEQ: u32 = 92;
// u32 bit t: thread slot t has attached since the device was formatted (its ring may hold entries);
// never cleared
export const H_RINGS_USED: u32 = 172;
// u32 eADR: the next store's sequence number, for every thread (seq-order.ts)
export const H_EADR_NEXT_SEQ: u32 = 168;
// u32 address of the stripe locks (STRIPE_LOCKS words, STRIPE_LOCK_BYTES apart)
export const H_STRIPE_LOCKS: u32 = 96;
export const H_CRASH_TABLE: u32 = 100; // u32 address of the crash table
export const H_KERNEL_BYTES: u32 = 104; // u32 bytes of the kernel region
export const H_CRASH_ROWS: u32 = 108; // u32 rows of the last crash scan
export const H_CRASH_TOTAL: u32 = 112; // u64, saturating count of legal images
// Used by JS only (src/pmem/device.ts), through Atomics: the core never reads them.
export const H_FS_OWNER: u32 = 120; // token of the file system holding the device, 0 = none
export const H_FS_OWNER_SEQ: u32 = 124; // last owner token handed out
// Line change stamps (assembly/pmem/stamps.ts).
export const H_LINE_STAMP: u32 = 128; // u32 per line
export const H_CHUNK_STAMP: u32 = 132; // u32 per 64 lines
// per 64 lines: crc32c of their media bytes (u32), epoch it is valid from (u32)
export const H_CHUNK_CRC: u32 = 136;
export const H_STAMP_EPOCH: u32 = 140; // u32 the current stamp epoch
// u8 per 64 lines: 1 when every line of the chunk carries the chunk's stamp (their own line
// stamps are not written then)
export const H_CHUNK_UNIFORM: u32 = 144;
// STAMP_RUNS_CAPACITY (first line u32, count u32) pairs of the last stamp query
export const H_RUNS: u32 = 148;
export const STAMP_RUNS_CAPACITY: u32 = 512; // runs the stamp-runs region holds
// The store log's version: bumped by every change to the log (append, retire, reset), so a
// crash scan of an unchanged log is reused (a crash explorer builds hundreds of images of
// one pending state; each build rescanned the whole log window).
export const H_LOG_VERSION: u32 = 152; // u32 the store log's version
export const H_SCAN_VERSION: u32 = 156; // H_LOG_VERSION when the crash table was last built
// u32 rows the crash table and the patch hold: min(lines, maxThreads x logCapacity)
export const H_PATCH_ROWS: u32 = 160;
// u32 address of the store log's data slots (ENTRY_DATA_BYTES per entry)
export const H_LOG_DATA: u32 = 164;
// Fresh runs whose entries are not written yet (assembly/pmem/fresh-runs.ts): a table of
// their own (layout.ts).
// u32 lines with LINE_POISON set (a crash target copies line states only when either side has one)
export const H_POISONED_LINES: u32 = 180;
// u32 address of the tables: one per thread slot, FRESH_RUNS_CAPACITY x FRESH_RUN_BYTES each
export const H_FRESH_RUNS: u32 = 176;
// one deferred fresh run: first line u32, line count u32 (0: retired), first sequence number u32,
// stamp epoch of its store u32, first ring position u32
export const FRESH_RUN_BYTES: u32 = 20;
// runs the table holds (a commit of a thousand blocks and data extents)
export const FRESH_RUNS_CAPACITY: u32 = 2048;
