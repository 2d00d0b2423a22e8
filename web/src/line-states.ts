// The state of every 64-byte line of the device, for the grid. One byte per line:
//   clean: not stored to since the page loaded;  durable: stored to, and on media;
//   dirty: stores not yet on media;  flush-pending: a clwb/clflushopt is queued for it,
//   waiting for its thread's sfence;  poisoned: a media error.
// Read straight from the core's shared memory: the per-line state bytes (pmem_region
// lineState), each thread's flush queue (one record per flushed range) and the line change
// stamps (every store stamps its lines; refresh starts a new stamp epoch, the one write
// here, so that a line stored and written back between two refreshes shows). The offsets
// are the core's (assembly/abi.ts, through src/core/abi.ts); the reads race with writer threads, which is fine for a
// picture that is redrawn several times a second.
import type { PmemDevice } from '../../src/pmem/device.js';
import {
  FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, FQ_FIRST, FQ_COUNT, H_LINE_STAMP, H_THREADS, H_THREAD_STRIDE,
  LINE_PENDING, LINE_POISON, REGION,
} from '../../src/core/abi.js';
import { DEVICE_BASE } from '../../src/core/module.js';

export const LINE_STATE = { clean: 0, durable: 1, dirty: 2, flushPending: 3, poisoned: 4 } as const;
export type LineStateName = keyof typeof LINE_STATE;
export const LINE_STATE_NAMES = Object.keys(LINE_STATE) as LineStateName[];

export class LineStates {
  /** One LINE_STATE value per line. */
  readonly states: Uint8Array;
  readonly counts = new Uint32Array(LINE_STATE_NAMES.length);
  /** Lines seen stored to since the page loaded (or the last remount). */
  private readonly touched: Uint8Array;
  private readonly flushQueued: Uint8Array;
  /** Stamp epoch of the last refresh: lines stamped after it changed since. */
  private sinceEpoch: number;
  private readonly raw: Uint8Array;
  private readonly words: DataView;

  constructor(private readonly device: PmemDevice) {
    const lineCount = device.region(REGION.lineCount);
    this.states = new Uint8Array(lineCount);
    this.touched = new Uint8Array(lineCount);
    this.flushQueued = new Uint8Array(lineCount);
    this.raw = new Uint8Array(device.memory.buffer, device.region(REGION.lineState), lineCount);
    this.words = new DataView(device.memory.buffer);
    this.sinceEpoch = this.advanceEpoch();
  }

  private advanceEpoch(): number {
    return this.device.core.pmem_stamps_advance() >>> 0;
  }

  get lineCount(): number {
    return this.states.length;
  }

  /** Re-read the device. Cost: one pass over the lines and over the queued flush ranges. */
  refresh(): void {
    const u32 = (addr: number): number => this.words.getUint32(addr, true);
    // Lines stored to (or written back) since the last refresh: stamped after its epoch.
    const since = this.sinceEpoch;
    this.sinceEpoch = this.advanceEpoch();
    const stamps = new Uint32Array(this.device.memory.buffer, u32(DEVICE_BASE + H_LINE_STAMP), this.touched.length);
    for (let line = 0; line < stamps.length; line++) {
      if (((stamps[line]! - since) | 0) > 0) this.touched[line] = 1; // stamps wrap: a signed difference
    }
    // Lines whose write-back waits for a fence, in any thread's queue.
    this.flushQueued.fill(0);
    const threads = u32(DEVICE_BASE + H_THREADS);
    const stride = u32(DEVICE_BASE + H_THREAD_STRIDE);
    for (let slot = 0; slot < this.device.config.maxThreads; slot++) {
      const area = threads + slot * stride;
      const queued = Math.min(u32(area), this.device.config.flushQueueCapacity);
      for (let i = 0; i < queued; i++) {
        const record = area + FLUSHQ_FIRST_ENTRY + i * FLUSHQ_ENTRY_BYTES;
        const first = u32(record + FQ_FIRST);
        const end = Math.min(first + u32(record + FQ_COUNT), this.flushQueued.length);
        if (first < end) this.flushQueued.fill(1, first, end);
      }
    }
    this.counts.fill(0);
    const { states, raw, touched, flushQueued, counts } = this;
    for (let line = 0; line < states.length; line++) {
      const bits = raw[line]!;
      let s: number;
      if (bits & LINE_POISON) s = LINE_STATE.poisoned;
      else if (bits & LINE_PENDING) { touched[line] = 1; s = flushQueued[line] ? LINE_STATE.flushPending : LINE_STATE.dirty; }
      else s = touched[line] ? LINE_STATE.durable : LINE_STATE.clean;
      states[line] = s;
      counts[s]!++;
    }
  }

  /** After a crash: what was stored before it says nothing about the new image. */
  forget(): void {
    this.touched.fill(0);
    this.sinceEpoch = this.advanceEpoch();
  }
}
