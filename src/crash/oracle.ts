// The crash oracle: a mounted crash image is correct when fsck is clean and the reference
// model (src/model/crash-model.ts, built from the workload alone) allows what the image
// holds. The model, not this file, says what is legal; this file adapts it to the
// explorer: a verdict per image, and the per-word rules of the line tables.
import type { FileSystem } from '../filesystem.js';
import type { CrashOracle, WordCondition } from './oracle-contract.js';
import type { CrashModel, PassToken } from '../model/crash-model.js';

export type { PassToken };
import { modelEntries } from '../model/image.js';

export type { WordCondition };

export class ModelOracle implements CrashOracle {
  private last: number | null = null;
  private lastPassToken: PassToken | null = null;

  constructor(readonly model: CrashModel) {}

  get constraintRevision(): number {
    return this.model.revision;
  }

  check(fs: FileSystem): string[] {
    this.last = null;
    this.lastPassToken = null;
    const problems = fs.fsck().map((p) => `fsck: ${p}`);
    const match = this.model.match(fs);
    if (problems.length === 0 && match.problems.length === 0) {
      this.last = match.state.time;
      this.lastPassToken = this.model.passToken(match);
    }
    return [...problems, ...match.problems];
  }

  /** The model state the last image that passed check() matched (its time). */
  lastMatch(): number | null {
    return this.last;
  }

  /** The last image's pass, when it can outlive constraintRevision (an exact match), else null. */
  lastPass(): PassToken | null {
    return this.lastPassToken;
  }

  /**
   * Would an image that passed with `token` pass now? The state it matches (for dataRules), or
   * null. (fsck judges the image alone.)
   */
  passesAgain(token: PassToken): number | null {
    return this.model.stillMatches(token);
  }

  /**
   * What check() allows of file data, per 8-byte word, for images with the same metadata
   * as one that matched the state of time `match`: for each path, conditions that each
   * give the values a word may hold over a range (all must hold). Datacow data has one
   * value; words stored in place add the values of their in-place history; MAP_SYNC
   * floors add a condition of their own. Null when that state is no longer legal.
   */
  dataRules(match: number): Map<string, WordCondition[]> | null {
    const state = this.model.stateAt(match);
    if (!state) return null;
    const rules = new Map<string, WordCondition[]>();
    for (const { path, node } of modelEntries(state.model)) {
      if (node.kind !== 'file' || node.placeholder) continue;
      const own = { data: node.data, shift: 0 };
      const history = this.model.historyFor(node);
      if (!history) { rules.set(path, [{ from: 0, to: node.size, versions: [own] }]); continue; }
      const { all, floored } = history.versions();
      const list: WordCondition[] = [{ from: 0, to: node.size, versions: [own, ...all] }];
      for (const f of floored) {
        const versions = state.time >= f.time ? [own, ...f.versions] : f.versions;
        list.push({ from: f.at, to: f.at + 8, versions });
      }
      rules.set(path, list);
    }
    return rules;
  }
}
