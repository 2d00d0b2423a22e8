// The files' bytes of an image against a model state's (CrashModel): a crash image's
// against a legal state, with the in-place rules of nodatacow words (in-place.ts), and the
// live file system's against the live model, exactly.
import type { FsModel, MNode } from './namespace.js';
import { WORD_BYTES, alignDown8, type InPlaceHistory } from './in-place.js';
import { contentDigest } from './content-hash.js';
import {
  imageDigest, entryBytes, entryDigest, modelEntries, modelDigest, modelKind, digestDiff,
  type ImageEntry, type ModelEntry,
} from './image.js';
import { firstDifference, WordDifferences } from './word-differences.js';

/** Problems reported per image at most (the first few say what is wrong). */
const MAX_PROBLEMS = 4;

/**
 * Data the image holds that the state of time `stateTime` (its `entries`, with the in-place
 * rules of `history`) does not allow; exact when every file holds the state's own bytes
 * and no floor was asked.
 */
export function dataProblems(entries: ModelEntry[], stateTime: number, image: ImageEntry[],
  history: ReadonlyMap<number, InPlaceHistory>): { problems: string[]; exact: boolean } {
  const problems: string[] = [];
  let exact = true;
  const seen = new Set<number>();
  for (let i = 0; i < image.length; i++) {
    const e = image[i]!;
    const node = entries[i]!.node;
    if (e.kind !== 'file' || node.kind !== 'file' || seen.has(node.id)) continue;
    seen.add(node.id);
    // A file without in-place history must hold the state's bytes: compared by digest
    // (its bytes are read only to report a difference). One with history may hold other
    // values word by word: its bytes are read and judged (a floor can refuse even the
    // state's own value).
    const h = history.get(node.id);
    if (!h) {
      const digest = entryDigest(e);
      if (digest === contentDigest(node.data)) continue;
    }
    const data = e.error === undefined ? entryBytes(e) : null;
    if (!data) { problems.push(`${e.path}: read failed: ${e.error}`); continue; }
    if (h && !h.floors.size && data.length === node.data.length
      && firstDifference(data, node.data) === null) continue;
    exact = false;
    const bad = firstBadWord(node, data, stateTime, h);
    if (bad !== null) {
      const last = Math.min(bad + WORD_BYTES, node.size) - 1;
      problems.push(`${e.path}: bytes ${bad}..${last} hold a value the model never allowed there `
        + `(state of time ${stateTime})`);
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return { problems, exact };
}

/** The first word of `data` the state's bytes and in-place history `h` refuse, or null. */
function firstBadWord(node: MNode, data: Uint8Array, stateTime: number,
  h: InPlaceHistory | undefined): number | null {
  const content = node.data;
  if (data.length !== content.length) return Math.min(data.length, content.length);
  const refused = (at: number): boolean =>
    !h || !h.allows(data, at, Math.min(WORD_BYTES, content.length - at), content, stateTime);
  // Words equal to the state's can be refused only by a floor; the others are each asked.
  // Both kinds are visited in order (differences found word-wide, not byte by byte).
  const floors = h?.floors.size
    ? [...h.floors.keys()].map((w) => w * WORD_BYTES).sort((a, b) => a - b)
    : [];
  let f = 0;
  const differences = new WordDifferences(data, content);
  for (let d = differences.next(0); ; d = differences.next(alignDown8(d) + WORD_BYTES)) {
    const differing = d === null ? Infinity : alignDown8(d);
    for (; f < floors.length && floors[f]! < differing; f++) {
      if (refused(floors[f]!)) return floors[f]!;
    }
    if (d === null) return null;
    if (floors[f] === differing) f++;
    if (refused(differing)) return differing;
  }
}

/**
 * Differences between the live file system's image and `model` (they must be equal): the
 * namespace, sizes, link counts and flags (and xattrs with `xattrs`), and unless `data` is
 * false every file's bytes.
 */
export function diffLive(image: ImageEntry[], model: FsModel, xattrs: boolean,
  data = true): string[] {
  const entries = modelEntries(model);
  const expected = modelDigest(entries, xattrs);
  const digest = imageDigest(image);
  if (digest !== expected) return digestDiff(digest, expected).map((d) => `live: ${d}`);
  const problems: string[] = [];
  if (!data) return problems;
  for (let i = 0; i < image.length; i++) {
    const e = image[i]!;
    const node = entries[i]!.node;
    if (e.kind !== 'file' || modelKind(node) !== 'file') continue;
    const digest = entryDigest(e);
    if (digest === contentDigest(node.data)) continue;
    const bytes = digest === null ? null : entryBytes(e);
    if (!bytes) { problems.push(`live: ${e.path}: read failed: ${e.error}`); continue; }
    const at = bytes.length === node.data.length
      ? firstDifference(bytes, node.data)
      : Math.min(bytes.length, node.data.length);
    if (at !== null) {
      problems.push(`live: ${e.path}: byte ${at} is ${bytes[at]}, the model says ${node.data[at]} `
        + `(size ${bytes.length}, the model's ${node.data.length})`);
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return problems;
}
