// The ABI of the pmcow core: every offset, size, flag and code that the core (assembly/)
// and its callers (src/, web/) both depend on, defined once. scripts/gen-abi.mjs reads this
// file and writes src/core/abi.ts for TypeScript; test/abi.test.ts fails when the two
// disagree. See docs/abi.md.
//
// Rules for this file (the generator reads it line by line):
// - one constant per line: `export const NAME: u8|u32|i32|u64 = EXPR; // comment`, where EXPR
//   is an integer literal or an expression of earlier constants (+ - * / << >> & | ~ ( ));
// - `// @ts object NAME` or `// @ts array NAME` before a group of constants also emits
//   them for TypeScript as one object (key: value) or array (index: key) named NAME; each
//   constant of the group starts its comment with its key in double quotes; the group
//   ends at the next blank line.

// --- the device header -----------------------------------------------------------------
// The control header at the start of the shared region. It is the contract between all
// instances that share one memory: every address a core instance uses is read from here
// at attach time into that instance's own globals (WebAssembly globals are per instance,
// memory is shared).

export const HEADER_MAGIC: u32 = 0x57434d50; // "PMCW"
export const HEADER_VERSION: u32 = 8; // bumped by every change of this layout
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
export const H_LOG: u32 = 56; // u32 address of the store log: the rings of thread slots 0, 1, ... (logCapacity entries each)
export const H_PATCH: u32 = 60; // u32 address of the crash patch
export const H_VISIBLE: u32 = 64; // u32 address of the visible bytes
export const H_PREIMAGE: u32 = 68; // u32 address of the pre-image slots (maxThreads x logCapacity x 64 bytes): a pending line's media bytes, in its oldest entry's slot
export const H_TOTAL_BYTES: u32 = 72; // u32 end address of the layout
export const H_THREAD_SLOTS: u32 = 76; // bitmap of claimed thread slots
export const H_LOCK: u32 = 80; // device spinlock
export const H_KERNEL: u32 = 84; // start of the region reserved for upper layers
export const H_WORLD: u32 = 88; // u32 1 while a thread holds the world lock (store-locks.ts): shared sections wait
export const H_LINE_SEQ: u32 = 92; // u32 address of the line sequence numbers (u32 per line: store-locks.ts, seq-order.ts)
export const H_RINGS_USED: u32 = 172; // u32 bit t: thread slot t has attached since the device was formatted (its ring may hold entries); never cleared
export const H_EADR_NEXT_SEQ: u32 = 168; // u32 eADR: the next store's sequence number, for every thread (seq-order.ts)
export const H_STRIPE_LOCKS: u32 = 96; // u32 address of the stripe locks (STRIPE_LOCKS words, STRIPE_LOCK_BYTES apart)
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
export const H_CHUNK_CRC: u32 = 136; // per 64 lines: crc32c of their media bytes (u32), epoch it is valid from (u32)
export const H_STAMP_EPOCH: u32 = 140; // u32 the current stamp epoch
export const H_RUNS: u32 = 148; // STAMP_RUNS_CAPACITY (first line u32, count u32) pairs of the last stamp query
export const STAMP_RUNS_CAPACITY: u32 = 512; // runs the stamp-runs region holds
// The store log's version: bumped by every change to the log (append, retire, reset), so a
// crash scan of an unchanged log is reused (a crash explorer builds hundreds of images of
// one pending state; each build rescanned the whole log window).
export const H_LOG_VERSION: u32 = 152; // u32 the store log's version
export const H_SCAN_VERSION: u32 = 156; // H_LOG_VERSION when the crash table was last built
export const H_PATCH_ROWS: u32 = 160; // u32 rows the crash table and the patch hold: min(lines, maxThreads x logCapacity)
export const H_LOG_DATA: u32 = 164; // u32 address of the store log's data slots (ENTRY_DATA_BYTES per entry)
// Fresh runs whose entries are not written yet (assembly/pmem/fresh-runs.ts): a table of
// their own (layout.ts).
export const H_POISONED_LINES: u32 = 180; // u32 lines with LINE_POISON set (a crash target copies line states only when either side has one)
export const H_FRESH_RUNS: u32 = 176; // u32 address of the tables: one per thread slot, FRESH_RUNS_CAPACITY x FRESH_RUN_BYTES each
export const FRESH_RUN_BYTES: u32 = 20; // one deferred fresh run: first line u32, line count u32 (0: retired), first sequence number u32, stamp epoch of its store u32, first ring position u32
export const FRESH_RUNS_CAPACITY: u32 = 2048; // runs the table holds (a commit of a thousand blocks and data extents)

// --- lines, words, threads -------------------------------------------------------------

export const LINE_BYTES: u32 = 64; // one cacheline
export const LINE_SHIFT: u32 = 6; // log2(LINE_BYTES)
export const WORD_BYTES: u32 = 8; // the unit a torn store keeps or loses
export const WORDS_PER_LINE: u32 = LINE_BYTES / WORD_BYTES;
export const MAX_THREADS: u32 = 32; // thread slots: the bits of H_THREAD_SLOTS
export const CRC_SLICE_TABLE_BYTES: u32 = 16 * 256 * 4; // slicing-by-16 crc32c tables
export const CRC_ZEROS_TABLE: u32 = CRC_SLICE_TABLE_BYTES; // 32 u32: x^(8 * 2^k) mod P, k = 0..31 (crc32cZeros)
export const CRC_NIBBLE_TABLES: u32 = CRC_ZEROS_TABLE + 32 * 4; // 8 x 16 bytes: byte planes 0..3 of T0[v], then of T0[v << 4], v < 16 (crc32c-lanes.ts)
export const CRC_SHIFT_TABLE_BYTES: u32 = 4 * 256 * 4; // one shift table: 4 byte planes x 256 u32
export const CRC_SHIFT_TABLES: u32 = CRC_NIBBLE_TABLES + 8 * 16; // 3 shift tables: a register followed by 256, 64 and 16 zero bytes (crc32c-lanes.ts)
export const CRC_TABLE_BYTES: u32 = CRC_SHIFT_TABLES + 3 * CRC_SHIFT_TABLE_BYTES; // the crc32c tables region

// Line state bits (one byte per line, region lineState).
export const LINE_PENDING: u8 = 1; // has store-log entries not yet on media
export const LINE_POISON: u8 = 2; // media error: loads fail
export const LINE_DEFERRED: u8 = 4; // pending in a fresh run whose entries are not written yet (assembly/pmem/fresh-runs.ts)
// pmem_line_info returns (store-log entries << LINE_INFO_ENTRIES_SHIFT) | line state bits.
export const LINE_INFO_ENTRIES_SHIFT: u32 = 8;

// @ts object DOMAIN
export const DOMAIN_ADR: u32 = 0; // "adr": caches are volatile
export const DOMAIN_EADR: u32 = 1; // "eadr": caches are in the persistence domain

// --- store log, flush queue, crash patch ---------------------------------------------------

// One store-log entry: the bytes one store wrote into one line, in program order.
export const ENTRY_BYTES: u32 = 32; // bytes per entry (its data slot is in the log's data region)
export const ENTRY_SEQ: u32 = 0; // u32 global sequence number (wraps; compared by signed difference)
export const ENTRY_LINE: u32 = 4; // u32 line index
export const ENTRY_NEXT: u32 = 8; // u32 (index + 1) of the next entry of the same line, 0 = none
export const ENTRY_LIVE: u32 = 12; // u32 ENTRY_HOLDS_DATA or ENTRY_DATA_VISIBLE while not yet written to media, 0 after
export const ENTRY_HOLDS_DATA: u32 = 1; // ENTRY_LIVE: the entry's bytes are in its data slot
export const ENTRY_DATA_VISIBLE: u32 = 2; // ENTRY_LIVE: the entry is its line's newest and its bytes are the line's visible bytes (not copied)
export const ENTRY_MASK: u32 = 16; // u64 byte mask within the line
export const ENTRY_DATA_BYTES: u32 = 64; // an entry's data slot (same index, log data region): valid where the mask is set

// Per-thread area: the flush-queue length (u32), the content-digest state from TA_DIGEST,
// the thread's counters from TA_COUNTERS, the queue's entries from FLUSHQ_FIRST_ENTRY, then
// scratch.
export const TA_DIGEST: u32 = 16; // 48 bytes: a content digest's two i32x4 lanes, then a padded last block (csum/content-hash.ts)
export const TA_COUNTERS: u32 = 64; // u64 counters of this thread (see C_*), on cache lines of their own
// The thread's own store-log ring (storelog.ts), on a cache line of its own: positions count
// the ring's line parts (a slot is (position - base) mod logCapacity), sequence numbers order
// every thread's parts together.
export const TA_LOG: u32 = 192;
export const TL_HEAD: u32 = 0; // u32 next position
export const TL_TAIL: u32 = 4; // u32 oldest position that may still be live
export const TL_SLOT_BASE: u32 = 8; // u32 the position of slot 0: moved to the head whenever the ring is empty (a store after a fence reuses its first, cache-warm slots)
export const TL_VERSION: u32 = 12; // u32 bumped by every change this thread makes to the log (the log's version is the sum)
export const TL_PENDING: u32 = 16; // i32 lines this thread made pending minus lines it took out (the pending lines are the sum)
export const TL_LIVE: u32 = 20; // u32 the ring's slots with a live entry or a deferred line
export const TL_FRESH_START: u32 = 24; // u32 position of the fresh-run table's oldest row that may be live
export const TL_FRESH_END: u32 = 28; // u32 end position of the fresh-run table (rows live and retired lie in [start, end))
export const TL_FRESH_LIVE: u32 = 32; // u32 live rows of the fresh-run table
export const TL_ACTIVE: u32 = 36; // u32 1 while the thread is in a shared section (store-locks.ts)
export const TL_CLOCK: u32 = 40; // u32 the sequence number of the thread's next log part (seq-order.ts)
// Stripes: lines locked together by stores of several threads (store-locks.ts).
export const STRIPE_SHIFT: u32 = 6; // 64 lines (4 KiB, a page) per stripe
export const STRIPE_LOCKS: u32 = 256; // lock words; stripe s takes word s mod STRIPE_LOCKS
export const STRIPE_LOCK_BYTES: u32 = 64; // one word per cache line: two threads' pages share none
export const TA_MERGE: u32 = 256; // MAX_THREADS u32: a walk's position in each ring (crash.ts: the rings merged in sequence order)
export const FLUSHQ_FIRST_ENTRY: u32 = 384; // offset of the first queue entry in a thread area
export const FLUSHQ_ENTRY_BYTES: u32 = 12; // one flush: (first line u32, line count u32, newest store's sequence number u32)
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

// --- line tables (assembly/pmem/linecheck.ts) --------------------------------------------

// Table entry: [line u32][alternatives u32][alternativesAddr u32][flags u32][care u64], sorted by line.
export const LINE_RULE_BYTES: u32 = 24; // bytes per entry
export const LINE_RULE_LINE: u32 = 0; // u32 line index
export const LINE_RULE_ALTERNATIVES: u32 = 4; // u32 number of alternative lines
export const LINE_RULE_ALTERNATIVES_ADDR: u32 = 8; // u32 address of the alternative lines (LINE_BYTES each)
export const LINE_RULE_FLAGS: u32 = 12; // u32 flags, written by pmem_line_table_prepare
export const LINE_RULE_CARE: u32 = 16; // u64: bit b set = byte b of the line must equal that byte of an alternative; clear = any value
export const MEDIA_FAILS: u32 = 1; // flag: the line's media content is not allowed
export const LINE_RULE_MAX_ALTERNATIVES: u32 = 4096; // more alternatives in one entry: EINVAL

// --- regions, gauges, counters ----------------------------------------------------------

// pmem_region selectors.
// @ts object REGION
export const R_VISIBLE: u32 = 0; // "visible": address of the visible bytes
export const R_PREIMAGE: u32 = 1; // "preimage": address of the pre-image slots (media bytes of pending lines)
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

export const COUNTER_COUNT: u32 = C_LOG_ENTRIES + 1; // counters per thread (TA_COUNTERS + 8 * COUNTER_COUNT <= FLUSHQ_FIRST_ENTRY)

// --- DAX (assembly/dax) -------------------------------------------------------------------
// The DAX region (inside the device's kernel region): a header, one area per thread
// (store epoch, shootdown acknowledgement, fault report, software TLB) and the mapping
// table. Page-table arrays live elsewhere in the kernel region; their addresses are in
// the mapping table.

export const DAX_MAGIC: u32 = 0x31584144; // "DAX1"
export const PAGE_BYTES: u32 = 4096; // one DAX page
export const PAGE_SHIFT: u32 = 12; // log2(PAGE_BYTES)

// DAX header fields (bytes from the DAX base).
export const D_MAGIC: u32 = 0; // u32 DAX_MAGIC
export const D_MAX_MAPPINGS: u32 = 4; // u32 entries of the mapping table
export const D_SHOOTDOWN_GEN: u32 = 8; // u32 shootdown generation
export const D_MAPPINGS: u32 = 16; // address of the mapping table
export const D_THREADS: u32 = 20; // address of the per-thread areas
export const D_TLB_ENTRIES: u32 = 24; // power of two
export const D_POLICY: u32 = 28; // u32 DP_* switches the core's fault path honours (DaxPolicy)
export const D_FROZEN: u32 = 32; // u32 1 while the file system is frozen (write faults go to the owner)
export const D_RMAP_HEADS: u32 = 36; // u32 address: per device page, the address of the first PTE mapping it (0: none)
export const D_RMAP_NODES: u32 = 40; // u32 address: per PTE of the pool, RMAP_NODE_BYTES (the next PTE mapping the same page)
export const D_PTE_POOL: u32 = 44; // u32 address of the PTE pool (page tables are carved from it)
export const D_PTE_POOL_BYTES: u32 = 48; // u32 its bytes
export const D_DEVICE_PAGES: u32 = 52; // u32 device pages the reverse map and dirty index cover
export const D_DIRTY_INDEX: u32 = 56; // u32 address: per device page, (dirty-page record index + 1) or 0
export const D_DIRTY_RECORDS: u32 = 60; // u32 address: dirty-page records (DIRTY_RECORD_BYTES each)
export const D_DIRTY_CAPACITY: u32 = 64; // u32 records the table holds
export const D_DIRTY_COUNT: u32 = 68; // u32 records used in this transaction (dead ones included)
export const D_DIRTY_LIVE: u32 = 72; // u32 live records
export const D_FS_STATE: u32 = 76; // u32 address of the file system's state (assembly/fs/state.ts)
export const D_STATS: u32 = 80; // DS_COUNT u32 counters, DS_* (faults by kind)
export const D_HEADER_BYTES: u32 = 128; // the DAX header's size

// The switches (DaxPolicy) the core's fault path reads, as bits of D_POLICY.
export const DP_MULTI_MAPPING: u32 = 1; // the reverse map keeps every mapping of a block (else the last one)
export const DP_TLB_SHOOTDOWN: u32 = 2; // downgraded entries are shot down
export const DP_MAP_SYNC_FAULT: u32 = 4; // a MAP_SYNC write fault commits before the page is writable

// Fault counters at D_STATS (u32 each, by kind): the order of DaxManager.stats.
export const DS_READ_FAULTS: u32 = 0;
export const DS_WRITE_FAULTS: u32 = 4;
export const DS_HOLE_FILLS: u32 = 8;
export const DS_COW_FAULTS: u32 = 12;
export const DS_IN_PLACE_FAULTS: u32 = 16;
export const DS_SHOOTDOWNS: u32 = 20;
export const DS_WRITE_PROTECTS: u32 = 24;
export const DS_INVALIDATIONS: u32 = 28;
export const DS_CORE_FAULTS: u32 = 32; // faults the core served (the rest went to the owner's TypeScript)
export const DS_COUNT: u32 = 9;

// A reverse-map node, one per PTE of the pool (index = (PTE address - pool) / 4): the
// address of the next PTE mapping the same block (0: last). A PTE's mapping is the one
// whose page table holds it (the mapping table says where each is).
export const RMAP_NODE_BYTES: u32 = 4;
export const RN_NEXT: u32 = 0;

// A dirty-page record: a page stored to through mmap in this transaction (its checksum
// and write-back wait for the commit). Keyed by device page (D_DIRTY_INDEX).
export const DIRTY_RECORD_BYTES: u32 = 40;
export const DR_TREE: u32 = 0; // u64 subvolume tree id
export const DR_INO: u32 = 8; // u64 inode
export const DR_EXTENT: u32 = 16; // u64 device byte of the data extent holding the page (its checksum item)
export const DR_EXTENT_BYTES: u32 = 24; // u32 that extent's bytes
export const DR_FILE_PAGE: u32 = 28; // u32 file page (file offset / PAGE_BYTES)
export const DR_BLOCK: u32 = 32; // u32 device page
export const DR_FLAGS: u32 = 36; // u32 DRF_*
export const DRF_LIVE: u32 = 1; // the record counts (0: dropped in this transaction)
export const DRF_DATASUM: u32 = 2; // the file has checksums
export const DRF_DATACOW: u32 = 4; // the file is datacow
export const DRF_COWED: u32 = 8; // datacow, COWed in this transaction: later faults go in place
export const DIRTY_CAPACITY_MAX: u32 = 8192; // records at most (a full table sends faults to the owner, which commits)

export const ZERO_PAGE_BYTENR: u32 = 32768; // a device page in the system area that is always zero: holes map it read-only

// Results of the core's fault path (dax_fs_fault).
export const FR_DONE: i32 = 0; // resolved: the page table has the entry
export const FR_OWNER: i32 = 1; // not served here (an error to report, a fill, a MAP_SYNC commit, a freeze): the owning thread's TypeScript serves it

// Per-thread DAX area.
export const T_EPOCH: u32 = 0; // odd while inside a DAX access
export const T_ACK: u32 = 4; // last shootdown generation this thread applied
export const T_FAULT_PAGE: u32 = 8; // u32 page of the last fault
export const T_FAULT_REASON: u32 = 12; // u32 FAULT_* of the last fault
export const T_TLB: u32 = 16; // entries: tag u32, pte u32
export const TLB_ENTRY_BYTES: u32 = 8; // bytes per TLB entry
export const TLB_ENTRIES_MIN: u32 = 16; // dax_format's TLB size: a power of two in MIN..MAX
export const TLB_ENTRIES_MAX: u32 = 65536;

// Mapping table entry.
export const MAPPING_BYTES: u32 = 48; // bytes per entry
export const M_ACTIVE: u32 = 0; // u32 1 while the mapping exists (stored last)
export const M_PAGES: u32 = 4; // u32 pages of the mapping
export const M_PTES: u32 = 8; // u32 address of its page table (u32 per page)
export const M_FLAGS: u32 = 12; // u32 MF_*
export const M_ROOT_SLOT: u32 = 16; // u32 address of the file's subvolume slot in the root table (0: none)
export const M_FILE_PAGE: u32 = 20; // u32 file page of the mapping's first page
export const M_TREE: u32 = 24; // u64 the file's subvolume tree id
export const M_INO: u32 = 32; // u64 the file's inode
export const MF_WRITE: u32 = 1; // mapped read-write
export const MF_SYNC: u32 = 2; // MAP_SYNC

// Page-table entry: block number of the device page, and permission bits.
export const PTE_BLOCK_MASK: u32 = 0x07ffffff; // device page number
export const PTE_PRESENT: u32 = 0x40000000; // loads allowed
export const PTE_WRITE: u32 = 0x80000000; // stores allowed

// Fault reasons reported to JS: dax_fault_info() = (reason << FAULT_REASON_SHIFT) | page.
export const FAULT_NOT_PRESENT: u32 = 1; // no translation
export const FAULT_WRITE_PROTECT: u32 = 2; // a store through a read-only translation
export const FAULT_MEDIA_ERROR: u32 = 3; // a load hit a poisoned line
export const FAULT_REASON_SHIFT: u32 = 28; // reason bits of dax_fault_info
export const FAULT_PAGE_MASK: u32 = (1 << FAULT_REASON_SHIFT) - 1; // page bits of dax_fault_info

// Batch stores (dax_store_batch, assembly/dax/batch.ts): one call stores `count` records
// in order, each through the same translation, TLB and shootdown path as dax_store. Why:
// a writer thread paid one JS->WASM crossing, a typed-array fill and an await per store.
// The records lie in this thread's scratch, below its last BATCH_FILL_BYTES (the core's
// fill area), 8-byte aligned. A record is either a fill (its bytes are BR_TAG repeated,
// little-endian, from the record's first byte: a writer's tagged store; the core lays out
// one page of the pattern, SIMD, and stores every page of the record from it) or a copy
// from BR_SOURCE. The call returns the records completed; fewer than `count` means a fault in
// record [returned]: its BR_DONE says the bytes of it already stored, dax_fault_info the
// page and reason. The caller serves the fault and calls again from that record (BR_DONE
// as the core left it): no byte is stored twice. -EINVAL: a bad batch, nothing stored;
// dax_batch_error() = (BATCH_BAD_* << BATCH_BAD_SHIFT) | index of the record.
export const BATCH_RECORD_BYTES: u32 = 32; // bytes per record
export const BR_OFFSET: u32 = 0; // u32 offset in the mapping
export const BR_LENGTH: u32 = 4; // u32 bytes of the record (> 0)
export const BR_FLAGS: u32 = 8; // u32 BRF_*
export const BR_DONE: u32 = 12; // u32 bytes of the record already stored: 0 from the caller, set by the core where a fault stops it
export const BR_TAG: u32 = 16; // u64 with BRF_FILL: the value of every 8 bytes of the record
export const BR_SOURCE: u32 = 24; // u32 without BRF_FILL: address of the record's bytes
export const BRF_FILL: u32 = 1; // the bytes are BR_TAG repeated (else copied from BR_SOURCE)
export const BRF_PERSIST: u32 = 2; // after the record's last byte: clwb of its lines (through this thread's translations) and sfence
export const BATCH_FILL_BYTES: u32 = 4160; // the end of each thread's scratch: a page of a fill record's pattern (+ 8 for its phase, 64-byte rounded)
export const BATCH_BAD_SHIFT: u32 = 24; // reason bits of dax_batch_error (the record index below)
export const BATCH_BAD_DESCS: u32 = 1; // the records are not inside this thread's scratch below the fill area, or not 8-byte aligned
export const BATCH_BAD_MAPPING: u32 = 2; // no such active mapping
export const BATCH_BAD_LENGTH: u32 = 3; // zero length, or BR_DONE not below it
export const BATCH_BAD_RANGE: u32 = 4; // offset + length past the end of the mapping
export const BATCH_BAD_FLAGS: u32 = 5; // a flag the core does not know
export const BATCH_BAD_SOURCE: u32 = 6; // the source bytes are not all in memory

export const MAX_MAPPINGS: u32 = 1023; // the TLB tag keeps 10 bits of mapping id
export const MAX_MAPPING_PAGES: u32 = 1 << 22; // pages of one mapping (22 bits of the TLB tag)

// --- errno ------------------------------------------------------------------------------
// Linux errno numbers. Core functions return a negative errno on failure so that no
// bad argument ever becomes a WebAssembly trap; src/errors.ts maps them to FsError names.

export const EPERM: i32 = 1; // operation not permitted
export const ENOENT: i32 = 2; // no such file
export const EIO: i32 = 5; // I/O error (a poisoned line)
export const E2BIG: i32 = 7; // too big (the layout exceeds 4 GiB, too many stamp runs)
export const EAGAIN: i32 = 11; // try again
export const ENOMEM: i32 = 12; // out of memory
export const EFAULT: i32 = 14; // internal fault (a core assert)
export const EBUSY: i32 = 16; // busy (no thread slot, already formatted)
export const EINVAL: i32 = 22; // invalid argument
export const ENOSPC: i32 = 28; // no space left
export const EEXIST: i32 = 17; // the key exists
export const EFBIG: i32 = 27; // an item too large
export const EUCLEAN: i32 = 117; // structure needs cleaning (a tree block that fails its checks)
// Calls whose negative results are answers (btree_node_search, csum_sectors_verify) return
// -(errno + BAD_ARGUMENT_BIAS) on bad arguments.
export const BAD_ARGUMENT_BIAS: i32 = 1000000;
// core_layouts_check: the layout classes whose fields disagree with the offsets here.
// fs_write_dirty_blocks flags: the host hooks called before each tree block copy is stored.
export const WRITE_OUT_REPORT: u32 = 1; // fs_data_written (image fuzzing's observers)
export const WRITE_OUT_STORE_POINTS: u32 = 2; // fs_before_store (crash points at every store)
export const LAYOUT_ROOT_SLOT: i32 = 1; // RootSlot (assembly/fs/root-slot.ts) against RS_*
export const LAYOUT_DIRTY_RECORD: i32 = 2; // DirtyRecord (assembly/dax/dirty-record.ts) against DR_*
export const LAYOUT_LOG_ENTRY: i32 = 4; // LogEntry (assembly/pmem/log-entry.ts) against ENTRY_*

// --- file-system node format (assembly/fs/; docs/fs.md) -------------------------
// A node: header, then leaf items or internal key pointers, each starting with the key:
// objectid u64, type u8, offset u64 (little endian).

// btrfs's struct btrfs_header (101 bytes): csum[32], fsid[16], bytenr, flags,
// chunk_tree_uuid[16], generation, owner, nritems, level.
export const NODE_NRITEMS: u32 = 96; // u32 items in the node
export const NODE_LEVEL: u32 = 100; // u8 0 for a leaf
export const NODE_HEADER_BYTES: u32 = 101; // items start here; a leaf item's data offset counts from here
export const KEY_OBJECTID: u32 = 0; // u64 in a key
export const KEY_TYPE: u32 = 8; // u8 in a key
export const KEY_OFFSET: u32 = 9; // u64 in a key
export const KEY_BYTES: u32 = 17; // a key
export const LEAF_ITEM_BYTES: u32 = KEY_BYTES + 8; // key, data offset u32, data size u32
export const KEY_PTR_BYTES: u32 = KEY_BYTES + 16; // key, block pointer u64, generation u64
export const MIN_NODE_BYTES: u32 = 4096; // btree_node_search refuses smaller nodes

// Tree ids, item types and limits (btrfs's numbers; docs/fs.md).
export const SECTOR_BYTES: u32 = 4096; // the unit of data and of tree-block addresses
export const SECTOR_SHIFT: u32 = 12; // log2(SECTOR_BYTES)
export const SYSTEM_AREA_BYTES: u32 = 1048576; // device bytes never allocated: btrfs's first MiB (primary superblock at 64 KiB, the zero page)
export const MAX_LEVEL: u32 = 8; // highest B-tree level (BTRFS_MAX_LEVEL)
export const MAX_KEY_VALUE: u64 = 9007199254740991; // 2^53 - 1: key fields fit a JS number
export const MAX_FILE_BYTES: u64 = 1125899906842624; // 2^50: files end below it
export const MAX_EXTENT_BYTES: u32 = 1048576; // largest data extent one allocation makes
export const BTRFS_MAX_EXTENT_BYTES: u32 = 134217728; // largest data extent btrfs makes (an adopted image's may be this long)
export const NAME_MAX_BYTES: u32 = 255; // longest name
export const ROOT_TREE_ID: u32 = 1;
export const EXTENT_TREE_ID: u32 = 2;
export const FS_TREE_ID: u32 = 5;
export const CSUM_TREE_ID: u32 = 7;
export const XATTR_ITEM: u32 = 24; // (inode, 24, name hash): extended attributes, dir-item shaped entries of kind DIR_KIND_XATTR with the value after the name
export const INODE_EXTREF: u32 = 13; // an adopted image's extended inode refs (likewise refused)
export const INODE_EXTREF_HEADER_BYTES: u32 = 18; // parent u64, index u64, name length u16
export const BTRFS_FT_LAST: u32 = 8; // BTRFS_FT_XATTR: the highest directory entry kind btrfs writes (7 a symlink)
export const XATTR_NAME_MAX_BYTES: u32 = 255; // Linux's XATTR_NAME_MAX
export const XATTR_SIZE_MAX_BYTES: u32 = 65536; // Linux's XATTR_SIZE_MAX: a larger value is E2BIG
export const SYMLINK_TARGET_MAX_BYTES: u32 = 4095; // PATH_MAX - 1: a symlink's target is inline data, at most one sector
export const UUID_TREE_ID: u32 = 9; // btrfs's uuid tree: kept as an adopted image had it
export const UUID_KEY_SUBVOL: u32 = 251; // its items: a subvolume's uuid (keys are the uuid's halves, above 2^53)
export const UUID_KEY_RECEIVED_SUBVOL: u32 = 252;
export const FREE_SPACE_INFO: u32 = 198; // the free space tree's items (198 info, 199 extent, 200 bitmap)
export const FREE_SPACE_BITMAP: u32 = 200;
export const FREE_SPACE_TREE_ID: u32 = 10; // btrfs's free space tree: an adoption drops it
export const DATA_RELOC_TREE_ID: i32 = -9; // btrfs's data relocation tree ((u64)-9): kept as an adopted image had it
export const EXTENT_CSUM_OBJECTID: i32 = -10; // btrfs's BTRFS_EXTENT_CSUM_OBJECTID ((u64)-10): the objectid of every EXTENT_CSUM key
export const NEGATIVE_OBJECTIDS: u32 = 256; // objectids (u64)-256..(u64)-1: btrfs's special ones; TypeScript keys hold them as -256..-1
export const CHUNK_TREE_ID: u32 = 3; // btrfs's chunk tree: the device item and a CHUNK_ITEM per block group
export const DEV_TREE_ID: u32 = 4; // btrfs's device tree: a DEV_EXTENT per stripe of a block group
export const FIRST_SUBVOLUME_ID: u32 = 256;
export const INODE_ITEM: u32 = 1;
export const INODE_REF: u32 = 12;
export const ORPHAN_ITEM: u32 = 48;
export const DIR_ITEM: u32 = 84;
export const DIR_INDEX: u32 = 96;
export const EXTENT_DATA: u32 = 108;
export const EXTENT_CSUM: u32 = 128;
export const ROOT_ITEM: u32 = 132;
export const ROOT_BACKREF: u32 = 144;
export const ROOT_REF: u32 = 156;
export const EXTENT_ITEM: u32 = 168;
export const METADATA_ITEM: u32 = 169;
export const EXTENT_DATA_REF: u32 = 178; // a data extent's reference from (root, inode, offset): btrfs's implicit back reference
export const SHARED_DATA_REF: u32 = 184; // btrfs's full back reference (by leaf); pmcow does not write it
export const BLOCK_GROUP_ITEM: u32 = 192; // extent tree, (chunk start, 192, chunk length)
export const DEV_EXTENT: u32 = 204; // dev tree, (device id, 204, physical start)
export const DEV_ITEM: u32 = 216; // chunk tree, (DEV_ITEMS_OBJECTID, 216, device id)
export const CHUNK_ITEM: u32 = 228; // chunk tree, (FIRST_CHUNK_TREE_OBJECTID, 228, logical start)
export const DEV_ITEMS_OBJECTID: u32 = 1;
export const FIRST_CHUNK_TREE_OBJECTID: u32 = 256;
// struct btrfs_block_group_item
export const BLOCK_GROUP_ITEM_BYTES: u32 = 24;
export const BG_USED: u32 = 0; // u64 bytes of extents in the group
export const BG_CHUNK_OBJECTID: u32 = 8; // u64 FIRST_CHUNK_TREE_OBJECTID
export const BG_FLAGS: u32 = 16; // u64 CHUNK_* kind | BLOCK_GROUP_DUP
// struct btrfs_dev_extent
export const DEV_EXTENT_BYTES: u32 = 48;
export const DE_CHUNK_TREE: u32 = 0; // u64 CHUNK_TREE_ID
export const DE_CHUNK_OBJECTID: u32 = 8; // u64 FIRST_CHUNK_TREE_OBJECTID
export const DE_CHUNK_OFFSET: u32 = 16; // u64 the chunk's logical start
export const DE_LENGTH: u32 = 24; // u64 bytes of this stripe
export const DE_CHUNK_TREE_UUID: u32 = 32; // 16 bytes
// struct btrfs_chunk and its struct btrfs_stripe array
export const CHUNK_ITEM_BYTES: u32 = 48; // without its stripes
export const CK_LENGTH: u32 = 0; // u64 logical bytes
export const CK_OWNER: u32 = 8; // u64 EXTENT_TREE_ID
export const CK_STRIPE_LEN: u32 = 16; // u64 BTRFS_STRIPE_LEN (65536)
export const CK_TYPE: u32 = 24; // u64 CHUNK_* | BLOCK_GROUP_DUP
export const CK_IO_ALIGN: u32 = 32; // u32
export const CK_IO_WIDTH: u32 = 36; // u32
export const CK_SECTOR_SIZE: u32 = 40; // u32
export const CK_NUM_STRIPES: u32 = 44; // u16
export const CK_SUB_STRIPES: u32 = 46; // u16
export const CHUNK_STRIPE_BYTES: u32 = 32; // devid u64, offset u64, dev uuid 16 bytes
export const STRIPE_DEVID: u32 = 0;
export const STRIPE_OFFSET: u32 = 8;
export const STRIPE_DEV_UUID: u32 = 16;
export const BTRFS_STRIPE_LEN: u32 = 65536;
// struct btrfs_dev_item (also the superblock's copy)
export const DEV_ITEM_BYTES: u32 = 98;
export const DI_DEVID: u32 = 0;
export const DI_TOTAL_BYTES: u32 = 8;
export const DI_BYTES_USED: u32 = 16; // u64 bytes of the device's dev extents
export const DI_IO_ALIGN: u32 = 24;
export const DI_IO_WIDTH: u32 = 28;
export const DI_SECTOR_SIZE: u32 = 32;
export const DI_UUID: u32 = 66; // 16 bytes: the device's uuid
export const DI_FSID: u32 = 82; // 16 bytes

// Node header fields beyond those the search reads.
export const NODE_CSUM: u32 = 0; // u32 crc32c of bytes [NODE_CSUM_START, node bytes); bytes 4..31 zero (btrfs's 32-byte csum field)
export const NODE_CSUM_START: u32 = 32; // the checksum covers the block from here (BTRFS_CSUM_SIZE)
export const NODE_FSID: u32 = 32; // 16 bytes: the file system's uuid (the superblock's fsid)
export const NODE_BYTENR: u32 = 48; // u64 the block's own address
export const NODE_FLAGS: u32 = 56; // u64 flags (NODE_FLAG_WRITTEN), its top byte the back-reference revision
export const NODE_BACKREF_REV: u32 = 63; // u8 the flags' top byte: BACKREF_REV_MIXED
export const NODE_CHUNK_TREE_UUID: u32 = 64; // 16 bytes: the chunk tree's uuid
export const NODE_GENERATION: u32 = 80; // u64 transaction that wrote it
export const NODE_OWNER: u32 = 88; // u64 tree id
export const NODE_FLAG_WRITTEN: u64 = 1; // BTRFS_HEADER_FLAG_WRITTEN
export const BACKREF_REV_MIXED: u8 = 1; // BTRFS_MIXED_BACKREF_REV
export const UUID_BYTES: u32 = 16; // a uuid (fsid, chunk tree uuid, device uuid)
export const LEAF_DATA_OFFSET: u32 = KEY_BYTES; // u32 in a leaf item: data offset from the end of the header (NODE_HEADER_BYTES)
export const LEAF_DATA_SIZE: u32 = KEY_BYTES + 4; // u32 in a leaf item: data bytes
export const PTR_BLOCK: u32 = KEY_BYTES; // u64 in a key pointer: the child's address
export const PTR_GENERATION: u32 = KEY_BYTES + 8; // u64 in a key pointer: the child's generation

// Item bodies.
// btrfs's struct btrfs_inode_item (160 bytes).
export const INODE_ITEM_BYTES: u32 = 160; // generation, transid, size, nbytes, block group, nlink, uid, gid, mode, rdev, flags, sequence, reserved, 4 times
export const INODE_GENERATION: u32 = 0; // u64 transaction that created the inode
export const INODE_TRANSID: u32 = 8; // u64 transaction of the last change
export const INODE_SIZE: u32 = 16; // u64
export const INODE_NBYTES: u32 = 24; // u64
export const INODE_BLOCK_GROUP: u32 = 32; // u64 0
export const INODE_NLINK: u32 = 40; // u32
export const INODE_UID: u32 = 44; // u32 0
export const INODE_GID: u32 = 48; // u32 0
export const INODE_MODE: u32 = 52; // u32 POSIX mode: MODE_FILE, MODE_DIR
export const INODE_RDEV: u32 = 56; // u64 a device's number as Linux's new_encode_dev writes it (mknod's dev_t); 0 for every other kind
export const INODE_FLAGS: u32 = 64; // u64 INODE_FLAG_*
export const INODE_SEQUENCE: u32 = 72; // u64 0
export const INODE_ATIME: u32 = 112; // btrfs_timespec (u64 seconds, u32 nanoseconds); then ctime, mtime, otime
export const TIMESPEC_BYTES: u32 = 12;
export const S_IFMT: u32 = 61440; // 0o170000: the file type bits of a mode
export const S_IFREG: u32 = 32768; // 0o100000
export const S_IFDIR: u32 = 16384; // 0o040000
export const S_IFLNK: u32 = 40960; // 0o120000
export const S_IFCHR: u32 = 8192; // 0o020000: a character device (mknod)
export const S_IFBLK: u32 = 24576; // 0o060000: a block device
export const S_IFIFO: u32 = 4096; // 0o010000: a fifo
export const S_IFSOCK: u32 = 49152; // 0o140000: a socket
export const MODE_FILE: u32 = 33188; // 0o100644: a regular file, as pmcow creates it
export const MODE_DIR: u32 = 16877; // 0o040755: a directory
export const MODE_SYMLINK: u32 = 41471; // 0o120777: a symbolic link (its target the inline extent at offset 0)
export const INODE_FLAG_NODATASUM: u32 = 1; // BTRFS_INODE_NODATASUM
export const INODE_FLAG_NODATACOW: u32 = 2; // BTRFS_INODE_NODATACOW
export const INODE_FLAG_IMMUTABLE: u32 = 64; // BTRFS_INODE_IMMUTABLE (1 << 6)
// btrfs's struct btrfs_file_extent_item (53 bytes, not inline).
export const FILE_EXTENT_BYTES: u32 = 53; // generation, ram bytes, compression, encryption, other encoding, type, disk bytenr, disk bytes, offset, bytes
export const FE_GENERATION: u32 = 0; // u64
export const FE_RAM_BYTES: u32 = 8; // u64 the extent's bytes uncompressed (= disk bytes: no compression)
export const FE_COMPRESSION: u32 = 16; // u8 0
export const FE_ENCRYPTION: u32 = 17; // u8 0
export const FE_OTHER_ENCODING: u32 = 18; // u16 0
export const FE_TYPE: u32 = 20; // u8 EXTENT_TYPE_*
export const FE_DISK_BYTENR: u32 = 21; // u64
export const FE_DISK_BYTES: u32 = 29; // u64
export const FE_OFFSET: u32 = 37; // u64
export const FE_BYTES: u32 = 45; // u64
export const EXTENT_TYPE_INLINE: u32 = 0; // data in the item after its 21-byte header: a symlink's target (an adopted image's regular files' inline data is moved to extents)
export const FILE_EXTENT_INLINE_BYTES: u32 = 21; // an inline item's header: generation, ram bytes, compression, encryption, other encoding, type
export const EXTENT_TYPE_REG: u32 = 1;
export const EXTENT_TYPE_PREALLOC: u32 = 2;
export const EXTENT_ITEM_BYTES: u32 = 24; // EXTENT_ITEM / METADATA_ITEM (btrfs_extent_item): refs, generation, flags; back references are items of their own
export const EI_REFS: u32 = 0;
export const EI_GENERATION: u32 = 8;
export const EI_FLAGS: u32 = 16;
export const EXTENT_FLAG_DATA: u32 = 1;
export const EXTENT_FLAG_TREE_BLOCK: u32 = 2;
export const EXTENT_FLAG_FULL_BACKREF: u32 = 256; // a tree block its owner no longer reaches: its pointers' back references name it (SHARED_*_REF)
export const TREE_BLOCK_REF: u32 = 176; // (block, 176, root): a pointer from a block of tree root (or root's own root pointer); no body
export const SHARED_BLOCK_REF: u32 = 182; // (block, 182, parent): a pointer from FULL_BACKREF block parent; no body
export const SHARED_DATA_REF_BYTES: u32 = 4; // (extent, 184, parent): count u32 of parent's items pointing here
// Back-reference kinds in the delayed-ref tables: BACKREF_INO of a key that is not an
// EXTENT_DATA_REF (whose inode is always below these); BACKREF_ROOT holds the root or parent.
export const BACKREF_IS_TREE: u64 = 9007199254740991; // TREE_BLOCK_REF: BACKREF_ROOT the root
export const BACKREF_IS_SHARED_BLOCK: u64 = 9007199254740990; // SHARED_BLOCK_REF: BACKREF_ROOT the parent block
export const BACKREF_IS_SHARED_DATA: u64 = 9007199254740989; // SHARED_DATA_REF: BACKREF_ROOT the parent leaf
export const EXTENT_DATA_REF_BYTES: u32 = 28; // root u64, objectid (inode) u64, offset u64, count u32 (btrfs_extent_data_ref)
export const EDR_ROOT: u32 = 0; // u64 the tree that owns the leaves holding the items
export const EDR_OBJECTID: u32 = 8; // u64 the inode
export const EDR_OFFSET: u32 = 16; // u64 file offset of the extent's first byte: item key offset - item extent offset (mod 2^64)
export const EDR_COUNT: u32 = 24; // u32 items with that (root, inode, offset) pointing here
// Key offset of an EXTENT_DATA_REF: a hash of (root, inode, offset) below 2^53; colliding
// references take the next free key within this many keys of the hash.
export const EXTENT_DATA_REF_PROBES: u32 = 16;
// btrfs's struct btrfs_root_item (439 bytes): an inode item, then the root's fields.
export const ROOT_ITEM_BYTES: u32 = 439;
export const RI_GENERATION: u32 = 160; // u64 transaction that wrote this ROOT_ITEM
export const RI_ROOT_DIR: u32 = 168; // u64 root directory inode (256)
export const RI_BYTENR: u32 = 176; // u64 root block of the tree
export const RI_BYTES_USED: u32 = 192; // u64
export const RI_LAST_SNAPSHOT: u32 = 200; // u64 transaction of the subvolume's creation or last snapshot
export const RI_FLAGS: u32 = 208; // u64 ROOT_FLAG_READONLY
export const RI_REFS: u32 = 216; // u32 1 (0: a dead root being dropped)
export const RI_DROP_LEVEL: u32 = 237; // u8
export const RI_LEVEL: u32 = 238; // u8 level of the root block
export const RI_GENERATION_V2: u32 = 239; // u64 = generation: the fields after it are valid
export const RI_UUID: u32 = 247; // 16 bytes
export const RI_CTRANSID: u32 = 295; // u64
export const RI_OTRANSID: u32 = 303; // u64
export const ROOT_FLAG_READONLY: u32 = 1;
// btrfs's struct btrfs_dir_item (DIR_ITEM, DIR_INDEX): location key, transid, data length, name length, type, name.
export const DIR_ENTRY_HEADER_BYTES: u32 = 30;
export const DIR_ENTRY_TRANSID: u32 = KEY_BYTES; // u64 transaction that made the entry
export const DIR_ENTRY_DATA_LENGTH: u32 = KEY_BYTES + 8; // u16 the value's length after the name (xattrs; 0 in directory entries)
export const DIR_ENTRY_NAME_LENGTH: u32 = KEY_BYTES + 10; // u16
export const DIR_ENTRY_KIND: u32 = KEY_BYTES + 12; // u8 BTRFS_FT_*: DIR_KIND_FILE .. DIR_KIND_SYMLINK
export const DIR_KIND_FILE: u32 = 1; // BTRFS_FT_REG_FILE
export const DIR_KIND_DIR: u32 = 2; // BTRFS_FT_DIR (a subvolume's entry too: its location is the subvolume's ROOT_ITEM)
export const DIR_KIND_CHRDEV: u32 = 3; // BTRFS_FT_CHRDEV
export const DIR_KIND_BLKDEV: u32 = 4; // BTRFS_FT_BLKDEV
export const DIR_KIND_FIFO: u32 = 5; // BTRFS_FT_FIFO
export const DIR_KIND_SOCK: u32 = 6; // BTRFS_FT_SOCK
export const DIR_KIND_SYMLINK: u32 = 7; // BTRFS_FT_SYMLINK
export const DIR_KIND_XATTR: u32 = 8; // BTRFS_FT_XATTR: an XATTR_ITEM's entries (location zero, value after the name)
export const INODE_REF_HEADER_BYTES: u32 = 10; // index u64, name length u16, name
export const INODE_REF_NAME_LENGTH: u32 = 8; // u16
export const ROOT_REF_HEADER_BYTES: u32 = 18; // dir inode u64, index u64, name length u16, name
export const ROOT_REF_NAME_LENGTH: u32 = 16; // u16

// --- the file system's shared state (assembly/fs/state.ts; docs/engine.md) -----------------
// Lives in the device's kernel region, after the superblock staging and the staging
// buffer. Every thread's core instance finds it from the header below.

export const FS_MAGIC: u32 = 0x53465750; // "PWFS"
export const FS_HEADER_BYTES: u32 = 384; // the state header's size
export const F_MAGIC: u32 = 0; // u32 FS_MAGIC, written last at format
export const F_NODE_BYTES: u32 = 4; // u32 tree block size
export const F_COPIES: u32 = 8; // u32 copies of every tree block (1 single, 2 dup)
export const F_TOTAL_BYTES: u32 = 12; // u32 usable device bytes (a multiple of SECTOR_BYTES)
export const F_GENERATION: u32 = 16; // u64 last committed generation
export const F_POOL: u32 = 24; // u32 address of buffer 0 of the dirty-node pool
export const F_POOL_COUNT: u32 = 28; // u32 buffers in the pool
export const F_FREE_COUNT: u32 = 32; // u32 buffers on the free stack
export const F_FREE_STACK: u32 = 36; // u32 address: free buffer indices (u32 each)
export const F_SECTOR_BUFFER: u32 = 40; // u32 address: per sector, (dirty buffer index + 1) or 0
export const F_VERIFIED: u32 = 44; // u32 address: per sector one bit, a clean tree block verified
export const F_DIRTY_LIST: u32 = 48; // u32 address: sectors made dirty in this transaction (u32 each), in order
export const F_DIRTY_COUNT: u32 = 52; // u32 entries in the dirty list (dropped blocks included)
export const F_DIRTY_LIVE: u32 = 56; // u32 dirty blocks now
export const F_FREED_COUNT: u32 = 60; // u32 buffers of dropped blocks, back in the pool at commit
export const F_FREED_STACK: u32 = 64; // u32 address: their indices (u32 each)
export const F_FREE_BITS: u32 = 72; // u32 address: per sector one bit, free (allocatable) space
export const F_PINNED_BITS: u32 = 76; // u32 address: per sector one bit, freed in this transaction (free after the commit)
export const F_FREE_SECTORS: u32 = 80; // u32 sectors free
export const F_PINNED_SECTORS: u32 = 84; // u32 sectors pinned
export const F_DATA_CURSOR: u32 = 88; // u32 sector where the next data allocation starts looking
export const F_EXTENT_ROOT: u32 = 152; // u64 the extent tree's root block
export const F_EXTENT_LEVEL: u32 = 160; // u32 its level
export const F_CSUM_ROOT: u32 = 168; // u64 the csum tree's root block
export const F_CSUM_LEVEL: u32 = 176; // u32 its level
export const F_DROPPED_BITS: u32 = 180; // u32 address: per sector one bit, a block whose pointers were dropped early
export const F_DROPPED_COUNT: u32 = 184; // u32 blocks with that bit set
export const F_ROOTS: u32 = 188; // u32 address: the root table, ROOT_SLOTS entries of ROOT_SLOT_BYTES
export const F_LOCK: u32 = 192; // u32 the fs lock: holder's thread slot + 1, 0 = free (fs-lock.ts)
export const F_LOCK_DEPTH: u32 = 196; // u32 how many times the holder took it (it nests)
export const F_ABORTED: u32 = 200; // u32 P_* of the problem that aborted the transaction (ABORTED_BY_HOST: TypeScript's reason), 0 = none
export const F_STAGING: u32 = 204; // u32 address of the staging buffer (item bodies built under the fs lock)
export const F_STAGING_BYTES: u32 = 208; // u32 its bytes
export const F_LOSING_BITS: u32 = 212; // u32 address: per sector one bit, a data extent (first sector) an item stopped mapping in this transaction
export const F_FILLED_BITS: u32 = 216; // u32 address: per sector one bit, a data extent (first sector) with bytes filled in place in this transaction
export const F_READERS_LOG: u32 = 220; // u32 address: READERS_LOG_ENTRIES (extent u64, from u32, to u32): bytes items the core dropped read
export const F_READERS_COUNT: u32 = 224; // u32 entries in it
export const F_REF_TABLES_CLEAN: u32 = 240; // u32 REF_TABLES_CLEAN while the delayed-ref hash tables are all zero (no slot taken since the last batch emptied them)
export const REF_TABLES_CLEAN: u32 = 0x434c4e52; // 'RNLC'
export const F_FSID: u32 = 256; // 16 bytes: the file system's uuid, written into every tree block's header (the host sets it at mount)
export const F_CHUNK_TREE_UUID: u32 = 272; // 16 bytes: the chunk tree's uuid, likewise
// Block groups (assembly/fs/chunks.ts): the chunk table, CHUNK_ENTRY_BYTES per chunk in
// order of logical start: pmcow's grid cells of F_CHUNK_BYTES after SYSTEM_AREA_BYTES, and
// chunks an image placed elsewhere (mkfs.btrfs's), each with its stripes.
export const F_CHUNK_BYTES: u32 = 288; // u32 bytes of a grid cell: a chunk pmcow makes (a power of two)
export const F_CHUNK_COUNT: u32 = 292; // u32 chunks in the table (at most CHUNKS_MAX)
export const F_CHUNKS: u32 = 296; // u32 address: the chunk table
export const F_FREE_BY_KIND: u32 = 300; // 4 x u32 free sectors in chunks of each kind: free (untyped), data, metadata, system
export const F_CHUNKS_MAPPED: u32 = 316; // u32 1 when some chunk's first stripe is not at its logical start (a tree block's bytes are looked up)
export const F_ADOPTING: u32 = 320; // u32 1 while a mount adopts an image pmcow did not write: the tree checker takes btrfs's inline forms (src/fs/adopt.ts)
export const CHUNKS_MAX: u32 = 64;
export const CHUNK_ENTRY_BYTES: u32 = 32;
export const CE_KIND: u32 = 0; // u8 CHUNK_* the chunk holds now
export const CE_ITEMS: u32 = 1; // u8 CHUNK_* its chunk, dev extent and block group items say (0: none yet); TypeScript keeps it
export const CE_GRID: u32 = 2; // u8 1: a cell of pmcow's grid (typed on use, given back when empty); 0: placed by the image's items, kept
export const CE_COPIES: u32 = 3; // u8 stripes: 1, or 2 (DUP); 0 for an untyped cell
export const CE_USED: u32 = 4; // u32 sectors its block group item says are used; TypeScript keeps it
export const CE_START: u32 = 8; // u32 first logical sector (the block group's start)
export const CE_SECTORS: u32 = 12; // u32 logical sectors (the block group's length; an untyped cell's whole size)
export const CE_STRIPE0: u32 = 16; // u32 device sector of the first stripe
export const CE_STRIPE1: u32 = 20; // u32 device sector of the second stripe (DUP), else 0
export const CE_EXCLUDED: u32 = 24; // u32 sectors of the block group over a superblock copy: never free space, not used bytes
export const CHUNK_FREE: u32 = 0; // no block group: all of it free
export const CHUNK_DATA: u32 = 1; // BTRFS_BLOCK_GROUP_DATA
export const CHUNK_SYSTEM: u32 = 2; // BTRFS_BLOCK_GROUP_SYSTEM: the chunk tree's blocks
export const CHUNK_METADATA: u32 = 4; // BTRFS_BLOCK_GROUP_METADATA: every other tree's blocks
export const CHUNK_RESERVED: u32 = 255; // never a block group (it holds a superblock mirror's stripe)
export const BLOCK_GROUP_DUP: u32 = 32; // BTRFS_BLOCK_GROUP_DUP: two stripes, the chunk's halves
export const MIRROR_SUPERBLOCK_BYTENR: u32 = 67108864; // btrfs's first superblock mirror (64 MiB)
export const SUPERBLOCK_STRIPE: u32 = 65536; // bytes kept out of block groups around a superblock mirror
export const F_REF_LIST: u32 = 228; // u32 address: the ref-table slots in use, in the order they were taken (u32 each)
export const F_BACKREF_LIST: u32 = 232; // u32 address: the backref-table slots in use, likewise
export const F_DATA_VERIFIED: u32 = 236; // u32 address: per sector, the device's stamp epoch at which its data passed its checksum (0: never); good while no line of it is stamped since (inode.ts)
export const READERS_LOG_ENTRIES: u32 = 256;
export const READERS_ENTRY_BYTES: u32 = 16;
export const ABORTED_BY_HOST: u32 = 1;
export const EXTENT_MARK_LOSING: u32 = 0; // fs_extent_mark: the losing bits
export const EXTENT_MARK_FILLED: u32 = 1; // fs_extent_mark: the filled bits
export const ABORTED_DELAYED_REFS: u32 = 2; // running delayed refs failed inside a core operation
// The root table: where every thread finds a subvolume tree's root (the extent and csum
// trees' are F_EXTENT_ROOT and F_CSUM_ROOT). TypeScript assigns the slots (Kernel.newTree).
export const ROOT_SLOTS: u32 = 1024; // subvolume trees one mount can hold
export const ROOT_SLOT_BYTES: u32 = 32; // root u64, level u32, flags u32, tree id u64 (0: a free slot), last snapshot u64
export const RS_ROOT: u32 = 0; // u64 the tree's root block
export const RS_LEVEL: u32 = 8; // u32 the root's level (as F_EXTENT_LEVEL is 8 after F_EXTENT_ROOT)
export const RS_FLAGS: u32 = 12; // u32 RSF_*
export const RS_TREE: u32 = 16; // u64 the tree id, 0 for a free slot
export const RS_LAST_SNAPSHOT: u32 = 24; // u64 generation of the subvolume's last snapshot (nodatacow overwrites)
export const RSF_MOVED: u32 = 1; // the core moved the root in this transaction (its ROOT_ITEM is stale)
export const F_FRESH_BITS: u32 = 92; // u32 address: per sector one bit, allocated in this transaction
export const F_TREE_CHANGES: u32 = 96; // u32 bumped by every tree change and commit (readers' caches)
export const F_THREAD_AREAS: u32 = 100; // u32 address: one THREAD_AREA_BYTES area per thread slot
export const F_REFS: u32 = 104; // u32 address: the delayed-ref table (REF_BYTES slots)
export const F_REF_SLOTS: u32 = 108; // u32 slots of the table (a power of two)
export const F_REF_COUNT: u32 = 112; // u32 targets in it
export const F_BACKREFS: u32 = 116; // u32 address: the data back-reference table (BACKREF_BYTES slots)
export const F_BACKREF_SLOTS: u32 = 120; // u32 its slots (a power of two)
export const F_BACKREF_COUNT: u32 = 124; // u32 (target, root, inode, offset) keys in it
export const F_BATCH: u32 = 128; // u32 address: the batch of refs taken for running, sorted by target
export const F_BATCH_COUNT: u32 = 132; // u32 refs in the batch
export const F_BATCH_BACKREFS: u32 = 136; // u32 address: the batch's back references, grouped by ref

// Delayed refs (assembly/fs/delayed-ref.ts): per target block, the change of its reference
// count in this transaction; per (data extent, root, inode, offset), the change of its
// EXTENT_DATA_REF. Copying a leaf of its own tree changes no such key: its refs net to zero.
export const REF_BYTES: u32 = 32; // a ref-table slot and a batch entry
export const REF_TARGET: u32 = 0; // u32 target sector + 1 (0: empty slot)
export const REF_DELTA: u32 = 4; // i32 change of the reference count
export const REF_FLAGS: u32 = 8; // u32 REF_DATA, REF_SET_FULL; tree blocks: the level in bits 8-15
export const REF_BYTES_FIELD: u32 = 12; // u32 extent bytes (data)
export const REF_OWNER: u32 = 16; // u64 tree that made the first change
export const REF_BACKREF_COUNT: u32 = 24; // u32 back references (batch: in the batch's backref array)
export const REF_BACKREF_FIRST: u32 = 28; // u32 batch: index of the first of them
export const REF_DATA: u32 = 1; // the target is a data extent
export const REF_SET_FULL: u32 = 2; // the tree block became FULL_BACKREF (its pointers' back references now name it)
export const REF_LEVEL_SHIFT: u32 = 8;
export const BACKREF_BYTES: u32 = 32; // a backref-table slot and a batch backref
export const BACKREF_TARGET: u32 = 0; // u32 target sector + 1 (0: empty slot)
export const BACKREF_DELTA: u32 = 4; // i32 change of the reference's count
export const BACKREF_ROOT: u32 = 8; // u64 root (the owner of the leaf holding the items)
export const BACKREF_INO: u32 = 16; // u64 inode
export const BACKREF_OFFSET: u32 = 24; // u64 file offset of the extent's first byte (mod 2^64)

// A thread's area: the path of its B-tree operation, its keys, results and problems.
export const THREAD_AREA_BYTES: u32 = 5248; // 1152 of records, then TA_INLINE_BODY
export const TA_PATH: u32 = 0; // (MAX_LEVEL + 1) levels of PATH_BYTES
export const PATH_BYTES: u32 = 16; // bytenr u64, slot u32
export const TA_KEY: u32 = 160; // the key of the operation (KEY_BYTES)
export const TA_ZERO_KEY: u32 = 192; // an all-zero key
export const TA_SEEK_KEY: u32 = 224; // a key a seek moves along
export const TA_RESULT: u32 = 256; // the operation's results, CR_*
export const CR_ROOT: u32 = 0; // u64 the tree's root after the operation
export const CR_LEVEL: u32 = 8; // u32 its level
export const CR_LEAF: u32 = 12; // u32 address of the leaf found
export const CR_SLOT: u32 = 16; // u32 slot in it
export const CR_DATA: u32 = 20; // u32 address of the item's data
export const CR_SIZE: u32 = 24; // u32 its size
export const TA_READS: u32 = 1016; // u32 file reads this thread served through the core (fs_read_done)
export const TA_INLINE_BODY: u32 = 1152; // INLINE_BODY_BYTES: a METADATA_ITEM's body with its inline TREE_BLOCK_REFs, built by the run of a ref
export const INLINE_BODY_BYTES: u32 = 4096;
export const INLINE_REF_BYTES: u32 = 9; // btrfs_extent_inline_ref: type u8, offset u64 (the root)
export const INLINE_TREE_REFS: u32 = 32; // TREE_BLOCK_REFs a METADATA_ITEM holds inline; more are items of their own
export const TA_ITEM_BODIES: u32 = 1024; // 128 bytes: the extent tree's item bodies (an EXTENT_ITEM at +0, an EXTENT_DATA_REF at +32) and a hash's scratch (+96)
export const TA_DROPS: u32 = 432; // u32 count, u64 tree at +8, then from +16 u64 blocks an operation may drop at its end
export const TA_DROPS_MAX: u32 = 70; // blocks TA_DROPS holds (up to TA_READS)
export const TA_PROBLEMS: u32 = 320; // two problem records (copy 1, copy 2), PROBLEM_BYTES each
export const PROBLEM_BYTES: u32 = 56; // code u32, slot u32, copy u32, a u64, b u64, c u64, bytenr u64, tree u64
export const PR_CODE: u32 = 0; // u32 P_*
export const PR_SLOT: u32 = 4; // u32 node slot the problem is at
export const PR_COPY: u32 = 8; // u32 which copy of the block
export const PR_A: u32 = 16; // u64 values the message quotes (key problems: addresses of the keys)
export const PR_B: u32 = 24;
export const PR_C: u32 = 32;
export const PR_BYTENR: u32 = 40; // u64 the block
export const PR_TREE: u32 = 48; // u64 the tree

// Problem codes of the tree checker and the block reader (src/fs/tree-checker.ts words them).
export const P_NONE: u32 = 0;
export const P_MEDIA_ERROR: u32 = 1; // a copy has a poisoned line
export const P_CHECKSUM: u32 = 2; // a copy does not match its checksum
export const P_BYTENR: u32 = 3; // header names another block (a: the bytenr it names)
export const P_POINTER: u32 = 4; // pointer outside the device
export const P_LEVEL: u32 = 10; // a: level
export const P_GENERATION: u32 = 11; // a: generation, b: last committed
export const P_OWNER: u32 = 12; // a: owner
export const P_NRITEMS: u32 = 13; // a: nritems, b: capacity
export const P_EMPTY_INTERNAL: u32 = 14;
export const P_KEY_RANGE: u32 = 15; // key above 2^53
export const P_KEY_ORDER: u32 = 16; // key not above the previous one
export const P_CHILD_POINTER: u32 = 17; // a: child
export const P_CHILD_GENERATION: u32 = 18; // a: child generation, b: node generation
export const P_DATA_END: u32 = 19; // a: data offset, b: size, c: expected end
export const P_DATA_OVERLAP: u32 = 20; // a: data offset
export const P_ITEM_SIZE: u32 = 30; // a: size, b: expected
export const P_INODE_MODE: u32 = 31; // a: mode
export const P_INODE_SIZE: u32 = 32; // a: size
export const P_INODE_FLAGS: u32 = 33; // a: flags
export const P_NO_NAMES: u32 = 34;
export const P_NAME_TRUNCATED: u32 = 35; // a: record offset
export const P_NAME_LENGTH: u32 = 36; // a: length
export const P_NAME_PAST: u32 = 37;
export const P_DIR_KIND: u32 = 38; // a: kind
export const P_EXTENT_TYPE: u32 = 39; // a: type
export const P_FILE_OFFSET: u32 = 40; // a: offset
export const P_EXTENT_OUTSIDE: u32 = 41; // a: disk bytenr, b: disk bytes
export const P_EXTENT_MAPS: u32 = 42; // a: offset, b: bytes, c: disk bytes
export const P_MAPS_BEYOND: u32 = 43;
export const P_CSUM_BYTES: u32 = 44; // a: size
export const P_BAD_KEY: u32 = 45;
export const P_ROOT_LEVEL: u32 = 46; // a: level
export const P_ROOT_OUTSIDE: u32 = 47; // a: bytenr
export const P_TREE_ID: u32 = 48; // a: id
export const P_REF_BYTES: u32 = 49; // a: size
export const P_EXTENT_KEY: u32 = 50; // a: objectid, b: offset
export const P_LEAF_ALIGN: u32 = 51; // a: leaf
export const P_UNKNOWN_TYPE: u32 = 52; // a: type
export const P_DIR_DATA: u32 = 54; // a directory entry carries data after its name (a: its length; only xattrs do)
export const P_FSID: u32 = 53; // the header's fsid is not the file system's (a, b: its two halves)
// Problems of the B-tree operations (assembly/fs/ctree.ts); bytenr: the parent, c: the child.
export const P_CHILD_LEVEL: u32 = 60; // a: child level, b: parent level
export const P_CHILD_STALE: u32 = 61; // a: child generation, b: the pointer's
export const P_CHILD_EMPTY: u32 = 62;
export const P_CHILD_LOW: u32 = 63; // a: address of the child's first key, b: of the parent's
export const P_CHILD_HIGH: u32 = 64; // a: address of the child's last key, b: of the bound
export const P_NODE_LEVEL: u32 = 65; // bytenr: the node, a: its level, b: the level expected
export const P_NOT_COPY: u32 = 66; // bytenr: a clean block on a copy-on-write path
export const P_ITEM_TOO_LARGE: u32 = 67; // a: data bytes (EFBIG)
export const P_ITEM_NO_FIT: u32 = 68; // a: bytes needed (EFBIG: no split point)
export const P_KEY_EXISTS: u32 = 69; // EEXIST, the key at TA_KEY
export const P_KEY_MISSING: u32 = 70; // ENOENT, the key at TA_KEY
export const P_NO_METADATA_SPACE: u32 = 71; // ENOSPC
export const P_POOL_EMPTY: u32 = 72; // ENOSPC: no dirty-node buffer
export const P_BLOCK_IN_USE: u32 = 73; // EUCLEAN: free space hands out a block read in this mount
export const P_REFS_FULL: u32 = 74; // ENOSPC: the delayed-ref table is full (a: refs, b: backrefs)
export const P_REF_KIND: u32 = 75; // EIO: bytenr referenced both as data and as a tree block
export const P_REFS_NEGATIVE: u32 = 76; // EIO: extent bytenr's count would drop below zero (a: count, b: change)
export const P_BACKREF_NEGATIVE: u32 = 77; // EIO: extent bytenr's backref from root a, inode b, offset c would drop below zero
export const P_DROPPED_KEPT: u32 = 78; // EIO: a blocks dropped their pointers but kept a reference
export const P_REFS_LOOP: u32 = 79; // EIO: delayed refs do not converge
// Problems of file reads (assembly/fs/inode.ts), all EIO; bytenr: the device byte or extent.
export const P_DATA_MEDIA: u32 = 80; // a poisoned line in the data sectors being verified at bytenr
export const P_DATA_POISON: u32 = 81; // a poisoned line in [bytenr, bytenr + a) (a load without checksums)
export const P_DATA_CSUM: u32 = 82; // the sector at bytenr does not match its checksum
export const P_CSUMS_MISSING: u32 = 83; // data extent bytenr has no (or a short) EXTENT_CSUM item
export const P_INLINE_FILE: u32 = 85; // EUCLEAN: a regular file's inline extent item (pmcow keeps inline data only for symlinks); slot: -, a: inode
export const P_EXTENT_DAMAGED: u32 = 84; // EUCLEAN: extent bytenr's items contradict its refs (slot 0: its METADATA_ITEM is at another level than a (the pointer's); slot 1: freed twice, a bytes)
// Flags of file_read.
export const READ_VERIFY: u32 = 1; // verify data checksums (a datasum file)
export const READ_INODE_BOUNDS: u32 = 2; // file_read looks the inode up itself: reads up to its size, verifies unless NODATASUM, returns the bytes read
export const READ_NO_INODE: i32 = -2; // file_read with READ_INODE_BOUNDS: no sound inode item (the caller's own lookup words the problem)
// fs_node_addr asks its caller to rewrite the first copy from the good second (dup).
export const NEEDS_HEAL: i32 = 1000001;
// The container of a tree's root pointer in fs_ref_change (a root has no parent block).
export const ROOT_POINTER: i32 = -1;
// Modes of ctree_seek.
export const SEEK_AT_OR_AFTER: u32 = 0; // the first item with key >= the key
export const SEEK_AFTER: u32 = 1; // the first item with key > the key
export const SEEK_AT_OR_BEFORE: u32 = 2; // the last item with key <= the key
