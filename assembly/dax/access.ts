// DAX loads and stores: translate through this thread's software TLB, then the
// mapping's page table; on a miss or a missing permission, report a fault to JS (which
// asks the file system) instead of calling into it. A writable translation goes straight
// to the device store path: this is DAX, the file system never sees the store.
//
// Shootdown protocol: the epoch word is odd while the thread is inside an access; at
// every page boundary the thread compares the global shootdown generation with its own
// acknowledgement, and on a change flushes its TLB before translating the next page.
// A page is copied under exactly one translation.
import {
  D_SHOOTDOWN_GEN, D_MAPPINGS, D_THREADS, D_TLB_ENTRIES, D_MAX_MAPPINGS, D_MAGIC, DAX_MAGIC,
  T_EPOCH, T_ACK, T_FAULT_PAGE, T_FAULT_REASON, T_TLB, TLB_ENTRY_BYTES, MAPPING_BYTES, M_ACTIVE,
  M_PAGES, M_PTES, PTE_BLOCK_MASK, PTE_PRESENT, PTE_WRITE, PAGE_SHIFT, PAGE_BYTES,
  FAULT_NOT_PRESENT, FAULT_WRITE_PROTECT, FAULT_MEDIA_ERROR, FAULT_REASON_SHIFT, FLUSH_CLWB,
} from "../abi";
import { threadAreaBytes } from "./layout";
import { threadSlot, maxThreads, headerAddr, deviceBytes, visibleAddr } from "../pmem/state";
import { deviceStore, deviceLoad, deviceFlush, deviceLock, deviceUnlock } from "../pmem/device";
import {
  H_THREAD_SLOTS, MAX_MAPPINGS, TLB_ENTRIES_MIN, TLB_ENTRIES_MAX, MAX_MAPPING_PAGES,
} from "../abi";
import { CHECKS } from "../shared/checks";

let daxBase: usize = 0;

export function daxAttach(base: usize): bool {
  assert(base != 0, "header at 0");
  if (load<u32>(base + D_MAGIC) != DAX_MAGIC) return false;
  daxBase = base;
  // A header with its magic was laid out by daxFormat: a TLB of a power of two.
  const entries = load<u32>(base + D_TLB_ENTRIES);
  assert(entries >= TLB_ENTRIES_MIN, "TLB too small");
  assert((entries & (entries - 1)) == 0, "TLB not a power of 2");
  return true;
}

export function daxAttached(): bool {
  const attached = daxBase != 0 && threadSlot >= 0;
  // attached from a slot beyond the device's threads
  if (CHECKS) assert(!attached || <u32>threadSlot < maxThreads);
  return attached;
}

export function daxFormat(
  base: usize, maxMappings: u32, tlbEntries: u32, mappingsAddr: usize, threadsAddr: usize,
): void {
  assert((tlbEntries & (tlbEntries - 1)) == 0, "dax: TLB entries must be a power of two");
  assert(tlbEntries >= TLB_ENTRIES_MIN && tlbEntries <= TLB_ENTRIES_MAX, "TLB size");
  assert(maxMappings > 0 && maxMappings <= MAX_MAPPINGS, "too many mappings");
  store<u32>(base + D_MAX_MAPPINGS, maxMappings);
  store<u32>(base + D_MAPPINGS, <u32>mappingsAddr);
  store<u32>(base + D_THREADS, <u32>threadsAddr);
  store<u32>(base + D_TLB_ENTRIES, tlbEntries);
  atomic.store<u32>(base + D_SHOOTDOWN_GEN, 0);
  atomic.store<u32>(base + D_MAGIC, DAX_MAGIC);
}

@inline function threadArea(slot: u32): usize {
  assert(slot < maxThreads, "thread slot");
  if (CHECKS) assert(daxBase != 0); // a thread area before dax_attach
  return <usize>load<u32>(daxBase + D_THREADS)
    + <usize>slot * threadAreaBytes(load<u32>(daxBase + D_TLB_ENTRIES));
}

/** The DAX header's address in this instance (0 before dax_attach). */
export function daxBaseAddr(): usize { return daxBase; }

@inline export function mappingEntry(mapping: u32): usize {
  assert(daxBase != 0, "dax not attached");
  assert(mapping < load<u32>(daxBase + D_MAX_MAPPINGS), "mapping id");
  return <usize>load<u32>(daxBase + D_MAPPINGS) + <usize>mapping * MAPPING_BYTES;
}

export function mappingValid(mapping: u32, offset: u64, len: u64): bool {
  assert(daxBase != 0, "dax not attached");
  if (mapping >= load<u32>(daxBase + D_MAX_MAPPINGS)) return false;
  const m = mappingEntry(mapping);
  if (atomic.load<u32>(m + M_ACTIVE) == 0) return false;
  // An active mapping has its page table (TypeScript stores M_ACTIVE last).
  if (CHECKS) assert(load<u32>(m + M_PTES) != 0); // an active mapping without its page table
  return offset + len <= (<u64>load<u32>(m + M_PAGES) << PAGE_SHIFT);
}

function tlbFlush(area: usize): void {
  assert(daxBase != 0, "dax not attached");
  assert(area >= <usize>load<u32>(daxBase + D_THREADS), "TLB outside areas");
  memory.fill(area + T_TLB, 0, <usize>load<u32>(daxBase + D_TLB_ENTRIES) * TLB_ENTRY_BYTES);
}

@inline function tlbSlot(area: usize, tag: u32): usize {
  const entries = load<u32>(daxBase + D_TLB_ENTRIES);
  // a TLB that is not a power of two
  if (CHECKS) assert(entries >= TLB_ENTRIES_MIN && (entries & (entries - 1)) == 0);
  const index = (tag * 0x9e3779b1) >>> (32 - ctz<u32>(entries));
  if (CHECKS) assert(index < entries); // a TLB slot past the TLB
  return area + T_TLB + <usize>index * TLB_ENTRY_BYTES;
}

// Translate one page for the wanted permission; returns the PTE, or 0 with a fault recorded.
function translate(area: usize, mapping: u32, page: u32, write: bool): u32 {
  // The TLB tag keeps 10 bits of mapping id and 22 of page: both must fit.
  assert(mapping < MAX_MAPPINGS, "mapping id");
  assert(page < MAX_MAPPING_PAGES, "page beyond tag");
  // a translation outside the mapping
  if (CHECKS) assert(page < load<u32>(mappingEntry(mapping) + M_PAGES));
  const want = write ? PTE_WRITE | PTE_PRESENT : PTE_PRESENT;
  const tag = ((mapping + 1) << 22) | page;
  const slot = tlbSlot(area, tag);
  if (load<u32>(slot) == tag) {
    const cached = load<u32>(slot, 4);
    if ((cached & want) == want) return cached;
  }
  // TLB miss or not enough permission cached: walk the page table.
  const pte = atomic.load<u32>(<usize>load<u32>(mappingEntry(mapping) + M_PTES)
    + (<usize>page << 2));
  if ((pte & want) != want) {
    store<u32>(area + T_FAULT_PAGE, page);
    store<u32>(area + T_FAULT_REASON,
      (pte & PTE_PRESENT) != 0 ? FAULT_WRITE_PROTECT : FAULT_NOT_PRESENT);
    return 0;
  }
  store<u32>(slot, tag);
  store<u32>(slot, pte, 4);
  return pte;
}

@inline function enter(area: usize): void {
  // The epoch is odd while inside an access: accesses do not nest. Each thread moves its own.
  if (CHECKS) assert(area == threadArea(<u32>threadSlot)); // another thread's epoch
  assert((load<u32>(area + T_EPOCH) & 1) == 0, "access nested");
  atomic.store<u32>(area + T_EPOCH, load<u32>(area + T_EPOCH) + 1);
}

@inline function leave(area: usize): void {
  if (CHECKS) assert(area == threadArea(<u32>threadSlot)); // another thread's epoch
  assert((load<u32>(area + T_EPOCH) & 1) == 1, "access not entered");
  atomic.store<u32>(area + T_EPOCH, load<u32>(area + T_EPOCH) + 1);
}

// Between pages: apply a pending shootdown (flush the TLB) before translating again.
@inline function checkShootdown(area: usize): void {
  assert(area != 0 && daxBase != 0, "dax: a shootdown checked without a thread area or tables");
  const gen = atomic.load<u32>(daxBase + D_SHOOTDOWN_GEN);
  // A thread acknowledges generations that were published, never one ahead.
  // a shootdown acknowledged before it was published
  if (CHECKS) assert(<i32>(gen - load<u32>(area + T_ACK)) >= 0);
  if (gen != load<u32>(area + T_ACK)) {
    tlbFlush(area);
    atomic.store<u32>(area + T_ACK, gen);
  }
  // this thread did not acknowledge the generation it saw
  if (CHECKS) assert(load<u32>(area + T_ACK) == gen);

}

export const ACCESS_STORE: u32 = 0;
const ACCESS_LOAD: u32 = 1;
export const ACCESS_FLUSH: u32 = 2;

// Begin an access on this thread (its epoch odd, no fault recorded): returns the thread's
// DAX area. A batch (batch.ts) enters once and walks many ranges before accessLeave.
export function accessEnter(): usize {
  assert(threadSlot >= 0, "thread slot");
  const area = threadArea(<u32>threadSlot);
  assert(area != 0, "dax: no thread area");
  store<u32>(area + T_FAULT_REASON, 0);
  enter(area);
  return area;
}

export function accessLeave(area: usize): void {
  assert(area != 0, "dax: no thread area");
  if (CHECKS) assert(area == threadArea(<u32>threadSlot)); // another thread's area
  leave(area);
}

// One walk over the pages of [offset, offset+len) for a store, a load or a flush, inside
// an access. Each page is translated once (after applying any pending shootdown) and
// handled under that one translation. Returns the bytes done; fewer than len means a
// fault at offset + result (page and reason in the thread's fault fields). A flush skips
// unmapped pages.
export function accessPieces(
  area: usize, kind: u32, mapping: u32, offset: u32, buffer: usize, len: u32,
): u32 {
  assert(kind == ACCESS_STORE || kind == ACCESS_LOAD || kind == ACCESS_FLUSH, "access kind");
  assert((load<u32>(area + T_EPOCH) & 1) == 1, "dax: a walk outside an access");
  let done: u32 = 0;
  while (done < len) {
    checkShootdown(area);
    const at = offset + done;
    const page = at >> PAGE_SHIFT;
    const inPage = at & (PAGE_BYTES - 1);
    const count = min<u32>(PAGE_BYTES - inPage, len - done);
    // a piece of an access that leaves its page
    if (CHECKS) assert(count > 0 && inPage + count <= PAGE_BYTES);
    const pte = translate(area, mapping, page, kind == ACCESS_STORE);
    if (pte == 0) {
      if (kind != ACCESS_FLUSH) break;
      store<u32>(area + T_FAULT_REASON, 0);
      done += count;
      continue;
    }
    const phys = ((pte & PTE_BLOCK_MASK) << PAGE_SHIFT) + inPage;
    assert(<u64>phys + count <= <u64>deviceBytes, "dax: page table entry outside the device");
    if (kind == ACCESS_LOAD) {
      if (!deviceLoad(buffer + done, phys, count)) {
        store<u32>(area + T_FAULT_PAGE, page);
        store<u32>(area + T_FAULT_REASON, FAULT_MEDIA_ERROR);
        break;
      }
    } else {
      deviceLock();
      if (kind == ACCESS_STORE) {
        deviceStore(phys, buffer + done, count, false);
        // Under the device lock, which every store takes: the bytes are the device's now.
        if (CHECKS) assert(memory.compare(visibleAddr + <usize>phys, buffer + done, count) == 0);
      } else {
        deviceFlush(phys, count, FLUSH_CLWB);
      }
      deviceUnlock();
    }
    done += count;
  }
  assert(done <= len, "bytes done");
  // an access that stopped short without a fault
  if (CHECKS) assert(done == len || load<u32>(area + T_FAULT_REASON) != 0);
  return done;
}

function daxAccess(kind: u32, mapping: u32, offset: u32, buffer: usize, len: u32): u32 {
  const area = accessEnter();
  const done = accessPieces(area, kind, mapping, offset, buffer, len);
  accessLeave(area);
  assert(done <= len, "bytes done");
  if (CHECKS) assert((load<u32>(area + T_EPOCH) & 1) == 0); // still inside the access
  return done;
}

// Store len bytes from src at offset of the mapping (DAX: no file-system call).
export function daxStore(mapping: u32, offset: u32, src: usize, len: u32): u32 {
  return daxAccess(ACCESS_STORE, mapping, offset, src, len);
}

// Load len bytes at offset of the mapping into dst. A poisoned line stops the load with
// FAULT_MEDIA_ERROR (a bus error for the caller).
export function daxLoad(mapping: u32, offset: u32, dst: usize, len: u32): u32 {
  return daxAccess(ACCESS_LOAD, mapping, offset, dst, len);
}

// clwb of every line of [offset, offset+len) through this thread's translations; pages
// not mapped are skipped (nothing of this mapping can be dirty there).
export function daxFlush(mapping: u32, offset: u32, len: u32): u32 {
  return daxAccess(ACCESS_FLUSH, mapping, offset, 0, len);
}

export function daxFaultInfo(): u32 {
  const area = threadArea(<u32>threadSlot);
  assert(load<u32>(area + T_FAULT_REASON) <= FAULT_MEDIA_ERROR, "fault reason");
  // a fault page that overlaps the reason bits
  if (CHECKS) assert(load<u32>(area + T_FAULT_PAGE) < 1 << FAULT_REASON_SHIFT);
  return (load<u32>(area + T_FAULT_REASON) << FAULT_REASON_SHIFT) | load<u32>(area + T_FAULT_PAGE);
}

// After page-table entries changed: bump the generation and wait until every other
// attached thread has either left its access or acknowledged (flushed its TLB at a page
// boundary). Stores that began under an old entry have then completed.
export function daxShootdown(): u32 {
  assert(threadSlot >= 0, "thread slot");
  assert(daxBase != 0, "dax not attached");
  const gen = atomic.add<u32>(daxBase + D_SHOOTDOWN_GEN, 1) + 1;
  const slots = atomic.load<u32>(headerAddr + H_THREAD_SLOTS);
  for (let t: u32 = 0; t < maxThreads; t++) {
    if (t == <u32>threadSlot || ((slots >> t) & 1) == 0) continue;
    const area = threadArea(t);
    while (true) {
      const epoch = atomic.load<u32>(area + T_EPOCH);
      if ((epoch & 1) == 0) break;
      if (<i32>(atomic.load<u32>(area + T_ACK) - gen) >= 0) break;
    }
  }
  // This thread's own TLB is stale too.
  checkShootdown(threadArea(<u32>threadSlot));
  // this thread did not apply its own shootdown
  if (CHECKS) assert(<i32>(load<u32>(threadArea(<u32>threadSlot) + T_ACK) - gen) >= 0);
  return gen;
}

export function daxThreadAreaBytes(tlbEntries: u32): u32 {
  return threadAreaBytes(tlbEntries);
}

