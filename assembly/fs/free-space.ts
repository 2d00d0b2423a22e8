// Free space (btrfs's free-space-cache, as bitmaps): one bit per sector of allocatable
// space, rebuilt at mount from the extent tree. Space freed in a transaction is pinned
// (a second bitmap) until the commit that frees it is durable: a crash before it must
// still find those blocks intact.
//
// Free space lives in chunks (chunks.ts): data in data chunks, tree blocks in metadata
// chunks (the chunk tree's in system chunks). Maximal runs of free bits inside a chunk are
// its free extents. Data takes first fit from a cursor rising from the start (from the
// start of the run the cursor is in; a commit moves it back to the lowest space it freed,
// unpinAll), then the lowest free chunk; tree blocks take the highest aligned fit in their
// chunks, then the highest free chunk.
import {
  F_FREE_SECTORS, F_PINNED_SECTORS, F_DATA_CURSOR, SECTOR_SHIFT, SECTOR_BYTES, CHUNK_FREE,
  CHUNK_DATA, CHUNK_METADATA, CHUNK_SYSTEM, CHUNK_RESERVED,
} from "../abi";
import { fsBase, totalBytes, freeBitsAddr, pinnedBitsAddr, nodeBytes } from "./state";
import { setRange, countSet, nextBit, prevBit, testBit, allBits } from "./bitmap";
import { CHECKS } from "../shared/checks";
import {
  chunkCount, chunkKind, chunkStartSector, chunkOfSector, cellUsableSectors, countFreeChange,
  setChunkKind, freeOfKind, cellSectors, chunkLengthSectors, chunkOnGrid, chunkExcludedSectors,
  setCellLayout,
} from "./chunks";

// Results of the calls below that can fail.
export const FREE_OK: i32 = 0;
export const FREE_BAD_EXTENT: i32 = -1; // unaligned, or outside the device's chunks
export const FREE_OVERLAP: i32 = -2; // part of it is free already (freed twice)

@inline function sectors(): u32 {
  assert(fsBase != 0, "no state attached");
  return totalBytes >> SECTOR_SHIFT;
}

@inline export function freeSectors(): u32 {
  const free = load<u32>(fsBase + F_FREE_SECTORS);
  assert(free <= sectors(), "free count");
  return free;
}

@inline export function pinnedSectors(): u32 {
  const pinned = load<u32>(fsBase + F_PINNED_SECTORS);
  // Pinned space is never free space: the two counts share the device.
  assert(<u64>pinned + load<u32>(fsBase + F_FREE_SECTORS) <= <u64>sectors(), "free+pinned count");
  return pinned;
}

/** Debug builds: the counters agree with the bitmaps (free and pinned sectors, free by kind). */
function countsAgree(): bool {
  if (!CHECKS) return true;
  const n = sectors();
  assert(countSet(freeBitsAddr, 0, n) == freeSectors(), "free count");
  assert(countSet(pinnedBitsAddr, 0, n) == pinnedSectors(), "pinned count");
  let byKind: u64 = 0;
  for (let k: u32 = 0; k < 4; k++) {
    byKind += <u64>freeOfKind(k == 0 ? CHUNK_FREE : k == 1 ? CHUNK_DATA : k == 2 ? CHUNK_METADATA
      : CHUNK_SYSTEM);
  }
  assert(byKind == <u64>freeSectors(), "free by kind");
  return true;
}

/** Set or clear the free bits of [from, to), keeping the counts by kind. */
function setFree(from: u32, to: u32, on: bool): void {
  // Callers change whole runs: all taken (an add) or all free (a take).
  if (CHECKS) assert(allBits(freeBitsAddr, from, to, !on)); // a run partly free already
  assert(from < to && to <= sectors(), "free space: a change outside the device");
  setRange(freeBitsAddr, from, to, on);
  countFreeChange(from, to, on);
}

/**
 * May [from, to) be free space: inside chunks (their block groups: not a dup cell's mirror
 * half) that are not reserved?
 */
function inFreeableChunks(from: u32, to: u32): bool {
  assert(from < to, "free space: an empty range");
  let at = from;
  while (at < to) {
    const c = chunkOfSector(at);
    if (c < 0) return false;
    if (chunkKind(<u32>c) == CHUNK_RESERVED) return false;
    const end = min<u32>(to, chunkStartSector(<u32>c) + chunkLengthSectors(<u32>c));
    assert(end > at, "free space: no progress through the chunks");
    at = end;
  }
  return true;
}

/** Is [start, start + length) a whole number of sectors inside the device? */
export function extentValid(start: u64, length: u64): bool {
  // The device is whole sectors, so an extent that passes ends on a sector of it.
  assert((totalBytes & (SECTOR_BYTES - 1)) == 0, "device size");
  const mask: u64 = SECTOR_BYTES - 1;
  const valid = (start & mask) == 0 && (length & mask) == 0 && start <= <u64>totalBytes
    && length <= <u64>totalBytes - start;
  // A valid extent's sectors lie inside the bitmaps.
  if (CHECKS) assert(!valid || (start + length) >> SECTOR_SHIFT <= <u64>sectors());
  return valid;
}

/** Mark [start, start + length) free (mount, mkfs). */
export function addFree(start: u64, length: u64): i32 {
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps before an add
  if (!extentValid(start, length)) return FREE_BAD_EXTENT;
  const from = <u32>(start >> SECTOR_SHIFT), to = <u32>((start + length) >> SECTOR_SHIFT);
  if (from == to) return FREE_OK;
  if (!inFreeableChunks(from, to)) return FREE_BAD_EXTENT;
  if (countSet(freeBitsAddr, from, to) != 0) return FREE_OVERLAP;
  setFree(from, to, true);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() + (to - from));
  assert(freeSectors() <= sectors(), "free count");
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after an add
  return FREE_OK;
}

/** Freed in this transaction: allocatable once the commit is durable. */
export function pin(start: u64, length: u64): i32 {
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps before a pin
  if (!extentValid(start, length)) return FREE_BAD_EXTENT;
  const from = <u32>(start >> SECTOR_SHIFT), to = <u32>((start + length) >> SECTOR_SHIFT);
  if (from == to) return FREE_OK;
  if (!inFreeableChunks(from, to)) return FREE_BAD_EXTENT;
  if (countSet(pinnedBitsAddr, from, to) != 0 || countSet(freeBitsAddr, from, to) != 0) {
    return FREE_OVERLAP;
  }
  setRange(pinnedBitsAddr, from, to, true);
  store<u32>(fsBase + F_PINNED_SECTORS, pinnedSectors() + (to - from));
  assert(<u64>pinnedSectors() + freeSectors() <= <u64>sectors(), "free+pinned count");
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after a pin
  return FREE_OK;
}

/** After a durable commit: pinned space becomes allocatable. */
export function unpinAll(): void {
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps before an unpin
  const n = sectors();
  let lowest = n;
  // Run by run: each pinned run becomes free in the chunks it lies in.
  let at = pinnedSectors() == 0 ? n : nextBit(pinnedBitsAddr, 0, n, true);
  while (at < n) {
    const end = nextBit(pinnedBitsAddr, at, n, false);
    if (lowest == n) lowest = at;
    assert(countSet(freeBitsAddr, at, end) == 0, "free space: a pinned sector is free");
    setRange(pinnedBitsAddr, at, end, false);
    setFree(at, end, true);
    store<u32>(fsBase + F_PINNED_SECTORS, pinnedSectors() - (end - at));
    store<u32>(fsBase + F_FREE_SECTORS, freeSectors() + (end - at));
    releaseIfEmpty(at, end);
    at = nextBit(pinnedBitsAddr, end, n, true);
  }
  // Data allocation goes back to the lowest space this commit freed: rewritten data reuses
  // the sectors it left instead of sweeping the whole device. On real pmem either is fine;
  // in the emulator every sector first touched costs the host a page fault, and a small
  // working set stays in the CPU caches.
  if (lowest < load<u32>(fsBase + F_DATA_CURSOR)) store<u32>(fsBase + F_DATA_CURSOR, lowest);
  assert(pinnedSectors() == 0, "free space: pinned sectors left");
  assert(freeSectors() <= n, "free count");
  if (CHECKS) assert(allBits(pinnedBitsAddr, 0, n, false)); // pinned sectors left after an unpin
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after an unpin
}

/**
 * The chunks of sectors [from, to), just freed: each one now empty goes back (its items
 * follow at the next commit), so space a commit frees is any kind's at once.
 */
function releaseIfEmpty(from: u32, to: u32): void {
  assert(from < to, "free space: an empty range");
  const first = chunkOfSector(from), last = chunkOfSector(to - 1);
  assert(first >= 0 && last >= first, "free space: freed space outside the chunks");
  for (let c = <u32>first; c <= <u32>last; c++) if (chunkEmpty(c)) releaseChunk(c);
}

/** Largest run of free sectors data may take (a data chunk's run, or a free chunk), up to `max`. */
export function largestRun(max: u32): u32 {
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps
  let best: u32 = freeOfKind(CHUNK_FREE) > 0 ? cellSectors() : 0;
  for (let c: u32 = 0; c < chunkCount() && best < max; c++) {
    if (chunkKind(c) != CHUNK_DATA) continue;
    const start = chunkStartSector(c), stop = start + chunkLengthSectors(c);
    let at = nextBit(freeBitsAddr, start, stop, true);
    while (at < stop && best < max) {
      const end = nextBit(freeBitsAddr, at, stop, false);
      if (end - at > best) best = end - at;
      at = nextBit(freeBitsAddr, end, stop, true);
    }
  }
  assert(best <= freeSectors(), "run length");
  return min<u32>(best, max);
}

/** Is any sector of [from, to) free? */
export function anyFree(from: u32, to: u32): bool {
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps
  assert(from <= to, "range reversed");
  return countSet(freeBitsAddr, from, min<u32>(to, sectors())) != 0;
}

function take(at: u32, count: u32): void {
  assert(count > 0, "empty range");
  assert(<u64>at + count <= <u64>sectors(), "past device end");
  assert(countSet(freeBitsAddr, at, at + count) == count,
    "free space: taking sectors that are not free");
  assert(freeSectors() >= count, "free count");
  setFree(at, at + count, false);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() - count);
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after a take
}

// --- chunks typed and given back ------------------------------------------------------------

/** Type free cell `c` as `kind`: a dup tree chunk's second half stops being free space. */
function claimChunk(c: u32, kind: u32): void {
  assert(kind == CHUNK_DATA || kind == CHUNK_METADATA || kind == CHUNK_SYSTEM,
    "free space: a chunk typed as no kind");
  assert(chunkKind(c) == CHUNK_FREE && chunkOnGrid(c), "free space: claiming a typed chunk");
  const start = chunkStartSector(c), n = chunkLengthSectors(c), usable = cellUsableSectors(kind);
  assert(n == cellSectors(), "free space: a free cell of another size");
  assert(allBits(freeBitsAddr, start, start + n, true), "free space: a free chunk partly taken");
  // The mirror half leaves free space while the cell still spans it (counted as untyped).
  if (usable < n) setFree(start + usable, start + n, false);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() - (n - usable));
  countFreeChange(start, start + usable, false);
  setChunkKind(c, kind);
  setCellLayout(c, kind);
  countFreeChange(start, start + usable, true);
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after a claim
}

/** Give typed cell `c` back (a commit found it empty: nothing used, nothing pinned). */
export function releaseChunk(c: u32): void {
  const kind = chunkKind(c);
  assert(kind == CHUNK_DATA || kind == CHUNK_METADATA || kind == CHUNK_SYSTEM,
    "free space: releasing an untyped chunk");
  assert(chunkOnGrid(c), "free space: releasing a chunk the image placed");
  const start = chunkStartSector(c), usable = chunkLengthSectors(c), n = cellSectors();
  assert(usable == cellUsableSectors(kind), "free space: a typed cell of another size");
  assert(countSet(freeBitsAddr, start, start + usable) == usable,
    "free space: releasing a chunk in use");
  assert(countSet(pinnedBitsAddr, start, start + n) == 0,
    "free space: releasing a chunk with pinned space");
  countFreeChange(start, start + usable, false);
  setChunkKind(c, CHUNK_FREE);
  setCellLayout(c, CHUNK_FREE);
  countFreeChange(start, start + usable, true);
  if (usable < n) setFree(start + usable, start + n, true);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() + (n - usable));
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps after a release
}

/**
 * Sectors of chunk `c` in use: its block group, neither free nor pinned nor over a
 * superblock copy (its block group's used bytes at a commit).
 */
export function chunkUsedSectors(c: u32): u32 {
  const kind = chunkKind(c);
  assert(kind != CHUNK_FREE && kind != CHUNK_RESERVED,
    "free space: used space of an untyped chunk");
  const start = chunkStartSector(c), length = chunkLengthSectors(c),
    excluded = chunkExcludedSectors(c);
  const unused = countSet(freeBitsAddr, start, start + length) + countSet(pinnedBitsAddr, start,
    start + length) + excluded;
  assert(unused <= length, "free space: more unused than the chunk holds");
  return length - unused;
}

/**
 * Is chunk `c` a typed grid cell and empty (nothing used, nothing pinned): a commit gives it back.
 */
export function chunkEmpty(c: u32): bool {
  assert(c < chunkCount(), "free space: no such chunk");
  const kind = chunkKind(c);
  // A chunk the image placed stays (pmcow gives back only its own cells).
  if (kind == CHUNK_FREE || kind == CHUNK_RESERVED || !chunkOnGrid(c)) return false;
  const start = chunkStartSector(c), usable = chunkLengthSectors(c);
  assert(usable <= cellSectors(), "free space: a usable part larger than its cell");
  // (allBits is a debug build's check: counted here.)
  return countSet(freeBitsAddr, start, start + usable) == usable
    && countSet(pinnedBitsAddr, start, start + usable) == 0;
}

// --- allocation -----------------------------------------------------------------------------

/**
 * Highest `count`-aligned run of `count` free sectors in chunk `c`'s usable part; its first sector,
 * or -1.
 */
function highestFit(c: u32, count: u32): i64 {
  assert(count > 0, "free space: an empty block");
  const start = chunkStartSector(c), stop = start + chunkLengthSectors(c);
  assert(start % count == 0, "free space: a chunk off the block grid");
  let before = stop;
  while (before > start) {
    const last = prevBit(freeBitsAddr, before, true);
    if (last < <i64>start) return -1;
    const end = <u32>last + 1;
    const prevClear = prevBit(freeBitsAddr, end, false);
    const runStart: u32 = prevClear < <i64>start ? start : <u32>prevClear + 1;
    if (end >= count) {
      const at = (end - count) / count * count;
      if (at >= runStart) return at;
    }
    before = runStart;
  }
  return -1;
}

/** A new tree block of `kind` (metadata, or system for the chunk tree): its first sector, or -1. */
export function allocateTreeBlock(kind: u32): i64 {
  assert(kind == CHUNK_METADATA || kind == CHUNK_SYSTEM, "free space: a tree block of a data kind");
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps before an allocation
  const count = nodeBytes >> SECTOR_SHIFT;
  let at: i64 = -1;
  if (freeOfKind(kind) >= count) {
    for (let c = chunkCount(); c-- > 0 && at < 0;) {
      if (chunkKind(c) == kind) at = highestFit(c, count);
    }
  }
  if (at < 0) {
    let c = chunkCount();
    while (c-- > 0 && chunkKind(c) != CHUNK_FREE) {}
    if (c == <u32>-1) return -1;
    claimChunk(c, kind);
    at = highestFit(c, count);
    assert(at >= 0, "free space: a new chunk without room for a block");
  }
  // Node-aligned: chunks start on node multiples (SYSTEM_AREA_BYTES and the chunk size are).
  assert(<u32>at % count == 0, "free space: a tree block unaligned");
  take(<u32>at, count);
  // an allocated block is still free
  if (CHECKS) assert(allBits(freeBitsAddr, <u32>at, <u32>at + count, false));
  return at;
}

/**
 * First run of `count` free sectors in a data chunk, looking from the run the data cursor is
 * in (or the first run after it) to the end, then from the start; then the lowest free
 * chunk. Takes `count` sectors at the run's start. Its first sector, or -1 (also when
 * `count` is more than a chunk: the caller splits).
 */
export function allocateData(count: u32): i64 {
  assert(count > 0, "free space: allocation size");
  if (CHECKS) assert(countsAgree()); // counters disagree with the bitmaps before an allocation
  const n = chunkCount(), per = cellSectors();
  if (count > per) return -1;
  let found: i64 = -1;
  if (freeOfKind(CHUNK_DATA) >= count) {
    const cursor = load<u32>(fsBase + F_DATA_CURSOR);
    const cc = chunkOfSector(cursor);
    const first: u32 = cc < 0 ? 0 : <u32>cc;
    for (let i: u32 = 0; i <= n && found < 0; i++) {
      const c = (first + i) % n;
      if (chunkKind(c) != CHUNK_DATA) continue;
      const start = chunkStartSector(c), stop = start + chunkLengthSectors(c);
      let from = start;
      if (i == 0 && cc >= 0) {
        from = cursor;
        if (testBit(freeBitsAddr, cursor)) {
          const clear = prevBit(freeBitsAddr, cursor, false);
          from = clear < <i64>start ? start : <u32>clear + 1;
        }
      }
      found = firstFit(from, stop, count);
    }
  }
  if (found < 0) {
    let c: u32 = 0;
    while (c < n && chunkKind(c) != CHUNK_FREE) c++;
    if (c == n) return -1;
    claimChunk(c, CHUNK_DATA);
    found = chunkStartSector(c);
  }
  take(<u32>found, count);
  // an allocated extent is still free
  if (CHECKS) assert(allBits(freeBitsAddr, <u32>found, <u32>found + count, false));
  store<u32>(fsBase + F_DATA_CURSOR, <u32>found + count);
  return found;
}

/** First run starting in [from, stop) with `count` free sectors that ends by `stop`. */
function firstFit(from: u32, stop: u32, count: u32): i64 {
  assert(count > 0, "empty range");
  assert(from <= stop && stop <= sectors(), "past device end");
  let at = nextBit(freeBitsAddr, from, stop, true);
  while (at < stop && at + count <= stop) {
    // Only `count` bits of the run matter.
    const end = nextBit(freeBitsAddr, at, at + count, false);
    if (end - at >= count) {
      if (CHECKS) assert(allBits(freeBitsAddr, at, at + count, true)); // a fit that is not free
      return at;
    }
    at = nextBit(freeBitsAddr, end, stop, true);
  }
  return -1;
}
