// The core's ABI: line tables (assembly/abi.ts: the rules for these files; docs/abi.md).
// scripts/gen-abi.mjs writes src/core/abi/line-tables.ts from it.

// --- line tables (assembly/pmem/linecheck.ts) --------------------------------------------

// Table entry: [line u32][alternatives u32][alternativesAddr u32][flags u32][care u64], sorted by
// line.
export const LINE_RULE_BYTES: u32 = 24; // bytes per entry
export const LINE_RULE_LINE: u32 = 0; // u32 line index
export const LINE_RULE_ALTERNATIVES: u32 = 4; // u32 number of alternative lines
// u32 address of the alternative lines (LINE_BYTES each)
export const LINE_RULE_ALTERNATIVES_ADDR: u32 = 8;
export const LINE_RULE_FLAGS: u32 = 12; // u32 flags, written by pmem_line_table_prepare
// u64: bit b set = byte b of the line must equal that byte of an alternative; clear = any value
export const LINE_RULE_CARE: u32 = 16;
export const MEDIA_FAILS: u32 = 1; // flag: the line's media content is not allowed
export const LINE_RULE_MAX_ALTERNATIVES: u32 = 4096; // more alternatives in one entry: EINVAL
