// What the file system asks of whoever maps its files into memory (the DAX layer,
// src/dax/manager.ts): the seam between the two. The file system changes files; before it
// moves, shares or snapshots their blocks, a mapping must stop storing into them (a page
// write-protected, a dirtied page written back or checksummed), and it must know when a
// file is mapped at all. DaxManager implements it; the file system holds only this, so it
// imports nothing of src/dax (the DAX layer is above it: it maps the file system's files).
import type { Subvolume } from './subvolume.js';

export interface FileMappings {
  /** The switches the file system's snapshot and freeze consult. */
  readonly policy: Readonly<{ snapshotWriteProtect: boolean; freezeWriteProtect: boolean }>;
  /** Has file `ino` of `sv` a mapping now? */
  isMapped(sv: Subvolume, ino: number): boolean;
  /** How many mappings of files of `sv` there are (a subvolume with some is busy). */
  mappingsInSubvolume(sv: Subvolume): ArrayLike<unknown>;
  /** Would rangeChanged change nothing for this file, whatever the range? */
  untouched(sv: Subvolume, ino: number): boolean;
  /** Bytes [start, end) of the file changed under its mappings (write, truncate, punch). */
  rangeChanged(sv: Subvolume, ino: number, start: number, end: number): void;
  /** The file's bytes from `start` on are about to move (collapse, insert, exchange). */
  beforeShift(sv: Subvolume, ino: number, start: number): void;
  /** Device blocks (page numbers) about to be shared by a reflink or dedupe. */
  beforeShare(blocks: number[]): void;
  /** The subvolume is about to be snapshotted. */
  beforeSnapshot(sv: Subvolume): void;
  /** Run `fn` (a commit) with every mapping's dirtied pages left writable when `keep`, or
   *  write-protected first (snapshot and freeze, docs/dax.md). */
  leavingWritable<T>(keep: boolean, fn: () => T): T;
  /** File pages of (sv, ino) stored to through a mapping in the running transaction, whose
   *  checksums wait for the commit (a read must not verify them), or null for none. */
  pendingPages(sv: Subvolume, ino: number): Set<number> | null;
  /** Unmap everything (unmount). */
  unmapAll(): void;
}
