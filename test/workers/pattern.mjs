// Deterministic content shared by the store workers and the test that checks them.
import { Rng } from '../../dist/random.js'; // the project's generator (src/random.ts), built

export function patternByte(thread, offset) {
  return ((offset * 2654435761 + thread * 40503) >>> 13) & 0xff;
}

export function sharedWord(thread, word, round) {
  return (BigInt(thread + 1) << 56n) | (BigInt(round) << 32n) | BigInt(word);
}

export function shuffledChunks(total, seed) {
  const chunks = [];
  const rng = new Rng(seed * 7919);
  const rnd = (n) => rng.below(n);
  for (let at = 0; at < total;) {
    const length = Math.min(1 + rnd(700), total - at);
    chunks.push([at, length]);
    at += length;
  }
  for (let i = chunks.length - 1; i > 0; i--) {
    const j = rnd(i + 1);
    [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
  }
  return chunks;
}

// The same stores in batches (PmemDevice.storeBatch): `chunks` of `thread`'s pattern at
// `base`, `perBatch` chunks a call.
export function storeChunksBatched(dev, thread, base, chunks, perBatch = 16) {
  for (let first = 0; first < chunks.length; first += perBatch) {
    const batch = chunks.slice(first, first + perBatch);
    const bytes = new Uint8Array(batch.reduce((n, [, length]) => n + length, 0));
    let at = 0;
    for (const [offset, length] of batch) {
      for (let i = 0; i < length; i++) bytes[at + i] = patternByte(thread, offset + i);
      at += length;
    }
    dev.storeBatch(batch.map(([offset]) => base + offset), batch.map(([, length]) => length), bytes);
  }
}

// One round of `thread`'s shared words (every `threads`-th 8-byte word) in one batch.
export function storeSharedRound(dev, thread, threads, sharedBase, sharedBytes, round) {
  const addrs = [];
  const words = [];
  for (let word = thread; word < sharedBytes / 8; word += threads) {
    addrs.push(sharedBase + word * 8);
    words.push(sharedWord(thread, word, round));
  }
  dev.storeBatch(addrs, 8, BigUint64Array.from(words));
}
