// The pmem device: visible bytes (what loads see: media plus CPU caches), media bytes
// (what survives a crash: the visible bytes of every line but the pending ones, whose
// media is their pre-image, storelog.ts), and the store log in between. Callers are inside a
// shared section (store-locks.ts) for stores, flushes and fences, and hold the world lock
// for everything else but loads.
import {
  LINE_SHIFT, LINE_POISON, LINE_PENDING, DOMAIN_EADR, C_STORES, C_STORE_BYTES, C_NT_STORES, C_CLWB,
  C_CLFLUSHOPT, C_CLFLUSH, C_SFENCE, C_MFENCE, C_LOADS, C_LOAD_BYTES, FLUSH_CLWB, FLUSH_CLFLUSHOPT,
  FLUSH_CLFLUSH, H_POISONED_LINES,
} from "../abi";
import { CHECKS } from "../shared/checks";
import {
  visibleAddr, lineStateAddr, domain, counterAdd, headerAddr, logCapacity, lineCount, deviceBytes,
} from "./state";
import {
  logAppend, logAppendRun, logEnsureRoom, logFull, logMakeRoom, retireLineAll, runStored,
} from "./storelog";
import { mediaLineAddr } from "./log-slots";
import { copyLine } from "./line-copy";
import { enterShared, exitShared, lockLines, unlockLines } from "./store-locks";
import { flushPoint } from "./seq-order";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";
import { flushQueuePush, flushQueueDrain } from "./flushqueue";

// A store, flush or fence of the fs and DAX layers (and the pmem_* entry points): a shared
// section (store-locks.ts), which those layers may hold around several of them.
@inline export function deviceLock(): void { enterShared(); }
@inline export function deviceUnlock(): void { exitShared(); }

// Store `len` bytes from src at device offset addr. The log takes each line's entry before
// the visible bytes change (an older entry of the line keeps its bytes then), and the new
// entries find their bytes in the visible lines (storelog.ts). Room in this thread's ring is
// made first (evictions lock the lines they write back, one at a time), then the store's
// lines are locked (several threads attached) for the entries and the visible bytes: no
// lock is taken inside another. A store that spans lines is appended as one run; the
// oldest entries evicted for it are the ones evicting one per line part would evict (the
// new parts are all newer).
@inline export function deviceStore(addr: u32, src: usize, len: u32, nonTemporal: bool): void {
  assert(len > 0, "device: an empty store"); // (the entry points refuse it)
  if (CHECKS) assert(<u64>addr + <u64>len <= <u64>deviceBytes); // a store past the device
  if ((addr & 63) + len <= 64) deviceStoreInLine(addr, src, len, nonTemporal);
  else deviceStoreLines(addr, src, len, nonTemporal);
}

// deviceStore of any store (one inside a line too: what deviceStoreInLine does, with a call).
// Callers that store whole blocks (a data block, a tree node, a page a fault fills) call it
// directly: the one-line path inlined into them would be code they never run.
export function deviceStoreLines(addr: u32, src: usize, len: u32, nonTemporal: bool): void {
  // an empty store, or one past the device (the entry points refuse them)
  if (CHECKS) assert(len > 0 && <u64>addr + <u64>len <= <u64>deviceBytes);
  const first = addr >> LINE_SHIFT;
  const lines = ((addr + len - 1) >> LINE_SHIFT) - first + 1;
  if (lines <= logCapacity) {
    const last = deviceStoreBegin(addr, len, src);
    if (lines > 1 && runStored) countStore(len, nonTemporal); // the log wrote the bytes
    else finishStore(addr, src, len, nonTemporal);
    deviceStoreEnd(addr, len, nonTemporal, last);
    return;
  }
  // Longer than the ring: part by part, each evicting what it needs.
  let at = addr;
  let left = len;
  while (left > 0) {
    const line = at >> LINE_SHIFT;
    const offset = at & 63;
    const count = min<u32>(64 - offset, left);
    if (logFull()) logMakeRoom(1);
    lockLines(line, 1);
    const seq = logAppend(line, offset, count);
    unlockLines(line, 1);
    if (nonTemporal && domain != DOMAIN_EADR) flushQueuePush(line, 1, seq);
    at += count; left -= count;
  }
  lockLines(first, lines);
  finishStore(addr, src, len, nonTemporal);
  unlockLines(first, lines);
}

// deviceStore of a store inside one line (addr's), inlined into each caller: a 64-byte store
// (from JavaScript, a batch or a DAX mapping) makes no call inside the core. Why: the call
// into the whole store path and its prologue, which saves that path's registers, were a
// tenth of such a store.
@inline function deviceStoreInLine(
  addr: u32, src: usize, len: u32, nonTemporal: bool,
): void {
  assert(len > 0 && (addr & 63) + len <= 64, "device: a one-line store that leaves its line");
  const last = deviceStoreBegin(addr, len, src);
  finishStore(addr, src, len, nonTemporal);
  deviceStoreEnd(addr, len, nonTemporal, last);
}

// A store of at most logCapacity lines, before its bytes are written: room made, its lines
// locked (several threads attached) and its entries logged. The caller writes the visible
// bytes [addr, addr + len) next (nothing else may write them meanwhile: the lines are
// locked), then calls deviceStoreEnd. Returns the sequence number of its last entry.
@inline export function deviceStoreBegin(addr: u32, len: u32, src: usize = 0): u32 {
  const first = addr >> LINE_SHIFT;
  const lines = ((addr + len - 1) >> LINE_SHIFT) - first + 1;
  assert(len > 0 && lines <= logCapacity, "device: a store begun longer than the log");
  // (A one-line store moves the tail only when the ring is full, a run when it is half
  // full: logSpan reports the difference, and the old log did the same.)
  if (lines == 1) { if (logFull()) logMakeRoom(1); } else logEnsureRoom(lines);
  lockLines(first, lines);
  return lines > 1 ? logAppendRun(addr, len, src) : logAppend(first, addr & 63, len);
}

// After deviceStoreBegin and the visible bytes: the lines unlocked, and a non-temporal
// store's write-back queued (a store plus a write-back that the next sfence completes; a
// full queue drains first, which locks lines: after they are unlocked).
@inline export function deviceStoreEnd(addr: u32, len: u32, nonTemporal: bool, last: u32): void {
  assert(len > 0 && <u64>addr + <u64>len <= <u64>deviceBytes,
    "device: the end of a store outside the device");
  const first = addr >> LINE_SHIFT;
  const lines = ((addr + len - 1) >> LINE_SHIFT) - first + 1;
  unlockLines(first, lines);
  if (nonTemporal && domain != DOMAIN_EADR) flushQueuePush(first, lines, last);
}

// The counters of a store whose bytes were written (by finishStore, or by the caller
// between deviceStoreBegin and deviceStoreEnd).
export function countStore(len: u32, nonTemporal: bool): void {
  if (CHECKS) assert(len > 0); // an empty store counted
  counterAdd(nonTemporal ? C_NT_STORES : C_STORES, 1);
  counterAdd(C_STORE_BYTES, len);
}

// The visible bytes of a store whose entries are logged.
@inline function finishStore(addr: u32, src: usize, len: u32, nonTemporal: bool): void {
  const dst = visibleAddr + addr;
  // 8-byte aligned stores are single-copy atomic on x86: keep them so for readers on
  // other threads, which load without the device lock.
  if (len == 8 && (addr & 7) == 0) atomic.store<u64>(dst, load<u64>(src));
  else if (len == 64 && (src + 64 <= dst || dst + 64 <= src)) copyLine(dst, src); // no call out
  else memory.copy(dst, src, len);
  countStore(len, nonTemporal);
}

// kind: FLUSH_CLWB, FLUSH_CLFLUSHOPT or FLUSH_CLFLUSH. Covers every line overlapping
// [addr, addr+len). A clwb/clflushopt queues one record for the pending lines of the range (the
// lines from its first pending line to its last): nothing when none is pending.
export function deviceFlush(addr: u32, len: u32, kind: u32): void {
  assert(kind == FLUSH_CLWB || kind == FLUSH_CLFLUSHOPT || kind == FLUSH_CLFLUSH,
    "device: a flush of no kind");
  // a flush past the device (the entry points refuse it)
  if (CHECKS) assert(<u64>addr + <u64>len <= <u64>deviceBytes);
  let first = addr >> LINE_SHIFT;
  let last = (addr + max<u32>(len, 1) - 1) >> LINE_SHIFT;
  counterAdd(kind == FLUSH_CLWB ? C_CLWB : kind == FLUSH_CLFLUSHOPT ? C_CLFLUSHOPT : C_CLFLUSH,
    last - first + 1);
  if (domain == DOMAIN_EADR) return; // caches are persistent: nothing to write back
  const lockedFirst = first, lockedCount = last - first + 1;
  lockLines(lockedFirst, lockedCount);
  if (kind == FLUSH_CLFLUSH) {
    // clflush is ordered with stores and completes at once
    if (freshRunsDeferred() > 0) materializeFreshRuns(); // the lines retire entry by entry
    for (let line = first; line <= last; line++) retireLineAll(line);
    unlockLines(lockedFirst, lockedCount);
    return;
  }
  while (first <= last && !linePending(first)) first++;
  let point: u32 = 0;
  if (first <= last) {
    while (!linePending(last)) last--;
    point = flushPoint(first, last - first + 1);
  }
  unlockLines(lockedFirst, lockedCount);
  // (A full queue drains first, which locks lines: after they are unlocked.)
  if (first <= last) flushQueuePush(first, last - first + 1, point);
}

@inline function linePending(line: u32): bool {
  return (load<u8>(lineStateAddr + line) & LINE_PENDING) != 0;
}

export function deviceFence(isMfence: bool): void {
  counterAdd(isMfence ? C_MFENCE : C_SFENCE, 1);
  if (domain == DOMAIN_EADR) return;
  flushQueueDrain();
}

/** No line of [addr, addr + len) is poisoned. */
function linesReadable(addr: u32, len: u32): bool {
  const first = addr >> LINE_SHIFT;
  const last = (addr + max<u32>(len, 1) - 1) >> LINE_SHIFT;
  for (let line = first; line <= last; line++) {
    if ((load<u8>(lineStateAddr + line) & LINE_POISON) != 0) return false;
  }
  return true;
}

// Returns false when a line in the range is poisoned (nothing is copied then).
export function deviceLoad(dst: usize, addr: u32, len: u32): bool {
  // a load past the device (the entry points refuse it)
  if (CHECKS) assert(<u64>addr + <u64>len <= <u64>deviceBytes);
  if (!linesReadable(addr, len)) return false;
  const src = visibleAddr + addr;
  if (len == 8 && (addr & 7) == 0) store<u64>(dst, atomic.load<u64>(src));
  else memory.copy(dst, src, len);
  counterAdd(C_LOADS, 1);
  counterAdd(C_LOAD_BYTES, len);
  return true;
}

// A load that only asks whether the range can be read: false when a line is poisoned.
// Counted as a load (the bytes are read in place by the caller).
export function deviceReadable(addr: u32, len: u32): bool {
  if (!linesReadable(addr, len)) return false;
  counterAdd(C_LOADS, 1);
  counterAdd(C_LOAD_BYTES, len);
  return true;
}

// 1 when the visible bytes of [addr, addr + len) are all zero, 0 when not, -1 when a line of
// the range is poisoned (a load would fail). Counted as a load.
export function deviceZeroCheck(addr: u32, len: u32): i32 {
  if (!deviceReadable(addr, len)) return -1;
  let at = visibleAddr + addr;
  const end = at + len;
  for (; at + 8 <= end; at += 8) if (load<u64>(at) != 0) return 0;
  for (; at < end; at++) if (load<u8>(at) != 0) return 0;
  return 1;
}

// The media bytes of [addr, addr + len): the visible bytes, with the pending lines' pre-images
// over them.
export function deviceReadMedia(dst: usize, addr: u32, len: u32): void {
  assert(<u64>addr + <u64>len <= <u64>deviceBytes, "device: media read past the device");
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  memory.copy(dst, visibleAddr + addr, len);
  if (len == 0) return;
  const end = addr + len;
  for (let line = addr >> LINE_SHIFT; line <= (end - 1) >> LINE_SHIFT; line++) {
    if (!linePending(line)) continue;
    const from = max<u32>(addr, line << LINE_SHIFT);
    const to = min<u32>(end, (line + 1) << LINE_SHIFT);
    memory.copy(dst + (from - addr), mediaLineAddr(line) + (from & 63), to - from);
  }
}

export function devicePoison(addr: u32, len: u32, poisoned: bool): void {
  assert(<u64>addr + <u64>len <= <u64>deviceBytes, "device: poison past the device");
  const first = addr >> LINE_SHIFT;
  const last = (addr + max<u32>(len, 1) - 1) >> LINE_SHIFT;
  let count = load<u32>(headerAddr + H_POISONED_LINES);
  for (let line = first; line <= last; line++) {
    const st = lineStateAddr + line;
    const was = (load<u8>(st) & LINE_POISON) != 0;
    store<u8>(st, poisoned ? load<u8>(st) | LINE_POISON : load<u8>(st) & ~LINE_POISON);
    if (was != poisoned) count = poisoned ? count + 1 : count - 1;
  }
  store<u32>(headerAddr + H_POISONED_LINES, count);
  // the poisoned-line count disagrees with the line states
  if (CHECKS) assert(count == countPoisoned());
}

/**
 * Count the lines with LINE_POISON (after line states were copied in from another device) and keep
 * the count.
 */
export function recountPoisoned(): u32 {
  const count = countPoisoned();
  assert(count <= lineCount, "device: more poisoned lines than lines");
  store<u32>(headerAddr + H_POISONED_LINES, count);
  return count;
}

function countPoisoned(): u32 {
  let count: u32 = 0;
  for (let line: u32 = 0; line < lineCount; line++) {
    if ((load<u8>(lineStateAddr + line) & LINE_POISON) != 0) count++;
  }
  return count;
}

export function deviceLineState(line: u32): u32 {
  assert(line < lineCount, "device: the state of a line outside the device");
  return load<u8>(lineStateAddr + line) & (LINE_PENDING | LINE_POISON);
}
