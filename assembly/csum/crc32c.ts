// crc32c (Castagnoli, reflected polynomial 0x82F63B78) as btrfs uses it: seed ~0,
// final xor ~0. Slicing-by-16: sixteen 1 KiB tables, 16 input bytes per step.
// The tables live in the shared region (built once by the formatting thread) rather
// than in a data segment, because every instantiation re-applies data segments.
import { CRC_ZEROS_TABLE } from "../abi";
import {
  crc32cLaneTablesBuild, crc32cLanesBlock, LANE_STREAM_BYTES_4K, LANE_STREAM_BYTES_1K,
  LANE_STREAM_BYTES_256,
} from "./crc32c-lanes";
import { POLY_REFLECTED, X_POW_0, multModP, crc32cZerosWith } from "./crc32c-zeros";

// Where the tables are: read from the region's header at attach (pmem/state.ts
// loadStateFromHeader sets it). Kept here, with its readers, so that checksums do not
// import the device.
export let crcTablesAddr: usize = 0;

// Below this many bytes the slicing loop runs alone (the lanes' smallest block).
const LANE_BLOCK_MIN_BYTES: usize = 16 * LANE_STREAM_BYTES_256;

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
  // x^(8 * 2^k) mod P: x^8 (one zero byte) squared k times.
  let power: u32 = X_POW_0 >>> 8;
  for (let k: u32 = 0; k < 32; k++) {
    store<u32>(tables + CRC_ZEROS_TABLE + (<usize>k << 2), power);
    power = multModP(power, power);
  }
  crc32cLaneTablesBuild(tables);
}

// The raw crc register after `count` more zero bytes: crc * x^(8 count) mod P, in
// popcount(count) multiplications instead of `count` table steps. Why: a tree block's
// unused middle (the gap between a leaf's items and its data, an internal node's tail)
// is zeros, often most of the block, and the tree blocks' checksums were the largest part
// of a datacow commit's time in a CPU profile of the engine bench's pwrite loop.
export function crc32cZeros(crcIn: u32, count: u32): u32 {
  return crc32cZerosWith(crcTablesAddr, crcIn, count);
}

@inline function tab(tables: usize, t: u32, index: u32): u32 {
  return load<u32>(tables + (<usize>t << 10) + (<usize>(index & 0xff) << 2));
}

// A table entry for an index already below 256 (no mask).
@inline function tabByte(tables: usize, t: u32, index: u32): u32 {
  return load<u32>(tables + (<usize>t << 10) + (<usize>index << 2));
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
  // Blocks of 256 bytes and more go to the SIMD lanes, the largest block sizes first.
  while (n >= LANE_BLOCK_MIN_BYTES) {
    const stream: u32 = n >= 16 * LANE_STREAM_BYTES_4K ? LANE_STREAM_BYTES_4K
      : n >= 16 * LANE_STREAM_BYTES_1K ? LANE_STREAM_BYTES_1K : LANE_STREAM_BYTES_256;
    crc = crc32cLanesBlock(T, crc, p, stream);
    p += 16 * stream; n -= 16 * stream;
  }
  while (n >= 16) {
    const w0 = load<u32>(p) ^ crc;
    // Bytes 4..15 are loaded one by one: a byte load is the index, where extracting it from
    // a word costs a shift and a mask (64 KiB: 2.12 -> 2.31 GB/s, bench/results.md). Table
    // offsets as the loads' immediate offsets measured slower (V8 adds them apart).
    crc = tab(T, 15, w0) ^ tab(T, 14, w0 >>> 8) ^ tab(T, 13, w0 >>> 16) ^ tabByte(T, 12, w0 >>> 24)
        ^ tabByte(T, 11, load<u8>(p, 4)) ^ tabByte(T, 10, load<u8>(p, 5))
        ^ tabByte(T, 9, load<u8>(p, 6)) ^ tabByte(T, 8, load<u8>(p, 7))
        ^ tabByte(T, 7, load<u8>(p, 8)) ^ tabByte(T, 6, load<u8>(p, 9))
        ^ tabByte(T, 5, load<u8>(p, 10)) ^ tabByte(T, 4, load<u8>(p, 11))
        ^ tabByte(T, 3, load<u8>(p, 12)) ^ tabByte(T, 2, load<u8>(p, 13))
        ^ tabByte(T, 1, load<u8>(p, 14)) ^ tabByte(T, 0, load<u8>(p, 15));
    p += 16; n -= 16;
  }
  while (n > 0) {
    crc = (crc >>> 8) ^ tab(T, 0, crc ^ load<u8>(p));
    p++; n--;
  }
  return crc;
}

// crc32c of [ptr, ptr + len) whose tail may be zeros (a superblock: a few hundred bytes
// of fields in a 4 KiB slot): the bytes up to the last non-zero 8-byte word, then the zeros
// by crc32cZeros. One load more than crc32c when the last word is not zero.
export function crc32cZeroTail(ptr: usize, len: usize): u32 {
  let end = ptr + len;
  while (end - ptr >= 8 && load<u64>(end - 8) == 0) end -= 8;
  const crc = crc32cZeros(crc32cUpdate(0xffffffff, ptr, end - ptr), <u32>(ptr + len - end));
  return crc ^ 0xffffffff;
}

export function crc32c(ptr: usize, len: usize): u32 {
  return crc32cUpdate(0xffffffff, ptr, len) ^ 0xffffffff;
}
