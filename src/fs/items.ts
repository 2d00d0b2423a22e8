// Encoding and decoding of item bodies (see format.ts for the layouts).
import { FsMemory } from './memory.js';
import {
  INODE_ITEM_BYTES, INODE_GENERATION, INODE_SIZE, INODE_NBYTES, INODE_NLINK, INODE_MODE,
  INODE_FLAGS, INODE_TRANSID, FILE_EXTENT_BYTES, FE_GENERATION, FE_TYPE, FE_RAM_BYTES,
  FE_DISK_BYTENR, FE_DISK_BYTES, FE_OFFSET, FE_BYTES, ROOT_ITEM_BYTES, RI_BYTENR, RI_LEVEL,
  RI_GENERATION, RI_FLAGS, RI_LAST_SNAPSHOT, RI_ROOT_DIR, RI_REFS, RI_GENERATION_V2, RI_OTRANSID,
  DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_TRANSID, DIR_ENTRY_NAME_LENGTH, DIR_ENTRY_KIND, DIR_KIND_DIR,
  DIR_KIND_SUBVOLUME, ROOT_ITEM, MODE_DIR, INODE_REF_HEADER_BYTES, ROOT_REF_HEADER_BYTES, type Key,
} from './format.js';
import {
  RI_UUID, RI_CTRANSID, DIR_ENTRY_DATA_LENGTH, EXTENT_TYPE_INLINE, INODE_RDEV,
} from '../core/abi.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const nameBytes = (name: string): Uint8Array => encoder.encode(name);

/**
 * Little-endian field reads straight from an item's bytes. No DataView: asking a small
 * typed array for its buffer makes V8 materialise one, which cost more than the decode.
 */
class ItemReader {
  constructor(private readonly b: Uint8Array) {}
  u8At(at: number): number { return this.b[at] ?? 0; }
  u16(at: number): number { return this.u8At(at) | (this.u8At(at + 1) << 8); }
  u32(at: number): number { return (this.u16(at) | (this.u16(at + 2) << 16)) >>> 0; }
  u64(at: number): number { return this.u32(at) + this.u32(at + 4) * 4294967296; }
  key(at: number): Key {
    return { objectid: this.u64(at), type: this.u8At(at + 8), offset: this.u64(at + 9) };
  }
}

function view(bytes: Uint8Array): ItemReader {
  return new ItemReader(bytes);
}

export interface InodeItem {
  generation: number; size: number; nbytes: number; nlink: number; mode: number;
  flags: number; transid: number;
  /** A device's number (mknod); absent: 0. Carried through every rewrite of the item. */
  rdev?: number;
}

/** btrfs's inode item: uid, gid, times and the rest stay zero (pmcow keeps no clock). */
export function encodeInode(i: InodeItem): Uint8Array {
  const out = new Uint8Array(INODE_ITEM_BYTES);
  writeInode(new FsMemory(out.buffer), 0, i);
  return out;
}

function writeInode(m: FsMemory, at: number, i: InodeItem): void {
  m.setU64(at + INODE_GENERATION, i.generation); m.setU64(at + INODE_SIZE,
    i.size); m.setU64(at + INODE_NBYTES, i.nbytes);
  m.setU32(at + INODE_NLINK, i.nlink); m.setU32(at + INODE_MODE,
    i.mode); m.setU64(at + INODE_FLAGS, i.flags);
  m.setU64(at + INODE_TRANSID, i.transid); m.setU64(at + INODE_RDEV, i.rdev ?? 0);
}

export function decodeInode(b: Uint8Array): InodeItem {
  const m = view(b);
  return {
    generation: m.u64(INODE_GENERATION), size: m.u64(INODE_SIZE), nbytes: m.u64(INODE_NBYTES),
    nlink: m.u32(INODE_NLINK), mode: m.u32(INODE_MODE), flags: m.u64(INODE_FLAGS),
    transid: m.u64(INODE_TRANSID),
    rdev: m.u64(INODE_RDEV),
  };
}

export interface FileExtent {
  generation: number; type: number; diskBytenr: number; diskBytes: number;
    offset: number; bytes: number;
}

export function encodeFileExtent(e: FileExtent): Uint8Array {
  const out = new Uint8Array(FILE_EXTENT_BYTES);
  const m = new FsMemory(out.buffer);
  m.setU64(FE_GENERATION, e.generation); m.setU64(FE_RAM_BYTES,
    e.diskBytes); m.setU8(FE_TYPE, e.type);
  m.setU64(FE_DISK_BYTENR, e.diskBytenr);
  m.setU64(FE_DISK_BYTES, e.diskBytes); m.setU64(FE_OFFSET, e.offset); m.setU64(FE_BYTES, e.bytes);
  return out;
}

/**
 * A file extent item. An inline one (a symlink's target; shorter than a regular item when
 * the target is) maps no extent: diskBytenr 0, bytes its ram bytes.
 */
export function decodeFileExtent(b: Uint8Array): FileExtent {
  const m = view(b);
  if (b[FE_TYPE] === EXTENT_TYPE_INLINE || b.length < FILE_EXTENT_BYTES) {
    return { generation: m.u64(FE_GENERATION), type: EXTENT_TYPE_INLINE, diskBytenr: 0,
      diskBytes: 0, offset: 0, bytes: m.u64(FE_RAM_BYTES) };
  }
  return {
    generation: m.u64(FE_GENERATION), type: m.u8At(FE_TYPE), diskBytenr: m.u64(FE_DISK_BYTENR),
    diskBytes: m.u64(FE_DISK_BYTES), offset: m.u64(FE_OFFSET), bytes: m.u64(FE_BYTES),
  };
}

export interface RootItem {
  bytenr: number; level: number; generation: number; flags: number;
    lastSnapshot: number; rootDir: number;
  /**
   * The subvolume's uuid and (a snapshot's) its source's; 16 bytes each, zero when absent
   * (the extent, dev and csum trees').
   */
  uuid?: Uint8Array; parentUuid?: Uint8Array;
  /** The transaction that created the subvolume (btrfs's otransid; lastSnapshot when absent). */
  otransid?: number;
}

/** btrfs_root_item's parent_uuid (after uuid at RI_UUID). */
const RI_PARENT_UUID = RI_UUID + 16;

/**
 * btrfs's root item: its inode as mkfs.btrfs writes it (a directory of size 3, one link,
 * generation 1, nbytes a node), refs 1, generation_v2 = generation (the fields after it
 * count), the subvolume's uuid and its source's (a snapshot's), the creating transaction
 * and the last change's; times zero.
 */
export function encodeRootItem(r: RootItem, nodeBytes: number): Uint8Array {
  const out = new Uint8Array(ROOT_ITEM_BYTES);
  const m = new FsMemory(out.buffer);
  writeInode(m, 0, { generation: 1, size: 3, nbytes: nodeBytes, nlink: 1, mode: MODE_DIR,
    flags: 0, transid: 0 });
  m.setU64(RI_BYTENR, r.bytenr); m.setU8(RI_LEVEL, r.level); m.setU64(RI_GENERATION, r.generation);
  m.setU64(RI_FLAGS, r.flags); m.setU64(RI_LAST_SNAPSHOT,
    r.lastSnapshot); m.setU64(RI_ROOT_DIR, r.rootDir);
  m.setU32(RI_REFS, 1); m.setU64(RI_GENERATION_V2, r.generation); m.setU64(RI_OTRANSID,
    r.otransid ?? r.lastSnapshot);
  // ctransid: the last change, as the root block's generation says.
  m.setU64(RI_CTRANSID, r.generation);
  if (r.uuid) out.set(r.uuid, RI_UUID);
  if (r.parentUuid) out.set(r.parentUuid, RI_PARENT_UUID);
  return out;
}

export function decodeRootItem(b: Uint8Array): RootItem {
  const m = view(b);
  return {
    bytenr: m.u64(RI_BYTENR), level: m.u8At(RI_LEVEL), generation: m.u64(RI_GENERATION),
    flags: m.u64(RI_FLAGS), lastSnapshot: m.u64(RI_LAST_SNAPSHOT), rootDir: m.u64(RI_ROOT_DIR),
    uuid: b.slice(RI_UUID, RI_UUID + 16), parentUuid: b.slice(RI_PARENT_UUID, RI_PARENT_UUID + 16),
    otransid: m.u64(RI_OTRANSID),
  };
}

/**
 * A directory entry; `kind` DIR_KIND_SUBVOLUME names an entry whose location is a
 * subvolume's ROOT_ITEM.
 */
export interface DirEntry { location: Key; kind: number; name: string; transid?: number }

/** btrfs's location offset of a subvolume's entry: (u64)-1, past what a Key holds. */
const ROOT_LOCATION_OFFSET = 0xffffffffffffffffn;

export function encodeDirEntries(entries: DirEntry[]): Uint8Array {
  const names = entries.map((e) => nameBytes(e.name));
  const out = new Uint8Array(names.reduce((n, b) => n + DIR_ENTRY_HEADER_BYTES + b.length, 0));
  const m = new FsMemory(out.buffer);
  let at = 0;
  entries.forEach((e, i) => {
    if (e.kind === DIR_KIND_SUBVOLUME) {
      // btrfs: a subvolume's entry is a directory's whose location is (id, ROOT_ITEM, -1).
      m.setU64(at, e.location.objectid); m.setU8(at + 8, ROOT_ITEM); m.dv.setBigUint64(at + 9,
        ROOT_LOCATION_OFFSET, true);
    } else {
      m.setKey(at, e.location);
    }
    m.setU64(at + DIR_ENTRY_TRANSID, e.transid ?? 0);
    m.setU16(at + DIR_ENTRY_NAME_LENGTH, names[i]!.length);
    m.setU8(at + DIR_ENTRY_KIND, e.kind === DIR_KIND_SUBVOLUME ? DIR_KIND_DIR : e.kind);
    out.set(names[i]!, at + DIR_ENTRY_HEADER_BYTES);
    at += DIR_ENTRY_HEADER_BYTES + names[i]!.length;
  });
  return out;
}

export function decodeDirEntries(b: Uint8Array): DirEntry[] {
  const m = view(b);
  const out: DirEntry[] = [];
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= b.length;) {
    const length = m.u16(at + DIR_ENTRY_NAME_LENGTH);
    const locationType = m.u8At(at + 8);
    const subvolume = locationType === ROOT_ITEM;
    out.push({
      location: subvolume ? { objectid: m.u64(at), type: ROOT_ITEM, offset: 0 } : m.key(at),
      kind: subvolume ? DIR_KIND_SUBVOLUME : m.u8At(at + DIR_ENTRY_KIND),
      name: decoder.decode(b.subarray(at + DIR_ENTRY_HEADER_BYTES,
        at + DIR_ENTRY_HEADER_BYTES + length)),
      transid: m.u64(at + DIR_ENTRY_TRANSID),
    });
    // (A directory entry carries no data: the tree checker refuses one that does.)
    at += DIR_ENTRY_HEADER_BYTES + length + m.u16(at + DIR_ENTRY_DATA_LENGTH);
  }
  return out;
}

interface InodeRef { index: number; name: string }

export function encodeInodeRefs(refs: InodeRef[]): Uint8Array {
  const names = refs.map((r) => nameBytes(r.name));
  const out = new Uint8Array(names.reduce((n, b) => n + INODE_REF_HEADER_BYTES + b.length, 0));
  const m = new FsMemory(out.buffer);
  let at = 0;
  refs.forEach((r, i) => {
    m.setU64(at, r.index); m.setU16(at + 8, names[i]!.length);
    out.set(names[i]!, at + INODE_REF_HEADER_BYTES);
    at += INODE_REF_HEADER_BYTES + names[i]!.length;
  });
  return out;
}

export function decodeInodeRefs(b: Uint8Array): InodeRef[] {
  const m = view(b);
  const out: InodeRef[] = [];
  for (let at = 0; at + INODE_REF_HEADER_BYTES <= b.length;) {
    const length = m.u16(at + 8);
    out.push({ index: m.u64(at),
      name: decoder.decode(b.subarray(at + INODE_REF_HEADER_BYTES,
        at + INODE_REF_HEADER_BYTES + length)) });
    at += INODE_REF_HEADER_BYTES + length;
  }
  return out;
}

interface RootRef { dirIno: number; index: number; name: string }

export function encodeRootRef(r: RootRef): Uint8Array {
  const name = nameBytes(r.name);
  const out = new Uint8Array(ROOT_REF_HEADER_BYTES + name.length);
  const m = new FsMemory(out.buffer);
  m.setU64(0, r.dirIno); m.setU64(8, r.index); m.setU16(16, name.length);
  out.set(name, ROOT_REF_HEADER_BYTES);
  return out;
}

export function decodeRootRef(b: Uint8Array): RootRef {
  const m = view(b);
  const length = m.u16(16);
  return { dirIno: m.u64(0), index: m.u64(8),
    name: decoder.decode(b.subarray(ROOT_REF_HEADER_BYTES, ROOT_REF_HEADER_BYTES + length)) };
}
