// The superblock between the device and a mount: the copy a mount reads, and the state a
// commit writes (superblock.ts encodes and decodes it).
import type { PmemDevice } from '../pmem/device.js';
import type { ChunkMap } from './chunks.js';
import type { BTree } from './ctree.js';
import { SECTOR_BYTES, SUPERBLOCK_BYTES, superblockOffsets } from './format.js';
import {
  decodeSuperblock, chooseSuperblock, type SuperblockState, type SuperblockRead,
} from './superblock.js';

/**
 * The superblock copy a mount uses (superblock.ts chooseSuperblock), or null when neither
 * copy is valid. Each copy is loaded whole (a poisoned line in it is a media error: the
 * copy is skipped) into this thread's scratch and read there.
 */
export function readSuperblock(device: PmemDevice): SuperblockRead {
  const scratch = device.scratch().subarray(0, SUPERBLOCK_BYTES);
  const crc = (b: Uint8Array): number => device.crc32cBytes(b);
  const read = (offset: number): SuperblockRead => {
    try { device.loadInto(offset, scratch); } catch { return null; }
    return decodeSuperblock(scratch, crc, offset);
  };
  const copies = superblockOffsets(device.sizeBytes - (device.sizeBytes % SECTOR_BYTES));
  return chooseSuperblock((copy) => read(copies[copy]));
}

/** What a superblock is made from (the Kernel). */
interface SuperblockSource {
  readonly rootTree: BTree;
  readonly extentTree: BTree;
  readonly csumTree: BTree;
  readonly chunkTree: BTree;
  readonly devTree: BTree;
  readonly nodeBytes: number;
  readonly totalBytes: number;
  readonly chunks: ChunkMap;
  readonly incompatFlags: number;
  readonly compatRoFlags: number;
  readonly origin: 'pmcow' | 'btrfs';
  readonly label: string;
  readonly metadataCopies: number;
  readonly fsid: Uint8Array;
  readonly chunkTreeUuid: Uint8Array;
  readonly devUuid: Uint8Array;
  blockGeneration(bytenr: number): number;
}

/** What the superblock of generation `generation` says (superblock.ts writes it). */
export function superblockStateOf(k: SuperblockSource, generation: number): SuperblockState {
  return {
    generation, rootTree: k.rootTree.root, rootLevel: k.rootTree.level,
    extentTree: k.extentTree.root, extentLevel: k.extentTree.level,
    csumTree: k.csumTree.root, csumLevel: k.csumTree.level,
    chunkTree: k.chunkTree.root, chunkLevel: k.chunkTree.level,
    chunkGeneration: k.blockGeneration(k.chunkTree.root),
    devTree: k.devTree.root, devLevel: k.devTree.level,
    nodeBytes: k.nodeBytes, sectorBytes: SECTOR_BYTES, totalBytes: k.totalBytes,
    bytesUsed: k.chunks.usedBytes(), devBytesUsed: k.chunks.devBytesUsed(),
    systemChunks: k.chunks.systemChunks(),
    incompatFlags: k.incompatFlags, compatRoFlags: k.compatRoFlags, origin: k.origin,
    label: k.label, metadataCopies: k.metadataCopies, fsid: k.fsid, chunkTreeUuid: k.chunkTreeUuid,
    devUuid: k.devUuid,
  };
}
