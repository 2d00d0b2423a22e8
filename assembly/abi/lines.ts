// The core's ABI: lines, words and threads (assembly/abi.ts: the rules for these files;
// docs/abi.md). scripts/gen-abi.mjs writes src/core/abi/lines.ts from it.

// --- lines, words, threads -------------------------------------------------------------

export const LINE_BYTES: u32 = 64; // one cacheline
export const LINE_SHIFT: u32 = 6; // log2(LINE_BYTES)
export const WORD_BYTES: u32 = 8; // the unit a torn store keeps or loses
export const WORDS_PER_LINE: u32 = LINE_BYTES / WORD_BYTES;
export const MAX_THREADS: u32 = 32; // thread slots: the bits of H_THREAD_SLOTS
export const CRC_SLICE_TABLE_BYTES: u32 = 16 * 256 * 4; // slicing-by-16 crc32c tables
// 32 u32: x^(8 * 2^k) mod P, k = 0..31 (crc32cZeros)
export const CRC_ZEROS_TABLE: u32 = CRC_SLICE_TABLE_BYTES;
// 8 x 16 bytes: byte planes 0..3 of T0[v], then of T0[v << 4], v < 16 (crc32c-lanes.ts)
export const CRC_NIBBLE_TABLES: u32 = CRC_ZEROS_TABLE + 32 * 4;
export const CRC_SHIFT_TABLE_BYTES: u32 = 4 * 256 * 4; // one shift table: 4 byte planes x 256 u32
// 3 shift tables: a register followed by 256, 64 and 16 zero bytes (crc32c-lanes.ts)
export const CRC_SHIFT_TABLES: u32 = CRC_NIBBLE_TABLES + 8 * 16;
// the crc32c tables region
export const CRC_TABLE_BYTES: u32 = CRC_SHIFT_TABLES + 3 * CRC_SHIFT_TABLE_BYTES;

// Line state bits (one byte per line, region lineState).
export const LINE_PENDING: u8 = 1; // has store-log entries not yet on media
export const LINE_POISON: u8 = 2; // media error: loads fail
// pending in a fresh run whose entries are not written yet (assembly/pmem/fresh-runs.ts)
export const LINE_DEFERRED: u8 = 4;
// pmem_line_info returns (store-log entries << LINE_INFO_ENTRIES_SHIFT) | line state bits.
export const LINE_INFO_ENTRIES_SHIFT: u32 = 8;

// @ts object DOMAIN
export const DOMAIN_ADR: u32 = 0; // "adr": caches are volatile
export const DOMAIN_EADR: u32 = 1; // "eadr": caches are in the persistence domain
