// Model-based testing with fast-check's fc.commands over the workload language: each
// command is one workload statement, run on the file system (through the workload Runner)
// and on the model by the model harness, which compares results, errnos and the paths it
// touched. A failing sequence shrinks to a short script (the commands print as statements).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PmemDevice } from '../src/index.js';
import type { Op } from '../src/workload/ast.js';
import { printStmt } from '../src/workload/print.js';
import { Harness } from './helpers/model-harness.js';

/** Fixed so that every run is the same; FC_SEED overrides it to explore. */
const SEED = Number(process.env.FC_SEED ?? 18_2026);
const RUNS = Number(process.env.FC_RUNS ?? 60);
const BLOCK = 4096;

/** What the commands' preconditions need: the descriptor names open now. */
interface Open { fds: Set<string> }

class Statement implements fc.Command<Open, Harness> {
  constructor(readonly op: Op) {}

  /** A name already open may not be opened again (the language calls that a script error). */
  check(m: Readonly<Open>): boolean {
    return !(this.op.op === 'open' && this.op.fd !== undefined && m.fds.has(this.op.fd));
  }

  run(m: Open, h: Harness): void {
    h.apply(this.op);
    m.fds = new Set(h.fds.keys());
  }

  toString(): string {
    return printStmt(this.op);
  }
}

const path = fc.tuple(fc.constantFrom('', '/d', '/d/e', '/s'), fc.constantFrom('a', 'b', 'd', 'e'))
  .map(([dir, name]) => `${dir}/${name}`);
const fd = fc.constantFrom('f1', 'f2');
const pages = (max: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max }).map((b) => b * BLOCK);
const offset = fc.oneof(fc.integer({ min: 0, max: 20_000 }), pages(5));
const length = fc.oneof(fc.integer({ min: 1, max: 9000 }), pages(3).filter((n) => n > 0));
const seed = fc.integer({ min: 1, max: 1000 });
/** A range of a file: offset and length. */
const range = fc.record({ offset, length });

const namespace: fc.Arbitrary<Op>[] = [
  path.map((p): Op => ({ op: 'mkdir', path: p })),
  path.map((p): Op => ({ op: 'create', path: p })),
  path.map((p): Op => ({ op: 'unlink', path: p })),
  path.map((p): Op => ({ op: 'rmdir', path: p })),
  fc.tuple(path, path).map(([from, to]): Op => ({ op: 'rename', from, to })),
  fc.tuple(path, path).map(([from, to]): Op => ({ op: 'link', from, to })),
  path.map((p): Op => ({ op: 'stat', path: p })),
  fc.constantFrom('/', '/d', '/s').map((p): Op => ({ op: 'readdir', path: p })),
  fc.boolean().map((readonly): Op => ({ op: 'snapshot', src: '/', dst: '/s', readonly })),
  fc.constant<Op>({ op: 'rmsubvol', path: '/s' }),
  fc.constant<Op>({ op: 'commit' }),
];

const data: fc.Arbitrary<Op>[] = [
  fc.tuple(path, range, seed).map(([p, r, s]): Op => ({ op: 'write', path: p, ...r, seed: s })),
  fc.tuple(path, fc.boolean(), fc.boolean())
    .map(([p, create, truncate]): Op => ({ op: 'open', path: p, create, truncate })),
  fc.tuple(path, offset).map(([p, size]): Op => ({ op: 'truncate', path: p, size })),
  fc.tuple(path, range, fc.boolean())
    .map(([p, r, keepSize]): Op => ({ op: 'fallocate', path: p, ...r, keepSize })),
  fc.tuple(path, range).map(([p, r]): Op => ({ op: 'punch', path: p, ...r })),
  fc.tuple(path, range).map(([p, r]): Op => ({ op: 'zero', path: p, ...r, keepSize: false })),
  fc.tuple(path, path).map(([src, dst]): Op => ({ op: 'clone', src, dst })),
  fc.tuple(path, path, pages(3), pages(3), pages(3).filter((n) => n > 0))
    .map(([src, dst, srcOffset, dstOffset, n]): Op => ({
      op: 'clone', src, dst, range: { srcOffset, dstOffset, length: n },
    })),
  path.map((p): Op => ({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false })),
  path.map((p): Op => ({ op: 'read', path: p })),
];

const descriptors: fc.Arbitrary<Op>[] = [
  fc.tuple(fd, path, fc.boolean())
    .map(([f, p, create]): Op => ({ op: 'open', fd: f, path: p, create, truncate: false })),
  fc.tuple(fd, range, seed).map(([f, r, s]): Op => ({ op: 'write', fd: f, ...r, seed: s })),
  fc.tuple(fd, range).map(([f, r]): Op => ({ op: 'read', fd: f, ...r })),
  fd.map((f): Op => ({ op: 'fsync', fd: f })),
  fd.map((f): Op => ({ op: 'close', fd: f })),
];

/** Statements over a few paths: namespace, data, ranges, descriptors, subvolumes, commits. */
const statement: fc.Arbitrary<Op> = fc.oneof(...namespace, ...data, ...descriptors);

const commands = fc.commands([statement.map((op) => new Statement(op))],
  { maxCommands: 50, size: 'max' });

describe('fc.commands: workload statements against the model', () => {
  it('each statement and the tree match the model (and again after a remount)', async () => {
    let sequences = 0;
    let statements = 0;
    await fc.assert(fc.asyncProperty(commands, async (cmds) => {
      sequences++;
      const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
      try {
        const h = Harness.fresh(dev);
        fc.modelRun(() => ({ model: { fds: new Set<string>() }, real: h }), cmds);
        statements += h.stats.ops;
        h.checkTree();
        h.remount();
      } finally {
        dev.close();
      }
    }), { seed: SEED, numRuns: RUNS });
    expect(sequences).toBe(RUNS);
    expect(statements).toBeGreaterThan(RUNS * 20);
  });
});
