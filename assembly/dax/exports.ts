// Exports of the DAX tables and the core's fault path (tables.ts, fault.ts). Like every
// export of the core, each checks its arguments and returns a negative errno instead of
// trapping.
import {
  EINVAL, EPERM, D_RMAP_HEADS, D_RMAP_NODES, D_PTE_POOL, D_PTE_POOL_BYTES, D_DEVICE_PAGES,
  D_DIRTY_INDEX, D_DIRTY_RECORDS, D_DIRTY_CAPACITY, D_DIRTY_COUNT, D_DIRTY_LIVE, D_FS_STATE,
  D_MAX_MAPPINGS, M_ACTIVE, M_PAGES, RMAP_NODE_BYTES, DIRTY_RECORD_BYTES, PTE_PRESENT,
  PTE_BLOCK_MASK, DRF_LIVE, MAX_KEY_VALUE,
} from "../abi";
import * as S from "../pmem/state";
import { daxAttached, daxBaseAddr, mappingEntry, daxFaultInfo } from "./access";
import {
  setPte, rmapFirst, rmapNext, rmapMapping, dirtyFind, dirtyAdd, dirtyDrop, dirtyRoom, dirtyClear,
} from "./tables";
import { daxFsFault } from "./fault";
import { lockHolder } from "../fs/fs-lock";
import { fsAttached, fsBase } from "../fs/state";
import {
  FR_DONE, FR_OWNER, D_POLICY, DP_MULTI_MAPPING, DP_TLB_SHOOTDOWN, DP_MAP_SYNC_FAULT, MAX_MAPPINGS,
  PAGE_SHIFT,
} from "../abi";
import { CHECKS } from "../shared/checks";
import { DirtyRecord } from "./dirty-record";
import { daxStoreBatch, batchErrorInfo } from "./batch";
import { BATCH_BAD_SHIFT, BATCH_BAD_SOURCE } from "../abi";

@inline function inKernel(addr: u64, len: u64): bool {
  return addr >= <u64>S.kernelAddr && addr + len <= <u64>S.kernelAddr + <u64>S.kernelBytes;
}

/**
 * Debug builds: the shared tables' invariants, checked as each export that changes them
 * returns (under the fs lock): live dirty records within those appended, appended ones
 * within the table, only known switches, a mapping table the TLB tag can name, device
 * pages within the device. Release: true.
 */
function tablesSound(): bool {
  if (!CHECKS) return true;
  const base = daxBaseAddr();
  assert(base != 0, "dax not attached");
  const count = load<u32>(base + D_DIRTY_COUNT);
  return load<u32>(base + D_DIRTY_LIVE) <= count && count <= load<u32>(base + D_DIRTY_CAPACITY)
    && (load<u32>(base + D_POLICY) & ~(DP_MULTI_MAPPING | DP_TLB_SHOOTDOWN | DP_MAP_SYNC_FAULT))
      == 0
    && load<u32>(base + D_MAX_MAPPINGS) <= MAX_MAPPINGS
    && <u64>load<u32>(base + D_DEVICE_PAGES) << PAGE_SHIFT <= <u64>S.deviceBytes;
}

@inline function tablesReady(): bool {
  return daxAttached() && load<u32>(daxBaseAddr() + D_DEVICE_PAGES) != 0;
}

@inline function deviceBlock(block: u32): bool {
  return block < load<u32>(daxBaseAddr() + D_DEVICE_PAGES);
}

// Place the reverse map and the dirty-page table (TypeScript carves the DAX region) and
// name the file system's state; every table starts empty.
export function dax_tables(
  rmapHeads: u32, rmapNodes: u32, ptePool: u32, ptePoolBytes: u32, devicePages: u32,
  dirtyIndex: u32, dirtyRecords: u32, dirtyCapacity: u32, fsState: u32,
): i32 {
  if (!daxAttached() || devicePages == 0 || dirtyCapacity == 0 || (ptePool & 3) != 0
      || (ptePoolBytes & 3) != 0) {
    return -EINVAL;
  }
  const pages = <u64>devicePages * 4;
  if (!inKernel(rmapHeads, pages) || !inKernel(dirtyIndex, pages)
      || !inKernel(ptePool, ptePoolBytes)) {
    return -EINVAL;
  }
  if (!inKernel(rmapNodes, <u64>(ptePoolBytes >> 2) * RMAP_NODE_BYTES)
      || !inKernel(dirtyRecords, <u64>dirtyCapacity * DIRTY_RECORD_BYTES)) {
    return -EINVAL;
  }
  if (fsState != <u32>fsBase || !fsAttached()) return -EINVAL;
  const base = daxBaseAddr();
  memory.fill(rmapHeads, 0, <usize>pages);
  memory.fill(dirtyIndex, 0, <usize>pages);
  // The reverse-map nodes are zeroed with their PTEs when a mapping takes them
  // (dax_map_ptes): a mount does not pay for the whole pool.
  store<u32>(base + D_RMAP_HEADS, rmapHeads);
  store<u32>(base + D_RMAP_NODES, rmapNodes);
  store<u32>(base + D_PTE_POOL, ptePool);
  store<u32>(base + D_PTE_POOL_BYTES, ptePoolBytes);
  store<u32>(base + D_DIRTY_INDEX, dirtyIndex);
  store<u32>(base + D_DIRTY_RECORDS, dirtyRecords);
  store<u32>(base + D_DIRTY_CAPACITY, dirtyCapacity);
  store<u32>(base + D_DIRTY_COUNT, 0);
  store<u32>(base + D_DIRTY_LIVE, 0);
  store<u32>(base + D_FS_STATE, fsState);
  store<u32>(base + D_DEVICE_PAGES, devicePages);
  assert(tablesReady(), "tables not ready");
  assert(dirtyRoom(), "no dirty room");
  if (CHECKS) assert(tablesSound()); // dax_tables broke the tables' invariants
  return 0;
}

@inline function pageValid(mapping: u32, page: u32): bool {
  if (mapping >= load<u32>(daxBaseAddr() + D_MAX_MAPPINGS)) return false;
  const entry = mappingEntry(mapping);
  return atomic.load<u32>(entry + M_ACTIVE) != 0 && page < load<u32>(entry + M_PAGES);
}

// Set a PTE of an active mapping, keeping the reverse map.
export function dax_set_pte(mapping: u32, page: u32, value: u32): i32 {
  if (!tablesReady() || !pageValid(mapping, page)) return -EINVAL;
  if ((value & PTE_PRESENT) != 0 && !deviceBlock(value & PTE_BLOCK_MASK)) return -EINVAL;
  setPte(mapping, page, value);
  return 0;
}

// The first PTE address mapping device page `block` (0: none).
export function dax_rmap_first(block: u32): i32 {
  if (!tablesReady() || !deviceBlock(block)) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_rmap_first is called
  const pte = rmapFirst(block);
  assert(pte == 0 || ptePoolValid(<u32>pte), "rmap head");
  return <i32>pte;
}

// The next PTE address in the list `pte` is on (0: last).
export function dax_rmap_next(pte: u32): i32 {
  if (!tablesReady() || !ptePoolValid(pte)) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_rmap_next is called
  const next = rmapNext(pte);
  assert(next == 0 || ptePoolValid(<u32>next), "rmap link");
  return <i32>next;
}

// The mapping a listed PTE belongs to.
export function dax_rmap_mapping(pte: u32): i32 {
  if (!tablesReady() || !ptePoolValid(pte)) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_rmap_mapping is called
  return <i32>rmapMapping(pte);
}

@inline function ptePoolValid(pte: u32): bool {
  const pool = load<u32>(daxBaseAddr() + D_PTE_POOL);
  return pte >= pool && pte < pool + load<u32>(daxBaseAddr() + D_PTE_POOL_BYTES) && (pte & 3) == 0;
}

// The live dirty-page record of device page `block` (its address), or 0.
export function dax_dirty_find(block: u32): i32 {
  if (!tablesReady() || !deviceBlock(block)) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_dirty_find is called
  const record = dirtyFind(block);
  assert(record == 0 || changetype<DirtyRecord>(record).block == block,
    "a dirty record of another block");
  return <i32>record;
}

// Record device page `block` dirty for (tree, ino, file page); -ENOSPC when the table is full.
export function dax_dirty_add(
  block: u32, tree: f64, ino: f64, filePage: u32, extent: f64, extentBytes: u32, flags: u32,
): i32 {
  if (!tablesReady() || !deviceBlock(block) || !u64Ok(tree) || !u64Ok(ino) || !u64Ok(extent)
      || (flags & DRF_LIVE) != 0) {
    return -EINVAL;
  }
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_dirty_add is called
  if (!dirtyRoom()) return -28;
  dirtyAdd(block, <u64>tree, <u64>ino, filePage, <u64>extent, extentBytes, flags);
  assert(dirtyFind(block) != 0, "dirty page lost");
  if (CHECKS) assert(tablesSound()); // dax_dirty_add broke the tables' invariants
  return 0;
}

export function dax_dirty_drop(block: u32): i32 {
  if (!tablesReady() || !deviceBlock(block)) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_dirty_drop is called
  dirtyDrop(block);
  assert(dirtyFind(block) == 0, "dirty page kept");
  if (CHECKS) assert(tablesSound()); // dax_dirty_drop broke the tables' invariants
  return 0;
}

export function dax_dirty_clear(): i32 {
  if (!tablesReady()) return -EINVAL;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_dirty_clear is called
  dirtyClear();
  assert(load<u32>(daxBaseAddr() + D_DIRTY_LIVE) == 0
    && load<u32>(daxBaseAddr() + D_DIRTY_COUNT) == 0, "dirty records kept");
  if (CHECKS) assert(tablesSound()); // dax_dirty_clear broke the tables' invariants
  return 0;
}

@inline function u64Ok(x: f64): bool {
  return x >= 0 && x <= <f64>MAX_KEY_VALUE && Math.floor(x) == x;
}

// Resolve a fault through the file system on this thread (fault.ts): FR_DONE, FR_OWNER,
// or -EINVAL. The caller holds the fs lock.
export function dax_fs_fault(mapping: u32, page: u32, write: u32): i32 {
  if (!tablesReady() || !fsAttached() || load<u32>(daxBaseAddr() + D_FS_STATE) != <u32>fsBase) {
    return -EINVAL;
  }
  // the caller must hold the fs lock (an error, not a trap)
  if (lockHolder() != S.threadSlot) return -EPERM;
  if (CHECKS) assert(tablesSound()); // the tables are sound when dax_fs_fault is called
  const result = daxFsFault(mapping, page, write != 0);
  assert(result == FR_DONE || result == FR_OWNER, "fault result");
  if (CHECKS) assert(tablesSound()); // dax_fs_fault broke the tables' invariants
  return result;
}

// A new mapping takes `count` PTEs at `ptes` (from the pool): zero them and their
// reverse-map nodes.
export function dax_map_ptes(ptes: u32, count: u32): i32 {
  if (!tablesReady() || count == 0) return -EINVAL;
  const pool = load<u32>(daxBaseAddr() + D_PTE_POOL),
    poolBytes = load<u32>(daxBaseAddr() + D_PTE_POOL_BYTES);
  if ((ptes & 3) != 0 || ptes < pool || <u64>ptes + <u64>count * 4 > <u64>pool + poolBytes) {
    return -EINVAL;
  }
  memory.fill(ptes, 0, <usize>count << 2);
  const nodes = <usize>load<u32>(daxBaseAddr() + D_RMAP_NODES)
    + <usize>((ptes - pool) >> 2) * RMAP_NODE_BYTES;
  memory.fill(nodes, 0, <usize>count * RMAP_NODE_BYTES);
  assert(nodes + <usize>count * RMAP_NODE_BYTES <= <usize>load<u32>(daxBaseAddr() + D_RMAP_NODES)
    + (<usize>poolBytes >> 2) * RMAP_NODE_BYTES, "nodes past the pool's");
  // PTEs left set
  if (CHECKS) assert(load<u32>(ptes) == 0 && load<u32>(ptes + (count - 1) * 4) == 0);
  return 0;
}

// Store `count` records (BR_*, assembly/abi.ts) through this thread's translations in one
// call: the records completed (fewer than count: a fault, see BR_DONE and dax_fault_info),
// or -EINVAL for a bad batch (dax_batch_error says which record and why; nothing stored).
export function dax_store_batch(mapping: u32, descs: u32, count: u32): i32 {
  if (!daxAttached()) return -EINVAL;
  const r = daxStoreBatch(mapping, descs, count);
  assert(r == -EINVAL || <u32>r <= count, "batch: a result of no batch");
  // stopped short without a fault
  if (CHECKS) assert(r < 0 || <u32>r == count || daxFaultInfo() != 0);
  return r;
}

// (BATCH_BAD_* << BATCH_BAD_SHIFT) | record index of this thread's last refused batch.
export function dax_batch_error(): u32 {
  if (!daxAttached()) return 0;
  const info = batchErrorInfo();
  assert(info >>> BATCH_BAD_SHIFT <= BATCH_BAD_SOURCE, "batch: an unknown refusal");
  return info;
}
