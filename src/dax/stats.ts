// The DAX fault counters: shared words of the DAX header (assembly/dax), counted by every
// thread's core and by the owning thread's DaxManager.
import type { FsMemory } from '../fs/memory.js';
import {
  DS_READ_FAULTS, DS_WRITE_FAULTS, DS_HOLE_FILLS, DS_COW_FAULTS, DS_IN_PLACE_FAULTS,
  DS_SHOOTDOWNS, DS_WRITE_PROTECTS, DS_INVALIDATIONS, DS_CORE_FAULTS,
} from '../core/abi.js';

/** The fault counters (shared: faults served by any thread's core count too). */
export interface DaxStats {
  readFaults: number; writeFaults: number; holeFills: number; cowFaults: number;
    inPlaceFaults: number;
  shootdowns: number; writeProtects: number; invalidations: number;
  /** Faults a core served without this class (on this thread or a writer's). */
  coreFaults: number;
}

const STAT_FIELDS: Array<[keyof DaxStats, number]> = [
  ['readFaults', DS_READ_FAULTS], ['writeFaults', DS_WRITE_FAULTS], ['holeFills', DS_HOLE_FILLS],
  ['cowFaults', DS_COW_FAULTS],
  ['inPlaceFaults', DS_IN_PLACE_FAULTS], ['shootdowns', DS_SHOOTDOWNS],
  ['writeProtects', DS_WRITE_PROTECTS],
  ['invalidations', DS_INVALIDATIONS], ['coreFaults', DS_CORE_FAULTS],
];

/** The counters at `statsAddr` (the DAX header's D_STATS). */
export function readDaxStats(m: FsMemory, statsAddr: number): DaxStats {
  const out = {} as DaxStats;
  for (const [name, at] of STAT_FIELDS) out[name] = m.u32(statsAddr + at);
  return out;
}
