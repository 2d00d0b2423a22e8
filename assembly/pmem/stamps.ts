// Line change stamps: for every line, the device epoch at which its media or its visible
// bytes last changed (every store stamps the lines it writes); and per 64-line chunk the
// newest stamp in it. A consumer that needs "what changed since I last looked" records the epoch
// and advances it (stampsAdvance); lines stamped later carry a larger epoch. Two consumers
// use it: the media fingerprint's per-chunk crc cache (media-fingerprint.ts), the incremental copy
// of crash images into a reused target device (src/pmem/device.ts, materialize), and the file
// system's verified data sectors (fs/inode.ts: a sector whose chunk was stamped after it
// passed its checksum is checked again).
//
// Why: a crash explorer looks at thousands of images of a few-MiB device per second and
// each differs from the last in a few hundred lines; copying or hashing every line made
// that copy and hash most of the cost.
import { H_STAMP_EPOCH } from "../abi";
import { CHECKS } from "../shared/checks";
import {
  headerAddr, lineStampAddr, chunkStampAddr, chunkUniformAddr, lineCount,
} from "./state";

export const CHUNK_SHIFT: u32 = 6; // 64 lines (4 KiB) per chunk

// A chunk is *uniform* (its byte in the chunk-uniform region is 1) when every one of its 64
// lines carries the chunk's stamp: a stamp of whole chunks (a page stored whole, a run
// written back) writes the chunk's stamp and that byte, not 64 line stamps. Why: a 4 KiB
// store wrote 256 bytes of line stamps, four cache lines that the store's own bytes had
// pushed out of the cache, for a reader (stampRuns) that runs once per crash image copy.
// A stamp of part of a uniform chunk first writes its lines' stamps out (expandChunk), unless
// the chunk carries that very epoch already.

@inline function chunkUniform(chunk: u32): bool {
  return load<u8>(chunkUniformAddr + chunk) != 0;
}

// Lines of chunk `chunk` take stamp `epoch`: a uniform chunk stamped `epoch` already has it
// on every line (nothing to write); one stamped earlier first writes its stamp into its lines
// (expandChunk).
@inline function chunkTakesLineStamps(chunk: u32, epoch: u32): bool {
  assert(chunk <= (lineCount - 1) >> CHUNK_SHIFT, "stamps: a chunk outside the device");
  if (!chunkUniform(chunk)) return true;
  if (chunkStamp(chunk) == epoch) return false;
  expandChunk(chunk);
  return true;
}

// Chunk `chunk` is uniform: its lines take its stamp, and it is uniform no more.
function expandChunk(chunk: u32): void {
  assert(chunkUniform(chunk) && (chunk + 1) << CHUNK_SHIFT <= lineCount,
    "stamps: a chunk expanded that is not uniform");
  writeLineStamps(chunk << CHUNK_SHIFT, 1 << CHUNK_SHIFT, chunkStamp(chunk));
  store<u8>(chunkUniformAddr + chunk, 0);
}

// The line's media or visible bytes changed (callers hold the device lock).
@inline export function stampLine(line: u32): void {
  stampOneLine(line, load<u32>(headerAddr + H_STAMP_EPOCH));
}

// `line` takes stamp `epoch`, and so does its chunk.
@inline export function stampOneLine(line: u32, epoch: u32): void {
  if (CHECKS) assert(line < lineCount); // a stamp of a line outside the device
  const chunk = line >> CHUNK_SHIFT;
  if (!chunkTakesLineStamps(chunk, epoch)) return;
  store<u32>(lineStampAddr + (<usize>line << 2), epoch);
  store<u32>(chunkStampAddr + (<usize>chunk << 2), epoch);
}

// Lines [first, first + count) and their chunks take stamp `epoch`: whole chunks by their
// chunk stamp alone (uniform), the lines of a chunk's part one by one.
export function stampLines(first: u32, count: u32, epoch: u32): void {
  assert(<u64>first + <u64>count <= <u64>lineCount && count > 0,
    "stamps: lines outside the device");
  const end = first + count;
  for (let c = first >> CHUNK_SHIFT; c <= (end - 1) >> CHUNK_SHIFT; c++) {
    const lo = max<u32>(first, c << CHUNK_SHIFT), hi = min<u32>(end, (c + 1) << CHUNK_SHIFT);
    // Written only when they change: a chunk stored again in the same epoch (a DAX writer's
    // page) leaves the cache lines alone, which 64 chunks' uniform bytes and 16 chunks'
    // stamps share, with another writer's pages too.
    if (hi - lo == 1 << CHUNK_SHIFT) {
      if (!chunkUniform(c)) store<u8>(chunkUniformAddr + c, 1);
    } else if (chunkTakesLineStamps(c, epoch)) {
      writeLineStamps(lo, hi - lo, epoch);
    }
    if (chunkStamp(c) != epoch) store<u32>(chunkStampAddr + (<usize>c << 2), epoch);
  }
}

// Line stamps [first, first + count) written `epoch`, two at a time.
function writeLineStamps(first: u32, count: u32, epoch: u32): void {
  let at = lineStampAddr + (<usize>first << 2);
  const end = at + (<usize>count << 2);
  if ((at & 7) != 0 && at < end) { store<u32>(at, epoch); at += 4; }
  for (; at + 8 <= end; at += 8) store<u64>(at, <u64>epoch * 0x100000001);
  if (at < end) store<u32>(at, epoch);
}

export function stampRange(first: u32, end: u32): void {
  assert(end <= lineCount, "stamps: a range past the device");
  if (end <= first) return;
  stampLines(first, end - first, stampEpoch());
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
    const uniform = chunkUniform(c); // every line has the chunk's stamp, newer than `since`
    for (let line = first; line < end; line++) {
      if (!uniform && !newer(load<u32>(lineStampAddr + (<usize>line << 2)), since)) continue;
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
