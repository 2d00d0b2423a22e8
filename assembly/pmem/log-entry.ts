// One entry of the store log (ENTRY_BYTES): the bytes one store wrote into one line, in
// program order (storelog.ts appends and retires them, crash.ts builds images from them).
//
//    0         4          8          12         16              24        32
//    +---------+----------+----------+----------+---------------+---------+
//    | seq u32 | line u32 | next u32 | live u32 | mask      u64 | (spare) |
//    +---------+----------+----------+----------+---------------+---------+
//      ENTRY_SEQ ENTRY_LINE ENTRY_NEXT ENTRY_LIVE ENTRY_MASK
//
//    the log's data region, same index:  +-----------------------------+
//                                        | data: 64 bytes (ENTRY_DATA_BYTES)
//                                        +-----------------------------+
//
// seq: the global sequence number (wraps; compared by signed difference); next: (index + 1)
// of the next entry of the same line, 0 = none; live: ENTRY_HOLDS_DATA (the bytes are in
// the data slot), ENTRY_DATA_VISIBLE (the line's newest entry: its bytes are the visible
// line's) or ENTRY_DATA_IN_NEXT (a whole-line entry: its bytes are in the pre-image slot of
// its next entry) until written to media, 0 after; mask: the bytes of the line the store wrote
// (valid where it is set). The data slots live apart (log-slots.ts entryDataAddr): most
// entries never fill theirs. The offsets are the ABI's; logEntryLayoutAgrees checks the
// class against them.
import { ENTRY_SEQ, ENTRY_LINE, ENTRY_NEXT, ENTRY_LIVE, ENTRY_MASK, ENTRY_BYTES } from "../abi";

@unmanaged export class LogEntry {
  /** Global sequence number of the store. */
  seq: u32;
  /** Line index. */
  line: u32;
  /** (index + 1) of the line's next entry, 0 = none. */
  next: u32;
  /** ENTRY_HOLDS_DATA, ENTRY_DATA_VISIBLE or ENTRY_DATA_IN_NEXT until written back, 0 after. */
  live: u32;
  /** Byte mask of the store within the line. */
  mask: u64;
  /** Room to a power-of-two entry size. */
  spare: u64;
}

/** Does the class lay its fields out at the ABI's offsets (and fill ENTRY_BYTES)? */
export function logEntryLayoutAgrees(): bool {
  return offsetof<LogEntry>("seq") == ENTRY_SEQ && offsetof<LogEntry>("line") == ENTRY_LINE
    && offsetof<LogEntry>("next") == ENTRY_NEXT && offsetof<LogEntry>("live") == ENTRY_LIVE
    && offsetof<LogEntry>("mask") == ENTRY_MASK && offsetof<LogEntry>() == ENTRY_BYTES;
}
