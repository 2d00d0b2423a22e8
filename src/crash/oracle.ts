// The crash oracle. A mounted crash image is correct when fsck is clean and:
//  - every file matches the tree as it was when the mounted generation's commit began
//    (datacow data exactly: a commit is all or nothing);
//  - a nodatacow file may hold, per 8-byte word, any value the word had from that commit
//    up to the crash (its stores go in place and may tear at words);
//  - bytes made durable by a MAP_SYNC store + flush + fence are there (or newer bytes);
//  - a snapshot holds exactly what its source held when it was taken.
import type { FileSystem } from '../fs/filesystem.js';
import { dumpTree, diffDumps, type TreeDump } from './dump.js';
import type { CrashOracle } from './explorer.js';

interface Floor { path: string; offset: number; bytes: Uint8Array }

export class ModelOracle implements CrashOracle {
  private readonly generations = new Map<number, TreeDump>();
  /**
   * Contents of nodatacow files: at each commit start and after each op, tagged with the
   * generation being built then. An image of generation g may hold any of the versions
   * tagged g or later, per word.
   */
  private readonly versions = new Map<string, Array<{ since: number; data: Uint8Array }>>();
  private building = 0;
  private readonly floors: Floor[] = [];
  private readonly snapshots = new Map<string, { dump: TreeDump; source: string }>();

  constructor(private readonly live: FileSystem) {
    this.building = live.statfs().generation;
    this.generations.set(this.building, dumpTree(live));
    live.kernel.commitStarting = (generation) => this.commitStarting(generation);
  }

  private commitStarting(generation: number): void {
    const dump = dumpTree(this.live);
    this.generations.set(generation, dump);
    this.building = generation;
    this.record(dump);
  }

  /** Keep the nodatacow contents; drop versions no image can mount any more. */
  private record(dump: TreeDump): void {
    for (const [path, e] of dump) {
      if (!e.nodatacow || !e.data) continue;
      const list = this.versions.get(path) ?? [];
      const last = list.at(-1);
      if (!last || last.since !== this.building || Buffer.compare(Buffer.from(last.data), Buffer.from(e.data)) !== 0) list.push({ since: this.building, data: e.data });
      if (list.length > 256) list.splice(1, list.length - 256);
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
    this.floors.push({ path, offset, bytes: Uint8Array.from(bytes) });
  }

  /** A snapshot of `source` was taken at `path`: it must never change. */
  snapshotTaken(path: string, source = '/'): void {
    this.snapshots.set(path, { dump: dumpTree(this.live, path), source });
  }

  /**
   * Versions a nodatacow file may hold: its own, and, inside a snapshot, its source's
   * (the snapshot shares the source's blocks, whose unflushed stores may be lost).
   */
  private versionsFor(path: string): Uint8Array[] {
    const out = (this.versions.get(path) ?? []).map((v) => v.data);
    for (const [root, { source }] of this.snapshots) {
      if (!path.startsWith(root + '/')) continue;
      const inSource = (source === '/' ? '' : source) + path.slice(root.length);
      out.push(...(this.versions.get(inSource) ?? []).map((v) => v.data));
    }
    return out;
  }

  private readonly clones = new Map<string, Uint8Array>();

  /** A reflink target was just made: until it is written, it holds what the source held. */
  cloneTaken(path: string): void {
    this.clones.set(path, this.live.readFile(path));
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
      const a = actual.get(f.path);
      const got = a?.data?.subarray(f.offset, f.offset + f.bytes.length);
      if (!got || Buffer.compare(Buffer.from(got), Buffer.from(f.bytes)) !== 0) {
        const latest = this.versions.get(f.path)?.at(-1)?.data.subarray(f.offset, f.offset + f.bytes.length);
        if (!got || !latest || Buffer.compare(Buffer.from(got), Buffer.from(latest)) !== 0) {
          problems.push(`${f.path}: ${f.bytes.length} bytes at ${f.offset} made durable by MAP_SYNC + flush + fence are gone`);
        }
      }
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

  private nocowWordMismatch(path: string, data: Uint8Array, atCommit: Uint8Array): number | null {
    // A store through a writable nodatacow mapping is durable only once the application
    // flushes it (MAP_SYNC floors check those): any version of the word may survive.
    const versions = [atCommit, ...this.versionsFor(path)];
    for (let at = 0; at < data.length; at += 8) {
      const word = data.subarray(at, at + 8);
      const ok = versions.some((v) => Buffer.compare(Buffer.from(v.subarray(at, at + 8)), Buffer.from(word)) === 0);
      if (!ok) return at;
    }
    return null;
  }
}
