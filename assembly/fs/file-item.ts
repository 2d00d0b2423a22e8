// File extent items and data checksums, as the DAX fault path changes them (btrfs's
// file-item.c and the page-sized part of inode.c's write path): find the item mapping a
// file offset, bring a data extent's EXTENT_CSUM item up to date, and map one page of a
// file to a new block (the old item trimmed, split or deleted around it). Runs under the
// fs lock; item bodies are built in the state's staging buffer, which the lock guards.
//
// The fs tree of the operation is named by its slot of the root table: its root moves in
// the slot (flagged RSF_MOVED, so the owning thread rewrites the ROOT_ITEM at commit).
import {
  KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, EXTENT_DATA, EXTENT_CSUM, EXTENT_ITEM, FILE_EXTENT_BYTES,
  FE_GENERATION, FE_RAM_BYTES, FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES,
  EXTENT_TYPE_REG, SECTOR_BYTES, SECTOR_SHIFT, TA_RESULT, CR_LEAF, CR_SLOT, CR_DATA, RSF_MOVED,
  CSUM_TREE_ID, EXTENT_TREE_ID, F_CSUM_ROOT, F_CSUM_LEVEL, F_EXTENT_ROOT, F_EXTENT_LEVEL, F_STAGING,
  F_STAGING_BYTES, F_READERS_COUNT, READERS_LOG_ENTRIES, READERS_ENTRY_BYTES, EI_GENERATION,
  F_ABORTED, ABORTED_DELAYED_REFS, F_ROOTS, ROOT_SLOTS, ROOT_SLOT_BYTES, EXTENT_TYPE_PREALLOC,
  INODE_ITEM, INODE_ITEM_BYTES, INODE_SIZE, INODE_TRANSID, CR_SIZE, EXTENT_CSUM_OBJECTID,
  EXTENT_TYPE_INLINE, EUCLEAN, P_INLINE_FILE,
} from "../abi";
import { begin, lookupItem, seekBackward, seekForward } from "./ctree";
import { insertItem, updateItem } from "./ctree-change";
import { currentRoot, currentLevel, currentTree, fail } from "./operation";
import {
  fsBase, threadArea, freshBitsAddr, losingBitsAddr, readersLogAddr, committedGeneration,
  totalBytes, kernelRangeValid,
} from "./state";
import { CHECKS } from "../shared/checks";
import { itemAt, dataAddr, dataSize, nritems } from "./node";
import { setRange, testBit } from "./bitmap";
import { refPressure } from "./delayed-ref";
import { runDelayedRefs, endOperation } from "./extent-tree";
import { sectorsCompute } from "../csum/sectors";
import { visibleAddr, threadSlot } from "../pmem/state";
import { lockHolder } from "./fs-lock";
import { RootSlot } from "./root-slot";

// The item found by findFileExtent (this instance's: globals).
export let feStart: u64 = 0;
export let feType: u32 = 0;
export let feDisk: u64 = 0;
export let feDiskBytes: u64 = 0;
export let feOffset: u64 = 0;
export let feBytes: u64 = 0;
let feGeneration: u64 = 0;

// The fs tree the operations below change: its id and root-table slot.
let fsTree: u64 = 0;
let fsSlot: usize = 0;

/** Name the fs tree (id, root-table slot) the next operations use. */
export function useFsTree(tree: u64, slot: usize): void {
  assert(slot != 0, "file-item: a tree without its slot");
  assert(tree != 0, "no tree");
  const table = <usize>load<u32>(fsBase + F_ROOTS);
  assert(slot >= table && slot - table < <usize>ROOT_SLOTS * ROOT_SLOT_BYTES
    && (slot - table) % ROOT_SLOT_BYTES == 0, "root slot");
  assert(changetype<RootSlot>(slot).tree == tree, "root slot");
  // a root table outside the kernel region
  if (CHECKS) assert(kernelRangeValid(slot, ROOT_SLOT_BYTES));
  fsTree = tree;
  fsSlot = slot;
}

@inline function stagingAddr(): usize {
  const at = <usize>load<u32>(fsBase + F_STAGING);
  assert(at != 0, "no staging");
  assert(load<u32>(fsBase + F_STAGING_BYTES) >= FILE_EXTENT_BYTES, "staging size");
  // staging outside the kernel region
  if (CHECKS) assert(kernelRangeValid(at, load<u32>(fsBase + F_STAGING_BYTES)));
  return at;
}

@inline function fsBegin(objectid: u64, type: u32, offset: u64): void {
  assert(fsTree != 0 && fsSlot != 0, "no tree");
  assert(type == EXTENT_DATA || (type == INODE_ITEM && offset == 0), "item type");
  begin(fsTree, changetype<RootSlot>(fsSlot).root, changetype<RootSlot>(fsSlot).level, objectid,
    type, offset);
}

/**
 * After a changing operation: its dropped blocks go (endOperation), its root goes to the
 * slot, and the delayed refs run when their tables are half full (as Kernel.operationDone
 * does for TypeScript's calls). A failing run aborts the transaction (F_ABORTED stays set).
 */
function changed(csum: bool): void {
  endOperation();
  // The root stored is the tree's the operation changed: no other tree's ran in between.
  assert(currentTree() == (csum ? CSUM_TREE_ID : fsTree), "other tree's root");
  if (csum) {
    store<u64>(fsBase + F_CSUM_ROOT, currentRoot());
    store<u32>(fsBase + F_CSUM_LEVEL, currentLevel());
  } else if (currentRoot() != changetype<RootSlot>(fsSlot).root
      || currentLevel() != changetype<RootSlot>(fsSlot).level) {
    changetype<RootSlot>(fsSlot).root = currentRoot();
    changetype<RootSlot>(fsSlot).level = currentLevel();
    changetype<RootSlot>(fsSlot).flags = changetype<RootSlot>(fsSlot).flags | RSF_MOVED;
  }
  // the root table does not name the tree's root
  if (CHECKS) assert(csum || changetype<RootSlot>(fsSlot).root == currentRoot());
  if (refPressure() >= 500 && load<u32>(fsBase + F_ABORTED) == 0) {
    store<u32>(fsBase + F_ABORTED, ABORTED_DELAYED_REFS); // stays if the run throws
    runDelayedRefs();
    store<u32>(fsBase + F_ABORTED, 0);
    assert(refPressure() == 0, "refs left");
  }
}

/**
 * The file extent item of `ino` that maps file byte `at`, into fe*; false for a hole.
 * Items never overlap, so it is the last item at or before (ino, EXTENT_DATA, at).
 */
export function findFileExtent(ino: u64, at: u64): bool {
  assert(fsSlot != 0, "file-item: a lookup without its tree (useFsTree)");
  assert((at & (SECTOR_BYTES - 1)) == 0, "offset unaligned");
  fsBegin(ino, EXTENT_DATA, at);
  if (!seekBackward()) return false;
  const result = threadArea() + TA_RESULT;
  const leaf = <usize>load<u32>(result + CR_LEAF), slot = load<u32>(result + CR_SLOT);
  if (slot >= nritems(leaf)) return false;
  const key = itemAt(leaf, slot);
  if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) {
    return false;
  }
  const item = dataAddr(leaf, slot);
  // The tree checker let a shorter item in only as an inline one (a symlink's target): in a
  // file pmcow writes, damage (no file operation reaches a symlink's items).
  if (<u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_INLINE) {
    fail(EUCLEAN, P_INLINE_FILE, 0, 0, ino, 0, 0);
  }
  // a short regular item passed the tree checker
  if (CHECKS) assert(dataSize(leaf, slot) >= FILE_EXTENT_BYTES);
  feStart = load<u64>(key + KEY_OFFSET);
  feType = <u32>load<u8>(item + FE_TYPE);
  feDisk = load<u64>(item + FE_DISK_BYTENR);
  feDiskBytes = load<u64>(item + FE_DISK_BYTES);
  feOffset = load<u64>(item + FE_OFFSET);
  feBytes = load<u64>(item + FE_BYTES);
  feGeneration = load<u64>(item + FE_GENERATION);
  // The last item at or before `at` of this file: it starts at or before `at`.
  assert(feStart <= at, "item after offset");
  return feStart + feBytes > at;
}

/** Is the item found sector aligned (so one page lies inside it)? */
export function foundAligned(): bool {
  const mask: u64 = SECTOR_BYTES - 1;
  return ((feStart | feBytes | feOffset | feDisk) & mask) == 0 && feOffset + feBytes <= feDiskBytes;
}

/**
 * The generation of data extent `bytenr` (this transaction's when allocated in it; 0 without an
 * item).
 */
export function extentGeneration(bytenr: u64, bytes: u64): u64 {
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "extent unaligned");
  if (testBit(freshBitsAddr, <u32>(bytenr >> SECTOR_SHIFT))) return committedGeneration() + 1;
  begin(EXTENT_TREE_ID, load<u64>(fsBase + F_EXTENT_ROOT), load<u32>(fsBase + F_EXTENT_LEVEL),
    bytenr, EXTENT_ITEM, bytes);
  if (!lookupItem()) return 0;
  return load<u64>(<usize>load<u32>(threadArea() + TA_RESULT + CR_DATA) + EI_GENERATION);
}

@inline function csumBegin(extent: u64): void {
  assert((extent & (SECTOR_BYTES - 1)) == 0 && extent < <u64>totalBytes,
    "file-item: checksums of an extent not on a sector of the device");
  assert((extent & (SECTOR_BYTES - 1)) == 0, "extent unaligned");
  assert(extent < <u64>totalBytes, "past device end");
  // btrfs's key: (EXTENT_CSUM_OBJECTID, EXTENT_CSUM, the first sector's bytenr).
  begin(CSUM_TREE_ID, load<u64>(fsBase + F_CSUM_ROOT), load<u32>(fsBase + F_CSUM_LEVEL),
    <u64><i64>EXTENT_CSUM_OBJECTID, EXTENT_CSUM, extent);
}

/**
 * The checksums of a data extent allocated in this transaction (no item can exist yet: a
 * freed extent's item goes before its sectors can be handed out again). One insert, no
 * lookup; an item already there (a corrupted csum tree) is EEXIST.
 */
export function csumInsertFresh(extent: u64, extentBytes: u64): void {
  // checksums built in the staging buffer without the fs lock
  if (CHECKS) assert(lockHolder() == threadSlot);
  assert(testBit(freshBitsAddr, <u32>(extent >> SECTOR_SHIFT)),
    "file-item: checksums inserted for an extent not allocated in this transaction");
  const sectors = <u32>(extentBytes >> SECTOR_SHIFT);
  const staging = stagingAddr();
  assert(sectors > 0 && <u64>sectors * 4 <= <u64>load<u32>(fsBase + F_STAGING_BYTES),
    "file-item: checksums larger than the staging buffer");
  assert(extent + extentBytes <= <u64>totalBytes,
    "file-item: checksums of an extent past the device");
  sectorsCompute(visibleAddr + <usize>extent, sectors, SECTOR_BYTES, staging);
  csumBegin(extent);
  insertItem(staging, sectors * 4);
  changed(true);
}

/** Is there room in the readers log for one more entry? */
export function readersLogRoom(): bool {
  const count = load<u32>(fsBase + F_READERS_COUNT);
  assert(count <= READERS_LOG_ENTRIES, "readers count");
  return count < READERS_LOG_ENTRIES;
}

/**
 * Bytes [from, to) of `extent` were read by an item dropped in this transaction
 * (Kernel.readersDropped).
 */
function logReaders(extent: u64, from: u64, to: u64): void {
  const count = load<u32>(fsBase + F_READERS_COUNT);
  assert(count < READERS_LOG_ENTRIES, "file-item: readers log full (callers check readersLogRoom)");
  assert(from < to, "empty range");
  const entry = readersLogAddr + <usize>count * READERS_ENTRY_BYTES;
  // the log outside the kernel region
  if (CHECKS) assert(kernelRangeValid(entry, READERS_ENTRY_BYTES));
  store<u64>(entry, extent);
  store<u32>(entry, <u32>from, 8);
  store<u32>(entry, <u32>to, 12);
  store<u32>(fsBase + F_READERS_COUNT, count + 1);
}

/** A file extent item body in the staging buffer (after the checksums' room). */
function stageExtent(
  generation: u64, type: u32, disk: u64, diskBytes: u64, offset: u64, bytes: u64,
): usize {
  // the staging buffer used without the fs lock that guards it
  if (CHECKS) assert(lockHolder() == threadSlot);
  assert(type == EXTENT_TYPE_REG || type == EXTENT_TYPE_PREALLOC, "extent type");
  assert(bytes > 0, "empty range");
  assert(offset + bytes <= diskBytes, "range outside extent");
  assert(((disk | offset | bytes) & (SECTOR_BYTES - 1)) == 0, "extent unaligned");
  const at = stagingAddr() + <usize>(load<u32>(fsBase + F_STAGING_BYTES) - FILE_EXTENT_BYTES);
  memory.fill(at, 0, FILE_EXTENT_BYTES);
  store<u64>(at + FE_GENERATION, generation);
  // uncompressed: the extent's own bytes (compression, encryption 0)
  store<u64>(at + FE_RAM_BYTES, diskBytes);
  store<u8>(at + FE_TYPE, <u8>type);
  store<u64>(at + FE_DISK_BYTENR, disk);
  store<u64>(at + FE_DISK_BYTES, diskBytes);
  store<u64>(at + FE_OFFSET, offset);
  store<u64>(at + FE_BYTES, bytes);
  return at;
}

/**
 * Map file page [at, at + SECTOR_BYTES) of `ino` to the new one-page extent `disk` (as
 * FileData.drop then an insert): the item that mapped it is trimmed, deleted or split
 * around it, and noted as losing a reference (with the bytes it read, for fills).
 */
function replacePage(ino: u64, at: u64, disk: u64): void {
  assert(fsTree != 0 && fsSlot != 0, "file-item: a page replaced without its tree (useFsTree)");
  replaceFoundPage(ino, at, disk, findFileExtent(ino, at));
}

/**
 * replacePage when the caller just ran findFileExtent(ino, at) and changed no fs tree
 * since: `found` is its answer and the fe* globals describe the item (one seek less).
 */
export function replaceFoundPage(ino: u64, at: u64, disk: u64, found: bool): void {
  // a stale answer: the fs tree changed since the lookup
  if (CHECKS) assert(findFileExtent(ino, at) == found);
  assert(!found || (feStart <= at && feStart + feBytes > at),
    "file-item: the item found does not map the page");
  // a file's items changed by a fault without the fs lock
  if (CHECKS) assert(lockHolder() == threadSlot);
  assert((at & (SECTOR_BYTES - 1)) == 0, "offset unaligned");
  assert((disk & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  assert(disk < <u64>totalBytes, "past device end");
  const end = at + SECTOR_BYTES;
  if (found) {
    assert(foundAligned(), "file-item: an unaligned item reached a page replace");
    const start = feStart, type = feType, old = feDisk, oldBytes = feDiskBytes, offset = feOffset,
      bytes = feBytes;
    const generation = feGeneration;
    setRange(losingBitsAddr, <u32>(old >> SECTOR_SHIFT), <u32>(old >> SECTOR_SHIFT) + 1, true);
    if (type == EXTENT_TYPE_REG) logReaders(old, offset, offset + bytes);
    fsBegin(ino, EXTENT_DATA, start);
    // An item that starts at the page takes the new block in place (its key is the page's):
    // one walk and no data moved in the leaf, where a delete and an insert moved half a
    // leaf twice. One that starts before it keeps [start, at).
    if (start < at) {
      updateItem(stageExtent(generation, type, old, oldBytes, offset, at - start),
        FILE_EXTENT_BYTES);
    }
    else updateItem(stageExtent(committedGeneration() + 1, EXTENT_TYPE_REG, disk, SECTOR_BYTES, 0,
      SECTOR_BYTES), FILE_EXTENT_BYTES);
    changed(false);
    if (start + bytes > end) {
      const cut = end - start;
      fsBegin(ino, EXTENT_DATA, end);
      insertItem(stageExtent(generation, type, old, oldBytes, offset + cut, bytes - cut),
        FILE_EXTENT_BYTES);
      changed(false);
    }
    if (start == at) {
      // the page does not map the new block
      if (CHECKS) {
        assert(findFileExtent(ino, at) && feStart == at && feDisk == disk
          && feBytes == SECTOR_BYTES);
      }
      return;
    }
  }
  fsBegin(ino, EXTENT_DATA, at);
  insertItem(stageExtent(committedGeneration() + 1, EXTENT_TYPE_REG, disk, SECTOR_BYTES, 0,
    SECTOR_BYTES), FILE_EXTENT_BYTES);
  changed(false);
  // Debug builds look the page up again (this changes only the fe* globals, read by no caller
  // after).
  // the page does not map the new block
  if (CHECKS) {
    assert(findFileExtent(ino, at) && feStart == at && feDisk == disk && feBytes == SECTOR_BYTES);
  }
}

/** Does any file extent item of `ino` start in (at, end)? (The caller found none mapping `at`.) */
export function itemStartsIn(ino: u64, at: u64, end: u64): bool {
  assert(at < end, "empty range");
  fsBegin(ino, EXTENT_DATA, at);
  if (!seekForward(true)) return false;
  const result = threadArea() + TA_RESULT;
  const leaf = <usize>load<u32>(result + CR_LEAF), slot = load<u32>(result + CR_SLOT);
  if (slot >= nritems(leaf)) return false;
  const key = itemAt(leaf, slot);
  if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) {
    return false;
  }
  // The seek went past `at`: the item found starts after it.
  assert(load<u64>(key + KEY_OFFSET) > at, "an item at the offset the caller found none at");
  return load<u64>(key + KEY_OFFSET) < end;
}

/**
 * Map file bytes [at, at + bytes) of `ino`, where no item maps any of them, to the new
 * extent [disk, disk + bytes) (FileData.cow over a hole: one item).
 */
export function insertNewExtent(ino: u64, at: u64, disk: u64, bytes: u64): void {
  if (CHECKS) assert(lockHolder() == threadSlot); // a file's items changed without the fs lock
  // a new extent over mapped bytes
  if (CHECKS) assert(!findFileExtent(ino, at) && !itemStartsIn(ino, at, at + bytes));
  assert(((at | disk | bytes) & (SECTOR_BYTES - 1)) == 0 && bytes > 0,
    "file-item: an unaligned new extent");
  assert(disk + bytes <= <u64>totalBytes, "past device end");
  fsBegin(ino, EXTENT_DATA, at);
  insertItem(stageExtent(committedGeneration() + 1, EXTENT_TYPE_REG, disk, bytes, 0, bytes),
    FILE_EXTENT_BYTES);
  changed(false);
}

/**
 * The inode item of `ino` after a write (FileSystem.putInode): its size at least `size`,
 * its transid this transaction's. The body is staged before the extent item's room.
 */
export function inodeWritten(ino: u64, size: u64): void {
  if (CHECKS) assert(lockHolder() == threadSlot); // an inode changed without the fs lock
  const body = stagingAddr()
    + <usize>(load<u32>(fsBase + F_STAGING_BYTES) - FILE_EXTENT_BYTES - INODE_ITEM_BYTES);
  fsBegin(ino, INODE_ITEM, 0);
  const found = lookupItem();
  assert(found && load<u32>(threadArea() + TA_RESULT + CR_SIZE) == INODE_ITEM_BYTES,
    "file-item: the inode written is gone");
  memory.copy(body, <usize>load<u32>(threadArea() + TA_RESULT + CR_DATA), INODE_ITEM_BYTES);
  if (load<u64>(body + INODE_SIZE) < size) store<u64>(body + INODE_SIZE, size);
  store<u64>(body + INODE_TRANSID, committedGeneration() + 1);
  fsBegin(ino, INODE_ITEM, 0);
  updateItem(body, INODE_ITEM_BYTES);
  changed(false);
}
