// The control header at the start of the shared region. It is the contract between all
// instances that share one memory: every address a core instance uses is read from here
// at attach time into that instance's own globals (WebAssembly globals are per instance,
// memory is shared).

export const HEADER_MAGIC: u32 = 0x57434d50; // "PMCW"
export const HEADER_VERSION: u32 = 2;
export const HEADER_BYTES: u32 = 4096;

export const LINE_BYTES: u32 = 64;
export const LINE_SHIFT: u32 = 6;
export const WORD_BYTES: u32 = 8;
export const WORDS_PER_LINE: u32 = 8;

// One store-log entry: the bytes one store wrote into one line, in program order.
export const ENTRY_BYTES: u32 = 96;
export const ENTRY_SEQ: u32 = 0; // u32 global sequence number (wraps; compared by signed difference)
export const ENTRY_LINE: u32 = 4; // u32 line index
export const ENTRY_NEXT: u32 = 8; // u32 (index + 1) of the next entry of the same line, 0 = none
export const ENTRY_LIVE: u32 = 12; // u32 1 while not yet written to media
export const ENTRY_MASK: u32 = 16; // u64 byte mask within the line
export const ENTRY_DATA: u32 = 32; // 64 bytes, valid where the mask is set

// One crash-image patch slot: a line index and the line's post-crash content.
export const PATCH_BYTES: u32 = 72;
export const PATCH_DATA: u32 = 8;

// One crash-table row: a pending line and its number of legal post-crash versions.
export const CRASH_ROW_BYTES: u32 = 8;

// Per-thread flush queue entry: (line, sequence number of the last store it covers).
export const FLUSHQ_ENTRY_BYTES: u32 = 8;

export const CRC_TABLE_BYTES: u32 = 16 * 256 * 4;

export const MAX_THREADS: u32 = 32;

// Line state bits (one byte per line).
export const LINE_PENDING: u8 = 1; // has store-log entries not yet on media
export const LINE_POISON: u8 = 2; // media error: loads fail

export const DOMAIN_ADR: u32 = 0;
export const DOMAIN_EADR: u32 = 1;

// Header field offsets (bytes from the header base).
export const H_MAGIC: u32 = 0;
export const H_VERSION: u32 = 4;
export const H_DEVICE_BYTES: u32 = 8;
export const H_LINE_COUNT: u32 = 12;
export const H_DOMAIN: u32 = 16;
export const H_MAX_THREADS: u32 = 20;
export const H_LOG_CAPACITY: u32 = 24;
export const H_SCRATCH_BYTES: u32 = 28;
export const H_CRC_TABLES: u32 = 32;
export const H_THREADS: u32 = 36;
export const H_THREAD_STRIDE: u32 = 40;
export const H_FLUSHQ_CAPACITY: u32 = 44;
export const H_LINE_STATE: u32 = 48;
export const H_LINE_LIST: u32 = 52;
export const H_LOG: u32 = 56;
export const H_PATCH: u32 = 60;
export const H_VISIBLE: u32 = 64;
export const H_MEDIA: u32 = 68;
export const H_TOTAL_BYTES: u32 = 72;
export const H_THREAD_SLOTS: u32 = 76; // bitmap of claimed thread slots
export const H_LOCK: u32 = 80; // device spinlock
export const H_KERNEL: u32 = 84; // start of the region reserved for upper layers
export const H_LOG_HEAD: u32 = 88; // next sequence number
export const H_LOG_TAIL: u32 = 92; // oldest sequence number that may still be live
export const H_LINES_PENDING: u32 = 96;
export const H_CRASH_TABLE: u32 = 100;
export const H_KERNEL_BYTES: u32 = 104;
export const H_CRASH_ROWS: u32 = 108;
export const H_CRASH_TOTAL: u32 = 112; // u64, saturating count of legal images
// Used by JS only (src/pmem/device.ts), through Atomics: the core never reads them.
export const H_FS_OWNER: u32 = 120; // token of the file system holding the device, 0 = none
export const H_FS_OWNER_SEQ: u32 = 124; // last owner token handed out
// Line change stamps (assembly/pmem/stamps.ts).
export const H_LINE_STAMP: u32 = 128; // u32 per line
export const H_CHUNK_STAMP: u32 = 132; // u32 per 64 lines
export const H_CHUNK_CRC: u32 = 136; // per 64 lines: crc32c of their media bytes (u32), epoch it is valid from (u32)
export const H_STAMP_EPOCH: u32 = 140;
export const H_RUNS: u32 = 148; // STAMP_RUNS_CAPACITY (first line u32, count u32) pairs of the last stamp query
export const STAMP_RUNS_CAPACITY: u32 = 512;
// The store log's version: bumped by every change to the log (append, retire, reset), so a
// crash scan of an unchanged log is reused (a crash explorer builds hundreds of images of
// one pending state; each build rescanned the whole log window).
export const H_LOG_VERSION: u32 = 152;
export const H_SCAN_VERSION: u32 = 156; // H_LOG_VERSION when the crash table was last built
export const H_COUNTERS: u32 = 256; // u64 counters, see C_*

export const C_STORES: u32 = 0;
export const C_STORE_BYTES: u32 = 1;
export const C_NT_STORES: u32 = 2;
export const C_CLWB: u32 = 3;
export const C_CLFLUSHOPT: u32 = 4;
export const C_CLFLUSH: u32 = 5;
export const C_SFENCE: u32 = 6;
export const C_MFENCE: u32 = 7;
export const C_EVICTIONS: u32 = 8;
export const C_LOADS: u32 = 9;
export const C_LOAD_BYTES: u32 = 10;
export const C_FLUSHQ_DRAINS: u32 = 11;
export const C_RETIRED: u32 = 12;
export const C_LOG_ENTRIES: u32 = 13;
export const COUNTER_COUNT: u32 = 14;
