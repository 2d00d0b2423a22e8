// Importer for CrashMonkey/ACE j-lang workloads (ace/ace.py writes them, ace/cmAdapter.py
// turns them into CrashMonkey tests). A j-lang file has sections opened by `# NAME`:
//
//   # define    one path per line, relative to the mount point ('test' is the mount point);
//               operations name a path by its text without slashes ('A/foo' is 'Afoo')
//   # declare   C variables of the generated test (ignored)
//   # setup     operations run before recording starts (their state is durable: the
//               import commits at the end of the setup)
//   # run       the recorded workload; `checkpoint N` marks a crash point
//
// Operations: `mkdir X MODE`, `open X FLAGS MODE`, `opendir X MODE`, `close X`,
// `write X OFF LEN`, `dwrite X OFF LEN`, `mmapwrite X OFF LEN`, `falloc X MODE OFF LEN`,
// `truncate X LEN`, `link X Y`, `symlink X Y`, `rename X Y`, `unlink X`, `remove X`,
// `rmdir X`, `fsync X`, `fdatasync X`, `sync`, `checkpoint N`, `fsetxattr X`,
// `removexattr X`, `mknod X MODE DEV`, `none`.
//
// Descriptors: cmAdapter.py turns `open X` into `fd_X = open(X_path)` and every later
// call on X that takes a descriptor (write, fsync, fdatasync, fallocate, mmap, close) into
// a call on fd_X, which keeps naming the inode after a rename of X or of its directory.
// The import does the same: `open X` becomes `open X PATH` (a descriptor named X), and
// write, fsync, fdatasync and close of X go through it; fallocate and mmapwrite, which
// have no descriptor form in the workload language, go to the path the descriptor's inode
// has now (followed through renames). Calls that cmAdapter.py makes by path (truncate,
// link, rename, unlink, remove, rmdir, mkdir) stay by path.
import type { Op, SpecialFileKind, Stmt } from './ast.js';
import { ParseError } from './parse.js';
import type { ImportIssue, ImportResult } from './fsx.js';

export interface AceImportOptions {
  /** Where the mount point ('test') is in the imported file system (default '/'). */
  root?: string;
}

/**
 * j-lang operations with no equivalent in pmcow, and why. Adding one is a case in
 * HANDLERS and its removal from here.
 */
export const ACE_UNSUPPORTED: Readonly<Record<string, string>> = {};

/**
 * mknod mode words (cmAdapter.py passes ace.py's `TEST_FILE_PERMS|S_IFCHR|S_IFBLK` to
 * mknod(2) as written).
 */
const MODE_WORDS: Readonly<Record<string, number>> = {
  S_IFCHR: 0o020000, S_IFBLK: 0o060000, S_IFIFO: 0o010000, S_IFSOCK: 0o140000, S_IFREG: 0o100000,
  TEST_FILE_PERMS: 0o644,
};

/**
 * cmAdapter.py's attribute: fsetxattr(fd_X, "user.xattr1", "val1 ", 4, 0),
 * removexattr(X_path, "user.xattr1").
 */
export const ACE_XATTR_NAME = 'user.xattr1';
const ACE_XATTR_BYTES = 4;

const SECTIONS = new Set(['define', 'declare', 'setup', 'run', 'check']);
const DESCRIPTOR_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function decimal(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (!/^[0-9]+$/.test(text)) return null;
  const v = parseInt(text, 10);
  return Number.isSafeInteger(v) ? v : null;
}

interface Token { t: string; col: number }

/** One j-lang operation line being imported. */
interface Line {
  line: number;
  raw: string;
  text: string;
  op: string;
  tokens: Token[];
}

/** The state of an import: names, directories, open descriptors, the statements so far. */
class AceImport {
  readonly stmts: Stmt[] = [];
  readonly lines: number[] = [];
  readonly unsupported: ImportIssue[] = [];
  readonly notes: ImportIssue[] = [];
  /** j-lang names to paths (the define section, and names met later). */
  readonly names = new Map<string, string>();
  readonly dirs = new Set<string>();
  /** Open file descriptors: j-lang name -> the path their inode has now (null: unlinked). */
  readonly files = new Map<string, string | null>();
  /** Open directories (opendir): j-lang name -> the path the directory has now (null: removed). */
  readonly openDirs = new Map<string, string | null>();
  checkpoints = 0;

  constructor(readonly root: string) {
    this.names.set('test', root || '/');
    this.dirs.add(root || '/');
  }

  emit(line: number, ...ops: Stmt[]): void {
    for (const op of ops) { this.stmts.push(op); this.lines.push(line); }
  }

  note(l: Line, reason: string): void {
    this.notes.push({ line: l.line, op: l.op, text: l.text, reason });
  }

  arg(l: Line, n: number, what: string): Token {
    const tok = l.tokens[n];
    if (!tok) throw new ParseError(`${l.op}: expected ${what}`, l.line, l.raw.trimEnd().length + 1);
    return tok;
  }

  /**
   * The path of the j-lang name in argument n (a name outside the define section is taken
   * under the root).
   */
  path(l: Line, n: number): string {
    const tok = this.arg(l, n, 'a file or directory name');
    const known = this.names.get(tok.t);
    if (known !== undefined) return known;
    this.note(l, `'${tok.t}' is not in the define section: taken as ${this.root}/${tok.t}`);
    const p = `${this.root}/${tok.t}`;
    this.names.set(tok.t, p);
    return p;
  }

  num(l: Line, n: number, what: string): number {
    const tok = this.arg(l, n, what);
    const v = decimal(tok.t);
    if (v === null) {
      throw new ParseError(`${l.op}: expected ${what}, got '${tok.t}'`, l.line, tok.col);
    }
    return v;
  }

  /** The workload-language name of the descriptor of j-lang name `id`. */
  static fdName(id: string): string {
    return DESCRIPTOR_NAME.test(id) ? id : `fd_${id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  }

  /** The j-lang name in argument 1 and its descriptor, if `open` bound one. */
  descriptor(l: Line): { id: string; fd: string | null } {
    const id = this.arg(l, 1, 'a file name').t;
    return { id, fd: this.files.has(id) ? AceImport.fdName(id) : null };
  }

  /** Where the inode of X's descriptor is now, else X's path (ENOENT at run time if gone). */
  currentPath(l: Line): string {
    const id = this.arg(l, 1, 'a file name').t;
    const now = this.files.has(id) ? this.files.get(id) : this.openDirs.get(id);
    if (now) return now;
    if (now === null) {
      this.note(l, `${id} was unlinked while open: ${l.op} has no descriptor form here, `
        + 'so it goes to the path');
    }
    return this.path(l, 1);
  }

  /** A rename moves every open descriptor's path at or below `from`; one at `to` is replaced. */
  renamed(from: string, to: string): void {
    for (const map of [this.files, this.openDirs]) {
      for (const [id, p] of map) {
        if (p === to) map.set(id, null);
        if (p === from) map.set(id, to);
        else if (p !== null && p.startsWith(`${from}/`)) map.set(id, to + p.slice(from.length));
      }
    }
    if (this.dirs.delete(from)) this.dirs.add(to);
  }

  removed(p: string): void {
    for (const map of [this.files, this.openDirs]) {
      for (const [id, q] of map) if (q === p) map.set(id, null);
    }
    this.dirs.delete(p);
  }
}

type Handler = (im: AceImport, l: Line, out: Stmt[]) => void;

/** One case per j-lang operation. */
const HANDLERS: Record<string, Handler> = {
  mkdir(im, l, out) {
    const p = im.path(l, 1);
    im.dirs.add(p);
    out.push({ op: 'mkdir', path: p });
  },
  open(im, l, out) {
    const p = im.path(l, 1);
    const { id, fd } = im.descriptor(l);
    if (im.dirs.has(p)) return HANDLERS.opendir!(im, l, out);
    if (fd) {
      im.note(l, `${id} is open already: its descriptor is closed first `
        + `(the generated C++ overwrites fd_${id}, leaking it)`);
      out.push({ op: 'close', fd });
    }
    const flags = (l.tokens[2]?.t ?? '').split('|');
    out.push({
      op: 'open', fd: AceImport.fdName(id), path: p,
      create: flags.includes('O_CREAT'), truncate: flags.includes('O_TRUNC'),
    });
    im.files.set(id, p);
  },
  opendir(im, l, out) {
    const p = im.path(l, 1);
    im.note(l, 'no directory descriptors: opendir checks that the directory exists (stat); '
      + 'fsync through it is an fsync of the path the directory has then');
    out.push({ op: 'stat', path: p });
    im.openDirs.set(l.tokens[1]!.t, p);
  },
  close(im, l, out) {
    const { id, fd } = im.descriptor(l);
    if (fd) { out.push({ op: 'close', fd }); im.files.delete(id); return; }
    if (im.openDirs.delete(id)) {
      const text = `ace line ${l.line}: ${l.text} (a directory: no descriptor)`;
      out.push({ op: 'comment', text });
      return;
    }
    im.path(l, 1);
    im.note(l, `${id} is not open: close is a no-op`);
    out.push({ op: 'comment', text: `ace line ${l.line}: ${l.text} (not open)` });
  },
  write(im, l, out) {
    const { fd } = im.descriptor(l);
    const offset = im.num(l, 2, 'an offset');
    const length = im.num(l, 3, 'a length');
    if (fd) { out.push({ op: 'write', fd, offset, length, seed: l.line }); return; }
    im.note(l, 'write without an open descriptor: by path');
    out.push({ op: 'write', path: im.path(l, 1), offset, length, seed: l.line });
  },
  dwrite(im, l, out) {
    // cmAdapter.py: close fd_X, open X_path with O_RDWR|O_DIRECT|O_SYNC, pwrite, close. O_SYNC
    // makes the write durable before it returns: a write and an fsync of the path.
    const { id, fd } = im.descriptor(l);
    const p = im.path(l, 1);
    im.note(l, 'O_DIRECT|O_SYNC write through a new descriptor on the path (as cmAdapter.py): '
      + 'write and fsync by path; the old descriptor is closed');
    if (fd) { out.push({ op: 'close', fd }); im.files.delete(id); }
    const offset = im.num(l, 2, 'an offset');
    const length = im.num(l, 3, 'a length');
    out.push({ op: 'write', path: p, offset, length, seed: l.line }, { op: 'fsync', path: p });
  },
  mmapwrite(im, l, out) {
    const p = im.currentPath(l);
    const off = im.num(l, 2, 'an offset');
    const len = im.num(l, 3, 'a length');
    im.note(l, 'fallocate, mmap from offset 0, store, msync of up to 8192 bytes, munmap '
      + '(as cmAdapter.py does)');
    out.push({ op: 'fallocate', path: p, offset: off, length: len, keepSize: false },
      { op: 'mmap', name: 'ace', path: p, offset: 0, length: off + len, prot: 'rw', sync: false },
      { op: 'mstore', name: 'ace', offset: off, length: len, seed: l.line },
      { op: 'msync', name: 'ace', offset: off, length: Math.min(8192, len) },
      { op: 'munmap', name: 'ace' });
  },
  falloc(im, l, out) {
    const p = im.currentPath(l);
    if (l.tokens.length < 5) im.arg(l, 4, 'MODE OFFSET LENGTH');
    const off = im.num(l, l.tokens.length - 2, 'an offset');
    const len = im.num(l, l.tokens.length - 1, 'a length');
    const modeText = l.tokens.slice(2, -2).map((t) => t.t).join('');
    const op = fallocOp(im, l, modeText, p, off, len);
    if (op) { out.push(op); return; }
    const reason = `fallocate mode ${modeText} has no equivalent`;
    im.unsupported.push({ line: l.line, op: `falloc ${modeText}`, text: l.text, reason });
    out.push({ op: 'comment', text: `ace line ${l.line}: unsupported: ${l.text}` });
  },
  truncate(im, l, out) {
    out.push({ op: 'truncate', path: im.path(l, 1), size: im.num(l, 2, 'a length') });
  },
  link(im, l, out) {
    out.push({ op: 'link', from: im.path(l, 1), to: im.path(l, 2) });
  },
  rename(im, l, out) {
    const from = im.path(l, 1);
    const to = im.path(l, 2);
    im.renamed(from, to);
    out.push({ op: 'rename', from, to });
  },
  unlink(im, l, out) {
    const p = im.path(l, 1);
    im.removed(p);
    out.push({ op: 'unlink', path: p });
  },
  remove(im, l, out) {
    const p = im.path(l, 1);
    out.push(im.dirs.has(p) ? { op: 'rmdir', path: p } : { op: 'unlink', path: p });
    im.removed(p);
  },
  rmdir(im, l, out) {
    const p = im.path(l, 1);
    im.removed(p);
    out.push({ op: 'rmdir', path: p });
  },
  mknod(im, l, out) {
    // The words OR together as C does: S_IFCHR|S_IFBLK is S_IFBLK's bits, a block device.
    const p = im.path(l, 1);
    let mode = 0;
    for (const w of (l.tokens[2]?.t ?? '').split('|')) mode |= MODE_WORDS[w] ?? decimal(w) ?? 0;
    const kinds: Record<number, SpecialFileKind> = {
      0o020000: 'chardev', 0o060000: 'blockdev', 0o010000: 'fifo', 0o140000: 'socket',
    };
    const kind = kinds[mode & 0o170000];
    if (!kind) {
      out.push({ op: 'create', path: p });
      im.note(l, 'mknod of a regular file: create');
      return;
    }
    const rdev = decimal(l.tokens[3]?.t ?? '0') ?? 0;
    out.push(rdev ? { op: 'mknod', path: p, kind, rdev } : { op: 'mknod', path: p, kind });
  },
  symlink(im, l, out) {
    // cmAdapter.py: symlink(X_path, Y_path): the target is X's absolute path.
    out.push({ op: 'symlink', target: im.path(l, 1), path: im.path(l, 2) });
  },
  fsetxattr(im, l, out) {
    const { fd } = im.descriptor(l);
    const value = { name: ACE_XATTR_NAME, length: ACE_XATTR_BYTES, seed: l.line, nofollow: false };
    if (fd) { out.push({ op: 'setxattr', fd, ...value }); return; }
    im.note(l, 'fsetxattr without an open descriptor: by path');
    out.push({ op: 'setxattr', path: im.currentPath(l), ...value });
  },
  removexattr(im, l, out) {
    out.push({ op: 'removexattr', path: im.path(l, 1), name: ACE_XATTR_NAME, nofollow: false });
  },
  fsync: sync('fsync'),
  fdatasync: sync('fdatasync'),
  sync(_im, _l, out) {
    out.push({ op: 'commit' });
  },
  checkpoint(im, l, out) {
    im.checkpoints++;
    const comment = `ace checkpoint ${l.tokens[1]?.t ?? ''}`.trimEnd();
    out.push({ op: 'checkpoint', id: im.checkpoints, comment });
  },
  none(_im, l, out) {
    out.push({ op: 'comment', text: `ace line ${l.line}: none` });
  },
};

/** fsync X and fdatasync X: through X's descriptor; an open directory by the path it has now. */
function sync(op: 'fsync' | 'fdatasync'): Handler {
  return (im, l, out) => {
    const { id, fd } = im.descriptor(l);
    if (fd) { out.push({ op, fd }); return; }
    if (im.openDirs.has(id)) {
      const p = im.openDirs.get(id);
      if (p) { out.push({ op, path: p }); return; }
      im.note(l, `directory ${id} was removed while open: its fsync is a commit`);
      out.push({ op: 'commit' });
      return;
    }
    im.note(l, `${op} of ${id} without an open descriptor: by path`);
    out.push({ op, path: im.path(l, 1) });
  };
}

function fallocOp(
  im: AceImport, l: Line, modeText: string, p: string, off: number, len: number,
): Op | null {
  const mode = new Set(modeText.split('|').filter((f) => f !== '' && f !== '0'));
  const keep = mode.delete('FALLOC_FL_KEEP_SIZE');
  if (mode.size === 0) {
    return { op: 'fallocate', path: p, offset: off, length: len, keepSize: keep };
  }
  if (mode.size === 1 && mode.has('FALLOC_FL_ZERO_RANGE')) {
    return { op: 'zero', path: p, offset: off, length: len, keepSize: keep };
  }
  if (mode.size === 1 && mode.has('FALLOC_FL_PUNCH_HOLE')) {
    if (!keep) {
      im.note(l, 'FALLOC_FL_PUNCH_HOLE needs FALLOC_FL_KEEP_SIZE (EINVAL on Linux); '
        + 'imported as a punch');
    }
    return { op: 'punch', path: p, offset: off, length: len };
  }
  return null;
}

/** A section header (`# run`) or a comment line. */
function headerLine(
  im: AceImport, line: number, trimmed: string, section: string | null, setupOps: number,
): string | null {
  const word = trimmed.slice(1).trim().split(/\s+/).pop() ?? '';
  if (!SECTIONS.has(word)) {
    im.emit(line, { op: 'comment', text: `ace: ${trimmed.slice(1).trim()}` });
    return section;
  }
  if (section === 'setup' && word !== 'setup' && setupOps > 0) {
    im.emit(line, { op: 'commit', comment: 'end of the ACE setup: its state is durable' });
  }
  im.emit(line, { op: 'comment', text: `ace # ${word}` });
  return word;
}

export function importAce(text: string, options: AceImportOptions = {}): ImportResult {
  const im = new AceImport((options.root ?? '/').replace(/\/+$/, ''));
  let section: string | null = null;
  let setupOps = 0;
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const line = i + 1;
    const raw = rows[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      section = headerLine(im, line, trimmed, section, setupOps);
      continue;
    }
    if (section === null) {
      const sections = '# define, # declare, # setup or # run';
      throw new ParseError(`'${trimmed}' is outside a section (${sections})`,
        line, raw.indexOf(trimmed) + 1);
    }
    if (section === 'declare') continue;
    if (section === 'define') {
      const p = trimmed.replace(/^\/+|\/+$/g, '');
      im.names.set(p.replace(/\//g, ''), p === 'test' ? (im.root || '/') : `${im.root}/${p}`);
      continue;
    }
    const tokens: Token[] = [];
    for (const m of raw.matchAll(/[^\s]+/g)) tokens.push({ t: m[0], col: m.index! + 1 });
    const l: Line = { line, raw, text: trimmed, op: tokens[0]!.t, tokens };
    if (section === 'check') { im.note(l, 'the check section is not imported'); continue; }
    if (section === 'setup') setupOps++;
    const reason = ACE_UNSUPPORTED[l.op];
    const handler = Object.hasOwn(HANDLERS, l.op) ? HANDLERS[l.op] : undefined;
    if (reason || !handler) {
      const why = reason ?? 'not a j-lang operation';
      im.unsupported.push({ line, op: l.op, text: trimmed, reason: why });
      const what = reason ? 'unsupported' : 'unknown operation';
      im.emit(line, { op: 'comment', text: `ace line ${line}: ${what}: ${trimmed}` });
      continue;
    }
    const out: Stmt[] = [];
    handler(im, l, out);
    im.emit(line, ...out);
  }
  const script = { stmts: im.stmts, lines: im.lines };
  return { script, unsupported: im.unsupported, notes: im.notes };
}
