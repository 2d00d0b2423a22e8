// crc32c (Castagnoli, reflected polynomial 0x82F63B78) as btrfs uses it: seed ~0,
// final xor ~0. Slicing-by-16: sixteen 1 KiB tables, 16 input bytes per step.
// The tables live in the shared region (built once by the formatting thread) rather
// than in a data segment, because every instantiation re-applies data segments.
import { crcTablesAddr } from "../pmem/state";

const POLY_REFLECTED: u32 = 0x82f63b78;

export function crc32cBuildTables(tables: usize): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    store<u32>(tables + (<usize>i << 2), c);
  }
  for (let t: u32 = 1; t < 16; t++) {
    for (let i: u32 = 0; i < 256; i++) {
      const prev = load<u32>(tables + (<usize>(t - 1) << 10) + (<usize>i << 2));
      const next = (prev >>> 8) ^ load<u32>(tables + (<usize>(prev & 0xff) << 2));
      store<u32>(tables + (<usize>t << 10) + (<usize>i << 2), next);
    }
  }
  assert(load<u32>(tables + 4) == 0xf26b8303, "crc32c table 0 entry 1");
}

@inline function tab(tables: usize, t: u32, index: u32): u32 {
  return load<u32>(tables + (<usize>t << 10) + (<usize>(index & 0xff) << 2));
}

// Raw update: no pre/post inversion; crc32cUpdate(~0, ...) ^ ~0 is the standard value.
export function crc32cUpdate(crcIn: u32, ptr: usize, len: usize): u32 {
  const T = crcTablesAddr;
  assert(T != 0, "crc32c tables not attached");
  let crc = crcIn;
  let p = ptr;
  let n = len;
  // Bytes until 4-byte alignment so the 16-byte loop uses aligned loads.
  while (n > 0 && (p & 3) != 0) {
    crc = (crc >>> 8) ^ tab(T, 0, crc ^ load<u8>(p));
    p++; n--;
  }
  while (n >= 16) {
    const w0 = load<u32>(p) ^ crc;
    const w1 = load<u32>(p, 4);
    const w2 = load<u32>(p, 8);
    const w3 = load<u32>(p, 12);
    crc = tab(T, 15, w0) ^ tab(T, 14, w0 >>> 8) ^ tab(T, 13, w0 >>> 16) ^ tab(T, 12, w0 >>> 24)
        ^ tab(T, 11, w1) ^ tab(T, 10, w1 >>> 8) ^ tab(T, 9, w1 >>> 16) ^ tab(T, 8, w1 >>> 24)
        ^ tab(T, 7, w2) ^ tab(T, 6, w2 >>> 8) ^ tab(T, 5, w2 >>> 16) ^ tab(T, 4, w2 >>> 24)
        ^ tab(T, 3, w3) ^ tab(T, 2, w3 >>> 8) ^ tab(T, 1, w3 >>> 16) ^ tab(T, 0, w3 >>> 24);
    p += 16; n -= 16;
  }
  while (n > 0) {
    crc = (crc >>> 8) ^ tab(T, 0, crc ^ load<u8>(p));
    p++; n--;
  }
  return crc;
}

export function crc32c(ptr: usize, len: usize): u32 {
  return crc32cUpdate(0xffffffff, ptr, len) ^ 0xffffffff;
}
