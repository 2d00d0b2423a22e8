// The state of every 64-byte line of the device, for the grid. One byte per line:
//   clean: not stored to since the page loaded;  durable: stored to, and on media;
//   dirty: stores not yet on media;  flush-pending: a clwb/clflushopt is queued for it,
//   waiting for its thread's sfence;  poisoned: a media error.
// Read straight from the core's shared memory (nothing here writes): the per-line state
// bytes (pmem_region lineState), each thread's flush queue and the store log. The offsets
// are the core's (assembly/abi.ts, through src/core/abi.ts); the reads race with writer threads, which is fine for a
// picture that is redrawn several times a second.
import type { PmemDevice } from '../../src/pmem/device.js';
import {
  ENTRY_BYTES, ENTRY_LINE, FLUSHQ_ENTRY_BYTES, FLUSHQ_FIRST_ENTRY, H_LOG, H_LOG_HEAD, H_THREADS, H_THREAD_STRIDE,
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
  /** Store-log sequence number up to which `touched` has read the log. */
  private seenHead = 0;
  private readonly raw: Uint8Array;
  private readonly words: DataView;

  constructor(private readonly device: PmemDevice) {
    const lineCount = device.region(REGION.lineCount);
    this.states = new Uint8Array(lineCount);
    this.touched = new Uint8Array(lineCount);
    this.flushQueued = new Uint8Array(lineCount);
    this.raw = new Uint8Array(device.memory.buffer, device.region(REGION.lineState), lineCount);
    this.words = new DataView(device.memory.buffer);
  }

  get lineCount(): number {
    return this.states.length;
  }

  /** Re-read the device. Cost: one pass over the lines, and the store-log entries appended since the last call. */
  refresh(): void {
    const u32 = (addr: number): number => this.words.getUint32(addr, true);
    // Lines stored to: each store-log entry appended since the last refresh names its line
    // (the ring keeps the newest logCapacity; a crash restarts the sequence at 0).
    const logAddr = u32(DEVICE_BASE + H_LOG);
    const capacity = this.device.config.logCapacity;
    const head = u32(DEVICE_BASE + H_LOG_HEAD);
    if (head < this.seenHead) this.seenHead = 0;
    for (let seq = Math.max(this.seenHead, head - capacity); seq < head; seq++) {
      const line = u32(logAddr + (seq % capacity) * ENTRY_BYTES + ENTRY_LINE);
      if (line < this.touched.length) this.touched[line] = 1;
    }
    this.seenHead = head;
    // Lines whose write-back waits for a fence, in any thread's queue.
    this.flushQueued.fill(0);
    const threads = u32(DEVICE_BASE + H_THREADS);
    const stride = u32(DEVICE_BASE + H_THREAD_STRIDE);
    for (let slot = 0; slot < this.device.config.maxThreads; slot++) {
      const area = threads + slot * stride;
      const queued = Math.min(u32(area), this.device.config.flushQueueCapacity);
      for (let i = 0; i < queued; i++) {
        const line = u32(area + FLUSHQ_FIRST_ENTRY + i * FLUSHQ_ENTRY_BYTES);
        if (line < this.flushQueued.length) this.flushQueued[line] = 1;
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
    this.seenHead = 0;
  }
}
