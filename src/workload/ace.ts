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
import type { Op, Stmt } from './ast.js';
import { ParseError } from './parse.js';
import type { ImportIssue, ImportResult } from './fsx.js';

export interface AceImportOptions {
  /** Where the mount point ('test') is in the imported file system (default '/'). */
  root?: string;
}

/** j-lang operations with no equivalent in pmcow, and why. */
export const ACE_UNSUPPORTED: Readonly<Record<string, string>> = {
  symlink: 'no symbolic links in the file system API',
  mknod: 'no special files in the file system API',
  fsetxattr: 'no extended attributes in the file system API',
  removexattr: 'no extended attributes in the file system API',
};

const SECTIONS = new Set(['define', 'declare', 'setup', 'run', 'check']);

function decimal(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (!/^[0-9]+$/.test(text)) return null;
  const v = parseInt(text, 10);
  return Number.isSafeInteger(v) ? v : null;
}

export function importAce(text: string, options: AceImportOptions = {}): ImportResult {
  const root = (options.root ?? '/').replace(/\/+$/, '');
  const stmts: Stmt[] = [];
  const lines: number[] = [];
  const unsupported: ImportIssue[] = [];
  const notes: ImportIssue[] = [];
  const names = new Map<string, string>([['test', root || '/']]);
  const dirs = new Set<string>([root || '/']);
  let section: string | null = null;
  let setupOps = 0;
  let checkpoints = 0;
  const emit = (line: number, ...ops: Stmt[]): void => {
    for (const op of ops) { stmts.push(op); lines.push(line); }
  };

  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const line = i + 1;
    const raw = rows[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const word = trimmed.slice(1).trim().split(/\s+/).pop() ?? '';
      if (SECTIONS.has(word)) {
        if (section === 'setup' && word !== 'setup' && setupOps > 0) emit(line, { op: 'commit', comment: 'end of the ACE setup: its state is durable' });
        section = word;
        emit(line, { op: 'comment', text: `ace # ${word}` });
      } else {
        emit(line, { op: 'comment', text: `ace: ${trimmed.slice(1).trim()}` });
      }
      continue;
    }
    if (section === null) throw new ParseError(`'${trimmed}' is outside a section (# define, # declare, # setup or # run)`, line, raw.indexOf(trimmed) + 1);
    if (section === 'declare') continue;
    if (section === 'define') {
      const p = trimmed.replace(/^\/+|\/+$/g, '');
      const id = p.replace(/\//g, '');
      names.set(id, p === 'test' ? (root || '/') : `${root}/${p}`);
      continue;
    }
    if (section === 'check') {
      notes.push({ line, op: trimmed.split(/\s+/)[0]!, text: trimmed, reason: 'the check section is not imported' });
      continue;
    }

    const tokens: Array<{ t: string; col: number }> = [];
    for (const m of raw.matchAll(/[^\s]+/g)) tokens.push({ t: m[0], col: m.index! + 1 });
    const opName = tokens[0]!.t;
    const arg = (n: number, what: string): { t: string; col: number } => {
      const tok = tokens[n];
      if (!tok) throw new ParseError(`${opName}: expected ${what}`, line, raw.trimEnd().length + 1);
      return tok;
    };
    const path = (n: number): string => {
      const tok = arg(n, 'a file or directory name');
      const known = names.get(tok.t);
      if (known !== undefined) return known;
      notes.push({ line, op: opName, text: trimmed, reason: `'${tok.t}' is not in the define section: taken as ${root}/${tok.t}` });
      const p = `${root}/${tok.t}`;
      names.set(tok.t, p);
      return p;
    };
    const num = (n: number, what: string): number => {
      const tok = arg(n, what);
      const v = decimal(tok.t);
      if (v === null) throw new ParseError(`${opName}: expected ${what}, got '${tok.t}'`, line, tok.col);
      return v;
    };
    const note = (reason: string): void => { notes.push({ line, op: opName, text: trimmed, reason }); };
    if (section === 'setup') setupOps++;

    const out: Stmt[] = [];
    const reason = ACE_UNSUPPORTED[opName];
    if (reason) {
      unsupported.push({ line, op: opName, text: trimmed, reason });
      emit(line, { op: 'comment', text: `ace line ${line}: unsupported: ${trimmed}` });
      continue;
    }
    switch (opName) {
      case 'mkdir': {
        const p = path(1);
        dirs.add(p);
        out.push({ op: 'mkdir', path: p });
        break;
      }
      case 'open': {
        const p = path(1);
        const flags = (tokens[2]?.t ?? '').split('|');
        out.push({ op: 'open', path: p, create: flags.includes('O_CREAT'), truncate: flags.includes('O_TRUNC') });
        break;
      }
      case 'opendir':
        note('no directory descriptors: opendir checks that the directory exists (stat)');
        out.push({ op: 'stat', path: path(1) });
        break;
      case 'close':
        path(1);
        note('no descriptors in the workload language: close is a no-op');
        out.push({ op: 'comment', text: `ace line ${line}: ${trimmed} (no descriptors)` });
        break;
      case 'write': case 'dwrite': {
        const p = path(1);
        out.push({ op: 'write', path: p, offset: num(2, 'an offset'), length: num(3, 'a length'), seed: line });
        if (opName === 'dwrite') {
          note('O_DIRECT|O_SYNC write: a write followed by an fsync');
          out.push({ op: 'fsync', path: p });
        }
        break;
      }
      case 'mmapwrite': {
        const p = path(1);
        const off = num(2, 'an offset');
        const len = num(3, 'a length');
        note('fallocate, mmap from offset 0, store, msync of up to 8192 bytes, munmap (as cmAdapter.py does)');
        out.push({ op: 'fallocate', path: p, offset: off, length: len, keepSize: false },
          { op: 'mmap', name: 'ace', path: p, offset: 0, length: off + len, prot: 'rw', sync: false },
          { op: 'mstore', name: 'ace', offset: off, length: len, seed: line },
          { op: 'msync', name: 'ace', offset: off, length: Math.min(8192, len) },
          { op: 'munmap', name: 'ace' });
        break;
      }
      case 'falloc': {
        const p = path(1);
        if (tokens.length < 5) arg(4, 'MODE OFFSET LENGTH');
        const off = num(tokens.length - 2, 'an offset');
        const len = num(tokens.length - 1, 'a length');
        const modeText = tokens.slice(2, -2).map((t) => t.t).join('');
        const mode = new Set(modeText.split('|').filter((f) => f !== '' && f !== '0'));
        const keep = mode.delete('FALLOC_FL_KEEP_SIZE');
        let op: Op | null = null;
        if (mode.size === 0) op = { op: 'fallocate', path: p, offset: off, length: len, keepSize: keep };
        else if (mode.size === 1 && mode.has('FALLOC_FL_ZERO_RANGE')) op = { op: 'zero', path: p, offset: off, length: len, keepSize: keep };
        else if (mode.size === 1 && mode.has('FALLOC_FL_PUNCH_HOLE')) {
          if (!keep) note('FALLOC_FL_PUNCH_HOLE needs FALLOC_FL_KEEP_SIZE (EINVAL on Linux); imported as a punch');
          op = { op: 'punch', path: p, offset: off, length: len };
        }
        if (!op) {
          unsupported.push({ line, op: `falloc ${modeText}`, text: trimmed, reason: `fallocate mode ${modeText} has no equivalent` });
          out.push({ op: 'comment', text: `ace line ${line}: unsupported: ${trimmed}` });
        } else {
          out.push(op);
        }
        break;
      }
      case 'truncate':
        out.push({ op: 'truncate', path: path(1), size: num(2, 'a length') });
        break;
      case 'link':
        out.push({ op: 'link', from: path(1), to: path(2) });
        break;
      case 'rename': {
        const from = path(1);
        const to = path(2);
        if (dirs.delete(from)) dirs.add(to);
        out.push({ op: 'rename', from, to });
        break;
      }
      case 'unlink':
        out.push({ op: 'unlink', path: path(1) });
        break;
      case 'remove': {
        const p = path(1);
        out.push(dirs.has(p) ? { op: 'rmdir', path: p } : { op: 'unlink', path: p });
        break;
      }
      case 'rmdir': {
        const p = path(1);
        dirs.delete(p);
        out.push({ op: 'rmdir', path: p });
        break;
      }
      case 'fsync': case 'fdatasync':
        if (opName === 'fdatasync') note('fdatasync is an fsync (a commit makes data and metadata durable together)');
        out.push({ op: 'fsync', path: path(1) });
        break;
      case 'sync':
        out.push({ op: 'commit' });
        break;
      case 'checkpoint':
        checkpoints++;
        out.push({ op: 'checkpoint', id: checkpoints, comment: `ace checkpoint ${tokens[1]?.t ?? ''}`.trimEnd() });
        break;
      case 'none':
        out.push({ op: 'comment', text: `ace line ${line}: none` });
        break;
      default:
        unsupported.push({ line, op: opName, text: trimmed, reason: 'not a j-lang operation' });
        out.push({ op: 'comment', text: `ace line ${line}: unknown operation: ${trimmed}` });
    }
    emit(line, ...out);
  }
  return { script: { stmts, lines }, unsupported, notes };
}
