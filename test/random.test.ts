// The project's one generator (src/random.ts). Its sequences are a contract: seeds in docs,
// tests and stored reproducers name workloads and data through them, so these values are
// pinned (they are the sequences of the generators it replaced).
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { Rng as PatternRng, patternBytes } from '../src/workload/pattern.js';
import { Rng as IndexRng, workload } from '../src/index.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

describe('Rng (src/random.ts)', () => {
  it('mulberry32 with a mixed seed: the sequences of the workload language', () => {
    const first4 = (seed: number): number[] => { const r = new Rng(seed); return [r.u32(), r.u32(), r.u32(), r.u32()]; };
    expect(first4(0)).toEqual([733886612, 3079699999, 992655061, 3029995555]);
    expect(first4(1)).toEqual([126360280, 1487218859, 158977769, 2464554790]);
    expect(first4(42)).toEqual([2017982476, 995643984, 3337625208, 2020257551]);
    expect(first4(2 ** 32 + 5)).toEqual([2507204121, 2442431384, 201354564, 835239554]);
    const r = new Rng(7);
    expect(Array.from({ length: 10 }, () => r.below(100))).toEqual([48, 31, 22, 6, 47, 19, 22, 89, 3, 84]);
    expect(hex(patternBytes(3, 12))).toBe('3d111ff2f5233b4f2094dfa2');
  });

  it('xorshift32: the DAX workload generator\'s stream', () => {
    const first4 = (seed: number): number[] => { const r = Rng.xorshift32(seed * 2654435761 + 1); return [r.u32(), r.u32(), r.u32(), r.u32()]; };
    expect(first4(1)).toEqual([1361127282, 3424972597, 1770954068, 4272703622]);
    expect(first4(3)).toEqual([4153947222, 3544389439, 2234602061, 1080826833]);
    const x = Rng.xorshift32(3 * 2654435761 + 1);
    expect(x).toBeInstanceOf(Rng);
    expect(x.below(1000)).toBe(4153947222 % 1000);
    expect(Rng.xorshift32(0).u32()).toBe(Rng.xorshift32(1).u32()); // 0 would stay 0
  });

  it('scaled: the soak\'s and the model tests\' stream (unmixed seed, draws from the high bits)', () => {
    const r = Rng.scaled(1);
    expect([r.u32(), r.u32(), r.below(100), r.below(100), r.below(1000)]).toEqual([814657751, 1364887502, 78, 53, 781]);
    const s = Rng.scaled(5);
    const t = Rng.scaled(5);
    for (let i = 0; i < 100; i++) expect(s.below(37)).toBe(Math.floor((t.u32() / 2 ** 32) * 37));
  });

  it('the helpers stay in range', () => {
    const r = new Rng(11);
    for (let i = 0; i < 1000; i++) {
      const b = r.between(-3, 3);
      expect(b).toBeGreaterThanOrEqual(-3);
      expect(b).toBeLessThanOrEqual(3);
      expect(r.below(2 ** 40)).toBeLessThan(2 ** 40);
      expect(['a', 'b']).toContain(r.weighted([['a', 1], ['b', 2], ['c', 0]]));
    }
    expect(r.below(0)).toBe(0);
    expect(() => r.pick([])).toThrow();
  });

  it('is the one class everywhere it is exported', () => {
    expect(PatternRng).toBe(Rng);
    expect(IndexRng).toBe(Rng);
    expect(workload.Rng).toBe(Rng);
  });
});
