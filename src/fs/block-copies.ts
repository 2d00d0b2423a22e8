// The copies of a tree block (one, or two with the dup profile): where each lies, whether
// it is sound, the words for a read that found none sound, and the heal of a bad copy
// from its good twin.
import { FsError } from '../errors.js';
import type { PmemDevice } from '../pmem/device.js';
import {
  EIO, EUCLEAN as EUCLEAN_ERRNO, TA_PROBLEMS, PROBLEM_BYTES, P_MEDIA_ERROR, P_CHECKSUM,
  P_POINTER,
} from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import { check } from './engine-result.js';
import type { FsMemory } from './memory.js';
import { readProblem, blockProblemText } from './tree-checker.js';
import { assert } from '../assert.js';

/** A tree block copy that cannot be used, and why. */
export interface BadCopy { code: 'EIO' | 'EUCLEAN'; message: string }

/** What the copies are read and healed through (the Kernel). */
interface CopiesHost {
  readonly core: CoreExports;
  readonly m: FsMemory;
  readonly device: PmemDevice;
  readonly threadArea: number;
  readonly visibleAddr: number;
  readonly nodeBytes: number;
  readonly metadataCopies: number;
  reportWrite(bytenr: number, bytes: number): void;
}

export class BlockCopies {
  constructor(private readonly k: CopiesHost) {}

  /** The FsError of a failed block read (records of copy 1 and, with dup, copy 2). */
  readError(): FsError {
    const first = this.copyProblem(0);
    if (this.k.metadataCopies === 1 || first.message.startsWith('tree block pointer')) {
      return new FsError(first.code, first.message);
    }
    return new FsError(first.code, `${first.message}; copy 2: ${this.copyProblem(1).message}`);
  }

  /** The problem the core recorded for copy `copy` of the block it last read. */
  private copyProblem(copy: number): BadCopy {
    const k = this.k;
    const record = readProblem(k.m, k.threadArea + TA_PROBLEMS + copy * PROBLEM_BYTES);
    // A pointer outside every chunk has no copy to read (its words need none).
    const nodeAddr = record.code === P_POINTER ? 0
      : k.visibleAddr + this.copyBytenr(record.bytenr, copy);
    const code = record.code === P_MEDIA_ERROR || record.code === P_CHECKSUM ? 'EIO' : 'EUCLEAN';
    return { code, message: blockProblemText(k.m, record, nodeAddr) };
  }

  /** Address in the device of copy `copy` (0 or 1) of tree block `bytenr`. */
  copyBytenr(bytenr: number, copy: number): number {
    const at = this.k.core.fs_copy_bytenr(bytenr, copy);
    if (at < 0) {
      throw new FsError('EINVAL',
        `tree block ${bytenr} copy ${copy + 1}: not a tree block place of this device`);
    }
    return at;
  }

  /** Is copy `copy` of tree block `bytenr` readable and sound? null when it is. */
  check(bytenr: number, copy: number): BadCopy | null {
    const result = this.k.device.core.fs_check_copy(bytenr, copy);
    if (result === 0) return null;
    if (result !== -EIO && result !== -EUCLEAN_ERRNO) {
      throw new FsError('EINVAL',
        `tree block ${bytenr} copy ${copy + 1}: not a block of this device`);
    }
    return this.copyProblem(copy);
  }

  /**
   * Rewrite copy `to` of a clean block from copy `from` (dup). Writing a whole line clears
   * its poison, as the pmem driver does on a write (the media error is remapped); the
   * bytes are those a commit already wrote, so a crash during the heal leaves either copy
   * as good as before.
   */
  heal(bytenr: number, from: number, to: number): void {
    assert(from !== to, 'heal: a copy is rewritten from its twin, not from itself');
    const k = this.k, device = k.device;
    const src = this.copyBytenr(bytenr, from), dst = this.copyBytenr(bytenr, to);
    device.clearPoison(dst, k.nodeBytes);
    k.reportWrite(dst, k.nodeBytes);
    check(device.core.pmem_store(dst, k.visibleAddr + src, k.nodeBytes, 0), 'heal tree block');
    check(device.core.pmem_flush(dst, k.nodeBytes, 0), 'flush healed tree block');
    device.sfence();
  }
}
