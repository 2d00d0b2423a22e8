// Exports of the file system's engine (assembly/fs/). Like every export of the core, each
// validates its arguments and returns a negative errno instead of trapping; u64 values
// cross as f64 (integers below 2^53) and addresses that may exceed 2^31 come back as f64.
import {
  EINVAL, EIO, ENOSPC, FS_HEADER_BYTES, SECTOR_BYTES, SECTOR_SHIFT, MAX_LEVEL, KEY_BYTES,
  F_TREE_CHANGES, SEEK_AFTER, SEEK_AT_OR_BEFORE, ROOT_POINTER, BAD_ARGUMENT_BIAS, F_EXTENT_ROOT,
  F_EXTENT_LEVEL, F_CSUM_ROOT, F_CSUM_LEVEL, EPERM, TA_READS, MAX_FILE_BYTES, F_STAGING,
  F_STAGING_BYTES, EXTENT_MARK_LOSING, F_TOTAL_BYTES, ROOT_SLOT_BYTES, EXTENT_MARK_FILLED,
  NEEDS_HEAL, EUCLEAN, TA_RESULT, CR_DATA, CR_LEAF, CR_SLOT, CR_SIZE, WRITE_OUT_REPORT,
  WRITE_OUT_STORE_POINTS, READ_INODE_BOUNDS, READ_NO_INODE, READ_VERIFY, INODE_SIZE, INODE_FLAGS,
  INODE_FLAG_NODATASUM, NEGATIVE_OBJECTIDS, FS_TREE_ID, FIRST_SUBVOLUME_ID, CHUNK_FREE, CHUNK_DATA,
  CHUNK_METADATA, CHUNK_SYSTEM, CHUNK_RESERVED,
} from "../abi";
import * as S from "../pmem/state";
import { fsFormat, fsTablesBytes } from "./format";
import {
  fsAttach, fsAttached, dirtyBuffer, isVerified, setVerified, clearVerified, nodeBytes,
  kernelRangeValid, fsBase, threadArea, freshBitsAddr, losingBitsAddr, filledBitsAddr,
  metadataReserveBytes, rootSlotOf, poolCount, totalBytes, committedGeneration,
  copies as blockCopies,
} from "./state";
import {
  begin, finish, allocNode, lookupItem, seekForward, seekBackward, checkedChild, copyRoot,
} from "./ctree";
import { insertItem, updateItem, deleteItem } from "./ctree-change";
import { currentRoot } from "./operation";
import { isLeaf as isLeafAt, nritems as nritemsAt, inPool, level as levelAt } from "./node";
import { CHECKS } from "../shared/checks";
import { setRange, testBit } from "./bitmap";
import { readFile, lookupInode } from "./inode";
import { firstDifference } from "./compare";
import { fileWrite, WRITE_OWNER } from "./file";
import { refChange, refDelta, refCount, backrefCount, refPressure, takeBatch } from "./delayed-ref";
import {
  extentRefs, runDelayedRefs, endOperation, dataRefsOwner, dataRefHash,
} from "./extent-tree";
import { droppedCount } from "./dropped";
import { lockAcquire, lockTry, lockRelease, lockHolder } from "./fs-lock";
import {
  dropDirty, endTransaction, freeBuffers, liveDirtyBlocks, dirtyListLength, dirtyListEntry,
  writeDirtyBlocks,
} from "./transaction";
import { nodeAddr, checkCopy } from "./disk-io";
import {
  FREE_OK, FREE_OVERLAP, FREE_BAD_EXTENT, addFree, pin, unpinAll, freeSectors, pinnedSectors,
  largestRun, anyFree, extentValid, allocateTreeBlock, allocateData, releaseChunk, chunkUsedSectors,
  chunkEmpty,
} from "./free-space";
import {
  chunkBytesValid, chunkCount, chunkKind, spaceFits, treeFreeSectors, resetChunks, addChunk,
  copyBytenr, treeBlockPlaced, chunkOnGrid, setChunkKind, setCellLayout,
} from "./chunks";
import { RootSlot } from "./root-slot";

const MAX_SAFE: f64 = 9007199254740991;

/** A u64 argument passed as f64: an integer in [0, 2^53), else -1. */
@inline function u64Arg(x: f64): i64 {
  return x >= 0 && x <= MAX_SAFE && Math.floor(x) == x ? <i64>x : -1;
}

@inline function memoryValid(ptr: u32, len: u64): bool {
  return <u64>ptr + len <= (<u64>memory.size() << 16);
}

@inline function ready(): bool {
  return S.threadSlot >= 0 && fsAttached();
}

/**
 * Debug builds: the state's invariants, checked as each changing export returns (under
 * the fs lock that guards the state): every buffer free or listed, every listed block
 * live or dropped, delayed-ref tables at most half full, free and pinned space and the
 * dropped blocks within the device, the fs lock held by a thread or free. Release: true.
 */
function stateSound(): bool {
  if (!CHECKS) return true;
  assert(fsAttached(), "no state attached");
  const sectors = totalBytes >> SECTOR_SHIFT;
  return freeBuffers() + dirtyListLength() == poolCount && liveDirtyBlocks() <= dirtyListLength()
    && refPressure() <= 1000 && <u64>freeSectors() + pinnedSectors() <= <u64>sectors
    && droppedCount() <= sectors && lockHolder() >= -1;
}

// Bytes the state needs at its base: header and tables (the pool is separate), with
// delayed-ref tables of `refSlots` and `backrefSlots` (powers of two).
export function fs_state_bytes(totalBytes: u32, poolCount: u32, refSlots: u32, backrefSlots: u32): f64 {
  if (S.threadSlot < 0 || (totalBytes & (SECTOR_BYTES - 1)) != 0 || poolCount == 0 || !slotsValid(refSlots) || !slotsValid(backrefSlots)) return -EINVAL;
  const tables = fsTablesBytes(totalBytes, poolCount, refSlots, backrefSlots);
  // The stacks (free, freed, dirty list) and the sector index are among the tables.
  assert(tables >= <u64>poolCount * 12 + <u64>(totalBytes >> SECTOR_SHIFT) * 4, "tables too small");
  return <f64>FS_HEADER_BYTES + <f64>tables;
}

@inline function slotsValid(slots: u32): bool {
  return slots >= 16 && slots <= (1 << 26) && (slots & (slots - 1)) == 0;
}

// Lay out the state at `base` for a mount: pool of `poolCount` buffers at `pool`, delayed
// refs in tables of `refSlots` and `backrefSlots`; nothing dirty, nothing verified. Then
// attach to it.
export function fs_format(base: u32, node: u32, copies: u32, totalBytes: u32, chunkBytes: u32, generation: f64,
  pool: u32, poolCount: u32, refSlots: u32, backrefSlots: u32): i32 {
  if (S.threadSlot < 0 || node < SECTOR_BYTES || node > 65536 || (node & (node - 1)) != 0) return -EINVAL;
  if ((copies != 1 && copies != 2) || (totalBytes & (SECTOR_BYTES - 1)) != 0 || totalBytes > S.deviceBytes) return -EINVAL;
  if (!chunkBytesValid(chunkBytes, node, copies, totalBytes)) return -EINVAL;
  if (u64Arg(generation) < 0 || poolCount == 0 || (base & 7) != 0 || !slotsValid(refSlots) || !slotsValid(backrefSlots)) return -EINVAL;
  const stateBytes = <u64>FS_HEADER_BYTES + fsTablesBytes(totalBytes, poolCount, refSlots, backrefSlots);
  if (!kernelRangeValid(base, stateBytes) || !kernelRangeValid(pool, <u64>poolCount * node)) return -EINVAL;
  if (<u64>base < <u64>pool + <u64>poolCount * node && <u64>pool < <u64>base + stateBytes) return -EINVAL;
  fsFormat(base, node, copies, totalBytes, chunkBytes, <u64>generation, pool, poolCount, refSlots, backrefSlots);
  if (!fsAttach(base)) return -EINVAL;
  // A new state: every buffer free, no delayed ref, at the generation asked.
  assert(freeBuffers() == poolCount, "buffers in use");
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  assert(committedGeneration() == <u64>generation, "generation");
  if (CHECKS) assert(stateSound()); // fs_format broke the state's invariants
  return 0;
}

// Attach this instance (thread) to the state a mount formatted at `base`.
export function fs_attach(base: u32): i32 {
  if (S.threadSlot < 0 || !kernelRangeValid(base, FS_HEADER_BYTES)) return -EINVAL;
  if (!fsAttach(base)) return -EINVAL;
  assert(fsBase == base && fsAttached(), "state");
  return 0;
}

// The address of tree block `bytenr`'s content, or -EIO / -EUCLEAN (problem records),
// -NEEDS_HEAL (heal copy 1 from copy 2, then fs_set_verified), -EINVAL.
export function fs_node_addr(bytenr: f64): f64 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_node_addr is called
  const addr = nodeAddr(<u64>b);
  assert(addr >= 0 || addr == -<i64>EIO || addr == -<i64>EUCLEAN || addr == -<i64>NEEDS_HEAL, "read result");
  if (CHECKS) assert(stateSound()); // fs_node_addr broke the state's invariants
  return <f64>addr;
}

// Is copy `copy` of clean tree block `bytenr` sound? 0, or -EIO / -EUCLEAN with its record.
export function fs_check_copy(bytenr: f64, copy: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || copy > 1 || (b & (SECTOR_BYTES - 1)) != 0) return -EINVAL;
  if (<u64>b + <u64>(copy + 1) * nodeBytes > <u64>S.deviceBytes) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_check_copy is called
  const r = checkCopy(<u64>b, copy);
  assert(r == 0 || r == -EIO || r == -EUCLEAN, "check result");
  return r;
}

export function fs_is_verified(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_is_verified is called
  return isVerified(<u64>b) ? 1 : 0;
}

export function fs_set_verified(bytenr: f64, on: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_verified is called
  setVerified(<u64>b, on != 0);
  if (CHECKS) assert(stateSound()); // fs_set_verified broke the state's invariants
  return 0;
}

// Every block is read (and checked) again on its next use (scrub).
export function fs_forget_verified(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_forget_verified is called
  clearVerified();
  if (CHECKS) assert(stateSound()); // fs_forget_verified broke the state's invariants
  return 0;
}

// The buffer address of dirty block `bytenr`, 0 when it is not dirty.
export function fs_dirty_buffer(bytenr: f64): f64 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_buffer is called
  const buffer = dirtyBuffer(<u64>b);
  assert(buffer == 0 || inPool(buffer), "not a pool buffer");
  return <f64>buffer;
}

// A new, empty, dirty node of tree `owner` at `level` (a new tree's root): the block the
// B-tree's own allocation gives. Its bytenr; problems (no space, an empty pool) are thrown
// by fs_fail.
export function fs_alloc_node(owner: f64, level: u32): f64 {
  const o = u64Arg(owner);
  if (!ready() || o < 0 || level > MAX_LEVEL) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_alloc_node is called
  begin(<u64>o, 0, 0, 0, 0, 0);
  const bytenr = allocNode(level);
  const node = dirtyBuffer(bytenr);
  assert(node != 0, "node not dirty");
  assert(levelAt(node) == level, "bad level");
  assert(nritemsAt(node) == 0, "node not empty");
  if (CHECKS) assert(stateSound()); // fs_alloc_node broke the state's invariants
  return <f64>bytenr;
}

// Drop dirty block `bytenr` (its last reference is gone): 1 when it was dirty, 0 if not.
export function fs_drop_dirty(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_drop_dirty is called
  const dropped = dropDirty(<u64>b);
  assert(dirtyBuffer(<u64>b) == 0, "still dirty");
  if (CHECKS) assert(stateSound()); // fs_drop_dirty broke the state's invariants
  return dropped ? 1 : 0;
}

export function fs_free_buffers(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_buffers is called
  return <i32>freeBuffers();
}

export function fs_dirty_blocks(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_blocks is called
  return <i32>liveDirtyBlocks();
}

export function fs_dirty_list_length(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_list_length is called
  return <i32>dirtyListLength();
}

// The bytenr of dirty-list entry `i` (the order blocks became dirty), -1 when dropped since.
export function fs_dirty_list_entry(i: u32): f64 {
  if (!ready() || i >= dirtyListLength()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_list_entry is called
  return <f64>dirtyListEntry(i);
}

// The commit of `generation` is durable: written blocks become clean and verified.
export function fs_end_transaction(generation: f64): i32 {
  const g = u64Arg(generation);
  if (!ready() || g < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_end_transaction is called
  endTransaction(<u64>g);
  // Every buffer came back, nothing is dirty, and the generation is the one committed.
  assert(freeBuffers() == poolCount && liveDirtyBlocks() == 0 && dirtyListLength() == 0, "buffers in use");
  assert(committedGeneration() == <u64>g, "generation");
  if (CHECKS) assert(stateSound()); // fs_end_transaction broke the state's invariants
  return 0;
}

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
  const dataSectors = (<u64>d + SECTOR_BYTES - 1) >> SECTOR_SHIFT, metaSectors = (<u64>m + SECTOR_BYTES - 1) >> SECTOR_SHIFT;
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
export function fs_chunk_add(start: u32, length: u32, kind: u32, stripe0: u32, stripe1: u32, chunkCopies: u32, grid: u32, excluded: u32): i32 {
  if (!ready() || freeSectors() != 0 || pinnedSectors() != 0 || grid > 1) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_chunk_add is called
  const n = chunkCount();
  if (!addChunk(start, length, kind, stripe0, stripe1, chunkCopies, grid == 1, excluded)) return -EINVAL;
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
  if (kind == CHUNK_DATA && !spaceFits(<u64>l >> SECTOR_SHIFT, (<u64>r + SECTOR_BYTES - 1) >> SECTOR_SHIFT)) return -ENOSPC;
  const count = <u32>(l >> SECTOR_SHIFT);
  const at = kind == CHUNK_DATA ? allocateData(count) : allocateTreeBlock(kind);
  if (at < 0) return -ENOSPC;
  assert(<u64>(at + count) << SECTOR_SHIFT <= <u64>totalBytes, "past device end");
  if (CHECKS) assert(stateSound()); // fs_free_allocate broke the state's invariants
  return <f64>(at << SECTOR_SHIFT);
}

// --- the B-tree (ctree.ts) ----------------------------------------------------------------
// Every call names the tree (id, root, level); the root and level after it are in this
// thread's result record (TA_RESULT: CR_ROOT, CR_LEVEL), with the item found (CR_LEAF,
// CR_SLOT, CR_DATA, CR_SIZE). Problems (a corrupted block, EEXIST, ENOSPC, ...) are thrown
// by the host's fs_fail; bad arguments return -EINVAL.

/** A key's objectid: an integer in [0, 2^53), or in [-NEGATIVE_OBJECTIDS, -1] for btrfs's (u64)-n; else -1 (u64: its value). */
@inline function objectidArg(x: f64): u64 {
  if (x < 0 && x >= -<f64>NEGATIVE_OBJECTIDS && Math.floor(x) == x) return <u64><i64>x;
  const o = u64Arg(x);
  return o < 0 ? 0 : <u64>o;
}

@inline function objectidValid(x: f64): bool {
  return (x < 0 && x >= -<f64>NEGATIVE_OBJECTIDS && Math.floor(x) == x) || u64Arg(x) >= 0;
}

function treeArgs(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64): bool {
  const t = u64Arg(tree), r = u64Arg(root), f = u64Arg(offset);
  if (!ready() || t < 0 || r < 0 || !objectidValid(objectid) || f < 0 || rootLevel > MAX_LEVEL || type > 255) return false;
  begin(<u64>t, <u64>r, rootLevel, objectidArg(objectid), type, <u64>f);
  assert(currentRoot() == <u64>r, "ctree: an operation begun on another root");
  return true;
}

export function fs_thread_area(): f64 {
  if (!ready()) return -EINVAL;
  const area = threadArea();
  assert(area != 0 && kernelRangeValid(area, 8), "a thread area outside the kernel region");
  return <f64>area;
}

// 1 when the key is in the tree (result: its leaf, slot, data and size), 0 when not.
export function ctree_lookup(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64): i32 {
  if (!treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_lookup is called
  const found = lookupItem();
  finish();
  assert(!found || load<u32>(threadArea() + TA_RESULT + CR_DATA) != 0, "no item data");
  if (CHECKS) assert(stateSound()); // ctree_lookup broke the state's invariants
  return found ? 1 : 0;
}

// Insert an item of `size` bytes from `data`.
export function ctree_insert(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, data: u32, size: u32): i32 {
  if (!memoryValid(data, size) || !treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_insert is called
  insertItem(data, size);
  endOperation();
  // A changed tree's root is a copy of this transaction (inserts never collapse it).
  assert(dirtyBuffer(currentRoot()) != 0, "root not a copy");
  if (CHECKS) assert(stateSound()); // ctree_insert broke the state's invariants
  return 0;
}

// A snapshot's root: a copy of `root` (tree `tree`'s source, clean) owned by `tree`, its
// pointers counted (ctree.ts copyRoot). The copy's bytenr (the result record holds it too).
export function ctree_copy_root(tree: f64, root: f64, rootLevel: u32): f64 {
  if (!treeArgs(tree, root, rootLevel, 0, 0, 0)) return -EINVAL;
  if (u64Arg(tree) != <i64>FS_TREE_ID && u64Arg(tree) < <i64>FIRST_SUBVOLUME_ID) return -EINVAL;
  if (dirtyBuffer(<u64>u64Arg(root)) != 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_copy_root is called
  const next = copyRoot();
  finish();
  assert(dirtyBuffer(next) != 0 && currentRoot() == next, "the snapshot root is not a new copy");
  if (CHECKS) assert(stateSound()); // ctree_copy_root broke the state's invariants
  return <f64>next;
}

// Replace an item's data with `size` bytes from `data`.
export function ctree_update(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, data: u32, size: u32): i32 {
  if (!memoryValid(data, size) || !treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_update is called
  updateItem(data, size);
  endOperation();
  assert(dirtyBuffer(currentRoot()) != 0, "root not a copy");
  if (CHECKS) assert(stateSound()); // ctree_update broke the state's invariants
  return 0;
}

// 1 when the item was deleted, 0 when absent.
export function ctree_delete(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64): i32 {
  if (!treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_delete is called
  const deleted = deleteItem();
  endOperation();
  if (CHECKS) assert(stateSound()); // ctree_delete broke the state's invariants
  return deleted ? 1 : 0;
}

// The first item >= the key (SEEK_AT_OR_AFTER), > it (SEEK_AFTER) or the last <= it
// (SEEK_AT_OR_BEFORE): 1 with the result set, 0 when there is none.
export function ctree_seek(tree: f64, root: f64, rootLevel: u32, objectid: f64, type: u32, offset: f64, mode: u32): i32 {
  if (mode > SEEK_AT_OR_BEFORE || !treeArgs(tree, root, rootLevel, objectid, type, offset)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_seek is called
  const found = mode == SEEK_AT_OR_BEFORE ? seekBackward() : seekForward(mode == SEEK_AFTER);
  finish();
  assert(!found || load<u32>(threadArea() + TA_RESULT + CR_SLOT) < nritemsAt(<usize>load<u32>(threadArea() + TA_RESULT + CR_LEAF)), "slot outside node");
  if (CHECKS) assert(stateSound()); // ctree_seek broke the state's invariants
  return found ? 1 : 0;
}

// The address of the child at slot `slot` of block `parent`, checked against the parent
// (level, generation, key range below the key at `high`, 0: no bound).
export function ctree_checked_child(tree: f64, parent: f64, slot: u32, high: u32): f64 {
  const p = u64Arg(parent);
  if (!treeArgs(tree, 0, 0, 0, 0, 0) || p < 0 || (high != 0 && !memoryValid(high, KEY_BYTES))) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when ctree_checked_child is called
  const addr = nodeAddr(<u64>p);
  if (addr < 0) return <f64>addr;
  if (isLeafAt(<usize>addr) || slot >= nritemsAt(<usize>addr)) return -EINVAL;
  return <f64>checkedChild(<usize>addr, <u64>p, slot, high);
}

// Tree changes (and commits) so far: what a reader cached from the trees is valid while
// this stays the same.
export function fs_tree_changes(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_tree_changes is called
  return <i32>load<u32>(fsBase + F_TREE_CHANGES);
}

export function fs_tree_changed(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_tree_changed is called
  store<u32>(fsBase + F_TREE_CHANGES, load<u32>(fsBase + F_TREE_CHANGES) + 1);
  return 0;
}

// Record [start, start + length) as allocated in this transaction (data extents).
export function fs_mark_fresh(start: f64, length: f64): i32 {
  const s = u64Arg(start), l = u64Arg(length);
  if (!ready() || s < 0 || l < 0 || !extentValid(<u64>s, <u64>l)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_mark_fresh is called
  setRange(freshBitsAddr, <u32>(s >> SECTOR_SHIFT), <u32>((s + l) >> SECTOR_SHIFT), true);
  assert(l == 0 || testBit(freshBitsAddr, <u32>(s >> SECTOR_SHIFT)), "not marked");
  if (CHECKS) assert(stateSound()); // fs_mark_fresh broke the state's invariants
  return 0;
}

// 1 when the sector at `bytenr` was allocated in this transaction.
export function fs_is_fresh(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || !extentValid(<u64>b, SECTOR_BYTES)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_is_fresh is called
  return testBit(freshBitsAddr, <u32>(b >> SECTOR_SHIFT)) ? 1 : 0;
}

// --- file reads (inode.ts) -------------------------------------------------------------------

// Read file bytes [offset, offset + length) of inode `ino` (tree id, root, level; the csum
// tree's root and level) into `dst`; flags READ_VERIFY, or READ_INODE_BOUNDS (the inode's
// size bounds the read and its NODATASUM flag decides the verification). The bytes read,
// READ_NO_INODE (bounds asked, no sound inode item) or -EINVAL; problems (EIO for media
// errors and checksum mismatches, EUCLEAN for a corrupted tree) are thrown by fs_fail.
export function file_read(tree: f64, root: f64, rootLevel: u32, csumRoot: f64, csumLevel: u32,
  ino: f64, offset: f64, length: u32, dst: u32, flags: u32): i32 {
  const t = u64Arg(tree), r = u64Arg(root), c = u64Arg(csumRoot), i = u64Arg(ino), o = u64Arg(offset);
  if (!ready() || t < 0 || r < 0 || c < 0 || i < 0 || o < 0 || rootLevel > MAX_LEVEL || csumLevel > MAX_LEVEL) return -EINVAL;
  if (!memoryValid(dst, length) || <u64>o + length > MAX_FILE_BYTES) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when file_read is called
  let n = length;
  let readFlags = flags;
  if ((flags & READ_INODE_BOUNDS) != 0) {
    // The inode's size and flags, from the same tree: one call for a pread, not two.
    const inode = lookupInode(<u64>t, <u64>r, rootLevel, <u64>i);
    if (inode == 0) return READ_NO_INODE;
    const size = load<u64>(inode + INODE_SIZE);
    n = <u64>o >= size ? 0 : <u32>min<u64>(<u64>length, size - <u64>o);
    readFlags = (load<u64>(inode + INODE_FLAGS) & INODE_FLAG_NODATASUM) != 0 ? 0 : READ_VERIFY;
  }
  if (n > 0) readFile(<u64>t, <u64>r, rootLevel, <u64>c, csumLevel, <u64>i, <u64>o, n, dst, readFlags);
  if (CHECKS) assert(stateSound()); // file_read broke the state's invariants
  return <i32>n;
}

// Dedupe's comparison (compare.ts): the index of the first byte where [a, a + length) and
// [b, b + length) differ, `length` when they are equal; -EINVAL for a range outside memory
// or longer than 1 GiB (the callers compare a staging buffer's halves).
export function fs_first_difference(a: u32, b: u32, length: u32): i32 {
  if (!ready() || length > 0x40000000 || !memoryValid(a, length) || !memoryValid(b, length)) return -EINVAL;
  const at = firstDifference(<usize>a, <usize>b, length);
  assert(at <= length, "difference past the ranges");
  return <i32>at;
}

// --- delayed refs (delayed-ref.ts) --------------------------------------------------------

// A pointer from `container` (a block, or ROOT_POINTER = -1) to tree block `target` at
// `level` appeared (+1) or went (-1); data pointers are reported by the B-tree itself
// (their back references name the item's tree, inode and offset). Problems (a full table,
// a block referenced as data and as a tree block) are thrown by fs_fail.
export function fs_ref_change(container: f64, target: f64, owner: f64, level: i32, bytes: u32, delta: i32): i32 {
  const t = u64Arg(target), o = u64Arg(owner);
  const c: i64 = container == ROOT_POINTER ? ROOT_POINTER : u64Arg(container);
  if (!ready() || t < 0 || o < 0 || (c < 0 && c != ROOT_POINTER) || level > <i32>MAX_LEVEL || level < 0 || bytes != 0 || (delta != 1 && delta != -1)) return -EINVAL;
  if (<u64>t >= <u64>S.deviceBytes) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_change is called
  refChange(c, <u64>t, <u64>o, level, 0, delta);
  assert(refCount() > 0, "ref lost");
  if (CHECKS) assert(stateSound()); // fs_ref_change broke the state's invariants
  return 0;
}

// The change of `target`'s reference count in this transaction.
export function fs_ref_delta(target: f64): i32 {
  const t = u64Arg(target);
  if (!ready() || t < 0 || <u64>t >= <u64>S.deviceBytes) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_delta is called
  return refDelta(<u64>t);
}

export function fs_ref_count(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_count is called
  const n = refCount();
  // The tables run at half full at most (refPressure), so the count fits an i32 with room.
  assert(n <= 0x40000000, "delayed-ref count");
  return <i32>n;
}

// How full the delayed-ref tables are, in 1/1000 (the file system runs them at 500).
export function fs_ref_pressure(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_ref_pressure is called
  return <i32>refPressure();
}

// Move every delayed ref into the batch (F_BATCH, sorted by target) and clear the tables;
// the number of refs in the batch.
export function fs_refs_take(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_refs_take is called
  const n = takeBatch();
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  if (CHECKS) assert(stateSound()); // fs_refs_take broke the state's invariants
  return <i32>n;
}

// --- the extent tree (extent-tree.ts) --------------------------------------------------------

// The extent and csum trees' roots and levels, kept where every thread finds them (the
// core changes those trees on its own when it runs delayed refs).
export function fs_set_system_roots(extentRoot: f64, extentLevel: u32, csumRoot: f64, csumLevel: u32): i32 {
  const e = u64Arg(extentRoot), c = u64Arg(csumRoot);
  if (!ready() || e < 0 || c < 0 || extentLevel > MAX_LEVEL || csumLevel > MAX_LEVEL) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_system_roots is called
  store<u64>(fsBase + F_EXTENT_ROOT, <u64>e);
  store<u32>(fsBase + F_EXTENT_LEVEL, extentLevel);
  store<u64>(fsBase + F_CSUM_ROOT, <u64>c);
  store<u32>(fsBase + F_CSUM_LEVEL, csumLevel);
  return 0;
}

// The reference count of an extent with this transaction's delayed changes (a tree block:
// data 0, bytes 0).
export function fs_extent_refs(bytenr: f64, data: u32, bytes: f64): f64 {
  const b = u64Arg(bytenr), n = u64Arg(bytes);
  if (!ready() || b < 0 || n < 0) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_extent_refs is called
  const refs = extentRefs(<u64>b, data != 0, <u64>n);
  if (CHECKS) assert(stateSound()); // fs_extent_refs broke the state's invariants
  return <f64>refs;
}

// Apply every delayed ref to the extent tree (batch after batch, until none are left);
// problems are thrown by fs_fail.
export function fs_run_delayed_refs(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_run_delayed_refs is called
  runDelayedRefs();
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  if (CHECKS) assert(stateSound()); // fs_run_delayed_refs broke the state's invariants
  return 0;
}

// Blocks whose pointers were dropped early and still hold a reference (0 after a run).
export function fs_dropped_blocks(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dropped_blocks is called
  return <i32>droppedCount();
}

// --- the fs lock (fs-lock.ts) -------------------------------------------------------------

// Take the fs lock (nested: the depth this thread now holds), waiting while another thread holds it.
export function fs_lock(): i32 {
  if (!ready()) return -EINVAL;
  const depth = lockAcquire();
  assert(depth > 0, "lock depth");
  assert(lockHolder() == S.threadSlot, "lock holder");
  return <i32>depth;
}

// 1 when this thread took (or already held) the lock, 0 when another thread holds it.
export function fs_try_lock(): i32 {
  if (!ready()) return -EINVAL;
  const taken = lockTry();
  assert(!taken || lockHolder() == S.threadSlot, "lock holder");
  return taken ? 1 : 0;
}

// Give one level of the lock back: 0, -EPERM when this thread does not hold it.
export function fs_unlock(): i32 {
  if (!ready()) return -EINVAL;
  const released = lockRelease();
  // Released or not, the lock has a holder or none (never a slot past the threads).
  assert(lockHolder() >= -1 && lockHolder() < <i32>S.maxThreads, "lock holder");
  return released ? 0 : -EPERM;
}

// The thread slot holding the fs lock, -1 when it is free.
export function fs_lock_holder(): i32 {
  if (!ready()) return -EINVAL;
  const holder = lockHolder();
  assert(holder >= -1 && holder < <i32>S.maxThreads, "lock holder");
  return holder;
}

// Count a file read this thread served through the core (TA_READS: the other threads see it).
export function fs_read_done(): i32 {
  if (!ready()) return -EINVAL;
  const at = threadArea() + TA_READS;
  const before = atomic.load<u32>(at);
  atomic.store<u32>(at, before + 1);
  // Only this thread counts in its area: nobody else changed it meanwhile.
  assert(atomic.load<u32>(at) == before + 1, "read count");
  return <i32>atomic.load<u32>(at);
}

// --- what the DAX fault path shares with TypeScript (file-item.ts, dax/fault.ts) -----------

// Where item bodies are built under the fs lock (the kernel's staging buffer).
export function fs_set_staging(addr: u32, bytes: u32): i32 {
  if (!ready() || bytes < 4096 || !kernelRangeValid(addr, bytes)) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_staging is called
  store<u32>(fsBase + F_STAGING, addr);
  store<u32>(fsBase + F_STAGING_BYTES, bytes);
  assert(load<u32>(fsBase + F_STAGING) == addr && load<u32>(fsBase + F_STAGING_BYTES) == bytes, "staging not kept");
  return 0;
}

// Per-extent marks of the running transaction: EXTENT_MARK_LOSING (an item stopped mapping
// the extent) and EXTENT_MARK_FILLED (bytes filled in place). `set` 1 sets it, 0 asks.
export function fs_extent_mark(which: u32, bytenr: f64, set: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || !extentValid(<u64>b, SECTOR_BYTES) || which > EXTENT_MARK_FILLED) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_extent_mark is called
  const bits = which == EXTENT_MARK_LOSING ? losingBitsAddr : filledBitsAddr;
  const sector = <u32>(b >> SECTOR_SHIFT);
  if (set != 0) setRange(bits, sector, sector + 1, true);
  const marked = testBit(bits, sector);
  assert(set == 0 || marked, "not marked");
  if (CHECKS) assert(stateSound()); // fs_extent_mark broke the state's invariants
  return marked ? 1 : 0;
}

// 1 when every reference to data extent `extent` (`bytes` long) is an item of inode `ino`
// of tree `tree` from one mapping; 0 when another inode or tree references it; -1 unknown
// (delayed refs, or several mappings of the inode). See extent-tree.ts dataRefsOwner.
export function fs_data_refs_owner(extent: f64, bytes: f64, tree: f64, ino: f64): i32 {
  const e = u64Arg(extent), b = u64Arg(bytes), t = u64Arg(tree), i = u64Arg(ino);
  if (!ready() || e < 0 || b <= 0 || t <= 0 || i < 0 || !extentValid(<u64>e, <u64>b)) return -EINVAL - BAD_ARGUMENT_BIAS;
  const owner = dataRefsOwner(<u64>e, <u64>b, <u64>t, <u64>i);
  assert(owner >= -1 && owner <= 1, "refs owner answer");
  return owner;
}

// Bytes a data allocation must leave free for tree blocks (state.ts: one formula for the
// core's fault path and TypeScript's allocations).
export function fs_metadata_reserve_bytes(): f64 {
  if (!ready()) return -EINVAL;
  const reserve = metadataReserveBytes();
  assert(reserve > 0 && reserve % <u64>(nodeBytes) == 0, "a reserve of no whole tree block");
  assert(reserve < <u64>load<u32>(fsBase + F_TOTAL_BYTES), "a reserve as large as the device");
  return <f64>reserve;
}

// The root-table slot of subvolume tree `tree` (its address), 0 when it has none.
export function fs_root_slot(tree: f64): f64 {
  const t = u64Arg(tree);
  if (!ready() || t <= 0) return -EINVAL;
  const slot = rootSlotOf(<u64>t);
  assert(slot == 0 || changetype<RootSlot>(slot).tree == <u64>t, "a root slot of another tree");
  assert(slot == 0 || kernelRangeValid(slot, ROOT_SLOT_BYTES), "a root slot outside the kernel region");
  return <f64>slot;
}

// pwrite's path in the core (file.ts): `length` bytes at `src` to file byte `at` of inode
// `ino` in subvolume tree `tree`. The device byte the data went to; -1 when TypeScript's
// path must run (nothing changed); -(errno + BAD_ARGUMENT_BIAS) for bad arguments. The
// caller holds the fs lock and has checked that no DAX mapping or dirtied page involves
// the file.
export function fs_file_write(tree: f64, ino: f64, src: u32, at: f64, length: u32): f64 {
  const t = u64Arg(tree), i = u64Arg(ino), a = u64Arg(at);
  if (!ready() || t <= 0 || i < 0 || a < 0 || length == 0) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (((<u64>a | <u64>length) & (SECTOR_BYTES - 1)) != 0 || !memoryValid(src, length)) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (<u64>a + length > MAX_FILE_BYTES) return -EINVAL - BAD_ARGUMENT_BIAS;
  if (lockHolder() != S.threadSlot) return -EPERM - BAD_ARGUMENT_BIAS;
  const slot = rootSlotOf(<u64>t);
  if (slot == 0) return <f64>WRITE_OWNER;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_file_write is called
  const disk = fileWrite(slot, <u64>i, src, <u64>a, length);
  assert(disk == WRITE_OWNER || (disk >= 0 && <u64>disk + length <= <u64>totalBytes), "file write answer");
  if (CHECKS) assert(stateSound()); // fs_file_write broke the state's invariants
  return <f64>disk;
}

// The commit's write-out of tree blocks (transaction.ts writeDirtyBlocks): checksums, stores
// and write-backs of every dirty block's copies, in order. `flags`: WRITE_OUT_* (hooks
// before each store). The copies stored, or -EINVAL / -EPERM (the fs lock not held).
export function fs_write_dirty_blocks(flags: u32): i32 {
  if (!ready() || flags > (WRITE_OUT_REPORT | WRITE_OUT_STORE_POINTS)) return -EINVAL;
  if (lockHolder() != S.threadSlot) return -EPERM;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_write_dirty_blocks is called
  const stored = writeDirtyBlocks(flags);
  assert(stored <= dirtyListLength() * 2, "copies stored");
  return <i32>stored;
}
