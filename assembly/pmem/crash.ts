// Crash images. The pending state is media plus the store log; a legal post-crash image
// chooses, for every line independently (ADR), a prefix of that line's logged stores
// and may tear the first store it leaves out at 8-byte words; under eADR the caches are
// persistent, so the one choice is a prefix of *all* stores (a crash instant) with the
// interrupted store torn at words.
//
// crashScan lists the pending lines (the crash table) and counts the images;
// crashBuild writes the chosen image as a patch: (line, 64 bytes) for each line that
// differs from media. The patch is applied to a fresh device by crashApplyPatch.
import { copyLine } from "./line-copy";
import {
  CRASH_ROW_BYTES, PATCH_BYTES, PATCH_DATA, H_CRASH_TOTAL, H_CRASH_ROWS, H_EADR_NEXT_SEQ,
  LINE_SHIFT, H_SCAN_VERSION, LINE_PENDING, DOMAIN_EADR, CRASH_STRICT, CRASH_RANDOM,
  CRASH_ENUMERATE, CRASH_ROW_VERSIONS,
} from "../abi";
import {
  headerAddr, crashTableAddr, patchAddr, visibleAddr, lineStateAddr, lineListAddr, lineCount,
  domain, threadsAddr, threadStride, maxThreads, patchRows,
} from "./state";
import { logVersion, linesPendingTotal, ringsReset } from "./ring";
import { walkStart, walkNext } from "./log-walk";
import { seqAfterAll } from "./seq-order";
import { entryWordMask, entryApply } from "./storelog";
import { entryAddr, lineHeadIndex, mediaLineAddr, preimageSlotAddr } from "./log-slots";
import { seqBefore } from "./seq-compare";
import { stampLine } from "./stamps";
import { LogEntry } from "./log-entry";
import { CHECKS } from "../shared/checks";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";

export { CRASH_STRICT, CRASH_RANDOM, CRASH_ENUMERATE } from "../abi";

@inline function subsetCount(words: u32): u64 {
  return (<u64>1 << popcnt<u32>(words)) - 1; // non-empty subsets of the touched words
}

@inline function saturatingMul(a: u64, b: u64): u64 {
  if (a != 0 && b > u64.MAX_VALUE / a) return u64.MAX_VALUE;
  return a * b;
}

@inline function saturatingAdd(a: u64, b: u64): u64 {
  return a > u64.MAX_VALUE - b ? u64.MAX_VALUE : a + b;
}

// Spread the bits of `ordinal` over the set bits of `words` (a software pdep).
function spreadOverWords(ordinal: u64, words: u32): u32 {
  let result: u32 = 0;
  let bit: u32 = 0;
  for (let w: u32 = 0; w < 8; w++) {
    if (((words >> w) & 1) == 0) continue;
    if (((ordinal >> bit) & 1) != 0) result |= 1 << w;
    bit++;
  }
  return result;
}

let rngState: u64 = 0;
function rngSeed(seed: u64): void {
  // splitmix64 of the seed, so that small seeds give unrelated streams
  let z = seed + 0x9e3779b97f4a7c15;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  rngState = (z ^ (z >> 31)) | 1;
}
// The stream of one line of a random image: its draws do not depend on which other lines
// are built (crashBuild's line bitmap).
function rngSeedLine(seed: u64, line: u32): void {
  rngSeed(seed ^ (<u64>(line + 1) * 0xd1b54a32d192ed03));
}
function rngNext(): u64 {
  // xorshift64*
  let x = rngState;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  rngState = x;
  return x * 0x2545f4914f6cdd1d;
}
// The same value as rngNext() % bound; a power-of-two bound (most lines have one or three
// stores: bound 2 or 4) takes a mask instead of a 64-bit division.
@inline function rngBelow(bound: u64): u64 {
  const x = rngNext();
  return (bound & (bound - 1)) == 0 ? x & (bound - 1) : x % bound;
}

// List pending lines in order of their oldest store; count the legal images. The table
// of an unchanged log (same H_LOG_VERSION) is kept.
export function crashScan(): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  const h = headerAddr;
  const version = logVersion();
  if (load<u32>(h + H_SCAN_VERSION) == version) return load<u32>(h + H_CRASH_ROWS);
  let rows: u32 = 0;
  let total: u64 = 1;
  let eadrTotal: u64 = 1;
  walkStart();
  for (let at = walkNext(); at != 0; at = walkNext()) {
    const index = at - 1;
    const e = entryAddr(index);
    eadrTotal = saturatingAdd(eadrTotal, subsetCount(entryWordMask(e)));
    const line = changetype<LogEntry>(e).line;
    if (lineHeadIndex(line) != index + 1) continue;
    let options: u64 = 1;
    for (let at = index + 1; at != 0; at = changetype<LogEntry>(entryAddr(at - 1)).next) {
      options += subsetCount(entryWordMask(entryAddr(at - 1)));
    }
    assert(options <= u32.MAX_VALUE, "crash scan: too many versions of one line");
    assert(rows < patchRows, "crash scan: more pending lines than the crash table holds");
    const row = crashTableAddr + <usize>rows * CRASH_ROW_BYTES;
    store<u32>(row, line);
    store<u32>(row + CRASH_ROW_VERSIONS, <u32>options);
    total = saturatingMul(total, options);
    rows++;
  }
  assert(rows == linesPendingTotal(), "crash scan: pending line count mismatch");
  store<u64>(h + H_CRASH_TOTAL, domain == DOMAIN_EADR ? eadrTotal : total);
  store<u32>(h + H_CRASH_ROWS, rows);
  store<u32>(h + H_SCAN_VERSION, version);
  return rows;
}

export function crashTotal(): u64 {
  return load<u64>(headerAddr + H_CRASH_TOTAL);
}

// Start a patch slot for `line` from its media content.
// `wholeFirst`: the caller applies the line's oldest entry first, whole, and it stores the
// whole line (a block's line: the common case), so the media bytes would be overwritten
// at once and are not copied.
function patchBegin(slot: u32, line: u32, wholeFirst: bool = false): usize {
  const p = patchAddr + <usize>slot * PATCH_BYTES;
  store<u32>(p, line);
  if (!wholeFirst) copyLine(p + PATCH_DATA, mediaLineAddr(line));
  return p + PATCH_DATA;
}

// Does the line's oldest live entry store the whole line?
@inline function oldestStoresWholeLine(line: u32): bool {
  const head = lineHeadIndex(line);
  return head != 0 && changetype<LogEntry>(entryAddr(head - 1)).mask == u64.MAX_VALUE;
}

// ADR: version `option` of the line in `row` (0 = media as is).
function buildLineOption(slot: u32, line: u32, option: u64): bool {
  if (option == 0) return false;
  // A whole-line oldest entry has 255 word subsets, the last of them every word.
  const dst = patchBegin(slot, line, oldestStoresWholeLine(line) && option >= 255);
  let left = option;
  for (let at = lineHeadIndex(line); at != 0 && left != 0;
      at = changetype<LogEntry>(entryAddr(at - 1)).next) {
    const e = entryAddr(at - 1);
    const words = entryWordMask(e);
    const k = subsetCount(words);
    if (left <= k) {
      entryApply(dst, e, spreadOverWords(left, words));
      left = 0;
    } else {
      entryApply(dst, e, 0xff);
      left -= k;
    }
  }
  assert(left == 0, "crash: option beyond the line's versions");
  return true;
}

// ADR random: keep a random prefix, then maybe tear the next store at words.
function buildLineRandom(slot: u32, line: u32): bool {
  let n: u64 = 0;
  for (let at = lineHeadIndex(line); at != 0; at = changetype<LogEntry>(entryAddr(at - 1)).next) {
    n++;
  }
  const keep = rngBelow(n + 1);
  const tear = keep < n && (rngNext() & 1) != 0;
  if (keep == 0 && !tear) return false;
  const dst = patchBegin(slot, line, keep > 0 && oldestStoresWholeLine(line));
  let i: u64 = 0;
  for (let at = lineHeadIndex(line); at != 0; at = changetype<LogEntry>(entryAddr(at - 1)).next) {
    const e = entryAddr(at - 1);
    if (i < keep) {
      entryApply(dst, e, 0xff);
    } else {
      const words = entryWordMask(e);
      const count = popcnt<u32>(words);
      if (count > 1) {
        entryApply(dst, e, spreadOverWords(1 + rngBelow((<u64>1 << count) - 2), words));
      }
      break;
    }
    i++;
  }
  return true;
}

// eADR: every store before cutSeq is in the image; the store cutSeq contributes the
// words in cutWords (0 = none).
function buildLineCut(slot: u32, line: u32, cutSeq: u32, cutWords: u32): bool {
  let first = lineHeadIndex(line);
  if (first == 0) return false;
  const firstSeq = changetype<LogEntry>(entryAddr(first - 1)).seq;
  if (seqBefore(cutSeq, firstSeq) || (cutSeq == firstSeq && cutWords == 0)) return false;
  const dst = patchBegin(slot, line, seqBefore(firstSeq, cutSeq) && oldestStoresWholeLine(line));
  for (let at = first; at != 0; at = changetype<LogEntry>(entryAddr(at - 1)).next) {
    const e = entryAddr(at - 1);
    const seq = changetype<LogEntry>(e).seq;
    if (seqBefore(seq, cutSeq)) entryApply(dst, e, 0xff);
    else {
      if (seq == cutSeq && cutWords != 0) entryApply(dst, e, cutWords);
      break;
    }
  }
  return true;
}

// Choose the eADR crash instant. Returns the cut sequence; the torn words go to cutWordsOut.
let cutWordsOut: u32 = 0;
function chooseCut(mode: u32, arg: u64): u32 {
  const next = seqAfterAll();
  cutWordsOut = 0;
  if (mode == CRASH_STRICT) return next;
  let live: u64 = 0;
  walkStart();
  for (let at = walkNext(); at != 0; at = walkNext()) live++;
  let target: u64 = 0; // ordinal of the cut among live entries
  let option: u64 = 0;
  if (mode == CRASH_RANDOM) {
    target = rngBelow(live + 1);
    option = 0;
  } else {
    option = arg; // 0 = nothing; else walk the live entries' subsets
  }
  let ordinal: u64 = 0;
  walkStart();
  for (let at = walkNext(); at != 0; at = walkNext()) {
    const e = entryAddr(at - 1);
    const seq = changetype<LogEntry>(e).seq;
    const words = entryWordMask(e);
    if (mode == CRASH_RANDOM) {
      if (ordinal == target) {
        const count = popcnt<u32>(words);
        if (count > 1 && (rngNext() & 1) != 0) {
          cutWordsOut = spreadOverWords(1 + rngBelow((<u64>1 << count) - 2), words);
        }
        return seq;
      }
    } else {
      if (option == 0) return seq;
      const k = subsetCount(words);
      if (option <= k) { cutWordsOut = spreadOverWords(option, words); return seq; }
      option -= k;
    }
    ordinal++;
  }
  assert(mode == CRASH_RANDOM || option == 0, "crash: image index beyond the count");
  return next;
}

// Build the patch of one image. Requires a crashScan of the same state.
// Is `line` set in the line bitmap at `lines` (0: every line is)?
@inline function lineSelected(lines: usize, line: u32): bool {
  return lines == 0 || ((load<u8>(lines + (line >> 3)) >> (line & 7)) & 1) != 0;
}

// `lines`: a line bitmap (0: all). Lines outside it are left out of the patch (their media
// stands): a caller that looks only at some lines (the crash explorer: what the candidate
// superblocks reach) gets those lines exactly as the whole image has them. A random
// image's lines draw from streams of their own (rngSeed(seed, line)) for that reason; an
// ADR enumeration's index still walks every row (it numbers whole images).
export function crashBuild(mode: u32, arg: u64, lines: usize = 0): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  const rows = load<u32>(headerAddr + H_CRASH_ROWS);
  if (mode == CRASH_RANDOM && domain == DOMAIN_EADR) rngSeed(arg);
  let slots: u32 = 0;
  if (domain == DOMAIN_EADR) {
    const cut = chooseCut(mode, arg);
    const words = cutWordsOut;
    for (let r: u32 = 0; r < rows; r++) {
      const line = load<u32>(crashTableAddr + <usize>r * CRASH_ROW_BYTES);
      if (lineSelected(lines, line) && buildLineCut(slots, line, cut, words)) slots++;
    }
    return slots;
  }
  let index = arg;
  for (let r: u32 = 0; r < rows; r++) {
    const row = crashTableAddr + <usize>r * CRASH_ROW_BYTES;
    const line = load<u32>(row);
    let built = false;
    if (mode == CRASH_RANDOM) {
      if (lineSelected(lines, line)) {
        rngSeedLine(arg, line);
        built = buildLineRandom(slots, line);
      }
    } else if (mode == CRASH_ENUMERATE) {
      const options = <u64>load<u32>(row + CRASH_ROW_VERSIONS);
      const option = index % options;
      index /= options;
      if (lineSelected(lines, line)) built = buildLineOption(slots, line, option);
    }
    if (built) slots++;
  }
  assert(mode != CRASH_ENUMERATE || index == 0, "crash: image index beyond the count");
  return slots;
}

// After crashBuild's `slots` patch lines (built in crash-table order): a patch line with
// the media bytes of every pending line the image leaves as it was. The visible bytes with
// the whole patch over them are then the image. Returns the patch lines in all (at most
// the crash table's rows, which the patch region holds).
export function crashOverlay(slots: u32): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  const rows = load<u32>(headerAddr + H_CRASH_ROWS);
  assert(slots <= rows, "crash overlay: more patch lines than pending lines");
  let s: u32 = 0;
  let out = slots;
  for (let r: u32 = 0; r < rows; r++) {
    const line = load<u32>(crashTableAddr + <usize>r * CRASH_ROW_BYTES);
    if (s < slots && load<u32>(patchAddr + <usize>s * PATCH_BYTES) == line) { s++; continue; }
    patchBegin(out++, line);
  }
  assert(s == slots && out == rows, "crash overlay: the patch is not in crash-table order");
  return out;
}

// On a device with nothing pending whose bytes were just set to the pre-crash media:
// write the patch lines (poison stays: it is media). A crash target copied its line states
// from the source, pending bits included: every line pending there is a patch line (the
// overlay), so clearing the bit here leaves none that names no entry.
export function crashApplyPatch(slots: u32): void {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  for (let s: u32 = 0; s < slots; s++) {
    const p = patchAddr + <usize>s * PATCH_BYTES;
    const line = load<u32>(p);
    assert(line < lineCount, "crash patch: line out of range");
    if (CHECKS) assert(lineHeadIndex(line) == 0); // a patch line over a pending line
    copyLine(visibleAddr + (<usize>line << LINE_SHIFT), p + PATCH_DATA);
    const st = lineStateAddr + line;
    store<u8>(st, load<u8>(st) & ~LINE_PENDING);
    stampLine(line);
  }
}

// Reset the volatile state: log, line lists, pending bits, flush queues. With
// `visibleFromMedia`, each pending line's visible bytes become its media bytes again (its
// pre-image; the other lines' already are); without, the caller rewrites them.
export function crashForgetPending(visibleFromMedia: bool = false): void {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  const h = headerAddr;
  // Only the entries in the rings' windows can be live, and a line is pending (state bit
  // and list) exactly while it has a live entry: clearing through the windows touches only
  // the pending lines. logAppend sets every field an entry is read by (sequence, line, next,
  // live, byte mask, the masked bytes), so the rest of the log need not be cleared (it is
  // megabytes: this runs once per crash image).
  walkStart();
  for (let at = walkNext(); at != 0; at = walkNext()) {
    const e = entryAddr(at - 1);
    const line = changetype<LogEntry>(e).line;
    // A line's oldest live entry comes first in the walk, and its list is cleared then: its
    // pre-image is in this entry's slot.
    if (visibleFromMedia && lineHeadIndex(line) == at) {
      copyLine(visibleAddr + (<usize>line << LINE_SHIFT), preimageSlotAddr(at - 1));
    }
    const st = lineStateAddr + line;
    store<u8>(st, load<u8>(st) & ~LINE_PENDING);
    store<u64>(lineListAddr + (<usize>line << 3), 0);
    changetype<LogEntry>(e).live = 0;
  }
  for (let t: u32 = 0; t < maxThreads; t++) store<u32>(threadsAddr + <usize>t * threadStride, 0);
  ringsReset();
  store<u32>(h + H_CRASH_ROWS, 0);
  store<u32>(h + H_EADR_NEXT_SEQ, 0);
}

// Crash this device in place: media becomes the chosen image, visible = media. Only
// pending lines have visible bytes that differ from media, so only they are copied; they
// were stamped when they became pending, and the patch lines are stamped as applied.
export function crashInPlace(mode: u32, arg: u64): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  crashScan();
  const slots = crashBuild(mode, arg);
  crashForgetPending(true);
  crashApplyPatch(slots);
  return slots;
}

