// Seeded random workload statements for the model-based tests (fs-model, fs-crash,
// fs-enospc): drawn from the model's tree so that most are valid and some must fail with
// an errno the model predicts. Each draw is one statement, or a short sequence the
// statements after it finish (a rewrite is `open PATH creat trunc` then `write`).
import type { Op } from '../workload/ast.js';
import { Rng } from '../random.js';
import { BLOCK, type FsModel } from './namespace.js';
import { PathPicker } from './path-picker.js';

/**
 * The generator of a seed's statements: the project's Rng (src/random.ts), in the stream
 * these tests have always drawn from (Rng.scaled, four draws skipped).
 */
export function opRng(seed: number): Rng {
  const rng = Rng.scaled(seed);
  for (let i = 0; i < 4; i++) rng.u32();
  return rng;
}

/** What a draw produces (the weights' keys): statements, named by the form they take. */
type DrawKind =
  | 'mkdir' | 'create' | 'rewrite' | 'write' | 'truncate' | 'fallocate' | 'punch' | 'zero'
  | 'unlink' | 'rmdir' | 'rename' | 'link' | 'clone range' | 'clone file' | 'setflag nodatacow'
  | 'create nodatacow' | 'snapshot' | 'mksubvol' | 'rmsubvol' | 'commit' | 'read whole'
  | 'readdir' | 'stat' | 'open fd' | 'write fd' | 'read fd' | 'fsync fd' | 'close';

/** Pick by weight (in tenths: Rng.weighted takes integer weights). */
function weighted<T extends string>(r: Rng, weights: Partial<Record<T, number>>): T {
  const entries = (Object.entries(weights) as [T, number][])
    .map(([k, w]): [T, number] => [k, Math.round(w * 10)])
    .filter(([, w]) => w > 0);
  return r.weighted(entries);
}

export interface GeneratorOptions {
  /** Emit nodatacow flags and files (in-place data: not for crash-consistency checks). */
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

/** What one draw knows: the tree, the open descriptors, and whether space is tight. */
interface Draw { p: PathPicker; fds: ReadonlyMap<string, number>; tight: boolean }

export class OpGenerator {
  private readonly opt: Required<GeneratorOptions>;
  private snapCounter = 0;
  private fdCounter = 0;
  /** Statements a draw left to finish (the rest of a sequence). */
  private readonly queued: Op[] = [];

  constructor(readonly rng: Rng, private readonly model: FsModel, options: GeneratorOptions = {}) {
    this.opt = {
      noDataCow: true, snapshots: true, commits: true, fds: true,
      maxFileBytes: 2 << 20, softLimitBytes: 20 << 20, maxSubvolumes: 3, bigWrites: false,
      ...options,
    };
  }

  /** The next statement; `fds` names the open descriptors (name -> the model's number). */
  next(fds: ReadonlyMap<string, number>): Op {
    const queued = this.queued.shift();
    if (queued) return queued;
    const p = new PathPicker(this.rng, this.model);
    const draw: Draw = { p, fds, tight: this.model.totalFileBytes() > this.opt.softLimitBytes };
    const [first, ...rest] = this.build(weighted(this.rng, this.weights(draw)), draw);
    this.queued.push(...rest);
    return first!;
  }

  private weights(d: Draw): Partial<Record<DrawKind, number>> {
    const { tight } = d;
    const many = d.p.all.length > 70 * (d.p.subvols.length + 1);
    const w: Partial<Record<DrawKind, number>> = {
      'mkdir': many ? 1 : 4, 'create': many ? 1 : 5,
      'rewrite': tight ? 2 : 8, 'write': tight ? 2 : 14,
      'truncate': tight ? 10 : 6, 'fallocate': tight ? 1 : 4, 'punch': 5, 'zero': tight ? 1 : 4,
      'unlink': tight ? 12 : 5, 'rmdir': 3, 'rename': 7, 'link': 3,
      'clone range': tight ? 1 : 5, 'clone file': tight ? 0.5 : 3,
      'read whole': 2, 'readdir': 1, 'stat': 1,
    };
    if (this.opt.noDataCow) {
      w['setflag nodatacow'] = 1.5;
      w['create nodatacow'] = 2;
    }
    if (this.opt.snapshots) {
      const room = d.p.subvols.length < this.opt.maxSubvolumes;
      w.snapshot = room && !tight ? 2.5 : 0;
      w.rmsubvol = d.p.subvols.length > 0 ? (tight ? 6 : 1.5) : 0;
      w.mksubvol = room ? 0.3 : 0;
    }
    if (this.opt.commits) w.commit = 2;
    if (this.opt.fds) this.descriptorWeights(w, d);
    return w;
  }

  private descriptorWeights(w: Partial<Record<DrawKind, number>>, d: Draw): void {
    const open = d.fds.size;
    w['open fd'] = open < 4 ? 2 : 0;
    w['write fd'] = open > 0 ? (d.tight ? 1 : 5) : 0;
    w['read fd'] = open > 0 ? 2 : 0;
    w.close = open > 0 ? 2 : 0;
    if (this.opt.commits) w['fsync fd'] = open > 0 ? 0.5 : 0;
  }

  private build(kind: DrawKind, d: Draw): Op[] {
    const { p } = d;
    const r = this.rng;
    switch (kind) {
      case 'mkdir': return [{ op: 'mkdir', path: r.chance(0.15) ? p.dirPath() : p.newPath() }];
      case 'create': return [{ op: 'create', path: r.chance(0.1) ? p.filePath() : p.newPath() }];
      case 'rewrite': return this.rewrite(r.chance(0.4) ? p.newPath() : p.filePath());
      case 'write': return [this.write(p.filePath(), p)];
      case 'truncate': return [this.truncate(p, d.tight)];
      case 'fallocate': return [this.fallocate(p)];
      case 'punch': case 'zero': return [this.zeroing(kind, p)];
      case 'unlink': return [{ op: 'unlink', path: r.chance(0.9) ? p.filePath() : p.anyPath() }];
      case 'rmdir': return [{ op: 'rmdir', path: p.dirPath() }];
      case 'rename': return [this.rename(p)];
      case 'link': {
        const from = r.chance(0.9) ? p.filePath() : p.anyPath();
        return [{ op: 'link', from, to: r.chance(0.85) ? p.newPath() : p.anyPath() }];
      }
      case 'clone range': return [this.cloneRange(p)];
      case 'clone file': return [this.cloneFile(p)];
      case 'setflag nodatacow': return [nodatacow(r.chance(0.8) ? p.filePath() : p.anyPath())];
      case 'create nodatacow': return this.createNoCow(p.newPath());
      default: return this.buildMore(kind, d);
    }
  }

  private buildMore(kind: DrawKind, d: Draw): Op[] {
    const { p } = d;
    const r = this.rng;
    switch (kind) {
      case 'snapshot': {
        // Snapshots of "/" hold the other snapshots as empty placeholder directories.
        const src = p.subvols.length > 0 && r.chance(0.5) ? r.pick(p.subvols)[0] : '/';
        const dst = `/snap${++this.snapCounter}`;
        return [{ op: 'snapshot', src, dst, readonly: r.chance(0.3) }];
      }
      case 'mksubvol': return [{ op: 'mksubvol', path: `/sub${++this.snapCounter}` }];
      case 'rmsubvol': {
        const path = p.subvols.length > 0 && r.chance(0.95) ? r.pick(p.subvols)[0] : p.anyPath();
        return [{ op: 'rmsubvol', path }];
      }
      case 'commit': return [{ op: 'commit' }];
      case 'read whole': return [{ op: 'read', path: p.filePath() }];
      case 'readdir': return [{ op: 'readdir', path: r.chance(0.2) ? '/' : p.dirPath(true) }];
      case 'stat': return [{ op: 'stat', path: p.anyPath() }];
      default: return [this.descriptorOp(kind, d)];
    }
  }

  private descriptorOp(kind: DrawKind, d: Draw): Op {
    const r = this.rng;
    if (kind === 'open fd') {
      const create = r.chance(0.3);
      const path = create && r.chance(0.5) ? d.p.newPath() : d.p.filePath();
      return { op: 'open', fd: `fd${++this.fdCounter}`, path, create, truncate: r.chance(0.1) };
    }
    const fd = r.pick([...d.fds.keys()]);
    const size = this.model.fds.get(d.fds.get(fd)!)?.size ?? 0;
    switch (kind) {
      case 'write fd': {
        const offset = this.offset(size);
        return { op: 'write', fd, offset, ...this.data(this.opt.maxFileBytes - offset) };
      }
      case 'read fd': {
        const offset = r.below(size + 100);
        return { op: 'read', fd, offset, length: r.between(1, 20000) };
      }
      case 'fsync fd': return { op: 'fsync', fd };
      case 'close': return { op: 'close', fd };
      default: throw new Error(`unhandled draw ${kind}`);
    }
  }

  /** The length and seed of a write's pattern bytes. */
  private data(maxLen?: number): { length: number; seed: number } {
    const r = this.rng;
    let len: number;
    const shape = r.below(10);
    if (shape < 3) len = r.between(1, 100);
    else if (shape < 6) len = r.between(1, 9000);
    else if (shape < 9) len = BLOCK * r.between(1, this.opt.bigWrites ? 64 : 8);
    else len = r.between(16 << 10, this.opt.bigWrites ? 3 << 19 : 192 << 10);
    if (maxLen !== undefined) len = Math.max(1, Math.min(len, maxLen));
    return { length: len, seed: r.u32() };
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

  /** The file's contents replaced (what writeFile does): truncate or create, then write. */
  private rewrite(path: string): Op[] {
    return [
      { op: 'open', path, create: true, truncate: true },
      { op: 'write', path, offset: 0, ...this.data() },
    ];
  }

  private write(path: string, p: PathPicker): Op {
    const offset = this.offset(p.sizeOf(path));
    return { op: 'write', path, offset, ...this.data(this.opt.maxFileBytes - offset) };
  }

  private truncate(p: PathPicker, tight: boolean): Op {
    const r = this.rng;
    const path = p.filePath();
    const size = p.sizeOf(path);
    const to = this.truncateTo(size);
    const newSize = tight ? r.below(size + 1) : Math.min(to, this.opt.maxFileBytes);
    return { op: 'truncate', path, size: newSize };
  }

  /** A size for a file of `size` bytes: 0, inside, page-aligned, past EOF, or up to twice it. */
  private truncateTo(size: number): number {
    const r = this.rng;
    const shape = r.below(5);
    if (shape === 0) return 0;
    if (shape === 1) return r.below(size + 1);
    if (shape === 2) return BLOCK * r.below(Math.ceil(size / BLOCK) + 1);
    if (shape === 3) return size + r.between(1, 40000);
    return r.below(size * 2 + 1);
  }

  private fallocate(p: PathPicker): Op {
    const path = p.filePath();
    const offset = this.offset(p.sizeOf(path));
    const length = Math.min(this.length(p.sizeOf(path)), this.opt.maxFileBytes - offset);
    return { op: 'fallocate', path, offset, length, keepSize: this.rng.chance(0.5) };
  }

  private zeroing(kind: 'punch' | 'zero', p: PathPicker): Op {
    const path = p.filePath();
    const size = p.sizeOf(path);
    const offset = this.rng.chance(0.85) ? this.rng.below(size + 1) : this.offset(size);
    const length = Math.min(this.length(size), this.opt.maxFileBytes - offset);
    if (kind === 'punch') return { op: 'punch', path, offset, length };
    return { op: 'zero', path, offset, length, keepSize: false };
  }

  private rename(p: PathPicker): Op {
    const r = this.rng;
    const from = r.chance(0.6) ? p.filePath() : p.dirPath(false, false);
    const shape = r.below(4);
    const to = shape === 0 ? p.filePath() : shape === 1 ? p.dirPath(false, false) : p.newPath();
    return { op: 'rename', from, to };
  }

  private cloneRange(p: PathPicker): Op {
    const r = this.rng;
    const src = p.filePath();
    const dst = r.chance(0.2) ? src : p.cloneTarget(src);
    const srcSize = p.sizeOf(src);
    const dstSize = p.sizeOf(dst);
    const srcOffset = r.chance(0.05) ? r.below(srcSize + 1)
      : BLOCK * r.below(Math.floor(srcSize / BLOCK) + 1);
    const dstBlocks = Math.min(Math.floor((dstSize + (64 << 10)) / BLOCK),
      Math.floor(this.opt.maxFileBytes / 2 / BLOCK));
    const dstOffset = r.chance(0.05) ? r.below(dstSize + 1) : BLOCK * r.below(dstBlocks + 1);
    const maxLen = Math.max(0, srcSize - srcOffset);
    let length: number;
    const shape = r.below(4);
    if (shape === 0 || maxLen === 0) length = maxLen; // to source EOF
    else if (shape === 3 && r.chance(0.15)) length = maxLen + BLOCK; // past EOF: EINVAL
    else length = BLOCK * r.between(1, Math.max(1, Math.floor(maxLen / BLOCK)));
    if (length === 0) length = BLOCK; // past EOF (EINVAL) rather than the open length-0 case
    return { op: 'clone', src, dst, range: { srcOffset, dstOffset, length } };
  }

  private cloneFile(p: PathPicker): Op {
    const src = p.filePath();
    const srcNode = this.model.tryLookup(src);
    const dst = this.rng.chance(0.5) && !srcNode?.nodatacow ? p.newPath() : p.cloneTarget(src);
    return { op: 'clone', src, dst };
  }

  /** A new nodatacow file with data: create, set the flag while it is empty, write. */
  private createNoCow(path: string): Op[] {
    return [
      { op: 'create', path }, nodatacow(path), { op: 'write', path, offset: 0, ...this.data() },
    ];
  }
}

function nodatacow(path: string): Op {
  return { op: 'setflag', path, flag: 'nodatacow', nocap: false };
}
