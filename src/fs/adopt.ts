// Adoption: the first mount of an image pmcow did not write (mkfs.btrfs's, Linux's) turns
// the btrfs structures pmcow's engine does not keep into the equivalent ones it does, in
// one transaction the mount commits. Each form before and after is valid btrfs; only the
// layout of the same facts changes, as btrfs itself moves between them:
//
// - the free space tree (compat_ro FREE_SPACE_TREE) is dropped and its flags cleared, as
//   Linux does when mounted with clear_cache and no free space tree (pmcow keeps free space
//   in memory, rebuilt from the extent tree at every mount);
// - inline back references of data extents (EXTENT_DATA_REF, SHARED_DATA_REF) and shared
//   tree block references (SHARED_BLOCK_REF) become keyed items, as btrfs keys them when
//   an extent item has no room left for them;
// - checksum items are cut at data extent boundaries, one item per extent (btrfs merges
//   neighbours' sums into one item; its lookups take either);
// - inline file extents move to a data extent of their own (what btrfs writes for them
//   with max_inline=0), so every file's bytes are on the device where DAX maps them;
// - a data chunk whose stripe is not its logical range (mkfs.btrfs's second data chunk) is
//   emptied, its files' data written again in chunks mapped 1:1 (a relocation, as btrfs
//   balance does), and removed: DAX maps a data extent's bytenr as its device byte.
//
// What pmcow cannot hold is refused by name (EOPNOTSUPP) before anything changes:
// compressed or encrypted extents, checksums covering part of an extent, an extent whose
// checksums do not fit one item.
import { FsError } from '../errors.js';
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { ROOT_POINTER } from './ctree.js';
import {
  key, EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF, SHARED_DATA_REF, SHARED_BLOCK_REF,
  TREE_BLOCK_REF, EXTENT_CSUM,
  EXTENT_CSUM_OBJECTID, EXTENT_DATA, ROOT_ITEM, EXTENT_ITEM_BYTES, SECTOR_BYTES,
  MAX_KEY_VALUE, LAST_OBJECTID,
  ORPHAN_OBJECTID, type Key,
} from './format.js';
import {
  EXTENT_DATA_REF_BYTES, EXTENT_DATA_REF_PROBES, INLINE_REF_BYTES, FE_TYPE,
  FE_COMPRESSION, FE_RAM_BYTES,
  FILE_EXTENT_INLINE_BYTES, EXTENT_TYPE_INLINE, NODE_HEADER_BYTES, LEAF_ITEM_BYTES,
  FILE_EXTENT_BYTES, FE_DISK_BYTENR,
  FE_OFFSET, FE_BYTES, EXTENT_TYPE_REG, INODE_ITEM, INODE_FLAGS, INODE_FLAG_NODATACOW, INODE_MODE,
  S_IFLNK, INODE_EXTREF,
  FE_ENCRYPTION, FE_OTHER_ENCODING, S_IFMT, FREE_SPACE_TREE_ID,
} from '../core/abi.js';

/** What an adoption changed (FileSystem.adoption after a mount that adopted). */
export interface AdoptionReport {
  freeSpaceTreeDropped: boolean;
  /** Inline data back references made keyed items. */
  dataRefsKeyed: number;
  sharedBlockRefsKeyed: number;
  /** Checksum items written (one per data extent), when the image's were cut otherwise. */
  csumItemsRewritten: number;
  /** Inline file extents moved to data extents. */
  inlineExtentsMoved: number;
  /** File extent items whose data was written again out of data chunks not mapped 1:1. */
  dataExtentsMoved: number;
  /** Those chunks, emptied and removed. */
  mappedDataChunksRemoved: number;
}

const ALL: readonly [Key, Key] = [key(0, 0, 0), key(LAST_OBJECTID, 255, MAX_KEY_VALUE)];

/** An inline file extent to move: its file and bytes (the mount writes them as an extent). */
interface InlineExtent { sv: Subvolume; ino: number; data: Uint8Array }

/**
 * Refuse what pmcow cannot hold, and find the inline extents, in every subvolume: nothing
 * changes yet.
 */
export function surveyFileExtents(k: Kernel, subvolumes: Subvolume[]): InlineExtent[] {
  const m = k.m;
  const inline: InlineExtent[] = [];
  for (const sv of subvolumes) {
    // Items come in key order: an inode's INODE_ITEM before its EXTENT_DATA items.
    let symlink = -1;
    sv.tree.walkRange(key(0, 0, 0), key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE),
      (kk, addr, size) => {
      const where = `subvolume ${sv.id}: inode ${kk.objectid}`;
      if (kk.type === INODE_EXTREF) {
        throw new FsError('EOPNOTSUPP', `${where}: extended inode refs (pmcow writes none)`);
      }
      if (kk.type === INODE_ITEM) {
        // Every kind stays as it is (devices, fifos and sockets too: pmcow keeps them as
        // btrfs does).
        symlink = (m.u32(addr + INODE_MODE) & S_IFMT) === S_IFLNK ? kk.objectid : -1;
      }
      if (kk.type !== EXTENT_DATA) return true;
      const encoded = m.u8At(addr + FE_COMPRESSION) !== 0 || m.u8At(addr + FE_ENCRYPTION) !== 0
        || m.u16(addr + FE_OTHER_ENCODING) !== 0;
      if (encoded) {
        throw new FsError('EOPNOTSUPP',
          `${where}: a compressed or encoded extent at ${kk.offset} (pmcow stores data as it is)`);
      }
      // A symlink's target stays inline (pmcow keeps it as btrfs does); the tree checker
      // checked the item's shape.
      if (kk.objectid === symlink) return true;
      if (m.u8At(addr + FE_TYPE) === EXTENT_TYPE_INLINE) {
        const bytes = m.u64(addr + FE_RAM_BYTES);
        inline.push({ sv, ino: kk.objectid,
          data: m.u8.slice(addr + FILE_EXTENT_INLINE_BYTES,
            addr + FILE_EXTENT_INLINE_BYTES + bytes) });
        if (size !== FILE_EXTENT_INLINE_BYTES + bytes) {
          throw new FsError('EUCLEAN', `${where}: an inline extent of ${size} bytes for ${bytes}`);
        }
      }
      return true;
    });
  }
  return inline;
}

/**
 * Drop the free space tree: its ROOT_ITEM goes, its blocks are freed at the commit. Every
 * block is read first (the commit's drop reads them again, and must find them sound): a
 * damaged one fails the mount here, before anything changes.
 */
export function dropFreeSpaceTree(k: Kernel): boolean {
  const kept = k.keptTrees.get(FREE_SPACE_TREE_ID);
  if (!kept) return false;
  const tree = k.newTree(FREE_SPACE_TREE_ID, kept.bytenr, kept.level);
  tree.walkRange(ALL[0], ALL[1], () => true);
  k.rootTree.delete(key(FREE_SPACE_TREE_ID, ROOT_ITEM, 0));
  k.pointerRemoved(ROOT_POINTER, kept.bytenr, tree, kept.level);
  k.releaseTree(tree);
  k.keptTrees.delete(FREE_SPACE_TREE_ID);
  return true;
}

/**
 * pmcow's key offset for the EXTENT_DATA_REF of (root, ino, offset): the core's hash (btrfs's,
 * below 2^53), then the first free key of its window, as the core's findDataRef takes it.
 */
function dataRefKeyOffset(k: Kernel, extent: number, root: number, ino: number,
  offset: bigint): number {
  const h = offset <= BigInt(MAX_KEY_VALUE) ? k.device.core.fs_data_ref_hash(root, ino,
    Number(offset)) : -1;
  if (h < 0) {
    throw new FsError('EOPNOTSUPP',
      `data extent ${extent}: a back reference (root ${root}, inode ${ino}, offset ${offset})`
        + ` past 2^53`);
  }
  for (let probe = h; probe < h + EXTENT_DATA_REF_PROBES; probe++) {
    if (!k.extentTree.lookup(key(extent, EXTENT_DATA_REF, probe))) return probe;
  }
  throw new FsError('EOPNOTSUPP',
    `data extent ${extent}: more colliding back references than pmcow's window of`
      + ` ${EXTENT_DATA_REF_PROBES}`);
}

/** Inline references of data extents and shared tree blocks to keyed items; counts of each. */
export function keyInlineRefs(k: Kernel): { data: number; sharedBlocks: number } {
  const m = k.m;
  const items: Array<{ k: Key; body: Uint8Array }> = [];
  k.extentTree.walkRange(ALL[0], ALL[1], (kk, addr, size) => {
    if (kk.type === EXTENT_ITEM && size > EXTENT_ITEM_BYTES) {
      items.push({ k: kk, body: m.u8.slice(addr, addr + size) });
    }
    if (kk.type === METADATA_ITEM && size > EXTENT_ITEM_BYTES
      && m.u8At(addr + size - INLINE_REF_BYTES) === SHARED_BLOCK_REF) {
      items.push({ k: kk, body: m.u8.slice(addr, addr + size) });
    }
    return true;
  });
  let data = 0, sharedBlocks = 0;
  for (const { k: kk, body } of items) {
    const dv = new DataView(body.buffer);
    const keep: number[] = []; // offsets of inline refs that stay (TREE_BLOCK_REFs)
    for (let at = EXTENT_ITEM_BYTES; at < body.length;) {
      const type = body[at]!;
      if (type === EXTENT_DATA_REF) {
        const root = Number(dv.getBigUint64(at + 1, true)),
          ino = Number(dv.getBigUint64(at + 9, true));
        const offset = dv.getBigUint64(at + 17, true);
        const ref = body.slice(at + 1, at + 1 + EXTENT_DATA_REF_BYTES);
        k.extentTree.insert(key(kk.objectid, EXTENT_DATA_REF,
          dataRefKeyOffset(k, kk.objectid, root, ino, offset)), ref);
        data++;
        at += 1 + EXTENT_DATA_REF_BYTES;
      } else if (type === SHARED_DATA_REF) {
        k.extentTree.insert(key(kk.objectid, SHARED_DATA_REF,
          Number(dv.getBigUint64(at + 1, true))), body.slice(at + 9, at + 13));
        data++;
        at += 13;
      } else if (type === SHARED_BLOCK_REF) {
        k.extentTree.insert(key(kk.objectid, SHARED_BLOCK_REF,
          Number(dv.getBigUint64(at + 1, true))), new Uint8Array(0));
        sharedBlocks++;
        at += INLINE_REF_BYTES;
      } else if (type === TREE_BLOCK_REF) {
        keep.push(at);
        at += INLINE_REF_BYTES;
      } else {
        throw new FsError('EUCLEAN',
          `extent item ${kk.objectid}: an inline reference of type ${type}`);
      }
    }
    const item = new Uint8Array(EXTENT_ITEM_BYTES + keep.length * INLINE_REF_BYTES);
    item.set(body.subarray(0, EXTENT_ITEM_BYTES));
    keep.forEach((at, i) => item.set(body.subarray(at, at + INLINE_REF_BYTES),
      EXTENT_ITEM_BYTES + i * INLINE_REF_BYTES));
    k.extentTree.delete(kk);
    k.extentTree.insert(kk, item);
  }
  return { data, sharedBlocks };
}

/**
 * Checksum items cut at data extent boundaries: one item per extent, 4 bytes a sector.
 * 0 when the image's items were already so; else the items written.
 */
export function cutCsumsByExtent(k: Kernel): number {
  const m = k.m;
  const extents: Array<[number, number]> = [];
  k.extentTree.walkRange(ALL[0], ALL[1], (kk) => {
    if (kk.type === EXTENT_ITEM) extents.push([kk.objectid, kk.offset]);
    return true;
  });
  const items: Array<{ start: number; sums: Uint8Array }> = [];
  k.csumTree.walkRange(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, 0),
    key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, MAX_KEY_VALUE), (kk, addr, size) => {
    if (kk.type === EXTENT_CSUM) {
      items.push({ start: kk.offset, sums: m.u8.slice(addr, addr + size) });
    }
    return true;
  });
  const byExtent = new Set(extents.map(([b, n]) => `${b}:${n * 4 / SECTOR_BYTES}`));
  if (items.every((it) => byExtent.has(`${it.start}:${it.sums.length}`))) return 0;
  // Each item's sums by sector; every sector in exactly one extent.
  const sumOf = new Map<number, Uint8Array>();
  for (const it of items) {
    for (let i = 0; i < it.sums.length / 4; i++) {
      sumOf.set(it.start + i * SECTOR_BYTES, it.sums.subarray(i * 4, i * 4 + 4));
    }
  }
  const maxItemBytes = k.nodeBytes - NODE_HEADER_BYTES - LEAF_ITEM_BYTES;
  const out: Array<{ start: number; sums: Uint8Array }> = [];
  let covered = 0;
  for (const [start, bytes] of extents) {
    const sectors = bytes / SECTOR_BYTES;
    let have = 0;
    for (let i = 0; i < sectors; i++) if (sumOf.has(start + i * SECTOR_BYTES)) have++;
    if (have === 0) continue;
    if (have !== sectors) {
      throw new FsError('EOPNOTSUPP',
        `data extent ${start}: checksums for ${have} of its ${sectors} sectors (pmcow keeps all`
          + ` or none)`);
    }
    if (sectors * 4 > maxItemBytes) {
      throw new FsError('EOPNOTSUPP',
        `data extent ${start}: ${sectors} checksums do not fit one item of a ${k.nodeBytes}-byte`
          + ` leaf (pmcow keeps one per extent)`);
    }
    const sums = new Uint8Array(sectors * 4);
    for (let i = 0; i < sectors; i++) sums.set(sumOf.get(start + i * SECTOR_BYTES)!, i * 4);
    out.push({ start, sums });
    covered += sectors;
  }
  if (covered !== sumOf.size) {
    throw new FsError('EUCLEAN',
      `checksum items: ${sumOf.size - covered} sums lie over no data extent`);
  }
  for (const it of items) k.csumTree.delete(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, it.start));
  for (const it of out) {
    k.csumTree.insert(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, it.start), it.sums);
  }
  return out.length;
}

/** Delete an inline extent's item (the mount then writes its bytes to a data extent). */
export function deleteInlineExtent(x: InlineExtent): void {
  x.sv.tree.delete(key(x.ino, EXTENT_DATA, 0));
}

/**
 * File data to write again: a file extent item's bytes, read where its chunk's stripe holds
 * them.
 */
interface MovedData { sv: Subvolume; ino: number; offset: number; data: Uint8Array }

/**
 * The data of every file extent item in a data chunk not mapped 1:1 (mkfs.btrfs places its
 * second data chunk's bytes elsewhere on the device; DAX maps a data extent's bytenr as its
 * device byte): read through the chunk's stripe, each sector checked against its checksum
 * (after cutCsumsByExtent: one item per extent). The mount writes them again (new extents
 * in chunks mapped 1:1); the emptied chunks then go (ChunkMap.removeMappedData).
 * Refused by name: a nodatacow file there (it would be written in place) and a
 * preallocated extent there (a write would turn it into data).
 */
export function readMappedData(k: Kernel, subvolumes: Subvolume[]): MovedData[] {
  const ch = k.chunks, m = k.m;
  const mapped: Array<{ start: number; end: number; stripe: number }> = [];
  for (let c = 0; c < ch.count; c++) {
    if (ch.mappedData(c)) {
      mapped.push({ start: ch.start(c), end: ch.start(c) + ch.length(c),
        stripe: ch.firstStripe(c) });
    }
  }
  if (!mapped.length) return [];
  const out: MovedData[] = [];
  for (const sv of subvolumes) {
    sv.tree.walkRange(key(0, 0, 0), key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE),
      (kk, addr, size) => {
      if (kk.type !== EXTENT_DATA || size !== FILE_EXTENT_BYTES) return true;
      const disk = m.u64(addr + FE_DISK_BYTENR);
      const chunk = mapped.find((c) => disk >= c.start && disk < c.end);
      if (!chunk) return true;
      const where = `subvolume ${sv.id}: inode ${kk.objectid} at ${kk.offset}`;
      if (m.u8At(addr + FE_TYPE) !== EXTENT_TYPE_REG) {
        throw new FsError('EOPNOTSUPP',
          `${where}: a preallocated extent in data chunk ${chunk.start}, which is not mapped 1:1`);
      }
      const offset = m.u64(addr + FE_OFFSET), bytes = m.u64(addr + FE_BYTES);
      out.push({ sv, ino: kk.objectid, offset: kk.offset,
        data: readThroughStripe(k, chunk, disk, offset, bytes, where) });
      return true;
    });
  }
  for (const x of out) {
    const flags = x.sv.tree.get(key(x.ino, INODE_ITEM, 0));
    if (flags && (new DataView(flags.buffer, flags.byteOffset).getBigUint64(INODE_FLAGS, true)
      & BigInt(INODE_FLAG_NODATACOW)) !== 0n) {
      throw new FsError('EOPNOTSUPP',
        `subvolume ${x.sv.id}: inode ${x.ino}: a nodatacow file in a data chunk not mapped 1:1`);
    }
  }
  return out;
}

/**
 * `bytes` of data extent `disk` from `offset`, read at the chunk's stripe, each sector
 * against its checksum (when the extent has them).
 */
function readThroughStripe(k: Kernel, chunk: {
  start: number;
  stripe: number;
}, disk: number, offset: number, bytes: number, where: string): Uint8Array {
  const at = chunk.stripe + (disk - chunk.start) + offset;
  const data = k.device.readMedia(at, bytes);
  const sums = k.csumTree.get(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, disk));
  if (!sums) return data;
  const dv = new DataView(sums.buffer, sums.byteOffset, sums.byteLength);
  for (let s = 0; s < bytes / SECTOR_BYTES; s++) {
    const index = (offset / SECTOR_BYTES) + s;
    if (index * 4 + 4 > sums.length) {
      throw new FsError('EUCLEAN',
        `${where}: extent ${disk} has checksums for ${sums.length / 4} sectors`);
    }
    if (k.device.crc32c(at + s * SECTOR_BYTES, SECTOR_BYTES) !== dv.getUint32(index * 4, true)) {
      throw new FsError('EIO',
        `${where}: data checksum mismatch at device byte ${at + s * SECTOR_BYTES}`);
    }
  }
  return data;
}
