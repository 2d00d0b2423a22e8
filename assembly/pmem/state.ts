// Per-instance view of the shared device: addresses read from the header at attach.
// These are WebAssembly globals, so each instance (thread) has its own copy; the
// memory they point into is shared.
import { CHECKS } from "../shared/checks";
import {
  H_MAGIC, H_VERSION, HEADER_MAGIC, HEADER_VERSION, H_DEVICE_BYTES, H_LINE_COUNT, H_DOMAIN,
  H_LOG_CAPACITY, H_SCRATCH_BYTES, H_CRC_TABLES, H_THREADS, H_THREAD_STRIDE, H_FLUSHQ_CAPACITY,
  H_LINE_STATE, H_LINE_LIST, H_LOG, H_LOG_DATA, H_PATCH, H_VISIBLE, H_PREIMAGE, H_CRASH_TABLE,
  H_MAX_THREADS, TA_COUNTERS, H_KERNEL, H_KERNEL_BYTES, H_LINE_STAMP, H_CHUNK_STAMP, H_CHUNK_CRC,
  H_CHUNK_UNIFORM, H_RUNS, H_FRESH_RUNS, H_PATCH_ROWS, H_LINE_SEQ, H_STRIPE_LOCKS,
} from "../abi";
import { crcTablesAddr } from "../csum/crc32c";

export let headerAddr: usize = 0;
export let deviceBytes: u32 = 0;
export let lineCount: u32 = 0;
export let domain: u32 = 0;
export let logCapacity: u32 = 0;
// log2(logCapacity): the ring of an entry index is a shift, not a division.
export let logCapacityShift: u32 = 0;
export let scratchBytes: u32 = 0;
export let threadsAddr: usize = 0;
export let threadStride: u32 = 0;
export let flushQueueCapacity: u32 = 0;
export let lineStateAddr: usize = 0;
export let lineListAddr: usize = 0;
export let logAddr: usize = 0;
export let logDataAddr: usize = 0;
export let patchAddr: usize = 0;
export let visibleAddr: usize = 0;
export let preimageAddr: usize = 0; // logCapacity slots of 64 bytes (storelog.ts)
export let crashTableAddr: usize = 0;
export let maxThreads: u32 = 0;
export let kernelAddr: usize = 0;
export let kernelBytes: u32 = 0;
export let lineStampAddr: usize = 0;
export let chunkStampAddr: usize = 0;
export let chunkCrcAddr: usize = 0;
export let chunkUniformAddr: usize = 0;
export let runsAddr: usize = 0;
export let freshRunsAddr: usize = 0;
export let patchRows: u32 = 0;
export let lineSeqAddr: usize = 0;
export let stripeLocksAddr: usize = 0;
export let threadSlot: i32 = -1;
// This thread's counters (TA_COUNTERS in its area), set with its slot: counterAdd's address
// without the slot's multiply and three globals for each of a store's five counts.
let threadCountersAddr: usize = 0;

/** This instance's thread slot (-1: detached), and what follows from it. */
export function setThreadSlot(slot: i32): void {
  assert(slot < <i32>maxThreads, "state: a thread slot past maxThreads");
  threadSlot = slot;
  threadCountersAddr = slot < 0 ? 0 : threadsAddr + <usize>slot * threadStride + TA_COUNTERS;
}

export function loadStateFromHeader(h: usize): bool {
  if (load<u32>(h + H_MAGIC) != HEADER_MAGIC) return false;
  if (load<u32>(h + H_VERSION) != HEADER_VERSION) return false;
  headerAddr = h;
  deviceBytes = load<u32>(h + H_DEVICE_BYTES);
  lineCount = load<u32>(h + H_LINE_COUNT);
  domain = load<u32>(h + H_DOMAIN);
  maxThreads = load<u32>(h + H_MAX_THREADS);
  logCapacity = load<u32>(h + H_LOG_CAPACITY);
  logCapacityShift = <u32>ctz(logCapacity);
  assert(logCapacity == 1 << logCapacityShift, "header: a log capacity that is not a power of two");
  scratchBytes = load<u32>(h + H_SCRATCH_BYTES);
  crcTablesAddr = load<u32>(h + H_CRC_TABLES);
  threadsAddr = load<u32>(h + H_THREADS);
  threadStride = load<u32>(h + H_THREAD_STRIDE);
  flushQueueCapacity = load<u32>(h + H_FLUSHQ_CAPACITY);
  lineStateAddr = load<u32>(h + H_LINE_STATE);
  lineListAddr = load<u32>(h + H_LINE_LIST);
  logAddr = load<u32>(h + H_LOG);
  logDataAddr = load<u32>(h + H_LOG_DATA);
  patchAddr = load<u32>(h + H_PATCH);
  visibleAddr = load<u32>(h + H_VISIBLE);
  preimageAddr = load<u32>(h + H_PREIMAGE);
  crashTableAddr = load<u32>(h + H_CRASH_TABLE);
  kernelAddr = load<u32>(h + H_KERNEL);
  kernelBytes = load<u32>(h + H_KERNEL_BYTES);
  lineStampAddr = load<u32>(h + H_LINE_STAMP);
  chunkStampAddr = load<u32>(h + H_CHUNK_STAMP);
  chunkCrcAddr = load<u32>(h + H_CHUNK_CRC);
  chunkUniformAddr = load<u32>(h + H_CHUNK_UNIFORM);
  runsAddr = load<u32>(h + H_RUNS);
  freshRunsAddr = load<u32>(h + H_FRESH_RUNS);
  patchRows = load<u32>(h + H_PATCH_ROWS);
  lineSeqAddr = load<u32>(h + H_LINE_SEQ);
  stripeLocksAddr = load<u32>(h + H_STRIPE_LOCKS);
  assert(lineCount << 6 == deviceBytes, "header: line count disagrees with device size");
  assert(preimageAddr + (<usize>maxThreads * logCapacity << 6) <= visibleAddr
    || preimageAddr >= visibleAddr + deviceBytes, "header: pre-images overlap visible");
  return true;
}

// Counters live in each thread's area and count that thread's operations (a counter is the
// sum over the slots: counterTotal). Why: every store, load and fence of every thread
// added to one header cache line, which bounced between the cores of concurrent writers
// and readers. Only the thread itself writes its counters, so a plain add is enough, under
// the device lock or not (loads).
@inline export function counterAdd(index: u32, amount: u64): void {
  // counts of a detached instance, or at an address its slot does not give
  if (CHECKS) assert(threadSlot >= 0 && threadCountersAddr == threadAreaAddr() + TA_COUNTERS);
  const at = threadCountersAddr + (<usize>index << 3);
  store<u64>(at, load<u64>(at) + amount);
}

// A counter's value: the sum over every thread slot (a slot keeps its counts when its
// thread detaches, so totals never go back).
export function counterTotal(index: u32): u64 {
  let total: u64 = 0;
  for (let t: u32 = 0; t < maxThreads; t++) {
    total += atomic.load<u64>(threadsAddr + <usize>t * threadStride + TA_COUNTERS
      + (<usize>index << 3));
  }
  return total;
}

// This thread's flush queue: [u32 count][pad][entries...]; scratch follows.
@inline export function threadAreaAddr(): usize {
  return threadsAddr + <usize>threadSlot * threadStride;
}

@inline export function threadScratchAddr(): usize {
  return threadsAddr + <usize>threadSlot * threadStride + threadStride - scratchBytes;
}
