// One record of the dirty-page table (DIRTY_RECORD_BYTES): a device page stored to through
// a writable mapping in the running transaction, whose checksum waits for the commit
// (tables.ts appends them, the commit and the owner's reflink and snapshot read them).
//
//    0           8           16          24            28            32         36        40
//    +-----------+-----------+-----------+-------------+-------------+----------+---------+
//    | tree  u64 | ino   u64 | extent u64| extentBytes | filePage u32| block u32| flags   |
//    |           |           |           |     u32     |             |          |  u32    |
//    +-----------+-----------+-----------+-------------+-------------+----------+---------+
//      DR_TREE     DR_INO      DR_EXTENT   DR_EXTENT_BYTES DR_FILE_PAGE  DR_BLOCK   DR_FLAGS
//
// extent: the data extent holding the page (its checksum item); flags: DRF_*. The offsets
// are the ABI's (TypeScript's src/dax/dirty-pages.ts reads them); dirtyRecordLayoutAgrees
// checks the class against them.
import {
  DR_TREE, DR_INO, DR_EXTENT, DR_EXTENT_BYTES, DR_FILE_PAGE, DR_BLOCK, DR_FLAGS, DIRTY_RECORD_BYTES,
} from "../abi";

@unmanaged export class DirtyRecord {
  /** Subvolume tree id. */
  tree: u64;
  /** Inode. */
  ino: u64;
  /** Device byte of the data extent holding the page. */
  extent: u64;
  /** That extent's bytes. */
  extentBytes: u32;
  /** File page (file offset / PAGE_BYTES). */
  filePage: u32;
  /** Device page. */
  block: u32;
  /** DRF_*. */
  flags: u32;
}

/** Does the class lay its fields out at the ABI's offsets? */
export function dirtyRecordLayoutAgrees(): bool {
  return offsetof<DirtyRecord>("tree") == DR_TREE && offsetof<DirtyRecord>("ino") == DR_INO
    && offsetof<DirtyRecord>("extent") == DR_EXTENT
      && offsetof<DirtyRecord>("extentBytes") == DR_EXTENT_BYTES
    && offsetof<DirtyRecord>("filePage") == DR_FILE_PAGE
      && offsetof<DirtyRecord>("block") == DR_BLOCK
    && offsetof<DirtyRecord>("flags") == DR_FLAGS && offsetof<DirtyRecord>() == DIRTY_RECORD_BYTES;
}
