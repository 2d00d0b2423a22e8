// Path resolution in the model (namespace.ts): absolute paths only, symlinks followed as
// POSIX says (a relative target from the link's directory, an absolute one from the root;
// ELOOP past Linux's 40 of them in one walk).
import { err, Unspecified } from './model-errors.js';
import type { MNode } from './inode.js';

const utf8 = new TextEncoder();

/** Linux's MAXSYMLINKS: symlinks one path walk follows. */
const MAX_SYMLINK_FOLLOWS = 40;

export interface Resolved {
  /** Parent directory (undefined for "/"). */
  parent: MNode | undefined;
  name: string;
  node: MNode | undefined;
}

export function pathComponents(path: unknown): string[] {
  if (typeof path !== 'string') err('EINVAL', `path must be a string, got ${typeof path}`);
  if (!path.startsWith('/')) {
    err(['EINVAL', 'ENOENT'], `path must be absolute: ${JSON.stringify(path)}`);
  }
  const parts = path.split('/').filter((c) => c.length > 0);
  for (const p of parts) {
    if (p === '.' || p === '..') throw new Unspecified(`path with ${p}: ${path}`);
    if (p.length > 255) err(['ENAMETOOLONG', 'EINVAL'], 'name too long');
  }
  return parts;
}

/**
 * Resolve a path from the root directory `root`; with `followLast`, a symlink in the last
 * component is followed too (its target's parent and name come back: node undefined for a
 * dangling link).
 */
export function resolvePath(root: MNode, path: unknown, followLast: boolean): Resolved {
  const parts = pathComponents(path);
  if (parts.length === 0) return { parent: undefined, name: '', node: root };
  const follows = { n: 0 };
  let parent = walkDir(root, root, parts.slice(0, -1), path as string, follows);
  let name = parts[parts.length - 1]!;
  let node = parent.entries.get(name);
  while (followLast && node?.kind === 'symlink') {
    const t = follow(node, follows, path as string);
    const from = t.absolute ? root : parent;
    if (t.parts.length === 0) return { parent: undefined, name: '', node: from };
    parent = walkDir(root, from, t.parts.slice(0, -1), path as string, follows);
    name = t.parts[t.parts.length - 1]!;
    node = parent.entries.get(name);
  }
  return { parent, name, node };
}

/**
 * Walk `parts` from `start`, following symlinks (counted in `follows`): the directory the
 * last component is in.
 */
function walkDir(root: MNode, start: MNode, parts: string[], path: string,
  follows: { n: number }): MNode {
  let cur = start;
  const todo = [...parts].reverse();
  while (todo.length) {
    const c = todo.pop()!;
    if (cur.kind !== 'dir') err('ENOTDIR', `${path}: a component is not a directory`);
    const next = cur.entries.get(c);
    if (!next) err('ENOENT', `${path}: no such directory`);
    if (next.kind === 'symlink') {
      const t = follow(next, follows, path);
      if (t.absolute) cur = root;
      todo.push(...t.parts.reverse());
      continue;
    }
    cur = next;
  }
  if (cur.kind !== 'dir') err('ENOTDIR', `${path}: a component is not a directory`);
  return cur;
}

/** A symlink's target as components to walk. */
function follow(link: MNode, follows: { n: number },
  path: string): { absolute: boolean; parts: string[] } {
  if (++follows.n > MAX_SYMLINK_FOLLOWS) err('ELOOP', `${path}: too many symbolic links`);
  const parts = link.target.split('/').filter((c) => c.length > 0 && c !== '.');
  if (parts.includes('..')) throw new Unspecified(`a symlink target with '..': ${link.target}`);
  if (parts.some((p) => utf8.encode(p).length > 255)) {
    err('ENAMETOOLONG', `${path}: a target's name is too long`);
  }
  return { absolute: link.target.startsWith('/'), parts };
}
