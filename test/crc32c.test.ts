import { describe, expect, it, beforeAll } from 'vitest';
import { crc32c, loadCrc32c, Rng } from '../src/index.js';
import { device } from './helpers/device.js';

// Bitwise reference, written independently of the sliced tables.
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  beforeAll(loadCrc32c);

  it('matches the check value and the RFC 3720 vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with a bitwise reference at every length and alignment up to 100', () => {
    const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 0; length <= 100; length++) {
        const slice = data.subarray(offset, offset + length);
        expect(crc32c(slice)).toBe(referenceCrc32c(slice));
      }
    }
  });

  it('agrees with the reference on bytes ending in zeros (the zero tail is not read byte by byte)', async () => {
    const dev = await device();
    for (let offset = 0; offset < 8; offset++) {
      for (const prefix of [0, 1, 7, 8, 9, 63, 200]) {
        for (const zeros of [0, 1, 7, 8, 15, 64, 3900]) {
          const bytes = new Uint8Array(prefix + zeros);
          for (let i = 0; i < prefix; i++) bytes[i] = (i * 37 + 1) & 0xff || 1;
          const want = referenceCrc32c(bytes);
          expect(crc32c(bytes), `${prefix} + ${zeros} zeros`).toBe(want);
          dev.store(4096 + offset, bytes.length ? bytes : new Uint8Array(1));
          if (bytes.length) expect(dev.crc32c(4096 + offset, bytes.length), `in place at +${offset}: ${prefix} + ${zeros} zeros`).toBe(want);
          dev.store(4096, new Uint8Array(4200)); // clear for the next shape
        }
      }
    }
  });

  it('agrees with the reference on the SIMD lanes: random bytes, lengths from 200 B to 20 KiB, every alignment, chained', async () => {
    // Blocks of 256 B, 1 KiB and 4 KiB run in sixteen SIMD streams (assembly/csum/crc32c-lanes.ts),
    // what is left in the slicing loop: lengths around each block size and mixes of them,
    // at 16 alignments, from the start register and from a register mid-stream (chained).
    const dev = await device();
    const rng = new Rng(0xc3c32c);
    const data = Uint8Array.from({ length: 24 << 10 }, () => rng.below(256));
    const lengths = [255, 256, 257, 511, 512, 1023, 1024, 1025, 1279, 1280, 4095, 4096, 4097, 4352, 5376, 8192, 16380, 20000];
    for (let i = 0; i < 12; i++) lengths.push(200 + rng.below(20000));
    for (const length of lengths) {
      for (let offset = 0; offset < 16; offset++) {
        const slice = data.subarray(offset, offset + length);
        const want = referenceCrc32c(slice);
        expect(crc32c(slice), `${length} B at +${offset}`).toBe(want);
        dev.store(8192 + offset, slice);
        expect(dev.crc32c(8192 + offset, length), `${length} B in place at +${offset}`).toBe(want);
      }
      // The register carried across two updates split at a random point.
      const cut = rng.below(length + 1);
      const first = dev.core.csum_crc32c_update(0xffffffff, dev.core.pmem_region(0) + 8192 + 15, cut);
      const both = dev.core.csum_crc32c_update(first, dev.core.pmem_region(0) + 8192 + 15 + cut, length - cut);
      expect(((both ^ 0xffffffff) >>> 0), `${length} B split at ${cut}`).toBe(referenceCrc32c(data.subarray(15, 15 + length)));
    }
  });

  it('is chunk-independent for inputs larger than the scratch area', () => {
    const big = Uint8Array.from({ length: (1 << 16) * 3 + 17 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32c(big)).toBe(referenceCrc32c(big));
  });

  it('runs in place over device bytes', async () => {
    const dev = await device();
    const bytes = new TextEncoder().encode('123456789');
    dev.store(1000, bytes);
    expect(dev.crc32c(1000, bytes.length)).toBe(0xe3069283);
    expect(dev.crc32cBytes(bytes)).toBe(0xe3069283);
    expect(() => dev.crc32c(dev.sizeBytes - 4, 8)).toThrow(/EINVAL/);
  });
});
