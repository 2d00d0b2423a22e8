// The runner: executes a workload script against a PmemDevice and a FileSystem, one
// statement at a time, and reports a result per operation. It stops at the first
// unexpected outcome (an errno the statement does not expect, an expected errno that did
// not happen, a misuse of the language, or an exception that is not an FsError) and names
// its line.
import { FsError, type ErrnoName } from '../errors.js';
import { PmemDevice, type PersistenceDomain } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import type { MkfsOptions } from '../fs/types.js';
import type { DaxMapping } from '../dax/mapping.js';
import type { DaxPolicy } from '../dax/policy.js';
import type { FileRef, Op, Script, SpecialFileKind, StmtCommon } from './ast.js';
import { lineOf, statValue } from './ast.js';
import { parse } from './parse.js';
import { printStmt } from './print.js';
import { checksumHex, patternBytes } from './pattern.js';

export interface RunnerOptions {
  /** Size of the device the runner creates (default 32 MiB). */
  sizeBytes?: number;
  domain?: PersistenceDomain;
  /** Run on this device instead of creating one (the runner never closes it). */
  device?: PmemDevice;
  /**
   * What happens when the first operation that needs a file system comes before any
   * mkfs, mount, unmount or crash: 'mkfs' (default) formats and mounts, 'mount' mounts,
   * false makes it a script error.
   */
  implicitMount?: 'mkfs' | 'mount' | false;
  /** Options of the implicit mkfs. */
  mkfs?: MkfsOptions;
  /** Called at each `checkpoint N` (a crash harness can copy the device here). */
  onCheckpoint?: (id: number, runner: Runner) => void;
}

export interface OpResult {
  line: number;
  /** The statement as printed. */
  text: string;
  status: 'ok' | 'errno';
  errno?: ErrnoName;
  message?: string;
  /** crc32c (8 hex digits) of the bytes a read or mload returned. */
  checksum?: string;
  /** Bytes read or written; bytes copied by `copy`, deduped by `dedupe`. */
  bytes?: number;
  /**
   * What stat, readdir or scrub reported; `copied=N` for copy, `same deduped=N` or
   * `differs deduped=0` for dedupe.
   */
  value?: string;
}

export type FailureKind = 'unexpected-errno' | 'missing-errno' | 'script' | 'exception';

export interface RunFailure {
  line: number;
  text: string;
  kind: FailureKind;
  message: string;
  errno?: ErrnoName;
  expected?: ErrnoName;
  /** The exception, for kind 'exception'. */
  error?: unknown;
}

export interface RunResult {
  ok: boolean;
  results: OpResult[];
  failure?: RunFailure;
  checkpoints: Array<{ id: number; line: number }>;
}

/** A misuse of the language the runner detects (unknown mapping, no mount after a crash...). */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Device size of a script run without a `sizeBytes` option. */
export const DEFAULT_DEVICE_BYTES = 32 << 20;

export class Runner {
  private dev: PmemDevice;
  private ownsDevice: boolean;
  /** A device of the same size the next crash image is written into (keeps memory flat). */
  private spare: PmemDevice | null = null;
  private fsys: FileSystem | null = null;
  private readonly maps = new Map<string, DaxMapping>();
  /** Open descriptors by name (`open NAME PATH`): the file system's descriptor numbers. */
  private readonly fds = new Map<string, number>();
  private pendingPolicy: Partial<DaxPolicy> = {};
  /** Any explicit mkfs, mount, unmount or crash has run: no implicit mount any more. */
  private started = false;
  private crashedSinceMount = false;
  private readonly checkpoints: Array<{ id: number; line: number }> = [];

  constructor(device: PmemDevice, private readonly options: RunnerOptions = {}, owned = false) {
    this.dev = device;
    this.ownsDevice = owned;
  }

  /** A runner on a new device (options.device, if given, is used instead). */
  static async create(options: RunnerOptions = {}): Promise<Runner> {
    if (options.device) return new Runner(options.device, options, false);
    const dev = await PmemDevice.create({
      sizeBytes: options.sizeBytes ?? DEFAULT_DEVICE_BYTES, domain: options.domain ?? 'adr',
    });
    return new Runner(dev, options, true);
  }

  /** The current device (a crash replaces it). */
  get device(): PmemDevice {
    return this.dev;
  }

  /** The mounted file system, or null. */
  get fs(): FileSystem | null {
    return this.fsys;
  }

  /** Live mappings by name. */
  mapping(name: string): DaxMapping | undefined {
    return this.maps.get(name);
  }

  /** Run a script (text or parsed) from the runner's current state. */
  run(script: Script | string): RunResult {
    const s = typeof script === 'string' ? parse(script) : script;
    const results: OpResult[] = [];
    const first = this.checkpoints.length;
    for (let i = 0; i < s.stmts.length; i++) {
      const stmt = s.stmts[i]!;
      if (stmt.op === 'comment') continue;
      const line = lineOf(s, i);
      const outcome = this.step(stmt, line);
      if ('kind' in outcome) {
        return { ok: false, results, failure: outcome, checkpoints: this.checkpoints.slice(first) };
      }
      results.push(outcome);
    }
    return { ok: true, results, checkpoints: this.checkpoints.slice(first) };
  }

  /** Run one statement: its result, or the failure that stops a script. */
  step(stmt: Op & StmtCommon, line: number): OpResult | RunFailure {
    const text = printStmt(stmt);
    let out: Partial<OpResult>;
    try {
      out = this.exec(stmt, line);
    } catch (e) {
      if (e instanceof ScriptError) return { line, text, kind: 'script', message: e.message };
      if (!(e instanceof FsError)) {
        const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        return { line, text, kind: 'exception', message, error: e };
      }
      if (stmt.expect === e.code) {
        return { line, text, status: 'errno', errno: e.code, message: e.message };
      }
      return {
        line, text, kind: 'unexpected-errno', errno: e.code, message: e.message,
        ...(stmt.expect !== undefined ? { expected: stmt.expect } : {}),
      };
    }
    if (stmt.expect !== undefined) {
      const message = `expected ${stmt.expect}, the operation succeeded`;
      return { line, text, kind: 'missing-errno', expected: stmt.expect, message };
    }
    return { line, text, status: 'ok', ...out };
  }

  /**
   * Start over on the same device, for the next script: the device reboots (a strict
   * crash in place: no pending store carries over), mappings, pending policies and
   * checkpoints are forgotten, and the implicit mount applies again. Reusing one runner
   * keeps memory flat; a runner per script leaves its devices to the garbage collector,
   * which reclaims shared WebAssembly memory late.
   */
  reset(): void {
    this.fsys = null;
    this.maps.clear();
    this.fds.clear();
    this.pendingPolicy = {};
    this.started = false;
    this.crashedSinceMount = false;
    this.checkpoints.length = 0;
    this.dev.crashInPlace();
  }

  /** Release the devices the runner created. */
  close(): void {
    this.fsys = null;
    this.maps.clear();
    this.fds.clear();
    if (this.ownsDevice) this.dev.close();
    this.spare?.close();
    this.spare = null;
  }

  // --- execution ---------------------------------------------------------------------

  private mounted(): FileSystem {
    if (this.fsys) return this.fsys;
    const implicit = this.options.implicitMount ?? 'mkfs';
    if (!this.started && implicit) {
      this.started = true;
      if (implicit === 'mkfs') FileSystem.mkfs(this.dev, this.options.mkfs ?? {});
      this.doMount();
      return this.fsys!;
    }
    if (this.crashedSinceMount) {
      throw new ScriptError('not mounted: a crash must be followed by a mount');
    }
    throw new ScriptError('not mounted');
  }

  private doMount(): void {
    this.fsys = FileSystem.mount(this.dev, { dax: this.pendingPolicy });
    this.pendingPolicy = {};
    this.crashedSinceMount = false;
  }

  private map(name: string): DaxMapping {
    const m = this.maps.get(name);
    if (!m) throw new ScriptError(`no mapping named '${name}'`);
    return m;
  }

  /**
   * The descriptor named `name`: EBADF when none is open by that name (never opened,
   * closed, or lost in a crash).
   */
  private descriptor(name: string): number {
    const fd = this.fds.get(name);
    if (fd === undefined) throw new FsError('EBADF', `no open descriptor named '${name}'`);
    return fd;
  }

  /**
   * Run `fn` on the descriptor a FileRef names: the named one, or one opened on the path
   * for the call.
   */
  private withRef<T>(fs: FileSystem, ref: FileRef, fn: (fd: number) => T): T {
    if (ref.fd !== undefined) return fn(this.descriptor(ref.fd));
    return this.withFd(fs, ref.path, fn);
  }

  private withFd<T>(fs: FileSystem, path: string, fn: (fd: number) => T): T {
    const fd = fs.open(path);
    let value: T;
    try {
      value = fn(fd);
    } catch (e) {
      try { fs.close(fd); } catch { /* the first error is the one to report */ }
      throw e;
    }
    fs.close(fd);
    return value;
  }

  private checksum(bytes: Uint8Array): Partial<OpResult> {
    return { bytes: bytes.length, checksum: checksumHex(this.dev.crc32cBytes(bytes)) };
  }

  private crash(op: Extract<Op, { op: 'crash' }>): void {
    const options = op.mode === 'random'
      ? { mode: 'random' as const, seed: op.seed ?? 0 }
      : { mode: 'strict' as const };
    const old = this.dev;
    const next = this.spare ? old.crash({ ...options, into: this.spare }) : old.crash(options);
    this.spare = null;
    this.fsys = null;
    this.maps.clear();
    this.fds.clear(); // a new boot: no process holds a descriptor any more
    if (this.ownsDevice) this.spare = old; // the next crash image goes here
    this.dev = next;
    this.ownsDevice = true;
    this.started = true;
    this.crashedSinceMount = true;
  }

  private exec(op: Op, line: number): Partial<OpResult> {
    switch (op.op) {
      case 'mkfs': {
        if (this.fsys) throw new FsError('EBUSY', 'mkfs: the device is mounted');
        this.started = true;
        const options: MkfsOptions = {};
        if (op.nodeSize !== undefined) options.nodeSize = op.nodeSize;
        if (op.label !== undefined) options.label = op.label;
        FileSystem.mkfs(this.dev, options);
        return {};
      }
      case 'mount':
        if (this.fsys) throw new FsError('EBUSY', 'already mounted');
        this.started = true;
        this.doMount();
        return {};
      case 'unmount': {
        this.started = true;
        if (!this.fsys) throw new FsError('EINVAL', 'not mounted');
        const fs = this.fsys;
        this.maps.clear();
        this.fds.clear(); // unmount closes every descriptor (FileSystem.unmount)
        this.fsys = null;
        fs.unmount();
        return {};
      }
      case 'policy':
        this.pendingPolicy[op.name] = op.value;
        return {};
      case 'crash':
        this.crash(op);
        return {};
      case 'checkpoint':
        this.checkpoints.push({ id: op.id, line });
        this.options.onCheckpoint?.(op.id, this);
        return {};
      case 'check': {
        const problems = this.mounted().fsck();
        if (problems.length) {
          const first = problems.slice(0, 3).join('; ');
          throw new FsError('EIO', `fsck found ${problems.length} problem(s): ${first}`);
        }
        return {};
      }
      case 'scrub': {
        const r = this.mounted().scrub();
        if (r.csumErrors || r.metadataErrors) {
          const first = r.errors.slice(0, 3).map((e) => e.detail).join('; ');
          throw new FsError('EIO', `scrub: ${r.csumErrors} checksum and ${r.metadataErrors} `
            + `metadata error(s): ${first}`);
        }
        return { value: `${r.bytesChecked} bytes checked` };
      }
      default:
        return this.execFs(this.mounted(), op);
    }
  }

  private execLinkOrXattr(
    fs: FileSystem, op: Extract<Op, { op: LinkOrXattrOpName }>,
  ): Partial<OpResult> {
    if (op.op === 'symlink') { fs.symlink(op.target, op.path); return {}; }
    if (op.op === 'readlink') return { value: fs.readlink(op.path) };
    if (op.op === 'lstat') {
      const st = fs.lstat(op.path);
      return { value: statValue(st) };
    }
    const on: XattrCall = (byFd, byPath) => (op.fd !== undefined
      ? byFd(this.descriptor(op.fd))
      : byPath(op.path));
    const noFollow = op.nofollow;
    switch (op.op) {
      case 'setxattr': {
        const value = patternBytes(op.seed ?? 0, op.length);
        const flags = { create: op.mode === 'create', replace: op.mode === 'replace' };
        on((fd) => fs.fsetxattr(fd, op.name, value, flags),
          (path) => fs.setxattr(path, op.name, value, { ...flags, noFollow }));
        return { bytes: op.length };
      }
      case 'getxattr':
        return this.checksum(on((fd) => fs.fgetxattr(fd, op.name),
          (path) => fs.getxattr(path, op.name, { noFollow })));
      // Sorted: the file system lists in name-hash order, the model cannot know it.
      case 'listxattr': {
        const names = on((fd) => fs.flistxattr(fd), (path) => fs.listxattr(path, { noFollow }));
        return { value: names.sort().join(' ') };
      }
      case 'removexattr':
        on((fd) => fs.fremovexattr(fd, op.name),
          (path) => fs.removexattr(path, op.name, { noFollow }));
        return {};
    }
  }

  private execFs(fs: FileSystem, op: Op): Partial<OpResult> {
    switch (op.op) {
      case 'mkdir': case 'create': case 'open': case 'close': case 'unlink': case 'rmdir':
      case 'rename': case 'link': case 'stat': case 'readdir': case 'mknod':
        return this.execNamespace(fs, op);
      case 'symlink': case 'readlink': case 'lstat': case 'setxattr': case 'getxattr':
      case 'listxattr': case 'removexattr':
        return this.execLinkOrXattr(fs, op);
      case 'write': case 'read': case 'truncate': case 'fallocate': case 'punch': case 'zero':
      case 'fsync': case 'fdatasync': case 'commit':
        return this.execData(fs, op);
      case 'clone': case 'copy': case 'exchange': case 'dedupe': case 'collapse': case 'insert':
        return execRange(fs, op);
      case 'snapshot': case 'mksubvol': case 'rmsubvol': case 'setflag': case 'clearflag':
      case 'freeze': case 'thaw':
        execVolume(fs, op);
        return {};
      case 'mmap': case 'mstore': case 'mload': case 'mflush': case 'fence': case 'msync':
      case 'munmap':
        return this.execMapping(fs, op);
      default:
        throw new ScriptError(`operation '${op.op}' is not a file-system operation`);
    }
  }

  private execNamespace(
    fs: FileSystem, op: Extract<Op, { op: NamespaceOpName }>,
  ): Partial<OpResult> {
    switch (op.op) {
      case 'mkdir': fs.mkdir(op.path); return {};
      case 'create': fs.create(op.path); return {};
      case 'open': {
        if (op.fd !== undefined && this.fds.has(op.fd)) {
          throw new ScriptError(`descriptor '${op.fd}' is open: close it first`);
        }
        const fd = fs.open(op.path, { create: op.create, truncate: op.truncate });
        if (op.fd === undefined) fs.close(fd);
        else this.fds.set(op.fd, fd);
        return {};
      }
      case 'close': {
        const fd = this.descriptor(op.fd);
        this.fds.delete(op.fd);
        fs.close(fd);
        return {};
      }
      case 'unlink': fs.unlink(op.path); return {};
      case 'rmdir': fs.rmdir(op.path); return {};
      case 'rename': fs.rename(op.from, op.to); return {};
      case 'link': fs.link(op.from, op.to); return {};
      case 'stat': {
        const st = fs.stat(op.path);
        return { value: statValue(st) };
      }
      case 'readdir': return { value: fs.readdir(op.path).join(' ') };
      case 'mknod': fs.mknod(op.path, SPECIAL_MODE_BITS[op.kind] | 0o644, op.rdev ?? 0); return {};
    }
  }

  private execData(fs: FileSystem, op: Extract<Op, { op: DataOpName }>): Partial<OpResult> {
    switch (op.op) {
      case 'write': {
        const data = patternBytes(op.seed ?? 0, op.length);
        // What pwrite says it wrote (a short write would show), not what was asked.
        return { bytes: this.withRef(fs, op, (fd) => fs.pwrite(fd, data, op.offset)) };
      }
      case 'read': {
        if (op.offset === undefined) {
          if (op.path === undefined) {
            throw new ScriptError('read NAME needs an offset and a length');
          }
          return this.checksum(fs.readFile(op.path));
        }
        const bytes = this.withRef(fs, op, (fd) => fs.pread(fd, op.length ?? 0, op.offset!));
        return this.checksum(bytes);
      }
      case 'truncate': fs.truncate(op.path, op.size); return {};
      case 'fallocate':
        fs.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize });
        return {};
      case 'punch': fs.punchHole(op.path, op.offset, op.length); return {};
      case 'zero': zeroRange(fs, op); return {};
      case 'fsync': case 'fdatasync': {
        const sync = (fd: number): void => (op.op === 'fsync' ? fs.fsync(fd) : fs.fdatasync(fd));
        if (op.fd !== undefined) {
          sync(this.descriptor(op.fd));
        } else if (fs.stat(op.path).kind === 'file') {
          this.withFd(fs, op.path, sync);
        } else {
          // A directory (no descriptor for one here): fsync makes the whole transaction
          // durable anyway.
          fs.commit();
        }
        return {};
      }
      case 'commit': fs.commit(); return {};
    }
  }

  private execMapping(fs: FileSystem, op: Extract<Op, { op: MappingOpName }>): Partial<OpResult> {
    switch (op.op) {
      case 'mmap': {
        if (this.maps.has(op.name)) {
          throw new ScriptError(`mapping '${op.name}' exists: munmap it first`);
        }
        const options = { offset: op.offset, length: op.length, prot: op.prot, sync: op.sync };
        this.maps.set(op.name, fs.mmap(op.path, options));
        return {};
      }
      case 'mstore':
        this.map(op.name).store(op.offset, patternBytes(op.seed ?? 0, op.length));
        return { bytes: op.length };
      case 'mload': return this.checksum(this.map(op.name).load(op.offset, op.length));
      case 'mflush': this.map(op.name).flush(op.offset, op.length); return {};
      case 'fence': this.dev.sfence(); return {};
      case 'msync': this.map(op.name).msync(op.offset, op.length); return {};
      case 'munmap': {
        const m = this.map(op.name);
        this.maps.delete(op.name);
        m.unmap();
        return {};
      }
    }
  }
}

type NamespaceOpName =
  'mkdir' | 'create' | 'open' | 'close' | 'unlink' | 'rmdir' | 'rename' | 'link' | 'stat'
  | 'readdir' | 'mknod';
type DataOpName =
  'write' | 'read' | 'truncate' | 'fallocate' | 'punch' | 'zero' | 'fsync' | 'fdatasync' | 'commit';
type LinkOrXattrOpName =
  'symlink' | 'readlink' | 'lstat' | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr';
type RangeOpName = 'clone' | 'copy' | 'exchange' | 'dedupe' | 'collapse' | 'insert';
type VolumeOpName =
  'snapshot' | 'mksubvol' | 'rmsubvol' | 'setflag' | 'clearflag' | 'freeze' | 'thaw';
type MappingOpName = 'mmap' | 'mstore' | 'mload' | 'mflush' | 'fence' | 'msync' | 'munmap';

/** FALLOC_FL_ZERO_RANGE, with FALLOC_FL_KEEP_SIZE or not. */
function zeroRange(fs: FileSystem, op: Extract<Op, { op: 'zero' }>): void {
  if (!op.keepSize) { fs.zeroRange(op.path, op.offset, op.length); return; }
  // FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE: zero what lies inside EOF, preallocate the rest.
  const size = fs.stat(op.path).size;
  const end = op.offset + op.length;
  if (op.offset < size) fs.zeroRange(op.path, op.offset, Math.min(end, size) - op.offset);
  if (end > size && op.length > 0) {
    const from = Math.max(op.offset, size);
    fs.fallocate(op.path, from, end - from, { keepSize: true });
  }
}

/** Operations on ranges of one or two files: clone, copy, exchange, dedupe, collapse, insert. */
function execRange(fs: FileSystem, op: Extract<Op, { op: RangeOpName }>): Partial<OpResult> {
  switch (op.op) {
    case 'clone':
      if (op.range) {
        fs.cloneRange(op.src, op.range.srcOffset, op.dst, op.range.dstOffset, op.range.length);
      } else {
        fs.cloneFile(op.src, op.dst);
      }
      return {};
    case 'copy': {
      const copied = fs.copyFileRange(op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
      return { bytes: copied, value: `copied=${copied}` };
    }
    case 'exchange':
      fs.exchangeRange(op.path1, op.offset1, op.path2, op.offset2, op.length);
      return {};
    case 'dedupe': {
      const r = fs.dedupeRange(op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
      return { bytes: r.bytesDeduped, value: `${r.status} deduped=${r.bytesDeduped}` };
    }
    case 'collapse': fs.collapseRange(op.path, op.offset, op.length); return {};
    case 'insert': fs.insertRange(op.path, op.offset, op.length); return {};
  }
}

/** Subvolumes, snapshots, inode flags, freeze and thaw. */
function execVolume(fs: FileSystem, op: Extract<Op, { op: VolumeOpName }>): void {
  switch (op.op) {
    case 'snapshot': fs.snapshot(op.src, op.dst, { readonly: op.readonly }); return;
    case 'mksubvol': fs.createSubvolume(op.path); return;
    case 'rmsubvol': fs.deleteSubvolume(op.path); return;
    case 'setflag':
      if (op.flag === 'nodatacow') fs.setNoDataCow(op.path);
      else fs.setDaxImmutable(op.path, true, { capability: !op.nocap });
      return;
    case 'clearflag': fs.setDaxImmutable(op.path, false, { capability: !op.nocap }); return;
    case 'freeze': fs.freeze(); return;
    case 'thaw': fs.thaw(); return;
  }
}

/** The S_IFMT bits of each special file kind (mknod(2)'s mode). */
const SPECIAL_MODE_BITS: Readonly<Record<SpecialFileKind, number>> = {
  chardev: 0o020000, blockdev: 0o060000, fifo: 0o010000, socket: 0o140000,
};

/** The file an xattr statement names: a descriptor's, or a path's. */
type XattrCall = <T>(byFd: (fd: number) => T, byPath: (path: string) => T) => T;
/** Create a runner, run a script, release the runner's devices. */
export async function runScript(
  script: Script | string, options: RunnerOptions = {},
): Promise<RunResult> {
  const runner = await Runner.create(options);
  try {
    return runner.run(script);
  } finally {
    runner.close();
  }
}
