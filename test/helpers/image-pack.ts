// Unpack a fixture image packed by scripts/pack-image.mjs: 'PMCOWIMG', the image's size
// (u64), then (block index u32, 4096 bytes) for each non-zero 4 KiB block, gzipped.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const BLOCK = 4096;

export function unpackImage(path: string): Uint8Array {
  const packed = gunzipSync(readFileSync(path));
  if (packed.toString('latin1', 0, 8) !== 'PMCOWIMG') throw new Error(`${path}: not a packed image`);
  const image = new Uint8Array(Number(packed.readBigUInt64LE(8)));
  for (let at = 16; at < packed.length; at += 4 + BLOCK) {
    const index = packed.readUInt32LE(at);
    image.set(packed.subarray(at + 4, at + 4 + BLOCK), index * BLOCK);
  }
  return image;
}
