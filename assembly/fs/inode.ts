// Reading file contents (btrfs's inode.c read path with file-item.c's checksum lookup):
// the EXTENT_DATA items of an inode over a byte range, each regular extent's sectors
// verified against the csum tree's EXTENT_CSUM item (one item per extent, a crc32c per
// sector) and copied out; holes and preallocated extents read as zeros.
//
// The fs tree is walked leaf by leaf with the leaf address and slot in locals: the csum
// lookups between items reuse this thread's B-tree state, but read-only operations change
// no memory, so the leaf stays where it was.
import {
  KEY_OBJECTID, KEY_TYPE, KEY_OFFSET, EXTENT_DATA, EXTENT_CSUM, EXTENT_TYPE_REG, FILE_EXTENT_BYTES,
  FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES, SECTOR_BYTES, SECTOR_SHIFT, TA_RESULT,
  CR_LEAF, CR_SLOT, CR_DATA, CR_SIZE, EIO, P_DATA_MEDIA, P_DATA_POISON, P_DATA_CSUM, P_CSUMS_MISSING,
  CSUM_TREE_ID, READ_VERIFY, MAX_FILE_BYTES, MAX_LEVEL,
} from "../abi";
import { begin, lookupItem, seekForward, seekBackward, fail } from "./ctree";
import { threadArea } from "./state";
import { nritems, itemAt, dataAddr, dataSize } from "./node";
import { deviceReadable } from "../pmem/device";
import { visibleAddr } from "../pmem/state";
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

/** Check the sectors of data extent `extent` covering [disk, disk + length) against their checksums. */
function verifySectors(extent: u64, extentBytes: u64, disk: u64, length: u64): void {
  assert(length > 0, "empty range");
  assert(disk >= extent, "range outside extent");
  begin(CSUM_TREE_ID, csumRoot, csumLevel, extent, EXTENT_CSUM, 0);
  const found = lookupItem();
  const result = threadArea() + TA_RESULT;
  if (!found || <u64>load<u32>(result + CR_SIZE) != (extentBytes >> SECTOR_SHIFT) * 4) fail(EIO, P_CSUMS_MISSING, extent, 0, 0, 0, 0);
  const sums = <usize>load<u32>(result + CR_DATA);
  const first = (disk - extent) >> SECTOR_SHIFT;
  const last = (disk + length - 1 - extent) >> SECTOR_SHIFT;
  const at = extent + (first << SECTOR_SHIFT);
  const bytes = <u32>((last - first + 1) << SECTOR_SHIFT);
  // A sector with a poisoned line cannot be read to check its checksum: all of it is EIO
  // (as on real hardware, where reading the sector raises the machine check).
  if (!deviceReadable(<u32>at, bytes)) fail(EIO, P_DATA_MEDIA, firstPoisoned(at, bytes), 0, 0, 0, 0);
  const bad = sectorsVerify(visibleAddr + <usize>at, <u32>(last - first + 1), SECTOR_BYTES, sums + <usize>(first << 2));
  if (bad >= 0) fail(EIO, P_DATA_CSUM, at + (<u64>bad << SECTOR_SHIFT), 0, 0, 0, 0);
}

/** The first sector of [at, at + bytes) that cannot be read. */
function firstPoisoned(at: u64, bytes: u32): u64 {
  assert(bytes > 0 && bytes % SECTOR_BYTES == 0, "range size");
  for (let s: u32 = 0; s < bytes; s += SECTOR_BYTES) if (!deviceReadable(<u32>(at + s), SECTOR_BYTES)) return at + s;
  return at;
}

/** Copy one regular extent's part of the read: file bytes [from, to) land at dst + (from - offset). */
function readExtent(item: usize, fileOffset: u64, offset: u64, end: u64, dst: usize, verify: bool): void {
  assert(offset <= end, "range reversed");
  assert(fileOffset < end, "item after range");
  const disk0 = load<u64>(item + FE_DISK_BYTENR);
  const from = max<u64>(offset, fileOffset);
  const to = min<u64>(end, fileOffset + load<u64>(item + FE_BYTES));
  if (to <= from) return;
  const disk = disk0 + load<u64>(item + FE_OFFSET) + (from - fileOffset);
  if (verify) verifySectors(disk0, load<u64>(item + FE_DISK_BYTES), disk, to - from);
  else if (!deviceReadable(<u32>disk, <u32>(to - from))) fail(EIO, P_DATA_POISON, disk, 0, to - from, 0, 0);
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
    if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) slot++;
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
    if (load<u64>(key + KEY_OBJECTID) != ino || <u32>load<u8>(key + KEY_TYPE) != EXTENT_DATA) return;
    const fileOffset = load<u64>(key + KEY_OFFSET);
    if (fileOffset >= end) return;
    const item = dataAddr(leaf, slot);
    if (dataSize(leaf, slot) >= FILE_EXTENT_BYTES && <u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_REG) {
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
