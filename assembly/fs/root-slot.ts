// One entry of the root table (ROOT_SLOT_BYTES), where every thread's core finds a
// subvolume tree: TypeScript assigns the slots (Kernel.newTree), a core operation that
// moves the tree's root stores it here and sets RSF_MOVED (file-item.ts).
//
//    0             8          12         16             24                32
//    +-------------+----------+----------+--------------+-----------------+
//    | root   u64  | level u32| flags u32| tree     u64 | lastSnapshot u64|
//    +-------------+----------+----------+--------------+-----------------+
//      RS_ROOT      RS_LEVEL   RS_FLAGS   RS_TREE        RS_LAST_SNAPSHOT
//
// tree 0: a free slot. The offsets are the ABI's (assembly/abi.ts, read by TypeScript);
// rootSlotLayoutAgrees checks that the class lays its fields out at them.
import {
  RS_ROOT, RS_LEVEL, RS_FLAGS, RS_TREE, RS_LAST_SNAPSHOT, ROOT_SLOT_BYTES, FS_TREE_ID,
  FIRST_SUBVOLUME_ID,
} from "../abi";

@unmanaged export class RootSlot {
  /** The tree's root block. */
  root: u64;
  /** The root's level. */
  level: u32;
  /** RSF_*. */
  flags: u32;
  /** The tree id; 0 for a free slot. */
  tree: u64;
  /** Generation of the subvolume's last snapshot (nodatacow overwrites compare with it). */
  lastSnapshot: u64;
}

/** Does the class lay its fields out at the ABI's offsets? */
export function rootSlotLayoutAgrees(): bool {
  return offsetof<RootSlot>("root") == RS_ROOT && offsetof<RootSlot>("level") == RS_LEVEL
    && offsetof<RootSlot>("flags") == RS_FLAGS && offsetof<RootSlot>("tree") == RS_TREE
    && offsetof<RootSlot>("lastSnapshot") == RS_LAST_SNAPSHOT
      && offsetof<RootSlot>() == ROOT_SLOT_BYTES;
}

/** Is tree `id` a subvolume (fs) tree, one the root table may hold? */
@inline export function isFsTree(id: u64): bool {
  return id == FS_TREE_ID || id >= FIRST_SUBVOLUME_ID;
}
