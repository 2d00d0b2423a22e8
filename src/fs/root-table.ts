// The core's root table (F_ROOTS): a slot per subvolume tree, holding its root, its moved
// mark and its last snapshot generation, where every thread's core finds a file's tree.
import {
  F_ROOTS, ROOT_SLOTS, ROOT_SLOT_BYTES, RS_TREE, RS_FLAGS, RS_LAST_SNAPSHOT,
} from '../core/abi.js';
import type { FsMemory } from './memory.js';
import { assert } from '../assert.js';

export class RootTable {
  /** No slot below this one is free (a hint: releasing a slot lowers it). */
  private hint = 0;

  constructor(private readonly m: FsMemory, private readonly fsStateAddr: number) {}

  /**
   * A free slot of the root table, now naming tree `id`; 0 when all ROOT_SLOTS are taken:
   * that tree keeps its root here, and only this thread finds it (WriterPool.readFile reads
   * its files on this thread).
   */
  claim(id: number): number {
    const m = this.m, table = m.u32(this.fsStateAddr + F_ROOTS);
    for (let i = this.hint; i < ROOT_SLOTS; i++) {
      const slot = table + i * ROOT_SLOT_BYTES;
      if (m.u64(slot + RS_TREE) !== 0) continue;
      m.setU64(slot + RS_TREE, id);
      m.setU32(slot + RS_FLAGS, 0);
      this.hint = i + 1;
      return slot;
    }
    return 0;
  }

  /** The tree of slot `slot` is gone (deleted): the slot is free again. */
  release(slot: number): void {
    this.m.setU64(slot + RS_TREE, 0);
    this.m.setU32(slot + RS_FLAGS, 0);
    this.m.setU64(slot + RS_LAST_SNAPSHOT, 0);
    const index = (slot - this.m.u32(this.fsStateAddr + F_ROOTS)) / ROOT_SLOT_BYTES;
    assert(Number.isInteger(index) && index >= 0 && index < ROOT_SLOTS,
      'root table: a released slot is one of the table\'s');
    this.hint = Math.min(this.hint, index);
  }
}
