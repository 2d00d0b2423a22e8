// Bitmaps of sectors in shared memory: bit i of the u64 word at addr + (i >> 6) * 8.
// Scans go a word at a time (ctz/clz), never a bit at a time.

@inline function word(addr: usize, i: u32): usize {
  return addr + (<usize>(i >> 6) << 3);
}

@inline export function testBit(addr: usize, i: u32): bool {
  return (load<u64>(word(addr, i)) & (<u64>1 << (i & 63))) != 0;
}

/** Mask of the bits [from, to) of the word holding bit `from` (to within that word or its end). */
@inline function spanMask(from: u32, to: u32): u64 {
  const low = from & 63;
  const high = to - (from & ~63); // 1..64
  const upper: u64 = high >= 64 ? <u64>-1 : (<u64>1 << high) - 1;
  return upper & ~((<u64>1 << low) - 1);
}

/** Set (on) or clear the bits [from, to). */
export function setRange(addr: usize, from: u32, to: u32, on: bool): void {
  let i = from;
  while (i < to) {
    const end = min<u32>(to, (i & ~63) + 64);
    const at = word(addr, i);
    const mask = spanMask(i, end);
    store<u64>(at, on ? load<u64>(at) | mask : load<u64>(at) & ~mask);
    i = end;
  }
}

/** Number of set bits in [from, to). */
export function countSet(addr: usize, from: u32, to: u32): u32 {
  let n: u32 = 0;
  let i = from;
  while (i < to) {
    const end = min<u32>(to, (i & ~63) + 64);
    n += <u32>popcnt<u64>(load<u64>(word(addr, i)) & spanMask(i, end));
    i = end;
  }
  return n;
}

/** First bit in [from, limit) that is set (want) or clear (!want); `limit` when none. */
export function nextBit(addr: usize, from: u32, limit: u32, want: bool): u32 {
  let i = from;
  while (i < limit) {
    let w = load<u64>(word(addr, i));
    if (!want) w = ~w;
    w &= ~((<u64>1 << (i & 63)) - 1);
    if (w != 0) {
      const found = (i & ~63) + <u32>ctz<u64>(w);
      return found < limit ? found : limit;
    }
    i = (i & ~63) + 64;
  }
  return limit;
}

/** Last bit below `before` that is set (want) or clear (!want); -1 when none. */
export function prevBit(addr: usize, before: u32, want: bool): i64 {
  if (before == 0) return -1;
  let i = before - 1;
  while (true) {
    let w = load<u64>(word(addr, i));
    if (!want) w = ~w;
    const keep = i & 63;
    w &= keep == 63 ? <u64>-1 : (<u64>1 << (keep + 1)) - 1;
    if (w != 0) return <i64>((i & ~63) + 63 - <u32>clz<u64>(w));
    if (i < 64) return -1;
    i = (i & ~63) - 1;
  }
}
