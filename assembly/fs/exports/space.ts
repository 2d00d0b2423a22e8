// The fs exports of free space (free-space.ts) and of the chunk table (chunks.ts).
import {
  EINVAL, EIO, ENOSPC, SECTOR_BYTES, SECTOR_SHIFT, CHUNK_FREE, CHUNK_DATA, CHUNK_METADATA,
  CHUNK_SYSTEM, CHUNK_RESERVED,
} from "../../abi";
import * as S from "../../pmem/state";
import { nodeBytes, totalBytes, copies as blockCopies } from "../state";
import { CHECKS } from "../../shared/checks";
import { dataRefHash } from "../extent-items";
import {
  FREE_OK, FREE_OVERLAP, FREE_BAD_EXTENT, addFree, pin, unpinAll, freeSectors, pinnedSectors,
  largestRun, anyFree, extentValid, allocateTreeBlock, allocateData, releaseChunk, chunkUsedSectors,
  chunkEmpty,
} from "../free-space";
import {
  chunkCount, chunkKind, spaceFits, treeFreeSectors, resetChunks, addChunk, copyBytenr,
  treeBlockPlaced, chunkOnGrid, setChunkKind, setCellLayout,
} from "../chunks";
import { MAX_SAFE, u64Arg, ready, stateSound } from "./args";

// --- free space (free-space.ts): byte values in and out, whole sectors only -----------

@inline function freeResult(r: i32): i32 {
  assert(r == FREE_OK || r == FREE_OVERLAP || r == FREE_BAD_EXTENT, "free-space result");
  return r == FREE_OK ? 0 : r == FREE_OVERLAP ? -EIO : -EINVAL;
}

// Mark [start, start + length) free: 0, -EIO when part of it is free already, -EINVAL.
export function fs_free_add(start: f64, length: f64): i32 {
  const s = u64Arg(start), l = u64Arg(length);
  if (!ready() || s < 0 || l < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_add is called
  const r = freeResult(addFree(<u64>s, <u64>l));
  if (CHECKS) assert(stateSound()); // fs_free_add broke the state's invariants
  return r;
}

// Pin [start, start + length) until the commit: 0, -EIO when pinned or free already, -EINVAL.
export function fs_free_pin(start: f64, length: f64): i32 {
  const s = u64Arg(start), l = u64Arg(length);
  if (!ready() || s < 0 || l < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_pin is called
  const r = freeResult(pin(<u64>s, <u64>l));
  if (CHECKS) assert(stateSound()); // fs_free_pin broke the state's invariants
  return r;
}

export function fs_free_unpin_all(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_unpin_all is called
  unpinAll();
  assert(pinnedSectors() == 0, "pinned left");
  if (CHECKS) assert(stateSound()); // fs_free_unpin_all broke the state's invariants
  return 0;
}

// Free and pinned bytes.
export function fs_free_bytes(): f64 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_bytes is called
  return <f64>freeSectors() * SECTOR_BYTES;
}

export function fs_pinned_bytes(): f64 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_pinned_bytes is called
  return <f64>pinnedSectors() * SECTOR_BYTES;
}

// Bytes tree blocks of `kind` (CHUNK_METADATA, CHUNK_SYSTEM) may still take: free in their
// chunks and the usable part of every free chunk.
export function fs_tree_free_bytes(kind: u32): f64 {
  if (!ready() || (kind != CHUNK_METADATA && kind != CHUNK_SYSTEM)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_tree_free_bytes is called
  const bytes = <f64>treeFreeSectors(kind) * SECTOR_BYTES;
  assert(bytes % <f64>nodeBytes == 0, "not whole blocks");
  return bytes;
}

// 1 when `dataBytes` of data fit, leaving `metadataBytes` for tree blocks (chunks.ts spaceFits).
export function fs_space_fits(dataBytes: f64, metadataBytes: f64): i32 {
  const d = u64Arg(dataBytes), m = u64Arg(metadataBytes);
  if (!ready() || d < 0 || m < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_space_fits is called
  const dataSectors = (<u64>d + SECTOR_BYTES - 1) >> SECTOR_SHIFT,
    metaSectors = (<u64>m + SECTOR_BYTES - 1) >> SECTOR_SHIFT;
  const fits = spaceFits(dataSectors, metaSectors);
  // Less asked fits too: what fits with data fits without it.
  if (CHECKS) assert(!fits || spaceFits(0, metaSectors));
  return fits ? 1 : 0;
}

// --- chunks (chunks.ts): the table TypeScript writes the chunk tree from -----------------

// Mount: empty the chunk table before laying it out again (-EINVAL once free space exists).
export function fs_chunks_reset(): i32 {
  if (!ready() || freeSectors() != 0 || pinnedSectors() != 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunks_reset is called
  resetChunks();
  assert(chunkCount() == 0, "chunks not reset");
  return 0;
}

// Mount: append a chunk after every chunk in the table (sectors: logical start and length,
// its stripes; copies 0 for an untyped cell; grid 1 for a cell of pmcow's grid; excluded:
// sectors over a superblock copy). -EINVAL once free space exists or when it cannot be one.
export function fs_chunk_add(
  start: u32, length: u32, kind: u32, stripe0: u32, stripe1: u32, chunkCopies: u32, grid: u32,
  excluded: u32,
): i32 {
  if (!ready() || freeSectors() != 0 || pinnedSectors() != 0 || grid > 1) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunk_add is called
  const n = chunkCount();
  if (!addChunk(start, length, kind, stripe0, stripe1, chunkCopies, grid == 1, excluded)) {
    return -EINVAL;
  }
  assert(chunkCount() == n + 1 && chunkKind(n) == kind, "chunk not added");
  return 0;
}

// Mount, pmcow's own layout: type free grid cell `c` as `kind` (its block group and stripes as
// a cell of that kind has them), before any space is added; -EINVAL otherwise.
export function fs_chunk_type_cell(c: u32, kind: u32): i32 {
  if (!ready() || c >= chunkCount() || freeSectors() != 0 || pinnedSectors() != 0) return -EINVAL;
  if (kind != CHUNK_DATA && kind != CHUNK_METADATA && kind != CHUNK_SYSTEM) return -EINVAL;
  if (!chunkOnGrid(c) || chunkKind(c) != CHUNK_FREE) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunk_type_cell is called
  setChunkKind(c, kind);
  setCellLayout(c, kind);
  assert(chunkKind(c) == kind, "cell not typed");
  return 0;
}

// The key offset an EXTENT_DATA_REF of (root, ino, offset) starts its window at (btrfs's
// hash, kept below 2^53: extent-tree.ts dataRefHash), for TypeScript's adoption of inline
// references; -EINVAL for arguments past 2^53 or a root of 0.
export function fs_data_ref_hash(root: f64, ino: f64, offset: f64): f64 {
  const r = u64Arg(root), i = u64Arg(ino), o = u64Arg(offset);
  if (!ready() || r <= 0 || i < 0 || o < 0) return -EINVAL;
  const h = dataRefHash(<u64>r, <u64>i, <u64>o);
  assert(h <= <u64>MAX_SAFE, "a data ref hash past 2^53");
  return <f64>h;
}

// The device byte of copy `copy` of tree block `bytenr` (through its chunk's stripes), -EINVAL.
export function fs_copy_bytenr(bytenr: f64, copy: u32): f64 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || copy >= blockCopies || !treeBlockPlaced(<u64>b)) return -EINVAL;
  const at = copyBytenr(<u64>b, copy);
  assert(at + nodeBytes <= <u64>totalBytes, "a copy past the device");
  return <f64>at;
}

// Sectors of typed chunk `c` in use (its block group's used bytes / sector), -EINVAL.
export function fs_chunk_used_sectors(c: u32): i32 {
  if (!ready() || c >= chunkCount()) return -EINVAL;
  const kind = chunkKind(c);
  if (kind == CHUNK_FREE || kind == CHUNK_RESERVED) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunk_used_sectors is called
  const used = chunkUsedSectors(c);
  assert(<u64>used << SECTOR_SHIFT <= <u64>totalBytes, "used space past the device");
  return <i32>used;
}

// Give chunk `c` back when it is typed and empty: 1 when it was, 0 when not, -EINVAL.
export function fs_chunk_release_if_empty(c: u32): i32 {
  if (!ready() || c >= chunkCount()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunk_release_if_empty is called
  if (!chunkEmpty(c)) return 0;
  releaseChunk(c);
  assert(chunkKind(c) == CHUNK_FREE, "not released");
  if (CHECKS) assert(stateSound()); // fs_chunk_release_if_empty broke the state's invariants
  return 1;
}

// Largest free run, up to `maxBytes`.
export function fs_largest_free_run(maxBytes: f64): f64 {
  const m = u64Arg(maxBytes);
  if (!ready() || m < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_largest_free_run is called
  return <f64>largestRun(<u32>min<i64>(m >> SECTOR_SHIFT, 0xffffffff)) * SECTOR_BYTES;
}

// 1 when any byte of [start, start + length) is free.
export function fs_free_overlaps(start: f64, length: f64): i32 {
  const s = u64Arg(start), l = u64Arg(length);
  if (!ready() || s < 0 || l < 0 || !extentValid(<u64>s, <u64>l)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_overlaps is called
  return anyFree(<u32>(s >> SECTOR_SHIFT), <u32>((s + l) >> SECTOR_SHIFT)) ? 1 : 0;
}

// Allocate: `kind` CHUNK_DATA: `lengthBytes` contiguous bytes of data (first fit from the data
// cursor, or a new data chunk) when they fit leaving `reserveBytes` for tree blocks;
// CHUNK_METADATA / CHUNK_SYSTEM: one tree block (`lengthBytes` the node size), the highest
// fit in its chunks or a new chunk. Its address, or -ENOSPC.
export function fs_free_allocate(lengthBytes: f64, reserveBytes: f64, kind: u32): f64 {
  const l = u64Arg(lengthBytes), r = u64Arg(reserveBytes);
  if (!ready() || l <= 0 || r < 0 || (l & (SECTOR_BYTES - 1)) != 0) return -EINVAL;
  if (kind != CHUNK_DATA && kind != CHUNK_METADATA && kind != CHUNK_SYSTEM) return -EINVAL;
  if (kind != CHUNK_DATA && l != <i64>nodeBytes) return -EINVAL;
  if (l > <i64>S.deviceBytes) return -ENOSPC;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_allocate is called
  if (kind == CHUNK_DATA
      && !spaceFits(<u64>l >> SECTOR_SHIFT, (<u64>r + SECTOR_BYTES - 1) >> SECTOR_SHIFT)) {
    return -ENOSPC;
  }
  const count = <u32>(l >> SECTOR_SHIFT);
  const at = kind == CHUNK_DATA ? allocateData(count) : allocateTreeBlock(kind);
  if (at < 0) return -ENOSPC;
  assert(<u64>(at + count) << SECTOR_SHIFT <= <u64>totalBytes, "past device end");
  if (CHECKS) assert(stateSound()); // fs_free_allocate broke the state's invariants
  return <f64>(at << SECTOR_SHIFT);
}
