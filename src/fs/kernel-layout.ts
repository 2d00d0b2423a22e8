// The kernel region of one mount (PmemDevice's REGION.kernel): the superblock staging
// buffer, scratch for small staged buffers, the core's state of the mount (with its
// delayed-ref tables), the pool of dirty-node buffers, and at its tail the DAX region.
import { FsError } from '../errors.js';
import {
  REF_BYTES, BACKREF_BYTES, PAGE_BYTES, DIRTY_RECORD_BYTES, DIRTY_CAPACITY_MAX,
} from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import { SECTOR_BYTES, SUPERBLOCK_BYTES } from './format.js';

/**
 * Bytes of the delayed-ref tables per ref slot: the slot, two backref slots, half of each
 * in the batch, the lists.
 */
const REF_ROOM_BYTES = ((REF_BYTES + 2 * BACKREF_BYTES) * 3) / 2 + 6;

/** Kernel scratch for small staged buffers (csum arrays). */
const STAGING_BYTES = 64 * 1024;

/** Fewer dirty-node buffers than this and a mount is refused. */
const MIN_POOL_NODES = 64;

/**
 * Bytes of the DAX tables that grow with the device: reverse-map heads, dirty index,
 * dirty records.
 */
function daxTableBytes(totalBytes: number): number {
  const pages = Math.floor(totalBytes / PAGE_BYTES);
  return Math.ceil((pages * 8 + dirtyCapacity(totalBytes) * DIRTY_RECORD_BYTES) / 64) * 64 + 128;
}

/** Dirty-page records of a device: one per page, at most DIRTY_CAPACITY_MAX. */
export function dirtyCapacity(totalBytes: number): number {
  return Math.min(DIRTY_CAPACITY_MAX, Math.max(1, Math.floor(totalBytes / PAGE_BYTES)));
}

/** Where each part of the kernel region lies (addresses in the core's memory). */
interface KernelLayout {
  readonly superblockStaging: number;
  readonly stagingAddr: number;
  readonly stagingBytes: number;
  /** The core's state of the mount (assembly/fs/state.ts). */
  readonly fsStateAddr: number;
  readonly poolStart: number;
  /** Dirty-node buffers in the pool. */
  readonly poolSize: number;
  readonly refSlots: number;
  readonly backrefSlots: number;
  /** The DAX region: the last daxBytes of the kernel region. */
  readonly daxAddr: number;
  readonly daxBytes: number;
}

/**
 * Bytes of the DAX region for a kernel region of `kernelBytes` on a device of
 * `totalBytes`.
 */
function daxRegionBytes(kernelBytes: number, totalBytes: number): number {
  // The tail of the kernel region belongs to DAX (page tables, TLBs, mapping table).
  // A kernel region below 1 MiB (which could not hold the 1 MiB DAX region and 64 pool
  // buffers anyway) gets a 128 KiB one: small devices for image fuzzing mount fast.
  // Plus the reverse map's heads and the dirty-page index (4 bytes per device page each)
  // and the dirty-page records (DaxManager lays them out).
  const fixedBytes = kernelBytes >= 8 << 20 ? 2 << 20
    : kernelBytes >= 1 << 20 ? 1 << 20 : 128 << 10;
  return fixedBytes + daxTableBytes(totalBytes);
}

/** Ref slots for `roomBytes` of state and pool on a device of `totalBytes`. */
function refSlotsFor(roomBytes: number, totalBytes: number): number {
  // An eighth of the room for the delayed refs (REF_ROOM_BYTES per ref slot with its two
  // backref slots, the batch and the lists of slots in use), at least 1,024 refs' slots
  // unless the device has fewer than 512 sectors; the rest for the pool. Never
  // more slots than twice the device's sectors: the table, run at half full, then holds
  // every block and extent the device has (every mount clears it).
  const bySectors = 2 ** Math.ceil(Math.log2(2 * (totalBytes / SECTOR_BYTES)));
  const byRoom = 2 ** Math.floor(Math.log2(Math.max(1, roomBytes / 8 / REF_ROOM_BYTES)));
  return Math.min(bySectors, Math.max(1024, byRoom));
}

/**
 * The layout of a kernel region at `kernelAddr` of `kernelBytes` for a device of
 * `totalBytes` and tree blocks of `nodeBytes`; EINVAL when it leaves room for too few
 * dirty nodes.
 */
export function layKernelRegion(core: CoreExports, kernelAddr: number, kernelBytes: number,
  totalBytes: number, nodeBytes: number): KernelLayout {
  const superblockStaging = kernelAddr;
  const stagingAddr = kernelAddr + SUPERBLOCK_BYTES;
  const daxBytes = daxRegionBytes(kernelBytes, totalBytes);
  const daxAddr = kernelAddr + kernelBytes - daxBytes;
  // Then the core's state of the mount, then the pool of dirty-node buffers.
  const fsStateAddr = stagingAddr + STAGING_BYTES;
  const room = daxAddr - fsStateAddr;
  const refSlots = refSlotsFor(room, totalBytes);
  const backrefSlots = 2 * refSlots;
  const stateBytes = (pool: number): number =>
    core.fs_state_bytes(totalBytes, pool, refSlots, backrefSlots);
  let poolSize = Math.max(0, Math.floor((room - stateBytes(1)) / (nodeBytes + 12)));
  while (poolSize > 0 && stateBytes(poolSize) + poolSize * nodeBytes > room) poolSize--;
  if (poolSize < MIN_POOL_NODES) {
    throw new FsError('EINVAL', `device kernelBytes (${kernelBytes}) leaves room for ${poolSize}`
      + ` dirty nodes; at least ${MIN_POOL_NODES} are needed`);
  }
  const poolStart = daxAddr - poolSize * nodeBytes;
  if (fsStateAddr + stateBytes(poolSize) > poolStart) {
    throw new FsError('EFAULT', 'kernel region: state and pool overlap');
  }
  return {
    superblockStaging, stagingAddr, stagingBytes: STAGING_BYTES, fsStateAddr, poolStart,
    poolSize, refSlots, backrefSlots, daxAddr, daxBytes,
  };
}
