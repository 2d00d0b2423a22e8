// Reading the core engine's results: a negative number is a failure, and a transaction
// another thread's core aborted leaves only a code (F_ABORTED) to word.
import { FsError } from '../errors.js';
import {
  P_NO_METADATA_SPACE, P_POOL_EMPTY, P_BLOCK_IN_USE, P_REFS_FULL, ABORTED_DELAYED_REFS,
} from '../core/abi.js';

/** `result` when the core's call succeeded; an EIO naming `what` when it is negative. */
export function check(result: number, what: string): number {
  if (result < 0) throw new FsError('EIO', `${what} failed (${result})`);
  return result;
}

/** Why the transaction was aborted, from the code another thread's core left in F_ABORTED. */
export function abortedText(code: number): string {
  if (code === P_NO_METADATA_SPACE) return 'no space for metadata';
  if (code === P_POOL_EMPTY) return 'out of dirty node buffers';
  if (code === P_BLOCK_IN_USE) return 'free space holds a tree block in use';
  if (code === P_REFS_FULL) return 'delayed-ref tables full';
  if (code === ABORTED_DELAYED_REFS) return 'delayed refs failed';
  return `aborted by another thread (code ${code})`;
}
