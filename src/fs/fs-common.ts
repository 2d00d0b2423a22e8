// What the file system's operation layers (fs-base.ts, fs-namespace.ts, fs-files.ts and
// FileSystem) share: the checks of a caller's arguments, and the shapes of a resolved path.
import { FsError, describeValue, requireKnownOptions } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import type { Subvolume } from './subvolume.js';
import type { InodeItem } from './items.js';
import { NAME_HASH_SEED } from './format.js';
import type { FileKind } from './types.js';
import { pathNames } from './symlink.js';

/** Largest file size: keys and offsets stay below 2^53. */
export const MAX_FILE_BYTES = 2 ** 50;

/** copyFileRange's copies go through a buffer of at most this many bytes at a time. */
export const COPY_CHUNK_BYTES = 1 << 20;

/** Paths kept in the path cache before it starts over. */
export const MAX_DENTRIES = 4096;

export interface Resolved {
  sv: Subvolume; ino: number; inode: InodeItem; kind: FileKind;
  /** A snapshot's stand-in for a subvolume nested in its source: an empty, read-only directory. */
  placeholder?: boolean;
}

/**
 * btrfs's inode number for the empty directory that stands for a nested subvolume in a
 * snapshot.
 */
export const EMPTY_SUBVOL_DIR_INO = 2;
export interface Parent { sv: Subvolume; dir: number; name: string; placeholder?: boolean }
/**
 * Where a walk stands: the object reached and the directories it came through ('..' steps
 * back along them).
 */
export interface Walked { cur: Resolved; up: Resolved[] }
export interface OpenFile { sv: Subvolume; ino: number }

/** One component of a path as written: a name, or '..' (empty components and '.' are dropped). */

/**
 * btrfs's name hash (btrfs_name_hash): crc32c's register run over the name from ~1, not
 * inverted at the end; the key offset of a DIR_ITEM. Computed in the device's scratch.
 */
export function btrfsNameHash(device: PmemDevice, name: Uint8Array): number {
  const scratch = device.scratch();
  if (name.length > scratch.length) {
    throw new FsError('ENAMETOOLONG', 'name longer than the scratch area');
  }
  scratch.set(name);
  return device.core.csum_crc32c_update(NAME_HASH_SEED, scratch.byteOffset, name.length) >>> 0;
}

/** A copy of a walk's answer: callers change the inode they are given before writing it back. */
export function copyResolved(r: Resolved): Resolved {
  return { ...r, inode: { ...r.inode } };
}

export function checkPath(path: unknown): string[] {
  if (typeof path !== 'string') {
    throw new FsError('EINVAL', `path must be a string, got ${typeof path}`);
  }
  if (!path.startsWith('/')) throw new FsError('EINVAL', `path must be absolute: '${path}'`);
  if (path.includes('\0')) throw new FsError('EINVAL', 'path contains a NUL byte');
  return pathNames(path);
}

/**
 * The names a path reaches once '..' is applied lexically. Only for comparing paths that
 * resolve() accepted: resolve() walks '..' itself, so 'file/..' and 'missing/..' fail there.
 */
export function normalisedParts(path: string): string[] {
  const out: string[] = [];
  for (const part of checkPath(path)) if (part === '..') out.pop(); else out.push(part);
  return out;
}

/**
 * An options argument: undefined means defaults; anything but a plain object is EINVAL, and
 * so is a key outside `known` when that is given (requireKnownOptions).
 */
export function checkOptions<T extends object>(options: unknown, what: string,
  known?: readonly (keyof T & string)[]): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FsError('EINVAL',
      `${what} must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  if (known) requireKnownOptions(options, known, what);
  return options as Partial<T>;
}

/** An optional boolean flag: undefined is false; anything but a boolean is EINVAL. */
export function checkFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new FsError('EINVAL', `${name} must be a boolean, got ${typeof value}`);
  }
  return value;
}

/**
 * Linux's MAX_RW_COUNT is just under 2 GiB; a read returns at most 1 GiB here (a short
 * read, as POSIX allows).
 */
export const MAX_READ_BYTES = 2 ** 30;

/**
 * btrfs's BTRFS_ROOT_TREE_DIR_OBJECTID: the root tree's directory (superblock
 * root_dir_objectid).
 */
export const ROOT_TREE_DIR_OBJECTID = 6;

export function checkOffset(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FsError('EINVAL',
      `${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
  if (value > MAX_FILE_BYTES) {
    throw new FsError('EFBIG', `${name} ${value} exceeds the maximum file size`);
  }
  return value;
}

export function checkBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new FsError('EINVAL', 'data must be a Uint8Array or another typed array');
}
