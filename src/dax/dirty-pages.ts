// Reading the shared dirty-page table (assembly/dax/tables.ts) from TypeScript: the pages
// stored to through mmap in the running transaction, whose checksums wait for the commit.
// The owning thread's DaxManager and a writer thread's FileReader both ask it which pages of
// a file wait (a read must not verify those); the scan allocates nothing unless a record is
// that file's, so a read of another file pays one pass over the records.
import type { FsMemory } from '../fs/memory.js';
import {
  D_DIRTY_LIVE, D_DIRTY_RECORDS, D_DIRTY_COUNT, DIRTY_RECORD_BYTES, DR_FLAGS, DRF_LIVE, DR_TREE,
  DR_INO, DR_FILE_PAGE,
} from '../core/abi.js';

/** The file pages of inode `ino` of subvolume tree `tree` with a live record, or null for none. */
export function dirtyFilePages(m: FsMemory, daxBase: number, tree: number,
  ino: number): Set<number> | null {
  if (daxBase === 0 || m.u32(daxBase + D_DIRTY_LIVE) === 0) return null;
  const records = m.u32(daxBase + D_DIRTY_RECORDS), count = m.u32(daxBase + D_DIRTY_COUNT);
  let pages: Set<number> | null = null;
  for (let i = 0; i < count; i++) {
    const r = records + i * DIRTY_RECORD_BYTES;
    if ((m.u32(r + DR_FLAGS) & DRF_LIVE) === 0 || m.u64(r + DR_INO) !== ino
      || m.u64(r + DR_TREE) !== tree) continue;
    (pages ??= new Set()).add(m.u32(r + DR_FILE_PAGE));
  }
  return pages;
}
