// Worker-thread entry of a parallel fuzz campaign (fuzz-parallel.ts): runs one sub-shard
// of the campaign and posts its progress and its report.
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz, type FuzzOptions } from './fuzz.js';

const { counter, ...options } = workerData as FuzzOptions & { counter: Int32Array };
// The next script position comes from a counter all the campaign's threads share.
fuzz({
  ...options, claim: () => Atomics.add(counter, 0, 1),
  onScript: (progress) => parentPort!.postMessage({ kind: 'progress', progress }),
  onFinding: (finding) => parentPort!.postMessage({ kind: 'finding', finding }),
})
  .then((report) => parentPort!.postMessage({ kind: 'report', report }))
  .catch((e: unknown) => parentPort!.postMessage({
    kind: 'error', code: (e as { code?: string }).code, message: (e as Error).message,
  }));
