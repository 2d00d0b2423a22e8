// The core's ABI: the file system's shared state (assembly/abi.ts: the rules for these files;
// docs/abi.md). scripts/gen-abi.mjs writes src/core/abi/fs-state.ts from it.

// --- the file system's shared state (assembly/fs/state.ts; docs/engine.md) -----------------
// Lives in the device's kernel region, after the superblock staging and the staging
// buffer. Every thread's core instance finds it from the header below.

export const FS_MAGIC: u32 = 0x53465750; // "PWFS"
export const FS_HEADER_BYTES: u32 = 384; // the state header's size
export const F_MAGIC: u32 = 0; // u32 FS_MAGIC, written last at format
export const F_NODE_BYTES: u32 = 4; // u32 tree block size
export const F_COPIES: u32 = 8; // u32 copies of every tree block (1 single, 2 dup)
export const F_TOTAL_BYTES: u32 = 12; // u32 usable device bytes (a multiple of SECTOR_BYTES)
export const F_GENERATION: u32 = 16; // u64 last committed generation
export const F_POOL: u32 = 24; // u32 address of buffer 0 of the dirty-node pool
export const F_POOL_COUNT: u32 = 28; // u32 buffers in the pool
export const F_FREE_COUNT: u32 = 32; // u32 buffers on the free stack
export const F_FREE_STACK: u32 = 36; // u32 address: free buffer indices (u32 each)
export const F_SECTOR_BUFFER: u32 = 40; // u32 address: per sector, (dirty buffer index + 1) or 0
export const F_VERIFIED: u32 = 44; // u32 address: per sector one bit, a clean tree block verified
// u32 address: sectors made dirty in this transaction (u32 each), in order
export const F_DIRTY_LIST: u32 = 48;
export const F_DIRTY_COUNT: u32 = 52; // u32 entries in the dirty list (dropped blocks included)
export const F_DIRTY_LIVE: u32 = 56; // u32 dirty blocks now
export const F_FREED_COUNT: u32 = 60; // u32 buffers of dropped blocks, back in the pool at commit
export const F_FREED_STACK: u32 = 64; // u32 address: their indices (u32 each)
export const F_FREE_BITS: u32 = 72; // u32 address: per sector one bit, free (allocatable) space
// u32 address: per sector one bit, freed in this transaction (free after the commit)
export const F_PINNED_BITS: u32 = 76;
export const F_FREE_SECTORS: u32 = 80; // u32 sectors free
export const F_PINNED_SECTORS: u32 = 84; // u32 sectors pinned
export const F_DATA_CURSOR: u32 = 88; // u32 sector where the next data allocation starts looking
export const F_EXTENT_ROOT: u32 = 152; // u64 the extent tree's root block
export const F_EXTENT_LEVEL: u32 = 160; // u32 its level
export const F_CSUM_ROOT: u32 = 168; // u64 the csum tree's root block
export const F_CSUM_LEVEL: u32 = 176; // u32 its level
// u32 address: per sector one bit, a block whose pointers were dropped early
export const F_DROPPED_BITS: u32 = 180;
export const F_DROPPED_COUNT: u32 = 184; // u32 blocks with that bit set
// u32 address: the root table, ROOT_SLOTS entries of ROOT_SLOT_BYTES
export const F_ROOTS: u32 = 188;
export const F_LOCK: u32 = 192; // u32 the fs lock: holder's thread slot + 1, 0 = free (fs-lock.ts)
export const F_LOCK_DEPTH: u32 = 196; // u32 how many times the holder took it (it nests)
// u32 P_* of the problem that aborted the transaction (ABORTED_BY_HOST: TypeScript's reason), 0 =
// none
export const F_ABORTED: u32 = 200;
// u32 address of the staging buffer (item bodies built under the fs lock)
export const F_STAGING: u32 = 204;
export const F_STAGING_BYTES: u32 = 208; // u32 its bytes
// u32 address: per sector one bit, a data extent (first sector) an item stopped mapping in this
// transaction
export const F_LOSING_BITS: u32 = 212;
// u32 address: per sector one bit, a data extent (first sector) with bytes filled in place in this
// transaction
export const F_FILLED_BITS: u32 = 216;
// u32 address: READERS_LOG_ENTRIES (extent u64, from u32, to u32): bytes items the core dropped
// read
export const F_READERS_LOG: u32 = 220;
export const F_READERS_COUNT: u32 = 224; // u32 entries in it
// u32 REF_TABLES_CLEAN while the delayed-ref hash tables are all zero (no slot taken since the last
// batch emptied them)
export const F_REF_TABLES_CLEAN: u32 = 240;
export const REF_TABLES_CLEAN: u32 = 0x434c4e52; // 'RNLC'
// 16 bytes: the file system's uuid, written into every tree block's header (the host sets it at
// mount)
export const F_FSID: u32 = 256;
export const F_CHUNK_TREE_UUID: u32 = 272; // 16 bytes: the chunk tree's uuid, likewise
// Block groups (assembly/fs/chunks.ts): the chunk table, CHUNK_ENTRY_BYTES per chunk in
// order of logical start: pmcow's grid cells of F_CHUNK_BYTES after SYSTEM_AREA_BYTES, and
// chunks an image placed elsewhere (mkfs.btrfs's), each with its stripes.
// u32 bytes of a grid cell: a chunk pmcow makes (a power of two)
export const F_CHUNK_BYTES: u32 = 288;
export const F_CHUNK_COUNT: u32 = 292; // u32 chunks in the table (at most CHUNKS_MAX)
export const F_CHUNKS: u32 = 296; // u32 address: the chunk table
// 4 x u32 free sectors in chunks of each kind: free (untyped), data, metadata, system
export const F_FREE_BY_KIND: u32 = 300;
// u32 1 when some chunk's first stripe is not at its logical start (a tree block's bytes are looked
// up)
export const F_CHUNKS_MAPPED: u32 = 316;
// u32 1 while a mount adopts an image pmcow did not write: the tree checker takes btrfs's inline
// forms (src/fs/adopt.ts)
export const F_ADOPTING: u32 = 320;
export const CHUNKS_MAX: u32 = 64;
export const CHUNK_ENTRY_BYTES: u32 = 32;
export const CE_KIND: u32 = 0; // u8 CHUNK_* the chunk holds now
// u8 CHUNK_* its chunk, dev extent and block group items say (0: none yet); TypeScript keeps it
export const CE_ITEMS: u32 = 1;
// u8 1: a cell of pmcow's grid (typed on use, given back when empty); 0: placed by the image's
// items, kept
export const CE_GRID: u32 = 2;
export const CE_COPIES: u32 = 3; // u8 stripes: 1, or 2 (DUP); 0 for an untyped cell
// u32 sectors its block group item says are used; TypeScript keeps it
export const CE_USED: u32 = 4;
export const CE_START: u32 = 8; // u32 first logical sector (the block group's start)
// u32 logical sectors (the block group's length; an untyped cell's whole size)
export const CE_SECTORS: u32 = 12;
export const CE_STRIPE0: u32 = 16; // u32 device sector of the first stripe
export const CE_STRIPE1: u32 = 20; // u32 device sector of the second stripe (DUP), else 0
// u32 sectors of the block group over a superblock copy: never free space, not used bytes
export const CE_EXCLUDED: u32 = 24;
export const CHUNK_FREE: u32 = 0; // no block group: all of it free
export const CHUNK_DATA: u32 = 1; // BTRFS_BLOCK_GROUP_DATA
export const CHUNK_SYSTEM: u32 = 2; // BTRFS_BLOCK_GROUP_SYSTEM: the chunk tree's blocks
export const CHUNK_METADATA: u32 = 4; // BTRFS_BLOCK_GROUP_METADATA: every other tree's blocks
// never a block group (it holds a superblock mirror's stripe)
export const CHUNK_RESERVED: u32 = 255;
export const BLOCK_GROUP_DUP: u32 = 32; // BTRFS_BLOCK_GROUP_DUP: two stripes, the chunk's halves
export const MIRROR_SUPERBLOCK_BYTENR: u32 = 67108864; // btrfs's first superblock mirror (64 MiB)
// bytes kept out of block groups around a superblock mirror
export const SUPERBLOCK_STRIPE: u32 = 65536;
// u32 address: the ref-table slots in use, in the order they were taken (u32 each)
export const F_REF_LIST: u32 = 228;
export const F_BACKREF_LIST: u32 = 232; // u32 address: the backref-table slots in use, likewise
// u32 address: per sector, the device's stamp epoch at which its data passed its checksum (0:
// never); good while no line of it is stamped since (inode.ts)
export const F_DATA_VERIFIED: u32 = 236;
export const READERS_LOG_ENTRIES: u32 = 256;
export const READERS_ENTRY_BYTES: u32 = 16;
export const ABORTED_BY_HOST: u32 = 1;
export const EXTENT_MARK_LOSING: u32 = 0; // fs_extent_mark: the losing bits
export const EXTENT_MARK_FILLED: u32 = 1; // fs_extent_mark: the filled bits
export const ABORTED_DELAYED_REFS: u32 = 2; // running delayed refs failed inside a core operation
// The root table: where every thread finds a subvolume tree's root (the extent and csum
// trees' are F_EXTENT_ROOT and F_CSUM_ROOT). TypeScript assigns the slots (Kernel.newTree).
export const ROOT_SLOTS: u32 = 1024; // subvolume trees one mount can hold
// root u64, level u32, flags u32, tree id u64 (0: a free slot), last snapshot u64
export const ROOT_SLOT_BYTES: u32 = 32;
export const RS_ROOT: u32 = 0; // u64 the tree's root block
export const RS_LEVEL: u32 = 8; // u32 the root's level (as F_EXTENT_LEVEL is 8 after F_EXTENT_ROOT)
export const RS_FLAGS: u32 = 12; // u32 RSF_*
export const RS_TREE: u32 = 16; // u64 the tree id, 0 for a free slot
// u64 generation of the subvolume's last snapshot (nodatacow overwrites)
export const RS_LAST_SNAPSHOT: u32 = 24;
// the core moved the root in this transaction (its ROOT_ITEM is stale)
export const RSF_MOVED: u32 = 1;
// u32 address: per sector one bit, allocated in this transaction
export const F_FRESH_BITS: u32 = 92;
// u32 bumped by every tree change and commit (readers' caches)
export const F_TREE_CHANGES: u32 = 96;
export const F_THREAD_AREAS: u32 = 100; // u32 address: one THREAD_AREA_BYTES area per thread slot
export const F_REFS: u32 = 104; // u32 address: the delayed-ref table (REF_BYTES slots)
export const F_REF_SLOTS: u32 = 108; // u32 slots of the table (a power of two)
export const F_REF_COUNT: u32 = 112; // u32 targets in it
// u32 address: the data back-reference table (BACKREF_BYTES slots)
export const F_BACKREFS: u32 = 116;
export const F_BACKREF_SLOTS: u32 = 120; // u32 its slots (a power of two)
export const F_BACKREF_COUNT: u32 = 124; // u32 (target, root, inode, offset) keys in it
// u32 address: the batch of refs taken for running, sorted by target
export const F_BATCH: u32 = 128;
export const F_BATCH_COUNT: u32 = 132; // u32 refs in the batch
// u32 address: the batch's back references, grouped by ref
export const F_BATCH_BACKREFS: u32 = 136;

// Delayed refs (assembly/fs/delayed-ref.ts): per target block, the change of its reference
// count in this transaction; per (data extent, root, inode, offset), the change of its
// EXTENT_DATA_REF. Copying a leaf of its own tree changes no such key: its refs net to zero.
export const REF_BYTES: u32 = 32; // a ref-table slot and a batch entry
export const REF_TARGET: u32 = 0; // u32 target sector + 1 (0: empty slot)
export const REF_DELTA: u32 = 4; // i32 change of the reference count
export const REF_FLAGS: u32 = 8; // u32 REF_DATA, REF_SET_FULL; tree blocks: the level in bits 8-15
export const REF_BYTES_FIELD: u32 = 12; // u32 extent bytes (data)
export const REF_OWNER: u32 = 16; // u64 tree that made the first change
// u32 back references (batch: in the batch's backref array)
export const REF_BACKREF_COUNT: u32 = 24;
export const REF_BACKREF_FIRST: u32 = 28; // u32 batch: index of the first of them
export const REF_DATA: u32 = 1; // the target is a data extent
// the tree block became FULL_BACKREF (its pointers' back references now name it)
export const REF_SET_FULL: u32 = 2;
export const REF_LEVEL_SHIFT: u32 = 8;
export const BACKREF_BYTES: u32 = 32; // a backref-table slot and a batch backref
export const BACKREF_TARGET: u32 = 0; // u32 target sector + 1 (0: empty slot)
export const BACKREF_DELTA: u32 = 4; // i32 change of the reference's count
export const BACKREF_ROOT: u32 = 8; // u64 root (the owner of the leaf holding the items)
export const BACKREF_INO: u32 = 16; // u64 inode
export const BACKREF_OFFSET: u32 = 24; // u64 file offset of the extent's first byte (mod 2^64)

// A thread's area: the path of its B-tree operation, its keys, results and problems.
export const THREAD_AREA_BYTES: u32 = 5248; // 1152 of records, then TA_INLINE_BODY
export const TA_PATH: u32 = 0; // (MAX_LEVEL + 1) levels of PATH_BYTES
export const PATH_BYTES: u32 = 16; // bytenr u64, slot u32
export const TA_KEY: u32 = 160; // the key of the operation (KEY_BYTES)
export const TA_ZERO_KEY: u32 = 192; // an all-zero key
export const TA_SEEK_KEY: u32 = 224; // a key a seek moves along
export const TA_RESULT: u32 = 256; // the operation's results, CR_*
export const CR_ROOT: u32 = 0; // u64 the tree's root after the operation
export const CR_LEVEL: u32 = 8; // u32 its level
export const CR_LEAF: u32 = 12; // u32 address of the leaf found
export const CR_SLOT: u32 = 16; // u32 slot in it
export const CR_DATA: u32 = 20; // u32 address of the item's data
export const CR_SIZE: u32 = 24; // u32 its size
// u32 file reads this thread served through the core (fs_read_done)
export const TA_READS: u32 = 1016;
// INLINE_BODY_BYTES: a METADATA_ITEM's body with its inline TREE_BLOCK_REFs, built by the run of a
// ref
export const TA_INLINE_BODY: u32 = 1152;
export const INLINE_BODY_BYTES: u32 = 4096;
export const INLINE_REF_BYTES: u32 = 9; // btrfs_extent_inline_ref: type u8, offset u64 (the root)
// TREE_BLOCK_REFs a METADATA_ITEM holds inline; more are items of their own
export const INLINE_TREE_REFS: u32 = 32;
// 128 bytes: the extent tree's item bodies (an EXTENT_ITEM at +0, an EXTENT_DATA_REF at +32) and a
// hash's scratch (+96)
export const TA_ITEM_BODIES: u32 = 1024;
// u32 count, u64 tree at +8, then from +16 u64 blocks an operation may drop at its end
export const TA_DROPS: u32 = 432;
export const TA_DROPS_MAX: u32 = 70; // blocks TA_DROPS holds (up to TA_READS)
export const TA_PROBLEMS: u32 = 320; // two problem records (copy 1, copy 2), PROBLEM_BYTES each
// code u32, slot u32, copy u32, a u64, b u64, c u64, bytenr u64, tree u64
export const PROBLEM_BYTES: u32 = 56;
export const PR_CODE: u32 = 0; // u32 P_*
export const PR_SLOT: u32 = 4; // u32 node slot the problem is at
export const PR_COPY: u32 = 8; // u32 which copy of the block
export const PR_A: u32 = 16; // u64 values the message quotes (key problems: addresses of the keys)
export const PR_B: u32 = 24;
export const PR_C: u32 = 32;
export const PR_BYTENR: u32 = 40; // u64 the block
export const PR_TREE: u32 = 48; // u64 the tree

// Problem codes of the tree checker and the block reader (src/fs/tree-checker.ts words them).
export const P_NONE: u32 = 0;
export const P_MEDIA_ERROR: u32 = 1; // a copy has a poisoned line
export const P_CHECKSUM: u32 = 2; // a copy does not match its checksum
export const P_BYTENR: u32 = 3; // header names another block (a: the bytenr it names)
export const P_POINTER: u32 = 4; // pointer outside the device
export const P_LEVEL: u32 = 10; // a: level
export const P_GENERATION: u32 = 11; // a: generation, b: last committed
export const P_OWNER: u32 = 12; // a: owner
export const P_NRITEMS: u32 = 13; // a: nritems, b: capacity
export const P_EMPTY_INTERNAL: u32 = 14;
export const P_KEY_RANGE: u32 = 15; // key above 2^53
export const P_KEY_ORDER: u32 = 16; // key not above the previous one
export const P_CHILD_POINTER: u32 = 17; // a: child
export const P_CHILD_GENERATION: u32 = 18; // a: child generation, b: node generation
export const P_DATA_END: u32 = 19; // a: data offset, b: size, c: expected end
export const P_DATA_OVERLAP: u32 = 20; // a: data offset
export const P_ITEM_SIZE: u32 = 30; // a: size, b: expected
export const P_INODE_MODE: u32 = 31; // a: mode
export const P_INODE_SIZE: u32 = 32; // a: size
export const P_INODE_FLAGS: u32 = 33; // a: flags
export const P_NO_NAMES: u32 = 34;
export const P_NAME_TRUNCATED: u32 = 35; // a: record offset
export const P_NAME_LENGTH: u32 = 36; // a: length
export const P_NAME_PAST: u32 = 37;
export const P_DIR_KIND: u32 = 38; // a: kind
export const P_EXTENT_TYPE: u32 = 39; // a: type
export const P_FILE_OFFSET: u32 = 40; // a: offset
export const P_EXTENT_OUTSIDE: u32 = 41; // a: disk bytenr, b: disk bytes
export const P_EXTENT_MAPS: u32 = 42; // a: offset, b: bytes, c: disk bytes
export const P_MAPS_BEYOND: u32 = 43;
export const P_CSUM_BYTES: u32 = 44; // a: size
export const P_BAD_KEY: u32 = 45;
export const P_ROOT_LEVEL: u32 = 46; // a: level
export const P_ROOT_OUTSIDE: u32 = 47; // a: bytenr
export const P_TREE_ID: u32 = 48; // a: id
export const P_REF_BYTES: u32 = 49; // a: size
export const P_EXTENT_KEY: u32 = 50; // a: objectid, b: offset
export const P_LEAF_ALIGN: u32 = 51; // a: leaf
export const P_UNKNOWN_TYPE: u32 = 52; // a: type
// a directory entry carries data after its name (a: its length; only xattrs do)
export const P_DIR_DATA: u32 = 54;
export const P_FSID: u32 = 53; // the header's fsid is not the file system's (a, b: its two halves)
// Problems of the B-tree operations (assembly/fs/ctree.ts); bytenr: the parent, c: the child.
export const P_CHILD_LEVEL: u32 = 60; // a: child level, b: parent level
export const P_CHILD_STALE: u32 = 61; // a: child generation, b: the pointer's
export const P_CHILD_EMPTY: u32 = 62;
export const P_CHILD_LOW: u32 = 63; // a: address of the child's first key, b: of the parent's
export const P_CHILD_HIGH: u32 = 64; // a: address of the child's last key, b: of the bound
export const P_NODE_LEVEL: u32 = 65; // bytenr: the node, a: its level, b: the level expected
export const P_NOT_COPY: u32 = 66; // bytenr: a clean block on a copy-on-write path
export const P_ITEM_TOO_LARGE: u32 = 67; // a: data bytes (EFBIG)
export const P_ITEM_NO_FIT: u32 = 68; // a: bytes needed (EFBIG: no split point)
export const P_KEY_EXISTS: u32 = 69; // EEXIST, the key at TA_KEY
export const P_KEY_MISSING: u32 = 70; // ENOENT, the key at TA_KEY
export const P_NO_METADATA_SPACE: u32 = 71; // ENOSPC
export const P_POOL_EMPTY: u32 = 72; // ENOSPC: no dirty-node buffer
export const P_BLOCK_IN_USE: u32 = 73; // EUCLEAN: free space hands out a block read in this mount
export const P_REFS_FULL: u32 = 74; // ENOSPC: the delayed-ref table is full (a: refs, b: backrefs)
export const P_REF_KIND: u32 = 75; // EIO: bytenr referenced both as data and as a tree block
// EIO: extent bytenr's count would drop below zero (a: count, b: change)
export const P_REFS_NEGATIVE: u32 = 76;
// EIO: extent bytenr's backref from root a, inode b, offset c would drop below zero
export const P_BACKREF_NEGATIVE: u32 = 77;
export const P_DROPPED_KEPT: u32 = 78; // EIO: a blocks dropped their pointers but kept a reference
export const P_REFS_LOOP: u32 = 79; // EIO: delayed refs do not converge
// Problems of file reads (assembly/fs/inode.ts), all EIO; bytenr: the device byte or extent.
export const P_DATA_MEDIA: u32 = 80; // a poisoned line in the data sectors being verified at bytenr
// a poisoned line in [bytenr, bytenr + a) (a load without checksums)
export const P_DATA_POISON: u32 = 81;
export const P_DATA_CSUM: u32 = 82; // the sector at bytenr does not match its checksum
export const P_CSUMS_MISSING: u32 = 83; // data extent bytenr has no (or a short) EXTENT_CSUM item
// EUCLEAN: a regular file's inline extent item (pmcow keeps inline data only for symlinks); slot:
// -, a: inode
export const P_INLINE_FILE: u32 = 85;
// EUCLEAN: extent bytenr's items contradict its refs (slot 0: its METADATA_ITEM is at another level
// than a (the pointer's); slot 1: freed twice, a bytes)
export const P_EXTENT_DAMAGED: u32 = 84;
// Flags of file_read.
export const READ_VERIFY: u32 = 1; // verify data checksums (a datasum file)
// file_read looks the inode up itself: reads up to its size, verifies unless NODATASUM, returns the
// bytes read
export const READ_INODE_BOUNDS: u32 = 2;
// file_read with READ_INODE_BOUNDS: no sound inode item (the caller's own lookup words the problem)
export const READ_NO_INODE: i32 = -2;
// fs_node_addr asks its caller to rewrite the first copy from the good second (dup).
export const NEEDS_HEAL: i32 = 1000001;
// The container of a tree's root pointer in fs_ref_change (a root has no parent block).
export const ROOT_POINTER: i32 = -1;
// Modes of ctree_seek.
export const SEEK_AT_OR_AFTER: u32 = 0; // the first item with key >= the key
export const SEEK_AFTER: u32 = 1; // the first item with key > the key
export const SEEK_AT_OR_BEFORE: u32 = 2; // the last item with key <= the key
