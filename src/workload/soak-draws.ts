// The soak's operations on the owning thread, drawn as workload statements: a member of
// the generator family (randomScript, guidedScript, exhaustive) for the soak campaign
// (src/soak/campaign.ts), which runs each with its oracle's bookkeeping while the writer
// threads store. The draws keep the soak's stream (src/random.ts): one weighted pick per
// operation, and for a crash its mode and image seed right after.
import type { CommitOp, CloneOp, CrashOp, FreezeOp, SnapshotOp } from './ast.js';
import type { Rng } from '../random.js';

/** What the soak's thread runs: a commit, a snapshot of `/`, a clone of /d, a freeze (and
 *  its thaw), or a crash image of this instant. */
export type SoakStatement = CommitOp | SnapshotOp | CloneOp | FreezeOp | CrashOp;

/** The kinds and their weights, in the order of the soak's first version. */
const WEIGHTS: Array<[number, SoakStatement['op']]> = [
  [3, 'commit'], [1, 'snapshot'], [2, 'clone'], [1, 'freeze'], [2, 'crash'],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((sum, [w]) => sum + w, 0);

export class SoakDraws {
  /** Numbers the snapshots and clones (one count for both). */
  private counter = 0;

  constructor(private readonly rng: Rng) {}

  /** The next operation, weighted. */
  next(): SoakStatement {
    let x = this.rng.below(TOTAL_WEIGHT);
    let kind: SoakStatement['op'] = WEIGHTS[0]![1];
    for (const [w, k] of WEIGHTS) {
      if (x < w) { kind = k; break; }
      x -= w;
    }
    switch (kind) {
      case 'commit': return { op: 'commit' };
      case 'snapshot': return this.snapshot();
      case 'clone': return { op: 'clone', src: '/d', dst: `/c/c${++this.counter}` };
      case 'freeze': return { op: 'freeze' };
      case 'crash': return this.crash(this.rng.below(2) ? 'strict' : 'random');
    }
  }

  /** A snapshot of `/` under the next name (also the reboot's, which is not drawn). */
  snapshot(): SnapshotOp {
    return { op: 'snapshot', src: '/', dst: `/snap${++this.counter}`, readonly: false };
  }

  /** A crash image in `mode`, its seed drawn now (drawn for a strict one too, which has
   *  none: the stream stays the soak's). */
  crash(mode: CrashOp['mode']): CrashOp {
    const seed = this.rng.u32();
    return mode === 'random' ? { op: 'crash', mode, seed } : { op: 'crash', mode };
  }
}
