// What a mounted file system shows through its public API (readdir, stat, readFile), in
// the form the reference model compares: the checker reads an image the way a user would,
// never through the file system's trees.
import type { FileSystem } from '../filesystem.js';
import type { FileKind } from '../fs/types.js';
import type { FsModel, MNode } from './namespace.js';
import { contentDigest } from './content-hash.js';

export interface ImageEntry {
  path: string;
  kind: FileKind;
  size: number;
  nlink: number;
  nodatacow: boolean;
  /** Entries with the same link key name one inode (hard links). */
  link: string;
  /** A file's bytes: given, or read when first asked for (entryBytes). */
  data?: Uint8Array;
  /** A file's content digest: computed when first asked for (entryDigest). */
  digest?: number;
  /** Reads of a file in a mounted file system, for entryBytes and entryDigest. */
  reader?: { bytes(): Uint8Array; digest(): number };
  /** Why the file could not be read (EIO): set by readImage's caller's first read of it. */
  error?: string;
  /** A symlink's target. */
  target?: string;
  /** A device's number. */
  rdev?: number;
  /** Its xattrs as `name=digest` joined by ',' (read with readImage's `xattrs`). */
  xattrs?: string;
}

/** Run a read of `e`; an EIO becomes e.error (null returned), as a user sees a failed read. */
function attempt<T>(e: ImageEntry, read: () => T): T | null {
  if (e.error !== undefined) return null;
  try {
    return read();
  } catch (err) {
    if ((err as { code?: string }).code !== 'EIO') throw err;
    e.error = (err as Error).message;
    return null;
  }
}

/**
 * A file entry's bytes (read now unless given or read before), or null when the read failed
 * (e.error).
 */
export function entryBytes(e: ImageEntry): Uint8Array | null {
  if (!e.data) {
    const reader = e.reader;
    if (!reader) throw new Error(`image entry ${e.path}: no bytes and no reader`);
    e.data = attempt(e, () => reader.bytes()) ?? undefined;
  }
  return e.data ?? null;
}

/**
 * A file entry's content digest, or null when the read failed (e.error). Computed in the
 * core as the file is read (FileSystem.contentDigest: the same checks and errors as
 * readFile), so no bytes leave the shared memory; from the bytes when they were given.
 */
export function entryDigest(e: ImageEntry): number | null {
  if (e.digest === undefined) {
    if (e.data || !e.reader) {
      const bytes = entryBytes(e);
      if (bytes) e.digest = contentDigest(bytes);
    } else {
      const reader = e.reader;
      e.digest = attempt(e, () => reader.digest()) ?? undefined;
    }
  }
  return e.digest ?? null;
}

/**
 * Every path of a mounted file system, "/" first, parents before children, names sorted.
 * Files are read only when a comparison asks (entryDigest, entryBytes), while the file system
 * is still mounted: most comparisons need a digest alone, some (in-place history) the bytes.
 */
export function readImage(fs: FileSystem, limitEntries = 100_000, xattrs = false): ImageEntry[] {
  const out: ImageEntry[] = [];
  const visit = (path: string): void => {
    if (out.length >= limitEntries) throw new Error(`more than ${limitEntries} entries`);
    const st = fs.lstat(path);
    const entry: ImageEntry = {
      path, kind: st.kind, size: st.kind === 'file' ? st.size : 0,
      nlink: st.kind === 'dir' || st.kind === 'subvolume' ? 1 : st.nlink,
      nodatacow: st.nodatacow, link: `${st.subvolume}:${st.ino}`, rdev: st.rdev,
    };
    out.push(entry);
    if (xattrs) {
      const names = fs.listxattr(path, { noFollow: true }).sort();
      entry.xattrs = xattrText(names.map((n) => [n, fs.getxattr(path, n, { noFollow: true })]));
    }
    if (st.kind === 'symlink') { entry.target = fs.readlink(path); return; }
    // A special file: no data, no entries.
    if (st.kind !== 'file' && st.kind !== 'dir' && st.kind !== 'subvolume') return;
    if (st.kind === 'file') {
      entry.reader = { bytes: () => fs.readFile(path), digest: () => fs.contentDigest(path) };
      return;
    }
    for (const name of [...fs.readdir(path)].sort()) {
      visit(path === '/' ? `/${name}` : `${path}/${name}`);
    }
  };
  visit('/');
  return out;
}

/** xattrs as one string: `name=digest` of each (sorted by name), joined by ','. */
function xattrText(pairs: Array<[string, Uint8Array]>): string {
  return pairs.map(([n, v]) => `${n}=${contentDigest(v)}`).join(',');
}

interface DigestEntry {
  path: string; kind: string; size: number; nlink: number; nodatacow: boolean; link: string;
  target?: string; rdev?: number; xattrs?: string;
}

/**
 * One line per entry: path, kind, size, link count, flags and which entry it is a link of;
 * a symlink's target; the xattrs when read.
 */
function digestLines(entries: DigestEntry[]): string {
  const first = new Map<string, number>();
  const lines: string[] = [];
  entries.forEach((e, i) => {
    let group = '';
    // Files, symlinks and special files take hard links.
    const inode = e.kind !== 'dir' && e.kind !== 'subvolume';
    if (inode) {
      const f = first.get(e.link);
      if (f === undefined) first.set(e.link, i);
      else group = ` =${entries[f]!.path}`;
    }
    const body = e.kind === 'file' ? ` ${e.size} n${e.nlink}${e.nodatacow ? ' nocow' : ''}${group}`
      : e.kind === 'symlink' ? ` -> ${e.target} n${e.nlink}${group}`
      : inode ? ` rdev ${e.rdev ?? 0} n${e.nlink}${group}` : '';
    lines.push(`${e.path} ${e.kind}${body}${e.xattrs ? ` [${e.xattrs}]` : ''}`);
  });
  return lines.join('\n');
}

/** The namespace and metadata of an image, as one string (data left out). */
export function imageDigest(entries: ImageEntry[]): string {
  return digestLines(entries);
}

export interface ModelEntry { path: string; node: MNode }

/** The entries of a model state, in the order readImage uses. */
export function modelEntries(model: FsModel): ModelEntry[] {
  return model.walk().map(([path, node]) => ({ path, node }));
}

export function modelKind(node: MNode): FileKind {
  return node.subvolRoot ? 'subvolume' : node.kind;
}

/**
 * The namespace and metadata of a model state, in the form of imageDigest (with xattrs when
 * `xattrs`).
 */
export function modelDigest(entries: ModelEntry[], xattrs = false): string {
  return digestLines(entries.map(({ path, node }) => ({
    path, kind: modelKind(node), size: node.kind === 'file' && !node.placeholder ? node.size : 0,
    nlink: node.kind !== 'dir' ? node.nlink : 1, nodatacow: node.kind === 'file' && node.nodatacow,
    link: `m${node.id}`,
    ...(node.kind === 'symlink' ? { target: node.target } : {}),
    rdev: node.rdev,
    ...(xattrs ? { xattrs: modelXattrText(node) } : {}),
  })));
}

/** The first differences between two digests (lines only in one of them). */
export function digestDiff(actual: string, expected: string, limit = 6): string[] {
  const a = new Set(actual.split('\n'));
  const e = new Set(expected.split('\n'));
  const out: string[] = [];
  for (const line of e) if (!a.has(line)) out.push(`expected "${line}"`);
  for (const line of a) if (!e.has(line)) out.push(`found "${line}"`);
  return out.slice(0, limit);
}

/** A model inode's xattrs in the form of an image entry's. */
function modelXattrText(node: MNode): string {
  return xattrText([...node.xattrs.keys()].sort().map((n) => [n, node.xattrs.get(n)!]));
}
