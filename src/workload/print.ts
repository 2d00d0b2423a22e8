// The workload language's printer: the canonical text of a statement or a script.
// parse(print(script)).stmts equals script.stmts; print(parse(text)) is text in canonical
// form (decimal numbers, single spaces, no blank lines, `crash` for a strict crash).
import type { FileRef, Op, OpName, Script, Stmt, StmtCommon } from './ast.js';

/** A path, or a descriptor's name. */
function refText(ref: FileRef): string {
  return ref.path ?? ref.fd;
}

/** ` seed N`, or nothing when the statement gives no seed. */
function seedText(seed: number | undefined): string {
  return seed !== undefined ? ` seed ${seed}` : '';
}

type OpOf<K extends OpName> = Extract<Op, { op: K }>;

/** The printer of each operation: its keyword and arguments, canonical. */
const OP_TEXT: { [K in OpName]: (op: OpOf<K>) => string } = {
  mkfs: mkfsText,
  mount: (op) => op.op, unmount: (op) => op.op, check: (op) => op.op, scrub: (op) => op.op,
  commit: (op) => op.op, freeze: (op) => op.op, thaw: (op) => op.op, fence: (op) => op.op,
  policy: (op) => `policy ${op.name}=${op.value ? 'on' : 'off'}`,
  crash: (op) => (op.mode === 'strict' ? 'crash' : `crash random ${op.seed ?? 0}`),
  checkpoint: (op) => `checkpoint ${op.id}`,
  mkdir: pathText, create: pathText, unlink: pathText, rmdir: pathText, stat: pathText,
  readdir: pathText, mksubvol: pathText, rmsubvol: pathText, readlink: pathText, lstat: pathText,
  fsync: (op) => `${op.op} ${refText(op)}`, fdatasync: (op) => `${op.op} ${refText(op)}`,
  open: (op) => ['open', op.fd ?? '', op.path, op.create ? 'creat' : '', op.truncate ? 'trunc' : '']
    .filter(Boolean).join(' '),
  close: (op) => `close ${op.fd}`,
  rename: (op) => `${op.op} ${op.from} ${op.to}`, link: (op) => `${op.op} ${op.from} ${op.to}`,
  symlink: (op) => `symlink ${op.target} ${op.path}`,
  mknod: (op) => `mknod ${op.path} ${op.kind}${op.rdev !== undefined ? ` rdev ${op.rdev}` : ''}`,
  setxattr: setxattrText,
  getxattr: (op) => `${op.op} ${refText(op)} ${op.name}${op.nofollow ? ' nofollow' : ''}`,
  removexattr: (op) => `${op.op} ${refText(op)} ${op.name}${op.nofollow ? ' nofollow' : ''}`,
  listxattr: (op) => `listxattr ${refText(op)}${op.nofollow ? ' nofollow' : ''}`,
  write: (op) => `write ${refText(op)} ${op.offset} ${op.length}${seedText(op.seed)}`,
  read: (op) => (op.offset === undefined
    ? `read ${refText(op)}`
    : `read ${refText(op)} ${op.offset} ${op.length ?? 0}`),
  truncate: (op) => `truncate ${op.path} ${op.size}`,
  fallocate: allocText, zero: allocText,
  punch: (op) => `punch ${op.path} ${op.offset} ${op.length}`,
  clone: cloneText,
  copy: pairText, dedupe: pairText,
  exchange: (op) => `exchange ${op.path1} ${op.offset1} ${op.path2} ${op.offset2} ${op.length}`,
  collapse: shiftText, insert: shiftText,
  snapshot: (op) => `snapshot ${op.src} ${op.dst}${op.readonly ? ' ro' : ''}`,
  setflag: flagText, clearflag: flagText,
  mmap: (op) => `mmap ${op.name} ${op.path} ${op.offset} ${op.length} ${op.prot}`
    + (op.sync ? ' sync' : ''),
  mstore: (op) => `mstore ${op.name} ${op.offset} ${op.length}${seedText(op.seed)}`,
  mload: mapRangeText, mflush: mapRangeText, msync: mapRangeText,
  munmap: (op) => `munmap ${op.name}`,
};

function mkfsText(op: OpOf<'mkfs'>): string {
  const parts = ['mkfs'];
  if (op.nodeSize !== undefined) parts.push('nodesize', String(op.nodeSize));
  if (op.label !== undefined) parts.push('label', op.label);
  return parts.join(' ');
}

function pathText(op: { op: OpName; path: string }): string {
  return `${op.op} ${op.path}`;
}

function setxattrText(op: OpOf<'setxattr'>): string {
  const head = `setxattr ${refText(op)} ${op.name} ${op.length}`;
  const seed = op.seed !== undefined ? `seed ${op.seed}` : '';
  return [head, seed, op.mode ?? '', op.nofollow ? 'nofollow' : ''].filter(Boolean).join(' ');
}

function allocText(op: OpOf<'fallocate' | 'zero'>): string {
  return `${op.op} ${op.path} ${op.offset} ${op.length}${op.keepSize ? ' keep' : ''}`;
}

function cloneText(op: OpOf<'clone'>): string {
  return op.range
    ? `clone ${op.src} ${op.range.srcOffset} ${op.dst} ${op.range.dstOffset} ${op.range.length}`
    : `clone ${op.src} ${op.dst}`;
}

function pairText(op: OpOf<'copy' | 'dedupe'>): string {
  return `${op.op} ${op.src} ${op.srcOffset} ${op.dst} ${op.dstOffset} ${op.length}`;
}

function shiftText(op: OpOf<'collapse' | 'insert'>): string {
  return `${op.op} ${op.path} ${op.offset} ${op.length}`;
}

function flagText(op: OpOf<'setflag' | 'clearflag'>): string {
  return `${op.op} ${op.path} ${op.flag}${op.nocap ? ' nocap' : ''}`;
}

function mapRangeText(op: OpOf<'mload' | 'mflush' | 'msync'>): string {
  return `${op.op} ${op.name} ${op.offset} ${op.length}`;
}

function opText(op: Op): string {
  return (OP_TEXT[op.op] as (op: Op) => string)(op);
}
/** The canonical text of one statement (no newline). */
export function printStmt(stmt: Stmt): string {
  if (stmt.op === 'comment') return stmt.text === '' ? '#' : `# ${stmt.text}`;
  const s = stmt as Op & StmtCommon;
  let text = opText(s);
  if (s.expect !== undefined) text = `expect ${s.expect} ${text}`;
  if (s.comment !== undefined) text += s.comment === '' ? ' #' : ` # ${s.comment}`;
  return text;
}

/** The canonical text of a script: one statement per line, a final newline. */
export function print(script: Script | Stmt[]): string {
  const stmts = Array.isArray(script) ? script : script.stmts;
  return stmts.map((s) => printStmt(s) + '\n').join('');
}
