// A crash target reused across images gets only the lines that changed since its last
// image (on the source's media, or on the target itself: its patch, a mount's stores).
// These tests hold that copy to the full one: every image built into a reused target is
// byte for byte the image built into a fresh device, on random store, flush, fence and
// eviction sequences, with the target written between images and bytes written behind
// the core's back (markChanged). The media fingerprint's per-chunk crc cache is held to
// content: equal contents give equal fingerprints, a changed line a different one.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { REGION } from '../src/core/abi.js';
import type { PmemDevice } from '../src/index.js';
import { device, expectSameBytes } from './helpers/device.js';

const SIZE = 1 << 16;

function randomBytes(rng: Rng, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => rng.below(256));
}

/** A random step on the source: stores (some crossing lines), flushes, fences. */
function step(dev: PmemDevice, rng: Rng): void {
  const r = rng.below(10);
  const addr = Math.min(rng.below(SIZE / 64) * 64 + rng.below(64), SIZE - 512);
  if (r < 5) dev.store(Math.min(addr, SIZE - 200), randomBytes(rng, rng.between(1, 200)));
  else if (r < 6) dev.ntStore(Math.min(addr, SIZE - 64), randomBytes(rng, rng.between(1, 64)));
  else if (r < 8) dev.flush(addr, rng.between(1, 512), rng.pick(['clwb', 'clflushopt', 'clflush'] as const));
  else dev.sfence();
}

function expectSameImage(a: PmemDevice, b: PmemDevice, what: string): void {
  expectSameBytes(a.readMedia(0, SIZE), b.readMedia(0, SIZE), `${what}: media`);
  expectSameBytes(a.load(0, SIZE), b.load(0, SIZE), `${what}: visible`);
  expect(a.linesPending(), `${what}: pending lines`).toBe(0);
  // No line state still says pending (a target copies the source's states, pending bits too).
  expect(a.core.pmem_pending_lines(0, SIZE), `${what}: lines marked pending`).toBe(0);
}

describe('crash images into a reused target', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: every image equals the same image built into a fresh device`, async () => {
      const rng = new Rng(seed);
      // A small log, so that stores evict lines to media between images.
      const dev = await device(SIZE, { logCapacity: 64 });
      const target = dev.crash({ mode: 'strict' });
      let images = 0;
      for (let round = 0; round < 60; round++) {
        const steps = rng.between(0, 30);
        for (let i = 0; i < steps; i++) step(dev, rng);
        const at = rng.below(SIZE / 64) * 64;
        if (rng.chance(0.1) && dev.lineInfo(at).pendingStores === 0) {
          // Bytes written behind the core's back, as a fuzzer's garbage fill does (on a
          // line with no pending store: its visible bytes are its media).
          const view = new Uint8Array(dev.memory.buffer);
          const value = rng.below(256);
          view.fill(value, dev.region(REGION.visible) + at, dev.region(REGION.visible) + at + 64);
          dev.markChanged(at, 64);
        }
        const crashSeed = rng.u32();
        dev.crash({ mode: 'random', seed: crashSeed, into: target });
        const fresh = dev.crash({ mode: 'random', seed: crashSeed });
        expectSameImage(target, fresh, `round ${round}`);
        images++;
        if (rng.chance(0.15)) {
          // The source reboots into an image (only its pending lines get visible = media):
          // the same bytes as that image built into a fresh device.
          const seed = rng.u32();
          const expected = dev.crash({ mode: 'random', seed });
          dev.crashInPlace({ mode: 'random', seed });
          expectSameImage(dev, expected, `round ${round}: crashInPlace`);
        }
        // The target is used between images, as a mount would use it.
        const writes = rng.between(0, 8);
        for (let i = 0; i < writes; i++) step(target, rng);
      }
      expect(images).toBe(60);
    });
  }

  it('a target last filled from another device gets a full copy', async () => {
    const a = await device(SIZE), b = await device(SIZE);
    a.store(0, new Uint8Array(64).fill(1)); a.persist(0, 64);
    b.store(64, new Uint8Array(64).fill(2)); b.persist(64, 64);
    const target = a.crash();
    b.crash({ into: target });
    expectSameImage(target, b.crash(), 'image of b');
    a.crash({ into: target });
    expectSameImage(target, a.crash(), 'image of a again');
  });

  it('a target crashed in place (every line changed) is rebuilt whole', async () => {
    const dev = await device(SIZE);
    dev.store(128, new Uint8Array(64).fill(7)); dev.persist(128, 64);
    const target = dev.crash();
    target.store(4096, new Uint8Array(4096).fill(9));
    target.crashInPlace({ mode: 'random', seed: 3 });
    dev.crash({ into: target });
    expectSameImage(target, dev.crash(), 'after crashInPlace of the target');
  });
});

describe('media fingerprint (per-chunk crc cache)', () => {
  it('follows the media bytes of the chosen lines, not their history', async () => {
    const dev = await device(SIZE);
    const scratch = dev.scratch();
    // Past the part of scratch that stores and loads bounce through.
    const bitmap = new Uint8Array(dev.memory.buffer, scratch.byteOffset + scratch.byteLength / 2, SIZE / 64 / 8);
    bitmap.fill(0);
    for (const line of [0, 5, 63, 64, 1000, SIZE / 64 - 1]) bitmap[line >> 3]! |= 1 << (line & 7);
    const fingerprint = (): number => dev.core.pmem_media_fingerprint(bitmap.byteOffset) >>> 0;
    const first = fingerprint();
    expect(fingerprint()).toBe(first);
    // A line in a 4 KiB chunk with no chosen line changes: same fingerprint.
    dev.store(64 * 200, new Uint8Array(64).fill(3)); dev.persist(64 * 200, 64);
    expect(fingerprint()).toBe(first);
    // A pending store on a chosen line is not media: same fingerprint.
    const old = dev.readMedia(64 * 5, 64);
    dev.store(64 * 5, new Uint8Array(64).fill(4));
    expect(fingerprint()).toBe(first);
    // Once on media it changes the fingerprint; writing the old bytes back restores it.
    dev.persist(64 * 5, 64);
    const changed = fingerprint();
    expect(changed).not.toBe(first);
    dev.store(64 * 5, old); dev.persist(64 * 5, 64);
    expect(fingerprint()).toBe(first);
    // Bytes written behind the core's back count once marked.
    const media = new Uint8Array(dev.memory.buffer, dev.region(REGION.visible), SIZE); // line 1000 is not pending: its media
    media.fill(8, 64 * 1000, 64 * 1001);
    dev.markChanged(64 * 1000, 64);
    expect(fingerprint()).not.toBe(first);
    // The same lines on the same contents in another bitmap position: a different key.
    bitmap.fill(0);
    bitmap[0] = 1 << 1;
    const one = fingerprint();
    bitmap[0] = 1 << 2;
    expect(fingerprint()).not.toBe(one); // lines 1 and 2 are both zero: the line number counts
  });
  it('media errors come with the image, and leave a reused target when the next image has none', async () => {
    // Line states are copied only when either side has a poisoned line (PmemDevice's
    // copyImageInto): the target must take the source's poison, and shed its own.
    const src = await device(SIZE);
    const target = await device(SIZE);
    src.store(4096, randomBytes(new Rng(5), 256));
    src.persist(4096, 256);
    expect(src.poisonedLines()).toBe(0);
    src.crash({ into: target });
    expect(target.poisonedLines()).toBe(0);
    src.poison(4096 + 64, 64);
    expect(src.poisonedLines()).toBe(1);
    src.crash({ into: target });
    expect(target.poisonedLines(), 'the poisoned line came with the image').toBe(1);
    expect(target.lineInfo(4096 + 64).poisoned).toBe(true);
    expect(() => target.load(4096 + 64, 8)).toThrow(/EIO/);
    src.clearPoison(4096 + 64, 64);
    expect(src.poisonedLines()).toBe(0);
    src.crash({ into: target });
    expect(target.poisonedLines(), 'the target shed the old image\'s poison').toBe(0);
    expect(target.lineInfo(4096 + 64).poisoned).toBe(false);
    expectSameBytes(target.load(4096, 256), src.load(4096, 256), 'the lines after the poison cleared');
  });
});
