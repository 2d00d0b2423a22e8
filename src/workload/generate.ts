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
import { FILE_NAMES, MAP_NAMES, PAGE, RandomModel } from './random-model.js';
import { RANGE_DRAWS } from './random-range.js';
import { linkStep, xattrStep } from './random-links.js';

export {
  exhaustive, exhaustiveCount, coreOpChoices, persistenceChoices, buildAceScript, describeCore,
  siblingOf,
  CORE_OPS, ACE_FILES, ACE_SECOND_FILES, ACE_DIRS, ACE_RANGES, ACE_DWRITE_RANGES, ACE_SIZES,
  ACE_FALLOC_MODES, ACE_SETUP_BYTES, ACE_PERSISTENCE,
  type CoreOpName, type CoreOp, type Persistence, type FallocMode, type ExhaustiveOptions,
  type GeneratedScript,
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
  /**
   * End with `crash` (strict, or random with the script's seed), `mount`, `check`
   * (default false).
   */
  crashAtEnd?: boolean | 'random';
}

/** What randomScript draws from (besides thaw and the EBUSY probes while frozen). */
export const RANDOM_KINDS = [
  'write', 'read', 'truncate', 'fallocate', 'punch', 'zero', 'clone', 'fsync', 'commit',
  'create', 'unlink', 'rename', 'link', 'mkdir', 'rmdir', 'snapshot', 'rmsubvol', 'freeze', 'error',
  'check', 'scrub', 'populate', 'immutable', 'fillup',
  'mmap', 'mstore', 'mload', 'mflush', 'fence', 'msync', 'munmap', 'symlink', 'xattr',
  'copy', 'exchange', 'dedupe', 'collapse', 'insert',
] as const;
export type RandomKind = typeof RANDOM_KINDS[number];

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
    const drawn = rng.chance(0.3) ? rng.between(1, 4) * PAGE : rng.between(1, maxOp);
    const length = Math.max(1, Math.min(drawn, limit - offset));
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
    ['write', 14], ['read', 6], ['truncate', 5], ['fallocate', 4], ['punch', 4], ['zero', 4],
    ['clone', 4], ['fsync', 3], ['commit', 3], ['create', 3], ['unlink', 2], ['rename', 2],
    ['link', 2], ['mkdir', 1], ['rmdir', 1], ['check', 1], ['scrub', 1], ['populate', 1],
    ['immutable', 1], ['fillup', 1], ['symlink', 2], ['xattr', 3],
  ];
  if (options.snapshots ?? true) weights.push(['snapshot', 1], ['rmsubvol', 1]);
  if (options.freeze ?? true) weights.push(['freeze', 2]);
  if (errors) weights.push(['error', 3]);
  if (useMmap) {
    weights.push(['mmap', 5], ['mstore', 12], ['mload', 5], ['mflush', 4], ['fence', 3],
      ['msync', 3], ['munmap', 3]);
  }
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
      if (r === 1 && f.length) {
        emit({ op: 'read', path: rng.pick(f), ...range(maxFile) });
        continue;
      }
      if (r === 2 && f.length) {
        emit({ op: 'write', path: rng.pick(f), ...range(maxFile), seed: seq }, 'EBUSY');
        continue;
      }
      if (r === 3 && errors) { emit({ op: 'freeze' }, 'EBUSY'); continue; }
      const rw = [...m.maps.values()].filter((x) => x.prot === 'rw');
      const probed = m.policy.freezeWriteProtect !== false && m.policy.tlbShootdown !== false;
      if (r === 4 && rw.length && probed) {
        const x = rng.pick(rw);
        const length = Math.min(8, x.length);
        emit({ op: 'mstore', name: x.name, offset: 0, length, seed: seq }, 'EBUSY');
        continue;
      }
      emit({ op: 'commit' });
      continue;
    }
    const files = existing();
    if (files.length === 0 && kind !== 'create') {
      const p = '/f0';
      emit({ op: 'create', path: p });
      m.files.set(p, m.newInode());
      continue;
    }
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
            if (mapped.prot === 'rw' && rng.chance(0.5)) {
              emit({ op: 'mstore', name: mapped.name, offset: from, length, seed: seq });
            } else {
              emit({ op: 'mload', name: mapped.name, offset: from, length });
            }
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
        const size = rng.chance(0.2) ? 0
          : rng.chance(0.3) ? rng.below(maxFile / PAGE) * PAGE : rng.below(maxFile);
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
        if (d === s && srcOffset < dstOffset + len && dstOffset < srcOffset + len) {
          dstOffset = srcOffset + len;
        }
        // A clone into the middle of a file must not carry an unaligned EOF block: ours
        // never do (aligned length).
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
          for (let i = 0; i < 4; i++) {
            emit({ op: 'fallocate', path: '/full', offset: cursor, length: size, keepSize: true });
            cursor += size;
          }
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
          if (errors && rng.chance(0.3)) {
            emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: true }, 'EPERM');
          }
          emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: false });
          m.immutableFile = p;
          break;
        }
        const p = m.immutableFile;
        const r = errors ? rng.below(5) : 4;
        if (r === 0) {
          const offset = rng.below(4 * PAGE);
          emit({ op: 'write', path: p, offset, length: 100, seed: seq }, 'EPERM');
        } else if (r === 1) {
          emit({ op: 'truncate', path: p, size: rng.below(4 * PAGE) }, 'EPERM');
        } else if (r === 2) {
          emit({ op: 'unlink', path: p }, 'EPERM');
        } else if (r === 3) {
          emit({ op: 'punch', path: p, offset: 0, length: PAGE }, 'EPERM');
        } else {
          emit({ op: 'clearflag', path: p, flag: 'dax-immutable', nocap: false });
          m.immutableFile = null;
        }
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
        if (rng.chance(0.3)) {
          emit({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false });
          ino.nodatacow = true;
        }
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
          const dst = `/s${m.snapshots + 1}`;
          if (errors) emit({ op: 'snapshot', src: '/', dst, readonly: true }, 'EPERM');
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
          if (p) {
            emit({
              op: 'mmap', name: 'bad', path: p, offset: 0, length: PAGE, prot: 'rw', sync: true,
            }, 'EOPNOTSUPP');
          } else {
            emit({ op: 'fence' });
          }
        } else if (r === 5) {
          const path = rng.pick(files);
          emit({ op: 'fallocate', path, offset: 0, length: 0, keepSize: false }, 'EINVAL');
        } else {
          emit({ op: 'link', from: rng.pick(files), to: rng.pick(files) }, 'EEXIST');
        }
        break;
      }
      case 'mmap': {
        const free = MAP_NAMES.filter((x) => !m.maps.has(x));
        if (free.length === 0) {
          const x = rng.pick([...m.maps.keys()]);
          emit({ op: 'munmap', name: x });
          m.maps.delete(x);
          break;
        }
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
        const faults = beyond || (kind === 'mstore' && x.prot === 'r');
        if (m.policy.tlbShootdown === false && faults) { emit({ op: 'fence' }); break; }
        if (kind === 'mstore') {
          const expect: ErrnoName | undefined = x.prot === 'r' ? 'SIGSEGV'
            : beyond ? 'SIGBUS' : undefined;
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
    const crash: Op = options.crashAtEnd === 'random'
      ? { op: 'crash', mode: 'random', seed: options.seed }
      : { op: 'crash', mode: 'strict' };
    stmts.push(crash, { op: 'mount' }, { op: 'check' });
  }
  return { stmts };
}
