// The entries of fresh lines: whole lines, none of them pending, each becoming its line's
// only entry with its bytes the visible line's. Written by a store (storelog.ts
// appendFreshLines) or later, when a deferred run is materialized (fresh-runs.ts).
import { ENTRY_BYTES, ENTRY_DATA_VISIBLE } from "../abi";
import { lineListAddr, logCapacity, lineCount } from "./state";
import { ringAt, ringSlot } from "./ring";
import { entryAddr, lineHeadIndex, lineTailIndex } from "./log-slots";
import { LogEntry } from "./log-entry";
import { CHECKS } from "../shared/checks";

// Entries seq.. at log indices index.. (one ring, no wrap) for whole lines line..: each the
// line's only entry, its bytes the visible line's. Two 16-byte stores per entry and one per
// two lines' lists, their fields counted up in lanes (a third of the per-line stores of field
// by field).
function writeFreshEntries(seq: u32, index: u32, line: u32, count: u32): void {
  assert((index & (logCapacity - 1)) + count <= logCapacity,
    "log append: fresh entries past the ring's end");
  if (CHECKS) for (let k: u32 = 0; k < count; k++) {
    assert(changetype<LogEntry>(entryAddr(index + k)).live == 0); // a live slot
  }
  // (seq, line, next = 0, live) and (mask: the whole line, spare).
  let head = i32x4(<i32>seq, <i32>line, 0, <i32>ENTRY_DATA_VISIBLE);
  const step = i32x4(1, 1, 0, 0);
  const whole = i64x2.splat(-1);
  let e = entryAddr(index);
  for (let k: u32 = 0; k < count; k++) {
    v128.store(e, head);
    v128.store(e, whole, 16);
    head = i32x4.add(head, step);
    e += ENTRY_BYTES;
  }
  // Lists: head and tail are (index + 1) for each line.
  let list = lineListAddr + (<usize>line << 3);
  let k: u32 = 0;
  if ((list & 15) != 0 && count > 0) {
    store<u64>(list, (<u64>(index + 1) | (<u64>(index + 1) << 32)));
    list += 8;
    k = 1;
  }
  let pair = i32x4(<i32>(index + k + 1), <i32>(index + k + 1),
    <i32>(index + k + 2), <i32>(index + k + 2));
  const two = i32x4.splat(2);
  for (; k + 2 <= count; k += 2) {
    v128.store(list, pair);
    pair = i32x4.add(pair, two);
    list += 16;
  }
  if (k < count) store<u64>(list, (<u64>(index + k + 1) | (<u64>(index + k + 1) << 32)));
  if (CHECKS) for (let j: u32 = 0; j < count; j++) {
    // a fresh line's list names another entry
    assert(lineHeadIndex(line + j) == index + j + 1 && lineTailIndex(line + j) == index + j + 1);
  }
}

// writeFreshEntries for entries seq.. at positions position.. of ring `t`, wherever their
// slots are: in at most two stretches of consecutive slots (the ring may wrap).
export function writeFreshEntriesAt(t: u32, position: u32, seq: u32, line: u32, count: u32): void {
  assert(count > 0 && count <= logCapacity && <u64>line + <u64>count <= <u64>lineCount,
    "log append: fresh entries outside the log or the device");
  const ring = ringAt(t);
  const slot = ringSlot(ring, position);
  const before = min<u32>(count, logCapacity - slot);
  writeFreshEntries(seq, t * logCapacity + slot, line, before);
  if (before < count) {
    writeFreshEntries(seq + before, t * logCapacity, line + before, count - before);
  }
}
