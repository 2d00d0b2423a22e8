// Blocks whose pointers were dropped in this transaction (the dropped bits, one per sector)
// and the blocks an operation copied away from (this thread's drop list, TA_DROPS), which
// drop theirs at its end if nothing references them (extent-tree.ts dropCandidates). Below
// ctree.ts, whose copy-on-write descent fills both, and the extent tree, which reads them.
import { F_DROPPED_COUNT, SECTOR_SHIFT, SECTOR_BYTES, TA_DROPS, TA_DROPS_MAX } from "../abi";
import { fsBase, threadArea, totalBytes, droppedBitsAddr, dirtyBuffer } from "./state";
import { testBit, setRange } from "./bitmap";
import { isFsTree } from "./root-slot";
import { CHECKS } from "../shared/checks";

@inline export function isDropped(bytenr: u64): bool {
  return bytenr < <u64>totalBytes && testBit(droppedBitsAddr, <u32>(bytenr >> SECTOR_SHIFT));
}

export function setDropped(bytenr: u64, on: bool): void {
  assert(bytenr < <u64>totalBytes, "past device end");
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  assert(isDropped(bytenr) != on, "dropped twice");
  const count = load<u32>(fsBase + F_DROPPED_COUNT);
  assert(on || count > 0, "dropped count");
  setRange(droppedBitsAddr, <u32>(bytenr >> SECTOR_SHIFT), <u32>(bytenr >> SECTOR_SHIFT) + 1, on);
  store<u32>(fsBase + F_DROPPED_COUNT, count + (on ? 1 : -1));
  if (CHECKS) assert(isDropped(bytenr) == on); // a dropped mark that did not change
}

/**
 * Block `bytenr` was copied and cannot be shared: the copy holds its pointers now (nothing
 * was reported for either), so it counts as having dropped them; its own count reaches
 * zero at the next run (the parent's pointer moved), which then skips the drop.
 */
export function pointersMoved(bytenr: u64): bool {
  assert(bytenr < <u64>totalBytes && (bytenr & (SECTOR_BYTES - 1)) == 0,
    "extent tree: a moved block outside the device");
  // Twice in one transaction: two pointers reach a block its one reference says only one
  // does (a damaged image: a pointer into another tree). The caller refuses (EUCLEAN).
  if (isDropped(bytenr)) return false;
  setDropped(bytenr, true);
  assert(isDropped(bytenr), "extent tree: the dropped bit did not stick");
  return true;
}

/** Remember a block an operation copied away from, to drop at its end if unreferenced. */
export function noteDropCandidate(bytenr: u64, tree: u64): void {
  if (!isFsTree(tree)) return;
  const list = threadArea() + TA_DROPS;
  const n = load<u32>(list);
  assert(n < TA_DROPS_MAX, "extent tree: too many blocks to drop in one operation");
  assert(bytenr != 0 && (bytenr & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  // a candidate that is a copy itself (only clean blocks are copied away from)
  if (CHECKS) assert(dirtyBuffer(bytenr) == 0);
  store<u64>(list + 16 + <usize>n * 8, bytenr);
  store<u64>(list + 8, tree); // every candidate of one operation is of its tree
  store<u32>(list, n + 1);
}

export function droppedCount(): u32 {
  const count = load<u32>(fsBase + F_DROPPED_COUNT);
  // One dropped bit per block (setDropped never sets one twice), so no more than the sectors.
  assert(count <= totalBytes >> SECTOR_SHIFT, "dropped count");
  return count;
}
