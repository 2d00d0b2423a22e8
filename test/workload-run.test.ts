// The workload runner: per-operation results, expectations, the first unexpected
// outcome stops the script with its line, crash/mount handling, policies, checksums.
import { describe, expect, it } from 'vitest';
import { PmemDevice, FileSystem } from '../src/index.js';
import { Runner, runScript, patternBytes, checksumHex, parse } from '../src/workload/index.js';

const SMALL = { sizeBytes: 16 << 20 };

describe('workload runner', () => {
  it('runs a sample script with expected errors and reports every result', async () => {
    const r = await runScript(`# sample
mkdir /a
expect EEXIST mkdir /a
create /a/f
write /a/f 0 10000 seed 5
read /a/f 0 10000
stat /a/f
mmap m /a/f 0 16384 rw
mload m 0 10000
expect SIGBUS mload m 12288 10   # past the EOF page
expect SIGSEGV mstore m 16000 1000
mstore m 100 50 seed 6
mflush m 100 50
fence
msync m 0 4096
munmap m
readdir /a
expect ENOENT unlink /a/nope
check
`, SMALL);
    expect(r.failure).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => [x.line, x.status, x.errno])).toEqual([
      [2, 'ok', undefined], [3, 'errno', 'EEXIST'], [4, 'ok', undefined], [5, 'ok', undefined], [6, 'ok', undefined],
      [7, 'ok', undefined], [8, 'ok', undefined], [9, 'ok', undefined], [10, 'errno', 'SIGBUS'], [11, 'errno', 'SIGSEGV'],
      [12, 'ok', undefined], [13, 'ok', undefined], [14, 'ok', undefined], [15, 'ok', undefined], [16, 'ok', undefined],
      [17, 'ok', undefined], [18, 'errno', 'ENOENT'], [19, 'ok', undefined],
    ]);
    const dev = await PmemDevice.create({ sizeBytes: 1 << 16 });
    const expected = checksumHex(dev.crc32cBytes(patternBytes(5, 10000)));
    expect(r.results[4]).toMatchObject({ text: 'read /a/f 0 10000', bytes: 10000, checksum: expected });
    expect(r.results[7]).toMatchObject({ text: 'mload m 0 10000', checksum: expected });
    expect(r.results[5]!.value).toBe('file size=10000 nlink=1');
    expect(r.results[15]!.value).toBe('f');
  });

  it('stops at the first unexpected error and names its line', async () => {
    const r = await runScript('mkdir /a\n# comment\n\nmkdir /a\ncreate /never\n', SMALL);
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ line: 4, text: 'mkdir /a', kind: 'unexpected-errno', errno: 'EEXIST' });
    expect(r.results).toHaveLength(1);
  });

  it('a different errno than expected, or none, is a failure', async () => {
    const wrong = await runScript('create /f\nexpect ENOENT create /f\n', SMALL);
    expect(wrong.failure).toMatchObject({ line: 2, kind: 'unexpected-errno', errno: 'EEXIST', expected: 'ENOENT' });
    const missing = await runScript('create /f\nexpect EEXIST create /g\n', SMALL);
    expect(missing.failure).toMatchObject({ line: 2, kind: 'missing-errno', expected: 'EEXIST' });
  });

  it('a crash needs a mount after it; what was committed survives', async () => {
    const noMount = await runScript('create /f\ncommit\ncrash\nread /f\n', SMALL);
    expect(noMount.failure).toMatchObject({ line: 4, kind: 'script' });
    expect(noMount.failure!.message).toMatch(/crash must be followed by a mount/);

    const runner = await Runner.create(SMALL);
    try {
      const r = runner.run(`create /f
write /f 0 8192 seed 1
fsync /f
read /f
write /f 0 8192 seed 2
crash
mount
read /f
check
crash random 99
mount
read /f
check
`);
      expect(r.failure).toBeUndefined();
      const reads = r.results.filter((x) => x.text === 'read /f').map((x) => x.checksum);
      expect(reads).toHaveLength(3);
      expect(reads[1]).toBe(reads[0]); // the second write was never committed
      expect(reads[2]).toBe(reads[0]);
      expect(runner.fs!.fsck()).toEqual([]);
    } finally {
      runner.close();
    }
  });

  it('a mapping does not survive a crash or an unmount', async () => {
    const r = await runScript('create /f\ntruncate /f 4096\nmmap m /f 0 4096 rw\nunmount\nmount\nmstore m 0 1\n', SMALL);
    expect(r.failure).toMatchObject({ line: 6, kind: 'script', message: "no mapping named 'm'" });
    const twice = await runScript('create /f\nmmap m /f 0 4096 r\nmmap m /f 0 4096 r\n', SMALL);
    expect(twice.failure).toMatchObject({ line: 3, kind: 'script' });
  });

  it('policy NAME=off applies to the next mount only', async () => {
    const runner = await Runner.create(SMALL);
    try {
      expect(runner.run('policy freezeWriteProtect=off\npolicy tlbShootdown=off\ncreate /f\n').ok).toBe(true);
      expect(runner.fs!.dax.policy.freezeWriteProtect).toBe(false);
      expect(runner.fs!.dax.policy.tlbShootdown).toBe(false);
      expect(runner.fs!.dax.policy.commitChecksums).toBe(true);
      expect(runner.run('unmount\npolicy multiMapping=off\nmount\n').ok).toBe(true);
      expect(runner.fs!.dax.policy.freezeWriteProtect).toBe(true);
      expect(runner.fs!.dax.policy.multiMapping).toBe(false);
    } finally {
      runner.close();
    }
  });

  it('with commitChecksums off, scrub and read fail with EIO after an mmap store (thread 002)', async () => {
    const script = `create /f
write /f 0 8192 seed 1
commit
mmap m /f 0 8192 rw
mstore m 0 100 seed 2
commit
expect EIO scrub
expect EIO read /f
`;
    const off = await runScript('policy commitChecksums=off\n' + script, SMALL);
    expect(off.failure).toBeUndefined();
    const on = await runScript(script, SMALL);
    expect(on.failure).toMatchObject({ line: 7, kind: 'missing-errno', expected: 'EIO' });
  });

  it('mkfs, mount, unmount, freeze, flags, clones, snapshots and subvolumes', async () => {
    const r = await runScript(`mkfs nodesize 4096 label demo
mount
expect EBUSY mount
expect EBUSY mkfs
create /n
setflag /n nodatacow
write /n 0 8192 seed 3
expect EPERM setflag /n dax-immutable nocap
setflag /n dax-immutable
expect EPERM write /n 0 1
mmap s /n 0 8192 rw sync
mstore s 0 16 seed 4
munmap s
clearflag /n dax-immutable
create /c
write /c 0 8192 seed 5
clone /c /d
clone /c 0 /d 8192 4096
expect EINVAL clone /c /n
freeze
expect EBUSY create /x
expect EBUSY freeze
thaw
expect EINVAL thaw
mksubvol /sv
snapshot /sv /sv-snap ro
expect EROFS create /sv-snap/x
rmsubvol /sv-snap
open /o creat
open /o trunc
zero /d 100 20000 keep
stat /d
fsync /
unmount
expect EINVAL unmount
mount
check
scrub
`, SMALL);
    expect(r.failure).toBeUndefined();
    const stat = r.results.find((x) => x.text === 'stat /d');
    expect(stat!.value).toBe('file size=12288 nlink=1');
  });

  it('runs on a device it is given, and the implicit mount can be turned off', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.mkdir('/pre');
    fs.unmount();
    const runner = new Runner(dev, { implicitMount: 'mount' });
    expect(runner.run('readdir /\n').results[0]!.value).toBe('pre');
    runner.close();
    const strict = await runScript('create /f\n', { ...SMALL, implicitMount: false });
    expect(strict.failure).toMatchObject({ line: 1, kind: 'script', message: 'not mounted' });
  });

  it('checkpoints are recorded and reported to a hook', async () => {
    const seen: number[] = [];
    const r = await runScript(parse('create /f\ncheckpoint 1\nfsync /f\ncheckpoint 2\n'), { ...SMALL, onCheckpoint: (id) => seen.push(id) });
    expect(r.checkpoints).toEqual([{ id: 1, line: 2 }, { id: 2, line: 4 }]);
    expect(seen).toEqual([1, 2]);
  });

  it('write patterns are deterministic per seed', () => {
    expect(patternBytes(7, 100)).toEqual(patternBytes(7, 100));
    expect(patternBytes(7, 100)).not.toEqual(patternBytes(8, 100));
    expect(patternBytes(7, 50)).toEqual(patternBytes(7, 100).subarray(0, 50));
  });
});
