// Reading the extent tree (extent-tree.ts describes it): the extent item of a data extent or
// a tree block and its count with this transaction's delayed changes, and the implicit data
// back references (EXTENT_DATA_REF) of a data extent, by their hash. Below extent-tree.ts,
// which changes them when it runs the delayed refs.
import {
  EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF, EXTENT_TREE_ID, EI_REFS, EI_GENERATION, EI_FLAGS,
  EXTENT_FLAG_TREE_BLOCK, EXTENT_DATA_REF_BYTES, F_EXTENT_ROOT, F_EXTENT_LEVEL, EDR_ROOT,
  EDR_OBJECTID, EDR_OFFSET, EDR_COUNT, EXTENT_DATA_REF_PROBES, MAX_KEY_VALUE, TA_RESULT,
  TA_ITEM_BODIES, CR_DATA, CR_LEAF, CR_SLOT, KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, EIO,
  P_BACKREF_NEGATIVE, MAX_KEY_VALUE, SECTOR_BYTES, TREE_BLOCK_REF, SHARED_DATA_REF,
  EXTENT_FLAG_FULL_BACKREF, MAX_LEVEL,
} from "../abi";
import { begin, lookupItem, seekForward } from "./ctree";
import { fail, currentRoot, currentLevel, currentTree } from "./operation";
import { fsBase, threadArea, totalBytes } from "./state";
import { CHECKS } from "../shared/checks";
import { refDelta, hasDelayedRef, pendingFull } from "./delayed-ref";
import { crc32cUpdate } from "../csum/crc32c";
import { level, itemAt, dataAddr, dataSize } from "./node";

@inline export function result(): usize { return threadArea() + TA_RESULT; }

// --- the two trees the core changes on its own ----------------------------------------------

/** Run one change on the extent tree and keep its root where everyone finds it. */
@inline export function onExtentTree(objectid: u64, type: u32, offset: u64): void {
  assert(type == EXTENT_ITEM || type == METADATA_ITEM
    || (type >= TREE_BLOCK_REF && type <= SHARED_DATA_REF), "item type");
  // a key the tree checker refuses
  if (CHECKS) assert(objectid <= MAX_KEY_VALUE && offset <= MAX_KEY_VALUE);
  begin(EXTENT_TREE_ID, load<u64>(fsBase + F_EXTENT_ROOT), load<u32>(fsBase + F_EXTENT_LEVEL),
    objectid, type, offset);
}

@inline export function extentTreeDone(): void {
  // The root stored is the extent tree's: no operation on another tree ran in between.
  assert(currentTree() == EXTENT_TREE_ID, "other tree's root");
  const root = currentRoot();
  if (CHECKS) assert(root != 0); // a change that left no root
  store<u64>(fsBase + F_EXTENT_ROOT, root);
  store<u32>(fsBase + F_EXTENT_LEVEL, currentLevel());
}

/**
 * The data of data extent `bytenr`'s extent item (EI_REFS, EI_GENERATION...), 0 when it has
 * none; valid until the next tree operation.
 */
export function dataExtentItem(bytenr: u64, bytes: u64): usize {
  onExtentTree(bytenr, EXTENT_ITEM, bytes);
  if (!lookupItem()) return 0;
  const item = <usize>load<u32>(result() + CR_DATA);
  assert(item != 0, "extent tree: an item found without its data");
  return item;
}

/**
 * The data of tree block `bytenr`'s METADATA_ITEM (keyed by the block's level, which a
 * caller may not know: the first METADATA_ITEM of the block), 0 when it has none; valid
 * until the next tree operation.
 */
export function metadataItem(bytenr: u64): usize {
  assert(bytenr < <u64>totalBytes && (bytenr & (SECTOR_BYTES - 1)) == 0,
    "extent tree: a tree block outside the device");
  onExtentTree(bytenr, METADATA_ITEM, 0);
  if (!seekForward(false)) return 0;
  const leaf = <usize>load<u32>(result() + CR_LEAF), slot = load<u32>(result() + CR_SLOT);
  const key = itemAt(leaf, slot);
  if (load<u64>(key + KEY_OBJECTID) != bytenr || <u32>load<u8>(key + KEY_TYPE) != METADATA_ITEM) {
    return 0;
  }
  assert(load<u64>(key + KEY_OFFSET) <= MAX_LEVEL, "extent tree: a METADATA_ITEM's level");
  return dataAddr(leaf, slot);
}

/** The refs of the extent item for `bytenr` (0 when it has none). */
export function committedRefs(bytenr: u64, data: bool, bytes: u64): u64 {
  assert(data == (bytes != 0), "extent tree: a data extent's length, a tree block's none");
  assert(bytenr < <u64>totalBytes, "extent tree: an extent outside the device");
  if (!data) {
    const item = metadataItem(bytenr);
    return item == 0 ? 0 : load<u64>(item + EI_REFS);
  }
  onExtentTree(bytenr, EXTENT_ITEM, bytes);
  if (!lookupItem()) return 0;
  return load<u64>(<usize>load<u32>(result() + CR_DATA) + EI_REFS);
}

/** Is tree block `bytenr` FULL_BACKREF: flagged in its item, or made so in this transaction? */
export function blockFull(bytenr: u64): bool {
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "extent tree: a tree block not on a sector");
  if (pendingFull(bytenr)) return true;
  const item = metadataItem(bytenr);
  // A FULL_BACKREF flag is a tree block's alone (data extents' flags are DATA).
  assert(item == 0 || (load<u64>(item + EI_FLAGS) & EXTENT_FLAG_TREE_BLOCK) != 0,
    "extent tree: a tree block's item without its flag");
  return item != 0 && (load<u64>(item + EI_FLAGS) & EXTENT_FLAG_FULL_BACKREF) != 0;
}

/** The reference count of an extent including this transaction's delayed changes. */
export function extentRefs(bytenr: u64, data: bool, bytes: u64): i64 {
  assert(bytenr <= MAX_KEY_VALUE && bytes <= MAX_KEY_VALUE, "key range");
  return <i64>committedRefs(bytenr, data, bytes) + refDelta(bytenr);
}

/** btrfs's hash of an implicit data back reference (hash_extent_data_ref), kept below 2^53. */
export function dataRefHash(root: u64, ino: u64, offset: u64): u64 {
  assert(root != 0, "extent tree: a data ref without its tree");
  const scratch = threadArea() + TA_ITEM_BODIES + 96;
  store<u64>(scratch, root);
  const high = crc32cUpdate(0xffffffff, scratch, 8);
  store<u64>(scratch, ino);
  let low = crc32cUpdate(0xffffffff, scratch, 8);
  store<u64>(scratch, offset);
  low = crc32cUpdate(low, scratch, 8);
  const h = ((<u64>high << 31) ^ <u64>low) & MAX_KEY_VALUE;
  // The probes after the hash stay below 2^53 too.
  const key = h > MAX_KEY_VALUE - EXTENT_DATA_REF_PROBES ? h - EXTENT_DATA_REF_PROBES : h;
  assert(key + EXTENT_DATA_REF_PROBES <= MAX_KEY_VALUE,
    "extent tree: a data ref's window beyond 2^53");
  return key;
}

/**
 * The key offset of data extent `target`'s EXTENT_DATA_REF for (root, ino, offset) when it
 * exists (its item then in the result record), else -(the free key offset to insert at) - 1.
 * Colliding references take the free keys after the hash: the whole window of
 * EXTENT_DATA_REF_PROBES keys is looked at (one seek, then item by item), so a deleted
 * reference in the middle hides nothing.
 */
export function findDataRef(target: u64, root: u64, ino: u64, offset: u64): i64 {
  assert(target < <u64>totalBytes && (target & (SECTOR_BYTES - 1)) == 0,
    "extent tree: a data ref's extent outside the device");
  const h = dataRefHash(root, ino, offset);
  let next = h; // the lowest key of the window not yet known to be taken
  let free: i64 = -1;
  onExtentTree(target, EXTENT_DATA_REF, h);
  let more = seekForward(false);
  while (more) {
    const leaf = <usize>load<u32>(result() + CR_LEAF), slot = load<u32>(result() + CR_SLOT);
    const key = itemAt(leaf, slot);
    const at = load<u64>(key + KEY_OFFSET);
    if (load<u64>(key + KEY_OBJECTID) != target || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA_REF
        || at >= h + EXTENT_DATA_REF_PROBES) {
      break;
    }
    const body = dataAddr(leaf, slot);
    if (dataSize(leaf, slot) == EXTENT_DATA_REF_BYTES && load<u64>(body + EDR_ROOT) == root
      && load<u64>(body + EDR_OBJECTID) == ino
        && load<u64>(body + EDR_OFFSET) == offset) return <i64>at;
    if (free < 0 && at > next) free = <i64>next;
    next = at + 1;
    onExtentTree(target, EXTENT_DATA_REF, at);
    more = seekForward(true);
  }
  if (free < 0 && next < h + EXTENT_DATA_REF_PROBES) free = <i64>next;
  // the window is full of other references
  if (free < 0) fail(EIO, P_BACKREF_NEGATIVE, target, 1, root, ino, offset);
  assert(<u64>free >= h && <u64>free < h + EXTENT_DATA_REF_PROBES,
    "extent tree: a data ref's key outside its window");
  return -free - 1;
}

/**
 * Do the references of data extent `target` all come from inode `ino` of tree `tree`, from
 * one mapping of it? 1: yes, every reference is an item of that inode whose extent starts
 * at the same file offset (the items of one write, split apart: they never overlap); 0: no,
 * another inode or tree references it; -1: unknown here (references still delayed, or
 * several mappings of the inode, which may overlap: the caller walks the inode's items).
 */
export function dataRefsOwner(target: u64, bytes: u64, tree: u64, ino: u64): i32 {
  assert(bytes > 0 && (bytes & (SECTOR_BYTES - 1)) == 0, "extent tree: a data extent's length");
  assert(tree != 0, "extent tree: refs of no tree");
  if (hasDelayedRef(target)) return -1;
  const refs = committedRefs(target, true, bytes);
  let count: u64 = 0;
  let mappings: u32 = 0;
  onExtentTree(target, EXTENT_DATA_REF, 0);
  let more = seekForward(false);
  while (more) {
    const leaf = <usize>load<u32>(result() + CR_LEAF), slot = load<u32>(result() + CR_SLOT);
    const key = itemAt(leaf, slot);
    if (load<u64>(key + KEY_OBJECTID) != target
        || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA_REF) {
      break;
    }
    const body = dataAddr(leaf, slot);
    if (load<u64>(body + EDR_ROOT) != tree || load<u64>(body + EDR_OBJECTID) != ino) return 0;
    count += <u64>load<u32>(body + EDR_COUNT);
    mappings++;
    onExtentTree(target, EXTENT_DATA_REF, load<u64>(key + KEY_OFFSET));
    more = seekForward(true);
  }
  // Stored references never count zero (the last one's item goes with it).
  assert(mappings == 0 || count >= <u64>mappings, "extent tree: a data ref counting zero");
  return mappings == 1 && count == refs ? 1 : -1;
}
