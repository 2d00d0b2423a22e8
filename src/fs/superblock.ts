// The superblock: btrfs's struct btrfs_super_block (docs/fs.md section 2), its two copies
// and the rule that picks the one a mount uses.
//
// pmem tears a 4 KiB store at 8-byte words, and no store order keeps a single copy whole
// in every crash image (its checksum and its generation live in different words). So a
// commit writes two copies, each checksummed, one after the other with a fence between:
// the alternate first, then the primary. A mount takes the primary when it is valid, else
// the alternate. Every crash image then has a valid copy (the one not being written when
// the power went), and the primary, when valid, is what btrfs's tools and the kernel read,
// so they see the state pmcow mounts. Only when the primary itself is torn does btrfs need
// help: `btrfs check --super 1` reads the alternate where it is btrfs's first mirror (64
// MiB, on devices that have it); below that size the alternate is pmcow's own slot in the
// first MiB, which a pmcow mount reads (docs/fs.md section 2).
import {
  SUPERBLOCK_BYTES, SUPERBLOCK_MAGIC, SB_CSUM, SB_CSUM_START, SB_FSID, SB_BYTENR,
  SB_FLAGS, SB_MAGIC,
  SB_GENERATION, SB_ROOT_TREE, SB_TOTAL_BYTES, SB_BYTES_USED, SB_ROOT_DIR_OBJECTID, SB_NUM_DEVICES,
  SB_LOG_ROOT, SB_CACHE_GENERATION,
  SB_SECTOR_BYTES, SB_NODE_BYTES, SB_LEAF_BYTES, SB_STRIPE_BYTES, SB_INCOMPAT_FLAGS,
  SB_COMPAT_RO_FLAGS,
  SB_COMPAT_FLAGS, SB_CSUM_TYPE, SB_ROOT_LEVEL, SB_LABEL, SB_LABEL_BYTES,
  SB_SUPER_ROOTS, SB_FLAG_WRITTEN,
  PMCOW_INCOMPAT, BK_TREE_ROOT, BK_TREE_ROOT_GEN, BK_EXTENT_ROOT, BK_EXTENT_ROOT_GEN, BK_CSUM_ROOT,
  BK_CSUM_ROOT_GEN, BK_TOTAL_BYTES, BK_BYTES_USED, BK_NUM_DEVICES, BK_TREE_ROOT_LEVEL,
  BK_EXTENT_ROOT_LEVEL,
  BK_CSUM_ROOT_LEVEL, SB_PMCOW_METADATA_COPIES, SB_PMCOW_REVISION, PMCOW_REVISION,
  SB_RESERVED, SECTOR_BYTES,
  SB_DEV_ITEM, SB_CHUNK_ROOT, SB_CHUNK_ROOT_GENERATION, SB_CHUNK_ROOT_LEVEL,
  SB_SYS_CHUNK_ARRAY_SIZE, SB_SYS_CHUNK_ARRAY,
  BK_CHUNK_ROOT, BK_CHUNK_ROOT_GEN, BK_CHUNK_ROOT_LEVEL, BK_DEV_ROOT, BK_DEV_ROOT_GEN,
  BK_DEV_ROOT_LEVEL, SB_SYS_CHUNK_ARRAY_BYTES,
} from './format.js';
import { UUID_BYTES } from './uuid.js';
import {
  encodeDevItem, encodeSysChunkArray, decodeSysChunkArray, type ChunkDesc,
} from './chunks.js';
import { DEV_ITEM_BYTES, DI_BYTES_USED, DI_UUID } from '../core/abi.js';
import { featureProblem } from './features.js';

/** Where pmcow keeps the chunk tree's uuid until it writes a chunk tree (reserved bytes). */
const SB_PMCOW_CHUNK_TREE_UUID = SB_RESERVED + 16;
/** BTRFS_ROOT_TREE_DIR_OBJECTID */
const ROOT_TREE_DIR_OBJECTID = 6;

export interface SuperblockState {
  generation: number;
  rootTree: number; rootLevel: number;
  extentTree: number; extentLevel: number;
  csumTree: number; csumLevel: number;
  chunkTree: number; chunkLevel: number;
  /** The generation of the chunk tree's root block. */
  chunkGeneration: number;
  devTree: number; devLevel: number;
  /** Bytes of the device in dev extents (the device item's bytes_used). */
  devBytesUsed: number;
  /** The system chunks (the sys_chunk_array); a string says why the array cannot be read. */
  systemChunks: ChunkDesc[] | string;
  nodeBytes: number; sectorBytes: number; totalBytes: number; bytesUsed: number;
  label: string;
  /** Copies of every tree block: 1 (single) or 2 (dup). */
  metadataCopies: number;
  /** The file system's uuid and the chunk tree's (16 bytes each; tree block headers carry both). */
  fsid: Uint8Array;
  chunkTreeUuid: Uint8Array;
  /** The device's uuid (its device item's). */
  devUuid: Uint8Array;
  /**
   * Who wrote the image: pmcow, or another (mkfs.btrfs, Linux: a mount adopts it,
   * docs/fs.md section 10).
   */
  origin?: 'pmcow' | 'btrfs';
  /** The incompat and compat_ro words (written: incompatFlags, or PMCOW_INCOMPAT; compat_ro 0). */
  incompatFlags?: number;
  compatRoFlags?: number;
  /**
   * The superblock's copy of the device item as read (btrfs-progs takes the device's size
   * from it; a mount compares it with the chunk tree's).
   */
  devItemBytes?: Uint8Array;
}

/** What a copy holds: a pmcow superblock, a btrfs one pmcow cannot read (why), or nothing valid. */
export type SuperblockRead = { state: SuperblockState } | { foreign: string } | null;

const labelEncoder = new TextEncoder();
const labelDecoder = new TextDecoder();

function u64At(dv: DataView, at: number): number {
  return dv.getUint32(at + 4, true) * 4294967296 + dv.getUint32(at, true);
}

function setU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, value >>> 0, true);
  dv.setUint32(at + 4, Math.floor(value / 4294967296) >>> 0, true);
}

/**
 * Write superblock copy `bytenr` of `s` into `bytes` (SUPERBLOCK_BYTES, zeroed here), its
 * checksum last, computed by `crc` over [SB_CSUM_START, SUPERBLOCK_BYTES).
 */
export function encodeSuperblock(bytes: Uint8Array, bytenr: number, s: SuperblockState,
  crc: (b: Uint8Array) => number): void {
  if (bytes.length !== SUPERBLOCK_BYTES) throw new RangeError('a superblock is 4096 bytes');
  bytes.fill(0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_BYTES);
  bytes.set(s.fsid, SB_FSID);
  setU64(dv, SB_BYTENR, bytenr);
  setU64(dv, SB_FLAGS, SB_FLAG_WRITTEN);
  dv.setBigUint64(SB_MAGIC, SUPERBLOCK_MAGIC, true);
  setU64(dv, SB_GENERATION, s.generation);
  setU64(dv, SB_ROOT_TREE, s.rootTree);
  setU64(dv, SB_TOTAL_BYTES, s.totalBytes);
  setU64(dv, SB_BYTES_USED, s.bytesUsed);
  setU64(dv, SB_ROOT_DIR_OBJECTID, ROOT_TREE_DIR_OBJECTID);
  setU64(dv, SB_NUM_DEVICES, 1);
  dv.setUint32(SB_SECTOR_BYTES, s.sectorBytes, true);
  dv.setUint32(SB_NODE_BYTES, s.nodeBytes, true);
  dv.setUint32(SB_LEAF_BYTES, s.nodeBytes, true);
  dv.setUint32(SB_STRIPE_BYTES, SECTOR_BYTES, true);
  setU64(dv, SB_INCOMPAT_FLAGS, s.incompatFlags ?? PMCOW_INCOMPAT);
  setU64(dv, SB_COMPAT_RO_FLAGS, s.compatRoFlags ?? 0);
  dv.setUint8(SB_ROOT_LEVEL, s.rootLevel);
  setU64(dv, SB_CHUNK_ROOT, s.chunkTree);
  setU64(dv, SB_CHUNK_ROOT_GENERATION, s.chunkGeneration);
  dv.setUint8(SB_CHUNK_ROOT_LEVEL, s.chunkLevel);
  // The device item (the chunk tree's DEV_ITEM, copied) and the system chunks.
  bytes.set(encodeDevItem(s.totalBytes, s.devBytesUsed, s.devUuid, s.fsid), SB_DEV_ITEM);
  if (typeof s.systemChunks === 'string') throw new RangeError(`superblock: ${s.systemChunks}`);
  const sys = encodeSysChunkArray(s.systemChunks, s.devUuid);
  if (sys.length > SB_SYS_CHUNK_ARRAY_BYTES) {
    throw new RangeError(
      `superblock: ${s.systemChunks.length} system chunks do not fit the sys_chunk_array`);
  }
  bytes.set(sys, SB_SYS_CHUNK_ARRAY);
  dv.setUint32(SB_SYS_CHUNK_ARRAY_SIZE, sys.length, true);
  bytes.set(labelEncoder.encode(s.label).subarray(0, SB_LABEL_BYTES - 1), SB_LABEL);
  // The current roots in backup slot 0 (btrfs's super_roots); pmcow reads the extent and
  // csum trees' roots from there until it keeps them in the root tree.
  const bk = SB_SUPER_ROOTS;
  setU64(dv, bk + BK_TREE_ROOT, s.rootTree);
  setU64(dv, bk + BK_TREE_ROOT_GEN, s.generation);
  setU64(dv, bk + BK_CHUNK_ROOT, s.chunkTree);
  setU64(dv, bk + BK_CHUNK_ROOT_GEN, s.chunkGeneration);
  setU64(dv, bk + BK_DEV_ROOT, s.devTree);
  setU64(dv, bk + BK_DEV_ROOT_GEN, s.generation);
  dv.setUint8(bk + BK_CHUNK_ROOT_LEVEL, s.chunkLevel);
  dv.setUint8(bk + BK_DEV_ROOT_LEVEL, s.devLevel);
  setU64(dv, bk + BK_EXTENT_ROOT, s.extentTree);
  setU64(dv, bk + BK_EXTENT_ROOT_GEN, s.generation);
  setU64(dv, bk + BK_CSUM_ROOT, s.csumTree);
  setU64(dv, bk + BK_CSUM_ROOT_GEN, s.generation);
  setU64(dv, bk + BK_TOTAL_BYTES, s.totalBytes);
  setU64(dv, bk + BK_BYTES_USED, s.bytesUsed);
  setU64(dv, bk + BK_NUM_DEVICES, 1);
  dv.setUint8(bk + BK_TREE_ROOT_LEVEL, s.rootLevel);
  dv.setUint8(bk + BK_EXTENT_ROOT_LEVEL, s.extentLevel);
  dv.setUint8(bk + BK_CSUM_ROOT_LEVEL, s.csumLevel);
  dv.setUint8(SB_PMCOW_METADATA_COPIES, s.metadataCopies);
  // An image still being adopted keeps revision 0: a mount after a crash adopts it again.
  dv.setUint8(SB_PMCOW_REVISION, s.origin === 'btrfs' ? 0 : PMCOW_REVISION);
  bytes.set(s.chunkTreeUuid, SB_PMCOW_CHUNK_TREE_UUID);
  dv.setUint32(SB_CSUM, crc(bytes.subarray(SB_CSUM_START)), true);
}

/**
 * The superblock copy in `bytes` moved to copy `bytenr`: its own offset, and its checksum
 * again.
 */
export function rebaseSuperblock(bytes: Uint8Array, bytenr: number,
  crc: (b: Uint8Array) => number): void {
  if (bytes.length !== SUPERBLOCK_BYTES) throw new RangeError('a superblock is 4096 bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_BYTES);
  setU64(dv, SB_BYTENR, bytenr);
  dv.setUint32(SB_CSUM, crc(bytes.subarray(SB_CSUM_START)), true);
}

/**
 * Read a superblock copy from `bytes` (read in place: a crash explorer parses thousands a
 * second), its checksum by `crc` over [SB_CSUM_START, SUPERBLOCK_BYTES). null when it is no
 * valid btrfs superblock; `foreign` when it is one pmcow does not read.
 */
export function decodeSuperblock(bytes: Uint8Array, crc: (b: Uint8Array) => number,
  offset?: number): SuperblockRead {
  if (bytes.length !== SUPERBLOCK_BYTES) throw new RangeError('a superblock is 4096 bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_BYTES);
  if (dv.getBigUint64(SB_MAGIC, true) !== SUPERBLOCK_MAGIC) return null;
  // A copy names its own offset (btrfs refuses one that names another): read at `offset`.
  if (offset !== undefined && u64At(dv, SB_BYTENR) !== offset) return null;
  if (dv.getUint16(SB_CSUM_TYPE, true) !== 0) {
    const csumType = dv.getUint16(SB_CSUM_TYPE, true);
    return { foreign: `checksum type ${csumType} (pmcow reads crc32c only)` };
  }
  if (crc(bytes.subarray(SB_CSUM_START)) !== dv.getUint32(SB_CSUM, true)) return null;
  const revision = dv.getUint8(SB_PMCOW_REVISION);
  const stale = revisionProblem(revision);
  if (stale) return { foreign: stale };
  // Revision 0: an image pmcow did not write (mkfs.btrfs, Linux); a mount adopts it.
  const origin = revision === 0 ? 'btrfs' : 'pmcow';
  const compatRo = u64At(dv, SB_COMPAT_RO_FLAGS), incompat = u64At(dv, SB_INCOMPAT_FLAGS);
  const foreign = foreignFeature(dv, origin, compatRo, incompat);
  if (foreign) return { foreign };
  return { state: superblockState(bytes, dv, origin, compatRo, incompat) };
}


/** Why a pmcow image of layout `revision` is not read here, or null (0: not pmcow's). */
function revisionProblem(revision: number): string | null {
  if (revision !== 0 && revision < PMCOW_REVISION) {
    return `a pmcow image of layout revision ${revision} (before block groups); this`
      + ` pmcow reads revision ${PMCOW_REVISION}: make the image again`;
  }
  if (revision > PMCOW_REVISION) {
    return `a pmcow image of layout revision ${revision}, newer than this pmcow's`
      + ` ${PMCOW_REVISION}`;
  }
  return null;
}

/** A feature of the image pmcow does not run (its words), or null. */
function foreignFeature(
  dv: DataView, origin: 'btrfs' | 'pmcow', compatRo: number, incompat: number,
): string | null {
  const compat = u64At(dv, SB_COMPAT_FLAGS);
  const features = featureProblem(compat, compatRo, incompat);
  if (features) return `${features} (pmcow does not run it)`;
  if (origin === 'pmcow' && (compatRo !== 0 || (incompat & PMCOW_INCOMPAT) !== PMCOW_INCOMPAT)) {
    return `a pmcow image with compat_ro ${compatRo.toString(16)}, incompat`
      + ` ${incompat.toString(16)} (pmcow writes incompat ${PMCOW_INCOMPAT.toString(16)}`
      + ' and no compat_ro)';
  }
  if (origin === 'btrfs') {
    const devices = u64At(dv, SB_NUM_DEVICES);
    if (devices !== 1) return `${devices} devices (pmcow runs one)`;
    const logRoot = u64At(dv, SB_LOG_ROOT);
    if (logRoot !== 0) {
      return `a tree-log at ${logRoot} (pmcow does not replay one: mount the image`
        + ` with Linux first)`;
    }
    const cacheGeneration = u64At(dv, SB_CACHE_GENERATION);
    if (cacheGeneration !== 0 && cacheGeneration !== 2 ** 64 - 1) {
      return `the v1 space cache (cache_generation ${cacheGeneration}; pmcow keeps no`
        + ` space cache)`;
    }
  }
  return null;
}

/** The fields of a superblock a mount reads, from a copy that passed every check. */
function superblockState(
  bytes: Uint8Array, dv: DataView, origin: 'btrfs' | 'pmcow', compatRo: number, incompat: number,
): SuperblockState {
  const bk = SB_SUPER_ROOTS;
  const label = bytes.subarray(SB_LABEL, SB_LABEL + SB_LABEL_BYTES);
  const labelEnd = label.indexOf(0);
  const sysBytes = dv.getUint32(SB_SYS_CHUNK_ARRAY_SIZE, true);
  const systemChunks = sysBytes > SB_SYS_CHUNK_ARRAY_BYTES ? `sys_chunk_array of ${sysBytes} bytes`
    : decodeSysChunkArray(bytes.subarray(SB_SYS_CHUNK_ARRAY, SB_SYS_CHUNK_ARRAY + sysBytes),
      bytes.subarray(SB_DEV_ITEM + DI_UUID, SB_DEV_ITEM + DI_UUID + UUID_BYTES));
  // A foreign image keeps the extent, dev and csum roots in the root tree only (its backup
  // roots are for recovery): the mount reads them from their ROOT_ITEMs.
  const pmcowRoots = origin === 'pmcow';
  return {
    origin, incompatFlags: incompat, compatRoFlags: compatRo,
    generation: u64At(dv, SB_GENERATION),
    rootTree: u64At(dv, SB_ROOT_TREE), rootLevel: dv.getUint8(SB_ROOT_LEVEL),
    extentTree: pmcowRoots ? u64At(dv, bk + BK_EXTENT_ROOT) : 0,
    extentLevel: pmcowRoots ? dv.getUint8(bk + BK_EXTENT_ROOT_LEVEL) : 0,
    csumTree: pmcowRoots ? u64At(dv, bk + BK_CSUM_ROOT) : 0,
    csumLevel: pmcowRoots ? dv.getUint8(bk + BK_CSUM_ROOT_LEVEL) : 0,
    chunkTree: u64At(dv, SB_CHUNK_ROOT), chunkLevel: dv.getUint8(SB_CHUNK_ROOT_LEVEL),
    chunkGeneration: u64At(dv, SB_CHUNK_ROOT_GENERATION),
    devTree: pmcowRoots ? u64At(dv, bk + BK_DEV_ROOT) : 0,
    devLevel: pmcowRoots ? dv.getUint8(bk + BK_DEV_ROOT_LEVEL) : 0,
    devBytesUsed: u64At(dv, SB_DEV_ITEM + DI_BYTES_USED), systemChunks,
    devUuid: bytes.slice(SB_DEV_ITEM + DI_UUID, SB_DEV_ITEM + DI_UUID + UUID_BYTES),
    devItemBytes: bytes.slice(SB_DEV_ITEM, SB_DEV_ITEM + DEV_ITEM_BYTES),
    nodeBytes: dv.getUint32(SB_NODE_BYTES, true),
    sectorBytes: dv.getUint32(SB_SECTOR_BYTES, true),
    totalBytes: u64At(dv, SB_TOTAL_BYTES), bytesUsed: u64At(dv, SB_BYTES_USED),
    // A foreign image's tree blocks have as many copies as its system chunks' stripes
    // (the chunk layout refuses metadata chunks of another profile).
    metadataCopies: pmcowRoots ? dv.getUint8(SB_PMCOW_METADATA_COPIES)
      : typeof systemChunks === 'string' || systemChunks.length === 0 ? 1
        : systemChunks[0]!.stripes.length,
    fsid: bytes.slice(SB_FSID, SB_FSID + UUID_BYTES),
    // A foreign image's chunk tree uuid is in its tree blocks' headers (the mount reads
    // it there).
    chunkTreeUuid: pmcowRoots
      ? bytes.slice(SB_PMCOW_CHUNK_TREE_UUID, SB_PMCOW_CHUNK_TREE_UUID + UUID_BYTES)
        : new Uint8Array(UUID_BYTES),
    // TextDecoder refuses views of shared memory: the label is copied out (when it has one).
    label: labelEnd === 0 ? ''
      : labelDecoder.decode(label.slice(0, labelEnd < 0 ? SB_LABEL_BYTES : labelEnd)),
  };
}

/**
 * The copy a mount uses: the primary (copy 0) when it is valid, else the alternate (copy 1;
 * see the top of this file), read only when needed. Mount and the crash explorer both ask
 * here. A foreign primary is the answer too (mount refuses it, naming why).
 */
export function chooseSuperblock<T>(read: (copy: 0 | 1) => T | null): T | null {
  return read(0) ?? read(1);
}
