// Symbolic links as btrfs keeps them: an inode of mode S_IFLNK|0777 whose target is the
// inline file extent at offset 0 (uncompressed: ram bytes = the target's length), its size
// and nbytes the target's length, named by directory entries of kind BTRFS_FT_SYMLINK
// (btrfs_symlink). docs/fs.md section 11.
import { FsError, describeValue } from '../errors.js';
import { FsMemory } from './memory.js';
import { FE_GENERATION, FE_RAM_BYTES, FE_TYPE, NAME_MAX_BYTES, maxItemBytes } from './format.js';
import {
  EXTENT_TYPE_INLINE, FILE_EXTENT_INLINE_BYTES, SYMLINK_TARGET_MAX_BYTES,
} from '../core/abi.js';

/** Linux's MAXSYMLINKS: a path walk follows at most this many symlinks (then ELOOP). */
export const MAX_SYMLINK_FOLLOWS = 40;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The longest target: PATH_MAX - 1 bytes (Linux), and no more than one leaf item's inline
 * data holds (btrfs's BTRFS_MAX_INLINE_DATA_SIZE: ENAMETOOLONG past it; pmcow's items are
 * at most half a leaf, so with 4 KiB nodes 1,951 bytes).
 */
function maxTargetBytes(nodeBytes: number): number {
  return Math.min(SYMLINK_TARGET_MAX_BYTES, maxItemBytes(nodeBytes) - FILE_EXTENT_INLINE_BYTES);
}

/** A target's bytes, checked as symlink(2) checks them (ENOENT empty, ENAMETOOLONG too long). */
export function checkSymlinkTarget(target: unknown, nodeBytes: number): Uint8Array {
  if (typeof target !== 'string') {
    throw new FsError('EINVAL', `a symlink target must be a string, got ${describeValue(target)}`);
  }
  if (target.includes('\0')) throw new FsError('EINVAL', 'a symlink target contains a NUL byte');
  if (target === '') throw new FsError('ENOENT', 'a symlink target must not be empty');
  const bytes = encoder.encode(target);
  const max = maxTargetBytes(nodeBytes);
  if (bytes.length > max) {
    throw new FsError('ENAMETOOLONG', `symlink target of ${bytes.length} bytes (at most ${max})`);
  }
  return bytes;
}

/** The inline file extent item holding `target` (written in transaction `transid`). */
export function encodeSymlinkTarget(target: Uint8Array, transid: number): Uint8Array {
  const out = new Uint8Array(FILE_EXTENT_INLINE_BYTES + target.length);
  const m = new FsMemory(out.buffer);
  m.setU64(FE_GENERATION, transid);
  m.setU64(FE_RAM_BYTES, target.length);
  m.setU8(FE_TYPE, EXTENT_TYPE_INLINE);
  out.set(target, FILE_EXTENT_INLINE_BYTES);
  return out;
}

/**
 * The target an inline item holds (null: the item is no uncompressed inline extent).
 * mkfs.btrfs 6.2's --rootdir stores a target with its C string's NUL (its size counts it):
 * the text ends at the first NUL, as a C caller of readlink would read it.
 */
export function decodeSymlinkTarget(item: Uint8Array): string | null {
  if (item.length <= FILE_EXTENT_INLINE_BYTES || item[FE_TYPE] !== EXTENT_TYPE_INLINE) return null;
  const bytes = item.subarray(FILE_EXTENT_INLINE_BYTES);
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * The names of a path or of a symlink's target as a walk takes them ('' and '.' dropped,
 * '..' kept); a name longer than NAME_MAX is ENAMETOOLONG. FileSystem's path check and its
 * symlink walk both read paths through here.
 */
export function pathNames(text: string): string[] {
  const parts: string[] = [];
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short names need no encoding to check.
    if (part.length * 3 > NAME_MAX_BYTES && encoder.encode(part).length > NAME_MAX_BYTES) {
      throw new FsError('ENAMETOOLONG', `name too long: '${part.slice(0, 20)}...'`);
    }
    parts.push(part);
  }
  return parts;
}
