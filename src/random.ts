// The project's one seeded pseudo-random number generator. The seeded choices of src/,
// test/ and bench/ draw from here, so that a seed means the same thing everywhere: the
// workload language's data (`write ... seed S`), the generators' scripts, the image
// fuzzer's mutations, the soak's choices, the tests' random operations.
//
// `new Rng(seed)` is mulberry32 with a mixed seed. Its exact sequence is a contract: seeds
// quoted in docs, tests and stored reproducers name workloads through it. Do not change
// it. Two older streams live on here as factories, each for the users whose seeds were
// chosen or measured on it: Rng.xorshift32 (the DAX workload generator, and the writer
// threads' slot picker in src/workers/writer.ts that src/soak/slots.ts replays) and
// Rng.scaled (the soak, the model tests); test/random.test.ts pins all three.
// Not here: the AssemblyScript core's generator for crash images (assembly/pmem/crash.ts:
// another language, another contract).

/** A small, fast PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export class Rng {
  protected state: number;
  constructor(seed: number) {
    // Mix the seed so that nearby seeds start far apart.
    const high = Math.floor(seed / 2 ** 32) | 0;
    this.state = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ high) >>> 0;
  }

  /**
   * xorshift32 started at the 32-bit `state` (0 becomes 1): the DAX workload generator's
   * stream (src/crash/dax-workload.ts, state `seed * 2654435761 + 1`), kept so that its
   * seeds keep their scripts: the fuzz tests' seeds, the line-table test's cases and the
   * mutation scores were chosen or measured on it. Only u32() differs from Rng's.
   */
  static xorshift32(state: number): Rng {
    return new XorShift32(state);
  }

  /**
   * mulberry32 started at `seed ^ 0x9e3779b9` (no mixing), whose draws in [0, n) (below,
   * between, pick, weighted) take the high bits, floor(u32 / 2^32 * n), not the remainder:
   * the stream the soak (src/soak/soak.ts) and the model tests (src/model/guided-ops.ts)
   * draw from, kept so that their seeds keep their choices (test/fs-enospc.test.ts's seeds
   * fill the device on it).
   */
  static scaled(seed: number): Rng {
    return new Scaled(seed);
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

  /** Pick by integer weight: [[item, weight], ...]. */
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

class XorShift32 extends Rng {
  constructor(state: number) {
    super(0);
    this.state = state >>> 0 || 1;
  }

  override u32(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }
}

class Scaled extends Rng {
  constructor(seed: number) {
    super(0);
    this.state = (seed ^ 0x9e3779b9) >>> 0;
  }

  override below(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }
}
