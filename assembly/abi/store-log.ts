// The core's ABI: the store log, the flush queue and the crash patch (assembly/abi.ts: the rules
// for these files; docs/abi.md). scripts/gen-abi.mjs writes src/core/abi/store-log.ts from it.

// --- store log, flush queue, crash patch ---------------------------------------------------

// One store-log entry: the bytes one store wrote into one line, in program order.
export const ENTRY_BYTES: u32 = 32; // bytes per entry (its data slot is in the log's data region)
// u32 global sequence number (wraps; compared by signed difference)
export const ENTRY_SEQ: u32 = 0;
export const ENTRY_LINE: u32 = 4; // u32 line index
export const ENTRY_NEXT: u32 = 8; // u32 (index + 1) of the next entry of the same line, 0 = none
// u32 ENTRY_HOLDS_DATA, ENTRY_DATA_VISIBLE or ENTRY_DATA_IN_NEXT until written to media, 0 after
export const ENTRY_LIVE: u32 = 12;
export const ENTRY_HOLDS_DATA: u32 = 1; // ENTRY_LIVE: the entry's bytes are in its data slot
// ENTRY_LIVE: the entry is its line's newest and its bytes are the line's visible bytes (not
// copied)
export const ENTRY_DATA_VISIBLE: u32 = 2;
// ENTRY_LIVE: a whole-line entry with a newer one: its bytes are in the pre-image slot of its
// next entry (the line's media once it is written back)
export const ENTRY_DATA_IN_NEXT: u32 = 3;
export const ENTRY_MASK: u32 = 16; // u64 byte mask within the line
// an entry's data slot (same index, log data region): valid where the mask is set
export const ENTRY_DATA_BYTES: u32 = 64;

// Per-thread area: the flush-queue length (u32), the content-digest state from TA_DIGEST,
// the thread's counters from TA_COUNTERS, the queue's entries from FLUSHQ_FIRST_ENTRY, then
// scratch.
// 48 bytes: a content digest's two i32x4 lanes, then a padded last block (csum/content-hash.ts)
export const TA_DIGEST: u32 = 16;
// u64 counters of this thread (see C_*), on cache lines of their own
export const TA_COUNTERS: u32 = 64;
// The thread's own store-log ring (storelog.ts), on a cache line of its own: positions count
// the ring's line parts (a slot is (position - base) mod logCapacity), sequence numbers order
// every thread's parts together.
export const TA_LOG: u32 = 192;
export const TL_HEAD: u32 = 0; // u32 next position
export const TL_TAIL: u32 = 4; // u32 oldest position that may still be live
// u32 the position of slot 0: moved to the head whenever the ring is empty (a store after a fence
// reuses its first, cache-warm slots)
export const TL_SLOT_BASE: u32 = 8;
// u32 bumped by every change this thread makes to the log (the log's version is the sum)
export const TL_VERSION: u32 = 12;
// i32 lines this thread made pending minus lines it took out (the pending lines are the sum)
export const TL_PENDING: u32 = 16;
export const TL_LIVE: u32 = 20; // u32 the ring's slots with a live entry or a deferred line
// u32 position of the fresh-run table's oldest row that may be live
export const TL_FRESH_START: u32 = 24;
// u32 end position of the fresh-run table (rows live and retired lie in [start, end))
export const TL_FRESH_END: u32 = 28;
export const TL_FRESH_LIVE: u32 = 32; // u32 live rows of the fresh-run table
export const TL_ACTIVE: u32 = 36; // u32 1 while the thread is in a shared section (store-locks.ts)
// u32 the sequence number of the thread's next log part (seq-order.ts)
export const TL_CLOCK: u32 = 40;
// Stripes: lines locked together by stores of several threads (store-locks.ts).
export const STRIPE_SHIFT: u32 = 6; // 64 lines (4 KiB, a page) per stripe
export const STRIPE_LOCKS: u32 = 256; // lock words; stripe s takes word s mod STRIPE_LOCKS
export const STRIPE_LOCK_BYTES: u32 = 64; // one word per cache line: two threads' pages share none
// MAX_THREADS u32: a walk's position in each ring (crash.ts: the rings merged in sequence order)
export const TA_MERGE: u32 = 256;
export const FLUSHQ_FIRST_ENTRY: u32 = 384; // offset of the first queue entry in a thread area
// one flush: (first line u32, line count u32, newest store's sequence number u32)
export const FLUSHQ_ENTRY_BYTES: u32 = 12;
export const FQ_FIRST: u32 = 0; // u32 first line of the flushed range
export const FQ_COUNT: u32 = 4; // u32 lines in the range
export const FQ_UP_TO: u32 = 8; // u32 sequence number of the newest store when the flush was issued

// One crash-image patch slot: a line index and the line's post-crash content.
export const PATCH_BYTES: u32 = 72; // bytes per slot
export const PATCH_LINE: u32 = 0; // u32 line index
export const PATCH_DATA: u32 = 8; // LINE_BYTES bytes of content

// One crash-table row: a pending line and its number of legal post-crash versions.
export const CRASH_ROW_BYTES: u32 = 8; // bytes per row
export const CRASH_ROW_LINE: u32 = 0; // u32 line index
export const CRASH_ROW_VERSIONS: u32 = 4; // u32 legal versions of the line

// Crash modes of pmem_crash_build and pmem_crash_in_place.
// @ts object CRASH_MODE
export const CRASH_STRICT: u32 = 0; // "strict": only what is durable
export const CRASH_RANDOM: u32 = 1; // "random": one random legal image, arg = seed
export const CRASH_ENUMERATE: u32 = 2; // "enumerate": image number arg of pmem_crash_total

// Flush kinds of pmem_flush.
// @ts object FLUSH_KIND
export const FLUSH_CLWB: u32 = 0; // "clwb"
export const FLUSH_CLFLUSHOPT: u32 = 1; // "clflushopt"
export const FLUSH_CLFLUSH: u32 = 2; // "clflush"
