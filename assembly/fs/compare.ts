// Dedupe's comparison (src/fs/range-ops.ts, FIDEDUPERANGE): the two file ranges are read
// into the staging buffer by file_read (checksums verified there) and compared here, a
// word at a time, rather than by a loop over bytes in JavaScript.
import { CHECKS } from "../shared/checks";

/**
 * The index of the first byte where [a, a + length) and [b, b + length) differ; `length` when none
 * does.
 */
export function firstDifference(a: usize, b: usize, length: u32): u32 {
  assert(length <= 0x40000000, "a comparison longer than any staging buffer");
  let i: u32 = 0;
  // Eight bytes at a time while the words agree, then byte by byte inside the word that
  // does not (or the tail shorter than a word).
  while (i + 8 <= length && load<u64>(a + <usize>i) == load<u64>(b + <usize>i)) i += 8;
  while (i < length && load<u8>(a + <usize>i) == load<u8>(b + <usize>i)) i++;
  assert(i <= length, "a difference past the ranges");
  // the answer names a differing byte, or none differs
  if (CHECKS) {
    assert(i == length ? memory.compare(a, b, length) == 0
      : load<u8>(a + <usize>i) != load<u8>(b + <usize>i));
  }
  return i;
}
