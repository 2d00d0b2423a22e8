// A subvolume: one fs tree and the fields of its ROOT_ITEM.
import type { BTree } from './ctree.js';

export interface Subvolume {
  id: number;
  tree: BTree;
  flags: number;
  /** Generation of the last snapshot taken of (or creating) this subvolume. */
  lastSnapshot: number;
  /**
   * Its uuid, and its source's for a snapshot (zero otherwise): 16 bytes each, in its
   * ROOT_ITEM.
   */
  uuid: Uint8Array;
  parentUuid: Uint8Array;
  /** The transaction that created it (its ROOT_ITEM's otransid). */
  otransid: number;
  rootDir: number;
  /** Next inode number to hand out. */
  nextIno: number;
  /** ROOT_ITEM differs from memory: written at commit. */
  itemDirty: boolean;
  /** DAX-immutable inodes in this subvolume (null: not counted yet). */
  immutableInodes: number | null;
  /**
   * Set at mount when the tree could not be read: the subvolume is read-only in memory
   * (READONLY is or-ed into `flags`); `flags` here are the ROOT_ITEM's, written back as they were.
   */
  damaged?: { reason: string; flags: number };
}
