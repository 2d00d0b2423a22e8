// The crash explorer borrows the device's scratch from the operation it interrupts (a
// store or fence hook, which may be using it): this saves what it is about to overwrite
// and puts it back.

/** Saves the scratch bytes the explorer is about to use (a growing prefix) and puts them back. */
export class ScratchGuard {
  private savedUpTo = 0;
  private readonly pieces: Array<{ at: number; bytes: Uint8Array }> = [];
  constructor(private readonly scratch: Uint8Array) {}
  touch(end: number): void {
    const to = Math.min(end, this.scratch.length);
    if (to <= this.savedUpTo) return;
    this.pieces.push({ at: this.savedUpTo, bytes: this.scratch.slice(this.savedUpTo, to) });
    this.savedUpTo = to;
  }
  restore(): void {
    for (const p of this.pieces) this.scratch.set(p.bytes, p.at);
    this.pieces.length = 0;
    this.savedUpTo = 0;
  }
}
