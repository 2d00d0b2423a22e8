// A writer for the concurrent crash test: in each round it stores its words of the shared
// lines (8-byte aligned: they never tear), flushes them (clwb) and fences, then publishes
// the round as persisted. Every word is sharedWord(thread, word, round). Plain JS.
import { parentPort, workerData } from 'node:worker_threads';
import { PmemDevice } from '../../dist/index.js';
import { sharedWord } from './pattern.mjs';

const { handle, thread, threads, base, bytes, rounds, go, progress } = workerData;
const dev = PmemDevice.attach(handle);
const gate = new Int32Array(go);
const persisted = new Int32Array(progress);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0); // start together with the other writers

for (let round = 1; round <= rounds; round++) {
  Atomics.store(persisted, threads + thread, round); // storing this round from now on
  for (let word = thread; word < bytes / 8; word += threads) dev.storeU64(base + word * 8, sharedWord(thread, word, round));
  // Every other round: flush each line this thread stored, then one fence.
  if (round % 2 === 0) {
    dev.flush(base, bytes, 'clwb');
    dev.sfence();
    Atomics.store(persisted, thread, round);
  }
}
dev.close();
parentPort.postMessage({ thread });
