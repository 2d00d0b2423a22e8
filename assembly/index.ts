// Exports of the pmcow core. Every export validates its arguments and returns a
// negative errno instead of trapping; src/ turns those into FsError.
import {
  HEADER_MAGIC, HEADER_VERSION, H_MAGIC, H_VERSION, H_DEVICE_BYTES, H_LINE_COUNT, H_DOMAIN,
  H_MAX_THREADS, H_LOG_CAPACITY, H_SCRATCH_BYTES, H_CRC_TABLES, H_THREADS, H_THREAD_STRIDE,
  H_FLUSHQ_CAPACITY, H_LINE_STATE, H_LINE_LIST, H_LOG, H_LOG_DATA, H_PATCH, H_VISIBLE, H_PREIMAGE,
  H_TOTAL_BYTES, H_THREAD_SLOTS, H_KERNEL, H_KERNEL_BYTES, H_CRASH_TABLE, COUNTER_COUNT, LINE_BYTES,
  H_PATCH_ROWS, H_SCAN_VERSION, H_LINE_SEQ, H_STRIPE_LOCKS, MAX_THREADS, DOMAIN_ADR, DOMAIN_EADR,
  HEADER_BYTES, LINE_INFO_ENTRIES_SHIFT, R_VISIBLE, R_PREIMAGE, R_SCRATCH, R_SCRATCH_BYTES, R_PATCH,
  R_LINE_STATE, R_LINE_COUNT, R_KERNEL, R_KERNEL_BYTES, R_DEVICE_BYTES, R_THREAD_SLOT, R_DOMAIN,
  R_LOG_CAPACITY, R_CRASH_TABLE, R_CRASH_ROWS, R_STAMP_RUNS, G_LINES_PENDING, G_LOG_SPAN,
  G_FLUSH_QUEUE, G_POISONED_LINES, H_POISONED_LINES, FLUSH_CLFLUSH, FLUSH_CLWB, CRASH_ENUMERATE,
  BAD_ARGUMENT_BIAS, MIN_NODE_BYTES, D_HEADER_BYTES, MAPPING_BYTES, TLB_ENTRIES_MIN,
  TLB_ENTRIES_MAX, MAX_MAPPINGS, LINE_SHIFT as PMEM_LINE_SHIFT,
} from "./abi";
import {
  planLayout, planCrcTables, planCrashTable, planPatch, planLog, planLogData, planThreads,
  planThreadStride, planLineState, planLineList, planVisible, planPreimage, planKernel, planTotal,
  planLineStamp, planChunkStamp, planChunkCrc, planChunkUniform, planRuns, planFreshRuns,
  planPatchRows, planLineSeq,
  planStripeLocks,
} from "./pmem/layout";
import * as S from "./pmem/state";
import {
  lock, unlock, attached, deviceRangeValid, bufferValid, destinationValid,
} from "./pmem/export-checks";
import { EINVAL, EIO, EBUSY, E2BIG, ENOMEM } from "./abi";
import {
  deviceStore, deviceFlush, deviceFence, deviceLoad, deviceReadMedia, devicePoison, deviceLineState,
  deviceZeroCheck, recountPoisoned, deviceStoreBegin, deviceStoreEnd, countStore,
} from "./pmem/device";
import { lineHeadIndex, entryAddr } from "./pmem/log-slots";
import { LogEntry } from "./pmem/log-entry";
import { freshRunsDeferred, materializeFreshRuns, setFreshRunDeferral } from "./pmem/fresh-runs";
import { flushQueueLength } from "./pmem/flushqueue";
import {
  crashScan, crashTotal, crashBuild, crashOverlay, crashApplyPatch, crashForgetPending,
  crashInPlace,
} from "./pmem/crash";
import {
  crc32c, crc32cUpdate, crc32cBuildTables, crc32cZeros, crc32cZeroTail,
} from "./csum/crc32c";
import { contentHashBegin, contentHashUpdate, contentHashFinal } from "./csum/content-hash";
import {
  H_CRASH_ROWS as H_CRASH_ROWS_AT, H_LINE_STAMP, H_CHUNK_STAMP, H_CHUNK_CRC, H_CHUNK_UNIFORM,
  H_STAMP_EPOCH, H_RUNS, H_FRESH_RUNS, TA_DIGEST,
} from "./abi";
import { linesPendingTotal, logSpanTotal, ringAttach } from "./pmem/ring";
import {
  enterShared, exitShared, lockWorld, unlockWorld, worldLocked, releaseAfterTrap,
} from "./pmem/store-locks";
import { seqAttach } from "./pmem/seq-order";
import { storeBatch, storeBatchValid } from "./pmem/store-batch";
import { stampRange, stampsAdvance } from "./pmem/stamps";

const MEMORY_LIMIT_BYTES: u64 = <u64>65536 << 16;

// --- layout, format, attach -------------------------------------------------------

export function core_heap_base(): usize {
  return __heap_base;
}

function configValid(deviceBytes: u32, domain: u32, maxThreads: u32, logCapacity: u32,
  scratchBytes: u32, flushQueueCapacity: u32): bool {
  if (deviceBytes == 0 || (deviceBytes & (LINE_BYTES - 1)) != 0) return false;
  if (domain != DOMAIN_ADR && domain != DOMAIN_EADR) return false;
  if (maxThreads == 0 || maxThreads > MAX_THREADS) return false;
  if (logCapacity < 16 || logCapacity > (1 << 24) || (logCapacity & (logCapacity - 1)) != 0) {
    return false;
  }
  if (scratchBytes < 4096 || (scratchBytes & 63) != 0) return false;
  if (flushQueueCapacity < 16 || flushQueueCapacity > (1 << 24)) return false;
  return true;
}

// Bytes of memory a device needs from `base`, or a negative errno.
export function pmem_layout_total(base: u32, deviceBytes: u32, domain: u32, maxThreads: u32,
  logCapacity: u32, scratchBytes: u32, flushQueueCapacity: u32, kernelBytes: u32): f64 {
  if (!configValid(deviceBytes, domain, maxThreads, logCapacity, scratchBytes,
      flushQueueCapacity)) {
    return -EINVAL;
  }
  if ((base & 4095) != 0 || base < <u32>__heap_base) return -EINVAL;
  planLayout(base, deviceBytes, maxThreads, logCapacity, scratchBytes, flushQueueCapacity,
    kernelBytes);
  if (planTotal > MEMORY_LIMIT_BYTES) return -E2BIG;
  return <f64>planTotal;
}

export function pmem_format(base: u32, deviceBytes: u32, domain: u32, maxThreads: u32,
  logCapacity: u32, scratchBytes: u32, flushQueueCapacity: u32, kernelBytes: u32): i32 {
  const total = pmem_layout_total(base, deviceBytes, domain, maxThreads, logCapacity, scratchBytes,
    flushQueueCapacity, kernelBytes);
  if (total < 0) return <i32>total;
  if (<u64>total > (<u64>memory.size() << 16)) return -ENOMEM;
  const h = <usize>base;
  if (load<u32>(h + H_MAGIC) != 0) return -EBUSY; // already formatted: never clobber a live device
  store<u32>(h + H_VERSION, HEADER_VERSION);
  store<u32>(h + H_DEVICE_BYTES, deviceBytes);
  store<u32>(h + H_LINE_COUNT, deviceBytes / LINE_BYTES);
  store<u32>(h + H_DOMAIN, domain);
  store<u32>(h + H_MAX_THREADS, maxThreads);
  store<u32>(h + H_LOG_CAPACITY, logCapacity);
  store<u32>(h + H_SCRATCH_BYTES, scratchBytes);
  store<u32>(h + H_CRC_TABLES, <u32>planCrcTables);
  store<u32>(h + H_CRASH_TABLE, <u32>planCrashTable);
  store<u32>(h + H_PATCH, <u32>planPatch);
  store<u32>(h + H_LOG, <u32>planLog);
  store<u32>(h + H_LOG_DATA, <u32>planLogData);
  store<u32>(h + H_THREADS, <u32>planThreads);
  store<u32>(h + H_THREAD_STRIDE, <u32>planThreadStride);
  store<u32>(h + H_FLUSHQ_CAPACITY, flushQueueCapacity);
  store<u32>(h + H_LINE_STATE, <u32>planLineState);
  store<u32>(h + H_LINE_LIST, <u32>planLineList);
  store<u32>(h + H_VISIBLE, <u32>planVisible);
  store<u32>(h + H_PREIMAGE, <u32>planPreimage);
  store<u32>(h + H_KERNEL, <u32>planKernel);
  store<u32>(h + H_KERNEL_BYTES, kernelBytes);
  store<u32>(h + H_TOTAL_BYTES, <u32>planTotal);
  store<u32>(h + H_LINE_STAMP, <u32>planLineStamp);
  store<u32>(h + H_CHUNK_STAMP, <u32>planChunkStamp);
  store<u32>(h + H_CHUNK_CRC, <u32>planChunkCrc);
  store<u32>(h + H_CHUNK_UNIFORM, <u32>planChunkUniform);
  store<u32>(h + H_RUNS, <u32>planRuns);
  store<u32>(h + H_FRESH_RUNS, <u32>planFreshRuns);
  store<u32>(h + H_PATCH_ROWS, <u32>planPatchRows);
  store<u32>(h + H_LINE_SEQ, <u32>planLineSeq);
  store<u32>(h + H_STRIPE_LOCKS, <u32>planStripeLocks);
  store<u32>(h + H_STAMP_EPOCH, 1); // stamps of never-changed lines stay 0: older than any epoch
  // the log's version starts at 0: the first scan runs
  store<u32>(h + H_SCAN_VERSION, u32.MAX_VALUE);
  crc32cBuildTables(<usize>planCrcTables);
  // The magic goes last: an attaching thread that sees it sees a complete header.
  atomic.store<u32>(h + H_MAGIC, HEADER_MAGIC);
  return 0;
}

// Attach this instance to the device at `base` and claim a thread slot.
export function pmem_attach(base: u32): i32 {
  if (S.threadSlot >= 0) return -EBUSY;
  if ((base & 4095) != 0 || <u64>base + HEADER_BYTES > (<u64>memory.size() << 16)) return -EINVAL;
  if (atomic.load<u32>(base + H_MAGIC) != HEADER_MAGIC) return -EINVAL;
  if (!S.loadStateFromHeader(base)) return -EINVAL;
  const slots = base + H_THREAD_SLOTS;
  while (true) {
    const taken = atomic.load<u32>(slots);
    let slot: i32 = -1;
    for (let i: u32 = 0; i < S.maxThreads; i++) {
      if (((taken >> i) & 1) == 0) { slot = <i32>i; break; }
    }
    if (slot < 0) return -EBUSY;
    if (atomic.cmpxchg<u32>(slots, taken, taken | (1 << <u32>slot)) == taken) {
      S.setThreadSlot(slot);
      ringAttach();
      store<u32>(S.threadAreaAddr(), 0); // empty flush queue
      // Stores of several threads keep no deferred runs (fresh-runs.ts) and number their
      // entries from clocks above every number given so far (seq-order.ts).
      lockWorld();
      materializeFreshRuns();
      seqAttach();
      unlockWorld();
      return slot;
    }
  }
}

export function pmem_detach(): i32 {
  if (S.threadSlot < 0) return -EINVAL;
  lock();
  deviceFence(false); // outstanding flushes complete before the thread goes away
  unlock();
  atomic.and<u32>(S.headerAddr + H_THREAD_SLOTS, ~(1 << <u32>S.threadSlot));
  S.setThreadSlot(-1);
  return 0;
}

export function pmem_region(which: u32): u32 {
  switch (which) {
    case R_VISIBLE: return <u32>S.visibleAddr;
    case R_PREIMAGE: return <u32>S.preimageAddr;
    case R_SCRATCH: return <u32>S.threadScratchAddr();
    case R_SCRATCH_BYTES: return S.scratchBytes;
    case R_PATCH: return <u32>S.patchAddr;
    case R_LINE_STATE: return <u32>S.lineStateAddr;
    case R_LINE_COUNT: return S.lineCount;
    case R_KERNEL: return <u32>S.kernelAddr;
    case R_KERNEL_BYTES: return S.kernelBytes;
    case R_DEVICE_BYTES: return S.deviceBytes;
    case R_THREAD_SLOT: return <u32>S.threadSlot;
    case R_DOMAIN: return S.domain;
    case R_LOG_CAPACITY: return S.logCapacity;
    // rows [line u32][versions u32] of the last crash scan
    case R_CRASH_TABLE: return <u32>S.crashTableAddr;
    case R_CRASH_ROWS: return load<u32>(S.headerAddr + H_CRASH_ROWS_AT);
    case R_STAMP_RUNS: return <u32>S.runsAddr; // runs of the last pmem_stamp_runs
    default: return 0;
  }
}

// --- device operations -------------------------------------------------------------

export function pmem_store(addr: u32, src: u32, len: u32, nonTemporal: bool): i32 {
  if (!attached()) return -EINVAL;
  if (!deviceRangeValid(addr, len) || !bufferValid(src, len)) return -EINVAL;
  if (len == 0) return 0;
  enterShared();
  deviceStore(addr, src, len, nonTemporal);
  exitShared();
  return 0;
}

// Store `count` records (STORE_BATCH_DESC_BYTES each, SBD_* in assembly/abi.ts) whose
// descriptors lie in this thread's scratch and whose bytes lie one after another from
// `payload`, in order, each as pmem_store would: one call into the core for a batch of a
// writer's stores (assembly/pmem/store-batch.ts). -EINVAL for a bad batch: nothing stored.
export function pmem_store_batch(descs: u32, count: u32, payload: u32, nonTemporal: bool): i32 {
  if (!attached() || !storeBatchValid(descs, count, payload)) return -EINVAL;
  storeBatch(descs, count, payload, nonTemporal);
  return 0;
}

// A store whose bytes the caller writes itself, in two calls: pmem_store_begin logs it
// (room made, lines locked, entries appended: the visible bytes of [addr, addr + len) are
// the caller's to write now, and only theirs), the caller copies its bytes straight into the
// visible bytes (pmem_region 0 + addr), then pmem_store_end. Why: a JavaScript caller's
// bytes then cross into the device once, not into the scratch and again into the device
// (src/pmem/device.ts, large stores). One store at a time per thread; the end must follow.
let begunAddr: u32 = 0, begunLen: u32 = 0, begunLast: u32 = 0, begunNonTemporal: bool = false;
export function pmem_store_begin(addr: u32, len: u32, nonTemporal: bool): i32 {
  if (!attached()) return -EINVAL;
  if (begunLen != 0) return -EBUSY;
  if (!deviceRangeValid(addr, len) || len == 0) return -EINVAL;
  if (((addr + len - 1) >> PMEM_LINE_SHIFT) - (addr >> PMEM_LINE_SHIFT) + 1 > S.logCapacity) {
    return -E2BIG;
  }
  enterShared();
  begunLast = deviceStoreBegin(addr, len);
  begunAddr = addr; begunLen = len; begunNonTemporal = nonTemporal;
  return 0;
}

export function pmem_store_end(): i32 {
  if (!attached() || begunLen == 0) return -EINVAL;
  const len = begunLen;
  begunLen = 0;
  countStore(len, begunNonTemporal);
  deviceStoreEnd(begunAddr, len, begunNonTemporal, begunLast);
  exitShared();
  return 0;
}

export function pmem_load(dst: u32, addr: u32, len: u32): i32 {
  if (!attached()) return -EINVAL;
  if (!deviceRangeValid(addr, len) || !destinationValid(dst, len)) return -EINVAL;
  if (len == 0) return 0;
  return deviceLoad(dst, addr, len) ? 0 : -EIO;
}

// 1 when the bytes of [addr, addr+len) read as zeros, 0 when not, -EIO when a line is
// poisoned: a load's answer without copying the bytes out.
export function pmem_zero_check(addr: u32, len: u32): i32 {
  if (!attached() || !deviceRangeValid(addr, len)) return -EINVAL;
  const r = deviceZeroCheck(addr, len);
  return r < 0 ? -EIO : r;
}

export function pmem_read_media(dst: u32, addr: u32, len: u32): i32 {
  if (!attached()) return -EINVAL;
  if (!deviceRangeValid(addr, len) || !destinationValid(dst, len)) return -EINVAL;
  lock();
  deviceReadMedia(dst, addr, len);
  unlock();
  return 0;
}

// kind: FLUSH_CLWB, FLUSH_CLFLUSHOPT or FLUSH_CLFLUSH
export function pmem_flush(addr: u32, len: u32, kind: u32): i32 {
  if (!attached() || kind > FLUSH_CLFLUSH) return -EINVAL;
  if (!deviceRangeValid(addr, max<u32>(len, 1))) return -EINVAL;
  enterShared();
  deviceFlush(addr, len, kind);
  exitShared();
  return 0;
}

// clwb of [addr, addr + len) and an sfence, as pmem_flush then pmem_fence do, in one call
// and one shared section: a persisted store from JavaScript crosses into the core twice,
// not three times.
export function pmem_persist(addr: u32, len: u32): i32 {
  if (!attached()) return -EINVAL;
  if (!deviceRangeValid(addr, max<u32>(len, 1))) return -EINVAL;
  enterShared();
  deviceFlush(addr, len, FLUSH_CLWB);
  deviceFence(false);
  exitShared();
  return 0;
}

export function pmem_fence(isMfence: bool): i32 {
  if (!attached()) return -EINVAL;
  enterShared();
  deviceFence(isMfence);
  exitShared();
  return 0;
}

export function pmem_poison(addr: u32, len: u32, poisoned: bool): i32 {
  if (!attached()) return -EINVAL;
  if (!deviceRangeValid(addr, max<u32>(len, 1))) return -EINVAL;
  lock();
  devicePoison(addr, len, poisoned);
  unlock();
  return 0;
}

// Deferral of fresh runs' log entries (assembly/pmem/fresh-runs.ts) on or off for this
// thread; off writes the deferred ones first. For the test that compares the two logs.
export function pmem_set_fresh_run_deferral(on: bool): i32 {
  if (!attached()) return -EINVAL;
  lock();
  if (!on && freshRunsDeferred() > 0) materializeFreshRuns();
  setFreshRunDeferral(on);
  unlock();
  return 0;
}

// Returns (entries << LINE_INFO_ENTRIES_SHIFT) | state bits for one line; entries saturate
// at 2^23 - 1.
export function pmem_line_info(line: u32): i32 {
  if (!attached() || line >= S.lineCount) return -EINVAL;
  lock();
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the line's entries are read
  let entries: u32 = 0;
  for (let at = lineHeadIndex(line);
      at != 0 && entries < (1 << (32 - LINE_INFO_ENTRIES_SHIFT - 1)) - 1;
      at = changetype<LogEntry>(entryAddr(at - 1)).next) {
    entries++;
  }
  const state = deviceLineState(line);
  unlock();
  return <i32>((entries << LINE_INFO_ENTRIES_SHIFT) | state);
}

// After line states were copied in from another device (a crash target): count its
// poisoned lines again. Returns the count.
export function pmem_recount_poisoned(): i32 {
  if (!attached()) return -EINVAL;
  lock();
  const count = recountPoisoned();
  unlock();
  return <i32>count;
}

export function pmem_counter(index: u32): f64 {
  if (!attached() || index >= COUNTER_COUNT) return -EINVAL;
  return <f64>S.counterTotal(index);
}

// G_LINES_PENDING lines pending, G_LOG_SPAN live log span, G_FLUSH_QUEUE this thread's queued
// flushes
export function pmem_gauge(which: u32): i32 {
  if (!attached()) return -EINVAL;
  lock();
  let v: u32 = 0;
  if (which == G_LINES_PENDING) v = linesPendingTotal();
  else if (which == G_LOG_SPAN) v = logSpanTotal();
  else if (which == G_FLUSH_QUEUE) v = flushQueueLength();
  else if (which == G_POISONED_LINES) v = load<u32>(S.headerAddr + H_POISONED_LINES);
  unlock();
  return <i32>v;
}

// --- crash images ------------------------------------------------------------------

// Scan the pending state; returns the number of pending lines. The image count is
// then read with pmem_crash_total (saturating at 2^64-1).
export function pmem_crash_scan(): i32 {
  if (!attached()) return -EINVAL;
  lock();
  const rows = crashScan();
  unlock();
  return <i32>rows;
}

export function pmem_crash_total(): u64 {
  return attached() ? crashTotal() : 0;
}

// Build one image's patch (mode CRASH_STRICT, CRASH_RANDOM with seed arg, CRASH_ENUMERATE image
// number arg) from a fresh scan, under one hold of the device lock. With keepLocked the lock stays
// held so the caller can copy media and patch as one instant; it then calls pmem_unlock.
// Returns the patch's line count.
// `lines`: a line bitmap (lineCount bits) of the lines to build, 0 for all (crashBuild).
export function pmem_crash_build(mode: u32, arg: u64, keepLocked: bool, lines: u32): i32 {
  if (!attached() || mode > CRASH_ENUMERATE) return -EINVAL;
  if (lines != 0 && !bufferValid(lines, (<u32>S.lineCount + 7) >> 3)) return -EINVAL;
  lock();
  crashScan();
  if (mode == CRASH_ENUMERATE && arg >= crashTotal()) { unlock(); return -EINVAL; }
  const slots = crashBuild(mode, arg, lines);
  if (!keepLocked) unlock();
  return <i32>slots;
}

// After a failed check (a trap): release every lock word and flag this thread holds
// (src/core/module.ts calls it from the abort import), so other threads are not stopped.
export function pmem_release_after_trap(): i32 {
  releaseAfterTrap();
  return 0;
}

export function pmem_unlock(): i32 {
  if (!attached() || !worldLocked()) return -EINVAL;
  unlock();
  return 0;
}

// After pmem_crash_build(keepLocked) of `slots` patch lines: append a patch line with the
// media bytes (pre-image) of every pending line the image leaves as it was, so that this
// device's visible bytes with the whole patch over them are the image (a crash target
// copies the visible bytes and the patch). Returns the patch lines in all.
export function pmem_crash_overlay(slots: u32): i32 {
  if (!attached() || !worldLocked()) return -EINVAL;
  if (slots > load<u32>(S.headerAddr + H_CRASH_ROWS_AT)) return -EINVAL;
  return <i32>crashOverlay(slots);
}

// On a device whose visible bytes were set to the source's visible bytes where they may
// differ (stamped lines): drop pending state and apply the patch (copied into this
// device's patch region, overlay included).
export function pmem_crash_apply(slots: u32): i32 {
  return crashApply(slots, false);
}

// As pmem_crash_apply, for a device whose visible bytes were all rewritten by the caller:
// every line is stamped (crash targets and fingerprints look at stamps).
export function pmem_crash_apply_image(slots: u32): i32 {
  return crashApply(slots, true);
}

// Returns the stamp epoch just before the patch: the patch lines, and every later change,
// are stamped after it (a crash target's record of what it holds beyond the source media).
function crashApply(slots: u32, wholeDevice: bool): i32 {
  if (!attached() || slots > S.logCapacity) return -EINVAL;
  lock();
  crashForgetPending();
  if (wholeDevice) stampRange(0, S.lineCount);
  const base = stampsAdvance();
  crashApplyPatch(slots);
  unlock();
  return <i32>base; // below 2^31: one advance per image, never that many
}

export function pmem_crash_in_place(mode: u32, arg: u64): i32 {
  if (!attached() || mode > CRASH_ENUMERATE) return -EINVAL;
  lock();
  if (mode == CRASH_ENUMERATE) {
    crashScan();
    if (arg >= crashTotal()) { unlock(); return -EINVAL; }
  }
  const slots = crashInPlace(mode, arg);
  unlock();
  return <i32>slots;
}


// --- crc32c and raw memory ---------------------------------------------------------

// From JavaScript: superblocks (mounts, and the crash explorer's candidates, thousands a
// second) are mostly zeros, which crc32cZeroTail skips.
export function csum_crc32c(ptr: u32, len: u32): u32 {
  if (!attached() || !bufferValid(ptr, len)) return 0;
  return crc32cZeroTail(ptr, len);
}

export function csum_crc32c_update(crc: u32, ptr: u32, len: u32): u32 {
  if (!attached() || !bufferValid(ptr, len)) return crc;
  return crc32cUpdate(crc, ptr, len);
}

// The raw crc32c register after `count` zero bytes (crc32cUpdate over zeros, in
// popcount(count) polynomial multiplications).
export function csum_crc32c_zeros(crc: u32, count: u32): u32 {
  if (!attached()) return crc;
  return crc32cZeros(crc, count);
}

// Digests of file contents for the crash oracle (assembly/csum/content-hash.ts), in this
// thread's state: begin, update with every chunk (all but the last whole 16-byte blocks),
// final.
@inline function digestStateAddr(): usize {
  return S.threadAreaAddr() + TA_DIGEST;
}

export function content_hash_begin(): i32 {
  if (!attached()) return -EINVAL;
  contentHashBegin(digestStateAddr());
  return 0;
}

export function content_hash_update(ptr: u32, len: u32): i32 {
  if (!attached() || !bufferValid(ptr, len)) return -EINVAL;
  contentHashUpdate(digestStateAddr(), ptr, len);
  return 0;
}

export function content_hash_final(totalBytes: f64): f64 {
  if (!attached() || !(totalBytes >= 0 && totalBytes <= 9007199254740991)) return -EINVAL;
  return contentHashFinal(digestStateAddr(), <u64>totalBytes);
}

// Raw in-WASM copy: the baseline the store path is measured against.
export function mem_copy(dst: u32, src: u32, len: u32): i32 {
  if (!attached() || !destinationValid(dst, len)
      && !(dst >= <u32>S.visibleAddr && <u64>dst + len <= <u64>S.visibleAddr + S.deviceBytes)
        || !bufferValid(src, len)) {
    return -EINVAL;
  }
  memory.copy(dst, src, len);
  return 0;
}

// --- file-system helpers -----------------------------------------------------------

import { nodeSearch } from "./fs/ctree";
import { sectorsCompute, sectorsVerify } from "./csum/sectors";

function memoryValid(ptr: u32, len: u64): bool {
  return <u64>ptr + len <= (<u64>memory.size() << 16);
}

// Key search inside one node at `node` (objectid and offset below 2^53, passed as f64).
export function btree_node_search(
  node: u32, nodeBytes: u32, objectid: f64, type: u32, offset: f64,
): i32 {
  if (!memoryValid(node, nodeBytes) || nodeBytes < MIN_NODE_BYTES) {
    return -EINVAL - BAD_ARGUMENT_BIAS;
  }
  return nodeSearch(node, <u64>objectid, type, <u64>offset);
}

export function csum_sectors_compute(data: u32, sectors: u32, sectorBytes: u32, out: u32): i32 {
  if (!attached() || !memoryValid(data, <u64>sectors * sectorBytes)
      || !memoryValid(out, <u64>sectors * 4)) {
    return -EINVAL;
  }
  sectorsCompute(data, sectors, sectorBytes, out);
  return 0;
}

export function csum_sectors_verify(data: u32, sectors: u32, sectorBytes: u32, expected: u32): i32 {
  if (!attached() || !memoryValid(data, <u64>sectors * sectorBytes)
      || !memoryValid(expected, <u64>sectors * 4)) {
    return -EINVAL - BAD_ARGUMENT_BIAS;
  }
  return sectorsVerify(data, sectors, sectorBytes, expected);
}

// --- DAX ---------------------------------------------------------------------------

import {
  daxAttach, daxAttached, daxFormat, daxStore, daxLoad, daxFaultInfo, daxShootdown, daxFlush,
  mappingValid, daxThreadAreaBytes, daxBaseAddr,
} from "./dax/access";
import { daxFsFault } from "./dax/fault";
import { lockAcquire, lockRelease } from "./fs/fs-lock";
import { fsAttached, fsBase } from "./fs/state";
import { D_FS_STATE, FAULT_MEDIA_ERROR, FAULT_REASON_SHIFT, FAULT_PAGE_MASK, FR_DONE } from "./abi";

export function dax_thread_area_bytes(tlbEntries: u32): u32 {
  return daxThreadAreaBytes(tlbEntries);
}

// Lay out the DAX header at `base` (inside the kernel region), once.
export function dax_format(
  base: u32, maxMappings: u32, tlbEntries: u32, mappingsAddr: u32, threadsAddr: u32,
): i32 {
  if (!attached() || base < <u32>S.kernelAddr || maxMappings == 0 || maxMappings > MAX_MAPPINGS) {
    return -EINVAL;
  }
  if (tlbEntries < TLB_ENTRIES_MIN || tlbEntries > TLB_ENTRIES_MAX
      || (tlbEntries & (tlbEntries - 1)) != 0) {
    return -EINVAL;
  }
  const end = <u64>S.kernelAddr + S.kernelBytes;
  if (<u64>threadsAddr + <u64>S.maxThreads * daxThreadAreaBytes(tlbEntries) > end
      || <u64>mappingsAddr + <u64>maxMappings * MAPPING_BYTES > end) {
    return -EINVAL;
  }
  daxFormat(base, maxMappings, tlbEntries, mappingsAddr, threadsAddr);
  return 0;
}

// Zero [addr, addr + bytes) of the kernel region: the DAX header, thread areas and mapping
// table before dax_format (a fill of shared memory from JavaScript is slow).
export function dax_zero(addr: u32, bytes: u32): i32 {
  if (!attached() || addr < <u32>S.kernelAddr
      || <u64>addr + <u64>bytes > <u64>S.kernelAddr + S.kernelBytes) {
    return -EINVAL;
  }
  memory.fill(addr, 0, bytes);
  return 0;
}

export function dax_attach(base: u32): i32 {
  if (!attached() || base < <u32>S.kernelAddr
      || <u64>base + D_HEADER_BYTES > <u64>S.kernelAddr + S.kernelBytes) {
    return -EINVAL;
  }
  return daxAttach(base) ? 0 : -EINVAL;
}

export function dax_store(mapping: u32, offset: u32, src: u32, len: u32): i32 {
  if (!daxAttached() || !bufferValid(src, len) || !mappingValid(mapping, offset, len)) {
    return -EINVAL;
  }
  return <i32>daxStore(mapping, offset, src, len);
}

// dax_store that serves its write faults in the core: each fault stops the store, the fs
// lock is taken and the fault resolved as dax_fs_fault would, and the store goes on. It
// stops (the bytes done; the fault fields set, as after dax_store) at a media error, at a
// fault the core leaves to the owning thread (FR_OWNER: its fault path answers the same
// before anything changes, then serves it), or when no file system is attached here.
// Why: a fault cost four more calls across to the host and back (the fault's info, the
// lock, the fault, the unlock) and the host's work between them.
export function dax_store_serving(mapping: u32, offset: u32, src: u32, len: u32): i32 {
  if (!daxAttached() || !bufferValid(src, len) || !mappingValid(mapping, offset, len)) {
    return -EINVAL;
  }
  let done = daxStore(mapping, offset, src, len);
  while (done < len && fsAttached() && load<u32>(daxBaseAddr() + D_FS_STATE) == <u32>fsBase) {
    const info = daxFaultInfo();
    if ((info >>> FAULT_REASON_SHIFT) == FAULT_MEDIA_ERROR) break;
    lockAcquire();
    const result = daxFsFault(mapping, info & FAULT_PAGE_MASK, true);
    lockRelease();
    if (result != FR_DONE) break;
    done += daxStore(mapping, offset + done, src + done, len - done);
  }
  return <i32>done;
}

export function dax_load(mapping: u32, offset: u32, dst: u32, len: u32): i32 {
  if (!daxAttached() || !destinationValid(dst, len) || !mappingValid(mapping, offset, len)) {
    return -EINVAL;
  }
  return <i32>daxLoad(mapping, offset, dst, len);
}

export function dax_flush(mapping: u32, offset: u32, len: u32): i32 {
  if (!daxAttached() || !mappingValid(mapping, offset, len)) return -EINVAL;
  return <i32>daxFlush(mapping, offset, len);
}

// (reason << 28) | page of this thread's last fault.
export function dax_fault_info(): u32 {
  return daxAttached() ? daxFaultInfo() : 0;
}

export function dax_shootdown(): i32 {
  if (!daxAttached()) return -EINVAL;
  daxShootdown();
  return 0;
}

export * from "./pmem/exports";
export * from "./fs/exports";
export * from "./dax/exports";

// --- layout classes ----------------------------------------------------------------

import { LAYOUT_ROOT_SLOT, LAYOUT_DIRTY_RECORD, LAYOUT_LOG_ENTRY } from "./abi";
import { rootSlotLayoutAgrees } from "./fs/root-slot";
import { dirtyRecordLayoutAgrees } from "./dax/dirty-record";
import { logEntryLayoutAgrees } from "./pmem/log-entry";

// The @unmanaged layout classes against the ABI's offsets (which TypeScript reads): 0 when
// every class agrees, else one bit per class that does not (LAYOUT_*).
export function core_layouts_check(): i32 {
  return (rootSlotLayoutAgrees() ? 0 : LAYOUT_ROOT_SLOT) | (dirtyRecordLayoutAgrees() ? 0
    : LAYOUT_DIRTY_RECORD)
    | (logEntryLayoutAgrees() ? 0 : LAYOUT_LOG_ENTRY);
}
