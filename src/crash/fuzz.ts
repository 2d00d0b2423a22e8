// The crash-consistency fuzzer: seeded random workloads (src/workload) run step by step;
// at every crash point (before each fence, and after each operation) the explorer checks
// crash images against the oracle, and the live file system is checked after each step.
// A violation is minimised to a short reproducer that `pmcow replay` runs again.
import { checkScriptSizes } from '../workload/limits.js';
import { FsError, requireKnownOptions } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import { loadCoreModule } from '../core/module.js';
import { GAUGE, REGION, C_STORES, C_NT_STORES } from '../core/abi.js';
import { ZERO_PAGE_BYTENR } from '../dax/manager.js';
import type { DaxPolicy } from '../dax/policy.js';
import { Runner } from '../workload/run.js';
import { parse } from '../workload/parse.js';
import { print } from '../workload/print.js';
import { randomScript, exhaustive, exhaustiveCount } from '../workload/generate.js';
import { daxWorkload } from './dax-workload.js';
import { guidedScript } from '../model/guided-script.js';
import { lineOf, type Script } from '../workload/ast.js';
import { CrashExplorer, type Violation } from './explorer.js';
import { ModelOracle } from './oracle.js';
import { CrashModel, UNCHANGING_OPS, type Outcome } from '../model/crash-model.js';
import { checksumHex } from '../workload/pattern.js';
import { printStmt } from '../workload/print.js';
import type { Op, StmtCommon } from '../workload/ast.js';

export type PolicyName = keyof DaxPolicy;

export interface CheckOptions {
  /** Device size (default 4 MiB: small images, each materialised image is one copy of it). */
  sizeBytes?: number;
  /**
   * B-tree node size of the file system (default 4 KiB, so that small workloads have deep trees).
   */
  nodeSize?: number;
  /** Metadata profile of the file system (default 'single'). */
  metadataProfile?: 'single' | 'dup';
  samples?: number;
  enumerateBound?: number;
  exploreSeed?: number;
  /**
   * Crash points: before every fence and after every operation (default); also before
   * every store call ('store+fence+op'); or only after operations ('op').
   */
  points?: 'store+fence+op' | 'fence+op' | 'op';
  /** Decide images that share a mounted image's metadata by their data lines (default true). */
  lineTables?: boolean;
}

export interface ScriptCheck {
  violations: Violation[];
  ops: number;
  points: number;
  images: number;
  mounted: number;
  /** Why the model stopped judging the script part way (an operation outside it), or null. */
  unjudged: string | null;
}

export const DEFAULT_FUZZ_DEVICE_BYTES = 4 << 20;
const DEFAULT_FUZZ_NODE_BYTES = 4096;

const SKIPPED = new Set(['mkfs', 'mount', 'unmount', 'crash', 'comment']);

/**
 * A device and a crash target, reused script after script (shared memory is freed late).
 * `written` marks the 4 KiB blocks of `device` the last script may have written (the
 * file system's writes, and every block a mapping could store into): only those go back
 * to the garbage the next script starts on.
 */
interface FuzzDevices {
  device: PmemDevice;
  target: PmemDevice;
  /** A second handle on `device`: the crash explorer's own scratch (ExplorerOptions.workspace). */
  workspace: PmemDevice;
  written?: Uint8Array;
  /** Removes the listener that fills `written` (the previous script's, when a new one starts). */
  stopWatching?: () => void;
}

export function fuzzDevices(options: CheckOptions = {}): FuzzDevices {
  const config = {
    sizeBytes: options.sizeBytes ?? DEFAULT_FUZZ_DEVICE_BYTES, kernelBytes: 8 << 20, maxThreads: 2,
  };
  const device = PmemDevice.createSync(config);
  return {
    device, target: PmemDevice.createSync(config), workspace: PmemDevice.attach(device.handle()),
  };
}

/** Bytes every script's device starts from: see fillWithGarbage. */
function garbageByte(block: number): number {
  return 0x80 | ((block * 37) & 0x7f);
}

/**
 * Put the garbage back on the blocks the previous script may have written (all of them
 * the first time), and watch this script's writes. The result equals a fresh device
 * filled by fillWithGarbage (test/fuzz-garbage.test.ts checks it after real scripts).
 */
export function resetToGarbage(devices: FuzzDevices): void {
  const dev = devices.device;
  const blocks = Math.ceil(dev.sizeBytes / 4096);
  if (!devices.written) {
    fillWithGarbage(dev);
  } else {
    const w = devices.written;
    // Writes the file system does not report: mkfs zeroes the superblock slots, mount the zero
    // page.
    w[0] = 1; w[1] = 1;
    w[ZERO_PAGE_BYTENR / 4096] = 1;
    fillBlocks(dev, (block) => w[block] === 1);
  }
  const written = new Uint8Array(blocks);
  devices.written = written;
  devices.stopWatching?.();
  devices.stopWatching = dev.fsWrites.add((bytenr, bytes) => {
    const last = Math.min(blocks, Math.ceil((bytenr + bytes) / 4096));
    for (let b = Math.floor(bytenr / 4096); b < last; b++) written[b] = 1;
  });
}

/** Run one script under the explorer and the oracle. Deterministic for given options. */
/** What a caller of checkScript may watch (not part of a reproducer's options). */
interface CheckObserver {
  /**
   * Each crash violation found by mounting its image, with the device holding it (see
   * ExplorerOptions).
   */
  onViolationImage?: (violation: Violation, image: PmemDevice) => void;
  /** Each crash image the explorer mounts, before the mount (see ExplorerOptions.onImage). */
  onImage?: (image: PmemDevice) => void;
}

export function checkScript(
  script: Script, options: CheckOptions = {}, devices?: FuzzDevices, observer: CheckObserver = {},
): ScriptCheck {
  const violations: Violation[] = [];
  const totals: ScriptTotals = { ops: 0, unjudged: null, explorer: null, line: 0 };
  let dev: PmemDevice | null = null;
  let runner: Runner | null = null;
  try {
    devices ??= fuzzDevices(options);
    dev = devices.device;
    dev.crashInPlace(); // forget whatever the previous script left pending
    resetToGarbage(devices);
    FileSystem.mkfs(dev, {
      nodeSize: options.nodeSize ?? DEFAULT_FUZZ_NODE_BYTES,
      metadataProfile: options.metadataProfile ?? 'single',
    });
    runner = new Runner(dev, { implicitMount: false });
    runStatements(script, options, devices, runner, violations, totals, observer);
  } catch (e) {
    violations.push(internalError(`line ${totals.line}`, e));
  } finally {
    if (dev) { dev.beforeFence = null; dev.beforeStore = null; }
    try { runner?.close(); } catch (e) { violations.push(internalError('closing the runner', e)); }
  }
  const t = totals.explorer?.totals;
  return {
    violations, ops: totals.ops, points: t?.points ?? 0, images: t?.images ?? 0,
    mounted: t?.mounted ?? 0, unjudged: totals.unjudged,
  };
}

/**
 * Every script starts on a device whose bytes are the same garbage, whatever ran before
 * (a fresh device for a replay, a reused one in a campaign): each 4 KiB block holds one
 * non-zero byte value that depends on its address. A file system that shows a block it
 * never wrote (stale data, a hole filled without zeroing) shows garbage, not zeros that
 * would pass for a hole, and a reproducer replays exactly.
 */
export function fillWithGarbage(dev: PmemDevice): void {
  fillBlocks(dev, () => true);
}

/**
 * The garbage of fillWithGarbage on the 4 KiB blocks `chosen` picks, on a device with
 * nothing pending (fresh, or just crashed): its visible bytes are its media.
 */
function fillBlocks(dev: PmemDevice, chosen: (block: number) => boolean): void {
  const bytes = dev.sizeBytes;
  if (dev.core.pmem_gauge(GAUGE.linesPending) !== 0) {
    throw new FsError('EINVAL', 'garbage fill: the device has stores not yet on media');
  }
  // Filled a 32-bit word at a time (the device is a multiple of 64 bytes): a byte-wide fill of
  // shared memory took four times as long.
  const words = new Uint32Array(dev.memory.buffer, dev.region(REGION.visible), bytes >>> 2);
  // Written behind the core's back: the lines are stamped, a run of chosen blocks at a time.
  let runStart = -1;
  for (let block = 0; block * 4096 <= bytes; block++) {
    const inRun = block * 4096 < bytes && chosen(block);
    if (inRun) {
      words.fill(
        Math.imul(garbageByte(block), 0x01010101) >>> 0, block * 1024,
        Math.min(bytes, (block + 1) * 4096) >>> 2,
      );
      if (runStart < 0) runStart = block;
    } else if (runStart >= 0) {
      dev.markChanged(runStart * 4096, Math.min(bytes, block * 4096) - runStart * 4096);
      runStart = -1;
    }
  }
}

/** A finding of the checker's own failure (never the end of a campaign). */
export function internalError(point: string, e: unknown): Violation {
  const error = e instanceof Error ? e : new Error(String(e));
  const frames = (error.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim());
  return {
    kind: 'internal-error', point, image: { mode: 'random', seed: 0 }, generation: -1,
    problems: [`${error.name}: ${error.message}`, ...frames],
  };
}

/**
 * What one script's run leaves behind (also when it throws): counts, the explorer, the line it
 * reached.
 */
interface ScriptTotals {
  ops: number; unjudged: string | null; explorer: CrashExplorer | null; line: number;
}

/** Operations that change names, links, flags or mappings but no file's bytes. */
const NAMESPACE_OPS: ReadonlySet<string> = new Set([
  'create', 'mkdir', 'unlink', 'rmdir', 'rename', 'link', 'setflag', 'clearflag', 'mksubvol',
  'rmsubvol', 'freeze', 'thaw', 'mmap', 'munmap',
]);

/** Stores to the device so far (temporal and non-temporal, every thread). */
function storesOf(dev: PmemDevice): number {
  return dev.core.pmem_counter(C_STORES) + dev.core.pmem_counter(C_NT_STORES);
}

function runStatements(
  script: Script, options: CheckOptions, devices: FuzzDevices, runner: Runner,
  violations: Violation[], totals: ScriptTotals, observer: CheckObserver = {},
): void {
  const run = new StatementRun(script, options, devices, runner, violations, totals, observer);
  for (let i = 0; i < script.stmts.length; i++) {
    const stmt = script.stmts[i]!;
    if (stmt.op === 'comment') continue;
    if (stmt.op === 'policy') { runner.step(stmt, lineOf(script, i)); continue; }
    if (SKIPPED.has(stmt.op)) continue;
    if (!run.step(stmt, i)) return;
  }
}

/** One script's statements run under the crash model and the explorer (runStatements). */
class StatementRun {
  private readonly dev: PmemDevice;
  private explorer: CrashExplorer | null = null;
  private model: CrashModel | null = null;
  // An exception of the checker inside a fence or store hook must not unwind through the
  // file system (it would look like the file system's own failure): it is kept here.
  private hookError: unknown = null;
  private comparedAtStores = -1;
  /** The crc32c of a buffer, as the workload Runner prints it (one closure per script). */
  private readonly crcHex = (b: Uint8Array): string => checksumHex(this.dev.crc32cBytes(b));
  /** The index of the last statement that is an operation the check runs. */
  private readonly lastOp: number;

  constructor(
    private readonly script: Script, private readonly options: CheckOptions,
    private readonly devices: FuzzDevices, private readonly runner: Runner,
    private readonly violations: Violation[], private readonly totals: ScriptTotals,
    private readonly observer: CheckObserver,
  ) {
    this.dev = devices.device;
    let lastOp = script.stmts.length - 1;
    while (lastOp > 0
      && (script.stmts[lastOp]!.op === 'comment' || SKIPPED.has(script.stmts[lastOp]!.op))) {
      lastOp--;
    }
    this.lastOp = lastOp;
  }

  /** Run statement `i` and judge it; false when the script's check ends here. */
  step(stmt: Op & StmtCommon, i: number): boolean {
    const line = lineOf(this.script, i);
    this.totals.line = line;
    const model = this.model ?? this.start();
    const expect = model.begin(stmt);
    // The model, not the script's own `expect`, says what the operation must return.
    const { expect: _scriptExpect, ...bare } = stmt;
    const outcome = this.runner.step(bare as Op, line);
    this.totals.ops++;
    if (this.hookError) throw this.hookError;
    const where = `line ${line}: ${printStmt(stmt)}`;
    if ('kind' in outcome && outcome.kind !== 'unexpected-errno') {
      if (outcome.kind === 'script') {
        this.totals.unjudged = `${where}: ${outcome.message}`;
        return false;
      }
      return this.fail('unexpected-result', where, [`threw ${outcome.message}`]);
    }
    if (expect.unjudged) { this.totals.unjudged = `${where}: ${expect.unjudged}`; return false; }
    const result: Outcome = 'kind' in outcome
      ? { ok: false, errno: outcome.errno!, message: outcome.message }
      : {
        ok: true, ...(outcome.checksum !== undefined ? { checksum: outcome.checksum } : {}),
        ...(outcome.value !== undefined ? { value: outcome.value } : {}),
      };
    const problems = model.end(result, this.crcHex);
    if (problems.length) return this.fail('unexpected-result', where, problems);
    const fs = this.runner.fs!;
    if (fs.kernel.aborted) {
      return this.fail('abort', where, [`transaction aborted: ${fs.kernel.aborted}`]);
    }
    if (!this.compareLive(model, fs, stmt, i, where)) return false;
    const after = this.explorer!.explore(`line ${line}: after the operation`);
    this.violations.push(...after.violations);
    return true;
  }

  /**
   * The live file system must equal the model after every operation. After one that
   * changes nothing by its kind and stored nothing to the device since the last
   * comparison, that comparison stands (the next one, or the last statement's, sees any
   * change such an operation made to the file system's memory). False on a difference.
   */
  private compareLive(
    model: CrashModel, fs: FileSystem, stmt: Op & StmtCommon, i: number, where: string,
  ): boolean {
    const stores = storesOf(this.dev);
    const unchanged = UNCHANGING_OPS.has(stmt.op) && stores === this.comparedAtStores;
    if (unchanged && i < this.lastOp) return true;
    // Namespace operations change no file's bytes: their comparison leaves data out (the
    // next data operation's, or the last statement's, compares every file's bytes).
    const data = !NAMESPACE_OPS.has(stmt.op) || i === this.lastOp;
    const live = model.compareLive(fs, { data });
    if (live.length) return this.fail('live', `${where}: live`, live);
    this.comparedAtStores = stores;
    return true;
  }

  /** Before the first operation: mount, the model, the explorer and its crash points. */
  private start(): CrashModel {
    const { script, options, devices, observer, dev } = this;
    const mounted = this.runner.step({ op: 'mount' }, 0);
    if ('kind' in mounted) throw new FsError('EIO', `mount failed: ${mounted.message}`);
    // Images are read with their xattrs when the script sets any (a listxattr per entry
    // otherwise saved).
    const xattrs = script.stmts.some((x) => x.op === 'setxattr' || x.op === 'removexattr');
    const model = new CrashModel({
      deviceBytes: dev.sizeBytes, xattrs,
      nodeBytes: options.nodeSize ?? DEFAULT_FUZZ_NODE_BYTES,
    });
    const explorer = new CrashExplorer(dev, new ModelOracle(model), {
      samples: options.samples ?? 8, enumerateBound: options.enumerateBound ?? 10_000,
      seed: options.exploreSeed ?? 1, target: devices.target, workspace: devices.workspace,
      lineTables: options.lineTables ?? true,
      ...(observer.onViolationImage ? { onViolationImage: observer.onViolationImage } : {}),
      ...(observer.onImage ? { onImage: observer.onImage } : {}),
    });
    this.model = model;
    this.explorer = explorer;
    this.totals.explorer = explorer;
    const points = options.points ?? 'fence+op';
    let inside = false;
    const explore = (where: string): void => {
      if (inside || this.hookError) return;
      inside = true;
      try {
        const point = `line ${this.totals.line}: before a ${where}`;
        this.violations.push(...explorer.explore(point).violations);
      } catch (e) {
        this.hookError = e;
      } finally {
        inside = false;
      }
    };
    if (points !== 'op') dev.beforeFence = () => explore('fence');
    if (points === 'store+fence+op') dev.beforeStore = () => explore('store');
    return model;
  }

  private fail(kind: Violation['kind'], point: string, problems: string[]): false {
    const image = { mode: 'random' as const, seed: 0 };
    this.violations.push({ kind, point, image, generation: -1, problems });
    return false;
  }
}

export interface Reproducer {
  pmcow: 'reproducer';
  version: 1;
  point: string;
  problems: string[];
  options: CheckOptions;
  script: string;
}

/** Shorten a failing script: cut after the first violation, then drop statements greedily. */
export function minimise(
  script: Script, options: CheckOptions, budgetMs = 15_000,
  devices: FuzzDevices = fuzzDevices(options),
): Script {
  const started = performance.now();
  let stmts = script.stmts.filter((s) => s.op !== 'comment');
  const first = checkScript({ stmts }, options, devices).violations[0];
  // A smaller script must fail the same way (not, say, with the checker's own error).
  const fails = (s: Script): boolean => checkScript(s, options, devices).violations.some(
    (v) => v.kind === first?.kind,
  );
  const line = first ? Number(/line (\d+)/.exec(first.point)?.[1] ?? stmts.length) : stmts.length;
  if (line > 0 && line < stmts.length) {
    const cut = stmts.slice(0, line);
    if (fails({ stmts: cut })) stmts = cut;
  }
  for (let i = stmts.length - 1; i >= 0 && performance.now() - started < budgetMs; i--) {
    if (stmts[i]!.op === 'policy') continue;
    const candidate = stmts.slice(0, i).concat(stmts.slice(i + 1));
    if (fails({ stmts: candidate })) stmts = candidate;
  }
  return { stmts };
}

export function reproducerOf(
  script: Script, options: CheckOptions, violation: Violation,
): Reproducer {
  return {
    pmcow: 'reproducer', version: 1, point: violation.point,
    problems: violation.problems.slice(0, 3), options: checkOptionsOf(options),
    script: print(script),
  };
}

/** The options that decide a script's check (a reproducer keeps these, nothing else). */
const CHECK_OPTION_NAMES = [
  'sizeBytes', 'nodeSize', 'metadataProfile', 'samples', 'enumerateBound', 'exploreSeed',
  'points', 'lineTables',
] as const;

function checkOptionsOf(options: CheckOptions): CheckOptions {
  const out: CheckOptions = {};
  for (const k of CHECK_OPTION_NAMES) {
    if (options[k] !== undefined) (out as Record<string, unknown>)[k] = options[k];
  }
  return out;
}

/** Run a reproducer again: the same script, the same crash choices, the same result. */
export function replay(reproducer: Reproducer): ScriptCheck {
  const { script, options } = reproducerInput(reproducer);
  return checkScript(script, options);
}

/**
 * A reproducer's script and options, checked before anything runs: EINVAL when it is not a
 * reproducer or its options are out of bounds, EFBIG when its data lengths exceed the
 * device, a ParseError when its script does not parse.
 */
export function reproducerInput(reproducer: Reproducer): { script: Script; options: CheckOptions } {
  if (!reproducer || typeof reproducer !== 'object' || reproducer.pmcow !== 'reproducer'
    || reproducer.version !== 1 || typeof reproducer.script !== 'string') {
    throw new FsError('EINVAL', 'not a pmcow reproducer (version 1)');
  }
  const options = validCheckOptions(reproducer.options ?? {});
  const script = parse(reproducer.script);
  checkScriptSizes(script, options.sizeBytes ?? DEFAULT_FUZZ_DEVICE_BYTES);
  return { script, options };
}

/** Bounds of CheckOptions from outside (a reproducer file, the command line). */
export const CHECK_LIMITS = {
  sizeBytes: { min: 1 << 20, max: 256 << 20 },
  samples: { min: 0, max: 100_000 },
  enumerateBound: { min: 0, max: 1_000_000 },
} as const;

/**
 * CheckOptions as given, or EINVAL naming the field that is out of bounds: a hand-edited
 * reproducer with `samples: 1e9` gets an error, not an hour of work or an exhausted heap.
 */
function validCheckOptions(options: unknown): CheckOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FsError('EINVAL', 'reproducer options must be an object');
  }
  const o = options as Record<string, unknown>;
  const known = new Set<string>(CHECK_OPTION_NAMES);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new FsError('EINVAL', `unknown reproducer option '${k}'`);
  }
  const int = (name: keyof typeof CHECK_LIMITS): void => {
    const v = o[name];
    if (v === undefined) return;
    const { min, max } = CHECK_LIMITS[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new FsError(
        'EINVAL',
        `reproducer option ${name} must be an integer from ${min} to ${max}, `
          + `got ${JSON.stringify(v)}`,
      );
    }
  };
  int('sizeBytes'); int('samples'); int('enumerateBound');
  if (o.sizeBytes !== undefined && (o.sizeBytes as number) % 4096 !== 0) {
    throw new FsError('EINVAL', 'reproducer option sizeBytes must be a multiple of 4096');
  }
  if (o.nodeSize !== undefined
    && ![4096, 8192, 16384, 32768, 65536].includes(o.nodeSize as number)) {
    throw new FsError(
      'EINVAL', 'reproducer option nodeSize must be 4096, 8192, 16384, 32768 or 65536',
    );
  }
  if (o.metadataProfile !== undefined && o.metadataProfile !== 'single'
    && o.metadataProfile !== 'dup') {
    throw new FsError('EINVAL', "reproducer option metadataProfile must be 'single' or 'dup'");
  }
  if (o.points !== undefined
    && !['store+fence+op', 'fence+op', 'op'].includes(o.points as string)) {
    throw new FsError(
      'EINVAL', "reproducer option points must be 'store+fence+op', 'fence+op' or 'op'",
    );
  }
  if (o.exploreSeed !== undefined
    && (typeof o.exploreSeed !== 'number' || !Number.isSafeInteger(o.exploreSeed))) {
    throw new FsError('EINVAL', 'reproducer option exploreSeed must be an integer');
  }
  if (o.lineTables !== undefined && typeof o.lineTables !== 'boolean') {
    throw new FsError('EINVAL', 'reproducer option lineTables must be true or false');
  }
  return o as CheckOptions;
}

export interface FuzzOptions extends CheckOptions {
  seed?: number;
  /** Scripts to run (default: until timeMs). */
  scripts?: number;
  /** Operations per script (default 30). */
  ops?: number;
  timeMs?: number;
  /** Turn this switch off in every script. */
  policyOff?: PolicyName;
  /**
   * Workload generator: fsx-style, DAX-aimed, alternating (default), 'ace': the bounded
   * exhaustive ACE-style scripts of `aceK` core operations, in order (script i = the i-th),
   * or 'guided': the model-guided statements the model tests draw (src/model/guided-script.ts).
   */
  generator?: 'fsx' | 'dax' | 'mixed' | 'ace' | 'guided';
  /** Core operations per ACE-style script (default 1: every seq-1 workload). */
  aceK?: number;
  /** Hands out the next script position j (shared by threads); default j = 0, 1, 2, ... */
  claim?: () => number;
  /** Run only scripts i with i % count == index (deterministic partition of the work). */
  shard?: { index: number; count: number };
  minimise?: boolean;
  /** Stop after this many findings (default: run every script). */
  maxFindings?: number;
  /** Time budget of the minimiser per finding (default 15 s). */
  minimiseMs?: number;
  onScript?: (progress: FuzzProgress) => void;
  /** Called with each finding as soon as it is minimised. */
  onFinding?: (finding: FuzzFinding) => void;
}

export interface FuzzProgress {
  scripts: number; ops: number; points: number; images: number; mounted: number;
  violations: number; elapsedMs: number;
  /** Scripts the checker failed on (findings of kind internal-error). */
  internalErrors: number;
  /** Scripts the model stopped judging part way (an operation outside it). */
  unjudged: number;
}

export interface FuzzFinding {
  script: number;
  scriptSeed: number;
  /** The violation's kind ('internal-error': the checker itself failed on this script). */
  kind: Violation['kind'];
  violation: Violation;
  reproducer: Reproducer;
  /** When it was found: ms since the campaign began, and crash images checked by then. */
  elapsedMs: number;
  images: number;
}

export interface FuzzReport extends FuzzProgress {
  findings: FuzzFinding[];
  imagesPerSecond: number;
}

/** Every option fuzz() takes: another key is EINVAL (a misspelt one would be ignored). */
export const FUZZ_OPTION_NAMES: readonly string[] = [
  ...CHECK_OPTION_NAMES, 'seed', 'scripts', 'ops', 'timeMs', 'policyOff', 'generator', 'aceK',
  'claim', 'shard', 'minimise', 'maxFindings', 'minimiseMs', 'onScript', 'onFinding',
];

/** A fuzz campaign. Same options, same scripts, same findings. */
export async function fuzz(options: FuzzOptions = {}): Promise<FuzzReport> {
  requireKnownOptions(options, FUZZ_OPTION_NAMES, 'fuzz options');
  await loadCoreModule('release');
  const seed = options.seed ?? 1;
  const shard = options.shard ?? { index: 0, count: 1 };
  if (!Number.isSafeInteger(shard.count) || shard.count < 1 || !Number.isSafeInteger(shard.index)
    || shard.index < 0 || shard.index >= shard.count) {
    throw new FsError('EINVAL', 'shard must be k/n with 0 <= k < n');
  }
  const { limit, scriptAt } = scriptSource(options, shard);
  const started = performance.now();
  const progress: FuzzProgress = {
    scripts: 0, ops: 0, points: 0, images: 0, mounted: 0, violations: 0, elapsedMs: 0,
    internalErrors: 0, unjudged: 0,
  };
  const findings: FuzzFinding[] = [];
  const devices = fuzzDevices(options);
  for (let position = 0; ; position++) {
    // Scripts i = k + n*j of shard k/n, j = 0.. in order, or as claimed from a counter
    // shared with other threads (fuzzParallel: whichever thread is free takes the next).
    const j = options.claim ? options.claim() : position;
    if (j >= limit) break;
    const i = shard.index + shard.count * j;
    if (options.timeMs && performance.now() - started > options.timeMs) break;
    const scriptSeed = seed * 1_000_003 + i;
    const finding = fuzzOne(
      i, scriptSeed, () => scriptAt(i, scriptSeed), options, devices, progress, started,
    );
    if (finding) {
      findings.push(finding);
      options.onFinding?.(finding);
    }
    progress.elapsedMs = performance.now() - started;
    options.onScript?.({ ...progress });
    if (options.maxFindings !== undefined && findings.length >= options.maxFindings) break;
  }
  progress.elapsedMs = performance.now() - started;
  return { ...progress, findings, imagesPerSecond: progress.images / (progress.elapsedMs / 1000) };
}

/**
 * The campaign's scripts: how many (ACE scripts are a finite list: by default all of them,
 * split over the shards; the others as many as asked, or 10) and script i's.
 */
function scriptSource(
  options: FuzzOptions, shard: { index: number; count: number },
): { limit: number; scriptAt: (i: number, scriptSeed: number) => Script } {
  const generator = options.generator ?? 'mixed';
  const aceK = options.aceK ?? 1;
  const aceTotal = generator === 'ace' ? exhaustiveCount({ k: aceK }) : 0;
  const limit = generator === 'ace'
    ? Math.min(
      options.scripts ?? Number.MAX_SAFE_INTEGER, Math.ceil((aceTotal - shard.index) / shard.count),
    )
    : options.scripts ?? (options.timeMs ? Number.MAX_SAFE_INTEGER : 10);
  const aceScripts = generator === 'ace' ? exhaustive({ k: aceK }) : null;
  let aceNext = 0;
  const aceScript = (index: number): Script => {
    for (;;) {
      const next = aceScripts!.next();
      if (next.done) {
        throw new FsError(
          'EINVAL', `ACE script ${index} is beyond the ${aceTotal} scripts of k=${aceK}`,
        );
      }
      if (aceNext++ === index) return next.value.script;
    }
  };
  const policyOff = options.policyOff ? { policyOff: options.policyOff } : {};
  const scriptAt = (i: number, scriptSeed: number): Script => {
    if (generator === 'ace') return withPolicy(aceScript(i), options.policyOff);
    if (generator === 'guided') {
      const script = guidedScript({ seed: scriptSeed, ops: options.ops ?? 30 });
      return withPolicy(script, options.policyOff);
    }
    if (generator === 'dax' || (generator === 'mixed' && i % 2 === 0)) {
      return daxWorkload({ seed: scriptSeed, ops: options.ops ?? 30, ...policyOff });
    }
    return randomScript({
      seed: scriptSeed, ops: options.ops ?? 30, ...policyOff, maxFileBytes: 64 << 10,
      maxOpBytes: 16 << 10,
    });
  };
  return { limit, scriptAt };
}

/**
 * Check script i, and minimise what it finds (within the campaign's time). Anything the
 * generator, the checker or the minimiser throws becomes a finding of kind internal-error.
 */
function fuzzOne(
  i: number, scriptSeed: number, make: () => Script, campaign: FuzzOptions, devices: FuzzDevices,
  progress: FuzzProgress, started: number,
): FuzzFinding | null {
  let script: Script = { stmts: [] };
  // Every fourth script keeps two copies of every tree block, unless the campaign chose.
  const options: FuzzOptions = campaign.metadataProfile === undefined && i % 4 === 3
    ? { ...campaign, metadataProfile: 'dup' } : campaign;
  const found = (violation: Violation, small: Script): FuzzFinding => ({
    script: i, scriptSeed, kind: violation.kind, violation,
    reproducer: reproducerOf(small, options, violation),
    elapsedMs: Math.round(performance.now() - started), images: progress.images,
  });
  try {
    script = make();
    const result = checkScript(script, options, devices);
    progress.scripts++;
    progress.ops += result.ops;
    progress.points += result.points;
    progress.images += result.images;
    progress.mounted += result.mounted;
    progress.violations += result.violations.length;
    if (result.unjudged) progress.unjudged++;
    const first = result.violations[0];
    if (!first) return null;
    if (first.kind === 'internal-error') { progress.internalErrors++; return found(first, script); }
    const at = found(first, script);
    const left = options.timeMs
      ? options.timeMs - (performance.now() - started) : Number.POSITIVE_INFINITY;
    const budget = Math.max(0, Math.min(options.minimiseMs ?? 15_000, left));
    if (options.minimise === false || budget === 0) return at;
    const small = minimise(script, options, budget, devices);
    const violation = checkScript(small, options, devices).violations[0] ?? first;
    return {
      ...at, kind: violation.kind, violation, reproducer: reproducerOf(small, options, violation),
    };
  } catch (e) {
    progress.internalErrors++;
    return found(internalError(`script ${i}`, e), script);
  }
}

/** `script` with `policy NAME=off` in front (ACE scripts have no switch of their own). */
function withPolicy(script: Script, policyOff: PolicyName | undefined): Script {
  return policyOff
    ? { stmts: [{ op: 'policy', name: policyOff, value: false }, ...script.stmts] } : script;
}
