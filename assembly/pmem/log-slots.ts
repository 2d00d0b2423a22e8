// Where the store log's pieces are (storelog.ts describes the log): entry `index` of the
// ring slots, its data slot, its pre-image slot, and each line's list of entries (head and
// tail index + 1, 0 = none); so where a line's media bytes are.
import { ENTRY_BYTES, ENTRY_DATA_BYTES, LINE_SHIFT } from "../abi";
import { logAddr, logDataAddr, lineListAddr, preimageAddr, visibleAddr } from "./state";
import { lineDeferred } from "./line-state";
import { CHECKS } from "../shared/checks";

@inline export function entryAddr(index: u32): usize {
  return logAddr + <usize>index * ENTRY_BYTES;
}

// The entry's data slot: the same index in the log's data region. Kept apart from the
// entries because most entries never use it (ENTRY_DATA_VISIBLE), and 32-byte entries
// walk a third of the cache lines 96-byte ones with their data inline did.
@inline export function entryDataAddr(entry: usize): usize {
  return logDataAddr + (entry - logAddr) * (ENTRY_DATA_BYTES / ENTRY_BYTES);
}

@inline export function lineHeadIndex(line: u32): u32 {
  // the list of a line whose entries are deferred (materializeFreshRuns first)
  if (CHECKS) assert(!lineDeferred(line));
  return load<u32>(lineListAddr + (<usize>line << 3)); // index + 1, 0 = none
}

@inline export function lineTailIndex(line: u32): u32 {
  // the list of a line whose entries are deferred (materializeFreshRuns first)
  if (CHECKS) assert(!lineDeferred(line));
  return load<u32>(lineListAddr + (<usize>line << 3), 4);
}

// The pre-image slot of ring slot `index`: a pending line's media bytes, in the slot of
// its oldest live entry.
@inline export function preimageSlotAddr(index: u32): usize {
  return preimageAddr + (<usize>index << LINE_SHIFT);
}

// Where the media bytes of `line` are: its pre-image while pending, else the visible line.
@inline export function mediaLineAddr(line: u32): usize {
  const head = lineHeadIndex(line);
  return head != 0 ? preimageSlotAddr(head - 1) : visibleAddr + (<usize>line << LINE_SHIFT);
}
