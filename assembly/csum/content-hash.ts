// A 53-bit digest of file contents, for the crash oracle: comparing a mounted image's
// files with the reference model's by digest instead of copying every byte out of the
// shared memory into JavaScript and comparing there (most of a crash check's time).
// Not a checksum of the format (that is crc32c) and not cryptographic.
//
// The bytes are read as 16-byte blocks of four little-endian u32 words (the last block
// zero-padded; the byte length is mixed in at the end). Word j of every block feeds
// sublane j of two independent murmur3-style lanes, A and B (SIMD: one i32x4 each), so a
// change confined to one word position must collide in a 32-bit A sublane and in a 32-bit
// B sublane at once; the sublanes are folded through a bijective mix in order (no change of
// one sublane cancels). 53 bits are kept (A's 32 above B's low 21: exact as a JavaScript
// number). The twin in src/model/content-hash.ts computes the same digest over a
// JavaScript array; test/content-hash.test.ts checks them against each other.
//
// The state between chunks lives in the calling thread's area (TA_DIGEST: A's four
// sublanes, then B's, then the padded last block): any thread may digest, each its own file
// at a time. The caller passes its address (`at`, index.ts), so that checksums do not import
// the device.

// Chunks fed to contentHashUpdate, except the last, are whole blocks.
const CONTENT_HASH_BLOCK_BYTES: usize = 16;

const SEED_A: u32 = 0x9747b28c;
const SEED_B: u32 = 0x2545f491;
// Sublane j starts at SEED ^ j * SUBLANE_SEED_STEP.
const SUBLANE_SEED_STEP: u32 = 0x9e3779b9;

export function contentHashBegin(at: usize): void {
  for (let j: u32 = 0; j < 4; j++) {
    store<u32>(at + (<usize>j << 2), SEED_A ^ (j * SUBLANE_SEED_STEP));
    store<u32>(at + 16 + (<usize>j << 2), SEED_B ^ (j * SUBLANE_SEED_STEP));
  }
}

// @ts-ignore: decorator
@inline function rotl4(v: v128, bits: i32): v128 {
  return v128.or(i32x4.shl(v, bits), i32x4.shr_u(v, 32 - bits));
}

// @ts-ignore: decorator
@inline function mixA(a: v128, w: v128): v128 {
  let k = i32x4.mul(w, i32x4.splat(0xcc9e2d51));
  k = i32x4.mul(rotl4(k, 15), i32x4.splat(0x1b873593));
  return i32x4.add(i32x4.mul(rotl4(v128.xor(a, k), 13), i32x4.splat(5)), i32x4.splat(0xe6546b64));
}

// @ts-ignore: decorator
@inline function mixB(b: v128, w: v128): v128 {
  let k = i32x4.mul(w, i32x4.splat(0x85ebca6b));
  k = i32x4.mul(rotl4(k, 17), i32x4.splat(0xc2b2ae35));
  return i32x4.add(i32x4.mul(rotl4(v128.xor(b, k), 11), i32x4.splat(9)), i32x4.splat(0x7f4a7c15));
}

// Feed `bytes` at `ptr` into this thread's state (every chunk but the last whole blocks).
export function contentHashUpdate(at: usize, ptr: usize, bytes: usize): void {
  let a = v128.load(at);
  let b = v128.load(at, 16);
  const end = ptr + (bytes & ~(CONTENT_HASH_BLOCK_BYTES - 1));
  for (let p = ptr; p < end; p += CONTENT_HASH_BLOCK_BYTES) {
    const w = v128.load(p);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  const tail = bytes & (CONTENT_HASH_BLOCK_BYTES - 1);
  if (tail != 0) {
    // The last block, zero-padded, composed in the state's own slot past B (TA_DIGEST + 32).
    const padded = at + 32;
    v128.store(padded, i32x4.splat(0));
    memory.copy(padded, end, tail);
    const w = v128.load(padded);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  v128.store(at, a);
  v128.store(at, b, 16);
}

function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >>> 16);
}

// The digest of `totalBytes` bytes fed since contentHashBegin.
export function contentHashFinal(at: usize, totalBytes: u64): f64 {
  const lo = <u32>totalBytes;
  const hi = <u32>(totalBytes >>> 32);
  let a = lo ^ rotl<u32>(hi, 7);
  for (let j: usize = 0; j < 4; j++) a = fmix32(a ^ load<u32>(at + (j << 2)));
  let b = a ^ lo;
  for (let j: usize = 0; j < 4; j++) b = fmix32(b ^ load<u32>(at + 16 + (j << 2)));
  return <f64>a * 2097152.0 + <f64>(b & 0x1fffff);
}
