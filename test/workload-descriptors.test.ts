// Open file descriptors in the workload language (`open NAME PATH`, `write NAME`, `read NAME`,
// `fsync NAME`, `fdatasync NAME|PATH`, `close NAME`): a descriptor keeps naming its inode
// after a rename or an unlink of the path it was opened by; an fsync through it is a
// persistence point the crash checker holds the file system to (strict and random images,
// judged by the model of src/model, never by the file system); an unknown descriptor is
// EBADF, the model says so too; a crash closes every descriptor.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileSystem } from '../src/index.js';
import { Runner, runScript, patternBytes, checksumHex, parse } from '../src/workload/index.js';
import { checkScript } from '../src/crash/fuzz.js';
import { CrashModel } from '../src/model/crash-model.js';
import type { Op, StmtCommon } from '../src/workload/ast.js';
import { crc32c, loadCrc32c } from '../src/csum/crc32c.js';

const SMALL = { sizeBytes: 16 << 20 };
beforeAll(async () => { await loadCrc32c(); });
const crcOf = (bytes: Uint8Array): string => checksumHex(crc32c(bytes));

/** Every operation of `text` through the model alone, each as if it returned `ok` or the errno given in `outcomes`. */
function modelRun(text: string, outcomes: Record<number, string> = {}): { model: CrashModel; expectations: Array<{ ok: boolean; errnos: string[] }> } {
  const model = new CrashModel({ deviceBytes: 16 << 20 });
  const expectations: Array<{ ok: boolean; errnos: string[] }> = [];
  parse(text).stmts.forEach((s, i) => {
    if (s.op === 'comment') return;
    const e = model.begin(s as Op & StmtCommon);
    expectations.push({ ok: e.ok, errnos: [...e.errnos] });
    const errno = outcomes[i];
    const problems = model.end(errno ? { ok: false, errno, message: errno } : { ok: true }, crcOf);
    expect(problems, `${i}: ${JSON.stringify(s)}`).toEqual([]);
  });
  return { model, expectations };
}

describe('descriptors in the runner', () => {
  it('fsync through a descriptor opened before a rename succeeds; the data survives strict and random crashes', async () => {
    const data = crcOf(patternBytes(7, 10000));
    for (const crash of ['crash', 'crash random 1', 'crash random 2', 'crash random 3']) {
      const r = await runScript(`mkdir /A
open Afoo /A/foo creat
write Afoo 0 10000 seed 7
rename /A /B
fsync Afoo
${crash}
mount
check
read /B/foo
expect ENOENT stat /A/foo
`, SMALL);
      expect(r.failure, crash).toBeUndefined();
      expect(r.results.find((x) => x.text === 'read /B/foo')).toMatchObject({ bytes: 10000, checksum: data });
    }
  });

  it('a descriptor of an unlinked file reads and writes its orphan; closing it drops the orphan; a crash keeps no trace', async () => {
    const r = await runScript(`open f /a creat
write f 0 4096 seed 1
unlink /a
write f 4096 100 seed 2
read f 4096 100
fsync f
readdir /
close f
check
crash
mount
check
readdir /
`, SMALL);
    expect(r.failure).toBeUndefined();
    expect(r.results[4]).toMatchObject({ text: 'read f 4096 100', bytes: 100, checksum: crcOf(patternBytes(2, 100)) });
    expect(r.results[6]!.value).toBe('');
    expect(r.results[12]!.value).toBe('');
  });

  it('an unknown, closed or crashed descriptor is EBADF; reusing an open name is a script error', async () => {
    const r = await runScript(`expect EBADF fsync nope
expect EBADF fdatasync nope
expect EBADF close nope
expect EBADF write nope 0 1
expect EBADF read nope 0 1
open f /a creat
close f
expect EBADF fsync f
expect EBADF close f
open f /a
commit
crash
mount
expect EBADF fsync f
open f /a
fdatasync f
fdatasync /a
fdatasync /
close f
`, SMALL);
    expect(r.failure).toBeUndefined();
    expect(r.results.filter((x) => x.errno === 'EBADF')).toHaveLength(8);
    const twice = await runScript('open f /a creat\nopen f /a\n', SMALL);
    expect(twice.failure).toMatchObject({ line: 2, kind: 'script', message: "descriptor 'f' is open: close it first" });
    // (`read NAME` without a range does not parse: test/workload-parse.test.ts.)
  });

  it('unmount closes every descriptor; the path forms still open and close around the call', async () => {
    const runner = await Runner.create(SMALL);
    try {
      const r = runner.run('open f /a creat\nwrite f 0 10\nunmount\nmount\nexpect EBADF write f 0 10\nwrite /a 10 10\nfsync /a\nread /a\n');
      expect(r.failure).toBeUndefined();
      expect(runner.fs!.stat('/a').size).toBe(20);
    } finally {
      runner.close();
    }
  });
});

describe('descriptors in the model', () => {
  it('binds a name to the inode: fsync after a rename or an unlink is legal, EBADF after close', () => {
    const { expectations } = modelRun(`open f /a creat
rename /a /b
fsync f
unlink /b
write f 0 10
fdatasync f
close f
fsync f
`, { 7: 'EBADF' });
    expect(expectations.map((e) => e.ok)).toEqual([true, true, true, true, true, true, true, false]);
    expect(expectations[7]!.errnos).toEqual(['EBADF']);
  });

  it('fsync and fdatasync through a descriptor are persistence points: the states before them are no longer legal', () => {
    for (const sync of ['fsync f', 'fdatasync f', 'fdatasync /b']) {
      const { model } = modelRun(`open f /a creat
write f 0 100
rename /a /b
${sync}
`);
      expect(model.stateAt(3), sync).toBeNull(); // the rename's state: gone
      expect(model.stateAt(4), sync).not.toBeNull();
    }
  });

  it('a failed open binds nothing; a name is rebound after close', () => {
    const { expectations } = modelRun('open f /nope\nfsync f\nopen f /a creat\nclose f\nopen f /a\nfsync f\n', { 0: 'ENOENT', 1: 'EBADF' });
    expect(expectations.map((e) => e.ok)).toEqual([false, false, true, true, true, true]);
  });
});

describe('descriptors under the crash checker', () => {
  const script = parse(`mkdir /A
open Afoo /A/foo creat
write Afoo 0 8192 seed 3
commit
write Afoo 8192 5000 seed 4
rename /A /B
fsync Afoo
open bar /bar creat
write bar 0 3000 seed 5
unlink /bar
fdatasync bar
expect EBADF fsync nope
close bar
close Afoo
`);
  const realFsync = FileSystem.prototype.fsync;
  afterEach(() => { FileSystem.prototype.fsync = realFsync; });

  it('every crash image (strict and random, at every fence and after every operation) matches a state the model allows', () => {
    const r = checkScript(script, { samples: 8 });
    expect(r.violations).toEqual([]);
    expect(r.unjudged).toBeNull();
    expect(r.ops).toBe(14);
    expect(r.images).toBeGreaterThan(100);
  });

  it('an fsync through a descriptor that commits nothing is caught: the model holds the fs to it', () => {
    // The mutant fsync-commits-nothing (test/mutants/mutants.mjs), applied here at run time.
    FileSystem.prototype.fsync = function fsync(this: FileSystem, fd: number): void {
      if (!(this as unknown as { fds: Map<number, unknown> }).fds.has(fd)) throw new Error('bad fd');
    };
    const r = checkScript(script, { samples: 8 });
    expect(r.violations.length).toBeGreaterThan(0);
    expect(r.violations[0]!.point).toMatch(/^line 7: /); // the fsync: the images after it lack the second write
  });
});
