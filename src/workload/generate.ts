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
import { RandomModel, type Draw } from './random-model.js';
import { RANGE_DRAWS } from './random-range.js';
import { linkStep, xattrStep } from './random-links.js';
import {
  drawAllocate, drawClone, drawFillup, drawImmutable, drawPopulate, drawPunch, drawRead,
  drawTruncate, drawWrite,
} from './random-data.js';
import {
  drawCreate, drawError, drawLink, drawMkdir, drawRename, drawRmdir, drawUnlink,
} from './random-namespace.js';
import { drawFreeze, drawRmsubvol, drawSnapshot, drawWhileFrozen } from './random-volume.js';
import { drawMapAccess, drawMmap, drawMunmap } from './random-dax.js';

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

/** How often each kind is drawn, by weight. */
const BASE_WEIGHTS: ReadonlyArray<[RandomKind, number]> = [
  ['write', 14], ['read', 6], ['truncate', 5], ['fallocate', 4], ['punch', 4], ['zero', 4],
  ['clone', 4], ['fsync', 3], ['commit', 3], ['create', 3], ['unlink', 2], ['rename', 2],
  ['link', 2], ['mkdir', 1], ['rmdir', 1], ['check', 1], ['scrub', 1], ['populate', 1],
  ['immutable', 1], ['fillup', 1], ['symlink', 2], ['xattr', 3],
];

/** The draw of each kind (the files exist: a step never meets an empty file set). */
const KIND_DRAWS: Record<RandomKind, (d: Draw) => void> = {
  write: drawWrite, read: drawRead, truncate: drawTruncate,
  fallocate: (d) => drawAllocate(d, 'fallocate'), zero: (d) => drawAllocate(d, 'zero'),
  punch: drawPunch, clone: drawClone,
  copy: RANGE_DRAWS.copy, exchange: RANGE_DRAWS.exchange, dedupe: RANGE_DRAWS.dedupe,
  collapse: RANGE_DRAWS.collapse, insert: RANGE_DRAWS.insert,
  fsync: (d) => d.emit({ op: 'fsync', path: d.rng.chance(0.8) ? d.rng.pick(d.files) : '/' }),
  commit: (d) => d.emit({ op: 'commit' }),
  check: (d) => d.emit({ op: 'check' }),
  scrub: (d) => d.emit({ op: 'scrub' }),
  populate: drawPopulate, fillup: drawFillup, immutable: drawImmutable,
  create: drawCreate, unlink: drawUnlink, rename: drawRename, link: drawLink,
  mkdir: drawMkdir, rmdir: drawRmdir, error: drawError,
  symlink: (d) => linkStep(d.m, d.rng, d.emit, d.seq),
  xattr: (d) => xattrStep(d.m, d.rng, d.emit, d.seq, d.files),
  snapshot: drawSnapshot, rmsubvol: drawRmsubvol, freeze: drawFreeze,
  mmap: drawMmap,
  mstore: (d) => drawMapAccess(d, 'mstore'), mload: (d) => drawMapAccess(d, 'mload'),
  mflush: (d) => drawMapAccess(d, 'mflush'), msync: (d) => drawMapAccess(d, 'msync'),
  fence: (d) => d.emit({ op: 'fence' }),
  munmap: drawMunmap,
};

/** A random fsx-style script. Same options, same script. */
export function randomScript(options: RandomOptions): Script {
  const rng = new Rng(options.seed);
  const stmts: Stmt[] = [{ op: 'comment', text: `random workload seed ${options.seed}` }];
  const m = new RandomModel(policyOff(options, rng, stmts));
  const emit = (op: Op, expect?: ErrnoName): void => {
    stmts.push(expect === undefined ? op : { ...op, expect });
  };
  const d: Draw = {
    rng, m, files: [], emit, seq: 0,
    maxFile: options.maxFileBytes ?? 256 << 10,
    maxOp: options.maxOpBytes ?? 64 << 10,
    errors: options.errors ?? true,
    useMmap: options.mmap ?? true,
    snapshots: options.snapshots ?? true,
  };
  startFiles(d);
  const weights = kindWeights(options);
  const count = options.ops ?? 100;
  for (let n = 0; n < count; n++) {
    d.seq++;
    const kind = rng.weighted(weights);
    if (m.frozen) { drawWhileFrozen(d); continue; }
    d.files = [...m.files.keys()];
    if (d.files.length === 0 && kind !== 'create') {
      const p = '/f0';
      emit({ op: 'create', path: p });
      m.files.set(p, m.newInode());
      continue;
    }
    KIND_DRAWS[kind](d);
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

/** The policy switch the script turns off first (`policy NAME=off`), if any. */
function policyOff(
  options: RandomOptions, rng: Rng, stmts: Stmt[],
): Partial<Record<PolicyName, boolean>> {
  const policy: Partial<Record<PolicyName, boolean>> = {};
  if (options.policyOff) {
    const name = options.policyOff === 'random' ? rng.pick(POLICY_NAMES) : options.policyOff;
    policy[name] = false;
    stmts.push({ op: 'policy', name, value: false });
  }
  return policy;
}

/** Start with two files, one of them nodatacow. */
function startFiles(d: Draw): void {
  for (const p of ['/f0', '/f1']) {
    d.emit({ op: 'create', path: p });
    d.m.files.set(p, d.m.newInode());
  }
  d.emit({ op: 'setflag', path: '/f1', flag: 'nodatacow', nocap: false });
  d.m.files.get('/f1')!.nodatacow = true;
}

/** The kinds the options allow, with their weights. */
function kindWeights(options: RandomOptions): Array<[RandomKind, number]> {
  let weights: Array<[RandomKind, number]> = [...BASE_WEIGHTS];
  if (options.snapshots ?? true) weights.push(['snapshot', 1], ['rmsubvol', 1]);
  if (options.freeze ?? true) weights.push(['freeze', 2]);
  if (options.errors ?? true) weights.push(['error', 3]);
  if (options.mmap ?? true) {
    weights.push(['mmap', 5], ['mstore', 12], ['mload', 5], ['mflush', 4], ['fence', 3],
      ['msync', 3], ['munmap', 3]);
  }
  weights.push(['copy', 3], ['exchange', 2], ['dedupe', 2], ['collapse', 2], ['insert', 2]);
  if (options.exclude) weights = weights.filter(([k]) => !options.exclude!.includes(k));
  if (weights.length === 0) throw new Error('randomScript: every operation kind is excluded');
  return weights;
}
