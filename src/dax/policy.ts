// The seven mechanisms that make DAX safe on a COW file system, each behind a switch.
// All on by default; switched off, each reproduces its historical failure (docs/dax.md).
export interface DaxPolicy {
  /**
   * Snapshot and reflink write-protect every mapping of the range that becomes shared
   * (threads 000, 002).
   */
  snapshotWriteProtect: boolean;
  /** Freeze write-protects every mapping; stores wait for thaw (thread 001). */
  freezeWriteProtect: boolean;
  /** The reverse map keeps every (mapping, page) of a block, not just one (thread 003). */
  multiMapping: boolean;
  /** Commit checksums every page dirtied through mmap (thread 002). */
  commitChecksums: boolean;
  /**
   * Commit write-protects mmap-dirtied datacow pages, so the next store COWs again (thread
   * 002).
   */
  cowOncePerTransaction: boolean;
  /**
   * A MAP_SYNC write fault commits the metadata that reaches its block before returning
   * (thread 004).
   */
  mapSyncDurableFault: boolean;
  /**
   * Changing a page-table entry waits until no thread still uses the old one (threads 000,
   * 003).
   */
  tlbShootdown: boolean;
}

export const DEFAULT_DAX_POLICY: Readonly<DaxPolicy> = Object.freeze({
  snapshotWriteProtect: true,
  freezeWriteProtect: true,
  multiMapping: true,
  commitChecksums: true,
  cowOncePerTransaction: true,
  mapSyncDurableFault: true,
  tlbShootdown: true,
});

export const POLICY_NAMES = Object.keys(DEFAULT_DAX_POLICY) as Array<keyof DaxPolicy>;
