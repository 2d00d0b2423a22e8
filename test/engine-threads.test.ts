// Any thread runs the engine (issue 14, docs/engine.md): a writer thread reads files
// through its own core instance over the shared state, under the fs lock, with no message
// to the thread that mounted the file system. Real worker threads (dist/workers).
import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice, WriterPool, S_IFIFO } from '../src/index.js';
import { F_THREAD_AREAS, THREAD_AREA_BYTES, TA_READS, PTE_PRESENT, PTE_BLOCK_MASK } from '../src/core/abi.js';
import { storeTag } from '../src/workers/writer.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);

function pattern(bytes: number, seed: number): Uint8Array {
  return new Uint8Array(bytes).map((_, i) => (i * 31 + seed * 7 + (i >> 12)) & 255);
}

/** The count of file reads thread `slot` served through the core (TA_READS, shared memory). */
function readsServed(fs: FileSystem, slot: number): Int32Array {
  const k = fs.kernel;
  const area = k.m.u32(k.fsStateAddr + F_THREAD_AREAS) + slot * THREAD_AREA_BYTES;
  return new Int32Array(fs.device.memory.buffer, area + TA_READS, 1);
}

async function mounted(): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: 64 << 20 });
  FileSystem.mkfs(dev);
  return { dev, fs: FileSystem.mount(dev) };
}

describe('the engine on a writer thread', () => {
  it('a writer thread reads a file while this thread is busy in a synchronous loop', async () => {
    const { dev, fs } = await mounted();
    const content = pattern(300_000, 1);
    fs.writeFile('/f', content);
    fs.snapshot('/', '/snap');
    fs.writeFile('/f', pattern(300_000, 2));
    fs.mknod('/fifo', S_IFIFO | 0o644);
    const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
    try {
      const reads = readsServed(fs, pool.threadSlots[0]!);
      const before = Atomics.load(reads, 0);
      const reading = pool.readFile('/snap/f');
      // This thread never yields until the writer thread has counted its read: the read
      // needs nothing from it (no message, no fault service, no lock it holds).
      const deadline = performance.now() + 20_000;
      let served = false;
      while (performance.now() < deadline) {
        if (Atomics.load(reads, 0) > before) { served = true; break; }
      }
      expect(served).toBe(true);
      expect(await reading).toEqual(content);
      expect(await pool.readFile('/f', { offset: 4096, length: 10_000 })).toEqual(pattern(300_000, 2).subarray(4096, 14_096));
      expect(await pool.readFile('/f', { offset: 299_990 })).toEqual(pattern(300_000, 2).subarray(299_990));
      await expect(pool.readFile('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(pool.readFile('/fifo')).rejects.toMatchObject({ code: 'ENXIO' });
      await expect(pool.readFile('/')).rejects.toMatchObject({ code: 'EISDIR' });
    } finally {
      await pool.stop();
      dev.close();
    }
  });

  it('reads on a writer thread see each write of this thread whole (the fs lock)', async () => {
    const { dev, fs } = await mounted();
    // nodatacow: a write stores into the file's blocks in place, for a long time (1 MiB
    // through the store log); without the lock a read would see part of it.
    const bytes = 1 << 20;
    fs.create('/g');
    fs.setNoDataCow('/g');
    fs.writeFile('/g', new Uint8Array(bytes).fill(1));
    const fd = fs.open('/g');
    const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
    try {
      // Queue reads on the writer thread, then write here, synchronously, round after round,
      // until the writer thread has served them all: every read ran while this thread was
      // writing. Each pwrite is one operation under the fs lock: a read sees all of it or none.
      const served = readsServed(fs, pool.threadSlots[0]!);
      const before = Atomics.load(served, 0);
      const count = 40;
      const reads = Array.from({ length: count }, () => pool.readFile('/g'));
      const deadline = performance.now() + 60_000;
      let round = 2;
      for (; Atomics.load(served, 0) < before + count && performance.now() < deadline; round++) {
        fs.pwrite(fd, new Uint8Array(bytes).fill(round & 255), 0);
        if (round % 16 === 0) fs.commit();
      }
      expect(Atomics.load(served, 0) - before).toBe(count);
      expect(round).toBeGreaterThan(3);
      for (const read of await Promise.all(reads)) {
        expect(read.length).toBe(bytes);
        expect(read.every((b) => b === read[0]), `a read of round ${read[0]} mixes rounds`).toBe(true);
      }
      fs.close(fd);
      expect(fs.fsck()).toEqual([]);
    } finally {
      await pool.stop();
      dev.close();
    }
  });

  it('a writer thread serves its own page faults while this thread is busy in a synchronous loop', async () => {
    const { dev, fs } = await mounted();
    // Three files, three kinds of write fault: holes (a fresh datacow file), COW of
    // committed datacow pages, and nodatacow pages written in place.
    const pages = 64, bytes = pages * 4096;
    fs.create('/holes');
    fs.truncate('/holes', bytes);
    fs.writeFile('/cow', new Uint8Array(bytes).fill(7));
    fs.create('/nocow');
    fs.setNoDataCow('/nocow');
    fs.writeFile('/nocow', new Uint8Array(bytes).fill(9));
    fs.sync();
    const maps = ['/holes', '/cow', '/nocow'].map((path) => fs.mmap(path, { length: bytes }));
    const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
    try {
      const before = fs.dax.stats;
      const words = new BigUint64Array(dev.memory.buffer);
      const runs = maps.map((m) => pool.run([{ mapping: m.handle(), kind: 'sequential', stores: pages, storeBytes: 4096, writers: 1, writerIndex: 0, seed: 1 }]));
      // This thread never yields until every page of the three files holds the writer's
      // last store: each of those stores first needed a write fault, which nothing on this
      // thread could serve (no message is read, no lock is given up while looping).
      const tag = storeTag(0, pages);
      const landed = (): boolean => maps.every((m) => {
        const pte = fs.dax.pte(m, pages - 1);
        return (pte & PTE_PRESENT) !== 0 && words[((pte & PTE_BLOCK_MASK) * 4096 + fs.kernel.visibleAddr) / 8] === tag;
      });
      const deadline = performance.now() + 20_000;
      let done = false;
      while (performance.now() < deadline) if ((done = landed())) break;
      expect(done, 'the writer finished while this thread was busy').toBe(true);
      const after = fs.dax.stats;
      expect(after.coreFaults - before.coreFaults).toBe(3 * pages);
      expect(after.holeFills - before.holeFills).toBe(pages);
      expect(after.cowFaults - before.cowFaults).toBe(pages);
      expect(after.inPlaceFaults - before.inPlaceFaults).toBe(pages);
      for (const [result] of await Promise.all(runs)) {
        expect(result!.faultsServedHere).toBe(pages);
        expect(result!.faultsServedByOwner).toBe(0);
      }
      // What the writer's faults did is this file system's transaction: it commits, reads
      // back and checks clean.
      fs.sync();
      for (const path of ['/holes', '/cow', '/nocow']) {
        const data = fs.readFile(path);
        for (let p = 0; p < pages; p++) expect(new DataView(data.buffer, data.byteOffset + p * 4096, 8).getBigUint64(0, true)).toBe(storeTag(0, p + 1));
      }
      expect(fs.fsck()).toEqual([]);
    } finally {
      await pool.stop();
      dev.close();
    }
  });

  it('a writer thread verifies every page of a mapped file but those stored through the mapping in this transaction', async () => {
    const { dev, fs } = await mounted();
    fs.writeFile('/m', pattern(8 * 4096, 3));
    fs.sync();
    const mapping = fs.mmap('/m', { length: 8 * 4096 });
    mapping.store(4096, new Uint8Array(8).fill(0xab)); // page 1: its checksum waits for the commit
    const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
    try {
      // Page 1 reads (unverified: its checksum is stale until the commit).
      const page1 = await pool.readFile('/m', { offset: 4096, length: 4096 });
      expect(page1.subarray(0, 8)).toEqual(new Uint8Array(8).fill(0xab));
      // Page 5 is verified although the file is mapped writable: a byte changed behind the
      // file system's back is EIO there.
      const [extent] = fs.fileExtents('/m');
      const page5 = extent!.diskBytenr + extent!.offset + 5 * 4096;
      dev.store(page5 + 100, new Uint8Array([dev.load(page5 + 100, 1)[0]! ^ 1]));
      await expect(pool.readFile('/m', { offset: 5 * 4096, length: 4096 })).rejects.toMatchObject({ code: 'EIO' });
      expect(await pool.readFile('/m', { offset: 0, length: 4096 })).toEqual(pattern(8 * 4096, 3).subarray(0, 4096));
    } finally {
      await pool.stop();
      dev.close();
    }
  });
});
