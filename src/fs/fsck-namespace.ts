// fsck of one subvolume's namespace (btrfs check's "checking fs roots"): every name is a
// DIR_ITEM, a DIR_INDEX and (for an inode) an INODE_REF that agree, link counts match the
// names, and each inode's size and nbytes match its items, by kind. Items are read where
// the walk finds them (no copies): fsck runs on every crash image the explorer mounts,
// and the copies and decoded names were a third of its time.
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { decodeFileExtent } from './items.js';
import {
  keyText, key, EXTENT_DATA, INODE_ITEM, INODE_REF, DIR_ITEM, DIR_INDEX, ROOT_ITEM, MAX_KEY_VALUE,
  isDirMode, isFileMode, isSymlinkMode, NAME_HASH_SEED, ORPHAN_OBJECTID, type Key,
  EXTENT_TYPE_INLINE, FILE_EXTENT_INLINE_BYTES, XATTR_ITEM, DIR_ENTRY_DATA_LENGTH,
} from './format.js';
import type { FsMemory } from './memory.js';
import { kindOfMode, entryKindOfMode, isSpecialKind } from './special.js';
import { DIR_ENTRY_ITEM, DIR_ENTRY_INDEX, type SubvolumeEntry } from './fsck-root-refs.js';
import {
  INODE_NLINK, INODE_MODE, INODE_NBYTES, INODE_GENERATION, INODE_TRANSID, INODE_SIZE,
  DIR_ENTRY_KIND, INODE_REF_HEADER_BYTES, DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_NAME_LENGTH,
  KEY_OBJECTID, KEY_TYPE,
} from '../core/abi.js';

/** An inode's fields the checks compare. */
interface InodeFields { nlink: number; mode: number; nbytes: number; size: number }

/** A DIR_INDEX entry: its directory, index, name (as nameId), target and kind. */
interface IndexEntry {
  dir: number; index: number; name: string; target: number; inode: boolean; kind: number;
}

/** An inline extent item: its key offset, ram bytes, and whether its last byte is a NUL. */
interface InlineItem { offset: number; bytes: number; nulEnded: boolean }

/**
 * What checkNamespace's walk found per inode: mapped bytes, inline item, any extent item
 * (its end), directory name bytes.
 */
interface InodeItems {
  mapped: Map<number, number>; inline: Map<number, InlineItem>; extentItems: Map<number, number>;
  dirNameBytes: Map<number, number>;
}

/** The walk of one subvolume's items: what it has found so far. */
interface NamespaceWalk {
  k: Kernel;
  m: FsMemory;
  sv: Subvolume;
  say: (p: string) => void;
  subvolumeEntries: SubvolumeEntry[];
  /** Names of each inode by its INODE_REFs ('..' aside). */
  links: Map<number, number>;
  inodes: Map<number, InodeFields>;
  /** The end of each inode's last extent item. */
  lastExtentEnd: Map<number, number>;
  mapped: Map<number, number>;
  /** inode -> its inline extent item */
  inlineItems: Map<number, InlineItem>;
  // btrfs check's name triples: every name is a DIR_ITEM, a DIR_INDEX and (for an inode)
  // an INODE_REF that agree (names as crc32c and length: no strings on this path).
  /** "ino dir index name" */
  inodeRefs: Set<string>;
  indexes: IndexEntry[];
  /** "dir name" */
  dirItems: Set<string>;
  dirNameBytes: Map<number, number>;
}

/** Directory entries, back references and link counts of one subvolume. */
export function checkNamespace(k: Kernel, sv: Subvolume, say: (p: string) => void,
  subvolumeEntries: SubvolumeEntry[]): void {
  const w: NamespaceWalk = {
    k, m: k.m, sv, say, subvolumeEntries, links: new Map(), inodes: new Map(),
    lastExtentEnd: new Map(), mapped: new Map(), inlineItems: new Map(), inodeRefs: new Set(),
    indexes: [], dirItems: new Set(), dirNameBytes: new Map(),
  };
  const last = key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE);
  sv.tree.walkRange(key(0, 0, 0), last, (kk, addr, size) => {
    if (kk.type === INODE_ITEM) noteInode(w, kk.objectid, addr);
    else if (kk.type === INODE_REF) noteInodeRef(w, kk, addr, size);
    else if (kk.type === DIR_ITEM) noteDirItem(w, kk.objectid, addr, size);
    else if (kk.type === DIR_INDEX) noteDirIndex(w, kk, addr, size);
    else if (kk.type === EXTENT_DATA) noteFileExtent(w, kk, addr, size);
    else if (kk.type === XATTR_ITEM) {
      checkXattrItem(k, sv, kk, addr, size, w.inodes.has(kk.objectid), say);
    }
    return true;
  });
  checkNameTriples(w);
  checkLinks(w);
}

/** A name's identity without a string of it: its crc32c and its length. */
function nameId(k: Kernel, at: number, length: number): string {
  return `${k.device.core.csum_crc32c_update(NAME_HASH_SEED, at, length) >>> 0}:${length}`;
}

function noteInode(w: NamespaceWalk, ino: number, addr: number): void {
  const { m, k } = w;
  w.inodes.set(ino, {
    nlink: m.u32(addr + INODE_NLINK), mode: m.u32(addr + INODE_MODE),
    nbytes: m.u64(addr + INODE_NBYTES), size: m.u64(addr + INODE_SIZE),
  });
  // btrfs check's "invalid inode generation or transid": none past the running transaction.
  const newest = k.generation + 1;
  const generation = m.u64(addr + INODE_GENERATION), transid = m.u64(addr + INODE_TRANSID);
  if (generation > newest || transid > newest) {
    w.say(`subvolume ${w.sv.id}: inode ${ino} has generation ${generation}, transid ${transid}, `
      + `past the file system's ${k.generation}`);
  }
}

function noteInodeRef(w: NamespaceWalk, kk: Key, addr: number, size: number): void {
  const { m } = w;
  const ino = kk.objectid;
  w.links.set(ino, (w.links.get(ino) ?? 0) + countRefsButParent(m, addr, size));
  for (let at = 0; at + INODE_REF_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + 8);
    if (at + INODE_REF_HEADER_BYTES + length > size) break;
    const name = nameId(w.k, addr + at + INODE_REF_HEADER_BYTES, length);
    w.inodeRefs.add(`${ino} ${kk.offset} ${m.u64(addr + at)} ${name}`);
    at += INODE_REF_HEADER_BYTES + length;
  }
}

function noteDirItem(w: NamespaceWalk, ino: number, addr: number, size: number): void {
  const { m } = w;
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH);
    if (at + DIR_ENTRY_HEADER_BYTES + length > size) break;
    w.dirItems.add(`${ino} ${nameId(w.k, addr + at + DIR_ENTRY_HEADER_BYTES, length)}`);
    if (m.u8[addr + at + KEY_TYPE] === ROOT_ITEM) {
      w.subvolumeEntries.push({
        parent: w.sv.id, dir: ino, name: nameAt(m, addr + at + DIR_ENTRY_HEADER_BYTES, length),
        child: m.objectid(addr + at + KEY_OBJECTID), type: DIR_ENTRY_ITEM, index: 0,
      });
    }
    at += DIR_ENTRY_HEADER_BYTES + length;
  }
}

function noteDirIndex(w: NamespaceWalk, kk: Key, addr: number, size: number): void {
  const { m } = w;
  const ino = kk.objectid;
  checkDirIndex(w.k, w.sv, kk, addr, size, w.say);
  if (size < DIR_ENTRY_HEADER_BYTES) return;
  const length = m.u16(addr + DIR_ENTRY_NAME_LENGTH);
  if (DIR_ENTRY_HEADER_BYTES + length > size) return;
  w.indexes.push({
    dir: ino, index: kk.offset, name: nameId(w.k, addr + DIR_ENTRY_HEADER_BYTES, length),
    target: m.objectid(addr + KEY_OBJECTID), inode: m.u8[addr + KEY_TYPE] === INODE_ITEM,
    kind: m.u8[addr + DIR_ENTRY_KIND]!,
  });
  w.dirNameBytes.set(ino, (w.dirNameBytes.get(ino) ?? 0) + length);
  if (m.u8[addr + KEY_TYPE] === ROOT_ITEM) {
    w.subvolumeEntries.push({
      parent: w.sv.id, dir: ino, name: nameAt(m, addr + DIR_ENTRY_HEADER_BYTES, length),
      child: m.objectid(addr + KEY_OBJECTID), type: DIR_ENTRY_INDEX, index: kk.offset,
    });
  }
}

function noteFileExtent(w: NamespaceWalk, kk: Key, addr: number, size: number): void {
  const { m } = w;
  const ino = kk.objectid;
  const e = decodeFileExtent(m.u8.subarray(addr, addr + size));
  const prevEnd = w.lastExtentEnd.get(ino) ?? 0;
  if (kk.offset < prevEnd) {
    w.say(`subvolume ${w.sv.id}: inode ${ino} extents overlap at ${kk.offset}`);
  }
  w.lastExtentEnd.set(ino, kk.offset + e.bytes);
  if (e.type === EXTENT_TYPE_INLINE) {
    const nulEnded = size > FILE_EXTENT_INLINE_BYTES && m.u8[addr + size - 1] === 0;
    w.inlineItems.set(ino, { offset: kk.offset, bytes: e.bytes, nulEnded });
  } else if (e.diskBytenr !== 0) {
    w.mapped.set(ino, (w.mapped.get(ino) ?? 0) + e.bytes);
  }
}

/** Each DIR_INDEX against its DIR_ITEM and INODE_REF, and each of those against a DIR_INDEX. */
function checkNameTriples(w: NamespaceWalk): void {
  const { sv, say } = w;
  const indexed = new Set<string>();
  const byRef = new Set<string>();
  for (const x of w.indexes) {
    indexed.add(`${x.dir} ${x.name}`);
    byRef.add(`${x.target} ${x.dir} ${x.index} ${x.name}`);
    if (!w.dirItems.has(`${x.dir} ${x.name}`)) continue; // checkDirIndex said so
    if (!x.inode) continue; // a subvolume's entry: its ROOT_REF names it
    if (!w.inodeRefs.has(`${x.target} ${x.dir} ${x.index} ${x.name}`)) {
      say(`subvolume ${sv.id}: dir ${x.dir} index ${x.index}: inode ${x.target} `
        + 'has no INODE_REF for that name and index');
    }
    const target = w.inodes.get(x.target);
    if (target && x.kind !== entryKindOfMode(target.mode)) {
      say(`subvolume ${sv.id}: dir ${x.dir} index ${x.index}: entry type ${x.kind}, `
        + `inode ${x.target} has mode ${target.mode.toString(8)}`);
    }
  }
  for (const name of w.dirItems) {
    if (!indexed.has(name)) {
      say(`subvolume ${sv.id}: dir ${name.split(' ')[0]}: a DIR_ITEM name without its DIR_INDEX`);
    }
  }
  for (const ref of w.inodeRefs) {
    const [ino, dir, index] = ref.split(' ');
    if (ino === dir && index === '0') continue; // the root directory's '..'
    if (!byRef.has(ref)) {
      say(`subvolume ${sv.id}: inode ${ino}: an INODE_REF (dir ${dir}, index ${index}) `
        + 'without its DIR_INDEX');
    }
  }
}

/** Each inode's data against its items, and its link count against its names. */
function checkLinks(w: NamespaceWalk): void {
  const { sv, say } = w;
  const items: InodeItems = {
    mapped: w.mapped, inline: w.inlineItems, extentItems: w.lastExtentEnd,
    dirNameBytes: w.dirNameBytes,
  };
  for (const [ino, i] of w.inodes) {
    checkInodeData(sv, ino, i, items, say);
    if (ino === sv.rootDir) continue;
    const found = w.links.get(ino) ?? 0;
    const expected = isDirMode(i.mode) ? 1 : i.nlink;
    if (found === expected) continue;
    const orphan = sv.tree.lookup(key(ORPHAN_OBJECTID, 48, ino));
    if (!(orphan && found === 0)) {
      say(`subvolume ${sv.id}: inode ${ino} has nlink ${i.nlink} but ${found} names`);
    }
  }
}

/** An inode's size and nbytes against its items, by kind. */
function checkInodeData(sv: Subvolume, ino: number, i: InodeFields, items: InodeItems,
  say: (p: string) => void): void {
  const names = items.dirNameBytes.get(ino) ?? 0, mapped = items.mapped.get(ino) ?? 0;
  // btrfs check's "dir isize wrong": a directory's size is twice its names' bytes.
  if (isDirMode(i.mode) && i.size !== 2 * names) {
    say(`subvolume ${sv.id}: dir ${ino} has size ${i.size} but names of ${names} bytes`);
  }
  // btrfs check's "nbytes wrong": a file's nbytes is the bytes its items map.
  if (isFileMode(i.mode) && i.nbytes !== mapped) {
    say(`subvolume ${sv.id}: inode ${ino} has nbytes ${i.nbytes} but its items map ${mapped}`);
  }
  const kind = kindOfMode(i.mode);
  if (!isSpecialKind(kind)) {
    checkInlineData(sv, ino, i, items.inline.get(ino), items.mapped.has(ino), say);
    return;
  }
  // A device, fifo or socket holds no data: no extent item at all (a hole's neither), size
  // and nbytes 0 (btrfs_mknod).
  const extents = items.extentItems.has(ino);
  if (extents || i.size !== 0 || i.nbytes !== 0) {
    say(`subvolume ${sv.id}: inode ${ino}: a ${kind} of size ${i.size}, nbytes ${i.nbytes}`
      + `${extents ? ', with extent items' : ''} (special files hold no data)`);
  }
}

/**
 * Inline data: a symlink's target is its one extent item, inline at offset 0, as long as
 * its size and nbytes (btrfs_symlink; mkfs.btrfs 6.2's --rootdir stores the target's NUL
 * too, counted in nbytes, not in the size); pmcow keeps no inline data in a regular file
 * (an adoption moves it to an extent) and no extents in a directory.
 */
function checkInlineData(sv: Subvolume, ino: number, i: InodeFields, inline: InlineItem | undefined,
  hasExtents: boolean, say: (p: string) => void): void {
  const where = `subvolume ${sv.id}: inode ${ino}`;
  if (isSymlinkMode(i.mode)) {
    if (!inline) { say(`${where}: a symlink without its inline target`); return; }
    if (hasExtents) say(`${where}: a symlink with data extents`);
    const length = inline.bytes === i.size + 1 && inline.nulEnded ? i.size + 1 : i.size;
    if (inline.offset !== 0 || inline.bytes !== length || i.nbytes !== length) {
      say(`${where}: a symlink of size ${i.size}, nbytes ${i.nbytes}, `
        + `its target ${inline.bytes} bytes inline at ${inline.offset}`);
    }
  } else if (inline) {
    const kind = isDirMode(i.mode) ? 'directory' : 'regular file';
    say(`${where}: an inline extent in a ${kind} (pmcow keeps inline data only for symlinks)`);
  } else if (isDirMode(i.mode) && hasExtents) {
    say(`${where}: a directory with data extents`);
  }
}

/** An XATTR_ITEM: its inode exists, and every entry's name hashes to the key's offset. */
function checkXattrItem(k: Kernel, sv: Subvolume, kk: Key, addr: number, size: number,
  inodeExists: boolean, say: (p: string) => void): void {
  const m = k.m;
  if (!inodeExists) say(`subvolume ${sv.id}: xattrs ${keyText(kk)} of a missing inode`);
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH);
    const valueLength = m.u16(addr + at + DIR_ENTRY_DATA_LENGTH);
    const name = addr + at + DIR_ENTRY_HEADER_BYTES;
    if (k.device.core.csum_crc32c_update(NAME_HASH_SEED, name, length) >>> 0 !== kk.offset) {
      say(`subvolume ${sv.id}: xattr '${nameAt(m, name, length)}' of inode ${kk.objectid} `
        + 'is not at its name\'s hash');
    }
    if (m.objectid(addr + at + KEY_OBJECTID) !== 0 || m.u8[addr + at + KEY_TYPE] !== 0) {
      say(`subvolume ${sv.id}: xattr '${nameAt(m, name, length)}' of inode ${kk.objectid} `
        + 'locates an item');
    }
    at += DIR_ENTRY_HEADER_BYTES + length + valueLength;
  }
}

/** Names of an INODE_REF item at `addr` other than '..' (read in place). */
function countRefsButParent(m: FsMemory, addr: number, size: number): number {
  let n = 0;
  for (let at = 0; at + INODE_REF_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + 8);
    const name = addr + at + INODE_REF_HEADER_BYTES;
    if (!(length === 2 && m.u8[name] === 0x2e && m.u8[name + 1] === 0x2e)) n++;
    at += INODE_REF_HEADER_BYTES + length;
  }
  return n;
}

/** A DIR_INDEX item at `addr`: its entry has a DIR_ITEM of the same name, and its inode exists. */
function checkDirIndex(k: Kernel, sv: Subvolume, kk: Key, addr: number, size: number,
  say: (p: string) => void): void {
  const m = k.m;
  if (size < DIR_ENTRY_HEADER_BYTES) {
    say(`subvolume ${sv.id}: empty DIR_INDEX ${keyText(kk)}`);
    return;
  }
  const length = m.u16(addr + DIR_ENTRY_NAME_LENGTH);
  const name = addr + DIR_ENTRY_HEADER_BYTES;
  if (DIR_ENTRY_HEADER_BYTES + length > size) {
    say(`subvolume ${sv.id}: DIR_INDEX ${keyText(kk)} name past its item`);
    return;
  }
  // The name's hash in place (btrfs's: crc32c's register from ~1, not inverted; the
  // DIR_ITEM's key offset).
  const hash = k.device.core.csum_crc32c_update(NAME_HASH_SEED, name, length) >>> 0;
  // A subvolume's entry locates its ROOT_ITEM (btrfs); any other, an inode.
  const location = m.objectid(addr + KEY_OBJECTID), subvolume = m.u8[addr + KEY_TYPE] === ROOT_ITEM;
  if (!subvolume && m.u8[addr + KEY_TYPE] !== INODE_ITEM) {
    say(`subvolume ${sv.id}: dir ${kk.objectid} entry '${nameAt(m, name, length)}' `
      + `locates an item of type ${m.u8[addr + KEY_TYPE]}`);
  }
  const hashItem = sv.tree.lookup(key(kk.objectid, DIR_ITEM, hash));
  if (!hashItem || !dirItemHasName(m, hashItem.addr, hashItem.size, name, length)) {
    say(`subvolume ${sv.id}: dir ${kk.objectid} index entry '${nameAt(m, name, length)}' `
      + 'has no DIR_ITEM');
  }
  if (!subvolume && !sv.tree.lookup(key(location, INODE_ITEM, 0))) {
    say(`subvolume ${sv.id}: dir ${kk.objectid} entry '${nameAt(m, name, length)}' `
      + `points at missing inode ${location}`);
  }
}

/**
 * The name of `length` bytes at `name`, for a finding (copied out: shared memory is not
 * decoded in place).
 */
function nameAt(m: FsMemory, name: number, length: number): string {
  return decoder.decode(m.u8.slice(name, name + length));
}

/** Does the DIR_ITEM at `addr` hold an entry named by the `length` bytes at `name`? */
function dirItemHasName(m: FsMemory, addr: number, size: number, name: number,
  length: number): boolean {
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
    const n = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH);
    if (n === length) {
      let same = true;
      const entryName = addr + at + DIR_ENTRY_HEADER_BYTES;
      for (let i = 0; i < n && same; i++) same = m.u8[entryName + i] === m.u8[name + i];
      if (same) return true;
    }
    at += DIR_ENTRY_HEADER_BYTES + n;
  }
  return false;
}

const decoder = new TextDecoder();
