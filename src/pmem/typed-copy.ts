// Copy bytes into a view with TypedArray.prototype.set, through a reference taken once.
// Why: on Node 20 the optimized store path looked `set` up on the views of the core's
// memory with a generic property load (a call to V8's LoadIC) at every store, about 4% of a
// 64-byte device.store; `perf` showed the call gone with the reference, and the store ~2 ns
// cheaper (see docs/pmem.md, "What a store costs").
const typedArraySet = Uint8Array.prototype.set;

/** dst.set(src, at), without looking `set` up. */
export function copyInto(dst: Uint8Array, src: Uint8Array, at: number): void {
  typedArraySet.call(dst, src, at);
}
