// The DAX region (inside the device's kernel region): a header, one area per thread
// (store epoch, shootdown acknowledgement, fault report, software TLB) and the mapping
// table. Page-table arrays live elsewhere in the kernel region; their addresses are in
// the mapping table. The file system (JS, main thread) writes tables; every thread's
// core instance reads them on each store. Offsets, sizes and codes: assembly/abi.ts.
import { T_TLB, TLB_ENTRY_BYTES } from "../abi";

export function threadAreaBytes(tlbEntries: u32): u32 {
  return T_TLB + tlbEntries * TLB_ENTRY_BYTES;
}
