// Workload generators.
//
// exhaustive(): bounded and exhaustive, after CrashMonkey's ACE: src/workload/ace-generate.ts
// (re-exported here).
//
// randomScript(): seeded, fsx-style. Random data operations on a few files, namespace
// changes, clones, snapshots, freezes and DAX mappings (mmap, mstore, mload, mflush,
// fence, msync, munmap), with an optional `policy NAME=off` first. A model of the visible
// state keeps every operation valid, or marks it with the errno it must fail with.
import type { ErrnoName } from '../errors.js';
import type { Op, PolicyName, Script, Stmt } from './ast.js';
import { POLICY_NAMES } from '../dax/policy.js';
import { Rng } from '../random.js';

const PAGE = 4096;

export {
  exhaustive, exhaustiveCount, coreOpChoices, persistenceChoices, buildAceScript, describeCore, siblingOf,
  CORE_OPS, ACE_FILES, ACE_SECOND_FILES, ACE_DIRS, ACE_RANGES, ACE_DWRITE_RANGES, ACE_SIZES, ACE_FALLOC_MODES, ACE_SETUP_BYTES, ACE_PERSISTENCE,
  type CoreOpName, type CoreOp, type Persistence, type FallocMode, type ExhaustiveOptions, type GeneratedScript,
} from './ace-generate.js';

// --- the seeded random generator -------------------------------------------------------

export interface RandomOptions {
  seed: number;
  /** Operations to generate (default 100). */
  ops?: number;
  /** Largest file size the generator aims at (default 256 KiB). */
  maxFileBytes?: number;
  /** Largest length of one operation (default 64 KiB). */
  maxOpBytes?: number;
  /** Include DAX mappings (default true). */
  mmap?: boolean;
  /** Start with `policy NAME=off`: a switch name, 'random' (one chosen by the seed), or none. */
  policyOff?: PolicyName | 'random';
  /** Include operations that must fail, with their `expect` (default true). */
  errors?: boolean;
  /** Include freeze/thaw and snapshots (default true). */
  freeze?: boolean;
  snapshots?: boolean;
  /** Operation kinds never to draw (RANDOM_KINDS names them). */
  exclude?: readonly RandomKind[];
  /** End with `crash` (strict, or random with the script's seed), `mount`, `check` (default false). */
  crashAtEnd?: boolean | 'random';
}

/** What randomScript draws from (besides thaw and the EBUSY probes while frozen). */
export const RANDOM_KINDS = [
  'write', 'read', 'truncate', 'fallocate', 'punch', 'zero', 'clone', 'fsync', 'commit',
  'create', 'unlink', 'rename', 'link', 'mkdir', 'rmdir', 'snapshot', 'rmsubvol', 'freeze', 'error', 'check', 'scrub', 'populate', 'immutable', 'fillup',
  'mmap', 'mstore', 'mload', 'mflush', 'fence', 'msync', 'munmap', 'symlink', 'xattr',
  'copy', 'exchange', 'dedupe', 'collapse', 'insert',
] as const;
export type RandomKind = typeof RANDOM_KINDS[number];

interface Inode { id: number; size: number; nodatacow: boolean; xattrs: Set<string> }
interface Mapping { name: string; ino: Inode; offset: number; length: number; prot: 'r' | 'rw'; sync: boolean }

const FILE_NAMES = ['/f0', '/f1', '/f2', '/d/g0', '/d/g1'];
const MAP_NAMES = ['m0', 'm1', 'm2', 'm3'];
/** Names symlinks and special files take (apart from FILE_NAMES: the file operations never meet them). */
const LINK_NAMES = ['/l0', '/l1', '/l2', '/p0'];
const XATTR_NAMES = ['user.a', 'user.b', 'trusted.t', 'security.s'];

class RandomModel {
  files = new Map<string, Inode>();
  dirExists = false;
  frozen = false;
  maps = new Map<string, Mapping>();
  snapshots = 0;
  /** Snapshots not deleted yet. */
  liveSnapshots: string[] = [];
  populated = false;
  filledUp = false;
  /** The DAX-immutable file (outside `files`: other operations never pick it), or null. */
  immutableFile: string | null = null;
  immutables = 0;
  private nextIno = 1;
  constructor(readonly policy: Partial<Record<PolicyName, boolean>>) {}

  /** Symlinks by path: their targets (a FILE_NAMES path, which may not exist). Special files: null. */
  links = new Map<string, string | null>();
  newInode(): Inode { return { id: this.nextIno++, size: 0, nodatacow: false, xattrs: new Set() }; }
  parentExists(p: string): boolean { return !p.startsWith('/d/') || this.dirExists; }
  dirEmpty(): boolean { return ![...this.files.keys()].some((p) => p.startsWith('/d/')); }
}

type Emit = (op: Op, expect?: ErrnoName) => void;

/**
 * A symlink (to a file name that may not exist), a read or write through one, readlink,
 * lstat, a special file (a fifo: its data is ENXIO), or the removal of one of them.
 */
function linkStep(m: RandomModel, rng: Rng, emit: Emit, seq: number): void {
  const name = rng.pick(LINK_NAMES);
  const target = m.links.get(name);
  if (target === undefined) {
    if (name === '/p0') { emit({ op: 'mknod', path: name, kind: 'fifo' }); m.links.set(name, null); return; }
    const to = rng.pick(FILE_NAMES);
    emit({ op: 'symlink', target: rng.chance(0.5) ? to : to.slice(1), path: name });
    m.links.set(name, to);
    return;
  }
  const r = rng.below(5);
  if (target === null) {
    if (r === 0) { emit({ op: 'read', path: name, offset: 0, length: 10 }, 'ENXIO'); return; }
    if (r === 1) { emit({ op: 'lstat', path: name }); return; }
  } else {
    const live = m.files.get(target);
    if (r === 0) { emit({ op: 'read', path: name, offset: 0, length: 4096 }, live ? undefined : 'ENOENT'); return; }
    if (r === 1 && live) {
      emit({ op: 'write', path: name, offset: 0, length: 100, seed: seq });
      live.size = Math.max(live.size, 100);
      return;
    }
    if (r === 2) { emit({ op: 'readlink', path: name }); return; }
    if (r === 3) { emit({ op: 'lstat', path: name }); return; }
  }
  emit({ op: 'unlink', path: name });
  m.links.delete(name);
}

/** setxattr (new or replacing), getxattr, listxattr or removexattr of a file, with the errno a missing name gives. */
function xattrStep(m: RandomModel, rng: Rng, emit: Emit, seq: number, files: string[]): void {
  const path = rng.pick(files);
  const ino = m.files.get(path)!;
  const name = rng.pick(XATTR_NAMES);
  const has = ino.xattrs.has(name);
  const r = rng.below(6);
  if (r <= 2) {
    const mode = rng.chance(0.2) ? (rng.chance(0.5) ? 'create' : 'replace') : undefined;
    const fails = (mode === 'create' && has) ? 'EEXIST' : (mode === 'replace' && !has) ? 'ENODATA' : undefined;
    const op: Op = { op: 'setxattr', path, name, length: rng.below(1000), seed: seq, nofollow: false };
    if (mode) op.mode = mode;
    emit(op, fails);
    if (!fails) ino.xattrs.add(name);
    return;
  }
  if (r === 3) { emit({ op: 'getxattr', path, name, nofollow: false }, has ? undefined : 'ENODATA'); return; }
  if (r === 4) { emit({ op: 'listxattr', path, nofollow: false }); return; }
  emit({ op: 'removexattr', path, name, nofollow: false }, has ? undefined : 'ENODATA');
  ino.xattrs.delete(name);
}

// --- range operations (copy, exchange, dedupe, collapse, insert) -----------------------

interface Draw {
  rng: Rng; m: RandomModel; files: string[]; emit: (op: Op, expect?: ErrnoName) => void;
  seq: number; maxFile: number; maxOp: number; errors: boolean;
}

/** An offset: page-aligned or not, below `limit` (at least 1). */
function drawOffset(rng: Rng, limit: number): number {
  return rng.chance(0.5) ? rng.below(Math.max(1, Math.ceil(limit / PAGE))) * PAGE : rng.below(Math.max(1, limit));
}

/**
 * copy_file_range between any two files (of either kind: unaligned or mixed-kind copies
 * are copied, aligned ones between files of one kind reflinked); within one file the
 * ranges are kept apart. The destination grows to the end of what is copied.
 */
function drawCopy(d: Draw): void {
  const { rng, m, files } = d;
  const src = rng.pick(files);
  const dst = rng.pick(files);
  const s = m.files.get(src)!;
  const t = m.files.get(dst)!;
  const srcOffset = drawOffset(rng, s.size + PAGE);
  const length = rng.chance(0.5) ? rng.between(1, 4) * PAGE : rng.between(1, d.maxOp);
  let dstOffset = drawOffset(rng, d.maxFile);
  if (s === t && srcOffset < dstOffset + length && dstOffset < srcOffset + length) dstOffset = srcOffset + length;
  d.emit({ op: 'copy', src, srcOffset, dst, dstOffset, length });
  const copied = Math.min(length, Math.max(0, s.size - srcOffset));
  if (copied > 0) t.size = Math.max(t.size, dstOffset + copied);
}

/** Two page-aligned ranges of `pages` pages inside files of `pages1` and `pages2` pages, apart when `same`; null when none fits. */
function drawPair(rng: Rng, pages1: number, pages2: number, same: boolean): { a: number; b: number; n: number } | null {
  const room = same ? Math.floor(pages1 / 2) : Math.min(pages1, pages2);
  if (room < 1) return null;
  const n = rng.between(1, Math.min(room, 8));
  if (!same) return { a: rng.below(pages1 - n + 1), b: rng.below(pages2 - n + 1), n };
  const lo = rng.below(pages1 - 2 * n + 1);
  const hi = lo + n + rng.below(pages1 - 2 * n - lo + 1);
  return rng.chance(0.5) ? { a: lo, b: hi, n } : { a: hi, b: lo, n };
}

/** The files of the same kind (datacow or nodatacow) as `path`: exchange and dedupe need two of one kind. */
function sameKind(d: Draw, path: string): string[] {
  const kind = d.m.files.get(path)!.nodatacow;
  return d.files.filter((f) => d.m.files.get(f)!.nodatacow === kind);
}

/** XFS's EXCHANGE_RANGE: page-aligned ranges inside two files of one kind (not past EOF); sizes stay. */
function drawExchange(d: Draw): void {
  const { rng, m } = d;
  const path1 = rng.pick(d.files);
  if (d.errors && rng.chance(0.1)) { d.emit({ op: 'exchange', path1, offset1: 1, path2: path1, offset2: 2 * PAGE, length: PAGE }, 'EINVAL'); return; }
  const path2 = rng.pick(sameKind(d, path1));
  const [one, two] = [m.files.get(path1)!, m.files.get(path2)!];
  // Whole pages inside both files (a range may not pass EOF).
  const pair = drawPair(rng, Math.floor(one.size / PAGE), Math.floor(two.size / PAGE), one === two);
  if (!pair) { d.emit({ op: 'commit' }); return; }
  d.emit({ op: 'exchange', path1, offset1: pair.a * PAGE, path2, offset2: pair.b * PAGE, length: pair.n * PAGE });
}

/**
 * FIDEDUPERANGE between two files of one kind, inside both: half the time the two ranges
 * are first written with the same bytes (one seed), so that they are shared ('same'),
 * else they usually differ. Some lengths are unaligned (cut to whole pages).
 */
function drawDedupe(d: Draw): void {
  const { rng, m } = d;
  const src = rng.pick(d.files);
  const dst = rng.pick(sameKind(d, src));
  const [s, t] = [m.files.get(src)!, m.files.get(dst)!];
  const pair = drawPair(rng, Math.floor(s.size / PAGE), Math.floor(t.size / PAGE), s === t);
  if (!pair) { d.emit({ op: 'commit' }); return; }
  const [srcOffset, dstOffset] = [pair.a * PAGE, pair.b * PAGE];
  const length = pair.n * PAGE - (rng.chance(0.3) ? rng.below(PAGE) : 0);
  if (rng.chance(0.5)) {
    d.emit({ op: 'write', path: src, offset: srcOffset, length, seed: d.seq });
    d.emit({ op: 'write', path: dst, offset: dstOffset, length, seed: d.seq });
  }
  d.emit({ op: 'dedupe', src, srcOffset, dst, dstOffset, length });
}

/** FALLOC_FL_COLLAPSE_RANGE: whole pages ending before EOF; now and then one reaching EOF (EINVAL). */
function drawCollapse(d: Draw): void {
  const { rng, m } = d;
  const path = rng.pick(d.files);
  const ino = m.files.get(path)!;
  const before = Math.floor(Math.max(0, ino.size - 1) / PAGE); // whole pages that end before EOF
  if (before < 1 || (d.errors && rng.chance(0.1))) {
    if (d.errors) d.emit({ op: 'collapse', path, offset: 0, length: Math.max(PAGE, Math.ceil(ino.size / PAGE) * PAGE) }, 'EINVAL');
    else d.emit({ op: 'commit' });
    return;
  }
  const n = rng.between(1, Math.min(before, 8));
  const offset = rng.below(before - n + 1) * PAGE;
  d.emit({ op: 'collapse', path, offset, length: n * PAGE });
  ino.size -= n * PAGE;
}

/** FALLOC_FL_INSERT_RANGE: whole pages at a page below EOF; now and then at EOF (EINVAL). */
function drawInsert(d: Draw): void {
  const { rng, m } = d;
  const path = rng.pick(d.files);
  const ino = m.files.get(path)!;
  const length = rng.between(1, 4) * PAGE;
  if (ino.size === 0 || (d.errors && rng.chance(0.1))) {
    if (d.errors) d.emit({ op: 'insert', path, offset: Math.ceil(ino.size / PAGE) * PAGE, length }, 'EINVAL');
    else d.emit({ op: 'commit' });
    return;
  }
  if (ino.size + length > 2 * d.maxFile) { d.emit({ op: 'commit' }); return; }
  d.emit({ op: 'insert', path, offset: rng.below(Math.ceil(ino.size / PAGE)) * PAGE, length });
  ino.size += length;
}

const RANGE_DRAWS: Record<'copy' | 'exchange' | 'dedupe' | 'collapse' | 'insert', (d: Draw) => void> = {
  copy: drawCopy, exchange: drawExchange, dedupe: drawDedupe, collapse: drawCollapse, insert: drawInsert,
};

/** A random fsx-style script. Same options, same script. */
export function randomScript(options: RandomOptions): Script {
  const rng = new Rng(options.seed);
  const count = options.ops ?? 100;
  const maxFile = options.maxFileBytes ?? 256 << 10;
  const maxOp = options.maxOpBytes ?? 64 << 10;
  const useMmap = options.mmap ?? true;
  const errors = options.errors ?? true;
  const stmts: Stmt[] = [{ op: 'comment', text: `random workload seed ${options.seed}` }];
  const policy: Partial<Record<PolicyName, boolean>> = {};
  if (options.policyOff) {
    const name = options.policyOff === 'random' ? rng.pick(POLICY_NAMES) : options.policyOff;
    policy[name] = false;
    stmts.push({ op: 'policy', name, value: false });
  }
  const m = new RandomModel(policy);
  let seq = 0;
  const emit = (op: Op, expect?: ErrnoName): void => {
    stmts.push(expect === undefined ? op : { ...op, expect });
  };
  const range = (limit: number): { offset: number; length: number } => {
    const offset = rng.chance(0.3) ? rng.below(maxFile / PAGE) * PAGE : rng.below(maxFile);
    const length = Math.max(1, Math.min(rng.chance(0.3) ? rng.between(1, 4) * PAGE : rng.between(1, maxOp), limit - offset));
    return { offset, length };
  };
  const existing = (): string[] => [...m.files.keys()];
  const snapshot = (readonly: boolean): void => {
    m.snapshots++;
    emit({ op: 'snapshot', src: '/', dst: `/s${m.snapshots}`, readonly });
    m.liveSnapshots.push(`/s${m.snapshots}`);
  };

  // Start with two files, one of them nodatacow.
  for (const p of ['/f0', '/f1']) {
    emit({ op: 'create', path: p });
    m.files.set(p, m.newInode());
  }
  emit({ op: 'setflag', path: '/f1', flag: 'nodatacow', nocap: false });
  m.files.get('/f1')!.nodatacow = true;

  type Kind = RandomKind;
  let weights: Array<[Kind, number]> = [
    ['write', 14], ['read', 6], ['truncate', 5], ['fallocate', 4], ['punch', 4], ['zero', 4], ['clone', 4],
    ['fsync', 3], ['commit', 3], ['create', 3], ['unlink', 2], ['rename', 2], ['link', 2], ['mkdir', 1], ['rmdir', 1],
    ['check', 1], ['scrub', 1], ['populate', 1], ['immutable', 1], ['fillup', 1], ['symlink', 2], ['xattr', 3],
  ];
  if (options.snapshots ?? true) weights.push(['snapshot', 1], ['rmsubvol', 1]);
  if (options.freeze ?? true) weights.push(['freeze', 2]);
  if (errors) weights.push(['error', 3]);
  if (useMmap) weights.push(['mmap', 5], ['mstore', 12], ['mload', 5], ['mflush', 4], ['fence', 3], ['msync', 3], ['munmap', 3]);
  weights.push(['copy', 3], ['exchange', 2], ['dedupe', 2], ['collapse', 2], ['insert', 2]);
  if (options.exclude) weights = weights.filter(([k]) => !options.exclude!.includes(k));
  if (weights.length === 0) throw new Error('randomScript: every operation kind is excluded');

  for (let n = 0; n < count; n++) {
    seq++;
    const kind = rng.weighted(weights);
    // While frozen: thaw, a read-only operation, or a change that must fail with EBUSY.
    if (m.frozen) {
      const r = rng.below(6);
      if (r === 0 || r === 5) { emit({ op: 'thaw' }); m.frozen = false; continue; }
      const f = existing();
      if (r === 1 && f.length) { emit({ op: 'read', path: rng.pick(f), ...range(maxFile) }); continue; }
      if (r === 2 && f.length) { emit({ op: 'write', path: rng.pick(f), ...range(maxFile), seed: seq }, 'EBUSY'); continue; }
      if (r === 3 && errors) { emit({ op: 'freeze' }, 'EBUSY'); continue; }
      const rw = [...m.maps.values()].filter((x) => x.prot === 'rw');
      if (r === 4 && rw.length && m.policy.freezeWriteProtect !== false && m.policy.tlbShootdown !== false) {
        const x = rng.pick(rw);
        emit({ op: 'mstore', name: x.name, offset: 0, length: Math.min(8, x.length), seed: seq }, 'EBUSY');
        continue;
      }
      emit({ op: 'commit' });
      continue;
    }
    const files = existing();
    if (files.length === 0 && kind !== 'create') { const p = '/f0'; emit({ op: 'create', path: p }); m.files.set(p, m.newInode()); continue; }
    switch (kind) {
      case 'write': {
        const p = rng.pick(files);
        const r = range(maxFile);
        emit({ op: 'write', path: p, ...r, seed: seq });
        const ino = m.files.get(p)!;
        ino.size = Math.max(ino.size, r.offset + r.length);
        // A write under a mapping: the mapping must see it (its pages may have moved).
        const mapped = [...m.maps.values()].find((x) => x.ino === ino && x.offset < ino.size);
        if (mapped && rng.chance(0.5)) {
          const from = Math.max(0, Math.min(r.offset - mapped.offset, mapped.length - 1));
          const length = Math.min(64, mapped.length - from);
          const lastPageStart = mapped.offset + Math.floor((from + length - 1) / PAGE) * PAGE;
          if (lastPageStart < ino.size && m.policy.tlbShootdown !== false) {
            if (mapped.prot === 'rw' && rng.chance(0.5)) emit({ op: 'mstore', name: mapped.name, offset: from, length, seed: seq });
            else emit({ op: 'mload', name: mapped.name, offset: from, length });
          }
        }
        break;
      }
      case 'read': {
        const p = rng.pick(files);
        if (rng.chance(0.2)) emit({ op: 'read', path: p });
        else emit({ op: 'read', path: p, ...range(maxFile) });
        break;
      }
      case 'truncate': {
        const p = rng.pick(files);
        const ino = m.files.get(p)!;
        if (ino.size > 1 && rng.chance(0.3)) {
          // fsx's down-then-up: the bytes between the two sizes must read as zeros.
          const down = rng.below(ino.size);
          const up = down + rng.between(1, 2 * PAGE);
          emit({ op: 'truncate', path: p, size: down });
          emit({ op: 'truncate', path: p, size: up });
          ino.size = up;
          break;
        }
        const size = rng.chance(0.2) ? 0 : rng.chance(0.3) ? rng.below(maxFile / PAGE) * PAGE : rng.below(maxFile);
        emit({ op: 'truncate', path: p, size });
        ino.size = size;
        break;
      }
      case 'fallocate': case 'zero': {
        const p = rng.pick(files);
        const r = range(maxFile);
        const keepSize = rng.chance(0.5);
        emit({ op: kind, path: p, ...r, keepSize });
        const ino = m.files.get(p)!;
        if (!keepSize) ino.size = Math.max(ino.size, r.offset + r.length);
        break;
      }
      case 'punch': {
        const p = rng.pick(files);
        emit({ op: 'punch', path: p, ...range(maxFile) });
        break;
      }
      case 'clone': {
        // Page-aligned, inside the source, not overlapping itself, between files of one kind.
        const src = rng.pick(files);
        const s = m.files.get(src)!;
        const pages = Math.floor(s.size / PAGE);
        if (pages === 0) { emit({ op: 'fsync', path: src }); break; }
        const sameKind = files.filter((f) => m.files.get(f)!.nodatacow === s.nodatacow);
        const dst = rng.pick(sameKind);
        const d = m.files.get(dst)!;
        const len = rng.between(1, Math.min(pages, 16)) * PAGE;
        const srcOffset = rng.below(pages - len / PAGE + 1) * PAGE;
        let dstOffset = rng.below(maxFile / PAGE) * PAGE;
        if (d === s && srcOffset < dstOffset + len && dstOffset < srcOffset + len) dstOffset = srcOffset + len;
        // A clone into the middle of a file must not carry an unaligned EOF block: ours never do (aligned length).
        emit({ op: 'clone', src, dst, range: { srcOffset, dstOffset, length: len } });
        d.size = Math.max(d.size, dstOffset + len);
        break;
      }
      case 'copy': case 'exchange': case 'dedupe': case 'collapse': case 'insert':
        RANGE_DRAWS[kind]({ rng, m, files, emit, seq, maxFile, maxOp, errors });
        break;
      case 'fsync': emit({ op: 'fsync', path: rng.chance(0.8) ? rng.pick(files) : '/' }); break;
      case 'commit': emit({ op: 'commit' }); break;
      case 'check': emit({ op: 'check' }); break;
      case 'scrub': emit({ op: 'scrub' }); break;
      case 'populate': {
        // Once: enough files for the fs tree to have several leaves (a snapshot then shares
        // leaves it does not copy).
        if (m.populated) { emit({ op: 'commit' }); break; }
        m.populated = true;
        emit({ op: 'mkdir', path: '/p' });
        for (let i = 0; i < 24; i++) emit({ op: 'create', path: `/p/x${i}` });
        // A nodatacow file whose items come after all of those, in a leaf of its own.
        emit({ op: 'create', path: '/p/n' });
        emit({ op: 'setflag', path: '/p/n', flag: 'nodatacow', nocap: false });
        emit({ op: 'write', path: '/p/n', offset: 0, length: 4 * PAGE, seed: seq });
        m.files.set('/p/n', { ...m.newInode(), size: 4 * PAGE, nodatacow: true });
        break;
      }
      case 'fillup': {
        // Once: preallocate in a file, fill the device (a 4 MiB one, the fuzz default),
        // then write into the preallocated range, which must not fail with ENOSPC
        // (fallocate's promise), sometimes after a read-only snapshot.
        // In about a third of the scripts (every check on a full device is slower).
        if (m.filledUp || !rng.chance(0.35)) { emit({ op: 'commit' }); break; }
        m.filledUp = true;
        const p = rng.pick(files);
        const ino = m.files.get(p)!;
        const at = rng.below(maxFile / PAGE) * PAGE;
        const length = rng.between(1, 8) * PAGE;
        const keepSize = rng.chance(0.3);
        emit({ op: 'fallocate', path: p, offset: at, length, keepSize });
        if (!keepSize) ino.size = Math.max(ino.size, at + length);
        if ((options.snapshots ?? true) && rng.chance(0.3) && !m.immutableFile) snapshot(true);
        emit({ op: 'create', path: '/full' });
        let cursor = 0;
        for (const size of [1 << 20, 256 << 10, 64 << 10, 16 << 10, PAGE]) {
          // Preallocated past EOF: the space is taken, yet every check reads an empty file.
          for (let i = 0; i < 4; i++) { emit({ op: 'fallocate', path: '/full', offset: cursor, length: size, keepSize: true }); cursor += size; }
        }
        // In two unaligned pieces.
        const cut = rng.between(1, length - 1);
        emit({ op: 'write', path: p, offset: at, length: cut, seed: seq + 1 });
        emit({ op: 'write', path: p, offset: at + cut, length: length - cut, seed: seq + 2 });
        ino.size = Math.max(ino.size, at + length);
        emit({ op: 'unlink', path: '/full' });
        break;
      }
      case 'immutable': {
        // Thread 004's DAX-immutable flag: set on a fully written nodatacow file, then
        // the changes it refuses, or cleared again.
        if (!m.immutableFile) {
          const p = `/i${m.immutables++}`;
          emit({ op: 'create', path: p });
          emit({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false });
          emit({ op: 'write', path: p, offset: 0, length: 4 * PAGE, seed: seq });
          if (errors && rng.chance(0.3)) emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: true }, 'EPERM');
          emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: false });
          m.immutableFile = p;
          break;
        }
        const p = m.immutableFile;
        const r = errors ? rng.below(5) : 4;
        if (r === 0) emit({ op: 'write', path: p, offset: rng.below(4 * PAGE), length: 100, seed: seq }, 'EPERM');
        else if (r === 1) emit({ op: 'truncate', path: p, size: rng.below(4 * PAGE) }, 'EPERM');
        else if (r === 2) emit({ op: 'unlink', path: p }, 'EPERM');
        else if (r === 3) emit({ op: 'punch', path: p, offset: 0, length: PAGE }, 'EPERM');
        else { emit({ op: 'clearflag', path: p, flag: 'dax-immutable', nocap: false }); m.immutableFile = null; }
        break;
      }
      case 'rmsubvol': {
        if (m.liveSnapshots.length === 0) { emit({ op: 'commit' }); break; }
        const at = rng.below(m.liveSnapshots.length);
        emit({ op: 'rmsubvol', path: m.liveSnapshots[at]! });
        m.liveSnapshots.splice(at, 1);
        break;
      }
      case 'create': {
        const free = FILE_NAMES.filter((f) => !m.files.has(f) && m.parentExists(f));
        if (free.length === 0) { emit({ op: 'commit' }); break; }
        const p = rng.pick(free);
        if (rng.chance(0.3)) emit({ op: 'open', path: p, create: true, truncate: false });
        else emit({ op: 'create', path: p });
        const ino = m.newInode();
        m.files.set(p, ino);
        if (rng.chance(0.3)) { emit({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false }); ino.nodatacow = true; }
        break;
      }
      case 'unlink': {
        if (files.length <= 1) { emit({ op: 'commit' }); break; }
        const p = rng.pick(files);
        emit({ op: 'unlink', path: p });
        m.files.delete(p);
        break;
      }
      case 'rename': {
        const from = rng.pick(files);
        const targets = FILE_NAMES.filter((f) => f !== from && m.parentExists(f));
        const to = rng.pick(targets);
        emit({ op: 'rename', from, to });
        const ino = m.files.get(from)!;
        if (m.files.get(to) !== ino) { m.files.set(to, ino); m.files.delete(from); }
        break;
      }
      case 'link': {
        const free = FILE_NAMES.filter((f) => !m.files.has(f) && m.parentExists(f));
        if (free.length === 0) { emit({ op: 'commit' }); break; }
        const from = rng.pick(files);
        const to = rng.pick(free);
        emit({ op: 'link', from, to });
        m.files.set(to, m.files.get(from)!);
        break;
      }
      case 'symlink': linkStep(m, rng, emit, seq); break;
      case 'xattr': xattrStep(m, rng, emit, seq, files); break;
      case 'mkdir':
        if (m.dirExists) { emit({ op: 'mkdir', path: '/d' }, 'EEXIST'); break; }
        emit({ op: 'mkdir', path: '/d' });
        m.dirExists = true;
        break;
      case 'rmdir':
        if (!m.dirExists) { emit({ op: 'rmdir', path: '/d' }, 'ENOENT'); break; }
        if (!m.dirEmpty()) { emit({ op: 'rmdir', path: '/d' }, 'ENOTEMPTY'); break; }
        emit({ op: 'rmdir', path: '/d' });
        m.dirExists = false;
        break;
      case 'snapshot':
        if (m.immutableFile) {
          // A DAX-immutable file's extents must never be shared.
          if (errors) emit({ op: 'snapshot', src: '/', dst: `/s${m.snapshots + 1}`, readonly: true }, 'EPERM');
          else emit({ op: 'commit' });
          break;
        }
        snapshot(rng.chance(0.5));
        break;
      case 'freeze':
        emit({ op: 'freeze' });
        m.frozen = true;
        break;
      case 'error': {
        // An operation whose errno is certain.
        const r = rng.below(7);
        const free = FILE_NAMES.filter((f) => !m.files.has(f) && m.parentExists(f));
        if (r === 0) emit({ op: 'create', path: rng.pick(files) }, 'EEXIST');
        else if (r === 1 && free.length) emit({ op: 'unlink', path: rng.pick(free) }, 'ENOENT');
        else if (r === 2) emit({ op: 'thaw' }, 'EINVAL');
        else if (r === 3 && !m.dirExists) emit({ op: 'create', path: '/d/g0' }, 'ENOENT');
        else if (r === 4 && useMmap) {
          const p = files.find((f) => !m.files.get(f)!.nodatacow);
          if (p) emit({ op: 'mmap', name: 'bad', path: p, offset: 0, length: PAGE, prot: 'rw', sync: true }, 'EOPNOTSUPP');
          else emit({ op: 'fence' });
        } else if (r === 5) emit({ op: 'fallocate', path: rng.pick(files), offset: 0, length: 0, keepSize: false }, 'EINVAL');
        else emit({ op: 'link', from: rng.pick(files), to: rng.pick(files) }, 'EEXIST');
        break;
      }
      case 'mmap': {
        const free = MAP_NAMES.filter((x) => !m.maps.has(x));
        if (free.length === 0) { const x = rng.pick([...m.maps.keys()]); emit({ op: 'munmap', name: x }); m.maps.delete(x); break; }
        const name = rng.pick(free);
        const p = rng.pick(files);
        const ino = m.files.get(p)!;
        const offset = rng.below(Math.max(1, Math.ceil(ino.size / PAGE))) * PAGE;
        const length = rng.chance(0.5) ? rng.between(1, 16) * PAGE : rng.between(1, maxOp);
        const prot = rng.chance(0.8) ? 'rw' as const : 'r' as const;
        const sync = ino.nodatacow && prot === 'rw' && rng.chance(0.3);
        emit({ op: 'mmap', name, path: p, offset, length, prot, sync });
        m.maps.set(name, { name, ino, offset, length, prot, sync });
        break;
      }
      case 'mstore': case 'mload': case 'mflush': case 'msync': {
        const maps = [...m.maps.values()];
        if (maps.length === 0) { emit({ op: 'fence' }); break; }
        const x = rng.pick(maps);
        const offset = rng.below(x.length);
        const length = rng.between(1, Math.min(x.length - offset, maxOp));
        // Pages at or past EOF fault with SIGBUS; a read-only mapping refuses stores (SIGSEGV).
        const lastPageStart = x.offset + Math.floor((offset + length - 1) / PAGE) * PAGE;
        const beyond = lastPageStart >= x.ino.size;
        // Without shootdowns this thread's TLB may still hold an entry a truncate, a freeze
        // or an munmap dropped (mapping ids are reused): whether the access faults is not
        // known in advance.
        if (m.policy.tlbShootdown === false && (beyond || (kind === 'mstore' && x.prot === 'r'))) { emit({ op: 'fence' }); break; }
        if (kind === 'mstore') {
          const expect: ErrnoName | undefined = x.prot === 'r' ? 'SIGSEGV' : beyond ? 'SIGBUS' : undefined;
          if (expect && !errors) { emit({ op: 'fence' }); break; }
          emit({ op: 'mstore', name: x.name, offset, length, seed: seq }, expect);
        } else if (kind === 'mload') {
          if (beyond && !errors) { emit({ op: 'fence' }); break; }
          emit({ op: 'mload', name: x.name, offset, length }, beyond ? 'SIGBUS' : undefined);
        } else {
          emit({ op: kind, name: x.name, offset, length });
        }
        break;
      }
      case 'fence': emit({ op: 'fence' }); break;
      case 'munmap': {
        const names = [...m.maps.keys()];
        if (names.length === 0) { emit({ op: 'fence' }); break; }
        const x = rng.pick(names);
        emit({ op: 'munmap', name: x });
        m.maps.delete(x);
        break;
      }
    }
  }
  if (m.frozen) emit({ op: 'thaw' });
  if (options.crashAtEnd) {
    stmts.push(options.crashAtEnd === 'random' ? { op: 'crash', mode: 'random', seed: options.seed } : { op: 'crash', mode: 'strict' }, { op: 'mount' }, { op: 'check' });
  }
  return { stmts };
}
