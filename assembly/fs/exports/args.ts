// Argument and state checks every fs export makes (exports.ts says how the exports
// answer).
import { SECTOR_SHIFT } from "../../abi";
import * as S from "../../pmem/state";
import { fsAttached, poolCount, totalBytes } from "../state";
import { CHECKS } from "../../shared/checks";
import { refPressure } from "../delayed-ref";
import { droppedCount } from "../dropped";
import { lockHolder } from "../fs-lock";
import { freeBuffers, liveDirtyBlocks, dirtyListLength } from "../transaction";
import { freeSectors, pinnedSectors } from "../free-space";

export const MAX_SAFE: f64 = 9007199254740991;

/** A u64 argument passed as f64: an integer in [0, 2^53), else -1. */
@inline export function u64Arg(x: f64): i64 {
  return x >= 0 && x <= MAX_SAFE && Math.floor(x) == x ? <i64>x : -1;
}

@inline export function memoryValid(ptr: u32, len: u64): bool {
  return <u64>ptr + len <= (<u64>memory.size() << 16);
}

@inline export function ready(): bool {
  return S.threadSlot >= 0 && fsAttached();
}

/**
 * Debug builds: the state's invariants, checked as each changing export returns (under
 * the fs lock that guards the state): every buffer free or listed, every listed block
 * live or dropped, delayed-ref tables at most half full, free and pinned space and the
 * dropped blocks within the device, the fs lock held by a thread or free. Release: true.
 */
export function stateSound(): bool {
  if (!CHECKS) return true;
  assert(fsAttached(), "no state attached");
  const sectors = totalBytes >> SECTOR_SHIFT;
  return freeBuffers() + dirtyListLength() == poolCount && liveDirtyBlocks() <= dirtyListLength()
    && refPressure() <= 1000 && <u64>freeSectors() + pinnedSectors() <= <u64>sectors
    && droppedCount() <= sectors && lockHolder() >= -1;
}
