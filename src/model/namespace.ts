// A plain in-memory model of the file system API (src/filesystem.ts): paths -> bytes
// and directories, with inodes (hard links share one), subvolumes (a snapshot is a deep
// copy of the subvolume at snapshot time), readonly snapshots and open file descriptors.
//
// Every operation either returns what the file system must return, or throws:
//  - ModelError(codes): the file system must throw an FsError whose code is one of
//    `codes`. When several error conditions hold at once, POSIX lets the implementation
//    report any of them, so the model lists every one that applies.
//  - Unspecified: the API leaves the outcome open (e.g. rmdir of a subvolume root); the
//    op generator avoids these and the applier does not run them.
// The model checks every error before it changes anything: a failed op changes nothing.
import type { ErrnoName } from '../errors.js';
import type { FileKind } from '../fs/types.js';
import { maxItem } from './xattr-rules.js';
import { setXattr, getXattr, removeXattr } from './xattrs.js';
import type { SpecialKind as SpecialFileKind } from '../fs/special.js';
import { ModelError, Unspecified, err, isInt, modelErrorCodes } from './model-errors.js';
import {
  MNode, MSubvol, isSpecial, refuseImmutable, holdsImmutable, hasSubvolumeInside, within,
  assertNamespace,
  type PreallocPromise,
} from './inode.js';
import {
  BLOCK, PAGE_HOLE, PAGE_DATA, PAGE_PREALLOC, markPages, dropPages, zeroPages, resize, copyAtLeast,
} from './pages.js';
import { pathComponents, resolvePath, type Resolved } from './paths.js';
import { assert } from '../assert.js';

export { ModelError, Unspecified } from './model-errors.js';
export { MNode, isSpecial } from './inode.js';
export { BLOCK, PAGE_HOLE, PAGE_DATA, PAGE_PREALLOC, markPages } from './pages.js';

const utf8 = new TextEncoder();

const TOP_SUBVOLUME = 5;

export interface ModelStat {
  kind: FileKind;
  size: number;
  nlink: number;
  nodatacow: boolean;
}

export class FsModel {
  readonly top: MSubvol;
  private nextSubvol = 256;
  private nextFd = 3;
  // (assignFrom copies both)
  readonly fds = new Map<number, MNode>();

  constructor() {
    const root = new MNode('dir', undefined as unknown as MSubvol);
    this.top = new MSubvol(TOP_SUBVOLUME, false, root);
    root.subvol = this.top;
    root.subvolRoot = this.top;
  }

  // --- paths -----------------------------------------------------------------------

  static components(path: unknown): string[] {
    return pathComponents(path);
  }

  /**
   * Resolve every component but the last (symlinks followed): the parent must be an
   * existing directory.
   */
  resolve(path: unknown): Resolved {
    return this.resolveWith(path, false);
  }

  /**
   * Resolve a path; with `followLast`, a symlink in the last component is followed too (its
   * target's parent and name come back: node undefined for a dangling link).
   */
  resolveWith(path: unknown, followLast: boolean): Resolved {
    return resolvePath(this.top.root, path, followLast);
  }

  /** The node at path (a symlink in the last component followed), or ENOENT/ENOTDIR/ELOOP. */
  lookup(path: unknown): MNode {
    const r = this.resolveWith(path, true);
    if (!r.node) err('ENOENT', `${String(path)}: no such file or directory`);
    return r.node;
  }

  /** The node at path itself (lstat's): a symlink in the last component is not followed. */
  lookupNoFollow(path: unknown): MNode {
    const r = this.resolve(path);
    if (!r.node) err('ENOENT', `${String(path)}: no such file or directory`);
    return r.node;
  }

  tryLookup(path: string): MNode | undefined {
    try { return this.lookup(path); } catch { return undefined; }
  }

  private file(path: unknown): MNode {
    const node = this.lookup(path);
    if (node.kind === 'dir') err('EISDIR', `${String(path)}: is a directory`);
    if (node.kind === 'symlink') throw new Error('model: lookup returned a symlink');
    // A special file opens nothing here (docs/fs.md section 11): ENXIO for its data.
    if (node.kind !== 'file') err('ENXIO', `${String(path)}: a ${node.kind}`);
    return node;
  }

  /** Resolve two paths; when both fail, either error may be reported. */
  private resolveBoth(a: string, b: string): [Resolved, Resolved] {
    let ra: Resolved | undefined;
    let rb: Resolved | undefined;
    const codes: ErrnoName[] = [];
    try { ra = this.resolve(a); } catch (e) { codes.push(...modelErrorCodes(e)); }
    try { rb = this.resolve(b); } catch (e) { codes.push(...modelErrorCodes(e)); }
    if (ra && !ra.node) codes.push('ENOENT');
    if (codes.length) err(codes, `resolve ${a} and ${b}`);
    return [ra!, rb!];
  }

  fdNode(fd: unknown): MNode {
    const node = typeof fd === 'number' ? this.fds.get(fd) : undefined;
    if (!node) err(['EBADF', 'EINVAL'], `bad file descriptor ${String(fd)}`);
    return node;
  }

  private fdsInside(sub: MSubvol): boolean {
    for (const n of this.fds.values()) if (n.subvol === sub) return true;
    return false;
  }

  // --- directory operations ---------------------------------------------------------

  private newEntry(path: string, kind: MNode['kind'], resolved?: Resolved): MNode {
    const r = resolved ?? this.resolve(path);
    if (!r.parent) err(['EEXIST', 'EBUSY', 'EPERM'], '/ exists');
    const codes: ErrnoName[] = [];
    if (r.node) codes.push('EEXIST');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    if (codes.length) err(codes, `cannot create ${path}`);
    if (r.parent.placeholder) throw new Unspecified('create inside a placeholder directory');
    assert(!r.parent.entries.has(r.name), 'a new entry takes a free name');
    const node = new MNode(kind, r.parent.subvol);
    if (kind === 'dir') node.parent = r.parent;
    r.parent.entries.set(r.name, node);
    return node;
  }

  mkdir(path: string): void {
    this.newEntry(path, 'dir');
  }

  create(path: string): void {
    this.newEntry(path, 'file');
  }

  readdir(path: string): string[] {
    const node = this.lookup(path);
    if (node.kind !== 'dir') err('ENOTDIR', `${path}: not a directory`);
    return [...node.entries.keys()].sort();
  }

  stat(path: string): ModelStat {
    return FsModel.statOf(this.lookup(path));
  }

  /** lstat: a symlink itself (its size the target's length in bytes). */
  lstat(path: string): ModelStat {
    return FsModel.statOf(this.lookupNoFollow(path));
  }

  static statOf(node: MNode): ModelStat {
    return {
      kind: node.subvolRoot ? 'subvolume' : node.kind,
      size: node.kind === 'file' ? node.size
        : node.kind === 'symlink' ? utf8.encode(node.target).length : 0,
      nlink: node.nlink,
      nodatacow: node.nodatacow,
    };
  }

  exists(path: string): boolean {
    try {
      this.lookup(path);
      return true;
    } catch (e) {
      if (e instanceof ModelError) return false;
      throw e;
    }
  }

  unlink(path: string): void {
    const r = this.resolve(path);
    if (!r.parent) err(['EISDIR', 'EPERM', 'EBUSY'], 'unlink /');
    if (!r.node) err('ENOENT', `${path}: no such file`);
    const codes: ErrnoName[] = [];
    if (r.node.kind === 'dir') codes.push('EISDIR', 'EPERM');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    refuseImmutable(r.node, codes);
    if (codes.length) err(codes, `cannot unlink ${path}`);
    r.parent.entries.delete(r.name);
    r.node.nlink--;
    assert(r.node.nlink >= 0, 'unlink leaves a link count of zero or more');
  }

  rmdir(path: string): void {
    const r = this.resolve(path);
    if (!r.parent) err(['EBUSY', 'EINVAL', 'EPERM'], 'rmdir /');
    if (!r.node) err('ENOENT', `${path}: no such directory`);
    if (r.node.kind !== 'dir') err('ENOTDIR', `${path}: not a directory`);
    if (r.node.subvolRoot) throw new Unspecified(`rmdir of subvolume root ${path}`);
    const codes: ErrnoName[] = [];
    if (r.node.entries.size > 0) codes.push('ENOTEMPTY', 'EEXIST');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    if (codes.length) err(codes, `cannot rmdir ${path}`);
    r.parent.entries.delete(r.name);
  }

  rename(from: string, to: string): void {
    const [f, t] = this.resolveBoth(from, to);
    if (!f.node) err('ENOENT', `${from}: no such file or directory`);
    if (!f.parent || !t.parent) {
      err(['EBUSY', 'EINVAL', 'EPERM', 'ENOTEMPTY', 'EEXIST', 'EISDIR', 'ENOTDIR', 'EXDEV'],
        'rename involving /');
    }
    const fnode = f.node;
    const tnode = t.node;
    if (fnode.subvolRoot || tnode?.subvolRoot) {
      throw new Unspecified('rename of or onto a subvolume root');
    }
    if (fnode.placeholder || tnode?.placeholder || t.parent.placeholder) {
      throw new Unspecified('rename of, onto or into a placeholder');
    }
    const roFrom = f.parent.subvol.readonly;
    const roTo = t.parent.subvol.readonly;
    if (tnode === fnode) {
      // Same inode (same entry, or two hard links): POSIX says do nothing, successfully.
      if (roFrom || roTo) throw new Unspecified('no-op rename inside a readonly subvolume');
      return;
    }
    const codes: ErrnoName[] = [];
    if (f.parent.subvol !== t.parent.subvol) codes.push('EXDEV');
    if (fnode.kind === 'dir' && within(t.parent, fnode)) codes.push('EINVAL');
    if (tnode && tnode.kind === 'dir' && within(f.parent, tnode)) codes.push('ENOTEMPTY', 'EINVAL');
    if (tnode) {
      if (fnode.kind === 'dir' && tnode.kind !== 'dir') codes.push('ENOTDIR');
      if (fnode.kind !== 'dir' && tnode.kind === 'dir') codes.push('EISDIR');
      const nonEmptyDir = fnode.kind === 'dir' && tnode.kind === 'dir' && tnode.entries.size > 0;
      if (nonEmptyDir) codes.push('ENOTEMPTY', 'EEXIST');
    }
    if (roFrom || roTo) codes.push('EROFS');
    refuseImmutable(fnode, codes);
    if (tnode) refuseImmutable(tnode, codes);
    if (codes.length) err(codes, `cannot rename ${from} to ${to}`);
    f.parent.entries.delete(f.name);
    if (tnode && tnode.kind !== 'dir') {
      tnode.nlink--;
      assert(tnode.nlink >= 0, 'rename over an inode leaves its link count zero or more');
    }
    t.parent.entries.set(t.name, fnode);
    if (fnode.kind === 'dir') fnode.parent = t.parent;
  }

  link(existing: string, newPath: string): void {
    let er: Resolved;
    let t: Resolved;
    try {
      [er, t] = this.resolveBoth(existing, newPath);
    } catch (e) {
      // A directory source is an error too: either may be reported.
      if (e instanceof ModelError && this.tryLookup(existing)?.kind === 'dir') {
        err([...e.codes, 'EPERM'], `link ${existing} ${newPath}`);
      }
      throw e;
    }
    if (!er.node) err('ENOENT', `${existing}: no such file or directory`);
    const e = er.node;
    if (!t.parent) err(['EEXIST', 'EPERM'], 'link onto /');
    if (t.parent.placeholder) throw new Unspecified('link into a placeholder directory');
    const codes: ErrnoName[] = [];
    if (e.kind === 'dir') codes.push('EPERM');
    if (t.node) codes.push('EEXIST');
    if (e.subvol !== t.parent.subvol) codes.push('EXDEV');
    if (t.parent.subvol.readonly || e.subvol.readonly) codes.push('EROFS');
    refuseImmutable(e, codes);
    if (codes.length) err(codes, `cannot link ${existing} to ${newPath}`);
    t.parent.entries.set(t.name, e);
    assert(e.kind !== 'dir', 'a directory has one name');
    e.nlink++;
  }

  // --- symlinks and xattrs ------------------------------------------------------------

  /**
   * symlink(2): ENOENT for an empty target, ENAMETOOLONG past 4095 bytes (or what one leaf
   * item holds).
   */
  symlink(target: string, path: string, nodeBytes: number): void {
    const bytes = utf8.encode(target);
    const codes: ErrnoName[] = [];
    if (target === '') codes.push('ENOENT');
    if (target.includes('\0')) codes.push('EINVAL');
    if (bytes.length > Math.min(4095, maxItem(nodeBytes) - 21)) codes.push('ENAMETOOLONG');
    if (codes.length) {
      // A bad target and a bad path: either error may come first.
      try { this.resolve(path); } catch (e) { codes.push(...modelErrorCodes(e)); }
      err(codes, `symlink ${target} ${path}`);
    }
    this.newEntry(path, 'symlink').target = target;
  }

  /**
   * mknod(2) of a special file (mode 0644); `rdev` kept for devices, 0 for a fifo or socket
   * (Linux).
   */
  mknod(path: string, kind: SpecialFileKind, rdev: number): void {
    if (!isInt(rdev) || rdev < 0 || rdev > 0xffffffff) {
      const codes: ErrnoName[] = ['EINVAL'];
      try { this.resolve(path); } catch (e) { codes.push(...modelErrorCodes(e)); }
      err(codes, `mknod ${path}: rdev ${rdev}`);
    }
    this.newEntry(path, kind).rdev = kind === 'chardev' || kind === 'blockdev' ? rdev : 0;
  }

  readlink(path: string): string {
    const node = this.lookupNoFollow(path);
    if (node.kind !== 'symlink') err('EINVAL', `${path}: not a symbolic link`);
    return node.target;
  }

  /** The node an xattr call names: a path (followed unless `nofollow`) or an open descriptor. */
  xattrNode(ref: { path?: string; fd?: number }, nofollow: boolean): MNode {
    if (ref.fd !== undefined) return this.fdNode(ref.fd);
    return nofollow ? this.lookupNoFollow(ref.path) : this.lookup(ref.path);
  }

  /** setxattr(2) on `node` (xattrs.ts). */
  setxattr(node: MNode, name: string, value: Uint8Array, mode: 'create' | 'replace' | undefined,
    nodeBytes: number): void {
    setXattr(node, name, value, mode, nodeBytes);
  }

  getxattr(node: MNode, name: string): Uint8Array {
    return getXattr(node, name);
  }

  listxattr(node: MNode): string[] {
    return [...node.xattrs.keys()].sort();
  }

  removexattr(node: MNode, name: string): void {
    removeXattr(node, name);
  }

  // --- file contents ----------------------------------------------------------------

  readFile(path: string): Uint8Array {
    return this.file(path).data.slice();
  }

  writeFile(path: string, data: Uint8Array): void {
    const r = this.resolveWith(path, true);
    if (!r.parent) err(['EISDIR', 'EEXIST'], 'writeFile /');
    if (r.node?.kind === 'dir') {
      err(r.parent.subvol.readonly ? ['EISDIR', 'EROFS'] : ['EISDIR'], `${path}: is a directory`);
    }
    if (r.node && isSpecial(r.node)) err('ENXIO', `${path}: a ${r.node.kind}`);
    if (r.parent.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (r.node?.immutable) err('EPERM', `${path}: DAX-immutable`);
    const node = r.node ?? this.newEntry(path, 'file', r);
    if (node.size > 0) node.preallocPastEof = false; // a shrinking truncate drops blocks past EOF
    node.data = data.slice();
    node.pages = new Uint8Array(0);
    markPages(node, 0, data.length, () => PAGE_DATA);
  }

  open(path: string, options: { create?: boolean; truncate?: boolean } = {}): number {
    // O_CREAT through a dangling symlink creates its target (Linux).
    const r = this.resolveWith(path, true);
    let node = r.node;
    if (!node) {
      if (!options.create) err('ENOENT', `${path}: no such file`);
      node = this.newEntry(path, 'file', r);
    } else {
      if (node.kind === 'dir') err('EISDIR', `${path}: is a directory`);
      if (isSpecial(node)) err('ENXIO', `${path}: a ${node.kind}`);
      if (options.truncate) {
        if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
        if (node.immutable) err('EPERM', `${path}: DAX-immutable`);
        if (node.size > 0) node.preallocPastEof = false;
        node.data = new Uint8Array(0);
        node.pages = new Uint8Array(0);
      }
    }
    const fd = this.nextFd++;
    this.fds.set(fd, node);
    return fd;
  }

  close(fd: number): void {
    this.fdNode(fd);
    this.fds.delete(fd);
  }

  pread(fd: number, length: number, offset: number): Uint8Array {
    const node = this.fdNode(fd);
    if (!isInt(length) || length < 0 || !isInt(offset) || offset < 0) {
      err('EINVAL', 'bad pread arguments');
    }
    if (offset >= node.size) return new Uint8Array(0);
    return node.data.slice(offset, Math.min(node.size, offset + length));
  }

  pwrite(fd: number, data: Uint8Array, offset: number): number {
    const node = this.fdNode(fd);
    if (!(data instanceof Uint8Array) || !isInt(offset) || offset < 0) {
      err('EINVAL', 'bad pwrite arguments');
    }
    if (node.subvol.readonly) err('EROFS', 'readonly subvolume');
    if (node.immutable) err('EPERM', 'DAX-immutable');
    if (data.length === 0) return 0;
    const end = offset + data.length;
    const next = copyAtLeast(node.data, end);
    next.set(data, offset);
    node.data = next;
    markPages(node, offset, end, () => PAGE_DATA);
    return data.length;
  }

  truncate(path: string, size: number): void {
    if (isSpecial(this.lookup(path))) err('EINVAL', `${path}: not a regular file`); // vfs_truncate
    const node = this.file(path);
    if (!isInt(size) || size < 0) err('EINVAL', 'bad size');
    if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (node.immutable) err('EPERM', `${path}: DAX-immutable`);
    if (size < node.size) {
      node.preallocPastEof = false;
      dropPages(node, Math.ceil(size / BLOCK));
      // The rest of the new last page is written with zeros: an unwritten extent there turns
      // to data.
      if (size % BLOCK) {
        markPages(node, size, size + 1, (st) => (st === PAGE_PREALLOC ? PAGE_DATA : st));
      }
    }
    node.data = resize(node.data, size);
    assert(node.size === size, 'truncate leaves the size asked for');
  }

  private rangeArgs(offset: number, length: number): void {
    if (!isInt(offset) || offset < 0 || !isInt(length) || length <= 0) err('EINVAL', 'bad range');
  }

  fallocate(path: string, offset: number, length: number,
    options: { keepSize?: boolean } = {}): void {
    const node = this.file(path);
    this.rangeArgs(offset, length);
    if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (node.immutable) err('EPERM', `${path}: DAX-immutable`);
    const end = offset + length;
    markPages(node, offset, end, (st) => (st === PAGE_HOLE ? PAGE_PREALLOC : st));
    if (end > node.size) {
      if (options.keepSize) node.preallocPastEof = true;
      else node.data = resize(node.data, end);
    }
  }

  punchHole(path: string, offset: number, length: number): void {
    const node = this.file(path);
    this.rangeArgs(offset, length);
    if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (node.immutable) err('EPERM', `${path}: DAX-immutable`);
    const end = Math.min(offset + length, Math.max(node.size, offset));
    zeroPages(node, offset, end, node.size, PAGE_HOLE);
    if (offset < node.size) {
      const next = copyAtLeast(node.data, 0);
      next.fill(0, offset, Math.min(node.size, offset + length));
      node.data = next;
    }
  }

  /** Like fallocate(FALLOC_FL_ZERO_RANGE) without KEEP_SIZE: the file grows to cover the range. */
  zeroRange(path: string, offset: number, length: number): void {
    const node = this.file(path);
    this.rangeArgs(offset, length);
    if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (node.immutable) err('EPERM', `${path}: DAX-immutable`);
    const end = offset + length;
    zeroPages(node, offset, end, node.size, PAGE_PREALLOC);
    const next = copyAtLeast(node.data, end);
    next.fill(0, offset, end);
    node.data = next;
  }

  setNoDataCow(path: string): void {
    const node = this.lookup(path);
    const codes: ErrnoName[] = [];
    if (node.kind !== 'file' || node.size > 0) codes.push('EINVAL');
    if (node.subvol.readonly) codes.push('EROFS');
    if (codes.length) err(codes, `setNoDataCow ${path}`);
    if (node.preallocPastEof) {
      throw new Unspecified('setNoDataCow on a size-0 file with preallocated blocks');
    }
    node.nodatacow = true;
  }

  /**
   * Set or clear the DAX-immutable flag. Setting needs a nodatacow file whose every page
   * holds data (no hole, no preallocated range, none past EOF either) and whose blocks no
   * snapshot or reflink shares; whether a shared block was since rewritten is the file
   * system's to know, so for a file that was ever shared the result is 'may-refuse'
   * (EINVAL or success are both correct).
   */
  setDaxImmutable(path: string, on: boolean, capability: boolean): 'certain' | 'may-refuse' {
    const node = this.lookup(path);
    if (node.kind !== 'file') err('EINVAL', `${path}: not a regular file`);
    if (!capability) err('EPERM', 'the DAX-immutable flag needs the capability');
    if (node.subvol.readonly) err('EROFS', `${path}: readonly subvolume`);
    if (!on) { node.immutable = false; return 'certain'; }
    if (!node.nodatacow || node.size === 0) {
      err('EINVAL', `${path}: DAX-immutable needs a non-empty nodatacow file`);
    }
    const pages = Math.ceil(node.size / BLOCK);
    for (let p = 0; p < Math.max(pages, node.pages.length); p++) {
      const state = node.pages[p] ?? PAGE_HOLE;
      if ((p < pages && state !== PAGE_DATA) || state === PAGE_PREALLOC) {
        err('EINVAL', `${path}: page ${p} is not data`);
      }
    }
    node.immutable = true;
    return node.maybeShared ? 'may-refuse' : 'certain';
  }

  // --- reflinks ---------------------------------------------------------------------

  cloneRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number,
    length: number): void {
    const src = this.lookup(srcPath);
    const dst = this.lookup(dstPath);
    if (src.kind === 'dir' || dst.kind === 'dir') err(['EISDIR', 'EINVAL'], 'clone of a directory');
    if (isSpecial(src) || isSpecial(dst)) err('ENXIO', 'clone of a special file');
    for (const v of [srcOffset, dstOffset, length]) {
      if (!isInt(v) || v < 0) err('EINVAL', 'bad clone arguments');
    }
    if (length === 0) throw new Unspecified('clone of length 0');
    const codes = cloneRangeRefusals(src, srcOffset, dst, dstOffset, length);
    if (codes.length) {
      err(codes, `cannot clone ${srcPath}@${srcOffset} to ${dstPath}@${dstOffset} (${length})`);
    }
    const pages = Math.ceil(length / BLOCK);
    const from = src.pages.slice(srcOffset / BLOCK, srcOffset / BLOCK + pages);
    markPages(dst, dstOffset, dstOffset + pages * BLOCK, () => PAGE_HOLE);
    const states = dst.pages.slice();
    states.set(from, dstOffset / BLOCK);
    dst.pages = states;
    src.maybeShared = true;
    dst.maybeShared = true;
    src.preallocPromise.kept = false;
    dst.preallocPromise.kept = false;
    const bytes = src.data.slice(srcOffset, srcOffset + length);
    const end = dstOffset + length;
    const next = copyAtLeast(dst.data, end);
    next.set(bytes, dstOffset);
    dst.data = next;
  }

  /** Reflink the whole file: dst (created if missing) becomes a copy of src. */
  cloneFile(srcPath: string, dstPath: string): void {
    const src = this.file(srcPath);
    const r = this.resolveWith(dstPath, true);
    if (!r.parent) err(['EISDIR', 'EEXIST'], 'clone onto /');
    // Onto itself: the file keeps its contents (as the file system does).
    if (r.node === src) return;
    const codes: ErrnoName[] = [];
    if (r.node?.kind === 'dir') codes.push('EISDIR');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    if (r.node?.kind === 'file' && r.node.nodatacow !== src.nodatacow) codes.push('EINVAL');
    refuseImmutable(src, codes);
    if (r.node) refuseImmutable(r.node, codes);
    // Into a new file, which would be datacow: refused (create it and set nodatacow first).
    if (!r.node && src.nodatacow) codes.push('EINVAL');
    if (codes.length) err(codes, `cannot clone ${srcPath} to ${dstPath}`);
    if (r.node?.preallocPastEof) {
      throw new Unspecified('cloneFile onto a file with preallocated blocks past EOF');
    }
    const dst = r.node ?? this.newEntry(dstPath, 'file', r);
    dst.data = src.data;
    dst.pages = src.pages.slice(0, Math.ceil(src.size / BLOCK));
    if (src.size > 0) { src.maybeShared = true; dst.maybeShared = true; }
    src.preallocPromise.kept = false; // (its blocks past EOF are shared too)
    dst.preallocPromise = src.preallocPromise;
  }

  // --- subvolumes -------------------------------------------------------------------

  private subvolumeAt(path: string): MNode {
    const node = this.lookup(path);
    if (!node.subvolRoot) {
      err(node.kind === 'dir' ? 'EINVAL' : ['EINVAL', 'ENOTDIR'], `${path}: not a subvolume`);
    }
    return node;
  }

  snapshot(source: string, dest: string, options: { readonly?: boolean } = {}): void {
    const src = this.subvolumeAt(source);
    const r = this.resolve(dest);
    if (!r.parent) err('EEXIST', 'snapshot onto /');
    const codes: ErrnoName[] = [];
    if (r.node) codes.push('EEXIST');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    if (holdsImmutable(src)) codes.push('EPERM');
    if (codes.length) err(codes, `cannot snapshot into ${dest}`);
    if (r.parent.placeholder) throw new Unspecified('snapshot into a placeholder directory');
    const noRootYet = undefined as unknown as MNode;
    const sub = new MSubvol(this.nextSubvol++, options.readonly ?? false, noRootYet);
    const copies = new Map<MNode, MNode>();
    const copy = (node: MNode, parent: MNode | undefined): MNode => {
      const seen = copies.get(node);
      if (seen) return seen;
      const c = new MNode(node.kind, sub);
      copies.set(node, c);
      c.parent = parent;
      if (node !== src && (node.subvolRoot || node.placeholder)) {
        c.placeholder = true; // a nested subvolume: an empty directory in the snapshot
        return c;
      }
      c.takeContents(node);
      c.parent = parent;
      if (node.kind === 'file') {
        node.maybeShared = true;
        c.maybeShared = true;
        c.preallocPromise = node.preallocPromise;
        if (!options.readonly) node.preallocPromise.kept = false; // the copy may fill them first
      }
      for (const [name, child] of node.entries) c.entries.set(name, copy(child, c));
      return c;
    };
    const root = copy(src, undefined);
    root.subvolRoot = sub;
    sub.root = root;
    r.parent.entries.set(r.name, root);
  }

  createSubvolume(path: string): void {
    const r = this.resolve(path);
    if (!r.parent) err('EEXIST', '/ exists');
    const codes: ErrnoName[] = [];
    if (r.node) codes.push('EEXIST');
    if (r.parent.subvol.readonly) codes.push('EROFS');
    if (codes.length) err(codes, `cannot create subvolume ${path}`);
    if (r.parent.placeholder) throw new Unspecified('subvolume inside a placeholder directory');
    const sub = new MSubvol(this.nextSubvol++, false, undefined as unknown as MNode);
    const root = new MNode('dir', sub);
    root.subvolRoot = sub;
    sub.root = root;
    r.parent.entries.set(r.name, root);
  }

  deleteSubvolume(path: string): void {
    const r = this.resolve(path);
    if (!r.parent) err(['EPERM', 'EBUSY', 'EINVAL'], 'delete the top-level subvolume');
    const node = this.subvolumeAt(path);
    if (r.parent.subvol.readonly) err('EROFS', `${path}: parent is readonly`);
    if (hasSubvolumeInside(node)) err('ENOTEMPTY', `${path} holds subvolumes`);
    if (holdsImmutable(node)) err('EPERM', `${path} holds a DAX-immutable file`);
    if (this.fdsInside(node.subvolRoot!)) err('EBUSY', `${path} has open files or mappings`);
    r.parent.entries.delete(r.name);
  }

  // --- whole-model helpers ----------------------------------------------------------

  /** Every path and its node, parents before children, "/" first. */
  walk(): Array<[string, MNode]> {
    const out: Array<[string, MNode]> = [['/', this.top.root]];
    const visit = (dir: MNode, prefix: string): void => {
      for (const name of [...dir.entries.keys()].sort()) {
        const child = dir.entries.get(name)!;
        const path = `${prefix}/${name}`;
        out.push([path, child]);
        if (child.kind === 'dir') visit(child, path);
      }
    };
    visit(this.top.root, '');
    return out;
  }

  /**
   * A deep copy. Open file descriptors are copied only with `withFds` (a crash or a
   * remount closes them); their files come along even when unlinked.
   */
  clone(withFds = false): FsModel {
    const m = new FsModel();
    m.nextSubvol = this.nextSubvol;
    m.nextFd = this.nextFd;
    const subs = new Map<MSubvol, MSubvol>([[this.top, m.top]]);
    const nodes = new Map<MNode, MNode>([[this.top.root, m.top.root]]);
    const subOf = (s: MSubvol): MSubvol => {
      let c = subs.get(s);
      if (!c) {
        c = new MSubvol(s.id, s.readonly, undefined as unknown as MNode);
        subs.set(s, c);
      }
      return c;
    };
    const promises = new Map<PreallocPromise, PreallocPromise>();
    const copy = (node: MNode, parent: MNode | undefined): MNode => {
      let c = nodes.get(node);
      if (!c) {
        c = new MNode(node.kind, subOf(node.subvol));
        c.id = node.id;
        nodes.set(node, c);
        c.takeContents(node);
        let promise = promises.get(node.preallocPromise);
        if (!promise) {
          promise = { kept: node.preallocPromise.kept };
          promises.set(node.preallocPromise, promise);
        }
        c.preallocPromise = promise;
        c.maybeShared = node.maybeShared;
        c.immutable = node.immutable;
        c.placeholder = node.placeholder;
        c.parent = parent;
        if (node.subvolRoot) {
          c.subvolRoot = subOf(node.subvolRoot);
          c.subvolRoot.root = c;
        }
      }
      for (const [name, child] of node.entries) c.entries.set(name, copy(child, c));
      return c;
    };
    copy(this.top.root, undefined);
    if (withFds) for (const [fd, node] of this.fds) m.fds.set(fd, copy(node, node.parent));
    return m;
  }

  /** Become `o` (a clone of an earlier state of this model), keeping this object's identity. */
  assignFrom(o: FsModel): void {
    const fix = (n: MNode): void => {
      if (n.subvol === o.top) n.subvol = this.top;
      if (n.subvolRoot === o.top) n.subvolRoot = this.top;
    };
    for (const [, n] of o.walk()) fix(n);
    for (const n of o.fds.values()) fix(n);
    this.top.root = o.top.root;
    this.top.readonly = o.top.readonly;
    this.nextSubvol = o.nextSubvol;
    this.nextFd = o.nextFd;
    this.fds.clear();
    for (const [fd, n] of o.fds) this.fds.set(fd, n);
    // An earlier state adopted whole (a rollback): it must hold together.
    assertNamespace(this.top.root);
  }

  /** Unique file bytes held (hard links counted once). */
  totalFileBytes(): number {
    const seen = new Set<MNode>();
    let total = 0;
    for (const [, n] of this.walk()) {
      if (n.kind === 'file' && !seen.has(n)) {
        seen.add(n);
        total += n.size;
      }
    }
    return total;
  }

  subvolumes(): Array<[string, MNode]> {
    return this.walk().filter(([, n]) => n.subvolRoot !== undefined);
  }
}

/** Why a clone of [srcOffset, +length) of `src` to `dstOffset` of `dst` is refused. */
function cloneRangeRefusals(src: MNode, srcOffset: number, dst: MNode, dstOffset: number,
  length: number): ErrnoName[] {
  const codes: ErrnoName[] = [];
  // Unaligned offsets.
  if (srcOffset % BLOCK !== 0 || dstOffset % BLOCK !== 0) codes.push('EINVAL');
  if (srcOffset + length > src.size) codes.push('EINVAL'); // the source range past EOF
  if (length % BLOCK !== 0) {
    // An unaligned length not reaching source EOF; a partial EOF block inside the destination.
    if (srcOffset + length !== src.size) codes.push('EINVAL');
    if (dstOffset + length < dst.size) codes.push('EINVAL');
  }
  const overlap = src === dst && srcOffset < dstOffset + length && dstOffset < srcOffset + length;
  if (overlap) codes.push('EINVAL');
  // Datacow and nodatacow (btrfs: EINVAL).
  if (src.nodatacow !== dst.nodatacow) codes.push('EINVAL');
  if (dst.subvol.readonly) codes.push('EROFS');
  refuseImmutable(src, codes);
  refuseImmutable(dst, codes);
  return codes;
}
