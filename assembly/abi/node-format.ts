// The core's ABI: the file system's node and on-device format (assembly/abi.ts: the rules for these
// files; docs/abi.md). scripts/gen-abi.mjs writes src/core/abi/node-format.ts from it.

// --- file-system node format (assembly/fs/; docs/fs.md) -------------------------
// A node: header, then leaf items or internal key pointers, each starting with the key:
// objectid u64, type u8, offset u64 (little endian).

// btrfs's struct btrfs_header (101 bytes): csum[32], fsid[16], bytenr, flags,
// chunk_tree_uuid[16], generation, owner, nritems, level.
export const NODE_NRITEMS: u32 = 96; // u32 items in the node
export const NODE_LEVEL: u32 = 100; // u8 0 for a leaf
// items start here; a leaf item's data offset counts from here
export const NODE_HEADER_BYTES: u32 = 101;
export const KEY_OBJECTID: u32 = 0; // u64 in a key
export const KEY_TYPE: u32 = 8; // u8 in a key
export const KEY_OFFSET: u32 = 9; // u64 in a key
export const KEY_BYTES: u32 = 17; // a key
export const LEAF_ITEM_BYTES: u32 = KEY_BYTES + 8; // key, data offset u32, data size u32
export const KEY_PTR_BYTES: u32 = KEY_BYTES + 16; // key, block pointer u64, generation u64
export const MIN_NODE_BYTES: u32 = 4096; // btree_node_search refuses smaller nodes

// Tree ids, item types and limits (btrfs's numbers; docs/fs.md).
export const SECTOR_BYTES: u32 = 4096; // the unit of data and of tree-block addresses
export const SECTOR_SHIFT: u32 = 12; // log2(SECTOR_BYTES)
// device bytes never allocated: btrfs's first MiB (primary superblock at 64 KiB, the zero page)
export const SYSTEM_AREA_BYTES: u32 = 1048576;
export const MAX_LEVEL: u32 = 8; // highest B-tree level (BTRFS_MAX_LEVEL)
export const MAX_KEY_VALUE: u64 = 9007199254740991; // 2^53 - 1: key fields fit a JS number
export const MAX_FILE_BYTES: u64 = 1125899906842624; // 2^50: files end below it
export const MAX_EXTENT_BYTES: u32 = 1048576; // largest data extent one allocation makes
// largest data extent btrfs makes (an adopted image's may be this long)
export const BTRFS_MAX_EXTENT_BYTES: u32 = 134217728;
export const NAME_MAX_BYTES: u32 = 255; // longest name
export const ROOT_TREE_ID: u32 = 1;
export const EXTENT_TREE_ID: u32 = 2;
export const FS_TREE_ID: u32 = 5;
export const CSUM_TREE_ID: u32 = 7;
// (inode, 24, name hash): extended attributes, dir-item shaped entries of kind DIR_KIND_XATTR with
// the value after the name
export const XATTR_ITEM: u32 = 24;
export const INODE_EXTREF: u32 = 13; // an adopted image's extended inode refs (likewise refused)
export const INODE_EXTREF_HEADER_BYTES: u32 = 18; // parent u64, index u64, name length u16
// BTRFS_FT_XATTR: the highest directory entry kind btrfs writes (7 a symlink)
export const BTRFS_FT_LAST: u32 = 8;
export const XATTR_NAME_MAX_BYTES: u32 = 255; // Linux's XATTR_NAME_MAX
export const XATTR_SIZE_MAX_BYTES: u32 = 65536; // Linux's XATTR_SIZE_MAX: a larger value is E2BIG
// PATH_MAX - 1: a symlink's target is inline data, at most one sector
export const SYMLINK_TARGET_MAX_BYTES: u32 = 4095;
export const UUID_TREE_ID: u32 = 9; // btrfs's uuid tree: kept as an adopted image had it
// its items: a subvolume's uuid (keys are the uuid's halves, above 2^53)
export const UUID_KEY_SUBVOL: u32 = 251;
export const UUID_KEY_RECEIVED_SUBVOL: u32 = 252;
// the free space tree's items (198 info, 199 extent, 200 bitmap)
export const FREE_SPACE_INFO: u32 = 198;
export const FREE_SPACE_BITMAP: u32 = 200;
export const FREE_SPACE_TREE_ID: u32 = 10; // btrfs's free space tree: an adoption drops it
// btrfs's data relocation tree ((u64)-9): kept as an adopted image had it
export const DATA_RELOC_TREE_ID: i32 = -9;
// btrfs's BTRFS_EXTENT_CSUM_OBJECTID ((u64)-10): the objectid of every EXTENT_CSUM key
export const EXTENT_CSUM_OBJECTID: i32 = -10;
// objectids (u64)-256..(u64)-1: btrfs's special ones; TypeScript keys hold them as -256..-1
export const NEGATIVE_OBJECTIDS: u32 = 256;
// btrfs's chunk tree: the device item and a CHUNK_ITEM per block group
export const CHUNK_TREE_ID: u32 = 3;
export const DEV_TREE_ID: u32 = 4; // btrfs's device tree: a DEV_EXTENT per stripe of a block group
export const FIRST_SUBVOLUME_ID: u32 = 256;
export const INODE_ITEM: u32 = 1;
export const INODE_REF: u32 = 12;
export const ORPHAN_ITEM: u32 = 48;
export const DIR_ITEM: u32 = 84;
export const DIR_INDEX: u32 = 96;
export const EXTENT_DATA: u32 = 108;
export const EXTENT_CSUM: u32 = 128;
export const ROOT_ITEM: u32 = 132;
export const ROOT_BACKREF: u32 = 144;
export const ROOT_REF: u32 = 156;
export const EXTENT_ITEM: u32 = 168;
export const METADATA_ITEM: u32 = 169;
// a data extent's reference from (root, inode, offset): btrfs's implicit back reference
export const EXTENT_DATA_REF: u32 = 178;
// btrfs's full back reference (by leaf); pmcow does not write it
export const SHARED_DATA_REF: u32 = 184;
export const BLOCK_GROUP_ITEM: u32 = 192; // extent tree, (chunk start, 192, chunk length)
export const DEV_EXTENT: u32 = 204; // dev tree, (device id, 204, physical start)
export const DEV_ITEM: u32 = 216; // chunk tree, (DEV_ITEMS_OBJECTID, 216, device id)
export const CHUNK_ITEM: u32 = 228; // chunk tree, (FIRST_CHUNK_TREE_OBJECTID, 228, logical start)
export const DEV_ITEMS_OBJECTID: u32 = 1;
export const FIRST_CHUNK_TREE_OBJECTID: u32 = 256;
// struct btrfs_block_group_item
export const BLOCK_GROUP_ITEM_BYTES: u32 = 24;
export const BG_USED: u32 = 0; // u64 bytes of extents in the group
export const BG_CHUNK_OBJECTID: u32 = 8; // u64 FIRST_CHUNK_TREE_OBJECTID
export const BG_FLAGS: u32 = 16; // u64 CHUNK_* kind | BLOCK_GROUP_DUP
// struct btrfs_dev_extent
export const DEV_EXTENT_BYTES: u32 = 48;
export const DE_CHUNK_TREE: u32 = 0; // u64 CHUNK_TREE_ID
export const DE_CHUNK_OBJECTID: u32 = 8; // u64 FIRST_CHUNK_TREE_OBJECTID
export const DE_CHUNK_OFFSET: u32 = 16; // u64 the chunk's logical start
export const DE_LENGTH: u32 = 24; // u64 bytes of this stripe
export const DE_CHUNK_TREE_UUID: u32 = 32; // 16 bytes
// struct btrfs_chunk and its struct btrfs_stripe array
export const CHUNK_ITEM_BYTES: u32 = 48; // without its stripes
export const CK_LENGTH: u32 = 0; // u64 logical bytes
export const CK_OWNER: u32 = 8; // u64 EXTENT_TREE_ID
export const CK_STRIPE_LEN: u32 = 16; // u64 BTRFS_STRIPE_LEN (65536)
export const CK_TYPE: u32 = 24; // u64 CHUNK_* | BLOCK_GROUP_DUP
export const CK_IO_ALIGN: u32 = 32; // u32
export const CK_IO_WIDTH: u32 = 36; // u32
export const CK_SECTOR_SIZE: u32 = 40; // u32
export const CK_NUM_STRIPES: u32 = 44; // u16
export const CK_SUB_STRIPES: u32 = 46; // u16
export const CHUNK_STRIPE_BYTES: u32 = 32; // devid u64, offset u64, dev uuid 16 bytes
export const STRIPE_DEVID: u32 = 0;
export const STRIPE_OFFSET: u32 = 8;
export const STRIPE_DEV_UUID: u32 = 16;
export const BTRFS_STRIPE_LEN: u32 = 65536;
// struct btrfs_dev_item (also the superblock's copy)
export const DEV_ITEM_BYTES: u32 = 98;
export const DI_DEVID: u32 = 0;
export const DI_TOTAL_BYTES: u32 = 8;
export const DI_BYTES_USED: u32 = 16; // u64 bytes of the device's dev extents
export const DI_IO_ALIGN: u32 = 24;
export const DI_IO_WIDTH: u32 = 28;
export const DI_SECTOR_SIZE: u32 = 32;
export const DI_UUID: u32 = 66; // 16 bytes: the device's uuid
export const DI_FSID: u32 = 82; // 16 bytes

// Node header fields beyond those the search reads.
// u32 crc32c of bytes [NODE_CSUM_START, node bytes); bytes 4..31 zero (btrfs's 32-byte csum field)
export const NODE_CSUM: u32 = 0;
export const NODE_CSUM_START: u32 = 32; // the checksum covers the block from here (BTRFS_CSUM_SIZE)
export const NODE_FSID: u32 = 32; // 16 bytes: the file system's uuid (the superblock's fsid)
export const NODE_BYTENR: u32 = 48; // u64 the block's own address
// u64 flags (NODE_FLAG_WRITTEN), its top byte the back-reference revision
export const NODE_FLAGS: u32 = 56;
export const NODE_BACKREF_REV: u32 = 63; // u8 the flags' top byte: BACKREF_REV_MIXED
export const NODE_CHUNK_TREE_UUID: u32 = 64; // 16 bytes: the chunk tree's uuid
export const NODE_GENERATION: u32 = 80; // u64 transaction that wrote it
export const NODE_OWNER: u32 = 88; // u64 tree id
export const NODE_FLAG_WRITTEN: u64 = 1; // BTRFS_HEADER_FLAG_WRITTEN
export const BACKREF_REV_MIXED: u8 = 1; // BTRFS_MIXED_BACKREF_REV
export const UUID_BYTES: u32 = 16; // a uuid (fsid, chunk tree uuid, device uuid)
// u32 in a leaf item: data offset from the end of the header (NODE_HEADER_BYTES)
export const LEAF_DATA_OFFSET: u32 = KEY_BYTES;
export const LEAF_DATA_SIZE: u32 = KEY_BYTES + 4; // u32 in a leaf item: data bytes
export const PTR_BLOCK: u32 = KEY_BYTES; // u64 in a key pointer: the child's address
export const PTR_GENERATION: u32 = KEY_BYTES + 8; // u64 in a key pointer: the child's generation

// Item bodies.
// btrfs's struct btrfs_inode_item (160 bytes).
// generation, transid, size, nbytes, block group, nlink, uid, gid, mode, rdev, flags, sequence,
// reserved, 4 times
export const INODE_ITEM_BYTES: u32 = 160;
export const INODE_GENERATION: u32 = 0; // u64 transaction that created the inode
export const INODE_TRANSID: u32 = 8; // u64 transaction of the last change
export const INODE_SIZE: u32 = 16; // u64
export const INODE_NBYTES: u32 = 24; // u64
export const INODE_BLOCK_GROUP: u32 = 32; // u64 0
export const INODE_NLINK: u32 = 40; // u32
export const INODE_UID: u32 = 44; // u32 0
export const INODE_GID: u32 = 48; // u32 0
export const INODE_MODE: u32 = 52; // u32 POSIX mode: MODE_FILE, MODE_DIR
// u64 a device's number as Linux's new_encode_dev writes it (mknod's dev_t); 0 for every other kind
export const INODE_RDEV: u32 = 56;
export const INODE_FLAGS: u32 = 64; // u64 INODE_FLAG_*
export const INODE_SEQUENCE: u32 = 72; // u64 0
// btrfs_timespec (u64 seconds, u32 nanoseconds); then ctime, mtime, otime
export const INODE_ATIME: u32 = 112;
export const TIMESPEC_BYTES: u32 = 12;
export const S_IFMT: u32 = 61440; // 0o170000: the file type bits of a mode
export const S_IFREG: u32 = 32768; // 0o100000
export const S_IFDIR: u32 = 16384; // 0o040000
export const S_IFLNK: u32 = 40960; // 0o120000
export const S_IFCHR: u32 = 8192; // 0o020000: a character device (mknod)
export const S_IFBLK: u32 = 24576; // 0o060000: a block device
export const S_IFIFO: u32 = 4096; // 0o010000: a fifo
export const S_IFSOCK: u32 = 49152; // 0o140000: a socket
export const MODE_FILE: u32 = 33188; // 0o100644: a regular file, as pmcow creates it
export const MODE_DIR: u32 = 16877; // 0o040755: a directory
// 0o120777: a symbolic link (its target the inline extent at offset 0)
export const MODE_SYMLINK: u32 = 41471;
export const INODE_FLAG_NODATASUM: u32 = 1; // BTRFS_INODE_NODATASUM
export const INODE_FLAG_NODATACOW: u32 = 2; // BTRFS_INODE_NODATACOW
export const INODE_FLAG_IMMUTABLE: u32 = 64; // BTRFS_INODE_IMMUTABLE (1 << 6)
// btrfs's struct btrfs_file_extent_item (53 bytes, not inline).
// generation, ram bytes, compression, encryption, other encoding, type, disk bytenr, disk bytes,
// offset, bytes
export const FILE_EXTENT_BYTES: u32 = 53;
export const FE_GENERATION: u32 = 0; // u64
// u64 the extent's bytes uncompressed (= disk bytes: no compression)
export const FE_RAM_BYTES: u32 = 8;
export const FE_COMPRESSION: u32 = 16; // u8 0
export const FE_ENCRYPTION: u32 = 17; // u8 0
export const FE_OTHER_ENCODING: u32 = 18; // u16 0
export const FE_TYPE: u32 = 20; // u8 EXTENT_TYPE_*
export const FE_DISK_BYTENR: u32 = 21; // u64
export const FE_DISK_BYTES: u32 = 29; // u64
export const FE_OFFSET: u32 = 37; // u64
export const FE_BYTES: u32 = 45; // u64
// data in the item after its 21-byte header: a symlink's target (an adopted image's regular files'
// inline data is moved to extents)
export const EXTENT_TYPE_INLINE: u32 = 0;
// an inline item's header: generation, ram bytes, compression, encryption, other encoding, type
export const FILE_EXTENT_INLINE_BYTES: u32 = 21;
export const EXTENT_TYPE_REG: u32 = 1;
export const EXTENT_TYPE_PREALLOC: u32 = 2;
// EXTENT_ITEM / METADATA_ITEM (btrfs_extent_item): refs, generation, flags; back references are
// items of their own
export const EXTENT_ITEM_BYTES: u32 = 24;
export const EI_REFS: u32 = 0;
export const EI_GENERATION: u32 = 8;
export const EI_FLAGS: u32 = 16;
export const EXTENT_FLAG_DATA: u32 = 1;
export const EXTENT_FLAG_TREE_BLOCK: u32 = 2;
// a tree block its owner no longer reaches: its pointers' back references name it (SHARED_*_REF)
export const EXTENT_FLAG_FULL_BACKREF: u32 = 256;
// (block, 176, root): a pointer from a block of tree root (or root's own root pointer); no body
export const TREE_BLOCK_REF: u32 = 176;
// (block, 182, parent): a pointer from FULL_BACKREF block parent; no body
export const SHARED_BLOCK_REF: u32 = 182;
// (extent, 184, parent): count u32 of parent's items pointing here
export const SHARED_DATA_REF_BYTES: u32 = 4;
// Back-reference kinds in the delayed-ref tables: BACKREF_INO of a key that is not an
// EXTENT_DATA_REF (whose inode is always below these); BACKREF_ROOT holds the root or parent.
export const BACKREF_IS_TREE: u64 = 9007199254740991; // TREE_BLOCK_REF: BACKREF_ROOT the root
// SHARED_BLOCK_REF: BACKREF_ROOT the parent block
export const BACKREF_IS_SHARED_BLOCK: u64 = 9007199254740990;
// SHARED_DATA_REF: BACKREF_ROOT the parent leaf
export const BACKREF_IS_SHARED_DATA: u64 = 9007199254740989;
// root u64, objectid (inode) u64, offset u64, count u32 (btrfs_extent_data_ref)
export const EXTENT_DATA_REF_BYTES: u32 = 28;
export const EDR_ROOT: u32 = 0; // u64 the tree that owns the leaves holding the items
export const EDR_OBJECTID: u32 = 8; // u64 the inode
// u64 file offset of the extent's first byte: item key offset - item extent offset (mod 2^64)
export const EDR_OFFSET: u32 = 16;
export const EDR_COUNT: u32 = 24; // u32 items with that (root, inode, offset) pointing here
// Key offset of an EXTENT_DATA_REF: a hash of (root, inode, offset) below 2^53; colliding
// references take the next free key within this many keys of the hash.
export const EXTENT_DATA_REF_PROBES: u32 = 16;
// btrfs's struct btrfs_root_item (439 bytes): an inode item, then the root's fields.
export const ROOT_ITEM_BYTES: u32 = 439;
export const RI_GENERATION: u32 = 160; // u64 transaction that wrote this ROOT_ITEM
export const RI_ROOT_DIR: u32 = 168; // u64 root directory inode (256)
export const RI_BYTENR: u32 = 176; // u64 root block of the tree
export const RI_BYTES_USED: u32 = 192; // u64
// u64 transaction of the subvolume's creation or last snapshot
export const RI_LAST_SNAPSHOT: u32 = 200;
export const RI_FLAGS: u32 = 208; // u64 ROOT_FLAG_READONLY
export const RI_REFS: u32 = 216; // u32 1 (0: a dead root being dropped)
export const RI_DROP_LEVEL: u32 = 237; // u8
export const RI_LEVEL: u32 = 238; // u8 level of the root block
export const RI_GENERATION_V2: u32 = 239; // u64 = generation: the fields after it are valid
export const RI_UUID: u32 = 247; // 16 bytes
export const RI_CTRANSID: u32 = 295; // u64
export const RI_OTRANSID: u32 = 303; // u64
export const ROOT_FLAG_READONLY: u32 = 1;
// btrfs's struct btrfs_dir_item (DIR_ITEM, DIR_INDEX): location key, transid, data length, name
// length, type, name.
export const DIR_ENTRY_HEADER_BYTES: u32 = 30;
export const DIR_ENTRY_TRANSID: u32 = KEY_BYTES; // u64 transaction that made the entry
// u16 the value's length after the name (xattrs; 0 in directory entries)
export const DIR_ENTRY_DATA_LENGTH: u32 = KEY_BYTES + 8;
export const DIR_ENTRY_NAME_LENGTH: u32 = KEY_BYTES + 10; // u16
// u8 BTRFS_FT_*: DIR_KIND_FILE .. DIR_KIND_SYMLINK
export const DIR_ENTRY_KIND: u32 = KEY_BYTES + 12;
export const DIR_KIND_FILE: u32 = 1; // BTRFS_FT_REG_FILE
// BTRFS_FT_DIR (a subvolume's entry too: its location is the subvolume's ROOT_ITEM)
export const DIR_KIND_DIR: u32 = 2;
export const DIR_KIND_CHRDEV: u32 = 3; // BTRFS_FT_CHRDEV
export const DIR_KIND_BLKDEV: u32 = 4; // BTRFS_FT_BLKDEV
export const DIR_KIND_FIFO: u32 = 5; // BTRFS_FT_FIFO
export const DIR_KIND_SOCK: u32 = 6; // BTRFS_FT_SOCK
export const DIR_KIND_SYMLINK: u32 = 7; // BTRFS_FT_SYMLINK
// BTRFS_FT_XATTR: an XATTR_ITEM's entries (location zero, value after the name)
export const DIR_KIND_XATTR: u32 = 8;
export const INODE_REF_HEADER_BYTES: u32 = 10; // index u64, name length u16, name
export const INODE_REF_NAME_LENGTH: u32 = 8; // u16
export const ROOT_REF_HEADER_BYTES: u32 = 18; // dir inode u64, index u64, name length u16, name
export const ROOT_REF_NAME_LENGTH: u32 = 16; // u16
