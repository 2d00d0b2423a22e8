// API fuzzing with fast-check: every public method of FileSystem, DaxMapping and
// PmemDevice called with hostile arguments (bad numbers and types, closed handles,
// unmapped mappings, bad paths, bad options) must throw an FsError with the errno of the
// table in docs/reliability.md, and leave everything as it was: fsck clean and the same
// content digest (every path, kind, size, link count, flag and file byte). A last
// property mixes valid ops (checked against the model of test/helpers/fs-model.ts) with
// hostile calls and compares the whole tree with the model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CrashExplorer, FileSystem, FsError, PmemDevice, WriterPool, S_IFIFO, S_IFCHR, S_IFDIR, S_IFLNK, type DaxMapping, type ErrnoName, type WorkloadSpec } from '../src/index.js';
import { MAX_FILE_BYTES } from '../src/fs/fs-common.js';
import { FsModel } from './helpers/fs-model.js';
import type { Op } from '../src/workload/ast.js';
import { Harness, Mismatch } from './helpers/model-harness.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);
/** Fixed so that every run is the same; FC_SEED overrides it to explore (printed below). */
const SEED = Number(process.env.FC_SEED ?? 7_2026);
const RUNS = Number(process.env.FC_RUNS ?? 150);
const params = (runs = RUNS): fc.Parameters<unknown> => ({ seed: SEED, numRuns: runs, endOnFailure: true });

// --- hostile values ------------------------------------------------------------------

/** A value that is not a non-negative safe integer: EINVAL wherever a count or offset is asked for. */
const badNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(NaN, Infinity, -Infinity, -0.5, 2 ** 53, 2 ** 60, Number.MAX_VALUE, -(2 ** 53)),
  fc.constantFrom('1', '', null, undefined, true, false, 1n, {}, [], [1], () => 1, Symbol('n')),
);
/** Safe integers above the largest file (2^50): EFBIG for file offsets, lengths and sizes. */
const hugeOffset = fc.integer({ min: MAX_FILE_BYTES + 1, max: Number.MAX_SAFE_INTEGER });
/** Not bytes: EINVAL where data is asked for. */
const badData: fc.Arbitrary<unknown> = fc.constantFrom('bytes', 7, null, undefined, {}, [1, 2, 3], true, 1n, { length: 3 });
/** Not an options object (undefined is the defaults, so it is not here). */
const badOptions: fc.Arbitrary<unknown> = fc.constantFrom(null, 0, 1, 'x', true, [], [1], 1n, () => ({}));
/** A flag of an options object that is not a boolean. */
const badFlag: fc.Arbitrary<unknown> = fc.constantFrom(1, 0, 'yes', '', null, {}, [], 1n, NaN);
/** A descriptor that is not open. */
const badFd: fc.Arbitrary<unknown> = fc.oneof(fc.integer({ min: 10_000, max: 2 ** 31 }), fc.integer({ min: -100, max: 2 }), badNumber);

const safeName = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
/** A name of more than 255 bytes: ASCII, or fewer than 256 characters of 2..4-byte UTF-8. */
const overlongName = fc.oneof(
  fc.integer({ min: 256, max: 600 }).map((n) => 'n'.repeat(n)),
  fc.tuple(fc.constantFrom('é', '€', '😀'), fc.integer({ min: 0, max: 40 })).map(([c, extra]) => c.repeat(Math.ceil(256 / new TextEncoder().encode(c).length) + extra)),
);

interface BadPath { path: unknown; code: ErrnoName }
/** Paths that fail before any operation-specific check, with the errno they must give. */
const badPath: fc.Arbitrary<BadPath> = fc.oneof(
  fc.constantFrom(5, null, undefined, {}, ['/a'], 1n, true).map((path) => ({ path, code: 'EINVAL' as const })),
  fc.oneof(fc.constant(''), safeName, safeName.map((n) => `${n}/x`), safeName.map((n) => `./${n}`)).map((path) => ({ path, code: 'EINVAL' as const })),
  safeName.map((n) => ({ path: `/dir/${n}\0x`, code: 'EINVAL' as const })),
  fc.tuple(fc.constantFrom('/', '/dir/', '/nope/'), overlongName).map(([dir, n]) => ({ path: dir + n, code: 'ENAMETOOLONG' as const })),
  safeName.map((n) => ({ path: `/nope_${n}/x`, code: 'ENOENT' as const })),
  safeName.map((n) => ({ path: `/nope_${n}/..`, code: 'ENOENT' as const })),
  safeName.map((n) => ({ path: `/dir/nope_${n}/../file`, code: 'ENOENT' as const })),
  safeName.map((n) => ({ path: `/file/${n}`, code: 'ENOTDIR' as const })),
  fc.constantFrom('/file/..', '/file/../file', '/dir/sub/../../file/x', '/vol/inner/..').map((path) => ({ path, code: 'ENOTDIR' as const })),
);

// --- fixture -------------------------------------------------------------------------

interface Fixture {
  dev: PmemDevice;
  fs: FileSystem;
  /** An open descriptor of /file. */
  fd: number;
  /** A descriptor that was opened and closed. */
  closedFd: number;
  mapping: DaxMapping;
  unmapped: DaxMapping;
}

/** A small populated file system: directories, datacow and nodatacow files, a subvolume and its snapshot, symlinks, a fifo. */
async function makeFixture(): Promise<Fixture> {
  const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev);
  fs.mkdir('/dir');
  fs.mkdir('/dir/sub');
  fs.writeFile('/file', pattern(10_000, 1));
  fs.writeFile('/dir/small', pattern(100, 2));
  fs.create('/nocow');
  fs.setNoDataCow('/nocow');
  fs.writeFile('/nocow', pattern(8192, 3));
  fs.createSubvolume('/vol');
  fs.writeFile('/vol/inner', pattern(5000, 4));
  fs.snapshot('/vol', '/snap', { readonly: true });
  fs.link('/file', '/dir/file-link');
  fs.symlink('dir/small', '/link');
  fs.symlink('loop-b', '/loop-a');
  fs.symlink('loop-a', '/loop-b');
  fs.setxattr('/file', 'user.a', pattern(30, 5));
  fs.setxattr('/dir', 'security.b', pattern(300, 6));
  fs.mknod('/fifo', S_IFIFO | 0o600);
  fs.commit();
  const fd = fs.open('/file');
  const closedFd = fs.open('/dir/small');
  fs.close(closedFd);
  const mapping = fs.mmap('/file', { length: 8192 });
  const unmapped = fs.mmap('/file', { length: 4096 });
  unmapped.unmap();
  return { dev, fs, fd, closedFd, mapping, unmapped };
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** Every path with its kind, size, links, flags and xattrs, a crc32c of every file's bytes, every symlink's target. */
function digest(fs: FileSystem): string {
  const lines: string[] = [];
  const visit = (path: string): void => {
    const st = fs.lstat(path);
    let line = `${path} ${st.kind} size=${st.size} nlink=${st.nlink} nocow=${st.nodatacow} alloc=${st.allocatedBytes} mode=${st.mode} rdev=${st.rdev}`;
    if (st.kind === 'file') line += ` crc=${fs.device.crc32cBytes(fs.readFile(path))}`;
    if (st.kind === 'symlink') line += ` -> ${fs.readlink(path)}`;
    else for (const name of fs.listxattr(path).sort()) line += ` ${name}=${fs.device.crc32cBytes(fs.getxattr(path, name))}`;
    lines.push(line);
    if (st.kind === 'dir' || st.kind === 'subvolume') for (const name of fs.readdir(path).sort()) visit(path === '/' ? `/${name}` : `${path}/${name}`);
  };
  visit('/');
  return lines.join('\n');
}

/** Run a call that must fail: an FsError with one of the codes, nothing else. */
function expectErrno(call: () => unknown, codes: ErrnoName | ErrnoName[], what: string): void {
  const allowed = Array.isArray(codes) ? codes : [codes];
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`${what}: succeeded, expected ${allowed.join('|')}`);
  if (!(thrown instanceof FsError)) {
    throw new Error(`${what}: threw ${(thrown as Error)?.constructor?.name} (not an FsError): ${(thrown as Error)?.message ?? String(thrown)}`);
  }
  if (!allowed.includes(thrown.code)) throw new Error(`${what}: threw ${thrown.code} (${thrown.message}), expected ${allowed.join('|')}`);
}

const isErrno = (code: ErrnoName) => (e: unknown): boolean => e instanceof FsError && e.code === code;

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...(${v.length})` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'function';
  if (typeof v === 'symbol') return v.toString();
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
};

// --- the properties ------------------------------------------------------------------

describe('API fuzzing: hostile arguments give the right errno and change nothing', () => {
  let f: Fixture;
  let baseline: string;
  beforeAll(async () => {
    console.log(`api-fuzz: fast-check seed ${SEED} (set FC_SEED to change it), ${RUNS} runs per property`);
    f = await makeFixture();
    baseline = digest(f.fs);
    expect(f.fs.fsck()).toEqual([]);
  });
  afterAll(() => {
    f.fs.unmount();
    f.dev.close();
  });

  /** The state after a hostile call: fsck clean, digest unchanged, descriptors and mapping still usable. */
  const unchanged = (what: string): void => {
    const problems = f.fs.fsck();
    if (problems.length) throw new Error(`${what}: fsck: ${problems.join('; ')}`);
    const now = digest(f.fs);
    if (now !== baseline) throw new Error(`${what}: the file system changed:\n${now}\n--- was ---\n${baseline}`);
  };

  it('numeric arguments of file operations: EINVAL for non-integers, negatives and wrong types, EFBIG above 2^50', () => {
    const { fs, fd } = f;
    type Call = (x: unknown) => unknown;
    const calls: Array<[string, Call]> = [
      ['pread length', (x) => fs.pread(fd, x as number, 0)],
      ['pread offset', (x) => fs.pread(fd, 10, x as number)],
      ['pwrite offset', (x) => fs.pwrite(fd, new Uint8Array(3), x as number)],
      ['truncate size', (x) => fs.truncate('/file', x as number)],
      ['fallocate offset', (x) => fs.fallocate('/file', x as number, 10)],
      ['fallocate length', (x) => fs.fallocate('/file', 0, x as number)],
      ['punchHole offset', (x) => fs.punchHole('/file', x as number, 10)],
      ['punchHole length', (x) => fs.punchHole('/file', 0, x as number)],
      ['zeroRange offset', (x) => fs.zeroRange('/file', x as number, 10)],
      ['zeroRange length', (x) => fs.zeroRange('/file', 0, x as number)],
      ['cloneRange srcOffset', (x) => fs.cloneRange('/file', x as number, '/dir/small', 0, 4096)],
      ['cloneRange dstOffset', (x) => fs.cloneRange('/file', 0, '/dir/small', x as number, 4096)],
      ['cloneRange length', (x) => fs.cloneRange('/file', 0, '/dir/small', 0, x as number)],
      ['mmap length', (x) => fs.mmap('/file', { length: x as number })],
      ['mmap offset', (x) => fs.mmap('/file', { length: 4096, offset: x as number })],
      ['mknod mode', (x) => fs.mknod('/m', x as number)], ['mknod rdev', (x) => fs.mknod('/m', S_IFCHR | 0o600, x as number)],
    ];
    fc.assert(fc.property(fc.constantFrom(...calls), fc.oneof(
      badNumber.map((value) => ({ value, code: 'EINVAL' as ErrnoName })),
      hugeOffset.map((value) => ({ value, code: 'EFBIG' as ErrnoName })),
    ), ([name, call], { value, code }) => {
      if (value === undefined && (name === 'mmap offset' || name === 'mknod rdev')) return; // optional: undefined is the default 0
      // A mode or dev_t is no file offset: past 16 or 32 bits it is EINVAL, not EFBIG.
      const want = name.startsWith('mknod') ? 'EINVAL' : code;
      expectErrno(() => call(value), want, `${name}(${show(value)})`);
      unchanged(`${name}(${show(value)})`);
    }), params());
  });

  it('paths: EINVAL (not a string, relative, NUL), ENAMETOOLONG (> 255 bytes), ENOENT, ENOTDIR (also before "..")', () => {
    const { fs } = f;
    type Call = (p: unknown) => unknown;
    const data = new Uint8Array(5);
    const calls: Array<[string, Call]> = [
      ['mkdir', (p) => fs.mkdir(p as string)], ['create', (p) => fs.create(p as string)],
      ['readdir', (p) => fs.readdir(p as string)], ['stat', (p) => fs.stat(p as string)],
      ['unlink', (p) => fs.unlink(p as string)], ['rmdir', (p) => fs.rmdir(p as string)],
      ['readFile', (p) => fs.readFile(p as string)], ['writeFile', (p) => fs.writeFile(p as string, data)],
      ['truncate', (p) => fs.truncate(p as string, 0)], ['fallocate', (p) => fs.fallocate(p as string, 0, 1)],
      ['punchHole', (p) => fs.punchHole(p as string, 0, 1)], ['zeroRange', (p) => fs.zeroRange(p as string, 0, 1)],
      ['open', (p) => fs.open(p as string)], ['open create', (p) => fs.open(p as string, { create: true })],
      ['setNoDataCow', (p) => fs.setNoDataCow(p as string)], ['fileExtents', (p) => fs.fileExtents(p as string)],
      ['createSubvolume', (p) => fs.createSubvolume(p as string)], ['deleteSubvolume', (p) => fs.deleteSubvolume(p as string)],
      ['snapshot dest', (p) => fs.snapshot('/vol', p as string)], ['snapshot source', (p) => fs.snapshot(p as string, '/newsnap')],
      ['link new', (p) => fs.link('/file', p as string)], ['link existing', (p) => fs.link(p as string, '/newlink')],
      ['rename to', (p) => fs.rename('/dir/small', p as string)], ['rename from', (p) => fs.rename(p as string, '/renamed')],
      ['cloneFile dst', (p) => fs.cloneFile('/file', p as string)], ['cloneFile src', (p) => fs.cloneFile(p as string, '/cloned')],
      ['cloneRange dst', (p) => fs.cloneRange('/file', 0, p as string, 0, 4096)], ['cloneRange src', (p) => fs.cloneRange(p as string, 0, '/file', 0, 4096)],
      ['mmap', (p) => fs.mmap(p as string, { length: 4096 })],
      ['setDaxImmutable', (p) => fs.setDaxImmutable(p as string, false, { capability: true })],
      ['symlink', (p) => fs.symlink('target', p as string)], ['readlink', (p) => fs.readlink(p as string)], ['lstat', (p) => fs.lstat(p as string)],
      ['setxattr', (p) => fs.setxattr(p as string, 'user.x', data)], ['getxattr', (p) => fs.getxattr(p as string, 'user.a')],
      ['listxattr', (p) => fs.listxattr(p as string)], ['removexattr', (p) => fs.removexattr(p as string, 'user.a')],
      ['mknod', (p) => fs.mknod(p as string, S_IFIFO | 0o644)], ['mknod chardev', (p) => fs.mknod(p as string, S_IFCHR | 0o600, 0x801)],
    ];
    fc.assert(fc.property(fc.constantFrom(...calls), badPath, ([name, call], { path, code }) => {
      expectErrno(() => call(path), code, `${name}(${show(path)})`);
      // exists() answers false for a path that is not there, and fails for a malformed one.
      if (code === 'ENOENT' || code === 'ENOTDIR') expect(fs.exists(path as string)).toBe(false);
      else expectErrno(() => fs.exists(path as string), code, `exists(${show(path)})`);
      unchanged(`${name}(${show(path)})`);
    }), params());
  });

  it('targets that cannot be created or removed: "/" and a final ".." (EBUSY), existing names (EEXIST), wrong kinds', () => {
    const { fs } = f;
    const cases: Array<[string, () => unknown, ErrnoName]> = [
      ['mkdir /', () => fs.mkdir('/'), 'EBUSY'], ['mkdir /dir/..', () => fs.mkdir('/dir/..'), 'EBUSY'],
      ['create /dir/sub/..', () => fs.create('/dir/sub/..'), 'EBUSY'], ['unlink /dir/..', () => fs.unlink('/dir/..'), 'EBUSY'],
      ['rmdir /', () => fs.rmdir('/'), 'EBUSY'], ['rename /dir/.. /x', () => fs.rename('/dir/..', '/x'), 'EBUSY'],
      ['rename /file /dir/..', () => fs.rename('/file', '/dir/..'), 'EBUSY'],
      ['mkdir /dir', () => fs.mkdir('/dir'), 'EEXIST'], ['create /file', () => fs.create('/file'), 'EEXIST'],
      ['mkdir /dir/../file', () => fs.mkdir('/dir/../file'), 'EEXIST'], ['link /file /dir/small', () => fs.link('/file', '/dir/small'), 'EEXIST'],
      ['createSubvolume /vol', () => fs.createSubvolume('/vol'), 'EEXIST'], ['snapshot /vol /snap', () => fs.snapshot('/vol', '/snap'), 'EEXIST'],
      ['rmdir /file', () => fs.rmdir('/file'), 'ENOTDIR'], ['readdir /file', () => fs.readdir('/file'), 'ENOTDIR'],
      ['unlink /dir', () => fs.unlink('/dir'), 'EISDIR'], ['readFile /dir', () => fs.readFile('/dir'), 'EISDIR'],
      ['open /dir', () => fs.open('/dir'), 'EISDIR'], ['truncate /dir', () => fs.truncate('/dir', 0), 'EISDIR'],
      ['rmdir /dir', () => fs.rmdir('/dir'), 'ENOTEMPTY'], ['rename /dir /dir/sub/x', () => fs.rename('/dir', '/dir/sub/x'), 'EINVAL'],
      ['rename /dir/sub /dir/../dir/sub/y', () => fs.rename('/dir/sub', '/dir/../dir/sub/y'), 'EINVAL'],
      ['link /dir /d2', () => fs.link('/dir', '/d2'), 'EPERM'], ['link /vol/inner /x', () => fs.link('/vol/inner', '/x'), 'EXDEV'],
      ['rmdir /vol', () => fs.rmdir('/vol'), 'EPERM'], ['deleteSubvolume /dir', () => fs.deleteSubvolume('/dir'), 'EINVAL'],
      ['deleteSubvolume /', () => fs.deleteSubvolume('/'), 'EBUSY'], ['snapshot /dir /s', () => fs.snapshot('/dir', '/s'), 'EINVAL'],
      ['writeFile /snap/inner', () => fs.writeFile('/snap/inner', new Uint8Array(1)), 'EROFS'], ['create /snap/x', () => fs.create('/snap/x'), 'EROFS'],
      ['mmap rw /snap/inner', () => fs.mmap('/snap/inner', { length: 4096 }), 'EROFS'],
      ['fallocate length 0', () => fs.fallocate('/file', 0, 0), 'EINVAL'],
      ['cloneRange unaligned', () => fs.cloneRange('/file', 1, '/dir/small', 0, 4096), 'EINVAL'],
      ['cloneRange past EOF', () => fs.cloneRange('/file', 8192, '/dir/small', 0, 8192), 'EINVAL'],
      ['cloneRange datacow to nodatacow', () => fs.cloneRange('/file', 0, '/nocow', 0, 4096), 'EINVAL'],
      ['cloneRange overlap', () => fs.cloneRange('/file', 0, '/file', 4096, 8192), 'EINVAL'],
      ['mmap unaligned offset', () => fs.mmap('/file', { length: 4096, offset: 100 }), 'EINVAL'],
      ['mmap length 0', () => fs.mmap('/file', { length: 0 }), 'EINVAL'], ['mmap 4 GiB', () => fs.mmap('/file', { length: 2 ** 32 }), 'EINVAL'],
      ['mmap sync datacow', () => fs.mmap('/file', { length: 4096, sync: true }), 'EOPNOTSUPP'],
      ['setNoDataCow non-empty', () => fs.setNoDataCow('/file'), 'EINVAL'], ['setNoDataCow dir', () => fs.setNoDataCow('/dir'), 'EINVAL'],
      ['setDaxImmutable no capability', () => fs.setDaxImmutable('/nocow', true), 'EPERM'],
      ['setDaxImmutable datacow', () => fs.setDaxImmutable('/file', true, { capability: true }), 'EINVAL'],
      ['thaw when not frozen', () => fs.thaw(), 'EINVAL'], ['blockOwners beyond the device', () => fs.blockOwners(fs.device.sizeBytes), 'EINVAL'],
      ['symlink onto /file', () => fs.symlink('x', '/file'), 'EEXIST'], ['symlink onto /link', () => fs.symlink('x', '/link'), 'EEXIST'],
      ['symlink empty target', () => fs.symlink('', '/l2'), 'ENOENT'], ['symlink 4096-byte target', () => fs.symlink('t'.repeat(4096), '/l2'), 'ENAMETOOLONG'],
      ['symlink NUL target', () => fs.symlink('a\0', '/l2'), 'EINVAL'], ['readlink /file', () => fs.readlink('/file'), 'EINVAL'],
      ['stat /loop-a', () => fs.stat('/loop-a'), 'ELOOP'], ['open /loop-a create', () => fs.open('/loop-a', { create: true }), 'ELOOP'],
      ['stat /link/x', () => fs.stat('/link/x'), 'ENOTDIR'], ['rmdir /link', () => fs.rmdir('/link'), 'ENOTDIR'],
      ['symlink in /snap', () => fs.symlink('x', '/snap/l'), 'EROFS'],
      ['setxattr empty name', () => fs.setxattr('/file', '', new Uint8Array(1)), 'ERANGE'],
      ['setxattr 256-byte name', () => fs.setxattr('/file', `user.${'n'.repeat(251)}`, new Uint8Array(1)), 'ERANGE'],
      ['setxattr no namespace', () => fs.setxattr('/file', 'plain', new Uint8Array(1)), 'EOPNOTSUPP'],
      ['setxattr system.', () => fs.setxattr('/file', 'system.posix_acl_access', new Uint8Array(1)), 'EOPNOTSUPP'],
      ['setxattr 64 KiB + 1', () => fs.setxattr('/file', 'user.big', new Uint8Array(65537)), 'E2BIG'],
      ['setxattr above a leaf item', () => fs.setxattr('/file', 'user.big', new Uint8Array(9000)), 'ENOSPC'],
      ['setxattr create existing', () => fs.setxattr('/file', 'user.a', new Uint8Array(1), { create: true }), 'EEXIST'],
      ['setxattr replace missing', () => fs.setxattr('/file', 'user.none', new Uint8Array(1), { replace: true }), 'ENODATA'],
      ['setxattr create and replace', () => fs.setxattr('/file', 'user.a', new Uint8Array(1), { create: true, replace: true }), 'EINVAL'],
      ['setxattr value not bytes', () => fs.setxattr('/file', 'user.a', [1] as unknown as Uint8Array), 'EINVAL'],
      ['setxattr user. on a symlink', () => fs.setxattr('/link', 'user.a', new Uint8Array(1), { noFollow: true }), 'EPERM'],
      ['setxattr in /snap', () => fs.setxattr('/snap/inner', 'user.a', new Uint8Array(1)), 'EROFS'],
      ['getxattr missing', () => fs.getxattr('/file', 'user.none'), 'ENODATA'], ['removexattr missing', () => fs.removexattr('/dir', 'user.none'), 'ENODATA'],
      ['getxattr name not a string', () => fs.getxattr('/file', 5 as unknown as string), 'EINVAL'],
      ['mknod onto /fifo', () => fs.mknod('/fifo', S_IFIFO), 'EEXIST'], ['mknod onto /dir', () => fs.mknod('/dir', S_IFCHR, 1), 'EEXIST'],
      ['mknod S_IFDIR', () => fs.mknod('/m', S_IFDIR | 0o755), 'EPERM'], ['mknod S_IFLNK', () => fs.mknod('/m', S_IFLNK | 0o777), 'EINVAL'],
      ['mknod type 0o030000', () => fs.mknod('/m', 0o030644), 'EINVAL'], ['mknod mode past 16 bits', () => fs.mknod('/m', 0o1010644), 'EINVAL'],
      ['mknod in /snap', () => fs.mknod('/snap/m', S_IFIFO), 'EROFS'], ['mknod under /fifo', () => fs.mknod('/fifo/m', S_IFIFO), 'ENOTDIR'],
      ['open /fifo', () => fs.open('/fifo'), 'ENXIO'], ['readFile /fifo', () => fs.readFile('/fifo'), 'ENXIO'],
      ['writeFile /fifo', () => fs.writeFile('/fifo', new Uint8Array(1)), 'ENXIO'], ['truncate /fifo', () => fs.truncate('/fifo', 0), 'EINVAL'],
      ['fallocate /fifo', () => fs.fallocate('/fifo', 0, 4096), 'ENXIO'], ['mmap /fifo', () => fs.mmap('/fifo', { length: 4096 }), 'ENXIO'],
      ['cloneFile onto /fifo', () => fs.cloneFile('/file', '/fifo'), 'ENXIO'], ['readdir /fifo', () => fs.readdir('/fifo'), 'ENOTDIR'],
      ['rmdir /fifo', () => fs.rmdir('/fifo'), 'ENOTDIR'], ['rename /fifo onto /dir', () => fs.rename('/fifo', '/dir'), 'EISDIR'],
      ['rename /dir/sub onto /fifo', () => fs.rename('/dir/sub', '/fifo'), 'ENOTDIR'], ['link /fifo into /vol', () => fs.link('/fifo', '/vol/f'), 'EXDEV'],
      ['setxattr user. on /fifo', () => fs.setxattr('/fifo', 'user.a', new Uint8Array(1)), 'EPERM'],
    ];
    fc.assert(fc.property(fc.constantFrom(...cases), ([name, call, code]) => {
      expectErrno(call, code, name);
      unchanged(name);
    }), params(cases.length * 3));
  });

  it('descriptors that are not open: EBADF', () => {
    const { fs, closedFd } = f;
    type Call = (fd: unknown) => unknown;
    const calls: Array<[string, Call]> = [
      ['pread', (fd) => fs.pread(fd as number, 10, 0)], ['pwrite', (fd) => fs.pwrite(fd as number, new Uint8Array(4), 0)],
      ['fsync', (fd) => fs.fsync(fd as number)], ['close', (fd) => fs.close(fd as number)],
      ['fsetxattr', (fd) => fs.fsetxattr(fd as number, 'user.a', new Uint8Array(1))], ['fgetxattr', (fd) => fs.fgetxattr(fd as number, 'user.a')],
      ['flistxattr', (fd) => fs.flistxattr(fd as number)], ['fremovexattr', (fd) => fs.fremovexattr(fd as number, 'user.a')],
      ['fdatasync', (fd) => fs.fdatasync(fd as number)],
    ];
    fc.assert(fc.property(fc.constantFrom(...calls), fc.oneof(badFd, fc.constant(closedFd)), ([name, call], fd) => {
      expectErrno(() => call(fd), 'EBADF', `${name}(fd ${show(fd)})`);
      unchanged(`${name}(fd ${show(fd)})`);
    }), params());
  });

  it('options and flags: not an object, or a flag that is not a boolean, is EINVAL; bad data is EINVAL', () => {
    const { fs, fd } = f;
    type Call = (x: unknown) => unknown;
    const asOptions: Array<[string, Call]> = [
      ['open flags', (x) => fs.open('/file', x as object)], ['fallocate options', (x) => fs.fallocate('/file', 0, 100, x as object)],
      ['snapshot options', (x) => fs.snapshot('/vol', '/snapx', x as object)], ['mmap options', (x) => fs.mmap('/file', x as { length: number })],
      ['setDaxImmutable caller', (x) => fs.setDaxImmutable('/nocow', true, x as object)],
      ['setxattr options', (x) => fs.setxattr('/file', 'user.o', new Uint8Array(1), x as object)], ['getxattr options', (x) => fs.getxattr('/file', 'user.a', x as object)],
      ['mkfs options', (x) => FileSystem.mkfs(f.dev, x as object)], ['mount options', (x) => FileSystem.mount(f.dev, x as object)],
      ['mount dax', (x) => FileSystem.mount(f.dev, { dax: x as object })],
    ];
    const asFlag: Array<[string, Call]> = [
      ['open create', (x) => fs.open('/newfile', { create: x as boolean })], ['open truncate', (x) => fs.open('/file', { truncate: x as boolean })],
      ['fallocate keepSize', (x) => fs.fallocate('/file', 0, 100_000, { keepSize: x as boolean })],
      ['snapshot readonly', (x) => fs.snapshot('/vol', '/snapy', { readonly: x as boolean })],
      ['mmap sync', (x) => fs.mmap('/nocow', { length: 4096, sync: x as boolean })], ['mmap prot', (x) => fs.mmap('/file', { length: 4096, prot: x as 'r' })],
      ['setDaxImmutable on', (x) => fs.setDaxImmutable('/nocow', x as boolean, { capability: true })],
      ['setDaxImmutable capability', (x) => fs.setDaxImmutable('/nocow', true, { capability: x as boolean })],
      ['mount dax switch', (x) => FileSystem.mount(f.dev, { dax: { tlbShootdown: x as boolean } })],
      ['setxattr create', (x) => fs.setxattr('/file', 'user.f', new Uint8Array(1), { create: x as boolean })],
      ['listxattr noFollow', (x) => fs.listxattr('/file', { noFollow: x as boolean })],
    ];
    const unknownKey: Array<[string, Call]> = [
      ['open unknown flag', (x) => fs.open('/newfile2', { create: true, [x as string]: true })],
      ['fallocate unknown option', (x) => fs.fallocate('/file', 0, 100_000, { [x as string]: true })],
      ['snapshot unknown option', (x) => fs.snapshot('/vol', '/snapz', { [x as string]: true })],
      ['mmap unknown option', (x) => fs.mmap('/file', { length: 4096, [x as string]: 8192 })],
      ['setxattr unknown option', (x) => fs.setxattr('/file', 'user.g', new Uint8Array(1), { [x as string]: true })],
      ['getxattr unknown option', (x) => fs.getxattr('/file', 'user.a', { [x as string]: true })],
      ['mkfs unknown option', (x) => FileSystem.mkfs(f.dev, { [x as string]: 4096 })],
      ['mount unknown option', (x) => FileSystem.mount(f.dev, { [x as string]: true })],
      ['crash unknown option', (x) => f.dev.crash({ mode: 'random', [x as string]: 1 })],
      ['crashImages unknown option', (x) => f.dev.crashImages({ [x as string]: 1 }).next()],
      ['device create unknown option', (x) => PmemDevice.createSync({ sizeBytes: 1 << 20, [x as string]: 1 })],
      ['storeBatch unknown option', (x) => f.dev.storeBatch([0], 8, new Uint8Array(8), { [x as string]: true })],
      ['explorer unknown option', (x) => new CrashExplorer(f.dev, { check: () => [] }, { [x as string]: 1 })],
    ];
    const asData: Array<[string, Call]> = [
      ['pwrite data', (x) => fs.pwrite(fd, x as Uint8Array, 0)], ['writeFile data (existing)', (x) => fs.writeFile('/file', x as Uint8Array)],
      ['writeFile data (new)', (x) => fs.writeFile('/newdata', x as Uint8Array)], ['mapping store data', (x) => f.mapping.store(0, x as Uint8Array)],
    ];
    fc.assert(fc.property(fc.oneof(
      fc.tuple(fc.constantFrom(...asOptions), badOptions),
      fc.tuple(fc.constantFrom(...asFlag), badFlag),
      fc.tuple(fc.constantFrom(...asData), badData),
      fc.tuple(fc.constantFrom<[string, Call]>(['mount dax unknown switch', (x) => FileSystem.mount(f.dev, { dax: { [x as string]: true } })]), safeName.map((n) => `no_${n}`)),
      // A misspelt option is refused, not ignored (mmap's offset under another name mapped from 0).
      fc.tuple(fc.constantFrom(...unknownKey), safeName.map((n) => `no_${n}`)),
    ), ([[name, call], value]) => {
      expectErrno(() => call(value), 'EINVAL', `${name}(${show(value)})`);
      unchanged(`${name}(${show(value)})`);
    }), params());
  });

  it('DAX mappings: bad offsets and lengths EINVAL, beyond the mapping SIGSEGV, an unmapped mapping EINVAL', () => {
    const { mapping, unmapped } = f;
    type Call = (m: DaxMapping, a: unknown, b: unknown) => unknown;
    const calls: Array<[string, Call]> = [
      ['store', (m, a) => m.store(a as number, new Uint8Array(8))], ['load', (m, a, b) => m.load(a as number, b as number)],
      ['flush', (m, a, b) => m.flush(a as number, b as number)], ['msync', (m, a, b) => m.msync(a as number, b as number)],
    ];
    const arg = fc.oneof(
      // [offset, length, errno on the live 8192-byte mapping]
      fc.tuple(badNumber, fc.constant(8), fc.constant<ErrnoName>('EINVAL')),
      fc.tuple(fc.constant(0), badNumber, fc.constant<ErrnoName>('EINVAL')),
      fc.tuple(fc.integer({ min: 8192 - 7, max: 2 ** 40 }), fc.constant(8), fc.constant<ErrnoName>('SIGSEGV')),
      fc.tuple(fc.constant(0), fc.integer({ min: 8193, max: 2 ** 40 }), fc.constant<ErrnoName>('SIGSEGV')),
    );
    fc.assert(fc.property(fc.constantFrom(...calls), arg, fc.boolean(), ([name, call], [a, b, code], live) => {
      // store has no length argument: its "length" is the 8 bytes, so a bad length cannot reach it.
      if (name === 'store' && (b !== 8)) return;
      const m = live ? mapping : unmapped;
      expectErrno(() => call(m, a, b), live ? code : 'EINVAL', `${live ? '' : 'unmapped '}mapping.${name}(${show(a)}, ${show(b)})`);
      unchanged(`mapping.${name}(${show(a)}, ${show(b)})`);
    }), params());
    // Valid calls on the unmapped mapping fail too, and unmap again is harmless.
    for (const call of [() => unmapped.store(0, new Uint8Array(8)), () => unmapped.load(0, 8), () => unmapped.flush(0, 8), () => unmapped.msync(0, 8)]) {
      expectErrno(call, 'EINVAL', 'unmapped mapping');
    }
    unmapped.unmap();
    unchanged('unmapped');
  });

  it('the pmem device: bad addresses, lengths, kinds, modes, seeds and targets are EINVAL and leave every byte as it was', () => {
    const { dev } = f;
    const size = dev.sizeBytes;
    type Call = (x: unknown) => unknown;
    const calls: Array<[string, Call]> = [
      ['store addr', (x) => dev.store(x as number, new Uint8Array(8))], ['ntStore addr', (x) => dev.ntStore(x as number, new Uint8Array(8))],
      ['storeU64 addr', (x) => dev.storeU64(x as number, 1n)], ['load addr', (x) => dev.load(x as number, 8)],
      ['load length', (x) => dev.load(0, x as number)], ['loadInto addr', (x) => dev.loadInto(x as number, new Uint8Array(8))],
      ['loadU64 addr', (x) => dev.loadU64(x as number)], ['isZero addr', (x) => dev.isZero(x as number, 8)],
      ['isZero length', (x) => dev.isZero(0, x as number)], ['readMedia addr', (x) => dev.readMedia(x as number, 8)],
      ['readMedia length', (x) => dev.readMedia(0, x as number)], ['flush addr', (x) => dev.flush(x as number, 64)],
      ['flush length', (x) => dev.flush(0, x as number)], ['persist addr', (x) => dev.persist(x as number, 64)],
      ['poison addr', (x) => dev.poison(x as number)], ['poison length', (x) => dev.poison(0, x as number)],
      ['clearPoison addr', (x) => dev.clearPoison(x as number)], ['lineInfo addr', (x) => dev.lineInfo(x as number)],
      ['crc32c addr', (x) => dev.crc32c(x as number, 8)], ['crash seed', (x) => dev.crash({ mode: 'random', seed: x as number })],
      ['crashImages maxImages', (x) => [...dev.crashImages({ maxImages: x as number })]],
      ['storeBatch addr', (x) => dev.storeBatch([0, x as number], 8, new Uint8Array(16))],
      ['storeBatch length', (x) => dev.storeBatch([0, 8], [8, x as number], new Uint8Array(16))],
    ];
    const others: Array<[string, Call]> = [
      ['store data', (x) => dev.store(0, x as Uint8Array)], ['crc32cBytes data', (x) => dev.crc32cBytes(x as Uint8Array)],
      ['loadInto out', (x) => dev.loadInto(0, x as Uint8Array)], ['storeU64 value', (x) => dev.storeU64(0, x as bigint)],
      ['flush kind', (x) => dev.flush(0, 64, x as 'clwb')], ['crash mode', (x) => dev.crash({ mode: x as 'strict' })],
      ['crash options', (x) => dev.crash(x as object)], ['crash into', (x) => dev.crash({ into: x as PmemDevice })],
      ['crashImageAt index', (x) => dev.crashImageAt(x as bigint)], ['crashImages options', (x) => [...dev.crashImages(x as object)]],
      ['create options', (x) => PmemDevice.createSync(x as { sizeBytes: number })], ['create sizeBytes', (x) => PmemDevice.createSync({ sizeBytes: x as number })],
      ['attach handle', (x) => PmemDevice.attach(x as ReturnType<PmemDevice['handle']>)],
      // (7-byte records never add up to the 8 bytes of data: any array of addresses is refused)
      ['storeBatch addrs', (x) => dev.storeBatch(x as number[], 7, new Uint8Array(8))],
      ['storeBatch data', (x) => dev.storeBatch([0], 8, x as Uint8Array)],
      ['storeBatch options', (x) => dev.storeBatch([0], 8, new Uint8Array(8), x as object)],
    ];
    const notKind = fc.oneof(badFlag, fc.constantFrom('toString', '__proto__', 'constructor', 'hasOwnProperty', 'CLWB', 'enumerate'));
    const visible = (): number => dev.crc32c(0, size);
    const before = { crc: visible(), counters: JSON.stringify({ ...dev.counters(), loads: 0 }), pending: dev.linesPending() };
    const notAddress = fc.oneof(badNumber, fc.integer({ min: size + 1, max: 2 ** 52 }));
    fc.assert(fc.property(fc.oneof(
      fc.tuple(fc.constantFrom(...calls), notAddress),
      fc.tuple(fc.constantFrom(...others), fc.oneof(badData, notKind, badOptions, fc.constantFrom(-1n, -(2n ** 70n), 0.5))),
    ), ([[name, call], value]) => {
      // Some values are valid for some calls: a missing (undefined) optional argument, any
      // bigint for storeU64, a large seed or image limit.
      if (value === undefined && /^(crash|flush kind|poison length)/.test(name)) return;
      if ((name === 'crash seed' || name === 'crashImages maxImages') && (typeof value === 'bigint' || Number.isSafeInteger(value) && (value as number) >= 0)) return;
      if (/options$/.test(name) && name !== 'create options' && value !== null && typeof value === 'object' && !Array.isArray(value)) return;
      if (name === 'storeU64 value' && typeof value === 'bigint') return;
      if (name === 'crashImageAt index' && typeof value === 'bigint' && value >= 0n) return;
      expectErrno(() => call(value), ['EINVAL', 'E2BIG'], `dev.${name}(${show(value)})`);
      expect(visible(), `dev.${name}(${show(value)}) changed the visible bytes`).toBe(before.crc);
      expect(dev.linesPending()).toBe(before.pending);
      expect(JSON.stringify({ ...dev.counters(), loads: 0 }), `dev.${name}(${show(value)}) moved a counter`).toBe(before.counters);
      expect(dev.lineInfo(0).poisoned).toBe(false);
    }), params());
    unchanged('device calls');
  });

  it('closed handles: every call on an unmounted file system is EINVAL, on a closed device EBADF', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.writeFile('/a', new Uint8Array(100));
    const fd = fs.open('/a');
    const m = fs.mmap('/a', { length: 4096 });
    fs.unmount();
    const fsCalls: Array<[string, () => unknown]> = [
      ['mkdir', () => fs.mkdir('/x')], ['create', () => fs.create('/x')], ['exists', () => fs.exists('/a')],
      ['readdir', () => fs.readdir('/')], ['stat', () => fs.stat('/a')], ['unlink', () => fs.unlink('/a')],
      ['rmdir', () => fs.rmdir('/d')], ['link', () => fs.link('/a', '/b')], ['rename', () => fs.rename('/a', '/b')],
      ['open', () => fs.open('/a')], ['close', () => fs.close(fd)], ['pread', () => fs.pread(fd, 1, 0)],
      ['pwrite', () => fs.pwrite(fd, new Uint8Array(1), 0)], ['readFile', () => fs.readFile('/a')],
      ['writeFile', () => fs.writeFile('/a', new Uint8Array(1))], ['truncate', () => fs.truncate('/a', 0)],
      ['fallocate', () => fs.fallocate('/a', 0, 1)], ['punchHole', () => fs.punchHole('/a', 0, 1)],
      ['zeroRange', () => fs.zeroRange('/a', 0, 1)], ['fsync', () => fs.fsync(fd)], ['setNoDataCow', () => fs.setNoDataCow('/a')],
      ['cloneRange', () => fs.cloneRange('/a', 0, '/a', 4096, 0)], ['cloneFile', () => fs.cloneFile('/a', '/b')],
      ['createSubvolume', () => fs.createSubvolume('/v')], ['snapshot', () => fs.snapshot('/', '/s')],
      ['deleteSubvolume', () => fs.deleteSubvolume('/v')], ['mmap', () => fs.mmap('/a', { length: 4096 })],
      ['freeze', () => fs.freeze()], ['thaw', () => fs.thaw()], ['setDaxImmutable', () => fs.setDaxImmutable('/a', false, { capability: true })],
      ['blockOwners', () => fs.blockOwners(0)], ['fsck', () => fs.fsck()], ['scrub', () => fs.scrub()], ['commit', () => fs.commit()],
      ['sync', () => fs.sync()], ['statfs', () => fs.statfs()], ['unmount', () => fs.unmount()], ['fileExtents', () => fs.fileExtents('/a')],
      ['dax', () => fs.dax], ['mapping.store', () => m.store(0, new Uint8Array(8))], ['mapping.load', () => m.load(0, 8)],
      ['fdatasync', () => fs.fdatasync(fd)],
    ];
    for (const [name, call] of fsCalls) expectErrno(call, 'EINVAL', `unmounted fs.${name}`);
    const again = FileSystem.mount(dev);
    expect(again.readFile('/a')).toEqual(new Uint8Array(100));
    expect(again.fsck()).toEqual([]);
    again.unmount();
    dev.close();
    const devCalls: Array<[string, () => unknown]> = [
      ['store', () => dev.store(0, new Uint8Array(8))], ['ntStore', () => dev.ntStore(0, new Uint8Array(8))],
      ['storeU64', () => dev.storeU64(0, 1n)], ['load', () => dev.load(0, 8)], ['loadU64', () => dev.loadU64(0)],
      ['readMedia', () => dev.readMedia(0, 8)], ['flush', () => dev.flush(0, 8)], ['sfence', () => dev.sfence()],
      ['mfence', () => dev.mfence()], ['persist', () => dev.persist(0, 8)], ['poison', () => dev.poison(0)],
      ['clearPoison', () => dev.clearPoison(0)], ['lineInfo', () => dev.lineInfo(0)], ['counters', () => dev.counters()],
      ['linesPending', () => dev.linesPending()], ['logSpan', () => dev.logSpan()], ['flushesQueued', () => dev.flushesQueued()],
      ['crashImageCount', () => dev.crashImageCount()], ['crash', () => dev.crash()], ['crashInPlace', () => dev.crashInPlace()],
      ['crashImageAt', () => dev.crashImageAt(0n)], ['crashImages', () => [...dev.crashImages()]], ['crc32c', () => dev.crc32c(0, 8)],
      ['crc32cBytes', () => dev.crc32cBytes(new Uint8Array(1))], ['scratch', () => dev.scratch()],
      ['storeBatch', () => dev.storeBatch([0], 8, new Uint8Array(8))],
      ['mount', () => FileSystem.mount(dev)], ['mkfs', () => FileSystem.mkfs(dev)],
    ];
    for (const [name, call] of devCalls) expectErrno(call, 'EBADF', `closed device.${name}`);
    dev.close(); // closing twice is harmless
  });

  it('writer pools: bad counts and workload specs are EINVAL (across the thread boundary too), a stopped pool EBADF', async () => {
    const { fs, mapping } = f;
    for (const count of [0, -1, 1.5, 'x', null, 100]) {
      await expect(WriterPool.start(fs, count as number, { entryUrl: WORKER_ENTRY })).rejects.toSatisfy(isErrno('EINVAL'));
    }
    for (const [target, options] of [[null, {}], [{}, {}], ['fs', {}], [fs, null], [fs, 5], [fs, { entryUrl: 'x' }]] as const) {
      await expect(WriterPool.start(target as FileSystem, 1, options as object)).rejects.toSatisfy(isErrno('EINVAL'));
    }
    const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
    const good: WorkloadSpec = { mapping: mapping.handle(), kind: 'random', stores: 4, storeBytes: 64, writers: 1, writerIndex: 0, seed: 1 };
    const specs = fc.sample(fc.oneof(
      fc.constantFrom(null, {}, 'spec', 7),
      fc.record({
        key: fc.constantFrom('stores', 'storeBytes', 'writers', 'writerIndex', 'seed', 'kind', 'hotPages'),
        value: fc.constantFrom(NaN, 1.5, 'x', null, 2 ** 53, Infinity, {}, true),
      }).map(({ key, value }) => ({ ...good, [key]: value })),
      fc.constantFrom({ ...good, stores: -1 }, { ...good, storeBytes: 7 }, { ...good, storeBytes: 65544 }, { ...good, writerIndex: 1 },
        { ...good, writers: 0 }, { ...good, hotPages: 0 }, { ...good, kind: 'zigzag' }),
      fc.record({ id: fc.constantFrom(999, -1, 'x'), length: fc.constantFrom(8192, 2 ** 30) }).map((m) => ({ ...good, mapping: { ...good.mapping, ...m } })),
    ), { seed: SEED, numRuns: 40 });
    try {
      for (const spec of specs) {
        await expect(pool.run([spec as WorkloadSpec]), show(spec)).rejects.toSatisfy(isErrno('EINVAL'));
      }
      await expect(pool.run('specs' as unknown as WorkloadSpec[])).rejects.toSatisfy(isErrno('EINVAL'));
      await expect(pool.run([good, good])).rejects.toSatisfy(isErrno('EINVAL'));
      expect((await pool.run([good]))[0]!.stores).toBe(4); // still usable
    } finally {
      await pool.stop();
    }
    await expect(pool.run([good])).rejects.toSatisfy(isErrno('EBADF'));
    baseline = digest(fs); // the good run stored into /file through the mapping
    unchanged('writer pool');
  });

  it('a frozen file system refuses every change with EBUSY and stays as it was', () => {
    const { fs, fd } = f;
    fs.freeze();
    try {
      const changes: Array<[string, () => unknown]> = [
        ['mkdir', () => fs.mkdir('/fz')], ['create', () => fs.create('/fz')], ['unlink', () => fs.unlink('/dir/small')],
        ['rmdir', () => fs.rmdir('/dir/sub')], ['link', () => fs.link('/file', '/fz')], ['rename', () => fs.rename('/dir/small', '/fz')],
        ['open create', () => fs.open('/fz', { create: true })], ['open truncate', () => fs.open('/file', { truncate: true })],
        ['pwrite', () => fs.pwrite(fd, new Uint8Array(1), 0)], ['writeFile', () => fs.writeFile('/file', new Uint8Array(1))],
        ['truncate', () => fs.truncate('/file', 0)], ['fallocate', () => fs.fallocate('/file', 0, 1)],
        ['punchHole', () => fs.punchHole('/file', 0, 4096)], ['zeroRange', () => fs.zeroRange('/file', 0, 4096)],
        ['cloneFile', () => fs.cloneFile('/file', '/fz')], ['cloneRange', () => fs.cloneRange('/file', 0, '/dir/small', 0, 4096)],
        ['createSubvolume', () => fs.createSubvolume('/fz')], ['snapshot', () => fs.snapshot('/vol', '/fz')],
        ['deleteSubvolume', () => fs.deleteSubvolume('/snap')], ['freeze again', () => fs.freeze()],
        ['mknod', () => fs.mknod('/fz', S_IFIFO | 0o644)], ['unlink /fifo', () => fs.unlink('/fifo')],
        ['mapping store', () => f.mapping.store(0, new Uint8Array(8))],
      ];
      fc.assert(fc.property(fc.constantFrom(...changes), ([name, call]) => {
        expectErrno(call, 'EBUSY', `frozen ${name}`);
      }), params(changes.length * 3));
    } finally {
      fs.thaw();
    }
    unchanged('frozen');
  });
});

// --- chaos: any public method, any arguments ------------------------------------------

describe('chaos: any public method with any arguments succeeds or throws an FsError', () => {
  const FS_METHODS = ['mkdir', 'create', 'exists', 'readdir', 'stat', 'unlink', 'rmdir', 'link', 'rename', 'open', 'close', 'pread',
    'preadInto', 'pwrite', 'readFile', 'writeFile', 'truncate', 'fallocate', 'punchHole', 'zeroRange', 'fsync', 'setNoDataCow', 'cloneRange',
    'cloneFile', 'createSubvolume', 'snapshot', 'deleteSubvolume', 'mmap', 'setDaxImmutable', 'blockOwners', 'fileExtents',
    'statfs', 'commit', 'sync', 'freeze', 'thaw', 'dedupeRange', 'dedupeRanges', 'collapseRange', 'insertRange', 'fdatasync',
    'copyFileRange', 'exchangeRange', 'symlink', 'readlink', 'lstat', 'setxattr', 'fsetxattr', 'getxattr', 'fgetxattr', 'listxattr',
    'flistxattr', 'removexattr', 'fremovexattr', 'mknod'];
  const MAPPING_METHODS = ['store', 'load', 'flush', 'fence', 'msync'];
  const DEVICE_METHODS = ['store', 'ntStore', 'storeU64', 'load', 'loadInto', 'loadU64', 'isZero', 'readMedia', 'flush', 'clwb', 'clflushopt',
    'clflush', 'sfence', 'mfence', 'persist', 'poison', 'clearPoison', 'lineInfo', 'counters', 'linesPending', 'logSpan',
    'flushesQueued', 'crashImageCount', 'crc32c', 'crc32cBytes', 'storeBatch'];
  const path = fc.oneof(fc.constantFrom('/', '/dir', '/file', '/n', '/x', '/dir/y', '/file/..', '/dir/..', '/sv', '/snap'), fc.string());
  const num = fc.oneof(fc.integer({ min: -10, max: 20_000 }), fc.constantFrom(0, 64, 4096, 8192, 2 ** 50, 2 ** 53, NaN, -1, 1.5));
  const options = fc.record({
    length: num, offset: num, create: fc.boolean(), truncate: fc.boolean(), keepSize: fc.boolean(), readonly: fc.boolean(),
    capability: fc.boolean(), sync: fc.boolean(), prot: fc.constantFrom('r', 'rw'),
  }, { requiredKeys: [] });
  const arg = fc.oneof(path, num, fc.anything({ withNullPrototype: true, withBigInt: true, withTypedArray: true }), fc.uint8Array({ maxLength: 9000 }), options, fc.boolean());
  const call = (target: object, method: string, args: unknown[]): unknown => {
    try {
      return (target as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
    } catch (e) {
      if (e instanceof FsError) return e;
      const shown = args.map(show).join(', ');
      throw new Error(`${method}(${shown.slice(0, 300)}) threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
  };

  it('FileSystem and DaxMapping: no other exception; fsck clean afterwards', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.mkdir('/dir');
    fs.writeFile('/file', pattern(10_000, 5));
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(8192));
    const mapping = fs.mmap('/n', { length: 8192 });
    let calls = 0;
    fc.assert(fc.property(fc.boolean(), fc.constantFrom(...FS_METHODS), fc.constantFrom(...MAPPING_METHODS), fc.array(arg, { maxLength: 5 }), (onMapping, fsMethod, mMethod, args) => {
      calls++;
      if (fs.isFrozen && fsMethod !== 'thaw' && !onMapping) fs.thaw();
      const r = onMapping ? call(mapping, mMethod, args) : call(fs, fsMethod, args);
      // Keep the mapping budget (256) for the run: unmap what mmap returned.
      if (r && typeof r === 'object' && 'unmap' in r && r !== mapping) (r as DaxMapping).unmap();
    }), params(1000));
    if (fs.isFrozen) fs.thaw();
    expect(fs.fsck()).toEqual([]);
    expect(calls).toBe(1000);
    fs.unmount();
    dev.close();
  });

  it('PmemDevice: no other exception', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    fc.assert(fc.property(fc.constantFrom(...DEVICE_METHODS), fc.array(arg, { maxLength: 4 }), (method, args) => {
      call(dev, method, args);
    }), params(1000));
    dev.close();
  });
});

// --- differential: valid and hostile ops against the model ---------------------------

const NAMES = ['a', 'b', 'c'];
const DIRS = ['', '/d', '/d/e'];
const modelPath = fc.tuple(fc.constantFrom(...DIRS), fc.constantFrom(...NAMES, 'd', 'e')).map(([d, n]) => `${d}/${n}`);
/** The length and seed of a write's pattern bytes (the workload language's `seed`). */
const data = fc.record({
  length: fc.integer({ min: 0, max: 9000 }), seed: fc.integer({ min: 1, max: 1000 }),
});
const smallOffset = fc.integer({ min: 0, max: 12_000 });
const rangeLength = fc.integer({ min: 1, max: 9000 });
/**
 * Valid calls as workload statements; a rewrite (writeFile) is `open PATH creat trunc`,
 * then a write.
 */
const validOps: fc.Arbitrary<Op[]> = fc.oneof(
  modelPath.map((path): Op[] => [{ op: 'mkdir', path }]),
  modelPath.map((path): Op[] => [{ op: 'create', path }]),
  fc.tuple(modelPath, data).map(([path, d]): Op[] => [
    { op: 'open', path, create: true, truncate: true },
    ...(d.length > 0 ? [{ op: 'write' as const, path, offset: 0, ...d }] : []),
  ]),
  fc.tuple(modelPath, smallOffset, data)
    .map(([path, offset, d]): Op[] => [{ op: 'write', path, offset, ...d }]),
  fc.tuple(modelPath, smallOffset).map(([path, size]): Op[] => [{ op: 'truncate', path, size }]),
  fc.tuple(modelPath, smallOffset, rangeLength, fc.boolean())
    .map(([path, offset, length, keepSize]): Op[] => [
      { op: 'fallocate', path, offset, length, keepSize },
    ]),
  fc.tuple(modelPath, smallOffset, rangeLength)
    .map(([path, offset, length]): Op[] => [{ op: 'punch', path, offset, length }]),
  fc.tuple(modelPath, smallOffset, rangeLength)
    .map(([path, offset, length]): Op[] => [{ op: 'zero', path, offset, length, keepSize: false }]),
  modelPath.map((path): Op[] => [{ op: 'unlink', path }]),
  modelPath.map((path): Op[] => [{ op: 'rmdir', path }]),
  fc.tuple(modelPath, modelPath).map(([from, to]): Op[] => [{ op: 'rename', from, to }]),
  fc.tuple(modelPath, modelPath).map(([from, to]): Op[] => [{ op: 'link', from, to }]),
  fc.tuple(modelPath, modelPath).map(([src, dst]): Op[] => [{ op: 'clone', src, dst }]),
  modelPath.map((path): Op[] => [{ op: 'read', path }]),
  fc.constant<Op[]>([{ op: 'commit' }]),
);

type Step =
  | { valid: Op[] }
  | { hostile: string; call: (fs: FileSystem) => unknown; codes: ErrnoName[] };
const hostileStep: fc.Arbitrary<Step> = fc.oneof(
  fc.tuple(badPath, fc.constantFrom('mkdir', 'create', 'unlink', 'rmdir', 'readFile', 'stat')).map(([{ path, code }, m]): Step => ({
    // No /file here: a path through it finds nothing.
    hostile: `${m}(${show(path)})`, call: (fs) => (fs as unknown as Record<string, (p: unknown) => unknown>)[m]!.call(fs, path),
    codes: code === 'ENOTDIR' ? ['ENOTDIR', 'ENOENT'] : [code],
  })),
  fc.tuple(modelPath, badNumber).map(([path, x]): Step => ({ hostile: `truncate(${path}, ${show(x)})`, call: (fs) => fs.truncate(path, x as number), codes: ['EINVAL'] })),
  fc.tuple(modelPath, hugeOffset).map(([path, x]): Step => ({ hostile: `zeroRange(${path}, ${x}, 1)`, call: (fs) => fs.zeroRange(path, x, 1), codes: ['EFBIG'] })),
  fc.tuple(modelPath, badData).map(([path, x]): Step => ({ hostile: `writeFile(${path}, ${show(x)})`, call: (fs) => fs.writeFile(path, x as Uint8Array), codes: ['EINVAL'] })),
  fc.tuple(modelPath, badOptions).map(([path, x]): Step => ({ hostile: `open(${path}, ${show(x)})`, call: (fs) => fs.open(path, x as object), codes: ['EINVAL'] })),
  fc.tuple(modelPath, badNumber).map(([path, x]): Step => ({ hostile: `mknod(${path}, ${show(x)})`, call: (fs) => fs.mknod(path, x as number), codes: ['EINVAL'] })),
  fc.tuple(modelPath, modelPath).map(([a, b]): Step => ({ hostile: `rename(${a}, ${b}/..)`, call: (fs) => fs.rename(a, `${b}/..`), codes: ['EBUSY', 'ENOENT', 'ENOTDIR'] })),
);

describe('differential: random valid and hostile op sequences against the model', () => {
  it('valid ops match the model, hostile ones fail with an FsError and change nothing; fsck stays clean', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    let sequences = 0;
    let hostileCalls = 0;
    const valid = validOps.map((ops): Step => ({ valid: ops }));
    const step = fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostileStep });
    fc.assert(fc.property(fc.array(step, { minLength: 5, maxLength: 40 }), (steps) => {
      sequences++;
      const h = Harness.fresh(dev);
      h.apply({ op: 'mkdir', path: '/d' });
      for (const step of steps) {
        if ('valid' in step) {
          for (const op of step.valid) h.apply(op);
          continue;
        }
        hostileCalls++;
        const model = h.model.clone();
        try {
          expectErrno(() => step.call(h.fs), step.codes, step.hostile);
        } catch (e) {
          throw new Mismatch(`${(e as Error).message}\nafter:\n${h.recent(40)}`);
        }
        h.checkTree(model);
      }
      h.checkTree();
      const problems = h.fsck();
      if (problems.length) throw new Mismatch(`fsck: ${problems.join('; ')}\n${h.recent(40)}`);
      // The committed image says the same after a remount.
      h.script('unmount\nmount');
      h.checkTree();
      h.script('unmount');
    }), params(120));
    console.log(`api-fuzz differential: ${sequences} sequences, ${hostileCalls} hostile calls`);
    expect(hostileCalls).toBeGreaterThan(100);
    dev.close();
  });
});
