// File contents: EXTENT_DATA items, data extents, per-sector checksums. Reads verify
// checksums; datacow writes go to new extents; nodatacow writes go in place unless the
// extent is shared or older than the subvolume's last snapshot (then COW once).
import type { FileMappings } from './file-mappings.js';
import { FsError } from '../errors.js';
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import type { BTree } from './ctree.js';
import { decodeFileExtent, encodeFileExtent, type FileExtent, type InodeItem } from './items.js';
import {
  key, EXTENT_DATA, EXTENT_CSUM, EXTENT_CSUM_OBJECTID, EXTENT_TYPE_REG,
  EXTENT_TYPE_PREALLOC, SECTOR_BYTES,
  MAX_EXTENT_BYTES, INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, MAX_KEY_VALUE,
} from './format.js';
import {
  READ_VERIFY, READ_INODE_BOUNDS, READ_NO_INODE, FE_BYTES, FE_DISK_BYTENR, FE_TYPE,
  EXTENT_TYPE_INLINE,
} from '../core/abi.js';
import { anyPageIn } from './file-pages.js';
import { assert } from '../assert.js';

interface ExtentRef { fileOffset: number; e: FileExtent }

/**
 * One side of a comparison of file ranges: the file, its inode (size, flags) and where its
 * range starts.
 */
interface RangeSide {
  sv: Subvolume;
  ino: number;
  inode: { size: number; flags: number };
  at: number;
}

/** A byte range [from, to). */
export type FileRange = [number, number];

/** Append a range to a per-extent list. */
function addRange(map: Map<number, FileRange[]>, extent: number, range: FileRange): void {
  const ranges = map.get(extent);
  if (ranges) ranges.push(range); else map.set(extent, [range]);
}

const alignDown = (v: number): number => Math.floor(v / SECTOR_BYTES) * SECTOR_BYTES;
const alignUp = (v: number): number => Math.ceil(v / SECTOR_BYTES) * SECTOR_BYTES;

export class FileData {
  /** Whoever maps the files (the DAX layer, set at mount): it knows the pages whose
   *  checksums wait for the commit ("nodatacow until the next commit", thread 002). */
  mappings: FileMappings | null = null;

  /** Every subvolume's tree (set by the file system): who else reads a shared extent. */
  allTrees: () => Iterable<BTree> = () => [];

  constructor(private readonly k: Kernel) {}

  /** EXTENT_DATA items of `ino` overlapping [start, end), in order. */
  extents(sv: Subvolume, ino: number, start: number, end: number): ExtentRef[] {
    if (end <= start) return [];
    const before = sv.tree.lastAtOrBefore(key(ino, EXTENT_DATA, start));
    const from = before && before.key.objectid === ino && before.key.type === EXTENT_DATA
      ? before.key.offset : start;
    const out: ExtentRef[] = [];
    for (const item of sv.tree.range(key(ino, EXTENT_DATA, from), key(ino, EXTENT_DATA, end - 1))) {
      // A regular file's inline item is damage (pmcow keeps inline data only for symlinks,
      // which no file operation reaches; the core's reads and writes say the same).
      if (item.data[FE_TYPE] === EXTENT_TYPE_INLINE) {
        throw new FsError('EUCLEAN',
          `subvolume ${sv.id}: inode ${ino}: an inline extent in a regular file`);
      }
      const e = decodeFileExtent(item.data);
      if (item.key.offset + e.bytes > start) out.push({ fileOffset: item.key.offset, e });
    }
    return out;
  }

  /** Remove [start, end) from the file's extent map, trimming and splitting items. */
  drop(sv: Subvolume, ino: number, start: number, end: number, remapped = false): void {
    this.k.noteExtentsChanged(sv.tree.id, ino);
    for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
      // The committed tree still maps these bytes here: until the next commit, no write may
      // change them in place through another reference (unless the caller maps them again).
      if (!remapped) {
        this.k.markLosingRefs(e.diskBytenr);
        if (e.type === EXTENT_TYPE_REG) {
          addRange(this.k.readersDropped, e.diskBytenr, [e.offset, e.offset + e.bytes]);
        }
      }
      const itemEnd = fileOffset + e.bytes;
      const k0 = key(ino, EXTENT_DATA, fileOffset);
      if (fileOffset < start) {
        sv.tree.update(k0, encodeFileExtent({ ...e, bytes: start - fileOffset }));
      } else {
        sv.tree.delete(k0);
      }
      if (itemEnd > end) {
        const cut = end - fileOffset;
        // (extents() returns items keyed below `end` that reach past `start`.)
        assert(cut > 0 && cut < e.bytes, 'drop: a split item keeps bytes on both sides of the cut');
        sv.tree.insert(key(ino, EXTENT_DATA, end),
          encodeFileExtent({ ...e, offset: e.offset + cut, bytes: e.bytes - cut }));
      }
    }
  }

  /**
   * Read [offset, offset+length) of a file whose size is `size` (short at EOF). The core
   * reads (assembly/fs/inode.ts), a staging buffer at a time; a range with pages dirtied
   * through a DAX mapping in this transaction, whose checksums the next commit computes,
   * is read here instead (DAX's dirty-page set is TypeScript's for now).
   */
  read(sv: Subvolume, ino: number, inode: InodeItem, offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(inode.size, offset + length) - offset));
    this.readInto(sv, ino, inode, offset, out);
    return out;
  }

  /**
   * Read file bytes from `offset` into `out` (short at EOF, `size` bounding it); returns
   * the bytes read. The core reads (assembly/fs/inode.ts), a staging buffer at a time; a
   * range with pages dirtied through a DAX mapping in this transaction, whose checksums the
   * next commit computes, is read here instead.
   */
  readInto(sv: Subvolume, ino: number, inode: {
    size: number;
    flags: number;
  }, offset: number, out: Uint8Array): number {
    const end = Math.min(inode.size, offset + out.length);
    if (end <= offset) return 0;
    const verify = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    const pending = verify ? this.pendingIn(sv, ino, offset, end) : null;
    if (pending) {
      this.readPending(sv, ino, offset, end, out.subarray(0, end - offset).fill(0), pending);
      return end - offset;
    }
    const k = this.k;
    const chunk = k.stagingBytes;
    for (let at = offset; at < end; at += chunk) {
      const n = Math.min(chunk, end - at);
      this.readStaged(sv, ino, at, n, verify ? READ_VERIFY : 0);
      out.set(k.m.u8.subarray(k.stagingAddr, k.stagingAddr + n), at - offset);
    }
    return end - offset;
  }

  /**
   * readInto in one core call that looks the inode up itself (READ_INODE_BOUNDS): the bytes
   * read, or null when this path does not apply (more than the staging buffer holds, pages
   * dirtied through a mapping wait for their checksums, or no sound inode item) and readInto
   * with the caller's own lookup must run.
   */
  readIntoBounded(sv: Subvolume, ino: number, offset: number, out: Uint8Array): number | null {
    const k = this.k;
    const pending = this.mappings?.pendingPages(sv, ino)?.size ?? 0;
    if (out.length > k.stagingBytes || pending > 0) return null;
    const r = this.readStaged(sv, ino, offset, out.length, READ_INODE_BOUNDS);
    if (r === READ_NO_INODE) return null;
    out.set(k.m.u8.subarray(k.stagingAddr, k.stagingAddr + r));
    return r;
  }

  /**
   * The content digest (assembly/csum/content-hash.ts) of what read() of the whole file
   * returns, with the same checks and errors, computed in the core a staging buffer at a
   * time: no bytes leave the shared memory.
   */
  digest(sv: Subvolume, ino: number, inode: { size: number; flags: number }): number {
    const k = this.k, core = k.core, chunk = k.stagingBytes, size = inode.size;
    if (core.content_hash_begin() < 0) {
      throw new FsError('EINVAL', 'content digest: this handle has no thread slot');
    }
    const verify = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    const pending = verify ? this.pendingIn(sv, ino, 0, size) : null;
    const bytes = pending
      ? this.readPending(sv, ino, 0, size, new Uint8Array(size), pending) : null;
    for (let at = 0; at < size; at += chunk) {
      const n = Math.min(chunk, size - at);
      if (bytes) k.m.u8.set(bytes.subarray(at, at + n), k.stagingAddr);
      else this.readStaged(sv, ino, at, n, verify ? READ_VERIFY : 0);
      core.content_hash_update(k.stagingAddr, n);
    }
    return core.content_hash_final(size);
  }

  /**
   * The core's file_read of `length` bytes at `at` into the staging buffer (or `dst` in
   * it): its answer (bad arguments thrown).
   */
  private readStaged(sv: Subvolume, ino: number, at: number, length: number, flags: number,
    dst = this.k.stagingAddr): number {
    const k = this.k, tree = sv.tree, csum = k.csumTree;
    const r = k.core.file_read(tree.id, tree.root, tree.level, csum.root, csum.level, ino, at,
      length, dst, flags);
    if (r < 0 && r !== READ_NO_INODE) {
      throw new FsError('EINVAL', `read of inode ${ino} at ${at}: bad arguments (${r})`);
    }
    return r;
  }

  /**
   * Dedupe's comparison: the first offset (relative to the ranges) at which file bytes
   * [a.at, a.at + length) and [b.at, b.at + length) differ, or -1 when they are the same.
   * Each side is read by the core into its half of the staging buffer, checksums verified
   * as a read verifies them (EIO as a read gives it), and the core compares the halves
   * (fs_first_difference): no byte is looked at in JavaScript. A range with pages dirtied
   * through a mapping in this transaction, whose checksums wait for the commit, is read
   * as read() reads it and copied into its half.
   */
  firstDifference(a: RangeSide, b: RangeSide, length: number): number {
    const k = this.k;
    const half = Math.floor(k.stagingBytes / 2 / SECTOR_BYTES) * SECTOR_BYTES;
    const left = k.stagingAddr, right = k.stagingAddr + half;
    for (let done = 0; done < length; done += half) {
      const n = Math.min(half, length - done);
      // Pages waiting for their checksums are read first: that read verifies the other
      // sectors through the staging buffer, which would overwrite a half already staged.
      const pendingA = this.pendingBytes(a, a.at + done, n);
      const pendingB = this.pendingBytes(b, b.at + done, n);
      this.stageRange(a, a.at + done, n, left, pendingA);
      this.stageRange(b, b.at + done, n, right, pendingB);
      const at = k.core.fs_first_difference(left, right, n);
      if (at < 0) throw new FsError('EINVAL', `dedupe comparison refused its ranges (${at})`);
      if (at < n) return done + at;
    }
    return -1;
  }

  /**
   * A side's bytes at `at`, read as read() reads them, when pages dirtied through a mapping
   * wait for their checksums there; else null.
   */
  private pendingBytes(side: RangeSide, at: number, length: number): Uint8Array | null {
    if (side.inode.flags & INODE_FLAG_NODATASUM) return null;
    const pending = this.pendingIn(side.sv, side.ino, at, at + length);
    return pending ? this.readPending(side.sv, side.ino, at, at + length,
      new Uint8Array(length), pending) : null;
  }

  /**
   * `length` bytes of a file at `at` into the shared memory at `dst` (firstDifference):
   * `bytes` when read already, else by the core.
   */
  private stageRange(side: RangeSide, at: number, length: number, dst: number,
    bytes: Uint8Array | null): void {
    if (bytes) { this.k.m.u8.set(bytes, dst); return; }
    const verify = (side.inode.flags & INODE_FLAG_NODATASUM) === 0;
    this.readStaged(side.sv, side.ino, at, length, verify ? READ_VERIFY : 0, dst);
  }

  /**
   * Collapse and insert range: move every extent item of the file at or after `from` by
   * `delta` bytes (negative: down). An item straddling `from` is split there (insert range;
   * collapse drops the range first, so none straddles). Each item is inserted at its new
   * key before its old key is deleted, so that no extent's reference count passes through
   * zero while delayed refs may run between the two; items move in ascending order down
   * and descending order up, so that a new key never meets an item not moved yet. As with
   * drop(), the committed tree still maps these extents at the old offsets: until the next
   * commit no write may change their bytes in place through the moved items.
   */
  shift(sv: Subvolume, ino: number, from: number, delta: number): void {
    this.k.noteExtentsChanged(sv.tree.id, ino);
    const items = this.extents(sv, ino, from, MAX_KEY_VALUE);
    const straddling = items.length && items[0]!.fileOffset < from ? items.shift()! : null;
    if (straddling && delta < 0) {
      throw new FsError('EIO',
        `inode ${ino}: an extent item straddles ${from}, where a collapse moves items down`);
    }
    if (delta > 0) items.reverse();
    for (const { fileOffset, e } of items) {
      this.noteMoved(e);
      sv.tree.insert(key(ino, EXTENT_DATA, fileOffset + delta), encodeFileExtent(e));
      sv.tree.delete(key(ino, EXTENT_DATA, fileOffset));
    }
    if (straddling) {
      // Every item above `from` has moved above `from + delta`: its tail's key is free.
      const { fileOffset, e } = straddling;
      const cut = from - fileOffset;
      assert(cut > 0 && cut < e.bytes,
        'shift: a straddling item keeps bytes on both sides of `from`');
      this.noteMoved(e);
      sv.tree.insert(key(ino, EXTENT_DATA, from + delta),
        encodeFileExtent({ ...e, offset: e.offset + cut, bytes: e.bytes - cut }));
      sv.tree.update(key(ino, EXTENT_DATA, fileOffset), encodeFileExtent({ ...e, bytes: cut }));
    }
  }

  /**
   * An item of extent `e` stops mapping its bytes where the committed tree has them (drop's
   * bookkeeping).
   */
  private noteMoved(e: FileExtent): void {
    if (e.diskBytenr === 0) return; // a hole item (adopted images) maps no extent
    this.k.markLosingRefs(e.diskBytenr);
    if (e.type === EXTENT_TYPE_REG) {
      addRange(this.k.readersDropped, e.diskBytenr, [e.offset, e.offset + e.bytes]);
    }
  }

  /**
   * The file's pages dirtied through a mapping (checksums not computed yet), when one is in
   * [offset, end).
   */
  private pendingIn(sv: Subvolume, ino: number, offset: number, end: number): Set<number> | null {
    const pages = this.mappings?.pendingPages(sv, ino) ?? null;
    return anyPageIn(pages, offset, end, SECTOR_BYTES) ? pages : null;
  }

  /** read() where pages wait for their checksums: those pages are not verified. */
  private readPending(sv: Subvolume, ino: number, offset: number, end: number, out: Uint8Array,
    pending: Set<number>): Uint8Array {
    for (const { fileOffset, e } of this.extents(sv, ino, offset, end)) {
      if (e.type !== EXTENT_TYPE_REG) continue; // preallocated: reads as zeros
      const from = Math.max(offset, fileOffset);
      const to = Math.min(end, fileOffset + e.bytes);
      const disk = e.diskBytenr + e.offset + (from - fileOffset);
      // Page by page: skip the pages whose checksum the next commit will compute.
      for (let at = from; at < to;) {
        const pageEnd = Math.min(to, alignDown(at) + SECTOR_BYTES);
        if (!pending.has(Math.floor(at / SECTOR_BYTES))) {
          this.verifySectors(e.diskBytenr, e.diskBytes, disk + (at - from), pageEnd - at);
        }
        at = pageEnd;
      }
      this.k.device.loadInto(disk, out.subarray(from - offset, to - offset));
    }
    return out;
  }

  /** Check the checksums of the sectors covering [disk, disk+length) of extent `extent`. */
  verifySectors(extent: number, extentBytes: number, disk: number, length: number): void {
    const first = Math.floor((disk - extent) / SECTOR_BYTES);
    const last = Math.floor((disk + length - 1 - extent) / SECTOR_BYTES);
    const item = this.k.csumTree.lookup(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, extent));
    if (!item || item.size !== (extentBytes / SECTOR_BYTES) * 4) {
      throw new FsError('EIO', `data extent ${extent}: checksums missing`);
    }
    // Verify what a load returns, a staging area at a time: a sector with a poisoned line
    // cannot be read to check its checksum, so all of it is EIO (as on real hardware,
    // where reading the sector raises the machine check).
    const core = this.k.device.core;
    const perChunk = Math.max(1, Math.floor(this.k.stagingBytes / SECTOR_BYTES));
    for (let s = first; s <= last; s += perChunk) {
      const n = Math.min(perChunk, last - s + 1);
      const at = extent + s * SECTOR_BYTES;
      if (core.pmem_load(this.k.stagingAddr, at, n * SECTOR_BYTES) < 0) {
        throw new FsError('EIO', `media error in data sectors at device byte ${at}`);
      }
      const bad = core.csum_sectors_verify(this.k.stagingAddr, n, SECTOR_BYTES, item.addr + s * 4);
      if (bad >= 0) {
        throw new FsError('EIO',
          `data checksum mismatch at device byte ${at + bad * SECTOR_BYTES}`);
      }
      if (bad < -1) throw new FsError('EIO', 'checksum verification failed');
    }
  }

  /**
   * Write bytes at offset; the caller updates the inode size. `fills` are the preallocated
   * ranges to fill in place (planFills); computed here when the caller has no plan.
   */
  write(sv: Subvolume, ino: number, inode: InodeItem, data: Uint8Array, offset: number,
    fills?: FileRange[]): void {
    if (data.length === 0) return;
    const start = alignDown(offset);
    const end = alignUp(offset + data.length);
    // The sector-aligned image of the range: old bytes at the edges, the new bytes inside
    // (an aligned write is its own image: no copy).
    let image = data;
    if (start !== offset || end !== offset + data.length) {
      image = new Uint8Array(end - start);
      if (offset > start) image.set(this.read(sv, ino, inode, start, offset - start), 0);
      const tailFrom = offset + data.length;
      if (tailFrom < end) {
        image.set(this.read(sv, ino, inode, tailFrom, end - tailFrom), tailFrom - start);
      }
      image.set(data, offset - start);
    }
    const nodatacow = (inode.flags & INODE_FLAG_NODATACOW) !== 0;
    const datasum = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    const items = this.extents(sv, ino, start, end);
    if (!nodatacow && !items.some(({ e }) => e.type === EXTENT_TYPE_PREALLOC
      || this.k.filledThisTransaction.has(e.diskBytenr))) {
      this.cow(sv, ino, inode, image, start);
      return;
    }
    const planned = fills ?? this.planFills(sv, ino, start, end);
    const filled = (from: number, to: number): boolean =>
      planned.some(([a, b]) => a <= from && to <= b);
    // Ranges that need new space are COWed together, so that a datacow write stays one extent.
    let cowFrom = start;
    const flushCow = (to: number): void => {
      if (to > cowFrom) {
        this.cow(sv, ino, inode, image.subarray(cowFrom - start, to - start), cowFrom);
      }
    };
    for (const { fileOffset, e } of items) {
      const from = Math.max(start, fileOffset);
      const to = Math.min(end, fileOffset + e.bytes);
      const disk = e.diskBytenr + e.offset + (from - fileOffset);
      if (filled(from, to)) {
        // fallocate's promise: writes into preallocated space need no new space.
        flushCow(from);
        this.k.device.store(disk, image.subarray(from - start, to - start));
        this.k.noteDirtyData(disk, to - from);
        if (e.type === EXTENT_TYPE_PREALLOC) {
          this.drop(sv, ino, from, to, true);
          sv.tree.insert(key(ino, EXTENT_DATA, from),
            encodeFileExtent({ ...e, type: EXTENT_TYPE_REG, offset: e.offset + (from - fileOffset),
              bytes: to - from }));
          this.noteFilled(e.diskBytenr, disk, to - from);
        }
        if (datasum) this.updateCsums(e.diskBytenr, e.diskBytes, disk, to - from);
        cowFrom = to;
      } else if (nodatacow && e.type === EXTENT_TYPE_REG && this.canOverwriteExtent(sv, ino, e)) {
        // In place where the extent is this file's alone and newer than the last snapshot.
        flushCow(from);
        this.k.device.store(disk, image.subarray(from - start, to - start));
        this.k.noteDirtyData(disk, to - from);
        cowFrom = to;
      }
    }
    flushCow(end);
  }

  /**
   * The parts of [start, end) (sector aligned) that a write may put in place with no new
   * space: fallocate's promise (posix_fallocate; xfstests generic/274). These are
   * preallocated items, and bytes such a write filled earlier in this transaction (which
   * the committed tree still reads as zeros: writing them again is like rewriting a block
   * COWed in this transaction). btrfs writes NOCOW into a preallocated extent no one else
   * references (btrfs/170); pmcow also fills a shared one, since an item still
   * preallocated reads zeros whatever the bytes hold. Refused where another item reads
   * those bytes: a clone or snapshot that filled them first, or an item dropped in this
   * transaction (the committed tree, which a crash returns to, still holds it).
   */
  planFills(sv: Subvolume, ino: number, start: number, end: number): FileRange[] {
    const fills: FileRange[] = [];
    // Per extent: the extent-relative ranges items read (found by a walk when it is
    // shared), and what this plan fills (a file may map the same preallocated bytes twice).
    const walked = new Map<number, FileRange[]>();
    const planned = new Map<number, FileRange[]>();
    const overlapping = (ranges: FileRange[], a: number, b: number): number =>
      ranges.filter(([x, y]) => x < b && a < y).length;
    for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
      const from = Math.max(start, fileOffset);
      const to = Math.min(end, fileOffset + e.bytes);
      const a = e.offset + (from - fileOffset);
      const b = a + (to - from);
      const prealloc = e.type === EXTENT_TYPE_PREALLOC;
      if (!prealloc && !(this.k.filledThisTransaction.get(e.diskBytenr) ?? []).some(([x, y]) =>
        x <= a && b <= y)) continue;
      if (overlapping(this.k.readersDropped.get(e.diskBytenr) ?? [], a, b)) continue;
      let read = walked.get(e.diskBytenr);
      if (!read) {
        const alone = this.k.extentRefs(e.diskBytenr, true, e.diskBytes) === 1
          && this.k.extentGeneration(e.diskBytenr, e.diskBytes) > sv.lastSnapshot;
        read = alone ? (prealloc ? [] : [[e.offset, e.offset + e.bytes]])
          : this.readRanges(e.diskBytenr);
        walked.set(e.diskBytenr, read);
      }
      // Preallocated: no item may read the bytes; filled: only the item in hand.
      if (overlapping(read, a, b) !== (prealloc ? 0 : 1)) continue;
      if (overlapping(planned.get(e.diskBytenr) ?? [], a, b)) continue;
      addRange(planned, e.diskBytenr, [a, b]);
      fills.push([from, to]);
    }
    return fills;
  }

  /** Note that [disk, disk+length) of extent `extent` was filled in place (planFills). */
  noteFilled(extent: number, disk: number, length: number): void {
    addRange(this.k.filledThisTransaction, extent, [disk - extent, disk - extent + length]);
    this.k.markFilled(extent);
  }

  /**
   * Extent-relative byte ranges of data extent `bytenr` that file extent items read (not
   * preallocated), in every subvolume's running tree: each block visited once, as
   * snapshots share them.
   */
  private readRanges(bytenr: number): FileRange[] {
    const out: FileRange[] = [];
    const seen = new Set<number>();
    for (const tree of this.allTrees()) {
      tree.visitNodes((block, node) => {
        if (seen.has(block)) return false;
        seen.add(block);
        if (!node.isLeaf) return true;
        for (let s = 0; s < node.nritems; s++) {
          if (node.key(s).type !== EXTENT_DATA) continue;
          const e = decodeFileExtent(this.k.m.u8.subarray(node.data(s),
            node.data(s) + node.dataSize(s)));
          if (e.type === EXTENT_TYPE_REG && e.diskBytenr === bytenr) {
            out.push([e.offset, e.offset + e.bytes]);
          }
        }
        return true;
      });
    }
    return out;
  }

  /**
   * Bring the checksums of [disk, disk+length) of data extent `extent` up to date. The
   * item covers the whole extent; made on first use (a filled preallocated extent's other
   * sectors then hold checksums of bytes no item reads, which scrub does not report).
   */
  updateCsums(extent: number, extentBytes: number, disk: number, length: number): void {
    const sectors = extentBytes / SECTOR_BYTES;
    const item = this.k.csumTree.lookup(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, extent));
    if (!item || item.size !== sectors * 4) { this.insertCsums(extent, extentBytes); return; }
    const first = Math.floor((disk - extent) / SECTOR_BYTES);
    const count = Math.ceil((disk + length - extent) / SECTOR_BYTES) - first;
    const staging = this.k.stagingAddr;
    const r = this.k.device.core.csum_sectors_compute(this.k.visibleAddr + extent
      + first * SECTOR_BYTES, count, SECTOR_BYTES, staging);
    if (r < 0) throw new FsError('EIO', 'checksum computation failed');
    const body = this.k.m.u8.slice(item.addr, item.addr + item.size);
    body.set(this.k.m.u8.subarray(staging, staging + count * 4), first * 4);
    this.k.csumTree.put(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, extent), body);
  }

  /**
   * May this extent be overwritten in place? Only if it is newer than the subvolume's last
   * snapshot, every reference to it is an item of this inode, and no two of those items
   * map the same bytes of it (a reflink within the file would see the write twice).
   */
  canOverwriteExtent(sv: Subvolume, ino: number, e: FileExtent): boolean {
    if (this.k.extentGeneration(e.diskBytenr, e.diskBytes) <= sv.lastSnapshot) return false;
    const refs = this.k.extentRefs(e.diskBytenr, true, e.diskBytes);
    // A reference dropped in this transaction is still in the committed tree, which a
    // crash returns to: the bytes it mapped must not change through another reference.
    if (this.k.isLosingRefs(e.diskBytenr)) return false;
    if (refs === 1) return true; // the item in hand is the only reference
    // The back references tell most cases without the walk below (implicit refs name the
    // inode): another file's reference, or one mapping of this file split into items.
    const owner = this.k.core.fs_data_refs_owner(e.diskBytenr, e.diskBytes, sv.tree.id, ino);
    if (owner === 0) return false;
    if (owner === 1) return true;
    const mine = this.extents(sv, ino, 0, MAX_KEY_VALUE).filter((r) =>
      r.e.diskBytenr === e.diskBytenr)
      .map((r) => [r.e.offset, r.e.offset + r.e.bytes] as const).sort((a, b) => a[0] - b[0]);
    if (refs !== mine.length) return false;
    for (let i = 1; i < mine.length; i++) if (mine[i]![0] < mine[i - 1]![1]) return false;
    return true;
  }

  /** Write a sector-aligned image to new extents and map them at fileOffset. */
  private cow(sv: Subvolume, ino: number, inode: InodeItem, image: Uint8Array,
    fileOffset: number): void {
    this.k.noteExtentsChanged(sv.tree.id, ino);
    const datasum = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    let done = 0;
    while (done < image.length) {
      const ext = this.k.allocData(Math.min(MAX_EXTENT_BYTES, image.length - done));
      if (!ext) throw new FsError('ENOSPC', 'no space left for data');
      const chunk = image.subarray(done, done + ext.bytes);
      this.k.device.store(ext.bytenr, chunk);
      this.k.noteDirtyData(ext.bytenr, ext.bytes);
      if (datasum) this.insertCsums(ext.bytenr, ext.bytes);
      this.drop(sv, ino, fileOffset + done, fileOffset + done + ext.bytes);
      sv.tree.insert(key(ino, EXTENT_DATA, fileOffset + done), encodeFileExtent({
        generation: this.k.transid, type: EXTENT_TYPE_REG, diskBytenr: ext.bytenr,
        diskBytes: ext.bytes, offset: 0, bytes: ext.bytes,
      }));
      done += ext.bytes;
    }
  }

  private insertCsums(bytenr: number, bytes: number): void {
    const sectors = bytes / SECTOR_BYTES;
    const staging = this.k.stagingAddr;
    const r = this.k.device.core.csum_sectors_compute(this.k.visibleAddr + bytenr, sectors,
      SECTOR_BYTES, staging);
    if (r < 0) throw new FsError('EIO', 'checksum computation failed');
    this.k.csumTree.put(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, bytenr),
      this.k.m.u8.slice(staging, staging + sectors * 4));
  }

  /** Preallocate the holes of [start, end) (sector aligned). */
  preallocate(sv: Subvolume, ino: number, start: number, end: number): void {
    this.k.noteExtentsChanged(sv.tree.id, ino);
    let pos = start;
    const holes: Array<[number, number]> = [];
    for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
      if (fileOffset > pos) holes.push([pos, fileOffset]);
      pos = Math.max(pos, fileOffset + e.bytes);
    }
    if (pos < end) holes.push([pos, end]);
    for (const [from, to] of holes) {
      for (let at = from; at < to;) {
        const ext = this.k.allocData(Math.min(MAX_EXTENT_BYTES, to - at));
        if (!ext) throw new FsError('ENOSPC', 'no space left to preallocate');
        sv.tree.insert(key(ino, EXTENT_DATA, at), encodeFileExtent({
          generation: this.k.transid, type: EXTENT_TYPE_PREALLOC, diskBytenr: ext.bytenr,
          diskBytes: ext.bytes, offset: 0, bytes: ext.bytes,
        }));
        at += ext.bytes;
      }
    }
  }

  /** Bytes of holes in [start, end) (what preallocate would allocate). */
  holeBytes(sv: Subvolume, ino: number, start: number, end: number): number {
    let covered = 0;
    for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
      covered += Math.min(end, fileOffset + e.bytes) - Math.max(start, fileOffset);
    }
    return end - start - covered;
  }

  /** Map src [srcOff, srcOff+length) into dst at dstOff, sharing the extents. */
  clone(src: Subvolume, srcIno: number, srcOff: number, dst: Subvolume, dstIno: number,
    dstOff: number, length: number): void {
    const pieces = this.extents(src, srcIno, srcOff, srcOff + length).map(({ fileOffset, e }) => {
      const from = Math.max(srcOff, fileOffset);
      const to = Math.min(srcOff + length, fileOffset + e.bytes);
      return { at: dstOff + (from - srcOff),
        e: { ...e, offset: e.offset + (from - fileOffset), bytes: to - from } };
    });
    this.drop(dst, dstIno, dstOff, dstOff + length);
    for (const p of pieces) dst.tree.insert(key(dstIno, EXTENT_DATA, p.at), encodeFileExtent(p.e));
  }

  /**
   * Swap the extent maps of [aOff, aOff + length) of one file and [bOff, bOff + length) of
   * another (or the same file, the ranges apart): each range's items, cut to it, move to the
   * other (their references move with them: the counts do not change), holes included. The
   * dropped mappings lose their references until the commit, so no write changes those
   * extents in place meanwhile (drop).
   */
  exchange(a: Subvolume, aIno: number, aOff: number, b: Subvolume, bIno: number, bOff: number,
    length: number): void {
    type Piece = { rel: number; e: FileExtent };
    const cut = (sv: Subvolume, ino: number, off: number): Piece[] =>
      this.extents(sv, ino, off, off + length).map(({ fileOffset, e }) => {
        const from = Math.max(off, fileOffset);
        const to = Math.min(off + length, fileOffset + e.bytes);
        return { rel: from - off,
          e: { ...e, offset: e.offset + (from - fileOffset), bytes: to - from } };
      });
    const fromA = cut(a, aIno, aOff), fromB = cut(b, bIno, bOff);
    this.drop(a, aIno, aOff, aOff + length);
    this.drop(b, bIno, bOff, bOff + length);
    for (const p of fromB) {
      a.tree.insert(key(aIno, EXTENT_DATA, aOff + p.rel), encodeFileExtent(p.e));
    }
    for (const p of fromA) {
      b.tree.insert(key(bIno, EXTENT_DATA, bOff + p.rel), encodeFileExtent(p.e));
    }
  }

  /**
   * btrfs's inode nbytes: the num_bytes of every item mapping a data extent (holes, which
   * pmcow never writes as items, count nothing), read in place.
   */
  nbytes(sv: Subvolume, ino: number): number {
    const m = this.k.m;
    let sum = 0;
    sv.tree.walkRange(key(ino, EXTENT_DATA, 0), key(ino, EXTENT_DATA, MAX_KEY_VALUE),
      (_k, addr, size) => {
      if (size >= FE_BYTES + 8 && m.u64(addr + FE_DISK_BYTENR) !== 0) sum += m.u64(addr + FE_BYTES);
      return true;
    });
    return sum;
  }

  /** Bytes the file's extent items map (stat's allocatedBytes): their num_bytes, read in place. */
  allocatedBytes(sv: Subvolume, ino: number): number {
    const m = this.k.m;
    let sum = 0;
    let short = false;
    sv.tree.walkRange(key(ino, EXTENT_DATA, 0), key(ino, EXTENT_DATA, MAX_KEY_VALUE),
      (_k, addr, size) => {
      if (size < FE_BYTES + 8) { short = true; return false; }
      sum += m.u64(addr + FE_BYTES);
      return true;
    });
    if (!short) return sum;
    // An item too short for its fields: as the decoder reads it.
    sum = 0;
    for (const { e } of this.extents(sv, ino, 0, MAX_KEY_VALUE)) sum += e.bytes;
    return sum;
  }
}

export { alignDown, alignUp };
