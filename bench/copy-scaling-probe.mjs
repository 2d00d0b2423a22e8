// What two threads get on this machine with no pmcow code at all: each worker does the
// least an undo log moves per 4 KiB store (the old bytes out to a ring, the new bytes in,
// TypedArray copies in a SharedArrayBuffer of its own) at random slots, one worker alone,
// then two at once, both timed from a common start after their setup. The ratio is the
// ceiling the writer threads' 2-writers / 1-writer figure (bench/writers-probe.mjs, the dax
// bench) can reach here: the cores, caches and memory are shared with other tenants.
//   node bench/copy-scaling-probe.mjs [spanKiB] [rounds]
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const STORES = 600_000;

if (isMainThread) {
  const spanKiB = Number(process.argv[2] ?? 1024);
  const rounds = Number(process.argv[3] ?? 5);
  if (!(spanKiB >= 4) || spanKiB % 4 !== 0 || !(rounds > 0)) {
    throw new Error('usage: copy-scaling-probe.mjs [spanKiB, a multiple of 4] [rounds]');
  }
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const one = await run(1, spanKiB), two = await run(2, spanKiB);
    ratios.push((2 * one) / two);
    console.log(`round ${r + 1}: 1 worker ${(one * 1e6 / STORES).toFixed(0)} ns per 4 KiB, `
      + `2 workers ${(two * 1e6 / (2 * STORES)).toFixed(0)} ns aggregate, ratio ${ratios.at(-1).toFixed(2)}`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(`span ${spanKiB} KiB: 2 workers / 1 worker, median of ${rounds}: ${sorted[sorted.length >> 1].toFixed(2)}`);
} else {
  const { spanKiB } = workerData;
  const slots = spanKiB / 4;
  const bytes = new Uint8Array(new SharedArrayBuffer(spanKiB * 2048));
  const ring = spanKiB * 1024;
  const src = new Uint8Array(4096).fill(7);
  parentPort.once('message', () => {
    let x = 1;
    for (let i = 0; i < STORES; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const at = ((x >>> 8) % slots) * 4096;
      bytes.copyWithin(ring + (i % slots) * 4096, at, at + 4096);
      bytes.set(src, at);
    }
    parentPort.postMessage(x);
  });
  parentPort.postMessage('ready');
}

// Time `count` workers from the moment all are ready until the last one is done (ms).
function run(count, spanKiB) {
  return new Promise((resolve, reject) => {
    const workers = [];
    let ready = 0, done = 0, started = 0;
    for (let w = 0; w < count; w++) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { spanKiB } });
      workers.push(worker);
      worker.on('error', reject);
      worker.on('message', (m) => {
        if (m === 'ready') {
          if (++ready === count) { started = performance.now(); for (const x of workers) x.postMessage('go'); }
        } else if (++done === count) {
          resolve(performance.now() - started);
          for (const x of workers) void x.terminate();
        }
      });
    }
  });
}
