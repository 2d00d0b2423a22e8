// Mount's check of the superblock it chose, against the device it is on.
import { SECTOR_BYTES, MAX_LEVEL, MAX_KEY_VALUE } from './format.js';
import { validBlockPointer, type CheckContext } from './tree-checker.js';
import type { SuperblockState } from './superblock.js';

/** The smallest and the largest tree block size a mount accepts. */
const MIN_NODE_BYTES = 4096;
const MAX_NODE_BYTES = 65536;

/**
 * Why a superblock cannot be mounted on this device, or null. Every field later code
 * uses as a size, an address or a count is checked here (a superblock with a valid
 * checksum may still have been rewritten by a fuzzer or a bug).
 */
export function superblockProblem(s: SuperblockState, deviceBytes: number): string | null {
  const total = deviceBytes - (deviceBytes % SECTOR_BYTES);
  const nodeBytes = s.nodeBytes;
  const powerOfTwo = (nodeBytes & (nodeBytes - 1)) === 0;
  if (nodeBytes < MIN_NODE_BYTES || nodeBytes > MAX_NODE_BYTES || !powerOfTwo) {
    return `node size ${nodeBytes}`;
  }
  if (s.sectorBytes !== SECTOR_BYTES) return `sector size ${s.sectorBytes}`;
  const copies = s.metadataCopies;
  if (copies !== 1 && copies !== 2) return `${copies} metadata copies`;
  if (s.totalBytes !== total) return `total bytes ${s.totalBytes}, the device has ${total}`;
  if (s.generation < 1 || s.generation > MAX_KEY_VALUE) return `generation ${s.generation}`;
  if (typeof s.systemChunks === 'string') return s.systemChunks;
  return treeRootProblem(s, total);
}

/** Why one of the superblock's tree roots cannot be followed, or null. */
function treeRootProblem(s: SuperblockState, totalBytes: number): string | null {
  const ctx: CheckContext = {
    nodeBytes: s.nodeBytes, totalBytes, metadataBlockBytes: s.nodeBytes, generation: s.generation,
  };
  const trees = [
    ['root', s.rootTree, s.rootLevel], ['extent', s.extentTree, s.extentLevel],
    ['csum', s.csumTree, s.csumLevel], ['chunk', s.chunkTree, s.chunkLevel],
    ['dev', s.devTree, s.devLevel],
  ] as const;
  for (const [name, bytenr, level] of trees) {
    // A foreign image's extent, dev and csum roots are read from their ROOT_ITEMs (mount).
    if (s.origin === 'btrfs' && (name === 'extent' || name === 'csum' || name === 'dev')) continue;
    if (level > MAX_LEVEL) return `${name} tree level ${level}`;
    if (!validBlockPointer(bytenr, ctx)) return `${name} tree root ${bytenr} outside the device`;
  }
  return null;
}
