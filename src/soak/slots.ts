// Which slot each store of a writer workload goes to, computed on the owning thread.
// The soak oracle needs it to know, for every slot, the tags a crash image may show; it
// repeats the choice Writer.run makes (src/workers/writer.ts) from the same spec, and the
// soak checks the replica against the lastSeq the writer reports after every batch.
import { storeTag, type WorkloadSpec } from '../workers/writer.js';

/** Slots of the mapping that writer `spec.writerIndex` owns (slot % writers == writerIndex). */
export function ownedSlots(spec: WorkloadSpec): number {
  const slots = Math.floor(spec.mapping.length / spec.storeBytes);
  return Math.ceil((slots - spec.writerIndex) / spec.writers);
}

/** slotOf[seq - 1]: the mapping slot store number `seq` (1-based) writes. */
export function slotSequence(spec: WorkloadSpec): Int32Array {
  const mine = ownedSlots(spec);
  const slotsPerPage = Math.max(1, Math.floor(4096 / spec.storeBytes));
  const hotMine = Math.max(1, Math.min(mine, Math.floor(((spec.hotPages ?? 2) * slotsPerPage) / spec.writers)));
  // The same xorshift32, seeded the same way, as Writer.run.
  let state = (spec.seed * 2654435761 + spec.writerIndex * 97 + 1) >>> 0;
  const next = (n: number): number => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state % n; };
  const out = new Int32Array(spec.stores);
  for (let seq = 1; seq <= spec.stores; seq++) {
    const k = spec.kind === 'sequential' ? (seq - 1) % mine : spec.kind === 'random' ? next(mine) : next(hotMine);
    out[seq - 1] = k * spec.writers + spec.writerIndex;
  }
  return out;
}

/**
 * The last tag each of the writer's slots got in the workload, by slot, and the check
 * that the writer agrees (its lastSeq, indexed by slot / writers). Throws on disagreement:
 * then the oracle, not the file system, is wrong.
 */
export function lastTags(spec: WorkloadSpec, slotOf: Int32Array, reported: Uint32Array): Map<number, bigint> {
  const last = new Map<number, bigint>();
  const lastSeq = new Uint32Array(reported.length);
  for (let seq = 1; seq <= slotOf.length; seq++) {
    const slot = slotOf[seq - 1]!;
    last.set(slot, storeTag(spec.writerIndex, seq));
    lastSeq[Math.floor(slot / spec.writers)] = seq;
  }
  for (let k = 0; k < reported.length; k++) {
    if (lastSeq[k] !== reported[k]) {
      throw new Error(`soak oracle: writer ${spec.writerIndex} slot ${k * spec.writers + spec.writerIndex}: replica says seq ${lastSeq[k]}, the writer ${reported[k]}`);
    }
  }
  return last;
}
