// The tree checker (btrfs's tree-checker.c): a node that passed its checksum is still
// checked field by field before any code trusts it, once, when it is first read. A
// corrupted image whose checksums were recomputed (a fuzzer, a bug that wrote garbage
// and checksummed it) must give a clear error, never an out-of-bounds read, a loop, a
// huge allocation or a WebAssembly trap. What a node can only be checked against its
// parent (level, generation, key range) is checked by the tree walks (ctree.ts).
import type { FsMemory } from './memory.js';
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_NRITEMS, NODE_LEVEL, NODE_GENERATION,
  NODE_OWNER, MAX_LEVEL, MAX_KEY_VALUE, SECTOR_BYTES, SYSTEM_AREA_BYTES, MAX_EXTENT_BYTES,
  MAX_FILE_BYTES, ROOT_TREE_ID, EXTENT_TREE_ID, FS_TREE_ID, CSUM_TREE_ID, FIRST_SUBVOLUME_ID,
  INODE_ITEM, INODE_REF, ORPHAN_ITEM, DIR_ITEM, DIR_INDEX, EXTENT_DATA, EXTENT_CSUM, ROOT_ITEM,
  ROOT_BACKREF, ROOT_REF, EXTENT_ITEM, METADATA_ITEM, SHARED_DATA_REF, INODE_ITEM_BYTES,
  FILE_EXTENT_BYTES, ROOT_ITEM_BYTES, EXTENT_ITEM_BYTES, SHARED_DATA_REF_BYTES, INODE_REF_HEADER_BYTES,
  DIR_ENTRY_HEADER_BYTES, ROOT_REF_HEADER_BYTES, NAME_MAX_BYTES, INODE_MODE, INODE_SIZE, INODE_FLAGS,
  MODE_FILE, MODE_DIR, FE_TYPE, FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES,
  EXTENT_TYPE_REG, EXTENT_TYPE_PREALLOC, RI_BYTENR, RI_LEVEL, DIR_KIND_FILE, DIR_KIND_SUBVOLUME,
  INODE_FLAG_NODATASUM, INODE_FLAG_NODATACOW, INODE_FLAG_IMMUTABLE, keyText, type Key,
} from './format.js';

/** What a node is checked against: the file system's geometry and last commit. */
export interface CheckContext {
  nodeBytes: number;
  totalBytes: number;
  /** Bytes a tree block occupies on the device (nodeBytes times the metadata copies). */
  metadataBlockBytes: number;
  /** The last committed generation: no clean node can be newer. */
  generation: number;
}

const ALL_INODE_FLAGS = INODE_FLAG_NODATASUM | INODE_FLAG_NODATACOW | INODE_FLAG_IMMUTABLE;

/** Is `owner` a tree id this file system creates? */
function knownTree(owner: number): boolean {
  return owner === ROOT_TREE_ID || owner === EXTENT_TREE_ID || owner === FS_TREE_ID || owner === CSUM_TREE_ID
    || (owner >= FIRST_SUBVOLUME_ID && owner <= MAX_KEY_VALUE);
}

/** A tree block pointer a node or item may hold: aligned, inside the allocatable space. */
export function validBlockPointer(bytenr: number, ctx: CheckContext): boolean {
  return Number.isSafeInteger(bytenr) && bytenr >= SYSTEM_AREA_BYTES && bytenr % SECTOR_BYTES === 0
    && bytenr + ctx.metadataBlockBytes <= ctx.totalBytes;
}

/**
 * Check one node at `addr` (its checksum and self bytenr are checked by the caller).
 * Returns a description of the first problem, or null when the node is sound.
 */
export function checkNode(m: FsMemory, addr: number, ctx: CheckContext): string | null {
  const nodeBytes = ctx.nodeBytes;
  const level = m.u8At(addr + NODE_LEVEL);
  const nritems = m.u32(addr + NODE_NRITEMS);
  const generation = m.u64(addr + NODE_GENERATION);
  const owner = m.u64(addr + NODE_OWNER);
  if (level > MAX_LEVEL) return `level ${level} above the maximum ${MAX_LEVEL}`;
  if (generation === 0 || generation > ctx.generation) return `generation ${generation} outside 1..${ctx.generation}`;
  if (!knownTree(owner)) return `owner ${owner} is not a tree id`;
  const stride = level === 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  const capacity = Math.floor((nodeBytes - NODE_HEADER_BYTES) / stride);
  if (nritems > capacity) return `nritems ${nritems} above the ${capacity} that fit`;
  if (level > 0 && nritems === 0) return 'internal node without key pointers';
  const first = addr + NODE_HEADER_BYTES;
  for (let s = 0; s < nritems; s++) {
    const at = first + s * stride;
    if (m.u64(at) > MAX_KEY_VALUE || m.u64(at + 9) > MAX_KEY_VALUE) return `slot ${s}: key ${keyText(m.key(at))} above 2^53`;
    if (s > 0 && m.compareKeysAt(at - stride, at) >= 0) return `keys out of order at slot ${s}: ${keyText(m.key(at - stride))} then ${keyText(m.key(at))}`;
    if (level > 0) {
      const child = m.u64(at + 17);
      const childGeneration = m.u64(at + 25);
      if (!validBlockPointer(child, ctx)) return `slot ${s}: child pointer ${child} is outside the device`;
      if (childGeneration === 0 || childGeneration > generation) return `slot ${s}: child generation ${childGeneration} outside 1..${generation}`;
      continue;
    }
    // Leaf: item data packed from the end of the node, item 0's last, no gaps or overlaps.
    const dataOffset = m.u32(at + 17);
    const dataSize = m.u32(at + 21);
    const end = s === 0 ? nodeBytes : m.u32(at - stride + 17);
    if (dataOffset + dataSize !== end) return `slot ${s}: data [${dataOffset}, +${dataSize}) does not end at ${end}`;
    if (dataOffset < NODE_HEADER_BYTES + nritems * LEAF_ITEM_BYTES) return `slot ${s}: data at ${dataOffset} overlaps the item headers`;
    const problem = checkItem(m, m.key(at), addr + dataOffset, dataSize, ctx);
    if (problem) return `slot ${s} ${keyText(m.key(at))}: ${problem}`;
  }
  return null;
}

/** Parse a run of name records (header bytes, u16 name length at `lengthAt`) covering exactly `size` bytes. */
function namesCover(m: FsMemory, addr: number, size: number, header: number, lengthAt: number, each?: (at: number) => string | null): string | null {
  if (size === 0) return 'no names';
  for (let at = 0; at < size;) {
    if (at + header > size) return `truncated record at ${at}`;
    const length = m.u16(addr + at + lengthAt);
    if (length === 0 || length > NAME_MAX_BYTES) return `name length ${length}`;
    if (each) { const p = each(addr + at); if (p) return p; }
    at += header + length;
    if (at > size) return `name runs past the item`;
  }
  return null;
}

function exact(size: number, expected: number): string | null {
  return size === expected ? null : `${size} bytes, expected ${expected}`;
}

/** Item bodies the file system decodes: their sizes and the fields later code trusts. */
function checkItem(m: FsMemory, k: Key, addr: number, size: number, ctx: CheckContext): string | null {
  switch (k.type) {
    case INODE_ITEM: {
      if (size !== INODE_ITEM_BYTES) return exact(size, INODE_ITEM_BYTES);
      const mode = m.u32(addr + INODE_MODE);
      if (mode !== MODE_FILE && mode !== MODE_DIR) return `mode ${mode}`;
      if (m.u64(addr + INODE_SIZE) > MAX_FILE_BYTES) return `size ${m.u64(addr + INODE_SIZE)} above 2^50`;
      if (m.u64(addr + INODE_FLAGS) > ALL_INODE_FLAGS) return `flags ${m.u64(addr + INODE_FLAGS)}`;
      return null;
    }
    case INODE_REF: return namesCover(m, addr, size, INODE_REF_HEADER_BYTES, 8);
    case ORPHAN_ITEM: return exact(size, 0);
    case DIR_ITEM:
    case DIR_INDEX:
      return namesCover(m, addr, size, DIR_ENTRY_HEADER_BYTES, 18, (at) => {
        const kind = m.u8At(at + 17);
        return kind < DIR_KIND_FILE || kind > DIR_KIND_SUBVOLUME ? `entry kind ${kind}` : null;
      });
    case EXTENT_DATA: {
      if (size !== FILE_EXTENT_BYTES) return exact(size, FILE_EXTENT_BYTES);
      const type = m.u8At(addr + FE_TYPE);
      const disk = m.u64(addr + FE_DISK_BYTENR), diskBytes = m.u64(addr + FE_DISK_BYTES);
      const offset = m.u64(addr + FE_OFFSET), bytes = m.u64(addr + FE_BYTES);
      if (type !== EXTENT_TYPE_REG && type !== EXTENT_TYPE_PREALLOC) return `extent type ${type}`;
      if (k.offset % SECTOR_BYTES !== 0 || k.offset > MAX_FILE_BYTES) return `file offset ${k.offset}`;
      if (disk < SYSTEM_AREA_BYTES || disk % SECTOR_BYTES !== 0 || diskBytes === 0 || diskBytes % SECTOR_BYTES !== 0
        || diskBytes > MAX_EXTENT_BYTES || disk + diskBytes > ctx.totalBytes) return `extent ${disk}+${diskBytes} outside the device`;
      if (bytes === 0 || bytes % SECTOR_BYTES !== 0 || offset % SECTOR_BYTES !== 0 || offset + bytes > diskBytes) return `maps ${offset}+${bytes} of a ${diskBytes}-byte extent`;
      if (k.offset + bytes > MAX_FILE_BYTES) return 'maps beyond 2^50';
      return null;
    }
    case EXTENT_CSUM:
      if (size === 0 || size % 4 !== 0 || size > (MAX_EXTENT_BYTES / SECTOR_BYTES) * 4) return `${size} bytes of checksums`;
      return k.offset === 0 && k.objectid % SECTOR_BYTES === 0 ? null : 'bad key';
    case ROOT_ITEM: {
      if (size !== ROOT_ITEM_BYTES) return exact(size, ROOT_ITEM_BYTES);
      if (m.u8At(addr + RI_LEVEL) > MAX_LEVEL) return `root level ${m.u8At(addr + RI_LEVEL)}`;
      if (!validBlockPointer(m.u64(addr + RI_BYTENR), ctx)) return `root ${m.u64(addr + RI_BYTENR)} outside the device`;
      return knownTree(k.objectid) ? null : `tree id ${k.objectid}`;
    }
    case ROOT_BACKREF:
    case ROOT_REF: {
      if (size < ROOT_REF_HEADER_BYTES) return `${size} bytes`;
      const length = m.u16(addr + 16);
      return length === 0 || length > NAME_MAX_BYTES ? `name length ${length}` : exact(size, ROOT_REF_HEADER_BYTES + length);
    }
    case EXTENT_ITEM:
      if (size !== EXTENT_ITEM_BYTES) return exact(size, EXTENT_ITEM_BYTES);
      return k.objectid % SECTOR_BYTES === 0 && k.offset > 0 && k.offset % SECTOR_BYTES === 0 && k.offset <= MAX_EXTENT_BYTES
        ? null : `extent ${k.objectid}+${k.offset}`;
    case METADATA_ITEM:
      if (size !== EXTENT_ITEM_BYTES) return exact(size, EXTENT_ITEM_BYTES);
      return k.offset === 0 && k.objectid % SECTOR_BYTES === 0 ? null : 'bad key';
    case SHARED_DATA_REF:
      if (size !== SHARED_DATA_REF_BYTES) return exact(size, SHARED_DATA_REF_BYTES);
      return k.offset % SECTOR_BYTES === 0 ? null : `leaf ${k.offset} not aligned`;
    default:
      return `unknown item type ${k.type}`;
  }
}
