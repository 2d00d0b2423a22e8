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
