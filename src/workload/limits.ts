// Bounds on what a script may ask for, checked before it runs: an operation that moves
// data (write, read, mstore, mload, mmap) allocates a buffer of its length in this
// process, so a hand-edited `write /f 0 10737418240` would otherwise exhaust memory
// instead of failing with a clear error.
import { FsError } from '../errors.js';
import type { Script } from './ast.js';

const DATA_OPS = new Set(['write', 'read', 'mstore', 'mload', 'mmap']);

/** Throws EFBIG naming the line of the first statement whose data length exceeds the device. */
export function checkScriptSizes(script: Script, deviceBytes: number): void {
  script.stmts.forEach((stmt, i) => {
    if (!DATA_OPS.has(stmt.op)) return;
    const length = (stmt as { length?: number }).length;
    if (length !== undefined && length > deviceBytes) {
      const line = script.lines?.[i] ?? i + 1;
      throw new FsError('EFBIG', `line ${line} (${stmt.op}) moves ${length} bytes, `
        + `more than the ${deviceBytes}-byte device`);
    }
  });
}
