// dax_store_batch (assembly/dax/batch.ts) through StoreBatch (src/dax/store-batch.ts), on
// the thread that owns the file system: faults in the middle of a batch resume without
// storing a byte twice or losing one, BRF_PERSIST makes records durable, bad records are
// refused with EINVAL (nothing stored), never a trap. Both builds: the debug one runs the
// core's checked assertions.
import { describe, expect, it } from 'vitest';
import { FileSystem, FsError, PmemDevice } from '../src/index.js';
import { StoreBatch } from '../src/dax/store-batch.js';
import { BATCH_RECORD_BYTES, BR_FLAGS, BR_LENGTH, BR_SOURCE, FAULT_NOT_PRESENT, FAULT_WRITE_PROTECT } from '../src/core/abi.js';
import type { DaxMapping } from '../src/dax/mapping.js';

const PAGE = 4096;
const TARGETS = ['release', 'debug'] as const;

async function mounted(target: (typeof TARGETS)[number]): Promise<FileSystem> {
  const dev = await PmemDevice.create({ sizeBytes: 32 << 20, target });
  FileSystem.mkfs(dev);
  return FileSystem.mount(dev);
}

/** The bytes a fill record of `tag` holds: the tag's 8 little-endian bytes, repeated from its first byte. */
function tagBytes(low: number, high: number, length: number): Uint8Array {
  const word = new Uint8Array(8);
  new DataView(word.buffer).setUint32(0, low, true);
  new DataView(word.buffer).setUint32(4, high, true);
  return Uint8Array.from({ length }, (_, i) => word[i & 7]!);
}

/** 64-byte lines that [offset, offset + length) touches: the store log's entries for it. */
function linesOf(offset: number, length: number): number {
  return Math.floor((offset + length - 1) / 64) - Math.floor(offset / 64) + 1;
}

interface Rec { offset: number; length: number; low?: number; high?: number; source?: number; persist?: boolean }

/**
 * Store `recs` as one batch, serving each fault on this thread, and count what the batch
 * calls alone stored (the faults' own stores, hole zeroing and COW copies, excluded).
 */
function storeAll(fs: FileSystem, mapping: DaxMapping, batch: StoreBatch, recs: Rec[]) {
  const dev = fs.device;
  for (const r of recs) {
    if (r.source === undefined) batch.fill(r.offset, r.length, r.low!, r.high!, r.persist);
    else batch.copy(r.offset, r.length, r.source, r.persist);
  }
  let logEntries = 0, bytes = 0, calls = 0;
  const reasons = new Set<number>();
  const stops: Array<{ record: number; done: number }> = [];
  for (;;) {
    const c0 = dev.counters();
    const stop = batch.store(mapping.id);
    const c1 = dev.counters();
    calls++;
    logEntries += c1.logEntries - c0.logEntries;
    bytes += c1.bytesStored - c0.bytesStored;
    if (stop === null) break;
    reasons.add(stop.reason);
    stops.push({ record: stop.record, done: stop.done });
    fs.dax.fault(mapping.id, stop.page, true);
  }
  return { logEntries, bytes, calls, reasons, stops };
}

describe('dax_store_batch', () => {
  for (const target of TARGETS) {
    it(`resumes after hole and write-protect faults mid-batch without storing a byte twice (${target})`, async () => {
      const fs = await mounted(target);
      const fileBytes = 24 * PAGE;
      // A sparse nodatacow file: every page a hole (not present), some made read-only
      // zero-page mappings by a load first (write-protect).
      fs.create('/f');
      fs.setNoDataCow('/f');
      fs.truncate('/f', fileBytes);
      fs.commit();
      const mapping = fs.mmap('/f', { length: fileBytes });
      for (const p of [3, 9, 15]) mapping.load(p * PAGE, 8);
      const dev = fs.device;
      const scratch = dev.scratch();
      const source = scratch.byteOffset + 16384;
      for (let i = 0; i < 3 * PAGE; i++) scratch[16384 + i] = (i * 7 + 3) & 255;
      const recs: Rec[] = [];
      // 64-byte records over many pages, a 4 KiB page, records across page boundaries
      // (one not 8-aligned: the tag's phase must survive a resume), a 3-page record and
      // copies from memory.
      for (let p = 0; p < 12; p++) recs.push({ offset: p * PAGE + 128, length: 64, low: 1000 + p, high: 0x10000 });
      recs.push({ offset: 3 * PAGE, length: PAGE, low: 77, high: 0x20000 });
      recs.push({ offset: 13 * PAGE - 12, length: 40, low: 0xdeadbeef, high: 0x30001 });
      recs.push({ offset: 15 * PAGE - 64, length: 3 * PAGE, low: 5, high: 0x40000 });
      recs.push({ offset: 19 * PAGE - 100, length: 300, source });
      recs.push({ offset: 21 * PAGE + 8, length: 2 * PAGE, source: source + PAGE });
      const batch = new StoreBatch(dev, 64);
      const before = fs.dax.stats.writeFaults;
      const got = storeAll(fs, mapping, batch, recs);
      // Stopped at faults of both kinds, and in the middle of records (bytes of them done).
      expect(got.reasons).toEqual(new Set([FAULT_NOT_PRESENT, FAULT_WRITE_PROTECT]));
      expect(got.stops.some((s) => s.done > 0)).toBe(true);
      expect(got.calls).toBe(got.stops.length + 1);
      expect(fs.dax.stats.writeFaults - before).toBe(got.stops.length);
      // Each record's bytes stored exactly once: bytes and log entries as if no fault.
      expect(got.bytes).toBe(recs.reduce((n, r) => n + r.length, 0));
      expect(got.logEntries).toBe(recs.reduce((n, r) => n + linesOf(r.offset, r.length), 0));
      // And they are the records' bytes; the rest of the file is still zero.
      const want = new Uint8Array(fileBytes);
      for (const r of recs) {
        want.set(r.source === undefined ? tagBytes(r.low!, r.high!, r.length) : scratch.slice(r.source - scratch.byteOffset, r.source - scratch.byteOffset + r.length), r.offset);
      }
      expect(Buffer.compare(Buffer.from(mapping.load(0, fileBytes)), Buffer.from(want))).toBe(0);
      expect(batch.length).toBe(0);
      expect(fs.fsck()).toEqual([]);
      mapping.unmap();
      fs.unmount();
      dev.close();
    });
  }

  it('BRF_PERSIST: a strict crash keeps the persisted records and loses the others', async () => {
    const fs = await mounted('release');
    const fileBytes = 8 * PAGE;
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(fileBytes));
    fs.commit();
    const mapping = fs.mmap('/n', { length: fileBytes });
    const eight = new Uint8Array(8);
    for (let p = 0; p < 8; p++) mapping.store(p * PAGE, eight); // faulted writable: no fault below
    mapping.flush(0, fileBytes);
    mapping.fence();
    const recs: Rec[] = [];
    for (let p = 0; p < 8; p++) recs.push({ offset: p * PAGE + 256, length: p % 2 ? 64 : 1000, low: p + 1, high: 0x50000, persist: p % 2 === 0 });
    const got = storeAll(fs, mapping, new StoreBatch(fs.device, 16), recs);
    expect(got.stops).toEqual([]);
    const image = fs.device.crash({ mode: 'strict' });
    for (const [i, r] of recs.entries()) {
      const phys = (fs.dax.pte(mapping, Math.floor(r.offset / PAGE)) & 0x07ffffff) * PAGE + (r.offset % PAGE);
      const after = image.load(phys, r.length);
      const kept = Buffer.compare(Buffer.from(after), Buffer.from(tagBytes(r.low!, r.high!, r.length))) === 0;
      const lost = after.every((b) => b === 0);
      expect({ i, kept, lost }).toEqual({ i, kept: r.persist === true, lost: r.persist !== true });
    }
    image.close();
    mapping.unmap();
  });

  for (const target of TARGETS) {
    it(`refuses bad records with EINVAL naming the record, storing nothing (${target})`, async () => {
      const fs = await mounted(target);
      fs.create('/b');
      fs.setNoDataCow('/b');
      fs.writeFile('/b', new Uint8Array(4 * PAGE));
      fs.commit();
      const mapping = fs.mmap('/b', { length: 4 * PAGE });
      mapping.store(0, new Uint8Array(8));
      const dev = fs.device;
      const batch = new StoreBatch(dev, 8);
      const refused = (setup: () => void, id = mapping.id): string => {
        batch.clear();
        batch.fill(0, 64, 1, 2); // a good record first: it must not be stored either
        setup();
        const before = dev.counters().bytesStored;
        let error: unknown = null;
        try {
          batch.store(id);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(FsError);
        expect((error as FsError).code).toBe('EINVAL');
        expect(dev.counters().bytesStored).toBe(before);
        expect(batch.length).toBe(0);
        return (error as Error).message;
      };
      const u32 = new Uint32Array(dev.memory.buffer, dev.scratch().byteOffset, 8 * BATCH_RECORD_BYTES / 4);
      const field = (record: number, offset: number) => record * BATCH_RECORD_BYTES / 4 + offset / 4;
      expect(refused(() => batch.fill(4 * PAGE - 32, 64, 1, 2))).toMatch(/record 1: past the end of the mapping/);
      expect(refused(() => batch.fill(0xfffffff0, 64, 1, 2))).toMatch(/record 1: past the end of the mapping/);
      expect(refused(() => batch.fill(64, 0, 1, 2))).toMatch(/record 1: zero length/);
      expect(refused(() => { batch.fill(64, 64, 1, 2); u32[field(1, BR_FLAGS)] = 0x80; })).toMatch(/record 1: unknown flags/);
      expect(refused(() => { batch.copy(64, 64, 0); u32[field(1, BR_SOURCE)] = 0xfffffff0; })).toMatch(/record 1: source bytes outside memory/);
      expect(refused(() => { batch.fill(64, 64, 1, 2); u32[field(1, BR_LENGTH)] = 0xffffffff; })).toMatch(/record 1: past the end/);
      expect(refused(() => {}, 1022)).toMatch(/no such mapping/);
      // The core itself, with records outside this thread's scratch or misaligned.
      const core = dev.core;
      const base = dev.scratch().byteOffset;
      expect(core.dax_store_batch(mapping.id, base + 4, 1)).toBe(-22);
      expect(core.dax_store_batch(mapping.id, 64, 1)).toBe(-22);
      expect(core.dax_store_batch(mapping.id, base + dev.scratch().byteLength - 32, 1)).toBe(-22); // the fill area
      expect(core.dax_store_batch(mapping.id, base, 0x7fffffff)).toBe(-22);
      expect(core.dax_store_batch(mapping.id, base, 0)).toBe(0);
      expect(() => new StoreBatch(dev, 1 << 30)).toThrow(/does not fit/);
      mapping.unmap();
      fs.unmount();
      dev.close();
    });
  }
});
