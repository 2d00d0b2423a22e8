// The reference model of the range operations (docs/fs.md section 5): copy_file_range,
// XFS's EXCHANGE_RANGE, FIDEDUPERANGE with one destination, FALLOC_FL_COLLAPSE_RANGE and
// FALLOC_FL_INSERT_RANGE, on the plain model of namespace.ts. Like FsModel's methods, each
// checks every error before it changes anything and lists every errno that applies (the
// file system reports the first of its own order, which POSIX leaves open). The rules are
// those Linux and docs/fs.md give; nothing here reads the file system.
import type { ErrnoName } from '../errors.js';
import { BLOCK, ModelError, type FsModel, type MNode } from './namespace.js';

/** The largest file, offset or length the file system takes (2^50: EFBIG above). */
export const MODEL_MAX_FILE_BYTES = 2 ** 50;
/** FIDEDUPERANGE's cap on one request (the VFS cuts longer ones to it). */
const MAX_DEDUPE_BYTES = 2 ** 30;

/**
 * What a range operation did besides changing the model: `early` when it returned before
 * it would start a change (nothing to do: no EBUSY while frozen, no EROFS), and errnos
 * that are correct results too where the model cannot say which one the API gives.
 */
interface RangeOutcome { early: boolean; alsoErrnos: ErrnoName[] }

function fail(codes: ErrnoName[], message: string): never {
  throw new ModelError(codes, message);
}

/**
 * The regular file at `path`, or undefined with its errors (ENOENT, ENOTDIR, EISDIR...)
 * added to `codes`.
 */
function fileOf(m: FsModel, path: string, codes: ErrnoName[]): MNode | undefined {
  let node: MNode;
  try {
    node = m.lookup(path);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    codes.push(...e.codes);
    return undefined;
  }
  if (node.kind === 'dir') { codes.push('EISDIR'); return undefined; }
  return node;
}

function tooBig(codes: ErrnoName[], ...values: number[]): void {
  if (values.some((v) => v > MODEL_MAX_FILE_BYTES)) codes.push('EFBIG');
}

const alignUp = (x: number): number => Math.ceil(x / BLOCK) * BLOCK;
const alignDown = (x: number): number => Math.floor(x / BLOCK) * BLOCK;

/** data[from, to), zeros past its end (bytes past EOF read as zeros). */
function bytesAt(data: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  if (from < data.length) out.set(data.subarray(from, Math.min(to, data.length)));
  return out;
}

/** Page states [first, first + count), holes past the array's end. */
function pagesAt(node: MNode, first: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  if (first < node.pages.length) {
    out.set(node.pages.subarray(first, Math.min(first + count, node.pages.length)));
  }
  return out;
}

/** Page states from `first` on become `states` (a new array: pages are never changed in place). */
function putPages(node: MNode, first: number, states: Uint8Array): void {
  const next = new Uint8Array(Math.max(node.pages.length, first + states.length));
  next.set(node.pages);
  next.set(states, first);
  node.pages = next;
}

/**
 * The node's bytes after `bytes` land at `at`, cut to its size (an exchange never changes
 * sizes).
 */
function placeWithin(data: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const next = data.slice();
  if (at < next.length) next.set(bytes.subarray(0, Math.min(bytes.length, next.length - at)), at);
  return next;
}

/**
 * Blocks the model can no longer vouch for: fallocate's promise does not follow extents
 * that move between files.
 */
function shared(a: MNode, b: MNode): void {
  a.maybeShared = true;
  b.maybeShared = true;
  a.preallocPromise.kept = false;
  b.preallocPromise.kept = false;
}

/**
 * copy_file_range(2): the bytes copied (the length cut at the source's EOF: 0 from or past
 * it), and whether they were shared (the file system reflinks sector-aligned ranges, or
 * one that ends at the source's EOF and at or past the destination's, between files of
 * one kind from a source that is not DAX-immutable; it copies the others through reads
 * and writes). Overlapping ranges of one file are EINVAL: Linux judges the overlap by the
 * cut length, the file system by the asked one, so where only the asked one overlaps,
 * EINVAL and the copy are both correct.
 */
export function copyFileRange(m: FsModel, srcPath: string, srcOffset: number, dstPath: string,
  dstOffset: number, length: number): RangeOutcome & { copied: number; reflink: boolean } {
  const codes: ErrnoName[] = [];
  tooBig(codes, srcOffset, dstOffset, length, dstOffset + length);
  const src = fileOf(m, srcPath, codes);
  const dst = fileOf(m, dstPath, codes);
  if (!src || !dst || codes.length) {
    fail(codes, `copy ${srcPath}@${srcOffset} to ${dstPath}@${dstOffset} (${length})`);
  }
  const n = Math.min(length, Math.max(0, src.size - srcOffset));
  const overlaps = (len: number): boolean =>
    src === dst && srcOffset < dstOffset + len && dstOffset < srcOffset + len;
  if (n > 0 && overlaps(n)) codes.push('EINVAL');
  if (dst.immutable) codes.push('EPERM');
  if (n > 0 && dst.subvol.readonly) codes.push('EROFS');
  if (codes.length) {
    fail(codes, `cannot copy ${srcPath}@${srcOffset} to ${dstPath}@${dstOffset} (${length})`);
  }
  const alsoErrnos: ErrnoName[] = overlaps(length) ? ['EINVAL'] : [];
  // Nothing to copy: the file system returns 0 before it opens the destination for writing.
  if (n === 0) {
    const errnos: ErrnoName[] = dst.subvol.readonly ? [...alsoErrnos, 'EROFS'] : alsoErrnos;
    return { copied: 0, reflink: false, early: true, alsoErrnos: errnos };
  }
  const aligned = srcOffset % BLOCK === 0 && dstOffset % BLOCK === 0
    && (n % BLOCK === 0 || (srcOffset + n === src.size && dstOffset + n >= dst.size));
  const reflink = aligned && src.nodatacow === dst.nodatacow && !src.immutable;
  if (reflink) {
    m.cloneRange(srcPath, srcOffset, dstPath, dstOffset, n);
  } else {
    const bytes = src.data.slice(srcOffset, srcOffset + n);
    const fd = m.open(dstPath);
    try { m.pwrite(fd, bytes, dstOffset); } finally { m.close(fd); }
  }
  return { copied: n, reflink, early: false, alsoErrnos };
}

/**
 * XFS_IOC_EXCHANGE_RANGE as the file system documents it: offsets and length multiples of
 * 4096, both ranges inside their files (not past EOF), apart in one file, both files datacow
 * or both nodatacow (EINVAL); a DAX-immutable file EPERM. The bytes and page states of the
 * ranges trade places; sizes stay, so bytes that land past a file's EOF are gone.
 */
export function exchangeRange(m: FsModel, path1: string, offset1: number, path2: string,
  offset2: number, length: number): RangeOutcome {
  const codes: ErrnoName[] = [];
  tooBig(codes, offset1, offset2, length);
  const one = fileOf(m, path1, codes);
  const two = fileOf(m, path2, codes);
  if (!one || !two || codes.length) fail(codes, `exchange ${path1} ${path2}`);
  if (offset1 % BLOCK || offset2 % BLOCK || length % BLOCK) codes.push('EINVAL');
  if (offset1 + length > one.size || offset2 + length > two.size) codes.push('EINVAL');
  if (one === two && offset1 < offset2 + length && offset2 < offset1 + length) codes.push('EINVAL');
  if (one.nodatacow !== two.nodatacow) codes.push('EINVAL');
  if (one.immutable || two.immutable) codes.push('EPERM');
  if (codes.length) {
    fail(codes, `cannot exchange ${path1}@${offset1} and ${path2}@${offset2} (${length})`);
  }
  if (length === 0) return { early: true, alsoErrnos: [] };
  if (one.subvol.readonly || two.subvol.readonly) {
    fail(['EROFS'], 'exchange in a read-only subvolume');
  }
  const a = bytesAt(one.data, offset1, offset1 + length);
  const b = bytesAt(two.data, offset2, offset2 + length);
  const pa = pagesAt(one, offset1 / BLOCK, length / BLOCK);
  const pb = pagesAt(two, offset2 / BLOCK, length / BLOCK);
  one.data = placeWithin(one.data, offset1, b);
  // (The same array as one.data's new one when one === two.)
  two.data = placeWithin(two.data, offset2, a);
  putPages(one, offset1 / BLOCK, pb);
  putPages(two, offset2 / BLOCK, pa);
  if (one.maybeShared || two.maybeShared) shared(one, two);
  one.preallocPromise.kept = false;
  two.preallocPromise.kept = false;
  return { early: false, alsoErrnos: [] };
}

/**
 * FIDEDUPERANGE with one destination, by the VFS's and btrfs's rules (docs/fs.md section
 * 5): the source's checks fail the call, a zero length is 'same' with nothing else
 * checked, and a range that passes its checks is compared: equal bytes are shared (no byte
 * changes; the destination's pages become the source's), different ones change nothing.
 */
export function dedupeRange(m: FsModel, srcPath: string, srcOffset: number, dstPath: string,
  dstOffset: number,
  length: number): RangeOutcome & { deduped: number; status: 'same' | 'differs' } {
  const codes: ErrnoName[] = [];
  tooBig(codes, srcOffset, length, dstOffset);
  const src = fileOf(m, srcPath, codes);
  if (src && srcOffset + length > src.size) codes.push('EINVAL');
  const dst = fileOf(m, dstPath, codes);
  if (!src || !dst || codes.length) fail(codes, `dedupe ${srcPath} ${dstPath}`);
  const len = Math.min(length, MAX_DEDUPE_BYTES);
  if (len === 0) return { deduped: 0, status: 'same', early: true, alsoErrnos: [] };
  if (dst.subvol.readonly) codes.push('EROFS');
  if (src.nodatacow !== dst.nodatacow) codes.push('EINVAL');
  if (src.immutable || dst.immutable) codes.push('EPERM');
  if (srcOffset % BLOCK || dstOffset % BLOCK) codes.push('EINVAL');
  if (srcOffset >= src.size || dstOffset >= dst.size || dstOffset + len > dst.size) {
    codes.push('EINVAL');
  }
  // Both ranges at their EOF: the EOF block is shared whole; otherwise whole blocks only
  // (REMAP_FILE_CAN_SHORTEN).
  const bothEof = srcOffset + len === src.size && dstOffset + len === dst.size;
  const compare = bothEof ? len : alignDown(len);
  const share = bothEof ? alignUp(src.size) - srcOffset : compare;
  if (src === dst && dstOffset + share > srcOffset && dstOffset < srcOffset + share) {
    codes.push('EINVAL');
  }
  if (codes.length) {
    fail(codes, `cannot dedupe ${srcPath}@${srcOffset} to ${dstPath}@${dstOffset} (${length})`);
  }
  if (compare === 0) return { deduped: 0, status: 'same', early: true, alsoErrnos: [] };
  const a = src.data.subarray(srcOffset, srcOffset + compare);
  const b = dst.data.subarray(dstOffset, dstOffset + compare);
  for (let i = 0; i < compare; i++) {
    if (a[i] !== b[i]) return { deduped: 0, status: 'differs', early: false, alsoErrnos: [] };
  }
  putPages(dst, dstOffset / BLOCK, pagesAt(src, srcOffset / BLOCK, Math.ceil(share / BLOCK)));
  shared(src, dst);
  return { deduped: compare, status: 'same', early: false, alsoErrnos: [] };
}

/** The checks collapse and insert share (vfs_fallocate's, then the mode's): the file. */
function shiftTarget(m: FsModel, path: string, offset: number, length: number,
  codes: ErrnoName[]): MNode | undefined {
  tooBig(codes, offset, length, offset + length);
  if (length === 0) codes.push('EINVAL');
  const node = fileOf(m, path, codes);
  if (!node) return undefined;
  if (node.subvol.readonly) codes.push('EROFS');
  if (node.immutable) codes.push('EPERM');
  if (offset % BLOCK || length % BLOCK) codes.push('EINVAL');
  return node;
}

/**
 * FALLOC_FL_COLLAPSE_RANGE: [offset, offset + length) leaves the file, the rest moves down
 * (bytes and page states, preallocated pages past EOF too), the size shrinks by length.
 * The range must end before EOF (EINVAL: one reaching it is a truncate).
 */
export function collapseRange(m: FsModel, path: string, offset: number, length: number): void {
  const codes: ErrnoName[] = [];
  const node = shiftTarget(m, path, offset, length, codes);
  if (node && offset + length >= node.size) codes.push('EINVAL');
  if (!node || codes.length) fail(codes, `cannot collapse ${path}@${offset} (${length})`);
  const data = new Uint8Array(node.size - length);
  data.set(node.data.subarray(0, offset));
  data.set(node.data.subarray(offset + length), offset);
  node.data = data;
  const first = offset / BLOCK;
  const gone = length / BLOCK;
  const pages = new Uint8Array(Math.max(first, node.pages.length - gone));
  pages.set(node.pages.subarray(0, first));
  if (node.pages.length > first + gone) pages.set(node.pages.subarray(first + gone), first);
  node.pages = pages;
  node.preallocPromise.kept = false;
}

/**
 * FALLOC_FL_INSERT_RANGE: everything from offset moves up by length, leaving a hole there;
 * the size grows by length. The offset must be below EOF (EINVAL), the new size at most
 * 2^50 (EFBIG).
 */
export function insertRange(m: FsModel, path: string, offset: number, length: number): void {
  const codes: ErrnoName[] = [];
  const node = shiftTarget(m, path, offset, length, codes);
  if (node && node.size + length > MODEL_MAX_FILE_BYTES) codes.push('EFBIG');
  if (node && offset >= node.size) codes.push('EINVAL');
  if (!node || codes.length) fail(codes, `cannot insert into ${path}@${offset} (${length})`);
  const data = new Uint8Array(node.size + length);
  data.set(node.data.subarray(0, offset));
  data.set(node.data.subarray(offset), offset + length);
  node.data = data;
  const first = offset / BLOCK;
  const added = length / BLOCK;
  const pages = new Uint8Array(Math.max(first, node.pages.length) + added);
  pages.set(node.pages.subarray(0, first));
  if (node.pages.length > first) pages.set(node.pages.subarray(first), first + added);
  node.pages = pages;
  node.preallocPromise.kept = false;
}
