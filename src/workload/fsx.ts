// Importer for fsx operation logs: the `.fsxops` files fsx writes on failure (or with
// --record-ops) and replays with --replay-ops. One operation per line:
//
//   [skip] NAME ARG0 ARG1 ARG2 [ARG3] [keep_size] [close_open] [unshare] [*]
//
// Arguments are C integers (strtoul base 0: decimal, 0x hex, leading-0 octal). Three
// arguments for most operations: offset, length, file size before the operation
// (truncate: 0, new size, old size); four for clone_range, dedupe_range, copy_range and
// exchange_range (fsx's op_args_count): source offset, length, destination offset, file
// size. `#` starts a comment line.
// fsx works on one file; the import works on `options.path` (default /fsx).
import type { Op, Script, Stmt } from './ast.js';
import { ParseError } from './parse.js';

export interface ImportIssue {
  line: number;
  /** The foreign operation (or flag) name. */
  op: string;
  /** The foreign line as written. */
  text: string;
  reason: string;
}

export interface ImportResult {
  script: Script;
  /** Operations with no equivalent: reported by name, never dropped silently. */
  unsupported: ImportIssue[];
  /** Operations or flags that have an equivalent only in part, and how they were mapped. */
  notes: ImportIssue[];
}

export interface FsxImportOptions {
  /** The file fsx exercised (default /fsx). */
  path?: string;
  /** Emit `create PATH` first (fsx opens its file with O_CREAT|O_TRUNC; default true). */
  create?: boolean;
}

/** fsx operation names and their argument counts (ltp/fsx.c op_names, op_args_count). */
export const FSX_OPS: Readonly<Record<string, number>> = {
  read: 3, read_dontcache: 3, write: 3, write_dontcache: 3, write_atomic: 3,
  mapread: 3, mapwrite: 3,
  truncate: 3, fallocate: 3, punch_hole: 3, zero_range: 3, collapse_range: 3, insert_range: 3,
  clone_range: 4, dedupe_range: 4, copy_range: 4, exchange_range: 4, fsync: 3,
};

/**
 * Operations pmcow's file system has no call for: none since the range operations
 * (docs/fs.md section 5).
 */
export const FSX_UNSUPPORTED: Readonly<Record<string, string>> = {};

/** fsx's range operations that skip (log as skipped) a zero length: ours do nothing then either. */
const RANGE_OPS = new Set([
  'collapse_range', 'insert_range', 'clone_range', 'dedupe_range', 'copy_range', 'exchange_range',
]);

const FLAGS = new Set(['keep_size', 'close_open', 'unshare', '*']);
const PAGE = 4096;

/** strtoul(str, &end, 0) that must consume the whole token. */
function cNumber(text: string): number | null {
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) v = parseInt(text.slice(1), 8);
  else if (/^[0-9]+$/.test(text)) v = parseInt(text, 10);
  else return null;
  return Number.isSafeInteger(v) ? v : null;
}

/**
 * fsx's collapse_range, insert_range, dedupe_range, copy_range and exchange_range (fsx.c's
 * do_*_range; a zero length is skipped there): the statements, and the file size after.
 * Arguments: offset, length, (destination offset,) file size.
 */
function rangeOp(name: string, path: string, args: number[], size: number, out: Op[]): number {
  const [offset, length, dest] = [args[0]!, args[1]!, args[2]!];
  if (!RANGE_OPS.has(name) || length === 0) return size;
  switch (name) {
    case 'collapse_range':
      out.push({ op: 'collapse', path, offset, length });
      return size - length;
    case 'insert_range':
      out.push({ op: 'insert', path, offset, length });
      return size + length;
    case 'dedupe_range':
      out.push({ op: 'dedupe', src: path, srcOffset: offset, dst: path, dstOffset: dest, length });
      return size;
    case 'copy_range': {
      // copy_file_range stops at the source's EOF: the file grows to the end of what it copied.
      out.push({ op: 'copy', src: path, srcOffset: offset, dst: path, dstOffset: dest, length });
      const copied = Math.min(length, Math.max(0, size - offset));
      return copied > 0 ? Math.max(size, dest + copied) : size;
    }
    default: // exchange_range, within fsx's one file: log5(OP_EXCHANGE_RANGE, offset, length, dest)
      out.push({
        op: 'exchange', path1: path, offset1: offset, path2: path, offset2: dest, length,
      });
      return size;
  }
}

export function importFsx(text: string, options: FsxImportOptions = {}): ImportResult {
  const imp = new FsxImport(options.path ?? '/fsx');
  if (options.create ?? true) imp.emit(0, { op: 'create', path: imp.path });
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) imp.importLine(rows[i]!.replace(/\r$/, ''), i + 1);
  const script = { stmts: imp.stmts, lines: imp.lines };
  return { script, unsupported: imp.unsupported, notes: imp.notes };
}

interface FsxToken { t: string; col: number }

/** One operation line of an fsx log, read: its name, numeric arguments and flags. */
interface FsxLine {
  line: number;
  name: string;
  args: number[];
  flags: Set<string>;
  /** The line as written, trimmed (what notes and comments quote). */
  trimmed: string;
}

/** The state of one import: the statements so far, and the file size fsx's log implies. */
class FsxImport {
  readonly stmts: Stmt[] = [];
  readonly lines: number[] = [];
  readonly unsupported: ImportIssue[] = [];
  readonly notes: ImportIssue[] = [];
  size = 0;
  /** Operations imported so far (skipped ones apart): the seed of what the next one writes. */
  opNo = 0;
  /** An unsupported operation came last: the file size may differ from fsx's. */
  desynced = false;

  constructor(readonly path: string) {}

  emit(line: number, ...ops: Stmt[]): void {
    for (const op of ops) { this.stmts.push(op); this.lines.push(line); }
  }

  note(at: FsxLine, op: string, reason: string): void {
    this.notes.push({ line: at.line, op, text: at.trimmed, reason });
  }

  importLine(raw: string, line: number): void {
    const tokens: FsxToken[] = [];
    for (const m of raw.matchAll(/[^ \t]+/g)) tokens.push({ t: m[0], col: m.index! + 1 });
    if (tokens.length === 0 || tokens[0]!.t.startsWith('#')) return;
    const skipped = tokens[0]!.t === 'skip';
    const k = skipped ? 1 : 0;
    const nameTok = tokens[k];
    if (!nameTok) {
      throw new ParseError("expected an operation name after 'skip'", line, raw.length + 1);
    }
    const name = nameTok.t;
    if (!Object.hasOwn(FSX_OPS, name)) { // (own keys: 'toString' is no fsx operation)
      this.unsupported.push({ line, op: name, text: raw.trim(), reason: 'not an fsx operation' });
      const text = `fsx line ${line}: unknown operation: ${raw.trim()}`;
      this.emit(line, { op: 'comment', text });
      return;
    }
    const at = readArguments(tokens, k + 1, name, line, raw);
    if (skipped) {
      this.emit(line, { op: 'comment', text: `fsx line ${line}: skipped by fsx: ${at.trimmed}` });
      return;
    }
    this.importOp(at);
  }

  private importOp(at: FsxLine): void {
    const { line, name, trimmed } = at;
    this.opNo++;
    if (at.flags.has('close_open')) {
      this.note(at, 'close_open', 'fsx closes and reopens its one file: nothing to do here, '
        + 'every imported call opens the path for itself');
    }
    const reason = FSX_UNSUPPORTED[name];
    if (reason) {
      this.unsupported.push({ line, op: name, text: trimmed, reason });
      this.emit(line, { op: 'comment', text: `fsx line ${line}: unsupported: ${trimmed}` });
      this.desynced = true;
      return;
    }
    this.checkSize(at);
    this.desynced = false;
    const out = this.translate(at);
    if (out.length === 0) {
      const text = `fsx line ${line}: zero-length, nothing to do: ${trimmed}`;
      this.emit(line, { op: 'comment', text });
    } else {
      this.emit(line, ...out);
    }
  }

  /**
   * Every operation but fsync records the file size before it. After an unsupported
   * operation the sizes part: a truncate to the recorded size brings them together.
   */
  private checkSize(at: FsxLine): void {
    const recorded = FSX_OPS[at.name] === 4 ? at.args[3]! : at.args[2]!;
    if (at.name === 'fsync' || recorded === this.size) return;
    if (this.desynced) {
      this.note(at, at.name, `file size ${this.size} after an unsupported operation, `
        + `fsx recorded ${recorded}: truncate inserted`);
      this.emit(at.line, {
        op: 'truncate', path: this.path, size: recorded,
        comment: 'resynchronise with the size fsx recorded',
      });
      this.size = recorded;
    } else {
      this.note(at, at.name, `file size ${this.size} differs from the ${recorded} fsx recorded`);
    }
  }

  /** The statements of one operation; the file size after it is kept in `size`. */
  private translate(at: FsxLine): Op[] {
    const { name, flags } = at;
    const path = this.path;
    const [a0, a1, a2] = [at.args[0]!, at.args[1]!, at.args[2]!];
    const out: Op[] = [];
    switch (name) {
      case 'read': case 'read_dontcache':
        if (name !== 'read') this.note(at, name, 'mapped to read (no page cache)');
        out.push({ op: 'read', path, offset: a0, length: a1 });
        break;
      case 'write': case 'write_dontcache': case 'write_atomic':
        if (name !== 'write') {
          this.note(at, name, 'mapped to write (no page cache; every write is atomic at commit)');
        }
        out.push({ op: 'write', path, offset: a0, length: a1, seed: this.opNo });
        this.size = Math.max(this.size, a0 + a1);
        break;
      case 'mapread': case 'mapwrite':
        if (a1 !== 0) this.mapOps(name, a0, a1, out);
        break;
      case 'truncate':
        out.push({ op: 'truncate', path, size: a1 });
        this.size = a1;
        break;
      case 'fallocate':
        if (a1 === 0) break;
        if (flags.has('unshare')) {
          this.note(at, 'unshare', 'FALLOC_FL_UNSHARE_RANGE mapped to a plain fallocate '
            + '(shared extents stay shared; contents are the same)');
        }
        out.push({
          op: 'fallocate', path, offset: a0, length: a1, keepSize: flags.has('keep_size'),
        });
        if (!flags.has('keep_size')) this.size = Math.max(this.size, a0 + a1);
        break;
      case 'punch_hole':
        out.push({ op: 'punch', path, offset: a0, length: a1 });
        break;
      case 'zero_range':
        out.push({ op: 'zero', path, offset: a0, length: a1, keepSize: flags.has('keep_size') });
        if (!flags.has('keep_size')) this.size = Math.max(this.size, a0 + a1);
        break;
      case 'clone_range':
        if (a1 === 0) break;
        out.push({
          op: 'clone', src: path, dst: path, range: { srcOffset: a0, dstOffset: a2, length: a1 },
        });
        this.size = Math.max(this.size, a2 + a1);
        break;
      case 'fsync':
        out.push({ op: 'fsync', path });
        break;
      default:
        this.size = rangeOp(name, path, at.args, this.size, out);
        break;
    }
    return out;
  }

  /** mapread and mapwrite: a mapping from the page `offset` lies in, for `length` bytes. */
  private mapOps(name: 'mapread' | 'mapwrite', offset: number, length: number, out: Op[]): void {
    const path = this.path;
    const pg = offset - (offset % PAGE);
    const map = {
      op: 'mmap', name: 'fsx', path, offset: pg, length: offset - pg + length,
    } as const;
    if (name === 'mapread') {
      out.push({ ...map, prot: 'r', sync: false },
        { op: 'mload', name: 'fsx', offset: offset - pg, length }, { op: 'munmap', name: 'fsx' });
      return;
    }
    if (offset + length > this.size) {
      out.push({ op: 'truncate', path, size: offset + length });
      this.size = offset + length;
    }
    out.push({ ...map, prot: 'rw', sync: false },
      { op: 'mstore', name: 'fsx', offset: offset - pg, length, seed: this.opNo },
      { op: 'msync', name: 'fsx', offset: offset - pg, length }, { op: 'munmap', name: 'fsx' });
  }
}

/** The numeric arguments and the flags from token `first` on (after the name), checked. */
function readArguments(
  tokens: FsxToken[], first: number, name: string, line: number, raw: string,
): FsxLine {
  const nargs = FSX_OPS[name]!;
  const args: number[] = [];
  for (let a = 0; a < nargs; a++) {
    const tok = tokens[first + a];
    if (!tok) {
      throw new ParseError(`${name}: expected ${nargs} numeric arguments, got ${a}`,
        line, raw.trimEnd().length + 1);
    }
    const v = cNumber(tok.t);
    if (v === null) {
      throw new ParseError(`${name}: '${tok.t}' is not a number (decimal or 0x hex)`,
        line, tok.col);
    }
    args.push(v);
  }
  const flags = new Set<string>();
  for (const tok of tokens.slice(first + nargs)) {
    if (!FLAGS.has(tok.t)) {
      throw new ParseError(`${name}: unknown flag '${tok.t}' (keep_size, close_open, unshare or *)`,
        line, tok.col);
    }
    flags.add(tok.t);
  }
  return { line, name, args, flags, trimmed: raw.trim() };
}
