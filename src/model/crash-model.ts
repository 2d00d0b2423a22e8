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
import { FsModel, ModelError, Unspecified, isSpecial, markPages, PAGE_DATA, PAGE_PREALLOC, PAGE_HOLE, type MNode } from './namespace.js';
import { InPlaceHistory, WORD_BYTES, alignDown8 } from './in-place.js';
import { copyFileRange, exchangeRange, dedupeRange, collapseRange, insertRange, MODEL_MAX_FILE_BYTES } from './range-model.js';
import { contentDigest } from './content-hash.js';
import {
  readImage, imageDigest, entryBytes, entryDigest, modelEntries, modelDigest, modelKind, digestDiff, type ImageEntry, type ModelEntry,
} from './image.js';

const PAGE_BYTES = 4096;

/** Operations after which every state before them is gone: what each guarantees is in docs/crash.md. */
export const PERSISTENCE_POINTS: ReadonlySet<Op['op']> = new Set(['commit', 'fsync', 'fdatasync', 'msync', 'snapshot', 'freeze', 'unmount']);

/**
 * Operations that change no file, directory, flag or mapping of the model, whatever they
 * return: the state after one is the state before (no copy is made for it).
 */
export const UNCHANGING_OPS: ReadonlySet<string> = new Set(['stat', 'readdir', 'read', 'mload', 'mflush', 'fence', 'check', 'scrub', 'readlink', 'lstat', 'getxattr', 'listxattr']);

/** Operations that change the file system (EBUSY while it is frozen). */
const CHANGES: ReadonlySet<Op['op']> = new Set([
  'mkdir', 'create', 'unlink', 'rmdir', 'rename', 'link', 'write', 'truncate', 'fallocate', 'punch', 'zero',
  'clone', 'snapshot', 'mksubvol', 'rmsubvol', 'setflag', 'clearflag',
  'symlink', 'setxattr', 'removexattr', 'mknod',
  'copy', 'exchange', 'dedupe', 'collapse', 'insert',
]);

/** What an operation may return, by the model. */
export interface Expectation {
  /** Success is a correct result. */
  ok: boolean;
  /** Errnos that are correct results. */
  errnos: Set<string>;
  /** What a successful read or mload returns (null: not judged, e.g. bytes past EOF). */
  bytes?: Uint8Array | null;
  /** What a successful stat or readdir reports. */
  value?: string;
  /** The operation changes the model even when it fails with an expected errno (a store that faults part way). */
  keepOnError?: boolean;
  /** The model cannot say (an operation outside its scope): the script is not judged from here. */
  unjudged?: string;
  /** A range operation with nothing to do: it returns before it would start a change (no EBUSY while frozen). */
  early?: boolean;
}

/** The result an operation had, as the workload runner reports it. */
export type Outcome =
  | { ok: true; checksum?: string; value?: string }
  | { ok: false; errno: string; message: string };

interface Mapping { fd: number; offset: number; length: number; prot: 'r' | 'rw'; sync: boolean }

/** A state the workload passed through: its time and the model of it (never changed after). */
export interface ModelState { time: number; model: FsModel; entries?: ModelEntry[]; digest?: string; contents?: string }

/** An exact match, judged again later (CrashModel.stillMatches). */
export interface PassToken { digest: string; contents: string; floorRevision: number }

export interface ModelOptions {
  /** Device size: ENOSPC is a correct result only when the files hold a quarter of it. */
  deviceBytes: number;
  /** The file system's node size (default 16384): the largest symlink target and xattr follow from it. */
  nodeBytes?: number;
  /**
   * Compare images with their xattrs (a listxattr per entry): the script sets or removes
   * some. Without, xattrs are judged only by what getxattr and listxattr return.
   */
  xattrs?: boolean;
}

/** A match of a crash image: the state whose metadata it has. */
export interface ImageMatch {
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
  private pending: { stmt: Op & StmtCommon; post: FsModel; expect: Expectation; before: number } | null = null;
  private readonly history = new Map<number, InPlaceHistory>();
  private readonly mappings = new Map<string, Mapping>();
  /** The workload's open descriptors by name (`open NAME PATH`): descriptor numbers of the model. */
  private readonly descriptors = new Map<string, number>();
  /** What the operation in flight does to `descriptors` when it succeeds: bind a name, or drop it (fd null). */
  private pendingDescriptor: { name: string; fd: number | null } | null = null;
  /** MAP_SYNC flushes waiting for the next fence. */
  private syncFlushes: Array<{ node: MNode; words: number[]; time: number; content: Uint8Array }> = [];
  private frozen = false;
  private nextMapFd = -1;
  /**
   * Bumped whenever check() becomes stricter for some image (a persistence point drops
   * states, a MAP_SYNC floor is set); in between it only accepts more.
   */
  revision = 0;
  /** Bumped whenever a MAP_SYNC floor is set (the one change that can refuse a state's own bytes). */
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
      else if (expect.bytes && outcome.checksum !== undefined && outcome.checksum !== checksumOf(expect.bytes)) {
        problems.push(`returned data with crc32c ${outcome.checksum}, expected ${checksumOf(expect.bytes)} (${expect.bytes.length} bytes)`);
      } else if (expect.value !== undefined && outcome.value !== undefined && !sameValue(stmt.op, outcome.value, expect.value)) {
        problems.push(`reported "${outcome.value}", expected "${expect.value}"`);
      }
    } else if (!expect.errnos.has(outcome.errno) && !this.spaceErrnos(stmt).includes(outcome.errno)) {
      // (Running out of space is judged only when it happens: spaceErrnos walks the model.)
      problems.push(`failed with ${outcome.errno} (${outcome.message}), expected ${expect.ok ? 'success' : [...expect.errnos].join(' or ')}`);
    }
    if (problems.length) return problems;
    if (!outcome.ok && stmt.op === 'mstore' && !expect.errnos.has(outcome.errno)) {
      // Out of space on a page fault: the pages before it were stored (compareLive).
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
    if (!node) return undefined;
    let h = this.history.get(node.id);
    if (!h) { h = new InPlaceHistory(); this.history.set(node.id, h); }
    return h;
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
        try { probed = this.applyTo(probe, stmt); } catch (e) { if (e instanceof ModelError) return { ok: false, errnos: new Set([...e.codes, 'EBUSY']) }; throw e; }
        // A range operation with nothing to do returns before the freeze could refuse it; the model allows EBUSY too.
        if (probed.early) return ok({ ...probed, errnos: new Set([...(probed.errnos ?? []), 'EBUSY']) });
        return { ok: false, errnos: new Set(['EBUSY']) };
      }
      const extra = this.applyTo(post, stmt);
      return ok(extra);
    } catch (e) {
      if (e instanceof ModelError) return { ok: false, errnos: new Set(e.codes) };
      if (e instanceof PartialStore) return { ok: false, errnos: new Set(['SIGBUS']), keepOnError: true };
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
    if (!['write', 'truncate', 'fallocate', 'zero', 'clone', 'snapshot', 'mksubvol', 'mkdir', 'create', 'link', 'rename', 'open', 'mstore', 'punch',
      'symlink', 'setxattr', 'mknod', 'copy', 'exchange', 'dedupe', 'collapse', 'insert'].includes(stmt.op)) return [];
    // A page fault does not commit to get back the space that frees of the running
    // transaction pin (write and the other calls do: docs/fs.md): the files of the last
    // persistence point, and of every state since, count for it too.
    let bytes = fileBytes(this.live);
    if (stmt.op === 'mstore') bytes += Math.max(...this.window.map((state) => fileBytes(state.model)));
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
      node = stmt.fd !== undefined ? this.live.fds.get(this.descriptors.get(stmt.fd) ?? NaN) : this.live.tryLookup(stmt.path);
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
    for (let p = Math.floor(from / PAGE_BYTES); p < Math.ceil(to / PAGE_BYTES); p++) if (node.pages[p] !== PAGE_PREALLOC) return false;
    return true;
  }

  /** The model's descriptor `open NAME PATH` bound to `name` in `m`: EBADF when there is none. */
  private descriptor(m: FsModel, name: string): number {
    const fd = this.descriptors.get(name);
    if (fd === undefined || !m.fds.has(fd)) throw new ModelError(['EBADF'], `no open descriptor named ${name}`);
    return fd;
  }

  private mapping(name: string): Mapping {
    const m = this.mappings.get(name);
    if (!m) throw new Unspecified(`no mapping named ${name}`);
    return m;
  }

  /** Record an in-place store of a nodatacow file (changed from `before` to node.data over [from, to)). */
  private inPlace(node: MNode, before: Uint8Array, from: number, to: number, viaSyncMapping = false): void {
    if (!node.nodatacow) return;
    this.historyOf(node)!.record(this.time, before, node.data, from, Math.min(to, Math.max(before.length, node.data.length)), viaSyncMapping);
  }

  private applyTo(m: FsModel, op: Op): Partial<Expectation> {
    switch (op.op) {
      case 'mkdir': m.mkdir(op.path); return {};
      case 'create': m.create(op.path); return {};
      case 'open': {
        if (op.fd !== undefined && this.descriptors.has(op.fd)) throw new Unspecified(`descriptor ${op.fd} is open`);
        const fd = m.open(op.path, { create: op.create, truncate: op.truncate });
        if (op.fd === undefined) m.close(fd);
        else this.pendingDescriptor = { name: op.fd, fd };
        return {};
      }
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
      case 'symlink': case 'readlink': case 'lstat': case 'setxattr': case 'getxattr': case 'listxattr': case 'removexattr':
        return this.linkOrXattr(m, op);
      case 'mknod': m.mknod(op.path, op.kind, op.rdev ?? 0); return {};
      case 'write': {
        const named = op.fd !== undefined;
        const fd = op.fd !== undefined ? this.descriptor(m, op.fd) : m.open(op.path);
        const node = m.fds.get(fd)!;
        const before = node.data;
        try { m.pwrite(fd, patternBytes(op.seed ?? 0, op.length), op.offset); } finally { if (!named) m.close(fd); }
        this.inPlace(node, before, op.offset, op.offset + op.length);
        return {};
      }
      case 'read': {
        if (op.offset === undefined) {
          if (op.path === undefined) throw new Unspecified('read NAME without a range');
          return { bytes: m.readFile(op.path) };
        }
        if (op.fd !== undefined) return { bytes: m.pread(this.descriptor(m, op.fd), op.length ?? 0, op.offset) };
        const fd = m.open(op.path);
        try { return { bytes: m.pread(fd, op.length ?? 0, op.offset) }; } finally { m.close(fd); }
      }
      case 'truncate': {
        const node = m.tryLookup(op.path);
        const before = node?.data;
        m.truncate(op.path, op.size);
        // A shrinking truncate zeroes the rest of the new last block in place (nodatacow),
        // and drops the blocks past it: both are the file system's changes of those words.
        if (node && before && op.size < before.length) this.inPlace(node, before, op.size, before.length);
        return {};
      }
      case 'fallocate': m.fallocate(op.path, op.offset, op.length, { keepSize: op.keepSize }); return {};
      case 'punch': return this.zeroing(m, op.path, op.offset, op.length, () => m.punchHole(op.path, op.offset, op.length));
      case 'zero': {
        if (!op.keepSize) return this.zeroing(m, op.path, op.offset, op.length, () => m.zeroRange(op.path, op.offset, op.length));
        // FALLOC_FL_ZERO_RANGE | KEEP_SIZE: zero inside EOF, preallocate the rest (as the runner does).
        const size = FsModel.statOf(m.lookup(op.path)).size;
        const end = op.offset + op.length;
        if (op.offset < size) this.zeroing(m, op.path, op.offset, Math.min(end, size) - op.offset, () => m.zeroRange(op.path, op.offset, Math.min(end, size) - op.offset));
        if (end > size && op.length > 0) m.fallocate(op.path, Math.max(op.offset, size), end - Math.max(op.offset, size), { keepSize: true });
        return {};
      }
      case 'fsync': case 'fdatasync':
        // Either makes the whole transaction durable (docs/crash.md): only whether it fails is asked here.
        if (op.fd !== undefined) this.descriptor(m, op.fd);
        else m.lookup(op.path);
        return {};
      case 'commit': return {};
      case 'clone': return this.clone(m, op);
      case 'copy': return this.copyRange(m, op);
      case 'exchange': return this.exchange(m, op);
      case 'dedupe': return this.dedupe(m, op);
      case 'collapse': case 'insert': return this.shift(m, op);
      case 'snapshot': m.snapshot(op.src, op.dst, { readonly: op.readonly }); return {};
      case 'mksubvol': m.createSubvolume(op.path); return {};
      case 'rmsubvol': m.deleteSubvolume(op.path); return {};
      case 'setflag':
        if (op.flag === 'nodatacow') { m.setNoDataCow(op.path); return {}; }
        return this.immutableFlag(m, op.path, true, !op.nocap);
      case 'clearflag': return this.immutableFlag(m, op.path, false, !op.nocap);
      case 'freeze': if (this.frozen) throw new ModelError(['EBUSY'], 'already frozen'); return {};
      case 'thaw': if (!this.frozen) throw new ModelError(['EINVAL'], 'not frozen'); return {};
      case 'mmap': return this.mmap(m, op);
      case 'mstore': return this.mstore(m, op);
      case 'mload': return this.mload(m, op);
      case 'mflush': {
        const map = this.mapping(op.name);
        if (op.offset + op.length > map.length) throw new ModelError(['SIGSEGV'], 'flush outside the mapping');
        const node = m.fds.get(map.fd)!;
        if (map.sync && op.length > 0) {
          const from = map.offset + op.offset;
          const to = Math.min(from + op.length, node.size);
          const words = to > from ? this.history.get(node.id)?.syncStoredWords(from, to) ?? [] : [];
          if (words.length) this.syncFlushes.push({ node, words, time: this.time, content: node.data });
        }
        return {};
      }
      case 'fence': return {};
      case 'msync': {
        const map = this.mapping(op.name);
        if (op.offset + op.length > map.length) throw new ModelError(['SIGSEGV'], 'msync outside the mapping');
        return {};
      }
      case 'munmap': this.mapping(op.name); return {};
      case 'scrub': case 'check': return {}; // fsck and scrub of the live file system find nothing
      case 'policy': case 'checkpoint': return {};
      default: throw new Unspecified(`operation ${op.op} is outside the model`);
    }
  }

  private linkOrXattr(m: FsModel, op: Extract<Op, { op: 'symlink' | 'readlink' | 'lstat' | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr' }>): Partial<Expectation> {
    const nodeBytes = this.options.nodeBytes ?? 16384;
    if (op.op === 'symlink') { m.symlink(op.target, op.path, nodeBytes); return {}; }
    if (op.op === 'readlink') return { value: m.readlink(op.path) };
    if (op.op === 'lstat') {
      const st = m.lstat(op.path);
      return { value: statValue(st) };
    }
    // An xattr call: on a descriptor (fsetxattr, ...) or a path.
    const node = m.xattrNode(op.fd !== undefined ? { fd: this.descriptor(m, op.fd) } : { path: op.path }, op.nofollow);
    switch (op.op) {
      case 'setxattr': m.setxattr(node, op.name, patternBytes(op.seed ?? 0, op.length), op.mode, nodeBytes); return {};
      case 'getxattr': return { bytes: m.getxattr(node, op.name) };
      case 'listxattr': return { value: m.listxattr(node).join(' ') };
      case 'removexattr': m.removexattr(node, op.name); return {};
    }
  }

  private immutableFlag(m: FsModel, path: string, on: boolean, capability: boolean): Partial<Expectation> {
    const node = m.lookup(path);
    const mapped = [...this.mappings.values()].some((x) => m.fds.get(x.fd) === node);
    if (!on && capability && node.kind === 'file' && !node.subvol.readonly && mapped) throw new ModelError(['EBUSY'], `${path} is mapped`);
    return m.setDaxImmutable(path, on, capability) === 'may-refuse' ? { errnos: new Set(['EINVAL']) } : {};
  }

  private zeroing(m: FsModel, path: string, offset: number, length: number, run: () => void): Partial<Expectation> {
    const node = m.tryLookup(path);
    const before = node?.data;
    run();
    if (node && before) this.inPlace(node, before, offset, offset + length);
    return {};
  }

  private clone(m: FsModel, op: Extract<Op, { op: 'clone' }>): Partial<Expectation> {
    const src = m.tryLookup(op.src);
    if (op.range) m.cloneRange(op.src, op.range.srcOffset, op.dst, op.range.dstOffset, op.range.length);
    else m.cloneFile(op.src, op.dst);
    const dst = m.tryLookup(op.dst);
    // The destination shares the source's blocks: what the source's unflushed in-place
    // stores may leave there, it may leave in the destination too.
    const from = src ? this.history.get(src.id) : undefined;
    if (src && dst && from) {
      const r = op.range ?? { srcOffset: 0, dstOffset: 0, length: src.size };
      this.historyOf(dst)!.inheritRange(from, r.srcOffset, r.dstOffset, alignUpPage(r.length));
    }
    return {};
  }

  // --- range operations (range-model.ts) and their in-place history --------------------
  //
  // Collapse, insert and exchange move extents in one transaction: a crash image shows
  // the state before the operation or after it. An image of the state after it needs a
  // commit after it, which makes the in-place stores before it durable; still, the
  // history of unflushed in-place words (and stores through mappings, which a commit may
  // not flush) follows the bytes to where they moved, besides staying where they were:
  // both only accept more. Floors of moved words are forgotten (they name a word that
  // moved).

  private copyRange(m: FsModel, op: Extract<Op, { op: 'copy' }>): Partial<Expectation> {
    const src = m.tryLookup(op.src);
    const dst = m.tryLookup(op.dst);
    const before = dst?.data;
    const r = copyFileRange(m, op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
    if (src && dst && before && r.copied > 0) {
      // A reflink shares the source's blocks (as clone); a copy writes the destination (in place when nodatacow).
      const from = this.history.get(src.id);
      if (r.reflink && from) this.historyOf(dst)!.inheritRange(from, op.srcOffset, op.dstOffset, alignUpPage(r.copied));
      if (!r.reflink) this.inPlace(dst, before, op.dstOffset, op.dstOffset + r.copied);
    }
    return { value: `copied=${r.copied}`, early: r.early, errnos: new Set(r.alsoErrnos) };
  }

  private exchange(m: FsModel, op: Extract<Op, { op: 'exchange' }>): Partial<Expectation> {
    const one = m.tryLookup(op.path1);
    const two = m.tryLookup(op.path2);
    const r = exchangeRange(m, op.path1, op.offset1, op.path2, op.offset2, op.length);
    if (!r.early && one && two) {
      const h1 = this.history.get(one.id);
      const h2 = this.history.get(two.id);
      if (h1) this.historyOf(two)!.inheritRange(h1, op.offset1, op.offset2, op.length);
      if (h2) this.historyOf(one)!.inheritRange(h2, op.offset2, op.offset1, op.length);
      h1?.forgetFloors(op.offset1, op.offset1 + op.length);
      h2?.forgetFloors(op.offset2, op.offset2 + op.length);
    }
    return { early: r.early };
  }

  private dedupe(m: FsModel, op: Extract<Op, { op: 'dedupe' }>): Partial<Expectation> {
    const src = m.tryLookup(op.src);
    const dst = m.tryLookup(op.dst);
    const r = dedupeRange(m, op.src, op.srcOffset, op.dst, op.dstOffset, op.length);
    // The destination now shares the source's blocks (as after a clone): the bytes are equal, their unflushed words need not be.
    const from = src ? this.history.get(src.id) : undefined;
    if (r.deduped > 0 && dst && from) this.historyOf(dst)!.inheritRange(from, op.srcOffset, op.dstOffset, alignUpPage(r.deduped));
    return { value: `${r.status} deduped=${r.deduped}`, early: r.early };
  }

  private shift(m: FsModel, op: Extract<Op, { op: 'collapse' | 'insert' }>): Partial<Expectation> {
    const node = m.tryLookup(op.path);
    if (op.op === 'collapse') collapseRange(m, op.path, op.offset, op.length);
    else insertRange(m, op.path, op.offset, op.length);
    const h = node ? this.history.get(node.id) : undefined;
    if (h) {
      const from = op.op === 'collapse' ? op.offset + op.length : op.offset;
      const to = op.op === 'collapse' ? op.offset : op.offset + op.length;
      h.inheritRange(h, from, to, MODEL_MAX_FILE_BYTES);
      h.forgetFloors(op.offset, Infinity);
    }
    return {};
  }

  private mmap(m: FsModel, op: Extract<Op, { op: 'mmap' }>): Partial<Expectation> {
    const codes: ErrnoName[] = [];
    if (op.offset % PAGE_BYTES !== 0 || op.length === 0) codes.push('EINVAL');
    let node: MNode | undefined;
    try { node = m.lookup(op.path); } catch (e) { if (e instanceof ModelError) codes.push(...e.codes); else throw e; }
    if (node?.kind === 'dir') codes.push('EISDIR');
    if (node && isSpecial(node)) codes.push('ENXIO');
    if (node && node.kind === 'file' && op.prot === 'rw' && node.subvol.readonly) codes.push('EROFS');
    if (node && node.kind === 'file' && op.sync && !node.nodatacow) codes.push('EOPNOTSUPP');
    if (codes.length) throw new ModelError(codes, `mmap ${op.path}`);
    if (this.mappings.has(op.name)) throw new Unspecified(`mapping ${op.name} exists`);
    const fd = this.nextMapFd--;
    m.fds.set(fd, node!);
    this.mappings.set(op.name, { fd, offset: op.offset, length: op.length, prot: op.prot, sync: op.sync });
    return {};
  }

  /** `record`: note nodatacow stores in the in-place history (not for a candidate state). */
  private mstore(m: FsModel, op: Extract<Op, { op: 'mstore' }>, record = true): Partial<Expectation> {
    const map = this.mapping(op.name);
    if (op.offset + op.length > map.length) throw new ModelError(['SIGSEGV'], 'store outside the mapping');
    if (op.length === 0) return {};
    if (this.frozen) throw new ModelError(map.prot === 'r' ? ['EBUSY', 'SIGSEGV'] : ['EBUSY'], 'store while frozen');
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
    if (inFile > from) {
      const before = node.data;
      const next = before.slice();
      next.set(bytes.subarray(0, inFile - from), from);
      node.data = next;
      markPages(node, from, inFile, () => PAGE_DATA); // a hole or an unwritten range filled by the fault
      if (record) this.inPlace(node, before, from, inFile, map.sync);
    }
    if (sigbus) throw new PartialStore();
    return {};
  }

  private mload(m: FsModel, op: Extract<Op, { op: 'mload' }>): Partial<Expectation> {
    const map = this.mapping(op.name);
    if (op.offset + op.length > map.length) throw new ModelError(['SIGSEGV'], 'load outside the mapping');
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
    const same = states.filter((s) => this.digestOf(s) === digest);
    if (same.length === 0) {
      const newest = states[0]!;
      const oldest = states[states.length - 1]!;
      const problems = [`the image's files match none of the ${states.length} states the model allows (times ${oldest.time}..${newest.time})`];
      for (const d of digestDiff(digest, this.digestOf(newest))) problems.push(`vs the newest: ${d}`);
      if (oldest !== newest) for (const d of digestDiff(digest, this.digestOf(oldest))) problems.push(`vs the last persistence point: ${d}`);
      return { state: newest, problems };
    }
    let first: string[] | null = null;
    for (const s of same) {
      const { problems, exact } = this.dataProblems(s, image);
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
    return { digest: this.digestOf(match.state), contents: this.contentsOf(match.state), floorRevision: this.floorRevision };
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
    const state = this.legalStates().find((s) => this.digestOf(s) === token.digest && this.contentsOf(s) === token.contents && !this.hasFloors(s));
    return state?.time ?? null;
  }

  /** Content digests of a state's files, in entry order (cached per state). */
  private contentsOf(s: ModelState): string {
    this.digestOf(s);
    s.contents ??= s.entries!.filter((e) => modelKind(e.node) === 'file').map((e) => contentDigest(e.node.data)).join(',');
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

  /**
   * Data the image holds that the state (with the in-place rules) does not allow; exact
   * when every file holds the state's own bytes and no floor was asked.
   */
  private dataProblems(s: ModelState, image: ImageEntry[]): { problems: string[]; exact: boolean } {
    const entries = s.entries!;
    const problems: string[] = [];
    let exact = true;
    const seen = new Set<number>();
    for (let i = 0; i < image.length; i++) {
      const e = image[i]!;
      const node = entries[i]!.node;
      if (e.kind !== 'file' || node.kind !== 'file' || seen.has(node.id)) continue;
      seen.add(node.id);
      // A file without in-place history must hold the state's bytes: compared by digest
      // (its bytes are read only to report a difference). One with history may hold other
      // values word by word: its bytes are read and judged (a floor can refuse even the
      // state's own value).
      const h = this.history.get(node.id);
      if (!h) {
        const digest = entryDigest(e);
        if (digest === contentDigest(node.data)) continue;
      }
      const data = e.error === undefined ? entryBytes(e) : null;
      if (!data) { problems.push(`${e.path}: read failed: ${e.error}`); continue; }
      if (h && !h.floors.size && data.length === node.data.length && firstDifference(data, node.data) === null) continue;
      exact = false;
      const bad = this.firstBadWord(node, data, s.time);
      if (bad !== null) problems.push(`${e.path}: bytes ${bad}..${Math.min(bad + WORD_BYTES, node.size) - 1} hold a value the model never allowed there (state of time ${s.time})`);
      if (problems.length >= 4) break;
    }
    return { problems, exact };
  }

  private firstBadWord(node: MNode, data: Uint8Array, stateTime: number): number | null {
    const content = node.data;
    if (data.length !== content.length) return Math.min(data.length, content.length);
    const h = this.history.get(node.id);
    const refused = (at: number): boolean => !h || !h.allows(data, at, Math.min(WORD_BYTES, content.length - at), content, stateTime);
    // Words equal to the state's can be refused only by a floor; the others are each asked.
    // Both kinds are visited in order (differences found word-wide, not byte by byte).
    const floors = h?.floors.size ? [...h.floors.keys()].map((w) => w * WORD_BYTES).sort((a, b) => a - b) : [];
    let f = 0;
    const differences = new WordDifferences(data, content);
    for (let d = differences.next(0); ; d = differences.next(alignDown8(d) + WORD_BYTES)) {
      const differing = d === null ? Infinity : alignDown8(d);
      for (; f < floors.length && floors[f]! < differing; f++) if (refused(floors[f]!)) return floors[f]!;
      if (d === null) return null;
      if (floors[f] === differing) f++;
      if (refused(differing)) return differing;
    }
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
    if (!failed) return this.diffLive(image, this.live, options.data ?? true);
    // Each page-aligned cut of the store, shortest first: the live state must be one.
    const map = this.mapping(failed.name);
    const from = map.offset + failed.offset;
    const cuts = [0];
    for (let page = from - (from % PAGE_BYTES) + PAGE_BYTES; page < from + failed.length; page += PAGE_BYTES) cuts.push(page - from);
    let first: string[] | null = null;
    for (const length of cuts) {
      const candidate = this.live.clone(true);
      if (length) this.storeCut(candidate, failed, length, false);
      const problems = this.diffLive(image, candidate);
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
  private storeCut(m: FsModel, op: Extract<Op, { op: 'mstore' }>, length: number, record: boolean): void {
    try {
      this.mstore(m, { ...op, length }, record);
    } catch (e) {
      if (!(e instanceof PartialStore)) throw e;
    }
  }

  private diffLive(image: ImageEntry[], model: FsModel, data = true): string[] {
    const entries = modelEntries(model);
    const expected = modelDigest(entries, this.options.xattrs ?? false);
    const digest = imageDigest(image);
    if (digest !== expected) return digestDiff(digest, expected).map((d) => `live: ${d}`);
    const problems: string[] = [];
    if (!data) return problems;
    for (let i = 0; i < image.length; i++) {
      const e = image[i]!;
      const node = entries[i]!.node;
      if (e.kind !== 'file' || modelKind(node) !== 'file') continue;
      const digest = entryDigest(e);
      if (digest === contentDigest(node.data)) continue;
      const data = digest === null ? null : entryBytes(e);
      if (!data) { problems.push(`live: ${e.path}: read failed: ${e.error}`); continue; }
      const at = data.length === node.data.length ? firstDifference(data, node.data) : Math.min(data.length, node.data.length);
      if (at !== null) problems.push(`live: ${e.path}: byte ${at} is ${data[at]}, the model says ${node.data[at]} (size ${data.length}, the model's ${node.data.length})`);
      if (problems.length >= 4) break;
    }
    return problems;
  }
}

/** Bytes the files of a model hold: each file's size, or its allocated pages if more (preallocated past EOF). */
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

/** The first offset where two arrays of the same length differ, or null (compared 4 bytes at a time). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | null {
  return new WordDifferences(a, b).next(0);
}

/**
 * The differences of one pair of arrays of the same length, asked for many times: the word
 * views are made once (an image's file that differs from a state in many words asks for
 * every one of them, and two views per question were most of the oracle's garbage).
 * A native compare (Node's Buffer) would be faster on long equal stretches, but the library
 * runs in browsers too and keeps Buffer out of src/ (test/no-node-globals.test.ts).
 */
class WordDifferences {
  private readonly a32: Uint32Array | null;
  private readonly b32: Uint32Array | null;

  constructor(private readonly a: Uint8Array, private readonly b: Uint8Array) {
    if (a.length !== b.length) throw new Error('WordDifferences: lengths differ');
    const aligned = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0;
    this.a32 = aligned ? new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2) : null;
    this.b32 = aligned ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : null;
  }

  /** The first index at or after `from` (a multiple of 4) where the arrays differ, or null. */
  next(from: number): number | null {
    const { a, b, a32, b32 } = this;
    let at = from;
    if (a32 && b32 && from % 4 === 0) {
      let i = from >>> 2;
      const words = a32.length;
      while (i < words && a32[i] === b32[i]) i++;
      at = i * 4;
    }
    while (at < a.length && a[at] === b[at]) at++;
    return at < a.length ? at : null;
  }
}

/** A store that faulted with SIGBUS part way: the pages before the fault hold its bytes. */
class PartialStore extends Error {}

function alignUpPage(x: number): number {
  return Math.ceil(x / PAGE_BYTES) * PAGE_BYTES;
}

/** Values of stat and readdir: readdir's names in any order. */
function sameValue(op: string, got: string, expected: string): boolean {
  if (op === 'readdir') return got.split(' ').sort().join(' ') === expected.split(' ').sort().join(' ');
  return got === expected;
}

