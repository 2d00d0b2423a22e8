// Symlinks and xattrs in the workload language: the statements run, the reference model
// (src/model: its own path walk with symlinks, its own xattr rules) judges every result,
// and crash images are compared with the model's states, targets and xattrs included.
// A file system that drops an xattr removal, or one that writes a wrong symlink target,
// is caught.
import { afterEach, describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { parse } from '../src/workload/parse.js';
import { runScript } from '../src/workload/run.js';
import { loadCoreModule } from '../src/core/module.js';
import { FileSystem } from '../src/filesystem.js';

const check = async (text: string) => {
  await loadCoreModule();
  const options = { sizeBytes: 16 << 20, samples: 32 };
  return checkScript(parse(text), options, fuzzDevices(options));
};
const problems = (r: Awaited<ReturnType<typeof check>>): string[] => r.violations.map((v) => `${v.kind}: ${v.point}: ${v.problems.join('; ')}`);

const SCRIPT = `mkdir /a
create /a/f
write /a/f 0 9000 seed 1
symlink f /a/l
symlink /a /abs
read /abs/l 0 100
readlink /a/l
lstat /a/l
stat /a/l
setxattr /a/f user.x 100 seed 2
setxattr /abs/l user.y 300 seed 3
getxattr /a/l user.x
listxattr /a/f
expect ENODATA getxattr /a/f user.none
expect EEXIST setxattr /a/f user.x 1 create
expect ENODATA setxattr /a/f user.new 1 replace
expect EPERM setxattr /a/l user.z 1 nofollow
expect ERANGE setxattr /a/f user.${'n'.repeat(251)} 1
expect EOPNOTSUPP setxattr /a/f other.name 1
expect E2BIG setxattr /a/f user.big 65537
expect ENOSPC setxattr /a/f user.big 9000
setxattr /a/l trusted.z 5 nofollow
listxattr /a/l nofollow
commit
removexattr /a/f user.x
open d /a/f
rename /a/f /a/g
setxattr d user.fd 10 seed 4
getxattr d user.fd
fsync d
close d
symlink nowhere /a/dangling
expect ENOENT stat /a/dangling
lstat /a/dangling
symlink loop2 /loop1
symlink loop1 /loop2
expect ELOOP stat /loop1
expect EEXIST symlink x /loop1
expect EINVAL readlink /a/g
expect ENOTDIR rmdir /abs
unlink /a/l
link /abs /abs2
rename /abs2 /moved
readlink /moved
open /a/dangling creat
stat /a/nowhere
commit
`;

describe('symlinks and xattrs in workloads', () => {
  it('run with the results the model gives (targets, xattr checksums, sorted lists, errnos)', async () => {
    const r = await runScript(SCRIPT);
    expect(r.ok, r.firstFailure?.message).toBe(true);
    const value = (line: string): string | undefined => r.results.find((x) => x.text === line)?.value;
    expect(value('readlink /a/l')).toBe('f');
    expect(value('lstat /a/l')).toBe('symlink size=1 nlink=1');
    expect(value('stat /a/l')).toBe('file size=9000 nlink=1');
    expect(value('listxattr /a/f')).toBe('user.x user.y');
    expect(value('listxattr /a/l nofollow')).toBe('trusted.z');
    expect(value('readlink /moved')).toBe('/a');
  });

  it('crash images of the script are judged clean, with xattrs and targets compared', async () => {
    const r = await check(SCRIPT);
    expect(problems(r)).toEqual([]);
    expect(r.unjudged).toBeNull();
    expect(r.images).toBeGreaterThan(50);
  });

  it('special files (mknod): stat, rename, link, unlink, ENXIO for their data; crash images clean', async () => {
    const r = await check(`mkdir /d
mknod /d/c chardev rdev 259
mknod /d/b blockdev
mknod /d/p fifo
mknod /d/s socket
commit
lstat /d/c
expect ENXIO open /d/p
expect ENXIO read /d/c
expect EINVAL truncate /d/p 0
expect ENOTDIR readdir /d/s
expect EEXIST mknod /d/p fifo
expect EPERM setxattr /d/p user.a 1
setxattr /d/p trusted.a 3
link /d/c /d/c2
rename /d/b /b
unlink /d/s
commit
`);
    expect(problems(r)).toEqual([]);
    expect(r.unjudged).toBeNull();
    const run = await runScript('mknod /c chardev rdev 259\nlstat /c\n');
    expect(run.results[1]!.value).toBe('chardev size=0 nlink=1');
  });

  describe('catches a file system that is wrong', () => {
    const real = { removexattr: FileSystem.prototype.removexattr, symlink: FileSystem.prototype.symlink };
    afterEach(() => { Object.assign(FileSystem.prototype, real); });

    it('a removexattr that removes nothing: the next getxattr and the crash images disagree with the model', async () => {
      FileSystem.prototype.removexattr = function removexattr(): void { /* the mutant: nothing removed */ };
      const r = await check(`create /f
setxattr /f user.a 10
commit
removexattr /f user.a
expect ENODATA getxattr /f user.a
commit
`);
      expect(problems(r).join('\n')).toMatch(/getxattr|user\.a/);
    });

    it('a symlink whose target is written wrong: readlink and the images disagree', async () => {
      FileSystem.prototype.symlink = function symlink(this: FileSystem, target: string, path: string): void {
        real.symlink.call(this, `${target}x`, path);
      };
      const r = await check(`create /f
symlink f /l
commit
`);
      expect(problems(r).join('\n')).toMatch(/-> f/);
    });
  });
});
