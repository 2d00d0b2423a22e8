import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice, Rng } from '../src/index.js';
import { EINVAL, REGION } from '../src/core/abi.js';
import { device, expectSameBytes, filled } from './helpers/device.js';

function expectFsError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  expect(caught, 'expected an FsError').toBeInstanceOf(FsError);
  expect((caught as FsError).code).toBe(code);
}

describe('pmem device: visible and media bytes', () => {
  it('makes a store visible at once and durable only after flush + fence', async () => {
    const dev = await device();
    dev.store(128, filled(64, 0xab));
    expect(dev.load(128, 64)).toEqual(filled(64, 0xab));
    expect(dev.readMedia(128, 64)).toEqual(filled(64, 0));
    expect(dev.lineInfo(128).pendingStores).toBe(1);
    dev.clwb(128);
    expect(dev.readMedia(128, 64)).toEqual(filled(64, 0));
    dev.sfence();
    expect(dev.readMedia(128, 64)).toEqual(filled(64, 0xab));
    expect(dev.lineInfo(128).pendingStores).toBe(0);
    expect(dev.linesPending()).toBe(0);
  });

  it('stores and loads any length at any alignment', async () => {
    const dev = await device(1 << 16);
    const model = new Uint8Array(1 << 16);
    const rng = new Rng(12345);
    const rnd = (n: number): number => rng.below(n);
    for (let i = 0; i < 300; i++) {
      const addr = rnd(model.length - 1);
      const length = Math.min(rnd(300) + 1, model.length - addr);
      const data = Uint8Array.from({ length }, () => rnd(256));
      dev.store(addr, data);
      model.set(data, addr);
    }
    expectSameBytes(dev.load(0, model.length), model, 'visible');
    dev.persist(0, model.length);
    expectSameBytes(dev.readMedia(0, model.length), model, 'media');
  });

  it('accepts typed views of any kind and stores through the scratch in chunks', async () => {
    const dev = await device(1 << 20, { scratchBytes: 4096 });
    const words = new Uint32Array(5000).map((_, i) => i * 7919);
    dev.store(64, words);
    expect(new Uint32Array(dev.load(64, words.byteLength).buffer)).toEqual(words);
    dev.storeU64(8, 0x0123456789abcdefn);
    expect(dev.loadU64(8)).toBe(0x0123456789abcdefn);
  });

  it('counts stores, bytes, flushes, fences and pending lines', async () => {
    const dev = await device();
    dev.store(0, filled(100, 1)); // lines 0 and 1
    dev.ntStore(256, filled(8, 2));
    dev.flush(0, 100, 'clflushopt');
    dev.clwb(4096);
    dev.mfence();
    dev.clflush(512);
    dev.sfence();
    const c = dev.counters();
    expect(c.stores).toBe(1);
    expect(c.ntStores).toBe(1);
    expect(c.bytesStored).toBe(108);
    expect(c.clflushopt).toBe(2);
    expect(c.clwb).toBe(1);
    expect(c.clflush).toBe(1);
    expect(c.mfence).toBe(1);
    expect(c.sfence).toBe(1);
    expect(c.logEntries).toBe(3);
    expect(dev.linesPending()).toBe(0);
  });

  it('poisoned lines fail loads with EIO and stay poisoned across a crash', async () => {
    const dev = await device();
    dev.store(200, filled(8, 5));
    dev.persist(200, 8);
    dev.poison(192);
    expectFsError(() => dev.load(190, 4), 'EIO');
    expectFsError(() => dev.loadU64(200), 'EIO');
    expect(dev.load(0, 128)).toEqual(filled(128, 0)); // the neighbours are fine
    expect(dev.lineInfo(200).poisoned).toBe(true);
    const after = dev.crash();
    expectFsError(() => after.load(200, 8), 'EIO');
    after.clearPoison(200);
    expect(after.load(200, 8)).toEqual(filled(8, 5));
  });

  it('rejects bad arguments with EINVAL, never with a WebAssembly trap', async () => {
    const dev = await device(4096);
    const bad: Array<() => unknown> = [
      () => dev.store(-1, filled(1, 0)),
      () => dev.store(1.5, filled(1, 0)),
      () => dev.store(4090, filled(8, 0)),
      () => dev.store(Number.NaN, filled(1, 0)),
      () => dev.store(2 ** 40, filled(1, 0)),
      () => dev.store(0, 'bytes' as unknown as Uint8Array),
      () => dev.load(4096, 1),
      () => dev.load(0, -3),
      () => dev.flush(4095, 2),
      () => dev.flush(0, 1, 'wbinvd' as never),
      () => dev.poison(5000),
      () => dev.crash({ mode: 'sometimes' as never }),
      () => dev.crash({ mode: 'random', seed: -1 }),
      () => [...dev.crashImages({ maxImages: -1 })],
    ];
    for (const fn of bad) expectFsError(fn, 'EINVAL');
    await expect(PmemDevice.create({ sizeBytes: 100 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: -64 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: 4096, maxThreads: 99 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: 4096, logCapacity: 1000 })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: 4096, domain: 'nvdimm' as never })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(PmemDevice.create({ sizeBytes: 3.75 * 2 ** 30 })).rejects.toMatchObject({ code: 'E2BIG' }); // with its line tables, above 4 GiB
    await expect(PmemDevice.create({ sizeBytes: 2 ** 32 + 64 })).rejects.toMatchObject({ code: 'E2BIG' });
    await expect(PmemDevice.create({ sizeBytes: 4096, kernelBytes: 2 ** 32 })).rejects.toMatchObject({ code: 'E2BIG' });
    // The device still works after all of that.
    dev.store(0, filled(8, 1));
    expect(dev.load(0, 8)).toEqual(filled(8, 1));
  });

  it('refuses use after close and releases the thread slot', async () => {
    const dev = await device(4096, { maxThreads: 1 });
    expectFsError(() => PmemDevice.attach(dev.handle()), 'EBUSY');
    const handle = dev.handle();
    dev.close();
    expectFsError(() => dev.load(0, 1), 'EBADF');
    const again = PmemDevice.attach(handle);
    expect(again.load(0, 8)).toEqual(filled(8, 0));
  });

  it('composes media from pre-images, and its exports refuse bad arguments', async () => {
    const dev = await device(4096, { logCapacity: 16 });
    const lines = 4096 / 64;
    dev.store(0, filled(256, 1));
    dev.persist(0, 256);
    dev.store(64, filled(8, 2)); // line 1 pending: its media is its pre-image
    dev.store(130, filled(100, 3)); // lines 2 and 3 pending, partly
    expect(dev.core.pmem_next_pending(0, lines)).toBe(1);
    expect(dev.core.pmem_next_pending(2, lines)).toBe(2);
    expect(dev.core.pmem_next_pending(4, lines)).toBe(-1);
    expect(dev.readMedia(0, 256)).toEqual(filled(256, 1));
    expect(dev.load(64, 8)).toEqual(filled(8, 2));
    expect(dev.core.pmem_next_pending(0, lines + 1)).toBe(-EINVAL);
    expect(dev.core.pmem_media_line(lines)).toBe(-EINVAL);
    expect(dev.core.pmem_crash_overlay(0)).toBe(-EINVAL); // the lock is not held
    // More stores than the log holds: the oldest are evicted, their pre-images applied.
    for (let i = 0; i < 40; i++) dev.store(64 + (i % 8), filled(1, 10 + i));
    const media = dev.readMedia(64, 64);
    dev.persist(0, 4096);
    expect(dev.readMedia(0, 4096)).toEqual(dev.load(0, 4096));
    expect(media.subarray(8)).toEqual(filled(56, 1)); // bytes no store touched
  });

  it('isZero answers as a load would, without the bytes', async () => {
    const dev = await device(4096);
    expect(dev.isZero(0, 4096)).toBe(true);
    dev.store(1000, filled(1, 7));
    expect(dev.isZero(0, 4096)).toBe(false);
    expect(dev.isZero(0, 1000)).toBe(true);
    expect(dev.isZero(1001, 3095)).toBe(true);
    expect(dev.isZero(997, 5)).toBe(false);
    dev.poison(2048);
    expectFsError(() => dev.isZero(2040, 16), 'EIO');
    expectFsError(() => dev.isZero(4090, 8), 'EINVAL');
  });

  it('creates a 1 GiB device and stores at its last byte', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 2 ** 30 });
    dev.store(2 ** 30 - 8, filled(8, 0x5a));
    dev.persist(2 ** 30 - 8, 8);
    expect(dev.load(2 ** 30 - 8, 8)).toEqual(filled(8, 0x5a));
    expect(dev.readMedia(2 ** 30 - 8, 8)).toEqual(filled(8, 0x5a));
    expectFsError(() => dev.store(2 ** 30 - 7, filled(8, 0)), 'EINVAL');
  });

  it('keeps addresses above 2 GiB of memory correct (2.25 GiB device)', async () => {
    const size = 2304 * 2 ** 20;
    const dev = await PmemDevice.create({ sizeBytes: size, kernelBytes: 4 << 20 });
    expect(dev.region(REGION.visible) + size - 128).toBeGreaterThan(2 ** 31); // the lines below are above 2 GiB
    dev.store(size - 64, filled(64, 0x77));
    dev.persist(size - 64, 64);
    expect(dev.readMedia(size - 64, 64)).toEqual(filled(64, 0x77));
    dev.store(size - 64, filled(64, 0x55)); // pending: its media is its pre-image
    expect(dev.readMedia(size - 128, 128)).toEqual(Uint8Array.from([...filled(64, 0), ...filled(64, 0x77)]));
    expect(dev.load(size - 64, 64)).toEqual(filled(64, 0x55));
    dev.store(size - 128, filled(64, 0x66));
    dev.crashInPlace();
    expect(dev.load(size - 128, 128)).toEqual(Uint8Array.from([...filled(64, 0), ...filled(64, 0x77)]));
  });

  it('runs the debug build identically', async () => {
    const dev = await device(4096, { target: 'debug' });
    dev.store(3, filled(70, 9));
    dev.persist(0, 80);
    expect(dev.readMedia(3, 70)).toEqual(filled(70, 9));
    expect(dev.crc32cBytes(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });
});
