// The core's ABI: the DAX region (assembly/abi.ts: the rules for these files; docs/abi.md).
// scripts/gen-abi.mjs writes src/core/abi/dax.ts from it.

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
// u32 1 while the file system is frozen (write faults go to the owner)
export const D_FROZEN: u32 = 32;
// u32 address: per device page, the address of the first PTE mapping it (0: none)
export const D_RMAP_HEADS: u32 = 36;
// u32 address: per PTE of the pool, RMAP_NODE_BYTES (the next PTE mapping the same page)
export const D_RMAP_NODES: u32 = 40;
export const D_PTE_POOL: u32 = 44; // u32 address of the PTE pool (page tables are carved from it)
export const D_PTE_POOL_BYTES: u32 = 48; // u32 its bytes
export const D_DEVICE_PAGES: u32 = 52; // u32 device pages the reverse map and dirty index cover
// u32 address: per device page, (dirty-page record index + 1) or 0
export const D_DIRTY_INDEX: u32 = 56;
export const D_DIRTY_RECORDS: u32 = 60; // u32 address: dirty-page records (DIRTY_RECORD_BYTES each)
export const D_DIRTY_CAPACITY: u32 = 64; // u32 records the table holds
export const D_DIRTY_COUNT: u32 = 68; // u32 records used in this transaction (dead ones included)
export const D_DIRTY_LIVE: u32 = 72; // u32 live records
export const D_FS_STATE: u32 = 76; // u32 address of the file system's state (assembly/fs/state.ts)
export const D_STATS: u32 = 80; // DS_COUNT u32 counters, DS_* (faults by kind)
export const D_HEADER_BYTES: u32 = 128; // the DAX header's size

// The switches (DaxPolicy) the core's fault path reads, as bits of D_POLICY.
// the reverse map keeps every mapping of a block (else the last one)
export const DP_MULTI_MAPPING: u32 = 1;
export const DP_TLB_SHOOTDOWN: u32 = 2; // downgraded entries are shot down
// a MAP_SYNC write fault commits before the page is writable
export const DP_MAP_SYNC_FAULT: u32 = 4;

// Fault counters at D_STATS (u32 each, by kind): the order of DaxManager.stats.
export const DS_READ_FAULTS: u32 = 0;
export const DS_WRITE_FAULTS: u32 = 4;
export const DS_HOLE_FILLS: u32 = 8;
export const DS_COW_FAULTS: u32 = 12;
export const DS_IN_PLACE_FAULTS: u32 = 16;
export const DS_SHOOTDOWNS: u32 = 20;
export const DS_WRITE_PROTECTS: u32 = 24;
export const DS_INVALIDATIONS: u32 = 28;
// faults the core served (the rest went to the owner's TypeScript)
export const DS_CORE_FAULTS: u32 = 32;
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
// u64 device byte of the data extent holding the page (its checksum item)
export const DR_EXTENT: u32 = 16;
export const DR_EXTENT_BYTES: u32 = 24; // u32 that extent's bytes
export const DR_FILE_PAGE: u32 = 28; // u32 file page (file offset / PAGE_BYTES)
export const DR_BLOCK: u32 = 32; // u32 device page
export const DR_FLAGS: u32 = 36; // u32 DRF_*
export const DRF_LIVE: u32 = 1; // the record counts (0: dropped in this transaction)
export const DRF_DATASUM: u32 = 2; // the file has checksums
export const DRF_DATACOW: u32 = 4; // the file is datacow
export const DRF_COWED: u32 = 8; // datacow, COWed in this transaction: later faults go in place
// records at most (a full table sends faults to the owner, which commits)
export const DIRTY_CAPACITY_MAX: u32 = 8192;

// a device page in the system area that is always zero: holes map it read-only
export const ZERO_PAGE_BYTENR: u32 = 32768;

// Results of the core's fault path (dax_fs_fault).
export const FR_DONE: i32 = 0; // resolved: the page table has the entry
// not served here (an error to report, a fill, a MAP_SYNC commit, a freeze): the owning thread's
// TypeScript serves it
export const FR_OWNER: i32 = 1;

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
// u32 address of the file's subvolume slot in the root table (0: none)
export const M_ROOT_SLOT: u32 = 16;
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
// u32 bytes of the record already stored: 0 from the caller, set by the core where a fault stops it
export const BR_DONE: u32 = 12;
export const BR_TAG: u32 = 16; // u64 with BRF_FILL: the value of every 8 bytes of the record
export const BR_SOURCE: u32 = 24; // u32 without BRF_FILL: address of the record's bytes
export const BRF_FILL: u32 = 1; // the bytes are BR_TAG repeated (else copied from BR_SOURCE)
// after the record's last byte: clwb of its lines (through this thread's translations) and sfence
export const BRF_PERSIST: u32 = 2;
// the end of each thread's scratch: a page of a fill record's pattern (+ 8 for its phase, 64-byte
// rounded)
export const BATCH_FILL_BYTES: u32 = 4160;
export const BATCH_BAD_SHIFT: u32 = 24; // reason bits of dax_batch_error (the record index below)
// the records are not inside this thread's scratch below the fill area, or not 8-byte aligned
export const BATCH_BAD_DESCS: u32 = 1;
export const BATCH_BAD_MAPPING: u32 = 2; // no such active mapping
export const BATCH_BAD_LENGTH: u32 = 3; // zero length, or BR_DONE not below it
export const BATCH_BAD_RANGE: u32 = 4; // offset + length past the end of the mapping
export const BATCH_BAD_FLAGS: u32 = 5; // a flag the core does not know
export const BATCH_BAD_SOURCE: u32 = 6; // the source bytes are not all in memory

export const MAX_MAPPINGS: u32 = 1023; // the TLB tag keeps 10 bits of mapping id
export const MAX_MAPPING_PAGES: u32 = 1 << 22; // pages of one mapping (22 bits of the TLB tag)
