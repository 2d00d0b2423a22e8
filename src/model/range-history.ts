// The reflink and range operations of a workload as the crash model applies them (the
// namespace side is range-model.ts and FsModel's clones), with what each does to the
// in-place history of nodatacow words (in-place.ts).
//
// Collapse, insert and exchange move extents in one transaction: a crash image shows the
// state before the operation or after it. An image of the state after it needs a commit
// after it, which makes the in-place stores before it durable; still, the history of
// unflushed in-place words (and stores through mappings, which a commit may not flush)
// follows the bytes to where they moved, besides staying where they were: both only accept
// more. Floors of moved words are forgotten (they name a word that moved).
import type { Op } from '../workload/ast.js';
import type { FsModel, MNode } from './namespace.js';
import { InPlaceHistory } from './in-place.js';
import {
  copyFileRange, exchangeRange, dedupeRange, collapseRange, insertRange, MODEL_MAX_FILE_BYTES,
} from './range-model.js';
import type { Expectation } from './expectation.js';

const PAGE_BYTES = 4096;

/** The in-place history of each inode that has one, by inode id. */
export class InPlaceBook extends Map<number, InPlaceHistory> {
  /** The history of `node`, begun when it has none. */
  of(node: MNode): InPlaceHistory {
    let h = this.get(node.id);
    if (!h) { h = new InPlaceHistory(); this.set(node.id, h); }
    return h;
  }

  /**
   * Record an in-place store of a nodatacow file at model time `time` (changed from
   * `before` to node.data over [from, to)).
   */
  record(time: number, node: MNode, before: Uint8Array, from: number, to: number,
    viaSyncMapping = false): void {
    if (!node.nodatacow) return;
    const end = Math.min(to, Math.max(before.length, node.data.length));
    this.of(node).record(time, before, node.data, from, end, viaSyncMapping);
  }

  /**
   * A store of `bytes` at [from, end) through a mapping of a nodatacow file, before the
   * model applies it: its part past EOF, in the EOF page, lands in the block in place. No
   * state of now reads it, but an older, longer one (a shrinking truncate not yet durable)
   * does. Its words, the one EOF splits whole, are recorded as changed from zeros (what the
   * truncate left there: its own record) to the stored bytes.
   */
  recordPastEof(time: number, node: MNode, from: number, end: number, bytes: Uint8Array): void {
    const pastFrom = Math.max(from, node.size);
    if (!node.nodatacow || end <= pastFrom) return;
    const after = new Uint8Array(end);
    after.set(node.data.subarray(0, Math.min(node.data.length, end)));
    if (from < node.size) after.set(bytes.subarray(0, node.size - from), from);
    after.set(bytes.subarray(pastFrom - from, end - from), pastFrom);
    this.of(node).record(time, node.data, after, pastFrom, end);
  }
}

function alignUpPage(x: number): number {
  return Math.ceil(x / PAGE_BYTES) * PAGE_BYTES;
}

export function applyClone(book: InPlaceBook, m: FsModel,
  op: Extract<Op, { op: 'clone' }>): Partial<Expectation> {
  const src = m.tryLookup(op.src);
  const range = op.range;
  if (range) m.cloneRange(op.src, range.srcOffset, op.dst, range.dstOffset, range.length);
  else m.cloneFile(op.src, op.dst);
  const dst = m.tryLookup(op.dst);
  // The destination shares the source's blocks: what the source's unflushed in-place
  // stores may leave there, it may leave in the destination too.
  const from = src ? book.get(src.id) : undefined;
  if (src && dst && from) {
    const r = op.range ?? { srcOffset: 0, dstOffset: 0, length: src.size };
    book.of(dst).inheritRange(from, r.srcOffset, r.dstOffset, alignUpPage(r.length));
  }
  return {};
}

/** copy_file_range at model time `time`. */
export function applyCopy(book: InPlaceBook, time: number, m: FsModel,
  op: Extract<Op, { op: 'copy' }>): Partial<Expectation> {
  const src = m.tryLookup(op.src);
  const dst = m.tryLookup(op.dst);
  const before = dst?.data;
  const r = copyFileRange(m, op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
  if (src && dst && before && r.copied > 0) {
    // A reflink shares the source's blocks (as clone); a copy writes the destination (in
    // place when nodatacow).
    const from = book.get(src.id);
    if (r.reflink && from) {
      book.of(dst).inheritRange(from, op.srcOffset, op.dstOffset, alignUpPage(r.copied));
    }
    if (!r.reflink) book.record(time, dst, before, op.dstOffset, op.dstOffset + r.copied);
  }
  return { value: `copied=${r.copied}`, early: r.early, errnos: new Set(r.alsoErrnos) };
}

export function applyExchange(book: InPlaceBook, m: FsModel,
  op: Extract<Op, { op: 'exchange' }>): Partial<Expectation> {
  const one = m.tryLookup(op.path1);
  const two = m.tryLookup(op.path2);
  const r = exchangeRange(m, op.path1, op.offset1, op.path2, op.offset2, op.length);
  if (!r.early && one && two) {
    const h1 = book.get(one.id);
    const h2 = book.get(two.id);
    if (h1) book.of(two).inheritRange(h1, op.offset1, op.offset2, op.length);
    if (h2) book.of(one).inheritRange(h2, op.offset2, op.offset1, op.length);
    h1?.forgetFloors(op.offset1, op.offset1 + op.length);
    h2?.forgetFloors(op.offset2, op.offset2 + op.length);
  }
  return { early: r.early };
}

export function applyDedupe(book: InPlaceBook, m: FsModel,
  op: Extract<Op, { op: 'dedupe' }>): Partial<Expectation> {
  const src = m.tryLookup(op.src);
  const dst = m.tryLookup(op.dst);
  const r = dedupeRange(m, op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
  // The destination now shares the source's blocks (as after a clone): the bytes are equal,
  // their unflushed words need not be.
  const from = src ? book.get(src.id) : undefined;
  if (r.deduped > 0 && dst && from) {
    book.of(dst).inheritRange(from, op.srcOffset, op.dstOffset, alignUpPage(r.deduped));
  }
  return { value: `${r.status} deduped=${r.deduped}`, early: r.early };
}

/** Collapse or insert a range. */
export function applyShift(book: InPlaceBook, m: FsModel,
  op: Extract<Op, { op: 'collapse' | 'insert' }>): Partial<Expectation> {
  const node = m.tryLookup(op.path);
  if (op.op === 'collapse') collapseRange(m, op.path, op.offset, op.length);
  else insertRange(m, op.path, op.offset, op.length);
  const h = node ? book.get(node.id) : undefined;
  if (h) {
    const from = op.op === 'collapse' ? op.offset + op.length : op.offset;
    const to = op.op === 'collapse' ? op.offset : op.offset + op.length;
    h.inheritRange(h, from, to, MODEL_MAX_FILE_BYTES);
    h.forgetFloors(op.offset, Infinity);
  }
  return {};
}
