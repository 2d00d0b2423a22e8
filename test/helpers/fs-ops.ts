// Seeded random file-system operations, and a harness that runs each op on the real
// FileSystem and on the model (fs-model.ts) and compares the outcome: the same result,
// or an FsError whose code the model allows.
import { FsError, type ErrnoName } from '../../src/errors.js';
import { Rng } from '../../src/random.js';
import { patternBytes } from '../../src/workload/pattern.js';
import { FileSystem } from '../../src/fs/filesystem.js';
import type { PmemDevice } from '../../src/pmem/device.js';
import { BLOCK, FsModel, ModelError, Unspecified, type MNode } from './fs-model.js';

// --- randomness ----------------------------------------------------------------------

/**
 * The generator of a seed's ops: the project's Rng (src/random.ts), in the stream these
 * tests have always drawn from (Rng.scaled, four draws skipped), so that the seeds of
 * fs-model, fs-crash and fs-enospc keep their op sequences.
 */
export function opRng(seed: number): Rng {
  const rng = Rng.scaled(seed);
  for (let i = 0; i < 4; i++) rng.u32();
  return rng;
}

/** Pick by weight (in tenths: Rng.weighted takes integer weights; with Rng.scaled the same pick as by fraction). */
function weighted<T extends string>(r: Rng, weights: Partial<Record<T, number>>): T {
  const entries = (Object.entries(weights) as [T, number][])
    .map(([k, w]): [T, number] => [k, Math.round(w * 10)])
    .filter(([, w]) => w > 0);
  return r.weighted(entries);
}

export interface DataSpec {
  len: number;
  seed: number;
  kind: 'random' | 'zero' | 'pattern';
}

/** The bytes of a DataSpec (ops stay small and printable; the bytes are rebuilt). */
export function makeData(spec: DataSpec): Uint8Array {
  if (spec.kind === 'random') return patternBytes(spec.seed, spec.len); // the workload language's seeded bytes
  const out = new Uint8Array(spec.len);
  if (spec.kind === 'zero') return out;
  for (let i = 0; i < out.length; i++) out[i] = (spec.seed + (i % 13) * 17) & 0xff; // 'pattern'
  return out;
}

// --- operations ----------------------------------------------------------------------

export type Op =
  | { op: 'mkdir'; path: string }
  | { op: 'create'; path: string }
  | { op: 'writeFile'; path: string; data: DataSpec }
  /** open (no create) + pwrite + close */
  | { op: 'pwrite'; path: string; offset: number; data: DataSpec }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'fallocate'; path: string; offset: number; length: number; keepSize: boolean }
  | { op: 'punchHole'; path: string; offset: number; length: number }
  | { op: 'zeroRange'; path: string; offset: number; length: number }
  | { op: 'unlink'; path: string }
  | { op: 'rmdir'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'cloneRange'; src: string; srcOffset: number; dst: string; dstOffset: number; length: number }
  | { op: 'cloneFile'; src: string; dst: string }
  | { op: 'setNoDataCow'; path: string }
  | { op: 'createNoCow'; path: string; data: DataSpec }
  | { op: 'snapshot'; src: string; dst: string; readonly: boolean }
  | { op: 'createSubvolume'; path: string }
  | { op: 'deleteSubvolume'; path: string }
  | { op: 'commit' }
  | { op: 'readFile'; path: string }
  | { op: 'readdir'; path: string }
  | { op: 'stat'; path: string }
  | { op: 'openFd'; path: string; create: boolean; truncate: boolean }
  | { op: 'fdWrite'; fd: number; offset: number; data: DataSpec }
  | { op: 'fdRead'; fd: number; offset: number; length: number }
  | { op: 'fsync'; fd: number }
  | { op: 'closeFd'; fd: number };

export type OpName = Op['op'];

export function describeOp(op: Op): string {
  return JSON.stringify(op);
}

/** Paths an op touches (checked after it runs), with their parent directories. */
export function touchedPaths(op: Op): string[] {
  const paths: string[] = [];
  const add = (p: string): void => {
    paths.push(p);
    const i = p.lastIndexOf('/');
    paths.push(i <= 0 ? '/' : p.slice(0, i));
  };
  switch (op.op) {
    case 'rename': case 'link': add(op.from); add(op.to); break;
    case 'cloneRange': case 'cloneFile': add(op.src); add(op.dst); break;
    case 'snapshot': add(op.dst); break;
    case 'commit': case 'fdWrite': case 'fdRead': case 'fsync': case 'closeFd': break;
    default: add(op.path);
  }
  return [...new Set(paths)];
}

// --- generator -----------------------------------------------------------------------

export interface GeneratorOptions {
  /** Emit setNoDataCow / createNoCow (in-place data: not for crash-consistency checks). */
  noDataCow?: boolean;
  snapshots?: boolean;
  commits?: boolean;
  fds?: boolean;
  /** Largest file offset written. */
  maxFileBytes?: number;
  /** Above this many model bytes, prefer ops that free space. */
  softLimitBytes?: number;
  /** Most live subvolumes besides "/". */
  maxSubvolumes?: number;
  /** Writes of up to 1.5 MiB (several extents), to churn the allocator. */
  bigWrites?: boolean;
}

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

export class OpGenerator {
  private readonly opt: Required<GeneratorOptions>;
  private snapCounter = 0;

  constructor(readonly rng: Rng, private readonly model: FsModel, options: GeneratorOptions = {}) {
    this.opt = {
      noDataCow: true, snapshots: true, commits: true, fds: true,
      maxFileBytes: 2 << 20, softLimitBytes: 20 << 20, maxSubvolumes: 3, bigWrites: false, ...options,
    };
  }

  private depth(path: string): number {
    return path === '/' ? 0 : path.split('/').length - 1;
  }

  private data(maxLen?: number): DataSpec {
    const r = this.rng;
    let len: number;
    const shape = r.below(10);
    if (shape < 3) len = r.between(1, 100);
    else if (shape < 6) len = r.between(1, 9000);
    else if (shape < 9) len = BLOCK * r.between(1, this.opt.bigWrites ? 64 : 8);
    else len = r.between(16 << 10, this.opt.bigWrites ? 3 << 19 : 192 << 10);
    if (maxLen !== undefined) len = Math.max(1, Math.min(len, maxLen));
    const kind = r.chance(0.08) ? 'zero' : r.chance(0.1) ? 'pattern' : 'random';
    return { len, seed: r.u32(), kind };
  }

  /** An offset around an existing file of `size` bytes: inside, at EOF, or past it (sparse). */
  private offset(size: number): number {
    const r = this.rng;
    const shape = r.below(10);
    let off: number;
    if (shape < 2) off = 0;
    else if (shape < 5) off = r.below(size + 1);
    else if (shape < 7) off = BLOCK * r.below(Math.ceil(size / BLOCK) + 2);
    else if (shape < 8) off = size;
    else if (shape < 9) off = size + r.between(1, 64 << 10);
    else off = r.below(this.opt.maxFileBytes);
    return Math.min(off, this.opt.maxFileBytes - 1);
  }

  private length(size: number): number {
    const r = this.rng;
    const shape = r.below(4);
    if (shape === 0) return r.between(1, 600);
    if (shape === 1) return BLOCK * r.between(1, 6);
    if (shape === 2) return r.between(1, Math.max(1, size));
    return r.between(1, 96 << 10);
  }

  next(openFds: number[]): Op {
    const r = this.rng;
    const all = this.model.walk();
    const writable = (n: MNode): boolean => !n.subvol.readonly;
    const files = all.filter(([, n]) => n.kind === 'file');
    const dirs = all.filter(([, n]) => n.kind === 'dir');
    const subvols = this.model.subvolumes().filter(([p]) => p !== '/');
    const total = this.model.totalFileBytes();
    const tight = total > this.opt.softLimitBytes;
    const many = all.length > 70 * (subvols.length + 1);

    const pickFrom = (list: Array<[string, MNode]>): [string, MNode] | undefined => {
      if (list.length === 0) return undefined;
      const w = list.filter(([, n]) => writable(n));
      return w.length > 0 && r.chance(0.85) ? r.pick(w) : r.pick(list);
    };
    const oddPath = (): string => {
      const shape = r.below(3);
      if (shape === 0) return `/missing${r.below(3)}/${r.pick(NAMES)}`;
      if (shape === 1 && files.length > 0) return `${r.pick(files)[0]}/${r.pick(NAMES)}`;
      return `/${r.pick(NAMES)}${r.pick(NAMES)}`;
    };
    const anyPath = (): string => {
      if (r.chance(0.05)) return oddPath();
      return pickFrom(all.filter(([p]) => p !== '/'))?.[0] ?? oddPath();
    };
    const filePath = (): string => {
      if (r.chance(0.06)) return anyPath();
      return pickFrom(files)?.[0] ?? anyPath();
    };
    /** A directory; subvolume roots (whose rmdir/rename the API leaves open) only if asked. */
    const dirPath = (withSubvolumes = false, withPlaceholders = true): string => {
      if (r.chance(0.08)) return anyPath();
      return pickFrom(dirs.filter(([p, n]) => p !== '/' && (withSubvolumes || !n.subvolRoot) && (withPlaceholders || !n.placeholder)))?.[0] ?? oddPath();
    };
    /** A file like `src` for a clone (same nodatacow flag: cloning across the flag is left open). */
    const cloneTarget = (src: string): string => {
      const s = this.model.tryLookup(src);
      const like = files.filter(([p, n]) => p !== src && (!s || n.nodatacow === s.nodatacow));
      if (like.length === 0 || r.chance(0.05)) return filePath();
      return pickFrom(like)![0];
    };
    const newPath = (): string => {
      if (r.chance(0.04)) return oddPath();
      const parents = dirs.filter(([p, n]) => this.depth(p) < 3 && !n.placeholder);
      const [dir] = pickFrom(parents) ?? ['/', this.model.top.root];
      return `${dir === '/' ? '' : dir}/${r.pick(NAMES)}`;
    };
    const sizeOf = (p: string): number => {
      const n = this.model.tryLookup(p);
      return n && n.kind === 'file' ? n.size : 0;
    };

    const weights: Partial<Record<OpName, number>> = {
      mkdir: many ? 1 : 4,
      create: many ? 1 : 5,
      writeFile: tight ? 2 : 8,
      pwrite: tight ? 2 : 14,
      truncate: tight ? 10 : 6,
      fallocate: tight ? 1 : 4,
      punchHole: 5,
      zeroRange: tight ? 1 : 4,
      unlink: tight ? 12 : 5,
      rmdir: 3,
      rename: 7,
      link: 3,
      cloneRange: tight ? 1 : 5,
      cloneFile: tight ? 0.5 : 3,
      readFile: 2,
      readdir: 1,
      stat: 1,
    };
    if (this.opt.noDataCow) {
      weights.setNoDataCow = 1.5;
      weights.createNoCow = 2;
    }
    if (this.opt.snapshots) {
      weights.snapshot = subvols.length < this.opt.maxSubvolumes && !tight ? 2.5 : 0;
      weights.deleteSubvolume = subvols.length > 0 ? (tight ? 6 : 1.5) : 0;
      weights.createSubvolume = subvols.length < this.opt.maxSubvolumes ? 0.3 : 0;
    }
    if (this.opt.commits) weights.commit = 2;
    if (this.opt.fds) {
      weights.openFd = openFds.length < 4 ? 2 : 0;
      weights.fdWrite = openFds.length > 0 ? (tight ? 1 : 5) : 0;
      weights.fdRead = openFds.length > 0 ? 2 : 0;
      weights.closeFd = openFds.length > 0 ? 2 : 0;
      if (this.opt.commits) weights.fsync = openFds.length > 0 ? 0.5 : 0;
    }

    const kind = weighted(r, weights);
    switch (kind) {
      case 'mkdir': return { op: 'mkdir', path: r.chance(0.15) ? dirPath() : newPath() };
      case 'create': return { op: 'create', path: r.chance(0.1) ? filePath() : newPath() };
      case 'writeFile': return { op: 'writeFile', path: r.chance(0.4) ? newPath() : filePath(), data: this.data() };
      case 'pwrite': {
        const path = filePath();
        const offset = this.offset(sizeOf(path));
        return { op: 'pwrite', path, offset, data: this.data(this.opt.maxFileBytes - offset) };
      }
      case 'truncate': {
        const path = filePath();
        const size = sizeOf(path);
        const shape = r.below(5);
        const to = shape === 0 ? 0 : shape === 1 ? r.below(size + 1) : shape === 2 ? BLOCK * r.below(Math.ceil(size / BLOCK) + 1)
          : shape === 3 ? size + r.between(1, 40000) : r.below(size * 2 + 1);
        return { op: 'truncate', path, size: tight ? r.below(size + 1) : Math.min(to, this.opt.maxFileBytes) };
      }
      case 'fallocate': {
        const path = filePath();
        const offset = this.offset(sizeOf(path));
        return { op: 'fallocate', path, offset, length: Math.min(this.length(sizeOf(path)), this.opt.maxFileBytes - offset), keepSize: r.chance(0.5) };
      }
      case 'punchHole': case 'zeroRange': {
        const path = filePath();
        const size = sizeOf(path);
        const offset = r.chance(0.85) ? r.below(size + 1) : this.offset(size);
        return { op: kind, path, offset, length: Math.min(this.length(size), this.opt.maxFileBytes - offset) };
      }
      case 'unlink': return { op: 'unlink', path: r.chance(0.9) ? filePath() : anyPath() };
      case 'rmdir': return { op: 'rmdir', path: dirPath() };
      case 'rename': {
        const from = r.chance(0.6) ? filePath() : dirPath(false, false);
        const shape = r.below(4);
        const to = shape === 0 ? filePath() : shape === 1 ? dirPath(false, false) : newPath();
        return { op: 'rename', from, to };
      }
      case 'link': return { op: 'link', from: r.chance(0.9) ? filePath() : anyPath(), to: r.chance(0.85) ? newPath() : anyPath() };
      case 'cloneRange': {
        const src = filePath();
        const dst = r.chance(0.2) ? src : cloneTarget(src);
        const srcSize = sizeOf(src);
        const dstSize = sizeOf(dst);
        const srcOffset = r.chance(0.05) ? r.below(srcSize + 1) : BLOCK * r.below(Math.floor(srcSize / BLOCK) + 1);
        const dstOffset = r.chance(0.05) ? r.below(dstSize + 1)
          : BLOCK * r.below(Math.min(Math.floor((dstSize + (64 << 10)) / BLOCK), Math.floor(this.opt.maxFileBytes / 2 / BLOCK)) + 1);
        const maxLen = Math.max(0, srcSize - srcOffset);
        let length: number;
        const shape = r.below(4);
        if (shape === 0 || maxLen === 0) length = maxLen; // to source EOF
        else if (shape === 3 && r.chance(0.15)) length = maxLen + BLOCK; // past EOF: EINVAL
        else length = BLOCK * r.between(1, Math.max(1, Math.floor(maxLen / BLOCK)));
        if (length === 0) length = BLOCK; // past EOF (EINVAL) rather than the open length-0 case
        return { op: 'cloneRange', src, srcOffset, dst, dstOffset, length };
      }
      case 'cloneFile': {
        const src = filePath();
        const srcNode = this.model.tryLookup(src);
        const dst = r.chance(0.5) && !srcNode?.nodatacow ? newPath() : cloneTarget(src);
        return { op: 'cloneFile', src, dst };
      }
      case 'setNoDataCow': return { op: 'setNoDataCow', path: r.chance(0.8) ? filePath() : anyPath() };
      case 'createNoCow': return { op: 'createNoCow', path: newPath(), data: this.data() };
      case 'snapshot': {
        // Snapshots of "/" hold the other snapshots as empty placeholder directories.
        const src = subvols.length > 0 && r.chance(0.5) ? r.pick(subvols)[0] : '/';
        return { op: 'snapshot', src, dst: `/snap${++this.snapCounter}`, readonly: r.chance(0.3) };
      }
      case 'createSubvolume': return { op: 'createSubvolume', path: `/sub${++this.snapCounter}` };
      case 'deleteSubvolume': return { op: 'deleteSubvolume', path: subvols.length > 0 && r.chance(0.95) ? r.pick(subvols)[0] : anyPath() };
      case 'commit': return { op: 'commit' };
      case 'readFile': return { op: 'readFile', path: filePath() };
      case 'readdir': return { op: 'readdir', path: r.chance(0.2) ? '/' : dirPath(true) };
      case 'stat': return { op: 'stat', path: anyPath() };
      case 'openFd': {
        const create = r.chance(0.3);
        return { op: 'openFd', path: create && r.chance(0.5) ? newPath() : filePath(), create, truncate: r.chance(0.1) };
      }
      case 'fdWrite': {
        const fd = r.pick(openFds);
        const offset = this.offset(this.model.fds.get(fd)?.size ?? 0);
        return { op: 'fdWrite', fd, offset, data: this.data(this.opt.maxFileBytes - offset) };
      }
      case 'fdRead': {
        const fd = r.pick(openFds);
        const size = this.model.fds.get(fd)?.size ?? 0;
        return { op: 'fdRead', fd, offset: r.below(size + 100), length: r.between(1, 20000) };
      }
      case 'fsync': return { op: 'fsync', fd: r.pick(openFds) };
      case 'closeFd': return { op: 'closeFd', fd: r.pick(openFds) };
    }
    throw new Error(`unhandled op kind ${kind}`);
  }
}

// --- harness -------------------------------------------------------------------------

export class Mismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mismatch';
  }
}

/** The file system ran out of space where the model succeeded (allowed in ENOSPC mode). */
class OutOfSpace extends Error {}

/** Ops that must fail whole on ENOSPC (a pre-check before any change). */
export const ATOMIC_ON_ENOSPC: ReadonlySet<OpName> = new Set<OpName>([
  'mkdir', 'create', 'pwrite', 'fdWrite', 'fallocate', 'unlink', 'rmdir', 'rename', 'link',
  'setNoDataCow', 'snapshot', 'createSubvolume', 'deleteSubvolume', 'openFd', 'commit', 'fsync', 'closeFd',
]);
/** Ops that may fail with ENOSPC partway (truncate first, or edge writes without a pre-check). */
export const PARTIAL_ON_ENOSPC: ReadonlySet<OpName> = new Set<OpName>([
  'writeFile', 'truncate', 'punchHole', 'zeroRange', 'cloneRange', 'cloneFile', 'createNoCow',
]);

type Outcome<T> = { ok: true; value: T } | { ok: false; codes: ErrnoName[] } | { ok: 'unspecified'; reason: string };

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length
    && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  return `lengths ${a.length} (fs) and ${b.length} (model), first difference at ${i}: fs ${a[i]}, model ${b[i]}`;
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return bytesEqual(a, b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  return JSON.stringify(v);
}

export interface HarnessStats {
  ops: number;
  skipped: number;
  errors: number;
  byOp: Record<string, number>;
  errorsByCode: Record<string, number>;
  skippedByReason: Record<string, number>;
  remounts: number;
  fullChecks: number;
}

/**
 * Runs ops on the FileSystem and the model side by side. Any difference throws Mismatch
 * (with the op); the caller adds the seed and the history.
 */
export class Harness {
  fs: FileSystem;
  /** model fd -> fs fd */
  readonly fdMap = new Map<number, number>();
  readonly history: Op[] = [];
  readonly stats: HarnessStats = { ops: 0, skipped: 0, errors: 0, byOp: {}, errorsByCode: {}, skippedByReason: {}, remounts: 0, fullChecks: 0 };
  /**
   * The states a crash may legally show: the model at the last commit. Besides commit,
   * fsync and unmount, the file system may commit on its own inside an op (a snapshot
   * does; so may a full dirty-node pool): statfs().generation tells. With
   * trackDurable on, such an op leaves the states before it, inside it (writeFile and
   * cloneFile are truncate/create + write/clone) and after it as candidates.
   */
  durable: FsModel[];
  /** Clone the model around every op to follow implicit commits (crash tests). */
  trackDurable = false;
  /** Ops during which the file system committed on its own. */
  implicitCommits = 0;
  /**
   * ENOSPC mode (a small device): an op may fail with ENOSPC where the model succeeds.
   * An op of ATOMIC_ON_ENOSPC must then have changed nothing (the model is rolled back and
   * the touched paths compared); after one of PARTIAL_ON_ENOSPC the model takes over the
   * touched file as the file system left it (size and bytes; everything else must match).
   */
  enospcMode = false;
  readonly enospc: Record<string, number> = {};
  private currentOp: Op | undefined;

  constructor(readonly device: PmemDevice, fs: FileSystem, readonly model: FsModel = new FsModel()) {
    this.fs = fs;
    this.durable = [model.clone()];
  }

  /** The single state of the last explicit commit (when no implicit commit followed it). */
  get committed(): FsModel {
    if (this.durable.length !== 1) throw new Error(`${this.durable.length} candidate durable states`);
    return this.durable[0]!;
  }

  generation(): number {
    return this.fs.statfs().generation;
  }

  /** mkfs + mount a fresh device. */
  static fresh(device: PmemDevice): Harness {
    FileSystem.mkfs(device);
    return new Harness(device, FileSystem.mount(device));
  }

  openFds(): number[] {
    return [...this.fdMap.keys()];
  }

  /** Run on both sides; compare. Returns the model outcome. */
  both<T>(what: string, onFs: () => T, onModel: () => T, equal: (a: T, b: T) => boolean = sameValue): Outcome<T> {
    let expected: Outcome<T>;
    try {
      expected = { ok: true, value: onModel() };
    } catch (e) {
      if (e instanceof Unspecified) return { ok: 'unspecified', reason: e.message };
      if (!(e instanceof ModelError)) throw e;
      expected = { ok: false, codes: e.codes };
    }
    let got: Outcome<T>;
    try {
      got = { ok: true, value: onFs() };
    } catch (e) {
      if (!(e instanceof FsError)) {
        const err = e as Error;
        throw new Mismatch(`${what}: threw ${err?.name ?? typeof e} (not an FsError): ${err?.message ?? String(e)}\n${err?.stack ?? ''}`);
      }
      got = { ok: false, codes: [e.code] };
      if (e.code === 'ENOSPC' && this.enospcMode && this.currentOp
        && (ATOMIC_ON_ENOSPC.has(this.currentOp.op) || PARTIAL_ON_ENOSPC.has(this.currentOp.op))) {
        throw new OutOfSpace(`${what}: ${e.message}`);
      }
      if (expected.ok === true) throw new Mismatch(`${what}: fs threw ${e.code} (${e.message}), model succeeded with ${show(expected.value)}`);
      if (expected.ok === false && !expected.codes.includes(e.code)) {
        throw new Mismatch(`${what}: fs threw ${e.code} (${e.message}), model expected ${expected.codes.join(' or ')}`);
      }
      return expected;
    }
    if (expected.ok === false) throw new Mismatch(`${what}: fs succeeded with ${show(got.value)}, model expected ${expected.codes.join(' or ')}`);
    if (expected.ok === true && got.ok === true && !equal(got.value, expected.value)) {
      const detail = got.value instanceof Uint8Array && expected.value instanceof Uint8Array
        ? firstDiff(got.value, expected.value) : `fs ${show(got.value)}, model ${show(expected.value)}`;
      throw new Mismatch(`${what}: results differ: ${detail}`);
    }
    return expected;
  }

  /** Run one op on both sides, then check the paths it touched. */
  apply(op: Op, check = true): Outcome<unknown> {
    this.history.push(op);
    this.stats.ops++;
    this.stats.byOp[op.op] = (this.stats.byOp[op.op] ?? 0) + 1;
    const before = this.trackDurable ? this.model.clone() : undefined;
    const genBefore = this.trackDurable ? this.generation() : 0;
    const rollback = this.enospcMode ? this.model.clone(true) : undefined;
    this.currentOp = op;
    let out: Outcome<unknown>;
    try {
      out = this.run(op);
    } catch (e) {
      if (!(e instanceof OutOfSpace) || !rollback) throw e;
      this.enospc[op.op] = (this.enospc[op.op] ?? 0) + 1;
      this.model.assignFrom(rollback);
      // Descriptors the op opened and closed again (pwrite) are gone on both sides.
      for (const fd of [...this.fdMap.keys()]) if (!this.model.fds.has(fd)) this.fdMap.delete(fd);
      if (PARTIAL_ON_ENOSPC.has(op.op)) this.adopt(op);
      out = { ok: false, codes: ['ENOSPC'] };
    } finally {
      this.currentOp = undefined;
    }
    if (before) {
      if (op.op === 'commit' || op.op === 'fsync') this.durable = [this.model.clone()];
      else if (this.generation() !== genBefore) {
        this.implicitCommits++;
        this.durable = [before, ...intermediateStates(before, op), this.model.clone()];
      }
    }
    if (out.ok === 'unspecified') {
      this.stats.skipped++;
      this.stats.skippedByReason[out.reason] = (this.stats.skippedByReason[out.reason] ?? 0) + 1;
    }
    else if (out.ok === false) {
      this.stats.errors++;
      const c = out.codes.join('|');
      this.stats.errorsByCode[c] = (this.stats.errorsByCode[c] ?? 0) + 1;
    }
    if (check) for (const p of touchedPaths(op)) this.checkPath(p);
    return out;
  }

  private run(op: Op): Outcome<unknown> {
    const { fs, model } = this;
    const w = describeOp(op);
    switch (op.op) {
      case 'mkdir': return this.both(w, () => fs.mkdir(op.path), () => model.mkdir(op.path));
      case 'create': return this.both(w, () => fs.create(op.path), () => model.create(op.path));
      case 'writeFile': {
        const data = makeData(op.data);
        return this.both(w, () => fs.writeFile(op.path, data), () => model.writeFile(op.path, data));
      }
      case 'pwrite': {
        const opened = this.openBoth(w, op.path, {});
        if (opened.ok !== true) return opened;
        const [fsFd, mFd] = opened.value;
        const data = makeData(op.data);
        try {
          return this.both(w, () => fs.pwrite(fsFd, data, op.offset), () => model.pwrite(mFd, data, op.offset));
        } finally {
          this.fdMap.delete(mFd);
          this.both(`${w} (close)`, () => fs.close(fsFd), () => model.close(mFd));
        }
      }
      case 'truncate': return this.both(w, () => fs.truncate(op.path, op.size), () => model.truncate(op.path, op.size));
      case 'fallocate': return this.both(w, () => fs.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize }),
        () => model.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize }));
      case 'punchHole': return this.both(w, () => fs.punchHole(op.path, op.offset, op.length), () => model.punchHole(op.path, op.offset, op.length));
      case 'zeroRange': return this.both(w, () => fs.zeroRange(op.path, op.offset, op.length), () => model.zeroRange(op.path, op.offset, op.length));
      case 'unlink': return this.both(w, () => fs.unlink(op.path), () => model.unlink(op.path));
      case 'rmdir': return this.both(w, () => fs.rmdir(op.path), () => model.rmdir(op.path));
      case 'rename': return this.both(w, () => fs.rename(op.from, op.to), () => model.rename(op.from, op.to));
      case 'link': return this.both(w, () => fs.link(op.from, op.to), () => model.link(op.from, op.to));
      case 'cloneRange': return this.both(w, () => fs.cloneRange(op.src, op.srcOffset, op.dst, op.dstOffset, op.length),
        () => model.cloneRange(op.src, op.srcOffset, op.dst, op.dstOffset, op.length));
      case 'cloneFile': return this.both(w, () => fs.cloneFile(op.src, op.dst), () => model.cloneFile(op.src, op.dst));
      case 'setNoDataCow': return this.both(w, () => fs.setNoDataCow(op.path), () => model.setNoDataCow(op.path));
      case 'createNoCow': {
        const created = this.both(w, () => fs.create(op.path), () => model.create(op.path));
        if (created.ok !== true) return created;
        const set = this.both(`${w} (setNoDataCow)`, () => fs.setNoDataCow(op.path), () => model.setNoDataCow(op.path));
        if (set.ok !== true) return set;
        const data = makeData(op.data);
        return this.both(`${w} (writeFile)`, () => fs.writeFile(op.path, data), () => model.writeFile(op.path, data));
      }
      case 'snapshot': return this.both(w, () => fs.snapshot(op.src, op.dst, { readonly: op.readonly }),
        () => model.snapshot(op.src, op.dst, { readonly: op.readonly }));
      case 'createSubvolume': return this.both(w, () => fs.createSubvolume(op.path), () => model.createSubvolume(op.path));
      case 'deleteSubvolume': return this.both(w, () => fs.deleteSubvolume(op.path), () => model.deleteSubvolume(op.path));
      case 'commit': {
        const out = this.both(w, () => fs.commit(), () => undefined);
        this.durable = [model.clone()];
        return out;
      }
      case 'readFile': return this.both(w, () => fs.readFile(op.path), () => model.readFile(op.path));
      case 'readdir': return this.both(w, () => [...fs.readdir(op.path)].sort(), () => model.readdir(op.path));
      case 'stat': return this.both(w, () => this.fsStat(op.path), () => FsModel.statOf(model.lookup(op.path)), (a, b) => this.statMatches(op.path, a, b));
      case 'openFd': {
        const opened = this.openBoth(w, op.path, { create: op.create, truncate: op.truncate });
        return opened;
      }
      case 'fdWrite': {
        const fsFd = this.fdMap.get(op.fd)!;
        const data = makeData(op.data);
        return this.both(w, () => fs.pwrite(fsFd, data, op.offset), () => model.pwrite(op.fd, data, op.offset));
      }
      case 'fdRead': {
        const fsFd = this.fdMap.get(op.fd)!;
        return this.both(w, () => fs.pread(fsFd, op.length, op.offset), () => model.pread(op.fd, op.length, op.offset));
      }
      case 'fsync': {
        const fsFd = this.fdMap.get(op.fd)!;
        const out = this.both(w, () => fs.fsync(fsFd), () => { model.fds.get(op.fd); });
        this.durable = [model.clone()];
        return out;
      }
      case 'closeFd': {
        const fsFd = this.fdMap.get(op.fd)!;
        const out = this.both(w, () => fs.close(fsFd), () => model.close(op.fd));
        this.fdMap.delete(op.fd);
        return out;
      }
    }
  }

  /** After a partial ENOSPC: take the touched file's size and bytes from the file system. */
  private adopt(op: Op): void {
    const path = op.op === 'cloneRange' || op.op === 'cloneFile' ? op.dst : 'path' in op ? op.path : undefined;
    if (path === undefined) return;
    let exists: boolean;
    try { exists = this.fs.exists(path); } catch { return; }
    const node = this.model.tryLookup(path);
    if (exists && !node) {
      try { this.model.create(path); } catch { return; }
    }
    const target = this.model.tryLookup(path);
    if (!exists || !target || target.kind !== 'file') return;
    target.data = this.fs.readFile(path);
    if (op.op === 'createNoCow') target.nodatacow = this.fs.stat(path).nodatacow;
  }

  private openBoth(what: string, path: string, options: { create?: boolean; truncate?: boolean }): Outcome<[number, number]> {
    let fsFd: unknown = -1;
    let mFd = -1;
    const out = this.both(`${what} (open)`, () => { fsFd = this.fs.open(path, options); return 0; },
      () => { mFd = this.model.open(path, options); return 0; });
    if (out.ok !== true) return out;
    if (typeof fsFd !== 'number' || !Number.isInteger(fsFd) || fsFd < 0) throw new Mismatch(`${what}: open returned ${String(fsFd)}, not a file descriptor`);
    this.fdMap.set(mFd, fsFd);
    return { ok: true, value: [fsFd, mFd] };
  }

  fsStat(path: string): { kind: string; size: number; nlink: number; nodatacow: boolean } {
    const st = this.fs.stat(path);
    return { kind: st.kind, size: st.size, nlink: st.nlink, nodatacow: st.nodatacow };
  }

  private statMatches(path: string, a: { kind: string; size: number; nlink: number; nodatacow: boolean },
    b: { kind: string; size: number; nlink: number; nodatacow: boolean }): boolean {
    if (path === '/' || path === '') return a.kind === 'dir' || a.kind === 'subvolume';
    if (a.kind !== b.kind) return false;
    if (b.kind !== 'file') return true; // directory size and link count are the implementation's
    return a.size === b.size && a.nlink === b.nlink && a.nodatacow === b.nodatacow;
  }

  /** Compare one path (non-recursive): existence, stat, contents or listing. */
  checkPath(path: string, model: FsModel = this.model, fs: FileSystem = this.fs): void {
    const node = model.tryLookup(path);
    let exists: boolean;
    try {
      exists = fs.exists(path);
    } catch (e) {
      throw new Mismatch(`exists(${path}) threw ${(e as Error).message}`);
    }
    if (exists !== (node !== undefined)) throw new Mismatch(`exists(${path}): fs ${exists}, model ${node !== undefined}`);
    if (!node) return;
    this.checkNode(path, node, fs);
  }

  private checkNode(path: string, node: MNode, fs: FileSystem): void {
    const what = `check ${path}`;
    const mst = FsModel.statOf(node);
    let st;
    try {
      st = fs.stat(path);
    } catch (e) {
      throw new Mismatch(`${what}: stat threw ${(e as Error).message}`);
    }
    const got = { kind: st.kind, size: st.size, nlink: st.nlink, nodatacow: st.nodatacow };
    if (!this.statMatches(path, got, mst)) throw new Mismatch(`${what}: stat differs: fs ${JSON.stringify(got)}, model ${JSON.stringify(mst)}`);
    if (node.kind === 'dir') {
      let names: string[];
      try { names = [...fs.readdir(path)].sort(); } catch (e) { throw new Mismatch(`${what}: readdir threw ${(e as Error).message}`); }
      const expected = [...node.entries.keys()].sort();
      if (JSON.stringify(names) !== JSON.stringify(expected)) {
        throw new Mismatch(`${what}: readdir differs: fs ${JSON.stringify(names)}, model ${JSON.stringify(expected)}`);
      }
    } else {
      let data: Uint8Array;
      try { data = fs.readFile(path); } catch (e) { throw new Mismatch(`${what}: readFile threw ${(e as Error).message}`); }
      if (!bytesEqual(data, node.data)) throw new Mismatch(`${what}: contents differ: ${firstDiff(data, node.data)}`);
    }
  }

  /**
   * Compare the whole tree: every directory listing, every file's stat and bytes, and
   * inode identity (hard links share (subvolume, ino); distinct files do not).
   */
  checkTree(model: FsModel = this.model, fs: FileSystem = this.fs): void {
    this.stats.fullChecks++;
    const ids = new Map<MNode, string>();
    const owners = new Map<string, MNode>();
    for (const [path, node] of model.walk()) {
      this.checkNode(path, node, fs);
      if (node.kind !== 'file') continue;
      const st = fs.stat(path);
      const id = `${st.subvolume}:${st.ino}`;
      const known = ids.get(node);
      if (known !== undefined && known !== id) throw new Mismatch(`hard links differ in identity: ${path} is ${id}, another link is ${known}`);
      const owner = owners.get(id);
      if (owner !== undefined && owner !== node) throw new Mismatch(`${path}: (subvolume, ino) ${id} is shared with a different file`);
      ids.set(node, id);
      owners.set(id, node);
    }
  }

  /**
   * Compare the whole tree with each candidate; return the index of the one that matches,
   * or throw a Mismatch listing why each candidate failed.
   */
  checkTreeAny(candidates: FsModel[], fs: FileSystem = this.fs): number {
    const why: string[] = [];
    for (const [i, m] of candidates.entries()) {
      try {
        this.checkTree(m, fs);
        return i;
      } catch (e) {
        if (!(e instanceof Mismatch)) throw e;
        why.push(`candidate ${i + 1}/${candidates.length}: ${e.message}`);
      }
    }
    throw new Mismatch(why.join('\n'));
  }

  fsck(): string[] {
    return this.fs.fsck();
  }

  closeAll(): void {
    for (const [mFd, fsFd] of this.fdMap) {
      this.both(`close fd ${mFd}`, () => this.fs.close(fsFd), () => this.model.close(mFd));
    }
    this.fdMap.clear();
  }

  /** Close every fd, unmount (commits), mount again; then check the whole tree and fsck. */
  remount(): void {
    this.closeAll();
    this.fs.unmount();
    this.fs = FileSystem.mount(this.device);
    this.durable = [this.model.clone()];
    this.stats.remounts++;
    this.checkTree();
    const problems = this.fs.fsck();
    if (problems.length > 0) throw new Mismatch(`fsck after remount: ${problems.slice(0, 20).join('; ')}`);
  }

  /** The last n ops, one a line. */
  recent(n = 40): string {
    const start = Math.max(0, this.history.length - n);
    return this.history.slice(start).map((op, i) => `  #${start + i}: ${describeOp(op)}`).join('\n');
  }
}

/** States inside a composite op that an implicit commit may have made durable. */
export function intermediateStates(before: FsModel, op: Op): FsModel[] {
  let path: string;
  if (op.op === 'writeFile') path = op.path;
  else if (op.op === 'cloneFile') path = op.dst;
  else return [];
  const m = before.clone();
  try {
    const node = m.tryLookup(path);
    if (node && node.kind === 'file') m.truncate(path, 0);
    else if (!node) m.create(path);
    else return [];
  } catch (e) {
    if (e instanceof ModelError || e instanceof Unspecified) return [];
    throw e;
  }
  return [m];
}

/** Replay ops on a fresh device + model, stopping at the first mismatch (for shrinking). */
export function replay(device: PmemDevice, ops: Op[], options: { checkEvery?: number; remountEvery?: number } = {}): Mismatch | undefined {
  const h = Harness.fresh(device);
  const pending: Op[] = [];
  try {
    for (const [i, op] of ops.entries()) {
      // fd ops refer to model fds by number: replay keeps them valid only if their opens ran.
      if ('fd' in op && !h.fdMap.has(op.fd)) continue;
      pending.push(op);
      h.apply(op);
      if (options.checkEvery && (i + 1) % options.checkEvery === 0) h.checkTree();
      if (options.remountEvery && (i + 1) % options.remountEvery === 0) h.remount();
    }
    h.checkTree();
    h.remount();
  } catch (e) {
    if (e instanceof Mismatch) return e;
    throw e;
  }
  return undefined;
}
