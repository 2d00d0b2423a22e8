// Exports of the device for crash exploration (the patch and media fingerprints, line
// tables, media lines) and the line change stamps; index.ts re-exports them. Like every
// export of the core, each validates its arguments and returns a negative errno (or 0)
// instead of trapping.
import {
  EINVAL, E2BIG, LINE_PENDING, PATCH_BYTES, PATCH_DATA, PATCH_LINE, LINE_SHIFT as PMEM_LINE_SHIFT,
  LINE_RULE_BYTES, LINE_RULE_LINE, LINE_RULE_ALTERNATIVES, LINE_RULE_ALTERNATIVES_ADDR,
  LINE_RULE_MAX_ALTERNATIVES, STAMP_RUNS_CAPACITY,
} from "../abi";
import * as S from "./state";
import { deviceReadMedia, deviceLineState } from "./device";
import { mediaLineAddr } from "./log-slots";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";
import { crc32cUpdate } from "../csum/crc32c";
import { stampRange, stampsAdvance, stampRuns } from "./stamps";
import { mediaFingerprint } from "./media-fingerprint";
import { lineTableMarkMedia, lineTableCheck } from "./linecheck";
import {
  lock, unlock, attached, deviceRangeValid, bufferValid, destinationValid, holdsLock,
} from "./export-checks";

// --- crash exploration helpers -----------------------------------------------------

// Compose [addr, addr+len) of the image last built by pmem_crash_build: media bytes with
// the patch lines laid over them. For deciding which superblock an image would mount.
export function pmem_patch_compose(slots: u32, addr: u32, len: u32, dst: u32): i32 {
  if (!attached() || slots > S.logCapacity || !deviceRangeValid(addr, len)
      || !destinationValid(dst, len)) {
    return -EINVAL;
  }
  deviceReadMedia(dst, addr, len);
  const end = addr + len;
  for (let s: u32 = 0; s < slots; s++) {
    const p = S.patchAddr + <usize>s * PATCH_BYTES;
    const lineStart = load<u32>(p + PATCH_LINE) << PMEM_LINE_SHIFT;
    if (lineStart + 64 <= addr || lineStart >= end) continue;
    const from = max<u32>(lineStart, addr);
    const to = min<u32>(lineStart + 64, end);
    memory.copy(dst + (from - addr), p + PATCH_DATA + (from - lineStart), to - from);
  }
  return 0;
}

// crc32c over the patch lines whose bit is set in `bitmap` (one bit per device line; 0 =
// every line): two images with equal fingerprints agree on every line that matters.
export function pmem_patch_fingerprint(slots: u32, bitmap: u32): u32 {
  if (!attached() || slots > S.logCapacity) return 0;
  let crc: u32 = 0xffffffff;
  for (let s: u32 = 0; s < slots; s++) {
    const p = S.patchAddr + <usize>s * PATCH_BYTES;
    const line = load<u32>(p + PATCH_LINE);
    if (bitmap != 0 && ((load<u8>(bitmap + (line >> 3)) >> (line & 7)) & 1) == 0) continue;
    crc = crc32cUpdate(crc, p, PATCH_BYTES);
  }
  return crc ^ 0xffffffff;
}


// A line table (assembly/pmem/linecheck.ts) is valid when it and every alternative block
// it points to lie in a thread area or the upper layers' region, and its lines exist.
function lineTableValid(table: u32, entries: u32): bool {
  if (!destinationValid(table, entries * LINE_RULE_BYTES)) return false;
  for (let i: u32 = 0; i < entries; i++) {
    const e = <usize>table + <usize>i * LINE_RULE_BYTES;
    if (load<u32>(e + LINE_RULE_LINE) >= S.lineCount) return false;
    // sorted, distinct
    if (i > 0 && load<u32>(e - LINE_RULE_BYTES + LINE_RULE_LINE) >= load<u32>(e + LINE_RULE_LINE)) {
      return false;
    }
    const count = load<u32>(e + LINE_RULE_ALTERNATIVES);
    if (count > LINE_RULE_MAX_ALTERNATIVES
        || !destinationValid(load<u32>(e + LINE_RULE_ALTERNATIVES_ADDR),
          count << PMEM_LINE_SHIFT)) {
      return false;
    }
  }
  return true;
}

// Flag the table's lines whose media content is not allowed; returns their count.
export function pmem_line_table_prepare(table: u32, entries: u32): i32 {
  if (!attached() || entries > (1 << 24) || !lineTableValid(table, entries)) return -EINVAL;
  return <i32>lineTableMarkMedia(table, entries);
}

// 1 when the image last built by pmem_crash_build (`slots` patch lines) satisfies the
// prepared table, 0 when some line of it holds a value the table does not allow.
export function pmem_line_table_check(
  slots: u32, table: u32, entries: u32, mediaFailing: u32,
): i32 {
  if (!attached() || slots > S.logCapacity || entries > (1 << 24)
      || !destinationValid(table, entries * LINE_RULE_BYTES)) {
    return -EINVAL;
  }
  return lineTableCheck(slots, table, entries, mediaFailing);
}

// crc32c over the media lines whose bit is set in `bitmap` (each with its line number):
// with pmem_patch_fingerprint of the same bitmap, it identifies an image's content on
// those lines across crash points (the media changes between points, the patch per image).
export function pmem_media_fingerprint(bitmap: u32): u32 {
  if (!attached() || !bufferValid(bitmap, (S.lineCount + 7) >> 3)) return 0;
  lock();
  const fingerprint = mediaFingerprint(bitmap);
  unlock();
  return fingerprint;
}

// The first pending line in [fromLine, endLine), or -1: with pmem_media_line, how a reader
// composes media bytes outside the core (the visible bytes, pending lines' media over
// them) without a call per line.
export function pmem_next_pending(fromLine: u32, endLine: u32): i32 {
  if (!attached() || endLine > S.lineCount) return -EINVAL;
  for (let line = fromLine; line < endLine; line++) {
    if ((deviceLineState(line) & LINE_PENDING) != 0) return <i32>line;
  }
  return -1;
}

// The address of the 64 media bytes of `line` (a pending line's pre-image, else its visible
// bytes); valid until the next store, flush or fence.
export function pmem_media_line(line: u32): i32 {
  if (!attached() || line >= S.lineCount) return -EINVAL;
  if (freshRunsDeferred() > 0) {
    // Its pre-image slot is found through its entry: the deferred ones are written first.
    const held = holdsLock();
    if (!held) lock();
    materializeFreshRuns();
    if (!held) unlock();
  }
  return <i32>mediaLineAddr(line);
}

// Lines of [addr, addr+len) with stores not yet on media (their visible bytes may differ).
export function pmem_pending_lines(addr: u32, len: u32): i32 {
  if (!attached() || !deviceRangeValid(addr, len)) return -EINVAL;
  let pending: i32 = 0;
  const end = (<u64>addr + <u64>len + 63) >> PMEM_LINE_SHIFT;
  lock();
  for (let line = addr >> PMEM_LINE_SHIFT; <u64>line < end; line++) {
    if ((deviceLineState(line) & LINE_PENDING) != 0) pending++;
  }
  unlock();
  return pending;
}

// --- line change stamps (assembly/pmem/stamps.ts) -----------------------------------


// The current stamp epoch; the next one starts (lines changed from now on are newer).
export function pmem_stamps_advance(): i32 {
  if (!attached()) return -EINVAL;
  const held = holdsLock();
  if (!held) lock();
  const epoch = stampsAdvance();
  if (!held) unlock();
  return <i32>epoch;
}

// Runs (first line u32, count u32) of lines changed after epoch `since`, written to the
// runs region (pmem_region 15); -E2BIG when more than STAMP_RUNS_CAPACITY runs.
export function pmem_stamp_runs(since: u32): i32 {
  if (!attached()) return -EINVAL;
  const held = holdsLock();
  if (!held) lock();
  const runs = stampRuns(since, S.runsAddr, STAMP_RUNS_CAPACITY);
  if (!held) unlock();
  return runs < 0 ? -E2BIG : runs;
}

// The caller wrote visible or media bytes of [addr, addr+len) directly (not through a
// store): stamp the lines so that change trackers see it.
export function pmem_mark_changed(addr: u32, len: u32): i32 {
  if (!attached() || !deviceRangeValid(addr, len)) return -EINVAL;
  if (len == 0) return 0;
  lock();
  stampRange(addr >> PMEM_LINE_SHIFT, (addr + len + 63) >> PMEM_LINE_SHIFT);
  unlock();
  return 0;
}
