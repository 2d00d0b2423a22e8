// randomScript's range operations (copy, exchange, dedupe, collapse, insert): each keeps
// to the ranges the file system accepts, or draws the EINVAL it must give.
import { PAGE, drawOffset, type Draw } from './random-model.js';
import type { Rng } from '../random.js';

/**
 * copy_file_range between any two files (of either kind: unaligned or mixed-kind copies
 * are copied, aligned ones between files of one kind reflinked); within one file the
 * ranges are kept apart. The destination grows to the end of what is copied.
 */
function drawCopy(d: Draw): void {
  const { rng, m, files } = d;
  const src = rng.pick(files);
  const dst = rng.pick(files);
  const s = m.files.get(src)!;
  const t = m.files.get(dst)!;
  const srcOffset = drawOffset(rng, s.size + PAGE);
  const length = rng.chance(0.5) ? rng.between(1, 4) * PAGE : rng.between(1, d.maxOp);
  let dstOffset = drawOffset(rng, d.maxFile);
  if (s === t && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
    dstOffset = srcOffset + length;
  }
  d.emit({ op: 'copy', src, srcOffset, dst, dstOffset, length });
  const copied = Math.min(length, Math.max(0, s.size - srcOffset));
  if (copied > 0) t.size = Math.max(t.size, dstOffset + copied);
}

/**
 * Two page-aligned ranges of `pages` pages inside files of `pages1` and `pages2` pages,
 * apart when `same`; null when none fits.
 */
function drawPair(
  rng: Rng, pages1: number, pages2: number, same: boolean,
): { a: number; b: number; n: number } | null {
  const room = same ? Math.floor(pages1 / 2) : Math.min(pages1, pages2);
  if (room < 1) return null;
  const n = rng.between(1, Math.min(room, 8));
  if (!same) return { a: rng.below(pages1 - n + 1), b: rng.below(pages2 - n + 1), n };
  const lo = rng.below(pages1 - 2 * n + 1);
  const hi = lo + n + rng.below(pages1 - 2 * n - lo + 1);
  return rng.chance(0.5) ? { a: lo, b: hi, n } : { a: hi, b: lo, n };
}

/**
 * The files of the same kind (datacow or nodatacow) as `path`: exchange and dedupe need
 * two of one kind.
 */
function sameKind(d: Draw, path: string): string[] {
  const kind = d.m.files.get(path)!.nodatacow;
  return d.files.filter((f) => d.m.files.get(f)!.nodatacow === kind);
}

/**
 * XFS's EXCHANGE_RANGE: page-aligned ranges inside two files of one kind (not past EOF);
 * sizes stay.
 */
function drawExchange(d: Draw): void {
  const { rng, m } = d;
  const path1 = rng.pick(d.files);
  if (d.errors && rng.chance(0.1)) {
    d.emit({
      op: 'exchange', path1, offset1: 1, path2: path1, offset2: 2 * PAGE, length: PAGE,
    }, 'EINVAL');
    return;
  }
  const path2 = rng.pick(sameKind(d, path1));
  const [one, two] = [m.files.get(path1)!, m.files.get(path2)!];
  // Whole pages inside both files (a range may not pass EOF).
  const pair = drawPair(rng, Math.floor(one.size / PAGE), Math.floor(two.size / PAGE), one === two);
  if (!pair) { d.emit({ op: 'commit' }); return; }
  d.emit({
    op: 'exchange', path1, offset1: pair.a * PAGE, path2, offset2: pair.b * PAGE,
    length: pair.n * PAGE,
  });
}

/**
 * FIDEDUPERANGE between two files of one kind, inside both: half the time the two ranges
 * are first written with the same bytes (one seed), so that they are shared ('same'),
 * else they usually differ. Some lengths are unaligned (cut to whole pages).
 */
function drawDedupe(d: Draw): void {
  const { rng, m } = d;
  const src = rng.pick(d.files);
  const dst = rng.pick(sameKind(d, src));
  const [s, t] = [m.files.get(src)!, m.files.get(dst)!];
  const pair = drawPair(rng, Math.floor(s.size / PAGE), Math.floor(t.size / PAGE), s === t);
  if (!pair) { d.emit({ op: 'commit' }); return; }
  const [srcOffset, dstOffset] = [pair.a * PAGE, pair.b * PAGE];
  const length = pair.n * PAGE - (rng.chance(0.3) ? rng.below(PAGE) : 0);
  if (rng.chance(0.5)) {
    d.emit({ op: 'write', path: src, offset: srcOffset, length, seed: d.seq });
    d.emit({ op: 'write', path: dst, offset: dstOffset, length, seed: d.seq });
  }
  d.emit({ op: 'dedupe', src, srcOffset, dst, dstOffset, length });
}

/**
 * FALLOC_FL_COLLAPSE_RANGE: whole pages ending before EOF; now and then one reaching EOF
 * (EINVAL).
 */
function drawCollapse(d: Draw): void {
  const { rng, m } = d;
  const path = rng.pick(d.files);
  const ino = m.files.get(path)!;
  const before = Math.floor(Math.max(0, ino.size - 1) / PAGE); // whole pages that end before EOF
  if (before < 1 || (d.errors && rng.chance(0.1))) {
    if (d.errors) {
      const length = Math.max(PAGE, Math.ceil(ino.size / PAGE) * PAGE);
      d.emit({ op: 'collapse', path, offset: 0, length }, 'EINVAL');
    } else {
      d.emit({ op: 'commit' });
    }
    return;
  }
  const n = rng.between(1, Math.min(before, 8));
  const offset = rng.below(before - n + 1) * PAGE;
  d.emit({ op: 'collapse', path, offset, length: n * PAGE });
  ino.size -= n * PAGE;
}

/** FALLOC_FL_INSERT_RANGE: whole pages at a page below EOF; now and then at EOF (EINVAL). */
function drawInsert(d: Draw): void {
  const { rng, m } = d;
  const path = rng.pick(d.files);
  const ino = m.files.get(path)!;
  const length = rng.between(1, 4) * PAGE;
  if (ino.size === 0 || (d.errors && rng.chance(0.1))) {
    if (d.errors) {
      d.emit({ op: 'insert', path, offset: Math.ceil(ino.size / PAGE) * PAGE, length }, 'EINVAL');
    } else {
      d.emit({ op: 'commit' });
    }
    return;
  }
  if (ino.size + length > 2 * d.maxFile) { d.emit({ op: 'commit' }); return; }
  d.emit({ op: 'insert', path, offset: rng.below(Math.ceil(ino.size / PAGE)) * PAGE, length });
  ino.size += length;
}

export const RANGE_DRAWS: Record<
  'copy' | 'exchange' | 'dedupe' | 'collapse' | 'insert', (d: Draw) => void
> = {
  copy: drawCopy, exchange: drawExchange, dedupe: drawDedupe, collapse: drawCollapse,
  insert: drawInsert,
};
