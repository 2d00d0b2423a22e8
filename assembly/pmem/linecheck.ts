// Checking crash images without mounting them. Images of one crash point that mount the
// same metadata differ only in data lines; the oracle turns what each such line may hold
// into a line table (per 8-byte word, a set of allowed values, stored as K alternative
// lines: word w is allowed when it equals word w of any alternative). An image passes
// when every patched line of the table is allowed and every line it leaves at media is.
//
// Table entry (LINE_RULE_BYTES): [line u32][alternatives u32][alternativesAddr u32][flags u32]
// [care u64], sorted by line. Flag MEDIA_FAILS: the line's media content is not allowed.
// `care` has a bit per byte of the line: bytes whose bit is clear may hold anything (bytes
// no file reads: past EOF in the EOF word), so only the others are compared.
import {
  PATCH_BYTES, PATCH_DATA, LINE_RULE_BYTES, LINE_RULE_LINE, LINE_RULE_ALTERNATIVES,
  LINE_RULE_ALTERNATIVES_ADDR, LINE_RULE_FLAGS, LINE_RULE_CARE, MEDIA_FAILS,
} from "../abi";
import { patchAddr, lineCount } from "./state";
import { mediaLineAddr } from "./log-slots";
import { freshRunsDeferred, materializeFreshRuns } from "./fresh-runs";

export { LINE_RULE_BYTES, MEDIA_FAILS } from "../abi";

// 0xff in every byte of a word whose bit is set in `bits` (8 bits, one per byte): each byte
// keeps its own bit of the replicated value, and a non-zero byte (at most 0x80) plus 0x7f
// sets its high bit without carrying into the next byte.
@inline function byteMaskOfBits(bits: u64): u64 {
  const kept = (bits * 0x0101010101010101) & 0x8040201008040201;
  const high = (kept + 0x7f7f7f7f7f7f7f7f) & 0x8080808080808080;
  return (high >> 7) * 0xff;
}

function lineAllowed(data: usize, alternatives: usize, count: u32, care: u64): bool {
  assert(data != 0 && (count == 0 || alternatives != 0),
    "line table: a line or its alternatives missing");
  for (let w: u32 = 0; w < 8; w++) {
    const mask = byteMaskOfBits((care >> (<u64>w << 3)) & 0xff);
    if (mask == 0) continue;
    const value = load<u64>(data + (<usize>w << 3)) & mask;
    let ok = false;
    for (let k: u32 = 0; k < count; k++) {
      if ((load<u64>(alternatives + (<usize>k << 6) + (<usize>w << 3)) & mask)
        == value) { ok = true; break; }
    }
    if (!ok) return false;
  }
  return true;
}

// Mark the rules whose line at media is not allowed; returns how many.
export function lineTableMarkMedia(table: usize, entries: u32): u32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  assert(table != 0 || entries == 0, "line table: rules without a table");
  let failing: u32 = 0;
  for (let i: u32 = 0; i < entries; i++) {
    const e = table + <usize>i * LINE_RULE_BYTES;
    const line = load<u32>(e + LINE_RULE_LINE);
    assert(line < lineCount, "line table: a rule for a line outside the device");
    const ok = lineAllowed(mediaLineAddr(line), <usize>load<u32>(e + LINE_RULE_ALTERNATIVES_ADDR),
      load<u32>(e + LINE_RULE_ALTERNATIVES), load<u64>(e + LINE_RULE_CARE));
    store<u32>(e + LINE_RULE_FLAGS, ok ? 0 : MEDIA_FAILS);
    if (!ok) failing++;
  }
  return failing;
}

// 1 when the image last built (its `slots` patch lines) satisfies the table, else 0.
export function lineTableCheck(slots: u32, table: usize, entries: u32, mediaFailing: u32): i32 {
  if (freshRunsDeferred() > 0) materializeFreshRuns(); // the log is read: every entry written
  let patchedFailing: u32 = 0;
  for (let s: u32 = 0; s < slots; s++) {
    const p = patchAddr + <usize>s * PATCH_BYTES;
    const line = load<u32>(p);
    let lo: u32 = 0;
    let hi = entries;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (load<u32>(table + <usize>mid * LINE_RULE_BYTES) < line) lo = mid + 1;
      else hi = mid;
    }
    if (lo == entries) continue;
    const e = table + <usize>lo * LINE_RULE_BYTES;
    if (load<u32>(e + LINE_RULE_LINE) != line) continue;
    if (!lineAllowed(p + PATCH_DATA, <usize>load<u32>(e + LINE_RULE_ALTERNATIVES_ADDR),
        load<u32>(e + LINE_RULE_ALTERNATIVES), load<u64>(e + LINE_RULE_CARE))) {
      return 0;
    }
    if ((load<u32>(e + LINE_RULE_FLAGS) & MEDIA_FAILS) != 0) patchedFailing++;
  }
  // Each line has at most one patch slot: every media-failing line must have been patched.
  return patchedFailing == mediaFailing ? 1 : 0;
}
