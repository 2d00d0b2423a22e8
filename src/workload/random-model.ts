// What randomScript (src/workload/generate.ts) knows of the state its script leaves: the
// files and their sizes, the directory, the mappings, snapshots, symlinks. Every draw
// consults it so that each operation is valid, or carries the errno it must fail with.
import type { ErrnoName } from '../errors.js';
import type { Op, PolicyName } from './ast.js';
import type { Rng } from '../random.js';

export const PAGE = 4096;

export interface Inode { id: number; size: number; nodatacow: boolean; xattrs: Set<string> }
export interface Mapping {
  name: string;
  ino: Inode;
  offset: number;
  length: number;
  prot: 'r' | 'rw';
  sync: boolean;
}

export const FILE_NAMES = ['/f0', '/f1', '/f2', '/d/g0', '/d/g1'];
export const MAP_NAMES = ['m0', 'm1', 'm2', 'm3'];
/**
 * Names symlinks and special files take (apart from FILE_NAMES: the file operations never
 * meet them).
 */
export const LINK_NAMES = ['/l0', '/l1', '/l2', '/p0'];
export const XATTR_NAMES = ['user.a', 'user.b', 'trusted.t', 'security.s'];

export class RandomModel {
  files = new Map<string, Inode>();
  dirExists = false;
  frozen = false;
  maps = new Map<string, Mapping>();
  snapshots = 0;
  /** Snapshots not deleted yet. */
  liveSnapshots: string[] = [];
  populated = false;
  filledUp = false;
  /** The DAX-immutable file (outside `files`: other operations never pick it), or null. */
  immutableFile: string | null = null;
  immutables = 0;
  private nextIno = 1;
  constructor(readonly policy: Partial<Record<PolicyName, boolean>>) {}

  /**
   * Symlinks by path: their targets (a FILE_NAMES path, which may not exist). Special
   * files: null.
   */
  links = new Map<string, string | null>();
  newInode(): Inode { return { id: this.nextIno++, size: 0, nodatacow: false, xattrs: new Set() }; }
  parentExists(p: string): boolean { return !p.startsWith('/d/') || this.dirExists; }
  dirEmpty(): boolean { return ![...this.files.keys()].some((p) => p.startsWith('/d/')); }
}

/** Append an operation to the script, with the errno it must fail with, if any. */
export type Emit = (op: Op, expect?: ErrnoName) => void;

/** What one draw works with: the generator, the model, and the script's bounds. */
export interface Draw {
  rng: Rng;
  m: RandomModel;
  /** The files that exist (the keys of m.files when the step began). */
  files: string[];
  emit: Emit;
  /** The step's number: the seed of the bytes it writes. */
  seq: number;
  maxFile: number;
  maxOp: number;
  /** Operations that must fail may be drawn. */
  errors: boolean;
  /** DAX mappings may be drawn. */
  useMmap: boolean;
  /** Snapshots may be drawn. */
  snapshots: boolean;
}

/** A range for a data operation: page-aligned now and then, within the script's bounds. */
export function drawRange(d: Draw): { offset: number; length: number } {
  const { rng, maxFile } = d;
  const offset = rng.chance(0.3) ? rng.below(maxFile / PAGE) * PAGE : rng.below(maxFile);
  const drawn = rng.chance(0.3) ? rng.between(1, 4) * PAGE : rng.between(1, d.maxOp);
  const length = Math.max(1, Math.min(drawn, maxFile - offset));
  return { offset, length };
}

/** A snapshot of the root subvolume, /sN, kept among the live ones. */
export function takeSnapshot(d: Draw, readonly: boolean): void {
  const m = d.m;
  m.snapshots++;
  d.emit({ op: 'snapshot', src: '/', dst: `/s${m.snapshots}`, readonly });
  m.liveSnapshots.push(`/s${m.snapshots}`);
}

/** An offset: page-aligned or not, below `limit` (at least 1). */
export function drawOffset(rng: Rng, limit: number): number {
  return rng.chance(0.5)
    ? rng.below(Math.max(1, Math.ceil(limit / PAGE))) * PAGE
    : rng.below(Math.max(1, limit));
}
