// What must survive a crash: the oracle's record of the last commit (/d as committed, the
// snapshots and clones that existed then) and the snapshots and clones taken, each with
// its content when it was taken; and the checks of a file system, live or mounted from a
// crash image, against them.
import { sameBytes } from '../bytes.js';
import { FsError } from '../errors.js';
import type { FileSystem } from '../filesystem.js';
import type { SoakReport } from './report.js';
import type { Tally } from './tagged-file.js';

/** Everything the last commit made durable that the oracle compares. */
export interface Committed {
  generation: number;
  /** /d as committed. */
  d: Uint8Array;
  /** Snapshot and clone paths that existed at the commit. */
  names: Set<string>;
}

/** A snapshot (its /d) or a clone of /d, and its content when it was taken. */
export interface Frozen {
  kind: 'snapshot' | 'clone';
  path: string;
  file: string;
  content: Uint8Array;
}

export function snapshotAndCloneNames(fs: FileSystem): Set<string> {
  const names = new Set<string>();
  for (const n of fs.readdir('/')) if (n.startsWith('snap')) names.add(`/${n}`);
  for (const n of fs.readdir('/c')) names.add(`/c/${n}`);
  return names;
}

/** The checks, counted in the soak's report and tally. */
export class SurvivalCheck {
  constructor(
    private readonly report: SoakReport,
    private readonly tally: Tally,
    /** Tagged slots in /d (a snapshot's or clone's file has as many). */
    private readonly slotsOfD: number,
  ) {}

  /** The file's content, or null after counting why it could not be read. */
  readOrViolation(on: FileSystem, path: string, what: string): Uint8Array | null {
    try {
      return on.readFile(path);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      this.tally.violation(`${what}: reading ${path}: ${e.message}`);
      return null;
    }
  }

  /**
   * A snapshot's file or a clone, as read now (null: unreadable, counted already), equals
   * its content when it was taken.
   */
  unchanged(item: Frozen, bytes: Uint8Array | null, what: string): void {
    this.tally.storesChecked += this.slotsOfD;
    if (bytes && !sameBytes(bytes, item.content)) {
      this.tally.violation(`${what}: ${item.kind} ${item.file} changed since it was taken`);
    }
  }

  /** Compare a mounted crash image with the last commit; returns the image's /d and /n. */
  image(
    img: FileSystem, c: Committed, items: Frozen[], what: string,
  ): { imgD: Uint8Array | null; imgN: Uint8Array | null } {
    this.report.remounts++;
    const generation = img.statfs().generation;
    if (generation !== c.generation) {
      this.tally.violation(
        `${what}: mounted generation ${generation}, the last commit was ${c.generation}`,
      );
    }
    const problems = img.fsck();
    this.report.fsckErrors += problems.length;
    for (const p of problems) this.tally.violation(`${what}: fsck: ${p}`);
    const imgD = this.readOrViolation(img, '/d', what);
    if (imgD && c.d.length) { // an unreadable commit record was counted when it was taken
      this.tally.storesChecked += this.slotsOfD;
      if (!sameBytes(imgD, c.d)) {
        this.tally.violation(`${what}: /d differs from its content at commit ${c.generation}`);
      }
    }
    this.sameNames(img, c, items, what);
    return { imgD, imgN: this.readOrViolation(img, '/n', what) };
  }

  /** The image has exactly the committed snapshots and clones, each unchanged. */
  private sameNames(img: FileSystem, c: Committed, items: Frozen[], what: string): void {
    const names = snapshotAndCloneNames(img);
    for (const name of c.names) {
      if (!names.has(name)) this.tally.violation(`${what}: committed ${name} is missing`);
    }
    for (const name of names) {
      if (!c.names.has(name)) this.tally.violation(`${what}: ${name} was never committed`);
    }
    for (const item of items) {
      if (!c.names.has(item.path) || !names.has(item.path)) continue;
      this.unchanged(item, this.readOrViolation(img, item.file, what), what);
    }
  }
}
