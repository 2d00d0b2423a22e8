// The crash oracle. A mounted crash image is correct when fsck is clean and:
//  - every file matches the tree as it was when the mounted generation's commit began
//    (datacow data exactly: a commit is all or nothing);
//  - a nodatacow file may hold, per 8-byte word, any value the word had from that commit
//    up to the crash (its stores go in place and may tear at words);
//  - bytes made durable by a MAP_SYNC store + flush + fence are there (or newer bytes);
//  - a snapshot holds exactly what its source held when it was taken.
import type { FileSystem } from '../fs/filesystem.js';
import { dumpTree, diffDumps, type TreeDump, type DumpEntry } from './dump.js';

/** Over file offsets [from, to): a word must equal that word of one of `versions` (data[o - shift]). */
export interface WordCondition { from: number; to: number; versions: Array<{ data: Uint8Array; shift: number }> }
import type { CrashOracle } from './explorer.js';

/** Bytes made durable at one instant; `fromVersion`: the first version recorded after it. */
interface Floor { path: string; offset: number; bytes: Uint8Array; fromVersion: number }

export class ModelOracle implements CrashOracle {
  private readonly generations = new Map<number, TreeDump>();
  /**
   * Contents of nodatacow files: at each commit start and after each op, tagged with the
   * generation being built then (one entry per distinct content and generation). An
   * image may hold any of them, per word: the oracle does not narrow them by generation.
   */
  private readonly versions = new Map<string, Array<{ since: number; data: Uint8Array; seq: number }>>();
  /** Versions recorded so far (numbers them, so that a floor knows which came after it). */
  private versionSeq = 0;
  private building = 0;
  /** Bumped by every change that makes check() stricter (see CrashOracle.constraintRevision). */
  constraintRevision = 0;
  private readonly floors: Floor[] = [];
  private readonly snapshots = new Map<string, { dump: TreeDump; source: string }>();

  constructor(private readonly live: FileSystem) {
    this.building = live.statfs().generation;
    this.generations.set(this.building, dumpTree(live));
    live.kernel.commitStarting = (generation) => this.commitStarting(generation);
  }

  private commitStarting(generation: number): void {
    // A generation started again (after an aborted commit) gets a new expected tree.
    if (this.generations.has(generation)) this.constraintRevision++;
    const dump = dumpTree(this.live);
    this.generations.set(generation, dump);
    this.building = generation;
    this.record(dump);
  }

  /** Keep the nodatacow contents (at most 256 per file: the first and the latest). */
  private record(dump: TreeDump): void {
    for (const [path, e] of dump) {
      if (!e.nodatacow || !e.data) continue;
      const list = this.versions.get(path) ?? [];
      const last = list.at(-1);
      if (!last || last.since !== this.building || Buffer.compare(Buffer.from(last.data), Buffer.from(e.data)) !== 0) list.push({ since: this.building, data: e.data, seq: this.versionSeq++ });
      if (list.length > 256) { list.splice(1, list.length - 256); this.constraintRevision++; } // fewer versions: stricter
      this.versions.set(path, list);
    }
  }

  private lastLive: TreeDump = new Map();

  /** Files of the live file system whose read failed at the last afterOp. */
  liveReadErrors(): string[] {
    return [...this.lastLive].filter(([, e]) => e.error).map(([path, e]) => `${path}: live read failed: ${e.error}`);
  }

  /** After each op of the workload: remember the nodatacow files' new contents. */
  afterOp(): void {
    this.lastLive = dumpTree(this.live);
    this.record(this.lastLive);
  }

  /** Bytes that a MAP_SYNC store + flush + fence made durable. */
  addFloor(path: string, offset: number, bytes: Uint8Array): void {
    this.constraintRevision++;
    this.floors.push({ path, offset, bytes: Uint8Array.from(bytes), fromVersion: this.versionSeq });
  }

  /**
   * Sharing that lets a nodatacow file's words come from another file: a snapshot shares
   * its whole source tree, a reflink shares a range. The destination shares the source's
   * blocks, so the source's unflushed stores may be lost from both (or survive in both).
   * Recorded before the operation runs: a crash half way may already show the sharing.
   */
  private readonly aliases: Array<{ kind: 'tree' | 'range'; dst: string; src: string; srcOffset: number; dstOffset: number; length: number }> = [];

  /** A snapshot of `source` at `path` is about to be taken. */
  snapshotStarting(path: string, source = '/'): void {
    this.aliases.push({ kind: 'tree', dst: path, src: source, srcOffset: 0, dstOffset: 0, length: 0 });
  }

  /** A reflink of `src` into `dst` is about to be made (the whole file when `range` is absent). */
  cloneStarting(src: string, dst: string, range?: { srcOffset: number; dstOffset: number; length: number }): void {
    this.aliases.push({ kind: 'range', dst, src, srcOffset: range?.srcOffset ?? 0, dstOffset: range?.dstOffset ?? 0, length: range?.length ?? Number.MAX_SAFE_INTEGER });
  }

  /** A snapshot of `source` was taken at `path`: it must never change. */
  snapshotTaken(path: string, source = '/'): void {
    this.constraintRevision++;
    this.snapshots.set(path, { dump: dumpTree(this.live, path), source });
  }

  /**
   * Versions a nodatacow file of `size` bytes may hold, as whole-file arrays: its own, and
   * those of every file it shares blocks with (through snapshots and reflinks, transitively).
   */
  private versionsFor(path: string, size: number, base: Uint8Array, depth = 0): Uint8Array[] {
    const out = (this.versions.get(path) ?? []).map((v) => v.data);
    if (depth > 4) return out;
    for (const a of this.aliases) {
      if (a.kind === 'tree') {
        if (!path.startsWith(a.dst + '/')) continue;
        const inSource = (a.src === '/' ? '' : a.src) + path.slice(a.dst.length);
        out.push(...this.versionsFor(inSource, size, base, depth + 1));
      } else if (a.dst === path) {
        for (const v of this.versionsFor(a.src, Number.MAX_SAFE_INTEGER, base, depth + 1)) {
          // The shared range of the source version laid over this file's own bytes.
          const shifted = Uint8Array.from(base.subarray(0, size));
          const length = Math.min(a.length, v.length - a.srcOffset, size - a.dstOffset);
          if (length > 0) shifted.set(v.subarray(a.srcOffset, a.srcOffset + length), a.dstOffset);
          out.push(shifted);
        }
      }
    }
    return out;
  }

  private readonly clones = new Map<string, Uint8Array>();

  /** A reflink target was just made: until it is written, it holds what the source held. */
  cloneTaken(path: string): void {
    try {
      this.clones.set(path, this.live.readFile(path));
    } catch (e) {
      // An unreadable clone (EIO) is reported by liveReadErrors; there is nothing to keep.
      if ((e as { code?: string }).code !== 'EIO') throw e;
    }
  }

  /** The workload changes `path` itself: its clone record no longer applies. */
  forget(path: string): void {
    this.clones.delete(path);
  }

  /** Problems of the live file system: snapshots and reflink targets that changed. */
  checkLive(): string[] {
    const problems: string[] = [];
    for (const [path, data] of this.clones) {
      if (!this.live.exists(path)) continue;
      let now: Uint8Array;
      try { now = this.live.readFile(path); } catch { continue; }
      if (Buffer.compare(Buffer.from(now), Buffer.from(data)) !== 0) problems.push(`reflink target ${path} changed although nothing wrote to it`);
    }
    for (const [path, { dump }] of this.snapshots) {
      if (!this.live.exists(path)) continue;
      for (const p of diffDumps(dumpTree(this.live, path), dump)) problems.push(`snapshot ${path} changed: ${p}`);
    }
    return problems;
  }

  check(fs: FileSystem, generation: number): string[] {
    const problems = fs.fsck().map((p) => `fsck: ${p}`);
    const expected = this.generations.get(generation);
    if (!expected) return [...problems, `mounted generation ${generation}, which was never committed`];
    const actual = dumpTree(fs);
    for (const p of diffDumps(actual, expected)) {
      const path = p.slice(0, p.indexOf(':'));
      const e = expected.get(path);
      const a = actual.get(path);
      if (e?.nodatacow && a?.data && e.data && a.size === e.size && p.includes('contents differ')) {
        const bad = this.nocowWordMismatch(path, a.data, e.data);
        if (bad !== null) problems.push(`${path}: 8-byte word at ${bad} matches no version written since generation ${generation}`);
        continue;
      }
      problems.push(p);
    }
    for (const f of this.floors) {
      const got = actual.get(f.path)?.data?.subarray(f.offset, f.offset + f.bytes.length);
      // Per 8-byte word: the durable value, or a value stored after it (a later store to
      // the word may have reached media, whole or not at all: words never tear).
      const allowed = this.floorVersions(f).map((v) => v.data.subarray(f.offset - v.shift, f.offset - v.shift + f.bytes.length));
      const bad = got && got.length === f.bytes.length ? firstWordOutside(got, allowed) : 0;
      if (bad !== null) problems.push(`${f.path}: ${f.bytes.length} bytes at ${f.offset} made durable by MAP_SYNC + flush + fence are gone (word at +${bad})`);
    }
    for (const [path, { dump }] of this.snapshots) {
      if (!actual.has(path)) continue;
      const mounted = dumpTree(fs, path);
      for (const p of diffDumps(mounted, dump)) {
        const rel = p.slice(0, p.indexOf(':'));
        const a = mounted.get(rel);
        const e = dump.get(rel);
        // A nodatacow file's unflushed stores may be lost in the snapshot as in its source.
        if (e?.nodatacow && a?.data && a.size === e.size && p.includes('contents differ')
          && this.nocowWordMismatch(rel, a.data, e.data!) === null) continue;
        problems.push(`snapshot ${path} differs from its source at snapshot time: ${p}`);
      }
    }
    return problems;
  }

  /**
   * What check() allows of file data, per 8-byte word, for images that mount `generation`
   * with the same metadata as one that passed check(): for each path, conditions that
   * each give, over a range of file offsets, the values a word may hold (all must hold).
   * Datacow data has exactly one value; nodatacow data any of its versions; MAP_SYNC
   * floors and snapshots add their own conditions. Null when the generation is unknown.
   */
  dataRules(generation: number): Map<string, WordCondition[]> | null {
    const expected = this.generations.get(generation);
    if (!expected) return null;
    const rules = new Map<string, WordCondition[]>();
    const add = (path: string, c: WordCondition): void => {
      const list = rules.get(path) ?? [];
      list.push(c);
      rules.set(path, list);
    };
    const whole = (path: string, e: DumpEntry): WordCondition => ({
      from: 0, to: e.size,
      versions: [e.data!, ...(e.nodatacow ? this.versionsFor(path, e.size, e.data!) : [])].map((data) => ({ data, shift: 0 })),
    });
    for (const [path, e] of expected) if (e.kind === 'file' && e.data) add(path, whole(path, e));
    for (const f of this.floors) {
      add(f.path, { from: f.offset, to: f.offset + f.bytes.length, versions: this.floorVersions(f) });
    }
    for (const { dump } of this.snapshots.values()) {
      for (const [path, e] of dump) if (e.kind === 'file' && e.data) add(path, whole(path, e));
    }
    return rules;
  }

  /** What a floor's words may hold: the durable bytes, or any version stored after them. */
  private floorVersions(f: Floor): Array<{ data: Uint8Array; shift: number }> {
    const later = (this.versions.get(f.path) ?? []).filter((v) => v.seq >= f.fromVersion);
    return [{ data: f.bytes, shift: f.offset }, ...later.map((v) => ({ data: v.data, shift: 0 }))];
  }

  private nocowWordMismatch(path: string, data: Uint8Array, atCommit: Uint8Array): number | null {
    // A store through a writable nodatacow mapping is durable only once the application
    // flushes it (MAP_SYNC floors check those): any version of the word may survive.
    return firstWordOutside(data, [atCommit, ...this.versionsFor(path, data.length, atCommit)]);
  }
}

/** Offset of the first 8-byte word of `data` that equals that word in none of `versions`. */
function firstWordOutside(data: Uint8Array, versions: Uint8Array[]): number | null {
  for (let at = 0; at < data.length; at += 8) {
    const word = Buffer.from(data.buffer, data.byteOffset + at, Math.min(8, data.length - at));
    const ok = versions.some((v) => v.length >= at + word.length && word.equals(Buffer.from(v.buffer, v.byteOffset + at, word.length)));
    if (!ok) return at;
  }
  return null;
}
