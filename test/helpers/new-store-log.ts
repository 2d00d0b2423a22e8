// The current core behind the LogDriver face of test/helpers/log-program.ts, through the
// public API only (PmemDevice): the side that test/pmem-log-vs-old.test.ts judges against
// the frozen old store log. Crash images are built into one reused target device of the
// same configuration (`into`, as fuzzers do), then read back whole.
import { PmemDevice, type PmemOptions } from '../../src/index.js';
import { REGION } from '../../src/core/abi.js';
import type { FlushKind, LogConfig, LogDriver } from './log-program.js';

export function pmemOptions(config: LogConfig, kernelBytes: number): PmemOptions {
  const { logCapacity, ...rest } = config;
  // 'default': the option left out, so the current core's default applies.
  return logCapacity === 'default' ? { ...rest, kernelBytes }
    : { ...rest, logCapacity, kernelBytes };
}

export class NewStoreLog implements LogDriver {
  private constructor(readonly dev: PmemDevice, private readonly target: PmemDevice) {}

  /** `kernelBytes` only sizes memory nobody here uses; it is given to keep devices small. */
  static async create(config: LogConfig, kernelBytes: number): Promise<NewStoreLog> {
    const options = pmemOptions(config, kernelBytes);
    return new NewStoreLog(await PmemDevice.create(options), await PmemDevice.create(options));
  }

  store(addr: number, data: Uint8Array, nt: boolean): void {
    if (nt) this.dev.ntStore(addr, data);
    else this.dev.store(addr, data);
  }

  flush(addr: number, length: number, kind: FlushKind): void {
    this.dev.flush(addr, length, kind);
  }

  fence(mfence: boolean): void {
    if (mfence) this.dev.mfence();
    else this.dev.sfence();
  }

  load(addr: number, length: number): Uint8Array {
    return this.dev.load(addr, length);
  }

  readMedia(addr: number, length: number): Uint8Array {
    return this.dev.readMedia(addr, length);
  }

  crashCount(): bigint {
    return this.dev.crashImageCount();
  }

  crashImageBytes(choice: bigint | { seed: bigint } | 'strict'): Uint8Array {
    if (choice === 'strict') this.dev.crash({ into: this.target });
    else if (typeof choice === 'bigint') this.dev.crashImageAt(choice, { into: this.target });
    else this.dev.crash({ mode: 'random', seed: choice.seed, into: this.target });
    return this.target.load(0, this.dev.sizeBytes);
  }

  /** Every image through the enumeration API (crashImages), each built into the target. */
  *images(): Generator<{ index: bigint; bytes: Uint8Array; changedLines: number }> {
    for (const image of this.dev.crashImages({ maxImages: Number.MAX_SAFE_INTEGER })) {
      image.device(this.target);
      const bytes = this.target.load(0, this.dev.sizeBytes);
      yield { index: image.index, bytes, changedLines: image.changedLines };
    }
  }

  lineInfo(line: number): { pendingStores: number; poisoned: boolean } {
    return this.dev.lineInfo(line * 64);
  }

  linesPending(): number { return this.dev.linesPending(); }
  logSpan(): number { return this.dev.logSpan(); }
  flushesQueued(): number { return this.dev.flushesQueued(); }
  counters(): Record<string, number> { return { ...this.dev.counters() }; }

  /** The stamp epoch now; lines changed from now on are stamped newer. */
  stampsAdvance(): number {
    return this.dev.core.pmem_stamps_advance() >>> 0;
  }

  /** Runs of lines stamped after `since`, as [first line, count] pairs (null: too many). */
  changedRuns(since: number): number[] | null {
    const core = this.dev.core;
    const runs = core.pmem_stamp_runs(since);
    if (runs < 0) return null;
    const at = core.pmem_region(REGION.stampRuns) >>> 0;
    return Array.from(new Uint32Array(core.memory.buffer, at, 2 * runs));
  }

  close(): void {
    this.dev.close();
    this.target.close();
  }
}
