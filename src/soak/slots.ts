// Which slot each store of a writer workload goes to, computed on the owning thread with
// the writer's own choice (slotPicker, src/workers/writer.ts). The soak oracle needs it to
// know, for every slot, the tags a crash image may show; the soak checks it against the
// lastSeq the writer reports after every batch (the spec the writer ran is the one given).
import { slotPicker, storeTag, type WorkloadSpec } from '../workers/writer.js';

/** slotOf[seq - 1]: the mapping slot store number `seq` (1-based) writes. */
export function slotSequence(spec: WorkloadSpec): Int32Array {
  const { pick, slot } = slotPicker(spec);
  const out = new Int32Array(spec.stores);
  for (let seq = 1; seq <= spec.stores; seq++) out[seq - 1] = slot(pick(seq));
  return out;
}

/**
 * The last tag each of the writer's slots got in the workload, by slot, and the check
 * that the writer agrees (its lastSeq, indexed by the slot's k). Throws on disagreement:
 * then the oracle, not the file system, is wrong.
 */
export function lastTags(
  spec: WorkloadSpec, slotOf: Int32Array, reported: Uint32Array,
): Map<number, bigint> {
  const { slot: slotOfK, index } = slotPicker(spec);
  const last = new Map<number, bigint>();
  const lastSeq = new Uint32Array(reported.length);
  for (let seq = 1; seq <= slotOf.length; seq++) {
    const slot = slotOf[seq - 1]!;
    last.set(slot, storeTag(spec.writerIndex, seq));
    lastSeq[index(slot)] = seq;
  }
  for (let k = 0; k < reported.length; k++) {
    if (lastSeq[k] !== reported[k]) {
      throw new Error(
        `soak oracle: writer ${spec.writerIndex} slot ${slotOfK(k)}: `
        + `the oracle says seq ${lastSeq[k]}, the writer ${reported[k]}`,
      );
    }
  }
  return last;
}
