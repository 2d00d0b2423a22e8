// One 64-byte line copied with four 16-byte loads and stores. memory.copy of a small fixed
// size leaves the generated code for the engine's memmove (a call per line); the store
// log, crash images and pre-images copy one line at a time on their hot paths. The two
// ranges must not overlap (no caller's do: log slots, pre-images, patches and visible
// lines are separate regions).
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
