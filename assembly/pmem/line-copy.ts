// One 64-byte line copied with four 16-byte loads and stores. memory.copy of a small fixed
// size leaves the generated code for the engine's memmove (a call per line); the store
// log, crash images and pre-images copy one line at a time on their hot paths. The two
// ranges must not overlap (no caller's do: log slots, pre-images, patches and visible
// lines are separate regions).
import { CHECKS } from "../shared/checks";

// @ts-ignore: decorator
@inline export function copyLine(dst: usize, src: usize): void {
  const a = v128.load(src);
  const b = v128.load(src, 16);
  const c = v128.load(src, 32);
  const d = v128.load(src, 48);
  v128.store(dst, a);
  v128.store(dst, b, 16);
  v128.store(dst, c, 32);
  v128.store(dst, d, 48);
}

// Lines' old bytes out and new bytes in, in one pass: for each 64 bytes, the visible line's
// bytes go to `saved` and `src`'s into the visible line. What a store of whole fresh lines
// does (the pre-images, then the store), with the visible lines read and written while
// they are in the cache once, where two memory.copy calls walk them twice. `src` must not
// overlap the visible lines (the caller checks), and `saved` overlaps neither.
export function swapLines(saved: usize, visible: usize, src: usize, bytes: usize): void {
  assert((bytes & 63) == 0, "line copy: a swap of part of a line");
  for (let at: usize = 0; at < bytes; at += 64) swapLine(saved + at, visible + at, src + at);
}

// One line's old bytes out to `saved` and new bytes from `src` in (swapLines' step; the
// re-store of a pending line calls it once per line). No two of the three overlap.
// @ts-ignore: decorator
@inline export function swapLine(saved: usize, visible: usize, src: usize): void {
  // the new bytes overlap the line they go into, or the saved bytes either
  if (CHECKS) assert((src + 64 <= visible || visible + 64 <= src) && (saved + 64 <= visible
    || visible + 64 <= saved) && (saved + 64 <= src || src + 64 <= saved));
  const o0 = v128.load(visible), o1 = v128.load(visible, 16);
  const o2 = v128.load(visible, 32), o3 = v128.load(visible, 48);
  const n0 = v128.load(src), n1 = v128.load(src, 16);
  const n2 = v128.load(src, 32), n3 = v128.load(src, 48);
  v128.store(saved, o0); v128.store(saved, o1, 16); v128.store(saved, o2, 32);
  v128.store(saved, o3, 48);
  v128.store(visible, n0); v128.store(visible, n1, 16); v128.store(visible, n2, 32);
  v128.store(visible, n3, 48);
}
