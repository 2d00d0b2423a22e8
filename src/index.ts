export { FsError, ERRNO, type ErrnoName } from './errors.js';
export { loadCoreModule, type CoreTarget } from './core/module.js';
export {
  PmemDevice, LINE_BYTES, WORD_BYTES,
  type PmemOptions, type PmemConfig, type PmemHandle, type PmemCounters, type PersistenceDomain,
  type CrashMode, type CrashOptions, type CrashImage, type LineInfo, type FlushKind,
  type StoreBatchOptions,
} from './pmem/device.js';
export type { WriteListener } from './pmem/write-listeners.js';
export { crc32c, loadCrc32c } from './csum/crc32c.js';
export { Rng } from './random.js';
export { FileSystem } from './filesystem.js';
export { MAX_FILE_BYTES } from './fs/fs-common.js';
export {
  S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, makedev, major, minor,
  type SpecialKind,
} from './fs/special.js';
export type {
  MkfsOptions, Stat, StatFs, ScrubReport, ScrubError, SnapshotOptions, FallocateOptions, FileKind,
} from './fs/types.js';
export type { MountOptions, MmapOptions } from './filesystem.js';
export type { CommitParticipant } from './fs/commit-participants.js';
export {
  MAX_DEDUPE_BYTES, MAX_DEDUPE_DESTINATIONS, type DedupeResult, type DedupeDestination,
  type DedupeInfo,
} from './fs/range-ops.js';
export { DaxMapping, type MappingHandle } from './dax/mapping.js';
export { DaxManager } from './dax/manager.js';
export { DEFAULT_DAX_POLICY, POLICY_NAMES, type DaxPolicy } from './dax/policy.js';
export { WriterPool, type PoolOptions } from './workers/pool.js';
export {
  Writer, storeTag, slotPicker, type SlotPicker, type SlotLayout, type WorkloadSpec,
  type WorkloadResult, type WorkloadKind, type FaultService,
} from './workers/writer.js';
export {
  runScenarios, runThread000, runThread001, runThread002, runThread003, runThread004,
  type ScenarioRow, type ScenarioOptions, type ThreadId,
} from './scenarios/index.js';
export { formatScenarioTable } from './cli/scenario-table.js';
export { soak, type SoakOptions, type SoakReport } from './soak/index.js';
export * as workload from './workload/index.js';
export {
  parse as parseWorkload, print as printWorkload, ParseError as WorkloadParseError,
  Runner as WorkloadRunner, runScript,
  importFsx, importAce, exhaustive as exhaustiveWorkloads, randomScript as randomWorkload,
} from './workload/index.js';
export {
  guidedScript as guidedWorkload, type GuidedScriptOptions as GuidedWorkloadOptions,
} from './model/guided-script.js';
export type {
  Script as WorkloadScript, Stmt as WorkloadStmt, Op as WorkloadOp, RunResult as WorkloadRunResult,
  OpResult as WorkloadOpResult, RunnerOptions as WorkloadRunnerOptions,
  ImportResult as WorkloadImportResult,
} from './workload/index.js';
export {
  fuzz, checkScript, replay, minimise, type FuzzOptions, type FuzzReport, type FuzzFinding,
  type Reproducer, type CheckOptions, type ScriptCheck,
} from './crash/fuzz.js';
export { fuzzParallel, type ParallelFuzzOptions } from './crash/fuzz-parallel.js';
export {
  CrashExplorer, type CrashOracle, type PointReport, type Violation, type ExplorerOptions,
} from './crash/explorer.js';
export { ModelOracle } from './crash/oracle.js';
export {
  CrashModel, PERSISTENCE_POINTS, type Expectation, type Outcome, type ModelOptions,
} from './model/crash-model.js';
export { FsModel, ModelError } from './model/namespace.js';
export type { ViolationKind } from './crash/explorer.js';
export {
  imageFuzz, summarizeImageFuzz, closeImageFuzzDevices, type ImageFuzzOptions, type ImageFuzzCounts,
} from './image/fuzz-images.js';
