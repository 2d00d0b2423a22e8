// markRange sets whole bitmap bytes with one fill and single bits only at the ends: it
// must set exactly the bits of a line-by-line loop, for every start and length.
import { describe, expect, it } from 'vitest';
import { markRange } from '../src/crash/reachable.js';
import { Rng } from '../src/random.js';

function lineByLine(bitmap: Uint8Array, start: number, bytes: number): void {
  for (let line = Math.floor(start / 64); line <= Math.floor((start + bytes - 1) / 64); line++) bitmap[line >> 3]! |= 1 << (line & 7);
}

describe('markRange', () => {
  it('sets the bits of every line the range touches, and no other', () => {
    const rng = new Rng(7);
    const size = 64 * 8 * 64; // a 64-byte bitmap
    for (let t = 0; t < 5000; t++) {
      const a = new Uint8Array(64), b = new Uint8Array(64);
      // Some bits already set: markRange only adds.
      for (let i = 0; i < 4; i++) {
        const at = rng.below(64), value = rng.below(256);
        a[at] = value; b[at] = value;
      }
      const start = rng.chance(0.3) ? rng.below(size / 64) * 64 : rng.below(size - 1);
      const bytes = rng.chance(0.3) ? Math.min(size - start, 64 * rng.between(1, 40)) : rng.between(1, size - start);
      markRange(a, start, bytes);
      lineByLine(b, start, bytes);
      expect(a, `start ${start}, ${bytes} bytes`).toEqual(b);
    }
  });
});
