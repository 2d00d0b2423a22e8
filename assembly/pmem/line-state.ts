// The state byte of every line (LINE_PENDING, LINE_DEFERRED; abi.ts): read and set here, below
// the store log (storelog.ts) and the deferred fresh runs (fresh-runs.ts), which both set them.
import { LINE_DEFERRED } from "../abi";
import { lineStateAddr } from "./state";

/** Is `line` in a deferred run? */
@inline export function lineDeferred(line: u32): bool {
  return (load<u8>(lineStateAddr + line) & LINE_DEFERRED) != 0;
}

// The state bytes of lines [first, first + count) set to (state & keep) | set, eight at a time.
export function updateLineStates(first: u32, count: u32, keep: u8, set: u8): void {
  let at = lineStateAddr + first;
  const end = at + count;
  const keep8 = <u64>keep * 0x0101010101010101, set8 = <u64>set * 0x0101010101010101;
  for (; at + 8 <= end; at += 8) store<u64>(at, (load<u64>(at) & keep8) | set8);
  for (; at < end; at++) store<u8>(at, (load<u8>(at) & keep) | set);
}
