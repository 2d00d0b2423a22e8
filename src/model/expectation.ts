// What the crash checker's model (crash-model.ts) says an operation may return, and the
// classes of operations it judges by: those that end the states a crash may show, those
// that change nothing, those a freeze refuses, those that may run out of space.
import type { Op } from '../workload/ast.js';

/**
 * Operations after which every state before them is gone: what each guarantees is in
 * docs/crash.md.
 */
export const PERSISTENCE_POINTS: ReadonlySet<Op['op']> = new Set([
  'commit', 'fsync', 'fdatasync', 'msync', 'snapshot', 'freeze', 'unmount',
]);

/**
 * Operations that change no file, directory, flag or mapping of the model, whatever they
 * return: the state after one is the state before (no copy is made for it).
 */
export const UNCHANGING_OPS: ReadonlySet<string> = new Set([
  'stat', 'readdir', 'read', 'mload', 'mflush', 'fence', 'check', 'scrub', 'readlink', 'lstat',
  'getxattr', 'listxattr',
]);

/** Operations that change the file system (EBUSY while it is frozen). */
export const CHANGES: ReadonlySet<Op['op']> = new Set([
  'mkdir', 'create', 'unlink', 'rmdir', 'rename', 'link', 'write', 'truncate', 'fallocate', 'punch',
  'zero', 'clone', 'snapshot', 'mksubvol', 'rmsubvol', 'setflag', 'clearflag',
  'symlink', 'setxattr', 'removexattr', 'mknod',
  'copy', 'exchange', 'dedupe', 'collapse', 'insert',
]);

/** Operations that may run out of space (ENOSPC, or SIGBUS for a store's fault). */
export const SPACE_OPS: ReadonlySet<string> = new Set([
  'write', 'truncate', 'fallocate', 'zero', 'clone', 'snapshot', 'mksubvol', 'mkdir', 'create',
  'link', 'rename', 'open', 'mstore', 'punch', 'symlink', 'setxattr', 'mknod', 'copy', 'exchange',
  'dedupe', 'collapse', 'insert',
]);

/** What an operation may return, by the model. */
export interface Expectation {
  /** Success is a correct result. */
  ok: boolean;
  /** Errnos that are correct results. */
  errnos: Set<string>;
  /** What a successful read or mload returns (null: not judged, e.g. bytes past EOF). */
  bytes?: Uint8Array | null;
  /** What a successful stat or readdir reports. */
  value?: string;
  /**
   * The operation changes the model even when it fails with an expected errno (a store that
   * faults part way).
   */
  keepOnError?: boolean;
  /** The model cannot say (an operation outside its scope): the script is not judged from here. */
  unjudged?: string;
  /**
   * A range operation with nothing to do: it returns before it would start a change (no
   * EBUSY while frozen).
   */
  early?: boolean;
}

/** The result an operation had, as the workload runner reports it. */
export type Outcome =
  | { ok: true; checksum?: string; value?: string }
  | { ok: false; errno: string; message: string };

/** Values of stat and readdir: readdir's names in any order. */
export function sameValue(op: string, got: string, expected: string): boolean {
  if (op === 'readdir') return sortedNames(got) === sortedNames(expected);
  if ((op === 'stat' || op === 'lstat') && isDirectoryStat(expected)) {
    return withoutSize(got) === withoutSize(expected);
  }
  return got === expected;
}

// A directory's size is the implementation's (POSIX leaves it open; btrfs's is twice the
// bytes of its names), and the model keeps 0: its kind and link count are compared.
function isDirectoryStat(value: string): boolean {
  return value.startsWith('dir ') || value.startsWith('subvolume ');
}

function withoutSize(value: string): string {
  return value.replace(/ size=\d+/, '');
}

function sortedNames(names: string): string {
  return names.split(' ').sort().join(' ');
}
