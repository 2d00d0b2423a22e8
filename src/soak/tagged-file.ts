// The oracle of one file that writer threads fill with tagged stores (storeTag in every
// 8-byte word of a slot). It knows each slot's exact content between batches, and during
// a batch the set of values a slot may hold: the one it had when the batch began, or the
// tag of any store the batch made to it (a crash image may show any of them, word by word).
import { storeTag, type WorkloadResult, type WorkloadSpec } from '../workers/writer.js';
import { lastTags, slotSequence } from './slots.js';

/** Counts and the first messages of what the soak found. */
export class Tally {
  storesChecked = 0;
  violations = 0;
  readonly messages: string[] = [];
  violation(message: string): void {
    this.violations++;
    if (this.messages.length < 50) this.messages.push(message);
  }
}

export class TaggedFile {
  /** The expected word of each slot (every word of a slot holds one tag; 0 = never stored). */
  private readonly slotValue: BigUint64Array;
  /** During a batch: per slot, the values a crash image may show. */
  private allowed: Array<Set<bigint>> | null = null;
  private batch: Array<{ spec: WorkloadSpec; slotOf: Int32Array }> = [];

  constructor(readonly path: string, readonly fileBytes: number, readonly storeBytes: number) {
    this.slotValue = new BigUint64Array(Math.floor(fileBytes / storeBytes));
  }

  get slots(): number {
    return this.slotValue.length;
  }

  /** The writers of this file are about to run these specs. */
  beginBatch(specs: WorkloadSpec[]): void {
    this.batch = specs.map((spec) => ({ spec, slotOf: slotSequence(spec) }));
    this.allowed = Array.from(this.slotValue, (v) => new Set([v]));
    for (const { spec, slotOf } of this.batch) {
      for (let seq = 1; seq <= slotOf.length; seq++) {
        this.allowed[slotOf[seq - 1]!]!.add(storeTag(spec.writerIndex, seq));
      }
    }
  }

  /** The batch is over: each slot now holds the last tag stored to it. */
  endBatch(results: WorkloadResult[]): void {
    for (const { spec, slotOf } of this.batch) {
      const result = results.find(
        (r) => r.writerIndex === spec.writerIndex && r.stores === spec.stores,
      );
      if (!result) {
        throw new Error(`soak oracle: no result for writer ${spec.writerIndex} of ${this.path}`);
      }
      for (const [slot, tag] of lastTags(spec, slotOf, result.lastSeq)) {
        this.slotValue[slot] = tag;
      }
    }
    this.allowed = null;
    this.batch = [];
  }

  /** After a crash that lost every store since `bytes` was committed: expect `bytes`. */
  resetTo(bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let slot = 0; slot < this.slots; slot++) {
      this.slotValue[slot] = view.getBigUint64(slot * this.storeBytes, true);
    }
  }

  /** Every word of every slot equals its expected value. */
  checkExact(bytes: Uint8Array, what: string, tally: Tally): void {
    this.check(
      bytes, what, tally, (slot, word) => word === this.slotValue[slot],
      (slot) => `0x${this.slotValue[slot]!.toString(16)}`,
    );
  }

  get inBatch(): boolean {
    return this.allowed !== null;
  }

  /**
   * During a batch: a check that every word is one of the values its slot may hold (the
   * image is checked once the batch is over).
   */
  snapshotAllowed(): (bytes: Uint8Array, what: string, tally: Tally) => void {
    const allowed = this.allowed;
    if (!allowed) throw new Error('soak oracle: snapshotAllowed outside a batch');
    return (bytes, what, tally) => this.check(
      bytes, what, tally, (slot, word) => allowed[slot]!.has(word),
      (slot) => `one of ${allowed[slot]!.size} values`,
    );
  }

  private check(
    bytes: Uint8Array, what: string, tally: Tally,
    ok: (slot: number, word: bigint) => boolean, expected: (slot: number) => string,
  ): void {
    if (bytes.length < this.slots * this.storeBytes) {
      tally.violation(
        `${what}: ${this.path} is ${bytes.length} bytes, `
        + `expected at least ${this.slots * this.storeBytes}`,
      );
      return;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let slot = 0; slot < this.slots; slot++) {
      tally.storesChecked++;
      for (let w = 0; w < this.storeBytes / 8; w++) {
        const word = view.getBigUint64(slot * this.storeBytes + w * 8, true);
        if (!ok(slot, word)) {
          tally.violation(
            `${what}: ${this.path} slot ${slot} word ${w} is 0x${word.toString(16)}, `
            + `expected ${expected(slot)}`,
          );
          break;
        }
      }
    }
  }
}
