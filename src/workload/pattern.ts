// Deterministic data for the workload language: the bytes a `write ... seed S` or an
// `mstore ... seed S` stores, and the seeded random numbers the generators draw.

/** A small, fast PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    // Mix the seed so that nearby seeds start far apart.
    this.state = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ (Math.floor(seed / 2 ** 32) | 0)) >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    if (n <= 0) return 0;
    return n <= 2 ** 32 ? this.u32() % n : Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** A uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.below(items.length)]!;
  }

  /** Pick by weight: [[item, weight], ...]. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.below(total);
    for (const [item, w] of items) {
      if (r < w) return item;
      r -= w;
    }
    return items[items.length - 1]![0];
  }
}

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
