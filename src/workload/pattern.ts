// Deterministic data for the workload language: the bytes a `write ... seed S` or an
// `mstore ... seed S` stores. The generator itself is src/random.ts (Rng is re-exported
// here for code that imported it from this file).
import { Rng } from '../random.js';

export { Rng };

/** The `length` bytes of seed `seed` (seed 0 when a statement gives none). */
export function patternBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const rng = new Rng(seed * 2654435761 + 1);
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const v = rng.u32();
    out[i] = v; out[i + 1] = v >>> 8; out[i + 2] = v >>> 16; out[i + 3] = v >>> 24;
  }
  if (i < length) {
    const v = rng.u32();
    for (let s = 0; i < length; i++, s += 8) out[i] = v >>> s;
  }
  return out;
}

/** The checksum the runner reports for bytes read: crc32c, 8 hex digits. */
export function checksumHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0');
}
