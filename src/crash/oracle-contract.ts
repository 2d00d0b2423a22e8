// What the crash explorer asks of an oracle, and the per-word rules an oracle may give for
// the line tables: a module of its own, so that the explorer, the line tables and the
// oracles depend on it and not on each other (issue 18: no file loops).
import type { FileSystem } from '../filesystem.js';
import type { PassToken } from '../model/crash-model.js';

/**
 * Over file offsets [from, to): a word must equal that word of one of `versions` (data[o - shift]).
 */
export interface WordCondition {
  from: number;
  to: number;
  versions: Array<{ data: Uint8Array; shift: number }>;
}

/** Checks a mounted crash image; returns problems (empty when the image is correct). */
export interface CrashOracle {
  check(fs: FileSystem, generation: number): string[];
  /** What the last image that passed check() matched (a token for dataRules), or null. */
  lastMatch?(): number | null;
  /** What check() accepts of file data, per word, for images like one that matched `match`. */
  dataRules?(match: number): Map<string, WordCondition[]> | null;
  /**
   * Changes when check() becomes stricter for some image (a new MAP_SYNC floor, a new
   * snapshot); other changes only accept more. An image that passed under the same value
   * passes again, so the explorer remembers such images across crash points.
   */
  readonly constraintRevision?: number;
  /** A token for the last image that passed, when passesAgain can vouch for it later. */
  lastPass?(): PassToken | null;
  /**
   * Does an image that passed with `token` (under any revision) pass now? What it matches now (as
   * lastMatch), or null.
   */
  passesAgain?(token: PassToken): number | null;
}
