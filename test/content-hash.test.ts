// Content digests: the core's (assembly/csum/content-hash.ts, what FileSystem.contentDigest
// computes as it reads) and the model's JavaScript twin (src/model/content-hash.ts) must
// agree on every content and chunking, and every change of the bytes must change them: the
// crash oracle compares files by digest and reads bytes only when digests differ.
import { describe, expect, it } from 'vitest';
import { PmemDevice, Rng } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { contentDigest } from '../src/model/content-hash.js';
import { errnoOf } from './helpers/errno-of.js';

const PAGE = 4096;

function randomBytes(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.below(256);
  return out;
}

/** The core's digest of `bytes`, fed in chunks of `chunk` bytes (whole 16-byte blocks) through the scratch. */
function coreDigest(dev: PmemDevice, bytes: Uint8Array, chunk: number): number {
  const core = dev.core;
  const scratch = dev.scratch();
  expect(core.content_hash_begin()).toBe(0);
  for (let at = 0; at < bytes.length; at += chunk) {
    const n = Math.min(chunk, bytes.length - at);
    scratch.set(bytes.subarray(at, at + n));
    expect(core.content_hash_update(scratch.byteOffset, n)).toBe(0);
  }
  return core.content_hash_final(bytes.length);
}

describe('content digests', () => {
  it('the core and the JavaScript twin agree on random contents, lengths and chunkings', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 4 << 20 });
    const rng = new Rng(7);
    const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 4095, 4096, 4097, 65_535, 65_536, 65_537, 200_003];
    for (let i = 0; i < 40; i++) lengths.push(rng.below(100_000));
    for (const length of lengths) {
      const bytes = randomBytes(rng, length);
      const js = contentDigest(bytes.slice());
      expect(Number.isSafeInteger(js) && js >= 0).toBe(true);
      for (const chunk of [16, 64, 4096, 65_536, 1 << 20]) expect(coreDigest(dev, bytes, chunk), `length ${length}, chunk ${chunk}`).toBe(js);
      // A view at an odd offset takes the twin's byte-wise path: the same digest.
      const shifted = new Uint8Array(length + 1);
      shifted.set(bytes, 1);
      expect(contentDigest(shifted.subarray(1))).toBe(js);
    }
  });

  it('every single-bit change, a zero byte appended and a truncation change the digest', () => {
    const rng = new Rng(11);
    for (const length of [1, 3, 8, 4096, 70_000]) {
      const bytes = randomBytes(rng, length);
      const base = contentDigest(bytes.slice());
      const seen = new Set([base]);
      const flips = new Set<number>();
      for (let t = 0; t < 200; t++) {
        const changed = bytes.slice();
        const at = rng.below(length), bit = rng.below(8);
        flips.add(at * 8 + bit);
        changed[at] = changed[at]! ^ (1 << bit);
        const d = contentDigest(changed);
        expect(d, `length ${length}: bit flipped at byte ${at}`).not.toBe(base);
        seen.add(d);
      }
      const longer = new Uint8Array(length + 1);
      longer.set(bytes);
      expect(contentDigest(longer)).not.toBe(base);
      expect(contentDigest(bytes.slice(0, length - 1))).not.toBe(base);
      expect(seen.size).toBe(flips.size + 1); // no two different flips collide
    }
    expect(contentDigest(new Uint8Array(4))).not.toBe(contentDigest(new Uint8Array(8)));
  });

  it('FileSystem.contentDigest is the digest of readFile: datacow, nodatacow, holes, prealloc, mapped pages, errors', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const rng = new Rng(3);
    const same = (path: string): void => expect(fs.contentDigest(path), path).toBe(contentDigest(fs.readFile(path)));
    fs.writeFile('/empty', new Uint8Array(0));
    fs.writeFile('/small', randomBytes(rng, 5));
    fs.writeFile('/big', randomBytes(rng, 3 * 65_536 + 13)); // several staging chunks
    fs.create('/nocow');
    fs.setNoDataCow('/nocow', true);
    const fd = fs.open('/nocow');
    fs.pwrite(fd, randomBytes(rng, 10_000), 20_000); // a hole before the data
    fs.close(fd);
    fs.fallocate('/nocow', 40_000, 3 * PAGE);
    fs.commit();
    for (const p of ['/empty', '/small', '/big', '/nocow']) same(p);
    // Pages stored through a mapping, their checksums not computed until the next commit.
    const m = fs.mmap('/big', { length: 2 * PAGE });
    m.store(100, randomBytes(rng, 3000));
    same('/big');
    m.unmap();
    fs.commit();
    same('/big');
    expect(errnoOf(() => fs.contentDigest('/'))).toBe('EISDIR');
    expect(errnoOf(() => fs.contentDigest('/missing'))).toBe('ENOENT');
    // A poisoned data line: EIO, as readFile.
    const extent = fs.fileExtents('/small')[0]!;
    dev.poison(extent.diskBytenr + extent.offset);
    expect(errnoOf(() => fs.readFile('/small'))).toBe('EIO');
    expect(errnoOf(() => fs.contentDigest('/small'))).toBe('EIO');
  });
});
