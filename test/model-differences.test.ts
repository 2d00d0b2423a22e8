// firstDifference (src/model/crash-model.ts): the oracle's byte comparison (word-wise where
// both arrays are 4-byte aligned, then byte-wise) must find exactly the first differing byte.
import { describe, expect, it } from 'vitest';
import { firstDifference } from '../src/model/crash-model.js';
import { Rng } from '../src/random.js';

function naive(a: Uint8Array, b: Uint8Array): number | null {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return null;
}

describe('firstDifference', () => {
  it('finds the first differing byte of random pairs (none, one, several; aligned and not)', () => {
    const rng = new Rng(99);
    for (let round = 0; round < 400; round++) {
      const length = [0, 1, 7, 255, 256, 257, 4096, 65537, 1 << 20][round % 9]!;
      const shift = rng.below(4) === 0 ? 1 + rng.below(3) : 0; // unaligned views too
      const a = new Uint8Array(length + shift).subarray(shift);
      for (let i = 0; i < length; i += 1 + rng.below(64)) a[i] = rng.below(256);
      const from = rng.below(2) ? 0 : 4;
      const b = new Uint8Array(length + 8).subarray(from, from + length);
      b.set(a);
      const changes = length === 0 ? 0 : rng.below(4);
      for (let c = 0; c < changes; c++) { const at = rng.below(length); b[at] = (b[at]! + 1 + rng.below(255)) & 255; }
      expect(firstDifference(a, b), `round ${round}: ${length} bytes, ${changes} changes`).toBe(naive(a, b));
    }
  });
});
