// The reference model of the crash checker: what every operation of a workload must
// return, and what a crash image may hold. It is built from the workload alone (the POSIX
// model of src/model/namespace.ts, plus DAX mappings, freeze and durability); it never
// reads the file system's trees or state, so a file system that is wrong in a
// self-consistent way is still caught. docs/crash.md, "Durability", is its specification:
//
//  - metadata and datacow data: after a crash the image equals one state the workload
//    passed through at an operation boundary (or the state the operation in flight would
//    leave) no older than the last completed persistence point. The file system commits
//    only at operation boundaries, like btrfs's transaction kthread may at any time, so
//    every such state is legal; a state between two boundaries (half a rename) never is;
//  - nodatacow data and mmap stores into nodatacow files, per 8-byte word: a value the
//    word held since it was last guaranteed durable (in-place.ts);
//  - a word flushed and fenced through a MAP_SYNC mapping holds that value or a later one.
import type { ErrnoName } from '../errors.js';
import type { FileSystem } from '../filesystem.js';
import type { Op, StmtCommon } from '../workload/ast.js';
import { statValue } from '../workload/ast.js';
import { patternBytes } from '../workload/pattern.js';
import {
  FsModel, ModelError, Unspecified, isSpecial, markPages, PAGE_DATA, PAGE_PREALLOC, PAGE_HOLE,
  type MNode,
} from './namespace.js';
import type { InPlaceHistory } from './in-place.js';
import {
  InPlaceBook, applyClone, applyCopy, applyExchange, applyDedupe, applyShift,
} from './range-history.js';
import { contentDigest } from './content-hash.js';
import {
  readImage, imageDigest, modelEntries, modelDigest, modelKind, digestDiff, type ImageEntry,
  type ModelEntry,
} from './image.js';
import { dataProblems, diffLive } from './image-data.js';
import { modelErrorCodes } from './model-errors.js';
import { assert } from '../assert.js';

import {
  PERSISTENCE_POINTS, UNCHANGING_OPS, CHANGES, SPACE_OPS, sameValue, type Expectation, type Outcome,
} from './expectation.js';

export { firstDifference } from './word-differences.js';
export {
  PERSISTENCE_POINTS, UNCHANGING_OPS, type Expectation, type Outcome,
} from './expectation.js';

const PAGE_BYTES = 4096;

/** The workload's symlink and xattr calls. */
type LinkOrXattrOp = 'symlink' | 'readlink' | 'lstat' | 'setxattr' | 'getxattr' | 'listxattr'
  | 'removexattr';

interface Mapping { fd: number; offset: number; length: number; prot: 'r' | 'rw'; sync: boolean }

/** A MAP_SYNC flush waiting for the next fence: the words it flushed, and their content then. */
interface SyncFlush { node: MNode; words: number[]; time: number; content: Uint8Array }

/** A state the workload passed through: its time and the model of it (never changed after). */
interface ModelState {
  time: number; model: FsModel; entries?: ModelEntry[]; digest?: string; contents?: string;
}

/** An exact match, judged again later (CrashModel.stillMatches). */
export interface PassToken { digest: string; contents: string; floorRevision: number }

export interface ModelOptions {
  /** Device size: ENOSPC is a correct result only when the files hold a quarter of it. */
  deviceBytes: number;
  /**
   * The file system's node size (default 16384): the largest symlink target and xattr
   * follow from it.
   */
  nodeBytes?: number;
  /**
   * Compare images with their xattrs (a listxattr per entry): the script sets or removes
   * some. Without, xattrs are judged only by what getxattr and listxattr return.
   */
  xattrs?: boolean;
}

/** A match of a crash image: the state whose metadata it has. */
interface ImageMatch {
  state: ModelState;
  problems: string[];
  /** Passed holding the state's own bytes in every file, no floor asked (see stillMatches). */
  exact?: boolean;
}

export class CrashModel {
  /** Model time: advances by one per operation begun. */
  time = 0;
  private live = new FsModel();
  /** Legal crash states, oldest first: the last persistence point, then every op boundary since. */
  private window: ModelState[] = [];
  /** The state the operation in flight leaves if it succeeds (also legal mid-operation). */
  private inflight: ModelState | null = null;
  private pending: {
    stmt: Op & StmtCommon; post: FsModel; expect: Expectation; before: number;
  } | null = null;
  private readonly history = new InPlaceBook();
  private readonly mappings = new Map<string, Mapping>();
  /**
   * The workload's open descriptors by name (`open NAME PATH`): descriptor numbers of the
   * model.
   */
  private readonly descriptors = new Map<string, number>();
  /**
   * What the operation in flight does to `descriptors` when it succeeds: bind a name, or
   * drop it (fd null).
   */
  private pendingDescriptor: { name: string; fd: number | null } | null = null;
  /** MAP_SYNC flushes waiting for the next fence. */
  private syncFlushes: SyncFlush[] = [];
  private frozen = false;
  private nextMapFd = -1;
  /**
   * Bumped whenever check() becomes stricter for some image (a persistence point drops
   * states, a MAP_SYNC floor is set); in between it only accepts more.
   */
  revision = 0;
  /**
   * Bumped whenever a MAP_SYNC floor is set (the one change that can refuse a state's own
   * bytes).
   */
  floorRevision = 0;

  constructor(private readonly options: ModelOptions) {
    this.window.push({ time: 0, model: this.live.clone(true) });
  }

  /** The current model (for tests and reports). */
  get state(): FsModel {
    return this.live;
  }

  // --- operations ----------------------------------------------------------------------

  /** Start an operation: what it may return; the state it leaves becomes legal for crashes now. */
  begin(stmt: Op & StmtCommon): Expectation {
    if (this.pending) throw new Error('CrashModel.begin: the previous operation did not end');
    this.time++;
    this.pendingDescriptor = null;
    const post = UNCHANGING_OPS.has(stmt.op) ? this.live : this.live.clone(true);
    const expect = this.expect(post, stmt);
    this.pending = { stmt, post, expect, before: this.time };
    this.inflight = expect.ok && !expect.unjudged ? { time: this.time, model: post } : null;
    return expect;
  }

  /**
   * End the operation with its outcome. Returns the problems (empty when the outcome is
   * one the model allows); after a problem the model no longer follows the file system.
   */
  end(outcome: Outcome, checksumOf: (bytes: Uint8Array) => string): string[] {
    const p = this.pending;
    if (!p) throw new Error('CrashModel.end without begin');
    this.pending = null;
    this.inflight = null;
    const { stmt, post, expect } = p;
    const problems: string[] = [];
    if (outcome.ok) {
      if (!expect.ok) problems.push(`succeeded, expected ${[...expect.errnos].join(' or ')}`);
      else if (expect.bytes && outcome.checksum !== undefined
        && outcome.checksum !== checksumOf(expect.bytes)) {
        problems.push(`returned data with crc32c ${outcome.checksum}, `
          + `expected ${checksumOf(expect.bytes)} (${expect.bytes.length} bytes)`);
      } else if (expect.value !== undefined && outcome.value !== undefined
        && !sameValue(stmt.op, outcome.value, expect.value)) {
        problems.push(`reported "${outcome.value}", expected "${expect.value}"`);
      }
    } else if (!expect.errnos.has(outcome.errno)
      && !this.spaceErrnos(stmt).includes(outcome.errno)) {
      // (Running out of space is judged only when it happens: spaceErrnos walks the model.)
      const expected = expect.ok ? 'success' : [...expect.errnos].join(' or ');
      problems.push(`failed with ${outcome.errno} (${outcome.message}), expected ${expected}`);
    }
    if (problems.length) return problems;
    if (!outcome.ok && stmt.op === 'mstore' && (!expect.errnos.has(outcome.errno)
      || this.spaceErrnos(stmt).includes(outcome.errno))) {
      // No space for a page fault (maybe before an expected EOF): a prefix stored (compareLive).
      this.spaceFailedStore = stmt;
      return [];
    }
    if (!outcome.ok && !expect.keepOnError) return []; // a failed operation changes nothing
    this.live = post;
    if (outcome.ok) this.afterSuccess(stmt);
    this.window.push({ time: this.time, model: post });
    if (outcome.ok && PERSISTENCE_POINTS.has(stmt.op)) this.persisted();
    return [];
  }

  private afterSuccess(stmt: Op & StmtCommon): void {
    const d = this.pendingDescriptor;
    if (d) {
      if (d.fd === null) this.descriptors.delete(d.name);
      else this.descriptors.set(d.name, d.fd);
    }
    switch (stmt.op) {
      case 'freeze': this.frozen = true; break;
      case 'thaw': this.frozen = false; break;
      case 'fence': this.applyFloors(); break;
      case 'munmap': {
        const m = this.mappings.get(stmt.name);
        if (m) this.live.fds.delete(m.fd);
        this.mappings.delete(stmt.name);
        break;
      }
      default: break;
    }
  }

  /** A persistence point completed: only its state (and later ones) may survive a crash. */
  private persisted(): void {
    assert(this.window.length > 0, 'the window holds the state the persistence point made');
    this.window = [this.window[this.window.length - 1]!];
    this.history.clear();
    this.syncFlushes = [];
    this.revision++;
  }

  private applyFloors(): void {
    for (const f of this.syncFlushes) this.historyOf(f.node)!.setFloors(f.time, f.content, f.words);
    if (this.syncFlushes.length) { this.revision++; this.floorRevision++; }
    this.syncFlushes = [];
  }

  private historyOf(node: MNode | undefined): InPlaceHistory | undefined {
    return node ? this.history.of(node) : undefined;
  }

  /** Apply `stmt` to `post` (a copy of the live model): what the operation may return. */
  private expect(post: FsModel, stmt: Op & StmtCommon): Expectation {
    const ok = (extra: Partial<Expectation> = {}): Expectation => ({
      ...extra, ok: true, errnos: new Set(extra.errnos ?? []),
    });
    try {
      if (this.frozen && this.changes(stmt)) {
        // Validate without changing anything: the errors the model finds, or EBUSY.
        const probe = this.live.clone(true);
        let probed: Partial<Expectation>;
        try {
          probed = this.applyTo(probe, stmt);
        } catch (e) {
          if (e instanceof ModelError) return { ok: false, errnos: new Set([...e.codes, 'EBUSY']) };
          throw e;
        }
        // A range operation with nothing to do returns before the freeze could refuse it; the
        // model allows EBUSY too.
        if (probed.early) {
          return ok({ ...probed, errnos: new Set([...(probed.errnos ?? []), 'EBUSY']) });
        }
        return { ok: false, errnos: new Set(['EBUSY']) };
      }
      const extra = this.applyTo(post, stmt);
      return ok(extra);
    } catch (e) {
      if (e instanceof ModelError) return { ok: false, errnos: new Set(e.codes) };
      if (e instanceof PartialStore) {
        return { ok: false, errnos: new Set(['SIGBUS']), keepOnError: true };
      }
      if (e instanceof Unspecified) return { ok: true, errnos: new Set(), unjudged: e.message };
      throw e;
    }
  }

  private changes(stmt: Op): boolean {
    if (stmt.op === 'open') return stmt.truncate || (stmt.create && !this.live.exists(stmt.path));
    return CHANGES.has(stmt.op);
  }

  /**
   * ENOSPC (or a fault's SIGBUS for want of space) is a correct result only when the
   * files hold at least a quarter of the device (their sizes, or their allocated pages
   * where more); below that the model has room.
   */
  private spaceErrnos(stmt: Op): string[] {
    if (this.preallocPromised(stmt)) return [];
    if (!SPACE_OPS.has(stmt.op)) return [];
    // A page fault does not commit to get back the space that frees of the running
    // transaction pin (write and the other calls do: docs/fs.md): the files of the last
    // persistence point, and of every state since, count for it too.
    let bytes = fileBytes(this.live);
    if (stmt.op === 'mstore') {
      bytes += Math.max(...this.window.map((state) => fileBytes(state.model)));
    }
    if (bytes * 4 < this.options.deviceBytes) return [];
    return stmt.op === 'mstore' ? ['ENOSPC', 'SIGBUS'] : ['ENOSPC'];
  }

  /**
   * fallocate's promise (docs/fs.md): a write or store whose every page is preallocated
   * (the old EOF page too, which a write past EOF zeroes) needs no new space, unless
   * another file may have filled those blocks first (MNode.preallocPromise).
   */
  private preallocPromised(stmt: Op): boolean {
    let node: MNode | undefined;
    let from: number;
    let to: number;
    if (stmt.op === 'write') {
      node = stmt.fd !== undefined
        ? this.live.fds.get(this.descriptors.get(stmt.fd) ?? NaN)
        : this.live.tryLookup(stmt.path);
      from = stmt.offset;
      to = stmt.offset + stmt.length;
      if (node && from > node.size && node.size % PAGE_BYTES) from = node.size;
    } else if (stmt.op === 'mstore') {
      const map = this.mappings.get(stmt.name);
      node = map && this.live.fds.get(map.fd);
      from = (map?.offset ?? 0) + stmt.offset;
      to = from + stmt.length;
    } else {
      return false;
    }
    if (!node || node.kind !== 'file' || !node.preallocPromise.kept || to <= from) return false;
    for (let p = Math.floor(from / PAGE_BYTES); p < Math.ceil(to / PAGE_BYTES); p++) {
      if (node.pages[p] !== PAGE_PREALLOC) return false;
    }
    return true;
  }

  /** The model's descriptor `open NAME PATH` bound to `name` in `m`: EBADF when there is none. */
  private descriptor(m: FsModel, name: string): number {
    const fd = this.descriptors.get(name);
    if (fd === undefined || !m.fds.has(fd)) {
      throw new ModelError(['EBADF'], `no open descriptor named ${name}`);
    }
    return fd;
  }

  private mapping(name: string): Mapping {
    const m = this.mappings.get(name);
    if (!m) throw new Unspecified(`no mapping named ${name}`);
    return m;
  }

  /**
   * Record an in-place store of a nodatacow file (changed from `before` to node.data over
   * [from, to)).
   */
  private inPlace(node: MNode, before: Uint8Array, from: number, to: number,
    viaSyncMapping = false): void {
    this.history.record(this.time, node, before, from, to, viaSyncMapping);
  }

  /** Apply `op` to `m`: namespace operations here, the others by kind below. */
  private applyTo(m: FsModel, op: Op): Partial<Expectation> {
    switch (op.op) {
      case 'mkdir': m.mkdir(op.path); return {};
      case 'create': m.create(op.path); return {};
      case 'open': return this.open(m, op);
      case 'close':
        m.close(this.descriptor(m, op.fd));
        this.pendingDescriptor = { name: op.fd, fd: null };
        return {};
      case 'unlink': m.unlink(op.path); return {};
      case 'rmdir': m.rmdir(op.path); return {};
      case 'rename': m.rename(op.from, op.to); return {};
      case 'link': m.link(op.from, op.to); return {};
      case 'stat': {
        const st = FsModel.statOf(m.lookup(op.path));
        return { value: statValue(st) };
      }
      case 'readdir': return { value: m.readdir(op.path).join(' ') };
      case 'symlink': case 'readlink': case 'lstat': case 'setxattr': case 'getxattr':
      case 'listxattr': case 'removexattr':
        return this.linkOrXattr(m, op);
      case 'mknod': m.mknod(op.path, op.kind, op.rdev ?? 0); return {};
      case 'snapshot': m.snapshot(op.src, op.dst, { readonly: op.readonly }); return {};
      case 'mksubvol': m.createSubvolume(op.path); return {};
      case 'rmsubvol': m.deleteSubvolume(op.path); return {};
      case 'setflag':
        if (op.flag === 'nodatacow') { m.setNoDataCow(op.path); return {}; }
        return this.immutableFlag(m, op.path, true, !op.nocap);
      case 'clearflag': return this.immutableFlag(m, op.path, false, !op.nocap);
      default: return this.applyDataOp(m, op);
    }
  }

  /** File data and durability operations. */
  private applyDataOp(m: FsModel, op: Op): Partial<Expectation> {
    switch (op.op) {
      case 'write': return this.write(m, op);
      case 'read': return this.read(m, op);
      case 'truncate': {
        const node = m.tryLookup(op.path);
        const before = node?.data;
        m.truncate(op.path, op.size);
        // A shrinking truncate zeroes the rest of the new last block in place (nodatacow),
        // and drops the blocks past it: both are the file system's changes of those words.
        if (node && before && op.size < before.length) {
          this.inPlace(node, before, op.size, before.length);
        }
        return {};
      }
      case 'fallocate':
        m.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize });
        return {};
      case 'punch': {
        const punch = (): void => m.punchHole(op.path, op.offset, op.length);
        return this.zeroing(m, op.path, op.offset, op.length, punch);
      }
      case 'zero': return this.zero(m, op);
      case 'fsync': case 'fdatasync':
        // Either makes the whole transaction durable (docs/crash.md): only whether it fails
        // is asked here.
        if (op.fd !== undefined) this.descriptor(m, op.fd);
        else m.lookup(op.path);
        return {};
      case 'commit': return {};
      case 'clone': return applyClone(this.history, m, op);
      case 'copy': return applyCopy(this.history, this.time, m, op);
      case 'exchange': return applyExchange(this.history, m, op);
      case 'dedupe': return applyDedupe(this.history, m, op);
      case 'collapse': case 'insert': return applyShift(this.history, m, op);
      default: return this.applyMappingOp(m, op);
    }
  }

  /** Freeze, mappings, and the operations that change nothing the model holds. */
  private applyMappingOp(m: FsModel, op: Op): Partial<Expectation> {
    switch (op.op) {
      case 'freeze': if (this.frozen) throw new ModelError(['EBUSY'], 'already frozen'); return {};
      case 'thaw': if (!this.frozen) throw new ModelError(['EINVAL'], 'not frozen'); return {};
      case 'mmap': return this.mmap(m, op);
      case 'mstore': return this.mstore(m, op);
      case 'mload': return this.mload(m, op);
      case 'mflush': return this.mflush(m, op);
      case 'fence': return {};
      case 'msync': {
        const map = this.mapping(op.name);
        if (op.offset + op.length > map.length) {
          throw new ModelError(['SIGSEGV'], 'msync outside the mapping');
        }
        return {};
      }
      case 'munmap': this.mapping(op.name); return {};
      case 'scrub': case 'check': return {}; // fsck and scrub of the live file system find nothing
      case 'policy': case 'checkpoint': return {};
      default: throw new Unspecified(`operation ${op.op} is outside the model`);
    }
  }

  private open(m: FsModel, op: Extract<Op, { op: 'open' }>): Partial<Expectation> {
    if (op.fd !== undefined && this.descriptors.has(op.fd)) {
      throw new Unspecified(`descriptor ${op.fd} is open`);
    }
    const fd = m.open(op.path, { create: op.create, truncate: op.truncate });
    if (op.fd === undefined) m.close(fd);
    else this.pendingDescriptor = { name: op.fd, fd };
    return {};
  }

  private write(m: FsModel, op: Extract<Op, { op: 'write' }>): Partial<Expectation> {
    const named = op.fd !== undefined;
    const fd = op.fd !== undefined ? this.descriptor(m, op.fd) : m.open(op.path);
    const node = m.fds.get(fd)!;
    const before = node.data;
    try {
      m.pwrite(fd, patternBytes(op.seed ?? 0, op.length), op.offset);
    } finally {
      if (!named) m.close(fd);
    }
    this.inPlace(node, before, op.offset, op.offset + op.length);
    return {};
  }

  private read(m: FsModel, op: Extract<Op, { op: 'read' }>): Partial<Expectation> {
    if (op.offset === undefined) {
      if (op.path === undefined) throw new Unspecified('read NAME without a range');
      return { bytes: m.readFile(op.path) };
    }
    if (op.fd !== undefined) {
      return { bytes: m.pread(this.descriptor(m, op.fd), op.length ?? 0, op.offset) };
    }
    const fd = m.open(op.path);
    try { return { bytes: m.pread(fd, op.length ?? 0, op.offset) }; } finally { m.close(fd); }
  }

  private zero(m: FsModel, op: Extract<Op, { op: 'zero' }>): Partial<Expectation> {
    if (!op.keepSize) {
      const zero = (): void => m.zeroRange(op.path, op.offset, op.length);
      return this.zeroing(m, op.path, op.offset, op.length, zero);
    }
    // FALLOC_FL_ZERO_RANGE | KEEP_SIZE: zero inside EOF, preallocate the rest (as the runner
    // does).
    const size = FsModel.statOf(m.lookup(op.path)).size;
    const end = op.offset + op.length;
    if (op.offset < size) {
      const inside = Math.min(end, size) - op.offset;
      this.zeroing(m, op.path, op.offset, inside, () => m.zeroRange(op.path, op.offset, inside));
    }
    if (end > size && op.length > 0) {
      const from = Math.max(op.offset, size);
      m.fallocate(op.path, from, end - from, { keepSize: true });
    }
    return {};
  }

  /** A flush through a MAP_SYNC mapping: its stored words get floors at the next fence. */
  private mflush(m: FsModel, op: Extract<Op, { op: 'mflush' }>): Partial<Expectation> {
    const map = this.mapping(op.name);
    if (op.offset + op.length > map.length) {
      throw new ModelError(['SIGSEGV'], 'flush outside the mapping');
    }
    const node = m.fds.get(map.fd)!;
    if (map.sync && op.length > 0) {
      const from = map.offset + op.offset;
      const to = Math.min(from + op.length, node.size);
      const words = to > from ? this.history.get(node.id)?.syncStoredWords(from, to) ?? [] : [];
      if (words.length) this.syncFlushes.push({ node, words, time: this.time, content: node.data });
    }
    return {};
  }

  private linkOrXattr(m: FsModel, op: Extract<Op, { op: LinkOrXattrOp }>): Partial<Expectation> {
    const nodeBytes = this.options.nodeBytes ?? 16384;
    if (op.op === 'symlink') { m.symlink(op.target, op.path, nodeBytes); return {}; }
    if (op.op === 'readlink') return { value: m.readlink(op.path) };
    if (op.op === 'lstat') {
      const st = m.lstat(op.path);
      return { value: statValue(st) };
    }
    // An xattr call: on a descriptor (fsetxattr, ...) or a path.
    const ref = op.fd !== undefined ? { fd: this.descriptor(m, op.fd) } : { path: op.path };
    const node = m.xattrNode(ref, op.nofollow);
    switch (op.op) {
      case 'setxattr':
        m.setxattr(node, op.name, patternBytes(op.seed ?? 0, op.length), op.mode, nodeBytes);
        return {};
      case 'getxattr': return { bytes: m.getxattr(node, op.name) };
      case 'listxattr': return { value: m.listxattr(node).join(' ') };
      case 'removexattr': m.removexattr(node, op.name); return {};
    }
  }

  private immutableFlag(m: FsModel, path: string, on: boolean,
    capability: boolean): Partial<Expectation> {
    const node = m.lookup(path);
    const mapped = [...this.mappings.values()].some((x) => m.fds.get(x.fd) === node);
    if (!on && capability && node.kind === 'file' && !node.subvol.readonly && mapped) {
      throw new ModelError(['EBUSY'], `${path} is mapped`);
    }
    const certain = m.setDaxImmutable(path, on, capability) !== 'may-refuse';
    return certain ? {} : { errnos: new Set(['EINVAL']) };
  }

  private zeroing(m: FsModel, path: string, offset: number, length: number,
    run: () => void): Partial<Expectation> {
    const node = m.tryLookup(path);
    const before = node?.data;
    run();
    if (node && before) this.inPlace(node, before, offset, offset + length);
    return {};
  }

  private mmap(m: FsModel, op: Extract<Op, { op: 'mmap' }>): Partial<Expectation> {
    const codes: ErrnoName[] = [];
    if (op.offset % PAGE_BYTES !== 0 || op.length === 0) codes.push('EINVAL');
    let node: MNode | undefined;
    try { node = m.lookup(op.path); } catch (e) { codes.push(...modelErrorCodes(e)); }
    if (node?.kind === 'dir') codes.push('EISDIR');
    if (node && isSpecial(node)) codes.push('ENXIO');
    if (node?.kind === 'file' && op.prot === 'rw' && node.subvol.readonly) codes.push('EROFS');
    if (node && node.kind === 'file' && op.sync && !node.nodatacow) codes.push('EOPNOTSUPP');
    if (codes.length) throw new ModelError(codes, `mmap ${op.path}`);
    if (this.mappings.has(op.name)) throw new Unspecified(`mapping ${op.name} exists`);
    const fd = this.nextMapFd--;
    m.fds.set(fd, node!);
    this.mappings.set(op.name, {
      fd, offset: op.offset, length: op.length, prot: op.prot, sync: op.sync,
    });
    return {};
  }

  /** `record`: note nodatacow stores in the in-place history (not for a candidate state). */
  private mstore(m: FsModel, op: Extract<Op, { op: 'mstore' }>,
    record = true): Partial<Expectation> {
    const map = this.mapping(op.name);
    if (op.offset + op.length > map.length) {
      throw new ModelError(['SIGSEGV'], 'store outside the mapping');
    }
    if (op.length === 0) return {};
    if (this.frozen) {
      const codes: ErrnoName[] = map.prot === 'r' ? ['EBUSY', 'SIGSEGV'] : ['EBUSY'];
      throw new ModelError(codes, 'store while frozen');
    }
    if (map.prot === 'r') throw new ModelError(['SIGSEGV'], 'store through a read-only mapping');
    const node = m.fds.get(map.fd)!;
    const bytes = patternBytes(op.seed ?? 0, op.length);
    const from = map.offset + op.offset;
    // Page by page: a page at or past EOF faults with SIGBUS; the pages before it are stored.
    let end = from + op.length;
    let sigbus = false;
    for (let page = from - (from % PAGE_BYTES); page < end; page += PAGE_BYTES) {
      if (page >= node.size) { end = Math.max(from, page); sigbus = true; break; }
    }
    // Bytes past EOF in the EOF page are not file data (an extension zeroes them).
    const inFile = Math.min(end, node.size);
    if (record) this.history.recordPastEof(this.time, node, from, end, bytes);
    if (inFile > from) {
      const before = node.data;
      const next = before.slice();
      next.set(bytes.subarray(0, inFile - from), from);
      node.data = next;
      // A hole or an unwritten range is filled by the fault.
      markPages(node, from, inFile, () => PAGE_DATA);
      if (record) this.inPlace(node, before, from, inFile, map.sync);
    }
    if (sigbus) throw new PartialStore();
    return {};
  }

  private mload(m: FsModel, op: Extract<Op, { op: 'mload' }>): Partial<Expectation> {
    const map = this.mapping(op.name);
    if (op.offset + op.length > map.length) {
      throw new ModelError(['SIGSEGV'], 'load outside the mapping');
    }
    const node = m.fds.get(map.fd)!;
    const from = map.offset + op.offset;
    const to = from + op.length;
    for (let page = from - (from % PAGE_BYTES); page < to; page += PAGE_BYTES) {
      if (page >= node.size) throw new ModelError(['SIGBUS'], 'load beyond the end of the file');
    }
    // Bytes past EOF in the EOF page are whatever was stored there: not judged.
    return { bytes: to <= node.size ? node.data.slice(from, to) : null };
  }

  // --- crash images ------------------------------------------------------------------

  /** States a crash image may have, newest first. */
  private legalStates(): ModelState[] {
    const out = this.inflight ? [this.inflight] : [];
    for (let i = this.window.length - 1; i >= 0; i--) out.push(this.window[i]!);
    return out;
  }

  /** Find the state an image matches, or the problems that say why none does. */
  match(fs: FileSystem): ImageMatch {
    const image = readImage(fs, undefined, this.options.xattrs ?? false);
    return this.matchEntries(image);
  }

  matchEntries(image: ImageEntry[]): ImageMatch {
    const digest = imageDigest(image);
    const states = this.legalStates();
    assert(states.length > 0, 'the window holds the last persistence point\'s state');
    const same = states.filter((s) => this.digestOf(s) === digest);
    if (same.length === 0) {
      const newest = states[0]!;
      const oldest = states[states.length - 1]!;
      const problems = [`the image's files match none of the ${states.length} states the model `
        + `allows (times ${oldest.time}..${newest.time})`];
      for (const d of digestDiff(digest, this.digestOf(newest))) {
        problems.push(`vs the newest: ${d}`);
      }
      if (oldest !== newest) {
        for (const d of digestDiff(digest, this.digestOf(oldest))) {
          problems.push(`vs the last persistence point: ${d}`);
        }
      }
      return { state: newest, problems };
    }
    let first: string[] | null = null;
    for (const s of same) {
      const { problems, exact } = dataProblems(s.entries!, s.time, image, this.history);
      if (problems.length === 0) return { state: s, problems, exact };
      first ??= problems;
    }
    return { state: same[0]!, problems: first! };
  }

  /**
   * What an exact match (ImageMatch.exact) needs to be judged again later without the
   * image: the state's namespace and contents, and the floors then in force.
   */
  passToken(match: ImageMatch): PassToken | null {
    if (!match.exact || match.problems.length) return null;
    return {
      digest: this.digestOf(match.state), contents: this.contentsOf(match.state),
      floorRevision: this.floorRevision,
    };
  }

  /**
   * Would an image that matched exactly (`token`) match now, and which state (its time, or
   * null)? Yes while some legal state has
   * the same namespace and contents and no MAP_SYNC floor was set since (the one change
   * that can refuse a state's own bytes): persistence points drop states and in-place
   * history, which an exact match did not use. (The commit after a write leaves a state of
   * its own with the write's contents: the image still matches that one.)
   */
  stillMatches(token: PassToken): number | null {
    if (token.floorRevision !== this.floorRevision) return null;
    const state = this.legalStates().find((s) => this.digestOf(s) === token.digest
      && this.contentsOf(s) === token.contents && !this.hasFloors(s));
    return state?.time ?? null;
  }

  /** Content digests of a state's files, in entry order (cached per state). */
  private contentsOf(s: ModelState): string {
    this.digestOf(s);
    s.contents ??= s.entries!.filter((e) => modelKind(e.node) === 'file')
      .map((e) => contentDigest(e.node.data)).join(',');
    return s.contents;
  }

  private hasFloors(s: ModelState): boolean {
    return s.entries!.some((e) => (this.history.get(e.node.id)?.floors.size ?? 0) > 0);
  }

  private digestOf(s: ModelState): string {
    s.entries ??= modelEntries(s.model);
    s.digest ??= modelDigest(s.entries, this.options.xattrs ?? false);
    return s.digest;
  }

  /** The state of time `time`, if still legal. */
  stateAt(time: number): ModelState | null {
    return this.legalStates().find((s) => s.time === time) ?? null;
  }

  /** In-place history of a model inode (null when it has none). */
  historyFor(node: MNode): InPlaceHistory | null {
    return this.history.get(node.id) ?? null;
  }

  // --- the live file system ----------------------------------------------------------

  /**
   * A store that failed for want of space on some page's fault (set by end): the pages
   * before that one were stored, as on a real machine, where SIGBUS interrupts the copy.
   * Which page ran out is the file system's business; compareLive accepts each cut.
   */
  private spaceFailedStore: Extract<Op, { op: 'mstore' }> | null = null;

  /**
   * Differences between the live file system and the model (they must be equal): the
   * namespace, sizes, link counts and flags, and (unless `data` is false) every file's bytes.
   */
  compareLive(fs: FileSystem, options: { data?: boolean } = {}): string[] {
    const image = readImage(fs, undefined, this.options.xattrs ?? false);
    const failed = this.spaceFailedStore;
    this.spaceFailedStore = null;
    const xattrs = this.options.xattrs ?? false;
    if (!failed) return diffLive(image, this.live, xattrs, options.data ?? true);
    // Each page-aligned cut of the store, shortest first: the live state must be one.
    const map = this.mapping(failed.name);
    const from = map.offset + failed.offset;
    const cuts = [0];
    const firstPageEnd = from - (from % PAGE_BYTES) + PAGE_BYTES;
    for (let page = firstPageEnd; page < from + failed.length; page += PAGE_BYTES) {
      cuts.push(page - from);
    }
    let first: string[] | null = null;
    for (const length of cuts) {
      const candidate = this.live.clone(true);
      if (length) this.storeCut(candidate, failed, length, false);
      const problems = diffLive(image, candidate, xattrs);
      if (problems.length === 0) {
        if (length) {
          this.storeCut(this.live, failed, length, true);
          this.window.push({ time: this.time, model: this.live.clone(true) });
        }
        return [];
      }
      first ??= problems;
    }
    return first!;
  }

  /** The first `length` bytes of a store (one past EOF stops at its page, as in mstore). */
  private storeCut(m: FsModel, op: Extract<Op, { op: 'mstore' }>, length: number,
    record: boolean): void {
    try {
      this.mstore(m, { ...op, length }, record);
    } catch (e) {
      if (!(e instanceof PartialStore)) throw e;
    }
  }

}

/**
 * Bytes the files of a model hold: each file's size, or its allocated pages if more
 * (preallocated past EOF).
 */
function fileBytes(m: FsModel): number {
  let bytes = 0;
  for (const [, n] of m.walk()) {
    if (n.kind !== 'file') continue;
    let allocated = 0;
    for (const state of n.pages) if (state !== PAGE_HOLE) allocated++;
    bytes += Math.max(Math.ceil(n.size / PAGE_BYTES), allocated) * PAGE_BYTES;
  }
  return bytes;
}

/** A store that faulted with SIGBUS part way: the pages before the fault hold its bytes. */
class PartialStore extends Error {}
