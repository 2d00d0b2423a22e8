// The COW B-tree (btrfs's ctree.c), in place over the pool buffers and the device's
// visible bytes. Every change goes through a copy-on-write descent: a node not yet copied
// in this transaction is copied to a new block, and the parent (or the root pointer) is
// moved to the copy. Reference counts are never decided here: every pointer that appears
// or disappears becomes a delayed ref (delayed-ref.ts), applied at the commit.
//
// Walks trust no pointer: a child must be one level below its parent, carry the
// generation the parent's pointer records, and hold keys inside the parent's range for
// it. Levels fall by one per step from at most MAX_LEVEL and key ranges of siblings are
// disjoint, so no walk of a corrupted tree can loop or reach one block twice.
//
// Errors do not return: fail() (operation.ts) records the problem in this thread's area and
// calls the host's fs_fail, which throws (an FsError in TypeScript); the operation's frames
// unwind. The operation in progress is one thread's: its tree, root (operation.ts) and path
// live in this instance's globals and this thread's area.
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES, NODE_GENERATION, KEY_OBJECTID,
  KEY_TYPE, KEY_OFFSET, TA_PATH, PATH_BYTES, TA_KEY, TA_ZERO_KEY, TA_SEEK_KEY, TA_RESULT, CR_ROOT,
  CR_LEVEL, CR_LEAF, CR_SLOT, CR_DATA, CR_SIZE, PR_TREE, P_CHILD_LEVEL, P_CHILD_STALE,
  P_CHILD_EMPTY, P_CHILD_LOW, P_CHILD_HIGH, P_NODE_LEVEL, P_NOT_COPY, P_ITEM_TOO_LARGE,
  P_ITEM_NO_FIT, P_KEY_EXISTS, P_KEY_MISSING, P_NO_METADATA_SPACE, P_POOL_EMPTY, P_BLOCK_IN_USE,
  EUCLEAN, EFBIG, EEXIST, ENOENT, ENOSPC, NEEDS_HEAL, ROOT_POINTER, MAX_LEVEL, MAX_KEY_VALUE,
  SECTOR_SHIFT, F_TREE_CHANGES, NODE_OWNER, EIO, CHUNK_TREE_ID, CHUNK_SYSTEM, CHUNK_METADATA,
  NODE_BYTENR,
} from "../abi";
import { compareKeyTo, compareKeysAt } from "./key";
import {
  fsBase, nodeBytes, threadArea, dirtyBuffer, isVerified, freshBitsAddr, rootSlotOf, copies,
  totalBytes, committedGeneration,
} from "./state";
import { nodeAddr, problemRecord } from "./disk-io";
import { cowBlock, newBlock } from "./transaction";
import { allocateTreeBlock } from "./free-space";
import { treeBlockPlaced } from "./chunks";
import { setRange } from "./bitmap";
import {
  nritems, setNritems, level, isLeaf, itemAt, ptrAt, keyAt, copyKey, dataSize, dataAddr,
  leafFreeBytes, leafUsedBytes, leafInsert, leafDelete, leafResize, child, childGeneration,
  setChild, leafRoom, leafItemsBytes, leafMoveTailRight, leafMoveHeadLeft, leafInsertTwo,
  ptrCapacity, ptrInsert, ptrDelete, inPool, nodeInMemory, leafCapacity, dataOffset,
} from "./node";
import { visibleAddr } from "../pmem/state";
import { refChange } from "./delayed-ref";
import { CHECKS } from "../shared/checks";
import { RootSlot } from "./root-slot";
import { treeId, treeRoot, treeLevel, hostFail, fail } from "./operation";
import { pointersMoved, noteDropCandidate } from "./dropped";
import { reportPointers, rootMoved, convertToFull } from "./node-pointers";
import { isFsTree } from "./root-slot";


// --- the host ---------------------------------------------------------------------------

/** Rewrite copy 1 of `bytenr` from its good copy 2 and mark it verified (dup). */
@external("env", "fs_heal")
declare function hostHeal(bytenr: f64): void;

// --- the walk in progress (this instance's) ------------------------------------------------

// Its tree, root and level are operation.ts's.
let pathLength: u32 = 0;

@inline function pathEntry(lv: u32): usize {
  assert(lv <= MAX_LEVEL, "ctree: path deeper than MAX_LEVEL");
  return threadArea() + TA_PATH + <usize>lv * PATH_BYTES;
}
@inline function pathBytenr(lv: u32): u64 {
  if (CHECKS) assert(lv < pathLength); // a path level the walk did not reach
  return load<u64>(pathEntry(lv));
}
@inline function pathSlot(lv: u32): u32 {
  if (CHECKS) assert(lv < pathLength); // a path level the walk did not reach
  return load<u32>(pathEntry(lv) + 8);
}
@inline function setPath(lv: u32, bytenr: u64, slot: u32): void {
  if (CHECKS) assert(lv < pathLength); // a path level above the root
  if (CHECKS) assert(bytenr != 0); // a path through no block
  store<u64>(pathEntry(lv), bytenr);
  store<u32>(pathEntry(lv) + 8, slot);
}

@inline function opKey(): usize { return threadArea() + TA_KEY; }

/** Start an operation on tree `id` with root `root` at `rootLevel`; the key goes to TA_KEY. */
export function begin(id: u64, root: u64, rootLevel: u32, objectid: u64, type: u32, offset: u64): void {
  assert(rootLevel <= MAX_LEVEL, "bad level");
  assert(type <= 255, "key type");
  treeId = id;
  treeRoot = root;
  treeLevel = rootLevel;
  pathLength = 0;
  const key = opKey();
  store<u64>(key + KEY_OBJECTID, objectid);
  store<u8>(key + KEY_TYPE, <u8>type);
  store<u64>(key + KEY_OFFSET, offset);
}



/** The tree's root and level after the operation, for the caller. */
export function finish(): void {
  assert(treeLevel <= MAX_LEVEL, "bad level");
  if (CHECKS) assert(treeRoot != 0); // a result without a root
  const result = threadArea() + TA_RESULT;
  store<u64>(result + CR_ROOT, treeRoot);
  store<u32>(result + CR_LEVEL, treeLevel);
}

function setFound(leaf: usize, slot: u32): void {
  // A search result: at most one past the leaf's last item (where the key would go).
  assert(slot <= nritems(leaf), "slot outside node");
  if (CHECKS) assert(isLeaf(leaf)); // a result in an internal node
  const result = threadArea() + TA_RESULT;
  store<u32>(result + CR_LEAF, <u32>leaf);
  store<u32>(result + CR_SLOT, slot);
  const inside = slot < nritems(leaf);
  store<u32>(result + CR_DATA, inside ? <u32>dataAddr(leaf, slot) : 0);
  store<u32>(result + CR_SIZE, inside ? dataSize(leaf, slot) : 0);
}

// --- blocks -------------------------------------------------------------------------------

@inline function isDirty(bytenr: u64): bool {
  return dirtyBuffer(bytenr) != 0;
}

/** The address of a block's content: dirty buffer, or the verified device bytes. */
function view(bytenr: u64): usize {
  const addr = nodeAddr(bytenr);
  if (addr >= 0) {
    if (CHECKS) assert(nodeInMemory(<usize>addr)); // a block's content outside the pool and the device
    return <usize>addr;
  }
  if (addr == -<i64>NEEDS_HEAL) {
    assert(copies == 2, "heal, 1 copy");
    hostHeal(<f64>bytenr);
    if (CHECKS) assert(isVerified(bytenr)); // the host healed a block without marking it verified
    return visibleAddr + <usize>bytenr;
  }
  assert(addr == -<i64>EIO || addr == -<i64>EUCLEAN, "read error");
  store<u64>(problemRecord(0) + PR_TREE, treeId);
  hostFail(<i32>addr); // the problem records say which copy failed how
  unreachable();
  return 0;
}

@inline function generationOf(node: usize): u64 {
  if (CHECKS) assert(nodeInMemory(node)); // a generation read outside the pool and the device
  return load<u64>(node + NODE_GENERATION);
}

/**
 * A new tree block: the highest aligned free run of a metadata chunk (a system chunk for the
 * chunk tree's blocks: btrfs finds them through the superblock's sys_chunk_array).
 */
function allocMetadata(): u64 {
  const blockSectors = nodeBytes >> SECTOR_SHIFT;
  assert(blockSectors > 0, "block size");
  const sector = allocateTreeBlock(treeId == CHUNK_TREE_ID ? CHUNK_SYSTEM : CHUNK_METADATA);
  if (sector < 0) fail(ENOSPC, P_NO_METADATA_SPACE, 0, 0, 0, 0, 0);
  const at = <u64>sector << SECTOR_SHIFT;
  // A block read in this mount is in use: free space built from a corrupted extent tree
  // (a missing METADATA_ITEM) must not hand it out, or a copy would overwrite it.
  if (isVerified(at)) fail(EUCLEAN, P_BLOCK_IN_USE, at, 0, 0, 0, 0);
  setRange(freshBitsAddr, <u32>sector, <u32>sector + blockSectors, true);
  assert(at % nodeBytes == 0, "block unaligned");
  assert(at + nodeBytes <= <u64>totalBytes, "block past device");
  if (CHECKS) assert(treeBlockPlaced(at)); // a new block a pointer could not name
  return at;
}

/** Copy block `bytenr` to a new dirty block of this tree; returns the copy's bytenr. */
/**
 * May another tree reference this clean block (btrfs's btrfs_block_can_be_shared)? Yes
 * when another tree owns it, or when it is as old as the tree's last snapshot (the
 * snapshot shares every block the tree had then). A block that cannot be shared has one
 * reference, the one the copy replaces: the copy takes over its pointers and neither
 * reports them (for a leaf, -1 and +1 of the same back references: no change at all).
 */
function canBeShared(node: usize): bool {
  assert(node != 0 && treeId != 0, "ctree: sharing asked of no block or no tree");
  if (CHECKS) assert(!isLeaf(node) || level(node) == 0); // a block that is neither leaf nor internal
  if (load<u64>(node + NODE_OWNER) != treeId) return true;
  if (!isFsTree(treeId)) return false; // the root, extent and csum trees are never snapshotted
  const slot = rootSlotOf(treeId);
  return slot == 0 || generationOf(node) <= changetype<RootSlot>(slot).lastSnapshot;
}

function cowNode(bytenr: u64): u64 {
  if (CHECKS) assert(!isDirty(bytenr)); // a copy of a block that is a copy already
  const src = view(bytenr);
  const next = allocMetadata();
  const copy = cowBlock(src, next, treeId);
  if (copy == 0) fail(ENOSPC, P_POOL_EMPTY, next, 0, 0, 0, 0);
  if (CHECKS) assert(generationOf(copy) == committedGeneration() + 1); // a copy without this transaction's generation
  return next;
}

/** A new, empty, dirty node of the operation's tree at `lv`. */
export function allocNode(lv: u32): u64 {
  // A grown root may be one above MAX_LEVEL: the walk refuses it (P_NODE_LEVEL).
  assert(lv <= MAX_LEVEL + 1, "bad level");
  const next = allocMetadata();
  const node = newBlock(next, treeId, lv);
  if (node == 0) fail(ENOSPC, P_POOL_EMPTY, next, 0, 0, 0, 0);
  if (CHECKS) assert(level(node) == lv); // a new node at another level
  if (CHECKS) assert(nritems(node) == 0); // a new node that is not empty
  return next;
}


// --- checked walks --------------------------------------------------------------------------

/**
 * The child at parent[slot], checked against its parent. `high` is the address of the
 * exclusive upper bound of the parent's own keys (0: none). A dirty child was made by this
 * transaction and is trusted; a clean one was read from the device and must be one level
 * lower, of the generation the pointer records, non-empty, and hold keys in
 * [parent key(slot), parent key(slot + 1) or high).
 */
export function checkedChild(parent: usize, parentBytenr: u64, slot: u32, high: usize): usize {
  assert(!isLeaf(parent), "leaf, not a node");
  assert(slot < nritems(parent), "slot outside node");
  if (CHECKS) assert(parentBytenr != 0); // a parent that is no block
  const bytenr = child(parent, slot);
  const node = view(bytenr);
  if (isDirty(bytenr)) return node;
  const parentLevel = level(parent);
  if (level(node) + 1 != parentLevel) fail(EUCLEAN, P_CHILD_LEVEL, parentBytenr, slot, level(node), parentLevel, bytenr);
  if (generationOf(node) != childGeneration(parent, slot)) {
    fail(EUCLEAN, P_CHILD_STALE, parentBytenr, slot, generationOf(node), childGeneration(parent, slot), bytenr);
  }
  const n = nritems(node);
  if (n == 0) fail(EUCLEAN, P_CHILD_EMPTY, parentBytenr, slot, 0, 0, bytenr);
  const first = keyAt(node, 0), last = keyAt(node, n - 1), low = ptrAt(parent, slot);
  if (compareKeysAt(first, low) < 0) fail(EUCLEAN, P_CHILD_LOW, parentBytenr, slot, first, low, bytenr);
  const bound = upperBound(parent, slot, high);
  if (bound != 0 && compareKeysAt(last, bound) >= 0) fail(EUCLEAN, P_CHILD_HIGH, parentBytenr, slot, last, bound, bytenr);
  return node;
}

/** Address of the upper bound for the keys of parent[slot]'s subtree, given the parent's own (0: none). */
@inline function upperBound(parent: usize, slot: u32, high: usize): usize {
  if (CHECKS) assert(slot < nritems(parent)); // the bound of a slot the parent does not have
  return slot + 1 < nritems(parent) ? ptrAt(parent, slot + 1) : high;
}

/** Binary search of one node: the slot holding the key, or -(insertion slot) - 1. */
export function nodeSearch(node: usize, objectid: u64, type: u32, offset: u64): i32 {
  const count = nritems(node);
  if (CHECKS) assert(count <= (isLeaf(node) ? leafCapacity() : ptrCapacity())); // a node searched past its capacity (the tree checker refuses it)
  const stride: usize = isLeaf(node) ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  let low: i32 = 0;
  let high: i32 = <i32>count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareKeyTo(node + NODE_HEADER_BYTES + <usize>mid * stride, objectid, type, offset);
    if (c < 0) low = mid + 1;
    else if (c > 0) high = mid;
    else return mid;
  }
  if (CHECKS) assert(low >= 0 && <u32>low <= count); // an insertion slot outside the node
  return -low - 1;
}

@inline function searchKey(node: usize, key: usize): i32 {
  const r = nodeSearch(node, load<u64>(key + KEY_OBJECTID), <u32>load<u8>(key + KEY_TYPE), load<u64>(key + KEY_OFFSET));
  if (CHECKS) assert(r < <i32>nritems(node) && r >= -<i32>nritems(node) - 1); // a search result outside the node
  return r;
}

@inline function childSlot(node: usize, key: usize): u32 {
  const r = searchKey(node, key);
  const slot = r >= 0 ? <u32>r : <u32>max<i32>(0, -r - 2);
  if (CHECKS) assert(slot < nritems(node)); // a child slot outside the node
  return slot;
}

// --- copy-on-write descent ------------------------------------------------------------------

function cowRoot(): void {
  assert(treeRoot != 0 && pathLength == 0, "ctree: a root copied without a tree, or in the middle of a walk");
  if (isDirty(treeRoot)) return;
  const shared = canBeShared(view(treeRoot));
  const next = cowNode(treeRoot);
  const copy = view(next);
  if (shared) {
    reportPointers(copy, next, 0, nritems(copy), 1);
    fullIfOwnCopy(treeRoot);
  } else if (!pointersMoved(treeRoot)) fail(EUCLEAN, P_NOT_COPY, treeRoot, 0, 0, 0, 0);
  const old = treeRoot;
  treeRoot = next;
  rootMoved(old, treeLevel, next, treeLevel);
  noteDropCandidate(old, treeId);
  assert(isDirty(treeRoot), "root not a copy");
  if (CHECKS) assert(level(view(treeRoot)) == treeLevel); // a root copy at another level than the tree's
}

/**
 * A block this tree owns and may share was copied: the copy is what the tree reaches now,
 * so the old block, if others keep it, is FULL_BACKREF (its pointers' back references name
 * it). Converted at once (btrfs's update_ref_for_cow): if nothing keeps it, it is freed in
 * this transaction and its drop takes back what the conversion moved.
 */
function fullIfOwnCopy(old: u64): void {
  assert(!isDirty(old), "ctree: a copy converted (only a clean block is copied away from)");
  const node = view(old);
  if (CHECKS) assert(load<u64>(node + NODE_BYTENR) == old); // a block read that names another
  if (load<u64>(node + NODE_OWNER) != treeId || !isFsTree(treeId)) return;
  convertToFull(old, node, treeId);
}

function cowChild(parentBytenr: u64, slot: u32): u64 {
  // Copies go top down: the parent is a copy already, its pointer can move.
  assert(isDirty(parentBytenr), "parent not a copy");
  const parent = view(parentBytenr);
  assert(!isLeaf(parent), "leaf, not a node");
  assert(slot < nritems(parent), "ctree: copy of a child that is not there");
  const old = child(parent, slot);
  if (isDirty(old)) return old;
  const shared = canBeShared(view(old));
  const next = cowNode(old);
  const copy = view(next);
  if (shared) {
    reportPointers(copy, next, 0, nritems(copy), 1);
    fullIfOwnCopy(old);
  } else if (!pointersMoved(old)) fail(EUCLEAN, P_NOT_COPY, old, slot, 0, 0, 0);
  setChild(parent, slot, next, generationOf(copy));
  const below = <i32>level(parent) - 1;
  refChange(<i64>parentBytenr, old, treeId, below, 0, -1);
  refChange(<i64>parentBytenr, next, treeId, below, 0, 1);
  noteDropCandidate(old, treeId);
  if (CHECKS) assert(child(parent, slot) == next && isDirty(next)); // the parent does not point at the copy
  return next;
}

/**
 * A snapshot's root (btrfs's btrfs_copy_root): the operation's tree is the new subvolume,
 * its root the source's (clean). A copy of that block, owned by the new tree, becomes the
 * new tree's root: every pointer it holds is one more reference (its back reference the new
 * tree's), and the new tree's root pointer is its one reference. Returns the copy.
 */
export function copyRoot(): u64 {
  assert(pathLength == 0 && treeRoot != 0, "ctree: a root copied without a tree, or in the middle of a walk");
  assert(isFsTree(treeId), "ctree: only subvolumes are snapshotted");
  const src = view(treeRoot);
  if (CHECKS) assert(level(src) == treeLevel); // a source root at another level than its tree's
  const next = cowNode(treeRoot);
  const copy = view(next);
  assert(load<u64>(copy + NODE_OWNER) == treeId, "ctree: a snapshot root of another tree");
  reportPointers(copy, next, 0, nritems(copy), 1);
  refChange(ROOT_POINTER, next, treeId, <i32>treeLevel, 0, 1);
  treeRoot = next;
  return next;
}

/** Grow the tree by one level: a new root holding one pointer to the old root. */
function growRoot(): void {
  assert(isDirty(treeRoot), "root not a copy");
  const old = treeRoot;
  const oldNode = view(old);
  const oldLevel = level(oldNode);
  const next = allocNode(oldLevel + 1);
  const key = nritems(oldNode) > 0 ? keyAt(oldNode, 0) : threadArea() + TA_ZERO_KEY;
  if (nritems(oldNode) == 0) memory.fill(key, 0, KEY_BYTES);
  const root = view(next);
  ptrInsert(root, 0, key, old, generationOf(oldNode));
  if (CHECKS) assert(child(root, 0) == old); // a grown root that does not point at the old one
  refChange(<i64>next, old, treeId, <i32>oldLevel, 0, 1);
  treeRoot = next;
  treeLevel = oldLevel + 1;
  rootMoved(old, oldLevel, next, treeLevel);
  if (CHECKS) assert(level(root) == treeLevel); // a grown root at another level than the tree's
  if (CHECKS) assert(nritems(root) == 1); // a grown root that does not hold the old one alone
}

/** Split the full internal child at parent[slot] in two; the parent has room. */
function splitInternal(parentBytenr: u64, slot: u32): void {
  const parent = view(parentBytenr);
  const leftBytenr = child(parent, slot);
  const left = view(leftBytenr);
  const n = nritems(left);
  const mid = n >> 1;
  assert(!isLeaf(left), "leaf, not a node");
  assert(n >= 2, "split: not full");
  assert(nritems(parent) < ptrCapacity(), "split: parent full");
  assert(isDirty(parentBytenr), "parent not a copy");
  assert(isDirty(leftBytenr), "node not a copy");
  const rightBytenr = allocNode(level(left));
  const right = view(rightBytenr);
  memory.copy(ptrAt(right, 0), ptrAt(left, mid), <usize>(n - mid) * KEY_PTR_BYTES);
  setNritems(right, n - mid);
  reportPointers(right, rightBytenr, 0, n - mid, 1);
  reportPointers(left, leftBytenr, mid, n, -1);
  setNritems(left, mid);
  ptrInsert(parent, slot + 1, keyAt(right, 0), rightBytenr, generationOf(right));
  if (CHECKS) assert(child(parent, slot) == leftBytenr && child(parent, slot + 1) == rightBytenr); // halves not side by side
  refChange(<i64>parentBytenr, rightBytenr, treeId, <i32>level(left), 0, 1);
  if (CHECKS) assert(!nearlyFull(left)); // an internal split that left its left half nearly full
  if (CHECKS) assert(!nearlyFull(right)); // an internal split that left its right half nearly full
}

@inline function nearlyFull(node: usize): bool {
  return !isLeaf(node) && nritems(node) + 1 >= ptrCapacity();
}

/**
 * Descend to the leaf where the key at `key` is or would be; path[level] holds each node and
 * slot. With cow, every node on the path is made dirty and every nearly full internal node
 * is split on the way down, so a leaf split always finds room in its parent.
 */
function descend(key: usize, cow: bool): bool {
  if (cow) {
    store<u32>(fsBase + F_TREE_CHANGES, load<u32>(fsBase + F_TREE_CHANGES) + 1);
    cowRoot();
    if (nearlyFull(view(treeRoot))) growRoot();
  }
  const top = level(view(treeRoot));
  if (top > MAX_LEVEL) fail(EUCLEAN, P_NODE_LEVEL, treeRoot, 0, top, MAX_LEVEL, 0);
  pathLength = top + 1;
  let bytenr = treeRoot;
  let high: usize = 0;
  let node = view(bytenr);
  for (let lv = top; ; lv--) {
    if (level(node) != lv) fail(EUCLEAN, P_NODE_LEVEL, bytenr, 0, level(node), lv, 0);
    if (lv == 0) {
      const r = searchKey(node, key);
      setPath(0, bytenr, r >= 0 ? <u32>r : <u32>(-r - 1));
      // Every node a change will write must be a copy of this transaction. A clean one here
      // means the allocator handed out a block the tree still uses (a corrupted extent
      // tree): writing it would change committed metadata in place.
      if (cow) {
        for (let l: u32 = 0; l <= top; l++) if (!isDirty(pathBytenr(l))) fail(EUCLEAN, P_NOT_COPY, pathBytenr(l), 0, 0, 0, 0);
      }
      if (CHECKS) assert(pathLinked()); // a walk whose path does not link each node to the next
      return r >= 0;
    }
    let slot = childSlot(node, key);
    const checked = checkedChild(node, bytenr, slot, high);
    if (cow) {
      const copy = cowChild(bytenr, slot);
      if (nearlyFull(view(copy))) {
        splitInternal(bytenr, slot);
        slot = childSlot(node, key);
        cowChild(bytenr, slot); // both halves are dirty already: no copy
      }
      if (CHECKS) assert(isDirty(child(node, slot))); // a changing walk continues through a node that is not a copy
    }
    setPath(lv, bytenr, slot);
    high = upperBound(node, slot, high);
    bytenr = child(node, slot);
    node = cow ? view(bytenr) : checked; // cow moved the pointer to a copy
    // A changing walk split every nearly full node above: a split below fits in its parent.
    if (CHECKS) assert(!cow || !nearlyFull(node)); // a changing walk into a nearly full node
  }
  return false; // not reached: the loop returns at level 0
}

/**
 * Debug builds: does each level of the path point at the level below (path[lv]'s node holds
 * path[lv - 1]'s block at path[lv]'s slot)? The walks and the leaf split keep it so. Release: true.
 */
function pathLinked(): bool {
  if (!CHECKS) return true;
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 1; lv < pathLength; lv++) {
    const node = view(pathBytenr(lv));
    if (pathSlot(lv) >= nritems(node) || child(node, pathSlot(lv)) != pathBytenr(lv - 1)) return false;
  }
  return true;
}

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
function splitLeaf(key: usize, need: u32): void {
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
// engine bench's trees, bench/tree-fill.mjs), and a commit copies, checksums and stores every leaf a
// transaction touched, so the bytes it moves grew with the leaf count, not with the items.

/**
 * Make room for `need` bytes at path[0]'s slot by moving items to a sibling. True when the
 * path's leaf (perhaps the sibling now) has the room at the path's slot.
 */
function pushToSibling(key: usize, need: u32): bool {
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
  const goal = max<u32>(lacking, (leafUsedBytes(leaf) - min<u32>(leafUsedBytes(leaf), nodeBytes - NODE_HEADER_BYTES - room)) / 2);
  let m = n, moved: u32 = 0;
  while (m > slot && moved < goal && moved + leafItemsBytes(leaf, m - 1, m) <= room) { moved += leafItemsBytes(leaf, m - 1, m); m--; }
  // An insert at the leaf's end may go to the sibling's front instead.
  const toSibling = slot == n && room >= need;
  if (moved < lacking && !toSibling) return false;
  assert(m >= slot && (m < n || toSibling), "ctree: a push right past the insertion slot, or of nothing");
  const rightBytenr = cowChild(parentBytenr, pslot + 1);
  const right = view(rightBytenr);
  if (m < n) {
    reportPointers(leaf, leafBytenr, m, n, -1);
    leafMoveTailRight(leaf, m, right);
    reportPointers(right, rightBytenr, 0, n - m, 1);
    copyKey(keyAt(view(parentBytenr), pslot + 1), keyAt(right, 0));
  }
  if (moved < lacking) setPath(0, rightBytenr, 0); // the sibling's front (insertAtPath fixes its key)
  if (moved < lacking) setPath(1, parentBytenr, pslot + 1);
  if (CHECKS) assert(pathLinked() && leafFreeBytes(view(pathBytenr(0))) >= need); // a push that left no room or an unlinked path
  return true;
}

function pushLeft(key: usize, need: u32): bool {
  const parentBytenr = pathBytenr(1), pslot = pathSlot(1);
  if (pslot == 0) return false;
  const leafBytenr = pathBytenr(0), leaf = view(leafBytenr);
  const n = nritems(leaf), slot = pathSlot(0);
  const room = leafRoom(siblingLeaf(pslot - 1));
  const lacking = need - leafFreeBytes(leaf);
  const goal = max<u32>(lacking, (leafUsedBytes(leaf) - min<u32>(leafUsedBytes(leaf), nodeBytes - NODE_HEADER_BYTES - room)) / 2);
  let m: u32 = 0, moved: u32 = 0;
  while (m < slot && m + 1 < n && moved < goal && moved + leafItemsBytes(leaf, m, m + 1) <= room) { moved += leafItemsBytes(leaf, m, m + 1); m++; }
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
  if (CHECKS) assert(pathLinked() && leafFreeBytes(view(pathBytenr(0))) >= need); // a push that left no room or an unlinked path
  return true;
}

/** After slot 0 of path[fromLevel]'s node changed, refresh the separator keys above it. */
function fixLowKeys(fromLevel: u32, key: usize): void {
  assert(fromLevel < pathLength, "ctree: separator fix above the root");
  if (CHECKS) assert(pathSlot(fromLevel) == 0); // a separator fix for a slot other than the first
  for (let lv = fromLevel + 1; lv < pathLength; lv++) {
    copyKey(keyAt(view(pathBytenr(lv)), pathSlot(lv)), key);
    if (CHECKS) assert(compareKeysAt(keyAt(view(pathBytenr(lv)), pathSlot(lv)), key) == 0); // a separator that did not change
    if (pathSlot(lv) != 0) break;
  }
}

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
export function insertPairAtPath(data1: usize, size1: u32, objectid: u64, type: u32, offset: u64, data2: usize, size2: u32): void {
  if (CHECKS) assert(pathAtKey(false)); // an insert at a path that is not the key's
  const key = opKey();
  if (tooLarge(size1 + size2 + LEAF_ITEM_BYTES)) fail(EFBIG, P_ITEM_TOO_LARGE, 0, 0, size1 + size2, 0, 0);
  const need = size1 + size2 + 2 * LEAF_ITEM_BYTES;
  if (leafFreeBytes(view(pathBytenr(0))) < need && !pushToSibling(key, need)) splitLeaf(key, need);
  const leafBytenr = pathBytenr(0);
  const leaf = view(leafBytenr);
  const slot = pathSlot(0);
  assert(slot <= nritems(leaf) && leafFreeBytes(leaf) >= need, "ctree: no room for the pair after the split");
  // The second key, in this thread's area after the operation's key.
  const key2 = threadArea() + TA_SEEK_KEY;
  store<u64>(key2 + KEY_OBJECTID, objectid);
  store<u8>(key2 + KEY_TYPE, <u8>type);
  store<u64>(key2 + KEY_OFFSET, offset);
  // Sorted after the first key, and before the next item in the leaf.
  assert(slot >= nritems(leaf) || compareKeysAt(key2, itemAt(leaf, slot)) < 0, "ctree: a pair inserted past the next item");
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
  if (CHECKS) assert(dataAddr(leaf, slot) == at); // an update that wrote elsewhere than its item's data
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
 * has `objectid` and a type in [lowType, highType], up to the leaf's end: how many (deleteRunAtPath takes them too).
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

/** Does the path's leaf end `count` items after the path's slot (more may follow in the next leaf)? */
export function runEndsLeafAtPath(count: u32): bool {
  return pathSlot(0) + count >= nritems(view(pathBytenr(0)));
}

/** Delete `count` items from the path's slot on (lookupForChange found the first): one data move. */
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

@inline function usedBytes(node: usize): u32 {
  if (CHECKS) assert(inPool(node)); // merge room asked of a node that is not a copy
  return isLeaf(node) ? leafUsedBytes(node) : nritems(node) * KEY_PTR_BYTES;
}

/** Remove empty nodes and merge small ones after a deletion at path[0]. */
function afterDelete(): void {
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 0; lv + 1 < pathLength; lv++) {
    // The walk copied every node of the path (or failed with P_NOT_COPY).
    if (CHECKS) assert(isDirty(pathBytenr(lv)) && isDirty(pathBytenr(lv + 1))); // a merge or removal in a node that is not a copy
    const node = view(pathBytenr(lv));
    const parentBytenr = pathBytenr(lv + 1);
    const parent = view(parentBytenr);
    const parentSlot = pathSlot(lv + 1);
    if (nritems(node) == 0) {
      if (CHECKS) assert(child(parent, parentSlot) == pathBytenr(lv)); // the pointer removed is not the empty node's
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
    assert(treeLevel == level(root), "ctree: the root's level and the tree's disagree after a collapse");
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
  if (CHECKS) assert(child(view(parentBytenr), parentSlot) == nodeBytenr); // a merge of a node its parent's slot does not name
  const used = usedBytes(node);
  if (used > mergeBelowBytes()) return;
  const fits = nodeBytes - NODE_HEADER_BYTES - 64;
  // The siblings are read here, not by a descent: checked against their parent (their
  // level above all: a leaf merged into an internal node would copy past the buffer), and
  // copied only for a merge.
  if (parentSlot + 1 < nritems(view(parentBytenr))) {
    const right = checkedChild(view(parentBytenr), parentBytenr, parentSlot + 1, 0);
    if (anyUsedBytes(right) <= mergeBelowBytes()) {
      if (used + anyUsedBytes(right) <= fits) mergeInto(parentBytenr, parentSlot, nodeBytenr, cowChild(parentBytenr, parentSlot + 1), lv);
      else if (lv == 0) fillLeft(parentBytenr, parentSlot + 1, cowChild(parentBytenr, parentSlot + 1), fits - used);
      return;
    }
  }
  if (parentSlot > 0) {
    const left = checkedChild(view(parentBytenr), parentBytenr, parentSlot - 1, 0);
    if (anyUsedBytes(left) > mergeBelowBytes()) return;
    if (used + anyUsedBytes(left) <= fits) mergeInto(parentBytenr, parentSlot - 1, cowChild(parentBytenr, parentSlot - 1), nodeBytenr, lv);
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
  assert(slot > 0 && isDirty(parentBytenr) && isDirty(nodeBytenr), "ctree: fill of a left sibling that is not there");
  const node = view(nodeBytenr);
  const n = nritems(node);
  let m: u32 = 0, moved: u32 = 0;
  while (m + 1 < n && moved + leafItemsBytes(node, m, m + 1) <= room) { moved += leafItemsBytes(node, m, m + 1); m++; }
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
  if (CHECKS) assert(nritems(node) == n - m && nritems(left) == l + m && leafUsedBytes(left) <= nodeBytes - NODE_HEADER_BYTES); // a fill that lost items or overfilled
}

/** Bytes a node's items take (a clean node too: the caller checked it). */
@inline function anyUsedBytes(node: usize): u32 {
  if (CHECKS) assert(nritems(node) <= (isLeaf(node) ? leafCapacity() : ptrCapacity())); // a node with more items than it holds (the checker passed it)
  return isLeaf(node) ? nodeBytes - NODE_HEADER_BYTES - leafRoom(node) : nritems(node) * KEY_PTR_BYTES;
}

/** Move every item of `rightBytenr` (parent slot `leftSlot` + 1) to the end of `leftBytenr` when both fit. */
function mergeInto(parentBytenr: u64, leftSlot: u32, leftBytenr: u64, rightBytenr: u64, lv: u32): void {
  const left = view(leftBytenr), right = view(rightBytenr);
  if (CHECKS) assert(child(view(parentBytenr), leftSlot) == leftBytenr && child(view(parentBytenr), leftSlot + 1) == rightBytenr); // merged nodes not side by side
  assert(usedBytes(left) + usedBytes(right) <= nodeBytes - NODE_HEADER_BYTES - 64, "ctree: a merge of nodes that do not fit in one");
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
  if (CHECKS) assert(usedBytes(left) <= nodeBytes - NODE_HEADER_BYTES); // a merge that overfilled its node
  ptrDelete(view(parentBytenr), leftSlot + 1, 1);
  refChange(<i64>parentBytenr, rightBytenr, treeId, <i32>lv, 0, -1);
}

// --- reads ------------------------------------------------------------------------------------

/** Read-only lookup of the key at TA_KEY: true when found (result: leaf, slot, data, size). */
export function lookupItem(): bool {
  const found = descend(opKey(), false);
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  const leaf = view(pathBytenr(0));
  setFound(leaf, pathSlot(0));
  if (CHECKS) assert(!found || pathSlot(0) < nritems(leaf)); // a found key outside its leaf
  return found;
}

/** The lowest path level above the leaf whose slot has a right sibling, or 0 when none. */
function rightTurn(): u32 {
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 1; lv < pathLength; lv++) if (pathSlot(lv) + 1 < nritems(view(pathBytenr(lv)))) return lv;
  return 0;
}

/** The lowest path level above the leaf whose slot has a left sibling, or 0 when none. */
function leftTurn(): u32 {
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 1; lv < pathLength; lv++) if (pathSlot(lv) > 0) return lv;
  return 0;
}

/**
 * The first item with key >= TA_KEY (or > it, when `after`): true with the result set,
 * false when there is none. A leaf that ends before it continues at the separator key of
 * the next subtree (every key there is at least the separator).
 */
export function seekForward(after: bool): bool {
  const key = threadArea() + TA_SEEK_KEY;
  copyKey(key, opKey());
  for (let round = 0; ; round++) {
    assert(round <= <i32>MAX_LEVEL + 2, "ctree: seek does not converge");
    const found = descend(key, false);
    const leaf = view(pathBytenr(0));
    const slot = pathSlot(0) + (found && after && round == 0 ? 1 : 0);
    if (slot < nritems(leaf)) {
      setFound(leaf, slot);
      return true;
    }
    const lv = rightTurn();
    if (lv == 0) return false;
    assert(lv < pathLength, "bad level");
    copyKey(key, ptrAt(view(pathBytenr(lv)), pathSlot(lv) + 1));
  }
  return false; // not reached: the loop returns
}

/**
 * The last item with key <= TA_KEY: true with the result set, false when there is none. A
 * leaf that starts after it continues below the separator of the subtree: at the largest
 * key smaller than the separator.
 */
export function seekBackward(): bool {
  const key = threadArea() + TA_SEEK_KEY;
  copyKey(key, opKey());
  for (let round = 0; ; round++) {
    assert(round <= <i32>MAX_LEVEL + 2, "ctree: seek does not converge");
    const found = descend(key, false);
    const leaf = view(pathBytenr(0));
    if (found || pathSlot(0) > 0) {
      setFound(leaf, found ? pathSlot(0) : pathSlot(0) - 1);
      return true;
    }
    const lv = leftTurn();
    if (lv == 0) return false;
    assert(lv < pathLength, "bad level");
    assert(pathSlot(lv) > 0, "slot outside node");
    const separator = ptrAt(view(pathBytenr(lv)), pathSlot(lv));
    copyKey(key, separator);
    if (!predecessor(key)) return false;
    // The next round looks below the separator: the walk moves left, so it ends.
    if (CHECKS) assert(compareKeysAt(key, separator) < 0); // a backward seek that did not move below its separator
  }
  return false; // not reached: the loop returns
}

/** Make the key at `key` the largest key below it; false for the smallest key. */
function predecessor(key: usize): bool {
  assert(key == threadArea() + TA_SEEK_KEY, "seek key");
  const offset = load<u64>(key + KEY_OFFSET);
  if (offset > 0) { store<u64>(key + KEY_OFFSET, offset - 1); return true; }
  store<u64>(key + KEY_OFFSET, MAX_KEY_VALUE);
  const type = load<u8>(key + KEY_TYPE);
  if (type > 0) { store<u8>(key + KEY_TYPE, type - 1); return true; }
  store<u8>(key + KEY_TYPE, 255);
  const objectid = load<u64>(key + KEY_OBJECTID);
  if (objectid == 0) return false;
  store<u64>(key + KEY_OBJECTID, objectid - 1);
  if (CHECKS) assert(load<u8>(key + KEY_TYPE) == 255 && load<u64>(key + KEY_OFFSET) == MAX_KEY_VALUE); // the predecessor of (o, 0, 0) is not (o - 1, 255, max)
  return true;
}

