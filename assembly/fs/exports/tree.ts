// The fs exports of the B-tree (ctree.ts, ctree-change.ts) and of file reads (inode.ts).
import {
  EINVAL, EIO, ENOSPC, SECTOR_BYTES, SECTOR_SHIFT, MAX_LEVEL, KEY_BYTES, F_TREE_CHANGES, SEEK_AFTER,
  SEEK_AT_OR_BEFORE, MAX_FILE_BYTES, EUCLEAN, TA_RESULT, CR_DATA, CR_LEAF, CR_SLOT, CR_SIZE,
  READ_INODE_BOUNDS, READ_NO_INODE, READ_VERIFY, INODE_SIZE, INODE_FLAGS, INODE_FLAG_NODATASUM,
  NEGATIVE_OBJECTIDS, FS_TREE_ID, FIRST_SUBVOLUME_ID,
} from "../../abi";
import { dirtyBuffer, kernelRangeValid, fsBase, threadArea, freshBitsAddr } from "../state";
import {
  begin, finish, lookupItem, seekForward, seekBackward, checkedChild, copyRoot,
} from "../ctree";
import { insertItem, updateItem, deleteItem } from "../ctree-change";
import { currentRoot } from "../operation";
import { isLeaf as isLeafAt, nritems as nritemsAt } from "../node";
import { CHECKS } from "../../shared/checks";
import { setRange, testBit } from "../bitmap";
import { readFile, lookupInode } from "../inode";
import { firstDifference } from "../compare";
import { endOperation } from "../extent-tree";
import { nodeAddr } from "../disk-io";
import { extentValid } from "../free-space";
import { u64Arg, memoryValid, ready, stateSound } from "./args";

// --- the B-tree (ctree.ts) ----------------------------------------------------------------
// Every call names the tree (id, root, level); the root and level after it are in this
// thread's result record (TA_RESULT: CR_ROOT, CR_LEVEL), with the item found (CR_LEAF,
// CR_SLOT, CR_DATA, CR_SIZE). Problems (a corrupted block, EEXIST, ENOSPC, ...) are thrown
// by the host's fs_fail; bad arguments return -EINVAL.

/**
 * A key's objectid: an integer in [0, 2^53), or in [-NEGATIVE_OBJECTIDS, -1] for btrfs's (u64)-n;
 * else -1 (u64: its value).
 */
@inline function objectidArg(x: f64): u64 {
  if (x < 0 && x >= -<f64>NEGATIVE_OBJECTIDS && Math.floor(x) == x) return <u64><i64>x;
  const o = u64Arg(x);
  return o < 0 ? 0 : <u64>o;
}

@inline function objectidValid(x: f64): bool {
  return (x < 0 && x >= -<f64>NEGATIVE_OBJECTIDS && Math.floor(x) == x) || u64Arg(x) >= 0;
}

function treeArgs(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64,
): bool {
  const t = u64Arg(tree), r = u64Arg(root), f = u64Arg(offset);
  if (!ready() || t < 0 || r < 0 || !objectidValid(objectid) || f < 0 || rootLevel > MAX_LEVEL
      || type > 255) {
    return false;
  }
  begin(<u64>t, <u64>r, rootLevel, objectidArg(objectid), type, <u64>f);
  assert(currentRoot() == <u64>r, "ctree: an operation begun on another root");
  return true;
}

export function fs_thread_area(): f64 {
  if (!ready()) return -EINVAL;
  const area = threadArea();
  assert(area != 0 && kernelRangeValid(area, 8), "a thread area outside the kernel region");
  return <f64>area;
}

// 1 when the key is in the tree (result: its leaf, slot, data and size), 0 when not.
export function ctree_lookup(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64,
): i32 {
  if (!treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_lookup is called
  const found = lookupItem();
  finish();
  assert(!found || load<u32>(threadArea() + TA_RESULT + CR_DATA) != 0, "no item data");
  if (CHECKS) assert(stateSound()); // ctree_lookup broke the state's invariants
  return found ? 1 : 0;
}

// Insert an item of `size` bytes from `data`.
export function ctree_insert(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, data: u32, size: u32,
): i32 {
  if (!memoryValid(data, size) || !treeArgs(tree, root, rootLevel, objectid, type, offset)) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_insert is called
  insertItem(data, size);
  endOperation();
  // A changed tree's root is a copy of this transaction (inserts never collapse it).
  assert(dirtyBuffer(currentRoot()) != 0, "root not a copy");
  if (CHECKS) assert(stateSound()); // ctree_insert broke the state's invariants
  return 0;
}

// A snapshot's root: a copy of `root` (tree `tree`'s source, clean) owned by `tree`, its
// pointers counted (ctree.ts copyRoot). The copy's bytenr (the result record holds it too).
export function ctree_copy_root(tree: f64, root: f64, rootLevel: u32): f64 {
  if (!treeArgs(tree, root, rootLevel, 0, 0, 0)) return -EINVAL;
  if (u64Arg(tree) != <i64>FS_TREE_ID && u64Arg(tree) < <i64>FIRST_SUBVOLUME_ID) return -EINVAL;
  if (dirtyBuffer(<u64>u64Arg(root)) != 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_copy_root is called
  const next = copyRoot();
  finish();
  assert(dirtyBuffer(next) != 0 && currentRoot() == next, "the snapshot root is not a new copy");
  if (CHECKS) assert(stateSound()); // ctree_copy_root broke the state's invariants
  return <f64>next;
}

// Replace an item's data with `size` bytes from `data`.
export function ctree_update(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, data: u32, size: u32,
): i32 {
  if (!memoryValid(data, size) || !treeArgs(tree, root, rootLevel, objectid, type, offset)) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_update is called
  updateItem(data, size);
  endOperation();
  assert(dirtyBuffer(currentRoot()) != 0, "root not a copy");
  if (CHECKS) assert(stateSound()); // ctree_update broke the state's invariants
  return 0;
}

// 1 when the item was deleted, 0 when absent.
export function ctree_delete(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64,
): i32 {
  if (!treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_delete is called
  const deleted = deleteItem();
  endOperation();
  if (CHECKS) assert(stateSound()); // ctree_delete broke the state's invariants
  return deleted ? 1 : 0;
}

// The first item >= the key (SEEK_AT_OR_AFTER), > it (SEEK_AFTER) or the last <= it
// (SEEK_AT_OR_BEFORE): 1 with the result set, 0 when there is none.
export function ctree_seek(
  tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, mode: u32,
): i32 {
  if (mode > SEEK_AT_OR_BEFORE || !treeArgs(tree, root, rootLevel, objectid, type, offset)) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_seek is called
  const found = mode == SEEK_AT_OR_BEFORE ? seekBackward() : seekForward(mode == SEEK_AFTER);
  finish();
  assert(!found || load<u32>(threadArea() + TA_RESULT + CR_SLOT)
    < nritemsAt(<usize>load<u32>(threadArea() + TA_RESULT + CR_LEAF)), "slot outside node");
  if (CHECKS) assert(stateSound()); // ctree_seek broke the state's invariants
  return found ? 1 : 0;
}

// The address of the child at slot `slot` of block `parent`, checked against the parent
// (level, generation, key range below the key at `high`, 0: no bound).
export function ctree_checked_child(tree: f64, parent: f64, slot: u32, high: u32): f64 {
  const p = u64Arg(parent);
  if (!treeArgs(tree, 0, 0, 0, 0, 0) || p < 0 || (high != 0 && !memoryValid(high, KEY_BYTES))) {
    return -EINVAL;
  }
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_checked_child is called
  const addr = nodeAddr(<u64>p);
  if (addr < 0) return <f64>addr;
  if (isLeafAt(<usize>addr) || slot >= nritemsAt(<usize>addr)) return -EINVAL;
  return <f64>checkedChild(<usize>addr, <u64>p, slot, high);
}

// Tree changes (and commits) so far: what a reader cached from the trees is valid while
// this stays the same.
export function fs_tree_changes(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_tree_changes is called
  return <i32>load<u32>(fsBase + F_TREE_CHANGES);
}

export function fs_tree_changed(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_tree_changed is called
  store<u32>(fsBase + F_TREE_CHANGES, load<u32>(fsBase + F_TREE_CHANGES) + 1);
  return 0;
}

// Record [start, start + length) as allocated in this transaction (data extents).
export function fs_mark_fresh(start: f64, length: f64): i32 {
  const s = u64Arg(start), l = u64Arg(length);
  if (!ready() || s < 0 || l < 0 || !extentValid(<u64>s, <u64>l)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_mark_fresh is called
  setRange(freshBitsAddr, <u32>(s >> SECTOR_SHIFT), <u32>((s + l) >> SECTOR_SHIFT), true);
  assert(l == 0 || testBit(freshBitsAddr, <u32>(s >> SECTOR_SHIFT)), "not marked");
  if (CHECKS) assert(stateSound()); // fs_mark_fresh broke the state's invariants
  return 0;
}

// 1 when the sector at `bytenr` was allocated in this transaction.
export function fs_is_fresh(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || !extentValid(<u64>b, SECTOR_BYTES)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_is_fresh is called
  return testBit(freshBitsAddr, <u32>(b >> SECTOR_SHIFT)) ? 1 : 0;
}

// --- file reads (inode.ts) -------------------------------------------------------------------

// Read file bytes [offset, offset + length) of inode `ino` (tree id, root, level; the csum
// tree's root and level) into `dst`; flags READ_VERIFY, or READ_INODE_BOUNDS (the inode's
// size bounds the read and its NODATASUM flag decides the verification). The bytes read,
// READ_NO_INODE (bounds asked, no sound inode item) or -EINVAL; problems (EIO for media
// errors and checksum mismatches, EUCLEAN for a corrupted tree) are thrown by fs_fail.
export function file_read(tree: f64, root: f64, rootLevel: u32, csumRoot: f64, csumLevel: u32,
  ino: f64, offset: f64, length: u32, dst: u32, flags: u32): i32 {
  const t = u64Arg(tree), r = u64Arg(root), c = u64Arg(csumRoot), i = u64Arg(ino),
    o = u64Arg(offset);
  if (!ready() || t < 0 || r < 0 || c < 0 || i < 0 || o < 0 || rootLevel > MAX_LEVEL
      || csumLevel > MAX_LEVEL) {
    return -EINVAL;
  }
  if (!memoryValid(dst, length) || <u64>o + length > MAX_FILE_BYTES) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when file_read is called
  let n = length;
  let readFlags = flags;
  if ((flags & READ_INODE_BOUNDS) != 0) {
    // The inode's size and flags, from the same tree: one call for a pread, not two.
    const inode = lookupInode(<u64>t, <u64>r, rootLevel, <u64>i);
    if (inode == 0) return READ_NO_INODE;
    const size = load<u64>(inode + INODE_SIZE);
    n = <u64>o >= size ? 0 : <u32>min<u64>(<u64>length, size - <u64>o);
    readFlags = (load<u64>(inode + INODE_FLAGS) & INODE_FLAG_NODATASUM) != 0 ? 0 : READ_VERIFY;
  }
  if (n > 0) {
    readFile(<u64>t, <u64>r, rootLevel, <u64>c, csumLevel, <u64>i, <u64>o, n, dst, readFlags);
  }
  if (CHECKS) assert(stateSound()); // file_read broke the state's invariants
  return <i32>n;
}

// Dedupe's comparison (compare.ts): the index of the first byte where [a, a + length) and
// [b, b + length) differ, `length` when they are equal; -EINVAL for a range outside memory
// or longer than 1 GiB (the callers compare a staging buffer's halves).
export function fs_first_difference(a: u32, b: u32, length: u32): i32 {
  if (!ready() || length > 0x40000000 || !memoryValid(a, length) || !memoryValid(b, length)) {
    return -EINVAL;
  }
  const at = firstDifference(<usize>a, <usize>b, length);
  assert(at <= length, "difference past the ranges");
  return <i32>at;
}
