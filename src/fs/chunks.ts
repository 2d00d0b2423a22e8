// Block groups on the device (btrfs's chunks, mapped 1:1): the core keeps a table of fixed-
// size chunks, free or typed data / metadata / system on their first allocation
// (assembly/fs/chunks.ts). This file is btrfs's view of that table: the chunk tree (the
// device item and a CHUNK_ITEM per block group), the dev tree (a DEV_EXTENT per stripe),
// the extent tree's BLOCK_GROUP_ITEMs with their used bytes, and the superblock's
// sys_chunk_array. A commit brings them in line with the table (reconcile); a mount
// rebuilds the table from them (load). docs/fs.md section 2.
import { check } from './engine-result.js';
import { sameBytes } from '../bytes.js';
import { FsError } from '../errors.js';
import {
  F_CHUNK_BYTES, F_CHUNK_COUNT, F_CHUNKS, CHUNK_ENTRY_BYTES, CE_KIND, CE_ITEMS, CE_USED, CE_GRID,
  CE_COPIES, CE_START,
  CE_SECTORS, CE_STRIPE0, CE_STRIPE1, CHUNK_FREE, CHUNK_DATA,
  CHUNK_SYSTEM, CHUNK_METADATA, CHUNK_RESERVED, BLOCK_GROUP_DUP, BLOCK_GROUP_ITEM,
  BLOCK_GROUP_ITEM_BYTES, BG_USED,
  BG_CHUNK_OBJECTID, BG_FLAGS, DEV_EXTENT, DEV_EXTENT_BYTES, DE_CHUNK_TREE,
  DE_CHUNK_OBJECTID, DE_CHUNK_OFFSET,
  DE_LENGTH, DE_CHUNK_TREE_UUID, DEV_ITEM, DEV_ITEM_BYTES, DI_DEVID, DI_TOTAL_BYTES,
  DI_BYTES_USED, DI_IO_ALIGN,
  DI_IO_WIDTH, DI_SECTOR_SIZE, DI_UUID, DI_FSID, CHUNK_ITEM, CHUNK_ITEM_BYTES, CK_LENGTH,
  CK_OWNER, CK_STRIPE_LEN,
  CK_TYPE, CK_IO_ALIGN, CK_IO_WIDTH, CK_SECTOR_SIZE, CK_NUM_STRIPES, CK_SUB_STRIPES,
  CHUNK_STRIPE_BYTES,
  STRIPE_DEVID, STRIPE_OFFSET, STRIPE_DEV_UUID, BTRFS_STRIPE_LEN, DEV_ITEMS_OBJECTID,
  FIRST_CHUNK_TREE_OBJECTID,
  CHUNK_TREE_ID, EXTENT_TREE_ID, SYSTEM_AREA_BYTES, SECTOR_BYTES, KEY_BYTES,
} from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import { key, EXTENT_ITEM } from './format.js';
import { FsMemory } from './memory.js';
import type { BTree } from './ctree.js';
import { planChunkTable, gridCell, cellCount, type ChunkDesc } from './chunk-layout.js';

export type { ChunkDesc };

/** The device id of pmcow's one device. */
export const DEVICE_ID = 1;

/**
 * The chunk size of a device: a power of two, at least 64 KiB and 4 tree blocks with their
 * copies, about a thirty-second of the space after the first MiB (between 32 and 64
 * chunks, fewer on small devices: a data extent never crosses a chunk, and each kind of
 * space is given in whole chunks, so each kind may leave most of one chunk unused). The
 * same for the same device, node size and profile: a mount finds the grid mkfs laid out.
 */
export function chunkBytesFor(totalBytes: number, nodeBytes: number, copies: number): number {
  const usable = totalBytes - SYSTEM_AREA_BYTES;
  let bytes = Math.max(65536, 4 * nodeBytes * copies);
  while (bytes * 2 <= usable / 32) bytes *= 2;
  return bytes;
}

/** A chunk as btrfs's items describe it. */

export function kindName(type: number): string {
  const kind = type & (CHUNK_DATA | CHUNK_SYSTEM | CHUNK_METADATA);
  const name = kind === CHUNK_DATA ? 'DATA'
    : kind === CHUNK_SYSTEM ? 'SYSTEM' : kind === CHUNK_METADATA ? 'METADATA' : `type ${type}`;
  return (type & BLOCK_GROUP_DUP) !== 0 ? `${name}|DUP` : name;
}

/** btrfs's struct btrfs_chunk with its stripes, for `desc` on the device of `devUuid`. */
function encodeChunkItem(desc: ChunkDesc, devUuid: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_ITEM_BYTES + desc.stripes.length * CHUNK_STRIPE_BYTES);
  const m = new FsMemory(out.buffer);
  m.setU64(CK_LENGTH, desc.length);
  m.setU64(CK_OWNER, EXTENT_TREE_ID);
  m.setU64(CK_STRIPE_LEN, BTRFS_STRIPE_LEN);
  m.setU64(CK_TYPE, desc.type);
  m.setU32(CK_IO_ALIGN, BTRFS_STRIPE_LEN);
  m.setU32(CK_IO_WIDTH, BTRFS_STRIPE_LEN);
  m.setU32(CK_SECTOR_SIZE, SECTOR_BYTES);
  m.setU16(CK_NUM_STRIPES, desc.stripes.length);
  m.setU16(CK_SUB_STRIPES, 1);
  desc.stripes.forEach((offset, i) => {
    const at = CHUNK_ITEM_BYTES + i * CHUNK_STRIPE_BYTES;
    m.setU64(at + STRIPE_DEVID, DEVICE_ID);
    m.setU64(at + STRIPE_OFFSET, offset);
    out.set(devUuid, at + STRIPE_DEV_UUID);
  });
  return out;
}

/**
 * The chunk an item at `addr` of `size` bytes (key offset `start`) describes, or why it
 * cannot be read.
 */
export function decodeChunkItem(m: FsMemory, start: number, addr: number, size: number,
  devUuid: Uint8Array): ChunkDesc | string {
  if (size < CHUNK_ITEM_BYTES) return `a chunk item of ${size} bytes`;
  const n = m.u16(addr + CK_NUM_STRIPES);
  if (n < 1 || size !== CHUNK_ITEM_BYTES + n * CHUNK_STRIPE_BYTES) {
    return `a chunk item of ${size} bytes with ${n} stripes`;
  }
  // btrfs's chunk checks: a 64 KiB stripe length, the file system's sector size.
  if (m.u64(addr + CK_STRIPE_LEN) !== BTRFS_STRIPE_LEN) {
    return `chunk ${start}: stripe length ${m.u64(addr + CK_STRIPE_LEN)}`;
  }
  if (m.u32(addr + CK_SECTOR_SIZE) !== SECTOR_BYTES) {
    return `chunk ${start}: sector size ${m.u32(addr + CK_SECTOR_SIZE)}`;
  }
  const stripes: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = addr + CHUNK_ITEM_BYTES + i * CHUNK_STRIPE_BYTES;
    if (m.u64(at + STRIPE_DEVID) !== DEVICE_ID) {
      return `a stripe on device ${m.u64(at + STRIPE_DEVID)} (pmcow has one device)`;
    }
    // btrfs finds a stripe's device by id and uuid: another uuid is a missing device.
    for (let b = 0; b < devUuid.length; b++) {
      if (m.u8[at + STRIPE_DEV_UUID + b] !== devUuid[b]) {
        return `chunk ${start}: a stripe on a device of another uuid`;
      }
    }
    stripes.push(m.u64(at + STRIPE_OFFSET));
  }
  return { start, length: m.u64(addr + CK_LENGTH), type: m.u64(addr + CK_TYPE), stripes };
}

/** btrfs's struct btrfs_dev_item for the device (also the superblock's copy). */
export function encodeDevItem(totalBytes: number, bytesUsed: number, devUuid: Uint8Array,
  fsid: Uint8Array): Uint8Array {
  const out = new Uint8Array(DEV_ITEM_BYTES);
  const m = new FsMemory(out.buffer);
  m.setU64(DI_DEVID, DEVICE_ID);
  m.setU64(DI_TOTAL_BYTES, totalBytes);
  m.setU64(DI_BYTES_USED, bytesUsed);
  m.setU32(DI_IO_ALIGN, SECTOR_BYTES);
  m.setU32(DI_IO_WIDTH, SECTOR_BYTES);
  m.setU32(DI_SECTOR_SIZE, SECTOR_BYTES);
  out.set(devUuid, DI_UUID);
  out.set(fsid, DI_FSID);
  return out;
}

function encodeDevExtent(chunkStart: number, length: number,
  chunkTreeUuid: Uint8Array): Uint8Array {
  const out = new Uint8Array(DEV_EXTENT_BYTES);
  const m = new FsMemory(out.buffer);
  m.setU64(DE_CHUNK_TREE, CHUNK_TREE_ID);
  m.setU64(DE_CHUNK_OBJECTID, FIRST_CHUNK_TREE_OBJECTID);
  m.setU64(DE_CHUNK_OFFSET, chunkStart);
  m.setU64(DE_LENGTH, length);
  out.set(chunkTreeUuid, DE_CHUNK_TREE_UUID);
  return out;
}

function encodeBlockGroup(usedBytes: number, type: number): Uint8Array {
  const out = new Uint8Array(BLOCK_GROUP_ITEM_BYTES);
  const m = new FsMemory(out.buffer);
  m.setU64(BG_USED, usedBytes);
  m.setU64(BG_CHUNK_OBJECTID, FIRST_CHUNK_TREE_OBJECTID);
  m.setU64(BG_FLAGS, type);
  return out;
}

/** The superblock's sys_chunk_array: (disk key, chunk item) per system chunk. */
export function encodeSysChunkArray(chunks: ChunkDesc[], devUuid: Uint8Array): Uint8Array {
  const parts = chunks.map((c) => {
    const item = encodeChunkItem(c, devUuid);
    const out = new Uint8Array(KEY_BYTES + item.length);
    new FsMemory(out.buffer).setKey(0, key(FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, c.start));
    out.set(item, KEY_BYTES);
    return out;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The chunks of a sys_chunk_array, or why it cannot be read. */
export function decodeSysChunkArray(bytes: Uint8Array, devUuid: Uint8Array): ChunkDesc[] | string {
  const copy = bytes.slice();
  const m = new FsMemory(copy.buffer);
  const out: ChunkDesc[] = [];
  let at = 0;
  while (at < copy.length) {
    if (at + KEY_BYTES + CHUNK_ITEM_BYTES > copy.length) {
      return 'sys_chunk_array: a truncated entry';
    }
    const k = m.key(at);
    if (k.objectid !== FIRST_CHUNK_TREE_OBJECTID || k.type !== CHUNK_ITEM) {
      return `sys_chunk_array: key (${k.objectid} ${k.type} ${k.offset})`;
    }
    const n = m.u16(at + KEY_BYTES + CK_NUM_STRIPES);
    const size = CHUNK_ITEM_BYTES + n * CHUNK_STRIPE_BYTES;
    if (at + KEY_BYTES + size > copy.length) return 'sys_chunk_array: a truncated chunk';
    const desc = decodeChunkItem(m, k.offset, at + KEY_BYTES, size, devUuid);
    if (typeof desc === 'string') return `sys_chunk_array: ${desc}`;
    out.push(desc);
    at += KEY_BYTES + size;
  }
  return out;
}

/** What ChunkMap needs of the kernel. */
interface ChunkHost {
  readonly core: CoreExports;
  readonly m: FsMemory;
  readonly fsStateAddr: number;
  readonly totalBytes: number;
  readonly nodeBytes: number;
  readonly metadataCopies: number;
  readonly origin: 'pmcow' | 'btrfs';
  readonly chunkTreeUuid: Uint8Array;
  readonly fsid: Uint8Array;
  devUuid: Uint8Array;
  chunkTree: BTree;
  devTree: BTree;
  extentTree: BTree;
}

/** The core's chunk table, read and written in btrfs's items. */
export class ChunkMap {
  /** Bytes of a grid cell: a chunk pmcow makes. */
  readonly chunkBytes: number;
  private readonly table: number;
  /** The superblock-stripe ranges (logical) of each chunk the image placed, by chunk start. */
  private readonly excluded = new Map<number, Array<[number, number]>>();

  constructor(private readonly k: ChunkHost) {
    const m = k.m, base = k.fsStateAddr;
    this.chunkBytes = m.u32(base + F_CHUNK_BYTES);
    this.table = m.u32(base + F_CHUNKS);
  }

  /** Chunks in the table (grid cells and chunks the image placed). */
  get count(): number { return this.k.m.u32(this.k.fsStateAddr + F_CHUNK_COUNT); }
  private entry(c: number): number { return this.table + c * CHUNK_ENTRY_BYTES; }
  start(c: number): number { return this.k.m.u32(this.entry(c) + CE_START) * SECTOR_BYTES; }
  /** Logical bytes of chunk `c`: its block group (an untyped cell: all of it). */
  length(c: number): number { return this.k.m.u32(this.entry(c) + CE_SECTORS) * SECTOR_BYTES; }
  kind(c: number): number { return this.k.m.u8At(this.entry(c) + CE_KIND); }
  /** Is chunk `c` a cell of pmcow's grid (else the image placed it)? */
  onGrid(c: number): boolean { return this.k.m.u8At(this.entry(c) + CE_GRID) !== 0; }
  /** The kind the on-device items say (0: none). */
  itemsKind(c: number): number { return this.k.m.u8At(this.entry(c) + CE_ITEMS); }
  private setItems(c: number, kind: number, usedSectors: number): void {
    this.k.m.setU8(this.entry(c) + CE_ITEMS, kind);
    this.k.m.setU32(this.entry(c) + CE_USED, usedSectors);
  }
  private itemsUsed(c: number): number { return this.k.m.u32(this.entry(c) + CE_USED); }

  /** Is `kind` a tree kind whose chunks are dup (two halves)? */
  private dup(kind: number): boolean { return kind !== CHUNK_DATA && this.k.metadataCopies === 2; }

  /** Chunk `c` typed `kind`, as btrfs's items describe it. */
  desc(c: number, kind: number): ChunkDesc {
    const start = this.start(c);
    if (!this.onGrid(c)) {
      const m = this.k.m, e = this.entry(c), copies = m.u8At(e + CE_COPIES);
      const stripes = [m.u32(e + CE_STRIPE0) * SECTOR_BYTES];
      if (copies === 2) stripes.push(m.u32(e + CE_STRIPE1) * SECTOR_BYTES);
      return { start, length: this.length(c),
        type: copies === 2 ? kind | BLOCK_GROUP_DUP : kind, stripes };
    }
    if (!this.dup(kind)) return { start, length: this.chunkBytes, type: kind, stripes: [start] };
    const half = this.chunkBytes / 2;
    return { start, length: half, type: kind | BLOCK_GROUP_DUP, stripes: [start, start + half] };
  }

  /** The system chunks (for the superblock's sys_chunk_array). */
  systemChunks(): ChunkDesc[] {
    const out: ChunkDesc[] = [];
    for (let c = 0; c < this.count; c++) {
      if (this.itemsKind(c) === CHUNK_SYSTEM) out.push(this.desc(c, CHUNK_SYSTEM));
    }
    return out;
  }

  /** Bytes of the device in dev extents: every stripe of each block group. */
  devBytesUsed(): number {
    let n = 0;
    for (let c = 0; c < this.count; c++) {
      const items = this.itemsKind(c);
      if (items === CHUNK_FREE) continue;
      const d = this.desc(c, items);
      n += d.length * d.stripes.length;
    }
    return n;
  }

  /** Bytes the block group items say are used (the superblock's bytes_used). */
  usedBytes(): number {
    let n = 0;
    for (let c = 0; c < this.count; c++) {
      if (this.itemsKind(c) !== CHUNK_FREE) n += this.itemsUsed(c) * SECTOR_BYTES;
    }
    return n;
  }

  /**
   * Bring the items in line with the table: give back empty chunks, write the items of
   * new ones, delete those of chunks given back, update used bytes. True when anything
   * changed (the caller runs delayed refs and asks again, until nothing does).
   */
  reconcile(): boolean {
    const core = this.k.core;
    let changed = false;
    const devBefore = this.devBytesUsed();
    for (let c = 0; c < this.count; c++) {
      let kind = this.kind(c);
      if (kind === CHUNK_RESERVED) continue;
      if (this.mappedData(c)) {
        if (this.reconcileMappedData(c)) changed = true;
        continue;
      }
      if (kind !== CHUNK_FREE
        && check(core.fs_chunk_release_if_empty(c), 'release a chunk') === 1) kind = CHUNK_FREE;
      const items = this.itemsKind(c);
      if (kind === CHUNK_FREE && items === CHUNK_FREE) continue;
      const used = kind === CHUNK_FREE ? 0
        : check(core.fs_chunk_used_sectors(c), 'chunk used space');
      if (items === kind) {
        if (used === this.itemsUsed(c)) continue;
        const d = this.desc(c, kind);
        this.k.extentTree.update(key(d.start, BLOCK_GROUP_ITEM, d.length),
          encodeBlockGroup(used * SECTOR_BYTES, d.type));
        this.setItems(c, kind, used);
        changed = true;
        continue;
      }
      if (items !== CHUNK_FREE) this.deleteItems(this.desc(c, items));
      if (kind !== CHUNK_FREE) this.insertItems(this.desc(c, kind), used);
      this.setItems(c, kind, used);
      changed = true;
    }
    const devAfter = this.devBytesUsed();
    if (devAfter !== devBefore) {
      const k = this.k;
      k.chunkTree.update(key(DEV_ITEMS_OBJECTID, DEV_ITEM, DEVICE_ID),
        encodeDevItem(k.totalBytes, devAfter, k.devUuid, k.fsid));
    }
    return changed;
  }

  private insertItems(d: ChunkDesc, usedSectors: number): void {
    const k = this.k;
    k.chunkTree.insert(key(FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, d.start),
      encodeChunkItem(d, k.devUuid));
    for (const stripe of d.stripes) {
      k.devTree.insert(key(DEVICE_ID, DEV_EXTENT, stripe),
        encodeDevExtent(d.start, d.length, k.chunkTreeUuid));
    }
    k.extentTree.insert(key(d.start, BLOCK_GROUP_ITEM, d.length),
      encodeBlockGroup(usedSectors * SECTOR_BYTES, d.type));
  }

  private deleteItems(d: ChunkDesc): void {
    const k = this.k;
    k.chunkTree.delete(key(FIRST_CHUNK_TREE_OBJECTID, CHUNK_ITEM, d.start));
    for (const stripe of d.stripes) k.devTree.delete(key(DEVICE_ID, DEV_EXTENT, stripe));
    k.extentTree.delete(key(d.start, BLOCK_GROUP_ITEM, d.length));
  }

  /** mkfs: the chunk tree's device item (the block groups follow at the first commit). */
  createDeviceItem(): void {
    const k = this.k;
    k.chunkTree.insert(key(DEV_ITEMS_OBJECTID, DEV_ITEM, DEVICE_ID),
      encodeDevItem(k.totalBytes, 0, k.devUuid, k.fsid));
  }

  /** Lay the core's table out for `chunks` (chunk-layout.ts); every chunk's items not yet read. */
  private layOut(chunks: ChunkDesc[]): void {
    if (this.typeGridCells(chunks)) return;
    const k = this.k;
    const plan = planChunkTable({ chunks, totalBytes: k.totalBytes, cellBytes: this.chunkBytes,
      nodeBytes: k.nodeBytes, metadataCopies: k.metadataCopies, adopting: k.origin === 'btrfs' });
    check(k.core.fs_chunks_reset(), 'reset the chunk table');
    this.excluded.clear();
    const sectors = (bytes: number): number => bytes / SECTOR_BYTES;
    for (const e of plan) {
      const excludedBytes = e.excluded.reduce((n, [from, to]) => n + to - from, 0);
      const result = k.core.fs_chunk_add(sectors(e.start), sectors(e.length), e.kind,
        sectors(e.stripes[0] ?? e.start), sectors(e.stripes[1] ?? 0), e.stripes.length,
        e.grid ? 1 : 0, sectors(excludedBytes));
      if (result < 0) throw new FsError('EUCLEAN', `chunk ${e.start}: the chunk table refuses it`);
      if (e.excluded.length) this.excluded.set(e.start, e.excluded);
    }
  }

  /**
   * pmcow's own layout, the mount's common case (a crash explorer mounts thousands of
   * images a second): every chunk is a grid cell of its kind and the table is still the
   * grid fs_format laid out, so the cells are typed in place. False (nothing changed) when
   * not: the plan lays the table out.
   */
  private typeGridCells(chunks: ChunkDesc[]): boolean {
    const k = this.k,
      input = { chunks, totalBytes: k.totalBytes, cellBytes: this.chunkBytes,
        nodeBytes: k.nodeBytes, metadataCopies: k.metadataCopies };
    const cells = cellCount(k.totalBytes, this.chunkBytes);
    if (this.count !== cells) return false;
    const want = new Map<number, number>();
    for (const d of chunks) {
      const c = gridCell(d, input);
      if (c < 0 || want.has(c)) return false;
      want.set(c, d.type & ~BLOCK_GROUP_DUP);
    }
    for (let c = 0; c < cells; c++) {
      if (!this.onGrid(c)
        || this.start(c) !== SYSTEM_AREA_BYTES + c * this.chunkBytes) return false;
      const kind = this.kind(c);
      if (kind !== CHUNK_FREE && kind !== CHUNK_RESERVED && kind !== want.get(c)) return false;
      if (kind === CHUNK_RESERVED && want.has(c)) return false;
    }
    for (const [c, kind] of want) {
      if (this.kind(c) === CHUNK_FREE) {
        check(k.core.fs_chunk_type_cell(c, kind), `type chunk ${this.start(c)}`);
      }
    }
    this.excluded.clear();
    return true;
  }

  /** Logical ranges of chunk `c` over a superblock copy (never free space). */
  excludedRanges(c: number): Array<[number, number]> {
    return this.excluded.get(this.start(c)) ?? [];
  }

  /**
   * Mount, step 1: the system chunks of the superblock's sys_chunk_array, so the chunk tree
   * can be read.
   */
  loadSystemChunks(chunks: ChunkDesc[]): void {
    for (const d of chunks) {
      if ((d.type & ~BLOCK_GROUP_DUP) !== CHUNK_SYSTEM) {
        throw new FsError('EUCLEAN', `sys_chunk_array: a ${kindName(d.type)} chunk`);
      }
    }
    this.systemArray = chunks;
    this.layOut(chunks);
  }
  private systemArray: ChunkDesc[] = [];

  /**
   * Mount, step 2: every chunk from the chunk tree (each system chunk also in the
   * sys_chunk_array, and no other) and the device item; then the table says what the items
   * say, and every tree block can be read.
   */
  loadChunkTree(superDevItem?: Uint8Array): void {
    const k = this.k, m = k.m;
    const chunks: ChunkDesc[] = [];
    let devBytesUsed = -1;
    k.chunkTree.walkRange(key(0, 0, 0), key(Number.MAX_SAFE_INTEGER, 255, Number.MAX_SAFE_INTEGER),
      (kk, addr, size) => {
      if (kk.type === DEV_ITEM) {
        if (kk.objectid !== DEV_ITEMS_OBJECTID || kk.offset !== DEVICE_ID) {
          throw new FsError('EOPNOTSUPP', `chunk tree: device ${kk.offset} (pmcow has one device)`);
        }
        devBytesUsed = m.u64(addr + DI_BYTES_USED);
        // The superblock's copy of the device item is the one btrfs-progs sizes the device
        // from: one that differs from the chunk tree's is damage (btrfs writes both from the
        // same device at every commit).
        if (superDevItem
          && (size !== DEV_ITEM_BYTES
            || !sameBytes(m.u8.subarray(addr, addr + size), superDevItem))) {
          throw new FsError('EUCLEAN',
            'the superblock\'s device item differs from the chunk tree\'s');
        }
        return true;
      }
      if (kk.type !== CHUNK_ITEM) {
        throw new FsError('EUCLEAN', `chunk tree: an item of type ${kk.type}`);
      }
      const d = decodeChunkItem(m, kk.offset, addr, size, k.devUuid);
      if (typeof d === 'string') throw new FsError('EUCLEAN', `chunk tree: ${d}`);
      chunks.push(d);
      return true;
    });
    const same = (a: ChunkDesc, b: ChunkDesc): boolean =>
      a.start === b.start && a.length === b.length && a.type === b.type
        && a.stripes.join() === b.stripes.join();
    for (const d of chunks) {
      const inArray = this.systemArray.some((s) => same(s, d));
      if (((d.type & ~BLOCK_GROUP_DUP) === CHUNK_SYSTEM) !== inArray) {
        throw new FsError('EUCLEAN',
          `chunk ${d.start}: the chunk tree and the sys_chunk_array disagree on it`);
      }
    }
    for (const s of this.systemArray) {
      if (!chunks.some((d) => same(s, d))) {
        throw new FsError('EUCLEAN', `system chunk ${s.start} is missing from the chunk tree`);
      }
    }
    this.layOut(chunks);
    this.devItemBytesUsed = devBytesUsed;
  }
  private devItemBytesUsed = -1;

  /**
   * Mount, step 3 (the extent tree readable): every block group item matches a chunk of its
   * type, every chunk has one, and the device item counts the dev extents.
   */
  loadBlockGroups(): void {
    const k = this.k, m = k.m;
    const devBytesUsed = this.devItemBytesUsed;
    const byStart = new Map<number, number>();
    for (let c = 0; c < this.count; c++) {
      const kind = this.kind(c);
      if (kind !== CHUNK_FREE && kind !== CHUNK_RESERVED) {
        byStart.set(this.start(c), c);
        this.setItems(c, kind, 0);
      }
    }
    const groups = new Set<number>();
    k.extentTree.walkRange(key(0, 0, 0),
      key(Number.MAX_SAFE_INTEGER, 255, Number.MAX_SAFE_INTEGER), (kk, addr) => {
      if (kk.type !== BLOCK_GROUP_ITEM) return true;
      const type = m.u64(addr + BG_FLAGS);
      const c = byStart.get(kk.objectid);
      const want = c === undefined ? null : this.desc(c, this.kind(c));
      if (c === undefined || !want || want.length !== kk.offset
        || want.type !== type || groups.has(c)) {
        throw new FsError('EUCLEAN',
          `extent tree: block group ${kk.objectid}+${kk.offset} (${kindName(type)}) has no chunk`
            + ` of its type`);
      }
      this.setItems(c, this.kind(c), m.u64(addr + BG_USED) / SECTOR_BYTES);
      groups.add(c);
      return true;
    });
    for (const c of byStart.values()) {
      if (!groups.has(c)) {
        throw new FsError('EUCLEAN', `chunk ${this.start(c)} has no block group item`);
      }
    }
    if (devBytesUsed !== this.devBytesUsed()) {
      throw new FsError('EUCLEAN',
        `chunk tree: the device item says ${devBytesUsed} bytes in dev extents, its chunks take`
          + ` ${this.devBytesUsed()}`);
    }
  }

  /** The chunk whose block group holds byte `bytenr`, or -1. */
  chunkAt(bytenr: number): number {
    let lo = 0, hi = this.count - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.start(mid) <= bytenr) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found >= 0 && bytenr < this.start(found) + this.length(found) ? found : -1;
  }

  /**
   * A data chunk not mapped 1:1 (an adoption is emptying it; no free space in the core's
   * table): its block group's used bytes are the extents the extent tree still has in it,
   * so that every commit of the adoption leaves an image btrfs check accepts. True when
   * the item changed.
   */
  private reconcileMappedData(c: number): boolean {
    if (this.itemsKind(c) !== CHUNK_DATA) return false;
    let usedBytes = 0;
    const start = this.start(c), end = start + this.length(c);
    this.k.extentTree.walkRange(key(start, EXTENT_ITEM, 0),
      key(end - 1, EXTENT_ITEM, Number.MAX_SAFE_INTEGER), (kk) => {
      if (kk.type === EXTENT_ITEM && kk.objectid >= start && kk.objectid < end) {
        usedBytes += kk.offset;
      }
      return true;
    });
    if (usedBytes / SECTOR_BYTES === this.itemsUsed(c)) return false;
    const d = this.desc(c, CHUNK_DATA);
    this.k.extentTree.update(key(d.start, BLOCK_GROUP_ITEM, d.length),
      encodeBlockGroup(usedBytes, d.type));
    this.setItems(c, CHUNK_DATA, usedBytes / SECTOR_BYTES);
    return true;
  }

  /** The device byte of the first stripe of chunk `c`. */
  firstStripe(c: number): number { return this.k.m.u32(this.entry(c) + CE_STRIPE0) * SECTOR_BYTES; }

  /** Is chunk `c` a data chunk not mapped 1:1 (an adopted image's; chunk-layout.ts)? */
  mappedData(c: number): boolean {
    return this.kind(c) === CHUNK_DATA && this.firstStripe(c) !== this.start(c);
  }

  /**
   * Adoption: chunk `c`, a data chunk not mapped 1:1 whose files' data has moved out, leaves
   * the items (its chunk item, dev extents, block group; the device item's bytes used). The
   * mount that follows lays the table out without it.
   */
  removeMappedData(c: number): void {
    if (!this.mappedData(c)) {
      throw new FsError('EINVAL', `chunk ${this.start(c)} is not a data chunk mapped elsewhere`);
    }
    this.deleteItems(this.desc(c, CHUNK_DATA));
    this.setItems(c, CHUNK_FREE, 0);
    const k = this.k;
    k.chunkTree.update(key(DEV_ITEMS_OBJECTID, DEV_ITEM, DEVICE_ID),
      encodeDevItem(k.totalBytes, this.devBytesUsed(), k.devUuid, k.fsid));
  }
}

