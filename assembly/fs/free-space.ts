// Free space (btrfs's free-space-cache, as bitmaps): one bit per sector of allocatable
// space, rebuilt at mount from the extent tree. Space freed in a transaction is pinned
// (a second bitmap) until the commit that frees it is durable: a crash before it must
// still find those blocks intact.
//
// Maximal runs of free bits are the free extents. Data takes first fit from a cursor
// rising from the start (from the start of the run the cursor is in; a commit moves it back
// to the lowest space it freed, unpinAll); tree blocks take
// the highest aligned fit, so small data holes left by frees do not fragment the space
// nodes need (btrfs keeps separate block groups for the same reason).
import { F_FREE_SECTORS, F_PINNED_SECTORS, F_DATA_CURSOR, F_BLOCK_UNIT, F_FREE_UNITS, SECTOR_SHIFT, SECTOR_BYTES } from "../abi";
import { fsBase, totalBytes, freeBitsAddr, pinnedBitsAddr } from "./state";
import { setRange, countSet, countFullUnits, nextBit, prevBit, testBit, allBits } from "./bitmap";
import { CHECKS } from "../shared/checks";

// Results of the calls below that can fail.
export const FREE_OK: i32 = 0;
export const FREE_BAD_EXTENT: i32 = -1; // unaligned, or outside the device
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

/**
 * Debug builds: the counters agree with the bitmaps (free and pinned sectors; with
 * `units`, the free block units too, a longer count). Release builds answer true.
 */
function countsAgree(units: bool): bool {
  if (!CHECKS) return true;
  const n = sectors();
  assert(countSet(freeBitsAddr, 0, n) == freeSectors(), "free count");
  assert(countSet(pinnedBitsAddr, 0, n) == pinnedSectors(), "pinned count");
  return !units || load<u32>(fsBase + F_FREE_UNITS) == fullUnits(0, n);
}

// --- whole free tree blocks, counted as space changes -----------------------------------

@inline function blockUnit(): u32 {
  const unit = load<u32>(fsBase + F_BLOCK_UNIT);
  assert(unit > 0 && (unit & (unit - 1)) == 0, "block unit");
  if (CHECKS) assert(unit <= 64); // a block unit larger than setBlockUnit allows
  return unit;
}

/** Free aligned block units wholly inside sectors [from, to) rounded out to units. */
function fullUnits(from: u32, to: u32): u32 {
  assert(from <= to, "range reversed");
  assert(to <= sectors(), "past device end");
  const unit = blockUnit();
  const end = min<u32>((to + unit - 1) / unit * unit, sectors() / unit * unit);
  const first = from / unit * unit;
  if (first >= end) return 0;
  const n = countFullUnits(freeBitsAddr, first, end, unit);
  if (CHECKS) assert(n == slowFullUnits(first, end, unit)); // the word-wise count disagrees with a count per unit
  if (CHECKS) assert(<u64>n * unit <= <u64>(to - from) + 2 * unit); // more whole units than the range holds
  return n;
}

/** Debug builds: fullUnits a unit at a time (what the word-wise count must agree with). */
function slowFullUnits(first: u32, end: u32, unit: u32): u32 {
  let n: u32 = 0;
  for (let u = first; u < end; u += unit) if (countSet(freeBitsAddr, u, u + unit) == unit) n++;
  return n;
}

/** Set or clear the free bits of [from, to), keeping F_FREE_UNITS. */
function setFree(from: u32, to: u32, on: bool): void {
  // Callers change whole runs: all taken (an add) or all free (a take).
  if (CHECKS) assert(allBits(freeBitsAddr, from, to, !on)); // a run partly free already
  const before = fullUnits(from, to);
  const units = load<u32>(fsBase + F_FREE_UNITS);
  assert(units >= before, "free units");
  setRange(freeBitsAddr, from, to, on);
  store<u32>(fsBase + F_FREE_UNITS, units - before + fullUnits(from, to));
  assert(<u64>load<u32>(fsBase + F_FREE_UNITS) * blockUnit() <= <u64>sectors(), "free units");
}

/** Count units from scratch (format): `unit` sectors per tree block with its copies. */
export function setBlockUnit(unit: u32): void {
  assert(unit > 0 && unit <= 64 && (unit & (unit - 1)) == 0, "free space: block unit");
  store<u32>(fsBase + F_BLOCK_UNIT, unit);
  store<u32>(fsBase + F_FREE_UNITS, fullUnits(0, sectors()));
  if (CHECKS) assert(countsAgree(true)); // counters disagree with the bitmaps at format
}

/** Is [start, start + length) a whole number of sectors inside the device? */
export function extentValid(start: u64, length: u64): bool {
  // The device is whole sectors, so an extent that passes ends on a sector of it.
  assert((totalBytes & (SECTOR_BYTES - 1)) == 0, "device size");
  const mask: u64 = SECTOR_BYTES - 1;
  const valid = (start & mask) == 0 && (length & mask) == 0 && start <= <u64>totalBytes && length <= <u64>totalBytes - start;
  // A valid extent's sectors lie inside the bitmaps.
  if (CHECKS) assert(!valid || (start + length) >> SECTOR_SHIFT <= <u64>sectors());
  return valid;
}

/** Mark [start, start + length) free (mount, mkfs). */
export function addFree(start: u64, length: u64): i32 {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps before an add
  if (!extentValid(start, length)) return FREE_BAD_EXTENT;
  const from = <u32>(start >> SECTOR_SHIFT), to = <u32>((start + length) >> SECTOR_SHIFT);
  if (countSet(freeBitsAddr, from, to) != 0) return FREE_OVERLAP;
  setFree(from, to, true);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() + (to - from));
  assert(freeSectors() <= sectors(), "free count");
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps after an add
  return FREE_OK;
}

/** Freed in this transaction: allocatable once the commit is durable. */
export function pin(start: u64, length: u64): i32 {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps before a pin
  if (!extentValid(start, length)) return FREE_BAD_EXTENT;
  const from = <u32>(start >> SECTOR_SHIFT), to = <u32>((start + length) >> SECTOR_SHIFT);
  if (countSet(pinnedBitsAddr, from, to) != 0 || countSet(freeBitsAddr, from, to) != 0) return FREE_OVERLAP;
  setRange(pinnedBitsAddr, from, to, true);
  store<u32>(fsBase + F_PINNED_SECTORS, pinnedSectors() + (to - from));
  assert(<u64>pinnedSectors() + freeSectors() <= <u64>sectors(), "free+pinned count");
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps after a pin
  return FREE_OK;
}

/** After a durable commit: pinned space becomes allocatable. */
export function unpinAll(): void {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps before an unpin
  const n = sectors();
  const words = (n + 63) >> 6;
  let lowest = n;
  for (let w: u32 = 0; w < words; w++) {
    const at = <usize>w << 3;
    const pinned = load<u64>(pinnedBitsAddr + at);
    if (pinned == 0) continue;
    if (lowest == n) lowest = (w << 6) + <u32>ctz(pinned);
    assert((load<u64>(freeBitsAddr + at) & pinned) == 0, "free space: a pinned sector is free");
    const first = w << 6;
    const before = fullUnits(first, min<u32>(first + 64, n));
    store<u64>(freeBitsAddr + at, load<u64>(freeBitsAddr + at) | pinned);
    store<u32>(fsBase + F_FREE_UNITS, load<u32>(fsBase + F_FREE_UNITS) - before + fullUnits(first, min<u32>(first + 64, n)));
    store<u64>(pinnedBitsAddr + at, 0);
  }
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() + pinnedSectors());
  // Data allocation goes back to the lowest space this commit freed: rewritten data reuses
  // the sectors it left instead of sweeping the whole device. On real pmem either is fine;
  // in the emulator every sector first touched costs the host a page fault, and a small
  // working set stays in the CPU caches.
  if (lowest < load<u32>(fsBase + F_DATA_CURSOR)) store<u32>(fsBase + F_DATA_CURSOR, lowest);
  store<u32>(fsBase + F_PINNED_SECTORS, 0);
  assert(freeSectors() <= n, "free count");
  if (CHECKS) assert(allBits(pinnedBitsAddr, 0, n, false)); // pinned sectors left after an unpin
  if (CHECKS) assert(countsAgree(true)); // counters disagree with the bitmaps after an unpin
}

/** Free sectors that can hold whole `unit`-sector, `unit`-aligned blocks. */
export function blockFreeSectors(unit: u32): u32 {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps
  assert(unit > 0, "free space: block unit");
  let sum: u32 = 0;
  if (unit == blockUnit()) {
    sum = load<u32>(fsBase + F_FREE_UNITS) * unit;
    if (CHECKS) assert(countsAgree(true)); // the free units disagree with the free bits
  } else {
    const n = sectors();
    let at = nextBit(freeBitsAddr, 0, n, true);
    while (at < n) {
      const end = nextBit(freeBitsAddr, at, n, false);
      const first = (at + unit - 1) / unit * unit;
      const last = end / unit * unit;
      if (last > first) sum += last - first;
      at = nextBit(freeBitsAddr, end, n, true);
    }
  }
  assert(sum <= freeSectors(), "block sectors");
  return sum;
}

/** Largest run of free sectors, up to `max`. */
export function largestRun(max: u32): u32 {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps
  const n = sectors();
  let best: u32 = 0, bestAt: u32 = 0;
  let at = nextBit(freeBitsAddr, 0, n, true);
  while (at < n && best < max) {
    const end = nextBit(freeBitsAddr, at, n, false);
    if (end - at > best) { best = end - at; bestAt = at; }
    at = nextBit(freeBitsAddr, end, n, true);
  }
  assert(best <= freeSectors(), "run length");
  if (CHECKS) assert(allBits(freeBitsAddr, bestAt, bestAt + best, true)); // the largest run is not free
  return min<u32>(best, max);
}

/** Is any sector of [from, to) free? */
export function anyFree(from: u32, to: u32): bool {
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps
  assert(from <= to, "range reversed");
  return countSet(freeBitsAddr, from, min<u32>(to, sectors())) != 0;
}

function take(at: u32, count: u32): void {
  assert(count > 0, "empty range");
  assert(<u64>at + count <= <u64>sectors(), "past device end");
  assert(countSet(freeBitsAddr, at, at + count) == count, "free space: taking sectors that are not free");
  assert(freeSectors() >= count, "free count");
  setFree(at, at + count, false);
  store<u32>(fsBase + F_FREE_SECTORS, freeSectors() - count);
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps after a take
}

/** Highest `align`-aligned run of `count` free sectors; its first sector, or -1. */
export function allocateFromEnd(count: u32, align: u32): i64 {
  assert(count > 0, "empty range");
  assert(align > 0, "alignment");
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps before an allocation
  let before = sectors();
  while (true) {
    const last = prevBit(freeBitsAddr, before, true);
    if (last < 0) return -1;
    const end = <u32>last + 1;
    const prevClear = prevBit(freeBitsAddr, end, false);
    const start: u32 = prevClear < 0 ? 0 : <u32>prevClear + 1;
    assert(start < end && end <= before, "run outside search");
    if (end >= count) {
      const at = (end - count) / align * align;
      if (at >= start) {
        take(at, count);
        if (CHECKS) assert(allBits(freeBitsAddr, at, at + count, false)); // an allocated block is still free
        return at;
      }
    }
    before = start;
  }
}

/**
 * First run of at least `count` free sectors, looking from the run the data cursor is in
 * (or the first run after it) to the end, then from the start; takes `count` sectors at
 * the run's start. Its first sector, or -1.
 */
export function allocateData(count: u32): i64 {
  assert(count > 0, "free space: allocation size");
  if (CHECKS) assert(countsAgree(false)); // counters disagree with the bitmaps before an allocation
  const n = sectors();
  const cursor = min<u32>(load<u32>(fsBase + F_DATA_CURSOR), n);
  let first = cursor;
  if (cursor < n && testBit(freeBitsAddr, cursor)) {
    const clear = prevBit(freeBitsAddr, cursor, false);
    first = clear < 0 ? 0 : <u32>clear + 1;
  }
  let found = firstFit(first, n, count);
  if (found < 0) found = firstFit(0, first, count);
  if (found < 0) return -1;
  take(<u32>found, count);
  if (CHECKS) assert(allBits(freeBitsAddr, <u32>found, <u32>found + count, false)); // an allocated extent is still free
  store<u32>(fsBase + F_DATA_CURSOR, <u32>found + count);
  assert(<u32>found + count <= n, "past device end");
  return found;
}

/** First run starting in [from, limit) with `count` free sectors (it may extend past limit). */
function firstFit(from: u32, limit: u32, count: u32): i64 {
  const n = sectors();
  assert(count > 0, "empty range");
  assert(from <= limit && limit <= n, "past device end");
  let at = nextBit(freeBitsAddr, from, n, true);
  while (at < limit) {
    // Only `count` bits of the run matter: a run to the end of a fresh device is most of it.
    const end = nextBit(freeBitsAddr, at, min<u32>(n, at + count), false);
    if (end - at >= count) {
      if (CHECKS) assert(allBits(freeBitsAddr, at, at + count, true)); // a fit that is not free
      return at;
    }
    at = nextBit(freeBitsAddr, end, n, true);
  }
  return -1;
}
