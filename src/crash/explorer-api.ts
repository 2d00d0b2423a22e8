// What the crash explorer is given and what it reports: its options, a crash point's
// report and the violations in it, and how an image is named (explorer.ts explores).
import type { PmemDevice } from '../pmem/device.js';

/** An image of a crash point: by its index among all of them, or a seeded random one. */
export type ImageChoice = { mode: 'enumerate'; index: bigint } | { mode: 'random'; seed: number };

/** What kind of failure a violation is (docs/crash.md, "Findings"). */
export type ViolationKind = 'crash' | 'unexpected-result' | 'live' | 'abort' | 'internal-error';

export interface Violation {
  /** 'crash' for the explorer's own reports: a crash image the oracle rejected. */
  kind: ViolationKind;
  point: string;
  image: ImageChoice;
  generation: number;
  problems: string[];
}

export interface PointReport {
  point: string;
  /** Legal images at this point (saturating at 2^64-1). */
  images: bigint;
  /** Images looked at (all of them, or the samples). */
  checked: number;
  /** Distinct mounts among them. */
  mounted: number;
  /**
   * Images decided without mounting: same metadata as a mounted one, data checked by the
   * line table.
   */
  tableChecked: number;
  /** Images not mounted because the same contents passed at an earlier point. */
  remembered: number;
  sampled: boolean;
  violations: Violation[];
}

export interface ExplorerOptions {
  /** Enumerate every image when there are at most this many (default 10^4). */
  enumerateBound?: number;
  /** Samples per point beyond the bound (default 256). */
  samples?: number;
  /** Seed of the samples. */
  seed?: number;
  /** A device of the same size to build images into (reused; one is made if absent). */
  target?: PmemDevice;
  /**
   * Check images that share a mounted image's metadata by their data lines alone
   * (default true).
   */
  lineTables?: boolean;
  /**
   * Another handle on the same device (`PmemDevice.attach(device.handle())`, its own
   * thread slot): the explorer works in its scratch, never in the scratch of the operation
   * it interrupts. Without one, the explorer saves the device's scratch before each crash
   * point and puts it back after (tens of KiB a point).
   */
  workspace?: PmemDevice;
  /**
   * Called with each crash violation found by mounting its image, and the device holding
   * that image (the explorer's target, valid until the hook returns): to save it
   * (`pmcow replay --image-out`).
   */
  onViolationImage?: (violation: Violation, image: PmemDevice) => void;
  /**
   * Each image the explorer mounts, as the crash left it (before the mount, which may
   * replay orphans into a transaction of its own): `npm run check:btrfs-progs` hands it to
   * btrfs check. Called synchronously; the device is valid only during the call.
   */
  onImage?: (image: PmemDevice) => void;
}
