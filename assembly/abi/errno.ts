// The core's ABI: errno numbers (assembly/abi.ts: the rules for these files; docs/abi.md).
// scripts/gen-abi.mjs writes src/core/abi/errno.ts from it.

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
// DirtyRecord (assembly/dax/dirty-record.ts) against DR_*
export const LAYOUT_DIRTY_RECORD: i32 = 2;
export const LAYOUT_LOG_ENTRY: i32 = 4; // LogEntry (assembly/pmem/log-entry.ts) against ENTRY_*
