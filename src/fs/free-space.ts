// Free space: the core's bitmaps of allocatable and pinned sectors (assembly/fs/
// free-space.ts), rebuilt at mount from the extent tree. Blocks freed in a transaction
// are pinned until the commit that frees them is durable (a crash before it must still
// find them intact). This class is the TypeScript face of those calls: byte values in
// and out, the core's errnos as FsErrors.
import { FsError } from '../errors.js';
import { EINVAL, EIO, ENOSPC, CHUNK_DATA, CHUNK_METADATA } from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import { assert } from '../assert.js';

export class FreeSpace {
  constructor(private readonly core: CoreExports, readonly totalBytes: number,
    readonly unitBytes: number) {}

  /** Mark [start, start+length) free (mount, or mkfs). */
  addFree(start: number, length: number): void {
    if (length <= 0) return;
    this.check(this.core.fs_free_add(start, length),
      `free space: ${start}+${length} freed twice`, start, length);
  }

  pin(start: number, length: number): void {
    this.check(this.core.fs_free_pin(start, length),
      `free space: ${start}+${length} freed twice in one transaction`, start, length);
  }

  /** After a durable commit: pinned extents become allocatable. */
  unpinAll(): void {
    this.core.fs_free_unpin_all();
  }

  freeBytes(): number {
    const bytes = this.core.fs_free_bytes();
    assert(bytes >= 0, 'free space: free bytes are never negative');
    return bytes;
  }

  pinnedBytes(): number {
    const bytes = this.core.fs_pinned_bytes();
    assert(bytes >= 0, 'free space: pinned bytes are never negative');
    return bytes;
  }

  /**
   * Allocate: `kind` CHUNK_DATA (the default): exactly `length` contiguous bytes of data, or
   * null, when they fit leaving `reserveBytes` for tree blocks; CHUNK_METADATA or
   * CHUNK_SYSTEM: one tree block (`length` the node size), or null.
   */
  allocate(length: number, reserveBytes = 0, kind: number = CHUNK_DATA): number | null {
    const at = this.core.fs_free_allocate(length, reserveBytes, kind);
    if (at === -ENOSPC) return null;
    if (at < 0) throw new FsError('EIO', `free space: bad allocation of ${length} bytes`);
    assert(at + length <= this.totalBytes, 'free space: an allocation lies inside the device');
    return at;
  }

  /** Bytes tree blocks of `kind` (CHUNK_METADATA, CHUNK_SYSTEM) may still take. */
  treeFreeBytes(kind: number = CHUNK_METADATA): number {
    return this.core.fs_tree_free_bytes(kind);
  }

  /** Largest contiguous free run, up to `max` bytes. */
  largestRun(max: number): number {
    return Math.max(0, this.core.fs_largest_free_run(Math.max(0, Math.floor(max))));
  }

  /** Is any byte of [start, start + length) free? */
  isFree(start: number, length: number): boolean {
    return this.core.fs_free_overlaps(start, length) === 1;
  }

  private check(result: number, overlap: string, start: number, length: number): void {
    if (result === 0) return;
    if (result === -EIO) throw new FsError('EIO', overlap);
    if (result === -EINVAL) throw new FsError('EIO', `free space: bad extent ${start}+${length}`);
    throw new FsError('EIO', `free space: ${start}+${length}: error ${result}`);
  }
}
