// The on-device format: btrfs's vocabulary and item numbers, simplified where noted.
// All integers little endian; u64 values are kept below 2^53 so they fit a JS number.

export const SECTOR_BYTES = 4096;
export const SUPERBLOCK_BYTES = 4096;
/** Two superblock slots; commit writes generation g to slot g % 2. */
export const SUPERBLOCK_OFFSETS = [0, 4096] as const;
/** Bytes at the start of the device never allocated (superblocks and spare). */
export const SYSTEM_AREA_BYTES = 65536;
export const SUPERBLOCK_MAGIC = 0x5346574f434d505fn; // "_PMCOWFS"
export const DEFAULT_NODE_BYTES = 16384;
/** Highest B-tree level (btrfs's BTRFS_MAX_LEVEL): every descent is at most this deep. */
export const MAX_LEVEL = 8;
/** Files end below 2^50 bytes (FileSystem checks every offset against it). */
export const MAX_FILE_BYTES = 2 ** 50;
/** Largest data extent one allocation makes. */
export const MAX_EXTENT_BYTES = 1 << 20;

// Tree (root) ids.
export const ROOT_TREE_ID = 1;
export const EXTENT_TREE_ID = 2;
export const FS_TREE_ID = 5;
export const CSUM_TREE_ID = 7;
export const FIRST_SUBVOLUME_ID = 256;
export const FIRST_INODE = 256;
/** objectid of orphan items (btrfs uses -5; we keep keys below 2^53). */
export const ORPHAN_OBJECTID = 2 ** 52 - 5;

// Item types (btrfs numbers).
export const INODE_ITEM = 1;
export const INODE_REF = 12;
export const ORPHAN_ITEM = 48;
export const DIR_ITEM = 84;
export const DIR_INDEX = 96;
export const EXTENT_DATA = 108;
export const EXTENT_CSUM = 128;
export const ROOT_ITEM = 132;
export const ROOT_BACKREF = 144;
export const ROOT_REF = 156;
export const EXTENT_ITEM = 168;
export const METADATA_ITEM = 169;
export const SHARED_DATA_REF = 184;

export const ITEM_TYPE_NAMES: Record<number, string> = {
  [INODE_ITEM]: 'INODE_ITEM', [INODE_REF]: 'INODE_REF', [ORPHAN_ITEM]: 'ORPHAN_ITEM',
  [DIR_ITEM]: 'DIR_ITEM', [DIR_INDEX]: 'DIR_INDEX', [EXTENT_DATA]: 'EXTENT_DATA',
  [EXTENT_CSUM]: 'EXTENT_CSUM', [ROOT_ITEM]: 'ROOT_ITEM', [ROOT_BACKREF]: 'ROOT_BACKREF',
  [ROOT_REF]: 'ROOT_REF', [EXTENT_ITEM]: 'EXTENT_ITEM', [METADATA_ITEM]: 'METADATA_ITEM',
  [SHARED_DATA_REF]: 'SHARED_DATA_REF',
};

export interface Key { objectid: number; type: number; offset: number }

export function key(objectid: number, type: number, offset: number): Key {
  return { objectid, type, offset };
}

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

export function keyText(k: Key): string {
  return `(${k.objectid} ${ITEM_TYPE_NAMES[k.type] ?? k.type} ${k.offset})`;
}

export const MAX_KEY_VALUE = 2 ** 53 - 1;

// --- node header (48 bytes) --------------------------------------------------------
export const NODE_CSUM = 0; // u32 crc32c of bytes [4, nodeBytes)
export const NODE_BYTENR = 8;
export const NODE_GENERATION = 16;
export const NODE_OWNER = 24;
// The core searches nodes in place (assembly/btree/search.ts): what it reads is in assembly/abi.ts.
export {
  NODE_NRITEMS, NODE_LEVEL, NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES,
} from '../core/abi.js';

// --- superblock --------------------------------------------------------------------
export const SB_CSUM = 0; // u32 crc32c of bytes [4, SUPERBLOCK_BYTES)
export const SB_MAGIC = 8;
export const SB_GENERATION = 16;
export const SB_ROOT_TREE = 24;
export const SB_EXTENT_TREE = 32;
export const SB_CSUM_TREE = 40;
export const SB_ROOT_LEVEL = 48;
export const SB_EXTENT_LEVEL = 49;
export const SB_CSUM_LEVEL = 50;
export const SB_NODE_BYTES = 52;
export const SB_SECTOR_BYTES = 56;
export const SB_TOTAL_BYTES = 64;
export const SB_BYTES_USED = 72;
export const SB_NEXT_SUBVOLUME = 80;
/** u8: copies of every tree block, 1 (profile 'single', and 0 in images older than the field) or 2 ('dup'). */
export const SB_METADATA_COPIES = 88;
export const SB_LABEL = 128;
export const SB_LABEL_BYTES = 64;

// --- item bodies -------------------------------------------------------------------
/** INODE_ITEM: generation, size, nbytes, nlink, mode, flags, next dir index, transid. */
export const INODE_ITEM_BYTES = 64;
export const INODE_GENERATION = 0;
export const INODE_SIZE = 8;
export const INODE_NBYTES = 16;
export const INODE_NLINK = 24; // u32
export const INODE_MODE = 28; // u32: 1 file, 2 dir
export const INODE_FLAGS = 32; // u64
export const INODE_NEXT_INDEX = 40;
export const INODE_TRANSID = 48;
export const MODE_FILE = 1;
export const MODE_DIR = 2;
export const INODE_FLAG_NODATASUM = 1;
export const INODE_FLAG_NODATACOW = 2;
export const INODE_FLAG_IMMUTABLE = 4;

/** EXTENT_DATA: generation, type, disk bytenr, disk bytes, extent offset, bytes. */
export const FILE_EXTENT_BYTES = 48;
export const FE_GENERATION = 0;
export const FE_TYPE = 8; // u8
export const FE_DISK_BYTENR = 16;
export const FE_DISK_BYTES = 24;
export const FE_OFFSET = 32;
export const FE_BYTES = 40;
export const EXTENT_TYPE_REG = 1;
export const EXTENT_TYPE_PREALLOC = 2;

/** EXTENT_ITEM / METADATA_ITEM: refs, generation, flags, owner. */
export const EXTENT_ITEM_BYTES = 32;
export const EI_REFS = 0;
export const EI_GENERATION = 8;
export const EI_FLAGS = 16;
export const EI_OWNER = 24;
export const EXTENT_FLAG_DATA = 1;
export const EXTENT_FLAG_TREE_BLOCK = 2;

/** SHARED_DATA_REF: count (u32) of file extent items in the leaf (key offset) referencing the extent. */
export const SHARED_DATA_REF_BYTES = 4;

/** ROOT_ITEM: bytenr, level, generation, flags, last snapshot generation, root dir. */
export const ROOT_ITEM_BYTES = 48;
export const RI_BYTENR = 0;
export const RI_LEVEL = 8; // u8
export const RI_GENERATION = 16;
export const RI_FLAGS = 24;
export const RI_LAST_SNAPSHOT = 32;
export const RI_ROOT_DIR = 40;
export const ROOT_FLAG_READONLY = 1;

/** DIR_ITEM / DIR_INDEX entry: location key (17), kind u8, name length u16, name. */
export const DIR_ENTRY_HEADER_BYTES = 20;
export const DIR_KIND_FILE = 1;
export const DIR_KIND_DIR = 2;
export const DIR_KIND_SUBVOLUME = 3;

/** INODE_REF entry: index u64, name length u16, name. */
export const INODE_REF_HEADER_BYTES = 10;

/** ROOT_REF / ROOT_BACKREF: dir inode u64, index u64, name length u16, name. */
export const ROOT_REF_HEADER_BYTES = 18;

export const NAME_MAX_BYTES = 255;
