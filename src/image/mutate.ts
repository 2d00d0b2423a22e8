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
  SYSTEM_AREA_BYTES, NODE_HEADER_BYTES, NODE_CSUM_START, NODE_NRITEMS, NODE_LEVEL, NODE_BYTENR,
  NODE_GENERATION, NODE_OWNER, LEAF_ITEM_BYTES, KEY_PTR_BYTES, SB_GENERATION, SB_ROOT_TREE,
  SB_SUPER_ROOTS, BK_EXTENT_ROOT, BK_CSUM_ROOT, SB_ROOT_LEVEL, BK_EXTENT_ROOT_LEVEL,
  BK_CSUM_ROOT_LEVEL, SB_NODE_BYTES, SB_SECTOR_BYTES, SB_TOTAL_BYTES, SB_PMCOW_METADATA_COPIES,
  SB_LABEL, SB_MAGIC, SB_CSUM, SB_CSUM_START, SB_BYTENR, SB_FSID, SB_INCOMPAT_FLAGS,
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
  const treeBlockCopies = treeBlocks.map((b) => Array.from({ length: k.metadataCopies },
    (_, copy) => k.copyBytenr(b, copy)));
  return {
    deviceBytes: k.totalBytes, nodeBytes: k.nodeBytes, metadataCopies: k.metadataCopies, treeBlocks,
    treeBlockCopies, dataExtents,
  };
}

/** The region of device byte `at`. */
function regionOf(map: ImageMap, at: number): Region {
  const inSuperblock = (offset: number): boolean => at >= offset && at < offset + SUPERBLOCK_BYTES;
  if (superblockOffsets(map.deviceBytes).some(inSuperblock)) return 'superblock';
  if (at < SYSTEM_AREA_BYTES) return 'unused';
  for (const copies of map.treeBlockCopies) {
    for (const b of copies) if (at >= b && at < b + map.nodeBytes) return 'metadata';
  }
  for (const [b, n] of map.dataExtents) if (at >= b && at < b + n) return 'data';
  return 'unused';
}

function regionsOf(map: ImageMap, at: number, length: number, into: Set<Region>): void {
  // Regions are 4 KiB aligned: one probe per sector is exact.
  for (let s = Math.floor(at / SECTOR_BYTES) * SECTOR_BYTES; s < at + length; s += SECTOR_BYTES) {
    into.add(regionOf(map, Math.max(s, at)));
  }
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
  if (roll < 62) {
    const slot = rng.pick(superblockOffsets(map.deviceBytes));
    return Math.min(limit, slot + rng.below(SUPERBLOCK_BYTES));
  }
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
    SYSTEM_AREA_BYTES, 2 ** 32 - 1, 2 ** 32, 2 ** 50, 2 ** 53 - 1, 2 ** 53, 2 ** 63,
    2 ** 64 - 2 ** 11,
    rng.u32(), rng.u32() * 2 ** 20, rng.pick(map.treeBlocks.length ? map.treeBlocks : [0]),
  ]);
}

/** `value` as 8 little-endian bytes (its low 64 bits). */
export function u64Bytes(value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(Math.floor(value))), true);
  return b;
}

/** A mutation in the making: the device, its image's map, the random source, the record. */
interface Mutating { dev: PmemDevice; map: ImageMap; rng: Rng; m: Mutation }

/** Apply one random mutation to the image on `dev`. */
export function mutateImage(dev: PmemDevice, map: ImageMap, rng: Rng,
  kind: MutationKind = pickKind(rng)): Mutation {
  written = [];
  const m: Mutation = { kind, regions: new Set<Region>(), written, detail: '' };
  const c: Mutating = { dev, map, rng, m };
  switch (kind) {
    case 'bit-flips': flipBits(c); break;
    case 'random-bytes': randomBytes(c); break;
    case 'zero-block': zeroBlock(c); break;
    case 'duplicate-block': duplicateBlock(c); break;
    case 'superblock-field': rewriteSuperblockField(c); break;
    case 'superblock-slots': rewriteSuperblockSlots(c); break;
    case 'node-field':
    case 'node-pointer':
    case 'node-item':
      if (!map.treeBlocks.length) return mutateImage(dev, map, rng, 'bit-flips');
      corruptTreeBlock(c, kind);
      break;
    case 'poison': poison(c); break;
  }
  return m;
}

/** Store raw bytes: recorded for the restore, their regions noted, described. */
function overwrite(c: Mutating, at: number, bytes: Uint8Array, detail: string): void {
  storeBytes(c.dev, at, bytes);
  regionsOf(c.map, at, bytes.length, c.m.regions);
  c.m.detail = detail;
}

/** A sector or a node (even odds). */
function blockBytes(c: Mutating): number {
  return c.rng.chance(0.5) ? SECTOR_BYTES : c.map.nodeBytes;
}

/** A sector-aligned target for `n` bytes. */
function sectorTarget(c: Mutating, n: number): number {
  return Math.floor(pickTarget(c.map, c.rng, n) / SECTOR_BYTES) * SECTOR_BYTES;
}

function flipBits(c: Mutating): void {
  const { rng } = c;
  const flips = rng.between(1, 8);
  const at = pickTarget(c.map, rng, 64);
  const old = c.dev.load(at, 64);
  for (let i = 0; i < flips; i++) old[rng.below(64)]! ^= 1 << rng.below(8);
  overwrite(c, at, old, `${flips} bits flipped in [${at}, +64)`);
}

function randomBytes(c: Mutating): void {
  const { rng } = c;
  const n = rng.between(1, 32);
  const at = pickTarget(c.map, rng, n);
  overwrite(c, at, new Uint8Array(n).map(() => rng.below(256)), `${n} random bytes at ${at}`);
}

function zeroBlock(c: Mutating): void {
  const n = blockBytes(c);
  const at = sectorTarget(c, n);
  overwrite(c, at, new Uint8Array(n), `${n} bytes zeroed at ${at}`);
}

function duplicateBlock(c: Mutating): void {
  const n = blockBytes(c);
  const from = sectorTarget(c, n);
  const to = sectorTarget(c, n);
  overwrite(c, to, c.dev.load(from, n), `${n} bytes copied from ${from} to ${to}`);
}

const EXTENT_ROOT = SB_SUPER_ROOTS + BK_EXTENT_ROOT, CSUM_ROOT = SB_SUPER_ROOTS + BK_CSUM_ROOT;
const EXTENT_LEVEL = SB_SUPER_ROOTS + BK_EXTENT_ROOT_LEVEL;
const CSUM_LEVEL = SB_SUPER_ROOTS + BK_CSUM_ROOT_LEVEL;
/** The superblock fields a mutation rewrites. */
const SUPERBLOCK_FIELDS = [SB_GENERATION, SB_ROOT_TREE, EXTENT_ROOT, CSUM_ROOT, SB_ROOT_LEVEL,
  EXTENT_LEVEL, CSUM_LEVEL, SB_NODE_BYTES, SB_SECTOR_BYTES, SB_TOTAL_BYTES,
  SB_PMCOW_METADATA_COPIES, SB_LABEL, SB_MAGIC, SB_BYTENR, SB_FSID, SB_INCOMPAT_FLAGS];

/** Bytes of a superblock field: levels and copies take one, the u32 fields four, the rest eight. */
function superblockFieldBytes(field: number): number {
  const oneByte = field === SB_ROOT_LEVEL || field === EXTENT_LEVEL || field === CSUM_LEVEL
    || field === SB_PMCOW_METADATA_COPIES;
  return oneByte ? 1 : field === SB_NODE_BYTES || field === SB_SECTOR_BYTES ? 4 : 8;
}

function rewriteSuperblockField(c: Mutating): void {
  const { dev, map, rng } = c;
  const slot = rng.pick(superblockOffsets(map.deviceBytes));
  const field = rng.pick(SUPERBLOCK_FIELDS);
  const value = edgeValue(rng, map);
  storeBytes(dev, slot + field, u64Bytes(value).subarray(0, superblockFieldBytes(field)));
  if (rng.chance(0.9)) fixSuperblockChecksum(dev, slot);
  c.m.regions.add('superblock');
  c.m.detail = `superblock ${slot} field ${field} = ${value}`;
}

const SLOT_REWRITES = [
  'the alternate copied over the primary', 'the primary copied over the alternate',
  'one copy zeroed',
];

function rewriteSuperblockSlots(c: Mutating): void {
  const { dev, rng } = c;
  const [primary, alternate] = superblockOffsets(c.map.deviceBytes);
  const choice = rng.below(3);
  if (choice === 0) storeBytes(dev, primary, dev.load(alternate, SUPERBLOCK_BYTES));
  else if (choice === 1) storeBytes(dev, alternate, dev.load(primary, SUPERBLOCK_BYTES));
  else storeBytes(dev, rng.pick([primary, alternate]), new Uint8Array(SUPERBLOCK_BYTES));
  c.m.regions.add('superblock');
  c.m.detail = SLOT_REWRITES[choice]!;
}

function corruptTreeBlock(c: Mutating, kind: MutationKind): void {
  const { dev, map, rng, m } = c;
  const block = rng.pick(map.treeBlockCopies);
  // dup: corrupt one copy or both (both is what single-profile images always get).
  const copies = map.metadataCopies === 1 ? [0] : rng.pick([[0], [1], [0, 1]]);
  const seed = rng.u32();
  for (const copy of copies) {
    const at = block[copy]!;
    corruptNode(dev, at, map, kind, new Rng(seed), m); // the same change in each copy
    fixNodeChecksum(dev, at, map.nodeBytes);
  }
  m.regions.add('metadata');
  m.detail = `block ${block} copies ${copies.map((n) => n + 1).join('+')}: ${m.detail}`;
}

function poison(c: Mutating): void {
  const { dev, map, rng } = c;
  const n = rng.chance(0.7) ? LINE_BYTES : rng.pick([SECTOR_BYTES, map.nodeBytes]);
  const at = Math.floor(pickTarget(map, rng, n) / LINE_BYTES) * LINE_BYTES;
  written.push([at, n]);
  dev.poison(at, n);
  regionsOf(map, at, n, c.m.regions);
  c.m.detail = `${n} bytes poisoned at ${at}`;
}

/** Weights: structure-aware mutations most, since random bytes mostly stop at a checksum. */
const WEIGHTS: Array<[MutationKind, number]> = [
  ['bit-flips', 14], ['random-bytes', 8], ['zero-block', 7], ['duplicate-block', 7],
  ['superblock-field', 12], ['superblock-slots', 3], ['node-field', 14], ['node-pointer', 14],
  ['node-item', 14], ['poison', 7],
];
const WEIGHT_TOTAL = WEIGHTS.reduce((n, [, w]) => n + w, 0);

function pickKind(rng: Rng): MutationKind {
  let r = rng.below(WEIGHT_TOTAL);
  for (const [kind, w] of WEIGHTS) { if (r < w) return kind; r -= w; }
  return 'bit-flips';
}

/** A node copy being corrupted: where it is, its header's level and items, the slot picked. */
interface NodeTarget {
  dev: PmemDevice; at: number; map: ImageMap; rng: Rng; m: Mutation;
  level: number; nritems: number; slot: number; slotAt: number;
}

/** Change one structural field of the node copy at `at` (the caller fixes its checksum). */
function corruptNode(dev: PmemDevice, at: number, map: ImageMap, kind: MutationKind, rng: Rng,
  m: Mutation): void {
  const header = new FsMemory(dev.load(at, NODE_HEADER_BYTES).buffer);
  const level = header.u8At(NODE_LEVEL);
  const nritems = header.u32(NODE_NRITEMS);
  const stride = level === 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  const slot = nritems > 0 ? rng.below(nritems) : 0;
  const slotAt = at + NODE_HEADER_BYTES + slot * stride;
  const t: NodeTarget = { dev, at, map, rng, m, level, nritems, slot, slotAt };
  if (kind === 'node-field') { corruptHeaderField(t); return; }
  if (nritems === 0) {
    put(t, at + NODE_NRITEMS, u64Bytes(rng.below(50)).subarray(0, 4), 'nritems of an empty node');
    return;
  }
  if (kind === 'node-pointer') corruptPointer(t);
  else corruptItem(t);
}

function put(t: NodeTarget, offset: number, bytes: Uint8Array, what: string): void {
  storeBytes(t.dev, offset, bytes);
  t.m.detail = what;
}

function corruptHeaderField(t: NodeTarget): void {
  const { at, map, rng, level, nritems } = t;
  const field = rng.below(6);
  if (field === 0) {
    const value = rng.pick([0, nritems + 1, nritems - 1, 2 ** 32 - 1, rng.below(2000)]);
    put(t, at + NODE_NRITEMS, u64Bytes(value).subarray(0, 4), 'nritems');
  } else if (field === 1) {
    const value = rng.pick([0, 1, 2, level + 1, level - 1 & 255, 9, 255]);
    put(t, at + NODE_LEVEL, new Uint8Array([value]), 'level');
  } else if (field === 2) {
    const value = rng.pick([0, 1, 2 ** 40, edgeValue(rng, map)]);
    put(t, at + NODE_GENERATION, u64Bytes(value), 'generation');
  } else if (field === 3) {
    const value = rng.pick([0, 3, 6, 255, 256, 999, edgeValue(rng, map)]);
    put(t, at + NODE_OWNER, u64Bytes(value), 'owner');
  } else if (field === 4) {
    put(t, at + NODE_BYTENR, u64Bytes(edgeValue(rng, map)), 'bytenr');
  } else {
    // Raw bytes anywhere in the node, checksum fixed: the tree checker's whole job.
    const off = rng.below(map.nodeBytes - 8);
    const value = u64Bytes(rng.u32() * (rng.chance(0.5) ? 1 : 2 ** 21));
    put(t, at + off, value.subarray(0, rng.between(1, 8)), `bytes at ${off}`);
  }
}

function corruptPointer(t: NodeTarget): void {
  const { at, map, rng, slot, slotAt } = t;
  if (t.level > 0) {
    // A child pointer: the node itself (a loop), another block (a DAG or a level
    // mismatch), a data extent, unaligned, outside the device; or its generation.
    const choice = rng.below(6);
    const target = choice === 0 ? at - (at % map.nodeBytes)
      : choice === 1 ? rng.pick(map.treeBlocks)
        : choice === 2 && map.dataExtents.length ? rng.pick(map.dataExtents)[0]
          : choice === 3 ? rng.pick(map.treeBlocks) + rng.between(1, 4095) : edgeValue(rng, map);
    if (choice === 5) {
      put(t, slotAt + 25, u64Bytes(edgeValue(rng, map)), `slot ${slot} child generation`);
    } else {
      put(t, slotAt + 17, u64Bytes(target), `slot ${slot} child -> ${target}`);
    }
  } else {
    // A leaf item's data offset or size.
    const field = rng.chance(0.5) ? 17 : 21;
    const value = rng.pick([
      0, 1, map.nodeBytes, map.nodeBytes - 1, 2 ** 32 - 1, rng.below(map.nodeBytes * 2),
    ]);
    put(t, slotAt + field, u64Bytes(value).subarray(0, 4),
      `slot ${slot} data ${field === 17 ? 'offset' : 'size'}`);
  }
}

/** Item type bytes a key's type is rewritten to. */
const KEY_TYPES = [0, 1, 12, 84, 96, 108, 128, 132, 168, 169, 184, 255];

/** node-item: the key, or a field inside the item body (a leaf) or the key pointer. */
function corruptItem(t: NodeTarget): void {
  const { dev, at, map, rng, slot, slotAt } = t;
  if (rng.chance(0.4) || t.level > 0) {
    const part = rng.pick([0, 8, 9]);
    const bytes = part === 8 ? new Uint8Array([rng.pick(KEY_TYPES)])
      : u64Bytes(rng.pick([0, 1, 256, 257, 2 ** 52 - 5, edgeValue(rng, map)]));
    put(t, slotAt + part, bytes, `slot ${slot} key part ${part}`);
    return;
  }
  const item = new FsMemory(dev.load(slotAt, LEAF_ITEM_BYTES).buffer);
  const dataOffset = item.u32(17), dataSize = item.u32(21);
  if (dataSize === 0 || dataOffset + dataSize > map.nodeBytes) {
    put(t, slotAt + 21, u64Bytes(rng.below(64)).subarray(0, 4), `slot ${slot} size`);
    return;
  }
  const off = rng.below(dataSize);
  const width = Math.min(dataSize - off, rng.pick([1, 2, 4, 8]));
  const value = u64Bytes(rng.chance(0.5) ? edgeValue(rng, map) : rng.u32());
  put(t, at + dataOffset + off, value.subarray(0, width),
    `slot ${slot} body byte ${off} (${width} bytes)`);
}
