// What a mounted file system shows through its public API (readdir, stat, readFile), in
// the form the reference model compares: the checker reads an image the way a user would,
// never through the file system's trees.
import type { FileSystem } from '../fs/filesystem.js';
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
  /** A file's bytes: read when first asked for (imageBytes), or given. */
  data?: Uint8Array;
  /** A file's content digest (FileSystem.contentDigest), when read from a file system. */
  digest?: number;
  /** Reads the file's bytes (set with `digest`). */
  read?: () => Uint8Array;
  /** Why the file could not be read (EIO). */
  error?: string;
}

/** A file entry's bytes (read now if only its digest was). */
export function imageBytes(e: ImageEntry): Uint8Array {
  if (!e.data) {
    if (!e.read) throw new Error(`image entry ${e.path}: neither bytes nor a reader`);
    e.data = e.read();
  }
  return e.data;
}

/** Does a file entry hold exactly `bytes`? By digest when the entry has one (no bytes read). */
export function imageHolds(e: ImageEntry, bytes: Uint8Array): boolean {
  if (e.digest !== undefined) return e.digest === contentDigest(bytes);
  return contentDigest(imageBytes(e)) === contentDigest(bytes);
}

/**
 * Every path of a mounted file system, "/" first, parents before children, names sorted;
 * files with their content digests (bytes read on demand, while the file system is mounted).
 */
export function readImage(fs: FileSystem, limitEntries = 100_000): ImageEntry[] {
  const out: ImageEntry[] = [];
  const visit = (path: string): void => {
    if (out.length >= limitEntries) throw new Error(`more than ${limitEntries} entries`);
    const st = fs.stat(path);
    const entry: ImageEntry = {
      path, kind: st.kind, size: st.kind === 'file' ? st.size : 0, nlink: st.kind === 'file' ? st.nlink : 1,
      nodatacow: st.nodatacow, link: `${st.subvolume}:${st.ino}`,
    };
    out.push(entry);
    if (st.kind === 'file') {
      // The digest is computed in the core as the file is read (the same checks and errors
      // as readFile); the bytes are read only when a comparison needs them.
      try {
        entry.digest = fs.contentDigest(path);
        entry.read = () => fs.readFile(path);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EIO') throw e;
        entry.error = (e as Error).message;
      }
      return;
    }
    for (const name of [...fs.readdir(path)].sort()) visit(path === '/' ? `/${name}` : `${path}/${name}`);
  };
  visit('/');
  return out;
}

/** One line per entry: path, kind, size, link count, flags and which entry it is a link of. */
function digestLines(entries: Array<{ path: string; kind: string; size: number; nlink: number; nodatacow: boolean; link: string }>): string {
  const first = new Map<string, number>();
  const lines: string[] = [];
  entries.forEach((e, i) => {
    let group = '';
    if (e.kind === 'file') {
      const f = first.get(e.link);
      if (f === undefined) first.set(e.link, i);
      else group = ` =${entries[f]!.path}`;
    }
    lines.push(`${e.path} ${e.kind}${e.kind === 'file' ? ` ${e.size} n${e.nlink}${e.nodatacow ? ' nocow' : ''}${group}` : ''}`);
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

/** The namespace and metadata of a model state, in the form of imageDigest. */
export function modelDigest(entries: ModelEntry[]): string {
  return digestLines(entries.map(({ path, node }) => ({
    path, kind: modelKind(node), size: node.kind === 'file' && !node.placeholder ? node.size : 0,
    nlink: node.kind === 'file' ? node.nlink : 1, nodatacow: node.kind === 'file' && node.nodatacow, link: `m${node.id}`,
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
