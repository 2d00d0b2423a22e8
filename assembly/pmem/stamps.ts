// Line change stamps: for every line, the device epoch at which its media or its visible
// bytes last changed (every store stamps the lines it writes); and per 64-line chunk the
// newest stamp in it. A consumer that needs "what changed since I last looked" records the epoch
// and advances it (stampsAdvance); lines stamped later carry a larger epoch. Two consumers
// use it: the media fingerprint's per-chunk crc cache (below), the incremental copy of
// crash images into a reused target device (src/pmem/device.ts, materialize), and the file
// system's verified data sectors (fs/inode.ts: a sector whose chunk was stamped after it
// passed its checksum is checked again).
//
// Why: a crash explorer looks at thousands of images of a few-MiB device per second and
// each differs from the last in a few hundred lines; copying or hashing every line made
// that copy and hash most of the cost.
import { H_STAMP_EPOCH, LINE_SHIFT } from "../abi";
import { CHECKS } from "../shared/checks";
import { headerAddr, lineStampAddr, chunkStampAddr, chunkCrcAddr, lineCount, visibleAddr } from "./state";
import { lineHeadIndex, mediaLineAddr } from "./storelog";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";
import { crc32c, crc32cUpdate } from "../csum/crc32c";

const CHUNK_SHIFT: u32 = 6; // 64 lines (4 KiB) per chunk

// The line's media or visible bytes changed (callers hold the device lock).
@inline export function stampLine(line: u32): void {
  if (CHECKS) assert(line < lineCount); // a stamp of a line outside the device
  const epoch = load<u32>(headerAddr + H_STAMP_EPOCH);
  store<u32>(lineStampAddr + (<usize>line << 2), epoch);
  store<u32>(chunkStampAddr + (<usize>(line >> CHUNK_SHIFT) << 2), epoch);
}

// The chunks of lines [first, end) take `epoch` (the caller stamped the lines themselves).
@inline export function stampChunks(first: u32, end: u32, epoch: u32): void {
  if (CHECKS) assert(first < end && end <= lineCount); // chunks of an empty or out-of-device range
  for (let c = first >> CHUNK_SHIFT; c <= (end - 1) >> CHUNK_SHIFT; c++) store<u32>(chunkStampAddr + (<usize>c << 2), epoch);
}

// Lines [first, first + count) take stamp `epoch`, two at a time (the caller stamps their
// chunks).
export function stampLines(first: u32, count: u32, epoch: u32): void {
  assert(<u64>first + <u64>count <= <u64>lineCount, "stamps: lines outside the device");
  let at = lineStampAddr + (<usize>first << 2);
  const end = at + (<usize>count << 2);
  if ((at & 7) != 0 && at < end) { store<u32>(at, epoch); at += 4; }
  for (; at + 8 <= end; at += 8) store<u64>(at, <u64>epoch * 0x100000001);
  if (at < end) store<u32>(at, epoch);
}

export function stampRange(first: u32, end: u32): void {
  assert(end <= lineCount, "stamps: a range past the device");
  if (end <= first) return;
  const epoch = stampEpoch();
  stampLines(first, end - first, epoch);
  stampChunks(first, end, epoch);
}

// The newest stamp of any line of 64-line chunk `chunk`.
@inline export function chunkStamp(chunk: u32): u32 {
  if (CHECKS) assert(chunk <= (lineCount - 1) >> CHUNK_SHIFT); // a chunk outside the device
  return load<u32>(chunkStampAddr + (<usize>chunk << 2));
}

// The epoch lines are stamped with now.
@inline export function stampEpoch(): u32 {
  return load<u32>(headerAddr + H_STAMP_EPOCH);
}

// Returns the current epoch and starts a new one: lines stamped from now on are newer.
export function stampsAdvance(): u32 {
  const epoch = load<u32>(headerAddr + H_STAMP_EPOCH);
  if (CHECKS) assert(newer(epoch + 1, epoch)); // the next epoch is not newer than this one
  store<u32>(headerAddr + H_STAMP_EPOCH, epoch + 1);
  return epoch;
}

@inline function newer(stamp: u32, since: u32): bool {
  return <i32>(stamp - since) > 0;
}

// Runs of lines stamped after `since`, as (first line, line count) u32 pairs at `out`.
// Returns the number of runs, or -1 when more than `capacity` runs would be needed.
export function stampRuns(since: u32, out: usize, capacity: u32): i32 {
  let runs: u32 = 0;
  let runStart: u32 = 0;
  let runEnd: u32 = 0; // runStart == runEnd: no open run
  const chunks = (lineCount + (1 << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT;
  for (let c: u32 = 0; c < chunks; c++) {
    if (!newer(load<u32>(chunkStampAddr + (<usize>c << 2)), since)) continue;
    const first = c << CHUNK_SHIFT;
    const end = min<u32>(first + (1 << CHUNK_SHIFT), lineCount);
    for (let line = first; line < end; line++) {
      if (!newer(load<u32>(lineStampAddr + (<usize>line << 2)), since)) continue;
      if (line == runEnd && runEnd > runStart) { runEnd++; continue; }
      if (runEnd > runStart && !emitRun(out, runs++, capacity, runStart, runEnd)) return -1;
      runStart = line;
      runEnd = line + 1;
    }
  }
  if (runEnd > runStart && !emitRun(out, runs++, capacity, runStart, runEnd)) return -1;
  return <i32>runs;
}

// Write run number `index` as (first line, count); false when it is beyond `capacity`.
@inline function emitRun(out: usize, index: u32, capacity: u32, first: u32, end: u32): bool {
  if (index >= capacity) return false;
  store<u32>(out + (<usize>index << 3), first);
  store<u32>(out + (<usize>index << 3), end - first, 4);
  return true;
}

// The crc32c of the media bytes of lines [first, first + lines): the visible bytes, but a
// pending line's pre-image (storelog.ts mediaLineAddr).
function mediaCrc(first: u32, lines: u32): u32 {
  let crc: u32 = 0xffffffff;
  let run = first; // start of the run of lines not pending, not yet in the crc
  for (let line = first; line < first + lines; line++) {
    if (lineHeadIndex(line) == 0) continue;
    crc = crc32cUpdate(crc, visibleAddr + (<usize>run << LINE_SHIFT), (line - run) << LINE_SHIFT);
    crc = crc32cUpdate(crc, mediaLineAddr(line), 64);
    run = line + 1;
  }
  crc = crc32cUpdate(crc, visibleAddr + (<usize>run << LINE_SHIFT), (first + lines - run) << LINE_SHIFT);
  return crc ^ 0xffffffff;
}

// The crc of a chunk's media bytes (64 lines, 4 KiB), from the cache when no stamp came
// after it was taken. Cache entry: [crc u32][valid-from epoch u32]; the crc reflects every
// change stamped before that epoch (0: never taken, so no stamp is before it). Chunks, not
// lines: the cache costs 1/512 of the device instead of 1/8, and what the explorer
// fingerprints (tree blocks, data sectors) comes in whole 4 KiB blocks anyway.
@inline function chunkCrc(chunk: u32, epoch: u32): u32 {
  const entry = chunkCrcAddr + (<usize>chunk << 3);
  const stamp = load<u32>(chunkStampAddr + (<usize>chunk << 2));
  if (<i32>(stamp - load<u32>(entry, 4)) < 0) return load<u32>(entry);
  const first = chunk << CHUNK_SHIFT;
  const lines = min<u32>(1 << CHUNK_SHIFT, lineCount - first);
  const crc = mediaCrc(first, lines);
  store<u32>(entry, crc);
  store<u32>(entry, epoch, 4);
  return crc;
}

// A fingerprint of the media bytes of the lines set in `bitmap` (one bit per line): a hash
// of (chunk, its selected lines, crc of the whole chunk) over the chunks with a line set.
// Equal fingerprints mean equal selected bytes (up to hash collisions); a change to an
// unselected line of a selected chunk changes it too, which only costs a cache miss.
export function mediaFingerprint(bitmap: usize): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  // Crcs taken now reflect every stamp so far; stamps from now on are newer than `epoch`.
  const epoch = stampsAdvance() + 1;
  let h: u64 = 0x84222325cbf29ce4;
  const words = (lineCount + 63) >> 6;
  const bitmapBytes = (lineCount + 7) >> 3;
  for (let w: u32 = 0; w < words; w++) {
    let bits: u64 = 0;
    if ((w << 3) + 8 <= bitmapBytes) bits = load<u64>(bitmap + (<usize>w << 3));
    else for (let b: u32 = w << 3; b < bitmapBytes; b++) bits |= <u64>load<u8>(bitmap + b) << ((b & 7) << 3);
    if (w == words - 1 && (lineCount & 63) != 0) bits &= (<u64>1 << (lineCount & 63)) - 1;
    if (bits == 0) continue;
    // One bitmap word is one chunk (CHUNK_SHIFT = 6).
    h = (h ^ ((<u64>w << 32) | <u64>chunkCrc(w, epoch))) * 0x100000001b3;
    h = (h ^ bits) * 0x100000001b3;
    h ^= h >> 29;
  }
  return <u32>(h ^ (h >> 32));
}
