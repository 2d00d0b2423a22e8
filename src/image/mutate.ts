// Mutations of a file-system image on a pmem device, for image fuzzing: bit flips,
// random bytes, zeroed and duplicated blocks, superblock rewrites, node corruption with
// the checksum recomputed (to get past the checksum to the structural checks), and
// media errors (poisoned lines). Truncation needs a smaller device: see fuzz-images.ts.
// Every mutation writes through the device's visible bytes (what mount reads) and says
// which regions of the image it touched.
import type { PmemDevice } from '../pmem/device.js';
import { LINE_BYTES } from '../pmem/device.js';
import type { FileSystem } from '../filesystem.js';
import { Rng } from '../random.js';
import { FsMemory } from '../fs/memory.js';
import {
  key, EXTENT_ITEM, METADATA_ITEM, MAX_KEY_VALUE, SECTOR_BYTES, SUPERBLOCK_BYTES, superblockOffsets,
  SYSTEM_AREA_BYTES, NODE_HEADER_BYTES, NODE_CSUM_START, NODE_NRITEMS, NODE_LEVEL, NODE_BYTENR, NODE_GENERATION,
  NODE_OWNER, LEAF_ITEM_BYTES, KEY_PTR_BYTES, SB_GENERATION, SB_ROOT_TREE, SB_SUPER_ROOTS, BK_EXTENT_ROOT,
  BK_CSUM_ROOT, SB_ROOT_LEVEL, BK_EXTENT_ROOT_LEVEL, BK_CSUM_ROOT_LEVEL, SB_NODE_BYTES, SB_SECTOR_BYTES,
  SB_TOTAL_BYTES, SB_PMCOW_METADATA_COPIES, SB_LABEL, SB_MAGIC, SB_CSUM, SB_CSUM_START, SB_BYTENR, SB_FSID,
  SB_INCOMPAT_FLAGS,
} from '../fs/format.js';

/** What a byte of the image holds. */
export type Region = 'superblock' | 'metadata' | 'data' | 'unused';
export const REGIONS: readonly Region[] = ['superblock', 'metadata', 'data', 'unused'];

export type MutationKind =
  | 'bit-flips' | 'random-bytes' | 'zero-block' | 'duplicate-block' | 'superblock-field'
  | 'superblock-slots' | 'node-field' | 'node-pointer' | 'node-item' | 'poison';
export const MUTATION_KINDS: readonly MutationKind[] = [
  'bit-flips', 'random-bytes', 'zero-block', 'duplicate-block', 'superblock-field',
  'superblock-slots', 'node-field', 'node-pointer', 'node-item', 'poison',
];

export interface Mutation {
  kind: MutationKind;
  /** Regions the mutation changed (or poisoned). */
  regions: Set<Region>;
  /** Device ranges [offset, bytes] it stored to or poisoned (what a restore must undo). */
  written: Array<[number, number]>;
  detail: string;
}

/** Where the metadata and data of an image are, taken from its extent tree. */
export interface ImageMap {
  deviceBytes: number;
  nodeBytes: number;
  metadataCopies: number;
  /** Bytes from a dup tree block to its second copy (its chunk's mirror half); 0 for single. */
  /** Tree block bytenrs. */
  treeBlocks: number[];
  /** The device bytes of each tree block's copies (treeBlocks' order). */
  treeBlockCopies: number[][];
  /** Data extents [bytenr, bytes]. */
  dataExtents: Array<[number, number]>;
}

/** Map a mounted, committed file system's image. */
export function mapImage(fs: FileSystem): ImageMap {
  const k = fs.kernel;
  const treeBlocks: number[] = [];
  const dataExtents: Array<[number, number]> = [];
  for (const it of k.extentTree.range(key(0, 0, 0), key(MAX_KEY_VALUE, 255, MAX_KEY_VALUE))) {
    if (it.key.type === METADATA_ITEM) treeBlocks.push(it.key.objectid);
    else if (it.key.type === EXTENT_ITEM) dataExtents.push([it.key.objectid, it.key.offset]);
  }
  const treeBlockCopies = treeBlocks.map((b) => Array.from({ length: k.metadataCopies }, (_, copy) => k.copyBytenr(b, copy)));
  return { deviceBytes: k.totalBytes, nodeBytes: k.nodeBytes, metadataCopies: k.metadataCopies, treeBlocks, treeBlockCopies, dataExtents };
}

/** The region of device byte `at`. */
export function regionOf(map: ImageMap, at: number): Region {
  if (superblockOffsets(map.deviceBytes).some((offset) => at >= offset && at < offset + SUPERBLOCK_BYTES)) return 'superblock';
  if (at < SYSTEM_AREA_BYTES) return 'unused';
  for (const copies of map.treeBlockCopies) for (const b of copies) if (at >= b && at < b + map.nodeBytes) return 'metadata';
  for (const [b, n] of map.dataExtents) if (at >= b && at < b + n) return 'data';
  return 'unused';
}

function regionsOf(map: ImageMap, at: number, length: number, into: Set<Region>): void {
  // Regions are 4 KiB aligned: one probe per sector is exact.
  for (let s = Math.floor(at / SECTOR_BYTES) * SECTOR_BYTES; s < at + length; s += SECTOR_BYTES) into.add(regionOf(map, Math.max(s, at)));
}

/** A target offset: mostly metadata and superblocks, where the structure is. */
function pickTarget(map: ImageMap, rng: Rng, length: number): number {
  const limit = map.deviceBytes - length;
  const roll = rng.below(100);
  if (roll < 50 && map.treeBlocks.length) {
    const copies = rng.pick(map.treeBlockCopies);
    const b = copies[rng.below(map.metadataCopies)]!;
    return Math.min(limit, b + rng.below(map.nodeBytes));
  }
  if (roll < 62) return Math.min(limit, rng.pick(superblockOffsets(map.deviceBytes)) + rng.below(SUPERBLOCK_BYTES));
  if (roll < 80 && map.dataExtents.length) {
    const [b, n] = rng.pick(map.dataExtents);
    return Math.min(limit, b + rng.below(n));
  }
  return rng.below(limit + 1);
}

/** The one way mutations write: the range is recorded for the restore. */
let written: Array<[number, number]> = [];

function storeBytes(dev: PmemDevice, at: number, bytes: Uint8Array): void {
  written.push([at, bytes.length]);
  dev.store(at, bytes);
}

/** Recompute the checksum of the node copy at `at` (so the structural checks see the change). */
export function fixNodeChecksum(dev: PmemDevice, at: number, nodeBytes: number): void {
  const crc = dev.crc32c(at + NODE_CSUM_START, nodeBytes - NODE_CSUM_START);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, crc, true);
  storeBytes(dev, at, b);
}

/** Recompute a superblock slot's checksum. */
export function fixSuperblockChecksum(dev: PmemDevice, slot: number): void {
  const crc = dev.crc32c(slot + SB_CSUM_START, SUPERBLOCK_BYTES - SB_CSUM_START);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, crc, true);
  storeBytes(dev, slot + SB_CSUM, b);
}

/** An edge value for a u64 field: zero, small, just past a limit, huge, or random. */
function edgeValue(rng: Rng, map: ImageMap): number {
  return rng.pick([
    0, 1, 2, 7, 255, 256, 4096, map.nodeBytes, map.deviceBytes, map.deviceBytes - map.nodeBytes,
    SYSTEM_AREA_BYTES, 2 ** 32 - 1, 2 ** 32, 2 ** 50, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 2 ** 11,
    rng.u32(), rng.u32() * 2 ** 20, rng.pick(map.treeBlocks.length ? map.treeBlocks : [0]),
  ]);
}

/** `value` as 8 little-endian bytes (its low 64 bits). */
export function u64Bytes(value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(Math.floor(value))), true);
  return b;
}

/** Apply one random mutation to the image on `dev`. */
export function mutateImage(dev: PmemDevice, map: ImageMap, rng: Rng, kind: MutationKind = pickKind(rng)): Mutation {
  const regions = new Set<Region>();
  written = [];
  const m: Mutation = { kind, regions, written, detail: '' };
  /** Store raw bytes: recorded for the restore, their regions noted, described. */
  const overwrite = (at: number, bytes: Uint8Array, detail: string): void => {
    storeBytes(dev, at, bytes);
    regionsOf(map, at, bytes.length, regions);
    m.detail = detail;
  };
  /** A sector or a node (even odds), and a sector-aligned target for `n` bytes. */
  const blockBytes = (): number => (rng.chance(0.5) ? SECTOR_BYTES : map.nodeBytes);
  const sectorTarget = (n: number): number => Math.floor(pickTarget(map, rng, n) / SECTOR_BYTES) * SECTOR_BYTES;
  switch (kind) {
    case 'bit-flips': {
      const flips = rng.between(1, 8);
      const at = pickTarget(map, rng, 64);
      const old = dev.load(at, 64);
      for (let i = 0; i < flips; i++) old[rng.below(64)]! ^= 1 << rng.below(8);
      overwrite(at, old, `${flips} bits flipped in [${at}, +64)`);
      break;
    }
    case 'random-bytes': {
      const n = rng.between(1, 32);
      const at = pickTarget(map, rng, n);
      overwrite(at, new Uint8Array(n).map(() => rng.below(256)), `${n} random bytes at ${at}`);
      break;
    }
    case 'zero-block': {
      const n = blockBytes();
      const at = sectorTarget(n);
      overwrite(at, new Uint8Array(n), `${n} bytes zeroed at ${at}`);
      break;
    }
    case 'duplicate-block': {
      const n = blockBytes();
      const from = sectorTarget(n);
      const to = sectorTarget(n);
      overwrite(to, dev.load(from, n), `${n} bytes copied from ${from} to ${to}`);
      break;
    }
    case 'superblock-field': {
      const copies = superblockOffsets(map.deviceBytes);
      const slot = rng.pick(copies);
      const EXTENT_ROOT = SB_SUPER_ROOTS + BK_EXTENT_ROOT, CSUM_ROOT = SB_SUPER_ROOTS + BK_CSUM_ROOT;
      const EXTENT_LEVEL = SB_SUPER_ROOTS + BK_EXTENT_ROOT_LEVEL, CSUM_LEVEL = SB_SUPER_ROOTS + BK_CSUM_ROOT_LEVEL;
      const field = rng.pick([SB_GENERATION, SB_ROOT_TREE, EXTENT_ROOT, CSUM_ROOT, SB_ROOT_LEVEL, EXTENT_LEVEL,
        CSUM_LEVEL, SB_NODE_BYTES, SB_SECTOR_BYTES, SB_TOTAL_BYTES, SB_PMCOW_METADATA_COPIES, SB_LABEL, SB_MAGIC,
        SB_BYTENR, SB_FSID, SB_INCOMPAT_FLAGS]);
      const value = edgeValue(rng, map);
      // Levels, copies and the u32 fields take their own width.
      const width = field === SB_ROOT_LEVEL || field === EXTENT_LEVEL || field === CSUM_LEVEL || field === SB_PMCOW_METADATA_COPIES
        ? 1 : field === SB_NODE_BYTES || field === SB_SECTOR_BYTES ? 4 : 8;
      storeBytes(dev, slot + field, u64Bytes(value).subarray(0, width));
      if (rng.chance(0.9)) fixSuperblockChecksum(dev, slot);
      regions.add('superblock');
      m.detail = `superblock ${slot} field ${field} = ${value}`;
      break;
    }
    case 'superblock-slots': {
      const [primary, alternate] = superblockOffsets(map.deviceBytes);
      const choice = rng.below(3);
      if (choice === 0) storeBytes(dev, primary, dev.load(alternate, SUPERBLOCK_BYTES));
      else if (choice === 1) storeBytes(dev, alternate, dev.load(primary, SUPERBLOCK_BYTES));
      else storeBytes(dev, rng.pick([primary, alternate]), new Uint8Array(SUPERBLOCK_BYTES));
      regions.add('superblock');
      m.detail = ['the alternate copied over the primary', 'the primary copied over the alternate', 'one copy zeroed'][choice]!;
      break;
    }
    case 'node-field':
    case 'node-pointer':
    case 'node-item': {
      if (!map.treeBlocks.length) return mutateImage(dev, map, rng, 'bit-flips');
      const block = rng.pick(map.treeBlockCopies);
      // dup: corrupt one copy or both (both is what single-profile images always get).
      const copies = map.metadataCopies === 1 ? [0] : rng.pick([[0], [1], [0, 1]]);
      const seed = rng.u32();
      for (const copy of copies) {
        const at = block[copy]!;
        corruptNode(dev, at, map, kind, new Rng(seed), m); // the same change in each copy
        fixNodeChecksum(dev, at, map.nodeBytes);
      }
      regions.add('metadata');
      m.detail = `block ${block} copies ${copies.map((c) => c + 1).join('+')}: ${m.detail}`;
      break;
    }
    case 'poison': {
      const n = rng.chance(0.7) ? LINE_BYTES : rng.pick([SECTOR_BYTES, map.nodeBytes]);
      const at = Math.floor(pickTarget(map, rng, n) / LINE_BYTES) * LINE_BYTES;
      written.push([at, n]);
      dev.poison(at, n);
      regionsOf(map, at, n, regions);
      m.detail = `${n} bytes poisoned at ${at}`;
      break;
    }
  }
  return m;
}

/** Weights: structure-aware mutations most, since random bytes mostly stop at a checksum. */
const WEIGHTS: Array<[MutationKind, number]> = [
  ['bit-flips', 14], ['random-bytes', 8], ['zero-block', 7], ['duplicate-block', 7], ['superblock-field', 12],
  ['superblock-slots', 3], ['node-field', 14], ['node-pointer', 14], ['node-item', 14], ['poison', 7],
];
const WEIGHT_TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);

function pickKind(rng: Rng): MutationKind {
  let r = rng.below(WEIGHT_TOTAL);
  for (const [kind, w] of WEIGHTS) { if (r < w) return kind; r -= w; }
  return 'bit-flips';
}

/** Change one structural field of the node copy at `at` (the caller fixes its checksum). */
function corruptNode(dev: PmemDevice, at: number, map: ImageMap, kind: MutationKind, rng: Rng, m: Mutation): void {
  const header = new FsMemory(dev.load(at, NODE_HEADER_BYTES).buffer);
  const level = header.u8At(NODE_LEVEL);
  const nritems = header.u32(NODE_NRITEMS);
  const stride = level === 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  const slot = nritems > 0 ? rng.below(nritems) : 0;
  const slotAt = at + NODE_HEADER_BYTES + slot * stride;
  const put = (offset: number, bytes: Uint8Array, what: string): void => { storeBytes(dev, offset, bytes); m.detail = what; };
  if (kind === 'node-field') {
    const field = rng.below(6);
    if (field === 0) put(at + NODE_NRITEMS, u64Bytes(rng.pick([0, nritems + 1, nritems - 1, 2 ** 32 - 1, rng.below(2000)])).subarray(0, 4), 'nritems');
    else if (field === 1) put(at + NODE_LEVEL, new Uint8Array([rng.pick([0, 1, 2, level + 1, level - 1 & 255, 9, 255])]), 'level');
    else if (field === 2) put(at + NODE_GENERATION, u64Bytes(rng.pick([0, 1, 2 ** 40, edgeValue(rng, map)])), 'generation');
    else if (field === 3) put(at + NODE_OWNER, u64Bytes(rng.pick([0, 3, 6, 255, 256, 999, edgeValue(rng, map)])), 'owner');
    else if (field === 4) put(at + NODE_BYTENR, u64Bytes(edgeValue(rng, map)), 'bytenr');
    else {
      // Raw bytes anywhere in the node, checksum fixed: the tree checker's whole job.
      const off = rng.below(map.nodeBytes - 8);
      put(at + off, u64Bytes(rng.u32() * (rng.chance(0.5) ? 1 : 2 ** 21)).subarray(0, rng.between(1, 8)), `bytes at ${off}`);
    }
    return;
  }
  if (nritems === 0) { put(at + NODE_NRITEMS, u64Bytes(rng.below(50)).subarray(0, 4), 'nritems of an empty node'); return; }
  if (kind === 'node-pointer') {
    if (level > 0) {
      // A child pointer: the node itself (a loop), another block (a DAG or a level
      // mismatch), a data extent, unaligned, outside the device; or its generation.
      const choice = rng.below(6);
      const target = choice === 0 ? at - (at % map.nodeBytes)
        : choice === 1 ? rng.pick(map.treeBlocks)
          : choice === 2 && map.dataExtents.length ? rng.pick(map.dataExtents)[0]
            : choice === 3 ? rng.pick(map.treeBlocks) + rng.between(1, 4095) : edgeValue(rng, map);
      if (choice === 5) put(slotAt + 25, u64Bytes(edgeValue(rng, map)), `slot ${slot} child generation`);
      else put(slotAt + 17, u64Bytes(target), `slot ${slot} child -> ${target}`);
    } else {
      // A leaf item's data offset or size.
      const field = rng.chance(0.5) ? 17 : 21;
      put(slotAt + field, u64Bytes(rng.pick([0, 1, map.nodeBytes, map.nodeBytes - 1, 2 ** 32 - 1, rng.below(map.nodeBytes * 2)])).subarray(0, 4),
        `slot ${slot} data ${field === 17 ? 'offset' : 'size'}`);
    }
    return;
  }
  // node-item: the key, or a field inside the item body (a leaf) or the key pointer.
  if (rng.chance(0.4) || level > 0) {
    const part = rng.pick([0, 8, 9]);
    const bytes = part === 8 ? new Uint8Array([rng.pick([0, 1, 12, 84, 96, 108, 128, 132, 168, 169, 184, 255])])
      : u64Bytes(rng.pick([0, 1, 256, 257, 2 ** 52 - 5, edgeValue(rng, map)]));
    put(slotAt + part, bytes, `slot ${slot} key part ${part}`);
    return;
  }
  const item = new FsMemory(dev.load(slotAt, LEAF_ITEM_BYTES).buffer);
  const dataOffset = item.u32(17), dataSize = item.u32(21);
  if (dataSize === 0 || dataOffset + dataSize > map.nodeBytes) { put(slotAt + 21, u64Bytes(rng.below(64)).subarray(0, 4), `slot ${slot} size`); return; }
  const off = rng.below(dataSize);
  const width = Math.min(dataSize - off, rng.pick([1, 2, 4, 8]));
  put(at + dataOffset + off, u64Bytes(rng.chance(0.5) ? edgeValue(rng, map) : rng.u32()).subarray(0, width), `slot ${slot} body byte ${off} (${width} bytes)`);
}
