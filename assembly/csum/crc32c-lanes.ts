// crc32c of 256-byte-and-larger blocks in SIMD lanes: sixteen streams at once, one per
// byte lane of a v128, with 4-bit tables looked up by i8x16.swizzle.
//
// Why: WebAssembly has no carry-less multiply and no crc32 instruction, and the slicing-by-16
// table loop (crc32c.ts) costs about five instructions per byte (a byte load, an index, an
// address, a table load, a xor). A datacow write checksums its 4 KiB and its commit the used
// bytes of every tree block it dirtied: the two were a quarter of the engine bench's
// datacow pwrite profile. Here one swizzle looks up sixteen bytes.
//
// A block of 16 x S bytes is split into sixteen streams of S bytes (stream j at p + j*S). The
// crc register of stream j is held in byte lane j of four vectors (plane b = byte b of the
// register). One byte step of all sixteen streams is the byte-at-a-time update
//     c = (c >>> 8) ^ T0[(c ^ byte) & 0xff]
// where T0 is linear (T0[a ^ b] = T0[a] ^ T0[b]), so T0[i] = T0[i & 0x0f] ^ T0[i & 0xf0]: each
// byte of T0[i] is one 16-entry lookup by the low nibble xor one by the high nibble, which is
// what swizzle does in every lane. The bytes of step k of every stream come from a 16 x 16
// byte transpose of sixteen loads (four rounds of byte interleaves).
//
// The streams are then joined: a crc register is linear in the bytes before it, so
// crc(A || B) = shift_|B|(crc(A)) ^ crc_0(B), with crc_0 the raw register of B from zero, and
// shift_S (appending S zero bytes) is linear in the register: four 256-entry tables per S.
// Stream 0 starts from the caller's register, the others from zero.
//
// Tables (in the shared crc32c region, after the slicing and zeros tables: built once):
//   CRC_NIBBLE_TABLES: 8 x 16 bytes: planes 0..3 of T0[v] (low nibble v), then of T0[v << 4].
//   CRC_SHIFT_TABLES: for S = 256, 64, 16 (blocks of 4 KiB, 1 KiB, 256 B): 4 x 256 u32.
import { CRC_NIBBLE_TABLES, CRC_SHIFT_TABLES, CRC_SHIFT_TABLE_BYTES } from "../abi";
import { crc32cZerosWith } from "./crc32c-zeros";
import { CHECKS } from "../shared/checks";

/** Stream lengths in bytes, one per block size (16 x S), largest first. */
export const LANE_STREAM_BYTES_4K: u32 = 256;
export const LANE_STREAM_BYTES_1K: u32 = 64;
export const LANE_STREAM_BYTES_256: u32 = 16;

/** Which shift table serves stream length `s` (0, 1, 2). */
@inline function shiftTableIndex(s: u32): u32 {
  return s == LANE_STREAM_BYTES_4K ? 0 : s == LANE_STREAM_BYTES_1K ? 1 : 2;
}

/**
 * Build the nibble and shift tables in the region at `tables`, from T0 (the first slicing
 * table) and the zeros table (crc32cZeros): both built before.
 */
export function crc32cLaneTablesBuild(tables: usize): void {
  const nibbles = tables + CRC_NIBBLE_TABLES;
  assert((nibbles & 15) == 0, "crc32c lanes: nibble tables unaligned");
  for (let v: u32 = 0; v < 16; v++) {
    const low = load<u32>(tables + (<usize>v << 2));
    const high = load<u32>(tables + (<usize>(v << 4) << 2));
    for (let b: u32 = 0; b < 4; b++) {
      store<u8>(nibbles + (<usize>b << 4) + v, <u8>(low >>> (b << 3)));
      store<u8>(nibbles + (<usize>(4 + b) << 4) + v, <u8>(high >>> (b << 3)));
    }
  }
  for (let t: u32 = 0; t < 3; t++) {
    const shift = tables + CRC_SHIFT_TABLES + <usize>t * CRC_SHIFT_TABLE_BYTES;
    const length = t == 0 ? LANE_STREAM_BYTES_4K : t == 1 ? LANE_STREAM_BYTES_1K
      : LANE_STREAM_BYTES_256;
    assert(shiftTableIndex(length) == t, "crc32c lanes: shift table order");
    for (let b: u32 = 0; b < 4; b++) {
      for (let x: u32 = 0; x < 256; x++) {
        store<u32>(shift + (<usize>((b << 8) + x) << 2),
          crc32cZerosWith(tables, x << (b << 3), length));
      }
    }
  }
}

// The four byte planes of the sixteen streams' registers between the calls of one block:
// instance globals (each thread's own instance), read and written once per 128 bytes.
let b0: v128 = i32x4(0, 0, 0, 0);
let b1: v128 = i32x4(0, 0, 0, 0);
let b2: v128 = i32x4(0, 0, 0, 0);
let b3: v128 = i32x4(0, 0, 0, 0);

// Byte interleaves of two vectors: the low halves, the high halves.
@inline function interleaveLow(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
@inline function interleaveHigh(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}

/**
 * The raw crc register after the block of 16 x `s` bytes at `p`, from register `crcIn`:
 * sixteen bytes of every stream at a time.
 */
export function crc32cLanesBlock(tables: usize, crcIn: u32, p: usize, s: u32): u32 {
  assert(s == LANE_STREAM_BYTES_4K || s == LANE_STREAM_BYTES_1K || s == LANE_STREAM_BYTES_256,
    "crc32c lanes: stream length");
  assert(tables != 0, "crc32c lanes: tables not attached");
  // Lane 0 starts from crcIn, the other streams from zero.
  b0 = i32x4(<i32>(crcIn & 0xff), 0, 0, 0); b1 = i32x4(<i32>((crcIn >>> 8) & 0xff), 0, 0, 0);
  b2 = i32x4(<i32>((crcIn >>> 16) & 0xff), 0, 0, 0); b3 = i32x4(<i32>(crcIn >>> 24), 0, 0, 0);
  for (let at: usize = 0; at < <usize>s; at += 16) {
    absorbColumns(tables + CRC_NIBBLE_TABLES, p + at, <usize>s);
  }
  return joinStreams(tables, s);
}

/**
 * Bytes [q, q + 16) of each stream (stream j at q + j * stride) into the registers: a 16 x 16
 * byte transpose in locals (no scratch memory: instances share the memory, and a static
 * buffer would be every thread's at once), then one byte step per column.
 */
@inline function absorbColumns(nib: usize, q: usize, stride: usize): void {
  let r0 = v128.load(q), r1 = v128.load(q + stride), r2 = v128.load(q + 2 * stride),
    r3 = v128.load(q + 3 * stride);
  let r4 = v128.load(q + 4 * stride), r5 = v128.load(q + 5 * stride),
    r6 = v128.load(q + 6 * stride), r7 = v128.load(q + 7 * stride);
  let r8 = v128.load(q + 8 * stride), r9 = v128.load(q + 9 * stride),
    r10 = v128.load(q + 10 * stride), r11 = v128.load(q + 11 * stride);
  let r12 = v128.load(q + 12 * stride), r13 = v128.load(q + 13 * stride),
    r14 = v128.load(q + 14 * stride), r15 = v128.load(q + 15 * stride);
  // Four rounds of interleaves of row i with row i + 8 (rows 2i and 2i + 1 of the next
  // round): element (row r, column c) moves to (r << 1 | c >> 3, (c & 7) << 1 | r >> 3), a
  // rotation of the 8 bits (r, c) by one, so four rounds swap r and c.
  for (let round = 0; round < 4; round++) {
    const t0 = interleaveLow(r0, r8), t1 = interleaveHigh(r0, r8), t2 = interleaveLow(r1, r9),
      t3 = interleaveHigh(r1, r9);
    const t4 = interleaveLow(r2, r10), t5 = interleaveHigh(r2, r10), t6 = interleaveLow(r3, r11),
      t7 = interleaveHigh(r3, r11);
    const t8 = interleaveLow(r4, r12), t9 = interleaveHigh(r4, r12), t10 = interleaveLow(r5, r13),
      t11 = interleaveHigh(r5, r13);
    const t12 = interleaveLow(r6, r14), t13 = interleaveHigh(r6, r14), t14 = interleaveLow(r7, r15),
      t15 = interleaveHigh(r7, r15);
    r0 = t0; r1 = t1; r2 = t2; r3 = t3; r4 = t4; r5 = t5; r6 = t6; r7 = t7;
    r8 = t8; r9 = t9; r10 = t10; r11 = t11; r12 = t12; r13 = t13; r14 = t14; r15 = t15;
  }
  // r<k> now holds byte k of every stream, stream j in lane j.
  absorbEight(nib, r0, r1, r2, r3, r4, r5, r6, r7);
  absorbEight(nib, r8, r9, r10, r11, r12, r13, r14, r15);
}

/**
 * Eight byte steps of all sixteen streams, columns c0..c7 in order: per step
 * c = (c >>> 8) ^ T0[(c ^ byte) & 0xff] in byte planes, each byte of T0[i] a swizzle by the
 * low nibble xor one by the high nibble. The planes stay in locals for the eight steps.
 */
@inline function absorbEight(
  nib: usize, c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128,
): void {
  const l0 = v128.load(nib), l1 = v128.load(nib, 16), l2 = v128.load(nib, 32),
    l3 = v128.load(nib, 48);
  const h0 = v128.load(nib, 64), h1 = v128.load(nib, 80), h2 = v128.load(nib, 96),
    h3 = v128.load(nib, 112);
  const lowNibble = i8x16.splat(0x0f);
  let p0 = b0, p1 = b1, p2 = b2, p3 = b3;
  let index: v128, lo: v128, hi: v128;
  index = v128.xor(p0, c0);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c1);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c2);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c3);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c4);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c5);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c6);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  index = v128.xor(p0, c7);
  lo = v128.and(index, lowNibble); hi = v128.and(i16x8.shr_u(index, 4), lowNibble);
  p0 = v128.xor(p1, v128.xor(v128.swizzle(l0, lo), v128.swizzle(h0, hi)));
  p1 = v128.xor(p2, v128.xor(v128.swizzle(l1, lo), v128.swizzle(h1, hi)));
  p2 = v128.xor(p3, v128.xor(v128.swizzle(l2, lo), v128.swizzle(h2, hi)));
  p3 = v128.xor(v128.swizzle(l3, lo), v128.swizzle(h3, hi));
  b0 = p0; b1 = p1; b2 = p2; b3 = p3;
}

/** The register of the sixteen streams in order, from their registers in byte planes. */
function joinStreams(tables: usize, s: u32): u32 {
  // Planes to registers: bytes (0, 1) and (2, 3) paired, then the pairs: lane j's register.
  const w0 = interleaveLow(b0, b1), w1 = interleaveHigh(b0, b1);
  const x0 = interleaveLow(b2, b3), x1 = interleaveHigh(b2, b3);
  const r0 = i8x16.shuffle(w0, x0, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const r1 = i8x16.shuffle(w0, x0, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const r2 = i8x16.shuffle(w1, x1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const r3 = i8x16.shuffle(w1, x1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const shift = tables + CRC_SHIFT_TABLES + <usize>shiftTableIndex(s) * CRC_SHIFT_TABLE_BYTES;
  // From register 0: the shift of 0 is 0, so stream 0's register comes out as it is.
  return joinFour(shift, joinFour(shift, joinFour(shift, joinFour(shift, 0, r0), r1), r2), r3);
}

/** The register so far followed by the four streams whose registers are the lanes of `r`. */
@inline function joinFour(shift: usize, crc: u32, r: v128): u32 {
  if (CHECKS) assert(shift != 0 && (shift & 3) == 0); // no shift table, or an unaligned one
  crc = shiftThen(shift, crc, <u32>i32x4.extract_lane(r, 0));
  crc = shiftThen(shift, crc, <u32>i32x4.extract_lane(r, 1));
  crc = shiftThen(shift, crc, <u32>i32x4.extract_lane(r, 2));
  return shiftThen(shift, crc, <u32>i32x4.extract_lane(r, 3));
}

/** shift_S(crc) ^ next: the register of the streams so far, followed by the next stream's. */
@inline function shiftThen(shift: usize, crc: u32, next: u32): u32 {
  return load<u32>(shift + (<usize>(crc & 0xff) << 2))
    ^ load<u32>(shift + 1024 + (<usize>((crc >>> 8) & 0xff) << 2))
    ^ load<u32>(shift + 2048 + (<usize>((crc >>> 16) & 0xff) << 2))
    ^ load<u32>(shift + 3072 + (<usize>(crc >>> 24) << 2))
    ^ next;
}
