// File kinds by mode, and special files (mknod(2)): character and block devices, fifos and
// sockets, as btrfs keeps them (btrfs_mknod): an inode of the kind's S_IFMT bits and the
// caller's permissions, size and nbytes 0, no extent items, the device number in rdev
// (Linux's new_encode_dev: the dev_t mknod(2) takes, 0 for a fifo or socket), named by
// directory entries of kind BTRFS_FT_CHRDEV, _BLKDEV, _FIFO or _SOCK. docs/fs.md section 11.
import { FsError, describeValue } from '../errors.js';
import {
  S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  DIR_KIND_FILE, DIR_KIND_DIR,
  DIR_KIND_SYMLINK, DIR_KIND_CHRDEV, DIR_KIND_BLKDEV, DIR_KIND_FIFO, DIR_KIND_SOCK,
} from '../core/abi.js';
import type { FileKind } from './types.js';

export { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK };

/** The kinds mknod makes besides regular files. */
export type SpecialKind = 'chardev' | 'blockdev' | 'fifo' | 'socket';

/** Each file type: its S_IFMT bits, what stat calls it, its directory entries' BTRFS_FT_*. */
const TYPES: ReadonlyArray<readonly [number, FileKind, number]> = [
  [S_IFREG, 'file', DIR_KIND_FILE], [S_IFDIR, 'dir', DIR_KIND_DIR],
  [S_IFLNK, 'symlink', DIR_KIND_SYMLINK],
  [S_IFCHR, 'chardev', DIR_KIND_CHRDEV], [S_IFBLK, 'blockdev', DIR_KIND_BLKDEV],
  [S_IFIFO, 'fifo', DIR_KIND_FIFO],
  [S_IFSOCK, 'socket', DIR_KIND_SOCK],
];
const BY_MODE = new Map(TYPES.map(([bits, kind, entry]) => [bits, { kind, entry }]));

/**
 * What stat calls an inode of `mode`. The tree checker lets no other S_IFMT value through;
 * were one here anyway it reads as a regular file, whose calls check what they read.
 */
export function kindOfMode(mode: number): FileKind {
  return BY_MODE.get(mode & S_IFMT)?.kind ?? 'file';
}

/** The directory entry kind (BTRFS_FT_*) that names an inode of `mode` (btrfs_inode_type). */
export function entryKindOfMode(mode: number): number {
  return BY_MODE.get(mode & S_IFMT)?.entry ?? DIR_KIND_FILE;
}

/** A device, fifo or socket: no data, never opened. */
export function isSpecialKind(kind: FileKind): kind is SpecialKind {
  return kind === 'chardev' || kind === 'blockdev' || kind === 'fifo' || kind === 'socket';
}

/**
 * The permission bits a mode may carry besides its type: rwx for all three, setuid, setgid,
 * sticky.
 */
const PERMISSION_BITS = 0o7777;

/**
 * mknod(2)'s arguments checked as Linux checks them: a type of S_IFREG (or none: a regular
 * file), S_IFCHR, S_IFBLK, S_IFIFO or S_IFSOCK with permission bits (EINVAL for anything
 * else: a mode that is no 16-bit integer, another type), S_IFDIR EPERM (mkdir makes
 * directories), a symlink EINVAL (symlink makes them); `rdev` a dev_t of 32 bits (glibc's
 * mknod: EINVAL past them), kept for a device only (init_special_inode: a fifo's, a
 * socket's and a file's rdev is 0).
 */
export function checkMknod(mode: unknown, rdev: unknown): { mode: number; rdev: number } {
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o177777) {
    throw new FsError('EINVAL',
      `mknod: mode must be an integer of S_IF* and permission bits, got ${describeValue(mode)}`);
  }
  if (typeof rdev !== 'number' || !Number.isInteger(rdev) || rdev < 0 || rdev > 0xffffffff) {
    throw new FsError('EINVAL',
      `mknod: rdev must be an integer in 0..2^32-1 (a dev_t: makedev), got ${describeValue(rdev)}`);
  }
  const type = (mode & S_IFMT) === 0 ? S_IFREG : mode & S_IFMT;
  if (type === S_IFDIR) {
    throw new FsError('EPERM', 'mknod: S_IFDIR (directories are made by mkdir)');
  }
  if (type === S_IFLNK || !BY_MODE.has(type)) {
    throw new FsError('EINVAL', `mknod: file type 0o${type.toString(8)} is not one mknod makes`);
  }
  const device = type === S_IFCHR || type === S_IFBLK;
  return { mode: type | (mode & PERMISSION_BITS), rdev: device ? rdev : 0 };
}

/**
 * A dev_t of a major and a minor number, as glibc's makedev (for majors below 4096 and
 * minors below 2^20, the 32 bits Linux's new_encode_dev writes: btrfs's rdev).
 */
export function makedev(major: number, minor: number): number {
  if (!Number.isInteger(major) || major < 0 || major > 0xfff || !Number.isInteger(minor)
    || minor < 0 || minor > 0xfffff) {
    throw new FsError('EINVAL',
      `makedev: major must be in 0..4095 and minor in 0..2^20-1, got ${describeValue(major)},`
        + ` ${describeValue(minor)}`);
  }
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** The major number of a dev_t (glibc's major, for 32-bit dev_t). */
export function major(dev: number): number {
  return (dev >>> 8) & 0xfff;
}

/** The minor number of a dev_t (glibc's minor, for 32-bit dev_t). */
export function minor(dev: number): number {
  return ((dev & 0xff) | ((dev >>> 12) & 0xfff00)) >>> 0;
}

/** A directory: the top of a subvolume or not. */
export function isDirKind(kind: FileKind): boolean {
  return kind === 'dir' || kind === 'subvolume';
}

/**
 * Calls that open a file (read, write, map, clone, fallocate: each needs a descriptor):
 * a directory is EISDIR; a special file ENXIO, what Linux's open gives a device without a
 * driver, a socket, or a fifo opened for writing without blocking and with no reader
 * (pmcow has no drivers and no other party to meet at a fifo: every open would fail or
 * block forever).
 */
export function requireRegular(kind: FileKind, path: unknown): void {
  if (kind === 'file') return;
  if (isSpecialKind(kind)) {
    throw new FsError('ENXIO', `'${String(path)}' is a ${kind}: pmcow opens regular files only`);
  }
  throw new FsError('EISDIR', `'${String(path)}' is a directory`);
}
