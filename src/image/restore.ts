// Restoring a work device to a pristine image between fuzzed images, copying only the
// lines an image changed. A full restore (crash({ into })) copies the whole device; an
// image changes a few KiB (the mutation, the tree blocks and data of its commits).
//
// The changed ranges come from the mutation (mutate.ts records every store and poison)
// and from the file system (PmemDevice.fsWrites: every tree block, superblock, data and
// heal write). Those are all the writes of a campaign: its mappings are read-only, so
// DAX never writes. To be sure of it, every `verifyEvery` restores compare checksums of
// the whole device's bytes with the pristine device's (both have nothing pending after a
// restore: their visible bytes are their media), and a difference is an error (then the
// work device is restored in full).
import { assert } from '../assert.js';
import { FsError } from '../errors.js';
import type { PmemDevice } from '../pmem/device.js';
import { LINE_BYTES } from '../pmem/device.js';
import { REGION } from '../core/abi.js';

export class ImageRestorer {
  private readonly bytes: number;
  private restores = 0;
  /** Ranges [offset, bytes] written since the last restore. */
  readonly written: Array<[number, number]> = [];

  constructor(readonly pristine: PmemDevice, readonly work: PmemDevice,
    private readonly verifyEvery = 256) {
    if (pristine.sizeBytes !== work.sizeBytes) {
      throw new FsError('EINVAL', 'restore needs two devices of one size');
    }
    this.bytes = work.sizeBytes;
    this.full();
  }

  /** The whole device, through the device's own crash image copy. */
  full(): void {
    this.pristine.crash({ into: this.work });
    this.written.length = 0;
  }

  /**
   * Copy the pristine media over the written lines (media and visible bytes), take the
   * pristine line states (no poison, nothing pending) and forget the store log.
   */
  restore(): void {
    if (++this.restores % this.verifyEvery === 0) {
      this.restoreWritten();
      const drift = this.drift();
      if (drift) {
        this.full();
        throw new Error(`image restore drifted: ${drift} differs from the pristine image`);
      }
      return;
    }
    this.restoreWritten();
  }

  private restoreWritten(): void {
    const p = this.pristine, w = this.work;
    const pmem = new Uint8Array(p.memory.buffer), wmem = new Uint8Array(w.memory.buffer);
    // The pristine device is an image: nothing pending, its media is its visible bytes.
    const pVisible = p.region(REGION.visible), wVisible = w.region(REGION.visible);
    for (const [at, n] of this.written) {
      const from = Math.max(0, Math.floor(at / LINE_BYTES) * LINE_BYTES);
      const to = Math.min(this.bytes, Math.ceil((at + Math.max(n, 1)) / LINE_BYTES) * LINE_BYTES);
      if (to <= from) continue;
      wmem.set(pmem.subarray(pVisible + from, pVisible + to), wVisible + from);
      w.markChanged(from, to - from);
    }
    this.written.length = 0;
    const lines = w.region(REGION.lineCount);
    const pState = p.region(REGION.lineState), wState = w.region(REGION.lineState);
    wmem.set(pmem.subarray(pState, pState + lines), wState);
    // Zero patch lines: only the volatile state (log, line lists, pending bits) is reset.
    const reset = w.core.pmem_crash_apply(0);
    assert(reset >= 0, 'an image restore resets the work device\'s store log');
  }

  /** Which bytes differ from the pristine device, or null. */
  private drift(): string | null {
    const p = this.pristine, w = this.work;
    for (const [name, region] of [['visible', REGION.visible]] as const) {
      const a = p.core.csum_crc32c(p.region(region), this.bytes) >>> 0;
      const b = w.core.csum_crc32c(w.region(region), this.bytes) >>> 0;
      if (a !== b) {
        // Name the first differing line (only on this error path: a byte loop is fine).
        const pm = new Uint8Array(p.memory.buffer, p.region(region), this.bytes);
        const wm = new Uint8Array(w.memory.buffer, w.region(region), this.bytes);
        let at = 0;
        while (at < this.bytes && pm[at] === wm[at]) at++;
        return `${name} byte ${at}`;
      }
    }
    return null;
  }
}
