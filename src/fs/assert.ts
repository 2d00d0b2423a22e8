// Assertions on what the TypeScript itself guarantees (issue 18 point 5): a broken one is a
// bug of pmcow, named by its message, never a media error or a corrupt image (those stay
// FsError EIO / EUCLEAN). Kept cheap: callers on hot paths assert O(1) facts only.

/** Throws an Error (not an FsError) naming the broken invariant when `ok` is false. */
export function assert(ok: boolean, invariant: string): asserts ok {
  if (!ok) throw new Error(`assertion failed: ${invariant}`);
}
