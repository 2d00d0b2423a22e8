// The shared dirty-page table (assembly/dax/tables.ts) as the owning thread's DAX manager
// uses it: the pages stored to through mmap in the running transaction, each with the file
// page and the extent it belongs to. A fault records a page; a commit (DaxManager's
// beforeCommit) reads them all, writes them back and puts their checksums; a file change
// drops the records of the pages it moves.
import { assert } from '../assert.js';
import { check } from '../fs/engine-result.js';
import type { Kernel } from '../fs/kernel.js';
import type { Subvolume } from '../fs/subvolume.js';
import {
  PAGE_BYTES, D_DIRTY_RECORDS, D_DIRTY_COUNT, D_DIRTY_LIVE, D_DIRTY_CAPACITY, DIRTY_RECORD_BYTES,
  DR_TREE, DR_INO, DR_EXTENT, DR_EXTENT_BYTES, DR_FILE_PAGE, DR_BLOCK, DR_FLAGS, DRF_LIVE, ENOSPC,
} from '../core/abi.js';

/** A page stored to through mmap in this transaction (a record of the shared table). */
export interface DirtyPage {
  tree: number;
  ino: number;
  filePage: number;
  block: number;
  extent: number;
  extentBytes: number;
  flags: number;
  record: number;
}

export class DirtyTable {
  /** `base`: the DAX region's header (Kernel.daxAddr). */
  constructor(private readonly k: Kernel, private readonly base: number) {}

  /** Live records: pages stored to through a mapping since the last commit. */
  live(): number {
    return this.k.m.u32(this.base + D_DIRTY_LIVE);
  }

  /** The live records of the dirty-page table, in fault order. */
  pages(): DirtyPage[] {
    const m = this.k.m, out: DirtyPage[] = [];
    if (this.live() === 0) return out;
    const records = m.u32(this.base + D_DIRTY_RECORDS), count = m.u32(this.base + D_DIRTY_COUNT);
    for (let i = 0; i < count; i++) {
      const r = records + i * DIRTY_RECORD_BYTES;
      const flags = m.u32(r + DR_FLAGS);
      if ((flags & DRF_LIVE) === 0) continue;
      out.push({
        tree: m.u64(r + DR_TREE), ino: m.u64(r + DR_INO), filePage: m.u32(r + DR_FILE_PAGE),
        block: m.u32(r + DR_BLOCK),
        extent: m.u64(r + DR_EXTENT), extentBytes: m.u32(r + DR_EXTENT_BYTES), flags, record: r,
      });
    }
    return out;
  }

  /** The record of device page `block` if it is this file page's, else null. */
  recordFor(block: number, sv: Subvolume, ino: number, filePage: number): DirtyPage | null {
    const r = check(this.k.core.dax_dirty_find(block), 'find a dirty page');
    if (r === 0) return null;
    const m = this.k.m;
    if (m.u64(r + DR_TREE) !== sv.tree.id || m.u64(r + DR_INO) !== ino
      || m.u32(r + DR_FILE_PAGE) !== filePage) return null;
    return { tree: sv.tree.id, ino, filePage, block, extent: m.u64(r + DR_EXTENT),
      extentBytes: m.u32(r + DR_EXTENT_BYTES), flags: m.u32(r + DR_FLAGS), record: r };
  }

  /** Forget a dirty page; its block is still flushed at the commit (it was stored to). */
  drop(d: DirtyPage): void {
    this.k.noteExtentsChanged(d.tree, d.ino);
    this.k.noteDirtyData(d.block * PAGE_BYTES, PAGE_BYTES);
    check(this.k.core.dax_dirty_drop(d.block), 'drop a dirty page');
  }

  add(d: Omit<DirtyPage, 'record'>): void {
    const r = this.k.core.dax_dirty_add(d.block, d.tree, d.ino, d.filePage, d.extent,
      d.extentBytes, d.flags & ~DRF_LIVE);
    // (A fault commits first when the table is full, and a commit empties it.)
    assert(r !== -ENOSPC, 'a dirty page is recorded only when the table has room');
    check(r, 'record a dirty page');
  }

  full(): boolean {
    const m = this.k.m;
    return m.u32(this.base + D_DIRTY_COUNT) >= m.u32(this.base + D_DIRTY_CAPACITY);
  }
}
