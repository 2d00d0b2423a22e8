// Reading the core's delayed-ref table (assembly/fs/delayed-ref.ts) from the host.
import {
  F_REFS, F_REF_LIST, F_REF_COUNT, REF_BYTES, REF_TARGET, REF_DELTA, REF_FLAGS,
  REF_BYTES_FIELD, REF_DATA,
} from '../core/abi.js';
import type { CoreExports } from '../core/exports.js';
import { check } from './engine-result.js';
import { SECTOR_BYTES } from './format.js';
import type { FsMemory } from './memory.js';

/** An extent a delayed ref may free: its bytenr, whether it is data, its bytes. */
type LosingRef = [number, boolean, number];

/**
 * The extents whose delayed refs drop a count, or net to zero on an extent allocated in
 * this transaction (allocated and freed again: the run frees it). Tree blocks count
 * `nodeBytes`.
 */
export function losingRefs(m: FsMemory, core: CoreExports, fsStateAddr: number,
  nodeBytes: number): LosingRef[] {
  const table = m.u32(fsStateAddr + F_REFS);
  const list = m.u32(fsStateAddr + F_REF_LIST), count = m.u32(fsStateAddr + F_REF_COUNT);
  const losing: LosingRef[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + m.u32(list + i * 4) * REF_BYTES;
    const sector = m.u32(at + REF_TARGET);
    const delta = m.dv.getInt32(at + REF_DELTA, true);
    // A ref that drops a count, or one that nets to zero on an extent allocated in this
    // transaction (allocated and freed again: the run frees it).
    if (sector === 0 || delta > 0
      || (delta === 0 && core.fs_is_fresh((sector - 1) * SECTOR_BYTES) !== 1)) continue;
    const data = (m.u32(at + REF_FLAGS) & REF_DATA) !== 0;
    losing.push([(sector - 1) * SECTOR_BYTES, data,
      data ? m.u32(at + REF_BYTES_FIELD) : nodeBytes]);
  }
  return losing;
}

/** Ref pressure (per mille of the tables in use) above which refs run between operations. */
const RUN_PRESSURE = 500;

/** Runs the core's delayed refs (fs_run_delayed_refs), never inside a run. */
export class DelayedRefRunner {
  /** Set while delayed refs run: the tree changes they make do not start another run. */
  private running = false;

  constructor(private readonly core: CoreExports) {}

  /**
   * Apply the delayed refs, batch after batch (applying them changes the extent and csum
   * trees, whose copies bring refs of their own), until none are left.
   */
  run(): void {
    if (this.running) return;
    this.running = true;
    try {
      check(this.core.fs_run_delayed_refs(), 'run delayed refs');
    } finally {
      this.running = false;
    }
  }

  /**
   * Between operations: run the delayed refs when their tables are half full (btrfs runs
   * them early too), so a transaction of any size fits tables of a fixed size. A failure
   * aborts the transaction of `host`.
   */
  runIfFull(host: { aborted: string | null }): void {
    if (!this.running && !host.aborted && this.core.fs_ref_pressure() >= RUN_PRESSURE) {
      try {
        this.run();
      } catch (e) {
        host.aborted ??= `delayed refs failed: ${(e as Error).message}`;
        throw e;
      }
    }
  }
}
