// The tree checker (btrfs's tree-checker.c): a node that passed its checksum is still
// checked field by field before any code trusts it, once, when it is first read. A
// corrupted image whose checksums were recomputed (a fuzzer, a bug that wrote garbage and
// checksummed it) must give a clear error, never an out-of-bounds read, a loop or a trap.
// What a node can only be checked against its parent (level, generation, key range) is
// checked by the tree walks.
//
// A problem is reported as a record (PR_* fields: code, slot, up to three values) that
// src/fs/tree-checker.ts words; the checker itself returns only the code.
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_NRITEMS, NODE_LEVEL, NODE_GENERATION,
  NODE_OWNER, MAX_LEVEL, MAX_KEY_VALUE, SECTOR_BYTES, SYSTEM_AREA_BYTES, BTRFS_MAX_EXTENT_BYTES,
  MAX_FILE_BYTES, ROOT_TREE_ID, EXTENT_TREE_ID, FS_TREE_ID, CSUM_TREE_ID, FIRST_SUBVOLUME_ID,
  F_ADOPTING, XATTR_ITEM, INODE_EXTREF, INODE_EXTREF_HEADER_BYTES, BTRFS_FT_LAST, UUID_TREE_ID,
  FREE_SPACE_TREE_ID, DATA_RELOC_TREE_ID, FREE_SPACE_INFO, FREE_SPACE_BITMAP, UUID_KEY_SUBVOL,
  UUID_KEY_RECEIVED_SUBVOL, INODE_ITEM, INODE_REF, ORPHAN_ITEM, DIR_ITEM, DIR_INDEX, EXTENT_DATA,
  EXTENT_CSUM, ROOT_ITEM, ROOT_BACKREF, ROOT_REF, EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF,
  INODE_ITEM_BYTES, FILE_EXTENT_BYTES, FILE_EXTENT_INLINE_BYTES, EXTENT_TYPE_INLINE, FE_RAM_BYTES,
  FE_COMPRESSION, ROOT_ITEM_BYTES, EXTENT_ITEM_BYTES, EXTENT_DATA_REF_BYTES, EDR_COUNT,
  INODE_REF_HEADER_BYTES, INODE_REF_NAME_LENGTH, DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_KIND,
  DIR_ENTRY_NAME_LENGTH, ROOT_REF_HEADER_BYTES, ROOT_REF_NAME_LENGTH, NAME_MAX_BYTES, INODE_MODE,
  INODE_SIZE, INODE_FLAGS, S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  DIR_KIND_SYMLINK, DIR_KIND_XATTR, FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES,
  EXTENT_TYPE_REG, EXTENT_TYPE_PREALLOC, RI_BYTENR, RI_LEVEL, DIR_KIND_FILE, DIR_ENTRY_DATA_LENGTH,
  INODE_FLAG_NODATASUM, INODE_FLAG_NODATACOW, INODE_FLAG_IMMUTABLE, KEY_OBJECTID, KEY_TYPE,
  KEY_OFFSET, LEAF_DATA_OFFSET, LEAF_DATA_SIZE, PTR_BLOCK, PTR_GENERATION, PR_CODE, PR_SLOT, PR_A,
  PR_B, PR_C, P_NONE, P_LEVEL, P_GENERATION, P_OWNER, P_NRITEMS, P_EMPTY_INTERNAL, P_KEY_RANGE,
  P_KEY_ORDER, P_CHILD_POINTER, P_CHILD_GENERATION, P_DATA_END, P_DATA_OVERLAP, P_ITEM_SIZE,
  P_INODE_MODE, P_INODE_SIZE, P_INODE_FLAGS, P_NO_NAMES, P_NAME_TRUNCATED, P_NAME_LENGTH,
  P_NAME_PAST, P_DIR_KIND, P_EXTENT_TYPE, P_FILE_OFFSET, P_EXTENT_OUTSIDE, P_EXTENT_MAPS,
  P_MAPS_BEYOND, P_CSUM_BYTES, P_BAD_KEY, P_ROOT_LEVEL, P_ROOT_OUTSIDE, P_TREE_ID, P_REF_BYTES,
  P_EXTENT_KEY, P_UNKNOWN_TYPE, P_FSID, P_DIR_DATA, NODE_FSID, F_FSID, CHUNK_TREE_ID, DEV_TREE_ID,
  BLOCK_GROUP_ITEM, BLOCK_GROUP_ITEM_BYTES, BG_USED, DEV_EXTENT, DEV_EXTENT_BYTES, DEV_ITEM,
  DEV_ITEM_BYTES, CHUNK_ITEM, CHUNK_ITEM_BYTES, CHUNK_STRIPE_BYTES, CK_NUM_STRIPES,
  INLINE_REF_BYTES, TREE_BLOCK_REF, SHARED_BLOCK_REF, SHARED_DATA_REF, SHARED_DATA_REF_BYTES,
  EXTENT_CSUM_OBJECTID, NEGATIVE_OBJECTIDS,
} from "../abi";
import { fsBase } from "./state";
import { compareKeysAt } from "./key";
import { treeBlockPlaced } from "./chunks";
import { CHECKS } from "../shared/checks";
import { visibleAddr, deviceBytes } from "../pmem/state";

// The checks here are of the checker's own arguments and bookkeeping, never of the node:
// a node that is not valid is a problem record (EUCLEAN), not an assertion.

const ALL_INODE_FLAGS: u64 = INODE_FLAG_NODATASUM | INODE_FLAG_NODATACOW | INODE_FLAG_IMMUTABLE;

// What a node is checked against: the file system's geometry and last commit. Globals,
// so per instance (per thread): static memory would be shared by every thread.
let ctxNodeBytes: u32 = 0;
let ctxTotalBytes: u64 = 0;
/** Device bytes a tree block occupies (node bytes times the metadata copies). */
let ctxBlockBytes: u32 = 0;
/** The last committed generation: no clean node can be newer. */
let ctxGeneration: u64 = 0;

export function checkAgainst(
  nodeBytes: u32, totalBytes: u64, blockBytes: u32, generation: u64,
): void {
  assert(nodeBytes > NODE_HEADER_BYTES, "node size");
  assert(blockBytes >= nodeBytes, "block size");
  assert(blockBytes % nodeBytes == 0, "block size");
  assert((totalBytes & (SECTOR_BYTES - 1)) == 0, "device size");
  ctxNodeBytes = nodeBytes;
  ctxTotalBytes = totalBytes;
  ctxBlockBytes = blockBytes;
  ctxGeneration = generation;
}

@inline function sameUuid(a: usize, b: usize): bool {
  assert(a != 0 && b != 0 && a != b, "tree checker: uuids compared at no address or at one");
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8);
}

// Where the problem of the check in progress is recorded (a PROBLEM_BYTES record).
let record: usize = 0;

function problem(code: u32, slot: u32, a: u64, b: u64, c: u64): u32 {
  assert(code != P_NONE, "problem code");
  assert(record != 0, "no record");
  store<u32>(record + PR_CODE, code);
  store<u32>(record + PR_SLOT, slot);
  store<u64>(record + PR_A, a);
  store<u64>(record + PR_B, b);
  store<u64>(record + PR_C, c);
  return code;
}

/**
 * Does a mount adopt an image pmcow did not write (src/fs/adopt.ts)? Only then are btrfs's
 * inline forms (inline file extents, inline data and shared block references) items pmcow
 * meets: the adoption rewrites them, and the engine reads none of them.
 */
@inline function adopting(): bool {
  return load<u32>(fsBase + F_ADOPTING) != 0;
}

/** The owner of the node being checked (its header's). */
let ctxOwner: u64 = 0;

@inline function knownTree(owner: u64): bool {
  return owner == ROOT_TREE_ID || owner == EXTENT_TREE_ID || owner == FS_TREE_ID
    || owner == CSUM_TREE_ID
    || owner == CHUNK_TREE_ID || owner == DEV_TREE_ID
    || owner == UUID_TREE_ID || owner == FREE_SPACE_TREE_ID || owner == <u64><i64>DATA_RELOC_TREE_ID
    || (owner >= FIRST_SUBVOLUME_ID && owner <= MAX_KEY_VALUE);
}

/**
 * A tree block pointer a node or item may hold: aligned, inside the allocatable space, in
 * the usable half of a metadata or system chunk (a dup copy lies at a fixed distance from it).
 */
export function validBlockPointer(bytenr: u64, total: u64, blockBytes: u32): bool {
  assert(blockBytes >= SECTOR_BYTES && (total & (SECTOR_BYTES - 1)) == 0, "bad geometry");
  return bytenr >= SYSTEM_AREA_BYTES && (bytenr & (SECTOR_BYTES - 1)) == 0
    && bytenr <= MAX_KEY_VALUE
    && bytenr + blockBytes <= total && treeBlockPlaced(bytenr);
}

/**
 * Check the node at `addr` against the last checkAgainst (its checksum and self bytenr are
 * the caller's); returns P_NONE
 * or the code of the first problem, whose record is written at `problemRecord`.
 */
export function checkNode(addr: usize, problemRecord: usize): u32 {
  assert(ctxNodeBytes != 0 && ctxBlockBytes != 0, "bad geometry");
  assert(problemRecord != 0, "no record");
  // Only clean blocks are checked: the device's bytes, never a pool buffer.
  if (CHECKS) {
    assert(addr >= visibleAddr && <u64>(addr - visibleAddr) + ctxNodeBytes <= <u64>deviceBytes);
  }
  record = problemRecord;
  store<u32>(record + PR_CODE, P_NONE);
  const level = <u32>load<u8>(addr + NODE_LEVEL);
  const nritems = load<u32>(addr + NODE_NRITEMS);
  const generation = load<u64>(addr + NODE_GENERATION);
  const owner = load<u64>(addr + NODE_OWNER);
  if (!sameUuid(addr + NODE_FSID, fsBase + F_FSID)) {
    return problem(P_FSID, 0, load<u64>(addr + NODE_FSID), load<u64>(addr + NODE_FSID, 8), 0);
  }
  if (level > MAX_LEVEL) return problem(P_LEVEL, 0, level, MAX_LEVEL, 0);
  if (generation == 0 || generation > ctxGeneration) {
    return problem(P_GENERATION, 0, generation, ctxGeneration, 0);
  }
  if (!knownTree(owner)) return problem(P_OWNER, 0, owner, 0, 0);
  const stride: u32 = level == 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  const capacity = (ctxNodeBytes - NODE_HEADER_BYTES) / stride;
  if (nritems > capacity) return problem(P_NRITEMS, 0, nritems, capacity, 0);
  if (level > 0 && nritems == 0) return problem(P_EMPTY_INTERNAL, 0, 0, 0, 0);
  const first = addr + NODE_HEADER_BYTES;
  ctxOwner = owner;
  for (let s: u32 = 0; s < nritems; s++) {
    const at = first + <usize>s * stride;
    // Objectids below 2^53, or btrfs's special ones at the top of the u64 range; offsets below
    // 2^53. Not in the uuid tree an adopted image keeps: its keys are uuids (pmcow never reads
    // them).
    const objectid = load<u64>(at + KEY_OBJECTID);
    const keyInRange = !(objectid > MAX_KEY_VALUE && objectid < <u64>(-<i64>NEGATIVE_OBJECTIDS))
      && load<u64>(at + KEY_OFFSET) <= MAX_KEY_VALUE;
    if (!keyInRange && owner != UUID_TREE_ID) return problem(P_KEY_RANGE, s, 0, 0, 0);
    if (s > 0 && compareKeysAt(at - stride, at) >= 0) return problem(P_KEY_ORDER, s, 0, 0, 0);
    const code = level > 0 ? checkPointer(at, s, generation) : checkLeafItem(addr, at, s, nritems);
    if (code != P_NONE) return code;
  }
  return P_NONE;
}

function checkPointer(at: usize, s: u32, generation: u64): u32 {
  // checkNode refused a generation of 0 and more pointers than fit before the loop.
  assert(generation != 0, "generation 0");
  // a pointer slot beyond the node
  if (CHECKS) assert(s < (ctxNodeBytes - NODE_HEADER_BYTES) / KEY_PTR_BYTES);
  const child = load<u64>(at + PTR_BLOCK);
  const childGeneration = load<u64>(at + PTR_GENERATION);
  if (!validBlockPointer(child, ctxTotalBytes, ctxBlockBytes)) {
    return problem(P_CHILD_POINTER, s, child, 0, 0);
  }
  if (childGeneration == 0 || childGeneration > generation) {
    return problem(P_CHILD_GENERATION, s, childGeneration, generation, 0);
  }
  return P_NONE;
}

// Leaf: item data packed from the end of the node, item 0's last, no gaps or overlaps.
function checkLeafItem(addr: usize, at: usize, s: u32, nritems: u32): u32 {
  assert(s < nritems, "slot outside node");
  // an item not at its slot
  if (CHECKS) assert(at == addr + NODE_HEADER_BYTES + <usize>s * LEAF_ITEM_BYTES);
  // Offsets count from the header's end (btrfs); the checks and records use node offsets.
  const dataOffset = <u64>load<u32>(at + LEAF_DATA_OFFSET) + NODE_HEADER_BYTES;
  const dataSize = load<u32>(at + LEAF_DATA_SIZE);
  const end: u64 = s == 0 ? <u64>ctxNodeBytes
    : <u64>load<u32>(at - LEAF_ITEM_BYTES + LEAF_DATA_OFFSET) + NODE_HEADER_BYTES;
  if (dataOffset + dataSize != end) return problem(P_DATA_END, s, dataOffset, dataSize, end);
  if (dataOffset < <u64>NODE_HEADER_BYTES + <u64>nritems * LEAF_ITEM_BYTES) {
    return problem(P_DATA_OVERLAP, s, dataOffset, 0, 0);
  }
  return checkItem(at, addr + <usize>dataOffset, dataSize, s);
}

/**
 * What a run of name records holds: inode refs, directory entries (DIR_ITEM, DIR_INDEX) or xattrs.
 */
const NAMES_INODE_REFS: u32 = 0;
const NAMES_DIR_ENTRIES: u32 = 1;
const NAMES_XATTRS: u32 = 2;

/**
 * Parse a run of name records (header bytes, u16 name length at `lengthAt`) covering exactly `size`
 * bytes.
 */
function namesCover(addr: usize, size: u32, header: u32, lengthAt: u32, s: u32, names: u32): u32 {
  assert(lengthAt + 2 <= header, "name length field");
  // an item slot beyond the leaf
  if (CHECKS) assert(s < (ctxNodeBytes - NODE_HEADER_BYTES) / LEAF_ITEM_BYTES);
  if (size == 0) return problem(P_NO_NAMES, s, 0, 0, 0);
  for (let at: u32 = 0; at < size;) {
    if (at + header > size) return problem(P_NAME_TRUNCATED, s, at, 0, 0);
    const length = <u32>load<u16>(addr + at + lengthAt);
    if (length == 0 || length > NAME_MAX_BYTES) return problem(P_NAME_LENGTH, s, length, 0, 0);
    let dataLength: u32 = 0;
    if (names != NAMES_INODE_REFS) {
      const bad = entryProblem(addr + at, s, names);
      if (bad != P_NONE) return bad;
      dataLength = <u32>load<u16>(addr + at + DIR_ENTRY_DATA_LENGTH);
    }
    at += header + length + dataLength;
    if (at > size) return problem(P_NAME_PAST, s, 0, 0, 0);
  }
  return P_NONE;
}

/**
 * One directory entry's kind and data (btrfs's check_dir_item): a directory's entries name
 * files, directories, devices, fifos, sockets and symlinks (BTRFS_FT_REG_FILE 1 ..
 * BTRFS_FT_SYMLINK 7; an adopted image's BTRFS_FT_UNKNOWN 0 too, which fsck finds against
 * its inode's mode) and carry no data; an xattr's kind is BTRFS_FT_XATTR, its value after
 * the name.
 */
function entryProblem(entry: usize, s: u32, names: u32): u32 {
  const kind = <u32>load<u8>(entry + DIR_ENTRY_KIND);
  const dataLength = <u32>load<u16>(entry + DIR_ENTRY_DATA_LENGTH);
  if (names == NAMES_XATTRS) {
    return kind == DIR_KIND_XATTR ? P_NONE : problem(P_DIR_KIND, s, kind, 0, 0);
  }
  const known = kind >= DIR_KIND_FILE && kind <= DIR_KIND_SYMLINK;
  if (!known && !(adopting() && kind < BTRFS_FT_LAST)) return problem(P_DIR_KIND, s, kind, 0, 0);
  return dataLength == 0 ? P_NONE : problem(P_DIR_DATA, s, dataLength, 0, 0);
}

@inline function exact(size: u32, expected: u32, s: u32): u32 {
  return size == expected ? P_NONE : problem(P_ITEM_SIZE, s, size, expected, 0);
}

/** Item bodies the file system decodes: their sizes and the fields later code trusts. */
function checkItem(key: usize, addr: usize, size: u32, s: u32): u32 {
  // checkLeafItem passed the item's place: its data lies inside the node, after the items.
  // item data outside its node
  if (CHECKS) assert(addr > key && <u64>(addr - key) + size <= <u64>ctxNodeBytes);
  const type = <u32>load<u8>(key + KEY_TYPE);
  const objectid = load<u64>(key + KEY_OBJECTID);
  const offset = load<u64>(key + KEY_OFFSET);
  if (type == INODE_ITEM) return checkInode(addr, size, s);
  if (type == XATTR_ITEM) {
    return namesCover(addr, size, DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_NAME_LENGTH, s, NAMES_XATTRS);
  }
  // An adopted image's extended inode refs: the adoption refuses them by name.
  if (type == INODE_EXTREF && adopting()) {
    return size >= INODE_EXTREF_HEADER_BYTES ? P_NONE
      : problem(P_ITEM_SIZE, s, size, INODE_EXTREF_HEADER_BYTES, 0);
  }
  if (type == INODE_REF) {
    return namesCover(addr, size, INODE_REF_HEADER_BYTES, INODE_REF_NAME_LENGTH, s,
      NAMES_INODE_REFS);
  }
  if (type == ORPHAN_ITEM) return exact(size, 0, s);
  if (type == DIR_ITEM || type == DIR_INDEX) {
    return namesCover(addr, size, DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_NAME_LENGTH, s,
      NAMES_DIR_ENTRIES);
  }
  if (type == EXTENT_DATA) return checkFileExtent(offset, addr, size, s);
  if (type == EXTENT_CSUM) {
    if (size == 0 || size % 4 != 0 || size > (BTRFS_MAX_EXTENT_BYTES / SECTOR_BYTES) * 4) {
      return problem(P_CSUM_BYTES, s, size, 0, 0);
    }
    const good = objectid == <u64><i64>EXTENT_CSUM_OBJECTID && (offset & (SECTOR_BYTES - 1)) == 0;
    return good ? P_NONE : problem(P_BAD_KEY, s, 0, 0, 0);
  }
  if (type == ROOT_ITEM) return checkRootItem(objectid, addr, size, s);
  if (type == ROOT_BACKREF || type == ROOT_REF) {
    if (size < ROOT_REF_HEADER_BYTES) return problem(P_REF_BYTES, s, size, 0, 0);
    const length = <u32>load<u16>(addr + ROOT_REF_NAME_LENGTH);
    if (length == 0 || length > NAME_MAX_BYTES) return problem(P_NAME_LENGTH, s, length, 0, 0);
    return exact(size, ROOT_REF_HEADER_BYTES + length, s);
  }
  if (type == EXTENT_ITEM || type == METADATA_ITEM) {
    return checkExtentItem(type, objectid, offset, addr, size, s);
  }
  if (type == TREE_BLOCK_REF || type == SHARED_BLOCK_REF) {
    // (block, type, root or parent), no body; a parent is a block, a root a tree's id.
    if (size != 0) return exact(size, 0, s);
    return offset != 0 && (objectid & (SECTOR_BYTES - 1)) == 0 ? P_NONE
      : problem(P_BAD_KEY, s, objectid, offset, 0);
  }
  if (type == SHARED_DATA_REF) {
    if (size != SHARED_DATA_REF_BYTES) return exact(size, SHARED_DATA_REF_BYTES, s);
    const good = load<u32>(addr) != 0 && offset != 0 && (offset & (SECTOR_BYTES - 1)) == 0;
    return good ? P_NONE : problem(P_BAD_KEY, s, objectid, offset, 0);
  }
  if (type == EXTENT_DATA_REF) {
    if (size != EXTENT_DATA_REF_BYTES) return exact(size, EXTENT_DATA_REF_BYTES, s);
    // A count of zero is never stored (the reference goes instead).
    return load<u32>(addr + EDR_COUNT) != 0 ? P_NONE : problem(P_BAD_KEY, s, 0, 0, 0);
  }
  return checkChunkItem(type, objectid, offset, addr, size, s);
}

/**
 * A data extent's EXTENT_ITEM or a tree block's skinny METADATA_ITEM, with their inline references.
 */
function checkExtentItem(
  type: u32, objectid: u64, offset: u64, addr: usize, size: u32, s: u32,
): u32 {
  if (type == EXTENT_ITEM) {
    // A data extent: pmcow writes its references keyed (24 bytes); btrfs may keep them
    // inline (an adopted image's: EXTENT_DATA_REF and SHARED_DATA_REF bodies after a type byte).
    if (size < EXTENT_ITEM_BYTES) return exact(size, EXTENT_ITEM_BYTES, s);
    const good = (objectid & (SECTOR_BYTES - 1)) == 0 && offset > 0
      && (offset & (SECTOR_BYTES - 1)) == 0 && offset <= BTRFS_MAX_EXTENT_BYTES;
    if (!good) return problem(P_EXTENT_KEY, s, objectid, offset, 0);
    if (size > EXTENT_ITEM_BYTES && !adopting()) return exact(size, EXTENT_ITEM_BYTES, s);
    let at = addr + EXTENT_ITEM_BYTES;
    while (at < addr + size) {
      const refType = <u32>load<u8>(at);
      const bytes: u32 = refType == EXTENT_DATA_REF ? 1 + EXTENT_DATA_REF_BYTES
        : refType == SHARED_DATA_REF ? 1 + 8 + SHARED_DATA_REF_BYTES : 0;
      if (bytes == 0 || at + bytes > addr + size) {
        return problem(P_BAD_KEY, s, objectid, offset, refType);
      }
      at += bytes;
    }
    return P_NONE;
  }
  // Skinny metadata: the key's offset is the block's level; inline TREE_BLOCK_REFs follow,
  // their roots rising, then (an adopted image's) inline SHARED_BLOCK_REFs, parents rising.
  assert(type == METADATA_ITEM, "tree checker: an extent item of another type");
  if (size < EXTENT_ITEM_BYTES || (size - EXTENT_ITEM_BYTES) % INLINE_REF_BYTES != 0) {
    return exact(size, EXTENT_ITEM_BYTES, s);
  }
  if (offset > MAX_LEVEL || (objectid & (SECTOR_BYTES - 1)) != 0) {
    return problem(P_BAD_KEY, s, 0, 0, 0);
  }
  let last: u64 = 0, lastType: u32 = TREE_BLOCK_REF;
  for (let at = addr + EXTENT_ITEM_BYTES; at < addr + size; at += INLINE_REF_BYTES) {
    const root = load<u64>(at + 1), refType = <u32>load<u8>(at);
    if (refType != TREE_BLOCK_REF && (refType != SHARED_BLOCK_REF || !adopting())) {
      return problem(P_BAD_KEY, s, objectid, root, refType);
    }
    if (refType < lastType || (refType == lastType && root <= last)) {
      return problem(P_BAD_KEY, s, objectid, root, refType);
    }
    last = root;
    lastType = refType;
  }
  return P_NONE;
}

/** The block group, chunk and device items (extent, chunk and dev trees). */
function checkChunkItem(
  type: u32, objectid: u64, offset: u64, addr: usize, size: u32, s: u32,
): u32 {
  if (type == BLOCK_GROUP_ITEM) {
    if (size != BLOCK_GROUP_ITEM_BYTES) return exact(size, BLOCK_GROUP_ITEM_BYTES, s);
    const good = (objectid & (SECTOR_BYTES - 1)) == 0 && offset > 0
      && (offset & (SECTOR_BYTES - 1)) == 0
      && load<u64>(addr + BG_USED) <= offset;
    return good ? P_NONE : problem(P_BAD_KEY, s, objectid, offset, 0);
  }
  if (type == DEV_EXTENT) return exact(size, DEV_EXTENT_BYTES, s);
  if (type == DEV_ITEM) return exact(size, DEV_ITEM_BYTES, s);
  if (type == CHUNK_ITEM) {
    if (size < CHUNK_ITEM_BYTES + CHUNK_STRIPE_BYTES) {
      return exact(size, CHUNK_ITEM_BYTES + CHUNK_STRIPE_BYTES, s);
    }
    const stripes = <u32>load<u16>(addr + CK_NUM_STRIPES);
    if (stripes == 0 || stripes > 2) return problem(P_BAD_KEY, s, objectid, offset, stripes);
    return exact(size, CHUNK_ITEM_BYTES + stripes * CHUNK_STRIPE_BYTES, s);
  }
  // The items of the trees an adopted image keeps (or the adoption drops): pmcow reads none
  // of them, but walks and frees their blocks.
  if (ctxOwner == FREE_SPACE_TREE_ID && type >= FREE_SPACE_INFO && type <= FREE_SPACE_BITMAP) {
    return P_NONE;
  }
  if (ctxOwner == UUID_TREE_ID && (type == UUID_KEY_SUBVOL || type == UUID_KEY_RECEIVED_SUBVOL)) {
    return size > 0 && size % 8 == 0 ? P_NONE : problem(P_ITEM_SIZE, s, size, 8, 0);
  }
  return problem(P_UNKNOWN_TYPE, s, type, 0, 0);
}

function checkInode(addr: usize, size: u32, s: u32): u32 {
  // an item slot beyond the leaf
  if (CHECKS) assert(s < (ctxNodeBytes - NODE_HEADER_BYTES) / LEAF_ITEM_BYTES);
  if (size != INODE_ITEM_BYTES) return exact(size, INODE_ITEM_BYTES, s);
  // One of POSIX's seven file types (btrfs's check_inode_item refuses any other S_IFMT
  // value, in every image: so does this, adopting or not); any permission bits.
  const mode = load<u32>(addr + INODE_MODE);
  const kind = mode & S_IFMT;
  const known = kind == S_IFREG || kind == S_IFDIR || kind == S_IFLNK || kind == S_IFCHR
    || kind == S_IFBLK || kind == S_IFIFO || kind == S_IFSOCK;
  if (!known) return problem(P_INODE_MODE, s, mode, 0, 0);
  if (load<u64>(addr + INODE_SIZE) > MAX_FILE_BYTES) {
    return problem(P_INODE_SIZE, s, load<u64>(addr + INODE_SIZE), 0, 0);
  }
  if ((load<u64>(addr + INODE_FLAGS) & ~ALL_INODE_FLAGS) != 0) {
    return problem(P_INODE_FLAGS, s, load<u64>(addr + INODE_FLAGS), 0, 0);
  }
  return P_NONE;
}

function checkFileExtent(fileOffset: u64, addr: usize, size: u32, s: u32): u32 {
  // an item slot beyond the leaf
  if (CHECKS) assert(s < (ctxNodeBytes - NODE_HEADER_BYTES) / LEAF_ITEM_BYTES);
  if (size >= FILE_EXTENT_INLINE_BYTES && <u32>load<u8>(addr + FE_TYPE) == EXTENT_TYPE_INLINE) {
    // btrfs's inline extent: at offset 0, its bytes in the item (btrfs's check_extent_data_item).
    // A symlink's target; an adopted image's file data until the adoption moves it (a
    // compressed one, only while adopting: the adoption refuses it by name).
    const ram = load<u64>(addr + FE_RAM_BYTES), stored = <u64>(size - FILE_EXTENT_INLINE_BYTES);
    const compressed = load<u8>(addr + FE_COMPRESSION) != 0;
    if (fileOffset != 0 || ram == 0 || ram > SECTOR_BYTES
        || (compressed ? !adopting() : stored != ram)) {
      return problem(P_EXTENT_MAPS, s, fileOffset, ram, stored);
    }
    return P_NONE;
  }
  if (size != FILE_EXTENT_BYTES) return exact(size, FILE_EXTENT_BYTES, s);
  const type = <u32>load<u8>(addr + FE_TYPE);
  const disk = load<u64>(addr + FE_DISK_BYTENR), diskBytes = load<u64>(addr + FE_DISK_BYTES);
  const offset = load<u64>(addr + FE_OFFSET), bytes = load<u64>(addr + FE_BYTES);
  const sectorMask: u64 = SECTOR_BYTES - 1;
  if (type != EXTENT_TYPE_REG && type != EXTENT_TYPE_PREALLOC) {
    return problem(P_EXTENT_TYPE, s, type, 0, 0);
  }
  if ((fileOffset & sectorMask) != 0 || fileOffset > MAX_FILE_BYTES) {
    return problem(P_FILE_OFFSET, s, fileOffset, 0, 0);
  }
  if (disk < SYSTEM_AREA_BYTES || (disk & sectorMask) != 0 || diskBytes == 0
    || (diskBytes & sectorMask) != 0
    || diskBytes > BTRFS_MAX_EXTENT_BYTES || disk > ctxTotalBytes
      || disk + diskBytes > ctxTotalBytes) {
    return problem(P_EXTENT_OUTSIDE, s, disk, diskBytes, 0);
  }
  if (bytes == 0 || (bytes & sectorMask) != 0 || (offset & sectorMask) != 0 || offset > diskBytes
      || bytes > diskBytes || offset + bytes > diskBytes) {
    return problem(P_EXTENT_MAPS, s, offset, bytes, diskBytes);
  }
  if (fileOffset + bytes > MAX_FILE_BYTES) return problem(P_MAPS_BEYOND, s, 0, 0, 0);
  return P_NONE;
}

function checkRootItem(objectid: u64, addr: usize, size: u32, s: u32): u32 {
  // an item slot beyond the leaf
  if (CHECKS) assert(s < (ctxNodeBytes - NODE_HEADER_BYTES) / LEAF_ITEM_BYTES);
  if (size != ROOT_ITEM_BYTES) return exact(size, ROOT_ITEM_BYTES, s);
  const level = <u32>load<u8>(addr + RI_LEVEL);
  if (level > MAX_LEVEL) return problem(P_ROOT_LEVEL, s, level, 0, 0);
  const bytenr = load<u64>(addr + RI_BYTENR);
  if (!validBlockPointer(bytenr, ctxTotalBytes, ctxBlockBytes)) {
    return problem(P_ROOT_OUTSIDE, s, bytenr, 0, 0);
  }
  return knownTree(objectid) ? P_NONE : problem(P_TREE_ID, s, objectid, 0, 0);
}
