// The soak's operations drawn as workload statements (src/workload/soak-draws.ts): the
// same choices, in the same order, as the soak's weighted picker always made from its
// seed, so that a soak seed keeps its campaign.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { SoakDraws } from '../src/workload/soak-draws.js';
import { parse, print } from '../src/workload/index.js';

/** The soak's picker before it drew statements: weights 3, 1, 2, 1, 2, and for a crash
 *  its mode, then its image seed. */
function referenceDraws(seed: number, n: number): string[] {
  const rng = Rng.scaled(seed);
  const ops = [[3, 'commit'], [1, 'snapshot'], [2, 'clone'], [1, 'freeze'], [2, 'crash']] as const;
  const out: string[] = [];
  let counter = 0;
  for (let i = 0; i < n; i++) {
    let x = rng.below(9);
    let kind: string = ops[0][1];
    for (const [w, k] of ops) { if (x < w) { kind = k; break; } x -= w; }
    if (kind === 'snapshot') out.push(`snapshot / /snap${++counter}`);
    else if (kind === 'clone') out.push(`clone /d /c/c${++counter}`);
    else if (kind === 'crash') {
      const mode = rng.below(2) ? 'strict' : 'random';
      const image = rng.u32(); // (a strict crash ignores its seed)
      out.push(mode === 'random' ? `crash random ${image}` : 'crash strict');
    } else out.push(kind);
  }
  return out;
}

describe('the soak draws', () => {
  it("make the soak's choices from its stream, statement for statement", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const draws = new SoakDraws(Rng.scaled(seed));
      const got = Array.from({ length: 200 }, () => {
        const s = draws.next();
        if (s.op === 'snapshot') return `snapshot ${s.src} ${s.dst}`;
        if (s.op === 'clone') return `clone ${s.src} ${s.dst}`;
        if (s.op === 'crash') return s.mode === 'random' ? `crash random ${s.seed}` : 'crash strict';
        return s.op;
      });
      expect(got, `seed ${seed}`).toEqual(referenceDraws(seed, 200));
    }
  });

  it('are statements of the workload language: they print and parse back', () => {
    const draws = new SoakDraws(Rng.scaled(5));
    const script = { stmts: [...Array.from({ length: 50 }, () => draws.next()), draws.snapshot()] };
    expect(parse(print(script)).stmts).toEqual(script.stmts);
  });
});
