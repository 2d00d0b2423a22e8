// The DAX region (inside the device's kernel region): a header, one area per thread
// (store epoch, shootdown acknowledgement, fault report, software TLB) and the mapping
// table. Page-table arrays live elsewhere in the kernel region; their addresses are in
// the mapping table. The file system (JS, main thread) writes tables; every thread's
// core instance reads them on each store.
export const DAX_MAGIC: u32 = 0x31584144; // "DAX1"
export const PAGE_BYTES: u32 = 4096;
export const PAGE_SHIFT: u32 = 12;

export const D_MAGIC: u32 = 0;
export const D_MAX_MAPPINGS: u32 = 4;
export const D_SHOOTDOWN_GEN: u32 = 8;
export const D_MAPPINGS: u32 = 16; // address of the mapping table
export const D_THREADS: u32 = 20; // address of the per-thread areas
export const D_TLB_ENTRIES: u32 = 24; // power of two
export const D_HEADER_BYTES: u32 = 64;

// Per-thread area.
export const T_EPOCH: u32 = 0; // odd while inside a DAX access
export const T_ACK: u32 = 4; // last shootdown generation this thread applied
export const T_FAULT_PAGE: u32 = 8;
export const T_FAULT_REASON: u32 = 12;
export const T_TLB: u32 = 16; // entries: tag u32, pte u32
export const TLB_ENTRY_BYTES: u32 = 8;

// Mapping table entry.
export const MAPPING_BYTES: u32 = 32;
export const M_ACTIVE: u32 = 0;
export const M_PAGES: u32 = 4;
export const M_PTES: u32 = 8;

// Page-table entry: block number of the device page, and permission bits.
export const PTE_BLOCK_MASK: u32 = 0x07ffffff;
export const PTE_PRESENT: u32 = 0x40000000;
export const PTE_WRITE: u32 = 0x80000000;

// Fault reasons reported to JS.
export const FAULT_NOT_PRESENT: u32 = 1;
export const FAULT_WRITE_PROTECT: u32 = 2;
export const FAULT_MEDIA_ERROR: u32 = 3;

export const MAX_MAPPINGS: u32 = 1023; // the TLB tag keeps 10 bits of mapping id
export const MAX_MAPPING_PAGES: u32 = 1 << 22;

export function threadAreaBytes(tlbEntries: u32): u32 {
  return T_TLB + tlbEntries * TLB_ENTRY_BYTES;
}
