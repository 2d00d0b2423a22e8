// pmem_crash_build on a line bitmap (the crash explorer builds a point's images on the lines
// that decide them): every line in the bitmap comes out exactly as in the whole image built
// from the same seed or index, and no line outside it is built. Random images draw each
// line from its own stream, so which other lines are built cannot change a line.
import { describe, expect, it } from 'vitest';
import { PmemDevice, Rng } from '../src/index.js';
import { CRASH_MODE, PATCH_BYTES, PATCH_DATA, REGION } from '../src/core/abi.js';

/** The patch just built: line -> its 64 bytes (as hex, for comparing). */
function patchOf(dev: PmemDevice, slots: number): Map<number, string> {
  const at = dev.region(REGION.patch);
  const view = new DataView(dev.memory.buffer);
  const out = new Map<number, string>();
  for (let s = 0; s < slots; s++) {
    const p = at + s * PATCH_BYTES;
    const line = view.getUint32(p, true);
    expect(out.has(line)).toBe(false);
    out.set(line, Buffer.from(new Uint8Array(dev.memory.buffer, p + PATCH_DATA, 64)).toString('hex'));
  }
  return out;
}

describe('crash images built on a line bitmap', () => {
  it('give every selected line exactly as the whole image does, and build no other line', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    const rng = new Rng(5);
    // Pending lines of every kind: whole-line stores, partial ones, several stores per line.
    for (let i = 0; i < 60; i++) {
      const at = rng.below((1 << 20) - 512);
      dev.store(at, new Uint8Array(rng.between(1, 300)).map(() => rng.below(256)));
      if (rng.chance(0.3)) dev.persist(at, 64);
    }
    const lines = dev.sizeBytes / 64;
    const bitmapAt = dev.scratch().byteOffset;
    const bitmap = new Uint8Array(dev.memory.buffer, bitmapAt, lines / 8);
    const core = dev.core;
    const total = dev.crashImageCount();
    expect(total).toBeGreaterThan(10_000n);
    for (let t = 0; t < 40; t++) {
      const mode = t % 2 === 0 ? CRASH_MODE.random : CRASH_MODE.enumerate;
      const arg = mode === CRASH_MODE.random ? BigInt(rng.below(1 << 30)) : BigInt(rng.below(1 << 30)) % total;
      const whole = patchOf(dev, core.pmem_crash_build(mode, arg, 0, 0));
      bitmap.fill(0);
      const chosen = new Set<number>();
      for (let i = 0; i < lines; i++) if (rng.chance(0.4)) { chosen.add(i); bitmap[i >> 3]! |= 1 << (i & 7); }
      const part = patchOf(dev, core.pmem_crash_build(mode, arg, 0, bitmapAt));
      for (const [line, bytes] of part) {
        expect(chosen.has(line), `line ${line} built outside the bitmap`).toBe(true);
        expect(bytes, `line ${line}`).toBe(whole.get(line));
      }
      for (const [line] of whole) if (chosen.has(line)) expect(part.has(line), `line ${line} left out`).toBe(true);
      // The same whole image again: the build is a function of the seed or index alone.
      expect(patchOf(dev, core.pmem_crash_build(mode, arg, 0, 0))).toEqual(whole);
    }
    dev.close();
  });
});
