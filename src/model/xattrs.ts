// Extended attributes of a model inode (FsModel's setxattr, getxattr, listxattr and
// removexattr): the name's and value's rules (xattr-rules.ts), then the inode's.
import { err, Unspecified } from './model-errors.js';
import type { MNode } from './inode.js';
import { xattrNameProblems, xattrValueProblems } from './xattr-rules.js';

/** user.* attributes are for regular files and directories only (Linux: EPERM elsewhere). */
function userOnSpecial(node: MNode, name: string): boolean {
  return node.kind !== 'file' && node.kind !== 'dir' && name.startsWith('user.');
}

/**
 * setxattr(2) on `node`: the name's and value's rules, then XATTR_CREATE (EEXIST) or
 * XATTR_REPLACE (ENODATA), a read-only subvolume (EROFS), a DAX-immutable inode (EPERM),
 * user.* on a symlink (EPERM).
 */
export function setXattr(node: MNode, name: string, value: Uint8Array,
  mode: 'create' | 'replace' | undefined, nodeBytes: number): void {
  const codes = [...xattrNameProblems(name), ...xattrValueProblems(name, value, nodeBytes)];
  if (codes.length === 0) {
    if (userOnSpecial(node, name)) codes.push('EPERM');
    if (node.subvol.readonly) codes.push('EROFS');
    if (node.immutable) codes.push('EPERM');
    if (node.placeholder) throw new Unspecified('setxattr on a placeholder directory');
    if (mode === 'create' && node.xattrs.has(name)) codes.push('EEXIST');
    if (mode === 'replace' && !node.xattrs.has(name)) codes.push('ENODATA');
  }
  if (codes.length) err(codes, `setxattr ${name}`);
  node.xattrs = new Map(node.xattrs).set(name, value.slice());
}

export function getXattr(node: MNode, name: string): Uint8Array {
  const codes = xattrNameProblems(name);
  if (codes.length) err(codes, `getxattr ${name}`);
  const value = userOnSpecial(node, name) ? undefined : node.xattrs.get(name);
  if (!value) err('ENODATA', `no xattr ${name}`);
  return value.slice();
}

export function removeXattr(node: MNode, name: string): void {
  const codes = xattrNameProblems(name);
  if (codes.length === 0) {
    if (userOnSpecial(node, name)) codes.push('EPERM');
    if (node.subvol.readonly) codes.push('EROFS');
    if (node.immutable) codes.push('EPERM');
    if (!node.xattrs.has(name)) codes.push('ENODATA');
  }
  if (codes.length) err(codes, `removexattr ${name}`);
  const next = new Map(node.xattrs);
  next.delete(name);
  node.xattrs = next;
}
