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
// Here: the walk's path, blocks and their copies, checked walks, the copy-on-write descent
// and the reads. The changes (ctree-change.ts) and the leaf splits (ctree-split.ts) and
// merges (ctree-merge.ts) they need sit above it, on the path it leaves.
//
// Errors do not return: fail() (operation.ts) records the problem in this thread's area and
// calls the host's fs_fail, which throws (an FsError in TypeScript); the operation's frames
// unwind. The operation in progress is one thread's: its tree, root (operation.ts) and path
// live in this instance's globals and this thread's area.
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES, NODE_GENERATION, KEY_OBJECTID,
  KEY_TYPE, KEY_OFFSET, TA_PATH, PATH_BYTES, TA_KEY, TA_ZERO_KEY, TA_SEEK_KEY, TA_RESULT, CR_ROOT,
  CR_LEVEL, CR_LEAF, CR_SLOT, CR_DATA, CR_SIZE, PR_TREE, P_CHILD_LEVEL, P_CHILD_STALE,
  P_CHILD_EMPTY, P_CHILD_LOW, P_CHILD_HIGH, P_NODE_LEVEL, P_NOT_COPY, P_NO_METADATA_SPACE,
  P_POOL_EMPTY, P_BLOCK_IN_USE, EUCLEAN, ENOSPC, NEEDS_HEAL, ROOT_POINTER, MAX_LEVEL, MAX_KEY_VALUE,
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
  nritems, setNritems, level, isLeaf, ptrAt, keyAt, copyKey, dataSize, dataAddr, child,
  childGeneration, setChild, ptrCapacity, ptrInsert, nodeInMemory, leafCapacity,
} from "./node";
import { visibleAddr } from "../pmem/state";
import { refChange } from "./delayed-ref";
import { CHECKS } from "../shared/checks";
import { RootSlot, isFsTree } from "./root-slot";
import { treeId, treeRoot, treeLevel, hostFail, fail } from "./operation";
import { pointersMoved, noteDropCandidate } from "./dropped";
import { reportPointers, rootMoved, convertToFull } from "./node-pointers";


// --- the host ---------------------------------------------------------------------------

/** Rewrite copy 1 of `bytenr` from its good copy 2 and mark it verified (dup). */
@external("env", "fs_heal")
declare function hostHeal(bytenr: f64): void;

// --- the walk in progress (this instance's) ------------------------------------------------

// Its tree, root and level are operation.ts's.
export let pathLength: u32 = 0;

@inline function pathEntry(lv: u32): usize {
  assert(lv <= MAX_LEVEL, "ctree: path deeper than MAX_LEVEL");
  return threadArea() + TA_PATH + <usize>lv * PATH_BYTES;
}
@inline export function pathBytenr(lv: u32): u64 {
  if (CHECKS) assert(lv < pathLength); // a path level the walk did not reach
  return load<u64>(pathEntry(lv));
}
@inline export function pathSlot(lv: u32): u32 {
  if (CHECKS) assert(lv < pathLength); // a path level the walk did not reach
  return load<u32>(pathEntry(lv) + 8);
}
@inline export function setPath(lv: u32, bytenr: u64, slot: u32): void {
  if (CHECKS) assert(lv < pathLength); // a path level above the root
  if (CHECKS) assert(bytenr != 0); // a path through no block
  store<u64>(pathEntry(lv), bytenr);
  store<u32>(pathEntry(lv) + 8, slot);
}

@inline export function opKey(): usize { return threadArea() + TA_KEY; }

/** Start an operation on tree `id` with root `root` at `rootLevel`; the key goes to TA_KEY. */
export function begin(
  id: u64, root: u64, rootLevel: u32, objectid: u64, type: u32, offset: u64,
): void {
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

export function setFound(leaf: usize, slot: u32): void {
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

@inline export function isDirty(bytenr: u64): bool {
  return dirtyBuffer(bytenr) != 0;
}

/** The address of a block's content: dirty buffer, or the verified device bytes. */
export function view(bytenr: u64): usize {
  const addr = nodeAddr(bytenr);
  if (addr >= 0) {
    // a block's content outside the pool and the device
    if (CHECKS) assert(nodeInMemory(<usize>addr));
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

@inline export function generationOf(node: usize): u64 {
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
  // a block that is neither leaf nor internal
  if (CHECKS) assert(!isLeaf(node) || level(node) == 0);
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
  // a copy without this transaction's generation
  if (CHECKS) assert(generationOf(copy) == committedGeneration() + 1);
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
  if (level(node) + 1 != parentLevel) {
    fail(EUCLEAN, P_CHILD_LEVEL, parentBytenr, slot, level(node), parentLevel, bytenr);
  }
  if (generationOf(node) != childGeneration(parent, slot)) {
    fail(EUCLEAN, P_CHILD_STALE, parentBytenr, slot, generationOf(node),
      childGeneration(parent, slot), bytenr);
  }
  const n = nritems(node);
  if (n == 0) fail(EUCLEAN, P_CHILD_EMPTY, parentBytenr, slot, 0, 0, bytenr);
  const first = keyAt(node, 0), last = keyAt(node, n - 1), low = ptrAt(parent, slot);
  if (compareKeysAt(first, low) < 0) {
    fail(EUCLEAN, P_CHILD_LOW, parentBytenr, slot, first, low, bytenr);
  }
  const bound = upperBound(parent, slot, high);
  if (bound != 0 && compareKeysAt(last, bound) >= 0) {
    fail(EUCLEAN, P_CHILD_HIGH, parentBytenr, slot, last, bound, bytenr);
  }
  return node;
}

/**
 * Address of the upper bound for the keys of parent[slot]'s subtree, given the parent's own (0:
 * none).
 */
@inline function upperBound(parent: usize, slot: u32, high: usize): usize {
  if (CHECKS) assert(slot < nritems(parent)); // the bound of a slot the parent does not have
  return slot + 1 < nritems(parent) ? ptrAt(parent, slot + 1) : high;
}

/** Binary search of one node: the slot holding the key, or -(insertion slot) - 1. */
export function nodeSearch(node: usize, objectid: u64, type: u32, offset: u64): i32 {
  const count = nritems(node);
  // a node searched past its capacity (the tree checker refuses it)
  if (CHECKS) assert(count <= (isLeaf(node) ? leafCapacity() : ptrCapacity()));
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

@inline export function searchKey(node: usize, key: usize): i32 {
  const r = nodeSearch(node, load<u64>(key + KEY_OBJECTID), <u32>load<u8>(key + KEY_TYPE),
    load<u64>(key + KEY_OFFSET));
  // a search result outside the node
  if (CHECKS) assert(r < <i32>nritems(node) && r >= -<i32>nritems(node) - 1);
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
  assert(treeRoot != 0 && pathLength == 0,
    "ctree: a root copied without a tree, or in the middle of a walk");
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
  // a root copy at another level than the tree's
  if (CHECKS) assert(level(view(treeRoot)) == treeLevel);
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

export function cowChild(parentBytenr: u64, slot: u32): u64 {
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
  // the parent does not point at the copy
  if (CHECKS) assert(child(parent, slot) == next && isDirty(next));
  return next;
}

/**
 * A snapshot's root (btrfs's btrfs_copy_root): the operation's tree is the new subvolume,
 * its root the source's (clean). A copy of that block, owned by the new tree, becomes the
 * new tree's root: every pointer it holds is one more reference (its back reference the new
 * tree's), and the new tree's root pointer is its one reference. Returns the copy.
 */
export function copyRoot(): u64 {
  assert(pathLength == 0 && treeRoot != 0,
    "ctree: a root copied without a tree, or in the middle of a walk");
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
export function growRoot(): void {
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
  // halves not side by side
  if (CHECKS) assert(child(parent, slot) == leftBytenr && child(parent, slot + 1) == rightBytenr);
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
export function descend(key: usize, cow: bool): bool {
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
        for (let l: u32 = 0; l <= top; l++) {
          if (!isDirty(pathBytenr(l))) fail(EUCLEAN, P_NOT_COPY, pathBytenr(l), 0, 0, 0, 0);
        }
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
      // a changing walk continues through a node that is not a copy
      if (CHECKS) assert(isDirty(child(node, slot)));
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
export function pathLinked(): bool {
  if (!CHECKS) return true;
  assert(pathLength >= 1 && pathLength <= MAX_LEVEL + 1, "no path");
  for (let lv: u32 = 1; lv < pathLength; lv++) {
    const node = view(pathBytenr(lv));
    if (pathSlot(lv) >= nritems(node) || child(node, pathSlot(lv)) != pathBytenr(lv - 1)) {
      return false;
    }
  }
  return true;
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
  for (let lv: u32 = 1; lv < pathLength; lv++) {
    if (pathSlot(lv) + 1 < nritems(view(pathBytenr(lv)))) return lv;
  }
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
    // a backward seek that did not move below its separator
    if (CHECKS) assert(compareKeysAt(key, separator) < 0);
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
  // the predecessor of (o, 0, 0) is not (o - 1, 255, max)
  if (CHECKS) {
    assert(load<u8>(key + KEY_TYPE) == 255 && load<u64>(key + KEY_OFFSET) == MAX_KEY_VALUE);
  }
  return true;
}

