// A tree block's checksum: crc32c of bytes [32, nodeBytes), btrfs's csum of a node (its
// first 32 bytes are the checksum field).
//
//    0    32                     gapStart               gapEnd              nodeBytes
//    +----+----------------------+----------------------+---------------------+
//    |csum| header, items / ptrs |  unused: the gap     | leaf data (leaves)  |
//    +----+----------------------+----------------------+---------------------+
//
// The gap is most of a block in small trees and a good part of a leaf split in two. The commit
// zeroes it before the checksum (zeroGap), and a zero gap's crc is one polynomial
// multiplication (crc32cZeros) instead of a table step per byte. A block read from the
// device is checked the same way only after its gap is seen to be zero (a word scan, far
// cheaper than crc32c); any other block gets the plain crc32c. Both give the same value:
// the checksum on the device is btrfs's, whatever computed it.
import { nritems, isLeaf, itemAt, ptrAt, dataOffset, leafCapacity, ptrCapacity } from "./node";
import { nodeBytes } from "./state";
import { NODE_HEADER_BYTES, NODE_CSUM_START } from "../abi";
import { crc32c, crc32cUpdate, crc32cZeros } from "../csum/crc32c";
import { CHECKS } from "../shared/checks";

// Below this many gap bytes the table steps are as cheap as the multiplications.
const GAP_WORTH_SKIPPING: u32 = 256;

/**
 * The gap of the block at `node` as (start << 32) | end, from its header alone; 0 when
 * the header does not describe a gap inside the block (a corrupt block: no shortcut).
 */
function nodeGap(node: usize): u64 {
  assert(node != 0 && nodeBytes >= NODE_HEADER_BYTES,
    "node csum: no block, or a node size below its header");
  const n = nritems(node);
  const leaf = isLeaf(node);
  if (n > (leaf ? leafCapacity() : ptrCapacity())) return 0;
  const start = <u32>((leaf ? itemAt(node, n) : ptrAt(node, n)) - node);
  // A leaf's data grows down from the block's end; its lowest item (the last) starts it.
  const end = leaf && n > 0 ? dataOffset(node, n - 1) : nodeBytes;
  if (end < start || end > nodeBytes) return 0;
  return (<u64>start << 32) | <u64>end;
}

/** Zero the gap of a block the caller is about to checksum and write (a dirty buffer). */
export function zeroGap(node: usize): void {
  const gap = nodeGap(node);
  assert(gap != 0, "node csum: a dirty block without a gap");
  const start = <u32>(gap >>> 32), end = <u32>gap;
  memory.fill(node + start, 0, end - start);
}

/** Is [start, end) of the block zero? Word-wise where aligned. */
function allZero(node: usize, start: u32, end: u32): bool {
  assert(start <= end && end <= nodeBytes, "node csum: a gap outside the block");
  let at = start;
  while (at < end && (at & 7) != 0) { if (load<u8>(node + at) != 0) return false; at++; }
  let acc: u64 = 0;
  while (at + 32 <= end) {
    acc |= load<u64>(node + at) | load<u64>(node + at, 8) | load<u64>(node + at,
      16) | load<u64>(node + at, 24);
    at += 32;
    if ((at & 1023) == 0 && acc != 0) return false;
  }
  while (at + 8 <= end) { acc |= load<u64>(node + at); at += 8; }
  while (at < end) { acc |= <u64>load<u8>(node + at); at++; }
  return acc == 0;
}

/**
 * crc32c of the block's bytes [NODE_CSUM_START, nodeBytes): its stored checksum when it is sound.
 */
export function nodeCsum(node: usize): u32 {
  const gap = nodeGap(node);
  const start = <u32>(gap >>> 32), end = <u32>gap;
  if (gap == 0 || end - start < GAP_WORTH_SKIPPING || !allZero(node, start, end)) {
    return crc32c(node + NODE_CSUM_START, nodeBytes - NODE_CSUM_START);
  }
  let crc = crc32cUpdate(0xffffffff, node + NODE_CSUM_START, start - NODE_CSUM_START);
  crc = crc32cZeros(crc, end - start);
  crc = crc32cUpdate(crc, node + end, nodeBytes - end) ^ 0xffffffff;
  // the gap shortcut disagrees with crc32c
  if (CHECKS) assert(crc == crc32c(node + NODE_CSUM_START, nodeBytes - NODE_CSUM_START));
  return crc;
}
