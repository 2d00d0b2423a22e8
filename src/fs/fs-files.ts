// The file system's file operations: open files, read, write, truncate, fallocate, fsync,
// reflinks and range operations. A layer of FileSystem (fs-base.ts says which).
import {
  MAX_FILE_BYTES, COPY_CHUNK_BYTES, type Resolved, checkOptions, checkFlag, MAX_READ_BYTES,
  checkOffset, checkBytes,
} from './fs-common.js';
import { FsError } from '../errors.js';
import { DEVICE_BASE } from '../core/module.js';
import { alignDown, alignUp, type FileRange } from './file-data.js';
import { assert } from '../assert.js';
import type { Subvolume } from './subvolume.js';
import { decodeInode } from './items.js';
import {
  key, INODE_ITEM, MODE_FILE, INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, ROOT_FLAG_READONLY,
  MAX_KEY_VALUE, SECTOR_BYTES,
} from './format.js';
import { INODE_ITEM_BYTES, INODE_SIZE, INODE_FLAGS, PAGE_BYTES } from '../core/abi.js';
import type { FallocateOptions } from './types.js';
import { isSpecialKind, requireRegular } from './special.js';
import { MAX_SYMLINK_FOLLOWS } from './symlink.js';
import * as rangeOps from './range-ops.js';
import type { RangeHost, DedupeResult, DedupeDestination, DedupeInfo } from './range-ops.js';
import { FsNamespace } from './fs-namespace.js';

export abstract class FsFiles extends FsNamespace {
  // --- files -------------------------------------------------------------------------

  open(path: string, flags: { create?: boolean; truncate?: boolean } = {}): number {
    this.live();
    const f = checkOptions<{ create: boolean; truncate: boolean }>(flags, 'open flags',
      ['create', 'truncate']);
    const create = checkFlag(f.create, 'create');
    const truncate = checkFlag(f.truncate, 'truncate');
    let r: Resolved;
    try {
      r = this.resolve(path);
    } catch (e) {
      if (!(e instanceof FsError && e.code === 'ENOENT' && create)) throw e;
      r = this.makeNode(this.creationPath(path), MODE_FILE);
    }
    requireRegular(r.kind, path);
    if (truncate) this.truncateResolved(r, 0);
    const fd = this.nextFd++;
    this.fds.set(fd, { sv: r.sv, ino: r.ino });
    return fd;
  }

  /**
   * Where open(O_CREAT) creates `path`: the path itself, or, when its last component is a
   * dangling symlink, the target it names (Linux follows it and creates the target).
   */
  protected creationPath(path: string): string {
    for (let follows = 0; ; follows++) {
      let r: Resolved;
      try { r = this.resolveNoFollow(path); } catch (e) {
        if (e instanceof FsError && e.code === 'ENOENT') return path;
        throw e;
      }
      if (r.kind !== 'symlink') return path;
      if (follows >= MAX_SYMLINK_FOLLOWS) {
        throw new FsError('ELOOP', `'${path}': more than ${MAX_SYMLINK_FOLLOWS} symbolic links`);
      }
      const target = this.symlinkTarget(r.sv, r.ino);
      path = target.startsWith('/') ? target
        : `${path.replace(/\/+$/, '').replace(/[^/]*$/, '')}${target}`;
    }
  }

  close(fd: number): void {
    const f = this.fd(fd);
    this.fds.delete(fd);
    this.releaseIfOrphan(f.sv, f.ino);
  }

  /** The last descriptor or mapping of an unlinked file went away: delete it. */
  protected releaseIfOrphan(sv: Subvolume, ino: number): void {
    if (this.isOpen(sv, ino) || this.k.aborted || this.frozen
      || !this.subvolumes.has(sv.id)) return;
    const item = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!item || decodeInode(item).nlink !== 0) return;
    this.beginChange();
    this.deleteInode(sv, ino);
  }

  pread(fd: number, length: number, offset: number): Uint8Array {
    const f = this.fd(fd);
    checkOffset(length, 'length');
    checkOffset(offset, 'offset');
    return this.data.read(f.sv, f.ino, this.inode(f.sv, f.ino), offset,
      Math.min(length, MAX_READ_BYTES));
  }

  /**
   * Read into `target` (any byte view) from file offset `offset`, as Node's fs.readSync
   * with a buffer: no new array per read. Returns the bytes read: `target.byteLength`, or
   * fewer at the end of the file (the rest of `target` is left as it was).
   */
  preadInto(fd: number, target: ArrayBufferView, offset: number): number {
    const f = this.fd(fd);
    if (!ArrayBuffer.isView(target)) {
      throw new FsError('EINVAL', 'target must be a typed array or DataView');
    }
    checkOffset(offset, 'offset');
    const out = new Uint8Array(target.buffer, target.byteOffset,
      Math.min(target.byteLength, MAX_READ_BYTES));
    return this.data.readIntoBounded(f.sv, f.ino, offset, out)
      ?? this.data.readInto(f.sv, f.ino, this.inodeSizeFlags(f.sv, f.ino), offset, out);
  }

  /** An inode's size and flags, read in place (no copy of the item, no decode of the rest). */
  protected inodeSizeFlags(sv: Subvolume, ino: number): { size: number; flags: number } {
    const item = sv.tree.lookup(key(ino, INODE_ITEM, 0));
    if (!item) throw new FsError('EIO', `subvolume ${sv.id}: inode ${ino} is missing`);
    if (item.size !== INODE_ITEM_BYTES) return this.inode(sv, ino); // its decode says what is wrong
    return { size: this.k.m.u64(item.addr + INODE_SIZE),
      flags: this.k.m.u64(item.addr + INODE_FLAGS) };
  }

  pwrite(fd: number, data: Uint8Array, offset: number): number {
    const f = this.fd(fd);
    const bytes = checkBytes(data);
    checkOffset(offset, 'offset');
    if (offset + bytes.length > MAX_FILE_BYTES) {
      throw new FsError('EFBIG', 'write beyond the maximum file size');
    }
    if (!this.writeInCore(f.sv, f.ino, bytes, offset)) {
      this.writeResolved(f.sv, f.ino, bytes, offset);
    }
    return bytes.length;
  }

  /**
   * The writes the core makes alone, in one call (assembly/fs/file.ts: sector-aligned, in
   * place in a nodatacow extent, one page to a new block or several to a new extent over a
   * hole, then the inode item); false when writeResolved must run, which the core answers
   * before it changes anything. Not with
   * crash points at every store (the hook runs once per store TypeScript makes) nor when a
   * DAX mapping or dirtied page may involve the file (rangeChanged has work to do).
   */
  protected writeInCore(sv: Subvolume, ino: number, bytes: Uint8Array, offset: number): boolean {
    const length = bytes.length;
    if (!this.coreWrites || length === 0 || offset % SECTOR_BYTES !== 0
      || length % SECTOR_BYTES !== 0) return false;
    if (this.device.beforeStore
      || (this.mappings && !this.mappings.untouched(sv, ino))) return false;
    // Caller bytes outside the shared memory come in through this thread's scratch.
    // (A view starting below the device base is not one the core reads in place: no look at
    // its buffer, a getter call, for the common caller's array.)
    const inMemory = bytes.byteOffset >= DEVICE_BASE && bytes.buffer === this.k.m.u8.buffer;
    const scratch = inMemory ? null : (this.scratch ??= this.device.scratch());
    if (scratch && length > scratch.length) return false;
    this.beginChange(sv);
    scratch?.set(bytes);
    let disk: number;
    try {
      disk = this.k.core.fs_file_write(sv.tree.id, ino,
        scratch ? scratch.byteOffset : bytes.byteOffset, offset, length);
    } catch (e) {
      this.unmapPastEof(sv, ino, this.inode(sv, ino).size);
      throw e;
    }
    if (disk === -1) return false;
    if (disk < 0) throw new FsError('EINVAL', `pwrite in the core refused its arguments (${disk})`);
    this.k.noteDirtyData(disk, length);
    this.k.noteExtentsChanged(sv.tree.id, ino);
    this.writesInCore++;
    return true;
  }

  protected writeResolved(sv: Subvolume, ino: number, bytes: Uint8Array, offset: number): void {
    this.beginChange(sv);
    const inode = this.inode(sv, ino);
    this.refuseImmutable({ inode }, 'write');
    const start = alignDown(offset);
    const end = alignUp(offset + bytes.length);
    let fills = this.reserveWrite(sv, ino, start, end);
    const transid = this.k.transid;
    this.zeroPastEof(sv, ino, offset + bytes.length);
    // (zeroPastEof may commit to get room for its sector: the plan is made again then)
    if (this.k.transid !== transid) fills = this.reserveWrite(sv, ino, start, end);
    for (let done = 0; done < bytes.length;) {
      // Chunks end on sector boundaries: no sector is written twice (a filled one would COW).
      const chunk = Math.min(bytes.length - done,
        alignDown(offset + done + (4 << 20)) - (offset + done));
      const current = this.inode(sv, ino);
      try {
        this.data.write(sv, ino, current, bytes.subarray(done, done + chunk), offset + done, fills);
      } catch (e) {
        this.unmapPastEof(sv, ino, current.size);
        throw e;
      }
      current.size = Math.max(current.size, offset + done + chunk);
      this.putInode(sv, ino, current);
      this.rangeChanged(sv, ino, offset + done, offset + done + chunk);
      done += chunk;
      if (done < bytes.length && this.k.poolPressure() > 0.4) {
        this.k.commit();
        // What the plan filled in this transaction is committed now: in place no more.
        fills = this.data.planFills(sv, ino, alignDown(offset + done), end);
      }
    }
  }

  /**
   * Check space for a write of the sectors [start, end) first (with slack for the metadata
   * it COWs), so that a write either happens whole or fails before changing anything, and
   * return the ranges it fills in place (FileData.planFills). Those need no new space
   * (fallocate's promise): only the metadata reserve, half of which a filling write may
   * use, as deletions do. A commit that returns pinned space (reserveSpace) ends the
   * transaction whose fills a plan may rewrite in place: bytes filled in it are committed
   * data after it, which a rewrite in place would tear under their checksums (pmcow fuzz
   * --generator fsx --seed 702 --ops 60 --time 60 found the EIO). So the plan is made
   * again after a commit, and the space asked for again.
   */
  private reserveWrite(sv: Subvolume, ino: number, start: number, end: number): FileRange[] {
    for (let attempt = 0; ; attempt++) {
      // a commit at every attempt: the second has nothing pinned left to return
      assert(attempt < 3, 'write: the space check committed again and again');
      const transid = this.k.transid;
      const fills = this.data.planFills(sv, ino, start, end);
      const filledBytes = fills.reduce((sum, [a, b]) => sum + (b - a), 0);
      const need = end - start - filledBytes;
      if (need > 0) {
        this.reserveSpace(() =>
          this.k.spaceFits(need, this.k.writeSlackBytes + this.k.metadataReserveBytes));
      } else {
        this.reserveSpace(() => this.k.metadataFreeBytes() >= this.k.metadataReserveBytes / 2);
      }
      if (this.k.transid === transid) return fills;
    }
  }

  /**
   * After a write failed part way: nothing may stay mapped beyond EOF (`size`), or a later
   * growing truncate would read the failed write's bytes instead of zeros.
   */
  protected unmapPastEof(sv: Subvolume, ino: number, size: number): void {
    if (!this.k.aborted) this.data.drop(sv, ino, alignUp(size), MAX_KEY_VALUE);
  }

  readFile(path: string): Uint8Array {
    this.live();
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    if (r.inode.size > MAX_READ_BYTES) {
      throw new FsError('EFBIG', `'${path}' is ${r.inode.size} bytes:`
        + ` readFile returns at most ${MAX_READ_BYTES} (use pread)`);
    }
    return this.data.read(r.sv, r.ino, r.inode, 0, r.inode.size);
  }

  /**
   * A 53-bit digest of the bytes readFile(path) returns (the same checksum verification and
   * errors, no size limit), computed in the core without copying the bytes out: for
   * comparing contents, as the crash oracle does. Not cryptographic; the same function as
   * contentDigest in src/model/content-hash.ts over the same bytes.
   */
  contentDigest(path: string): number {
    this.live();
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    return this.data.digest(r.sv, r.ino, r.inode);
  }

  writeFile(path: string, data: Uint8Array): void {
    const bytes = checkBytes(data);
    const fd = this.open(path, { create: true, truncate: true });
    try {
      if (bytes.length) this.pwrite(fd, bytes, 0);
    } finally {
      this.close(fd);
    }
  }

  truncate(path: string, size: number): void {
    checkOffset(size, 'size');
    const r = this.resolve(path);
    // vfs_truncate: a directory is EISDIR, any other kind that is not a regular file EINVAL.
    if (isSpecialKind(r.kind)) {
      throw new FsError('EINVAL', `'${path}' is a ${r.kind}, not a regular file`);
    }
    requireRegular(r.kind, path);
    this.truncateResolved(r, size);
  }

  protected truncateResolved(r: Resolved, size: number): void {
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    this.refuseImmutable({ inode }, 'truncate');
    // A partial last sector, old or new, is rewritten with zeros past EOF (one sector of
    // new data): space freed by an unlink in this transaction comes back with a commit first.
    if (size % SECTOR_BYTES !== 0 || inode.size % SECTOR_BYTES !== 0) {
      this.reserveSpace(() => this.k.spaceFits(SECTOR_BYTES, this.k.metadataReserveBytes));
    }
    if (size < inode.size) {
      this.data.drop(r.sv, r.ino, alignUp(size), MAX_KEY_VALUE);
      const tailEnd = Math.min(alignUp(size), inode.size);
      if (tailEnd > size && this.data.extents(r.sv, r.ino, size, tailEnd).length) {
        this.data.write(r.sv, r.ino, inode, new Uint8Array(tailEnd - size), size);
      }
    }
    this.zeroPastEof(r.sv, r.ino, size);
    const current = this.inode(r.sv, r.ino);
    const old = current.size;
    current.size = size;
    this.putInode(r.sv, r.ino, current);
    if (size < old) this.rangeChanged(r.sv, r.ino, alignDown(size), MAX_KEY_VALUE);
  }

  fallocate(path: string, offset: number, length: number, options: FallocateOptions = {}): void {
    this.live();
    const keepSize =
      checkFlag(checkOptions<FallocateOptions>(options, 'fallocate options', ['keepSize'])
        .keepSize, 'keepSize');
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    if (length === 0) throw new FsError('EINVAL', 'fallocate length must be positive');
    if (offset + length > MAX_FILE_BYTES) {
      throw new FsError('EFBIG', 'fallocate beyond the maximum file size');
    }
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'fallocate');
    this.beginChange(r.sv);
    const start = alignDown(offset);
    const end = alignUp(offset + length);
    const holes = this.data.holeBytes(r.sv, r.ino, start, end);
    this.reserveSpace(() => this.k.spaceFits(holes, this.k.metadataReserveBytes));
    if (!keepSize) this.zeroPastEof(r.sv, r.ino, offset + length);
    this.data.preallocate(r.sv, r.ino, start, end);
    const inode = this.inode(r.sv, r.ino);
    if (!keepSize) inode.size = Math.max(inode.size, offset + length);
    this.putInode(r.sv, r.ino, inode);
    this.rangeChanged(r.sv, r.ino, start, end);
  }

  punchHole(path: string, offset: number, length: number): void {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'punch hole');
    this.beginChange(r.sv);
    // The partial sectors at either end are rewritten (two sectors at most): their space
    // may be pinned by an unlink in this transaction (reclaimed by a commit first).
    this.reserveSpace(() => this.k.spaceFits(2 * SECTOR_BYTES, this.k.metadataReserveBytes));
    this.zeroOut(r, offset, Math.min(offset + length, Math.max(r.inode.size, offset)), false);
    this.rangeChanged(r.sv, r.ino, offset, offset + length);
  }

  zeroRange(path: string, offset: number, length: number): void {
    this.live();
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    if (offset + length > MAX_FILE_BYTES) {
      throw new FsError('EFBIG', 'zero range beyond the maximum file size');
    }
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'zero range');
    this.beginChange(r.sv);
    // The whole sectors become preallocated and the partial ones at either end are rewritten
    // (two sectors at most, as punchHole's): check their space first, as fallocate does, so
    // that the call fails before changing anything (after a commit has returned what an
    // unlink of this transaction pinned: a zero of part of one sector failed without it).
    const inner = Math.max(0, alignDown(offset + length) - alignUp(offset));
    this.reserveSpace(() =>
      this.k.spaceFits(inner + 2 * SECTOR_BYTES, this.k.metadataReserveBytes));
    this.zeroPastEof(r.sv, r.ino, offset + length);
    this.zeroOut(r, offset, offset + length, true);
    const inode = this.inode(r.sv, r.ino);
    inode.size = Math.max(inode.size, offset + length);
    this.putInode(r.sv, r.ino, inode);
    this.rangeChanged(r.sv, r.ino, offset, offset + length);
  }

  /**
   * Zero [from, to): partial sectors are written with zeros, whole sectors unmapped (or
   * preallocated).
   */
  protected zeroOut(r: Resolved, from: number, to: number, prealloc: boolean): void {
    if (to <= from) return;
    const inode = this.inode(r.sv, r.ino);
    const innerStart = alignUp(from);
    const innerEnd = alignDown(to);
    const zeroPart = (a: number, b: number): void => {
      const limit = Math.min(b, inode.size);
      if (limit > a && this.data.extents(r.sv, r.ino, a, limit).length) {
        this.data.write(r.sv, r.ino, inode, new Uint8Array(limit - a), a);
      }
    };
    // The partial sectors at either end, each on its own (two neighbours when no whole
    // sector lies between): each is rewritten only if it holds an extent, as zeros written
    // over a hole would allocate it.
    const headEnd = Math.min(innerStart, to);
    zeroPart(from, headEnd);
    zeroPart(Math.max(headEnd, innerEnd), to);
    if (innerStart >= innerEnd) return;
    this.data.drop(r.sv, r.ino, innerStart, innerEnd);
    if (prealloc) this.data.preallocate(r.sv, r.ino, innerStart, innerEnd);
  }

  fsync(fd: number): void {
    this.fd(fd);
    this.k.commit();
  }

  /**
   * XFS_IOC_EXCHANGE_RANGE (what fsx's exchange_range calls): swap the bytes of
   * `path1` [offset1, offset1 + length) and `path2` [offset2, offset2 + length), atomically
   * (one transaction: a crash shows both ranges as they were, or both swapped), by moving
   * extents, not bytes. Offsets and length 4096-aligned, both ranges inside their files
   * (not past EOF: EINVAL), apart when one file (EINVAL), both files of one kind (datacow
   * or nodatacow: EINVAL); EPERM for a DAX-immutable file.
   */
  exchangeRange(path1: string, offset1: number, path2: string, offset2: number,
    length: number): void {
    checkOffset(offset1, 'offset1');
    checkOffset(offset2, 'offset2');
    checkOffset(length, 'length');
    const one = this.resolve(path1);
    const two = this.resolve(path2);
    requireRegular(one.kind, path1);
    requireRegular(two.kind, path2);
    if ((offset1 | offset2 | length) % SECTOR_BYTES) {
      throw new FsError('EINVAL', 'exchange range offsets and length must be 4096-aligned');
    }
    // Inside both files, as XFS asks: a range over the last partial page would carry the
    // bytes past EOF there (a mapping's stores may have put some) into the other file.
    if (offset1 + length > one.inode.size || offset2 + length > two.inode.size) {
      throw new FsError('EINVAL', 'exchange range beyond EOF');
    }
    if (one.sv === two.sv && one.ino === two.ino && offset1 < offset2 + length
      && offset2 < offset1 + length) {
      throw new FsError('EINVAL', 'exchange ranges overlap');
    }
    if ((one.inode.flags & INODE_FLAG_NODATASUM) !== (two.inode.flags & INODE_FLAG_NODATASUM)) {
      throw new FsError('EINVAL', 'cannot exchange between datacow and nodatacow files');
    }
    this.refuseImmutable(one, 'exchange');
    this.refuseImmutable(two, 'exchange');
    if (length === 0) return;
    this.beginChange(one.sv);
    if (two.sv !== one.sv) this.beginChange(two.sv);
    // Pages dirtied through mappings get their checksums while their records still name the
    // file pages they were stored at, as before a collapse (rangeChanged would forget those
    // whose blocks move to the other range: a later read failed with EIO). Mapped pages
    // from either offset on fault again.
    this.mappings?.beforeShift(one.sv, one.ino, offset1);
    this.mappings?.beforeShift(two.sv, two.ino, offset2);
    this.data.exchange(one.sv, one.ino, offset1, two.sv, two.ino, offset2, length);
    // (Both ranges end at or before their files' last whole page: no file's bytes past EOF move.)
    for (const [r, at] of [[one, offset1], [two, offset2]] as const) {
      this.touchInode(r.sv, r.ino);
      this.rangeChanged(r.sv, r.ino, at, at + length);
    }
  }

  /**
   * copy_file_range(2): copy `length` bytes of `srcPath` from `srcOffset` to `dstPath` at
   * `dstOffset`; returns the bytes copied (fewer when the source ends first: 0 from or past
   * its EOF). As btrfs does, sector-aligned ranges between files of the same kind
   * (datacow or nodatacow) are shared (a reflink, cloneRange), others copied. EINVAL for
   * overlapping ranges of one file, EISDIR for a directory, EFBIG past the largest file.
   */
  copyFileRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number,
    length: number): number {
    const [src, dst] = this.rangePair(srcPath, srcOffset, dstPath, dstOffset, length, 'copy');
    if (src.sv === dst.sv && src.ino === dst.ino && srcOffset < dstOffset + length
      && dstOffset < srcOffset + length) {
      throw new FsError('EINVAL', 'copy source and destination overlap');
    }
    this.refuseImmutable(dst, 'copy into');
    const n = Math.min(length, Math.max(0, src.inode.size - srcOffset));
    if (n === 0) return 0;
    const aligned = srcOffset % SECTOR_BYTES === 0 && dstOffset % SECTOR_BYTES === 0
      && (n % SECTOR_BYTES === 0
        || (srcOffset + n === src.inode.size && dstOffset + n >= dst.inode.size));
    const sameDatasum = (src.inode.flags & INODE_FLAG_NODATASUM)
      === (dst.inode.flags & INODE_FLAG_NODATASUM);
    if (aligned && sameDatasum && !this.immutable(src)) {
      this.cloneRange(srcPath, srcOffset, dstPath, dstOffset, n);
      return n;
    }
    const from = this.open(srcPath);
    const to = this.open(dstPath);
    try {
      for (let done = 0; done < n;) {
        const chunk = this.pread(from, Math.min(COPY_CHUNK_BYTES, n - done), srcOffset + done);
        this.pwrite(to, chunk, dstOffset + done);
        done += chunk.length;
      }
    } finally {
      this.close(from);
      this.close(to);
    }
    return n;
  }

  /**
   * fdatasync(2): the file's data and the metadata needed to read it back. A commit is
   * the one way this file system makes anything durable, and it makes everything durable,
   * so this is fsync (Linux may leave, say, a timestamp behind; this never does).
   */
  fdatasync(fd: number): void {
    this.fd(fd);
    this.k.commit();
  }

  setNoDataCow(path: string): void {
    const r = this.resolve(path);
    if (r.kind !== 'file') throw new FsError('EINVAL', `'${path}' is not a regular file`);
    if ((r.inode.size > 0 || this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE).length > 0)) {
      throw new FsError('EINVAL',
        `'${path}' is not empty: nodatacow can only be set on an empty file`);
    }
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    inode.flags |= INODE_FLAG_NODATACOW | INODE_FLAG_NODATASUM;
    this.putInode(r.sv, r.ino, inode);
  }

  // --- reflink -----------------------------------------------------------------------

  /**
   * The checks a call from one file's range to another's begins with (cloneRange,
   * copyFileRange): offsets and length (EINVAL), the destination's end (EFBIG), both paths
   * resolved to regular files.
   */
  protected rangePair(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number,
    length: number, what: string): [Resolved, Resolved] {
    checkOffset(srcOffset, 'srcOffset');
    checkOffset(dstOffset, 'dstOffset');
    checkOffset(length, 'length');
    if (dstOffset + length > MAX_FILE_BYTES) {
      throw new FsError('EFBIG', `${what} beyond the maximum file size`);
    }
    const src = this.resolve(srcPath);
    const dst = this.resolve(dstPath);
    requireRegular(src.kind, srcPath);
    requireRegular(dst.kind, dstPath);
    return [src, dst];
  }

  cloneRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number,
    length: number): void {
    const [src, dst] = this.rangePair(srcPath, srcOffset, dstPath, dstOffset, length, 'clone');
    if (srcOffset % SECTOR_BYTES || dstOffset % SECTOR_BYTES) {
      throw new FsError('EINVAL', 'clone offsets must be 4096-aligned');
    }
    if (srcOffset + length > src.inode.size) {
      throw new FsError('EINVAL', 'clone range beyond the source EOF');
    }
    const reachesEof = srcOffset + length === src.inode.size;
    if (length % SECTOR_BYTES && !reachesEof) {
      throw new FsError('EINVAL', 'clone length must be 4096-aligned unless it reaches EOF');
    }
    if ((src.inode.flags & INODE_FLAG_NODATASUM) !== (dst.inode.flags & INODE_FLAG_NODATASUM)) {
      throw new FsError('EINVAL', 'cannot clone between datacow and nodatacow files');
    }
    if (src.sv === dst.sv && src.ino === dst.ino && srcOffset < dstOffset + length
      && dstOffset < srcOffset + length) {
      throw new FsError('EINVAL', 'clone source and destination overlap');
    }
    this.refuseImmutable(src, 'clone from');
    this.refuseImmutable(dst, 'clone into');
    if (length === 0) return;
    this.beginChange(dst.sv);
    const mapped = alignUp(length);
    if (reachesEof && dstOffset + length < dst.inode.size && mapped !== length) {
      throw new FsError('EINVAL', 'clone of an unaligned EOF block into the middle of a file');
    }
    // The source blocks become shared: no mapping may keep writing them in place.
    const blocks: number[] = [];
    for (const { fileOffset, e } of this.data.extents(src.sv, src.ino, srcOffset,
      srcOffset + mapped)) {
      if (e.type !== 1) continue;
      const from = Math.max(srcOffset, fileOffset);
      const to = Math.min(srcOffset + mapped, fileOffset + e.bytes);
      for (let at = from; at < to; at += PAGE_BYTES) {
        blocks.push((e.diskBytenr + e.offset + (at - fileOffset)) / PAGE_BYTES);
      }
    }
    this.mappings?.beforeShare(blocks);
    this.zeroPastEof(dst.sv, dst.ino, dstOffset + length);
    this.data.clone(src.sv, src.ino, srcOffset, dst.sv, dst.ino, dstOffset, mapped);
    const inode = this.inode(dst.sv, dst.ino);
    inode.size = Math.max(inode.size, dstOffset + length);
    this.putInode(dst.sv, dst.ino, inode);
    this.rangeChanged(dst.sv, dst.ino, dstOffset, dstOffset + mapped);
  }

  cloneFile(srcPath: string, dstPath: string): void {
    const src = this.resolve(srcPath);
    requireRegular(src.kind, srcPath);
    this.refuseImmutable(src, 'clone from');
    if (this.exists(dstPath)) {
      const dst = this.resolve(dstPath);
      requireRegular(dst.kind, dstPath);
      if (dst.sv === src.sv && dst.ino === src.ino) return; // cloning a file onto itself keeps it
      this.refuseImmutable(dst, 'clone into');
      if ((src.inode.flags & INODE_FLAG_NODATASUM) !== (dst.inode.flags & INODE_FLAG_NODATASUM)) {
        throw new FsError('EINVAL', 'cannot clone between datacow and nodatacow files');
      }
      if (dst.sv.flags & ROOT_FLAG_READONLY) {
        throw new FsError('EROFS', `'${dstPath}' is in a read-only snapshot`);
      }
    } else {
      if (src.inode.flags & INODE_FLAG_NODATASUM) {
        throw new FsError('EINVAL',
          'cannot clone a nodatacow file into a new (datacow) file; create it and setNoDataCow'
            + ' first');
      }
      this.create(dstPath);
    }
    this.truncate(dstPath, 0);
    if (src.inode.size > 0) this.cloneRange(srcPath, 0, dstPath, 0, src.inode.size);
  }

  // --- range operations (src/fs/range-ops.ts; docs/fs.md section 5) -----------------

  /**
   * FIDEDUPERANGE, one destination: share the source's extents if the ranges hold the same
   * bytes.
   */
  dedupeRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number,
    length: number): DedupeResult {
    return rangeOps.dedupeRange(this.rangeHost, srcPath, srcOffset, dstPath, dstOffset, length);
  }

  /**
   * FIDEDUPERANGE's array form: one result per destination, a destination's error in its
   * result.
   */
  dedupeRanges(srcPath: string, srcOffset: number, length: number,
    destinations: DedupeDestination[]): DedupeInfo[] {
    return rangeOps.dedupeRanges(this.rangeHost, srcPath, srcOffset, length, destinations);
  }

  /**
   * FALLOC_FL_COLLAPSE_RANGE: remove [offset, offset + length), moving the rest of the file
   * down.
   */
  collapseRange(path: string, offset: number, length: number): void {
    rangeOps.collapseRange(this.rangeHost, path, offset, length);
  }

  /**
   * FALLOC_FL_INSERT_RANGE: a hole of `length` bytes at `offset`, moving the rest of the
   * file up.
   */
  insertRange(path: string, offset: number, length: number): void {
    rangeOps.insertRange(this.rangeHost, path, offset, length);
  }

  protected rangeHostMade: RangeHost | null = null;

  /** This file system's helpers, as range-ops.ts uses them (made once). */
  protected get rangeHost(): RangeHost {
    return this.rangeHostMade ??= {
      k: this.k, data: this.data, dax: () => this.mappings, live: () => this.live(),
      resolve: (path) => this.resolve(path),
      beginChange: (sv) => this.beginChange(sv),
      reserveSpace: (enough, message) => this.reserveSpace(enough, message),
      inode: (sv, ino) => this.inode(sv, ino),
      putInode: (sv, ino, inode) => this.putInode(sv, ino, inode),
      rangeChanged: (sv, ino, start, end) => this.rangeChanged(sv, ino, start, end),
    };
  }

}
