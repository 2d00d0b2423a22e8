// One B-tree node at an absolute address (a pool buffer or the device's visible bytes):
// btrfs's extent buffer accessors. Leaf: items [key, data offset, data size] from the
// front, data packed from the end, item 0's data last. Internal: key pointers [key, block
// pointer, generation].
//
//   leaf:      | header | item 0 | item 1 | ... free ... | data n-1 | ... | data 0 |
//   internal:  | header | ptr 0 | ptr 1 | ... free ...                              |
import {
  NODE_HEADER_BYTES, NODE_NRITEMS, NODE_LEVEL, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES,
  LEAF_DATA_OFFSET, LEAF_DATA_SIZE, PTR_BLOCK, PTR_GENERATION, SECTOR_BYTES,
} from "../abi";
import { nodeBytes, poolAddr, poolCount, totalBytes } from "./state";
import { compareKeysAt } from "./key";
import { visibleAddr } from "../pmem/state";
import { CHECKS } from "../shared/checks";

// Nodes are pool buffers (dirty blocks) or the device's visible bytes (clean blocks the
// tree checker passed); only pool buffers change (copy-on-write). The checks here are of
// arguments (addresses, slots within a node's capacity) and of dirty nodes being changed:
// never of what a clean block holds (the tree checker and the walks report that).

/** Is `node` one of the pool's buffers (a dirty block of this transaction)? */
@inline export function inPool(node: usize): bool {
  return node >= poolAddr && node - poolAddr < <usize>poolCount * nodeBytes
    && (node - poolAddr) % nodeBytes == 0;
}

/**
 * Is `node` a node address: a pool buffer, or inside the device's visible bytes? (Only
 * inside: nodeAddr answers a verified sector's address for any bytenr in that sector.)
 */
@inline export function nodeInMemory(node: usize): bool {
  return inPool(node) || (node >= visibleAddr && <u64>(node - visibleAddr) < <u64>totalBytes);
}

/** Items a leaf has room for (each with no data). */
@inline export function leafCapacity(): u32 {
  return (nodeBytes - NODE_HEADER_BYTES) / LEAF_ITEM_BYTES;
}

// nritems, level and isLeaf also read nodes anywhere in memory (btree_node_search): no checks.
@inline export function nritems(node: usize): u32 { return load<u32>(node + NODE_NRITEMS); }
@inline export function setNritems(node: usize, n: u32): void {
  assert(inPool(node), "clean block changed");
  // more items than the node holds
  if (CHECKS) assert(n <= (isLeaf(node) ? leafCapacity() : ptrCapacity()));
  store<u32>(node + NODE_NRITEMS, n);
}
@inline export function level(node: usize): u32 { return <u32>load<u8>(node + NODE_LEVEL); }
@inline export function isLeaf(node: usize): bool { return load<u8>(node + NODE_LEVEL) == 0; }

// --- keys ------------------------------------------------------------------------------

// Slots up to the capacity: one past the last is an address copies start or end at.
@inline export function itemAt(node: usize, slot: u32): usize {
  if (CHECKS) assert(nodeInMemory(node)); // not a pool buffer nor a block of the device
  if (CHECKS) assert(slot <= leafCapacity()); // an item slot beyond the leaf
  return node + NODE_HEADER_BYTES + <usize>slot * LEAF_ITEM_BYTES;
}
@inline export function ptrAt(node: usize, slot: u32): usize {
  if (CHECKS) assert(nodeInMemory(node)); // not a pool buffer nor a block of the device
  if (CHECKS) assert(slot <= ptrCapacity()); // a pointer slot beyond the node
  return node + NODE_HEADER_BYTES + <usize>slot * KEY_PTR_BYTES;
}
/** Address of the key of `slot` (an item in a leaf, a key pointer in a node). */
@inline export function keyAt(node: usize, slot: u32): usize {
  if (CHECKS) assert(nodeInMemory(node)); // not a pool buffer nor a block of the device
  if (CHECKS) assert(!inPool(node) || slot < nritems(node)); // a key a dirty node does not have
  return isLeaf(node) ? itemAt(node, slot) : ptrAt(node, slot);
}

@inline export function copyKey(dst: usize, src: usize): void {
  // a key copied onto itself or an overlapping key
  if (CHECKS) assert(dst + KEY_BYTES <= src || src + KEY_BYTES <= dst);
  memory.copy(dst, src, KEY_BYTES);
}

// --- leaf ------------------------------------------------------------------------------

@inline export function dataOffset(node: usize, slot: u32): u32 {
  if (CHECKS) assert(slot < leafCapacity()); // the data of an item slot beyond the leaf
  // the data of an item a dirty leaf does not have
  if (CHECKS) assert(!inPool(node) || slot < nritems(node));
  // btrfs counts an item's data offset from the end of the header.
  return load<u32>(itemAt(node, slot) + LEAF_DATA_OFFSET) + NODE_HEADER_BYTES;
}
/** Set an item's data offset, `offset` from the node's start (stored from the header's end). */
@inline function setDataOffset(node: usize, slot: u32, offset: u32): void {
  // a data offset outside a dirty leaf
  if (CHECKS) assert(inPool(node) && offset >= NODE_HEADER_BYTES && offset <= nodeBytes);
  if (CHECKS) assert(slot < nritems(node)); // the offset of an item the leaf does not have
  store<u32>(itemAt(node, slot) + LEAF_DATA_OFFSET, offset - NODE_HEADER_BYTES);
}
@inline export function dataSize(node: usize, slot: u32): u32 {
  if (CHECKS) assert(slot < leafCapacity()); // the size of an item slot beyond the leaf
  // the size of an item a dirty leaf does not have
  if (CHECKS) assert(!inPool(node) || slot < nritems(node));
  return load<u32>(itemAt(node, slot) + LEAF_DATA_SIZE);
}
/** Absolute address of the item's data. */
@inline export function dataAddr(node: usize, slot: u32): usize {
  if (CHECKS) assert(nodeInMemory(node)); // not a pool buffer nor a block of the device
  return node + dataOffset(node, slot);
}
/** End (relative) of the data area used by items before `slot`. */
@inline function dataEnd(node: usize, slot: u32): u32 {
  if (CHECKS) assert(!inPool(node) || slot <= nritems(node)); // past a dirty leaf's items
  if (CHECKS) assert(slot <= leafCapacity()); // the data end of an item slot beyond the leaf
  return slot == 0 ? nodeBytes : dataOffset(node, slot - 1);
}

/**
 * Debug builds: is a dirty leaf packed (item i's data ends where item i - 1's starts, item
 * 0's at the node's end, and no data reaches the items)? Copies of leaves the tree checker
 * passed are, and leafInsert, leafDelete and leafResize keep them so. Release: true.
 */
function leafPacked(node: usize): bool {
  if (!CHECKS) return true;
  assert(inPool(node) && isLeaf(node), "not a dirty leaf");
  const n = nritems(node);
  for (let i: u32 = 0; i < n; i++) {
    if (dataOffset(node, i) + dataSize(node, i) != dataEnd(node, i)) return false;
  }
  return n == 0 || dataOffset(node, n - 1) >= NODE_HEADER_BYTES + n * LEAF_ITEM_BYTES;
}

/** Free bytes of a leaf (callers ask it of dirty leaves they change). */
export function leafFreeBytes(node: usize): u32 {
  // free bytes of a block that is not a dirty leaf
  if (CHECKS) assert(inPool(node) && isLeaf(node));
  const n = nritems(node);
  const low = n == 0 ? nodeBytes : dataOffset(node, n - 1);
  // a dirty leaf whose data overlaps its items
  if (CHECKS) assert(<u64>low >= <u64>NODE_HEADER_BYTES + <u64>n * LEAF_ITEM_BYTES);
  return low - NODE_HEADER_BYTES - n * LEAF_ITEM_BYTES;
}

@inline export function leafUsedBytes(node: usize): u32 {
  if (CHECKS) assert(isLeaf(node)); // leaf bytes of an internal node
  return nodeBytes - NODE_HEADER_BYTES - leafFreeBytes(node);
}

/**
 * Open a gap at `slot` for `items` item headers whose data take `bytes` together: the data
 * of the items from `slot` on moves down by `bytes`, their headers up by `items`. Returns
 * the end (relative) of the gap's data: the first new item's data ends there.
 */
function leafOpenGap(node: usize, slot: u32, items: u32, bytes: u32): u32 {
  assert(inPool(node) && isLeaf(node), "not a dirty leaf");
  assert(items == 1 || items == 2, "leaf insert: one or two items at a time");
  const n = nritems(node);
  if (CHECKS) assert(leafPacked(node)); // a dirty leaf not packed before the change
  assert(slot <= n, "slot outside node");
  assert(leafFreeBytes(node) >= bytes + items * LEAF_ITEM_BYTES,
    "leaf insert: no room (caller must split)");
  const end = dataEnd(node, slot);
  if (slot < n) {
    const low = dataOffset(node, n - 1);
    memory.copy(node + low - bytes, node + low, end - low);
    for (let i = slot; i < n; i++) setDataOffset(node, i, dataOffset(node, i) - bytes);
    memory.copy(itemAt(node, slot + items), itemAt(node, slot),
      <usize>(n - slot) * LEAF_ITEM_BYTES);
  }
  setNritems(node, n + items);
  // a gap that did not open where asked
  if (CHECKS) assert(nritems(node) == n + items && end <= nodeBytes);
  return end;
}

/** Item header `slot`: key at `key`, data of `size` bytes ending at `end`. */
@inline function setItem(node: usize, slot: u32, key: usize, end: u32, size: u32): void {
  if (CHECKS) assert(slot < nritems(node)); // an item header set past the leaf's items
  // an item's data over the item headers
  if (CHECKS) {
    assert(<u64>end >= <u64>size + <u64>NODE_HEADER_BYTES + <u64>nritems(node) * LEAF_ITEM_BYTES);
  }
  copyKey(itemAt(node, slot), key);
  setDataOffset(node, slot, end - size);
  store<u32>(itemAt(node, slot) + LEAF_DATA_SIZE, size);
}

/** Make room for an item of `size` bytes with key at `key` at `slot`; returns the data address. */
export function leafInsert(node: usize, slot: u32, key: usize, size: u32): usize {
  assert(size <= nodeBytes - NODE_HEADER_BYTES - LEAF_ITEM_BYTES,
    "leaf insert: an item larger than a leaf");
  const end = leafOpenGap(node, slot, 1, size);
  setItem(node, slot, key, end, size);
  if (CHECKS) assert(leafPacked(node)); // a leaf no longer packed
  // an item not where it was put
  if (CHECKS) assert(compareKeysAt(itemAt(node, slot), key) == 0 && dataSize(node, slot) == size);
  return node + end - size;
}

/**
 * Two items side by side at `slot` and `slot + 1` (keys at key1 < key2, data sizes size1 and
 * size2) with one move of the items after them: what two leafInserts do with half the
 * memory moved. Returns the first one's data address (the second's is at it - size2).
 */
export function leafInsertTwo(
  node: usize, slot: u32, key1: usize, size1: u32, key2: usize, size2: u32,
): usize {
  assert(compareKeysAt(key1, key2) < 0, "leafInsertTwo: keys out of order");
  const end = leafOpenGap(node, slot, 2, size1 + size2);
  setItem(node, slot, key1, end, size1);
  setItem(node, slot + 1, key2, end - size1, size2);
  if (CHECKS) assert(leafPacked(node)); // a leaf no longer packed
  // the first item not where it was put
  if (CHECKS) assert(compareKeysAt(itemAt(node, slot), key1) == 0 && dataSize(node, slot) == size1);
  // the second item not where it was put
  if (CHECKS) {
    assert(compareKeysAt(itemAt(node, slot + 1), key2) == 0 && dataSize(node, slot + 1) == size2);
  }
  return node + end - size1;
}

/** Remove `count` items from `slot`. */
export function leafDelete(node: usize, slot: u32, count: u32): void {
  assert(inPool(node), "clean block changed");
  assert(isLeaf(node), "not a leaf");
  const n = nritems(node);
  if (CHECKS) assert(leafPacked(node)); // a dirty leaf not packed before the change
  if (count == 0) return;
  assert(slot + count <= n, "leafDelete: beyond the items");
  const last = slot + count - 1;
  const freed = dataEnd(node, slot) - dataOffset(node, last);
  if (last < n - 1) {
    const low = dataOffset(node, n - 1);
    const moveEnd = dataOffset(node, last);
    memory.copy(node + low + freed, node + low, moveEnd - low);
    for (let i = last + 1; i < n; i++) setDataOffset(node, i, dataOffset(node, i) + freed);
    memory.copy(itemAt(node, slot), itemAt(node, last + 1),
      <usize>(n - last - 1) * LEAF_ITEM_BYTES);
  }
  setNritems(node, n - count);
  if (CHECKS) assert(leafPacked(node)); // a leaf no longer packed
}

/**
 * Free bytes of any leaf (a clean one too: the tree checker passed it), from its header and last
 * item.
 */
export function leafRoom(node: usize): u32 {
  assert(isLeaf(node), "not a leaf");
  const n = nritems(node);
  assert(n <= leafCapacity(), "leaf room: more items than a leaf holds");
  const low = n == 0 ? nodeBytes : dataOffset(node, n - 1);
  assert(<u64>low >= <u64>NODE_HEADER_BYTES + <u64>n * LEAF_ITEM_BYTES,
    "leaf room: data over the items");
  return low - NODE_HEADER_BYTES - n * LEAF_ITEM_BYTES;
}

/** Bytes items [from, to) of a leaf take: their data and their item headers. */
export function leafItemsBytes(node: usize, from: u32, to: u32): u32 {
  assert(from <= to && to <= nritems(node), "slots outside node");
  if (from == to) return 0;
  return dataEnd(node, from) - dataOffset(node, to - 1) + (to - from) * LEAF_ITEM_BYTES;
}

/**
 * Move items [m, n) of dirty leaf `left` to the front of dirty leaf `right` (its right
 * sibling): one move of right's data and items, one copy of the moved ones (btrfs's
 * push_leaf_right). The caller checked the room and reports the data pointers.
 */
export function leafMoveTailRight(left: usize, m: u32, right: usize): void {
  assert(inPool(left) && inPool(right) && isLeaf(left) && isLeaf(right),
    "leaf move: not two dirty leaves");
  const n = nritems(left), r = nritems(right);
  assert(m < n, "leaf move: nothing to move");
  const k = n - m;
  assert(leafRoom(right) >= leafItemsBytes(left, m, n), "leaf move: no room on the right");
  const lend = dataEnd(left, m), llow = dataOffset(left, n - 1), bytes = lend - llow;
  // Right's data down by the moved bytes, its items up by k.
  if (r > 0) {
    const rlow = dataOffset(right, r - 1);
    memory.copy(right + rlow - bytes, right + rlow, nodeBytes - rlow);
    for (let i: u32 = 0; i < r; i++) setDataOffset(right, i, dataOffset(right, i) - bytes);
    memory.copy(itemAt(right, k), itemAt(right, 0), <usize>r * LEAF_ITEM_BYTES);
  }
  // The moved data at right's end, the moved items first.
  memory.copy(right + nodeBytes - bytes, left + llow, bytes);
  memory.copy(itemAt(right, 0), itemAt(left, m), <usize>k * LEAF_ITEM_BYTES);
  for (let i: u32 = 0; i < k; i++) {
    store<u32>(itemAt(right, i) + LEAF_DATA_OFFSET,
      load<u32>(itemAt(right, i) + LEAF_DATA_OFFSET) + (nodeBytes - lend));
  }
  setNritems(right, r + k);
  setNritems(left, m);
  if (CHECKS) assert(leafPacked(left) && leafPacked(right)); // a leaf not packed after the move
}

/**
 * Move items [0, m) of dirty leaf `right` to the end of dirty leaf `left` (its left
 * sibling): btrfs's push_leaf_left. The caller checked the room and reports the pointers.
 */
export function leafMoveHeadLeft(right: usize, m: u32, left: usize): void {
  assert(inPool(left) && inPool(right) && isLeaf(left) && isLeaf(right),
    "leaf move: not two dirty leaves");
  const n = nritems(right), l = nritems(left);
  assert(m > 0 && m <= n, "leaf move: nothing to move");
  assert(leafRoom(left) >= leafItemsBytes(right, 0, m), "leaf move: no room on the left");
  const rlow = dataOffset(right, m - 1), bytes = nodeBytes - rlow;
  const llow = l == 0 ? nodeBytes : dataOffset(left, l - 1);
  memory.copy(left + llow - bytes, right + rlow, bytes);
  memory.copy(itemAt(left, l), itemAt(right, 0), <usize>m * LEAF_ITEM_BYTES);
  for (let i: u32 = 0; i < m; i++) {
    store<u32>(itemAt(left, l + i) + LEAF_DATA_OFFSET,
      load<u32>(itemAt(left, l + i) + LEAF_DATA_OFFSET) - (nodeBytes - llow));
  }
  setNritems(left, l + m);
  leafDelete(right, 0, m);
  if (CHECKS) assert(leafPacked(left) && leafPacked(right)); // a leaf not packed after the move
}

/** Change an item's data size, keeping its first min(old, new) bytes; returns its data address. */
export function leafResize(node: usize, slot: u32, newSize: u32): usize {
  assert(inPool(node), "clean block changed");
  assert(isLeaf(node), "not a leaf");
  const n = nritems(node);
  if (CHECKS) assert(leafPacked(node)); // a dirty leaf not packed before the change
  assert(slot < n, "slot outside node");
  const old = dataSize(node, slot);
  const delta = <i64>newSize - <i64>old;
  assert(delta <= 0 || <i64>leafFreeBytes(node) >= delta,
    "leafResize: no room (caller must split)");
  const low = dataOffset(node, n - 1);
  const keepEnd = dataOffset(node, slot) + min<u32>(old, newSize);
  memory.copy(<usize>(<i64>(node + low) - delta), node + low, keepEnd - low);
  for (let i = slot; i < n; i++) setDataOffset(node, i, <u32>(<i64>dataOffset(node, i) - delta));
  store<u32>(itemAt(node, slot) + LEAF_DATA_SIZE, newSize);
  if (CHECKS) assert(leafPacked(node)); // a leaf no longer packed
  return dataAddr(node, slot);
}

// --- internal --------------------------------------------------------------------------

@inline export function child(node: usize, slot: u32): u64 {
  if (CHECKS) assert(slot < ptrCapacity()); // a child slot beyond the node
  if (CHECKS) assert(!inPool(node) || slot < nritems(node)); // a child a dirty node does not have
  return load<u64>(ptrAt(node, slot) + PTR_BLOCK);
}
@inline export function childGeneration(node: usize, slot: u32): u64 {
  if (CHECKS) assert(slot < ptrCapacity()); // a child slot beyond the node
  // a child generation a dirty node does not have
  if (CHECKS) assert(!inPool(node) || slot < nritems(node));
  return load<u64>(ptrAt(node, slot) + PTR_GENERATION);
}

@inline export function setChild(node: usize, slot: u32, bytenr: u64, generation: u64): void {
  assert(inPool(node), "clean block changed");
  if (CHECKS) assert(slot <= nritems(node)); // a pointer set past the node's pointers
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  assert(generation != 0, "generation 0");
  store<u64>(ptrAt(node, slot) + PTR_BLOCK, bytenr);
  store<u64>(ptrAt(node, slot) + PTR_GENERATION, generation);
}

@inline export function ptrCapacity(): u32 {
  assert(nodeBytes >= SECTOR_BYTES, "no state attached");
  return (nodeBytes - NODE_HEADER_BYTES) / KEY_PTR_BYTES;
}

/** Insert a key pointer (key at `key`) at `slot`. */
export function ptrInsert(node: usize, slot: u32, key: usize, bytenr: u64, generation: u64): void {
  assert(inPool(node), "clean block changed");
  assert(!isLeaf(node), "leaf, not a node");
  const n = nritems(node);
  assert(n < ptrCapacity(), "ptrInsert: node full (caller must split)");
  assert(slot <= n, "slot outside node");
  memory.copy(ptrAt(node, slot + 1), ptrAt(node, slot), <usize>(n - slot) * KEY_PTR_BYTES);
  copyKey(ptrAt(node, slot), key);
  setChild(node, slot, bytenr, generation);
  setNritems(node, n + 1);
  // a pointer not where it was put
  if (CHECKS) assert(compareKeysAt(ptrAt(node, slot), key) == 0 && child(node, slot) == bytenr);
}

export function ptrDelete(node: usize, slot: u32, count: u32): void {
  assert(inPool(node), "clean block changed");
  assert(!isLeaf(node), "leaf, not a node");
  const n = nritems(node);
  if (CHECKS) assert(n <= ptrCapacity()); // a dirty node with more pointers than fit
  assert(slot + count <= n, "ptrDelete: beyond the pointers");
  memory.copy(ptrAt(node, slot), ptrAt(node, slot + count),
    <usize>(n - slot - count) * KEY_PTR_BYTES);
  setNritems(node, n - count);
}
