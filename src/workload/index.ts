// The workload language: a plain-text script of file-system, mapping and crash
// operations (docs/workload.md), its parser and printer, a runner, importers for fsx
// operation logs and CrashMonkey/ACE j-lang workloads, and generators.
export type * from './ast.js';
export { OP_NAMES, lineOf, opsOf } from './ast.js';
export { parse, parseLine, parseNumber, ParseError } from './parse.js';
export { print, printStmt } from './print.js';
export { Rng } from '../random.js';
export { patternBytes, checksumHex } from './pattern.js';
export {
  Runner, runScript, ScriptError,
  type RunnerOptions, type OpResult, type RunResult, type RunFailure, type FailureKind,
} from './run.js';
export {
  importFsx, FSX_OPS, FSX_UNSUPPORTED, type FsxImportOptions, type ImportResult, type ImportIssue,
} from './fsx.js';
export { importAce, ACE_UNSUPPORTED, type AceImportOptions } from './ace.js';
export {
  exhaustive, exhaustiveCount, coreOpChoices, persistenceChoices, buildAceScript, describeCore,
  siblingOf, randomScript, RANDOM_KINDS,
  CORE_OPS, ACE_FILES, ACE_SECOND_FILES, ACE_DIRS, ACE_RANGES, ACE_DWRITE_RANGES, ACE_SIZES,
  ACE_FALLOC_MODES, ACE_SETUP_BYTES, ACE_PERSISTENCE,
  type CoreOpName, type CoreOp, type Persistence, type FallocMode, type ExhaustiveOptions,
  type GeneratedScript, type RandomOptions, type RandomKind,
} from './generate.js';
