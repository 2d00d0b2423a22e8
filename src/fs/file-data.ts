// File contents: EXTENT_DATA items, data extents, per-sector checksums. Reads verify
// checksums; datacow writes go to new extents; nodatacow writes go in place unless the
// extent is shared or older than the subvolume's last snapshot (then COW once).
import { FsError } from '../errors.js';
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { decodeFileExtent, encodeFileExtent, type FileExtent, type InodeItem } from './items.js';
import {
  key, EXTENT_DATA, EXTENT_CSUM, EXTENT_TYPE_REG, EXTENT_TYPE_PREALLOC, SECTOR_BYTES,
  MAX_EXTENT_BYTES, INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, MAX_KEY_VALUE,
} from './format.js';

export interface ExtentRef { fileOffset: number; e: FileExtent }

const alignDown = (v: number): number => Math.floor(v / SECTOR_BYTES) * SECTOR_BYTES;
const alignUp = (v: number): number => Math.ceil(v / SECTOR_BYTES) * SECTOR_BYTES;

export class FileData {
  /**
   * Pages whose checksum is not computed yet: dirtied through a DAX mapping in the running
   * transaction ("nodatacow until the next commit", thread 002). Set by DAX.
   */
  pendingChecksum: ((sv: Subvolume, ino: number, filePage: number) => boolean) | null = null;

  constructor(private readonly k: Kernel) {}

  /** EXTENT_DATA items of `ino` overlapping [start, end), in order. */
  extents(sv: Subvolume, ino: number, start: number, end: number): ExtentRef[] {
    if (end <= start) return [];
    const before = sv.tree.lastAtOrBefore(key(ino, EXTENT_DATA, start));
    const from = before && before.key.objectid === ino && before.key.type === EXTENT_DATA ? before.key.offset : start;
    const out: ExtentRef[] = [];
    for (const item of sv.tree.range(key(ino, EXTENT_DATA, from), key(ino, EXTENT_DATA, end - 1))) {
      const e = decodeFileExtent(item.data);
      if (item.key.offset + e.bytes > start) out.push({ fileOffset: item.key.offset, e });
    }
    return out;
  }

  /** Remove [start, end) from the file's extent map, trimming and splitting items. */
  drop(sv: Subvolume, ino: number, start: number, end: number, remapped = false): void {
    for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
      // The committed tree still maps these bytes here: until the next commit, no write may
      // change them in place through another reference (unless the caller maps them again).
      if (!remapped) this.k.extentsLosingRefs.add(e.diskBytenr);
      const itemEnd = fileOffset + e.bytes;
      const k0 = key(ino, EXTENT_DATA, fileOffset);
      if (fileOffset < start) {
        sv.tree.update(k0, encodeFileExtent({ ...e, bytes: start - fileOffset }));
      } else {
        sv.tree.delete(k0);
      }
      if (itemEnd > end) {
        const cut = end - fileOffset;
        sv.tree.insert(key(ino, EXTENT_DATA, end), encodeFileExtent({ ...e, offset: e.offset + cut, bytes: e.bytes - cut }));
      }
    }
  }

  /** Read [offset, offset+length) of a file whose size is `size` (short at EOF). */
  read(sv: Subvolume, ino: number, inode: InodeItem, offset: number, length: number): Uint8Array {
    const end = Math.min(inode.size, offset + length);
    const out = new Uint8Array(Math.max(0, end - offset));
    if (end <= offset) return out;
    const verify = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    for (const { fileOffset, e } of this.extents(sv, ino, offset, end)) {
      if (e.type !== EXTENT_TYPE_REG) continue; // preallocated: reads as zeros
      const from = Math.max(offset, fileOffset);
      const to = Math.min(end, fileOffset + e.bytes);
      const disk = e.diskBytenr + e.offset + (from - fileOffset);
      if (verify) {
        const pending = this.pendingChecksum;
        if (pending) {
          // Page by page: skip the pages whose checksum the next commit will compute.
          for (let at = from; at < to;) {
            const pageEnd = Math.min(to, alignDown(at) + SECTOR_BYTES);
            if (!pending(sv, ino, Math.floor(at / SECTOR_BYTES))) this.verifySectors(e.diskBytenr, e.diskBytes, disk + (at - from), pageEnd - at);
            at = pageEnd;
          }
        } else {
          this.verifySectors(e.diskBytenr, e.diskBytes, disk, to - from);
        }
      }
      this.k.device.loadInto(disk, out.subarray(from - offset, to - offset));
    }
    return out;
  }

  /** Check the checksums of the sectors covering [disk, disk+length) of extent `extent`. */
  verifySectors(extent: number, extentBytes: number, disk: number, length: number): void {
    const first = Math.floor((disk - extent) / SECTOR_BYTES);
    const last = Math.floor((disk + length - 1 - extent) / SECTOR_BYTES);
    const item = this.k.csumTree.lookup(key(extent, EXTENT_CSUM, 0));
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
      if (core.pmem_load(this.k.stagingAddr, at, n * SECTOR_BYTES) < 0) throw new FsError('EIO', `media error in data sectors at device byte ${at}`);
      const bad = core.csum_sectors_verify(this.k.stagingAddr, n, SECTOR_BYTES, item.addr + s * 4);
      if (bad >= 0) throw new FsError('EIO', `data checksum mismatch at device byte ${at + bad * SECTOR_BYTES}`);
      if (bad < -1) throw new FsError('EIO', 'checksum verification failed');
    }
  }

  /** Bytes needed from the allocator to write [offset, offset+length) with COW. */
  static cowBytes(offset: number, length: number): number {
    return alignUp(offset + length) - alignDown(offset);
  }

  /** Write bytes at offset; the caller updates the inode size. */
  write(sv: Subvolume, ino: number, inode: InodeItem, data: Uint8Array, offset: number): void {
    if (data.length === 0) return;
    const start = alignDown(offset);
    const end = alignUp(offset + data.length);
    // The sector-aligned image of the range: old bytes at the edges, the new bytes inside.
    const image = new Uint8Array(end - start);
    if (offset > start) image.set(this.read(sv, ino, inode, start, offset - start), 0);
    const tailFrom = offset + data.length;
    if (tailFrom < end) image.set(this.read(sv, ino, inode, tailFrom, end - tailFrom), tailFrom - start);
    image.set(data, offset - start);
    const nodatacow = (inode.flags & INODE_FLAG_NODATACOW) !== 0;
    if (nodatacow) {
      // In place where the extent is this file's alone and newer than the last snapshot.
      let pos = start;
      for (const { fileOffset, e } of this.extents(sv, ino, start, end)) {
        const from = Math.max(start, fileOffset);
        const to = Math.min(end, fileOffset + e.bytes);
        if (from > pos) this.cow(sv, ino, inode, image.subarray(pos - start, from - start), pos);
        if (this.canOverwriteExtent(sv, ino, e)) {
          const disk = e.diskBytenr + e.offset + (from - fileOffset);
          this.k.device.store(disk, image.subarray(from - start, to - start));
          this.k.noteDirtyData(disk, to - from);
          if (e.type === EXTENT_TYPE_PREALLOC) {
            this.drop(sv, ino, from, to, true);
            sv.tree.insert(key(ino, EXTENT_DATA, from), encodeFileExtent({ ...e, type: EXTENT_TYPE_REG, offset: e.offset + (from - fileOffset), bytes: to - from }));
          }
        } else {
          this.cow(sv, ino, inode, image.subarray(from - start, to - start), from);
        }
        pos = to;
      }
      if (pos < end) this.cow(sv, ino, inode, image.subarray(pos - start, end - start), pos);
      return;
    }
    this.cow(sv, ino, inode, image, start);
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
    if (this.k.extentsLosingRefs.has(e.diskBytenr)) return false;
    if (refs === 1) return true; // the item in hand is the only reference
    const mine = this.extents(sv, ino, 0, MAX_KEY_VALUE).filter((r) => r.e.diskBytenr === e.diskBytenr)
      .map((r) => [r.e.offset, r.e.offset + r.e.bytes] as const).sort((a, b) => a[0] - b[0]);
    if (refs !== mine.length) return false;
    for (let i = 1; i < mine.length; i++) if (mine[i]![0] < mine[i - 1]![1]) return false;
    return true;
  }

  /** Write a sector-aligned image to new extents and map them at fileOffset. */
  private cow(sv: Subvolume, ino: number, inode: InodeItem, image: Uint8Array, fileOffset: number): void {
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
        generation: this.k.transid, type: EXTENT_TYPE_REG, diskBytenr: ext.bytenr, diskBytes: ext.bytes, offset: 0, bytes: ext.bytes,
      }));
      done += ext.bytes;
    }
  }

  private insertCsums(bytenr: number, bytes: number): void {
    const sectors = bytes / SECTOR_BYTES;
    const staging = this.k.stagingAddr;
    const r = this.k.device.core.csum_sectors_compute(this.k.visibleAddr + bytenr, sectors, SECTOR_BYTES, staging);
    if (r < 0) throw new FsError('EIO', 'checksum computation failed');
    this.k.csumTree.put(key(bytenr, EXTENT_CSUM, 0), this.k.m.u8.slice(staging, staging + sectors * 4));
  }

  /** Preallocate the holes of [start, end) (sector aligned). */
  preallocate(sv: Subvolume, ino: number, start: number, end: number): void {
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
          generation: this.k.transid, type: EXTENT_TYPE_PREALLOC, diskBytenr: ext.bytenr, diskBytes: ext.bytes, offset: 0, bytes: ext.bytes,
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
  clone(src: Subvolume, srcIno: number, srcOff: number, dst: Subvolume, dstIno: number, dstOff: number, length: number): void {
    const pieces = this.extents(src, srcIno, srcOff, srcOff + length).map(({ fileOffset, e }) => {
      const from = Math.max(srcOff, fileOffset);
      const to = Math.min(srcOff + length, fileOffset + e.bytes);
      return { at: dstOff + (from - srcOff), e: { ...e, offset: e.offset + (from - fileOffset), bytes: to - from } };
    });
    this.drop(dst, dstIno, dstOff, dstOff + length);
    for (const p of pieces) dst.tree.insert(key(dstIno, EXTENT_DATA, p.at), encodeFileExtent(p.e));
  }

  /** Sum of the bytes mapped by extents (what stat reports as allocated). */
  allocatedBytes(sv: Subvolume, ino: number): number {
    let sum = 0;
    for (const { e } of this.extents(sv, ino, 0, MAX_KEY_VALUE)) sum += e.bytes;
    return sum;
  }
}

export { alignDown, alignUp };
