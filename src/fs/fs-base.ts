// The file system's state and its lowest layer of operations: the mount's subvolumes,
// inodes, directory entries, the path cache and the guards every operation passes
// (docs/fs.md). The operations users call are built on it in layers, each in its own file:
// fs-namespace.ts (names, links, xattrs, subvolumes), fs-files.ts (file data), and
// FileSystem (mount, DAX, checking), which is the public API.
import { derivedUuid, uuidText } from './uuid.js';
import { FsError, describeValue } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { Kernel } from './kernel.js';
import { FileData, alignDown, alignUp } from './file-data.js';
import type { Subvolume } from './subvolume.js';
import type { BTree } from './ctree.js';
import {
  encodeInode, decodeInode, encodeDirEntries, decodeDirEntries, encodeInodeRefs, decodeInodeRefs,
  encodeRootItem, decodeRootRef, nameBytes, type InodeItem, type DirEntry,
} from './items.js';
import {
  key, FS_TREE_ID, FIRST_INODE, INODE_ITEM, INODE_REF, DIR_ITEM, DIR_INDEX, ROOT_ITEM, ROOT_REF,
  ORPHAN_OBJECTID, ORPHAN_ITEM, MODE_DIR, isFileMode, isSymlinkMode, INODE_FLAG_IMMUTABLE,
  EXTENT_DATA as EXTENT_DATA_TYPE, DIR_KIND_SUBVOLUME, ROOT_FLAG_READONLY, MAX_KEY_VALUE,
  SECTOR_BYTES, EXTENT_TYPE_REG, INODE_REF_HEADER_BYTES, LEAF_ITEM_BYTES, NODE_HEADER_BYTES,
  type Key,
} from './format.js';
import { UUID_BYTES } from './uuid.js';
import type { StatFs } from './types.js';
import { kindOfMode, isDirKind } from './special.js';
import { MAX_SYMLINK_FOLLOWS, decodeSymlinkTarget, pathNames } from './symlink.js';
import {
  MAX_DENTRIES, type Resolved, EMPTY_SUBVOL_DIR_INO, type Parent, type Walked, type OpenFile,
  btrfsNameHash, copyResolved, checkPath,
} from './fs-common.js';
import type { FileMappings } from './file-mappings.js';
import { assert } from '../assert.js';

export abstract class FsBase {
  protected readonly k: Kernel;
  protected readonly data: FileData;
  /** Whoever maps this file system's files (the DAX manager, set at mount): the seam
   *  through which the file system's changes reach the mappings (file-mappings.ts). */
  protected mappings: FileMappings | null = null;
  /** MountOptions.coreWrites. */
  protected coreWrites = true;
  /** Writes (pwrite calls) the core's path made alone since mount. */
  writesInCore = 0;
  /** This thread's scratch of the device (caller bytes go through it into the shared memory). */
  protected scratch: Uint8Array | null = null;
  protected frozen = false;
  protected readonly subvolumes = new Map<number, Subvolume>();
  /**
   * Path cache (a dentry cache): paths without '..' (components joined by '/') and what
   * they resolved to, valid while no tree changed since (Kernel.treeChanges); callers get
   * copies, since some change the inode they are given before writing it back.
   */
  protected readonly dentries = new Map<string, Walked>();
  protected readonly nameHashes = new Map<string, number>();
  protected dentriesAt = -1;
  protected readonly fds = new Map<number, OpenFile>();
  protected nextFd = 3;
  protected mounted = true;
  /** Commits made because an operation would otherwise have failed with ENOSPC (reserveSpace). */
  spaceReclaims = 0;
  /** This mount's claim on the device (PmemDevice.claimOwner): one file system per device. */
  protected ownerToken = 0;

  protected constructor(readonly device: PmemDevice, kernel: Kernel) {
    this.k = kernel;
    this.data = new FileData(kernel);
    this.data.allTrees = () => [...this.subvolumes.values()].map((sv) => sv.tree);
    kernel.participants.add({
      writeRootItems: () => {
        this.updateNbytes();
        this.writeRootItems();
      },
    });
  }

  /**
   * Run `fn` holding the fs lock (shared memory, nested): another thread's core instance
   * runs an operation of the engine only between this thread's (docs/engine.md).
   */
  protected withFsLock<T>(fn: () => T): T {
    const core = this.k.core;
    core.fs_lock();
    try {
      return fn();
    } finally {
      core.fs_unlock();
    }
  }


  commit(): void {
    this.live();
    this.k.commit();
  }

  sync(): void {
    this.commit();
  }

  statfs(): StatFs {
    this.live();
    const used = this.k.usedBytes();
    return {
      totalBytes: this.k.totalBytes, usedBytes: used + this.k.reservedBytes(),
      freeBytes: this.k.free.freeBytes(), nodeSize: this.k.nodeBytes, sectorSize: SECTOR_BYTES,
      generation: this.k.generation, label: this.k.label,
    };
  }

  /** The kernel (trees, allocator): for fsck, scrub, DAX and tests. */
  get kernel(): Kernel {
    return this.k;
  }

  subvolumeIds(): number[] {
    return [...this.subvolumes.keys()].sort((a, b) => a - b);
  }

  subvolume(id: number): Subvolume | undefined {
    return this.subvolumes.get(id);
  }

  // --- subvolume bookkeeping ---------------------------------------------------------

  protected addSubvolume(id: number, tree: BTree, flags: number, lastSnapshot: number,
    atMount = false): Subvolume {
    let last: { key: Key } | null = null;
    let damaged: Subvolume['damaged'];
    try {
      last = tree.lastAtOrBefore(key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE));
    } catch (e) {
      // At mount, a subvolume whose tree cannot be read (a media error, a corrupted node)
      // is mounted read-only, so that the rest of the file system stays usable; its
      // readable parts read, the rest fail with that error.
      if (!atMount || !(e instanceof FsError)) throw e;
      damaged = { reason: e.message, flags };
    }
    const sv: Subvolume = {
      id, tree, flags: damaged ? flags | ROOT_FLAG_READONLY : flags, lastSnapshot,
      rootDir: FIRST_INODE,
      // A new subvolume's uuid, derived (images stay reproducible: the crash explorer's are
      // compared byte for byte) from the file system's and the subvolume's id and creation.
      // (A mount reads them from the ROOT_ITEM instead.)
      uuid: atMount ? new Uint8Array(UUID_BYTES)
        : derivedUuid(`pmcow subvolume ${uuidText(this.k.fsid)} ${id} ${lastSnapshot}`),
      parentUuid: new Uint8Array(UUID_BYTES),
      otransid: lastSnapshot,
      nextIno: Math.max(FIRST_INODE + 1,
        last ? last.key.objectid + 1 : FIRST_INODE + 1), itemDirty: true,
      immutableInodes: null,
    };
    if (damaged) sv.damaged = damaged;
    this.subvolumes.set(id, sv);
    this.k.setLastSnapshot(tree, lastSnapshot);
    return sv;
  }

  /**
   * btrfs's inode nbytes (the bytes a file's extent items map), for every inode whose items
   * changed in this transaction: summed from the items at commit, written when it moved.
   */
  protected updateNbytes(): void {
    for (const [tree, inos] of this.k.takeExtentsChanged()) {
      const sv = this.subvolumes.get(tree);
      if (!sv) continue;
      for (const ino of inos) {
        const item = sv.tree.get(key(ino, INODE_ITEM, 0));
        if (!item) continue; // deleted in this transaction
        const inode = decodeInode(item);
        const nbytes = isFileMode(inode.mode) ? this.data.nbytes(sv, ino) : inode.nbytes;
        if (nbytes !== inode.nbytes) {
          sv.tree.update(key(ino, INODE_ITEM, 0), encodeInode({ ...inode, nbytes }));
        }
      }
    }
  }

  protected writeRootItems(): void {
    for (const sv of this.subvolumes.values()) {
      const movedElsewhere = this.k.takeMovedMark(sv.tree);
      if (!sv.itemDirty && !movedElsewhere && !this.k.movedSubvolumes.has(sv.tree)) continue;
      // The root block's generation, as btrfs reads it back (a ROOT_ITEM rewritten for its
      // last snapshot alone must not claim a newer root than the one it names).
      this.k.rootTree.put(key(sv.id, ROOT_ITEM, 0), encodeRootItem({
        bytenr: sv.tree.root, level: sv.tree.level,
        generation: this.k.blockGeneration(sv.tree.root), flags: sv.damaged?.flags ?? sv.flags,
        lastSnapshot: sv.lastSnapshot, rootDir: sv.rootDir, uuid: sv.uuid,
        parentUuid: sv.parentUuid, otransid: sv.otransid,
      }, this.k.nodeBytes));
      sv.itemDirty = false;
      this.k.movedSubvolumes.delete(sv.tree);
    }
  }

  protected createRootDir(sv: Subvolume, ino: number): void {
    sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(this.newInode(MODE_DIR, 0)));
    sv.tree.insert(key(ino, INODE_REF, ino), encodeInodeRefs([{ index: 0, name: '..' }]));
  }

  protected newInode(mode: number, flags: number): InodeItem {
    return { generation: this.k.transid, size: 0, nbytes: 0, nlink: 1, mode, flags,
      transid: this.k.transid };
  }

  // --- guards ------------------------------------------------------------------------

  protected live(): void {
    if (!this.mounted) throw new FsError('EINVAL', 'file system is not mounted');
    // A crash (crashInPlace, a crash image built into this device) is a new boot: this
    // mount's state is gone with it, and another mount may own the device now.
    if (this.ownerToken !== 0 && !this.device.ownsDevice(this.ownerToken)) {
      throw new FsError('EIO', 'the device crashed since this mount: mount it again');
    }
  }

  /**
   * Before a change: writable, and room in the dirty-node pool for the operation. A change
   * that grows metadata (a new name, inode or subvolume) must leave half the metadata
   * reserve free, so that deletions, truncation and commits can always proceed.
   */
  protected beginChange(sv?: Subvolume, growsMetadata: boolean | 'snapshot' = false): void {
    this.live();
    if (this.frozen) throw new FsError('EBUSY', 'file system is frozen');
    this.k.checkWritable();
    if (sv && (sv.flags & ROOT_FLAG_READONLY) !== 0) {
      throw new FsError('EROFS', `subvolume ${sv.id} is a read-only snapshot`);
    }
    // Commit early when dirty buffers or free space run low: a commit returns pinned space.
    if (this.k.poolPressure() > 0.4
      || (this.k.metadataFreeBytes() < this.k.metadataReserveBytes
        && this.k.hasChanges())) this.k.commit();
    // A snapshot shares a whole tree: the next commits rewrite shared paths and refcounts,
    // so it asks for the full reserve; other growing changes for three quarters of it.
    const needed = growsMetadata === 'snapshot' ? this.k.metadataReserveBytes
      : (this.k.metadataReserveBytes * 3) / 4;
    if (growsMetadata) {
      this.reserveSpace(() => this.k.metadataFreeBytes() >= needed, 'no space left for metadata');
    }
  }

  /**
   * ENOSPC reclaims first: when `enough` fails and the running transaction freed extents
   * (their space comes back only with the commit that makes the frees durable: a crash
   * before it must still find them intact), commit to return it and ask again; ENOSPC only
   * if that did not help. btrfs does the same (flush_space's COMMIT_TRANS step before a
   * reservation fails), as does XFS (a log force to free busy extents). Callers ask before
   * they change anything, so the commit makes durable only operations that already
   * returned, and a failure changes nothing.
   */
  protected reserveSpace(enough: () => boolean, message = 'no space left on device'): void {
    if (enough()) return;
    if (this.k.reclaimableBytes() > 0) {
      this.k.commit();
      this.spaceReclaims++;
      if (enough()) return;
    }
    throw new FsError('ENOSPC', message);
  }

  // --- inodes and directories --------------------------------------------------------

  inode(sv: Subvolume, ino: number): InodeItem {
    const b = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!b) throw new FsError('EIO', `subvolume ${sv.id}: inode ${ino} is missing`);
    return decodeInode(b);
  }

  protected putInode(sv: Subvolume, ino: number, i: InodeItem): void {
    i.transid = this.k.transid;
    sv.tree.update(key(ino, INODE_ITEM, 0), encodeInode(i));
  }

  /** crc32c of a name (the DIR_ITEM key offset), remembered: every path lookup asks for it. */
  protected nameHash(name: string): number {
    let hash = this.nameHashes.get(name);
    if (hash === undefined) {
      hash = btrfsNameHash(this.device, nameBytes(name));
      if (this.nameHashes.size >= MAX_DENTRIES) this.nameHashes.clear();
      this.nameHashes.set(name, hash);
    }
    return hash;
  }

  protected lookupEntry(sv: Subvolume, dir: number, name: string): DirEntry | null {
    const b = sv.tree.get(key(dir, DIR_ITEM, this.nameHash(name)));
    if (!b) return null;
    return decodeDirEntries(b).find((e) => e.name === name) ?? null;
  }

  protected entryTarget(sv: Subvolume, e: DirEntry): Resolved {
    if (e.kind === DIR_KIND_SUBVOLUME) {
      const child = this.subvolumes.get(e.location.objectid);
      // Only the subvolume that holds the ROOT_REF owns the child; a snapshot's copy of
      // the entry stands for an empty directory (btrfs does the same).
      if (!child || !this.k.rootTree.lookup(key(sv.id, ROOT_REF, e.location.objectid))) {
        return { sv, ino: EMPTY_SUBVOL_DIR_INO,
          inode: { ...this.newInode(MODE_DIR, 0), transid: 0, generation: 0 }, kind: 'dir',
          placeholder: true };
      }
      return { sv: child, ino: child.rootDir, inode: this.inode(child, child.rootDir),
        kind: 'subvolume' };
    }
    const inode = this.inode(sv, e.location.objectid);
    return { sv, ino: e.location.objectid, inode, kind: kindOfMode(inode.mode) };
  }

  /** What `path` names, symlinks followed (stat, open and every call on a file's contents). */
  protected resolve(path: unknown): Resolved {
    this.live();
    return this.walk(checkPath(path), path);
  }

  /**
   * What `path` names without following a symlink in its last component (lstat, unlink,
   * rename, link, readlink); a trailing '/' follows it, as Linux's path walk does.
   */
  protected resolveNoFollow(path: unknown): Resolved {
    this.live();
    const parts = checkPath(path);
    if (parts.length === 0 || parts[parts.length - 1] === '..' || (path as string).endsWith('/')) {
      return this.walk(parts, path);
    }
    if (parts.includes('..')) return this.walk(parts, path, false);
    // The directory through the path cache, then the last name as it is.
    const dir = this.walkCached(parts.slice(0, -1), path);
    if (!isDirKind(dir.cur.kind)) {
      throw new FsError('ENOTDIR', `'${String(path)}': a component is not a directory`);
    }
    const e = dir.cur.placeholder ? null : this.lookupEntry(dir.cur.sv, dir.cur.ino,
      parts[parts.length - 1]!);
    if (!e) throw new FsError('ENOENT', `'${String(path)}': no such file or directory`);
    const r = this.entryTarget(dir.cur.sv, e);
    // Anything but a symlink is what a followed walk finds too: the cache keeps it (a
    // reader that lstats, then reads or lists, walks the name once).
    if (r.kind !== 'symlink') {
      this.remember(parts, { cur: copyResolved(r), up: [...dir.up, dir.cur] });
    }
    return r;
  }

  /**
   * Walk the components from the top-level root. '..' steps back to the directory the
   * walk came from (the top-level root stays put), after checking that the component
   * before it exists and is a directory, as POSIX asks ('file/..' is ENOTDIR). Symlinks
   * are followed (the last component's only when `followLast`).
   */
  protected walk(parts: string[], path: unknown, followLast = true): Resolved {
    if (parts.includes('..') || !followLast) {
      return copyResolved(this.walkFrom(this.fromTop(), parts, path, followLast).cur);
    }
    return copyResolved(this.walkCached(parts, path).cur);
  }

  protected fromTop(): Walked {
    const top = this.subvolumes.get(FS_TREE_ID)!;
    return { cur: { sv: top, ino: top.rootDir, inode: this.inode(top, top.rootDir),
      kind: 'subvolume' }, up: [] };
  }

  /**
   * Walk a path without '..' (symlinks followed) through the path cache: the path itself,
   * else its longest cached prefix, else the top-level root. The answer is the cache's
   * own (copy it before handing it out).
   */
  protected walkCached(parts: string[], path: unknown): Walked {
    if (this.dentriesAt !== this.k.treeChanges) {
      this.dentries.clear();
      this.dentriesAt = this.k.treeChanges;
    }
    let cached = parts.length; // components the cache entry `hit` covers
    let hit: Walked | undefined;
    while (cached > 0
      && (hit = this.dentries.get(parts.slice(0, cached).join('/'))) === undefined) cached--;
    if (hit && cached === parts.length) return hit;
    const walked = this.walkFrom(hit ? { cur: hit.cur, up: [...hit.up] } : this.fromTop(),
      parts.slice(cached), path, true);
    const entry = { cur: copyResolved(walked.cur), up: walked.up };
    this.remember(parts, entry);
    return entry;
  }

  protected remember(parts: string[], entry: Walked): void {
    // A walk only reads: the trees it answers for are still those the cache is valid for.
    assert(this.dentriesAt === this.k.treeChanges,
      'path cache: an entry is remembered for the trees it was walked in');
    if (this.dentries.size >= MAX_DENTRIES) this.dentries.clear();
    this.dentries.set(parts.join('/'), entry);
  }

  /**
   * Walk `parts` on from `from`: '..' steps back to the directory the walk came from; a
   * symlink's target is walked in its place (from the top for an absolute one), at most
   * MAX_SYMLINK_FOLLOWS of them (ELOOP, Linux's MAXSYMLINKS).
   */
  protected walkFrom(from: Walked, parts: string[], path: unknown, followLast: boolean): Walked {
    let { cur } = from;
    let { up } = from;
    const todo = [...parts].reverse();
    let follows = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (!isDirKind(cur.kind)) {
        throw new FsError('ENOTDIR', `'${String(path)}': a component is not a directory`);
      }
      if (part === '..') { cur = up.pop() ?? cur; continue; }
      const e = cur.placeholder ? null : this.lookupEntry(cur.sv, cur.ino, part);
      if (!e) throw new FsError('ENOENT', `'${String(path)}': no such file or directory`);
      const next = this.entryTarget(cur.sv, e);
      if (next.kind === 'symlink' && (todo.length > 0 || followLast)) {
        if (++follows > MAX_SYMLINK_FOLLOWS) {
          throw new FsError('ELOOP',
            `'${String(path)}': more than ${MAX_SYMLINK_FOLLOWS} symbolic links`);
        }
        const target = this.symlinkTarget(next.sv, next.ino);
        if (target.startsWith('/')) {
          const top = this.subvolumes.get(FS_TREE_ID)!;
          cur = { sv: top, ino: top.rootDir, inode: this.inode(top, top.rootDir),
            kind: 'subvolume' };
          up = [];
        }
        todo.push(...pathNames(target).reverse());
        continue;
      }
      up.push(cur);
      cur = next;
    }
    return { cur, up };
  }

  protected resolveParent(path: unknown): Parent {
    this.live();
    const parts = checkPath(path);
    if (parts.length === 0 || parts[parts.length - 1] === '..') {
      // A path ending in '..' names a directory that exists (or fails the walk): never a
      // new or removable name.
      this.walk(parts, path);
      throw new FsError('EBUSY',
        `'${String(path)}': '/' and '..' cannot be the target of this operation`);
    }
    const name = parts[parts.length - 1]!;
    const dir = this.walk(parts.slice(0, -1), path);
    if (!isDirKind(dir.kind)) {
      throw new FsError('ENOTDIR', `'${String(path)}': parent is not a directory`);
    }
    return { sv: dir.sv, dir: dir.ino, name, placeholder: dir.placeholder === true };
  }

  protected addEntry(p: Parent, location: Key, kind: number): number {
    const dirInode = this.inode(p.sv, p.dir);
    const index = this.takeDirIndex(p.sv, p.dir);
    dirInode.size += nameBytes(p.name).length * 2;
    this.putInode(p.sv, p.dir, dirInode);
    const hashKey = key(p.dir, DIR_ITEM, this.nameHash(p.name));
    const existing = p.sv.tree.get(hashKey);
    const entry: DirEntry = { location, kind, name: p.name, transid: this.k.transid };
    const entries = existing ? [...decodeDirEntries(existing), entry] : [entry];
    p.sv.tree.put(hashKey, encodeDirEntries(entries));
    p.sv.tree.insert(key(p.dir, DIR_INDEX, index), encodeDirEntries([entry]));
    if (kind !== DIR_KIND_SUBVOLUME) {
      const refKey = key(location.objectid, INODE_REF, p.dir);
      const refs = p.sv.tree.get(refKey);
      p.sv.tree.put(refKey,
        encodeInodeRefs([...(refs ? decodeInodeRefs(refs) : []), { index, name: p.name }]));
    }
    return index;
  }

  /**
   * The next DIR_INDEX of `dir`: btrfs keeps no counter on disk, it continues from the
   * directory's highest index (2 for an empty one) and counts up in memory for the mount.
   */
  protected takeDirIndex(sv: Subvolume, dir: number): number {
    const id = `${sv.id}:${dir}`;
    let next = this.nextDirIndexes.get(id);
    if (next === undefined) {
      const last = sv.tree.lastAtOrBefore(key(dir, DIR_INDEX, MAX_KEY_VALUE));
      next = last && last.key.objectid === dir && last.key.type === DIR_INDEX
        ? last.key.offset + 1 : 2;
    }
    if (this.nextDirIndexes.size >= MAX_DENTRIES) this.nextDirIndexes.clear();
    this.nextDirIndexes.set(id, next + 1);
    return next;
  }

  protected readonly nextDirIndexes = new Map<string, number>();

  /** Would one more name for `ino` in `dir` still fit its INODE_REF item? (btrfs: EMLINK) */
  protected checkRefRoom(sv: Subvolume, ino: number, dir: number, name: string): void {
    const refs = sv.tree.get(key(ino, INODE_REF, dir));
    const size = (refs?.length ?? 0) + nameBytes(name).length
      + INODE_REF_HEADER_BYTES + LEAF_ITEM_BYTES;
    if (size > (this.k.nodeBytes - NODE_HEADER_BYTES) / 2) {
      throw new FsError('EMLINK', 'too many names for this inode in one directory');
    }
  }

  protected removeEntry(p: Parent): DirEntry {
    const hashKey = key(p.dir, DIR_ITEM, this.nameHash(p.name));
    const existing = p.sv.tree.get(hashKey);
    const entries = existing ? decodeDirEntries(existing) : [];
    const entry = entries.find((e) => e.name === p.name);
    if (!entry) throw new FsError('ENOENT', `'${p.name}': no such entry`);
    const rest = entries.filter((e) => e !== entry);
    if (rest.length) {
      p.sv.tree.update(hashKey, encodeDirEntries(rest));
    } else {
      p.sv.tree.delete(hashKey);
    }
    let index = -1;
    if (entry.kind !== DIR_KIND_SUBVOLUME) {
      const refKey = key(entry.location.objectid, INODE_REF, p.dir);
      const refs = decodeInodeRefs(p.sv.tree.get(refKey) ?? new Uint8Array(0));
      const ref = refs.find((r) => r.name === p.name);
      if (!ref) {
        throw new FsError('EIO',
          `inode ${entry.location.objectid}: back reference for '${p.name}' is missing`);
      }
      index = ref.index;
      const left = refs.filter((r) => r !== ref);
      if (left.length) {
        p.sv.tree.update(refKey, encodeInodeRefs(left));
      } else {
        p.sv.tree.delete(refKey);
      }
    } else {
      const rr = this.k.rootTree.get(key(p.sv.id, ROOT_REF, entry.location.objectid));
      index = rr ? decodeRootRef(rr).index : -1;
    }
    if (index >= 0) p.sv.tree.delete(key(p.dir, DIR_INDEX, index));
    else {
      for (const item of p.sv.tree.range(key(p.dir, DIR_INDEX, 0),
        key(p.dir, DIR_INDEX, MAX_KEY_VALUE))) {
        if (decodeDirEntries(item.data)[0]?.name === p.name) { p.sv.tree.delete(item.key); break; }
      }
    }
    const dirInode = this.inode(p.sv, p.dir);
    dirInode.size = Math.max(0, dirInode.size - nameBytes(p.name).length * 2);
    this.putInode(p.sv, p.dir, dirInode);
    return entry;
  }

  protected dirIsEmpty(sv: Subvolume, dir: number): boolean {
    return sv.tree.range(key(dir, DIR_INDEX, 0),
      key(dir, DIR_INDEX, MAX_KEY_VALUE), 1).length === 0;
  }

  protected isOpen(sv: Subvolume, ino: number): boolean {
    for (const f of this.fds.values()) if (f.sv === sv && f.ino === ino) return true;
    return this.mappings?.isMapped(sv, ino) ?? false;
  }

  protected immutable(r: { inode: InodeItem }): boolean {
    return (r.inode.flags & INODE_FLAG_IMMUTABLE) !== 0;
  }

  protected refuseImmutable(r: { inode: InodeItem }, what: string): void {
    if (this.immutable(r)) throw new FsError('EPERM', `${what}: the file is DAX-immutable`);
  }

  protected refusePlaceholder(p: { placeholder?: boolean }): void {
    if (p.placeholder) {
      throw new FsError('EPERM',
        'the directory stands for a subvolume that the snapshot does not contain');
    }
  }

  protected rangeChanged(sv: Subvolume, ino: number, start: number, end: number): void {
    this.mappings?.rangeChanged(sv, ino, start, end);
  }

  /**
   * The file grows to `newSize`: bytes past the old EOF in its last sector (a store through
   * a mapping may have put data there) must read as zeros (generic/029, generic/499). The
   * rewrite is a sector of new data: room for it is asked first (reserveSpace: space an
   * unlink of this transaction pins comes back with a commit), as every caller must before
   * it changes anything. A clone growing a file failed with ENOSPC here after such an unlink.
   */
  protected zeroPastEof(sv: Subvolume, ino: number, newSize: number): void {
    const inode = this.inode(sv, ino);
    const from = inode.size;
    const to = alignUp(from);
    if (newSize <= from || from === to) return;
    if (!this.data.extents(sv, ino, from, to).some(({ e }) => e.type === EXTENT_TYPE_REG)) return;
    this.reserveSpace(() => this.k.spaceFits(SECTOR_BYTES, this.k.metadataReserveBytes));
    this.data.write(sv, ino, inode, new Uint8Array(to - from), from);
    this.rangeChanged(sv, ino, alignDown(from), to);
  }

  /** nlink dropped: delete the inode now, or when its last descriptor closes. */
  protected dropLink(sv: Subvolume, ino: number): void {
    const inode = this.inode(sv, ino);
    inode.nlink -= 1;
    if (inode.nlink > 0) { this.putInode(sv, ino, inode); return; }
    this.putInode(sv, ino, inode);
    if (this.isOpen(sv, ino)) sv.tree.put(key(ORPHAN_OBJECTID, ORPHAN_ITEM, ino),
      new Uint8Array(0));
    else this.deleteInode(sv, ino);
  }

  protected deleteInode(sv: Subvolume, ino: number): void {
    // Its extents go the way every dropped extent reference goes (FileData.drop), then the
    // rest (a symlink's inline target item refers to no extent).
    const item = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!item || !isSymlinkMode(decodeInode(item).mode)) this.data.drop(sv, ino, 0, MAX_KEY_VALUE);
    for (const item of sv.tree.range(key(ino, 0, 0), key(ino, 255, MAX_KEY_VALUE))) {
      sv.tree.delete(item.key);
    }
    sv.tree.delete(key(ORPHAN_OBJECTID, ORPHAN_ITEM, ino));
  }

  protected processOrphans(): void {
    for (const sv of this.subvolumes.values()) {
      if (sv.damaged) continue; // read-only until repaired: its orphans stay
      const orphans = sv.tree.range(key(ORPHAN_OBJECTID, ORPHAN_ITEM, 0),
        key(ORPHAN_OBJECTID, ORPHAN_ITEM, MAX_KEY_VALUE));
      if (orphans.length && (sv.flags & ROOT_FLAG_READONLY) === 0) {
        for (const o of orphans) this.deleteInode(sv, o.key.offset);
      }
    }
  }


  /** The running transaction changed inode `ino` (its transid moves). */
  protected touchInode(sv: Subvolume, ino: number): void {
    this.putInode(sv, ino, this.inode(sv, ino));
  }

  protected fd(fd: unknown): OpenFile {
    this.live();
    const f = typeof fd === 'number' ? this.fds.get(fd) : undefined;
    if (!f) throw new FsError('EBADF', `bad file descriptor ${describeValue(fd)}`);
    return f;
  }

  /** A symlink's target from its inline extent item. */
  protected symlinkTarget(sv: Subvolume, ino: number): string {
    const item = sv.tree.get(key(ino, EXTENT_DATA_TYPE, 0));
    const target = item ? decodeSymlinkTarget(item) : null;
    if (target === null) {
      throw new FsError('EUCLEAN', `subvolume ${sv.id}: symlink ${ino} has no inline target item`);
    }
    return target;
  }
}
