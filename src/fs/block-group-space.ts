// The device's space by block group: what is used, what never holds a block, and the
// free space a mount rebuilds from the extent tree.
import { FsError } from '../errors.js';
import {
  CHUNK_DATA, CHUNK_FREE, CHUNK_METADATA, CHUNK_RESERVED, CHUNK_SYSTEM,
} from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import type { ChunkMap } from './chunks.js';
import type { BTree } from './ctree.js';
import { check } from './engine-result.js';
import type { FreeSpace } from './free-space.js';
import { EXTENT_ITEM, METADATA_ITEM, SECTOR_BYTES, key, type Key } from './format.js';

/** Bytes of blocks and data in use now (not counting space freed in this transaction). */
export function usedBytes(core: CoreExports, chunks: ChunkMap): number {
  let sectors = 0;
  for (let c = 0; c < chunks.count; c++) {
    const kind = chunks.kind(c);
    if (kind === CHUNK_FREE || kind === CHUNK_RESERVED) continue;
    sectors += check(core.fs_chunk_used_sectors(c), 'chunk used space');
  }
  return sectors * SECTOR_BYTES;
}

/**
 * Bytes of the device that never hold a block or data: everything outside the chunks'
 * block groups (the first MiB, which btrfs keeps for boot loaders and the primary
 * superblock, and where pmcow's small-device alternate superblock and the zero page live;
 * the cell around btrfs's first mirror superblock; the tail after the last whole cell;
 * the second stripe of every dup tree chunk: its blocks' second copies), and the bytes of
 * a block group over a superblock copy.
 */
export function reservedBytes(chunks: ChunkMap, totalBytes: number): number {
  let holding = 0;
  for (let c = 0; c < chunks.count; c++) {
    if (chunks.kind(c) === CHUNK_RESERVED) continue;
    holding += chunks.length(c);
    for (const [from, to] of chunks.excludedRanges(c)) holding -= to - from;
  }
  return totalBytes - holding;
}

/** mkfs: every chunk is free (but the one around a superblock mirror). */
export function addAllocatableSpace(chunks: ChunkMap, free: FreeSpace): void {
  for (let c = 0; c < chunks.count; c++) {
    if (chunks.kind(c) === CHUNK_FREE) free.addFree(chunks.start(c), chunks.chunkBytes);
  }
}

/**
 * Rebuild free space from the extent tree (mount, after the chunks are loaded): a free
 * chunk is free; in a typed chunk's usable part, what no extent takes. Every extent must
 * lie in a chunk of its kind (data in data chunks, tree blocks in metadata or system).
 */
export function rebuildFreeSpace(chunks: ChunkMap, free: FreeSpace, extentTree: BTree,
  metadataBlockBytes: number): void {
  const taken: Array<[number, number]> = [];
  // btrfs's excluded super stripes: bytes of a block group over a superblock copy.
  for (let c = 0; c < chunks.count; c++) {
    for (const range of chunks.excludedRanges(c)) taken.push(range);
  }
  const last = key(Number.MAX_SAFE_INTEGER, 255, Number.MAX_SAFE_INTEGER);
  extentTree.walkRange(key(0, 0, 0), last, (k) => {
    if (k.type !== EXTENT_ITEM && k.type !== METADATA_ITEM) return true;
    taken.push(extentRange(chunks, k, metadataBlockBytes));
    return true;
  });
  taken.sort((a, b) => a[0] - b[0]);
  addFreeAround(chunks, free, taken);
}

/** The bytes extent item `k` takes; EUCLEAN unless a block group of its kind holds them. */
function extentRange(chunks: ChunkMap, k: Key, metadataBlockBytes: number): [number, number] {
  const length = k.type === EXTENT_ITEM ? k.offset : metadataBlockBytes;
  const c = chunks.chunkAt(k.objectid);
  const kind = c < 0 ? CHUNK_FREE : chunks.kind(c);
  const fits = c >= 0 && k.objectid % SECTOR_BYTES === 0
    && k.objectid + length <= chunks.start(c) + chunks.length(c)
    && (k.type === EXTENT_ITEM ? kind === CHUNK_DATA
      : kind === CHUNK_METADATA || kind === CHUNK_SYSTEM);
  if (!fits) {
    throw new FsError('EUCLEAN', `extent tree: extent ${k.objectid}+${length}`
      + ' lies outside every block group of its kind');
  }
  return [k.objectid, k.objectid + length];
}

/** Free space: every block group byte outside `taken` (sorted by start); EUCLEAN on overlaps. */
function addFreeAround(chunks: ChunkMap, free: FreeSpace, taken: Array<[number, number]>): void {
  let next = 0;
  for (let c = 0; c < chunks.count; c++) {
    const kind = chunks.kind(c);
    if (kind === CHUNK_RESERVED) continue;
    // A data chunk not mapped 1:1 (an adopted image's) gets no free space: nothing is
    // written into it before the adoption removes it.
    const addFree = chunks.mappedData(c) ? (): void => {}
      : (from: number, bytes: number): void => free.addFree(from, bytes);
    let cursor = chunks.start(c);
    const end = cursor + chunks.length(c);
    for (; next < taken.length && taken[next]![0] < end; next++) {
      const [start, stop] = taken[next]!;
      if (start < cursor) {
        throw new FsError('EUCLEAN',
          `extent tree: extent ${start}+${stop - start} overlaps another`);
      }
      if (start > cursor) addFree(cursor, start - cursor);
      cursor = stop;
    }
    if (end > cursor) addFree(cursor, end - cursor);
  }
}
