// Extended attributes as btrfs keeps them: an inode's XATTR_ITEM (inode, XATTR_ITEM, name
// hash) holds btrfs_dir_item-shaped entries (location zero, kind BTRFS_FT_XATTR, the
// value's length in data_len) with the value right after the name; names whose hashes
// collide share the item. The rules for names and values are Linux's (fs/xattr.c) and
// btrfs's (fs/btrfs/xattr.c): docs/fs.md section 11.
import { sameBytes } from '../bytes.js';
import { FsError, describeValue } from '../errors.js';
import { FsMemory } from './memory.js';
import {
  DIR_ENTRY_HEADER_BYTES, DIR_ENTRY_TRANSID, DIR_ENTRY_DATA_LENGTH,
  DIR_ENTRY_NAME_LENGTH, DIR_ENTRY_KIND,
  DIR_KIND_XATTR, XATTR_ITEM, maxItemBytes, MAX_KEY_VALUE, key, type Key,
} from './format.js';
import type { BTree } from './ctree.js';
import { XATTR_NAME_MAX_BYTES, XATTR_SIZE_MAX_BYTES } from '../core/abi.js';

interface Xattr { name: Uint8Array; value: Uint8Array; transid: number }

/**
 * The namespaces pmcow stores (as root: trusted.* needs CAP_SYS_ADMIN, which every caller
 * has here). system.* (POSIX ACLs) and btrfs.* (properties) are not implemented: EOPNOTSUPP,
 * as Linux answers a namespace no handler takes.
 */
const XATTR_NAMESPACES: readonly string[] = ['user.', 'trusted.', 'security.'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An attribute name's bytes, checked as Linux checks them (ERANGE, EOPNOTSUPP). */
export function xattrNameBytes(name: unknown): Uint8Array {
  if (typeof name !== 'string') {
    throw new FsError('EINVAL', `an xattr name must be a string, got ${describeValue(name)}`);
  }
  if (name.includes('\0')) throw new FsError('EINVAL', 'an xattr name contains a NUL byte');
  const bytes = encoder.encode(name);
  // fs/xattr.c: an empty name or one longer than XATTR_NAME_MAX is ERANGE.
  if (bytes.length === 0 || bytes.length > XATTR_NAME_MAX_BYTES) {
    throw new FsError('ERANGE',
      `xattr name of ${bytes.length} bytes (1 to ${XATTR_NAME_MAX_BYTES})`);
  }
  const space = XATTR_NAMESPACES.find((p) => name.startsWith(p));
  if (!space) {
    throw new FsError('EOPNOTSUPP',
      `xattr name ${describeValue(name)}: namespaces are ${XATTR_NAMESPACES.join(', ')}`);
  }
  // A namespace prefix alone names nothing (Linux: EINVAL from the handler).
  if (bytes.length === encoder.encode(space).length) {
    throw new FsError('EINVAL', `xattr name ${describeValue(name)} is a namespace prefix alone`);
  }
  return bytes;
}

/** The name as text (for listxattr). */
export function xattrNameText(name: Uint8Array): string {
  return decoder.decode(name);
}

/**
 * btrfs's BTRFS_MAX_XATTR_SIZE: one entry's name and value fit one leaf item (pmcow's items
 * are at most half a leaf: maxItemBytes).
 */
function maxXattrBytes(nodeBytes: number): number {
  return maxItemBytes(nodeBytes) - DIR_ENTRY_HEADER_BYTES;
}

/**
 * A value's bytes: E2BIG past XATTR_SIZE_MAX (the VFS), ENOSPC when name and value exceed a
 * leaf's item (btrfs).
 */
export function xattrValueBytes(value: unknown, name: Uint8Array, nodeBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new FsError('EINVAL', `an xattr value must be a Uint8Array, got ${describeValue(value)}`);
  }
  if (value.length > XATTR_SIZE_MAX_BYTES) {
    throw new FsError('E2BIG',
      `xattr value of ${value.length} bytes (at most ${XATTR_SIZE_MAX_BYTES})`);
  }
  if (name.length + value.length > maxXattrBytes(nodeBytes)) {
    throw new FsError('ENOSPC',
      `xattr name and value of ${name.length + value.length} bytes do not fit a ${nodeBytes}-byte`
        + ` node's item (at most ${maxXattrBytes(nodeBytes)})`);
  }
  return value;
}

function encodeXattrs(entries: readonly Xattr[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n,
    e) => n + DIR_ENTRY_HEADER_BYTES + e.name.length + e.value.length, 0));
  const m = new FsMemory(out.buffer);
  let at = 0;
  for (const e of entries) {
    // The location key stays zero (btrfs: an xattr locates nothing).
    m.setU64(at + DIR_ENTRY_TRANSID, e.transid);
    m.setU16(at + DIR_ENTRY_DATA_LENGTH, e.value.length);
    m.setU16(at + DIR_ENTRY_NAME_LENGTH, e.name.length);
    m.setU8(at + DIR_ENTRY_KIND, DIR_KIND_XATTR);
    out.set(e.name, at + DIR_ENTRY_HEADER_BYTES);
    out.set(e.value, at + DIR_ENTRY_HEADER_BYTES + e.name.length);
    at += DIR_ENTRY_HEADER_BYTES + e.name.length + e.value.length;
  }
  return out;
}

/** The entries of an XATTR_ITEM (the tree checker bounded every length to the item). */
function decodeXattrs(b: Uint8Array): Xattr[] {
  const m = new FsMemory(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const out: Xattr[] = [];
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= b.length;) {
    const nameLength = m.u16(at + DIR_ENTRY_NAME_LENGTH),
      valueLength = m.u16(at + DIR_ENTRY_DATA_LENGTH);
    const nameAt = at + DIR_ENTRY_HEADER_BYTES;
    out.push({
      name: b.slice(nameAt, nameAt + nameLength),
      value: b.slice(nameAt + nameLength, nameAt + nameLength + valueLength),
      transid: m.u64(at + DIR_ENTRY_TRANSID),
    });
    at = nameAt + nameLength + valueLength;
  }
  return out;
}


/** The entry named `name` among an item's entries (-1: none). */
function xattrIndex(entries: readonly Xattr[], name: Uint8Array): number {
  return entries.findIndex((e) => sameBytes(e.name, name));
}

/**
 * What the xattr calls need of the file system: the inode's tree, its name hash, the
 * running transaction.
 */
export interface XattrHost {
  tree: BTree;
  /** btrfs_name_hash of a name's bytes (the XATTR_ITEM key offset). */
  hash(name: Uint8Array): number;
  transid: number;
  nodeBytes: number;
}

function itemKey(host: XattrHost, ino: number, name: Uint8Array): Key {
  return key(ino, XATTR_ITEM, host.hash(name));
}

/** The value of `name` on inode `ino`, or null. */
export function findXattr(host: XattrHost, ino: number, name: Uint8Array): Uint8Array | null {
  const b = host.tree.get(itemKey(host, ino, name));
  if (!b) return null;
  const entries = decodeXattrs(b);
  const i = xattrIndex(entries, name);
  return i < 0 ? null : entries[i]!.value;
}

/** Every name on inode `ino`, in key (hash) order as btrfs lists them. */
export function listXattrs(host: XattrHost, ino: number): Uint8Array[] {
  const names: Uint8Array[] = [];
  for (const item of host.tree.range(key(ino, XATTR_ITEM, 0),
    key(ino, XATTR_ITEM, MAX_KEY_VALUE))) {
    for (const e of decodeXattrs(item.data)) names.push(e.name);
  }
  return names;
}

/**
 * Set `name` to `value` on inode `ino` (the caller checked the name, the value and the
 * flags' meaning against what exists: see FileSystem.setxattr). Names whose hashes collide
 * share one item: its entries together must fit a leaf's item (btrfs: ENOSPC).
 */
export function storeXattr(host: XattrHost, ino: number, name: Uint8Array,
  value: Uint8Array): void {
  const k = itemKey(host, ino, name);
  const existing = host.tree.get(k);
  const entries = existing ? decodeXattrs(existing) : [];
  const i = xattrIndex(entries, name);
  const entry = { name, value, transid: host.transid };
  if (i >= 0) entries[i] = entry; else entries.push(entry);
  const body = encodeXattrs(entries);
  if (body.length > maxXattrBytes(host.nodeBytes) + DIR_ENTRY_HEADER_BYTES) {
    throw new FsError('ENOSPC', 'the xattrs whose names share this name\'s hash would not fit'
      + ` one item (${body.length} bytes)`);
  }
  host.tree.put(k, body);
}

/** Remove `name` from inode `ino`; false when it had none. */
export function deleteXattr(host: XattrHost, ino: number, name: Uint8Array): boolean {
  const k = itemKey(host, ino, name);
  const existing = host.tree.get(k);
  if (!existing) return false;
  const entries = decodeXattrs(existing);
  const i = xattrIndex(entries, name);
  if (i < 0) return false;
  entries.splice(i, 1);
  if (entries.length) host.tree.update(k, encodeXattrs(entries)); else host.tree.delete(k);
  return true;
}
