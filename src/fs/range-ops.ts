// Range operations on a file's extent map: dedupe (Linux's FIDEDUPERANGE, as btrfs does it:
// compare, then share only equal bytes) and collapse / insert range (fallocate's
// FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE, as ext4 and XFS do them: btrfs
// answers EOPNOTSUPP; pmcow moves file extent items, which btrfs's format allows).
// FileSystem's methods of the same names call these with a RangeHost (docs/fs.md, section 5).
//
// Each operation runs under the fs lock (FileSystem's LOCKED_OPERATIONS) inside one
// transaction: the file system commits only between operations, so a crash image holds
// the state before the operation or after it (test/range-ops-crash.test.ts).
import { checkOffset } from './fs-common.js';
import { FsError, describeValue } from '../errors.js';
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import type { InodeItem } from './items.js';
import type { FileKind } from './types.js';
import type { FileMappings } from './file-mappings.js';
import { FileData, alignDown, alignUp } from './file-data.js';
import { requireRegular } from './special.js';
import {
  SECTOR_BYTES, MAX_KEY_VALUE, EXTENT_TYPE_REG, INODE_FLAG_IMMUTABLE, INODE_FLAG_NODATASUM,
  ROOT_FLAG_READONLY,
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, FILE_EXTENT_BYTES, MAX_FILE_BYTES,
} from './format.js';

/** The VFS's cap on one dedupe request (vfs_dedupe_file_range): longer requests are cut to it. */
export const MAX_DEDUPE_BYTES = 2 ** 30;
/**
 * FIDEDUPERANGE's argument (a 24-byte header and a 32-byte record per destination) must
 * fit one 4096-byte page: at most 127 destinations, else ENOMEM (ioctl_file_dedupe_range).
 */
export const MAX_DEDUPE_DESTINATIONS = 127;

/**
 * A dedupe's answer for one destination: the bytes now shared, and whether the ranges held
 * the same bytes.
 */
export interface DedupeResult { bytesDeduped: number; status: 'same' | 'differs' }

/** A destination of dedupeRanges: a file and the offset of its range. */
export interface DedupeDestination { path: string; offset: number }

/**
 * dedupeRanges' answer for one destination (FIDEDUPERANGE's file_dedupe_range_info): a
 * destination that fails has status 'error' and its FsError, and the others still run.
 */
export interface DedupeInfo {
  bytesDeduped: number;
  status: 'same' | 'differs' | 'error';
  error?: FsError;
}

/** A resolved path, as FileSystem resolves it. */
interface RangeFile { sv: Subvolume; ino: number; inode: InodeItem; kind: FileKind }

/** What these operations use of FileSystem (its private helpers, bound). */
export interface RangeHost {
  readonly k: Kernel;
  readonly data: FileData;
  dax(): FileMappings | null;
  live(): void;
  resolve(path: unknown): RangeFile;
  /** Writable (EROFS, EBUSY when frozen), room in the dirty-node pool. */
  beginChange(sv: Subvolume): void;
  reserveSpace(enough: () => boolean, message?: string): void;
  inode(sv: Subvolume, ino: number): InodeItem;
  putInode(sv: Subvolume, ino: number, inode: InodeItem): void;
  rangeChanged(sv: Subvolume, ino: number, start: number, end: number): void;
}

function isImmutable(r: RangeFile): boolean {
  return (r.inode.flags & INODE_FLAG_IMMUTABLE) !== 0;
}

/** The device blocks (4096-byte) that regular extents map in [from, to) of a file. */
function mappedBlocks(data: FileData, sv: Subvolume, ino: number, from: number,
  to: number): number[] {
  const blocks: number[] = [];
  for (const { fileOffset, e } of data.extents(sv, ino, from, to)) {
    if (e.type !== EXTENT_TYPE_REG || e.diskBytenr === 0) continue;
    const a = Math.max(from, fileOffset);
    const b = Math.min(to, fileOffset + e.bytes);
    for (let at = alignDown(a); at < b; at += SECTOR_BYTES) {
      blocks.push((e.diskBytenr + e.offset + (at - fileOffset)) / SECTOR_BYTES);
    }
  }
  return blocks;
}

// --- dedupe ------------------------------------------------------------------------------

/**
 * The source's checks, which fail the whole call (vfs_dedupe_file_range); the length cut to
 * MAX_DEDUPE_BYTES.
 */
function dedupeSource(h: RangeHost, srcPath: unknown, srcOffset: unknown, length: unknown): number {
  h.live();
  const offset = checkOffset(srcOffset, 'srcOffset');
  const len = checkOffset(length, 'length');
  const src = h.resolve(srcPath);
  requireRegular(src.kind, srcPath);
  if (offset + len > src.inode.size) {
    throw new FsError('EINVAL', 'dedupe source range beyond its EOF');
  }
  return Math.min(len, MAX_DEDUPE_BYTES);
}

/**
 * The byte counts of a dedupe that passed its checks (generic_remap_checks): `compare`
 * bytes are compared, `share` bytes (the EOF block whole when both ranges end at their
 * files' EOF) shared. An unaligned length that does not end at both EOFs is cut to whole
 * blocks, as FIDEDUPERANGE's REMAP_FILE_CAN_SHORTEN does.
 */
function dedupeSpan(src: RangeFile, srcOffset: number, dst: RangeFile,
  dstOffset: number, length: number): {
  compare: number;
  share: number;
} {
  if (srcOffset % SECTOR_BYTES || dstOffset % SECTOR_BYTES) {
    throw new FsError('EINVAL', 'dedupe offsets must be 4096-aligned');
  }
  if (srcOffset >= src.inode.size || srcOffset + length > src.inode.size
    || dstOffset >= dst.inode.size || dstOffset + length > dst.inode.size) {
    throw new FsError('EINVAL', 'dedupe ranges must lie within both files');
  }
  const bothEof = srcOffset + length === src.inode.size && dstOffset + length === dst.inode.size;
  const compare = bothEof ? length : alignDown(length);
  const share = bothEof ? alignUp(src.inode.size) - srcOffset : compare;
  if (src.sv === dst.sv && src.ino === dst.ino && dstOffset + share > srcOffset
    && dstOffset < srcOffset + share) {
    throw new FsError('EINVAL', 'dedupe source and destination overlap');
  }
  return { compare, share };
}

/** One destination of a dedupe whose source passed dedupeSource. */
function dedupeOne(h: RangeHost, srcPath: unknown, srcOffset: number, dstPath: unknown,
  dstOffset: unknown, length: number): DedupeResult {
  const dstAt = checkOffset(dstOffset, 'dstOffset');
  const src = h.resolve(srcPath);
  const dst = h.resolve(dstPath);
  requireRegular(dst.kind, dstPath);
  if (length === 0) return { bytesDeduped: 0, status: 'same' };
  if (dst.sv.flags & ROOT_FLAG_READONLY) {
    throw new FsError('EROFS', `'${String(dstPath)}' is in a read-only snapshot`);
  }
  // btrfs_remap_file_range_prep, then generic_remap_file_range_prep, in their order.
  if ((src.inode.flags & INODE_FLAG_NODATASUM) !== (dst.inode.flags & INODE_FLAG_NODATASUM)) {
    throw new FsError('EINVAL', 'cannot dedupe between datacow and nodatacow files');
  }
  if (isImmutable(dst)) throw new FsError('EPERM', 'dedupe into a DAX-immutable file');
  // Linux answers ETXTBSY for a swap file source; pmcow's DAX-immutable files must never
  // share their extents (docs/dax.md section 8), as cloneRange says with EPERM too.
  if (isImmutable(src)) throw new FsError('EPERM', 'dedupe from a DAX-immutable file');
  const { compare, share } = dedupeSpan(src, srcOffset, dst, dstAt, length);
  if (compare === 0) return { bytesDeduped: 0, status: 'same' };
  h.beginChange(dst.sv);
  // Compare and share atomically with stores through mappings (generic/630): every mapping
  // of either range's blocks is write-protected (with a shootdown) and pages dirtied
  // through mmap get their checksums first. A store from now on faults, and a fault takes
  // the fs lock this operation holds: it lands after the share, in a block of its own.
  h.dax()?.beforeShare([
    ...mappedBlocks(h.data, src.sv, src.ino, srcOffset, srcOffset + share),
    ...mappedBlocks(h.data, dst.sv, dst.ino, dstAt, dstAt + share),
  ]);
  const differs = h.data.firstDifference({ ...src, at: srcOffset }, { ...dst, at: dstAt }, compare);
  if (differs >= 0) return { bytesDeduped: 0, status: 'differs' };
  h.data.clone(src.sv, src.ino, srcOffset, dst.sv, dst.ino, dstAt, share);
  h.rangeChanged(dst.sv, dst.ino, dstAt, dstAt + share);
  return { bytesDeduped: compare, status: 'same' };
}

/**
 * FIDEDUPERANGE with one destination: when [srcOffset, srcOffset + length) of the source
 * holds the same bytes as [dstOffset, dstOffset + length) of the destination, the
 * destination's range maps the source's extents (shared, refcounts raised; no byte is
 * written); else nothing changes and the status is 'differs'. Errors are thrown.
 */
export function dedupeRange(h: RangeHost, srcPath: unknown, srcOffset: unknown, dstPath: unknown,
  dstOffset: unknown, length: unknown): DedupeResult {
  const len = dedupeSource(h, srcPath, srcOffset, length);
  return dedupeOne(h, srcPath, srcOffset as number, dstPath, dstOffset, len);
}

/**
 * FIDEDUPERANGE's array form: the source's checks throw (as the ioctl fails), then each
 * destination is deduped on its own, an FsError of one ending in its own result.
 */
export function dedupeRanges(h: RangeHost, srcPath: unknown, srcOffset: unknown, length: unknown,
  destinations: unknown): DedupeInfo[] {
  const len = dedupeSource(h, srcPath, srcOffset, length);
  if (!Array.isArray(destinations)) {
    throw new FsError('EINVAL', 'destinations must be an array of { path, offset }');
  }
  if (destinations.length > MAX_DEDUPE_DESTINATIONS) {
    throw new FsError('ENOMEM',
      `at most ${MAX_DEDUPE_DESTINATIONS} destinations per call (FIDEDUPERANGE's page)`);
  }
  for (const d of destinations) {
    if (d === null || typeof d !== 'object' || Array.isArray(d)) {
      throw new FsError('EINVAL',
        `a destination must be { path, offset }, got ${describeValue(d)}`);
    }
  }
  return (destinations as DedupeDestination[]).map((d) => {
    try {
      return dedupeOne(h, srcPath, srcOffset as number, d.path, d.offset, len);
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      return { bytesDeduped: 0, status: 'error', error: e };
    }
  });
}

// --- collapse and insert range ------------------------------------------------------------

/** The checks fallocate makes before the mode's own (vfs_fallocate), and the file. */
function shiftTarget(h: RangeHost, path: unknown, offset: unknown, length: unknown, what: string): {
  r: RangeFile;
  offset: number;
  length: number;
} {
  h.live();
  const at = checkOffset(offset, 'offset');
  const len = checkOffset(length, 'length');
  if (len === 0) throw new FsError('EINVAL', `${what} length must be positive`);
  if (at + len > MAX_FILE_BYTES) throw new FsError('EFBIG', `${what} beyond the maximum file size`);
  const r = h.resolve(path);
  requireRegular(r.kind, path);
  if (r.sv.flags & ROOT_FLAG_READONLY) {
    throw new FsError('EROFS', `'${String(path)}' is in a read-only snapshot`);
  }
  if (isImmutable(r)) throw new FsError('EPERM', `${what}: the file is DAX-immutable`);
  if (at % SECTOR_BYTES || len % SECTOR_BYTES) {
    throw new FsError('EINVAL', `${what} offset and length must be multiples of 4096`);
  }
  return { r, offset: at, length: len };
}

/**
 * Before the items move: room for them in one transaction, and for the EOF sector's
 * rewrite. The moved items' leaves are COWed (twice over, for splits), and each item
 * changes its extent's backrefs: a new EXTENT_DATA_REF item and the old one deleted, next
 * to the extent's item in the extent tree (three items of about a file extent item's size
 * each, leaves COWed twice over too): about four times what such moves were measured to
 * dirty. A move the dirty-node pool could not hold even after a commit is ENOSPC before
 * anything changes (a commit in the middle would let a crash show a half-moved file).
 * bench/range-ops-probe.mjs measures the limit.
 */
function reserveShift(h: RangeHost, r: RangeFile, from: number, what: string): void {
  const k = h.k;
  const items = h.data.extents(r.sv, r.ino, from, MAX_KEY_VALUE).length;
  const perLeaf = Math.floor((k.nodeBytes - NODE_HEADER_BYTES)
    / (LEAF_ITEM_BYTES + FILE_EXTENT_BYTES));
  const nodes = 2 * Math.ceil(items / perLeaf) + 2 * Math.ceil((3 * items) / perLeaf) + 64;
  const freeNodes = (): number => Math.round((1 - k.poolPressure()) * k.poolSize);
  if (freeNodes() < nodes && k.hasChanges()) k.commit();
  if (freeNodes() < nodes) {
    throw new FsError('ENOSPC',
      `${what}: ${items} extent items to move do not fit one transaction's`
        + ` ${k.poolSize} dirty-node buffers`);
  }
  h.reserveSpace(() => k.spaceFits(SECTOR_BYTES, k.metadataReserveBytes));
}

/**
 * The bytes past EOF in the last sector are zeroed before that sector moves: a store
 * through a mapping may have put data there, and after the move a mapping of the new last
 * page would show it (generic/499). Pages past EOF are never read otherwise.
 */
function zeroPastEof(h: RangeHost, r: RangeFile): void {
  const inode = h.inode(r.sv, r.ino);
  const end = alignUp(inode.size);
  if (end === inode.size) return;
  if (!h.data.extents(r.sv, r.ino, inode.size, end).some(({ e }) =>
    e.type === EXTENT_TYPE_REG)) return;
  h.data.write(r.sv, r.ino, inode, new Uint8Array(end - inode.size), inode.size);
}

/**
 * FALLOC_FL_COLLAPSE_RANGE: [offset, offset + length) leaves the file and everything after
 * it moves down by `length`; the size shrinks by `length`. Offset and length are
 * multiples of 4096 and the range ends before EOF (EINVAL: a range reaching EOF is a
 * truncate). Extents shared with clones or snapshots stay shared: only this file's items
 * move (their leaves COWed), so the others see nothing change.
 */
export function collapseRange(h: RangeHost, path: unknown, offset: unknown, length: unknown): void {
  const { r, offset: at, length: len } = shiftTarget(h, path, offset, length, 'collapse range');
  if (at + len >= r.inode.size) {
    throw new FsError('EINVAL', 'collapse range must end before EOF (use truncate)');
  }
  h.beginChange(r.sv);
  reserveShift(h, r, at, 'collapse range');
  h.dax()?.beforeShift(r.sv, r.ino, at);
  zeroPastEof(h, r);
  h.data.drop(r.sv, r.ino, at, at + len);
  h.data.shift(r.sv, r.ino, at + len, -len);
  const inode = h.inode(r.sv, r.ino);
  inode.size -= len;
  h.putInode(r.sv, r.ino, inode);
  h.rangeChanged(r.sv, r.ino, at, MAX_KEY_VALUE);
}

/**
 * FALLOC_FL_INSERT_RANGE: everything from `offset` on moves up by `length`, leaving a hole
 * of `length` bytes at `offset`; the size grows by `length`. Offset and length are
 * multiples of 4096, `offset` is below EOF (EINVAL), and the new size at most 2^50 (EFBIG).
 */
export function insertRange(h: RangeHost, path: unknown, offset: unknown, length: unknown): void {
  const { r, offset: at, length: len } = shiftTarget(h, path, offset, length, 'insert range');
  if (r.inode.size + len > MAX_FILE_BYTES) {
    throw new FsError('EFBIG', 'insert range would grow the file beyond the maximum file size');
  }
  if (at >= r.inode.size) throw new FsError('EINVAL', 'insert range offset must be below EOF');
  h.beginChange(r.sv);
  reserveShift(h, r, at, 'insert range');
  h.dax()?.beforeShift(r.sv, r.ino, at);
  zeroPastEof(h, r);
  h.data.shift(r.sv, r.ino, at, len);
  const inode = h.inode(r.sv, r.ino);
  inode.size += len;
  h.putInode(r.sv, r.ino, inode);
  h.rangeChanged(r.sv, r.ino, at, MAX_KEY_VALUE);
}
