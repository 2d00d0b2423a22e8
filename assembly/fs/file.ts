// The write path of pwrite in the core (btrfs's file.c: btrfs_buffered_write, with
// inode.c's cow_file_range for one page): the writes whose every decision the shared state
// holds, in one call under the fs lock. It makes the decisions FileData.write makes, in the
// same order and with the same results, for two shapes:
//   - in place: a nodatacow file, the range inside one regular extent that only this file
//     references, newer than the subvolume's last snapshot, not losing a reference and not
//     filled in this transaction (FileData.canOverwriteExtent);
//   - one page to a new block: a datacow file's page (or a nodatacow page that cannot be
//     overwritten), over a hole or a regular extent: the block allocated, stored, its
//     checksums inserted, the old item trimmed, split or deleted around it
//     (file-item.ts's replaceFoundPage, which the DAX fault path uses too).
//   - several pages to a new extent: a write of up to MAX_EXTENT_BYTES over a hole.
// Then the inode item, when the file grows or was last written in an earlier transaction
// (FileSystem.putInode: its size and transid). Everything else answers WRITE_OWNER before
// anything changes, and TypeScript's path (FileData.write) runs: unaligned writes, a
// growing write whose old size is not sector aligned (the old last sector is zeroed first),
// several pages over mapped bytes, preallocated or filled extents, a DAX-immutable file,
// references only a walk over the file's items can tell apart, no whole extent free.
// The caller tells whether DAX mappings or dirtied pages involve the file (then it takes
// TypeScript's path too: DaxManager.rangeChanged invalidates them).
import {
  INODE_SIZE, INODE_FLAGS, INODE_TRANSID, INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM,
  INODE_FLAG_IMMUTABLE, F_ABORTED, EXTENT_TYPE_REG, SECTOR_BYTES, SECTOR_SHIFT, MAX_EXTENT_BYTES,
  EI_GENERATION, EI_REFS,
} from "../abi";
import { lookupInode } from "./inode";
import {
  fsBase, filledBitsAddr, losingBitsAddr, freshBitsAddr, metadataReserveBytes, committedGeneration,
  totalBytes, nodeBytes, copies,
} from "./state";
import { testBit, setRange } from "./bitmap";
import {
  useFsTree, findFileExtent, foundAligned, extentGeneration, csumInsertFresh, replaceFoundPage,
  readersLogRoom, itemStartsIn, insertNewExtent, inodeWritten, feStart, feType, feDisk, feDiskBytes,
  feOffset, feBytes,
} from "./file-item";
import { dataExtentItem, dataRefsOwner, extentRefs } from "./extent-items";
import { refDelta } from "./delayed-ref";
import { allocateData } from "./free-space";
import { spaceFits } from "./chunks";
import { deviceStoreLines, deviceLock, deviceUnlock } from "../pmem/device";
import { threadSlot, visibleAddr } from "../pmem/state";
import { lockHolder } from "./fs-lock";
import { CHECKS } from "../shared/checks";
import { RootSlot } from "./root-slot";

/** fileWrite's answer when TypeScript's path must run (nothing changed). */
export const WRITE_OWNER: i64 = -1;

/** Tree blocks of slack a write leaves beyond the reserve (FileSystem.writeResolved's 64 nodes). */
const WRITE_SLACK_NODES: u64 = 64;

/**
 * Write `length` bytes at `src` (in the shared memory) to file byte `at` of inode `ino` in
 * the subvolume tree of root-table slot `slot`: the device byte the data went to, or
 * WRITE_OWNER. The caller holds the fs lock.
 */
export function fileWrite(slot: usize, ino: u64, src: usize, at: u64, length: u32): i64 {
  assert(lockHolder() == threadSlot, "file: a write without the fs lock");
  assert(length > 0 && ((at | <u64>length) & (SECTOR_BYTES - 1)) == 0,
    "file: an unaligned write reached the core");
  if (load<u32>(fsBase + F_ABORTED) != 0) return WRITE_OWNER;
  const tree = changetype<RootSlot>(slot).tree;
  useFsTree(tree, slot);
  const inode = lookupInode(tree, changetype<RootSlot>(slot).root, changetype<RootSlot>(slot).level,
    ino);
  if (inode == 0) return WRITE_OWNER;
  const flags = load<u64>(inode + INODE_FLAGS);
  const size = load<u64>(inode + INODE_SIZE);
  const end = at + length;
  // A growing write first zeroes the old last sector past EOF (FileSystem.zeroPastEof):
  // nothing to zero when the old size is sector aligned.
  if (end > size && (size & (SECTOR_BYTES - 1)) != 0) return WRITE_OWNER;
  // The inode item changes unless it is this transaction's and the file does not grow
  // (FileSystem.putInode would write the same bytes again).
  const inodeChanges = end > size || load<u64>(inode + INODE_TRANSID) != committedGeneration() + 1;
  if ((flags & INODE_FLAG_IMMUTABLE) != 0) return WRITE_OWNER;
  // FileSystem.writeResolved's space check (in place too): what it would refuse or commit for.
  // (Device bytes of slack: a dup block counts its copy. Kernel.writeSlackBytes is the same.)
  const metadataNeed = WRITE_SLACK_NODES * <u64>nodeBytes / copies + metadataReserveBytes();
  if (!spaceFits(<u64>length >> SECTOR_SHIFT, metadataNeed >> SECTOR_SHIFT)) return WRITE_OWNER;
  const disk = writeData(slot, ino, src, at, length, flags, end <= size);
  if (disk == WRITE_OWNER) return WRITE_OWNER;
  // As writeResolved: the data first, then the inode item.
  if (inodeChanges) inodeWritten(ino, end);
  return disk;
}

/** The data part of fileWrite (FileData.write's decisions): the device byte, or WRITE_OWNER. */
function writeData(
  slot: usize, ino: u64, src: usize, at: u64, length: u32, flags: u64, inside: bool,
): i64 {
  assert(slot != 0 && length > 0 && (length & (SECTOR_BYTES - 1)) == 0,
    "file: a write without its subvolume or of part of a sector");
  assert((at & (SECTOR_BYTES - 1)) == 0, "file: a write at an unaligned offset");
  const nodatacow = (flags & INODE_FLAG_NODATACOW) != 0;
  const datasum = (flags & INODE_FLAG_NODATASUM) == 0;
  const found = findFileExtent(ino, at);
  if (found && (!foundAligned() || feType != EXTENT_TYPE_REG)) return WRITE_OWNER;
  if (found && testBit(filledBitsAddr, <u32>(feDisk >> SECTOR_SHIFT))) return WRITE_OWNER;
  if (nodatacow && found) {
    const can = canOverwrite(changetype<RootSlot>(slot).tree, ino,
      changetype<RootSlot>(slot).lastSnapshot);
    if (can < 0) return WRITE_OWNER;
    if (can == 1) return inside ? writeInPlace(src, at, length) : WRITE_OWNER;
  }
  if (length == SECTOR_BYTES) return writeNewPage(ino, src, at, found, datasum);
  // Several pages: one new extent (FileData.cow), where no item maps any of them.
  if (found || length > MAX_EXTENT_BYTES || itemStartsIn(ino, at, at + length)) return WRITE_OWNER;
  return writeNewExtent(ino, src, at, length, datasum);
}

/**
 * May the extent found (fe*) be overwritten in place (FileData.canOverwriteExtent)? 1 yes,
 * 0 no, -1 only TypeScript's walk over the file's items can tell.
 */
function canOverwrite(tree: u64, ino: u64, lastSnapshot: u64): i32 {
  assert(feType == EXTENT_TYPE_REG && feDiskBytes > 0,
    "file: an overwrite decided for no regular extent");
  // One lookup of the extent item for its generation (extentGeneration) and its committed
  // refs (extentRefs): the same item, and a nodatacow overwrite asks both.
  const item = dataExtentItem(feDisk, feDiskBytes);
  const generation = testBit(freshBitsAddr, <u32>(feDisk >> SECTOR_SHIFT))
    ? committedGeneration() + 1
    : item != 0 ? load<u64>(item + EI_GENERATION) : 0;
  const refs = <i64>(item != 0 ? load<u64>(item + EI_REFS) : 0) + refDelta(feDisk);
  // the generation read differs from extentGeneration's
  if (CHECKS) assert(generation == extentGeneration(feDisk, feDiskBytes));
  // the refs read differ from extentRefs'
  if (CHECKS) assert(refs == extentRefs(feDisk, true, feDiskBytes));
  if (generation <= lastSnapshot) return 0;
  if (testBit(losingBitsAddr, <u32>(feDisk >> SECTOR_SHIFT))) return 0;
  if (refs == 1) return 1;
  const owner = dataRefsOwner(feDisk, feDiskBytes, tree, ino);
  assert(owner >= -1 && owner <= 1, "refs owner answer");
  return owner;
}

/** Store the bytes where the file's extent (fe*) keeps them: a range inside it, or WRITE_OWNER. */
function writeInPlace(src: usize, at: u64, length: u32): i64 {
  if (at + length > feStart + feBytes) return WRITE_OWNER; // the range spans items
  const disk = feDisk + feOffset + (at - feStart);
  // foundAligned: the item lies inside its extent, which the tree checker kept on the device.
  assert(disk + length <= <u64>totalBytes, "file: an in-place write past the device");
  store(disk, src, length);
  return <i64>disk;
}

/** Map the page at `at` to a new block holding the bytes at `src` (FileData.cow of one page). */
function writeNewPage(ino: u64, src: usize, at: u64, found: bool, datasum: bool): i64 {
  if (found && !readersLogRoom()) return WRITE_OWNER;
  // (Kernel.allocData's reserve holds: fileWrite checked more room than it asks.)
  const sector = allocateData(1);
  if (sector < 0) return WRITE_OWNER;
  const disk = <u64>sector << SECTOR_SHIFT;
  assert(disk + SECTOR_BYTES <= <u64>totalBytes, "file: a block past the device");
  setRange(freshBitsAddr, <u32>sector, <u32>sector + 1, true);
  const extent = feDisk;
  store(disk, src, SECTOR_BYTES);
  // the block does not hold the bytes written
  if (CHECKS) assert(memory.compare(visibleAddr + <usize>disk, src, SECTOR_BYTES) == 0);
  if (datasum) csumInsertFresh(disk, SECTOR_BYTES);
  // The lookup still holds: since, only the extent and csum trees were read or changed.
  replaceFoundPage(ino, at, disk, found);
  // the old extent not marked losing
  if (CHECKS) assert(!found || testBit(losingBitsAddr, <u32>(extent >> SECTOR_SHIFT)));
  return <i64>disk;
}

/** Map the hole [at, at + length) to a new extent holding the bytes at `src` (FileData.cow). */
function writeNewExtent(ino: u64, src: usize, at: u64, length: u32, datasum: bool): i64 {
  assert(length > SECTOR_BYTES && length <= MAX_EXTENT_BYTES,
    "file: a new extent of a size the page path takes");
  const sectors = length >> SECTOR_SHIFT;
  // Kernel.allocData asks for the whole extent first; when that fails it looks for smaller
  // runs, which TypeScript's path does (nothing changed yet).
  const sector = allocateData(sectors);
  if (sector < 0) return WRITE_OWNER;
  const disk = <u64>sector << SECTOR_SHIFT;
  assert(disk + length <= <u64>totalBytes, "file: an extent past the device");
  setRange(freshBitsAddr, <u32>sector, <u32>sector + sectors, true);
  store(disk, src, length);
  // the extent does not hold the bytes written
  if (CHECKS) assert(memory.compare(visibleAddr + <usize>disk, src, length) == 0);
  if (datasum) csumInsertFresh(disk, length);
  insertNewExtent(ino, at, disk, length);
  return <i64>disk;
}

/**
 * A device store under the device lock (as pmem_store: DAX stores of other threads take it too).
 */
function store(disk: u64, src: usize, length: u32): void {
  assert(disk + length <= <u64>totalBytes, "file: a store past the device");
  deviceLock();
  deviceStoreLines(<u32>disk, src, length, false);
  deviceUnlock();
}
