// What reading a typed array's length, byteLength, byteOffset and buffer costs in this Node,
// against an empty call, and a 64-byte TypedArray.set into a SharedArrayBuffer: why
// PmemDevice.store reads a store's length with .length and asks no small store where its
// bytes are (src/pmem/device.ts; docs/pmem.md section 1, "What a store costs").
//   node bench/typed-array-getters-probe.mjs
// Prints the least time per call (ns) over 100 rounds of 20,000 calls, each a closure call
// like the empty one, so the difference to `empty` is the getter's or the copy's own cost.
const heap = new Uint8Array(64).fill(7);
const shared = new Uint8Array(new SharedArrayBuffer(4096));
let sink = 0;
const probes = {
  empty: (i) => { sink += i; },
  length: () => { sink += heap.length; },
  byteLength: () => { sink += heap.byteLength; },
  byteOffset: () => { sink += heap.byteOffset; },
  buffer: () => { sink += heap.buffer === shared.buffer ? 1 : 0; },
  'set 64 B into a SharedArrayBuffer': () => { shared.set(heap, 64); },
};
const best = Object.fromEntries(Object.keys(probes).map((name) => [name, Infinity]));
let n = 0;
for (let round = 0; round < 100; round++) {
  for (const [name, probe] of Object.entries(probes)) {
    const start = performance.now();
    for (let k = 0; k < 20000; k++) probe(n++);
    best[name] = Math.min(best[name], ((performance.now() - start) * 1e6) / 20000);
  }
}
console.log(`Node ${process.version} (${sink > 0 ? 'ok' : ''})`);
for (const [name, ns] of Object.entries(best)) {
  console.log(`${name.padEnd(36)} ${ns.toFixed(2)} ns  (+${(ns - best.empty).toFixed(2)} over empty)`);
}
