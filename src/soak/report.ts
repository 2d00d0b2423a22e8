// The soak's totals: what it checked, what it did, and what it found.
export interface SoakReport {
  /** Slot comparisons against the oracle: one per 64-byte tagged slot per file state checked. */
  storesChecked: number;
  violations: number;
  /** Commits that wrote a new generation (explicit, implicit, MAP_SYNC faults). */
  commits: number;
  snapshots: number;
  reflinks: number;
  freezes: number;
  /** Crash images taken (mid-batch and at reboots). */
  crashes: number;
  /** Mounts of crash images (mid-batch images and reboots). */
  remounts: number;
  /** Reboots: the campaign went on from a crash image of its device. */
  reboots: number;
  fsckErrors: number;
  rounds: number;
  /** Stores the writer threads made. */
  writerStores: number;
  elapsedMs: number;
  /** The first violation messages (at most 50). */
  messages: string[];
}

/** All totals zero; `messages` is the tally's list (the report shows it as it grows). */
export function emptySoakReport(messages: string[]): SoakReport {
  return {
    storesChecked: 0, violations: 0, commits: 0, snapshots: 0, reflinks: 0, freezes: 0,
    crashes: 0, remounts: 0, reboots: 0, fsckErrors: 0, rounds: 0, writerStores: 0,
    elapsedMs: 0, messages,
  };
}
