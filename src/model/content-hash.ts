// The content digest of assembly/csum/content-hash.ts, over a JavaScript array: the model's
// side of a digest comparison (the mounted image's side is computed in the core as the file
// is read, FileSystem.contentDigest). Two murmur3-style lanes of four sublanes over 16-byte
// blocks of little-endian 32-bit words, the last block zero-padded, the length mixed in;
// 53 bits kept (the design is described in the core's file).
// test/content-hash.test.ts checks this twin against the core's on random contents.

const SEED_A = 0x9747b28c | 0;
const SEED_B = 0x2545f491 | 0;
const SUBLANE_SEED_STEP = 0x9e3779b9;
const BLOCK_BYTES = 16;

/** Digests by array: the model never changes file bytes in place (src/model/namespace.ts). */
const digests = new WeakMap<Uint8Array, number>();

/** The digest of `bytes` (remembered per array: callers must not change it afterwards). */
export function contentDigest(bytes: Uint8Array): number {
  let d = digests.get(bytes);
  if (d === undefined) {
    d = computeDigest(bytes);
    digests.set(bytes, d);
  }
  return d;
}

const rotl = (x: number, bits: number): number => (x << bits) | (x >>> (32 - bits));
const mixA = (a: number, w: number): number =>
  (Math.imul(rotl(a ^ Math.imul(rotl(Math.imul(w, 0xcc9e2d51), 15), 0x1b873593), 13), 5)
    + 0xe6546b64) | 0;
const mixB = (b: number, w: number): number =>
  (Math.imul(rotl(b ^ Math.imul(rotl(Math.imul(w, 0x85ebca6b), 17), 0xc2b2ae35), 11), 9)
    + 0x7f4a7c15) | 0;

/**
 * Sublane j of lane A and of lane B take word j of every 16-byte block
 * (assembly/csum/content-hash.ts).
 */
function computeDigest(bytes: Uint8Array): number {
  const a = [0, 1, 2, 3].map((j) => SEED_A ^ Math.imul(j, SUBLANE_SEED_STEP));
  const b = [0, 1, 2, 3].map((j) => SEED_B ^ Math.imul(j, SUBLANE_SEED_STEP));
  let a0 = a[0]!, a1 = a[1]!, a2 = a[2]!, a3 = a[3]!;
  let b0 = b[0]!, b1 = b[1]!, b2 = b[2]!, b3 = b[3]!;
  const whole = bytes.length - (bytes.length % BLOCK_BYTES);
  const aligned = bytes.byteOffset % 4 === 0;
  const words = aligned
    ? new Uint32Array(bytes.buffer, bytes.byteOffset, whole >>> 2)
    : blockWords(bytes, 0, whole);
  for (let i = 0; i < words.length; i += 4) {
    const w0 = words[i]!, w1 = words[i + 1]!, w2 = words[i + 2]!, w3 = words[i + 3]!;
    a0 = mixA(a0, w0); a1 = mixA(a1, w1); a2 = mixA(a2, w2); a3 = mixA(a3, w3);
    b0 = mixB(b0, w0); b1 = mixB(b1, w1); b2 = mixB(b2, w2); b3 = mixB(b3, w3);
  }
  if (whole < bytes.length) {
    const [w0, w1, w2, w3] = blockWords(bytes, whole, bytes.length);
    a0 = mixA(a0, w0!); a1 = mixA(a1, w1!); a2 = mixA(a2, w2!); a3 = mixA(a3, w3!);
    b0 = mixB(b0, w0!); b1 = mixB(b1, w1!); b2 = mixB(b2, w2!); b3 = mixB(b3, w3!);
  }
  return finish([a0, a1, a2, a3], [b0, b1, b2, b3], bytes.length);
}

/** Little-endian words of bytes [from, to), the last block zero-padded. */
function blockWords(bytes: Uint8Array, from: number, to: number): Uint32Array {
  const padded = new Uint8Array(Math.ceil((to - from) / BLOCK_BYTES) * BLOCK_BYTES);
  padded.set(bytes.subarray(from, to));
  return new Uint32Array(padded.buffer);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function finish(a: number[], b: number[], length: number): number {
  const lo = length >>> 0;
  const hi = Math.floor(length / 2 ** 32) >>> 0;
  let fa = lo ^ rotl(hi, 7);
  for (const x of a) fa = fmix32(fa ^ x);
  let fb = fa ^ lo;
  for (const x of b) fb = fmix32(fb ^ x);
  return (fa >>> 0) * 2097152 + (fb & 0x1fffff);
}
