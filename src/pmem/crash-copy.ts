// Copying a crash image into its target device: the source's visible bytes (all of them,
// or only the lines either side changed since the target last held the source's image),
// its line states when poison must carry over, and the patch of the image's lines.
import { checkCoreResult } from '../errors.js';
import type { CoreExports } from '../core/exports.js';
import { H_POISONED_LINES, LINE_BYTES, PATCH_BYTES, REGION } from '../core/abi.js';
import { DEVICE_BASE } from '../core/module.js';

/** What the copy reads and writes of a device (PmemDevice hands out its own). */
export interface ImageEnd {
  /** The whole shared memory, and where the device's visible bytes start in it. */
  readonly bytes: Uint8Array;
  readonly visibleAddr: number;
  readonly core: CoreExports;
  readonly sizeBytes: number;
  /** A core region address or size, unsigned. */
  region(which: number): number;
}

/** The target's stamp epochs when it last took an image of this same source. */
interface HeldEpochs { sourceEpoch: number; ownEpoch: number }

/**
 * Copy the source's visible bytes (the lock held by the crash build), line states and
 * patch (with the overlay: every pending line is in it) into `next`. `held`: the epochs
 * of the image of this source that `next` holds, or null. `incremental`: only lines
 * changed since on either side were copied; otherwise all were. `sourceEpoch`: the
 * source's stamp epoch as of the copy.
 */
export function copyImageInto(
  source: ImageEnd, next: ImageEnd, slots: number, held: HeldEpochs | null,
): { incremental: boolean; sourceEpoch: number } {
  const incremental = held !== null
    && copyChangedLines(source, next, held.sourceEpoch, held.ownEpoch);
  if (!incremental) {
    const from = source.visibleAddr;
    next.bytes.set(source.bytes.subarray(from, from + source.sizeBytes), next.visibleAddr);
  }
  const sourceEpoch = checkCoreResult(source.core.pmem_stamps_advance(), 'stamp epoch');
  // Line states carry the media errors (poison) into the image; pending bits are the
  // patch's (the apply clears them). Without poison on either side there is nothing to
  // carry: the copy (a state byte per line) is skipped.
  if (poisonedLinesUnlocked(source) > 0 || poisonedLinesUnlocked(next) > 0) {
    const lineState = source.region(REGION.lineState);
    const lineCount = source.region(REGION.lineCount);
    next.bytes.set(
      source.bytes.subarray(lineState, lineState + lineCount), next.region(REGION.lineState),
    );
    checkCoreResult(next.core.pmem_recount_poisoned(), 'count poisoned lines');
  }
  const patch = source.region(REGION.patch);
  next.bytes.set(
    source.bytes.subarray(patch, patch + slots * PATCH_BYTES), next.region(REGION.patch),
  );
  return { incremental, sourceEpoch };
}

/**
 * Lines the source changed after `sourceEpoch` (stores and write-backs are stamped), and
 * lines `next` changed after `ownEpoch` (its patch, a mount's stores), get the source's
 * visible bytes, in runs (the patch then sets the pending ones). False when either side
 * changed too many runs: the caller copies everything.
 */
function copyChangedLines(
  source: ImageEnd, next: ImageEnd, sourceEpoch: number, ownEpoch: number,
): boolean {
  const sourceRuns = source.core.pmem_stamp_runs(sourceEpoch);
  const targetRuns = next.core.pmem_stamp_runs(ownEpoch);
  if (sourceRuns < 0 || targetRuns < 0) return false;
  const sourceList = new Uint32Array(
    source.bytes.buffer, source.region(REGION.stampRuns), 2 * sourceRuns,
  );
  const targetList = new Uint32Array(
    next.bytes.buffer, next.region(REGION.stampRuns), 2 * targetRuns,
  );
  // Past an eighth of the device, one copy of everything is cheaper than many runs.
  let lines = 0;
  for (let r = 1; r < sourceList.length; r += 2) lines += sourceList[r]!;
  for (let r = 1; r < targetList.length; r += 2) lines += targetList[r]!;
  if (lines * LINE_BYTES * 8 > source.sizeBytes) return false;
  copyRuns(source, next, sourceList);
  copyRuns(source, next, targetList);
  return true;
}

/** The source's visible bytes of each run [line, line + count) into `next`. */
function copyRuns(source: ImageEnd, next: ImageEnd, runs: Uint32Array): void {
  for (let r = 0; r < runs.length; r += 2) {
    const from = runs[r]! * LINE_BYTES, to = from + runs[r + 1]! * LINE_BYTES;
    next.bytes.set(
      source.bytes.subarray(source.visibleAddr + from, source.visibleAddr + to),
      next.visibleAddr + from,
    );
  }
}

/**
 * The poisoned-line count read from the header, for a caller holding the world lock (a crash
 * build).
 */
function poisonedLinesUnlocked(device: ImageEnd): number {
  return new DataView(device.bytes.buffer).getUint32(DEVICE_BASE + H_POISONED_LINES, true);
}
