// The pointers a tree block holds (child blocks, data extents of file extent items), reported
// as delayed refs (delayed-ref.ts) when they appear or go, and moved to the block's own back
// references when it becomes FULL_BACKREF. Below ctree.ts, whose copies, splits and merges
// report them, and the extent tree, whose drops and conversions report them too.
import {
  KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, EXTENT_DATA, FILE_EXTENT_BYTES, FILE_EXTENT_INLINE_BYTES,
  FE_TYPE, EXTENT_TYPE_INLINE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, NODE_OWNER, ROOT_POINTER,
  MAX_LEVEL, BACKREF_IS_TREE, BACKREF_IS_SHARED_BLOCK, BACKREF_IS_SHARED_DATA,
} from "../abi";
import { dirtyBuffer } from "./state";
import { nritems, isLeaf, level, itemAt, dataAddr, dataSize, child, inPool } from "./node";
import {
  refChange, dataRefChange, sharedDataRefChange, backrefMoved, markFull, pendingFull,
} from "./delayed-ref";
import { treeId } from "./operation";
import { isFsTree } from "./root-slot";
import { CHECKS } from "../shared/checks";

/**
 * The data extent file extent item `s` of leaf `node` points at: 0 for a hole, and for
 * btrfs's inline kind (an adopted image's, until the adoption moves it: its bytes are in
 * the item, no extent). Every reader of an item's pointer asks here.
 */
function pointedExtent(node: usize, s: u32): u64 {
  // a pointer read outside a leaf's items
  if (CHECKS) assert(isLeaf(node) && s < nritems(node));
  const size = dataSize(node, s);
  if (size < FILE_EXTENT_BYTES) {
    // The tree checker let a shorter item in only as an inline one with its 21-byte header.
    if (CHECKS) assert(size >= FILE_EXTENT_INLINE_BYTES);
    return 0;
  }
  const item = dataAddr(node, s);
  return <u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_INLINE
    ? 0 : load<u64>(item + FE_DISK_BYTENR);
}

/** The data extent a leaf item points at (file extent items of fs trees), or 0. */
@inline function itemExtent(node: usize, slot: u32): u64 {
  if (CHECKS) assert(isLeaf(node)); // the extent of an item of an internal node
  if (CHECKS) assert(slot < nritems(node)); // the extent of an item the leaf does not have
  const key = itemAt(node, slot);
  if (<u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA || !isFsTree(treeId)) return 0;
  return pointedExtent(node, slot);
}

/**
 * Report the data pointer of file extent item `s` of leaf `node`, owned by tree `root`:
 * its back reference is (root, inode, file offset of the extent's first byte).
 */
export function reportDataPointer(node: usize, s: u32, root: u64, delta: i32): void {
  assert(s < nritems(node) && isLeaf(node), "ctree: a data pointer outside a leaf's items");
  assert(root != 0 && (delta == 1 || delta == -1),
    "ctree: a data pointer of no tree, or a count change of more than one");
  const extent = pointedExtent(node, s);
  if (extent == 0) return;
  const item = dataAddr(node, s);
  const key = itemAt(node, s);
  // Wraps below zero as btrfs's u64 does: a clone may map an extent's middle at offset 0.
  const start = load<u64>(key + KEY_OFFSET) - load<u64>(item + FE_OFFSET);
  dataRefChange(extent, root, load<u64>(key + KEY_OBJECTID), start,
    <u32>load<u64>(item + FE_DISK_BYTES), delta);
}

/**
 * Report the data pointer of file extent item `s` of FULL_BACKREF leaf `node` (block
 * `parent`, of tree `owner`): its back reference is the leaf's (SHARED_DATA_REF).
 */
export function reportSharedDataPointer(
  node: usize, s: u32, parent: u64, owner: u64, delta: i32,
): void {
  assert(s < nritems(node) && isLeaf(node), "ctree: a data pointer outside a leaf's items");
  assert(parent != 0 && (delta == 1 || delta == -1),
    "ctree: a data pointer of no leaf, or a count change of more than one");
  const extent = pointedExtent(node, s);
  if (extent == 0) return;
  sharedDataRefChange(extent, parent, owner, <u32>load<u64>(dataAddr(node, s) + FE_DISK_BYTES),
    delta);
}

/** Report every pointer held by slots [from, to) of a node (items move, a copy appears). */
export function reportPointers(node: usize, bytenr: u64, from: u32, to: u32, delta: i32): void {
  // Pointers move in dirty nodes only: copies, splits, merges and changed leaves.
  assert(from <= to, "range reversed");
  assert(to <= nritems(node), "slot outside node");
  if (CHECKS) assert(inPool(node)); // pointers reported of a clean node
  // pointers reported of a node that is not the block named
  if (CHECKS) assert(dirtyBuffer(bytenr) == node);
  if (isLeaf(node)) {
    // The node is this tree's (dirty: copied by it, or new), so its owner is the tree.
    assert(load<u64>(node + NODE_OWNER) == treeId || load<u64>(node + NODE_OWNER) == 0,
      "ctree: a changed leaf of another tree");
    for (let s = from; s < to; s++) {
      if (itemExtent(node, s) != 0) reportDataPointer(node, s, treeId, delta);
    }
    return;
  }
  const below = <i32>level(node) - 1;
  for (let s = from; s < to; s++) refChange(<i64>bytenr, child(node, s), treeId, below, 0, delta);
}

export function rootMoved(old: u64, oldLevel: u32, next: u64, nextLevel: u32): void {
  if (CHECKS) assert(old != 0 && next != 0); // a root moved from or to no block
  assert(oldLevel <= MAX_LEVEL + 1 && nextLevel <= MAX_LEVEL + 1, "ctree: a root's level");
  refChange(ROOT_POINTER, old, treeId, <i32>oldLevel, 0, -1);
  refChange(ROOT_POINTER, next, treeId, <i32>nextLevel, 0, 1);
}

/**
 * Block `bytenr` (content at `node`, of tree `owner`) becomes FULL_BACKREF: each pointer
 * it holds moves its back reference from its owner (TREE_BLOCK_REF, EXTENT_DATA_REF) to
 * it (SHARED_BLOCK_REF, SHARED_DATA_REF), counts unchanged; its item takes the flag at the
 * next run (btrfs's update_ref_for_cow: inc_ref full, dec_ref not full).
 */
export function convertToFull(bytenr: u64, node: usize, owner: u64): void {
  assert(isFsTree(owner), "extent tree: only subvolume trees share blocks");
  assert(load<u64>(node + NODE_OWNER) == owner,
    "extent tree: a block converted for another tree");
  const n = nritems(node);
  const lv = level(node);
  if (isLeaf(node)) {
    for (let s: u32 = 0; s < n; s++) {
      const key = itemAt(node, s);
      if (<u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) continue;
      const extent = pointedExtent(node, s);
      if (extent == 0) continue;
      const item = dataAddr(node, s);
      const start = load<u64>(key + KEY_OFFSET) - load<u64>(item + FE_OFFSET);
      backrefMoved(extent, true, <u32>load<u64>(item + FE_DISK_BYTES), 0, owner,
        owner, load<u64>(key + KEY_OBJECTID), start, bytenr, BACKREF_IS_SHARED_DATA);
    }
  } else {
    for (let s: u32 = 0; s < n; s++) {
      backrefMoved(child(node, s), false, 0, lv - 1, owner, owner, BACKREF_IS_TREE, 0, bytenr,
        BACKREF_IS_SHARED_BLOCK);
    }
  }
  markFull(bytenr, owner, lv);
  if (CHECKS) assert(pendingFull(bytenr)); // a conversion that left no mark
}
