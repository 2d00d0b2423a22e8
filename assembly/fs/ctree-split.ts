// Room in a leaf for an item (btrfs's split_leaf, push_leaf_right, push_leaf_left): items
// pushed to a sibling that has room, else the leaf split in two where the new item fits;
// and the separator keys above a leaf whose first key changed. Above the copy-on-write
// descent (ctree.ts), whose path they follow and extend.
import { NODE_HEADER_BYTES, LEAF_ITEM_BYTES, P_ITEM_NO_FIT, EFBIG } from "../abi";
import { compareKeysAt } from "./key";
import { nodeBytes, copies } from "./state";
import {
  nritems, itemAt, keyAt, copyKey, dataSize, dataAddr, leafFreeBytes, leafUsedBytes, leafInsert,
  leafDelete, leafRoom, leafItemsBytes, leafMoveTailRight, leafMoveHeadLeft, ptrInsert, dataOffset,
} from "./node";
import { refChange } from "./delayed-ref";
import { CHECKS } from "../shared/checks";
import { treeId, treeRoot, fail } from "./operation";
import { reportPointers } from "./node-pointers";
import {
  allocNode, checkedChild, cowChild, generationOf, growRoot, pathBytenr, pathLength, pathLinked,
  pathSlot, setPath, view,
} from "./ctree";

// --- leaf split -------------------------------------------------------------------------------

/** Bytes (items and data) of the first `m` items of a leaf. */
@inline function prefixBytes(leaf: usize, m: u32): u32 {
  if (CHECKS) assert(m <= nritems(leaf)); // a prefix longer than the leaf
  if (m == 0) return 0;
  const bytes = (nodeBytes - dataOffset(leaf, m - 1)) + m * LEAF_ITEM_BYTES;
  if (CHECKS) assert(bytes <= nodeBytes - NODE_HEADER_BYTES); // a leaf prefix larger than the leaf
  return bytes;
}

// Sides of a split that take the new item.
const SIDE_NONE: u32 = 0;
const SIDE_LEFT: u32 = 1;
const SIDE_RIGHT: u32 = 2;

/** For split point m (items [0, m) stay, [m, n) move right): the side the new item goes to. */
function chooseSide(leaf: usize, m: u32, slot: u32, need: u32): u32 {
  const n = nritems(leaf);
  assert(m <= n, "slot outside node");
  assert(slot <= n, "slot outside node");
  assert(need >= LEAF_ITEM_BYTES, "room");
  const capacity = nodeBytes - NODE_HEADER_BYTES;
  const total = prefixBytes(leaf, n);
  const canLeft = slot <= m && m < n && prefixBytes(leaf, m) + need <= capacity;
  const canRight = slot >= m && m > 0 && total - prefixBytes(leaf, m) + need <= capacity;
  if (slot < m) return canLeft ? SIDE_LEFT : SIDE_NONE;
  if (slot > m) return canRight ? SIDE_RIGHT : SIDE_NONE;
  return canRight ? SIDE_RIGHT : canLeft ? SIDE_LEFT : SIDE_NONE;
}

/** Make room for `need` bytes at path[0]'s slot by splitting the leaf. Neither half is empty. */
export function splitLeaf(key: usize, need: u32): void {
  assert(need <= nodeBytes - NODE_HEADER_BYTES, "item too large");
  if (pathLength == 1) {
    growRoot();
    pathLength = 2;
    setPath(1, treeRoot, 0);
  }
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const n = nritems(leaf);
  const slot = pathSlot(0);
  const total = prefixBytes(leaf, n);
  let mid: u32 = 0;
  while (mid < n && <u64>prefixBytes(leaf, mid + 1) * 2 <= <u64>total) mid++;
  mid = min<u32>(max<u32>(mid, 1), n);
  let side = chooseSide(leaf, mid, slot, need);
  if (side == SIDE_NONE) { mid = slot; side = chooseSide(leaf, mid, slot, need); }
  if (side == SIDE_NONE) fail(EFBIG, P_ITEM_NO_FIT, leafBytenr, slot, need, nodeBytes, 0);
  assert(mid <= n, "slot outside node");
  assert(mid > 0 || side == SIDE_LEFT, "split: left empty");
  const rightBytenr = allocNode(0);
  const right = view(rightBytenr);
  for (let i = mid; i < n; i++) {
    const size = dataSize(leaf, i);
    const dst = leafInsert(right, i - mid, itemAt(leaf, i), size);
    memory.copy(dst, dataAddr(leaf, i), size);
  }
  if (CHECKS) assert(nritems(right) == n - mid); // a leaf split that lost items
  reportPointers(right, rightBytenr, 0, n - mid, 1);
  reportPointers(leaf, leafBytenr, mid, n, -1);
  leafDelete(leaf, mid, n - mid);
  if (CHECKS) assert(nritems(leaf) == mid); // a leaf split that kept items it moved
  const parentBytenr = pathBytenr(1);
  const parentSlot = pathSlot(1);
  const rightKey = side == SIDE_RIGHT && slot == mid ? key : keyAt(right, 0);
  ptrInsert(view(parentBytenr), parentSlot + 1, rightKey, rightBytenr, generationOf(right));
  refChange(<i64>parentBytenr, rightBytenr, treeId, 0, 0, 1);
  if (side == SIDE_RIGHT) {
    setPath(0, rightBytenr, slot - mid);
    setPath(1, parentBytenr, parentSlot + 1);
  }
  if (CHECKS) assert(pathLinked()); // a leaf split that left the path unlinked
}

// --- pushing items to a sibling before a split (btrfs's push_leaf_right / push_leaf_left) ---
//
// A full leaf first gives items to a neighbour with room, and splits only when neither has
// it. Why: with halves only, leaves under random inserts and deletes stayed half full (the
// engine bench's trees, bench/tree-fill.mjs), and a commit copies, checksums and stores every leaf
// a transaction touched, so the bytes it moves grew with the leaf count, not with the items.

/**
 * Make room for `need` bytes at path[0]'s slot by moving items to a sibling. True when the
 * path's leaf (perhaps the sibling now) has the room at the path's slot.
 */
export function pushToSibling(key: usize, need: u32): bool {
  if (pathLength < 2) return false;
  return pushRight(key, need) || pushLeft(key, need);
}

/** The sibling of path[0] at parent slot `slot`, read and checked (not copied): its address. */
function siblingLeaf(slot: u32): usize {
  const parentBytenr = pathBytenr(1);
  return checkedChild(view(parentBytenr), parentBytenr, slot, 0);
}

function pushRight(key: usize, need: u32): bool {
  const parentBytenr = pathBytenr(1), pslot = pathSlot(1);
  if (pslot + 1 >= nritems(view(parentBytenr))) return false;
  const leafBytenr = pathBytenr(0), leaf = view(leafBytenr);
  const n = nritems(leaf), slot = pathSlot(0);
  const room = leafRoom(siblingLeaf(pslot + 1));
  // Items from the end while they fit, down to the slot: at least what the insert lacks,
  // then until the two hold about the same.
  const lacking = need - leafFreeBytes(leaf);
  const goal = max<u32>(lacking,
    (leafUsedBytes(leaf) - min<u32>(leafUsedBytes(leaf),
      nodeBytes - NODE_HEADER_BYTES - room)) / 2);
  let m = n, moved: u32 = 0;
  while (m > slot && moved < goal
    && moved + leafItemsBytes(leaf, m - 1, m) <= room) { moved += leafItemsBytes(leaf, m - 1,
      m); m--; }
  // An insert at the leaf's end may go to the sibling's front instead.
  const toSibling = slot == n && room >= need;
  if (moved < lacking && !toSibling) return false;
  assert(m >= slot && (m < n || toSibling),
    "ctree: a push right past the insertion slot, or of nothing");
  const rightBytenr = cowChild(parentBytenr, pslot + 1);
  const right = view(rightBytenr);
  if (m < n) {
    reportPointers(leaf, leafBytenr, m, n, -1);
    leafMoveTailRight(leaf, m, right);
    reportPointers(right, rightBytenr, 0, n - m, 1);
    copyKey(keyAt(view(parentBytenr), pslot + 1), keyAt(right, 0));
  }
  // the sibling's front (insertAtPath fixes its key)
  if (moved < lacking) setPath(0, rightBytenr, 0);
  if (moved < lacking) setPath(1, parentBytenr, pslot + 1);
  // a push that left no room or an unlinked path
  if (CHECKS) assert(pathLinked() && leafFreeBytes(view(pathBytenr(0))) >= need);
  return true;
}

function pushLeft(key: usize, need: u32): bool {
  const parentBytenr = pathBytenr(1), pslot = pathSlot(1);
  if (pslot == 0) return false;
  const leafBytenr = pathBytenr(0), leaf = view(leafBytenr);
  const n = nritems(leaf), slot = pathSlot(0);
  const room = leafRoom(siblingLeaf(pslot - 1));
  const lacking = need - leafFreeBytes(leaf);
  const goal = max<u32>(lacking,
    (leafUsedBytes(leaf) - min<u32>(leafUsedBytes(leaf),
      nodeBytes - NODE_HEADER_BYTES - room)) / 2);
  let m: u32 = 0, moved: u32 = 0;
  while (m < slot && m + 1 < n && moved < goal
    && moved + leafItemsBytes(leaf, m, m + 1) <= room) { moved += leafItemsBytes(leaf, m,
      m + 1); m++; }
  // An insert at the leaf's front may go to the sibling's end instead.
  const toSibling = slot == 0 && room >= need;
  if (moved < lacking && !toSibling) return false;
  assert(m <= slot && m < n, "ctree: a push left past the insertion slot, or of every item");
  const leftBytenr = cowChild(parentBytenr, pslot - 1);
  const left = view(leftBytenr);
  if (m > 0) {
    const l = nritems(left);
    reportPointers(leaf, leafBytenr, 0, m, -1);
    leafMoveHeadLeft(leaf, m, left);
    reportPointers(left, leftBytenr, l, l + m, 1);
    copyKey(keyAt(view(parentBytenr), pslot), keyAt(leaf, 0));
    setPath(0, leafBytenr, slot - m);
  } else {
    // The sibling's end. The key is at or above the leaf's separator (it was routed to the
    // leaf) and below the leaf's first item: the separator rises to that item.
    copyKey(keyAt(view(parentBytenr), pslot), keyAt(leaf, 0));
    setPath(0, leftBytenr, nritems(left));
    setPath(1, parentBytenr, pslot - 1);
  }
  // a push that left no room or an unlinked path
  if (CHECKS) assert(pathLinked() && leafFreeBytes(view(pathBytenr(0))) >= need);
  return true;
}

/** After slot 0 of path[fromLevel]'s node changed, refresh the separator keys above it. */
export function fixLowKeys(fromLevel: u32, key: usize): void {
  assert(fromLevel < pathLength, "ctree: separator fix above the root");
  if (CHECKS) assert(pathSlot(fromLevel) == 0); // a separator fix for a slot other than the first
  for (let lv = fromLevel + 1; lv < pathLength; lv++) {
    copyKey(keyAt(view(pathBytenr(lv)), pathSlot(lv)), key);
    // a separator that did not change
    if (CHECKS) assert(compareKeysAt(keyAt(view(pathBytenr(lv)), pathSlot(lv)), key) == 0);
    if (pathSlot(lv) != 0) break;
  }
}
