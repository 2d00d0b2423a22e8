// The workload language's printer: the canonical text of a statement or a script.
// parse(print(script)).stmts equals script.stmts; print(parse(text)) is text in canonical
// form (decimal numbers, single spaces, no blank lines, `crash` for a strict crash).
import type { FileRef, Op, Script, Stmt, StmtCommon } from './ast.js';

/** A path, or a descriptor's name. */
function refText(ref: FileRef): string {
  return ref.path ?? ref.fd;
}

function opText(op: Op): string {
  switch (op.op) {
    case 'mkfs': {
      const parts = ['mkfs'];
      if (op.nodeSize !== undefined) parts.push('nodesize', String(op.nodeSize));
      if (op.label !== undefined) parts.push('label', op.label);
      return parts.join(' ');
    }
    case 'mount': case 'unmount': case 'check': case 'scrub': case 'commit': case 'freeze': case 'thaw': case 'fence':
      return op.op;
    case 'policy':
      return `policy ${op.name}=${op.value ? 'on' : 'off'}`;
    case 'crash':
      return op.mode === 'strict' ? 'crash' : `crash random ${op.seed ?? 0}`;
    case 'checkpoint':
      return `checkpoint ${op.id}`;
    case 'mkdir': case 'create': case 'unlink': case 'rmdir': case 'stat': case 'readdir': case 'mksubvol': case 'rmsubvol':
      return `${op.op} ${op.path}`;
    case 'fsync': case 'fdatasync':
      return `${op.op} ${refText(op)}`;
    case 'open':
      return ['open', op.fd ?? '', op.path, op.create ? 'creat' : '', op.truncate ? 'trunc' : ''].filter(Boolean).join(' ');
    case 'close':
      return `close ${op.fd}`;
    case 'rename': case 'link':
      return `${op.op} ${op.from} ${op.to}`;
    case 'symlink':
      return `symlink ${op.target} ${op.path}`;
    case 'readlink': case 'lstat':
      return `${op.op} ${op.path}`;
    case 'mknod':
      return `mknod ${op.path} ${op.kind}${op.rdev !== undefined ? ` rdev ${op.rdev}` : ''}`;
    case 'setxattr':
      return [`setxattr ${refText(op)} ${op.name} ${op.length}`, op.seed !== undefined ? `seed ${op.seed}` : '', op.mode ?? '', op.nofollow ? 'nofollow' : '']
        .filter(Boolean).join(' ');
    case 'getxattr': case 'removexattr':
      return `${op.op} ${refText(op)} ${op.name}${op.nofollow ? ' nofollow' : ''}`;
    case 'listxattr':
      return `listxattr ${refText(op)}${op.nofollow ? ' nofollow' : ''}`;
    case 'write':
      return `write ${refText(op)} ${op.offset} ${op.length}${op.seed !== undefined ? ` seed ${op.seed}` : ''}`;
    case 'read':
      return op.offset === undefined ? `read ${refText(op)}` : `read ${refText(op)} ${op.offset} ${op.length ?? 0}`;
    case 'truncate':
      return `truncate ${op.path} ${op.size}`;
    case 'fallocate': case 'zero':
      return `${op.op} ${op.path} ${op.offset} ${op.length}${op.keepSize ? ' keep' : ''}`;
    case 'punch':
      return `punch ${op.path} ${op.offset} ${op.length}`;
    case 'clone':
      return op.range
        ? `clone ${op.src} ${op.range.srcOffset} ${op.dst} ${op.range.dstOffset} ${op.range.length}`
        : `clone ${op.src} ${op.dst}`;
    case 'copy': case 'dedupe':
      return `${op.op} ${op.src} ${op.srcOffset} ${op.dst} ${op.dstOffset} ${op.length}`;
    case 'exchange':
      return `exchange ${op.path1} ${op.offset1} ${op.path2} ${op.offset2} ${op.length}`;
    case 'collapse': case 'insert':
      return `${op.op} ${op.path} ${op.offset} ${op.length}`;
    case 'snapshot':
      return `snapshot ${op.src} ${op.dst}${op.readonly ? ' ro' : ''}`;
    case 'setflag': case 'clearflag':
      return `${op.op} ${op.path} ${op.flag}${op.nocap ? ' nocap' : ''}`;
    case 'mmap':
      return `mmap ${op.name} ${op.path} ${op.offset} ${op.length} ${op.prot}${op.sync ? ' sync' : ''}`;
    case 'mstore':
      return `mstore ${op.name} ${op.offset} ${op.length}${op.seed !== undefined ? ` seed ${op.seed}` : ''}`;
    case 'mload': case 'mflush': case 'msync':
      return `${op.op} ${op.name} ${op.offset} ${op.length}`;
    case 'munmap':
      return `munmap ${op.name}`;
  }
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
