// The chunk table a mount lays out from an image's chunk items (assembly/fs/chunks.ts keeps
// it): each chunk as the items place it, on pmcow's grid or not, and grid cells in the space
// no chunk takes. pmcow's own images are all grid; mkfs.btrfs's chunks lie elsewhere (an
// 8 MiB data chunk at 13 MiB, a 32 MiB DUP metadata chunk whose stripes are not its logical
// range). What pmcow cannot run on is refused by name (EOPNOTSUPP): RAID profiles, mixed
// block groups, a data chunk not mapped 1:1 (DAX maps a data extent's bytenr as its device
// byte), tree chunks of two profiles, logical addresses past the device (free space is
// indexed by them).
import { FsError } from '../errors.js';
import {
  CHUNK_FREE, CHUNK_DATA, CHUNK_SYSTEM, CHUNK_METADATA, CHUNK_RESERVED,
  BLOCK_GROUP_DUP, SYSTEM_AREA_BYTES,
  SECTOR_BYTES, MIRROR_SUPERBLOCK_BYTENR, SUPERBLOCK_STRIPE, CHUNKS_MAX,
} from '../core/abi.js';

/** A chunk: where its logical range lives on the device (the item is written by chunks.ts). */
export interface ChunkDesc {
  /** Logical start (= the first stripe's device byte). */
  start: number;
  /** Logical bytes. */
  length: number;
  /** BTRFS_BLOCK_GROUP_* flags: kind and DUP. */
  type: number;
  /** Device bytes of each stripe. */
  stripes: number[];
}

/** One entry of the chunk table, in bytes. */
interface ChunkEntry {
  start: number;
  /** Logical bytes: the block group (an untyped cell: all of it). */
  length: number;
  kind: number;
  /** Device bytes of each copy (none for an untyped cell). */
  stripes: number[];
  /** A cell of pmcow's grid (typed on use, given back when empty)? */
  grid: boolean;
  /** Logical [start, end) ranges over a superblock copy: never free space, never used bytes. */
  excluded: Array<[number, number]>;
}

/** Is `e` a data chunk not mapped 1:1 (an adopted image's, until the adoption removes it)? */
export function mappedData(e: { kind: number; start: number; stripes: number[] }): boolean {
  return e.kind === CHUNK_DATA && e.stripes[0] !== e.start;
}

interface ChunkLayoutInput {
  chunks: ChunkDesc[];
  totalBytes: number;
  /** Bytes of a grid cell (chunkBytesFor). */
  cellBytes: number;
  nodeBytes: number;
  /** Copies of every tree block (1 or 2). */
  metadataCopies: number;
  /**
   * A mount adopting an image pmcow did not write: a data chunk not mapped 1:1 is taken (the
   * adoption moves its files' data out and removes it, adopt.ts), not refused.
   */
  adopting?: boolean;
}

/**
 * btrfs's block group profile bits other than DUP (RAID0, RAID1, RAID10, RAID5, RAID6,
 * RAID1C3, RAID1C4).
 */
const PROFILES: Array<[number, string]> = [[8, 'RAID0'], [16, 'RAID1'], [64, 'RAID10'],
  [128, 'RAID5'], [256, 'RAID6'], [512, 'RAID1C3'], [1024, 'RAID1C4']];
const KINDS = CHUNK_DATA | CHUNK_SYSTEM | CHUNK_METADATA;
const overlaps = (a0: number, a1: number, b0: number, b1: number): boolean => a0 < b1 && b0 < a1;

/** How many grid cells formatChunks lays out on a device (the same count a mount may use). */
export function cellCount(totalBytes: number, cellBytes: number): number {
  return Math.min(CHUNKS_MAX, Math.floor((totalBytes - SYSTEM_AREA_BYTES) / cellBytes));
}

/** The grid cell `desc` is, typed as pmcow lays out a cell of its kind, or -1. */
export function gridCell(desc: ChunkDesc, input: ChunkLayoutInput): number {
  const c = (desc.start - SYSTEM_AREA_BYTES) / input.cellBytes;
  if (!Number.isInteger(c) || c < 0 || c >= cellCount(input.totalBytes, input.cellBytes)) return -1;
  // The cell around the superblock mirror is one pmcow never types: a chunk there keeps its
  // stripe out.
  if (input.totalBytes >= MIRROR_SUPERBLOCK_BYTENR + SECTOR_BYTES
    && overlaps(desc.start, desc.start + input.cellBytes, MIRROR_SUPERBLOCK_BYTENR,
      MIRROR_SUPERBLOCK_BYTENR + SUPERBLOCK_STRIPE)) return -1;
  const kind = desc.type & KINDS;
  const half = input.cellBytes / 2;
  const dup = kind !== CHUNK_DATA && input.metadataCopies === 2;
  const want = dup ? { length: half, type: kind | BLOCK_GROUP_DUP,
    stripes: [desc.start, desc.start + half] }
    : { length: input.cellBytes, type: kind, stripes: [desc.start] };
  return want.length === desc.length && want.type === desc.type
    && want.stripes.join() === desc.stripes.join() ? c : -1;
}

/** Why pmcow cannot hold chunk `d`, or null. */
function unsupported(d: ChunkDesc, input: ChunkLayoutInput): string | null {
  const where = `chunk ${d.start}`;
  for (const [bit, name] of PROFILES) {
    if (d.type & bit) return `${where}: the ${name} profile (pmcow runs SINGLE and DUP)`;
  }
  const kind = d.type & KINDS;
  if (kind === (CHUNK_DATA | CHUNK_METADATA)) {
    return `${where}: mixed data and metadata block groups`;
  }
  if (kind !== CHUNK_DATA && kind !== CHUNK_METADATA && kind !== CHUNK_SYSTEM) {
    return `${where}: block group type ${d.type}`;
  }
  const dup = (d.type & BLOCK_GROUP_DUP) !== 0;
  if (d.stripes.length !== (dup ? 2 : 1)) {
    return `${where}: ${d.stripes.length} stripes for a ${dup ? 'DUP' : 'SINGLE'} chunk`;
  }
  if (kind === CHUNK_DATA && dup) return `${where}: DUP data (pmcow keeps one copy of data)`;
  if (kind === CHUNK_DATA && d.stripes[0] !== d.start && !input.adopting) {
    return `${where}: a data chunk at device byte ${d.stripes[0]} (pmcow maps data 1:1: a data`
      + ` extent's bytenr is the device byte DAX maps)`;
  }
  if (kind !== CHUNK_DATA && (dup ? 2 : 1) !== input.metadataCopies) {
    return `${where}: ${dup ? 'DUP' : 'SINGLE'} tree blocks on a file system whose tree blocks`
      + ` are ${input.metadataCopies === 2 ? 'DUP' : 'SINGLE'} (pmcow runs one metadata profile)`;
  }
  if (d.start % SECTOR_BYTES || d.length % SECTOR_BYTES
    || d.stripes.some((s) => s % SECTOR_BYTES)) {
    return `${where}: not whole sectors`;
  }
  if (kind !== CHUNK_DATA && d.start % input.nodeBytes) {
    return `${where}: a tree chunk not aligned to the node size`;
  }
  if (d.length < input.nodeBytes) return `${where}: ${d.length} bytes`;
  if (d.start < SYSTEM_AREA_BYTES || d.start + d.length > input.totalBytes) {
    return `${where}: logical bytes [${d.start}, ${d.start + d.length}) outside the device's`
      + ` ${input.totalBytes} (pmcow indexes free space by logical byte)`;
  }
  for (const s of d.stripes) {
    if (s < SYSTEM_AREA_BYTES || s + d.length > input.totalBytes) {
      return `${where}: a stripe at ${s} outside the device`;
    }
  }
  return null;
}

/**
 * btrfs's excluded super stripes: where a stripe holds a superblock copy (the mirror at
 * 64 MiB; the primary is in the first MiB, which no chunk holds), the 64 KiB stripe
 * around it, in logical bytes.
 */
function superStripes(d: ChunkDesc): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of d.stripes) {
    if (MIRROR_SUPERBLOCK_BYTENR < p || MIRROR_SUPERBLOCK_BYTENR >= p + d.length) {
      // A copy that would straddle the stripe's start is one pmcow would write over.
      if (p > MIRROR_SUPERBLOCK_BYTENR && p < MIRROR_SUPERBLOCK_BYTENR + SECTOR_BYTES) {
        throw new FsError('EOPNOTSUPP',
          `chunk ${d.start}: a stripe starting inside the superblock mirror`);
      }
      continue;
    }
    const from = d.start + Math.floor((MIRROR_SUPERBLOCK_BYTENR - p) / SUPERBLOCK_STRIPE)
      * SUPERBLOCK_STRIPE;
    out.push([from, Math.min(d.start + d.length, from + SUPERBLOCK_STRIPE)]);
  }
  out.sort((a, b) => a[0] - b[0]);
  // Two stripes of one chunk may exclude the same logical bytes: merged.
  const merged: Array<[number, number]> = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]); else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** The chunk table for `input.chunks`: sorted by logical start, at most CHUNKS_MAX entries. */
export function planChunkTable(input: ChunkLayoutInput): ChunkEntry[] {
  const entries: ChunkEntry[] = [];
  const deviceRanges: Array<[number, number, number]> = []; // [from, to, chunk]
  for (const d of [...input.chunks].sort((a, b) => a.start - b.start)) {
    const why = unsupported(d, input);
    if (why) throw new FsError('EOPNOTSUPP', why);
    const prev = entries[entries.length - 1];
    if (prev && prev.start + prev.length > d.start) {
      throw new FsError('EUCLEAN', `chunk ${d.start} overlaps chunk ${prev.start}`);
    }
    for (const s of d.stripes) {
      const clash = deviceRanges.find(([from, to]) => overlaps(from, to, s, s + d.length));
      if (clash) {
        throw new FsError('EUCLEAN',
          `chunk ${d.start}: its stripe at ${s} overlaps a stripe of chunk ${clash[2]}`);
      }
      deviceRanges.push([s, s + d.length, d.start]);
    }
    const grid = gridCell(d, input) >= 0;
    entries.push({ start: d.start, length: d.length, kind: d.type & KINDS, stripes: [...d.stripes],
      grid, excluded: grid ? [] : superStripes(d) });
  }
  if (entries.length > CHUNKS_MAX) {
    throw new FsError('EOPNOTSUPP', `${entries.length} chunks (pmcow's table holds ${CHUNKS_MAX})`);
  }
  // Grid cells where no chunk's logical range or stripe lies: the space pmcow may type.
  const cells: ChunkEntry[] = [];
  const mirrorOnDevice = input.totalBytes >= MIRROR_SUPERBLOCK_BYTENR + SECTOR_BYTES;
  for (let c = 0; c < cellCount(input.totalBytes, input.cellBytes)
    && entries.length + cells.length < CHUNKS_MAX; c++) {
    const from = SYSTEM_AREA_BYTES + c * input.cellBytes, to = from + input.cellBytes;
    if (entries.some((e) => overlaps(e.start, e.start + e.length, from, to))
      || deviceRanges.some(([a, b]) => overlaps(a, b, from, to))) continue;
    const reserved =
      mirrorOnDevice && overlaps(from, to, MIRROR_SUPERBLOCK_BYTENR,
        MIRROR_SUPERBLOCK_BYTENR + SUPERBLOCK_STRIPE);
    cells.push({ start: from, length: input.cellBytes, kind: reserved ? CHUNK_RESERVED : CHUNK_FREE,
      stripes: [], grid: true, excluded: [] });
  }
  return [...entries, ...cells].sort((a, b) => a.start - b.start);
}
