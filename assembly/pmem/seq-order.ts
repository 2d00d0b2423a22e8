// Sequence numbers: the order of the log's entries. Each thread numbers its own parts from
// its clock (TL_CLOCK); what must hold is that a line's entries are numbered in the order
// they were linked (program order of one line, which crash images take prefixes of), and
// that a flush point (the newest number of the lines a clwb covered) is above every entry
// of those lines made before it and below every one made after.
//  - One thread attached: the thread's clock is above every number given so far (attach
//    raises it: seqAttach), so numbering from it keeps both; this is the one shared log's
//    head, as before the rings were split.
//  - eADR: stores are serialized (store-locks.ts) and numbered from one count in the
//    header, H_EADR_NEXT_SEQ: a crash cut is a prefix of that one order.
//  - Several threads (ADR): Lamport clocks. Each line keeps the newest number given to it
//    or to a flush over it (the line sequence numbers, H_LINE_SEQ); a store numbers its
//    parts above its clock and above its lines' numbers, and a flush raises its lines'
//    numbers to its point. Stripe locks make both happen atomically per line. Threads
//    share no counter: a store reads and writes only its own lines' words.
// Under ADR a crash keeps a prefix of each line independently, so no order across lines
// is needed beyond that; eADR's cut across lines uses the serialized order.
import { TL_CLOCK, H_EADR_NEXT_SEQ, DOMAIN_EADR } from "../abi";
import { lineSeqAddr, domain, headerAddr, logCapacity, lineCount } from "./state";
import { CHECKS } from "../shared/checks";
import { myRing, ringAt, ringsInUse } from "./ring";
import { storesLockStripes } from "./store-mode";
import { seqBefore } from "./seq-compare";

@inline function lineSeqWord(line: u32): usize { return lineSeqAddr + (<usize>line << 2); }

// The first number of a store of `lines` parts from `first` on, several threads storing: at
// or after `clock`, and part k's number (first + k) after line first + k's word. The words
// and the clock lie within 2^31 of each other, so the newest is the largest signed
// difference from the clock: four lines at a time (a page store has 64, and comparing them
// one by one was a twentieth of a DAX writer's 4 KiB store).
@inline function aboveLines(clock: u32, first: u32, lines: u32): u32 {
  // a store of no parts, or one past the device
  if (CHECKS) assert(lines > 0 && <u64>first + <u64>lines <= <u64>lineCount);
  const clocks = i32x4.splat(<i32>clock);
  let ahead = i32x4.splat(0);
  let part = i32x4(1, 0, -1, -2); // 1 - k for parts k .. k + 3
  let k: u32 = 0;
  for (; k + 4 <= lines; k += 4) {
    const above = i32x4.add(v128.load(lineSeqWord(first + k)), part);
    ahead = i32x4.max_s(ahead, i32x4.sub(above, clocks));
    part = i32x4.sub(part, i32x4.splat(4));
  }
  let most = max<i32>(max<i32>(i32x4.extract_lane(ahead, 0), i32x4.extract_lane(ahead, 1)),
    max<i32>(i32x4.extract_lane(ahead, 2), i32x4.extract_lane(ahead, 3)));
  for (; k < lines; k++) {
    most = max<i32>(most, <i32>(load<u32>(lineSeqWord(first + k)) + 1 - k - clock));
  }
  // not what numbering one line at a time from the clock gives
  if (CHECKS) assert(clock + <u32>most == aboveLinesOneByOne(clock, first, lines));
  return clock + <u32>most;
}

// Debug builds: aboveLines one line at a time, as it used to be.
function aboveLinesOneByOne(clock: u32, first: u32, lines: u32): u32 {
  assert(lines > 0 && <u64>first + <u64>lines <= <u64>lineCount,
    "seq order: lines numbered outside the device");
  let seq = clock;
  for (let k: u32 = 0; k < lines; k++) {
    const above = load<u32>(lineSeqWord(first + k)) + 1 - k; // part k is numbered seq + k
    if (seqBefore(seq, above)) seq = above;
  }
  return seq;
}

// Line first + k's word takes part k's number, seq + k.
@inline function numberLines(seq: u32, first: u32, lines: u32): void {
  let numbers = i32x4(<i32>seq, <i32>seq + 1, <i32>seq + 2, <i32>seq + 3);
  let k: u32 = 0;
  for (; k + 4 <= lines; k += 4) {
    v128.store(lineSeqWord(first + k), numbers);
    numbers = i32x4.add(numbers, i32x4.splat(4));
  }
  for (; k < lines; k++) store<u32>(lineSeqWord(first + k), seq + k);
  // the last line's word is not its part's number
  if (CHECKS) assert(load<u32>(lineSeqWord(first + lines - 1)) == seq + lines - 1);
}

/** Numbers for a store's `lines` parts, lines first.. (consecutive, one per part, in order). */
@inline export function allocateSeq(first: u32, lines: u32): u32 {
  // a store of no parts, or more than a ring holds
  if (CHECKS) assert(lines > 0 && lines <= logCapacity);
  const ring = myRing();
  const clock = load<u32>(ring + TL_CLOCK);
  if (domain != DOMAIN_EADR
    && !storesLockStripes()) { store<u32>(ring + TL_CLOCK, clock + lines); return clock; }
  return allocateSeqShared(ring, clock, first, lines);
}

// allocateSeq under eADR or with several threads storing.
function allocateSeqShared(ring: usize, clock: u32, first: u32, lines: u32): u32 {
  assert(domain == DOMAIN_EADR || storesLockStripes(),
    "seq order: shared numbering with one thread storing");
  let seq = clock;
  if (domain == DOMAIN_EADR) {
    // Serialized by the store lock: one count for every thread (a thread's clock may lag).
    const next = load<u32>(headerAddr + H_EADR_NEXT_SEQ);
    if (seqBefore(seq, next)) seq = next;
    store<u32>(headerAddr + H_EADR_NEXT_SEQ, seq + lines);
  } else if (storesLockStripes()) {
    seq = aboveLines(clock, first, lines);
    numberLines(seq, first, lines);
  }
  store<u32>(ring + TL_CLOCK, seq + lines);
  assert(!seqBefore(seq, clock), "seq order: a store numbered below its thread's clock");
  return seq;
}

/**
 * The flush point of a clwb of lines [first, first + count): above or equal to every entry
 * of those lines made so far, below every one made after (several threads: the lines'
 * numbers are raised to it).
 */
export function flushPoint(first: u32, count: u32): u32 {
  assert(count > 0, "seq order: a flush point of no lines");
  const ring = myRing();
  let point = load<u32>(ring + TL_CLOCK) - 1;
  if (!storesLockStripes()) return point;
  for (let l = first; l < first + count; l++) {
    const s = load<u32>(lineSeqWord(l));
    if (seqBefore(point, s)) point = s;
  }
  for (let l = first; l < first + count; l++) store<u32>(lineSeqWord(l), point);
  store<u32>(ring + TL_CLOCK, point + 1);
  return point;
}

/** A number above every one given so far (the newest clock of every ring). */
export function seqAfterAll(): u32 {
  let next: u32 = 0, first = true;
  for (let rings = ringsInUse(); rings != 0; rings &= rings - 1) {
    const c = load<u32>(ringAt(ctz(rings)) + TL_CLOCK);
    if (first || seqBefore(next, c)) next = c;
    first = false;
  }
  return next;
}

/** A thread attaches (under the world lock): its clock goes above every number given so far. */
export function seqAttach(): void {
  store<u32>(myRing() + TL_CLOCK, seqAfterAll());
  assert(load<u32>(myRing() + TL_CLOCK) == seqAfterAll(),
    "seq order: an attached clock below another's");
}
