// Reading file contents (btrfs's inode.c read path with file-item.c's checksum lookup):
// the EXTENT_DATA items of an inode over a byte range, each regular extent's sectors
// verified against the csum tree's EXTENT_CSUM item (one item per extent, a crc32c per
// sector) and copied out; holes and preallocated extents read as zeros.
//
// The fs tree is walked leaf by leaf with the leaf address and slot in locals: the csum
// lookups between items reuse this thread's B-tree state, but read-only operations change
// no memory, so the leaf stays where it was.
import {
  KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, EXTENT_DATA, EXTENT_CSUM, EXTENT_TYPE_REG, FE_TYPE,
  FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES, SECTOR_BYTES, SECTOR_SHIFT, TA_RESULT,
  CR_LEAF, CR_SLOT, CR_DATA, CR_SIZE, INODE_ITEM, INODE_ITEM_BYTES, EIO, P_DATA_MEDIA,
  P_DATA_POISON, P_DATA_CSUM, P_CSUMS_MISSING, CSUM_TREE_ID, READ_VERIFY, MAX_FILE_BYTES, MAX_LEVEL,
  EXTENT_CSUM_OBJECTID, EXTENT_TYPE_INLINE, EUCLEAN, P_INLINE_FILE,
} from "../abi";
import { begin, lookupItem, seekForward, seekBackward } from "./ctree";
import { fail } from "./operation";
import { threadArea, dataVerifiedAddr, totalBytes } from "./state";
import { nritems, itemAt, dataAddr } from "./node";
import { deviceReadable } from "../pmem/device";
import { lockWorld, unlockWorld } from "../pmem/store-locks";
import { visibleAddr } from "../pmem/state";
import { chunkStamp, stampEpoch, stampsAdvance } from "../pmem/stamps";
import { sectorsVerify } from "../csum/sectors";
import { CHECKS } from "../shared/checks";

// The csum tree of the read in progress (its root moves only in changing operations).
let csumRoot: u64 = 0;
let csumLevel: u32 = 0;

@inline function resultLeaf(): usize {
  const leaf = <usize>load<u32>(threadArea() + TA_RESULT + CR_LEAF);
  assert(leaf != 0, "no leaf");
  return leaf;
}
@inline function resultSlot(): u32 {
  const slot = load<u32>(threadArea() + TA_RESULT + CR_SLOT);
  if (CHECKS) assert(slot < nritems(resultLeaf())); // a seek result outside its leaf
  return slot;
}

/**
 * The inode item of `ino` in the tree `tree` (root, level), read in place: its address, or 0
 * when it is missing or not an inode item's size (the callers leave such a file to
 * TypeScript, whose decode words the problem).
 */
export function lookupInode(tree: u64, root: u64, rootLevel: u32, ino: u64): usize {
  begin(tree, root, rootLevel, ino, INODE_ITEM, 0);
  if (!lookupItem() || load<u32>(threadArea() + TA_RESULT + CR_SIZE) != INODE_ITEM_BYTES) return 0;
  return <usize>load<u32>(threadArea() + TA_RESULT + CR_DATA);
}

/**
 * Do sectors [first, first + count) hold data that passed its checksum, with no store to
 * any of their lines since? (The page cache's verified pages: btrfs checks a data block
 * when it reads it into the cache, not at every read of the cached page. Here a store
 * through any path, a crash image or a change behind the core's back stamps the lines.)
 */
function knownGood(first: u32, count: u32): bool {
  assert(count > 0 && first + count <= (totalBytes >> SECTOR_SHIFT), "sectors past the device");
  for (let s = first; s < first + count; s++) {
    const at = load<u32>(dataVerifiedAddr + (<usize>s << 2));
    // Good when every line of the sector was last stamped before the epoch it passed in.
    if (at == 0 || <i32>(chunkStamp(s) - at) >= 0) return false;
  }
  return true;
}

/**
 * Sectors [first, first + count) just passed their checksums. Recorded with the current
 * epoch, so that a store stamping any of their lines from now on (in this epoch or later)
 * makes them unknown again; a sector stamped in this very epoch needs a new epoch first.
 */
function markGood(first: u32, count: u32): void {
  assert(count > 0 && first + count <= (totalBytes >> SECTOR_SHIFT), "sectors past the device");
  let epoch = stampEpoch();
  for (let s = first; s < first + count; s++) {
    if (chunkStamp(s) != epoch) continue;
    // Stamps are written by stores of other threads: the epoch moves under the world lock.
    lockWorld();
    epoch = stampsAdvance() + 1;
    unlockWorld();
    break;
  }
  if (epoch == 0) return; // the epoch wrapped to 0, which means "never"
  for (let s = first; s < first + count; s++) store<u32>(dataVerifiedAddr + (<usize>s << 2), epoch);
  if (CHECKS) assert(knownGood(first, count)); // sectors just marked good are not
}

/**
 * Check the sectors of data extent `extent` covering [disk, disk + length) against their checksums.
 */
function verifySectors(extent: u64, extentBytes: u64, disk: u64, length: u64): void {
  assert(length > 0, "empty range");
  assert(disk >= extent, "range outside extent");
  const firstSector = <u32>(disk >> SECTOR_SHIFT);
  const sectorCount = <u32>(((disk + length + SECTOR_BYTES - 1) >> SECTOR_SHIFT)
    - (disk >> SECTOR_SHIFT));
  if (knownGood(firstSector, sectorCount)) {
    // Poison does not change the bytes (no stamp): it is checked at every read.
    const from = <u64>firstSector << SECTOR_SHIFT, bytes = sectorCount << SECTOR_SHIFT;
    if (!deviceReadable(<u32>from, bytes)) {
      fail(EIO, P_DATA_MEDIA, firstPoisoned(from, bytes), 0, 0, 0, 0);
    }
    return;
  }
  begin(CSUM_TREE_ID, csumRoot, csumLevel, <u64><i64>EXTENT_CSUM_OBJECTID, EXTENT_CSUM, extent);
  const found = lookupItem();
  const result = threadArea() + TA_RESULT;
  if (!found || <u64>load<u32>(result + CR_SIZE) != (extentBytes >> SECTOR_SHIFT) * 4) {
    fail(EIO, P_CSUMS_MISSING, extent, 0, 0, 0, 0);
  }
  const sums = <usize>load<u32>(result + CR_DATA);
  const first = (disk - extent) >> SECTOR_SHIFT;
  const last = (disk + length - 1 - extent) >> SECTOR_SHIFT;
  const at = extent + (first << SECTOR_SHIFT);
  const bytes = <u32>((last - first + 1) << SECTOR_SHIFT);
  // A sector with a poisoned line cannot be read to check its checksum: all of it is EIO
  // (as on real hardware, where reading the sector raises the machine check).
  if (!deviceReadable(<u32>at, bytes)) {
    fail(EIO, P_DATA_MEDIA, firstPoisoned(at, bytes), 0, 0, 0, 0);
  }
  const bad = sectorsVerify(visibleAddr + <usize>at, <u32>(last - first + 1), SECTOR_BYTES,
    sums + <usize>(first << 2));
  if (bad >= 0) fail(EIO, P_DATA_CSUM, at + (<u64>bad << SECTOR_SHIFT), 0, 0, 0, 0);
  assert(at >> SECTOR_SHIFT == <u64>firstSector && last - first + 1 == <u64>sectorCount,
    "verified sectors");
  markGood(firstSector, sectorCount);
}

/** The first sector of [at, at + bytes) that cannot be read. */
function firstPoisoned(at: u64, bytes: u32): u64 {
  assert(bytes > 0 && bytes % SECTOR_BYTES == 0, "range size");
  for (let s: u32 = 0; s < bytes; s += SECTOR_BYTES) {
    if (!deviceReadable(<u32>(at + s), SECTOR_BYTES)) return at + s;
  }
  return at;
}

/**
 * Copy one regular extent's part of the read: file bytes [from, to) land at dst + (from - offset).
 */
function readExtent(
  item: usize, fileOffset: u64, offset: u64, end: u64, dst: usize, verify: bool,
): void {
  assert(offset <= end, "range reversed");
  assert(fileOffset < end, "item after range");
  const disk0 = load<u64>(item + FE_DISK_BYTENR);
  const from = max<u64>(offset, fileOffset);
  const to = min<u64>(end, fileOffset + load<u64>(item + FE_BYTES));
  if (to <= from) return;
  const disk = disk0 + load<u64>(item + FE_OFFSET) + (from - fileOffset);
  if (verify) verifySectors(disk0, load<u64>(item + FE_DISK_BYTES), disk, to - from);
  else if (!deviceReadable(<u32>disk, <u32>(to - from))) {
    fail(EIO, P_DATA_POISON, disk, 0, to - from, 0, 0);
  }
  memory.copy(dst + <usize>(from - offset), visibleAddr + <usize>disk, <usize>(to - from));
}

/**
 * Read file bytes [offset, offset + length) of inode `ino` of tree (id, root, level) into
 * `dst` (zeros for holes and preallocated extents). The caller bounds the range by the
 * file's size; items are trusted as the tree checker left them (extents inside the device).
 */
export function readFile(tree: u64, root: u64, rootLevel: u32, checksums: u64, checksumsLevel: u32,
  ino: u64, offset: u64, length: u32, dst: usize, flags: u32): void {
  assert(offset + length <= MAX_FILE_BYTES, "past largest file");
  assert(checksumsLevel <= MAX_LEVEL, "bad level");
  csumRoot = checksums;
  csumLevel = checksumsLevel;
  const end = offset + length;
  const verify = (flags & READ_VERIFY) != 0;
  memory.fill(dst, 0, length);
  // The item that maps `offset` may start before it: start at the last item at or before
  // (ino, EXTENT_DATA, offset); when that is not one of this file's extent items, at the
  // item after it (in the same leaf, or the next one: one more seek).
  begin(tree, root, rootLevel, ino, EXTENT_DATA, offset);
  let leaf: usize = 0;
  let slot: u32 = 0;
  if (seekBackward()) {
    leaf = resultLeaf();
    slot = resultSlot();
    const key = itemAt(leaf, slot);
    if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) {
      slot++;
    }
  }
  if (leaf == 0 || slot >= nritems(leaf)) {
    begin(tree, root, rootLevel, ino, EXTENT_DATA, offset);
    if (!seekForward(false)) return;
    leaf = resultLeaf();
    slot = resultSlot();
  }
  while (true) {
    if (CHECKS) assert(slot < nritems(leaf)); // a read past its leaf's items
    const key = itemAt(leaf, slot);
    if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) {
      return;
    }
    const fileOffset = load<u64>(key + KEY_OFFSET);
    if (fileOffset >= end) return;
    const item = dataAddr(leaf, slot);
    // A regular file's inline item is damage (pmcow keeps inline data only for symlinks,
    // whose targets no file read reaches): an error, not zeros.
    if (<u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_INLINE) {
      fail(EUCLEAN, P_INLINE_FILE, 0, 0, ino, 0, 0);
    }
    if (<u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_REG) {
      readExtent(item, fileOffset, offset, end, dst, verify);
    }
    slot++;
    if (slot >= nritems(leaf)) {
      begin(tree, root, rootLevel, ino, EXTENT_DATA, fileOffset);
      if (!seekForward(true)) return;
      leaf = resultLeaf();
      slot = resultSlot();
    }
  }
}
