// Block groups (btrfs's chunks). The chunk table lists them in order of logical start,
// each with its stripes (the device bytes that hold it). Two sorts:
//
// - pmcow's grid: the device after its first MiB cut into cells of F_CHUNK_BYTES. A cell
//   is free (no block group) until an allocation types it: data from the lowest free cell,
//   metadata and system (the chunk tree's blocks) from the highest, as btrfs keeps data and
//   tree blocks in block groups of their own. A commit that finds a typed cell empty gives
//   it back (btrfs's unused block group removal). A cell's chunk is mapped 1:1 (its logical
//   bytes are its device bytes); DUP (two copies of every tree block): the cell's block
//   group is its first half, its second half the second stripe (the copy of block b is at
//   b + F_CHUNK_BYTES / 2). Only the block group is ever free space.
// - chunks an image placed elsewhere (mkfs.btrfs lays out its own: an 8 MiB data chunk, a
//   32 MiB DUP metadata chunk whose stripes lie apart from its logical range). The mount
//   lists them as they are (logical range, stripes, the sectors over a superblock copy kept
//   out of free space) and keeps them; grid cells fill the space they leave. Data chunks are
//   mapped 1:1 (the mount refuses others): a data extent's bytenr is its device byte, which
//   DAX maps; a tree block's copies are found through its chunk's stripes (copyBytenr).
//
// TypeScript writes the chunk tree, dev tree and block group items from this table at every
// commit, and builds it from them at mount (src/fs/chunks.ts).
//
// The free sectors of each kind of chunk are counted as space is freed and taken
// (F_FREE_BY_KIND), so a writer asks "does this fit, leaving metadata its reserve?" in
// constant time (spaceFits).
import {
  F_CHUNK_BYTES, F_CHUNK_COUNT, F_CHUNKS, F_FREE_BY_KIND, F_CHUNKS_MAPPED, F_ADOPTING, CHUNKS_MAX,
  CHUNK_ENTRY_BYTES, CE_KIND, CE_GRID, CE_COPIES, CE_START, CE_SECTORS, CE_STRIPE0, CE_STRIPE1,
  CE_EXCLUDED, CHUNK_FREE, CHUNK_DATA, CHUNK_SYSTEM, CHUNK_METADATA, CHUNK_RESERVED, SECTOR_SHIFT,
  SECTOR_BYTES, SYSTEM_AREA_BYTES, MIRROR_SUPERBLOCK_BYTENR, SUPERBLOCK_STRIPE,
} from "../abi";
import { fsBase, totalBytes, copies, nodeBytes } from "./state";
import { CHECKS } from "../shared/checks";

/** Is `kind` one a chunk may hold? */
@inline function validKind(kind: u32): bool {
  return kind == CHUNK_FREE || kind == CHUNK_DATA || kind == CHUNK_SYSTEM || kind == CHUNK_METADATA
    || kind == CHUNK_RESERVED;
}

/**
 * Is `bytes` a cell size a device of `total` bytes with blocks of `node` x `blockCopies` may use?
 */
export function chunkBytesValid(bytes: u32, node: u32, blockCopies: u32, total: u32): bool {
  return bytes >= SUPERBLOCK_STRIPE && (bytes & (bytes - 1)) == 0 && bytes >= 4 * node * blockCopies
    && <u64>total >= <u64>SYSTEM_AREA_BYTES + bytes;
}

@inline export function chunkBytes(): u32 {
  assert(fsBase != 0, "chunks: no state attached");
  const bytes = load<u32>(fsBase + F_CHUNK_BYTES);
  // a cell size fs_format refuses
  if (CHECKS) assert(bytes >= SUPERBLOCK_STRIPE && (bytes & (bytes - 1)) == 0);
  return bytes;
}

/** Sectors of a grid cell (a chunk pmcow makes). */
@inline export function cellSectors(): u32 {
  const n = chunkBytes() >> SECTOR_SHIFT;
  assert(n >= (SUPERBLOCK_STRIPE >> SECTOR_SHIFT), "chunks: a cell smaller than a stripe");
  assert(n <= totalBytes >> SECTOR_SHIFT, "chunks: a cell larger than the device");
  if (CHECKS) assert(n % (nodeBytes >> SECTOR_SHIFT) == 0); // a cell that is not whole tree blocks
  return n;
}

@inline export function chunkCount(): u32 {
  const n = load<u32>(fsBase + F_CHUNK_COUNT);
  assert(n <= CHUNKS_MAX, "chunks: more than the table holds");
  if (CHECKS) assert(n == 0 || load<u32>(fsBase + F_CHUNKS) != 0); // chunks without a table
  return n;
}

@inline function entryAddr(c: u32): usize {
  assert(c < chunkCount(), "chunks: no such chunk");
  const table = <usize>load<u32>(fsBase + F_CHUNKS);
  assert(table != 0, "chunks: no table");
  return table + <usize>c * CHUNK_ENTRY_BYTES;
}

@inline export function chunkKind(c: u32): u32 {
  const kind = <u32>load<u8>(entryAddr(c) + CE_KIND);
  if (CHECKS) assert(validKind(kind)); // a kind no code stores
  // Only a device with btrfs's first mirror has a cell kept around it.
  assert(kind != CHUNK_RESERVED || <u64>totalBytes > <u64>MIRROR_SUPERBLOCK_BYTENR,
    "chunks: a reserved chunk without a mirror");
  return kind;
}

/** Is chunk `c` a cell of pmcow's grid (typed on use, given back when empty)? */
@inline export function chunkOnGrid(c: u32): bool {
  return load<u8>(entryAddr(c) + CE_GRID) != 0;
}

/** The chunk's first (logical) sector. */
@inline export function chunkStartSector(c: u32): u32 {
  const start = load<u32>(entryAddr(c) + CE_START);
  assert(start >= (SYSTEM_AREA_BYTES >> SECTOR_SHIFT), "chunks: a chunk in the first MiB");
  // a chunk past the device
  if (CHECKS) {
    assert(<u64>start + load<u32>(entryAddr(c) + CE_SECTORS) <= <u64>(totalBytes >> SECTOR_SHIFT));
  }
  return start;
}

/** The chunk's logical sectors: its block group (a free cell's: all of it). */
@inline export function chunkLengthSectors(c: u32): u32 {
  const n = load<u32>(entryAddr(c) + CE_SECTORS);
  assert(n >= (nodeBytes >> SECTOR_SHIFT), "chunks: a chunk smaller than a tree block");
  return n;
}

/** Sectors of chunk `c`'s block group over a superblock copy (never free, not used). */
@inline export function chunkExcludedSectors(c: u32): u32 {
  const n = load<u32>(entryAddr(c) + CE_EXCLUDED);
  assert(n <= load<u32>(entryAddr(c) + CE_SECTORS), "chunks: more excluded than the chunk holds");
  return n;
}

/**
 * Sectors of a new chunk of `kind` on a grid cell that hold blocks or data: a dup tree chunk's
 * first half.
 */
@inline export function cellUsableSectors(kind: u32): u32 {
  assert(kind != CHUNK_FREE && kind != CHUNK_RESERVED,
    "chunks: an untyped chunk has no usable half");
  const n = kind != CHUNK_DATA && copies == 2 ? cellSectors() >> 1 : cellSectors();
  assert(n >= (nodeBytes >> SECTOR_SHIFT), "chunks: a usable part smaller than a tree block");
  return n;
}

/**
 * The chunk whose logical range holds sector `sector`, or -1 (the first MiB, a dup cell's mirror
 * half, a gap).
 */
export function chunkOfSector(sector: u32): i32 {
  assert(sector <= totalBytes >> SECTOR_SHIFT, "chunks: a sector past the device");
  // Binary search over the table, in order of logical start.
  let lo: i32 = 0, hi: i32 = <i32>chunkCount() - 1, found: i32 = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (load<u32>(entryAddr(<u32>mid) + CE_START) <= sector) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return -1;
  const start = chunkStartSector(<u32>found);
  if (CHECKS) assert(start <= sector); // the search's answer starts after the sector
  return sector - start < chunkLengthSectors(<u32>found) ? found : -1;
}

/**
 * Tree block `bytenr` lies in the block group of a metadata or system chunk (a pointer may name
 * it).
 */
export function treeBlockPlaced(bytenr: u64): bool {
  assert(nodeBytes >= SECTOR_BYTES, "chunks: no node size");
  if (bytenr >= <u64>totalBytes || (bytenr & (SECTOR_BYTES - 1)) != 0) return false;
  const sector = <u32>(bytenr >> SECTOR_SHIFT);
  const c = chunkOfSector(sector);
  if (c < 0) return false;
  const kind = chunkKind(<u32>c);
  if (kind != CHUNK_METADATA && kind != CHUNK_SYSTEM) return false;
  const placed = sector + (nodeBytes >> SECTOR_SHIFT) <= chunkStartSector(<u32>c)
    + chunkLengthSectors(<u32>c);
  // a placed block past the device
  if (CHECKS) assert(!placed || bytenr + nodeBytes <= <u64>totalBytes);
  return placed;
}

/**
 * The device byte of copy `copy` of tree block `bytenr`: its chunk's stripe `copy` at the
 * block's offset in the chunk (on pmcow's grid, copy 0 is `bytenr` itself).
 */
export function copyBytenr(bytenr: u64, copy: u32): u64 {
  assert(copy < copies, "chunks: a copy the profile does not have");
  if (copy == 0 && load<u32>(fsBase + F_CHUNKS_MAPPED) == 0) return bytenr;
  const c = chunkOfSector(<u32>(bytenr >> SECTOR_SHIFT));
  assert(c >= 0, "chunks: a tree block outside every chunk");
  const e = entryAddr(<u32>c);
  assert(<u32>load<u8>(e + CE_COPIES) > copy, "chunks: a copy its chunk does not have");
  const stripe = <u64>load<u32>(e + (copy == 0 ? CE_STRIPE0 : CE_STRIPE1)) << SECTOR_SHIFT;
  const at = stripe + (bytenr - (<u64>chunkStartSector(<u32>c) << SECTOR_SHIFT));
  assert(at + nodeBytes <= <u64>totalBytes, "chunks: a copy past the device");
  return at;
}

// --- the free sectors of each kind --------------------------------------------------------

@inline function kindSlot(kind: u32): u32 {
  assert(kind != CHUNK_RESERVED, "chunks: a reserved chunk has no free space");
  assert(validKind(kind), "chunks: a kind no code stores");
  return kind == CHUNK_FREE ? 0 : kind == CHUNK_DATA ? 1 : kind == CHUNK_METADATA ? 2 : 3;
}

@inline export function freeOfKind(kind: u32): u32 {
  assert(fsBase != 0, "chunks: no state attached");
  const n = load<u32>(fsBase + F_FREE_BY_KIND + (kindSlot(kind) << 2));
  assert(n <= totalBytes >> SECTOR_SHIFT, "chunks: free count past the device");
  return n;
}

@inline function addFreeOfKind(kind: u32, delta: i32): void {
  assert(delta != 0, "chunks: an empty change of a free count");
  const at = fsBase + F_FREE_BY_KIND + (kindSlot(kind) << 2);
  const now = <i64>load<u32>(at) + delta;
  assert(now >= 0 && now <= <i64>(totalBytes >> SECTOR_SHIFT), "chunks: free count of a kind");
  store<u32>(at, <u32>now);
}

/** Sectors [from, to) became free (`on`) or taken: count them in their chunks' kinds. */
export function countFreeChange(from: u32, to: u32, on: bool): void {
  assert(from < to, "chunks: an empty change");
  let at = from;
  while (at < to) {
    const c = chunkOfSector(at);
    assert(c >= 0, "chunks: free space outside every chunk");
    const end = min<u32>(to, chunkStartSector(<u32>c) + chunkLengthSectors(<u32>c));
    const n = <i32>(end - at);
    addFreeOfKind(chunkKind(<u32>c), on ? n : -n);
    at = end;
  }
}

/** Free cells (all of each one free; only grid cells are ever untyped). */
export function freeChunks(): u32 {
  const n = freeOfKind(CHUNK_FREE) / cellSectors();
  assert(n <= chunkCount(), "chunks: more free chunks than chunks");
  if (CHECKS) assert(freeOfKind(CHUNK_FREE) % cellSectors() == 0); // a free cell partly taken
  return n;
}

/**
 * Sectors tree blocks of `kind` may still take: free in their chunks, plus every free chunk's
 * usable part.
 */
export function treeFreeSectors(kind: u32): u64 {
  assert(kind == CHUNK_METADATA || kind == CHUNK_SYSTEM, "chunks: tree space of a data kind");
  const n = <u64>freeOfKind(kind) + <u64>freeChunks() * cellUsableSectors(kind);
  assert(n <= <u64>(totalBytes >> SECTOR_SHIFT), "chunks: more tree space than the device");
  return n;
}

/**
 * Do `dataSectors` of data fit, leaving `metadataSectors` for tree blocks? Data takes free
 * space in data chunks, then whole free chunks; metadata the same in its own. Free space
 * counts, not runs: an allocation may still split (the writer's loop allocates runs).
 */
export function spaceFits(dataSectors: u64, metadataSectors: u64): bool {
  const chunk = <u64>cellSectors();
  const dataShort = dataSectors > <u64>freeOfKind(CHUNK_DATA) ? dataSectors - freeOfKind(CHUNK_DATA)
    : 0;
  const metaFree = <u64>freeOfKind(CHUNK_METADATA);
  const metaShort = metadataSectors > metaFree ? metadataSectors - metaFree : 0;
  const metaChunk = <u64>cellUsableSectors(CHUNK_METADATA);
  assert(chunk > 0 && metaChunk > 0 && metaChunk <= chunk, "chunks: chunk sizes");
  assert(freeChunks() <= chunkCount(), "chunks: more free chunks than chunks");
  const need = (dataShort + chunk - 1) / chunk + (metaShort + metaChunk - 1) / metaChunk;
  return need <= <u64>freeChunks();
}

// --- typing and releasing chunks -----------------------------------------------------------

/** Set chunk `c`'s kind without touching free space (format, mount: before space is added). */
export function setChunkKind(c: u32, kind: u32): void {
  assert(validKind(kind), "chunks: a kind no code stores");
  // A chunk changes kind only through free: typed, given back, typed again.
  assert(kind == CHUNK_FREE || chunkKind(c) == CHUNK_FREE || chunkKind(c) == kind,
    "chunks: a typed chunk retyped");
  store<u8>(entryAddr(c) + CE_KIND, <u8>kind);
}

/**
 * Set cell `c`'s layout as typed `kind` (its block group, stripes and copies) or, with
 * CHUNK_FREE, back to a whole untyped cell. Free space is the caller's (free-space.ts).
 */
export function setCellLayout(c: u32, kind: u32): void {
  assert(chunkOnGrid(c), "chunks: laying out a chunk the image placed");
  const e = entryAddr(c);
  const start = load<u32>(e + CE_START);
  if (kind == CHUNK_FREE) {
    store<u32>(e + CE_SECTORS, cellSectors());
    store<u32>(e + CE_STRIPE1, 0);
    store<u8>(e + CE_COPIES, 0);
    return;
  }
  const usable = cellUsableSectors(kind);
  store<u32>(e + CE_SECTORS, usable);
  store<u8>(e + CE_COPIES, usable < cellSectors() ? 2 : 1);
  store<u32>(e + CE_STRIPE1, usable < cellSectors() ? start + usable : 0);
}

/** Empty the table (a mount lays it out again from the items; no free space yet). */
export function resetChunks(): void {
  assert(fsBase != 0, "chunks: no state attached");
  for (let i: u32 = 0; i < 4; i++) {
    assert(load<u32>(fsBase + F_FREE_BY_KIND + (i << 2)) == 0, "chunks: reset with free space");
  }
  store<u32>(fsBase + F_CHUNK_COUNT, 0);
  store<u32>(fsBase + F_CHUNKS_MAPPED, 0);
  memory.fill(<usize>load<u32>(fsBase + F_CHUNKS), 0, <usize>CHUNKS_MAX * CHUNK_ENTRY_BYTES);
}

/**
 * Append a chunk at the end of the table (after every chunk in it, logically): its logical
 * start and sectors, kind, stripes (stripe1 0 with one copy), whether it is a grid cell,
 * and the sectors of it over a superblock copy. False when it cannot be one.
 */
export function addChunk(
  start: u32, length: u32, kind: u32, stripe0: u32, stripe1: u32, chunkCopies: u32, grid: bool,
  excluded: u32,
): bool {
  const n = chunkCount(), sectorsTotal = totalBytes >> SECTOR_SHIFT;
  if (n >= CHUNKS_MAX || !validKind(kind) || length < (nodeBytes >> SECTOR_SHIFT)
      || excluded > length) {
    return false;
  }
  if (start < (SYSTEM_AREA_BYTES >> SECTOR_SHIFT) || <u64>start + length > <u64>sectorsTotal) {
    return false;
  }
  if (<u64>stripe0 + length > <u64>sectorsTotal || stripe0 < (SYSTEM_AREA_BYTES >> SECTOR_SHIFT)) {
    return false;
  }
  if (chunkCopies == 2 ? (<u64>stripe1 + length > <u64>sectorsTotal
      || stripe1 < (SYSTEM_AREA_BYTES >> SECTOR_SHIFT)) : stripe1 != 0) {
    return false;
  }
  if ((kind == CHUNK_FREE || kind == CHUNK_RESERVED) != (chunkCopies == 0)) return false;
  if (chunkCopies > 2 || (chunkCopies != 0 && kind != CHUNK_DATA && chunkCopies != copies)
      || (kind == CHUNK_DATA && chunkCopies != 1)) {
    return false;
  }
  // Data is mapped 1:1 (a data extent's bytenr is its device byte), but for an adopted
  // image's data chunk, which the adoption empties and removes (TypeScript adds no free
  // space in it, and reads its files' bytes through its stripe).
  if (kind == CHUNK_DATA && stripe0 != start && load<u32>(fsBase + F_ADOPTING) == 0) return false;
  if (n > 0 && <u64>chunkStartSector(n - 1) + chunkLengthSectors(n - 1) > <u64>start) return false;
  store<u32>(fsBase + F_CHUNK_COUNT, n + 1);
  const e = entryAddr(n);
  store<u8>(e + CE_KIND, <u8>kind);
  store<u8>(e + CE_GRID, grid ? 1 : 0);
  store<u8>(e + CE_COPIES, <u8>chunkCopies);
  store<u32>(e + CE_START, start);
  store<u32>(e + CE_SECTORS, length);
  store<u32>(e + CE_STRIPE0, stripe0);
  store<u32>(e + CE_STRIPE1, stripe1);
  store<u32>(e + CE_EXCLUDED, excluded);
  if (stripe0 != start) store<u32>(fsBase + F_CHUNKS_MAPPED, 1);
  return true;
}

/**
 * The chunk table of a device of `total` bytes in cells of `bytes`: every cell free but the
 * one around btrfs's first superblock mirror, where the device has it.
 */
export function formatChunks(table: usize, bytes: u32, total: u32): void {
  assert(chunkBytesValid(bytes, nodeBytes, copies, total), "chunks: bad chunk size");
  const count = min<u32>(CHUNKS_MAX, (total - SYSTEM_AREA_BYTES) / bytes);
  assert(count > 0, "chunks: a device without a chunk");
  store<u32>(fsBase + F_CHUNK_BYTES, bytes);
  store<u32>(fsBase + F_CHUNKS, <u32>table);
  for (let i: u32 = 0; i < 4; i++) store<u32>(fsBase + F_FREE_BY_KIND + (i << 2), 0);
  resetChunks();
  const first = SYSTEM_AREA_BYTES >> SECTOR_SHIFT, cell = bytes >> SECTOR_SHIFT;
  for (let c: u32 = 0; c < count; c++) {
    const start = first + c * cell;
    const at = <u64>start << SECTOR_SHIFT;
    const mirror = <u64>total >= <u64>MIRROR_SUPERBLOCK_BYTENR + SECTOR_BYTES
      && at < <u64>MIRROR_SUPERBLOCK_BYTENR + SUPERBLOCK_STRIPE
        && at + bytes > <u64>MIRROR_SUPERBLOCK_BYTENR;
    const added = addChunk(start, cell, mirror ? CHUNK_RESERVED : CHUNK_FREE, start, 0, 0, true, 0);
    assert(added, "chunks: a grid cell refused");
  }
}
