// The DAX fault path of the file system, in the core: any thread resolves its own page
// faults under the fs lock, with no message to the thread that mounted the file system
// (issue 14). It is src/dax/manager.ts's resolveFault for the cases that need nothing
// but the shared state; the rest answer FR_OWNER before anything changes, and the
// owning thread's TypeScript serves them as before:
//   - errors (SIGSEGV, SIGBUS, EROFS, a missing inode): TypeScript words them;
//   - a write fault while frozen (a writer waits for thaw), a MAP_SYNC write fault with
//     its durable-fault switch on (it commits), a full dirty-page table (it commits);
//   - preallocated or filled-in-place extents (FileData.planFills decides fills);
//   - a nodatacow extent with references from several mappings of the file, or refs still
//     delayed (the owner's walk over the file's items tells whether they overlap).
// Every switch keeps its meaning: the reverse map honours DP_MULTI_MAPPING, shootdowns
// DP_TLB_SHOOTDOWN; write protection at commit, snapshot, reflink and freeze stays with
// the owner, over the same shared tables (tables.ts).
import {
  M_ACTIVE, M_PAGES, M_FLAGS, M_ROOT_SLOT, M_FILE_PAGE, M_TREE, M_INO, MF_WRITE, MF_SYNC, D_FROZEN,
  D_MAX_MAPPINGS, DP_MAP_SYNC_FAULT, DP_TLB_SHOOTDOWN, F_ABORTED, INODE_SIZE, INODE_FLAGS,
  INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, EXTENT_TYPE_REG, PAGE_SHIFT, PAGE_BYTES, SECTOR_SHIFT,
  PTE_PRESENT, PTE_WRITE, PTE_BLOCK_MASK, ZERO_PAGE_BYTENR, FR_DONE, FR_OWNER, DS_READ_FAULTS,
  DS_WRITE_FAULTS, DS_HOLE_FILLS, DS_COW_FAULTS, DS_IN_PLACE_FAULTS, DS_SHOOTDOWNS,
  DS_INVALIDATIONS, DS_CORE_FAULTS, DRF_DATASUM, DRF_DATACOW, DRF_COWED, M_PTES, SECTOR_BYTES,
  F_STAGING, MAX_MAPPINGS, DRF_LIVE,
} from "../abi";
import { daxBaseAddr, mappingEntry, daxShootdown } from "./access";
import {
  setPte, pteAddr, rmapFirst, rmapNext, rmapMapping, dirtyFindFor, dirtyAdd, dirtyDrop, dirtyRoom,
  countStat, policyBit,
} from "./tables";
import { lookupInode } from "../fs/inode";
import {
  fsBase, filledBitsAddr, losingBitsAddr, freshBitsAddr, metadataReserveBytes, totalBytes,
} from "../fs/state";
import { testBit, setRange } from "../fs/bitmap";
import {
  useFsTree, findFileExtent, foundAligned, extentGeneration, csumInsertFresh, replaceFoundPage,
  readersLogRoom, feStart, feType, feDisk, feDiskBytes, feOffset,
} from "../fs/file-item";
import { extentRefs, dataRefsOwner } from "../fs/extent-items";
import { allocateData } from "../fs/free-space";
import { spaceFits } from "../fs/chunks";
import { deviceStoreLines, deviceLock, deviceUnlock } from "../pmem/device";
import { visibleAddr, threadSlot } from "../pmem/state";
import { lockHolder } from "../fs/fs-lock";
import { CHECKS } from "../shared/checks";
import { RootSlot } from "../fs/root-slot";
import { DirtyRecord } from "./dirty-record";

/** Data stored to the device outside a commit (the host's observers: image fuzzing). */
@external("env", "fs_data_written")
declare function hostDataWritten(bytenr: f64, bytes: u32): void;

// The fault in progress (this instance's globals).
let faultMapping: u32 = 0;
let faultPage: u32 = 0;
let fileTree: u64 = 0;
let fileIno: u64 = 0;
let filePage: u32 = 0;
let inodeFlags: u64 = 0;

/**
 * Resolve a fault of page `page` of mapping `mapping` (a store when `write`): FR_DONE when
 * the page table has the entry, FR_OWNER when the owning thread must serve it (see the
 * header). The caller holds the fs lock.
 */
export function daxFsFault(mapping: u32, page: u32, write: bool): i32 {
  assert(daxBaseAddr() != 0, "dax not attached");
  assert(fsBase != 0, "no file system");
  // The shared tables and the trees change under the fs lock only.
  assert(lockHolder() == threadSlot, "fs lock not held");
  if (mapping >= load<u32>(daxBaseAddr() + D_MAX_MAPPINGS)) return FR_OWNER;
  const entry = mappingEntry(mapping);
  if (atomic.load<u32>(entry + M_ACTIVE) == 0 || page >= load<u32>(entry + M_PAGES)) {
    return FR_OWNER;
  }
  const flags = load<u32>(entry + M_FLAGS);
  if (write && (flags & MF_WRITE) == 0) return FR_OWNER;
  if (write && atomic.load<u32>(daxBaseAddr() + D_FROZEN) != 0) return FR_OWNER;
  if (write && (flags & MF_SYNC) != 0 && policyBit(DP_MAP_SYNC_FAULT)) return FR_OWNER;
  if (load<u32>(fsBase + F_ABORTED) != 0) return FR_OWNER;
  const slot = <usize>load<u32>(entry + M_ROOT_SLOT);
  fileTree = load<u64>(entry + M_TREE);
  if (slot == 0 || changetype<RootSlot>(slot).tree != fileTree) return FR_OWNER;
  fileIno = load<u64>(entry + M_INO);
  filePage = load<u32>(entry + M_FILE_PAGE) + page;
  faultMapping = mapping;
  faultPage = page;
  useFsTree(fileTree, slot);
  // The inode: its size bounds the mapping (SIGBUS beyond it), its flags choose the path.
  const inode = lookupInode(fileTree, changetype<RootSlot>(slot).root,
    changetype<RootSlot>(slot).level, fileIno);
  if (inode == 0) return FR_OWNER;
  if ((<u64>filePage << PAGE_SHIFT) >= load<u64>(inode + INODE_SIZE)) return FR_OWNER;
  inodeFlags = load<u64>(inode + INODE_FLAGS);
  const result = write ? writeFault(slot) : readFault();
  assert(result == FR_DONE || result == FR_OWNER, "fault result");
  // Served: the page table has an entry with the permission the fault wanted.
  if (CHECKS) {
    assert(result != FR_DONE
      || (atomic.load<u32>(pteAddr(mapping, page)) & (write ? PTE_PRESENT | PTE_WRITE
        : PTE_PRESENT)) == (write ? PTE_PRESENT | PTE_WRITE : PTE_PRESENT));
  }
  if (result == FR_DONE) countStat(DS_CORE_FAULTS);
  return result;
}

function readFault(): i32 {
  assert(fileTree != 0, "no tree");
  assert(faultMapping < MAX_MAPPINGS, "mapping id");
  const at = <u64>filePage << PAGE_SHIFT;
  let block = ZERO_PAGE_BYTENR >> PAGE_SHIFT;
  if (findFileExtent(fileIno, at)) {
    if (!foundAligned()) return FR_OWNER;
    if (feType == EXTENT_TYPE_REG) {
      block = <u32>((feDisk + feOffset + (at - feStart)) >> PAGE_SHIFT);
    }
  }
  // The item passed the tree checker (its extent inside the device) and foundAligned.
  assert(<u64>block < (<u64>totalBytes >> PAGE_SHIFT),
    "a read fault mapping a block outside the device");
  countStat(DS_READ_FAULTS);
  setPte(faultMapping, faultPage, block | PTE_PRESENT);
  // a read fault that left no read-only entry
  if (CHECKS) assert(atomic.load<u32>(pteAddr(faultMapping, faultPage)) == (block | PTE_PRESENT));
  return FR_DONE;
}

/**
 * May a nodatacow extent be overwritten in place (FileData.canOverwriteExtent)? -1: only
 * the owner can tell (several mappings of this inode, which its walk compares).
 */
function canOverwrite(lastSnapshot: u64): i32 {
  // The caller found a regular, aligned item (writeFault refuses the rest first).
  // an overwrite decided for an item the fault path refuses
  if (CHECKS) assert(feType == EXTENT_TYPE_REG && foundAligned());
  assert(fileTree != 0 && feDiskBytes > 0, "an overwrite decided without its tree or extent");
  if (extentGeneration(feDisk, feDiskBytes) <= lastSnapshot) return 0;
  if (testBit(losingBitsAddr, <u32>(feDisk >> SECTOR_SHIFT))) return 0;
  if (extentRefs(feDisk, true, feDiskBytes) == 1) return 1;
  return dataRefsOwner(feDisk, feDiskBytes, fileTree, fileIno);
}

function writeFault(slot: usize): i32 {
  const at = <u64>filePage << PAGE_SHIFT;
  const datacow = (inodeFlags & INODE_FLAG_NODATACOW) == 0;
  const datasum = (inodeFlags & INODE_FLAG_NODATASUM) == 0;
  if (!dirtyRoom()) return FR_OWNER;
  const found = findFileExtent(fileIno, at);
  // Everything the core cannot serve is refused before anything changes.
  if (found && (!foundAligned() || feType != EXTENT_TYPE_REG
      || testBit(filledBitsAddr, <u32>(feDisk >> SECTOR_SHIFT)))) {
    return FR_OWNER;
  }
  const extent = feDisk, extentBytes = feDiskBytes;
  const oldDisk: i64 = found ? <i64>(feDisk + feOffset + (at - feStart)) : -1;
  let inPlace = false;
  if (found && datacow) {
    const record = dirtyFindFor(<u32>(oldDisk >> PAGE_SHIFT), fileTree, fileIno, filePage);
    inPlace = record != 0 && (changetype<DirtyRecord>(record).flags & DRF_COWED) != 0;
  } else if (found) {
    const can = canOverwrite(changetype<RootSlot>(slot).lastSnapshot);
    if (can < 0) return FR_OWNER;
    inPlace = can == 1;
  }
  let disk: u64;
  if (inPlace) {
    assert(found && oldDisk >= 0, "in place: no block");
    disk = <u64>oldDisk;
    countStat(DS_WRITE_FAULTS);
    countStat(DS_IN_PLACE_FAULTS);
    finishWrite(oldDisk, disk, extent, <u32>extentBytes, datacow, datasum);
    return FR_DONE;
  }
  if (found && !readersLogRoom()) return FR_OWNER;
  // A new block: a hole filled with zeros, or a copy of the block that must not change.
  if (!spaceFits(PAGE_BYTES >> SECTOR_SHIFT, metadataReserveBytes() >> SECTOR_SHIFT)) {
    return FR_OWNER;
  }
  const sector = allocateData(1);
  if (sector < 0) return FR_OWNER;
  countStat(DS_WRITE_FAULTS);
  disk = <u64>sector << SECTOR_SHIFT;
  assert(disk + PAGE_BYTES <= <u64>totalBytes, "block past device");
  setRange(freshBitsAddr, <u32>sector, <u32>sector + 1, true);
  fillPage(disk, oldDisk);
  if (datasum) csumInsertFresh(disk, SECTOR_BYTES);
  // The lookup above still holds: since, only the extent and csum trees were read or changed.
  assert(!found || oldDisk >= 0, "a found item without its block");
  replaceFoundPage(fileIno, at, disk, found);
  // the old extent not marked losing
  if (CHECKS) assert(!found || testBit(losingBitsAddr, <u32>(extent >> SECTOR_SHIFT)));
  finishWrite(oldDisk, disk, disk, SECTOR_BYTES, datacow, datasum);
  return FR_DONE;
}

/** The new block's first content: a copy of the old block, or zeros for a hole. */
function fillPage(disk: u64, oldDisk: i64): void {
  // the staging buffer's zeros used without the fs lock
  if (CHECKS) assert(lockHolder() == threadSlot);
  assert((disk & (PAGE_BYTES - 1)) == 0, "unaligned block");
  assert(disk + PAGE_BYTES <= <u64>totalBytes, "block past device");
  deviceLock();
  if (oldDisk >= 0) {
    deviceStoreLines(<u32>disk, visibleAddr + <usize>oldDisk, PAGE_BYTES, false);
  } else {
    const zeros = <usize>load<u32>(fsBase + F_STAGING); // the fs lock guards the staging buffer
    memory.fill(zeros, 0, PAGE_BYTES);
    deviceStoreLines(<u32>disk, zeros, PAGE_BYTES, false);
  }
  // The new block holds what it should: the old block's bytes, or zeros (compared under
  // the device lock, which DAX stores of other threads take too).
  // a new block that is not its fill
  if (CHECKS) {
    assert(memory.compare(visibleAddr + <usize>disk,
      oldDisk >= 0 ? visibleAddr + <usize>oldDisk : <usize>load<u32>(fsBase + F_STAGING),
        PAGE_BYTES) == 0);
  }
  deviceUnlock();
  countStat(oldDisk >= 0 ? DS_COW_FAULTS : DS_HOLE_FILLS);
  hostDataWritten(<f64>disk, PAGE_BYTES);
}

/**
 * Map the page writable at `disk`, drop every other translation of the file page, record it dirty.
 */
function finishWrite(
  oldDisk: i64, disk: u64, extent: u64, extentBytes: u32, datacow: bool, datasum: bool,
): void {
  // The block written lies in the extent the dirty record names (its checksums' item).
  assert(disk >= extent && disk + PAGE_BYTES <= extent + extentBytes, "block outside extent");
  const block = <u32>(disk >> PAGE_SHIFT);
  let downgraded = false;
  if (oldDisk != <i64>disk) downgraded = invalidateFilePage(oldDisk);
  const before = atomic.load<u32>(pteAddr(faultMapping, faultPage));
  if ((before & PTE_PRESENT) != 0 && (before & PTE_BLOCK_MASK) != block) downgraded = true;
  setPte(faultMapping, faultPage, block | PTE_PRESENT | PTE_WRITE);
  if (downgraded && policyBit(DP_TLB_SHOOTDOWN)) {
    countStat(DS_SHOOTDOWNS);
    daxShootdown();
  }
  if (oldDisk >= 0 && oldDisk != <i64>disk
      && dirtyFindFor(<u32>(oldDisk >> PAGE_SHIFT), fileTree, fileIno, filePage) != 0) {
    dirtyDrop(<u32>(oldDisk >> PAGE_SHIFT)); // the file page's record moves to its new block
  }
  const flags = (datasum ? DRF_DATASUM : 0) | (datacow ? DRF_DATACOW | DRF_COWED : 0);
  dirtyAdd(block, fileTree, fileIno, filePage, extent, extentBytes, flags);
  // a write fault that left no writable entry
  if (CHECKS) {
    assert(atomic.load<u32>(pteAddr(faultMapping, faultPage)) == (block | PTE_PRESENT | PTE_WRITE));
  }
  // a written page not recorded dirty
  if (CHECKS) assert(dirtyFindFor(block, fileTree, fileIno, filePage) != 0);
  // a dirty record with other flags
  if (CHECKS) {
    assert(changetype<DirtyRecord>(dirtyFindFor(block, fileTree, fileIno, filePage)).flags
      == (flags | DRF_LIVE));
  }
  // Stores through the mapping may land anywhere in the block from now on.
  hostDataWritten(<f64>disk, PAGE_BYTES);
}

/** Clear a present PTE of another mapping of this file page; true when one was cleared. */
function invalidateOne(mapping: u32, page: u32): bool {
  assert(mapping < load<u32>(daxBaseAddr() + D_MAX_MAPPINGS), "mapping id");
  if (mapping == faultMapping && page == faultPage) return false;
  const entry = mappingEntry(mapping);
  if (load<u64>(entry + M_TREE) != fileTree || load<u64>(entry + M_INO) != fileIno) return false;
  if (page >= load<u32>(entry + M_PAGES) || load<u32>(entry + M_FILE_PAGE) + page != filePage) {
    return false;
  }
  if ((atomic.load<u32>(pteAddr(mapping, page)) & PTE_PRESENT) == 0) return false;
  setPte(mapping, page, 0);
  // an invalidated entry still set
  if (CHECKS) assert(atomic.load<u32>(pteAddr(mapping, page)) == 0);
  countStat(DS_INVALIDATIONS);
  return true;
}

/**
 * The file page now lives elsewhere: drop every other mapping's entry for it. Entries of
 * a real block are found through its reverse map; entries of the zero page (a hole)
 * through the file's mappings.
 */
function invalidateFilePage(oldDisk: i64): bool {
  assert(oldDisk < 0 || (<u64>oldDisk & (PAGE_BYTES - 1)) == 0, "unaligned block");
  let changed = false;
  if (oldDisk >= 0) {
    let pte = rmapFirst(<u32>(oldDisk >> PAGE_SHIFT));
    while (pte != 0) {
      const next = rmapNext(pte);
      const mapping = rmapMapping(pte);
      const page = <u32>((pte - <usize>load<u32>(mappingEntry(mapping) + M_PTES)) >> 2);
      // A listed PTE is an entry of the table of the mapping its node names.
      assert(pte >= <usize>load<u32>(mappingEntry(mapping) + M_PTES)
        && page < load<u32>(mappingEntry(mapping) + M_PAGES), "PTE outside mapping");
      if (invalidateOne(mapping, page)) changed = true;
      pte = next;
    }
    return changed;
  }
  const count = load<u32>(daxBaseAddr() + D_MAX_MAPPINGS);
  for (let m: u32 = 0; m < count; m++) {
    const entry = mappingEntry(m);
    if (atomic.load<u32>(entry + M_ACTIVE) == 0) continue;
    const first = load<u32>(entry + M_FILE_PAGE);
    if (filePage < first) continue;
    if (invalidateOne(m, filePage - first)) changed = true;
  }
  return changed;
}
