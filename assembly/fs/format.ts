// Laying the file system's shared state out in the kernel region (state.ts draws the
// layout): the tables' sizes, and a fresh state with every buffer free, nothing dirty or
// verified, the delayed-ref tables and the chunk table formatted. Apart from state.ts because
// it formats the tables of the layers above the state (delayed-ref.ts, chunks.ts), which read
// the state themselves.
import {
  FS_MAGIC, FS_HEADER_BYTES, F_MAGIC, F_NODE_BYTES, F_COPIES, F_TOTAL_BYTES, F_GENERATION, F_POOL,
  F_POOL_COUNT, F_FREE_COUNT, F_FREE_STACK, F_SECTOR_BUFFER, F_VERIFIED, F_DIRTY_LIST,
  F_FREED_STACK, SECTOR_SHIFT, SECTOR_BYTES, F_FREE_BITS, F_PINNED_BITS, F_FRESH_BITS,
  F_THREAD_AREAS, THREAD_AREA_BYTES, F_DROPPED_BITS, F_ROOTS, ROOT_SLOTS, ROOT_SLOT_BYTES,
  F_LOSING_BITS, F_FILLED_BITS, F_READERS_LOG, READERS_LOG_ENTRIES, READERS_ENTRY_BYTES,
  MAX_THREADS, F_DATA_VERIFIED, F_REF_TABLES_CLEAN, REF_TABLES_CLEAN, F_REFS, F_REF_SLOTS,
  F_BACKREF_SLOTS, CHUNKS_MAX, CHUNK_ENTRY_BYTES,
} from "../abi";
import { maxThreads } from "../pmem/state";
import {
  bitmapBytes, kernelRangeValid, readLayout, poolCount, poolAddr, totalBytes,
} from "./state";
import { refTablesBytes, refTablesFormat, refTablesZero } from "./delayed-ref";
import { formatChunks } from "./chunks";
import { CHECKS } from "../shared/checks";

/**
 * Bytes of the state's tables before the delayed refs, for a device of `total` bytes and
 * `pool` buffers.
 */
function fixedTablesBytes(total: u32, pool: u32): u64 {
  assert(pool > 0, "empty pool");
  assert(maxThreads > 0 && maxThreads <= MAX_THREADS, "thread slots");
  const sectors = total >> SECTOR_SHIFT;
  const bytes = <u64>pool * 12 + <u64>sectors * 4 + <u64>bitmapBytes(sectors) * 7
    + <u64>READERS_LOG_ENTRIES * READERS_ENTRY_BYTES + <u64>maxThreads * THREAD_AREA_BYTES
    + <u64>ROOT_SLOTS * ROOT_SLOT_BYTES + <u64>sectors * 4 + <u64>CHUNKS_MAX * CHUNK_ENTRY_BYTES;
  return (bytes + 63) & ~63;
}

/** Bytes the state needs after its header: its tables and the delayed-ref tables. */
export function fsTablesBytes(total: u32, pool: u32, refSlots: u32, backrefSlots: u32): u64 {
  assert(refSlots != 0 && (refSlots & (refSlots - 1)) == 0, "slots not a power of 2");
  assert(backrefSlots != 0 && (backrefSlots & (backrefSlots - 1)) == 0, "slots not a power of 2");
  return fixedTablesBytes(total, pool) + refTablesBytes(refSlots, backrefSlots);
}

/**
 * Zero the header and the tables of a state at `base` before it is laid out; returns where
 * the delayed-ref tables start. The delayed-ref tables (most of the state) are zeroed only
 * when the last state here may have left a slot in them: a mount of every crash image an
 * explorer checks formats the state again, and zeroing them was a twentieth of that.
 */
function zeroTables(base: usize, total: u32, pool: u32, refSlots: u32, backrefSlots: u32): usize {
  const free = base + FS_HEADER_BYTES;
  const refTables = free + <usize>fixedTablesBytes(total, pool);
  const refTablesClean = load<u32>(base + F_REF_TABLES_CLEAN) == REF_TABLES_CLEAN
    && load<u32>(base + F_REFS) == <u32>refTables
    && load<u32>(base + F_REF_SLOTS) == refSlots
    && load<u32>(base + F_BACKREF_SLOTS) == backrefSlots;
  memory.fill(base, 0, <usize>(FS_HEADER_BYTES + fixedTablesBytes(total, pool)));
  if (!refTablesClean) {
    memory.fill(refTables, 0, <usize>refTablesBytes(refSlots, backrefSlots));
  }
  assert(refTables + <usize>refTablesBytes(refSlots, backrefSlots) > refTables,
    "fs: empty delayed-ref tables");
  return refTables;
}

/**
 * Lay the state out at `base`: tables right after the header, `pool` buffers at `pool`.
 * Every buffer starts free; no block is dirty or verified. The magic is stored last.
 */
export function fsFormat(base: usize, node: u32, blockCopies: u32, total: u32, chunkBytes: u32,
  generation: u64, pool: usize, count: u32, refSlotCount: u32, backrefSlotCount: u32): void {
  assert(total % SECTOR_BYTES == 0, "device size");
  assert(node >= SECTOR_BYTES, "node size");
  assert(count > 0, "fs: empty pool");
  assert((base & 7) == 0, "state unaligned");
  assert(kernelRangeValid(base,
    <u64>FS_HEADER_BYTES + fsTablesBytes(total, count, refSlotCount, backrefSlotCount)),
    "state outside kernel");
  const sectors = total >> SECTOR_SHIFT;
  const free = base + FS_HEADER_BYTES;
  const freed = free + <usize>count * 4;
  const dirty = freed + <usize>count * 4;
  const sectorBuffer = dirty + <usize>count * 4;
  const verified = sectorBuffer + <usize>sectors * 4;
  const freeBits = verified + bitmapBytes(sectors);
  const pinnedBits = freeBits + bitmapBytes(sectors);
  const freshBits = pinnedBits + bitmapBytes(sectors);
  const droppedBits = freshBits + bitmapBytes(sectors);
  const losingBits = droppedBits + bitmapBytes(sectors);
  const filledBits = losingBits + bitmapBytes(sectors);
  const readersLog = filledBits + bitmapBytes(sectors);
  const threadAreas = readersLog + <usize>READERS_LOG_ENTRIES * READERS_ENTRY_BYTES;
  const roots = threadAreas + <usize>maxThreads * THREAD_AREA_BYTES;
  const dataVerified = roots + <usize>ROOT_SLOTS * ROOT_SLOT_BYTES;
  const chunks = dataVerified + <usize>sectors * 4;
  // The tables laid out here are the ones fixedTablesBytes sized: the delayed refs follow.
  assert(<u64>chunks + <u64>CHUNKS_MAX * CHUNK_ENTRY_BYTES
    <= <u64>free + fixedTablesBytes(total, count), "tables overrun");
  const refTables = zeroTables(base, total, count, refSlotCount, backrefSlotCount);
  store<u32>(base + F_NODE_BYTES, node);
  store<u32>(base + F_COPIES, blockCopies);
  store<u32>(base + F_TOTAL_BYTES, total);
  store<u64>(base + F_GENERATION, generation);
  store<u32>(base + F_POOL, <u32>pool);
  store<u32>(base + F_POOL_COUNT, count);
  store<u32>(base + F_FREE_STACK, <u32>free);
  store<u32>(base + F_FREED_STACK, <u32>freed);
  store<u32>(base + F_DIRTY_LIST, <u32>dirty);
  store<u32>(base + F_SECTOR_BUFFER, <u32>sectorBuffer);
  store<u32>(base + F_VERIFIED, <u32>verified);
  store<u32>(base + F_FREE_BITS, <u32>freeBits);
  store<u32>(base + F_PINNED_BITS, <u32>pinnedBits);
  store<u32>(base + F_FRESH_BITS, <u32>freshBits);
  store<u32>(base + F_THREAD_AREAS, <u32>threadAreas);
  store<u32>(base + F_DROPPED_BITS, <u32>droppedBits);
  store<u32>(base + F_ROOTS, <u32>roots);
  store<u32>(base + F_LOSING_BITS, <u32>losingBits);
  store<u32>(base + F_FILLED_BITS, <u32>filledBits);
  store<u32>(base + F_READERS_LOG, <u32>readersLog);
  store<u32>(base + F_DATA_VERIFIED, <u32>dataVerified);
  // Buffers are taken from the top of the stack: buffer 0 first, as the pool always did.
  for (let i: u32 = 0; i < count; i++) store<u32>(free + <usize>i * 4, count - 1 - i);
  store<u32>(base + F_FREE_COUNT, count);
  // The delayed-ref tables and the free-space count lay themselves out through this
  // instance's view of the state: read it now, before the magic makes it attachable.
  readLayout(base);
  assert(poolCount == count && poolAddr == pool && totalBytes == total, "bad layout");
  refTablesFormat(refTables, refSlotCount, backrefSlotCount);
  if (CHECKS) assert(refTablesZero()); // a state said clean whose delayed-ref tables hold a slot
  store<u32>(base + F_REF_TABLES_CLEAN, REF_TABLES_CLEAN);
  formatChunks(chunks, chunkBytes, total);
  atomic.store<u32>(base + F_MAGIC, FS_MAGIC);
}
