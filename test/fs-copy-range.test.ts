// copyFileRange (copy_file_range(2)): bytes copied as a byte model says, shared (a reflink,
// as btrfs does) when the ranges are sector aligned between files of one kind, copied
// otherwise; short at the source's EOF; Linux's errnos. exchangeRange (XFS's
// EXCHANGE_RANGE, fsx's exchange_range): ranges swapped by moving extents, atomically.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { Rng } from '../src/random.js';
import { expectSameBytes } from './helpers/device.js';
import { crashAtEveryStore } from './helpers/crash-cuts.js';

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

describe('exchangeRange', () => {
  it('swaps ranges of two files, or of one, as a byte model says; extents move, none copied (200 random steps)', async () => {
    const fs = await fresh();
    const rng = new Rng(11);
    const files = ['/x', '/y', '/n1', '/n2'];
    fs.create('/n1'); fs.setNoDataCow('/n1');
    fs.create('/n2'); fs.setNoDataCow('/n2');
    const model = new Map<string, Uint8Array>();
    for (const [i, f] of files.entries()) {
      const data = bytes(4096 * (4 + rng.below(8)) - rng.below(3000), 20 + i);
      fs.writeFile(f, data);
      model.set(f, data);
    }
    const before = fs.statfs().usedBytes;
    let swaps = 0;
    for (let step = 0; step < 200; step++) {
      // Datacow with datacow, nodatacow with nodatacow.
      const pair = rng.below(2) ? ['/x', '/y'] : ['/n1', '/n2'];
      const p1 = pair[rng.below(2)]!, p2 = pair[rng.below(2)]!;
      const m1 = model.get(p1)!, m2 = model.get(p2)!;
      const pages1 = Math.floor(m1.length / 4096), pages2 = Math.floor(m2.length / 4096); // whole pages inside the files
      const len = 4096 * (1 + rng.below(Math.min(pages1, pages2)));
      const o1 = 4096 * rng.below(pages1 - len / 4096 + 1), o2 = 4096 * rng.below(pages2 - len / 4096 + 1);
      const overlap = p1 === p2 && o1 < o2 + len && o2 < o1 + len;
      const got = code(() => fs.exchangeRange(p1, o1, p2, o2, len));
      expect(got, `step ${step}: ${p1} ${o1} ${p2} ${o2} ${len}`).toBe(overlap ? 'EINVAL' : 'ok');
      if (overlap) continue;
      swaps++;
      // The model: the ranges' bytes trade places (both inside their files).
      const full1 = m1.slice();
      const full2 = p1 === p2 ? full1 : m2.slice();
      const r1 = full1.slice(o1, o1 + len), r2 = full2.slice(o2, o2 + len);
      full1.set(r2, o1); full2.set(r1, o2);
      model.set(p1, full1);
      if (p1 !== p2) model.set(p2, full2);
      if (step % 10 === 0) fs.writeFile(p1, model.get(p1)!); // writes between swaps
    }
    expect(swaps).toBeGreaterThan(100);
    for (const f of files) expectSameBytes(fs.readFile(f), model.get(f)!, f);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    expect(fs.statfs().usedBytes).toBeLessThan(before + (4 << 20)); // moved, not copied
  });

  it('errnos: EINVAL (unaligned, beyond EOF, overlap, datacow with nodatacow), EISDIR, EPERM; a crash shows both ranges before or both swapped', async () => {
    const fs = await fresh();
    fs.writeFile('/a', bytes(16384, 30));
    fs.writeFile('/b', bytes(16384, 31));
    fs.mkdir('/d');
    fs.create('/n'); fs.setNoDataCow('/n'); fs.writeFile('/n', new Uint8Array(8192).fill(1));
    expect(code(() => fs.exchangeRange('/a', 100, '/b', 0, 4096))).toBe('EINVAL');
    expect(code(() => fs.exchangeRange('/a', 0, '/b', 0, 100))).toBe('EINVAL');
    expect(code(() => fs.exchangeRange('/a', 16384, '/b', 0, 4096))).toBe('EINVAL');
    fs.writeFile('/c', bytes(10_000, 32));
    expect(code(() => fs.exchangeRange('/c', 8192, '/b', 0, 4096))).toBe('EINVAL'); // the last, partial page: past EOF
    expect(code(() => fs.exchangeRange('/a', 0, '/a', 4096, 8192))).toBe('EINVAL');
    expect(code(() => fs.exchangeRange('/a', 0, '/n', 0, 4096))).toBe('EINVAL');
    expect(code(() => fs.exchangeRange('/a', 0, '/d', 0, 4096))).toBe('EISDIR');
    fs.setDaxImmutable('/n', true, { capability: true });
    fs.create('/m'); fs.setNoDataCow('/m'); fs.writeFile('/m', new Uint8Array(8192).fill(2));
    expect(code(() => fs.exchangeRange('/m', 0, '/n', 0, 4096))).toBe('EPERM');
    fs.unmount();
    const base = fs.device.exportMedia();
    // The swap itself, checked once against the bytes before it.
    const check = await PmemDevice.fromImage(base);
    const cf = FileSystem.mount(check);
    const a0 = cf.readFile('/a'), b0 = cf.readFile('/b');
    cf.exchangeRange('/a', 4096, '/b', 8192, 8192);
    expectSameBytes(cf.readFile('/a').subarray(4096, 12288), b0.subarray(8192, 16384), '/a swapped');
    expectSameBytes(cf.readFile('/b').subarray(8192, 16384), a0.subarray(4096, 12288), '/b swapped');
    check.close();
    // A crash shows both ranges as they were, or both swapped.
    await crashAtEveryStore(base, (f) => f.exchangeRange('/a', 4096, '/b', 8192, 8192), (f) => [f.contentDigest('/a'), f.contentDigest('/b')]);
  });
});
