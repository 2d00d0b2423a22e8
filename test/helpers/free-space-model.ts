// A reference model of the free-space allocator for test/fs-engine.test.ts: the
// TypeScript allocator the core's (assembly/fs/free-space.ts) replaced, kept as it was
// (sorted, coalesced free extents; pinned extents free after the commit). The core must
// hand out the same addresses for the same calls.
import { FsError } from '../../src/errors.js';

interface Extent { start: number; length: number }

export class FreeSpaceModel {
  private free: Extent[] = [];
  private pinned: Extent[] = [];
  private cursor = 0;

  constructor(readonly totalBytes: number, readonly unitBytes: number) {}

  /** Mark [start, start+length) free (mount, or pinned extents after a commit). */
  addFree(start: number, length: number): void {
    if (length <= 0) return;
    this.assertAligned(start, length);
    const list = this.free;
    let lo = 0, hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid]!.start < start) lo = mid + 1; else hi = mid; }
    const prev = list[lo - 1];
    const next = list[lo];
    if (prev && prev.start + prev.length > start) throw new FsError('EIO', `free space: ${start} freed twice`);
    if (next && start + length > next.start) throw new FsError('EIO', `free space: ${start}+${length} overlaps free ${next.start}`);
    if (prev && prev.start + prev.length === start) {
      prev.length += length;
      if (next && prev.start + prev.length === next.start) { prev.length += next.length; list.splice(lo, 1); }
    } else if (next && start + length === next.start) {
      next.start = start; next.length += length;
    } else {
      list.splice(lo, 0, { start, length });
    }
  }

  pin(start: number, length: number): void {
    this.assertAligned(start, length);
    this.pinned.push({ start, length });
  }

  /** After a durable commit: pinned extents become allocatable, and data allocation goes
   * back to the lowest of them (the core's unpinAll says why). */
  unpinAll(): void {
    const pinned = this.pinned;
    this.pinned = [];
    for (const e of pinned) {
      this.addFree(e.start, e.length);
      if (e.length > 0) this.cursor = Math.min(this.cursor, e.start);
    }
  }

  freeBytes(): number {
    let sum = 0;
    for (const e of this.free) sum += e.length;
    return sum;
  }

  pinnedBytes(): number {
    let sum = 0;
    for (const e of this.pinned) sum += e.length;
    return sum;
  }

  /** Free bytes that can hold whole `unit`-sized, `unit`-aligned blocks (tree nodes). */
  blockFreeBytes(unit: number): number {
    let sum = 0;
    for (const e of this.free) {
      const first = Math.ceil(e.start / unit) * unit;
      const end = Math.floor((e.start + e.length) / unit) * unit;
      if (end > first) sum += end - first;
    }
    return sum;
  }

  /**
   * Allocate exactly `length` contiguous bytes, or null, keeping `reserveBytes` of space
   * usable for `reserveUnit`-sized blocks. Data takes first fit from a cursor rising from
   * the start; tree nodes (fromEnd) take the highest aligned fit, so that small data
   * holes left by frees do not fragment the space nodes need (btrfs keeps separate block
   * groups for the same reason).
   */
  allocate(length: number, reserveBytes = 0, options: { fromEnd?: boolean; align?: number; reserveUnit?: number } = {}): number | null {
    this.assertAligned(0, length);
    if (reserveBytes > 0 && this.blockFreeBytes(options.reserveUnit ?? this.unitBytes) - length < reserveBytes) return null;
    const list = this.free;
    const n = list.length;
    if (options.fromEnd) {
      const align = options.align ?? this.unitBytes;
      for (let i = n - 1; i >= 0; i--) {
        const e = list[i]!;
        const at = Math.floor((e.start + e.length - length) / align) * align;
        if (at < e.start) continue;
        const tail = e.start + e.length - (at + length);
        if (tail > 0) list.splice(i + 1, 0, { start: at + length, length: tail });
        e.length = at - e.start;
        if (e.length === 0) list.splice(i, 1);
        return at;
      }
      return null;
    }
    let startIndex = 0;
    while (startIndex < n && list[startIndex]!.start + list[startIndex]!.length <= this.cursor) startIndex++;
    for (let k = 0; k < n; k++) {
      const i = (startIndex + k) % n;
      const e = list[i]!;
      if (e.length < length) continue;
      const at = e.start;
      e.start += length; e.length -= length;
      if (e.length === 0) list.splice(i, 1);
      this.cursor = at + length;
      return at;
    }
    return null;
  }

  /** Largest contiguous free run, up to `max` bytes. */
  largestRun(max: number): number {
    let best = 0;
    for (const e of this.free) if (e.length > best) best = e.length;
    return Math.min(best, max);
  }

  isFree(start: number, length: number): boolean {
    for (const e of this.free) if (start < e.start + e.length && e.start < start + length) return true;
    return false;
  }

  extents(): readonly Extent[] {
    return this.free;
  }

  private assertAligned(start: number, length: number): void {
    if (start % this.unitBytes !== 0 || length % this.unitBytes !== 0 || start < 0 || start + length > this.totalBytes) {
      throw new FsError('EIO', `free space: bad extent ${start}+${length}`);
    }
  }
}
