// After a delete (btrfs's balance_level, in its own way): empty nodes go, a root with one
// child collapses into it, and a node merges with its right sibling when both fit in one.
// Above the copy-on-write descent (ctree.ts), whose path they walk.
import { NODE_HEADER_BYTES, KEY_PTR_BYTES, P_NOT_COPY, EUCLEAN, MAX_LEVEL } from "../abi";
import { nodeBytes } from "./state";
import {
  nritems, setNritems, level, isLeaf, ptrAt, keyAt, copyKey, leafUsedBytes, child, leafRoom,
  leafItemsBytes, leafMoveHeadLeft, ptrCapacity, ptrDelete, inPool, leafCapacity,
} from "./node";
import { refChange } from "./delayed-ref";
import { CHECKS } from "../shared/checks";
import { treeId, treeRoot, treeLevel } from "./operation";
import { reportPointers, rootMoved } from "./node-pointers";
import {
  allocNode, checkedChild, cowChild, isDirty, pathBytenr, pathLength, pathSlot, view,
} from "./ctree";
import { fixLowKeys } from "./ctree-split";

@inline function usedBytes(node: usize): u32 {
  if (CHECKS) assert(inPool(node)); // merge room asked of a node that is not a copy
  return isLeaf(node) ? leafUsedBytes(node) : nritems(node) * KEY_PTR_BYTES;
}

/** Remove empty nodes and merge small ones after a deletion at path[0]. */
export function afterDelete(): void {
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 0; lv + 1 < pathLength; lv++) {
    // The walk copied every node of the path (or failed with P_NOT_COPY).
    // a merge or removal in a node that is not a copy
    if (CHECKS) assert(isDirty(pathBytenr(lv)) && isDirty(pathBytenr(lv + 1)));
    const node = view(pathBytenr(lv));
    const parentBytenr = pathBytenr(lv + 1);
    const parent = view(parentBytenr);
    const parentSlot = pathSlot(lv + 1);
    if (nritems(node) == 0) {
      // the pointer removed is not the empty node's
      if (CHECKS) assert(child(parent, parentSlot) == pathBytenr(lv));
      ptrDelete(parent, parentSlot, 1);
      refChange(<i64>parentBytenr, pathBytenr(lv), treeId, <i32>lv, 0, -1);
      if (parentSlot == 0 && nritems(parent) > 0) fixLowKeys(lv + 1, keyAt(parent, 0));
      continue;
    }
    tryMergeRight(lv);
  }
  collapseRoot();
}

/** A root with a single child gives way to it; an empty internal root to a fresh empty leaf. */
function collapseRoot(): void {
  assert(isDirty(treeRoot), "root not a copy");
  let root = view(treeRoot);
  while (level(root) > 0 && nritems(root) <= 1) {
    const old = treeRoot;
    if (nritems(root) == 0) {
      const leaf = allocNode(0);
      treeRoot = leaf;
      treeLevel = 0;
      rootMoved(old, level(root), leaf, 0);
    } else {
      // The child becomes the root: checked against its parent first (a corrupted level
      // is EUCLEAN here, not a broken invariant below).
      checkedChild(root, old, 0, 0);
      treeRoot = child(root, 0);
      treeLevel = level(root) - 1;
      // The old root lets go of the child now (it is a copy: emptied, freed at the run),
      // so the child's back reference from this tree is its root pointer's alone.
      refChange(<i64>old, treeRoot, treeId, <i32>treeLevel, 0, -1);
      setNritems(root, 0);
      rootMoved(old, treeLevel + 1, treeRoot, treeLevel);
    }
    root = view(treeRoot);
    assert(treeLevel == level(root),
      "ctree: the root's level and the tree's disagree after a collapse");
  }
}

// A node at most this full after a delete is merged with a sibling when both fit in one
// node (btrfs balances below a third; a little over half, so that the fuller leaves pushes
// make still give their blocks back when deletes empty them by half: a full leaf with every
// other item deleted is a hair over half full, and a threshold of exactly half made whether
// a run of them merged depend on the node header's size).
@inline function mergeBelowBytes(): u32 {
  return (nodeBytes - NODE_HEADER_BYTES) / 16 * 9;
}

/**
 * Merge path[lv]'s node with a sibling when both are at most half full (and fit in one
 * node): its right sibling moves into it, or else it moves into its left sibling. Both, not
 * one: a half-full node merged with a fuller one makes a nearly full node that the next
 * insert splits or pushes again (on a small tree that was a merge and a split per
 * operation: the DAX bench's per-transaction COW fault went from 7.7x to 13.5x).
 */
function tryMergeRight(lv: u32): void {
  assert(lv + 1 < pathLength, "ctree: merge of the root");
  const parentBytenr = pathBytenr(lv + 1);
  const parentSlot = pathSlot(lv + 1);
  const nodeBytenr = pathBytenr(lv);
  assert(isDirty(nodeBytenr), "node not a copy");
  assert(isDirty(parentBytenr), "parent not a copy");
  const node = view(nodeBytenr);
  // a merge of a node its parent's slot does not name
  if (CHECKS) assert(child(view(parentBytenr), parentSlot) == nodeBytenr);
  const used = usedBytes(node);
  if (used > mergeBelowBytes()) return;
  const fits = nodeBytes - NODE_HEADER_BYTES - 64;
  // The siblings are read here, not by a descent: checked against their parent (their
  // level above all: a leaf merged into an internal node would copy past the buffer), and
  // copied only for a merge.
  if (parentSlot + 1 < nritems(view(parentBytenr))) {
    const right = checkedChild(view(parentBytenr), parentBytenr, parentSlot + 1, 0);
    if (anyUsedBytes(right) <= mergeBelowBytes()) {
      if (used + anyUsedBytes(right) <= fits) {
        mergeInto(parentBytenr, parentSlot, nodeBytenr, cowChild(parentBytenr, parentSlot + 1), lv);
      }
      else if (lv == 0) {
        fillLeft(parentBytenr, parentSlot + 1, cowChild(parentBytenr, parentSlot + 1), fits - used);
      }
      return;
    }
  }
  if (parentSlot > 0) {
    const left = checkedChild(view(parentBytenr), parentBytenr, parentSlot - 1, 0);
    if (anyUsedBytes(left) > mergeBelowBytes()) return;
    if (used + anyUsedBytes(left) <= fits) {
      mergeInto(parentBytenr, parentSlot - 1, cowChild(parentBytenr, parentSlot - 1), nodeBytenr,
        lv);
    }
    else if (lv == 0) fillLeft(parentBytenr, parentSlot, nodeBytenr, fits - anyUsedBytes(left));
  }
}

/**
 * Two half-empty leaves side by side that do not fit in one (deletes that thin a run of
 * full leaves by half leave each pair just over a leaf): the left one takes what it can of
 * the right one's first items (btrfs's push_leaf_left after a delete), so that the right
 * one, nearly empty now, merges with its own right sibling once deletes thin that one too.
 * Without it such a run gave no blocks back (a full device emptied by every other file).
 */
function fillLeft(parentBytenr: u64, slot: u32, nodeBytenr: u64, room: u32): void {
  assert(slot > 0 && isDirty(parentBytenr) && isDirty(nodeBytenr),
    "ctree: fill of a left sibling that is not there");
  const node = view(nodeBytenr);
  const n = nritems(node);
  let m: u32 = 0, moved: u32 = 0;
  while (m + 1 < n && moved + leafItemsBytes(node, m,
    m + 1) <= room) { moved += leafItemsBytes(node, m, m + 1); m++; }
  if (m == 0) return;
  assert(m < n, "ctree: a fill that would empty the right leaf");
  const leftBytenr = cowChild(parentBytenr, slot - 1);
  const left = view(leftBytenr);
  const l = nritems(left);
  reportPointers(node, nodeBytenr, 0, m, -1);
  leafMoveHeadLeft(node, m, left);
  reportPointers(left, leftBytenr, l, l + m, 1);
  // The node's separator rises to its new first key (slot > 0: not the parent's lowest).
  copyKey(keyAt(view(parentBytenr), slot), keyAt(node, 0));
  // a fill that lost items or overfilled
  if (CHECKS) {
    assert(nritems(node) == n - m && nritems(left) == l + m
      && leafUsedBytes(left) <= nodeBytes - NODE_HEADER_BYTES);
  }
}

/** Bytes a node's items take (a clean node too: the caller checked it). */
@inline function anyUsedBytes(node: usize): u32 {
  // a node with more items than it holds (the checker passed it)
  if (CHECKS) assert(nritems(node) <= (isLeaf(node) ? leafCapacity() : ptrCapacity()));
  return isLeaf(node) ? nodeBytes - NODE_HEADER_BYTES - leafRoom(node)
    : nritems(node) * KEY_PTR_BYTES;
}

/**
 * Move every item of `rightBytenr` (parent slot `leftSlot` + 1) to the end of `leftBytenr` when
 * both fit.
 */
function mergeInto(
  parentBytenr: u64, leftSlot: u32, leftBytenr: u64, rightBytenr: u64, lv: u32,
): void {
  const left = view(leftBytenr), right = view(rightBytenr);
  // merged nodes not side by side
  if (CHECKS) {
    assert(child(view(parentBytenr), leftSlot) == leftBytenr
      && child(view(parentBytenr), leftSlot + 1) == rightBytenr);
  }
  assert(usedBytes(left) + usedBytes(right) <= nodeBytes - NODE_HEADER_BYTES - 64,
    "ctree: a merge of nodes that do not fit in one");
  const n = nritems(left);
  const count = nritems(right);
  if (isLeaf(left)) {
    reportPointers(right, rightBytenr, 0, count, -1);
    if (count > 0) leafMoveHeadLeft(right, count, left);
    reportPointers(left, leftBytenr, n, n + count, 1);
  } else {
    memory.copy(ptrAt(left, n), ptrAt(right, 0), <usize>count * KEY_PTR_BYTES);
    setNritems(left, n + count);
    reportPointers(left, leftBytenr, n, n + count, 1);
    reportPointers(right, rightBytenr, 0, count, -1);
    setNritems(right, 0);
  }
  if (CHECKS) assert(nritems(left) == n + count && nritems(right) == 0); // a merge that lost items
  // a merge that overfilled its node
  if (CHECKS) assert(usedBytes(left) <= nodeBytes - NODE_HEADER_BYTES);
  ptrDelete(view(parentBytenr), leftSlot + 1, 1);
  refChange(<i64>parentBytenr, rightBytenr, treeId, <i32>lv, 0, -1);
}
