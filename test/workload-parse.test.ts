// The workload language's parser and printer: errors name line and column, every
// operation kind round-trips, and parse(print(ast)) is ast for generated scripts.
import { describe, expect, it } from 'vitest';
import { ERRNO, POLICY_NAMES, type ErrnoName } from '../src/index.js';
import {
  parse, print, printStmt, parseNumber, ParseError, OP_NAMES, randomScript, exhaustive, Rng,
  type Stmt, type Op, type StmtCommon,
} from '../src/workload/index.js';
import { importFsx } from '../src/workload/fsx.js';

/** One canonical line for every form of every operation. */
const CANONICAL = `mkfs
mkfs nodesize 4096 label lab
mount
unmount
policy tlbShootdown=off
policy commitChecksums=on
crash
crash random 7
check
scrub
checkpoint 3
mkdir /a
create /a/f
open /a/f
open /a/g creat trunc
open /a/h trunc
open f /a/f
open g_1 /a/g creat trunc
close f
unlink /a/f
rmdir /a
rename /a /b
link /b/f /b/g
stat /b
readdir /
symlink ../b/f /l
symlink /b /abs
readlink /l
lstat /l
setxattr /b/f user.a 100
setxattr f user.b 0 seed 3 create
setxattr /l trusted.t 10 replace nofollow
getxattr /b/f user.a
getxattr /l trusted.t nofollow
listxattr f
listxattr /l nofollow
removexattr /b/f user.a
mknod /b/dev chardev rdev 259
mknod /b/p fifo
write /f 0 4096
write /f 100 5000 seed 9
write f 0 4096
write f 100 5000 seed 9
read /f
read /f 10 20
read f 10 20
truncate /f 2500
fallocate /f 0 8192
fallocate /f 8192 4096 keep
punch /f 0 4096
zero /f 100 200
zero /f 100 200 keep
fsync /f
fsync f
fdatasync /f
fdatasync Afoo
commit
clone /f /g
clone /f 0 /g 4096 8192
copy /f 100 /g 4096 5000
exchange /f 0 /g 8192 4096
dedupe /f 0 /g 4096 8192
collapse /f 4096 8192
insert /f 0 4096
snapshot / /snap
snapshot / /snap2 ro
mksubvol /sv
rmsubvol /sv
setflag /f nodatacow
setflag /f dax-immutable
setflag /f dax-immutable nocap
clearflag /f dax-immutable
clearflag /f dax-immutable nocap
freeze
thaw
mmap m /f 0 8192 rw
mmap m_2.x /f 4096 100 r sync
mstore m 0 10
mstore m 10 20 seed 3
mload m 0 4096
mflush m 0 64
fence
msync m 0 4096
munmap m
expect EEXIST mkdir /a
expect SIGBUS mload m 8192 1 # past EOF
commit #
# a whole-line comment
#
#  two leading spaces kept
`;

function parseError(text: string): ParseError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`no parse error for ${JSON.stringify(text)}`);
}

describe('workload parser errors', () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['mkdir /a\nfrobnicate /x', 2, 1, /unknown operation 'frobnicate'/],
    ['write /f 0 abc', 1, 12, /expected a length \(a non-negative integer\), got 'abc'/],
    ['write /f 0', 1, 11, /expected a length/],
    ['mkdir a', 1, 7, /expected a path \(absolute/],
    ['expect EWHAT mkdir /a', 1, 8, /unknown errno 'EWHAT'/],
    ['expect EEXIST', 1, 14, /expected an operation after the errno/],
    ['policy fooBar=off', 1, 8, /unknown policy switch 'fooBar'/],
    ['policy tlbShootdown', 1, 8, /expected NAME=off or NAME=on/],
    ['mmap m /f 0 10 rx', 1, 16, /expected a protection \(rw or r\), got 'rx'/],
    ['  commit extra', 1, 10, /unexpected 'extra': too many arguments/],
    ['crash random', 1, 13, /expected a seed/],
    ['crash sometimes', 1, 7, /expected a crash mode/],
    ['open /f creat creat', 1, 15, /'creat' given twice/],
    ['open /f sync', 1, 9, /unexpected 'sync' \(allowed here: creat, trunc\)/],
    ['mkdir /a\n\n   mstore 9m 0 1', 3, 11, /expected a mapping name/],
    ['write /f 0 10 seed', 1, 19, /expected a number after 'seed'/],
    ['write /f 99999999999999999999 1', 1, 10, /expected an offset/],
    ['clone /a 4096 /b 0', 1, 19, /expected a length/],
    ['setflag /f immutable', 1, 12, /expected a flag \(nodatacow or dax-immutable\)/],
    ['setflag /f nodatacow nocap', 1, 22, /unexpected 'nocap'/],
    ['# fine\n\twrite /f 1 2 seed 4 seed 5 # two seeds', 2, 22, /'seed' given twice/],
    ['open 9f /f', 1, 6, /expected a descriptor name or a path/],
    ['open f', 1, 7, /expected a path/],
    ['open f g', 1, 8, /expected a path \(absolute/],
    ['close /f', 1, 7, /expected a descriptor name/],
    ['close', 1, 6, /expected a descriptor name/],
    ['close f g', 1, 9, /unexpected 'g': too many arguments/],
    ['fsync 1x', 1, 7, /expected a path or a descriptor name/],
    ['fdatasync', 1, 10, /expected a path or a descriptor name/],
    ['write f 10', 1, 11, /expected a length/],
    ['read f', 1, 7, /expected an offset/],
    ['symlink /a', 1, 11, /expected the link's path/],
    ['symlink a b', 1, 11, /expected the link's path \(absolute/],
    ['setxattr /f user.a', 1, 19, /expected a value length/],
    ['setxattr f user.a 1 nofollow', 1, 29, /'nofollow' needs a path/],
    ['setxattr /f user.a 1 create replace', 1, 36, /'create' and 'replace' exclude each other/],
    ['getxattr /f', 1, 12, /expected an xattr name/],
    ['listxattr /f user.a', 1, 14, /unexpected 'user.a'/],
    ['copy /a 0 /b 0', 1, 15, /expected a length/],
    ['copy /a /b 0 0 1', 1, 9, /expected a source offset/],
    ['exchange /a 0 b 0 1', 1, 15, /expected a second path \(absolute/],
    ['dedupe /a 0 /b 0 1 2', 1, 20, /unexpected '2': too many arguments/],
    ['collapse /a 4096', 1, 17, /expected a length/],
    ['insert a 0 4096', 1, 8, /expected a path \(absolute/],
  ];
  it.each(cases)('%j: line %i, column %i', (text, line, column, message) => {
    const e = parseError(text);
    expect(e.line).toBe(line);
    expect(e.column).toBe(column);
    expect(e.reason).toMatch(message);
    expect(e.message).toBe(`line ${line}, column ${column}: ${e.reason}`);
  });

  it('numbers: decimal, hex, binary suffixes, safe integers only', () => {
    expect(parseNumber('4096')).toBe(4096);
    expect(parseNumber('0x1000')).toBe(4096);
    expect(parseNumber('0X1F')).toBe(31);
    expect(parseNumber('4k')).toBe(4096);
    expect(parseNumber('2M')).toBe(2 << 20);
    expect(parseNumber('1g')).toBe(1 << 30);
    expect(parseNumber('-1')).toBeNull();
    expect(parseNumber('1.5')).toBeNull();
    expect(parseNumber('9007199254740993')).toBeNull();
  });
});

describe('workload printer', () => {
  it('round-trips every operation kind: print(parse(x)) === x for canonical text', () => {
    const script = parse(CANONICAL);
    expect(print(script)).toBe(CANONICAL);
    const kinds = new Set(script.stmts.map((s) => s.op));
    for (const name of OP_NAMES) expect(kinds, name).toContain(name);
    expect(kinds).toContain('comment');
  });

  it('normalises other spellings to the canonical form, idempotently', () => {
    const text = 'crash strict\n\n  write\t/f 0x10 4k   seed 0x2  \r\nopen /f trunc creat\n\nexpect ENOENT   unlink /x#c\n';
    const canonical = print(parse(text));
    expect(canonical).toBe('crash\nwrite /f 16 4096 seed 2\nopen /f creat trunc\nexpect ENOENT unlink /x # c\n');
    expect(print(parse(canonical))).toBe(canonical);
  });

  it('keeps source line numbers beside the statements', () => {
    const s = parse('# head\n\nmkdir /a\n\n\ncommit\n');
    expect(s.lines).toEqual([1, 3, 6]);
  });
});

// --- property: parse(print(ast)) equals ast -----------------------------------------

const PATHS = ['/', '/a', '/a/b', '/dir-1/file_2.txt', '/x/y/z', '/A/foo'];
const NAMES = ['m', 'm0', 'map_1', 'a.b-c', 'Z'];
const XATTRS = ['user.a', 'trusted.x-y', 'security.selinux', 'user.nofollow', 'seed', 'user.ü'];
const ERRNOS = Object.keys(ERRNO) as ErrnoName[];
const COMMENTS = ['', 'note', ' leading space', 'x # y', 'ünïcödé'];

function arbitraryOp(r: Rng): Op {
  const path = (): string => r.pick(PATHS);
  const name = (): string => r.pick(NAMES);
  const num = (): number => r.pick([0, 1, 4096, r.below(1 << 20), r.below(2 ** 32) * 2 ** 18 + r.below(2 ** 18)]);
  const kind = r.pick(OP_NAMES);
  switch (kind) {
    case 'mkfs': {
      const op: Op = { op: 'mkfs' };
      if (r.chance(0.5)) op.nodeSize = r.pick([4096, 16384, 65536]);
      if (r.chance(0.5)) op.label = r.pick(['lab', 'x-y', 'L1']);
      return op;
    }
    case 'mount': case 'unmount': case 'check': case 'scrub': case 'commit': case 'freeze': case 'thaw': case 'fence':
      return { op: kind };
    case 'policy': return { op: 'policy', name: r.pick(POLICY_NAMES), value: r.chance(0.5) };
    case 'crash': return r.chance(0.5) ? { op: 'crash', mode: 'strict' } : { op: 'crash', mode: 'random', seed: num() };
    case 'checkpoint': return { op: 'checkpoint', id: num() };
    case 'mkdir': case 'create': case 'unlink': case 'rmdir': case 'stat': case 'readdir': case 'mksubvol': case 'rmsubvol':
      return { op: kind, path: path() };
    case 'fsync': case 'fdatasync': return r.chance(0.5) ? { op: kind, path: path() } : { op: kind, fd: name() };
    case 'open': {
      const op: Op = { op: 'open', path: path(), create: r.chance(0.5), truncate: r.chance(0.5) };
      if (r.chance(0.5)) op.fd = name();
      return op;
    }
    case 'close': return { op: 'close', fd: name() };
    case 'rename': case 'link': return { op: kind, from: path(), to: path() };
    case 'symlink': return { op: 'symlink', target: r.pick(['f', '../x', '/a/b', 'a/b/c', 'creat', '..', 'ü']), path: path() };
    case 'readlink': case 'lstat': return { op: kind, path: path() };
    case 'mknod': {
      const op: Op = { op: 'mknod', path: path(), kind: r.pick(['chardev', 'blockdev', 'fifo', 'socket'] as const) };
      if (r.chance(0.5)) op.rdev = num();
      return op;
    }
    case 'setxattr': {
      const ref = r.chance(0.5) ? { path: path() } : { fd: name() };
      const op: Op = { op: 'setxattr', ...ref, name: r.pick(XATTRS), length: num(), nofollow: ref.path !== undefined && r.chance(0.3) };
      if (r.chance(0.5)) op.seed = num();
      if (r.chance(0.5)) op.mode = r.pick(['create', 'replace'] as const);
      return op;
    }
    case 'getxattr': case 'removexattr': return r.chance(0.5) ? { op: kind, path: path(), name: r.pick(XATTRS), nofollow: r.chance(0.5) } : { op: kind, fd: name(), name: r.pick(XATTRS), nofollow: false };
    case 'listxattr': return r.chance(0.5) ? { op: kind, path: path(), nofollow: r.chance(0.5) } : { op: kind, fd: name(), nofollow: false };
    case 'write': {
      const op: Op = r.chance(0.5) ? { op: 'write', path: path(), offset: num(), length: num() } : { op: 'write', fd: name(), offset: num(), length: num() };
      if (r.chance(0.5)) op.seed = num();
      return op;
    }
    case 'read': {
      if (r.chance(0.3)) return { op: 'read', path: path() };
      return r.chance(0.5) ? { op: 'read', path: path(), offset: num(), length: num() } : { op: 'read', fd: name(), offset: num(), length: num() };
    }
    case 'truncate': return { op: 'truncate', path: path(), size: num() };
    case 'fallocate': case 'zero': return { op: kind, path: path(), offset: num(), length: num(), keepSize: r.chance(0.5) };
    case 'punch': return { op: 'punch', path: path(), offset: num(), length: num() };
    case 'clone':
      return r.chance(0.5) ? { op: 'clone', src: path(), dst: path() }
        : { op: 'clone', src: path(), dst: path(), range: { srcOffset: num(), dstOffset: num(), length: num() } };
    case 'copy': case 'dedupe': return { op: kind, src: path(), srcOffset: num(), dst: path(), dstOffset: num(), length: num() };
    case 'exchange': return { op: 'exchange', path1: path(), offset1: num(), path2: path(), offset2: num(), length: num() };
    case 'collapse': case 'insert': return { op: kind, path: path(), offset: num(), length: num() };
    case 'snapshot': return { op: 'snapshot', src: path(), dst: path(), readonly: r.chance(0.5) };
    case 'setflag':
      return r.chance(0.5) ? { op: 'setflag', path: path(), flag: 'nodatacow', nocap: false }
        : { op: 'setflag', path: path(), flag: 'dax-immutable', nocap: r.chance(0.5) };
    case 'clearflag': return { op: 'clearflag', path: path(), flag: 'dax-immutable', nocap: r.chance(0.5) };
    case 'mmap': return { op: 'mmap', name: name(), path: path(), offset: num(), length: num(), prot: r.pick(['r', 'rw'] as const), sync: r.chance(0.5) };
    case 'mstore': {
      const op: Op = { op: 'mstore', name: name(), offset: num(), length: num() };
      if (r.chance(0.5)) op.seed = num();
      return op;
    }
    case 'mload': case 'mflush': case 'msync': return { op: kind, name: name(), offset: num(), length: num() };
    case 'munmap': return { op: 'munmap', name: name() };
  }
}

function arbitraryStmt(r: Rng): Stmt {
  if (r.chance(0.1)) return { op: 'comment', text: r.pick(COMMENTS) };
  const op = arbitraryOp(r) as Op & StmtCommon;
  if (r.chance(0.2)) op.expect = r.pick(ERRNOS);
  if (r.chance(0.2)) op.comment = r.pick(COMMENTS);
  return op;
}

describe('workload round trip (property)', () => {
  it('parse(print(ast)).stmts equals ast for 300 arbitrary scripts', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = new Rng(seed);
      const stmts = Array.from({ length: 40 }, () => arbitraryStmt(r));
      const text = print(stmts);
      const back = parse(text);
      expect(back.stmts, `seed ${seed}`).toEqual(stmts);
      expect(print(back), `seed ${seed}`).toBe(text);
    }
  });

  it('parse(print(s)) equals s for 200 random fsx-style scripts (every switch off in turn)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const s = randomScript({ seed, ops: 120, policyOff: seed % 3 === 0 ? 'random' : undefined, crashAtEnd: seed % 2 ? 'random' : true });
      expect(parse(print(s)).stmts, `seed ${seed}`).toEqual(s.stmts);
    }
  });

  it('parse(print(s)) equals s for exhaustive k=2 scripts', () => {
    let n = 0;
    for (const g of exhaustive({ k: 2, persistence: ['fsync', 'commit', 'none'] })) {
      if (g.index % 97 !== 0) continue;
      expect(parse(print(g.script)).stmts, g.summary).toEqual(g.script.stmts);
      n++;
    }
    expect(n).toBeGreaterThan(200);
  });

  it('printStmt of a statement is one line', () => {
    const r = new Rng(5);
    for (let i = 0; i < 500; i++) expect(printStmt(arbitraryStmt(r))).not.toContain('\n');
  });
});

describe('names of Object.prototype are not words of the language', () => {
  it('refuses them as options, and fsx import reports them as unknown operations', () => {
    expect(() => parse('mkfs constructor x')).toThrow(/unexpected 'constructor'/);
    expect(() => parse('create /f\nwrite /f 0 1 toString 5')).toThrow(/unexpected 'toString'/);
    const imported = importFsx('toString 1 2\nconstructor 3 4\n');
    expect(imported.unsupported.map((u) => u.op)).toEqual(['toString', 'constructor']);
  });
});
