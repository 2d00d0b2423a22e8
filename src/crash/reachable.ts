// Which device lines can influence a mount from a given superblock: every tree block
// reachable from it and every data extent its files map, walked over both the visible
// bytes and the media bytes (an image holds media or newer content for each line).
// Two crash images that pick the same superblock and agree on these lines mount the same.
import { FsMemory } from '../fs/memory.js';
import { NodeView } from '../fs/node.js';
import { LINE_BYTES, REGION } from '../core/abi.js';
import type { PmemDevice } from '../pmem/device.js';
import type { SuperblockState } from '../fs/kernel.js';
import {
  EXTENT_DATA, FE_DISK_BYTENR, FE_DISK_BYTES, FE_TYPE, EXTENT_TYPE_INLINE, ROOT_ITEM, RI_BYTENR,
  SYSTEM_AREA_BYTES, FILE_EXTENT_BYTES, NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES,
  FS_TREE_ID, FIRST_SUBVOLUME_ID,
} from '../fs/format.js';
import { chunkBytesFor } from '../fs/chunks.js';

const MAX_BLOCKS_VISITED = 1 << 20;

export function markRange(bitmap: Uint8Array, start: number, bytes: number): void {
  const first = Math.floor(start / LINE_BYTES);
  const last = Math.floor((start + bytes - 1) / LINE_BYTES);
  // Whole bitmap bytes (8 lines each) in one native fill; bit by bit only at the two ends.
  const firstWhole = (first + 7) >> 3, endWhole = (last + 1) >> 3;
  if (firstWhole >= endWhole) {
    for (let line = first; line <= last; line++) bitmap[line >> 3]! |= 1 << (line & 7);
    return;
  }
  for (let line = first; line < firstWhole << 3; line++) bitmap[line >> 3]! |= 1 << (line & 7);
  bitmap.fill(0xff, firstWhole, endWhole);
  for (let line = endWhole << 3; line <= last; line++) bitmap[line >> 3]! |= 1 << (line & 7);
}

/**
 * Fill the bitmaps (one bit per line, cleared first) with the lines that matter to `sb`:
 * tree blocks in `metadata`, file data extents in `data` (the same bitmap may be passed twice).
 */
export function markReachable(
  dev: PmemDevice, sb: SuperblockState, metadata: Uint8Array, data: Uint8Array = metadata,
): void {
  // The superblock slots are left out: which one mounts is part of the caller's key, and a
  // valid superblock's bytes are fixed by its generation.
  metadata.fill(0);
  data.fill(0);
  const m = new FsMemory(dev.memory.buffer);
  const visible = dev.region(REGION.visible);
  const nodeBytes = sb.nodeBytes;
  const limit = dev.sizeBytes;
  const seen = new Set<number>();
  const stack: Array<{ bytenr: number; owner: number }> = [
    { bytenr: sb.rootTree, owner: 1 }, { bytenr: sb.chunkTree, owner: 3 },
    { bytenr: sb.extentTree, owner: 2 },
    { bytenr: sb.devTree, owner: 4 }, { bytenr: sb.csumTree, owner: 7 },
  ];
  // Under the dup profile the second copy (in the chunk's mirror half) is read when the first is
  // bad.
  const mirror = sb.metadataCopies === 2 ? chunkBytesFor(sb.totalBytes, nodeBytes, 2) / 2 : 0;
  while (stack.length) {
    const { bytenr, owner } = stack.pop()!;
    if (seen.has(bytenr) || bytenr < SYSTEM_AREA_BYTES || bytenr + nodeBytes > limit
      || bytenr % 4096) {
      continue;
    }
    if (seen.size >= MAX_BLOCKS_VISITED) break;
    seen.add(bytenr);
    markRange(metadata, bytenr, nodeBytes);
    if (mirror && bytenr + mirror + nodeBytes <= limit) {
      markRange(metadata, bytenr + mirror, nodeBytes);
    }
    // The media version differs only where a line of the block is pending.
    const versions = [new NodeView(m, visible + bytenr, nodeBytes)];
    if (dev.core.pmem_pending_lines(bytenr, nodeBytes) > 0) {
      versions.push(
        new NodeView(new FsMemory(dev.readMedia(bytenr, nodeBytes).buffer), 0, nodeBytes),
      );
    }
    for (const node of versions) {
      // A torn or stale block may claim any count: only slots inside the block are read (the
      // media version is a copy of the block alone, so a read past it would throw).
      const n = Math.min(
        node.nritems,
        Math.floor(
          (nodeBytes - NODE_HEADER_BYTES) / (node.isLeaf ? LEAF_ITEM_BYTES : KEY_PTR_BYTES),
        ),
      );
      for (let s = 0; s < n; s++) {
        if (!node.isLeaf) { stack.push({ bytenr: node.child(s), owner }); continue; }
        if (node.dataOffset(s) + node.dataSize(s) > nodeBytes) continue;
        const k = node.key(s);
        if (owner === 1 && k.type === ROOT_ITEM && node.dataSize(s) >= 16) {
          // Read through the version's own memory (a media version is a copy of the block).
          const at = node.data(s);
          stack.push({ bytenr: node.m.u64(at + RI_BYTENR), owner: k.objectid });
        } else if (k.type === EXTENT_DATA && node.dataSize(s) >= FILE_EXTENT_BYTES
          && (owner === FS_TREE_ID || owner >= FIRST_SUBVOLUME_ID)) {
          const at = node.data(s);
          // a symlink's target: in the leaf
          if (node.m.u8[at + FE_TYPE] === EXTENT_TYPE_INLINE) continue;
          const disk = node.m.u64(at + FE_DISK_BYTENR);
          const bytes = node.m.u64(at + FE_DISK_BYTES);
          if (disk > 0 && bytes > 0 && disk + bytes <= limit) markRange(data, disk, bytes);
        }
      }
    }
  }
}
