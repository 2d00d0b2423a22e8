// The DAX tables every thread's fault path shares (docs/engine.md section 6): the reverse
// map (device page -> every PTE that maps it) and the dirty pages of the running
// transaction (pages stored to through mmap, whose checksums and write-back wait for the
// commit). Both live in the DAX region, laid out by TypeScript (DaxManager) and described
// by the DAX header (D_*); the fs lock guards every change.
//
//   reverse map:  heads[device page] = address of the first PTE mapping it (0: none);
//                 nodes[PTE index] = next PTE address. A PTE's index is its offset in
//                 the PTE pool / 4, so every PTE has its node; its mapping is the one
//                 whose page table holds it.
//                 Without DP_MULTI_MAPPING the head is the only entry: the last mapping
//                 that mapped the block (the historical bug the switch reproduces).
//   dirty pages:  index[device page] = record index + 1 (0: none); records DR_* appended
//                 in fault order, dropped in place (DRF_LIVE cleared), all cleared at commit.
import {
  D_POLICY, D_RMAP_HEADS, D_RMAP_NODES, D_PTE_POOL, D_PTE_POOL_BYTES, D_DEVICE_PAGES, D_DIRTY_INDEX,
  D_DIRTY_RECORDS, D_DIRTY_CAPACITY, D_DIRTY_COUNT, D_DIRTY_LIVE, D_STATS, DP_MULTI_MAPPING,
  RMAP_NODE_BYTES, RN_NEXT, DIRTY_RECORD_BYTES, D_MAX_MAPPINGS, M_ACTIVE, DRF_LIVE, M_PTES, M_PAGES,
  PTE_PRESENT, PTE_BLOCK_MASK, D_HEADER_BYTES, DS_COUNT, DP_MAP_SYNC_FAULT,
} from "../abi";
import { daxBaseAddr, mappingEntry } from "./access";
import { CHECKS } from "../shared/checks";
import { DirtyRecord } from "./dirty-record";

// Invariants: a reverse-map list has each PTE once and ends (setPte removes before it
// adds); the dirty index names live records only, records are appended below the
// capacity, and live records never outnumber those appended.

@inline function header(field: u32): u32 {
  assert(daxBaseAddr() != 0, "dax not attached");
  if (CHECKS) assert(field < D_HEADER_BYTES); // a header field outside the header
  if (CHECKS) assert((field & 3) == 0); // a header field that is not a u32's
  return load<u32>(daxBaseAddr() + field);
}

/** Count one event of kind DS_* (a counter of D_STATS). */
@inline export function countStat(kind: u32): void {
  assert((kind & 3) == 0, "bad counter");
  assert(kind < DS_COUNT * 4, "bad counter");
  const at = daxBaseAddr() + D_STATS + kind;
  store<u32>(at, load<u32>(at) + 1);
}

@inline export function policyBit(bit: u32): bool {
  assert(bit != 0 && (bit & (bit - 1)) == 0, "one switch");
  assert(bit <= DP_MAP_SYNC_FAULT, "unknown switch");
  return (header(D_POLICY) & bit) != 0;
}

// --- the reverse map ------------------------------------------------------------------

@inline function headAt(block: u32): usize {
  assert(block < header(D_DEVICE_PAGES), "dax: reverse map of a page outside the device");
  if (CHECKS) assert(header(D_RMAP_HEADS) != 0); // the reverse map was never placed (dax_tables)
  return <usize>header(D_RMAP_HEADS) + (<usize>block << 2);
}

@inline function nodeOf(pte: usize): usize {
  const pool = <usize>header(D_PTE_POOL);
  assert(pte >= pool && pte < pool + <usize>header(D_PTE_POOL_BYTES),
    "dax: a PTE outside the pool");
  assert((pte & 3) == 0, "PTE unaligned");
  if (CHECKS) assert(header(D_RMAP_NODES) != 0); // the reverse map was never placed (dax_tables)
  return <usize>header(D_RMAP_NODES) + ((pte - pool) >> 2) * RMAP_NODE_BYTES;
}

/** The PTE address of page `page` of mapping `mapping`. */
@inline export function pteAddr(mapping: u32, page: u32): usize {
  const entry = mappingEntry(mapping);
  assert(page < load<u32>(entry + M_PAGES), "dax: page outside its mapping");
  const pte = <usize>load<u32>(entry + M_PTES) + (<usize>page << 2);
  // Page tables are carved from the PTE pool: every PTE has its reverse-map node.
  // a page table outside the PTE pool
  if (CHECKS) {
    assert(pte >= <usize>header(D_PTE_POOL)
      && pte < <usize>header(D_PTE_POOL) + header(D_PTE_POOL_BYTES));
  }
  return pte;
}

/** Debug builds: is `pte` on the reverse-map list of `block`? Release builds answer false. */
function rmapHas(block: u32, pte: usize): bool {
  if (!CHECKS) return false;
  assert(pte != 0, "PTE 0");
  for (let at = <usize>load<u32>(headAt(block)); at != 0;
      at = <usize>load<u32>(nodeOf(at) + RN_NEXT)) {
    if (at == pte) return true;
  }
  return false;
}

function rmapAdd(block: u32, pte: usize): void {
  if (CHECKS) assert(!rmapHas(block, pte)); // a PTE listed twice for its block
  const head = headAt(block);
  const node = nodeOf(pte);
  if (!policyBit(DP_MULTI_MAPPING)) {
    store<u32>(node + RN_NEXT, 0);
    store<u32>(head, <u32>pte); // only the last mapper is known
    return;
  }
  store<u32>(node + RN_NEXT, load<u32>(head));
  store<u32>(head, <u32>pte);
  if (CHECKS) assert(rmapHas(block, pte)); // a PTE added and not listed
}

function rmapRemove(block: u32, pte: usize): void {
  assert(pte != 0 && (pte & 3) == 0, "dax: a reverse-map entry for no PTE, or an unaligned one");
  if (CHECKS) assert(rmapHas(block, pte)); // a PTE removed from a block whose list does not hold it
  const head = headAt(block);
  let link = head;
  // Lists are as long as the block's mappings (a few): a walk is cheaper than back links.
  for (let at = <usize>load<u32>(head); at != 0; at = <usize>load<u32>(nodeOf(at) + RN_NEXT)) {
    if (at == pte) {
      store<u32>(link, load<u32>(nodeOf(at) + RN_NEXT));
      break;
    }
    link = nodeOf(at) + RN_NEXT;
  }
  store<u32>(nodeOf(pte) + RN_NEXT, 0);
  if (CHECKS) assert(!rmapHas(block, pte)); // a PTE still listed for the block it left
}

/** Set a PTE, keeping the reverse map: the old block loses this entry, the new one gains it. */
export function setPte(mapping: u32, page: u32, value: u32): void {
  assert(mapping < header(D_MAX_MAPPINGS), "dax: a PTE of a mapping outside the table");
  const at = pteAddr(mapping, page);
  const old = atomic.load<u32>(at);
  if ((old & PTE_PRESENT) != 0) rmapRemove(old & PTE_BLOCK_MASK, at);
  atomic.store<u32>(at, value);
  if ((value & PTE_PRESENT) != 0) rmapAdd(value & PTE_BLOCK_MASK, at);
  // A present entry heads its block's list (both policies put the last mapper first).
  // a present PTE that does not head its block's list
  if (CHECKS) assert((value & PTE_PRESENT) == 0 || rmapFirst(value & PTE_BLOCK_MASK) == at);
}

/** The first PTE address mapping `block` (0: none). */
export function rmapFirst(block: u32): usize {
  const pte = <usize>load<u32>(headAt(block));
  assert((pte & 3) == 0, "rmap head");
  return pte;
}
/** The PTE after `pte` in its block's list (0: last). */
export function rmapNext(pte: usize): usize {
  const next = <usize>load<u32>(nodeOf(pte) + RN_NEXT);
  assert(next != pte, "rmap loop");
  return next;
}
/**
 * The mapping whose page table holds a listed PTE (a scan of the mapping table: reverse-map walks
 * are rare).
 */
export function rmapMapping(pte: usize): u32 {
  assert(pte != 0 && (pte & 3) == 0, "dax: the mapping of no PTE, or of an unaligned one");
  const count = header(D_MAX_MAPPINGS);
  for (let m: u32 = 0; m < count; m++) {
    const entry = mappingEntry(m);
    if (atomic.load<u32>(entry + M_ACTIVE) == 0) continue;
    const first = <usize>load<u32>(entry + M_PTES);
    if (pte >= first && pte < first + (<usize>load<u32>(entry + M_PAGES) << 2)) return m;
  }
  assert(false, "dax: a listed PTE outside every mapping's page table");
  return 0;
}

// --- dirty pages ----------------------------------------------------------------------

@inline function indexAt(block: u32): usize {
  assert(block < header(D_DEVICE_PAGES), "dax: dirty page outside the device");
  if (CHECKS) assert(header(D_DIRTY_INDEX) != 0); // the dirty index was never placed (dax_tables)
  return <usize>header(D_DIRTY_INDEX) + (<usize>block << 2);
}

@inline function dirtyRecord(index: u32): usize {
  assert(index < header(D_DIRTY_CAPACITY), "dax: dirty record out of range");
  // the dirty records were never placed (dax_tables)
  if (CHECKS) assert(header(D_DIRTY_RECORDS) != 0);
  return <usize>header(D_DIRTY_RECORDS) + <usize>index * DIRTY_RECORD_BYTES;
}

/** The live record of device page `block`, or 0. */
export function dirtyFind(block: u32): usize {
  const entry = load<u32>(indexAt(block));
  if (entry == 0) return 0;
  assert(entry - 1 < header(D_DIRTY_COUNT), "dirty index");
  const record = dirtyRecord(entry - 1);
  assert(changetype<DirtyRecord>(record).block == block, "dirty index");
  assert((changetype<DirtyRecord>(record).flags & DRF_LIVE) != 0, "dirty index");
  return record;
}

/** The live record of `block` if it is (tree, ino, file page)'s, else 0. */
export function dirtyFindFor(block: u32, tree: u64, ino: u64, filePage: u32): usize {
  assert(tree != 0, "no tree");
  const record = dirtyFind(block);
  if (record == 0 || changetype<DirtyRecord>(record).tree != tree
      || changetype<DirtyRecord>(record).ino != ino
        || changetype<DirtyRecord>(record).filePage != filePage) {
    return 0;
  }
  return record;
}

/** Is there room for one more record? */
export function dirtyRoom(): bool {
  const count = header(D_DIRTY_COUNT);
  assert(count <= header(D_DIRTY_CAPACITY), "dirty count");
  assert(header(D_DIRTY_LIVE) <= count, "dirty live count");
  return count < header(D_DIRTY_CAPACITY);
}

/** Drop the live record of `block` (none: nothing). */
export function dirtyDrop(block: u32): void {
  const record = dirtyFind(block);
  if (record == 0) return;
  changetype<DirtyRecord>(record).flags = 0;
  store<u32>(indexAt(block), 0);
  const live = daxBaseAddr() + D_DIRTY_LIVE;
  assert(load<u32>(live) > 0, "dax: dirty records below zero");
  store<u32>(live, load<u32>(live) - 1);
  if (CHECKS) assert(dirtyFind(block) == 0); // a dropped dirty page still found
}

/** Record (replacing any) that `block` was stored to through mmap for (tree, ino, file page). */
export function dirtyAdd(
  block: u32, tree: u64, ino: u64, filePage: u32, extent: u64, extentBytes: u32, flags: u32,
): void {
  assert(dirtyRoom(), "dax: dirty-page table full (callers check dirtyRoom first)");
  dirtyDrop(block);
  const count = daxBaseAddr() + D_DIRTY_COUNT;
  const index = load<u32>(count);
  const record = dirtyRecord(index);
  changetype<DirtyRecord>(record).tree = tree;
  changetype<DirtyRecord>(record).ino = ino;
  changetype<DirtyRecord>(record).extent = extent;
  changetype<DirtyRecord>(record).extentBytes = extentBytes;
  changetype<DirtyRecord>(record).filePage = filePage;
  changetype<DirtyRecord>(record).block = block;
  changetype<DirtyRecord>(record).flags = flags | DRF_LIVE;
  store<u32>(count, index + 1);
  store<u32>(indexAt(block), index + 1);
  const live = daxBaseAddr() + D_DIRTY_LIVE;
  store<u32>(live, load<u32>(live) + 1);
  assert(load<u32>(live) <= index + 1, "dirty live count");
  if (CHECKS) assert(dirtyFind(block) == record); // a dirty page added and not found
}

/** The commit took every record: the table starts empty. */
export function dirtyClear(): void {
  const count = header(D_DIRTY_COUNT);
  assert(count <= header(D_DIRTY_CAPACITY), "dirty count");
  assert(header(D_DIRTY_LIVE) <= count, "dirty live count");
  for (let i: u32 = 0; i < count; i++) {
    const record = dirtyRecord(i);
    if ((changetype<DirtyRecord>(record).flags & DRF_LIVE) != 0) {
      store<u32>(indexAt(changetype<DirtyRecord>(record).block), 0);
    }
  }
  if (CHECKS) {
    // No block of the transaction's records is indexed any more.
    for (let i: u32 = 0; i < count; i++) {
      assert(load<u32>(indexAt(changetype<DirtyRecord>(dirtyRecord(i)).block)) == 0);
    }
  }
  store<u32>(daxBaseAddr() + D_DIRTY_COUNT, 0);
  store<u32>(daxBaseAddr() + D_DIRTY_LIVE, 0);
  assert(dirtyRoom(), "no dirty room");
}
