// The media fingerprint: a hash of the media bytes of chosen lines, for the crash explorer
// to tell images apart, with a crc per 64-line chunk cached until a stamp (stamps.ts) says
// the chunk changed. Apart from the stamps because it reads the store log (a pending line's
// media is its pre-image), which itself stamps every store.
import { LINE_SHIFT } from "../abi";
import { chunkStampAddr, chunkCrcAddr, lineCount, visibleAddr } from "./state";
import { lineHeadIndex, mediaLineAddr } from "./log-slots";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";
import { CHUNK_SHIFT, stampsAdvance } from "./stamps";
import { crc32cUpdate } from "../csum/crc32c";

// The crc32c of the media bytes of lines [first, first + lines): the visible bytes, but a
// pending line's pre-image (log-slots.ts mediaLineAddr).
function mediaCrc(first: u32, lines: u32): u32 {
  let crc: u32 = 0xffffffff;
  let run = first; // start of the run of lines not pending, not yet in the crc
  for (let line = first; line < first + lines; line++) {
    if (lineHeadIndex(line) == 0) continue;
    crc = crc32cUpdate(crc, visibleAddr + (<usize>run << LINE_SHIFT), (line - run) << LINE_SHIFT);
    crc = crc32cUpdate(crc, mediaLineAddr(line), 64);
    run = line + 1;
  }
  crc = crc32cUpdate(crc, visibleAddr + (<usize>run << LINE_SHIFT),
    (first + lines - run) << LINE_SHIFT);
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
    else {
      for (let b: u32 = w << 3; b < bitmapBytes; b++) {
        bits |= <u64>load<u8>(bitmap + b) << ((b & 7) << 3);
      }
    }
    if (w == words - 1 && (lineCount & 63) != 0) bits &= (<u64>1 << (lineCount & 63)) - 1;
    if (bits == 0) continue;
    // One bitmap word is one chunk (CHUNK_SHIFT = 6).
    h = (h ^ ((<u64>w << 32) | <u64>chunkCrc(w, epoch))) * 0x100000001b3;
    h = (h ^ bits) * 0x100000001b3;
    h ^= h >> 29;
  }
  return <u32>(h ^ (h >> 32));
}
