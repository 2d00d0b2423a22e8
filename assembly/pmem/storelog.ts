// The store log: every store to a line that is not yet on media, in program order.
// A ring of fixed-size entries, each linked into its line's list (oldest first).
// Invariants:
//  - entries of one line are in sequence order, and a line's list starts at its oldest
//    live entry, so media + a prefix of the list is always a legal line version;
//  - tail <= every live sequence number < head, and head - tail <= capacity.
// Entries retire (their bytes are written to media) from the front of their line only.
// Media is not a copy of the device: a line that is not pending has its media bytes in
// the visible line (every store to it is on media), and a pending line has them in the
// pre-image slot of its oldest live entry (same ring index as the entry), taken from the
// visible line when the line became pending. Retiring the newest entry of a line leaves
// its media in the visible line (nothing to copy); retiring an older one moves the
// pre-image to the next entry's slot with the retired bytes applied.
// Why: a second device-sized copy written at every retire (into memory the caches rarely
// hold) cost time on every write-back, and doubled the memory.
// A line's newest entry does not copy its bytes (ENTRY_DATA_VISIBLE): the line's visible
// bytes are its media with every live entry applied, so where the newest entry's mask is
// set they are its bytes. They are copied out only when a newer store to the line is about
// to change them: a store of part of the line into its data slot (ENTRY_HOLDS_DATA), a store
// of the whole line into the pre-image slot of the newer entry (ENTRY_DATA_IN_NEXT). That
// slot is read only once this entry is written back, and then it must hold the line's media,
// which is this entry's bytes: so writing it back copies nothing, and the copy at the newer
// store goes to the slot at the ring's head, next to the one the last store wrote.
// Why: a DAX writer re-storing pages of a small mapping copied each line's old bytes into the
// previous entry's data slot (anywhere in the ring, a cold line), then at its eviction from
// that slot into the next entry's pre-image slot (another): two cold lines written per line
// stored, most of that store's time. Every store to a device line goes through
// logAppend or logAppendRun, and a crash forgets the log before it rewrites visible
// bytes: the visible line never changes under a newest entry.
// When the ring is full the oldest entry is evicted to media, which a real cache may do
// at any moment: the bound changes what a crash can lose, never what it may keep.
import { copyLine, swapLine, swapLines } from "./line-copy";
import { stampOneLine, stampEpoch, stampLines } from "./stamps";
import {
  ENTRY_BYTES, LINE_PENDING, LINE_SHIFT, C_EVICTIONS, C_RETIRED, C_LOG_ENTRIES, ENTRY_HOLDS_DATA,
  ENTRY_DATA_VISIBLE, ENTRY_DATA_IN_NEXT, ENTRY_NEXT, LINE_DEFERRED,
} from "../abi";
import {
  logAddr, logCapacity, lineListAddr, chunkStampAddr, lineStateAddr, visibleAddr,
  counterAdd, lineCount,
} from "./state";
import {
  myRing, myRingIndex, ringAt, ringHead, ringTail, ringLive, setRingHead, setRingTail, addRingLive,
  ringOfIndex, ringIndex, ringSlot, ringRebase, ringChanged, addPending,
} from "./ring";
import { allocateSeq } from "./seq-order";
import { seqBefore } from "./seq-compare";
import { lockLines, unlockLines, holdLineStripe, releaseHeldStripe } from "./store-locks";
import { storesLockStripes } from "./store-mode";
import { LogEntry } from "./log-entry";
import { CHECKS } from "../shared/checks";
import {
  myFreshRuns, deferFreshRun, materializeFreshRunsIn, oldestDeferredPosition, evictFreshRunPrefix,
  evictedLines, evictedStamped,
} from "./fresh-runs";
import { lineDeferred, updateLineStates } from "./line-state";
import {
  entryAddr, entryDataAddr, lineHeadIndex, lineTailIndex, preimageSlotAddr,
} from "./log-slots";
import { writeFreshEntriesAt } from "./fresh-entries";

@inline function byteMask(offset: u32, count: u32): u64 {
  return count >= 64 ? u64.MAX_VALUE : ((<u64>1 << count) - 1) << offset;
}

// Which of the line's eight 8-byte words an entry touches (bit w = word w).
export function entryWordMask(entry: usize): u32 {
  const mask = changetype<LogEntry>(entry).mask;
  let words: u32 = 0;
  for (let w: u32 = 0; w < 8; w++) if (((mask >> (w << 3)) & 0xff) != 0) words |= 1 << w;
  return words;
}

// Where the entry's bytes are: in it, (the line's newest entry) in the visible line, or (a
// whole-line entry with a newer one) in the newer entry's pre-image slot.
@inline export function entryBytes(entry: usize): usize {
  const live = changetype<LogEntry>(entry).live;
  if (live == ENTRY_DATA_VISIBLE) {
    return visibleAddr + (<usize>changetype<LogEntry>(entry).line << LINE_SHIFT);
  }
  if (live == ENTRY_DATA_IN_NEXT) {
    // an entry whose bytes are in its next entry's slot, with no next entry
    if (CHECKS) assert(changetype<LogEntry>(entry).next != 0);
    return preimageSlotAddr(changetype<LogEntry>(entry).next - 1);
  }
  assert(live == ENTRY_HOLDS_DATA, "store log: the bytes of an entry that is not live");
  return entryDataAddr(entry);
}


// The line's newest entry `e` is about to stop being its newest, entry `index` (this store's)
// linked behind it: where it keeps its bytes, which the caller copies there from the visible
// line before the store changes them (its state says so from now on). A whole-line entry's
// go to the new entry's pre-image slot (storelog's header says why), others' to its data slot.
@inline function keptBytesSlot(e: usize, index: u32): usize {
  assert(changetype<LogEntry>(e).next == 0 && changetype<LogEntry>(e).live == ENTRY_DATA_VISIBLE,
    "store log: keeping the bytes of an entry that is not its line's newest");
  const whole = changetype<LogEntry>(e).mask == u64.MAX_VALUE;
  changetype<LogEntry>(e).live = whole ? ENTRY_DATA_IN_NEXT : ENTRY_HOLDS_DATA;
  return whole ? preimageSlotAddr(index) : entryDataAddr(e);
}

// Copy the entry's bytes into a 64-byte line at dst, only within the given words:
// a word is the unit that can tear, so a partial application selects whole words.
export function entryApply(dst: usize, entry: usize, wordFilter: u32): void {
  const mask = changetype<LogEntry>(entry).mask;
  const data = entryBytes(entry);
  if (mask == u64.MAX_VALUE && wordFilter == 0xff) {
    copyLine(dst, data);
    return;
  }
  for (let w: u32 = 0; w < 8; w++) {
    if (((wordFilter >> w) & 1) == 0) continue;
    const m = <u32>((mask >> (w << 3)) & 0xff);
    if (m == 0) continue;
    const at = <usize>(w << 3);
    if (m == 0xff) {
      store<u64>(dst + at, load<u64>(data + at));
    } else {
      for (let b: u32 = 0; b < 8; b++) {
        if ((m >> b) & 1) store<u8>(dst + at + b, load<u8>(data + at + b));
      }
    }
  }
}

// The log changed: a crash scan made before no longer describes it.
@inline function logChanged(): void {
  ringChanged(myRing());
}

// Entry `index` (of whichever ring) is no longer live.
@inline function entryRetired(e: usize, index: u32): void {
  changetype<LogEntry>(e).live = 0;
  addRingLive(ringAt(ringOfIndex(index)), -1);
}

// Entry `e` (log index `index`), the oldest live entry of `line`, is written to media and
// leaves the line's list: when a newer entry follows, the pre-image moves to its slot with
// this store on (a whole-line entry's bytes are there already: ENTRY_DATA_IN_NEXT); else
// the line's media is its visible bytes from now on and the line is no longer pending.
// The line is stamped `epoch`. The counts (its ring's live entries, the log's
// version, C_RETIRED) are the caller's: evictions take them once for a stretch of entries.
@inline function unlinkHead(e: usize, index: u32, line: u32, epoch: u32): void {
  const ll = lineListAddr + (<usize>line << 3);
  // not the line's oldest entry (the callers read its list head to find it)
  if (CHECKS) assert(load<u32>(ll) == index + 1 && changetype<LogEntry>(e).line == line);
  assert(changetype<LogEntry>(e).live != 0, "retire: entry not live");
  const next = changetype<LogEntry>(e).next, live = changetype<LogEntry>(e).live;
  // An older entry keeps its bytes (keptBytesSlot): a whole line's in the next pre-image slot.
  assert(next == 0 || live == (changetype<LogEntry>(e).mask == u64.MAX_VALUE
    ? ENTRY_DATA_IN_NEXT : ENTRY_HOLDS_DATA), "retire: an older entry without its bytes");
  if (next != 0) {
    if (live == ENTRY_HOLDS_DATA) {
      const pre = preimageSlotAddr(next - 1);
      copyLine(pre, preimageSlotAddr(index));
      entryApply(pre, e, 0xff);
    }
    store<u32>(ll, next);
  } else {
    store<u64>(ll, 0); // head and tail
    const st = lineStateAddr + line;
    assert((load<u8>(st) & LINE_PENDING) != 0, "retire: a line with an entry not pending");
    store<u8>(st, load<u8>(st) & ~LINE_PENDING);
    addPending(myRing(), -1);
  }
  stampOneLine(line, epoch);
  changetype<LogEntry>(e).live = 0;
}

// Write the oldest live entry of `line` to media and unlink it.
function retireLineHead(line: u32): void {
  assert(!lineDeferred(line), "retire: a line whose entries are deferred");
  const head = load<u32>(lineListAddr + (<usize>line << 3));
  assert(head != 0, "retire: line has no pending entry");
  unlinkHead(entryAddr(head - 1), head - 1, line, stampEpoch());
  logChanged();
  addRingLive(ringAt(ringOfIndex(head - 1)), -1);
  counterAdd(C_RETIRED, 1);
}

// Retire entries of `line` up to and including sequence number `upTo`.
export function retireLineUpTo(line: u32, upTo: u32): void {
  let head = lineHeadIndex(line);
  while (head != 0) {
    const seq = changetype<LogEntry>(entryAddr(head - 1)).seq;
    if (seqBefore(upTo, seq)) break;
    retireLineHead(line);
    head = lineHeadIndex(line);
  }
}

// Can `line` retire as part of a run (retireRun): its only live entry is a whole-line store
// that leaves its bytes in the visible line, covered by sequence number `upTo`?
function retiresWhole(line: u32, upTo: u32): bool {
  return wholeEntry(line, upTo) != 0;
}

// retiresWhole's entry (0: the line does not retire whole).
@inline function wholeEntry(line: u32, upTo: u32): usize {
  const list = load<u64>(lineListAddr + (<usize>line << 3)); // head, tail
  const head = <u32>list;
  if (head == 0 || head != <u32>(list >> 32)) return 0;
  const e = entryAddr(head - 1);
  return newestWholeLine(e) && !seqBefore(upTo, changetype<LogEntry>(e).seq) ? e : 0;
}

// Retire lines [first, first + count), each of which retiresWhole: what retireLineHead does
// to each, with one version change and each chunk stamped once.
export function retireRun(first: u32, count: u32): void {
  assert(count > 0, "retire: an empty run");
  // Each line's only entry leaves: its media is its visible bytes, nothing to copy.
  for (let line = first; line < first + count; line++) {
    const index = lineHeadIndex(line) - 1;
    const e = entryAddr(index);
    assert(changetype<LogEntry>(e).line == line && changetype<LogEntry>(e).next == 0,
      "retire: a run line with more than one entry");
    entryRetired(e, index);
  }
  retireTakenRun(first, count);
}

// The lines from `line` (before `end`) that retiresWhole, as many as follow each other:
// their entries are taken (live = 0) as they are checked, one pass over them, and the
// caller must retireTakenRun them. Runs of one line are not taken (0): retireLineUpTo
// costs it less.
export function takeWholeRun(line: u32, end: u32, upTo: u32): u32 {
  assert(line < end && end <= lineCount, "retire: a run outside the device");
  if (line + 1 >= end || !retiresWhole(line, upTo) || !retiresWhole(line + 1, upTo)) return 0;
  let at = line;
  while (at < end) {
    const e = wholeEntry(at, upTo);
    if (e == 0) break;
    entryRetired(e, <u32>((e - logAddr) / ENTRY_BYTES));
    at++;
  }
  assert(at - line >= 2, "retire: a taken run shorter than two lines");
  return at - line;
}

// After their entries were taken (live = 0): lines [first, first + count) leave the log,
// their lists, states and stamps a word at a time (they lie side by side).
export function retireTakenRun(first: u32, count: u32): void {
  assert(count > 0, "retire: an empty run");
  // a line of the run with a live entry or more than one
  if (CHECKS) for (let line = first; line < first + count; line++) {
    assert(lineHeadIndex(line) == lineTailIndex(line)
      && changetype<LogEntry>(entryAddr(lineHeadIndex(line) - 1)).live == 0);
  }
  memory.fill(lineListAddr + (<usize>first << 3), 0, <usize>count << 3); // heads and tails
  linesLeaveLog(first, count);
}

// Lines [first, first + count), whose lists are empty now, are no longer pending: their
// media is their visible bytes. States and stamps a word at a time; `alsoClear` (a state bit
// such as LINE_DEFERRED) goes in the same pass, and `stamp` false leaves the stamps as they
// are (the caller knows they are already the current epoch's).
@inline export function linesLeaveLog(
  first: u32, count: u32, alsoClear: u8 = 0, stamp: bool = true,
): void {
  assert(count > 0 && first + count <= lineCount, "retire: lines outside the device");
  updateLineStates(first, count, ~(LINE_PENDING | alsoClear), 0);
  if (stamp) stampLines(first, count, stampEpoch());
  addPending(myRing(), -<i32>count);
  logChanged();
  counterAdd(C_RETIRED, count);
}

export function retireLineAll(line: u32): void {
  while (lineHeadIndex(line) != 0) retireLineHead(line);
}

// Move this thread's ring's tail past entries that are no longer live. An empty ring starts
// over: the next entry takes slot 0, so the entries of a store after a fence are the ones the
// last store used, still in the CPU's cache (a ring walked end to end is megabytes of cold
// lines, one per entry). Safe because no slot is live and no line list names one.
export function advanceTail(): void {
  const ring = myRing(), t = myRingIndex();
  const head = ringHead(ring);
  let tail = ringTail(ring);
  // No slot live: the walk would end at the head; a fence that retired everything skips it.
  if (ringLive(ring) == 0) {
    // a live entry in a ring with none
    if (CHECKS) for (let p = tail; p != head; p++) {
      assert(changetype<LogEntry>(entryAddr(ringIndex(t, ring, p))).live == 0);
    }
    tail = head;
  }
  // Deferred runs' slots hold no entry yet (live 0): the tail stops at the oldest.
  const stop = myFreshRuns() > 0 ? oldestDeferredPosition(head) : head;
  while (tail != stop && changetype<LogEntry>(entryAddr(ringIndex(t, ring, tail))).live == 0) {
    tail++;
  }
  setRingTail(ring, tail);
  if (tail == head) {
    assert(ringLive(ring) == 0, "store log: an empty ring with live slots");
    ringRebase(ring);
  }
}

// Evict this thread's ring's oldest live entries, from the tail's on, until `need` ring slots
// are passed (live or not) or the next one may start a run that evictRunAt takes whole (its
// line's only, whole-line entry): each line written back up to its entry, older entries of
// other threads' rings first (a line's entries retire from its front only). The tail moves
// once at the end. Why a stretch: a DAX writer re-storing pages of a small mapping fills the
// ring with entries of lines that have newer ones, none a run, and moving the tail and trying
// a run after every one of them was a third of its store's cost; an entry that is its line's
// oldest (with one thread, every one) leaves inline, counted once for the stretch. The tail's
// entry is never a deferred run's (logMakeRoom evicts those), nor are the ones after it up to
// the oldest row.
@inline function evictOldest(need: u32): void {
  assert(need > 0, "evict: nothing to evict");
  const ring = myRing(), t = myRingIndex();
  const head = ringHead(ring);
  const stop = myFreshRuns() > 0 ? oldestDeferredPosition(head) : head;
  assert(stop != ringTail(ring), "evict: the tail at a deferred run (logMakeRoom's to evict)");
  let tail = ringTail(ring);
  let evicted: u32 = 0, own: u32 = 0;
  const epoch = stampEpoch();
  for (let passed: u32 = 0; passed < need && tail != stop; passed++, tail++) {
    const index = ringIndex(t, ring, tail);
    const e = entryAddr(index);
    if (changetype<LogEntry>(e).live == 0) continue; // written back since (another thread's)
    // (the first is the tail's, which the caller did not take as a run)
    if (passed > 0 && need - passed >= 2 && mayStartRun(e)) break;
    const retired = evictEntry(e, index, changetype<LogEntry>(e).line, epoch);
    if (retired < 0) own++; else evicted += <u32>retired;
  }
  evictedUpTo(ring, t, tail, own, evicted);
}

// evictOldest(1): the tail's entry alone (a one-line store's room), without the stretch's
// loop, which cost a 64-byte store 7% of its time.
@inline function evictTail(): void {
  const ring = myRing(), t = myRingIndex();
  const tail = ringTail(ring);
  const index = ringIndex(t, ring, tail);
  const e = entryAddr(index);
  // Live when advanceTail stopped at it; with several threads, maybe written back since.
  assert(changetype<LogEntry>(e).live != 0 || storesLockStripes(), "evict: tail not live");
  // a deferred run's first slot (logMakeRoom evicts those)
  if (CHECKS) assert(myFreshRuns() == 0 || oldestDeferredPosition(ringHead(ring)) != tail);
  const retired = evictEntry(e, index, changetype<LogEntry>(e).line, stampEpoch());
  evictedUpTo(ring, t, tail + 1, retired < 0 ? 1 : 0, retired < 0 ? 0 : <u32>retired);
}

// Evict entry `e` (log index `index`, this thread's ring) of `line`: its line written back up
// to it, older entries of other threads' rings first. -1 when it was its line's oldest and
// left inline (unlinkHead: the caller counts it); else how many entries retireLineHead took
// (and counted), 0 when another thread had written it back since. Its line's stripe stays
// held: the caller lets go when it is done evicting (releaseHeldStripe).
@inline function evictEntry(e: usize, index: u32, line: u32, epoch: u32): i32 {
  // an entry of another thread's ring, or of no line
  if (CHECKS) assert(ringOfIndex(index) == myRingIndex() && line < lineCount);
  holdLineStripe(line);
  if (changetype<LogEntry>(e).live != 0
      && load<u32>(lineListAddr + (<usize>line << 3)) == index + 1) {
    unlinkHead(e, index, line, epoch);
    return -1;
  }
  let retired: i32 = 0;
  while (changetype<LogEntry>(e).live != 0) { retireLineHead(line); retired++; }
  return retired;
}

// After evictions up to ring position `tail`: the `own` entries that left inline counted (and
// `others`, which retireLineHead counted, as evictions), the tail moved there and on past
// entries no longer live.
@inline function evictedUpTo(ring: usize, t: u32, tail: u32, own: u32, others: u32): void {
  assert(own + others > 0 || storesLockStripes(), "evict: nothing evicted");
  assert(<i32>(ringHead(ring) - tail) >= 0, "evict: the tail moved past the head");
  if (own > 0) {
    addRingLive(ring, -<i32>own);
    logChanged();
    counterAdd(C_RETIRED, own);
  }
  counterAdd(C_EVICTIONS, own + others);
  setRingTail(ring, tail);
  if (!tailSettled(ring, t)) advanceTail();
}

// Could entry `e` be the first of a run evictRunAt evicts whole: its line's newest entry, a
// whole-line store whose bytes are the visible line's (retiresWhole without the list)?
@inline function mayStartRun(e: usize): bool {
  assert(changetype<LogEntry>(e).live != 0, "evict: a run looked for at an entry written back");
  return newestWholeLine(e);
}

// Is entry `e` live, its line's newest, and a store of the whole line (its bytes the visible
// line's)? next and live in one load: an entry written back reads live 0.
@inline function newestWholeLine(e: usize): bool {
  // not an entry of the log
  if (CHECKS) assert(e >= logAddr && (e - logAddr) % ENTRY_BYTES == 0);
  return load<u64>(e + ENTRY_NEXT) == (<u64>ENTRY_DATA_VISIBLE << 32)
    && changetype<LogEntry>(e).mask == u64.MAX_VALUE;
}

// Write the entry of sequence number `seq` at log index `index` (this thread's ring): a store
// of bytes [offset, offset+count) of `line` whose bytes the caller is about to put in the
// visible line, linked as the line's newest (the previous newest keeps its bytes first).
// Stamps the line and its chunk with `epoch`. True when the line was not
// pending before (the caller counts it). The callers read the ring's header and the epoch
// once per store, not once per line.
@inline function writeEntry(
  seq: u32, index: u32, line: u32, offset: u32, count: u32, epoch: u32,
): bool {
  assert(offset + count <= 64 && count > 0, "log append: range outside line");
  // an entry written into another thread's ring
  if (CHECKS) assert(ringOfIndex(index) == myRingIndex());
  // an entry linked behind deferred ones (materializeFreshRuns first)
  if (CHECKS) assert(!lineDeferred(line));
  const e = entryAddr(index);
  assert(changetype<LogEntry>(e).live == 0, "log append: slot still live");
  store<u64>(e, <u64>seq | (<u64>line << 32)); // seq, line
  store<u64>(e, <u64>ENTRY_DATA_VISIBLE << 32, 8); // next = 0, live
  changetype<LogEntry>(e).mask = byteMask(offset, count);
  // Every store stamps its lines, not only the one that makes a line pending: the verified
  // data sectors of fs/inode.ts rely on it.
  stampOneLine(line, epoch);
  const ll = lineListAddr + (<usize>line << 3);
  const tailIndex = load<u32>(ll, 4);
  if (tailIndex != 0) {
    copyLine(keptBytesSlot(entryAddr(tailIndex - 1), index),
      visibleAddr + (<usize>line << LINE_SHIFT));
    changetype<LogEntry>(entryAddr(tailIndex - 1)).next = index + 1;
    store<u32>(ll, index + 1, 4);
    return false;
  }
  store<u64>(ll, <u64>(index + 1) | (<u64>(index + 1) << 32)); // head and tail
  // its media, before the store
  copyLine(preimageSlotAddr(index), visibleAddr + (<usize>line << LINE_SHIFT));
  const st = lineStateAddr + line;
  store<u8>(st, load<u8>(st) | LINE_PENDING);
  return true;
}

// Is this thread's ring full (its tail not moved past entries already retired)?
@inline export function logFull(): bool {
  const ring = myRing();
  return ringHead(ring) - ringTail(ring) >= logCapacity;
}

// Would advanceTail leave this thread's ring's tail where it is: the entry there live, or the
// oldest deferred run starting there (its slots are not live, and the tail stops at it)? The
// common case of a full ring, which a store checked before each eviction: a call and a tenth
// of a 64-byte store, a few percent of a 4 KiB one.
@inline function tailSettled(ring: usize, t: u32): bool {
  assert(ring == myRing(), "store log: another thread's tail");
  const tail = ringTail(ring), head = ringHead(ring);
  if (tail == head) return false; // (an empty ring starts over: advanceTail)
  // The row first: a deferred run's slots are never written, so its entry is a cold line.
  if (myFreshRuns() > 0 && oldestDeferredPosition(head) == tail) return true;
  return changetype<LogEntry>(entryAddr(ringIndex(t, ring, tail))).live != 0;
}

// Room for a run of `lines` entries in this thread's ring: the tail moved past retired
// entries once the ring is half full, then, if that is not room enough, the oldest evicted
// (logMakeRoom, which need not move the tail again: advanceTail is idempotent).
@inline export function logEnsureRoom(lines: u32): void {
  const ring = myRing();
  let advanced = false;
  if (ringHead(ring) - ringTail(ring) >= logCapacity >> 1) {
    if (!tailSettled(ring, myRingIndex())) advanceTail();
    advanced = true;
  }
  const used = ringHead(ring) - ringTail(ring);
  assert(used <= logCapacity, "log overfull");
  if (logCapacity - used < lines) logMakeRoom(lines, advanced);
}


// Evict this thread's oldest live entries until `entries` more fit in its ring: what
// appending them one at a time would evict (each append evicts only when the ring is full),
// done before them. The oldest entries of a deferred run leave without being written;
// oldest entries that are their lines' only, whole-line entries of lines that follow each
// other (an older multi-line store nothing has touched since) are evicted as one run.
@inline export function logMakeRoom(entries: u32, tailAdvanced: bool = false): void {
  assert(entries <= logCapacity, "store log: a run longer than the log");
  const ring = myRing(), t = myRingIndex();
  if (!tailAdvanced && !tailSettled(ring, t)) advanceTail();
  while (true) {
    const head = ringHead(ring), tail = ringTail(ring);
    const room = logCapacity - (head - tail);
    if (room >= entries) { releaseHeldStripe(); return; }
    const need = entries - room;
    if (myFreshRuns() > 0 && oldestDeferredPosition(head) == tail) {
      const first = evictFreshRunPrefix(need, stampEpoch());
      const lines = evictedLines;
      linesLeaveLog(first, lines, LINE_DEFERRED, !evictedStamped);
      counterAdd(C_EVICTIONS, lines);
      // Their slots never held an entry (live 0): the tail steps over them unread.
      setRingTail(ring, tail + lines);
      if (!tailSettled(ring, t)) advanceTail(); // (the row's rest, or the next row, is there)
      continue;
    }
    // (a run is two or more; it locks its lines: the held stripe goes first)
    if (need >= 2) { releaseHeldStripe(); if (evictRunAt(ring, t, tail, head, need)) continue; }
    if (need == 1) evictTail(); else evictOldest(need);
  }
}

// The oldest entries of this thread's ring, from `tail` on, when at least two of them are
// their lines' only, whole-line entries of lines that follow each other (an older multi-line
// store nothing has touched since): evicted as one run (at most `need`). Their lines are
// locked first (several threads: another may be storing to them). False when there is no
// such run (the caller evicts the oldest entry alone).
function evictRunAt(ring: usize, t: u32, tail: u32, head: u32, need: u32): bool {
  const first = entryAddr(ringIndex(t, ring, tail));
  // Not its line's newest, whole-line entry: no run, and no lock taken to learn it (a DAX
  // writer re-storing pages has such a tail at every store: two locked instructions each).
  // Read unlocked, an entry that is not newest stays so (next is never cleared while it is
  // live), and one written back since reads live 0: neither starts a run.
  if (!newestWholeLine(first)) return false;
  const line = changetype<LogEntry>(first).line;
  const span = min<u32>(need, lineCount - line);
  if (span < 2) return false;
  lockLines(line, span);
  let run: u32 = 0;
  while (run < span && tail + run != head) {
    const e = entryAddr(ringIndex(t, ring, tail + run));
    if (changetype<LogEntry>(e).live == 0 || changetype<LogEntry>(e).line != line + run) break;
    if (!retiresWhole(line + run, changetype<LogEntry>(e).seq)) break;
    run++;
  }
  if (run >= 2) {
    retireRun(line, run); // each is the oldest live entry when its turn comes
    counterAdd(C_EVICTIONS, run);
  }
  unlockLines(line, span);
  if (run < 2) return false;
  advanceTail();
  return true;
}


// Has any line of [first, first + count) state bit `bit` (LINE_PENDING, LINE_DEFERRED) set,
// or, with `set` false, clear? Eight state bytes at a time.
@inline function anyLine(first: u32, count: u32, bit: u8, set: bool = true): bool {
  assert(<u64>first + <u64>count <= <u64>lineCount, "store log: line states outside the device");
  let at = lineStateAddr + first;
  const end = at + count;
  const bit8 = <u64>bit * 0x0101010101010101, none8: u64 = set ? 0 : bit8;
  for (; at + 8 <= end; at += 8) if ((load<u64>(at) & bit8) != none8) return true;
  const none: u8 = set ? 0 : bit;
  for (; at < end; at++) if ((load<u8>(at) & bit) != none) return true;
  return false;
}

// Make the host map [at, at + bytes) for writing before the pre-images are read from it. A
// line's first store reads its old bytes, then writes new ones: on a page the host has not
// touched yet, the read maps a shared zero page and the write faults a second time (copy on
// write), which slowed a fault that fills a fresh block (a hole, a COW copy) against a
// media copy written at write-back. A compare-exchange of 0 with 0 per 4 KiB host
// page is a write access from the start (x86 lock cmpxchg writes even when it does not
// swap; an atomic or, lowered to a load and a cmpxchg loop, reads first and did not help):
// one fault, and a few nanoseconds on a page already mapped. It changes no byte.
@inline function touchForWrite(at: usize, bytes: usize): void {
  for (let a = at; a < at + bytes; a = (a & ~(<usize>4095)) + 4096) {
    // A chunk (4 KiB) stamped before was stored to, so the host maps it for writing already:
    // a locked instruction on it would only cost (it waits for every store before it).
    if (load<u32>(chunkStampAddr + (((a - visibleAddr) >> 12) << 2)) != 0) continue;
    atomic.cmpxchg<u32>(a & ~(<usize>3), 0, 0);
  }
}


// The pre-images of fresh lines (their visible bytes) into consecutive slots at `saved`;
// with a source (not 0), the store's new bytes into the visible lines in the same pass.
@inline function saveFreshLines(saved: usize, visible: usize, src: usize, bytes: usize): void {
  if (src != 0) swapLines(saved, visible, src, bytes);
  else memory.copy(saved, visible, bytes);
}

// What writeEntry does to each of `count` whole lines from `line`, none of them pending:
// entry seq + k at position (position + k) of this thread's ring becomes the line's only
// entry (its bytes the visible line's), the line is stamped and marked pending. No list to
// link into, so no branch per line: a block stored whole costs a few stores per line.
@inline function appendFreshLines(
  seq: u32, position: u32, line: u32, count: u32, epoch: u32, src: usize,
): void {
  assert(count > 0 && line + count <= lineCount, "log append: fresh lines outside the device");
  const ring = myRing(), t = myRingIndex();
  // Their media, before the store: consecutive lines into consecutive slots, in at most two
  // copies (the ring may wrap).
  const start = ringSlot(ring, position);
  touchForWrite(visibleAddr + (<usize>line << LINE_SHIFT), <usize>count << LINE_SHIFT);
  const before = min<u32>(count, logCapacity - start);
  const visible = visibleAddr + (<usize>line << LINE_SHIFT);
  saveFreshLines(preimageSlotAddr(t * logCapacity + start), visible, src,
    <usize>before << LINE_SHIFT);
  if (before < count) {
    const at = <usize>before << LINE_SHIFT;
    saveFreshLines(preimageSlotAddr(t * logCapacity), visible + at, src != 0 ? src + at : 0,
      <usize>(count - before) << LINE_SHIFT);
  }
  // The entries and lists, in at most two stretches of consecutive slots (the ring may wrap),
  // or a deferred run (fresh-runs.ts) that writes them when someone reads the log.
  const deferred = deferFreshRun(line, count, seq, epoch, position);
  if (!deferred) writeFreshEntriesAt(t, position, seq, line, count);
  updateLineStates(line, count, 0xff, deferred ? LINE_PENDING | LINE_DEFERRED : LINE_PENDING);
  stampLines(line, count, epoch);
  // the last line's list names another entry
  if (CHECKS && !deferred) {
    assert(lineHeadIndex(line + count - 1) == ringIndex(t, ring, position + count - 1) + 1);
  }
}

// What writeEntry does to each of `count` whole lines from `line`, every one of them pending
// and none deferred, for a store whose new bytes are at `src` (not the visible lines): entry
// seq + k at position (position + k) of this thread's ring becomes the line's newest, and the
// previous newest keeps the line's old bytes (keptBytesSlot) as the new ones come in, one
// pass per line (swapLine); the lines are stamped once. Why: a DAX writer re-storing pages of
// a small mapping stores to lines still pending, and writeEntry's branches, its stamp per line
// and a second pass over the visible bytes (finishStore) were half its store's cost.
@inline function appendPendingLines(
  seq: u32, position: u32, line: u32, count: u32, epoch: u32, src: usize,
): void {
  assert(count > 0 && line + count <= lineCount, "log append: pending lines outside the device");
  const ring = myRing(), t = myRingIndex();
  for (let k: u32 = 0; k < count; k++) {
    const index = ringIndex(t, ring, position + k);
    const e = entryAddr(index);
    assert(changetype<LogEntry>(e).live == 0, "log append: slot still live");
    store<u64>(e, <u64>(seq + k) | (<u64>(line + k) << 32)); // seq, line
    store<u64>(e, <u64>ENTRY_DATA_VISIBLE << 32, 8); // next = 0, live
    changetype<LogEntry>(e).mask = u64.MAX_VALUE;
    const ll = lineListAddr + (<usize>(line + k) << 3);
    const newest = load<u32>(ll, 4);
    assert(newest != 0, "log append: a pending line with no entry");
    const before = entryAddr(newest - 1);
    // the previous newest keeps its bytes and the new ones come in, in one pass
    swapLine(keptBytesSlot(before, index), visibleAddr + (<usize>(line + k) << LINE_SHIFT),
      src + (<usize>k << LINE_SHIFT));
    changetype<LogEntry>(before).next = index + 1;
    store<u32>(ll, index + 1, 4);
  }
  stampLines(line, count, epoch);
}

// The steps of a store (room, the run's append, its fresh lines, the evictions of deferred
// runs) are @inline: the store path is then one function, with no call and no spill between
// its steps (each call spilled the registers and reloaded the ring's header and globals).

// Whether the last logAppendRun wrote the store's bytes itself (the caller must not copy them).
export let runStored: bool = false;

// One store of bytes [addr, addr + len), as logAppend would log it line by line, when this
// thread's ring has room for every line (no eviction in between: the caller checked
// logEnsureRoom): the header, the version and the counter change once. Returns the sequence
// number of its last entry.
@inline export function logAppendRun(addr: u32, len: u32, src: usize = 0): u32 {
  assert(len > 0, "log append: empty store");
  const ring = myRing(), t = myRingIndex();
  const firstLine = addr >> LINE_SHIFT;
  const lines = ((addr + len - 1) >> LINE_SHIFT) - firstLine + 1;
  // A store to a deferred line links behind its entry: written first. (A deferred line is
  // pending: a run with no line pending, the common case, is read once.)
  const nonePending = !anyLine(firstLine, lines, LINE_PENDING);
  const deferred = !nonePending && anyLine(firstLine, lines, LINE_DEFERRED);
  if (deferred) materializeFreshRunsIn(firstLine, lines);
  const position = ringHead(ring);
  assert(position - ringTail(ring) + lines <= logCapacity, "log append: no room for the run");
  const first = allocateSeq(firstLine, lines);
  const epoch = stampEpoch();
  let newlyPending: u32 = 0;
  // The whole lines [wholeFrom, wholeTo) of the run: when none of them is pending (a block
  // written once per flush, the common case), they take the fresh-line path.
  const wholeFrom: u32 = (addr & 63) == 0 ? 0 : 1;
  const wholeTo: u32 = ((addr + len) & 63) == 0 ? lines : lines - 1;
  const fresh = wholeTo > wholeFrom
    && (nonePending || !anyLine(firstLine + wholeFrom, wholeTo - wholeFrom, LINE_PENDING));
  // A store of whole lines, all fresh or all pending, from a source that is not its own lines:
  // the run writes the new bytes as it saves the old (swapLines, swapLine), and the caller
  // has nothing left to copy.
  const visible = visibleAddr + addr;
  const outOfPlace = src != 0 && (src + len <= visible || visible + len <= src);
  const wholeRun = wholeFrom == 0 && wholeTo == lines;
  runStored = outOfPlace && wholeRun && (fresh || !anyLine(firstLine, lines, LINE_PENDING, false));
  const pendingRun = runStored && !fresh; // every line pending: a page stored again
  if (pendingRun) appendPendingLines(first, position, firstLine, lines, epoch, src);
  for (let k: u32 = pendingRun ? lines : 0; k < lines; k++) {
    if (fresh && k == wholeFrom) {
      appendFreshLines(first + k, position + k, firstLine + k, wholeTo - wholeFrom, epoch,
        runStored ? src : 0);
      newlyPending += wholeTo - wholeFrom;
      k = wholeTo - 1;
      continue;
    }
    const lo = k == 0 ? addr & 63 : 0;
    const hi = k == lines - 1 ? ((addr + len - 1) & 63) + 1 : 64;
    if (writeEntry(first + k, ringIndex(t, ring, position + k), firstLine + k, lo, hi - lo,
        epoch)) {
      newlyPending++;
    }
  }
  setRingHead(ring, position + lines);
  addRingLive(ring, <i32>lines);
  addPending(ring, <i32>newlyPending);
  logChanged();
  counterAdd(C_LOG_ENTRIES, lines);
  return first + lines - 1;
}

// Append a store of bytes [offset, offset+count) of `line` as the newest entry, before the
// caller stores them into the visible line (where the entry finds them). Returns the
// entry's sequence number.
@inline export function logAppend(line: u32, offset: u32, count: u32): u32 {
  const ring = myRing();
  if (lineDeferred(line)) materializeFreshRunsIn(line, 1); // it links behind the line's entry
  assert(ringHead(ring) - ringTail(ring) < logCapacity, "log append: no room for the entry");
  const seq = allocateSeq(line, 1);
  const position = ringHead(ring);
  const epoch = stampEpoch();
  if (writeEntry(seq, ringIndex(myRingIndex(), ring, position), line, offset, count, epoch)) {
    addPending(ring, 1);
  }
  setRingHead(ring, position + 1);
  addRingLive(ring, 1);
  logChanged();
  counterAdd(C_LOG_ENTRIES, 1);
  return seq;
}
