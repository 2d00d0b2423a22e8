// This instance's locking mode inside a shared section (store-locks.ts sets it): whether
// several threads are attached, so that stores lock their lines' stripes and number their
// entries by Lamport clocks, and whether it holds the world lock (then nothing else runs).
// A module of its own so that the rings and the numbering can ask without importing the
// locks (which import the rings).
let worldHeldFlag: bool = false;
let lockingStripesFlag: bool = false;

/**
 * Are several threads attached (stores must lock their stripes)? Stable inside a shared section.
 */
@inline export function storesLockStripes(): bool {
  return lockingStripesFlag && !worldHeldFlag;
}

@inline export function setLockingStripes(on: bool): void { lockingStripesFlag = on; }
@inline export function setWorldHeld(on: bool): void { worldHeldFlag = on; }
@inline export function worldHeld(): bool { return worldHeldFlag; }
