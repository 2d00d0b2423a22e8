// The on-device format: btrfs's vocabulary and item numbers, simplified where noted.
// All integers little endian; u64 values are kept below 2^53 so they fit a JS number.
// Every constant the core shares (node and item layouts, tree ids, item types, limits) is
// defined once, in assembly/abi.ts, and re-exported below; the rest is TypeScript's alone.
import {
  INODE_ITEM, INODE_REF, ORPHAN_ITEM, DIR_ITEM, DIR_INDEX, EXTENT_DATA, EXTENT_CSUM,
  ROOT_ITEM, ROOT_BACKREF, ROOT_REF, EXTENT_ITEM, METADATA_ITEM, SHARED_DATA_REF, EXTENT_DATA_REF,
  TREE_BLOCK_REF, SHARED_BLOCK_REF, BLOCK_GROUP_ITEM, DEV_EXTENT, DEV_ITEM, CHUNK_ITEM,
} from '../core/abi.js';

export const SUPERBLOCK_BYTES = 4096;
export const DEFAULT_NODE_BYTES = 16384;
export const FIRST_INODE = 256;
/**
 * objectid of orphan items: btrfs's BTRFS_ORPHAN_OBJECTID, (u64)-5 (held as -5:
 * compareObjectids).
 */
export const ORPHAN_OBJECTID = -5;
/**
 * The highest objectid a key holds: (u64)-1, as TypeScript keys hold btrfs's special
 * objectids (-256..-1).
 */
export const LAST_OBJECTID = -1;

const ITEM_TYPE_NAMES: Record<number, string> = {
  [INODE_ITEM]: 'INODE_ITEM', [INODE_REF]: 'INODE_REF', [ORPHAN_ITEM]: 'ORPHAN_ITEM',
  [DIR_ITEM]: 'DIR_ITEM', [DIR_INDEX]: 'DIR_INDEX', [EXTENT_DATA]: 'EXTENT_DATA',
  [EXTENT_CSUM]: 'EXTENT_CSUM', [ROOT_ITEM]: 'ROOT_ITEM', [ROOT_BACKREF]: 'ROOT_BACKREF',
  [ROOT_REF]: 'ROOT_REF', [EXTENT_ITEM]: 'EXTENT_ITEM', [METADATA_ITEM]: 'METADATA_ITEM',
  [SHARED_DATA_REF]: 'SHARED_DATA_REF',
  [EXTENT_DATA_REF]: 'EXTENT_DATA_REF',
  [TREE_BLOCK_REF]: 'TREE_BLOCK_REF', [SHARED_BLOCK_REF]: 'SHARED_BLOCK_REF',
  [BLOCK_GROUP_ITEM]: 'BLOCK_GROUP_ITEM',
  [DEV_EXTENT]: 'DEV_EXTENT', [DEV_ITEM]: 'DEV_ITEM', [CHUNK_ITEM]: 'CHUNK_ITEM',
};

export interface Key { objectid: number; type: number; offset: number }

/**
 * btrfs's name hash (btrfs_name_hash, the DIR_ITEM key offset) is crc32c's register run
 * over the name from this seed (~1) and not inverted at the end.
 */
export const NAME_HASH_SEED = 0xfffffffe;

/** pmcow's kind of a directory entry whose location is a subvolume's ROOT_ITEM: on disk a
 * `DIR_KIND_DIR` entry (btrfs's BTRFS_FT_DIR), told apart by its location's key type. In
 * memory only, so above every u8 BTRFS_FT_* (3 is BTRFS_FT_CHRDEV). */
export const DIR_KIND_SUBVOLUME = 256;

/** Is an inode's POSIX mode a directory's (btrfs keeps the file type in the mode's S_IFMT bits)? */
export function isDirMode(mode: number): boolean {
  return (mode & 0o170000) === 0o040000;
}

/** Is it a regular file's? */
export function isFileMode(mode: number): boolean {
  return (mode & 0o170000) === 0o100000;
}

/**
 * The largest item pmcow's B-tree holds in a leaf of `nodeBytes`: half the leaf's space,
 * item header included (assembly/fs/ctree.ts tooLarge: a split always finds room), less
 * than btrfs's BTRFS_MAX_ITEM_SIZE (the whole leaf).
 */
export function maxItemBytes(nodeBytes: number): number {
  return Math.floor((nodeBytes - 101) / 2) - 25; // NODE_HEADER_BYTES, LEAF_ITEM_BYTES
}

/** Is it a symbolic link's? */
export function isSymlinkMode(mode: number): boolean {
  return (mode & 0o170000) === 0o120000;
}

export function key(objectid: number, type: number, offset: number): Key {
  return { objectid, type, offset };
}

/**
 * Objectids as btrfs orders them (unsigned u64): a negative one stands for (u64)-n, above
 * every objectid below 2^53 (the csum tree's -10 sorts last).
 */
export function compareObjectids(a: number, b: number): number {
  if (a === b) return 0;
  if ((a < 0) !== (b < 0)) return a < 0 ? 1 : -1;
  return a < b ? -1 : 1;
}

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return compareObjectids(a.objectid, b.objectid);
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

export function keyText(k: Key): string {
  return `(${k.objectid} ${ITEM_TYPE_NAMES[k.type] ?? k.type} ${k.offset})`;
}

// Node header, item layouts, tree ids, item types and limits: assembly/abi.ts (its
// comments give each item body's fields).
export {
  NODE_NRITEMS, NODE_LEVEL, NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES,
  SECTOR_BYTES, SYSTEM_AREA_BYTES, MAX_LEVEL, MAX_FILE_BYTES, MAX_EXTENT_BYTES, ROOT_TREE_ID,
  EXTENT_TREE_ID, FS_TREE_ID, CSUM_TREE_ID, FIRST_SUBVOLUME_ID, INODE_ITEM, INODE_REF, ORPHAN_ITEM,
  DIR_ITEM, DIR_INDEX, EXTENT_DATA, EXTENT_CSUM, ROOT_ITEM, ROOT_BACKREF, ROOT_REF, EXTENT_ITEM,
  METADATA_ITEM, SHARED_DATA_REF, EXTENT_DATA_REF, MAX_KEY_VALUE, NODE_CSUM, NODE_CSUM_START,
  NODE_FSID, NODE_FLAGS,
  NODE_CHUNK_TREE_UUID, NODE_BYTENR, NODE_GENERATION,
  NODE_OWNER, INODE_ITEM_BYTES, INODE_GENERATION, INODE_SIZE, INODE_NBYTES, INODE_NLINK,
  INODE_MODE, INODE_FLAGS, INODE_TRANSID, MODE_FILE, MODE_DIR, MODE_SYMLINK, S_IFMT, S_IFREG,
  S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, INODE_RDEV, INODE_ATIME,
  TIMESPEC_BYTES, FE_RAM_BYTES, RI_REFS, RI_GENERATION_V2, RI_BYTES_USED, RI_OTRANSID, RI_CTRANSID,
  DIR_ENTRY_TRANSID, DIR_ENTRY_DATA_LENGTH, DIR_ENTRY_NAME_LENGTH, DIR_ENTRY_KIND,
  INODE_FLAG_NODATASUM, INODE_FLAG_NODATACOW, INODE_FLAG_IMMUTABLE, FILE_EXTENT_BYTES,
  FE_GENERATION, FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES, EXTENT_TYPE_REG,
  EXTENT_TYPE_INLINE, FILE_EXTENT_INLINE_BYTES,
  EXTENT_TYPE_PREALLOC, EXTENT_ITEM_BYTES, EI_REFS, EI_GENERATION, EI_FLAGS,
  EXTENT_FLAG_FULL_BACKREF,
  TREE_BLOCK_REF, SHARED_BLOCK_REF, SHARED_DATA_REF_BYTES,
  EXTENT_FLAG_DATA, EXTENT_FLAG_TREE_BLOCK, EXTENT_DATA_REF_BYTES, ROOT_ITEM_BYTES, RI_BYTENR,
  RI_LEVEL, RI_GENERATION, RI_FLAGS, RI_LAST_SNAPSHOT, RI_ROOT_DIR, ROOT_FLAG_READONLY,
  DIR_ENTRY_HEADER_BYTES, DIR_KIND_FILE, DIR_KIND_DIR, DIR_KIND_SYMLINK, DIR_KIND_XATTR,
  DIR_KIND_CHRDEV, DIR_KIND_BLKDEV, DIR_KIND_FIFO, DIR_KIND_SOCK, XATTR_ITEM,
  INODE_REF_HEADER_BYTES,
  ROOT_REF_HEADER_BYTES, NAME_MAX_BYTES, EXTENT_CSUM_OBJECTID,
} from '../core/abi.js';

// --- superblock: btrfs's struct btrfs_super_block -------------------------------------
// docs/fs.md section 2 maps every field. The copies: the primary at 64 KiB (what btrfs's
// tools and the kernel read) and an alternate (superblockOffsets): btrfs's first mirror at
// 64 MiB on devices that have it, else a slot of pmcow's own in the first MiB, which
// btrfs reserves and never reads.
export const SUPERBLOCK_MAGIC = 0x4d5f53665248425fn; // "_BHRfS_M"
export const SB_CSUM = 0; // u32 crc32c of bytes [SB_CSUM_START, SUPERBLOCK_BYTES); bytes 4..31 zero
/** The checksum covers the superblock from here (btrfs: after its 32-byte checksum field). */
export const SB_CSUM_START = 32;
export const SB_FSID = 32; // 16 bytes
export const SB_BYTENR = 48; // u64 this copy's own offset
export const SB_FLAGS = 56; // u64 SB_FLAG_WRITTEN
export const SB_MAGIC = 64;
export const SB_GENERATION = 72;
export const SB_ROOT_TREE = 80;
export const SB_CHUNK_ROOT = 88;
export const SB_LOG_ROOT = 96;
export const SB_TOTAL_BYTES = 112;
export const SB_BYTES_USED = 120;
export const SB_ROOT_DIR_OBJECTID = 128; // u64 6 (BTRFS_ROOT_TREE_DIR_OBJECTID)
export const SB_NUM_DEVICES = 136;
export const SB_SECTOR_BYTES = 144; // u32
export const SB_NODE_BYTES = 148; // u32
export const SB_LEAF_BYTES = 152; // u32 (deprecated leafsize: the node size)
export const SB_STRIPE_BYTES = 156; // u32 4096
export const SB_SYS_CHUNK_ARRAY_SIZE = 160; // u32
export const SB_CHUNK_ROOT_GENERATION = 164;
export const SB_COMPAT_FLAGS = 172;
export const SB_COMPAT_RO_FLAGS = 180;
export const SB_INCOMPAT_FLAGS = 188;
export const SB_CSUM_TYPE = 196; // u16 0: crc32c
export const SB_ROOT_LEVEL = 198; // u8
export const SB_CHUNK_ROOT_LEVEL = 199; // u8
// 200: log_root_level, u8 (pmcow writes no tree-log)
export const SB_DEV_ITEM = 201; // 98 bytes: struct btrfs_dev_item
export const SB_LABEL = 299;
export const SB_LABEL_BYTES = 256; // a label of at most 255 bytes and its NUL
export const SB_CACHE_GENERATION = 555;
// 563: uuid_tree_generation; 571: metadata_uuid, 16 bytes (pmcow writes neither)
export const SB_RESERVED = 612; // 199 reserved bytes
export const SB_SYS_CHUNK_ARRAY = 811; // SB_SYS_CHUNK_ARRAY_BYTES bytes
export const SB_SYS_CHUNK_ARRAY_BYTES = 2048;
export const SB_SUPER_ROOTS = 2859; // 4 x struct btrfs_root_backup (168 bytes each)
export const SB_FLAG_WRITTEN = 1;
export const INCOMPAT_MIXED_BACKREF = 1;
export const INCOMPAT_EXTENDED_IREF = 1 << 6;
export const INCOMPAT_SKINNY_METADATA = 1 << 8;
export const INCOMPAT_NO_HOLES = 1 << 9;
/** The incompat features pmcow's images carry. */
export const PMCOW_INCOMPAT = INCOMPAT_MIXED_BACKREF | INCOMPAT_SKINNY_METADATA | INCOMPAT_NO_HOLES;
// struct btrfs_root_backup fields, 168 bytes in all (super_roots[0] holds the current
// roots).
export const BK_TREE_ROOT = 0;
export const BK_TREE_ROOT_GEN = 8;
export const BK_CHUNK_ROOT = 16;
export const BK_CHUNK_ROOT_GEN = 24;
export const BK_EXTENT_ROOT = 32;
export const BK_EXTENT_ROOT_GEN = 40;
export const BK_DEV_ROOT = 64;
export const BK_DEV_ROOT_GEN = 72;
export const BK_CSUM_ROOT = 80;
export const BK_CSUM_ROOT_GEN = 88;
export const BK_TOTAL_BYTES = 96;
export const BK_BYTES_USED = 104;
export const BK_NUM_DEVICES = 112;
export const BK_TREE_ROOT_LEVEL = 152;
export const BK_CHUNK_ROOT_LEVEL = 153;
export const BK_EXTENT_ROOT_LEVEL = 154;
export const BK_DEV_ROOT_LEVEL = 156;
export const BK_CSUM_ROOT_LEVEL = 157;
/**
 * Two bytes of the superblock's reserved area are pmcow's (docs/fs.md section 10): the tree
 * blocks' copies (1 single, 2 dup) and the revision of pmcow's layout (2: block groups in
 * the chunk tree). An image without it is a btrfs image pmcow cannot read yet; one of an
 * older revision is refused by name.
 */
export const SB_PMCOW_METADATA_COPIES = SB_RESERVED;
export const SB_PMCOW_REVISION = SB_RESERVED + 1;
export const PMCOW_REVISION = 2;
/** btrfs's superblock copies: 64 KiB, 64 MiB, 256 GiB. */
const PRIMARY_SUPERBLOCK = 65536;
const MIRROR_SUPERBLOCK = 64 * 1024 * 1024;
/**
 * pmcow's alternate on devices too small for btrfs's first mirror: inside the reserved
 * first MiB.
 */
const SMALL_ALTERNATE_SUPERBLOCK = 131072;

/** The two superblock copies of a device of `bytes`: [primary, alternate]. */
export function superblockOffsets(bytes: number): [number, number] {
  return [PRIMARY_SUPERBLOCK, bytes >= MIRROR_SUPERBLOCK + SUPERBLOCK_BYTES ? MIRROR_SUPERBLOCK
    : SMALL_ALTERNATE_SUPERBLOCK];
}
