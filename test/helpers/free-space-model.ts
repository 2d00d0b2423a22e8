// A reference model of the free-space allocator for test/fs-engine.test.ts: sorted,
// coalesced free extents and a list of chunk kinds (the core keeps bitmaps and counters:
// assembly/fs/free-space.ts, chunks.ts). Chunks of `chunkBytes` from the first MiB, each
// free or typed on its first allocation: data from the lowest free chunk, tree blocks from
// the highest; a dup tree chunk's second half is never free space. The core must hand out
// the same addresses for the same calls.
import { FsError } from '../../src/errors.js';

interface Extent { start: number; length: number }

export const FREE = 0, DATA = 1, SYSTEM = 2, METADATA = 4;
const FIRST = 1 << 20;

export class FreeSpaceModel {
  private free: Extent[] = [];
  private pinned: Extent[] = [];
  private cursor = 0;
  readonly kinds: number[];

  constructor(readonly totalBytes: number, readonly chunkBytes: number, readonly nodeBytes: number, readonly copies: number) {
    this.kinds = new Array(Math.min(64, Math.floor((totalBytes - FIRST) / chunkBytes))).fill(FREE);
  }

  chunkStart(c: number): number { return FIRST + c * this.chunkBytes; }
  private usable(kind: number): number { return kind !== DATA && this.copies === 2 ? this.chunkBytes / 2 : this.chunkBytes; }

  /** Mkfs: every chunk free. */
  addChunks(): void {
    for (let c = 0; c < this.kinds.length; c++) this.addFree(this.chunkStart(c), this.chunkBytes);
  }

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

  /** Take [start, start + length), which must be free. */
  private take(start: number, length: number): void {
    const i = this.free.findIndex((e) => e.start <= start && start + length <= e.start + e.length);
    if (i < 0) throw new Error(`model: ${start}+${length} is not free`);
    const e = this.free[i]!;
    const tail = { start: start + length, length: e.start + e.length - start - length };
    e.length = start - e.start;
    const parts = [e, tail].filter((x) => x.length > 0);
    this.free.splice(i, 1, ...parts);
  }

  pin(start: number, length: number): void {
    this.assertAligned(start, length);
    this.pinned.push({ start, length });
  }

  /** After a durable commit: pinned extents become allocatable, data allocation goes back
   * to the lowest of them (the core's unpinAll says why), and emptied chunks go back. */
  unpinAll(): number[] {
    const pinned = this.pinned;
    this.pinned = [];
    for (const e of pinned) {
      this.addFree(e.start, e.length);
      if (e.length > 0) this.cursor = Math.min(this.cursor, e.start);
    }
    // Chunks that are empty now go back at once (their items at the next commit).
    return this.releaseEmpty();
  }

  freeBytes(): number { return this.free.reduce((n, e) => n + e.length, 0); }
  pinnedBytes(): number { return this.pinned.reduce((n, e) => n + e.length, 0); }

  /** Free runs inside [from, to). */
  private runsIn(from: number, to: number): Extent[] {
    const out: Extent[] = [];
    for (const e of this.free) {
      const s = Math.max(from, e.start), t = Math.min(to, e.start + e.length);
      if (t > s) out.push({ start: s, length: t - s });
    }
    return out;
  }

  private freeOfKind(kind: number): number {
    let n = 0;
    this.kinds.forEach((k, c) => {
      if (k === kind) n += this.runsIn(this.chunkStart(c), this.chunkStart(c) + this.chunkBytes).reduce((s, e) => s + e.length, 0);
    });
    return n;
  }

  private freeChunks(): number { return this.kinds.filter((k) => k === FREE).length; }

  /** Bytes tree blocks may still take. */
  treeFreeBytes(kind = METADATA): number {
    return this.freeOfKind(kind) + this.freeChunks() * this.usable(kind);
  }

  spaceFits(dataBytes: number, metadataBytes: number): boolean {
    const dataShort = Math.max(0, dataBytes - this.freeOfKind(DATA));
    const metaShort = Math.max(0, metadataBytes - this.freeOfKind(METADATA));
    return Math.ceil(dataShort / this.chunkBytes) + Math.ceil(metaShort / this.usable(METADATA)) <= this.freeChunks();
  }

  private claim(c: number, kind: number): void {
    if (this.kinds[c] !== FREE) throw new Error('model: claiming a typed chunk');
    this.kinds[c] = kind;
    const usable = this.usable(kind);
    if (usable < this.chunkBytes) this.take(this.chunkStart(c) + usable, this.chunkBytes - usable);
  }

  /** A commit gives back typed chunks with nothing used and nothing pinned. */
  releaseEmpty(): number[] {
    const released: number[] = [];
    this.kinds.forEach((kind, c) => {
      if (kind === FREE) return;
      const start = this.chunkStart(c), usable = this.usable(kind);
      const free = this.runsIn(start, start + usable).reduce((n, e) => n + e.length, 0);
      const pinned = this.pinned.some((p) => p.start < start + this.chunkBytes && start < p.start + p.length);
      if (free !== usable || pinned) return;
      this.kinds[c] = FREE;
      if (usable < this.chunkBytes) this.addFree(start + usable, this.chunkBytes - usable);
      released.push(c);
    });
    return released;
  }

  /** Data: `length` bytes, first fit from the cursor in data chunks, then the lowest free chunk, when they fit leaving `reserveBytes` for tree blocks. */
  allocateData(length: number, reserveBytes = 0): number | null {
    this.assertAligned(0, length);
    if (!this.spaceFits(length, reserveBytes)) return null;
    if (length > this.chunkBytes) return null;
    const n = this.kinds.length;
    const cc = this.cursor >= FIRST && this.cursor < FIRST + n * this.chunkBytes ? Math.floor((this.cursor - FIRST) / this.chunkBytes) : -1;
    const first = cc < 0 ? 0 : cc;
    for (let i = 0; i <= n; i++) {
      const c = (first + i) % n;
      if (this.kinds[c] !== DATA) continue;
      const start = this.chunkStart(c);
      for (const r of this.runsIn(start, start + this.chunkBytes)) {
        if (i === 0 && cc >= 0 && r.start + r.length <= this.cursor) continue;
        if (r.length < length) continue;
        this.take(r.start, length);
        this.cursor = r.start + length;
        return r.start;
      }
    }
    const c = this.kinds.indexOf(FREE);
    if (c < 0) return null;
    this.claim(c, DATA);
    this.take(this.chunkStart(c), length);
    this.cursor = this.chunkStart(c) + length;
    return this.chunkStart(c);
  }

  /** A tree block of `kind`: the highest aligned fit in its chunks, then the highest free chunk. */
  allocateTreeBlock(kind = METADATA): number | null {
    const node = this.nodeBytes;
    const fit = (c: number): number | null => {
      const start = this.chunkStart(c);
      const runs = this.runsIn(start, start + this.usable(kind));
      for (let i = runs.length - 1; i >= 0; i--) {
        const r = runs[i]!;
        const at = Math.floor((r.start + r.length - node) / node) * node;
        if (at >= r.start) return at;
      }
      return null;
    };
    for (let c = this.kinds.length - 1; c >= 0; c--) {
      if (this.kinds[c] !== kind) continue;
      const at = fit(c);
      if (at !== null) { this.take(at, node); return at; }
    }
    const c = this.kinds.lastIndexOf(FREE);
    if (c < 0) return null;
    this.claim(c, kind);
    const at = fit(c)!;
    this.take(at, node);
    return at;
  }

  /** Largest run data may take, up to `max` bytes. */
  largestRun(max: number): number {
    let best = this.freeChunks() > 0 ? this.chunkBytes : 0;
    this.kinds.forEach((k, c) => {
      if (k !== DATA) return;
      for (const r of this.runsIn(this.chunkStart(c), this.chunkStart(c) + this.chunkBytes)) best = Math.max(best, r.length);
    });
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
    if (start % 4096 !== 0 || length % 4096 !== 0 || start < 0 || start + length > this.totalBytes) {
      throw new FsError('EIO', `free space: bad extent ${start}+${length}`);
    }
  }
}
