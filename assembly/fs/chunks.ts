// Block groups (btrfs's chunks, mapped 1:1: a logical address is its device byte). The
// device after its first MiB is cut into chunks of F_CHUNK_BYTES. A chunk is free (no
// block group) until an allocation types it: data from the lowest free chunk, metadata
// and system (the chunk tree's blocks) from the highest, as btrfs keeps data and tree
// blocks in block groups of their own. A commit that finds a typed chunk empty gives it
// back (btrfs's unused block group removal); TypeScript writes the chunk tree, dev tree
// and block group items from this table at every commit (src/fs/chunks.ts).
//
// DUP (two copies of every tree block): a metadata or system chunk's second half mirrors
// its first, as btrfs's DUP block group has two stripes on one device. Its block group is
// the first half (logical = the first stripe's device bytes); the copy of a tree block at
// b is at b + F_CHUNK_BYTES / 2. Only the first half is ever free space.
//
// The free sectors of each kind of chunk are counted as space is freed and taken
// (F_FREE_BY_KIND), so a writer asks "does this fit, leaving metadata its reserve?" in
// constant time (spaceFits).
import {
  F_CHUNK_BYTES, F_CHUNK_COUNT, F_CHUNKS, F_FREE_BY_KIND, CHUNKS_MAX, CHUNK_ENTRY_BYTES, CE_KIND,
  CHUNK_FREE, CHUNK_DATA, CHUNK_SYSTEM, CHUNK_METADATA, CHUNK_RESERVED, SECTOR_SHIFT, SECTOR_BYTES,
  SYSTEM_AREA_BYTES, MIRROR_SUPERBLOCK_BYTENR, SUPERBLOCK_STRIPE,
} from "../abi";
import { fsBase, totalBytes, copies, nodeBytes } from "./state";
import { CHECKS } from "../shared/checks";

/** Is `kind` one a chunk may hold? */
@inline export function validKind(kind: u32): bool {
  return kind == CHUNK_FREE || kind == CHUNK_DATA || kind == CHUNK_SYSTEM || kind == CHUNK_METADATA || kind == CHUNK_RESERVED;
}

/** Is `bytes` a chunk size a device of `total` bytes with blocks of `node` x `blockCopies` may use? */
export function chunkBytesValid(bytes: u32, node: u32, blockCopies: u32, total: u32): bool {
  return bytes >= SUPERBLOCK_STRIPE && (bytes & (bytes - 1)) == 0 && bytes >= 4 * node * blockCopies
    && <u64>total >= <u64>SYSTEM_AREA_BYTES + bytes;
}

@inline export function chunkBytes(): u32 {
  assert(fsBase != 0, "chunks: no state attached");
  const bytes = load<u32>(fsBase + F_CHUNK_BYTES);
  if (CHECKS) assert(bytes >= SUPERBLOCK_STRIPE && (bytes & (bytes - 1)) == 0); // a chunk size fs_format refuses
  return bytes;
}

@inline export function chunkSectors(): u32 {
  const n = chunkBytes() >> SECTOR_SHIFT;
  assert(n >= (SUPERBLOCK_STRIPE >> SECTOR_SHIFT), "chunks: a chunk smaller than a stripe");
  assert(n <= totalBytes >> SECTOR_SHIFT, "chunks: a chunk larger than the device");
  if (CHECKS) assert(n % (nodeBytes >> SECTOR_SHIFT) == 0); // a chunk that is not whole tree blocks
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
  // Only a device with btrfs's first mirror has a chunk kept around it.
  assert(kind != CHUNK_RESERVED || <u64>totalBytes > <u64>MIRROR_SUPERBLOCK_BYTENR, "chunks: a reserved chunk without a mirror");
  return kind;
}

/** The chunk's first sector. */
@inline export function chunkStartSector(c: u32): u32 {
  assert(c < chunkCount(), "chunks: no such chunk");
  const start = (SYSTEM_AREA_BYTES >> SECTOR_SHIFT) + c * chunkSectors();
  if (CHECKS) assert(<u64>start + chunkSectors() <= <u64>(totalBytes >> SECTOR_SHIFT)); // a chunk past the device
  return start;
}

/** Sectors of a chunk of `kind` that hold blocks or data: a dup tree chunk's first half. */
@inline export function usableSectors(kind: u32): u32 {
  assert(kind != CHUNK_FREE && kind != CHUNK_RESERVED, "chunks: an untyped chunk has no usable half");
  const n = kind != CHUNK_DATA && copies == 2 ? chunkSectors() >> 1 : chunkSectors();
  assert(n >= (nodeBytes >> SECTOR_SHIFT), "chunks: a usable part smaller than a tree block");
  return n;
}

/** The chunk sector `sector` lies in, or -1 (the first MiB, the device's tail). */
@inline export function chunkOfSector(sector: u32): i32 {
  assert(sector <= totalBytes >> SECTOR_SHIFT, "chunks: a sector past the device");
  const first = SYSTEM_AREA_BYTES >> SECTOR_SHIFT;
  if (sector < first) return -1;
  const c = (sector - first) / chunkSectors();
  if (CHECKS) assert(c >= chunkCount() || (sector >= chunkStartSector(c) && sector < chunkStartSector(c) + chunkSectors())); // a sector outside the chunk it is said to lie in
  return c < chunkCount() ? <i32>c : -1;
}

/** Tree block `bytenr` lies in the usable half of a metadata or system chunk (a pointer may name it). */
export function treeBlockPlaced(bytenr: u64): bool {
  assert(nodeBytes >= SECTOR_BYTES, "chunks: no node size");
  if (bytenr >= <u64>totalBytes || (bytenr & (SECTOR_BYTES - 1)) != 0) return false;
  const sector = <u32>(bytenr >> SECTOR_SHIFT);
  const c = chunkOfSector(sector);
  if (c < 0) return false;
  const kind = chunkKind(<u32>c);
  if (kind != CHUNK_METADATA && kind != CHUNK_SYSTEM) return false;
  const placed = sector + (nodeBytes >> SECTOR_SHIFT) <= chunkStartSector(<u32>c) + usableSectors(kind);
  if (CHECKS) assert(!placed || bytenr + nodeBytes <= <u64>totalBytes); // a placed block past the device
  return placed;
}

/** The device byte of copy `copy` of tree block `bytenr` (dup: the chunk's second half). */
@inline export function mirrorOffset(): u64 {
  assert(copies == 2, "chunks: a mirror of a single profile");
  const half = <u64>(chunkBytes() >> 1);
  assert(half >= <u64>nodeBytes, "chunks: a mirror half smaller than a block");
  return half;
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
    const end = min<u32>(to, chunkStartSector(<u32>c) + chunkSectors());
    const n = <i32>(end - at);
    addFreeOfKind(chunkKind(<u32>c), on ? n : -n);
    at = end;
  }
}

/** Free chunks (all of each one free). */
export function freeChunks(): u32 {
  const n = freeOfKind(CHUNK_FREE) / chunkSectors();
  assert(n <= chunkCount(), "chunks: more free chunks than chunks");
  if (CHECKS) assert(freeOfKind(CHUNK_FREE) % chunkSectors() == 0); // a free chunk partly taken
  return n;
}

/** Sectors tree blocks of `kind` may still take: free in their chunks, plus every free chunk's usable part. */
export function treeFreeSectors(kind: u32): u64 {
  assert(kind == CHUNK_METADATA || kind == CHUNK_SYSTEM, "chunks: tree space of a data kind");
  const n = <u64>freeOfKind(kind) + <u64>freeChunks() * usableSectors(kind);
  assert(n <= <u64>(totalBytes >> SECTOR_SHIFT), "chunks: more tree space than the device");
  return n;
}

/**
 * Do `dataSectors` of data fit, leaving `metadataSectors` for tree blocks? Data takes free
 * space in data chunks, then whole free chunks; metadata the same in its own. Free space
 * counts, not runs: an allocation may still split (the writer's loop allocates runs).
 */
export function spaceFits(dataSectors: u64, metadataSectors: u64): bool {
  const chunk = <u64>chunkSectors();
  const dataShort = dataSectors > <u64>freeOfKind(CHUNK_DATA) ? dataSectors - freeOfKind(CHUNK_DATA) : 0;
  const metaFree = <u64>freeOfKind(CHUNK_METADATA);
  const metaShort = metadataSectors > metaFree ? metadataSectors - metaFree : 0;
  const metaChunk = <u64>usableSectors(CHUNK_METADATA);
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
  assert(kind == CHUNK_FREE || chunkKind(c) == CHUNK_FREE || chunkKind(c) == kind, "chunks: a typed chunk retyped");
  store<u8>(entryAddr(c) + CE_KIND, <u8>kind);
}

/**
 * The chunk table of a device of `total` bytes in chunks of `bytes`: every chunk free but
 * the one around btrfs's first superblock mirror, where the device has it.
 */
export function formatChunks(table: usize, bytes: u32, total: u32): void {
  assert(chunkBytesValid(bytes, nodeBytes, copies, total), "chunks: bad chunk size");
  const count = min<u32>(CHUNKS_MAX, (total - SYSTEM_AREA_BYTES) / bytes);
  assert(count > 0, "chunks: a device without a chunk");
  store<u32>(fsBase + F_CHUNK_BYTES, bytes);
  store<u32>(fsBase + F_CHUNK_COUNT, count);
  store<u32>(fsBase + F_CHUNKS, <u32>table);
  for (let i: u32 = 0; i < 4; i++) store<u32>(fsBase + F_FREE_BY_KIND + (i << 2), 0);
  memory.fill(table, 0, <usize>CHUNKS_MAX * CHUNK_ENTRY_BYTES);
  if (<u64>total < <u64>MIRROR_SUPERBLOCK_BYTENR + SECTOR_BYTES) return;
  for (let c: u32 = 0; c < count; c++) {
    const start = <u64>chunkStartSector(c) << SECTOR_SHIFT;
    if (start < <u64>MIRROR_SUPERBLOCK_BYTENR + SUPERBLOCK_STRIPE && start + bytes > <u64>MIRROR_SUPERBLOCK_BYTENR) setChunkKind(c, CHUNK_RESERVED);
  }
}
