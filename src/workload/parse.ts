// The workload language's parser: one statement per line, whitespace-separated tokens,
// `#` to the end of the line is a comment. Every error names its line and column.
import { ERRNO, type ErrnoName } from '../errors.js';
import { POLICY_NAMES } from '../dax/policy.js';
import type { FileRef, Op, OpName, PolicyName, Script, Stmt, StmtCommon } from './ast.js';
import { OP_NAMES } from './ast.js';

export class ParseError extends Error {
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'ParseError';
  }
}

interface Token { text: string; column: number }

/** What Cursor.options read: the words given, and the `key VALUE` options by key. */
interface Options { flags: Set<string>; values: Map<string, number | string> }

/** Split a line into tokens (1-based columns) and its trailing comment. */
function tokenize(raw: string): { tokens: Token[]; comment?: string; end: number } {
  const hash = raw.indexOf('#');
  const body = hash >= 0 ? raw.slice(0, hash) : raw;
  const tokens: Token[] = [];
  const re = /[^\s]+/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    tokens.push({ text: m[0], column: m.index + 1 });
  }
  const end = body.trimEnd().length + 1;
  if (hash < 0) return { tokens, end };
  return { tokens, comment: commentText(raw.slice(hash + 1)), end };
}

/** The text of a comment: one leading space dropped, trailing whitespace trimmed. */
function commentText(afterHash: string): string {
  const t = afterHash.trimEnd();
  return t.startsWith(' ') ? t.slice(1) : t;
}

const NUMBER = /^(0x[0-9a-f]+|[0-9]+)([kmg]?)$/i;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse a non-negative integer: decimal or 0x hex, optional k/m/g (binary) suffix. */
export function parseNumber(text: string): number | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const base = m[1]!.toLowerCase().startsWith('0x')
    ? parseInt(m[1]!.slice(2), 16)
    : parseInt(m[1]!, 10);
  const value = base * SUFFIX[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(value) ? value : null;
}

class Cursor {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    readonly line: number,
    private readonly end: number,
  ) {}

  error(reason: string, token?: Token): never {
    throw new ParseError(reason, this.line, token ? token.column : this.end);
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(what: string): Token {
    const t = this.tokens[this.i];
    if (!t) this.error(`expected ${what}`);
    this.i++;
    return t;
  }

  path(what = 'a path'): string {
    const t = this.next(what);
    if (!t.text.startsWith('/')) {
      this.error(`expected ${what} (absolute, starting with '/'), got '${t.text}'`, t);
    }
    return t.text;
  }

  num(what: string): number {
    const t = this.next(what);
    const v = parseNumber(t.text);
    if (v === null) this.error(`expected ${what} (a non-negative integer), got '${t.text}'`, t);
    return v;
  }

  name(what = 'a mapping name'): string {
    const t = this.next(what);
    if (!NAME.test(t.text)) {
      this.error(`expected ${what} (letters, digits, '_', '-', '.'), got '${t.text}'`, t);
    }
    return t.text;
  }

  /** A path (it starts with '/') or the name of a descriptor (it never does). */
  fileRef(): FileRef {
    const t = this.peek();
    if (t && t.text.startsWith('/')) return { path: this.path() };
    return { fd: this.name('a path or a descriptor name') };
  }

  oneOf<T extends string>(what: string, choices: readonly T[]): T {
    const t = this.next(what);
    if (!(choices as readonly string[]).includes(t.text)) {
      this.error(`expected ${what} (${choices.join(' or ')}), got '${t.text}'`, t);
    }
    return t.text as T;
  }

  /** Optional trailing words (each at most once, any order) and `key VALUE` options. */
  options(flags: readonly string[], keyed: Record<string, 'num' | 'word'> = {}): Options {
    const seen = new Set<string>();
    const values = new Map<string, number | string>();
    for (let t = this.peek(); t; t = this.peek()) {
      this.i++;
      if (seen.has(t.text)) this.error(`'${t.text}' given twice`, t);
      if (flags.includes(t.text)) { seen.add(t.text); continue; }
      // (Own keys only: 'constructor' or 'toString' is not an option of any operation.)
      const kind = Object.hasOwn(keyed, t.text) ? keyed[t.text] : undefined;
      if (!kind) {
        const keys = Object.keys(keyed).map((k) => `${k} ${keyed[k] === 'num' ? 'N' : 'WORD'}`);
        const allowed = [...flags, ...keys];
        this.error(allowed.length
          ? `unexpected '${t.text}' (allowed here: ${allowed.join(', ')})`
          : `unexpected '${t.text}': too many arguments`, t);
      }
      seen.add(t.text);
      values.set(t.text, kind === 'num'
        ? this.num(`a number after '${t.text}'`)
        : this.next(`a word after '${t.text}'`).text);
    }
    return { flags: seen, values };
  }

  done(): void {
    const t = this.peek();
    if (t) this.error(`unexpected '${t.text}': too many arguments`, t);
  }
}

type OpOf<K extends OpName> = Extract<Op, { op: K }>;

/** The parser of each operation's arguments (the keyword is read already). */
const OP_PARSERS: { [K in OpName]: (c: Cursor, name: K) => Op } = {
  mkfs: parseMkfs,
  mount: bare, unmount: bare, check: bare, scrub: bare, commit: bare, freeze: bare, thaw: bare,
  fence: bare,
  policy: parsePolicy,
  crash: parseCrash,
  checkpoint: (c) => {
    const id = c.num('a checkpoint number');
    c.done();
    return { op: 'checkpoint', id };
  },
  mkdir: onePath, create: onePath, unlink: onePath, rmdir: onePath, stat: onePath,
  readdir: onePath, mksubvol: onePath, rmsubvol: onePath,
  fsync: parseSync, fdatasync: parseSync,
  open: parseOpen,
  close: (c) => {
    const fd = c.name('a descriptor name');
    c.done();
    return { op: 'close', fd };
  },
  symlink: parseLinkOrXattr, readlink: parseLinkOrXattr, lstat: parseLinkOrXattr,
  setxattr: parseLinkOrXattr, getxattr: parseLinkOrXattr, listxattr: parseLinkOrXattr,
  removexattr: parseLinkOrXattr,
  mknod: parseMknod,
  rename: parseFromTo, link: parseFromTo,
  write: parseWrite,
  read: parseRead,
  truncate: (c) => {
    const path = c.path();
    const size = c.num('a size');
    c.done();
    return { op: 'truncate', path, size };
  },
  fallocate: parseAlloc, zero: parseAlloc,
  punch: pathRange, collapse: pathRange, insert: pathRange,
  clone: parseClone,
  copy: parsePairRange, dedupe: parsePairRange,
  exchange: parseExchange,
  snapshot: (c) => {
    const src = c.path('a source subvolume');
    const dst = c.path('a target path');
    const o = c.options(['ro']);
    return { op: 'snapshot', src, dst, readonly: o.flags.has('ro') };
  },
  setflag: parseSetflag,
  clearflag: parseClearflag,
  mmap: parseMmap,
  mstore: parseMstore,
  mload: mapRange, mflush: mapRange, msync: mapRange,
  munmap: (c) => {
    const mapName = c.name();
    c.done();
    return { op: 'munmap', name: mapName };
  },
};

function parseOp(c: Cursor, keyword: Token): Op {
  const name = keyword.text as OpName;
  if (!Object.hasOwn(OP_PARSERS, name)) {
    return c.error(`unknown operation '${keyword.text}'`, keyword);
  }
  return (OP_PARSERS[name] as (c: Cursor, name: OpName) => Op)(c, name);
}

type BareName = 'mount' | 'unmount' | 'check' | 'scrub' | 'commit' | 'freeze' | 'thaw' | 'fence';

/** An operation without arguments. */
function bare(c: Cursor, name: BareName): Op {
  c.done();
  return { op: name };
}

type OnePathName =
  'mkdir' | 'create' | 'unlink' | 'rmdir' | 'stat' | 'readdir' | 'mksubvol' | 'rmsubvol';

/** An operation on one path. */
function onePath(c: Cursor, name: OnePathName): Op {
  const path = c.path();
  c.done();
  return { op: name, path };
}

function parseMkfs(c: Cursor): OpOf<'mkfs'> {
  const o = c.options([], { nodesize: 'num', label: 'word' });
  const op: Op = { op: 'mkfs' };
  if (o.values.has('nodesize')) op.nodeSize = o.values.get('nodesize') as number;
  if (o.values.has('label')) op.label = o.values.get('label') as string;
  return op;
}

function parsePolicy(c: Cursor): OpOf<'policy'> {
  const t = c.next('NAME=off or NAME=on');
  const m = /^([A-Za-z]+)=(on|off)$/.exec(t.text);
  if (!m) c.error(`expected NAME=off or NAME=on, got '${t.text}'`, t);
  if (!(POLICY_NAMES as string[]).includes(m[1]!)) {
    c.error(`unknown policy switch '${m[1]}' (one of ${POLICY_NAMES.join(', ')})`, t);
  }
  c.done();
  return { op: 'policy', name: m[1] as PolicyName, value: m[2] === 'on' };
}

function parseCrash(c: Cursor): OpOf<'crash'> {
  const t = c.peek();
  if (!t) return { op: 'crash', mode: 'strict' };
  const mode = c.oneOf('a crash mode', ['strict', 'random'] as const);
  if (mode === 'strict') { c.done(); return { op: 'crash', mode }; }
  const seed = c.num('a seed');
  c.done();
  return { op: 'crash', mode, seed };
}

function parseSync(c: Cursor, name: 'fsync' | 'fdatasync'): OpOf<'fsync' | 'fdatasync'> {
  const ref = c.fileRef();
  c.done();
  return { op: name, ...ref };
}

function parseOpen(c: Cursor): OpOf<'open'> {
  // `open PATH ...` or `open NAME PATH ...`: a name never starts with '/'.
  const first = c.peek();
  const fd = first && !first.text.startsWith('/')
    ? c.name('a descriptor name or a path')
    : undefined;
  const path = c.path();
  const o = c.options(['creat', 'trunc']);
  const op: Op = { op: 'open', path, create: o.flags.has('creat'), truncate: o.flags.has('trunc') };
  if (fd !== undefined) op.fd = fd;
  return op;
}

function parseMknod(c: Cursor): OpOf<'mknod'> {
  const path = c.path();
  const kind = c.oneOf('a special file kind', ['chardev', 'blockdev', 'fifo', 'socket'] as const);
  const o = c.options([], { rdev: 'num' });
  const op: Op = { op: 'mknod', path, kind };
  if (o.values.has('rdev')) op.rdev = o.values.get('rdev') as number;
  return op;
}

function parseFromTo(c: Cursor, name: 'rename' | 'link'): OpOf<'rename' | 'link'> {
  const from = c.path('a source path');
  const to = c.path('a target path');
  c.done();
  return { op: name, from, to };
}

function parseWrite(c: Cursor): OpOf<'write'> {
  const ref = c.fileRef();
  const offset = c.num('an offset');
  const length = c.num('a length');
  const o = c.options([], { seed: 'num' });
  const op: Op = { op: 'write', ...ref, offset, length };
  if (o.values.has('seed')) op.seed = o.values.get('seed') as number;
  return op;
}

function parseRead(c: Cursor): OpOf<'read'> {
  const ref = c.fileRef();
  if (!c.peek() && ref.path !== undefined) return { op: 'read', path: ref.path };
  const offset = c.num('an offset');
  const length = c.num('a length');
  c.done();
  return { op: 'read', ...ref, offset, length };
}

function parseAlloc(c: Cursor, name: 'fallocate' | 'zero'): OpOf<'fallocate' | 'zero'> {
  const path = c.path();
  const offset = c.num('an offset');
  const length = c.num('a length');
  const o = c.options(['keep']);
  return { op: name, path, offset, length, keepSize: o.flags.has('keep') };
}

/** `punch`, `collapse` and `insert`: a path, an offset, a length. */
function pathRange(c: Cursor, name: 'punch' | 'collapse' | 'insert'): Op {
  const path = c.path();
  const offset = c.num('an offset');
  const length = c.num('a length');
  c.done();
  return { op: name, path, offset, length };
}

function parseClone(c: Cursor): OpOf<'clone'> {
  const src = c.path('a source path');
  const second = c.peek();
  if (second && second.text.startsWith('/')) {
    const dst = c.path('a target path');
    c.done();
    return { op: 'clone', src, dst };
  }
  const srcOffset = c.num('a source offset or a target path');
  const dst = c.path('a target path');
  const dstOffset = c.num('a target offset');
  const length = c.num('a length');
  c.done();
  return { op: 'clone', src, dst, range: { srcOffset, dstOffset, length } };
}

function parsePairRange(c: Cursor, name: 'copy' | 'dedupe'): OpOf<'copy' | 'dedupe'> {
  const src = c.path('a source path');
  const srcOffset = c.num('a source offset');
  const dst = c.path('a target path');
  const dstOffset = c.num('a target offset');
  const length = c.num('a length');
  c.done();
  return { op: name, src, srcOffset, dst, dstOffset, length };
}

function parseExchange(c: Cursor): OpOf<'exchange'> {
  const path1 = c.path('a first path');
  const offset1 = c.num('a first offset');
  const path2 = c.path('a second path');
  const offset2 = c.num('a second offset');
  const length = c.num('a length');
  c.done();
  return { op: 'exchange', path1, offset1, path2, offset2, length };
}

function parseSetflag(c: Cursor): OpOf<'setflag'> {
  const path = c.path();
  const flag = c.oneOf('a flag', ['nodatacow', 'dax-immutable'] as const);
  const o = c.options(flag === 'dax-immutable' ? ['nocap'] : []);
  return { op: 'setflag', path, flag, nocap: o.flags.has('nocap') };
}

function parseClearflag(c: Cursor): OpOf<'clearflag'> {
  const path = c.path();
  const flag = c.oneOf('a flag', ['dax-immutable'] as const);
  const o = c.options(['nocap']);
  return { op: 'clearflag', path, flag, nocap: o.flags.has('nocap') };
}

function parseMmap(c: Cursor): OpOf<'mmap'> {
  const mapName = c.name();
  const path = c.path();
  const offset = c.num('an offset');
  const length = c.num('a length');
  const prot = c.oneOf('a protection', ['rw', 'r'] as const);
  const o = c.options(['sync']);
  return { op: 'mmap', name: mapName, path, offset, length, prot, sync: o.flags.has('sync') };
}

function parseMstore(c: Cursor): OpOf<'mstore'> {
  const mapName = c.name();
  const offset = c.num('an offset');
  const length = c.num('a length');
  const o = c.options([], { seed: 'num' });
  const op: Op = { op: 'mstore', name: mapName, offset, length };
  if (o.values.has('seed')) op.seed = o.values.get('seed') as number;
  return op;
}

/** `mload`, `mflush` and `msync`: a mapping, an offset, a length. */
function mapRange(c: Cursor, name: 'mload' | 'mflush' | 'msync'): Op {
  const mapName = c.name();
  const offset = c.num('an offset');
  const length = c.num('a length');
  c.done();
  return { op: name, name: mapName, offset, length };
}

type LinkOrXattrName =
  'symlink' | 'readlink' | 'lstat' | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr';

/** A symlink or xattr statement (docs/workload.md section 2). */
function parseLinkOrXattr(c: Cursor, name: LinkOrXattrName): Op {
  if (name === 'symlink') {
    const target = c.next('a symlink target').text;
    const path = c.path('the link\'s path');
    c.done();
    return { op: 'symlink', target, path };
  }
  if (name === 'readlink' || name === 'lstat') {
    const path = c.path();
    c.done();
    return { op: name, path };
  }
  const ref = c.fileRef();
  const xattr = name === 'listxattr' ? '' : c.next('an xattr name').text;
  const length = name === 'setxattr' ? c.num('a value length') : 0;
  const o = name === 'setxattr'
    ? c.options(['create', 'replace', 'nofollow'], { seed: 'num' })
    : c.options(['nofollow'], {});
  const nofollow = o.flags.has('nofollow');
  if (nofollow && ref.fd !== undefined) c.error(`'nofollow' needs a path, not a descriptor`);
  if (o.flags.has('create') && o.flags.has('replace')) {
    c.error(`'create' and 'replace' exclude each other`);
  }
  if (name === 'listxattr') return { op: 'listxattr', ...ref, nofollow };
  if (name !== 'setxattr') return { op: name, ...ref, name: xattr, nofollow };
  const op: Op = { op: 'setxattr', ...ref, name: xattr, length, nofollow };
  if (o.values.has('seed')) op.seed = o.values.get('seed') as number;
  if (o.flags.has('create')) op.mode = 'create';
  if (o.flags.has('replace')) op.mode = 'replace';
  return op;
}


/** Parse one line; null for a blank line. `line` is used in error messages. */
export function parseLine(raw: string, line = 1): Stmt | null {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const { tokens, comment, end } = tokenize(text);
  if (tokens.length === 0) return comment === undefined ? null : { op: 'comment', text: comment };
  const c = new Cursor(tokens, line, end);
  let expect: ErrnoName | undefined;
  let keyword = c.next('an operation');
  if (keyword.text === 'expect') {
    const t = c.next('an errno name after expect');
    if (!Object.hasOwn(ERRNO, t.text)) {
      c.error(`unknown errno '${t.text}' (one of ${Object.keys(ERRNO).join(', ')})`, t);
    }
    expect = t.text as ErrnoName;
    keyword = c.next('an operation after the errno');
  }
  if (!(OP_NAMES as readonly string[]).includes(keyword.text)) {
    c.error(`unknown operation '${keyword.text}'`, keyword);
  }
  const op = parseOp(c, keyword) as Op & StmtCommon;
  if (expect !== undefined) op.expect = expect;
  if (comment !== undefined) op.comment = comment;
  return op;
}

/** Parse a script. Throws ParseError (line and column) at the first error. */
export function parse(text: string): Script {
  const stmts: Stmt[] = [];
  const lines: number[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const stmt = parseLine(rows[i]!, i + 1);
    if (!stmt) continue;
    stmts.push(stmt);
    lines.push(i + 1);
  }
  return { stmts, lines };
}
