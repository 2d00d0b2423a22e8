// Changes to a B-tree (btrfs's btrfs_insert_item, btrfs_del_items, the update of an item in
// place): each one copy-on-write walk to the key (ctree.ts), then the change in the leaf,
// with a split (ctree-split.ts) before an insert that does not fit and a merge
// (ctree-merge.ts) after a delete.
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, TA_KEY, TA_SEEK_KEY,
  TA_RESULT, CR_SIZE, P_ITEM_TOO_LARGE, P_KEY_EXISTS, P_KEY_MISSING, EFBIG, EEXIST, ENOENT,
} from "../abi";
import { compareKeysAt } from "./key";
import { nodeBytes, threadArea, copies } from "./state";
import {
  nritems, itemAt, keyAt, dataSize, dataAddr, leafFreeBytes, leafInsert, leafDelete, leafResize,
  leafInsertTwo,
} from "./node";
import { CHECKS } from "../shared/checks";
import { fail } from "./operation";
import { reportPointers } from "./node-pointers";
import {
  descend, isDirty, lookupItem, opKey, pathBytenr, pathLength, pathLinked, pathSlot, searchKey,
  setFound, view,
} from "./ctree";
import { splitLeaf, pushToSibling, fixLowKeys } from "./ctree-split";
import { afterDelete } from "./ctree-merge";

// --- changes ----------------------------------------------------------------------------------

@inline function tooLarge(size: u32): bool {
  return (<u64>size + LEAF_ITEM_BYTES) * 2 > <u64>(nodeBytes - NODE_HEADER_BYTES);
}

/** Insert the item (key at TA_KEY, `size` bytes from `data`); EEXIST when the key is present. */
export function insertItem(data: usize, size: u32): void {
  if (tooLarge(size)) fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size, 0, 0);
  if (descend(opKey(), true)) fail(EEXIST, P_KEY_EXISTS, pathBytenr(0), pathSlot(0), 0, 0, 0);
  insertAtPath(data, size);
}

/**
 * A lookup whose walk copies the path (lookupItem's result record, found or not), for one
 * change at it without a second walk: insertAtPath, updateAtPath or deleteRunAtPath, next,
 * with nothing else done to any tree in between. The copies are made even if the caller
 * then changes nothing: callers ask it only when a change follows.
 */
export function lookupForChange(): bool {
  const found = descend(opKey(), true);
  setFound(view(pathBytenr(0)), pathSlot(0));
  return found;
}

/** Debug builds: does the path end at the slot where the operation's key is (found) or would go? */
function pathAtKey(found: bool): bool {
  if (!CHECKS) return true;
  if (!pathLinked() || !isDirty(pathBytenr(0))) return false;
  const r = searchKey(view(pathBytenr(0)), opKey());
  return found ? r == <i32>pathSlot(0) : r == -<i32>pathSlot(0) - 1;
}

/** insertItem at the path of lookupForChange, which did not find the key. */
export function insertAtPath(data: usize, size: u32): void {
  if (CHECKS) assert(pathAtKey(false)); // an insert at a path that is not the key's
  const key = opKey();
  if (tooLarge(size)) fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size, 0, 0);
  const need = size + LEAF_ITEM_BYTES;
  if (leafFreeBytes(view(pathBytenr(0))) < need && !pushToSibling(key, need)) splitLeaf(key, need);
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const slot = pathSlot(0);
  assert(slot <= nritems(leaf), "slot outside node");
  assert(leafFreeBytes(leaf) >= need, "ctree: no room at the insertion slot after the split");
  const at = leafInsert(leaf, slot, key, size);
  memory.copy(at, data, size);
  reportPointers(leaf, leafBytenr, slot, slot + 1, 1);
  if (slot == 0) fixLowKeys(0, key);
  if (CHECKS) assert(pathLinked()); // an insert that left the path unlinked
  // The item is found from the root (separators fixed); the walk is through copies only.
  if (CHECKS) assert(lookupItem() && load<u32>(threadArea() + TA_RESULT + CR_SIZE) == size);
}

/**
 * insertAtPath of two items: the one at TA_KEY (`data1`, `size1` bytes) and right after it one
 * keyed (objectid, type, offset) (`data2`, `size2`), with no key in the tree between them,
 * in one leaf with one move of the items after them. Why: a data extent born in this
 * transaction gets its EXTENT_ITEM and its first EXTENT_DATA_REF together (the second
 * insert cost a search for a free key, a walk and half a leaf moved again).
 */
export function insertPairAtPath(
  data1: usize, size1: u32, objectid: u64, type: u32, offset: u64, data2: usize, size2: u32,
): void {
  if (CHECKS) assert(pathAtKey(false)); // an insert at a path that is not the key's
  const key = opKey();
  if (tooLarge(size1 + size2 + LEAF_ITEM_BYTES)) {
    fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size1 + size2, 0, 0);
  }
  const need = size1 + size2 + 2 * LEAF_ITEM_BYTES;
  if (leafFreeBytes(view(pathBytenr(0))) < need && !pushToSibling(key, need)) splitLeaf(key, need);
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const slot = pathSlot(0);
  assert(slot <= nritems(leaf) && leafFreeBytes(leaf) >= need,
    "ctree: no room for the pair after the split");
  // The second key, in this thread's area after the operation's key.
  const key2 = threadArea() + TA_SEEK_KEY;
  store<u64>(key2 + KEY_OBJECTID, objectid);
  store<u8>(key2 + KEY_TYPE, <u8>type);
  store<u64>(key2 + KEY_OFFSET, offset);
  // Sorted after the first key, and before the next item in the leaf.
  assert(slot >= nritems(leaf) || compareKeysAt(key2, itemAt(leaf, slot)) < 0,
    "ctree: a pair inserted past the next item");
  const at = leafInsertTwo(leaf, slot, key, size1, key2, size2);
  memory.copy(at, data1, size1);
  memory.copy(at - size2, data2, size2);
  reportPointers(leaf, leafBytenr, slot, slot + 2, 1);
  if (slot == 0) fixLowKeys(0, key);
  if (CHECKS) assert(pathLinked()); // an insert that left the path unlinked
}

/** Replace an existing item's data (any size up to half a node); ENOENT when absent. */
export function updateItem(data: usize, size: u32): void {
  // Refuse before anything changes: the fallback below deletes and re-inserts.
  if (tooLarge(size)) fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size, 0, 0);
  if (!descend(opKey(), true)) fail(ENOENT, P_KEY_MISSING, pathBytenr(0), pathSlot(0), 0, 0, 0);
  updateAtPath(data, size);
}

/** updateItem at the path of lookupForChange, which found the key. */
export function updateAtPath(data: usize, size: u32): void {
  if (CHECKS) assert(pathAtKey(true)); // an update at a path that is not the key's
  if (tooLarge(size)) fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size, 0, 0);
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const slot = pathSlot(0);
  assert(slot < nritems(leaf), "slot outside node");
  reportPointers(leaf, leafBytenr, slot, slot + 1, -1);
  if (size > dataSize(leaf, slot) && leafFreeBytes(leaf) < size - dataSize(leaf, slot)) {
    // Out of room: delete and re-insert (the split logic lives in insert).
    leafDelete(leaf, slot, 1);
    afterDelete();
    // A fresh descent from the root (the delete may have moved it) for the insert.
    pathLength = 0;
    insertItem(data, size);
    if (CHECKS) assert(pathLinked()); // an insert that left the path unlinked
    return;
  }
  const at = leafResize(leaf, slot, size);
  memory.copy(at, data, size);
  if (CHECKS) assert(pathLinked()); // an update that left the path unlinked
  if (CHECKS) assert(dataSize(leaf, slot) == size); // an update that left its item at another size
  // an update that wrote elsewhere than its item's data
  if (CHECKS) assert(dataAddr(leaf, slot) == at);
  reportPointers(leaf, leafBytenr, slot, slot + 1, 1);
  // The new size is found from the root; the walk is through copies only.
  if (CHECKS) assert(lookupItem() && load<u32>(threadArea() + TA_RESULT + CR_SIZE) == size);
}

/** Delete the item with the key at TA_KEY; false when absent. */
export function deleteItem(): bool {
  if (!descend(opKey(), true)) return false;
  deleteRunAtPath(1);
  return true;
}

/**
 * The items after the one at the path (lookupForChange found it) in the same leaf whose key
 * has `objectid` and a type in [lowType, highType], up to the leaf's end: how many (deleteRunAtPath
 * takes them too).
 */
export function followingAtPath(objectid: u64, lowType: u32, highType: u32): u32 {
  if (CHECKS) assert(pathAtKey(true)); // a run looked for at a path that is not the found key's
  assert(lowType <= highType, "ctree: a run of no types");
  const leaf = view(pathBytenr(0));
  const n = nritems(leaf);
  assert(pathSlot(0) < n, "ctree: a run after a slot past the leaf's items");
  let count: u32 = 0;
  for (let s = pathSlot(0) + 1; s < n; s++) {
    const key = itemAt(leaf, s);
    const type = <u32>load<u8>(key + KEY_TYPE);
    if (load<u64>(key + KEY_OBJECTID) != objectid || type < lowType || type > highType) break;
    count++;
  }
  return count;
}

/**
 * Does the path's leaf end `count` items after the path's slot (more may follow in the next leaf)?
 */
export function runEndsLeafAtPath(count: u32): bool {
  return pathSlot(0) + count >= nritems(view(pathBytenr(0)));
}

/**
 * Delete `count` items from the path's slot on (lookupForChange found the first): one data move.
 */
export function deleteRunAtPath(count: u32): void {
  if (CHECKS) assert(pathAtKey(true)); // a delete at a path that is not the key's
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const slot = pathSlot(0);
  const n = nritems(leaf);
  assert(count > 0 && slot + count <= n, "ctree: a run to delete outside the leaf");
  reportPointers(leaf, leafBytenr, slot, slot + count, -1);
  leafDelete(leaf, slot, count);
  if (CHECKS) assert(nritems(leaf) == n - count); // a delete that did not remove the run
  if (slot == 0 && nritems(leaf) > 0) fixLowKeys(0, keyAt(leaf, 0));
  afterDelete();
}
