// The soak's options as given (SoakOptions) and as checked, with their defaults filled in
// (SoakSettings): every bad option is refused with EINVAL before anything starts.
import { FsError, describeValue, requireKnownOptions } from '../errors.js';
import type { DaxPolicy } from '../dax/policy.js';
import type { SlotLayout } from '../workers/writer.js';
import type { SoakReport } from './report.js';

export interface SoakOptions {
  /** Run for at least this long (default 5000 ms)... */
  durationMs?: number;
  /** ...and at least this many batches (default 2). The last batch always ends in a reboot. */
  minRounds?: number;
  /** Writer threads, 2..7 (default 2): even ones store into /d, odd ones into /n. */
  writers?: number;
  /** Seeds the choice of operations, crash images and writer workloads (default 1). */
  seed?: number;
  /** Device size (default 32 MiB). */
  deviceBytes?: number;
  /** Stores per writer per batch (default 3000). */
  storesPerBatch?: number;
  /** Reboot into a crash image after every this many batches (default 2). */
  rebootEvery?: number;
  /** Writer entry script (default: dist/workers/node-entry.js, next to the compiled pool). */
  entryUrl?: URL;
  /** Which slots of a file each writer of it owns (WorkloadSpec.layout; default 'interleaved'). */
  layout?: SlotLayout;
  /** DAX switches (default all on): a switch turned off must show up as violations. */
  dax?: Partial<DaxPolicy>;
  /** Called after every batch with the totals so far. */
  onProgress?: (report: SoakReport) => void;
}

/** SoakOptions checked, defaults filled in. */
export interface SoakSettings {
  durationMs: number;
  minRounds: number;
  writers: number;
  seed: number;
  deviceBytes: number;
  storesPerBatch: number;
  rebootEvery: number;
  dax: Partial<DaxPolicy>;
  layout: SlotLayout;
  entryUrl: URL | undefined;
  onProgress: ((report: SoakReport) => void) | undefined;
}

/** An optional integer option: undefined is the fallback. */
function checkCount(
  value: unknown, name: string, fallback: number, min: number, max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new FsError(
      'EINVAL', `${name} must be an integer in ${min}..${max}, got ${describeValue(value)}`,
    );
  }
  return value;
}

const SOAK_OPTION_NAMES: readonly (keyof SoakOptions)[] = [
  'durationMs', 'minRounds', 'writers', 'seed', 'deviceBytes', 'storesPerBatch', 'rebootEvery',
  'entryUrl', 'layout', 'dax', 'onProgress',
];

export function soakSettings(options: SoakOptions): SoakSettings {
  requireKnownOptions(options, SOAK_OPTION_NAMES, 'soak options');
  const durationMs = checkCount(options.durationMs, 'durationMs', 5000, 0, 2 ** 40);
  const minRounds = checkCount(options.minRounds, 'minRounds', 2, 1, 2 ** 30);
  const writers = checkCount(options.writers, 'writers', 2, 2, 7);
  const seed = checkCount(options.seed, 'seed', 1, 0, 2 ** 31);
  const deviceBytes = checkCount(
    options.deviceBytes, 'deviceBytes', 32 << 20, 16 << 20, 1 << 30,
  );
  const storesPerBatch = checkCount(
    options.storesPerBatch, 'storesPerBatch', 3000, 1, 1 << 24,
  );
  const rebootEvery = checkCount(options.rebootEvery, 'rebootEvery', 2, 1, 2 ** 30);
  const dax = options.dax === undefined ? {} : options.dax;
  const layout = options.layout ?? 'interleaved';
  if (layout !== 'interleaved' && layout !== 'partitioned') {
    throw new FsError(
      'EINVAL',
      `soak layout must be 'interleaved' or 'partitioned', got ${describeValue(layout)}`,
    );
  }
  return {
    durationMs, minRounds, writers, seed, deviceBytes, storesPerBatch, rebootEvery, dax, layout,
    entryUrl: options.entryUrl, onProgress: options.onProgress,
  };
}
