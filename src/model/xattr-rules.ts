// The reference model's rules for extended attribute names and values and for the
// largest item, written from Linux's and btrfs's documentation (fs/xattr.c: ERANGE,
// E2BIG; the namespace handlers: EOPNOTSUPP; btrfs: a name and value fit one leaf item)
// and from docs/fs.md section 11, independently of src/fs/xattr.ts, which it judges.
import type { ErrnoName } from '../errors.js';

const utf8 = new TextEncoder();

/** The namespaces the file system stores (docs/fs.md section 11). */
const NAMESPACES = ['user.', 'trusted.', 'security.'];

/**
 * The largest item in a leaf of `nodeBytes` (pmcow: half the leaf less the item header;
 * docs/fs.md section 8).
 */
export function maxItem(nodeBytes: number): number {
  return Math.floor((nodeBytes - 101) / 2) - 25;
}

/** Every rule a name breaks (empty: a good name). */
export function xattrNameProblems(name: string): ErrnoName[] {
  const bytes = utf8.encode(name).length;
  if (name.includes('\0')) return ['EINVAL'];
  if (bytes === 0 || bytes > 255) return ['ERANGE'];
  const space = NAMESPACES.find((p) => name.startsWith(p));
  if (!space) return ['EOPNOTSUPP'];
  return name === space ? ['EINVAL'] : [];
}

/**
 * Every rule a value breaks for `name`: E2BIG past 64 KiB, ENOSPC when the entry (30-byte
 * header) exceeds an item.
 */
export function xattrValueProblems(name: string, value: Uint8Array,
  nodeBytes: number): ErrnoName[] {
  if (value.length > 65536) return ['E2BIG'];
  return utf8.encode(name).length + value.length + 30 > maxItem(nodeBytes) ? ['ENOSPC'] : [];
}
