// copyFileRange (copy_file_range(2)): bytes copied as a byte model says, shared (a reflink,
// as btrfs does) when the ranges are sector aligned between files of one kind, copied
// otherwise; short at the source's EOF; Linux's errnos.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/fs/filesystem.js';
import { Rng } from '../src/random.js';
import { expectSameBytes } from './helpers/device.js';

async function fresh(): Promise<FileSystem> {
  const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
  FileSystem.mkfs(dev);
  return FileSystem.mount(dev);
}

function bytes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.below(256);
  return out;
}

/** The byte model of copy_file_range: dst with src[srcOffset, +n) at dstOffset, n clamped to src's EOF. */
function modelCopy(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, length: number): { out: Uint8Array; n: number } {
  const n = Math.min(length, Math.max(0, src.length - srcOffset));
  const out = new Uint8Array(Math.max(dst.length, n > 0 ? dstOffset + n : 0));
  out.set(dst);
  if (n > 0) out.set(src.subarray(srcOffset, srcOffset + n), dstOffset);
  return { out, n };
}

function code(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof FsError) return e.code; throw e; }
  return 'ok';
}

describe('copyFileRange', () => {
  it('aligned ranges share extents (a reflink); unaligned ones copy bytes; both read back as the byte model', async () => {
    const fs = await fresh();
    const a = bytes(40_000, 1);
    fs.writeFile('/a', a);
    fs.writeFile('/b', bytes(10_000, 2));
    expect(fs.copyFileRange('/a', 8192, '/b', 4096, 16384)).toBe(16384);
    const shared = new Set(fs.fileExtents('/a').map((e) => e.diskBytenr));
    expect(fs.fileExtents('/b').some((e) => shared.has(e.diskBytenr))).toBe(true);
    fs.writeFile('/c', bytes(5000, 3));
    const c0 = fs.readFile('/c');
    expect(fs.copyFileRange('/a', 100, '/c', 3000, 9000)).toBe(9000);
    expect(fs.fileExtents('/c').some((e) => shared.has(e.diskBytenr))).toBe(false);
    expectSameBytes(fs.readFile('/c'), modelCopy(a, 100, c0, 3000, 9000).out, '/c');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });

  it('is short at the source EOF (0 from or past it); errnos: EINVAL overlap, EISDIR, EFBIG, EPERM, EROFS, ENOENT', async () => {
    const fs = await fresh();
    fs.writeFile('/a', bytes(5000, 4));
    fs.writeFile('/b', new Uint8Array(0));
    fs.mkdir('/d');
    expect(fs.copyFileRange('/a', 4000, '/b', 0, 10_000)).toBe(1000);
    expect(fs.copyFileRange('/a', 5000, '/b', 0, 10)).toBe(0);
    expect(fs.copyFileRange('/a', 9000, '/b', 0, 10)).toBe(0);
    expect(fs.stat('/b').size).toBe(1000);
    expect(code(() => fs.copyFileRange('/a', 0, '/a', 100, 200))).toBe('EINVAL');
    expect(code(() => fs.copyFileRange('/a', 0, '/a', 3000, 2000))).toBe('ok'); // one file, apart
    expect(code(() => fs.copyFileRange('/d', 0, '/b', 0, 1))).toBe('EISDIR');
    expect(code(() => fs.copyFileRange('/a', 0, '/d', 0, 1))).toBe('EISDIR');
    expect(code(() => fs.copyFileRange('/a', 0, '/b', 2 ** 50, 1))).toBe('EFBIG');
    expect(code(() => fs.copyFileRange('/a', -1, '/b', 0, 1))).toBe('EINVAL');
    expect(code(() => fs.copyFileRange('/none', 0, '/b', 0, 1))).toBe('ENOENT');
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(4096).fill(1));
    fs.setDaxImmutable('/n', true, { capability: true });
    expect(code(() => fs.copyFileRange('/a', 0, '/n', 0, 10))).toBe('EPERM');
    expect(fs.copyFileRange('/n', 0, '/b', 0, 4096)).toBe(4096); // copied, not shared: the source is immutable
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/f', bytes(100, 5));
    fs.snapshot('/sv', '/ro', { readonly: true });
    expect(code(() => fs.copyFileRange('/a', 0, '/ro/f', 0, 10))).toBe('EROFS');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });

  it('random copies between datacow and nodatacow files match the byte model (200 steps), fsck clean', async () => {
    const fs = await fresh();
    const rng = new Rng(7);
    const files = ['/x', '/y', '/z'];
    const model = new Map<string, Uint8Array>();
    fs.create('/z');
    fs.setNoDataCow('/z');
    for (const [i, f] of files.entries()) {
      const data = bytes(rng.below(30_000), 10 + i);
      fs.writeFile(f, data);
      model.set(f, data);
    }
    const offset = (): number => (rng.below(2) ? rng.below(8) * 4096 : rng.below(30_000));
    for (let step = 0; step < 200; step++) {
      const src = files[rng.below(3)]!, dst = files[rng.below(3)]!;
      const so = offset(), doff = offset(), len = rng.below(2) ? rng.below(5) * 4096 : rng.below(20_000);
      const want = modelCopy(model.get(src)!, so, model.get(dst)!, doff, len);
      const overlap = src === dst && so < doff + len && doff < so + len;
      const got = code(() => fs.copyFileRange(src, so, dst, doff, len));
      expect(got, `step ${step}`).toBe(overlap ? 'EINVAL' : 'ok');
      if (!overlap) model.set(dst, want.out);
    }
    for (const f of files) expectSameBytes(fs.readFile(f), model.get(f)!, f);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });
});
