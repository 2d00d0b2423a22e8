// What an inode's data words may hold after a crash when stores went in place (nodatacow
// data: pwrite, the tail a truncate zeroes, punch and zero-range, and mmap stores). Such a
// store changes a block the committed tree already points at, and pmem keeps every 8-byte
// word whole, but nothing orders words until a flush and a fence: after a crash, a word
// holds the value it had when it was last guaranteed durable, or any value stored to it
// since (docs/crash.md, "Durability").
//
// An InPlaceRecord keeps the whole words a store touched, before and after it. A floor is
// a word a MAP_SYNC mapping's flush + fence made durable: from then on, the value flushed
// or a later one, whatever state the metadata is in.

export const WORD_BYTES = 8;

interface InPlaceRecord {
  /** Model time of the store (CrashModel.time when it ran). */
  time: number;
  /** File offset of the first word (a multiple of 8). */
  start: number;
  /** The words before and after the store (same length, a multiple of 8). */
  pre: Uint8Array;
  post: Uint8Array;
  /** A store through a MAP_SYNC mapping (only those words can become floors). */
  viaSyncMapping: boolean;
}

interface WordFloor {
  /** Model time of the flush that made the word durable. */
  time: number;
  value: Uint8Array;
}

/** The words `bytes` holds in [start, end), zero-padded past its end. */
export function wordsOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  if (start < bytes.length) out.set(bytes.subarray(start, Math.min(end, bytes.length)));
  return out;
}

export function alignDown8(x: number): number {
  return x - (x % WORD_BYTES);
}

function alignUp8(x: number): number {
  return alignDown8(x + WORD_BYTES - 1);
}

function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  if (aAt < 0 || bAt < 0 || aAt + n > a.length || bAt + n > b.length) return false;
  for (let i = 0; i < n; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

/** Bytes a word may hold, at file offset `shift` of `data`'s first byte. */
interface WordVersion { data: Uint8Array; shift: number }

/** A floored word at file offset `at`: its floor's value and the stores since its `time`. */
interface FlooredWord { at: number; versions: WordVersion[]; time: number }

/** The in-place history of one inode since the last persistence point. */
export class InPlaceHistory {
  readonly records: InPlaceRecord[] = [];
  readonly floors = new Map<number, WordFloor>();

  /** A store changed [from, to) of a file from `before` to `after` (whole-file contents). */
  record(time: number, before: Uint8Array, after: Uint8Array, from: number, to: number,
    viaSyncMapping = false): void {
    if (to <= from) return;
    const start = alignDown8(from);
    const end = alignUp8(to);
    if (!(start >= 0 && end > start)) {
      throw new Error(`in-place record: bad range [${from}, ${to})`);
    }
    const pre = wordsOf(before, start, end), post = wordsOf(after, start, end);
    this.records.push({ time, start, pre, post, viaSyncMapping });
  }

  /**
   * Words of [from, to) whose last change was a store through a MAP_SYNC mapping: only
   * those does a flush through such a mapping promise (MAP_SYNC covers what the
   * application stored through a write fault; bytes a pwrite, punch or truncate changed
   * since are the file system's, durable at its next persistence point).
   */
  syncStoredWords(from: number, to: number): number[] {
    const out: number[] = [];
    for (let at = alignDown8(from); at < to; at += WORD_BYTES) {
      let last: InPlaceRecord | null = null;
      for (const r of this.records) {
        const covers = at >= r.start && at < r.start + r.post.length;
        if (covers && (!last || r.time >= last.time)) last = r;
      }
      if (last?.viaSyncMapping) out.push(at);
    }
    return out;
  }

  /** Words (file offsets) made durable by a MAP_SYNC flush at `time`, holding `content`. */
  setFloors(time: number, content: Uint8Array, words: number[]): void {
    for (const at of words) {
      this.floors.set(at / WORD_BYTES, { time, value: wordsOf(content, at, at + WORD_BYTES) });
    }
  }

  /**
   * Records of another inode's range [srcFrom, srcFrom + length) appear at dstFrom here (a
   * reflink).
   */
  inheritRange(from: InPlaceHistory, srcFrom: number, dstFrom: number, length: number): void {
    if ((dstFrom - srcFrom) % WORD_BYTES !== 0) {
      throw new Error('reflink offsets must keep word alignment');
    }
    // A copy: `from` may be this history (a clone within one file).
    for (const r of [...from.records]) {
      if (r.start + r.pre.length <= srcFrom || r.start >= srcFrom + length) continue;
      this.records.push({ ...r, start: r.start - srcFrom + dstFrom, viaSyncMapping: false });
    }
  }

  /**
   * Forget the floors of words in [from, to): their bytes moved (a collapse, an insert, an
   * exchange), so a floor there no longer names the word it was set on. Forgetting only
   * accepts more.
   */
  forgetFloors(from: number, to: number): void {
    for (const word of [...this.floors.keys()]) {
      if (word * WORD_BYTES >= from && word * WORD_BYTES < to) this.floors.delete(word);
    }
  }

  /**
   * May the word at file offset `at` hold image[at, at + n) when the metadata is that of a
   * state of time `stateTime` in which the file holds `content`?
   */
  allows(image: Uint8Array, at: number, n: number, content: Uint8Array,
    stateTime: number): boolean {
    const floor = this.floors.get(at / WORD_BYTES);
    if ((!floor || stateTime >= floor.time) && sameBytes(image, at, content, at, n)) return true;
    if (floor && sameBytes(image, at, floor.value, 0, n)) return true;
    const since = floor?.time ?? -1;
    for (const r of this.records) {
      if (r.time < since || at < r.start || at + n > r.start + r.post.length) continue;
      const shift = at - r.start;
      if (sameBytes(image, at, r.post, shift, n)) return true;
      if (sameBytes(image, at, r.pre, shift, n)) return true;
    }
    return false;
  }

  /** The same rule as allows(), as versions for the line table (see ModelOracle.dataRules). */
  versions(): { all: WordVersion[]; floored: FlooredWord[] } {
    const all: WordVersion[] = [];
    for (const r of this.records) {
      all.push({ data: r.pre, shift: r.start }, { data: r.post, shift: r.start });
    }
    const floored: FlooredWord[] = [];
    for (const [word, f] of this.floors) {
      const at = word * WORD_BYTES;
      all.push({ data: f.value, shift: at });
      const versions = [{ data: f.value, shift: at }];
      for (const r of this.records) {
        if (r.time >= f.time && at >= r.start && at + WORD_BYTES <= r.start + r.post.length) {
          versions.push({ data: r.pre, shift: r.start }, { data: r.post, shift: r.start });
        }
      }
      floored.push({ at, versions, time: f.time });
    }
    return { all, floored };
  }
}
