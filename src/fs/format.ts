// The on-device format: btrfs's vocabulary and item numbers, simplified where noted.
// All integers little endian; u64 values are kept below 2^53 so they fit a JS number.
// Every constant the core shares (node and item layouts, tree ids, item types, limits) is
// defined once, in assembly/abi.ts, and re-exported below; the rest is TypeScript's alone.
import {
  INODE_ITEM, INODE_REF, ORPHAN_ITEM, DIR_ITEM, DIR_INDEX, EXTENT_DATA, EXTENT_CSUM,
  ROOT_ITEM, ROOT_BACKREF, ROOT_REF, EXTENT_ITEM, METADATA_ITEM, SHARED_DATA_REF, EXTENT_DATA_REF,
} from '../core/abi.js';

export const SUPERBLOCK_BYTES = 4096;
/** Two superblock slots; commit writes generation g to slot g % 2. */
export const SUPERBLOCK_OFFSETS = [0, 4096] as const;
export const SUPERBLOCK_MAGIC = 0x5346574f434d505fn; // "_PMCOWFS"
export const DEFAULT_NODE_BYTES = 16384;
export const FIRST_INODE = 256;
/** objectid of orphan items (btrfs uses -5; we keep keys below 2^53). */
export const ORPHAN_OBJECTID = 2 ** 52 - 5;

export const ITEM_TYPE_NAMES: Record<number, string> = {
  [INODE_ITEM]: 'INODE_ITEM', [INODE_REF]: 'INODE_REF', [ORPHAN_ITEM]: 'ORPHAN_ITEM',
  [DIR_ITEM]: 'DIR_ITEM', [DIR_INDEX]: 'DIR_INDEX', [EXTENT_DATA]: 'EXTENT_DATA',
  [EXTENT_CSUM]: 'EXTENT_CSUM', [ROOT_ITEM]: 'ROOT_ITEM', [ROOT_BACKREF]: 'ROOT_BACKREF',
  [ROOT_REF]: 'ROOT_REF', [EXTENT_ITEM]: 'EXTENT_ITEM', [METADATA_ITEM]: 'METADATA_ITEM',
  [SHARED_DATA_REF]: 'SHARED_DATA_REF',
  [EXTENT_DATA_REF]: 'EXTENT_DATA_REF',
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

// Node header, item layouts, tree ids, item types and limits: assembly/abi.ts (its
// comments give each item body's fields).
export {
  NODE_NRITEMS, NODE_LEVEL, NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_BYTES,
  SECTOR_BYTES, SYSTEM_AREA_BYTES, MAX_LEVEL, MAX_FILE_BYTES, MAX_EXTENT_BYTES, ROOT_TREE_ID,
  EXTENT_TREE_ID, FS_TREE_ID, CSUM_TREE_ID, FIRST_SUBVOLUME_ID, INODE_ITEM, INODE_REF, ORPHAN_ITEM,
  DIR_ITEM, DIR_INDEX, EXTENT_DATA, EXTENT_CSUM, ROOT_ITEM, ROOT_BACKREF, ROOT_REF, EXTENT_ITEM,
  METADATA_ITEM, SHARED_DATA_REF, EXTENT_DATA_REF, MAX_KEY_VALUE, NODE_CSUM, NODE_CSUM_START, NODE_FSID, NODE_FLAGS,
  NODE_CHUNK_TREE_UUID, NODE_BYTENR, NODE_GENERATION,
  NODE_OWNER, INODE_ITEM_BYTES, INODE_GENERATION, INODE_SIZE, INODE_NBYTES, INODE_NLINK,
  INODE_MODE, INODE_FLAGS, INODE_NEXT_INDEX, INODE_TRANSID, MODE_FILE, MODE_DIR,
  INODE_FLAG_NODATASUM, INODE_FLAG_NODATACOW, INODE_FLAG_IMMUTABLE, FILE_EXTENT_BYTES,
  FE_GENERATION, FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES, EXTENT_TYPE_REG,
  EXTENT_TYPE_PREALLOC, EXTENT_ITEM_BYTES, EI_REFS, EI_GENERATION, EI_FLAGS, EI_OWNER,
  EXTENT_FLAG_DATA, EXTENT_FLAG_TREE_BLOCK, EXTENT_DATA_REF_BYTES, ROOT_ITEM_BYTES, RI_BYTENR,
  RI_LEVEL, RI_GENERATION, RI_FLAGS, RI_LAST_SNAPSHOT, RI_ROOT_DIR, ROOT_FLAG_READONLY,
  DIR_ENTRY_HEADER_BYTES, DIR_KIND_FILE, DIR_KIND_DIR, DIR_KIND_SUBVOLUME, INODE_REF_HEADER_BYTES,
  ROOT_REF_HEADER_BYTES, NAME_MAX_BYTES,
} from '../core/abi.js';

// --- superblock --------------------------------------------------------------------
export const SB_CSUM = 0; // u32 crc32c of bytes [SB_CSUM_START, SUPERBLOCK_BYTES)
/** The checksum covers the superblock from here (its fields start at 8). */
export const SB_CSUM_START = 4;
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
/** 16 bytes each: the file system's uuid (in every tree block's header too) and the chunk tree's. */
export const SB_FSID = 96;
export const SB_CHUNK_TREE_UUID = 112;
export const SB_LABEL = 128;
export const SB_LABEL_BYTES = 64;
