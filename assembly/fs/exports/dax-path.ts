// The fs exports of what the DAX fault path shares with TypeScript (file-item.ts,
// dax/fault.ts), and the core's pwrite (file.ts) and write-out (transaction.ts).
import {
  EINVAL, SECTOR_BYTES, SECTOR_SHIFT, BAD_ARGUMENT_BIAS, EPERM, MAX_FILE_BYTES, F_STAGING,
  F_STAGING_BYTES, EXTENT_MARK_LOSING, F_TOTAL_BYTES, ROOT_SLOT_BYTES, EXTENT_MARK_FILLED,
  WRITE_OUT_REPORT, WRITE_OUT_STORE_POINTS,
} from "../../abi";
import * as S from "../../pmem/state";
import {
  nodeBytes, kernelRangeValid, fsBase, losingBitsAddr, filledBitsAddr, metadataReserveBytes,
  rootSlotOf, totalBytes,
} from "../state";
import { CHECKS } from "../../shared/checks";
import { setRange, testBit } from "../bitmap";
import { fileWrite, WRITE_OWNER } from "../file";
import { dataRefsOwner } from "../extent-items";
import { lockHolder } from "../fs-lock";
import { dirtyListLength, writeDirtyBlocks } from "../transaction";
import { extentValid } from "../free-space";
import { RootSlot } from "../root-slot";
import { u64Arg, memoryValid, ready, stateSound } from "./args";

// --- what the DAX fault path shares with TypeScript (file-item.ts, dax/fault.ts) -----------

// Where item bodies are built under the fs lock (the kernel's staging buffer).
export function fs_set_staging(addr: u32, bytes: u32): i32 {
  if (!ready() || bytes < 4096 || !kernelRangeValid(addr, bytes)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_staging is called
  store<u32>(fsBase + F_STAGING, addr);
  store<u32>(fsBase + F_STAGING_BYTES, bytes);
  assert(load<u32>(fsBase + F_STAGING) == addr && load<u32>(fsBase + F_STAGING_BYTES) == bytes,
    "staging not kept");
  return 0;
}

// Per-extent marks of the running transaction: EXTENT_MARK_LOSING (an item stopped mapping
// the extent) and EXTENT_MARK_FILLED (bytes filled in place). `set` 1 sets it, 0 asks.
export function fs_extent_mark(which: u32, bytenr: f64, set: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || !extentValid(<u64>b, SECTOR_BYTES) || which > EXTENT_MARK_FILLED) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when fs_extent_mark is called
  const bits = which == EXTENT_MARK_LOSING ? losingBitsAddr : filledBitsAddr;
  const sector = <u32>(b >> SECTOR_SHIFT);
  if (set != 0) setRange(bits, sector, sector + 1, true);
  const marked = testBit(bits, sector);
  assert(set == 0 || marked, "not marked");
  if (CHECKS) assert(stateSound()); // fs_extent_mark broke the state's invariants
  return marked ? 1 : 0;
}

// 1 when every reference to data extent `extent` (`bytes` long) is an item of inode `ino`
// of tree `tree` from one mapping; 0 when another inode or tree references it; -1 unknown
// (delayed refs, or several mappings of the inode). See extent-tree.ts dataRefsOwner.
export function fs_data_refs_owner(extent: f64, bytes: f64, tree: f64, ino: f64): i32 {
  const e = u64Arg(extent), b = u64Arg(bytes), t = u64Arg(tree), i = u64Arg(ino);
  if (!ready() || e < 0 || b <= 0 || t <= 0 || i < 0 || !extentValid(<u64>e, <u64>b)) {
    return -EINVAL - BAD_ARGUMENT_BIAS;
  }
  const owner = dataRefsOwner(<u64>e, <u64>b, <u64>t, <u64>i);
  assert(owner >= -1 && owner <= 1, "refs owner answer");
  return owner;
}

// Bytes a data allocation must leave free for tree blocks (state.ts: one formula for the
// core's fault path and TypeScript's allocations).
export function fs_metadata_reserve_bytes(): f64 {
  if (!ready()) return -EINVAL;
  const reserve = metadataReserveBytes();
  assert(reserve > 0 && reserve % <u64>(nodeBytes) == 0, "a reserve of no whole tree block");
  assert(reserve < <u64>load<u32>(fsBase + F_TOTAL_BYTES), "a reserve as large as the device");
  return <f64>reserve;
}

// The root-table slot of subvolume tree `tree` (its address), 0 when it has none.
export function fs_root_slot(tree: f64): f64 {
  const t = u64Arg(tree);
  if (!ready() || t <= 0) return -EINVAL;
  const slot = rootSlotOf(<u64>t);
  assert(slot == 0 || changetype<RootSlot>(slot).tree == <u64>t, "a root slot of another tree");
  assert(slot == 0 || kernelRangeValid(slot, ROOT_SLOT_BYTES),
    "a root slot outside the kernel region");
  return <f64>slot;
}

// pwrite's path in the core (file.ts): `length` bytes at `src` to file byte `at` of inode
// `ino` in subvolume tree `tree`. The device byte the data went to; -1 when TypeScript's
// path must run (nothing changed); -(errno + BAD_ARGUMENT_BIAS) for bad arguments. The
// caller holds the fs lock and has checked that no DAX mapping or dirtied page involves
// the file.
export function fs_file_write(tree: f64, ino: f64, src: u32, at: f64, length: u32): f64 {
  const t = u64Arg(tree), i = u64Arg(ino), a = u64Arg(at);
  if (!ready() || t <= 0 || i < 0 || a < 0 || length == 0) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (((<u64>a | <u64>length) & (SECTOR_BYTES - 1)) != 0 || !memoryValid(src, length)) {
    return -EINVAL - BAD_ARGUMENT_BIAS;
  }
  if (<u64>a + length > MAX_FILE_BYTES) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (lockHolder() != S.threadSlot) return -EPERM - BAD_ARGUMENT_BIAS;
  const slot = rootSlotOf(<u64>t);
  if (slot == 0) return <f64>WRITE_OWNER;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_file_write is called
  const disk = fileWrite(slot, <u64>i, src, <u64>a, length);
  assert(disk == WRITE_OWNER || (disk >= 0 && <u64>disk + length <= <u64>totalBytes),
    "file write answer");
  if (CHECKS) assert(stateSound()); // fs_file_write broke the state's invariants
  return <f64>disk;
}

// The commit's write-out of tree blocks (transaction.ts writeDirtyBlocks): checksums, stores
// and write-backs of every dirty block's copies, in order. `flags`: WRITE_OUT_* (hooks
// before each store). The copies stored, or -EINVAL / -EPERM (the fs lock not held).
export function fs_write_dirty_blocks(flags: u32): i32 {
  if (!ready() || flags > (WRITE_OUT_REPORT | WRITE_OUT_STORE_POINTS)) return -EINVAL;
  if (lockHolder() != S.threadSlot) return -EPERM;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_write_dirty_blocks is called
  const stored = writeDirtyBlocks(flags);
  assert(stored <= dirtyListLength() * 2, "copies stored");
  return <i32>stored;
}
