// The line table of a crash-image class: images of one crash point that mount the same
// metadata differ only in data lines, so one mount and check of a representative image
// decides everything but the data those lines hold. The oracle's rules for that data
// (per 8-byte word: the values check() accepts) are laid out here for the core, which
// checks each further image's pending data lines in one call (assembly/pmem/linecheck.ts).
//
// The table is at least as strict as check(): a word that no file maps, or that only part
// of a file maps, must keep the representative's value. So an image that passes the
// table passes check(); one that fails it is mounted and checked (the table may be too
// strict, never too lenient). One exception is exact, not strict: a line no file reads
// (no byte of it inside EOF of a regular extent of any file: a preallocated extent, which
// reads as zeros whatever it holds, the part of an extent no file item references any more,
// an extent's bytes past EOF) is left out of the table (any value passes), because nothing
// else of check() looks at data bytes (fsck reads no file data) and every image of the
// class has the same extent map (its metadata lines are the class's key).
import type { FileSystem } from '../filesystem.js';
import type { WordCondition } from './oracle-contract.js';
import {
  LINE_BYTES, LINE_RULE_ALTERNATIVES, LINE_RULE_ALTERNATIVES_ADDR, LINE_RULE_BYTES, LINE_RULE_CARE,
  LINE_RULE_LINE, WORD_BYTES,
} from '../core/abi.js';

/** More allowed values than this for one word: no table (mount every image instead). */
const MAX_ALTERNATIVES = 256;

export interface LineTable {
  /** Entries then alternative lines, with absolute addresses for a table placed at `base`. */
  bytes: Uint8Array;
  entries: number;
  base: number;
}

interface Cover { path: string; lineFileOffset: number; fileLo: number; fileHi: number }

/** The lines in device range [devLo, devHi) among `lines` (ascending): their indexes. */
function* linesIn(lines: Uint32Array, devLo: number, devHi: number): Generator<number> {
  for (let i = lowerBound(lines, Math.floor(devLo / LINE_BYTES)); i < lines.length
    && lines[i]! * LINE_BYTES < devHi; i++) {
    yield i;
  }
}

type Extents = ReturnType<FileSystem['fileExtents']>;

/** Sizes and extents of an image's files (null: not in the image). */
export interface FileMap {
  size(path: string): number | null;
  extents(path: string): Extents | null;
}

/** The file map of `paths` in a mounted image, captured (the image may be unmounted after). */
export function captureFileMap(fs: FileSystem, paths: Iterable<string>): FileMap {
  const files = new Map<string, { size: number; extents: Extents }>();
  for (const path of paths) {
    try {
      files.set(path, { size: fs.stat(path).size, extents: fs.fileExtents(path) });
    } catch {
      // not in this image (a snapshot not yet taken)
    }
  }
  return { size: (p) => files.get(p)?.size ?? null, extents: (p) => files.get(p)?.extents ?? null };
}

/** One DataView per array the tables read words of (a model version is read many times). */
const views = new WeakMap<Uint8Array, DataView>();

function wordAt(data: Uint8Array, at: number): bigint | null {
  if (at < 0 || at + WORD_BYTES > data.length) return null;
  let view = views.get(data);
  if (!view) {
    view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    views.set(data, view);
  }
  return view.getBigUint64(at, true);
}


/** First index of `sorted` holding a value >= x. */
function lowerBound(sorted: Uint32Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The bytes (bit b: byte b) of the word at file offset `o` inside [lo, hi). */
function bytesInside(o: number, lo: number, hi: number): number {
  const from = Math.max(lo - o, 0);
  const to = Math.min(hi - o, WORD_BYTES);
  return from >= to ? 0 : ((1 << to) - 1) & ~((1 << from) - 1);
}

/**
 * The word of `data` at `at`, bytes outside `care` zeroed; null when a cared byte is outside
 * `data`.
 */
function maskedWordAt(data: Uint8Array, at: number, care: number): bigint | null {
  if (care === 0xff) return wordAt(data, at);
  let value = 0n;
  for (let b = 0; b < WORD_BYTES; b++) {
    if (((care >> b) & 1) === 0) continue;
    if (at + b < 0 || at + b >= data.length) return null;
    value |= BigInt(data[at + b]!) << BigInt(8 * b);
  }
  return value;
}

/**
 * What word `w` of a line may hold: the bytes some file reads there (`care`: inside EOF of a
 * regular extent that maps them) and their allowed values (bytes outside `care` zeroed).
 * A word every cover and condition reads whole, or reads in the same bytes (the EOF word),
 * gets the values the rules allow there; any other mix keeps the representative's bytes.
 */
function wordRule(
  covers: Cover[], rules: Map<string, WordCondition[]>, w: number, own: Uint8Array,
): { care: number; values: bigint[] } {
  let care = 0;
  for (const c of covers) {
    care |= bytesInside(c.lineFileOffset + w * WORD_BYTES, c.fileLo, c.fileHi);
  }
  if (care === 0) return { care: 0, values: [0n] };
  const strict = (): { care: number; values: bigint[] } => (
    { care, values: [maskedWordAt(own, w * WORD_BYTES, care)!] }
  );
  let allowed: bigint[] | null = null;
  for (const c of covers) {
    const o = c.lineFileOffset + w * WORD_BYTES;
    const mine = bytesInside(o, c.fileLo, c.fileHi);
    if (mine === 0) continue;
    if (mine !== care) return strict();
    for (const cond of rules.get(c.path)!) {
      const applies = bytesInside(o, cond.from, cond.to) & care;
      if (applies === 0) continue;
      if (applies !== care) return strict();
      // The values of this condition: an array (most conditions give one or two), a set
      // once there are many.
      const values: bigint[] = [];
      let distinct: Set<bigint> | null = null;
      for (const v of cond.versions) {
        const value = maskedWordAt(v.data, o - v.shift, care);
        if (value === null) continue;
        if (distinct ? distinct.has(value) : values.includes(value)) continue;
        values.push(value);
        if (!distinct && values.length > 16) distinct = new Set(values);
        else distinct?.add(value);
      }
      const has = distinct ? (x: bigint) => distinct.has(x) : (x: bigint) => values.includes(x);
      allowed = allowed === null ? values : allowed.filter(has);
    }
  }
  return allowed === null ? strict() : { care, values: allowed };
}

/**
 * A table line: the bytes compared (bit b: byte b) and the alternative lines (64 bytes each; no
 * alternative: the line always fails).
 */
interface LineRule { care: bigint; alternatives: Uint8Array[] }

/** The rule of any line, word by word (wordRule); null when a word allows too many values. */
function wordRules(
  covers: Cover[], rules: Map<string, WordCondition[]>, own: Uint8Array,
): LineRule | null {
  const words: bigint[][] = [];
  let care = 0n;
  let widest = 0;
  for (let w = 0; w < LINE_BYTES / WORD_BYTES; w++) {
    const rule = wordRule(covers, rules, w, own);
    if (rule.values.length > MAX_ALTERNATIVES) return null;
    care |= BigInt(rule.care) << BigInt(w * WORD_BYTES);
    widest = Math.max(widest, rule.values.length);
    words.push(rule.values);
  }
  // A word with no allowed value leaves the line with no alternative: it always fails.
  const count = words.some((l) => l.length === 0) ? 0 : widest;
  const alternatives: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const a = new Uint8Array(LINE_BYTES);
    const view = new DataView(a.buffer);
    words.forEach(
      (list, w) => view.setBigUint64(w * WORD_BYTES, list[Math.min(k, list.length - 1)]!, true),
    );
    alternatives.push(a);
  }
  return { care, alternatives };
}

/**
 * Build the table for `lines` (pending data lines, ascending) of an image whose files are
 * `files` and whose line contents `lineBytes` gives (64 bytes). Null when it would not fit
 * in `maxBytes` or a word allows too many values.
 */
export function buildLineTable(
  files: FileMap, lineBytes: (line: number) => Uint8Array, rules: Map<string, WordCondition[]>,
  lines: Uint32Array, base: number, maxBytes: number,
): LineTable | null {
  if (lines.length === 0) return { bytes: new Uint8Array(0), entries: 0, base };
  // Which file words each pending line holds, through the files' extents.
  const covers = new Map<number, Cover[]>();
  for (const path of rules.keys()) {
    const size = files.size(path);
    const extents = files.extents(path);
    if (size === null || extents === null) continue; // not in this image: its rules cover nothing
    for (const x of extents) {
      if (x.prealloc) continue; // reads as zeros whatever its lines hold
      const devLo = x.diskBytenr + x.offset;
      const fileLo = x.fileOffset;
      const fileHi = Math.min(x.fileOffset + x.bytes, size);
      if (fileHi <= fileLo) continue;
      for (const i of linesIn(lines, devLo, devLo + (fileHi - fileLo))) {
        const line = lines[i]!;
        const list = covers.get(line) ?? [];
        list.push({ path, lineFileOffset: fileLo + (line * LINE_BYTES - devLo), fileLo, fileHi });
        covers.set(line, list);
      }
    }
  }
  // A line no file reads: out of the table (any value passes).
  const kept = lines.filter((line) => covers.has(line));
  const lineRules: LineRule[] = [];
  let alternativesTotal = 0;
  for (const line of kept) {
    const rule = wordRules(covers.get(line)!, rules, lineBytes(line));
    if (!rule) return null;
    lineRules.push(rule);
    alternativesTotal += rule.alternatives.length;
  }
  const entriesBytes = kept.length * LINE_RULE_BYTES;
  const total = entriesBytes + alternativesTotal * LINE_BYTES;
  if (total > maxBytes) return null;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let alt = entriesBytes;
  kept.forEach((line, i) => {
    const rule = lineRules[i]!;
    view.setUint32(i * LINE_RULE_BYTES + LINE_RULE_LINE, line, true);
    view.setUint32(i * LINE_RULE_BYTES + LINE_RULE_ALTERNATIVES, rule.alternatives.length, true);
    view.setUint32(i * LINE_RULE_BYTES + LINE_RULE_ALTERNATIVES_ADDR, base + alt, true);
    view.setBigUint64(i * LINE_RULE_BYTES + LINE_RULE_CARE, rule.care, true);
    for (const a of rule.alternatives) {
      bytes.set(a, alt);
      alt += LINE_BYTES;
    }
  });
  return { bytes, entries: kept.length, base };
}
