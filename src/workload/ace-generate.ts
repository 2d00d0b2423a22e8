// The bounded exhaustive workload generator, after CrashMonkey's ACE (ace/ace.py): every
// sequence of k core operations drawn from a fixed set of parameterised operations over a
// small fixed set of files and ranges, each followed by a persistence choice and a
// checkpoint. As ACE's dependency phase does, the operations a core operation depends on
// (a parent directory, a file that must exist or must not, an open descriptor) are put
// before it, so that every script runs without errors.
//
// The file set is ACE's: first files /foo and /A/foo, second files /bar and /A/bar,
// directories /A and /B (a directory rename moves /A's files to /B). Descriptors are
// named after their path without slashes ('/A/foo' is 'Afoo'), as in j-lang.
//
// Persistence choices after a core operation (ace.py: fsync of a used file, its sibling or
// its parent; sync; nothing, except after the last operation):
//   fsync          the file or directory the operation leaves behind; a file through its
//                  descriptor (one opened before a rename keeps naming the renamed file)
//   fsync-sibling  the sibling of the operation's path (/foo <-> /bar, /A/foo <-> /A/bar,
//                  /A <-> /B), made first if it does not exist (as ace.py's open O_CREAT)
//   fsync-parent   its parent directory (not after unlink and remove: that is their fsync)
//   commit         sync(2)
//   none           no persistence point (never after the last operation)
// fdatasync, a core operation of its own, is followed by nothing: it is the persistence point.
//
// Setup: a script whose operations act on an existing file comes twice, once on empty
// files (made by the dependencies) and once on files that hold 16 KiB written and
// committed before the core operations ('setup data').
import { ACE_XATTR_NAME } from './ace.js';
import type { Op, Script, Stmt } from './ast.js';

// --- the parameter space ---------------------------------------------------------------

/** The core operations (ace.py's, fsetxattr and removexattr over the first files among them). */
export type CoreOpName =
  | 'create' | 'mkdir' | 'write' | 'dwrite' | 'truncate' | 'falloc' | 'link' | 'unlink' | 'remove'
  | 'rename' | 'clone'
  | 'mmapwrite' | 'fdatasync' | 'setxattr' | 'removexattr';
export type Persistence = 'fsync' | 'fsync-sibling' | 'fsync-parent' | 'commit' | 'none';

export const ACE_FILES = ['/foo', '/A/foo'] as const;
export const ACE_SECOND_FILES = ['/bar', '/A/bar'] as const;
/** mkdir and remove act on these; a rename moves the first to the second. */
export const ACE_DIRS = ['/A', '/B'] as const;
/** Write ranges: aligned at the start, unaligned and overlapping, past EOF (a hole before it). */
export const ACE_RANGES: ReadonlyArray<{ offset: number; length: number }> = [
  { offset: 0, length: 4096 }, { offset: 2500, length: 5000 }, { offset: 16384, length: 8192 },
];
/**
 * Direct-write ranges (block-aligned, as O_DIRECT wants): an overwrite at the start, and
 * one at the setup data's end.
 */
export const ACE_DWRITE_RANGES: ReadonlyArray<{ offset: number; length: number }> = [
  { offset: 0, length: 8192 }, { offset: 16384, length: 8192 },
];
export const ACE_SIZES = [0, 2500, 24576] as const;
export type FallocMode = 'alloc' | 'alloc-keep' | 'punch' | 'zero' | 'zero-keep';
export const ACE_FALLOC_MODES: readonly FallocMode[] = [
  'alloc', 'alloc-keep', 'punch', 'zero', 'zero-keep',
];
/** Bytes every file the core operations act on holds in a 'setup data' script. */
export const ACE_SETUP_BYTES = 16384;
export const ACE_PERSISTENCE: readonly Persistence[] = [
  'fsync', 'fsync-sibling', 'fsync-parent', 'commit', 'none',
];

export const CORE_OPS: readonly CoreOpName[] = [
  'create', 'mkdir', 'write', 'dwrite', 'truncate', 'falloc', 'link', 'unlink', 'remove', 'rename',
  'clone', 'mmapwrite', 'fdatasync',
  'setxattr', 'removexattr',
];

/** One parameterised core operation. */
export type CoreOp =
  | { kind: 'create'; file: string }
  | { kind: 'mkdir'; dir: string }
  | { kind: 'write'; file: string; offset: number; length: number }
  | { kind: 'dwrite'; file: string; offset: number; length: number }
  | { kind: 'truncate'; file: string; size: number }
  | { kind: 'falloc'; file: string; mode: FallocMode; offset: number; length: number }
  | { kind: 'link'; from: string; to: string }
  | { kind: 'unlink'; file: string }
  | { kind: 'remove'; dir: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'clone'; from: string; to: string }
  | { kind: 'mmapwrite'; file: string; offset: number; length: number }
  | { kind: 'fdatasync'; file: string }
  | { kind: 'setxattr'; file: string } | { kind: 'removexattr'; file: string };

const ALL_FILES = [...ACE_FILES, ...ACE_SECOND_FILES];

/** Every parameter choice of one core operation. */
export function coreOpChoices(kind: CoreOpName): CoreOp[] {
  const out: CoreOp[] = [];
  switch (kind) {
    case 'create': for (const file of ACE_FILES) out.push({ kind, file }); break;
    case 'mkdir': case 'remove': for (const dir of ACE_DIRS) out.push({ kind, dir }); break;
    case 'write': case 'mmapwrite':
      for (const file of ACE_FILES) for (const r of ACE_RANGES) out.push({ kind, file, ...r });
      break;
    case 'dwrite':
      for (const file of ACE_FILES) {
        for (const r of ACE_DWRITE_RANGES) out.push({ kind, file, ...r });
      }
      break;
    case 'truncate':
      for (const file of ACE_FILES) for (const size of ACE_SIZES) out.push({ kind, file, size });
      break;
    case 'falloc':
      for (const file of ACE_FILES) {
        for (const mode of ACE_FALLOC_MODES) {
          for (const r of ACE_RANGES) out.push({ kind, file, mode, ...r });
        }
      }
      break;
    case 'unlink': for (const file of ALL_FILES) out.push({ kind, file }); break;
    case 'link': case 'rename':
      // From either file set to a second file (ace.py: links and renames from the second file too).
      for (const from of ALL_FILES) {
        for (const to of ACE_SECOND_FILES) if (from !== to) out.push({ kind, from, to });
      }
      if (kind === 'rename') out.push({ kind, from: ACE_DIRS[0], to: ACE_DIRS[1] });
      break;
    case 'clone':
      for (const from of ACE_FILES) for (const to of ACE_SECOND_FILES) out.push({ kind, from, to });
      break;
    case 'fdatasync': for (const file of ACE_FILES) out.push({ kind, file }); break;
    case 'setxattr': case 'removexattr':
      for (const file of ACE_FILES) out.push({ kind, file });
      break;
  }
  return out;
}

/** The persistence choices after `c` (of `allowed`), at the last position or not. */
export function persistenceChoices(
  c: CoreOp, allowed: readonly Persistence[], last: boolean,
): Persistence[] {
  // fdatasync is the persistence point (ace.py adds none after it).
  if (c.kind === 'fdatasync') return ['none'];
  return allowed.filter((p) => {
    if (p === 'none') return !last;
    // The fsync of unlink and remove is of the parent already.
    if (p === 'fsync-parent') return c.kind !== 'unlink' && c.kind !== 'remove';
    return true;
  });
}

/** The files whose contents a core operation acts on: they hold data in a 'setup data' script. */
function sourceFiles(c: CoreOp): string[] {
  switch (c.kind) {
    case 'create': case 'mkdir': case 'remove': return [];
    case 'link': case 'clone': return [c.from];
    case 'rename': return c.from === ACE_DIRS[0] ? [`${ACE_DIRS[0]}/foo`] : [c.from];
    default: return [c.file];
  }
}

export function describeCore(c: CoreOp): string {
  switch (c.kind) {
    case 'create': case 'unlink': case 'fdatasync': case 'setxattr': case 'removexattr':
      return `${c.kind} ${c.file}`;
    case 'mkdir': case 'remove': return `${c.kind} ${c.dir}`;
    case 'write': case 'dwrite': case 'mmapwrite':
      return `${c.kind} ${c.file} ${c.offset} ${c.length}`;
    case 'truncate': return `truncate ${c.file} ${c.size}`;
    case 'falloc': return `falloc ${c.file} ${c.mode} ${c.offset} ${c.length}`;
    case 'link': case 'rename': case 'clone': return `${c.kind} ${c.from} ${c.to}`;
  }
}

// --- the namespace the dependencies see --------------------------------------------------

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** ace.py's SiblingOf: foo <-> bar in one directory, A <-> B. */
export function siblingOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1);
  const swap: Record<string, string> = { foo: 'bar', bar: 'foo', A: 'B', B: 'A' };
  const parent = parentOf(p);
  return `${parent === '/' ? '' : parent}/${swap[base] ?? base}`;
}

/** A descriptor's name: its path without slashes (j-lang's names). */
function fdName(p: string): string {
  return p.replace(/\//g, '');
}

/** Paths, the inode each names, directories, and the open descriptors (name -> inode). */
class NsModel {
  files = new Map<string, number>();
  dirs = new Set<string>(['/']);
  fds = new Map<string, number>();
  private nextIno = 1;

  /** Ops that make `p`'s parent exist. */
  ensureParent(p: string, out: Op[]): void {
    const d = parentOf(p);
    if (this.dirs.has(d)) return;
    this.ensureParent(d, out);
    out.push({ op: 'mkdir', path: d });
    this.dirs.add(d);
  }

  ensureFile(p: string, out: Op[]): void {
    if (this.files.has(p)) return;
    this.ensureParent(p, out);
    out.push({ op: 'create', path: p });
    this.create(p);
  }

  ensureDir(p: string, out: Op[]): void {
    if (this.dirs.has(p)) return;
    this.ensureParent(p, out);
    out.push({ op: 'mkdir', path: p });
    this.dirs.add(p);
  }

  ensureAbsent(p: string, out: Op[]): void {
    if (!this.files.has(p)) return;
    out.push({ op: 'unlink', path: p });
    this.files.delete(p);
  }

  /** Unlink every file in directory `d` (descriptors on them stay open: orphans). */
  empty(d: string, out: Op[]): void {
    for (const p of [...this.files.keys()].sort()) if (parentOf(p) === d) this.ensureAbsent(p, out);
  }

  create(p: string): void { this.files.set(p, this.nextIno++); }

  /**
   * A descriptor on the file at `p`: one already open on its inode, else `open NAME p`
   * (closing a stale NAME first).
   */
  descriptor(p: string, out: Op[]): string {
    const ino = this.files.get(p)!;
    for (const [name, i] of this.fds) if (i === ino) return name;
    const name = fdName(p);
    if (this.fds.has(name)) { out.push({ op: 'close', fd: name }); this.fds.delete(name); }
    out.push({ op: 'open', fd: name, path: p, create: false, truncate: false });
    this.fds.set(name, ino);
    return name;
  }

  renameDir(from: string, to: string): void {
    for (const [p, ino] of [...this.files]) {
      if (parentOf(p) !== from) continue;
      this.files.delete(p);
      this.files.set(to + p.slice(from.length), ino);
    }
    this.dirs.delete(from);
    this.dirs.add(to);
  }
}

// --- building one script -----------------------------------------------------------------

/**
 * What a core operation leaves for its persistence choice: what `fsync` syncs, and the
 * path sibling and parent are of.
 */
interface Expanded { ops: Op[]; subject: { path: string } | { fd: string }; principal: string }

/** The ops of one core operation, its dependencies first. */
function expandCore(c: CoreOp, ns: NsModel, seed: number): Expanded {
  switch (c.kind) {
    case 'create': case 'mkdir': case 'remove': case 'link': case 'unlink': case 'rename':
      return expandNamespaceCore(c, ns);
    default:
      return expandFileCore(c, ns, seed);
  }
}

/** What a core operation on `p` leaves for its persistence choice: `p` itself. */
function onPath(ops: Op[], p: string): Expanded {
  return { ops, subject: { path: p }, principal: p };
}

/** The core operations that change names: create, mkdir, remove, link, unlink, rename. */
function expandNamespaceCore(
  c: Extract<CoreOp, { kind: 'create' | 'mkdir' | 'remove' | 'link' | 'unlink' | 'rename' }>,
  ns: NsModel,
): Expanded {
  const ops: Op[] = [];
  switch (c.kind) {
    case 'create':
      ns.ensureParent(c.file, ops);
      ns.ensureAbsent(c.file, ops);
      ops.push({ op: 'create', path: c.file });
      ns.create(c.file);
      return onPath(ops, c.file);
    case 'mkdir':
      ns.ensureParent(c.dir, ops);
      if (ns.dirs.has(c.dir)) {
        ns.empty(c.dir, ops);
        ops.push({ op: 'rmdir', path: c.dir });
        ns.dirs.delete(c.dir);
      }
      ops.push({ op: 'mkdir', path: c.dir });
      ns.dirs.add(c.dir);
      return onPath(ops, c.dir);
    case 'remove':
      // remove(3) of a file is unlink (the unlink operation); here its other half, rmdir.
      ns.ensureDir(c.dir, ops);
      ns.empty(c.dir, ops);
      ops.push({ op: 'rmdir', path: c.dir });
      ns.dirs.delete(c.dir);
      return { ops, subject: { path: parentOf(c.dir) }, principal: c.dir };
    case 'link':
      ns.ensureFile(c.from, ops);
      ns.ensureParent(c.to, ops);
      ns.ensureAbsent(c.to, ops);
      ops.push({ op: 'link', from: c.from, to: c.to });
      ns.files.set(c.to, ns.files.get(c.from)!);
      return onPath(ops, c.to);
    case 'unlink':
      ns.ensureFile(c.file, ops);
      ops.push({ op: 'unlink', path: c.file });
      ns.files.delete(c.file);
      return { ops, subject: { path: parentOf(c.file) }, principal: c.file };
    case 'rename':
      return c.from === ACE_DIRS[0] ? renameDir(ns, ops) : renameFile(c.from, c.to, ns, ops);
  }
}

/** The core operations on a file's data or attributes (the file made first if need be). */
function expandFileCore(
  c: Exclude<CoreOp, { kind: 'create' | 'mkdir' | 'remove' | 'link' | 'unlink' | 'rename' }>,
  ns: NsModel, seed: number,
): Expanded {
  const ops: Op[] = [];
  if (c.kind === 'clone') {
    ns.ensureFile(c.from, ops);
    ns.ensureParent(c.to, ops);
    ops.push({ op: 'clone', src: c.from, dst: c.to });
    if (!ns.files.has(c.to)) ns.create(c.to);
    return onPath(ops, c.to);
  }
  ns.ensureFile(c.file, ops);
  switch (c.kind) {
    case 'write': {
      const fd = ns.descriptor(c.file, ops);
      ops.push({ op: 'write', fd, offset: c.offset, length: c.length, seed });
      break;
    }
    case 'dwrite':
      // O_DIRECT|O_SYNC through a descriptor of its own (cmAdapter.py): durable on return.
      ops.push({ op: 'write', path: c.file, offset: c.offset, length: c.length, seed },
        { op: 'fsync', path: c.file });
      break;
    case 'truncate':
      ops.push({ op: 'truncate', path: c.file, size: c.size });
      break;
    case 'falloc': case 'mmapwrite':
      ops.push(...rangeOps(c, seed));
      break;
    case 'fdatasync':
      ops.push({ op: 'fdatasync', fd: ns.descriptor(c.file, ops) });
      break;
    case 'setxattr': {
      // fsetxattr through the file's descriptor (cmAdapter.py), the attribute ACE sets.
      const fd = ns.descriptor(c.file, ops);
      ops.push({ op: 'setxattr', fd, name: ACE_XATTR_NAME, length: 4, seed, nofollow: false });
      break;
    }
    case 'removexattr':
      // ace.py makes it depend on an fsetxattr of the same file when none came before.
      ops.push(
        { op: 'setxattr', path: c.file, name: ACE_XATTR_NAME, length: 4, seed, nofollow: false },
        { op: 'removexattr', path: c.file, name: ACE_XATTR_NAME, nofollow: false });
      break;
  }
  return onPath(ops, c.file);
}

/** The statements of falloc (by mode) and of mmapwrite (fallocate, mmap, store, msync, munmap). */
function rangeOps(c: Extract<CoreOp, { kind: 'falloc' | 'mmapwrite' }>, seed: number): Op[] {
  const r = { path: c.file, offset: c.offset, length: c.length };
  if (c.kind === 'mmapwrite') {
    return [{ op: 'fallocate', ...r, keepSize: false },
      {
        op: 'mmap', name: 'm', path: c.file, offset: 0, length: c.offset + c.length,
        prot: 'rw', sync: false,
      },
      { op: 'mstore', name: 'm', offset: c.offset, length: c.length, seed },
      { op: 'msync', name: 'm', offset: c.offset, length: c.length },
      { op: 'munmap', name: 'm' }];
  }
  if (c.mode === 'punch') return [{ op: 'punch', ...r }];
  if (c.mode.startsWith('zero')) return [{ op: 'zero', ...r, keepSize: c.mode === 'zero-keep' }];
  return [{ op: 'fallocate', ...r, keepSize: c.mode === 'alloc-keep' }];
}

/**
 * A file rename; the source's descriptor is opened first, so that fsync after it goes
 * through a descriptor opened before the rename.
 */
function renameFile(from: string, to: string, ns: NsModel, ops: Op[]): Expanded {
  ns.ensureFile(from, ops);
  ns.descriptor(from, ops);
  ns.ensureParent(to, ops);
  ops.push({ op: 'rename', from, to });
  const ino = ns.files.get(from)!;
  // A rename between two names of the same inode does nothing.
  if (ns.files.get(to) !== ino) { ns.files.set(to, ino); ns.files.delete(from); }
  return { ops, subject: { path: to }, principal: to };
}

/**
 * rename /A /B with /A/foo open: fsync then goes through Afoo, which names /B/foo
 * (issue 16: `fsync Afoo` after `rename A B`).
 */
function renameDir(ns: NsModel, ops: Op[]): Expanded {
  const [a, b] = ACE_DIRS;
  const moved = `${a}/foo`;
  ns.ensureFile(moved, ops);
  const fd = ns.descriptor(moved, ops);
  if (ns.dirs.has(b)) ns.empty(b, ops); // rename over an empty directory replaces it
  ops.push({ op: 'rename', from: a, to: b });
  ns.renameDir(a, b);
  return { ops, subject: { fd }, principal: b };
}

/** The statements of persistence choice `p` after an expanded core operation. */
function persistOps(p: Persistence, e: Expanded, ns: NsModel): Op[] {
  const ops: Op[] = [];
  const fsyncPath = (path: string): void => {
    if (ns.files.has(path)) ops.push({ op: 'fsync', fd: ns.descriptor(path, ops) });
    else ops.push({ op: 'fsync', path });
  };
  switch (p) {
    case 'none': break;
    case 'commit': ops.push({ op: 'commit' }); break;
    case 'fsync':
      if ('fd' in e.subject) ops.push({ op: 'fsync', fd: e.subject.fd });
      else fsyncPath(e.subject.path);
      break;
    case 'fsync-parent': fsyncPath(parentOf(e.principal)); break;
    case 'fsync-sibling': {
      const s = siblingOf(e.principal);
      if ((ACE_DIRS as readonly string[]).includes(s)) ns.ensureDir(s, ops);
      else ns.ensureFile(s, ops);
      fsyncPath(s);
      break;
    }
  }
  return ops;
}

/** `setup data`: the files the core operations act on hold data, committed before them. */
function setupOps(cores: CoreOp[], ns: NsModel): Stmt[] {
  const files = [...new Set(cores.flatMap(sourceFiles))].sort();
  if (files.length === 0) return [];
  const ops: Op[] = [];
  files.forEach((p, i) => {
    ns.ensureFile(p, ops);
    ops.push({ op: 'write', path: p, offset: 0, length: ACE_SETUP_BYTES, seed: 100 + i });
  });
  const comment = 'setup: the files hold data before the core operations';
  return [...ops, { op: 'commit', comment }];
}

/** Build the script of one sequence of core operations and persistence choices. */
export function buildAceScript(
  cores: CoreOp[], persists: Persistence[],
  options: { crash?: boolean; header?: string; setup?: boolean } = {},
): Script {
  const ns = new NsModel();
  const stmts: Stmt[] = [];
  if (options.header !== undefined) stmts.push({ op: 'comment', text: options.header });
  if (options.setup) stmts.push(...setupOps(cores, ns));
  cores.forEach((c, i) => {
    const e = expandCore(c, ns, i + 1);
    stmts.push(...e.ops, ...persistOps(persists[i]!, e, ns), { op: 'checkpoint', id: i + 1 });
  });
  if (options.crash ?? true) {
    stmts.push({ op: 'crash', mode: 'strict' }, { op: 'mount' }, { op: 'check' });
  }
  return { stmts };
}

// --- the enumeration ---------------------------------------------------------------------

export interface ExhaustiveOptions {
  /** Core operations per script. */
  k: number;
  /** The core operations to draw from (default CORE_OPS). */
  ops?: readonly CoreOpName[];
  /** Persistence choices (default ACE_PERSISTENCE); 'none' never follows the last operation. */
  persistence?: readonly Persistence[];
  /**
   * Each script whose operations act on an existing file comes again with 'setup data'
   * (default true).
   */
  setup?: boolean;
  /** Append `crash`, `mount`, `check` (default true): the durable state must mount clean. */
  crash?: boolean;
}

export interface GeneratedScript {
  /** 0-based index in the enumeration. */
  index: number;
  /** The core operations and persistence choices, one line. */
  summary: string;
  script: Script;
}

function allowedPersistence(options: ExhaustiveOptions): Persistence[] {
  const all = [...new Set<Persistence>(options.persistence ?? ACE_PERSISTENCE)];
  if (!all.some((p) => p !== 'none')) {
    throw new Error("persistence needs a choice other than 'none'");
  }
  return all;
}

/**
 * How many scripts exhaustive(options) yields. With M = the sum over core choices c of
 * their persistence choices in the middle, L = the same at the end, and M0, L0 those sums
 * over the choices that act on no existing file (create, mkdir, remove):
 *
 *     M^(k-1) * L                       without setup variants
 *     2 * M^(k-1) * L - M0^(k-1) * L0   with them (a 'setup data' twin for every script but those)
 */
export function exhaustiveCount(options: ExhaustiveOptions): number {
  if (options.k <= 0) return 0;
  const choices = (options.ops ?? CORE_OPS).flatMap((op) => coreOpChoices(op));
  const allowed = allowedPersistence(options);
  const sum = (cs: CoreOp[], last: boolean): number =>
    cs.reduce((s, c) => s + persistenceChoices(c, allowed, last).length, 0);
  const total = sum(choices, false) ** (options.k - 1) * sum(choices, true);
  if (!(options.setup ?? true)) return total;
  const plain = choices.filter((c) => sourceFiles(c).length === 0);
  return 2 * total - sum(plain, false) ** (options.k - 1) * sum(plain, true);
}

/** Every script of the bounded space, in a fixed order (lazily: k=2 is a quarter of a million). */
export function* exhaustive(options: ExhaustiveOptions): Generator<GeneratedScript> {
  const k = options.k;
  if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
  if (k === 0) return;
  const choices = (options.ops ?? CORE_OPS).flatMap((op) => coreOpChoices(op));
  const allowed = allowedPersistence(options);
  const setup = options.setup ?? true;
  const cores: CoreOp[] = [];
  const persists: Persistence[] = [];
  let index = 0;
  // Depth-first: core 1, its persistence choices, core 2, ..., then the setup variants
  // (last fastest).
  function* level(i: number): Generator<GeneratedScript> {
    if (i === k) {
      const base = cores.map((c, j) => `${describeCore(c)}; ${persists[j]}`).join(' | ');
      const acts = cores.some((c) => sourceFiles(c).length > 0);
      const variants = setup && acts ? [false, true] : [false];
      for (const data of variants) {
        const summary = data ? `${base} | setup data` : base;
        const header = `ace-style k=${k} #${index}: ${summary}`;
        const crash = options.crash ?? true;
        const script = buildAceScript(cores, persists, { crash, setup: data, header });
        yield { index, summary, script };
        index++;
      }
      return;
    }
    for (const c of choices) {
      cores[i] = c;
      for (const p of persistenceChoices(c, allowed, i === k - 1)) {
        persists[i] = p;
        yield* level(i + 1);
      }
    }
  }
  yield* level(0);
}
