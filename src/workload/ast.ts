// The workload language's syntax tree: one statement per line of a script. Statements
// carry no positions; a parsed script keeps its line numbers beside them (Script.lines),
// so that a generated script and the same script printed and parsed again are equal.
import type { ErrnoName } from '../errors.js';
import type { DaxPolicy } from '../dax/policy.js';

export type PolicyName = keyof DaxPolicy;
export type Prot = 'r' | 'rw';

/** Everything the runner needs of a statement besides its operation. */
export interface StmtCommon {
  /** The errno (or SIGBUS/SIGSEGV) the operation must fail with: `expect ERRNO op ...`. */
  expect?: ErrnoName;
  /** A trailing `# comment` on the same line. */
  comment?: string;
}

// --- device and mount ----------------------------------------------------------------
export interface MkfsOp { op: 'mkfs'; nodeSize?: number; label?: string }
export interface MountOp { op: 'mount' }
export interface UnmountOp { op: 'unmount' }
export interface PolicyOp { op: 'policy'; name: PolicyName; value: boolean }
export interface CrashOp { op: 'crash'; mode: 'strict' | 'random'; seed?: number }
export interface CheckOp { op: 'check' }
export interface ScrubOp { op: 'scrub' }
export interface CheckpointOp { op: 'checkpoint'; id: number }

// --- namespace -----------------------------------------------------------------------
export interface MkdirOp { op: 'mkdir'; path: string }
export interface CreateOp { op: 'create'; path: string }
/**
 * `open PATH [creat] [trunc]` opens and closes at once; `open NAME PATH [creat] [trunc]`
 * keeps the descriptor open as NAME until `close NAME`, a crash or an unmount.
 */
export interface OpenOp {
  op: 'open';
  path: string;
  create: boolean;
  truncate: boolean;
  fd?: string;
}
/** `close NAME`: the descriptor `open NAME PATH` opened. */
export interface CloseOp { op: 'close'; fd: string }
export interface UnlinkOp { op: 'unlink'; path: string }
export interface RmdirOp { op: 'rmdir'; path: string }
export interface RenameOp { op: 'rename'; from: string; to: string }
export interface LinkOp { op: 'link'; from: string; to: string }
export interface StatOp { op: 'stat'; path: string }
export interface ReaddirOp { op: 'readdir'; path: string }

// --- symlinks and xattrs ---------------------------------------------------------------
/** `symlink TARGET PATH`: TARGET is any text without whitespace or '#' (it need not exist). */
export interface SymlinkOp { op: 'symlink'; target: string; path: string }
/** The special files `mknod PATH KIND [rdev N]` makes. */
export type SpecialFileKind = 'chardev' | 'blockdev' | 'fifo' | 'socket';
/**
 * `mknod PATH KIND [rdev N]`: mknod(2) of a device (rdev its number), a fifo or a socket,
 * mode 0644.
 */
export interface MknodOp { op: 'mknod'; path: string; kind: SpecialFileKind; rdev?: number }
export interface ReadlinkOp { op: 'readlink'; path: string }
/** stat without following a symlink in the last component. */
export interface LstatOp { op: 'lstat'; path: string }
/** How setxattr treats an existing name: XATTR_CREATE (`create`) or XATTR_REPLACE (`replace`). */
export type XattrMode = 'create' | 'replace';
/**
 * `setxattr FILE NAME LENGTH [seed N] [create|replace] [nofollow]`: the value is LENGTH
 * pattern bytes (as a write's). FILE a path or a descriptor (fsetxattr); `nofollow`
 * (lsetxattr: the symlink itself) with a path only.
 */
export type SetxattrOp = {
  op: 'setxattr'; name: string; length: number; seed?: number; mode?: XattrMode; nofollow: boolean;
} & FileRef;
export type GetxattrOp = { op: 'getxattr'; name: string; nofollow: boolean } & FileRef;
export type ListxattrOp = { op: 'listxattr'; nofollow: boolean } & FileRef;
export type RemovexattrOp = { op: 'removexattr'; name: string; nofollow: boolean } & FileRef;

// --- data ----------------------------------------------------------------------------
/**
 * The file a data call or a sync goes to: a path (opened and closed around the call), or
 * a descriptor `open NAME PATH` bound, which keeps naming its inode after a rename or an
 * unlink of the path it was opened by. In the text a path starts with '/', a name never does.
 */
export type FileRef = { path: string; fd?: undefined } | { fd: string; path?: undefined };
export type WriteOp = { op: 'write'; offset: number; length: number; seed?: number } & FileRef;
/** Whole file when offset and length are absent (a path only: a descriptor reads a range). */
export type ReadOp = { op: 'read'; offset?: number; length?: number } & FileRef;
export interface TruncateOp { op: 'truncate'; path: string; size: number }
export interface FallocateOp {
  op: 'fallocate';
  path: string;
  offset: number;
  length: number;
  keepSize: boolean;
}
export interface PunchOp { op: 'punch'; path: string; offset: number; length: number }
export interface ZeroOp {
  op: 'zero';
  path: string;
  offset: number;
  length: number;
  keepSize: boolean;
}
export type FsyncOp = { op: 'fsync' } & FileRef;
/** Here what fsync does (a commit: data and metadata together); Linux may keep metadata back. */
export type FdatasyncOp = { op: 'fdatasync' } & FileRef;
export interface CommitOp { op: 'commit' }
/** A range clone when `range` is present, else the whole file (cloneFile). */
export interface CloneOp {
  op: 'clone';
  src: string;
  dst: string;
  range?: { srcOffset: number; dstOffset: number; length: number };
}
// Range operations (docs/fs.md section 5): copy_file_range, XFS's EXCHANGE_RANGE,
// FIDEDUPERANGE with one destination, FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE.
/** `copy SRC SOFF DST DOFF LEN`: copyFileRange; its result reports the bytes copied. */
export interface CopyOp {
  op: 'copy';
  src: string;
  srcOffset: number;
  dst: string;
  dstOffset: number;
  length: number;
}
/** `exchange PATH1 OFF1 PATH2 OFF2 LEN`: exchangeRange (the two ranges trade places). */
export interface ExchangeOp {
  op: 'exchange';
  path1: string;
  offset1: number;
  path2: string;
  offset2: number;
  length: number;
}
/**
 * `dedupe SRC SOFF DST DOFF LEN`: dedupeRange; its result reports the status and the bytes
 * deduped.
 */
export interface DedupeOp {
  op: 'dedupe';
  src: string;
  srcOffset: number;
  dst: string;
  dstOffset: number;
  length: number;
}
/** `collapse PATH OFF LEN` (collapseRange) and `insert PATH OFF LEN` (insertRange). */
export interface ShiftOp { op: 'collapse' | 'insert'; path: string; offset: number; length: number }

// --- subvolumes, flags, freeze -------------------------------------------------------
export interface SnapshotOp { op: 'snapshot'; src: string; dst: string; readonly: boolean }
export interface MksubvolOp { op: 'mksubvol'; path: string }
export interface RmsubvolOp { op: 'rmsubvol'; path: string }
export type FileFlag = 'nodatacow' | 'dax-immutable';
/** `setflag PATH nodatacow`, `setflag PATH dax-immutable [nocap]`. */
export interface SetflagOp { op: 'setflag'; path: string; flag: FileFlag; nocap: boolean }
/** `clearflag PATH dax-immutable [nocap]`. */
export interface ClearflagOp {
  op: 'clearflag';
  path: string;
  flag: 'dax-immutable';
  nocap: boolean;
}
export interface FreezeOp { op: 'freeze' }
export interface ThawOp { op: 'thaw' }

// --- DAX mappings --------------------------------------------------------------------
export interface MmapOp {
  op: 'mmap';
  name: string;
  path: string;
  offset: number;
  length: number;
  prot: Prot;
  sync: boolean;
}
export interface MstoreOp {
  op: 'mstore';
  name: string;
  offset: number;
  length: number;
  seed?: number;
}
export interface MloadOp { op: 'mload'; name: string; offset: number; length: number }
export interface MflushOp { op: 'mflush'; name: string; offset: number; length: number }
export interface FenceOp { op: 'fence' }
export interface MsyncOp { op: 'msync'; name: string; offset: number; length: number }
export interface MunmapOp { op: 'munmap'; name: string }

/** A whole-line `# comment`. */
export interface CommentStmt { op: 'comment'; text: string }

export type Op =
  | MkfsOp | MountOp | UnmountOp | PolicyOp | CrashOp | CheckOp | ScrubOp | CheckpointOp
  | MkdirOp | CreateOp | OpenOp | CloseOp | UnlinkOp | RmdirOp | RenameOp | LinkOp | StatOp
  | ReaddirOp
  | SymlinkOp | ReadlinkOp | LstatOp | SetxattrOp | GetxattrOp | ListxattrOp | RemovexattrOp
  | MknodOp
  | WriteOp | ReadOp | TruncateOp | FallocateOp | PunchOp | ZeroOp | FsyncOp | FdatasyncOp
  | CommitOp | CloneOp
  | CopyOp | ExchangeOp | DedupeOp | ShiftOp
  | SnapshotOp | MksubvolOp | RmsubvolOp | SetflagOp | ClearflagOp | FreezeOp | ThawOp
  | MmapOp | MstoreOp | MloadOp | MflushOp | FenceOp | MsyncOp | MunmapOp;

export type OpName = Op['op'];

/** One line of a script: an operation (with its expectation and trailing comment) or a comment. */
export type Stmt = (Op & StmtCommon) | CommentStmt;

export interface Script {
  stmts: Stmt[];
  /** 1-based source line of each statement (parse sets it); absent: statement i is on line i+1. */
  lines?: number[];
}

/** Every operation keyword, in the order docs/workload.md lists them. */
export const OP_NAMES: readonly OpName[] = [
  'mkfs', 'mount', 'unmount', 'policy', 'crash', 'check', 'scrub', 'checkpoint',
  'mkdir', 'create', 'open', 'close', 'unlink', 'rmdir', 'rename', 'link', 'stat', 'readdir',
  'symlink', 'readlink', 'lstat', 'setxattr', 'getxattr', 'listxattr', 'removexattr', 'mknod',
  'write', 'read', 'truncate', 'fallocate', 'punch', 'zero', 'fsync', 'fdatasync', 'commit',
  'clone',
  'copy', 'exchange', 'dedupe', 'collapse', 'insert',
  'snapshot', 'mksubvol', 'rmsubvol', 'setflag', 'clearflag', 'freeze', 'thaw',
  'mmap', 'mstore', 'mload', 'mflush', 'fence', 'msync', 'munmap',
];

/** The source line of statement `index` (1-based). */
export function lineOf(script: Script, index: number): number {
  return script.lines?.[index] ?? index + 1;
}

/** The operations of a script, without comments. */
export function opsOf(script: Script): Array<Op & StmtCommon> {
  return script.stmts.filter((s): s is Op & StmtCommon => s.op !== 'comment');
}

/** The result value of `stat` and `lstat` (the runner's, and the model's to compare with it). */
export function statValue(
  st: { kind: string; size: number; nlink: number; nodatacow: boolean },
): string {
  return `${st.kind} size=${st.size} nlink=${st.nlink}${st.nodatacow ? ' nodatacow' : ''}`;
}
