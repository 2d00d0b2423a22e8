// The file system's shared state: where every thread's core instance finds the dirty-node
// pool, the per-sector dirty index and the verified bits. The state lives in the device's
// kernel region (shared memory); these globals are one instance's copy of its addresses,
// read at attach (WebAssembly globals are per instance, memory is shared).
//
//   kernel region:  [superblock staging][staging][fs header][free stack][freed stack]
//                   [dirty list][sector->buffer][verified bits][free bits][pinned bits]
//                   [fresh bits][dropped bits][losing bits][filled bits][readers log]
//                   [thread areas][root table][data verified][delayed refs, backrefs, batch]
//                   [pool ...][DAX region]
//
//   fs header (FS_HEADER_BYTES): F_* fields, then two problem records at F_PROBLEMS.
//   sector->buffer: u32 per device sector; (index of the dirty buffer + 1), 0 = clean.
//   verified bits:  one bit per sector; set once a clean tree block passed its checks.
//   free bits:      one bit per sector; set where space is allocatable (free-space.ts).
//   pinned bits:    one bit per sector; freed in this transaction, free once it commits.
//   fresh bits:     one bit per sector; allocated in this transaction.
//   dropped bits:   one bit per sector; a block whose pointers were dropped at once
//                   (extent-tree.ts).
//   losing bits:    one bit per sector; a data extent (its first sector) some item stopped mapping
//                   in this transaction.
//   filled bits:    one bit per sector; a data extent (its first sector) filled in place in this
//                   transaction.
//   readers log:    READERS_LOG_ENTRIES (extent, from, to): bytes of data extents items the core
//                   dropped read.
//   thread areas:   THREAD_AREA_BYTES per thread slot: a B-tree operation's path, keys,
//                   results and problem records (TA_*).
//   root table:     ROOT_SLOTS entries (RS_*): each subvolume tree's root and level.
//   data verified:  u32 per sector: the stamp epoch at which the sector's data passed its checksum
//                   (0: never).
//   pool:           F_POOL_COUNT buffers of F_NODE_BYTES, addressed by index.
import {
  FS_MAGIC, FS_HEADER_BYTES, F_MAGIC, F_NODE_BYTES, F_COPIES, F_TOTAL_BYTES, F_GENERATION, F_POOL,
  F_POOL_COUNT, F_FREE_STACK, F_SECTOR_BUFFER, F_VERIFIED, F_DIRTY_LIST, F_FREED_STACK,
  SECTOR_SHIFT, SECTOR_BYTES, F_FREE_BITS, F_PINNED_BITS, F_FRESH_BITS, F_THREAD_AREAS,
  THREAD_AREA_BYTES, F_DROPPED_BITS, F_ROOTS, ROOT_SLOTS, ROOT_SLOT_BYTES, F_LOSING_BITS,
  F_FILLED_BITS, F_READERS_LOG, READERS_LOG_ENTRIES, F_DATA_VERIFIED,
} from "../abi";
import { kernelAddr, kernelBytes, maxThreads, threadSlot } from "../pmem/state";
import { CHECKS } from "../shared/checks";
import { RootSlot } from "./root-slot";

export let fsBase: usize = 0;
export let nodeBytes: u32 = 0;
export let copies: u32 = 0;
export let totalBytes: u32 = 0;
export let poolAddr: usize = 0;
export let poolCount: u32 = 0;
export let freeStackAddr: usize = 0;
export let freedStackAddr: usize = 0;
export let dirtyListAddr: usize = 0;
export let sectorBufferAddr: usize = 0;
let verifiedAddr: usize = 0;
export let freeBitsAddr: usize = 0;
export let pinnedBitsAddr: usize = 0;
export let freshBitsAddr: usize = 0;
let threadAreasAddr: usize = 0;
export let droppedBitsAddr: usize = 0;
export let losingBitsAddr: usize = 0;
export let filledBitsAddr: usize = 0;
export let readersLogAddr: usize = 0;
export let dataVerifiedAddr: usize = 0;

/** Bytes of a bitmap of `sectors` bits, whole u64 words. */
@inline export function bitmapBytes(sectors: u32): u32 {
  return ((sectors + 63) >> 6) << 3;
}

/** Read the state's addresses into this instance's globals; false when `base` holds none. */
export function fsAttach(base: usize): bool {
  if (atomic.load<u32>(base + F_MAGIC) != FS_MAGIC) return false;
  readLayout(base);
  // A state with its magic was laid out by fsFormat (the kernel region is not the device's data).
  assert(poolCount > 0, "empty pool");
  assert(nodeBytes >= SECTOR_BYTES && (totalBytes & (SECTOR_BYTES - 1)) == 0, "bad geometry");
  assert(copies == 1 || copies == 2, "bad copies");
  return true;
}

/** This instance's globals from the state's header at `base`. */
export function readLayout(base: usize): void {
  assert(kernelRangeValid(base, FS_HEADER_BYTES), "state outside kernel");
  fsBase = base;
  nodeBytes = load<u32>(base + F_NODE_BYTES);
  copies = load<u32>(base + F_COPIES);
  totalBytes = load<u32>(base + F_TOTAL_BYTES);
  poolAddr = load<u32>(base + F_POOL);
  poolCount = load<u32>(base + F_POOL_COUNT);
  freeStackAddr = load<u32>(base + F_FREE_STACK);
  freedStackAddr = load<u32>(base + F_FREED_STACK);
  dirtyListAddr = load<u32>(base + F_DIRTY_LIST);
  sectorBufferAddr = load<u32>(base + F_SECTOR_BUFFER);
  verifiedAddr = load<u32>(base + F_VERIFIED);
  freeBitsAddr = load<u32>(base + F_FREE_BITS);
  pinnedBitsAddr = load<u32>(base + F_PINNED_BITS);
  freshBitsAddr = load<u32>(base + F_FRESH_BITS);
  threadAreasAddr = load<u32>(base + F_THREAD_AREAS);
  droppedBitsAddr = load<u32>(base + F_DROPPED_BITS);
  losingBitsAddr = load<u32>(base + F_LOSING_BITS);
  filledBitsAddr = load<u32>(base + F_FILLED_BITS);
  readersLogAddr = load<u32>(base + F_READERS_LOG);
  dataVerifiedAddr = load<u32>(base + F_DATA_VERIFIED);
  assert(freeStackAddr == base + FS_HEADER_BYTES, "bad layout");
}

/** Is [addr, addr + len) inside the device's kernel region (where the state may live)? */
export function kernelRangeValid(addr: u64, len: u64): bool {
  const valid = kernelAddr != 0 && addr >= <u64>kernelAddr
    && addr + len <= <u64>kernelAddr + <u64>kernelBytes;
  // The kernel region itself lies inside the shared memory, so a valid range is addressable.
  assert(!valid || addr + len <= (<u64>memory.size() << 16), "kernel past memory");
  return valid;
}

/** This thread's area (TA_*): its B-tree path, keys, results and problem records. */
@inline export function threadArea(): usize {
  assert(threadSlot >= 0 && <u32>threadSlot < maxThreads, "thread slot");
  assert(threadAreasAddr != 0, "no state attached");
  // outside the kernel region
  if (CHECKS) {
    assert(kernelRangeValid(threadAreasAddr + <usize>threadSlot * THREAD_AREA_BYTES,
      THREAD_AREA_BYTES));
  }
  return threadAreasAddr + <usize>threadSlot * THREAD_AREA_BYTES;
}

export function fsAttached(): bool {
  assert(fsBase == 0 || poolCount > 0, "empty pool");
  return fsBase != 0;
}

/** The last committed generation (clean blocks are never newer). */
@inline export function committedGeneration(): u64 {
  assert(fsBase != 0, "no state attached");
  return load<u64>(fsBase + F_GENERATION);
}

/** The bytes a tree block takes in its block group (its dup copy is in the chunk's mirror half). */
@inline export function metadataBlockBytes(): u32 {
  assert(copies == 1 || copies == 2, "bad copies");
  return nodeBytes;
}


@inline export function bufferAddr(index: u32): usize {
  assert(index < poolCount, "buffer index");
  // a buffer outside the kernel region
  if (CHECKS) assert(kernelRangeValid(poolAddr + <usize>index * nodeBytes, nodeBytes));
  return poolAddr + <usize>index * nodeBytes;
}

// --- the per-sector dirty index -----------------------------------------------------

/** Address of the dirty buffer of the block at `bytenr`, or 0 when it is not dirty. */
@inline export function dirtyBuffer(bytenr: u64): usize {
  if (bytenr >= <u64>totalBytes || (bytenr & (SECTOR_BYTES - 1)) != 0) return 0;
  assert(sectorBufferAddr != 0, "no state attached");
  const entry = load<u32>(sectorBufferAddr + (<usize>(bytenr >> SECTOR_SHIFT) << 2));
  return entry == 0 ? 0 : bufferAddr(entry - 1);
}

// --- verified bits ------------------------------------------------------------------

@inline function verifiedWord(bytenr: u64): usize {
  assert(bytenr < <u64>totalBytes, "past device end");
  // outside the kernel region
  if (CHECKS) {
    assert(kernelRangeValid(verifiedAddr + (<usize>(bytenr >> (SECTOR_SHIFT + 6)) << 3), 8));
  }
  return verifiedAddr + (<usize>(bytenr >> (SECTOR_SHIFT + 6)) << 3);
}

@inline export function isVerified(bytenr: u64): bool {
  if (bytenr >= <u64>totalBytes) return false;
  return (load<u64>(verifiedWord(bytenr)) & (<u64>1 << ((bytenr >> SECTOR_SHIFT) & 63))) != 0;
}

export function setVerified(bytenr: u64, on: bool): void {
  if (bytenr >= <u64>totalBytes) return;
  const at = verifiedWord(bytenr);
  const bit = <u64>1 << ((bytenr >> SECTOR_SHIFT) & 63);
  store<u64>(at, on ? load<u64>(at) | bit : load<u64>(at) & ~bit);
}

export function clearVerified(): void {
  assert(verifiedAddr != 0, "no state attached");
  const sectors = totalBytes >> SECTOR_SHIFT;
  memory.fill(verifiedAddr, 0, bitmapBytes(sectors));
}

// --- the root table ---------------------------------------------------------------------

// The slot the last rootSlotOf found (this instance's): checked before it is trusted.
let lastRootSlot: usize = 0;

/** The root-table slot of subvolume tree `tree`, or 0 when it has none. */
export function rootSlotOf(tree: u64): usize {
  assert(tree != 0, "state: tree id 0 names no tree");
  const table = <usize>load<u32>(fsBase + F_ROOTS);
  assert(table != 0 && kernelRangeValid(table, <u64>ROOT_SLOTS * ROOT_SLOT_BYTES),
    "state: the root table outside the kernel region");
  const end = table + <usize>ROOT_SLOTS * ROOT_SLOT_BYTES;
  // Copies of one operation ask for one tree: the slot found last is the likely answer.
  if (lastRootSlot >= table && lastRootSlot < end
      && changetype<RootSlot>(lastRootSlot).tree == tree) {
    return lastRootSlot;
  }
  for (let slot = table; slot < end; slot += ROOT_SLOT_BYTES) {
    if (changetype<RootSlot>(slot).tree == tree) {
      lastRootSlot = slot;
      assert((slot - table) % ROOT_SLOT_BYTES == 0, "state: a root slot between slots");
      return slot;
    }
  }
  return 0;
}

/**
 * Bytes a data allocation must leave free for tree blocks (Kernel.metadataReserveBytes reads it
 * here).
 */
export function metadataReserveBytes(): u64 {
  const block = <u64>metadataBlockBytes();
  assert(block >= SECTOR_BYTES, "state: a tree block smaller than a sector");
  // Counted in block group bytes: a dup block's copy is its chunk's mirror half.
  const reserve = max<u64>(96 * block, (<u64>totalBytes / 32 / copies / block) * block);
  assert(reserve % block == 0, "state: a reserve of part of a block");
  return reserve;
}
