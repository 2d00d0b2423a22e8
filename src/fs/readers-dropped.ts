// What the items dropped in the running transaction read, per data extent: the committed
// tree, which a crash returns to, still reads those bytes, so they are not written in place.
import { F_READERS_COUNT, F_READERS_LOG, READERS_ENTRY_BYTES } from '../core/abi.js';
import type { FsMemory } from './memory.js';
import { assert } from '../assert.js';

export class ReadersDropped {
  /** Extent-relative [from, to) ranges, by data extent. */
  private readonly byExtent = new Map<number, Array<[number, number]>>();
  /** Entries of the core's log already in byExtent. */
  private merged = 0;

  constructor(private readonly m: FsMemory, private readonly fsStateAddr: number) {}

  /** The ranges, with what the core's fault paths logged since the last call. */
  current(): Map<number, Array<[number, number]>> {
    // The core's fault path logs what the items it dropped read (F_READERS_LOG): merge it.
    const m = this.m;
    const count = m.u32(this.fsStateAddr + F_READERS_COUNT);
    // The core clears its log only at a commit, when clear() starts this one again.
    assert(count >= this.merged, 'readers log: the core\'s log only grows in a transaction');
    if (count > this.merged) {
      const log = m.u32(this.fsStateAddr + F_READERS_LOG);
      for (let i = this.merged; i < count; i++) {
        const at = log + i * READERS_ENTRY_BYTES;
        const extent = m.u64(at);
        const ranges = this.byExtent.get(extent) ?? [];
        ranges.push([m.u32(at + 8), m.u32(at + 12)]);
        this.byExtent.set(extent, ranges);
      }
      this.merged = count;
    }
    return this.byExtent;
  }

  /** A commit: the core cleared its log (and the losing and filled bits). */
  clear(): void {
    this.byExtent.clear();
    this.merged = 0;
  }
}
