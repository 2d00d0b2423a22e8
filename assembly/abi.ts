// The ABI of the pmcow core: every offset, size, flag and code that the core (assembly/)
// and its callers (src/, web/) both depend on, defined once, in the files of assembly/abi/,
// one per part (this file gathers them, so importers name only "abi"). scripts/gen-abi.mjs
// reads them in the order below and writes src/core/abi.ts and src/core/abi/*.ts for
// TypeScript; test/abi.test.ts fails when the two sides disagree. See docs/abi.md.
//
// Rules for those files (the generator reads them line by line):
// - one constant per line: `export const NAME: u8|u32|i32|u64 = EXPR; // comment`, where EXPR
//   is an integer literal or an expression of earlier constants (+ - * / << >> & | ~ ( ));
// - `// @ts object NAME` or `// @ts array NAME` before a group of constants also emits
//   them for TypeScript as one object (key: value) or array (index: key) named NAME; each
//   constant of the group starts its comment with its key in double quotes; the group
//   ends at the next blank line;
// - a file's opening comment, up to its first blank line, is for its readers only.

export * from "./abi/device-header";
export * from "./abi/lines";
export * from "./abi/store-log";
export * from "./abi/store-batch";
export * from "./abi/line-tables";
export * from "./abi/selectors";
export * from "./abi/dax";
export * from "./abi/errno";
export * from "./abi/node-format";
export * from "./abi/fs-state";
