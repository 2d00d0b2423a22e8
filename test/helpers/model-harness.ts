// The model-based tests' harness: each workload statement runs on the file system through
// the workload Runner and on the model (src/model/apply-op.ts), and the outcomes are compared: the
// same result, or an FsError whose code the model allows. After each statement the paths
// it touched are compared too; checkTree compares everything.
import type { ErrnoName } from '../../src/errors.js';
import type { PmemDevice } from '../../src/pmem/device.js';
import type { FileSystem } from '../../src/filesystem.js';
import { opsOf, type Op, type OpName } from '../../src/workload/ast.js';
import { parse } from '../../src/workload/parse.js';
import { printStmt } from '../../src/workload/print.js';
import { checksumHex } from '../../src/workload/pattern.js';
import { Runner, type OpResult, type RunFailure } from '../../src/workload/run.js';
import { FsModel, ModelError, Unspecified } from './fs-model.js';
import { applyToModel, type ModelValue } from '../../src/model/apply-op.js';
import { TreeChecker, Mismatch, differ, firstDiff, type StatLike } from './model-tree-check.js';

export { Mismatch };

/** Statements that must fail whole on ENOSPC (a pre-check before any change). */
const ATOMIC_ON_ENOSPC: ReadonlySet<OpName> = new Set<OpName>([
  'mkdir', 'create', 'write', 'fallocate', 'unlink', 'rmdir', 'rename', 'link',
  'setflag', 'snapshot', 'mksubvol', 'rmsubvol', 'open', 'commit', 'fsync', 'close',
]);
/** Statements that may fail with ENOSPC partway (edge writes without a pre-check). */
const PARTIAL_ON_ENOSPC: ReadonlySet<OpName> = new Set<OpName>([
  'truncate', 'punch', 'zero', 'clone',
]);

type Outcome =
  | { ok: true; value: ModelValue }
  | { ok: false; codes: ErrnoName[] }
  | { ok: 'unspecified'; reason: string };

export interface HarnessStats {
  ops: number;
  skipped: number;
  errors: number;
  /** Statements run, by form (opForm). */
  byOp: Record<string, number>;
  errorsByCode: Record<string, number>;
  skippedByReason: Record<string, number>;
  remounts: number;
  fullChecks: number;
}

/** The file system ran out of space where the model succeeded (allowed in ENOSPC mode). */
class OutOfSpace extends Error {}

/**
 * An operation's form: its keyword, and what tells its variants apart (through a path or
 * a descriptor, a whole file or a range).
 */
export function opForm(op: Op): string {
  switch (op.op) {
    case 'open': case 'write': case 'fsync': return `${op.op}${op.fd !== undefined ? ' fd' : ''}`;
    case 'read': {
      if (op.fd !== undefined) return 'read fd';
      return op.offset === undefined ? 'read whole' : 'read';
    }
    case 'clone': return `clone${op.range ? ' range' : ' file'}`;
    case 'setflag': return `setflag ${op.flag}`;
    default: return op.op;
  }
}

/** Paths a statement touches (compared after it runs), with their parent directories. */
function touchedPaths(op: Op): string[] {
  const paths: string[] = [];
  const add = (p: string): void => {
    paths.push(p);
    const i = p.lastIndexOf('/');
    paths.push(i <= 0 ? '/' : p.slice(0, i));
  };
  switch (op.op) {
    case 'rename': case 'link': add(op.from); add(op.to); break;
    case 'clone': add(op.src); add(op.dst); break;
    case 'snapshot': add(op.dst); break;
    case 'write': case 'read': case 'fsync': if (op.path !== undefined) add(op.path); break;
    case 'open': add(op.path); break;
    case 'commit': case 'close': break;
    default: if ('path' in op && typeof op.path === 'string') add(op.path);
  }
  return [...new Set(paths)];
}

/** States inside a statement that an implicit commit may have made durable. */
function intermediateStates(before: FsModel, op: Op): FsModel[] {
  // A whole-file clone truncates (or creates) its destination, then clones into it.
  if (op.op !== 'clone' || op.range) return [];
  const m = before.clone();
  try {
    const node = m.tryLookup(op.dst);
    if (node && node.kind === 'file') m.truncate(op.dst, 0);
    else if (!node) m.create(op.dst);
    else return [];
  } catch (e) {
    if (e instanceof ModelError || e instanceof Unspecified) return [];
    throw e;
  }
  return [m];
}

/**
 * Runs statements on the file system (through a Runner) and on the model side by side.
 * Any difference throws Mismatch (with the statement); the caller adds the seed and the
 * history.
 */
export class Harness extends TreeChecker {
  /** Open descriptors: the statement's name -> the model's descriptor number. */
  readonly fds = new Map<string, number>();
  readonly history: Op[] = [];
  readonly stats: HarnessStats = {
    ops: 0, skipped: 0, errors: 0, byOp: {}, errorsByCode: {}, skippedByReason: {},
    remounts: 0, fullChecks: 0,
  };
  /**
   * The states a crash may legally show: the model at the last commit. Besides commit,
   * fsync and unmount, the file system may commit on its own inside an op (a snapshot
   * does; so may a full dirty-node pool): statfs().generation tells. With
   * trackDurable on, such an op leaves the states before it, inside it (a whole-file
   * clone truncates or creates first) and after it as candidates.
   */
  durable: FsModel[];
  /** Clone the model around every op to follow implicit commits (crash tests). */
  trackDurable = false;
  /** Ops during which the file system committed on its own. */
  implicitCommits = 0;
  /**
   * ENOSPC mode (a small device): an op may fail with ENOSPC where the model succeeds.
   * An op of ATOMIC_ON_ENOSPC must then have changed nothing (the model is rolled back and
   * the touched paths compared); after one of PARTIAL_ON_ENOSPC the model takes over the
   * touched file as the file system left it (size and bytes; everything else must match).
   */
  enospcMode = false;
  readonly enospc: Record<string, number> = {};
  private line = 0;

  constructor(readonly runner: Runner, readonly model: FsModel = new FsModel()) {
    super();
    this.durable = [model.clone()];
  }

  /** mkfs + mount a fresh device. */
  static fresh(device: PmemDevice): Harness {
    const h = new Harness(new Runner(device, { implicitMount: false }));
    h.script('mkfs\nmount');
    return h;
  }

  /** Mount `device` (a crash image) for a model of what it holds. */
  static mount(device: PmemDevice, model: FsModel = new FsModel()): Harness {
    const h = new Harness(new Runner(device, { implicitMount: false }), model);
    h.script('mount');
    return h;
  }

  get fs(): FileSystem {
    const fs = this.runner.fs;
    if (!fs) throw new Error('the harness has no mounted file system');
    return fs;
  }

  get device(): PmemDevice {
    return this.runner.device;
  }

  /** The single state of the last explicit commit (when no implicit commit followed it). */
  get committed(): FsModel {
    const n = this.durable.length;
    if (n !== 1) throw new Error(`${n} candidate durable states`);
    return this.durable[0]!;
  }

  generation(): number {
    return this.fs.statfs().generation;
  }

  /** The names of the open descriptors. */
  openFds(): string[] {
    return [...this.fds.keys()];
  }

  /**
   * Run statements on the file system only (mount, unmount: the model does not see
   * them); each must succeed.
   */
  script(text: string): void {
    const r = this.runner.run(text);
    if (!r.ok) throw new Error(`${r.failure!.text}: ${r.failure!.message}`);
  }

  /** Run each statement of a script on both sides (apply). */
  applyScript(text: string): void {
    for (const op of opsOf(parse(text))) this.apply(op);
  }

  /** Run one statement on both sides, then check the paths it touched. */
  apply(op: Op, check = true): void {
    this.history.push(op);
    this.stats.ops++;
    const form = opForm(op);
    this.stats.byOp[form] = (this.stats.byOp[form] ?? 0) + 1;
    const before = this.trackDurable ? this.model.clone() : undefined;
    const genBefore = this.trackDurable ? this.generation() : 0;
    const out = this.applyRollingBack(op);
    this.followDurable(op, before, genBefore);
    this.count(out);
    if (check) for (const p of touchedPaths(op)) this.checkPath(p);
  }

  /** In ENOSPC mode, undo (or adopt) what the model did where the file system ran out of space. */
  private applyRollingBack(op: Op): Outcome {
    if (!this.enospcMode) return this.both(op);
    const rollback = this.model.clone(true);
    const names = new Map(this.fds);
    try {
      return this.both(op);
    } catch (e) {
      if (!(e instanceof OutOfSpace)) throw e;
      this.enospc[op.op] = (this.enospc[op.op] ?? 0) + 1;
      this.model.assignFrom(rollback);
      // Descriptors the statement bound or closed are as they were on both sides.
      this.fds.clear();
      for (const [name, fd] of names) this.fds.set(name, fd);
      if (PARTIAL_ON_ENOSPC.has(op.op)) this.adopt(op);
      return { ok: false, codes: ['ENOSPC'] };
    }
  }

  /** A commit or fsync makes the model durable; with trackDurable, so may any statement. */
  private followDurable(op: Op, before: FsModel | undefined, genBefore: number): void {
    if (op.op === 'commit' || op.op === 'fsync') this.durable = [this.model.clone()];
    else if (before && this.generation() !== genBefore) {
      this.implicitCommits++;
      this.durable = [before, ...intermediateStates(before, op), this.model.clone()];
    }
  }

  private count(out: Outcome): void {
    if (out.ok === 'unspecified') {
      this.stats.skipped++;
      this.stats.skippedByReason[out.reason] = (this.stats.skippedByReason[out.reason] ?? 0) + 1;
    } else if (out.ok === false) {
      this.stats.errors++;
      const c = out.codes.join('|');
      this.stats.errorsByCode[c] = (this.stats.errorsByCode[c] ?? 0) + 1;
    }
  }

  /** What the model says `op` returns (it is applied to the model). */
  private expected(op: Op): Outcome {
    try {
      return { ok: true, value: applyToModel(this.model, op, this.fds) };
    } catch (e) {
      if (e instanceof Unspecified) return { ok: 'unspecified', reason: e.message };
      if (!(e instanceof ModelError)) throw e;
      return { ok: false, codes: e.codes };
    }
  }

  /** Run on both sides; compare. Returns the model outcome. */
  private both(op: Op): Outcome {
    const what = printStmt(op);
    const expected = this.expected(op);
    if (expected.ok === 'unspecified') return expected;
    const got = this.runner.step(op, ++this.line);
    if ('kind' in got) return this.failed(op, what, got, expected);
    if (expected.ok === false) {
      const codes = either(expected.codes);
      throw new Mismatch(`${what}: fs succeeded${shown(got)}, model expected ${codes}`);
    }
    this.compareValue(op, what, got, expected.value);
    return expected;
  }

  /** The file system failed: with an errno the model allows, or not. */
  private failed(op: Op, what: string, got: RunFailure, expected: Outcome): Outcome {
    if (got.kind === 'script') {
      throw new Error(`${what}: the harness misused the language: ${got.message}`);
    }
    if (got.kind !== 'unexpected-errno' || got.errno === undefined) {
      const err = got.error as Error | undefined;
      throw new Mismatch(`${what}: threw ${got.message} (not an FsError)\n${err?.stack ?? ''}`);
    }
    const code = got.errno;
    const judged = ATOMIC_ON_ENOSPC.has(op.op) || PARTIAL_ON_ENOSPC.has(op.op);
    if (code === 'ENOSPC' && this.enospcMode && judged) {
      throw new OutOfSpace(`${what}: ${got.message}`);
    }
    if (expected.ok === true) {
      const value = modelShown(expected.value);
      throw new Mismatch(`${what}: fs threw ${code} (${got.message}), model succeeded${value}`);
    }
    if (expected.ok === false && !expected.codes.includes(code)) {
      const codes = either(expected.codes);
      throw new Mismatch(`${what}: fs threw ${code} (${got.message}), model expected ${codes}`);
    }
    return expected;
  }

  /** The result of a read, stat or readdir against the model's. */
  private compareValue(op: Op, what: string, got: OpResult, value: ModelValue): void {
    if (value.kind === 'written') {
      if (got.bytes === value.count) return;
      throw new Mismatch(`${what}: pwrite wrote ${got.bytes} bytes, the model ${value.count}`);
    }
    if (value.kind === 'bytes') {
      const sum = checksumHex(this.device.crc32cBytes(value.bytes));
      if (got.bytes === value.bytes.length && got.checksum === sum) return;
      throw new Mismatch(`${what}: results differ: ${this.readDiff(op, value.bytes, got, sum)}`);
    }
    if (value.kind === 'stat') {
      const st = parseStat(got.value ?? '');
      if (!this.statMatches(pathOf(op) ?? '', st, value.stat)) {
        throw new Mismatch(`${what}: results differ: ${differ(st, value.stat)}`);
      }
      return;
    }
    if (value.kind === 'names') {
      const names = got.value ? got.value.split(' ').sort() : [];
      if (JSON.stringify(names) !== JSON.stringify(value.names)) {
        throw new Mismatch(`${what}: results differ: ${differ(names, value.names)}`);
      }
    }
  }

  /** Where a whole-file read differs (read again), or the checksums and lengths. */
  private readDiff(op: Op, bytes: Uint8Array, got: OpResult, sum: string): string {
    if (op.op === 'read' && op.path !== undefined && op.offset === undefined) {
      try { return firstDiff(this.fs.readFile(op.path), bytes); } catch { /* the checksums then */ }
    }
    return `fs ${got.bytes} bytes crc32c ${got.checksum}, `
      + `model ${bytes.length} bytes crc32c ${sum}`;
  }

  /** After a partial ENOSPC: take the touched file's size and bytes from the file system. */
  private adopt(op: Op): void {
    const path = op.op === 'clone' ? op.dst : pathOf(op);
    if (path === undefined) return;
    let exists: boolean;
    try { exists = this.fs.exists(path); } catch { return; }
    const node = this.model.tryLookup(path);
    if (exists && !node) {
      try { this.model.create(path); } catch { return; }
    }
    const target = this.model.tryLookup(path);
    if (!exists || !target || target.kind !== 'file') return;
    target.data = this.fs.readFile(path);
  }

  protected override countFullCheck(): void {
    this.stats.fullChecks++;
  }

  fsck(): string[] {
    return this.fs.fsck();
  }

  /** Close every descriptor on both sides (not counted as the test's statements). */
  closeAll(): void {
    for (const name of [...this.fds.keys()]) {
      const out = this.both({ op: 'close', fd: name });
      if (out.ok !== true) throw new Mismatch(`close ${name}: ${JSON.stringify(out)}`);
    }
  }

  /** Close every descriptor, unmount (commits), mount again; then check the whole tree and fsck. */
  remount(): void {
    this.closeAll();
    this.script('unmount\nmount');
    this.durable = [this.model.clone()];
    this.stats.remounts++;
    this.checkTree();
    const problems = this.fs.fsck();
    if (problems.length > 0) {
      throw new Mismatch(`fsck after remount: ${problems.slice(0, 20).join('; ')}`);
    }
  }

  /** The last n statements, one a line. */
  recent(n = 40): string {
    const start = Math.max(0, this.history.length - n);
    return this.history.slice(start).map((op, i) => `  #${start + i}: ${printStmt(op)}`).join('\n');
  }
}

/** A stat as the runner reports it: `KIND size=N nlink=N [nodatacow]` (statValue). */
function parseStat(value: string): StatLike {
  const [kind = '', size = '', nlink = '', flag] = value.split(' ');
  return {
    kind,
    size: Number(size.slice('size='.length)),
    nlink: Number(nlink.slice('nlink='.length)),
    nodatacow: flag === 'nodatacow',
  };
}

/** The path a statement names (none for a descriptor's, or a two-path one's). */
function pathOf(op: Op): string | undefined {
  return 'path' in op && typeof op.path === 'string' ? op.path : undefined;
}

const either = (codes: ErrnoName[]): string => codes.join(' or ');


function shown(got: OpResult): string {
  if (got.checksum !== undefined) return ` with <${got.bytes} bytes>`;
  return got.value !== undefined ? ` with ${JSON.stringify(got.value)}` : '';
}

function modelShown(value: ModelValue): string {
  if (value.kind === 'bytes') return ` with <${value.bytes.length} bytes>`;
  if (value.kind === 'stat') return ` with ${JSON.stringify(value.stat)}`;
  return value.kind === 'names' ? ` with ${JSON.stringify(value.names)}` : '';
}
