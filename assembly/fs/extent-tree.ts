// The extent tree (btrfs's extent-tree.c): reference counts of every tree block
// (METADATA_ITEM, keyed by its level) and data extent (EXTENT_ITEM), each followed by its
// back references as items of their own (btrfs's keyed references): a tree block's
// TREE_BLOCK_REF per tree that reaches it through a block of its own (or its root pointer)
// and SHARED_BLOCK_REF per FULL_BACKREF parent; a data extent's EXTENT_DATA_REF per (root,
// inode, file offset of the extent's start) and SHARED_DATA_REF per FULL_BACKREF leaf. A
// block is FULL_BACKREF once its owner no longer reaches it but others still do: the owner
// copied it away while it was shared (ctree.ts), or the owner's tree was deleted (here).
// And the running of delayed refs into it. A count that reaches zero frees its extent: pinned until
// the commit is durable; a data extent's checksums go with it, a tree block's own pointers go too
// (a cascade of further refs, run in the next round).
//
// In fs trees a block that loses its last reference through COW drops its pointers at once
// (the operation's end, dropCandidates), so data-extent counts are exact inside the
// transaction: the nodatacow and DAX decisions read them.
import {
  EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF, EXTENT_CSUM, CSUM_TREE_ID, EXTENT_ITEM_BYTES,
  EI_REFS, EI_GENERATION, EI_FLAGS, EXTENT_FLAG_DATA, EXTENT_FLAG_TREE_BLOCK, EXTENT_DATA_REF_BYTES,
  F_CSUM_ROOT, F_CSUM_LEVEL, F_GENERATION, F_BATCH, F_BATCH_BACKREFS, REF_BYTES, REF_TARGET,
  REF_DELTA, REF_FLAGS, REF_BYTES_FIELD, REF_OWNER, REF_BACKREF_FIRST, REF_BACKREF_COUNT, REF_DATA,
  BACKREF_BYTES, BACKREF_ROOT, BACKREF_INO, BACKREF_OFFSET, EDR_ROOT, EDR_OBJECTID, EDR_OFFSET,
  EDR_COUNT, CR_SIZE, BACKREF_DELTA, TA_ITEM_BODIES, CR_DATA, CR_LEAF, CR_SLOT, KEY_OBJECTID,
  KEY_TYPE, KEY_OFFSET, TA_DROPS, TA_DROPS_MAX, SECTOR_SHIFT, EIO, P_REFS_NEGATIVE,
  P_BACKREF_NEGATIVE, P_REFS_LOOP, EXTENT_DATA, NODE_OWNER, SECTOR_BYTES, F_BACKREF_SLOTS,
  F_BATCH_COUNT, TREE_BLOCK_REF, SHARED_BLOCK_REF, SHARED_DATA_REF, SHARED_DATA_REF_BYTES,
  EXTENT_FLAG_FULL_BACKREF, REF_SET_FULL, P_EXTENT_DAMAGED, EUCLEAN, TA_INLINE_BODY,
  INLINE_BODY_BYTES, INLINE_REF_BYTES, INLINE_TREE_REFS, REF_LEVEL_SHIFT, BACKREF_IS_TREE,
  BACKREF_IS_SHARED_BLOCK, BACKREF_IS_SHARED_DATA, MAX_LEVEL, EXTENT_CSUM_OBJECTID,
} from "../abi";
import { begin, lookupItem, seekForward, finish } from "./ctree";
import {
  insertItem, updateItem, deleteItem, lookupForChange, insertAtPath, insertPairAtPath, updateAtPath,
  followingAtPath, runEndsLeafAtPath, deleteRunAtPath,
} from "./ctree-change";
import {
  fail, currentRoot, currentLevel, currentTree, treeId, treeRoot, treeLevel,
} from "./operation";
import { isDropped, setDropped } from "./dropped";
import { reportDataPointer, reportSharedDataPointer, convertToFull } from "./node-pointers";
import { isFsTree } from "./root-slot";
import {
  fsBase, threadArea, metadataBlockBytes, setVerified, freshBitsAddr, totalBytes, dirtyBuffer,
  pinnedBitsAddr,
} from "./state";
import { CHECKS } from "../shared/checks";
import { refChange, takeBatch, refCount } from "./delayed-ref";
import { dropDirty } from "./transaction";
import { pin } from "./free-space";
import { testBit, allBits } from "./bitmap";
import { nodeAddr } from "./disk-io";
import { nritems, isLeaf, level, itemAt, child } from "./node";
import {
  result, onExtentTree, extentTreeDone, metadataItem, committedRefs, blockFull, extentRefs,
  dataRefHash, findDataRef,
} from "./extent-items";

// A scratch item body (per instance: globals, not static memory, which every thread shares).
let bodyRefs: u64 = 0;
let bodyGeneration: u64 = 0;
let bodyFlags: u64 = 0;

// --- dropping a block's pointers ---------------------------------------------------------------


/**
 * A tree block's last reference is gone: the pointers it holds go with it, their back
 * references named by its owner or, when it is FULL_BACKREF (`full`), by itself.
 */
function dropNodePointers(bytenr: u64, owner: u64, full: bool): void {
  const addr = nodeAddr(bytenr);
  assert(addr >= 0, "extent tree: a dropped block must be readable (it was read to be copied)");
  const node = <usize>addr;
  const tree = load<u64>(node + NODE_OWNER) != 0 ? load<u64>(node + NODE_OWNER) : owner;
  const n = nritems(node);
  if (isLeaf(node)) {
    for (let s: u32 = 0; s < n; s++) {
      const key = itemAt(node, s);
      if (<u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA || !isFsTree(tree)) continue;
      if (full) reportSharedDataPointer(node, s, bytenr, tree, -1);
      else reportDataPointer(node, s, tree, -1);
    }
  } else {
    for (let s: u32 = 0; s < n; s++) {
      refChange(<i64>bytenr, child(node, s), tree, <i32>level(node) - 1, 0, -1, full);
    }
  }
  dropDirty(bytenr);
  assert(dirtyBuffer(bytenr) == 0, "still dirty");
}


/**
 * At an operation's end: each block it copied away from drops its pointers if nothing references
 * it.
 */
function dropCandidates(): void {
  const list = threadArea() + TA_DROPS;
  const n = load<u32>(list);
  const tree = load<u64>(list + 8);
  assert(n <= TA_DROPS_MAX, "drops count");
  assert(n == 0 || isFsTree(tree), "drops tree");
  store<u32>(list, 0);
  for (let i: u32 = 0; i < n; i++) {
    const bytenr = load<u64>(list + 16 + <usize>i * 8);
    if (isDropped(bytenr) || extentRefs(bytenr, false, 0) != 0) continue;
    setDropped(bytenr, true);
    dropNodePointers(bytenr, tree, blockFull(bytenr));
  }
}

/**
 * End a changing operation called from outside the core: the blocks it copied away from
 * drop their pointers if nothing references them (lookups of their own, so the operation's
 * tree is kept aside), then its root and level go to the result record.
 */
export function endOperation(): void {
  const id = treeId, root = treeRoot, rootLevel = treeLevel;
  dropCandidates();
  treeId = id;
  treeRoot = root;
  treeLevel = rootLevel;
  assert(load<u32>(threadArea() + TA_DROPS) == 0, "drops left");
  finish();
}


// --- running delayed refs ----------------------------------------------------------------------

@inline function transid(): u64 { return load<u64>(fsBase + F_GENERATION) + 1; }

/** Apply the delayed refs, batch after batch, until none are left. */
export function runDelayedRefs(): void {
  for (let round = 0; refCount() > 0; round++) {
    if (round > 1000) fail(EIO, P_REFS_LOOP, 0, 0, 0, 0, 0);
    const n = takeBatch();
    // The batch took every ref: the tables are empty for the refs this run makes.
    assert(n > 0, "empty batch");
    assert(refCount() == 0, "refs left");
    const batch = <usize>load<u32>(fsBase + F_BATCH);
    for (let i: u32 = 0; i < n; i++) applyRef(batch + <usize>i * REF_BYTES);
  }
}

/** Whether a batch entry's back references change anything. */
function backrefsChange(entry: usize): bool {
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  // The batch's backrefs hold half the backref table at most.
  assert(<u64>(first + count) * 2 <= <u64>load<u32>(fsBase + F_BACKREF_SLOTS), "backref index");
  for (let j = first; j < first + count; j++) {
    if (load<i32>(backrefs + <usize>j * BACKREF_BYTES + BACKREF_DELTA) != 0) return true;
  }
  return false;
}

function applyRef(entry: usize): void {
  const batch = <usize>load<u32>(fsBase + F_BATCH);
  assert(entry >= batch && entry < batch + <usize>load<u32>(fsBase + F_BATCH_COUNT) * REF_BYTES,
    "batch entry");
  const target = <u64>(load<u32>(entry + REF_TARGET) - 1) << SECTOR_SHIFT;
  assert(load<u32>(entry + REF_TARGET) != 0, "extent tree: a batch entry without a target");
  assert(target < <u64>totalBytes, "past device end");
  const delta = load<i32>(entry + REF_DELTA);
  const flags = load<u32>(entry + REF_FLAGS);
  const data = (flags & REF_DATA) != 0;
  const setFull = (flags & REF_SET_FULL) != 0;
  assert(!data || !setFull, "extent tree: a data extent made FULL_BACKREF");
  const level: u64 = data ? 0 : <u64>((flags >> REF_LEVEL_SHIFT) & 0xff);
  const bytes: u64 = data ? <u64>load<u32>(entry + REF_BYTES_FIELD) : 0;
  const owner = load<u64>(entry + REF_OWNER);
  const changes = backrefsChange(entry);
  const fresh = testBit(freshBitsAddr, <u32>(target >> SECTOR_SHIFT));
  // Most refs net to zero (a copied node re-reports every pointer it holds): no lookup.
  if (delta == 0 && !changes && !fresh && !setFull) return;
  if (!data) {
    applyTreeRef(entry, target, <u32>level, delta, changes, setFull, owner);
    return;
  }
  onExtentTree(target, EXTENT_ITEM, bytes);
  // A ref that changes something looks up with the walk that copies the path, so the
  // change below needs no second walk (a fresh extent whose ref nets to zero only looks).
  const changing = delta != 0 || changes || setFull;
  const found = changing ? lookupForChange() : lookupItem();
  if (!changing && found) return;
  const item = found ? <usize>load<u32>(result() + CR_DATA) : 0;
  const old: u64 = found ? load<u64>(item + EI_REFS) : 0;
  const oldFlags: u64 = found ? load<u64>(item + EI_FLAGS) : 0;
  const next = <i64>old + delta;
  if (next < 0) fail(EIO, P_REFS_NEGATIVE, target, 0, old, <u64><i64>delta, 0);
  // A ref that changes nothing and was found returned above, so `found` here means the
  // path is lookupForChange's; one that changes nothing and was not found nets to zero.
  if (next == 0) {
    freeExtent(target, data, bytes, owner, found, setFull
      || (oldFlags & EXTENT_FLAG_FULL_BACKREF) != 0);
    return;
  }
  bodyRefs = <u64>next;
  bodyGeneration = found ? load<u64>(item + EI_GENERATION) : transid();
  bodyFlags = found ? oldFlags : (data ? EXTENT_FLAG_DATA : EXTENT_FLAG_TREE_BLOCK);
  if (setFull) bodyFlags |= EXTENT_FLAG_FULL_BACKREF;
  const body = stageBody();
  // An extent without an item has no back reference (freeExtent takes them with it): its
  // only one goes in with the new item, right after it, at its key (the window is empty).
  const sole = !found && changes ? soleAddedBackref(entry) : 0;
  if (sole != 0) insertWithFirstBackref(target, body, sole);
  else if (!found) insertAtPath(body, EXTENT_ITEM_BYTES);
  else if (<u64>next != old || bodyFlags != oldFlags) updateAtPath(body, EXTENT_ITEM_BYTES);
  extentTreeDone();
  // the item does not hold the count just applied
  if (CHECKS) assert(committedRefs(target, data, bytes) == <u64>next);
  // the first back reference is not where it went
  if (CHECKS && sole != 0) assert(firstBackrefFound(target, sole));
  if (changes && sole == 0) applyBackrefs(entry, target, data);
}

/**
 * The run of a tree block's ref: its METADATA_ITEM (keyed by its level) with the count, the
 * flags and its TREE_BLOCK_REFs inline (sorted by root: btrfs check finds a tree's root
 * block by its inline reference), then its SHARED_BLOCK_REFs as items of their own.
 */
function applyTreeRef(
  entry: usize, target: u64, lv: u32, delta: i32, changes: bool, setFull: bool, owner: u64,
): void {
  assert(lv <= MAX_LEVEL + 1, "extent tree: a tree block's level");
  onExtentTree(target, METADATA_ITEM, <u64>lv);
  const changing = delta != 0 || changes || setFull;
  const found = changing ? lookupForChange() : lookupItem();
  if (!changing && found) return;
  if (!found && changing) {
    // A block whose item says another level: the extent tree is damaged. (The look
    // moves the path: the lookup for the change runs again, from the root the first one
    // copied, kept first.)
    extentTreeDone();
    if (metadataItem(target) != 0) fail(EUCLEAN, P_EXTENT_DAMAGED, target, 0, <u64>lv, 0, 0);
    onExtentTree(target, METADATA_ITEM, <u64>lv);
    const again = lookupForChange();
    assert(!again, "extent tree: an item found the second time");
  }
  const item = found ? <usize>load<u32>(result() + CR_DATA) : 0;
  const size = found ? load<u32>(result() + CR_SIZE) : EXTENT_ITEM_BYTES;
  const old: u64 = found ? load<u64>(item + EI_REFS) : 0;
  const oldFlags: u64 = found ? load<u64>(item + EI_FLAGS) : EXTENT_FLAG_TREE_BLOCK;
  const next = <i64>old + delta;
  if (next < 0) fail(EIO, P_REFS_NEGATIVE, target, 0, old, <u64><i64>delta, 0);
  if (next == 0) {
    freeExtent(target, false, 0, owner, found, setFull
      || (oldFlags & EXTENT_FLAG_FULL_BACKREF) != 0);
    return;
  }
  // The new body: count, generation, flags, then the inline references with this run's changes.
  const body = threadArea() + TA_INLINE_BODY;
  if (found) memory.copy(body, item, size);
  assert(size >= EXTENT_ITEM_BYTES && (size - EXTENT_ITEM_BYTES) % INLINE_REF_BYTES == 0,
    "extent tree: a METADATA_ITEM's size");
  store<u64>(body + EI_REFS, <u64>next);
  store<u64>(body + EI_GENERATION, found ? load<u64>(body + EI_GENERATION) : transid());
  const flags = setFull ? oldFlags | EXTENT_FLAG_FULL_BACKREF : oldFlags;
  store<u64>(body + EI_FLAGS, flags);
  let refs = (size - EXTENT_ITEM_BYTES) / INLINE_REF_BYTES;
  if (changes) refs = applyInlineTreeRefs(entry, target, body, refs);
  const newSize = EXTENT_ITEM_BYTES + refs * INLINE_REF_BYTES;
  if (!found) insertAtPath(body, newSize);
  else if (<u64>next != old || flags != oldFlags || newSize != size || changes) {
    updateAtPath(body, newSize);
  }
  extentTreeDone();
  // the item does not hold the count just applied
  if (CHECKS) assert(committedRefs(target, false, 0) == <u64>next);
  if (changes) applyKeyedBlockRefs(entry, target);
  if ((flags & EXTENT_FLAG_FULL_BACKREF) == 0) fullIfOwnerLeft(entry, target, lv);
}

/** A batch backref of a tree block applied inline (its offset field, otherwise 0). */
const APPLIED_INLINE: u64 = 1;

/**
 * Apply the entry's TREE_BLOCK_REF changes to the `refs` inline references of `body`; the new
 * count.
 */
function applyInlineTreeRefs(entry: usize, target: u64, body: usize, refs: u32): u32 {
  assert(body == threadArea() + TA_INLINE_BODY,
    "extent tree: an inline body elsewhere than this thread's");
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  let n = refs;
  for (let j = first; j < first + count; j++) {
    const b = backrefs + <usize>j * BACKREF_BYTES;
    const d = load<i32>(b + BACKREF_DELTA);
    if (d == 0 || load<u64>(b + BACKREF_INO) != BACKREF_IS_TREE) continue;
    const root = load<u64>(b + BACKREF_ROOT);
    // A tree reaches a block once: such a reference has no count.
    if (d != 1 && d != -1) fail(EIO, P_BACKREF_NEGATIVE, target, 2, root, 0, <u64><i64>d);
    // The slot of the first reference with a root >= this one (sorted ascending).
    let at: u32 = 0;
    while (at < n && load<u64>(body + EXTENT_ITEM_BYTES + <usize>at * INLINE_REF_BYTES + 1)
        < root) {
      at++;
    }
    const ref = body + EXTENT_ITEM_BYTES + <usize>at * INLINE_REF_BYTES;
    const exists = at < n && load<u64>(ref + 1) == root;
    // Beyond INLINE_TREE_REFS (a block shared by many snapshots) a reference is an item of
    // its own, as btrfs does when the extent item would grow too large: applyKeyedBlockRefs
    // takes what this leaves (its delta not cleared).
    if (d > 0) {
      if (exists) fail(EIO, P_BACKREF_NEGATIVE, target, 2, root, 0, 2);
      if (n >= INLINE_TREE_REFS) continue;
      memory.copy(ref + INLINE_REF_BYTES, ref, <usize>(n - at) * INLINE_REF_BYTES);
      store<u8>(ref, <u8>TREE_BLOCK_REF);
      store<u64>(ref + 1, root);
      n++;
    } else {
      if (!exists) continue;
      memory.copy(ref, ref + INLINE_REF_BYTES, <usize>(n - at - 1) * INLINE_REF_BYTES);
      n--;
    }
    // Applied inline: marked in the offset (0 for a block's reference), not by clearing the
    // delta (fullIfOwnerLeft still reads it).
    store<u64>(b + BACKREF_OFFSET, APPLIED_INLINE);
  }
  if (CHECKS) assert(inlineRefsSorted(body, n)); // inline references out of order
  return n;
}

/**
 * Debug builds: the inline references are TREE_BLOCK_REFs of strictly rising roots. Release: true.
 */
function inlineRefsSorted(body: usize, n: u32): bool {
  if (!CHECKS) return true;
  assert(EXTENT_ITEM_BYTES + n * INLINE_REF_BYTES <= INLINE_BODY_BYTES,
    "extent tree: more inline references than the body holds");
  for (let i: u32 = 0; i < n; i++) {
    const ref = body + EXTENT_ITEM_BYTES + <usize>i * INLINE_REF_BYTES;
    if (<u32>load<u8>(ref) != TREE_BLOCK_REF || load<u64>(ref + 1) == 0) return false;
    if (i > 0 && load<u64>(ref + 1) <= load<u64>(ref + 1 - INLINE_REF_BYTES)) return false;
  }
  return true;
}

/** The entry's SHARED_BLOCK_REF changes and the TREE_BLOCK_REFs not inline: items of their own. */
function applyKeyedBlockRefs(entry: usize, target: u64): void {
  assert((load<u32>(entry + REF_FLAGS) & REF_DATA) == 0,
    "extent tree: a data extent's refs as a block's");
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  assert(<u64>(first + count) * 2 <= <u64>load<u32>(fsBase + F_BACKREF_SLOTS), "backref index");
  for (let j = first; j < first + count; j++) {
    const b = backrefs + <usize>j * BACKREF_BYTES;
    const d = load<i32>(b + BACKREF_DELTA);
    if (d == 0 || load<u64>(b + BACKREF_OFFSET) == APPLIED_INLINE) continue;
    const ino = load<u64>(b + BACKREF_INO);
    assert(ino == BACKREF_IS_SHARED_BLOCK || ino == BACKREF_IS_TREE,
      "extent tree: a data reference in a block's run");
    applyBlockRef(target, ino == BACKREF_IS_TREE ? TREE_BLOCK_REF : SHARED_BLOCK_REF,
      load<u64>(b + BACKREF_ROOT), d);
  }
}

/**
 * Tree block `target` lives on (others reach it) but lost a TREE_BLOCK_REF in this run: if
 * that was its owner's, the owner no longer reaches it (the owner's tree was deleted, or
 * the parent that reached it freed): it becomes FULL_BACKREF (btrfs's walk_down_proc when
 * dropping a snapshot's source).
 */
function fullIfOwnerLeft(entry: usize, target: u64, lv: u32): void {
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  assert(<u64>(first + count) * 2 <= <u64>load<u32>(fsBase + F_BACKREF_SLOTS), "backref index");
  for (let j = first; j < first + count; j++) {
    const b = backrefs + <usize>j * BACKREF_BYTES;
    if (load<u64>(b + BACKREF_INO) != BACKREF_IS_TREE || load<i32>(b + BACKREF_DELTA) >= 0) {
      continue;
    }
    const addr = nodeAddr(target);
    assert(addr >= 0, "extent tree: a block that lives on must be readable");
    const node = <usize>addr;
    const owner = load<u64>(node + NODE_OWNER);
    if (owner != load<u64>(b + BACKREF_ROOT) || !isFsTree(owner)) return;
    assert(level(node) == lv, "extent tree: a block at another level than its item");
    convertToFull(target, node, owner);
    return;
  }
}


/** The batch backref of the entry when it is the only one that changes and it adds; else 0. */
function soleAddedBackref(entry: usize): usize {
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  assert(<u64>(first + count) * 2 <= <u64>load<u32>(fsBase + F_BACKREF_SLOTS), "backref index");
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  let sole: usize = 0;
  for (let j = first; j < first + count; j++) {
    const b = backrefs + <usize>j * BACKREF_BYTES;
    if (load<i32>(b + BACKREF_DELTA) == 0) continue;
    if (sole != 0) return 0;
    sole = b;
  }
  return sole != 0 && load<i32>(sole + BACKREF_DELTA) > 0 ? sole : 0;
}

/** The item type of a batch backref. */
@inline function backrefType(b: usize): u32 {
  assert(load<u64>(b + BACKREF_ROOT) != 0, "extent tree: a back reference of no root or parent");
  const ino = load<u64>(b + BACKREF_INO);
  return ino == BACKREF_IS_TREE ? TREE_BLOCK_REF : ino == BACKREF_IS_SHARED_BLOCK ? SHARED_BLOCK_REF
    : ino == BACKREF_IS_SHARED_DATA ? SHARED_DATA_REF : EXTENT_DATA_REF;
}

/**
 * The new item of extent `target` (its body at `item`) and its first back reference, from
 * batch backref `backref`: no reference of it exists, so the reference's key is free, in
 * the slot after the item.
 */
function insertWithFirstBackref(target: u64, item: usize, backref: usize): void {
  const root = load<u64>(backref + BACKREF_ROOT), ino = load<u64>(backref + BACKREF_INO),
    offset = load<u64>(backref + BACKREF_OFFSET);
  const count = load<i32>(backref + BACKREF_DELTA);
  assert(root != 0 && count > 0, "extent tree: a first back reference without its tree or count");
  // The reference's body after the item's (dataRefHash's scratch is past both).
  const body = item + EXTENT_ITEM_BYTES;
  assert(body == threadArea() + TA_ITEM_BODIES + EXTENT_ITEM_BYTES,
    "extent tree: the item body is not where stageBody puts it");
  const type = backrefType(backref);
  assert(type == EXTENT_DATA_REF || type == SHARED_DATA_REF,
    "extent tree: a first back reference of a tree block (its own run inlines them)");
  if (type == SHARED_DATA_REF) {
    store<u32>(body, <u32>count);
    insertPairAtPath(item, EXTENT_ITEM_BYTES, target, type, root, body, SHARED_DATA_REF_BYTES);
    return;
  }
  const key = dataRefHash(root, ino, offset);
  store<u64>(body + EDR_ROOT, root);
  store<u64>(body + EDR_OBJECTID, ino);
  store<u64>(body + EDR_OFFSET, offset);
  store<u32>(body + EDR_COUNT, <u32>count);
  insertPairAtPath(item, EXTENT_ITEM_BYTES, target, EXTENT_DATA_REF, key, body,
    EXTENT_DATA_REF_BYTES);
}

/**
 * Debug builds: the first back reference insertWithFirstBackref made is where a lookup finds it
 * (the tree's root stored).
 */
function firstBackrefFound(target: u64, backref: usize): bool {
  const root = load<u64>(backref + BACKREF_ROOT), ino = load<u64>(backref + BACKREF_INO),
    offset = load<u64>(backref + BACKREF_OFFSET);
  if (backrefType(backref) == SHARED_DATA_REF) {
    onExtentTree(target, SHARED_DATA_REF, root);
    return lookupItem();
  }
  return findDataRef(target, root, ino, offset) == <i64>dataRefHash(root, ino, offset);
}

/** The item body in this thread's area (after the result record: lookups do not touch it). */
function stageBody(): usize {
  assert(bodyRefs > 0, "refs 0");
  const body = threadArea() + TA_ITEM_BODIES;
  store<u64>(body + EI_REFS, bodyRefs);
  store<u64>(body + EI_GENERATION, bodyGeneration);
  store<u64>(body + EI_FLAGS, bodyFlags);
  return body;
}

/** Each back reference of the entry whose count changed, in the extent tree. */
function applyBackrefs(entry: usize, target: u64, data: bool): void {
  assert(((load<u32>(entry + REF_FLAGS) & REF_DATA) != 0) == data,
    "extent tree: back references of another kind of extent");
  const first = load<u32>(entry + REF_BACKREF_FIRST), count = load<u32>(entry + REF_BACKREF_COUNT);
  const backrefs = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  for (let j = first; j < first + count; j++) {
    const b = backrefs + <usize>j * BACKREF_BYTES;
    const d = load<i32>(b + BACKREF_DELTA);
    if (d == 0) continue;
    const type = backrefType(b);
    assert(data && (type == EXTENT_DATA_REF || type == SHARED_DATA_REF),
      "extent tree: a block's back reference in a data extent's run");
    if (type == EXTENT_DATA_REF) applyDataRef(target, b, d);
    else applySharedDataRef(target, load<u64>(b + BACKREF_ROOT), d);
  }
}

/**
 * A SHARED_BLOCK_REF or keyed TREE_BLOCK_REF (an item of its own) appears (+1) or goes (-1): it has
 * no count.
 */
function applyBlockRef(target: u64, type: u32, offset: u64, d: i32): void {
  assert(type == SHARED_BLOCK_REF || type == TREE_BLOCK_REF,
    "extent tree: a counted reference as a block's item");
  assert(offset != 0 && (type == TREE_BLOCK_REF || (offset & (SECTOR_BYTES - 1)) == 0),
    "extent tree: a shared reference's parent is no block");
  if (d != 1 && d != -1) fail(EIO, P_BACKREF_NEGATIVE, target, 2, offset, 0, <u64><i64>d);
  onExtentTree(target, type, offset);
  if (d > 0) {
    // insertItem refuses a key that exists (a block reached twice from one tree or parent).
    insertItem(threadArea() + TA_ITEM_BODIES, 0);
  } else if (!deleteItem()) {
    fail(EIO, P_BACKREF_NEGATIVE, target, 2, offset, 0, 0);
  }
  extentTreeDone();
}

/** A SHARED_DATA_REF's count (of items of leaf `parent`) changes by `d` (the item goes at zero). */
function applySharedDataRef(target: u64, parent: u64, d: i32): void {
  onExtentTree(target, SHARED_DATA_REF, parent);
  const found = lookupItem();
  const before: i64 = found ? <i64>load<u32>(<usize>load<u32>(result() + CR_DATA)) : 0;
  const now = before + d;
  if (now < 0 || now > 0xffffffff) fail(EIO, P_BACKREF_NEGATIVE, target, 3, parent, 0, <u64>now);
  const body = threadArea() + TA_ITEM_BODIES + EXTENT_ITEM_BYTES;
  store<u32>(body, <u32>now);
  putCountedRef(target, SHARED_DATA_REF, parent, body, SHARED_DATA_REF_BYTES, now, found);
}

/**
 * Write a counted back reference of `target` (its body staged at `body`): deleted at a
 * count of 0, else updated (`found`) or inserted. Its key is looked up afresh.
 */
function putCountedRef(
  target: u64, type: u32, offset: u64, body: usize, size: u32, count: i64, found: bool,
): void {
  assert(type == SHARED_DATA_REF || type == EXTENT_DATA_REF,
    "extent tree: a counted reference of another type");
  assert(count >= 0 && (count > 0 || found),
    "extent tree: a count of a reference that is not there");
  onExtentTree(target, type, offset);
  if (count == 0) {
    const gone = deleteItem();
    assert(gone, "not deleted");
  } else if (found) updateItem(body, size);
  else insertItem(body, size);
  extentTreeDone();
}

/** An EXTENT_DATA_REF's count changes by `d` (the item goes at zero). */
function applyDataRef(target: u64, b: usize, d: i32): void {
  const root = load<u64>(b + BACKREF_ROOT), ino = load<u64>(b + BACKREF_INO),
    offset = load<u64>(b + BACKREF_OFFSET);
  assert(root != 0, "backref root");
  const keyOffset = findDataRef(target, root, ino, offset);
  const found = keyOffset >= 0;
  const at = found ? <u64>keyOffset : <u64>(-keyOffset - 1);
  const countNow = <i64>(found ? load<u32>(<usize>load<u32>(result() + CR_DATA) + EDR_COUNT)
    : 0) + d;
  if (countNow < 0) fail(EIO, P_BACKREF_NEGATIVE, target, 0, root, ino, offset);
  const body = threadArea() + TA_ITEM_BODIES + EXTENT_ITEM_BYTES;
  store<u64>(body + EDR_ROOT, root);
  store<u64>(body + EDR_OBJECTID, ino);
  store<u64>(body + EDR_OFFSET, offset);
  store<u32>(body + EDR_COUNT, <u32>countNow);
  putCountedRef(target, EXTENT_DATA_REF, at, body, EXTENT_DATA_REF_BYTES, countNow, found);
  if (CHECKS && countNow != 0) {
    // The back reference holds the count just applied, under the key it was given.
    onExtentTree(target, EXTENT_DATA_REF, at);
    assert(lookupItem() && <i64>load<u32>(<usize>load<u32>(result() + CR_DATA) + EDR_COUNT)
      == countNow);
  }
}

/** An extent's count reached zero: its item, back references and checksums go; it is pinned. */
/**
 * `hasItem`: the caller's lookupForChange found the extent's item (its path is ready); `full`: a
 * FULL_BACKREF block.
 */
function freeExtent(
  target: u64, data: bool, bytes: u64, owner: u64, hasItem: bool, full: bool,
): void {
  assert(!data || !full, "extent tree: a FULL_BACKREF data extent");
  // The back references follow the item (their types sort after it): those in the same
  // leaf go with it, in one delete; a walk looks for more only when they reach the leaf's
  // end (or the extent had no item).
  let refsMayRemain = true;
  if (hasItem) {
    const refs = followingAtPath(target, TREE_BLOCK_REF, SHARED_DATA_REF);
    refsMayRemain = runEndsLeafAtPath(1 + refs);
    deleteRunAtPath(1 + refs);
    extentTreeDone();
  }
  if (refsMayRemain) deleteBackrefs(target);
  if (CHECKS) assert(!firstBackref(target)); // a freed extent kept a back reference
  if (data) {
    deleteCsums(target);
    pinOrFail(target, bytes);
    return;
  }
  if (isDropped(target)) setDropped(target, false);
  else dropNodePointers(target, owner, full);
  pinOrFail(target, metadataBlockBytes());
  setVerified(target, false); // free after this commit: its bytenr may come back
  if (CHECKS) assert(!isDropped(target)); // a freed tree block still marked dropped
  if (CHECKS) assert(dirtyBuffer(target) == 0); // a freed tree block still dirty
}

function pinOrFail(target: u64, bytes: u64): void {
  const r = pin(target, bytes);
  // Freed twice (a damaged extent tree: two items for one extent, a count too high).
  if (r != 0) fail(EUCLEAN, P_EXTENT_DAMAGED, target, 1, bytes, 0, 0);
  // a freed extent is not pinned
  if (CHECKS) {
    assert(allBits(pinnedBitsAddr, <u32>(target >> SECTOR_SHIFT),
      <u32>((target + bytes) >> SECTOR_SHIFT), true));
  }
}

/** The key of extent `target`'s first back reference in the result record, or false. */
function firstBackref(target: u64): bool {
  assert(target != 0 && target < <u64>totalBytes,
    "extent tree: back references of an extent outside the device");
  onExtentTree(target, TREE_BLOCK_REF, 0);
  if (!seekForward(false)) return false;
  const key = itemAt(<usize>load<u32>(result() + CR_LEAF), load<u32>(result() + CR_SLOT));
  const type = <u32>load<u8>(key + KEY_TYPE);
  return load<u64>(key + KEY_OBJECTID) == target && type >= TREE_BLOCK_REF
    && type <= SHARED_DATA_REF;
}

/** Every back reference of extent `target`. */
function deleteBackrefs(target: u64): void {
  assert(target != 0 && target < <u64>totalBytes,
    "extent tree: back references of an extent outside the device");
  while (firstBackref(target)) {
    const key = itemAt(<usize>load<u32>(result() + CR_LEAF), load<u32>(result() + CR_SLOT));
    const type = <u32>load<u8>(key + KEY_TYPE), offset = load<u64>(key + KEY_OFFSET);
    assert(load<u64>(key + KEY_OBJECTID) == target,
      "extent tree: a back reference of another extent");
    onExtentTree(target, type, offset);
    const gone = deleteItem();
    assert(gone, "not deleted");
    extentTreeDone();
  }
}

/** The EXTENT_CSUM item of data extent `target`, if any. */
function deleteCsums(target: u64): void {
  begin(CSUM_TREE_ID, load<u64>(fsBase + F_CSUM_ROOT), load<u32>(fsBase + F_CSUM_LEVEL),
    <u64><i64>EXTENT_CSUM_OBJECTID, EXTENT_CSUM, target);
  deleteItem();
  assert(currentTree() == CSUM_TREE_ID, "other tree's root");
  store<u64>(fsBase + F_CSUM_ROOT, currentRoot());
  store<u32>(fsBase + F_CSUM_LEVEL, currentLevel());
}
