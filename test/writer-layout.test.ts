// Slot layouts of writer workloads (WorkloadSpec.layout, slotPicker in
// src/workers/writer.ts): every slot of the mapping belongs to exactly one writer, in both
// layouts; partitioned gives each writer one contiguous range; writer threads store where
// slotPicker says, and a spec with an unknown layout is refused.
import { describe, expect, it } from 'vitest';
import { FileSystem, FsError, PmemDevice, WriterPool, slotPicker, storeTag, type SlotLayout, type WorkloadSpec } from '../src/index.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);

function spec(length: number, storeBytes: number, writers: number, writerIndex: number, layout?: SlotLayout): WorkloadSpec {
  return { mapping: { id: 0, length, prot: 'rw', daxBase: 0 }, kind: 'random', stores: 1000, storeBytes, writers, writerIndex, seed: 1, layout };
}

describe('slot layouts', () => {
  for (const layout of ['interleaved', 'partitioned', undefined] as const) {
    it(`${layout ?? 'default (interleaved)'}: the writers' slots are disjoint and cover the mapping`, () => {
      for (const [length, storeBytes, writers] of [[1 << 20, 64, 2], [1 << 20, 4096, 2], [65536, 64, 3], [4096 * 7 + 64, 64, 5], [512, 64, 7]] as const) {
        const slots = Math.floor(length / storeBytes);
        const owner = new Int32Array(slots).fill(-1);
        const wrong: string[] = []; // one expect at the end: thousands of slots
        for (let w = 0; w < writers; w++) {
          const p = slotPicker(spec(length, storeBytes, writers, w, layout));
          for (let k = 0; k < p.mine; k++) {
            const slot = p.slot(k);
            if (owner[slot] !== -1) wrong.push(`slot ${slot}: writers ${owner[slot]} and ${w}`);
            owner[slot] = w;
            if (p.index(slot) !== k) wrong.push(`writer ${w}: index(slot(${k})) = ${p.index(slot)}`);
            // partitioned: one contiguous range; interleaved: slot % writers == writer
            if (layout === 'partitioned' ? slot !== p.slot(0) + k : slot % writers !== w) wrong.push(`writer ${w}: slot ${slot} as its ${k}th`);
          }
          for (let seq = 1; seq <= 200; seq++) if (p.index(p.slot(p.pick(seq))) < 0) wrong.push(`writer ${w}: store ${seq} outside its slots`);
          if (p.index(slots) !== -1) wrong.push(`writer ${w}: owns slot ${slots}, past the mapping`);
        }
        expect(wrong).toEqual([]);
        expect(owner.every((w) => w >= 0)).toBe(true);
      }
    });
  }

  it('writer threads store where slotPicker says (partitioned, 64 B and 4 KiB), and refuse an unknown layout', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const bytes = 64 * 4096;
    fs.create('/p');
    fs.setNoDataCow('/p');
    fs.writeFile('/p', new Uint8Array(bytes));
    fs.commit();
    const mapping = fs.mmap('/p', { length: bytes });
    const pool = await WriterPool.start(fs, 2, { entryUrl: WORKER_ENTRY });
    try {
      for (const storeBytes of [64, 4096]) {
        const specs = [0, 1].map((w) => ({ ...spec(bytes, storeBytes, 2, w, 'partitioned'), mapping: mapping.handle(), stores: 3000, seed: 9 }));
        const results = await pool.run(specs);
        // The first run's stores fault the pages writable (nodatacow: they stay writable).
        expect(results.reduce((n, r) => n + r.faults, 0) > 0).toBe(storeBytes === 64);
        const view = new DataView(mapping.load(0, bytes).buffer);
        for (const r of results) {
          const p = slotPicker(specs[r.writerIndex]!);
          for (let k = 0; k < p.mine; k++) {
            const seq = r.lastSeq[k]!;
            if (seq === 0) continue;
            const at = p.slot(k) * storeBytes;
            for (let w = 0; w < storeBytes; w += 8) expect(view.getBigUint64(at + w, true)).toBe(storeTag(r.writerIndex, seq));
          }
        }
      }
      const bad = { ...spec(bytes, 64, 2, 0), mapping: mapping.handle(), layout: 'diagonal' as SlotLayout };
      await expect(pool.run([bad])).rejects.toSatisfy((e: unknown) => e instanceof FsError && e.code === 'EINVAL');
    } finally {
      await pool.stop();
    }
    mapping.unmap();
    expect(fs.fsck()).toEqual([]);
  });
});
