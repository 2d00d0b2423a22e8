// The model's inodes and subvolumes (namespace.ts): what one inode holds, and the
// questions asked of a subvolume's tree of them.
import type { ErrnoName } from '../errors.js';
import { assert } from '../assert.js';
import type { SpecialKind as SpecialFileKind } from '../fs/special.js';

export class MSubvol {
  constructor(readonly id: number, public readonly: boolean, public root: MNode) {}
}

/** Identity of model inodes across copies of a model (a snapshot's copies get new ones). */
let nextNodeId = 1;

/** See MNode.preallocPromise. */
export interface PreallocPromise { kept: boolean }

export class MNode {
  /** The inode's identity: kept by FsModel.clone, new for every inode a snapshot copies. */
  id = nextNodeId++;
  /** File bytes, exactly `size` long (files only). */
  data: Uint8Array = new Uint8Array(0);
  /** Directory entries (directories only). */
  entries = new Map<string, MNode>();
  /** Parent directory (directories only; undefined for a subvolume root). */
  parent: MNode | undefined;
  nlink = 1;
  nodatacow = false;
  /**
   * fallocate(keepSize) reserved blocks past EOF (dropped again by a truncate that shrinks
   * the file): whether a size-0 file with such blocks is "empty" for setNoDataCow is open.
   */
  preallocPastEof = false;
  /**
   * Per 4 KiB page: PAGE_HOLE, PAGE_DATA or PAGE_PREALLOC (what the DAX-immutable flag
   * asks of a file: every page data). Never changed in place, like `data`.
   */
  pages: Uint8Array = new Uint8Array(0);
  /**
   * A snapshot or a reflink shared this file's blocks (the file system decides when a write
   * unshares them).
   */
  maybeShared = false;
  /**
   * fallocate's promise: a write into preallocated pages never fails with ENOSPC. Kept
   * while no other file can fill those blocks first: shared by the copies a snapshot
   * makes, and broken for them all by a writable snapshot or a reflink (whose other side
   * may fill the bytes, after which this file's write needs new space).
   */
  preallocPromise: PreallocPromise = { kept: true };
  /** The DAX-immutable flag (thread 004): metadata frozen, data changed only through mmap. */
  immutable = false;
  /** Set on the root directory of a subvolume. */
  subvolRoot: MSubvol | undefined;
  /**
   * A snapshot does not contain the subvolumes nested in its source: each shows as an
   * empty directory (btrfs does the same). Creating in it or renaming it is left open.
   */
  placeholder = false;
  /** A symlink's target (symlinks only). */
  target = '';
  /**
   * Extended attributes: name -> value (arrays never changed in place). Hard links share
   * the node.
   */
  xattrs = new Map<string, Uint8Array>();
  /** A device's number (devices only). */
  rdev = 0;
  constructor(readonly kind: 'file' | 'dir' | 'symlink' | SpecialFileKind,
    public subvol: MSubvol) {}

  get size(): number {
    return this.data.length;
  }

  /** What a copy of an inode holds (a snapshot's copy, or a whole-model clone). */
  takeContents(from: MNode): void {
    this.data = from.data;
    this.pages = from.pages;
    this.nlink = from.nlink;
    this.nodatacow = from.nodatacow;
    this.preallocPastEof = from.preallocPastEof;
    this.target = from.target;
    this.rdev = from.rdev;
    this.xattrs = new Map(from.xattrs);
  }
}

/** A device, fifo or socket: no data, nothing to open (docs/fs.md section 11). */
export function isSpecial(node: MNode): boolean {
  return node.kind !== 'file' && node.kind !== 'dir' && node.kind !== 'symlink';
}

/** A DAX-immutable inode refuses the change (EPERM among `codes`). */
export function refuseImmutable(node: MNode, codes: ErrnoName[]): void {
  if (node.immutable) codes.push('EPERM');
}

/** Does the subvolume rooted at `dir` hold a DAX-immutable file (nested subvolumes aside)? */
export function holdsImmutable(dir: MNode): boolean {
  for (const child of dir.entries.values()) {
    if (child.subvolRoot || child.placeholder) continue;
    if (child.kind === 'file' ? child.immutable : holdsImmutable(child)) return true;
  }
  return false;
}

export function hasSubvolumeInside(dir: MNode): boolean {
  for (const child of dir.entries.values()) {
    if (child.subvolRoot) return true;
    if (child.kind === 'dir' && hasSubvolumeInside(child)) return true;
  }
  return false;
}

/** Is `node` equal to `ancestor` or below it? (directories only) */
export function within(node: MNode, ancestor: MNode): boolean {
  for (let cur: MNode | undefined = node; cur; cur = cur.parent) if (cur === ancestor) return true;
  return false;
}

/**
 * The namespace under `root` holds together: each directory is the parent of the
 * directories it names (a subvolume root has none), and every other inode's link count is
 * the number of names it has.
 */
export function assertNamespace(root: MNode): void {
  const names = new Map<MNode, number>();
  const visit = (dir: MNode): void => {
    for (const child of dir.entries.values()) {
      if (child.kind !== 'dir') { names.set(child, (names.get(child) ?? 0) + 1); continue; }
      assert(child.subvolRoot !== undefined || child.parent === dir,
        'a directory is the parent of the directories it names');
      visit(child);
    }
  };
  visit(root);
  for (const [node, count] of names) {
    assert(node.nlink === count, 'an inode\'s link count is the number of its names');
  }
}
