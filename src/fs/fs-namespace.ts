// The file system's namespace operations: names (create, link, rename, unlink, symlinks,
// special files), extended attributes, subvolumes and snapshots. A layer of FileSystem
// (fs-base.ts says which).
import {
  type Resolved, type Parent, btrfsNameHash, normalisedParts, checkOptions, checkFlag,
} from './fs-common.js';
import { FsError } from '../errors.js';
import type { Subvolume } from './subvolume.js';
import { encodeInode, decodeInode, decodeDirEntries, encodeRootRef } from './items.js';
import {
  key, FS_TREE_ID, FIRST_INODE, INODE_ITEM, DIR_INDEX, ROOT_ITEM, ROOT_REF, ROOT_BACKREF,
  ORPHAN_OBJECTID, MODE_FILE, MODE_DIR, MODE_SYMLINK, DIR_KIND_SYMLINK, INODE_FLAG_IMMUTABLE,
  EXTENT_DATA as EXTENT_DATA_TYPE, DIR_KIND_SUBVOLUME, INODE_FLAG_NODATACOW, ROOT_FLAG_READONLY,
  MAX_KEY_VALUE,
} from './format.js';
import type { Stat, SnapshotOptions, XattrOptions, SetXattrOptions } from './types.js';
import {
  xattrNameBytes, xattrValueBytes, xattrNameText, findXattr, listXattrs, storeXattr, deleteXattr,
  type XattrHost,
} from './xattr.js';
import { kindOfMode, entryKindOfMode, isSpecialKind, isDirKind, checkMknod } from './special.js';
import { checkSymlinkTarget, encodeSymlinkTarget } from './symlink.js';
import { FsBase } from './fs-base.js';

const SETXATTR_KEYS = ['create', 'replace', 'noFollow'] as const;

export abstract class FsNamespace extends FsBase {
  // --- namespace operations ----------------------------------------------------------

  /**
   * A new inode of `mode` (a directory, a regular or a special file: no items but its own)
   * named `path`.
   */
  protected makeNode(path: string, mode: number, rdev = 0): Resolved {
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const ino = p.sv.nextIno++;
    const inode = { ...this.newInode(mode, 0), rdev };
    p.sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(inode));
    this.addEntry(p, key(ino, INODE_ITEM, 0), entryKindOfMode(mode));
    return { sv: p.sv, ino, inode, kind: kindOfMode(mode) };
  }

  /**
   * mknod(2): a new name `path` for a special file of `mode`: S_IFCHR or S_IFBLK (a device,
   * `rdev` its number: makedev(major, minor)), S_IFIFO or S_IFSOCK, or S_IFREG or no type (a
   * regular file), with its permission bits (kept as given: pmcow has no umask). EPERM for
   * S_IFDIR, EINVAL for any other type, a mode that is no 16-bit integer or an rdev that is
   * no 32-bit dev_t; EEXIST when `path` exists. A special file holds no data: stat reports
   * its kind and rdev, open and the calls that read or write data ENXIO, truncate EINVAL.
   */
  mknod(path: string, mode: number, rdev = 0): void {
    const checked = checkMknod(mode, rdev);
    this.makeNode(path, checked.mode, checked.rdev);
  }

  /**
   * symlink(2): a new name `path` for a symbolic link to `target` (any text: it need not
   * exist; a relative one is walked from the link's directory). ENOENT for an empty target,
   * ENAMETOOLONG past 4095 bytes (or what one leaf item holds), EEXIST when `path` exists,
   * a dangling symlink included.
   */
  symlink(target: string, path: string): void {
    const bytes = checkSymlinkTarget(target, this.k.nodeBytes);
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const ino = p.sv.nextIno++;
    // btrfs_symlink: size and nbytes are the target's length, the target the inline extent.
    const inode = { ...this.newInode(MODE_SYMLINK, 0), size: bytes.length, nbytes: bytes.length };
    p.sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(inode));
    p.sv.tree.insert(key(ino, EXTENT_DATA_TYPE, 0), encodeSymlinkTarget(bytes, this.k.transid));
    this.addEntry(p, key(ino, INODE_ITEM, 0), DIR_KIND_SYMLINK);
  }

  /** readlink(2): the target of the symlink `path` (EINVAL when it is no symlink). */
  readlink(path: string): string {
    const r = this.resolveNoFollow(path);
    if (r.kind !== 'symlink') throw new FsError('EINVAL', `'${path}' is not a symbolic link`);
    return this.symlinkTarget(r.sv, r.ino);
  }

  mkdir(path: string): void {
    this.makeNode(path, MODE_DIR);
  }

  create(path: string): void {
    this.makeNode(path, MODE_FILE);
  }

  exists(path: string): boolean {
    // A malformed path fails resolve() with EINVAL or ENAMETOOLONG: an error, not a missing file.
    try { this.resolve(path); return true; } catch (e) {
      if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return false;
      throw e;
    }
  }

  readdir(path: string): string[] {
    this.live();
    const r = this.resolve(path);
    if (!isDirKind(r.kind)) throw new FsError('ENOTDIR', `'${path}' is not a directory`);
    if (r.placeholder) return [];
    return r.sv.tree.range(key(r.ino, DIR_INDEX, 0), key(r.ino, DIR_INDEX, MAX_KEY_VALUE))
      .map((i) => decodeDirEntries(i.data)[0]!.name);
  }

  stat(path: string): Stat {
    this.live();
    return this.statOf(this.resolve(path));
  }

  /**
   * stat without following a symlink in the last component: the link itself (kind
   * 'symlink', size its target's length).
   */
  lstat(path: string): Stat {
    this.live();
    return this.statOf(this.resolveNoFollow(path));
  }

  protected statOf(r: Resolved): Stat {
    return {
      ino: r.ino, subvolume: r.sv.id, kind: r.kind, size: r.inode.size, nlink: r.inode.nlink,
      allocatedBytes: r.kind === 'file' ? this.data.allocatedBytes(r.sv, r.ino) : 0,
      nodatacow: (r.inode.flags & INODE_FLAG_NODATACOW) !== 0, generation: r.inode.transid,
      mode: r.inode.mode, rdev: r.inode.rdev ?? 0,
    };
  }

  unlink(path: string): void {
    const p = this.resolveParent(path);
    const r = this.resolveNoFollow(path);
    if (isDirKind(r.kind)) throw new FsError('EISDIR', `'${path}' is a directory`);
    this.refuseImmutable(r, 'unlink');
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.dropLink(r.sv, r.ino);
  }

  rmdir(path: string): void {
    const p = this.resolveParent(path);
    const r = this.resolveNoFollow(path);
    if (!isDirKind(r.kind)) throw new FsError('ENOTDIR', `'${path}' is not a directory`);
    if (r.kind === 'subvolume') {
      throw new FsError('EPERM', `'${path}' is a subvolume: use deleteSubvolume`);
    }
    if (r.placeholder) {
      this.beginChange(p.sv);
      this.removeEntry(p);
      return;
    }
    if (!this.dirIsEmpty(r.sv, r.ino)) throw new FsError('ENOTEMPTY', `'${path}' is not empty`);
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.deleteInode(r.sv, r.ino);
  }

  /**
   * link(2): a new name for `existing` (a symlink itself, not its target, as linkat without
   * AT_SYMLINK_FOLLOW).
   */
  link(existing: string, newPath: string): void {
    const r = this.resolveNoFollow(existing);
    if (isDirKind(r.kind)) throw new FsError('EPERM', `'${existing}' is a directory`);
    this.refuseImmutable(r, 'link');
    const p = this.resolveParent(newPath);
    this.refusePlaceholder(p);
    if (p.sv !== r.sv) throw new FsError('EXDEV', 'hard links cannot cross subvolumes');
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${newPath}' exists`);
    this.checkRefRoom(p.sv, r.ino, p.dir, p.name);
    const inode = this.inode(r.sv, r.ino);
    inode.nlink += 1;
    this.putInode(r.sv, r.ino, inode);
    this.addEntry(p, key(r.ino, INODE_ITEM, 0), entryKindOfMode(inode.mode));
  }

  rename(from: string, to: string): void {
    const src = this.resolveNoFollow(from);
    const sp = this.resolveParent(from);
    const dp = this.resolveParent(to);
    if (sp.sv !== dp.sv) throw new FsError('EXDEV', 'rename cannot cross subvolumes');
    const fromParts = normalisedParts(from);
    const toParts = normalisedParts(to);
    const srcIsDir = src.kind === 'dir' || src.kind === 'subvolume';
    if (srcIsDir && toParts.length > fromParts.length
      && fromParts.every((p, i) => toParts[i] === p)) {
      throw new FsError('EINVAL', `cannot move '${from}' into itself`);
    }
    if (src.kind === 'file') this.refuseImmutable(src, 'rename');
    this.refusePlaceholder(src);
    this.refusePlaceholder(dp);
    const existing = this.lookupEntry(dp.sv, dp.dir, dp.name);
    let victim: Resolved | null = null;
    if (existing) {
      victim = this.entryTarget(dp.sv, existing);
      if (victim.kind === 'file') this.refuseImmutable(victim, 'rename over');
      this.refusePlaceholder(victim);
      const sameObject = victim.sv === src.sv && victim.ino === src.ino && victim.kind === src.kind;
      if (sameObject) return;
      if (victim.kind === 'subvolume') throw new FsError('EBUSY', `'${to}' is a subvolume`);
      const victimIsDir = victim.kind === 'dir';
      if (!srcIsDir && victimIsDir) throw new FsError('EISDIR', `'${to}' is a directory`);
      if (srcIsDir && !victimIsDir) throw new FsError('ENOTDIR', `'${to}' is not a directory`);
      if (victim.kind === 'dir' && !this.dirIsEmpty(victim.sv, victim.ino)) {
        throw new FsError('ENOTEMPTY', `'${to}' is not empty`);
      }
    }
    this.beginChange(sp.sv);
    if (!srcIsDir) this.checkRefRoom(dp.sv, src.ino, dp.dir, dp.name);
    if (victim) {
      this.removeEntry(dp);
      if (victim.kind === 'dir') {
        this.deleteInode(victim.sv, victim.ino);
      } else {
        this.dropLink(victim.sv, victim.ino);
      }
    }
    const entry = this.removeEntry(sp);
    const index = this.addEntry(dp, entry.location, entry.kind);
    if (entry.kind === DIR_KIND_SUBVOLUME) {
      this.putRootRefs(dp.sv.id, entry.location.objectid, dp.dir, index, dp.name);
    }
  }

  // --- extended attributes (btrfs XATTR_ITEMs: src/fs/xattr.ts) ---------------------

  /**
   * setxattr(2) (lsetxattr with `noFollow`): set attribute `name` ('user.', 'trusted.' or
   * 'security.' namespace) of `path` to `value`. `create`: EEXIST when it exists; `replace`:
   * ENODATA when it does not.
   */
  setxattr(path: string, name: string, value: Uint8Array, options: SetXattrOptions = {}): void {
    const o = checkOptions<SetXattrOptions>(options, 'setxattr options', SETXATTR_KEYS);
    this.setXattrOn(this.xattrTarget(path, o), name, value, o);
  }

  /** fsetxattr(2): setxattr on an open file (it may have been renamed or unlinked since). */
  fsetxattr(fd: number, name: string, value: Uint8Array, options: SetXattrOptions = {}): void {
    this.setXattrOn(this.fdTarget(fd), name, value,
      checkOptions<SetXattrOptions>(options, 'setxattr options', SETXATTR_KEYS));
  }

  /** getxattr(2): the value of attribute `name` of `path` (ENODATA when it has none). */
  getxattr(path: string, name: string, options: XattrOptions = {}): Uint8Array {
    return this.getXattrOf(this.xattrTarget(path,
      checkOptions<XattrOptions>(options, 'getxattr options', ['noFollow'])), name);
  }

  fgetxattr(fd: number, name: string): Uint8Array {
    return this.getXattrOf(this.fdTarget(fd), name);
  }

  /** listxattr(2): the names of `path`'s attributes, in btrfs's key (name hash) order. */
  listxattr(path: string, options: XattrOptions = {}): string[] {
    const r = this.xattrTarget(path,
      checkOptions<XattrOptions>(options, 'listxattr options', ['noFollow']));
    return listXattrs(this.xattrHost(r.sv), r.ino).map(xattrNameText);
  }

  flistxattr(fd: number): string[] {
    const r = this.fdTarget(fd);
    return listXattrs(this.xattrHost(r.sv), r.ino).map(xattrNameText);
  }

  /** removexattr(2): remove attribute `name` of `path` (ENODATA when it has none). */
  removexattr(path: string, name: string, options: XattrOptions = {}): void {
    this.removeXattrOf(this.xattrTarget(path,
      checkOptions<XattrOptions>(options, 'removexattr options', ['noFollow'])), name);
  }

  fremovexattr(fd: number, name: string): void {
    this.removeXattrOf(this.fdTarget(fd), name);
  }

  protected xattrTarget(path: string, options: Partial<XattrOptions>): Resolved {
    return checkFlag(options.noFollow, 'noFollow') ? this.resolveNoFollow(path)
      : this.resolve(path);
  }

  /** An open file as a walk would find it. */
  protected fdTarget(fd: number): Resolved {
    const f = this.fd(fd);
    const inode = this.inode(f.sv, f.ino);
    return { sv: f.sv, ino: f.ino, inode, kind: 'file' };
  }

  protected xattrHost(sv: Subvolume): XattrHost {
    return { tree: sv.tree, hash: (name) => btrfsNameHash(this.device, name),
      transid: this.k.transid, nodeBytes: this.k.nodeBytes };
  }

  /**
   * Linux's xattr_permission: user.* attributes belong to regular files and directories; on
   * a symlink a set is EPERM and a get finds nothing (ENODATA).
   */
  protected userXattrRefused(r: Resolved, name: Uint8Array): boolean {
    return (r.kind === 'symlink' || isSpecialKind(r.kind))
      && xattrNameText(name).startsWith('user.');
  }

  protected setXattrOn(r: Resolved, name: string, value: Uint8Array,
    options: Partial<SetXattrOptions & XattrOptions>): void {
    const nameBytes = xattrNameBytes(name);
    const create = checkFlag(options.create, 'create'),
      replace = checkFlag(options.replace, 'replace');
    if (create && replace) throw new FsError('EINVAL', 'setxattr: create and replace together');
    const valueBytes = xattrValueBytes(value, nameBytes, this.k.nodeBytes);
    if (this.userXattrRefused(r, nameBytes)) {
      throw new FsError('EPERM',
        `'${name}': user.* attributes are for regular files and directories`);
    }
    this.refusePlaceholder(r);
    this.refuseImmutable(r, 'setxattr');
    this.beginChange(r.sv, true);
    const host = this.xattrHost(r.sv);
    const exists = findXattr(host, r.ino, nameBytes) !== null;
    if (create && exists) throw new FsError('EEXIST', `xattr '${name}' exists`);
    if (replace && !exists) throw new FsError('ENODATA', `no xattr '${name}'`);
    storeXattr(host, r.ino, nameBytes, valueBytes);
    this.touchInode(r.sv, r.ino);
  }

  protected getXattrOf(r: Resolved, name: string): Uint8Array {
    const nameBytes = xattrNameBytes(name);
    const value = this.userXattrRefused(r, nameBytes) ? null
      : findXattr(this.xattrHost(r.sv), r.ino, nameBytes);
    if (value === null) throw new FsError('ENODATA', `no xattr '${name}'`);
    return value;
  }

  protected removeXattrOf(r: Resolved, name: string): void {
    const nameBytes = xattrNameBytes(name);
    if (this.userXattrRefused(r, nameBytes)) {
      throw new FsError('EPERM',
        `'${name}': user.* attributes are for regular files and directories`);
    }
    this.refusePlaceholder(r);
    this.refuseImmutable(r, 'removexattr');
    this.beginChange(r.sv);
    if (!deleteXattr(this.xattrHost(r.sv), r.ino, nameBytes)) {
      throw new FsError('ENODATA', `no xattr '${name}'`);
    }
    this.touchInode(r.sv, r.ino);
  }

  // --- subvolumes and snapshots ------------------------------------------------------

  protected putRootRefs(parent: number, child: number, dirIno: number, index: number,
    name: string): void {
    const body = encodeRootRef({ dirIno, index, name });
    this.k.rootTree.put(key(parent, ROOT_REF, child), body);
    this.k.rootTree.put(key(child, ROOT_BACKREF, parent), body);
  }

  createSubvolume(path: string): void {
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const id = this.k.nextSubvolume++;
    const sv = this.addSubvolume(id, this.k.createTree(id), 0, this.k.transid);
    this.createRootDir(sv, FIRST_INODE);
    const index = this.addEntry(p, key(id, ROOT_ITEM, 0), DIR_KIND_SUBVOLUME);
    this.putRootRefs(p.sv.id, id, p.dir, index, p.name);
  }

  /** O(1): the new subvolume's root pointer is the source's root block, refcount raised. */
  snapshot(sourcePath: string, destPath: string, options: SnapshotOptions = {}): void {
    this.live();
    const o = checkOptions<SnapshotOptions>(options, 'snapshot options', ['readonly']);
    const readonly = checkFlag(o.readonly, 'readonly');
    const src = this.resolve(sourcePath);
    if (src.kind !== 'subvolume') throw new FsError('EINVAL', `'${sourcePath}' is not a subvolume`);
    const p = this.resolveParent(destPath);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, 'snapshot');
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${destPath}' exists`);
    if (this.hasImmutableFile(src.sv)) {
      throw new FsError('EPERM',
        'the subvolume holds a DAX-immutable file, whose extents must never be shared');
    }
    // Writers must stop storing in place before the blocks become shared.
    this.mappings?.beforeSnapshot(src.sv);
    const dax = this.mappings!;
    dax.leavingWritable(!dax.policy.snapshotWriteProtect,
      () => this.snapshotCommitted(src, p, readonly));
  }

  protected snapshotCommitted(src: Resolved, p: Parent, readonly: boolean): void {
    // The snapshot shares the committed tree: commit first so that the source root is clean.
    this.k.commit();
    const id = this.k.nextSubvolume++;
    // The snapshot's root is a copy of the source's, owned by the snapshot (btrfs's
    // btrfs_copy_root): every tree owns its root block, as btrfs check expects.
    const tree = this.k.newTree(id, this.k.copyRoot(id, src.sv.tree), src.sv.tree.level);
    const sv = this.addSubvolume(id, tree, readonly ? ROOT_FLAG_READONLY : 0, this.k.transid);
    sv.parentUuid = src.sv.uuid;
    sv.nextIno = src.sv.nextIno;
    sv.rootDir = src.sv.rootDir;
    sv.immutableInodes = 0; // the source has none (checked above)
    src.sv.lastSnapshot = this.k.transid;
    this.k.setLastSnapshot(src.sv.tree, src.sv.lastSnapshot);
    src.sv.itemDirty = true;
    const index = this.addEntry(p, key(id, ROOT_ITEM, 0), DIR_KIND_SUBVOLUME);
    this.putRootRefs(p.sv.id, id, p.dir, index, p.name);
    this.k.commit();
  }

  deleteSubvolume(path: string): void {
    const r = this.resolve(path);
    if (r.kind !== 'subvolume') throw new FsError('EINVAL', `'${path}' is not a subvolume`);
    if (r.sv.id === FS_TREE_ID) {
      throw new FsError('EBUSY', 'the top-level subvolume cannot be deleted');
    }
    for (const f of this.fds.values()) {
      if (f.sv === r.sv) throw new FsError('EBUSY', `'${path}' has open files`);
    }
    if (this.mappings!.mappingsInSubvolume(r.sv).length) {
      throw new FsError('EBUSY', `'${path}' has mapped files`);
    }
    if (this.hasImmutableFile(r.sv)) {
      throw new FsError('EPERM', `'${path}' holds a DAX-immutable file`);
    }
    if (this.k.rootTree.range(key(r.sv.id, ROOT_REF, 0),
      key(r.sv.id, ROOT_REF, MAX_KEY_VALUE), 1).length) {
      throw new FsError('ENOTEMPTY', `'${path}' contains subvolumes`);
    }
    const p = this.resolveParent(path);
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.k.rootTree.delete(key(p.sv.id, ROOT_REF, r.sv.id));
    this.k.rootTree.delete(key(r.sv.id, ROOT_BACKREF, p.sv.id));
    this.k.rootTree.delete(key(r.sv.id, ROOT_ITEM, 0));
    // Dropping the root pointer drops the tree: refcounts cascade at commit.
    this.k.pointerRemoved(-1, r.sv.tree.root, r.sv.tree, r.sv.tree.level);
    this.k.movedSubvolumes.delete(r.sv.tree);
    this.subvolumes.delete(r.sv.id);
    this.k.releaseTree(r.sv.tree);
    this.k.commit();
  }

  /** Counted once per mount by a walk, then kept by setDaxImmutable: snapshots stay O(1). */
  protected hasImmutableFile(sv: Subvolume): boolean {
    if (sv.immutableInodes === null) {
      let count = 0;
      sv.tree.walkRange(key(0, INODE_ITEM, 0), key(ORPHAN_OBJECTID - 1, INODE_ITEM, MAX_KEY_VALUE),
        (kk, addr, size) => {
        if (kk.type === INODE_ITEM
          && (decodeInode(this.k.m.u8.slice(addr, addr + size)).flags
            & INODE_FLAG_IMMUTABLE)) count++;
        return true;
      });
      sv.immutableInodes = count;
    }
    return sv.immutableInodes > 0;
  }

}
