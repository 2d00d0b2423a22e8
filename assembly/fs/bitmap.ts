// Bitmaps of sectors in shared memory: bit i of the u64 word at addr + (i >> 6) * 8.
// Scans go a word at a time (ctz/clz), never a bit at a time.
import { CHECKS } from "../shared/checks";

@inline function word(addr: usize, i: u32): usize {
  return addr + (<usize>(i >> 6) << 3);
}

@inline export function testBit(addr: usize, i: u32): bool {
  assert(addr != 0, "no map");
  return (load<u64>(word(addr, i)) & (<u64>1 << (i & 63))) != 0;
}

/** Mask of the bits [from, to) of the word holding bit `from` (to within that word or its end). */
@inline function spanMask(from: u32, to: u32): u64 {
  if (CHECKS) assert(from < to); // an empty span
  if (CHECKS) assert(to <= (from & ~63) + 64); // a span that leaves its word
  const low = from & 63;
  const high = to - (from & ~63); // 1..64
  const upper: u64 = high >= 64 ? <u64>-1 : (<u64>1 << high) - 1;
  const mask = upper & ~((<u64>1 << low) - 1);
  if (CHECKS) assert(<u32>popcnt<u64>(mask) == to - from); // a span mask of the wrong width
  return mask;
}

/** Set (on) or clear the bits [from, to). */
export function setRange(addr: usize, from: u32, to: u32, on: bool): void {
  assert(addr != 0, "no map");
  assert(from <= to, "range reversed");
  let i = from;
  while (i < to) {
    const end = min<u32>(to, (i & ~63) + 64);
    const at = word(addr, i);
    const mask = spanMask(i, end);
    store<u64>(at, on ? load<u64>(at) | mask : load<u64>(at) & ~mask);
    i = end;
  }
  // a range still holds bits of the other value after it was set
  if (CHECKS) assert(allBits(addr, from, to, on));
}

/** Number of set bits in [from, to). */
export function countSet(addr: usize, from: u32, to: u32): u32 {
  assert(addr != 0, "no map");
  assert(from <= to, "range reversed");
  let n: u32 = 0;
  let i = from;
  while (i < to) {
    const end = min<u32>(to, (i & ~63) + 64);
    n += <u32>popcnt<u64>(load<u64>(word(addr, i)) & spanMask(i, end));
    i = end;
  }
  if (CHECKS) assert(n <= to - from); // more set bits than the range has
  return n;
}

/** First bit in [from, limit) that is set (want) or clear (!want); `limit` when none. */
export function nextBit(addr: usize, from: u32, limit: u32, want: bool): u32 {
  assert(addr != 0, "no map");
  assert(from <= limit, "range reversed");
  let found = limit;
  let i = from;
  while (i < limit) {
    let w = load<u64>(word(addr, i));
    if (!want) w = ~w;
    w &= ~((<u64>1 << (i & 63)) - 1);
    if (w != 0) {
      found = min<u32>((i & ~63) + <u32>ctz<u64>(w), limit);
      break;
    }
    i = (i & ~63) + 64;
  }
  if (CHECKS) assert(found >= from && found <= limit); // a search result outside [from, limit]
  // a search result of the wrong value
  if (CHECKS) assert(found == limit || allBits(addr, found, found + 1, want));
  if (CHECKS) assert(allBits(addr, from, found, !want)); // a search skipped a bit it looked for
  return found;
}

/** Last bit below `before` that is set (want) or clear (!want); -1 when none. */
export function prevBit(addr: usize, before: u32, want: bool): i64 {
  assert(addr != 0, "no map");
  let found: i64 = -1;
  let i = before;
  while (i > 0) {
    i--; // the highest bit left to look at
    let w = load<u64>(word(addr, i));
    if (!want) w = ~w;
    const keep = i & 63;
    w &= keep == 63 ? <u64>-1 : (<u64>1 << (keep + 1)) - 1;
    if (w != 0) {
      found = <i64>((i & ~63) + 63 - <u32>clz<u64>(w));
      break;
    }
    i &= ~63; // the word's first bit: the next round looks below it
  }
  // a backward search result outside [-1, before)
  if (CHECKS) assert(found >= -1 && found < <i64>before);
  // a backward search result of the wrong value
  if (CHECKS) assert(found < 0 || allBits(addr, <u32>found, <u32>found + 1, want));
  // a backward search skipped a bit it looked for
  if (CHECKS) assert(allBits(addr, <u32>(found + 1), before, !want));
  return found;
}

/**
 * Debug builds: are bits [from, to) all set (on) or all clear? Release builds answer true
 * without scanning (the call disappears: shared/checks.ts).
 */
export function allBits(addr: usize, from: u32, to: u32, on: bool): bool {
  if (!CHECKS) return true;
  assert(from <= to, "range reversed");
  return countSet(addr, from, to) == (on ? to - from : 0);
}
