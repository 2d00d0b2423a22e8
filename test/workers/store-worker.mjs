// A writer thread for the shared-memory tests: attaches its own core instance to the
// device and stores a deterministic pattern. Plain JS (vitest cannot run TS workers).
import { parentPort, workerData } from 'node:worker_threads';
import { PmemDevice } from '../../dist/index.js';
import {
  patternByte, sharedWord, shuffledChunks, storeChunksBatched, storeSharedRound,
} from './pattern.mjs';

const { handle, thread, threads, privateBase, privateBytes, sharedBase, sharedBytes, rounds, go, batch } = workerData;
const dev = PmemDevice.attach(handle);
const gate = new Int32Array(go);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0); // start together with the other writers

// Private region: random-length chunks in shuffled order (with `batch`, 16 a storeBatch call).
const base = privateBase + thread * privateBytes;
if (batch) storeChunksBatched(dev, thread, base, shuffledChunks(privateBytes, thread + 1));
for (const [offset, length] of batch ? [] : shuffledChunks(privateBytes, thread + 1)) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = patternByte(thread, offset + i);
  dev.store(base + offset, bytes);
}
dev.persist(base, privateBytes);

// Shared lines: this thread owns every `threads`-th 8-byte word; all threads hammer the
// same cachelines at once.
for (let round = 0; round < rounds; round++) {
  if (batch) {
    storeSharedRound(dev, thread, threads, sharedBase, sharedBytes, round);
    continue;
  }
  for (let word = thread; word < sharedBytes / 8; word += threads) {
    dev.storeU64(sharedBase + word * 8, sharedWord(thread, word, round));
  }
}
dev.persist(sharedBase, sharedBytes);
const slot = dev.threadSlot;
dev.close();
parentPort.postMessage({ thread, slot });
