// Appending zero bytes to a crc32c register without reading them: polynomial arithmetic
// over GF(2) modulo the Castagnoli polynomial. Apart from crc32c.ts so that the SIMD lanes
// (crc32c-lanes.ts), which build their shift tables with it, and the slicing loop, which
// hands its large blocks to the lanes, do not import each other.
import { CRC_ZEROS_TABLE } from "../abi";

export const POLY_REFLECTED: u32 = 0x82f63b78;

// Polynomials over GF(2) in the reflected order crc32c uses: bit 31 is x^0.
export const X_POW_0: u32 = 0x80000000;

// a * b mod P (zlib's multmodp, for the Castagnoli polynomial).
export function multModP(a: u32, b: u32): u32 {
  let m: u32 = X_POW_0;
  let product: u32 = 0;
  while (m != 0) {
    if ((a & m) != 0) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>>= 1;
    b = (b & 1) != 0 ? (b >>> 1) ^ POLY_REFLECTED : b >>> 1;
  }
  return product;
}

/** crc32cZeros with the tables at `T` (the region being built, before it is attached). */
export function crc32cZerosWith(T: usize, crcIn: u32, count: u32): u32 {
  assert(T != 0, "crc32c tables not attached");
  let factor: u32 = X_POW_0;
  let n = count;
  for (let k: u32 = 0; n != 0; k++, n >>>= 1) {
    if ((n & 1) != 0) factor = multModP(load<u32>(T + CRC_ZEROS_TABLE + (<usize>k << 2)), factor);
  }
  return multModP(factor, crcIn);
}
