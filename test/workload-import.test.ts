// Importers: an fsx --replay-ops log and a CrashMonkey/ACE j-lang workload become
// workload scripts that run; unsupported operations are listed by name and line.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importFsx, importAce, Runner, print, parse, ParseError, FSX_OPS, FSX_UNSUPPORTED } from '../src/workload/index.js';
import { checkScript } from '../src/crash/fuzz.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('fsx op-log import', () => {
  const imported = importFsx(fixture('sample.fsxops'));

  it('imports every operation: nothing unsupported', () => {
    expect(imported.unsupported).toEqual([]);
  });

  it('maps every supported operation, hex and decimal arguments, and flags', () => {
    const text = print(imported.script);
    const mine = (line: number): string[] => imported.script.stmts
      .filter((_, i) => imported.script.lines![i] === line).map((s) => print([s]).trimEnd());
    expect(mine(4)).toEqual(['write /fsx 245760 57808 seed 1']); // 0x3c000 0xe1d0
    expect(mine(5)).toEqual(['mmap fsx /fsx 4096 8192 r', 'mload fsx 0 8192', 'munmap fsx']);
    expect(mine(6)).toEqual(['truncate /fsx 131072']);
    expect(mine(7)).toEqual(['fallocate /fsx 98304 65536 keep']);
    expect(mine(8)).toEqual(['punch /fsx 8448 12288']);
    expect(mine(9)).toEqual([ // mapwrite past EOF: extend, map from the page start, store, msync, unmap
      'truncate /fsx 139264', 'mmap fsx /fsx 122880 16384 rw', 'mstore fsx 0 16384 seed 6', 'msync fsx 0 16384', 'munmap fsx',
    ]);
    expect(mine(10)).toEqual(['zero /fsx 32768 4096']);
    expect(mine(11)).toEqual(['collapse /fsx 16384 16384']);
    expect(mine(12)).toEqual(['read /fsx 0 4096']); // the size fsx recorded after the collapse: nothing to resynchronise
    expect(mine(13)).toEqual(['clone /fsx 0 /fsx 65536 16384']);
    expect(mine(14)).toEqual(['# fsx line 14: skipped by fsx: skip insert_range 0x0 0x0 0x1e000']);
    expect(mine(15)).toEqual(['write /fsx 131072 4096 seed 11']); // decimal arguments
    expect(mine(16)).toEqual(['fsync /fsx']);
    expect(mine(17)).toEqual(['insert /fsx 4096 4096']);
    expect(mine(18)).toEqual(['dedupe /fsx 0 /fsx 32768 4096']);
    expect(mine(19)).toEqual(['copy /fsx 8192 /fsx 196608 4096']);
    expect(mine(20)).toEqual(['zero /fsx 196608 8192 keep']);
    expect(mine(22)).toEqual(['fallocate /fsx 262144 4096']);
    expect(text.startsWith('create /fsx\n')).toBe(true);
    expect(imported.notes.map((n) => [n.line, n.op])).toEqual([
      [17, 'close_open'], [22, 'unshare'], [23, 'close_open'],
    ]);
    expect(parse(text).stmts).toEqual(imported.script.stmts);
  });

  it('runs, and ends with the size fsx recorded', async () => {
    const runner = await Runner.create({ sizeBytes: 16 << 20 });
    try {
      const r = runner.run(imported.script);
      expect(r.failure).toBeUndefined();
      expect(runner.fs!.stat('/fsx').size).toBe(0x41000);
      expect(runner.run('crash\nmount\ncheck\n').ok).toBe(true);
    } finally {
      runner.close();
    }
  });

  it('reports malformed lines with line and column, unknown names as unsupported', () => {
    const bad = (text: string): ParseError => {
      try { importFsx(text); } catch (e) { if (e instanceof ParseError) return e; throw e; }
      throw new Error('no error');
    };
    expect(bad('write 0x10 0x20\n')).toMatchObject({ line: 1, column: 16 });
    expect(bad('# c\nread 0x10 zz 0x0\n')).toMatchObject({ line: 2, column: 11 });
    expect(bad('fallocate 0 1 0 keepsize\n')).toMatchObject({ line: 1, column: 17 });
    expect(bad('clone_range 0 4096 8192\n').reason).toMatch(/expected 4 numeric arguments/);
    const r = importFsx('frobnicate 1 2 3\nwrite 010 0x8 0\n', { path: '/x', create: false });
    expect(r.unsupported).toEqual([{ line: 1, op: 'frobnicate', text: 'frobnicate 1 2 3', reason: 'not an fsx operation' }]);
    expect(print(r.script)).toBe('# fsx line 1: unknown operation: frobnicate 1 2 3\nwrite /x 8 8 seed 1\n'); // 010 is octal
    expect(Object.keys(FSX_OPS)).toContain('exchange_range');
  });
});

describe('fsx op-log import: every operation and flag of today\'s fsx', () => {
  const text = fixture('all-ops.fsxops');
  const imported = importFsx(text);

  it('has a line for every fsx operation and flag, and imports them all', () => {
    for (const name of Object.keys(FSX_OPS)) expect(text, name).toMatch(new RegExp(`^${name} `, 'm'));
    for (const flag of ['keep_size', 'close_open', 'unshare', '\\*']) expect(text, flag).toMatch(new RegExp(` ${flag}$`, 'm'));
    expect(imported.unsupported).toEqual([]);
    expect(Object.keys(FSX_UNSUPPORTED)).toEqual([]);
    // The sizes fsx recorded agree with what the imported script does: no note says otherwise.
    expect(imported.notes.filter((n) => /file size/.test(n.reason))).toEqual([]);
  });

  it('maps the range operations with fsx\'s argument order (offset, length, destination, size)', () => {
    const mine = (line: number): string[] => imported.script.stmts
      .filter((_, i) => imported.script.lines![i] === line).map((s) => print([s]).trimEnd());
    expect(mine(17)).toEqual(['collapse /fsx 16384 8192']);
    expect(mine(18)).toEqual(['insert /fsx 4096 12288']);
    expect(mine(20)).toEqual(['dedupe /fsx 0 /fsx 131072 16384']);
    expect(mine(22)).toEqual(['copy /fsx 4096 /fsx 143360 8192']);
    expect(mine(24)).toEqual(['exchange /fsx 0 /fsx 65536 12288']);
    expect(mine(26)).toEqual(['# fsx line 26: skipped by fsx: skip collapse_range 0x0 0x0 0x31f00']);
    expect(importFsx('collapse_range 0x1000 0x0 0x4000\n').script.stmts.at(-1)).toMatchObject({ op: 'comment' });
  });

  it('runs to the size fsx recorded last, with the copies and dedupes it asked for', async () => {
    const runner = await Runner.create({ sizeBytes: 16 << 20 });
    try {
      const r = runner.run(imported.script);
      expect(r.failure).toBeUndefined();
      expect(runner.fs!.stat('/fsx').size).toBe(0x31f00);
      const value = (text: string): string | undefined => r.results.find((x) => x.text === text)?.value;
      expect(value('dedupe /fsx 0 /fsx 131072 16384')).toBe('same deduped=16384'); // the clone just before made them equal
      expect(value('dedupe /fsx 32768 /fsx 49152 4096')).toBe('differs deduped=0');
      expect(value('copy /fsx 8448 /fsx 196608 7936')).toBe('copied=7936');
      expect(runner.run('crash\nmount\ncheck\n').ok).toBe(true);
    } finally {
      runner.close();
    }
  });

  it('is clean under the crash checker, judged to its end', () => {
    const r = checkScript(imported.script, { samples: 4 });
    expect(r.violations).toEqual([]);
    expect(r.unjudged).toBeNull();
    expect(r.images).toBeGreaterThan(0);
  });
});

describe('ACE j-lang import', () => {
  const imported = importAce(fixture('sample.ace'));

  it('imports every j-lang operation: nothing unsupported', () => {
    expect(imported.unsupported).toEqual([]);
  });

  it('maps names through the define section and each operation to ours', () => {
    const ops = imported.script.stmts.filter((s) => s.op !== 'comment').map((s) => print([s]).trimEnd());
    expect(ops).toEqual([
      'mkdir /A', 'open Afoo /A/foo creat', 'write Afoo 0 32768 seed 21', 'close Afoo', 'commit # end of the ACE setup: its state is durable',
      'open Afoo /A/foo creat', 'write Afoo 32768 32768 seed 27', 'fsync Afoo', 'checkpoint 1 # ace checkpoint 0',
      'link /A/foo /A/bar', 'zero /A/foo 63768 5000 keep', 'fdatasync Afoo', 'checkpoint 2 # ace checkpoint 0',
      'stat /A', 'fsync /A', 'checkpoint 3 # ace checkpoint 0',
      'open foo /foo creat', 'fallocate /foo 0 8192', 'mmap ace /foo 0 8192 rw', 'mstore ace 0 8192 seed 38', 'msync ace 0 8192', 'munmap ace',
      'checkpoint 4 # ace checkpoint 0',
      'close foo', 'write /foo 0 8192 seed 40', 'fsync /foo', 'setxattr /foo user.xattr1 4 seed 41', 'commit', 'checkpoint 5 # ace checkpoint 0',
      'symlink /foo /bar', 'mkdir /B', 'rename /A/bar /B/bar', 'punch /foo 0 5000', 'truncate /foo 2500', 'removexattr /foo user.xattr1', 'unlink /B/bar', 'mknod /A/bar blockdev',
      'fsync /', 'checkpoint 6 # ace checkpoint 1', 'close Afoo',
    ]);
    expect(imported.notes.map((n) => n.op)).toEqual(['opendir', 'mmapwrite', 'dwrite', 'fsetxattr', 'fsync', 'close']);
  });

  it('runs; each checkpoint is reported; the durable state mounts clean', async () => {
    const runner = await Runner.create({ sizeBytes: 16 << 20 });
    try {
      const r = runner.run(imported.script);
      expect(r.failure).toBeUndefined();
      expect(r.checkpoints.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(runner.fs!.readdir('/').sort()).toEqual(['A', 'B', 'bar', 'foo']);
      expect(runner.fs!.readlink('/bar')).toBe('/foo');
      expect(runner.fs!.listxattr('/foo')).toEqual([]);
      expect(runner.fs!.stat('/A/foo')).toMatchObject({ size: 65536, nlink: 1 });
      expect(runner.fs!.stat('/foo').size).toBe(2500);
      const after = runner.run('crash\nmount\ncheck\nstat /foo\nreaddir /B\n');
      expect(after.failure).toBeUndefined();
      expect(after.results[3]!.value).toBe('file size=2500 nlink=1');
    } finally {
      runner.close();
    }
  });

  // The case of issue 16: ACE fsyncs a descriptor opened before its directory was renamed.
  // Imported by path that fsync failed with ENOENT and the workload lost its last
  // persistence point; through the descriptor it succeeds, and the crash checker holds the
  // file system to it.
  const renamed = `# define
test
A
B
A/foo

# setup
mkdir A 0777

# run
open Afoo O_RDWR|O_CREAT 0777
write Afoo 0 16384
rename A B
fsync Afoo
checkpoint 1
falloc Afoo FALLOC_FL_KEEP_SIZE 16384 4096
dwrite Afoo 0 4096
fdatasync Afoo
checkpoint 2
close Afoo
`;

  it('fsync Afoo after rename A B goes through the descriptor opened before the rename', async () => {
    const r = importAce(renamed);
    expect(r.unsupported).toEqual([]);
    const ops = r.script.stmts.filter((s) => s.op !== 'comment').map((s) => print([s]).trimEnd());
    expect(ops).toEqual([
      'mkdir /A', 'commit # end of the ACE setup: its state is durable',
      'open Afoo /A/foo creat', 'write Afoo 0 16384 seed 12', 'rename /A /B', 'fsync Afoo', 'checkpoint 1 # ace checkpoint 1',
      // fallocate has no descriptor form: the path the descriptor's inode has now
      'fallocate /B/foo 16384 4096 keep',
      // dwrite reopens by the defined path (cmAdapter.py), which no longer exists: ENOENT, as on Linux
      'close Afoo', 'write /A/foo 0 4096 seed 17', 'fsync /A/foo',
      // the dwrite closed the descriptor: fdatasync and close of Afoo have none
      'fdatasync /A/foo', 'checkpoint 2 # ace checkpoint 2',
    ]);
    expect(r.notes.map((n) => [n.line, n.op])).toEqual([[17, 'dwrite'], [18, 'fdatasync'], [20, 'close']]);
    const runner = await Runner.create({ sizeBytes: 16 << 20 });
    try {
      const run = runner.run(r.script);
      expect(run.failure).toMatchObject({ text: 'write /A/foo 0 4096 seed 17', errno: 'ENOENT' });
      expect(run.checkpoints.map((c) => c.id)).toEqual([1]);
    } finally {
      runner.close();
    }
  });

  it('the imported rename workload runs clean under the crash checker up to its last persistence point', () => {
    const r = importAce(renamed.replace(/dwrite[^]*$/, 'close Afoo\n'));
    const check = checkScript(r.script, { samples: 8 });
    expect(check.violations).toEqual([]);
    expect(check.unjudged).toBeNull();
    expect(check.images).toBeGreaterThan(20);
    expect(print(r.script)).toMatch(/rename \/A \/B\nfsync Afoo\n/);
  });

  it('rejects text outside a section, names missing arguments', () => {
    expect(() => importAce('mkdir A 0777\n')).toThrow(ParseError);
    try {
      importAce('# run\nwrite foo 0\n');
    } catch (e) {
      expect(e).toMatchObject({ line: 2, column: 12 });
    }
    const r = importAce('# run\nfalloc foo FALLOC_FL_COLLAPSE_RANGE 0 4096\nfrob foo\n');
    expect(r.unsupported.map((u) => u.op)).toEqual(['falloc FALLOC_FL_COLLAPSE_RANGE', 'frob']);
    expect(r.notes.map((n) => n.reason)).toEqual(["'foo' is not in the define section: taken as /foo"]);
  });
});
