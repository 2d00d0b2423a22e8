// A batch of DAX stores in this thread's scratch, stored by one call into the core
// (dax_store_batch, assembly/dax/batch.ts). Records are written with typed-array stores
// (no BigInt, no allocation); the core fills a record's bytes with its tag. Where a fault
// stops the core, the record says how far it got, and `store()` resumes from there: no
// byte is stored twice.
import { FsError } from '../errors.js';
import type { PmemDevice } from '../pmem/device.js';
import {
  BATCH_RECORD_BYTES, BR_OFFSET, BR_LENGTH, BR_FLAGS, BR_DONE, BR_TAG, BR_SOURCE,
  BRF_FILL, BRF_PERSIST,
  BATCH_FILL_BYTES, BATCH_BAD_SHIFT, BATCH_BAD_DESCS, BATCH_BAD_MAPPING,
  BATCH_BAD_LENGTH, BATCH_BAD_RANGE,
  BATCH_BAD_FLAGS, BATCH_BAD_SOURCE, FAULT_PAGE_MASK, FAULT_REASON_SHIFT,
} from '../core/abi.js';

const WORDS = BATCH_RECORD_BYTES / 4;

/** Why the core refused a batch (dax_batch_error's reason). */
const REFUSALS: Record<number, string> = {
  [BATCH_BAD_DESCS]:
    'the records are not inside this thread\'s scratch below the core\'s fill area',
  [BATCH_BAD_MAPPING]: 'no such mapping (unmapped?)',
  [BATCH_BAD_LENGTH]: 'zero length (or nothing left to store)',
  [BATCH_BAD_RANGE]: 'past the end of the mapping',
  [BATCH_BAD_FLAGS]: 'unknown flags',
  [BATCH_BAD_SOURCE]: 'source bytes outside memory',
};

/**
 * Where the core stopped: record `record` has `done` bytes stored; a fault at `page` for
 * `reason` (FAULT_*).
 */
export interface BatchStop {
  record: number;
  done: number;
  page: number;
  reason: number;
}

export class StoreBatch {
  /** Records this batch holds at most. */
  readonly capacity: number;
  /** Address of the first record (the start of this thread's scratch). */
  private readonly base: number;
  private readonly u32: Uint32Array;
  private count = 0;
  /** Records before this one are stored. */
  private next = 0;

  constructor(private readonly device: PmemDevice, capacity = 256) {
    const scratch = device.scratch();
    const room = Math.floor((scratch.byteLength - BATCH_FILL_BYTES) / BATCH_RECORD_BYTES);
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > room) {
      throw new FsError('EINVAL',
        `a store batch of ${capacity} records does not fit this thread's scratch (at most`
          + ` ${Math.max(0, room)})`);
    }
    this.capacity = capacity;
    this.base = scratch.byteOffset;
    this.u32 = new Uint32Array(scratch.buffer, scratch.byteOffset, capacity * WORDS);
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /**
   * Add a record of `length` bytes at `offset` holding the 64-bit tag (tagHigh * 2^32 +
   * tagLow) in every 8 bytes.
   */
  fill(offset: number, length: number, tagLow: number, tagHigh: number, persist = false): void {
    const w = this.add(offset, length, BRF_FILL | (persist ? BRF_PERSIST : 0));
    this.u32[w + BR_TAG / 4] = tagLow;
    this.u32[w + BR_TAG / 4 + 1] = tagHigh;
  }

  /**
   * Add a record of `length` bytes at `offset` copied from memory address `source` (kept
   * unchanged until stored).
   */
  copy(offset: number, length: number, source: number, persist = false): void {
    const w = this.add(offset, length, persist ? BRF_PERSIST : 0);
    this.u32[w + BR_SOURCE / 4] = source;
  }

  private add(offset: number, length: number, flags: number): number {
    if (this.count === this.capacity) throw new FsError('EINVAL', 'store batch full');
    const w = this.count++ * WORDS;
    const u32 = this.u32;
    u32[w + BR_OFFSET / 4] = offset;
    u32[w + BR_LENGTH / 4] = length;
    u32[w + BR_FLAGS / 4] = flags;
    u32[w + BR_DONE / 4] = 0;
    return w;
  }

  /**
   * Store the records not stored yet through mapping `mappingId`: one call into the core.
   * null when every record is stored (the batch is then empty); else where a fault stopped
   * it (serve the fault, then call again). Throws EINVAL for a batch the core refused.
   */
  store(mappingId: number): BatchStop | null {
    const core = this.device.core;
    const left = this.count - this.next;
    const r = left === 0 ? 0
      : core.dax_store_batch(mappingId, this.base + this.next * BATCH_RECORD_BYTES, left);
    if (r < 0) throw this.refusal(r);
    if (r === left) {
      this.count = 0;
      this.next = 0;
      return null;
    }
    this.next += r;
    const info = core.dax_fault_info() >>> 0;
    return { record: this.next, done: this.u32[this.next * WORDS + BR_DONE / 4]!,
      page: info & FAULT_PAGE_MASK, reason: info >>> FAULT_REASON_SHIFT };
  }

  /** Forget the records not stored (after an error). */
  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  private refusal(r: number): FsError {
    const info = this.device.core.dax_batch_error() >>> 0;
    const reason = info >>> BATCH_BAD_SHIFT;
    const record = this.next + (info & ((1 << BATCH_BAD_SHIFT) - 1));
    this.clear();
    const what = reason === BATCH_BAD_DESCS || reason === BATCH_BAD_MAPPING ? REFUSALS[reason]
      : `record ${record}: ${REFUSALS[reason] ?? `reason ${reason}`}`;
    return new FsError('EINVAL', `dax store batch refused (${r}): ${what}`);
  }
}
