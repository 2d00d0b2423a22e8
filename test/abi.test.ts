// One ABI (docs/abi.md): assembly/abi.ts defines every constant the core and src/ share;
// src/core/abi.ts is generated from it. These tests fail when the two sides disagree:
// (a) the committed generated files are what the generator makes of assembly/abi*.ts now;
// (b) the built core, asked at run time, behaves as the TypeScript constants say.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain Node script, no type declarations
import { renderAbi, renderAll } from '../scripts/gen-abi.mjs';
import * as ABI from '../src/core/abi.js';
import { DEVICE_BASE } from '../src/core/module.js';
import { ERRNO } from '../src/errors.js';
import { FsMemory } from '../src/fs/memory.js';
import { PmemDevice, type PmemOptions } from '../src/pmem/device.js';
import type { CoreExports } from '../src/core/exports.js';

const SIZE_BYTES = 1 << 16;

async function smallDevice(options: Partial<PmemOptions> = {}): Promise<PmemDevice> {
  return PmemDevice.create({
    sizeBytes: SIZE_BYTES, maxThreads: 2, logCapacity: 1024, scratchBytes: 1 << 16,
    flushQueueCapacity: 64, kernelBytes: 1 << 16, ...options,
  });
}

/** u32 header field at byte offset `field` of the device header. */
function headerU32(dev: PmemDevice, field: number): number {
  return new DataView(dev.memory.buffer).getUint32(DEVICE_BASE + field, true);
}

function u32At(dev: PmemDevice, addr: number): number {
  return new DataView(dev.memory.buffer).getUint32(addr, true);
}

function setU32At(dev: PmemDevice, addr: number, value: number): void {
  new DataView(dev.memory.buffer).setUint32(addr, value >>> 0, true);
}

describe('abi: generated file', () => {
  it('src/core/abi.ts and abi/*.ts are what scripts/gen-abi.mjs makes of assembly/abi.ts and abi/*.ts'
    + ' (run node scripts/gen-abi.mjs)', () => {
    const files = renderAll() as Array<{ path: string; text: string }>;
    expect(files.length).toBeGreaterThan(1); // the barrel and its sections
    for (const { path, text } of files) expect(readFileSync(path, 'utf8'), path).toBe(text);
  });

  it('the generator refuses a constant it cannot evaluate or a group member without a key', () => {
    expect(() => renderAbi('export const A: u32 = B + 1;\n')).toThrow(/unknown name B/);
    expect(() => renderAbi('export const A: u8 = 256;\n')).toThrow(/does not fit u8/);
    expect(() => renderAbi('// @ts object X\nexport const A: u32 = 0; // no key\n')).toThrow(/must start with its "key"/);
    expect(() => renderAbi('// @ts array X\nexport const A: u32 = 1; // "a"\n')).toThrow(/values must be 0..0/);
  });
});

describe('abi: the core\'s layout classes agree with the offsets', () => {
  it('RootSlot, DirtyRecord and LogEntry lay their fields out at RS_*, DR_* and ENTRY_* (both builds)', async () => {
    for (const target of ['release', 'debug'] as const) {
      const dev = await PmemDevice.create({ sizeBytes: SIZE_BYTES, target });
      expect(dev.core.core_layouts_check(), target).toBe(0);
      dev.close();
    }
  });
});

describe('abi: header fields and regions agree with the core', () => {
  it('format writes the configuration where the H_* offsets say', async () => {
    for (const domain of ['adr', 'eadr'] as const) {
      const dev = await smallDevice({ domain });
      expect(headerU32(dev, ABI.H_MAGIC)).toBe(ABI.HEADER_MAGIC);
      expect(headerU32(dev, ABI.H_VERSION)).toBe(ABI.HEADER_VERSION);
      expect(headerU32(dev, ABI.H_DEVICE_BYTES)).toBe(SIZE_BYTES);
      expect(headerU32(dev, ABI.H_LINE_COUNT)).toBe(SIZE_BYTES / ABI.LINE_BYTES);
      expect(headerU32(dev, ABI.H_DOMAIN)).toBe(ABI.DOMAIN[domain]);
      expect(headerU32(dev, ABI.H_MAX_THREADS)).toBe(2);
      expect(headerU32(dev, ABI.H_LOG_CAPACITY)).toBe(1024);
      expect(headerU32(dev, ABI.H_SCRATCH_BYTES)).toBe(1 << 16);
      expect(headerU32(dev, ABI.H_FLUSHQ_CAPACITY)).toBe(64);
      expect(headerU32(dev, ABI.H_KERNEL_BYTES)).toBe(1 << 16);
      expect(headerU32(dev, ABI.H_TOTAL_BYTES)).toBeLessThanOrEqual(dev.memory.buffer.byteLength);
      expect(headerU32(dev, ABI.H_THREAD_SLOTS)).toBe(1 << dev.threadSlot);
      expect(headerU32(dev, ABI.H_CRC_TABLES)).toBe(DEVICE_BASE + ABI.HEADER_BYTES);
      dev.close();
    }
  });

  it('every REGION selector returns what the header holds', async () => {
    const dev = await smallDevice();
    const h = (field: number): number => headerU32(dev, field);
    const stride = h(ABI.H_THREAD_STRIDE);
    dev.store(0, new Uint8Array(8).fill(1));
    dev.core.pmem_crash_scan();
    const expected: Record<keyof typeof ABI.REGION, number> = {
      visible: h(ABI.H_VISIBLE), preimage: h(ABI.H_PREIMAGE), patch: h(ABI.H_PATCH), lineState: h(ABI.H_LINE_STATE),
      scratch: h(ABI.H_THREADS) + dev.threadSlot * stride + stride - h(ABI.H_SCRATCH_BYTES),
      scratchBytes: h(ABI.H_SCRATCH_BYTES), lineCount: h(ABI.H_LINE_COUNT), kernel: h(ABI.H_KERNEL),
      kernelBytes: h(ABI.H_KERNEL_BYTES), deviceBytes: h(ABI.H_DEVICE_BYTES), threadSlot: dev.threadSlot,
      domain: h(ABI.H_DOMAIN), logCapacity: h(ABI.H_LOG_CAPACITY), crashTable: h(ABI.H_CRASH_TABLE),
      crashRows: h(ABI.H_CRASH_ROWS), stampRuns: h(ABI.H_RUNS),
    };
    for (const [name, selector] of Object.entries(ABI.REGION)) {
      expect(dev.core.pmem_region(selector) >>> 0, `region ${name}`).toBe(expected[name as keyof typeof ABI.REGION]);
    }
    expect(expected.crashRows).toBe(1);
    expect(dev.core.pmem_region(Object.keys(ABI.REGION).length)).toBe(0); // no selector beyond the last
  });

  it('the owner words sit at H_FS_OWNER and H_FS_OWNER_SEQ', async () => {
    const dev = await smallDevice();
    const token = dev.claimOwner('abi test');
    expect(headerU32(dev, ABI.H_FS_OWNER)).toBe(token >>> 0);
    expect(headerU32(dev, ABI.H_FS_OWNER_SEQ)).toBe(token >>> 0);
    dev.releaseOwner(token);
    expect(headerU32(dev, ABI.H_FS_OWNER)).toBe(0);
  });
});

describe('abi: counters, flush kinds, gauges and line state', () => {
  it('COUNTER_NAMES has COUNTER_COUNT names, each counting what its name says', async () => {
    const dev = await smallDevice();
    expect(ABI.COUNTER_NAMES.length).toBe(ABI.COUNTER_COUNT);
    expect(dev.core.pmem_counter(ABI.COUNTER_COUNT)).toBe(-ABI.EINVAL);
    const before = dev.counters();
    dev.store(0, new Uint8Array(100).fill(7));
    dev.flush(0, 64, 'clwb');
    dev.flush(64, 128, 'clflushopt');
    dev.sfence();
    dev.store(256, new Uint8Array(8));
    dev.flush(256, 8, 'clflush');
    dev.mfence();
    dev.load(0, 40);
    const after = dev.counters();
    const delta = (name: (typeof ABI.COUNTER_NAMES)[number]): number => after[name] - before[name];
    expect([delta('bytesStored'), delta('clwb'), delta('clflushopt'), delta('clflush')]).toEqual([108, 1, 2, 1]);
    expect([delta('sfence'), delta('mfence'), delta('bytesLoaded')]).toEqual([1, 1, 40]);
    expect(delta('stores')).toBeGreaterThan(0);
    expect(delta('loads')).toBeGreaterThan(0);
    // Each counter is the sum of the thread areas' counters (TA_COUNTERS): this thread's
    // hold everything here, the other slots nothing.
    const header = new DataView(dev.memory.buffer, DEVICE_BASE);
    const threads = header.getUint32(ABI.H_THREADS, true), stride = header.getUint32(ABI.H_THREAD_STRIDE, true);
    expect(ABI.TA_COUNTERS + 8 * ABI.COUNTER_COUNT).toBeLessThanOrEqual(ABI.FLUSHQ_FIRST_ENTRY);
    ABI.COUNTER_NAMES.forEach((name, i) => {
      let sum = 0;
      for (let t = 0; t < dev.config.maxThreads; t++) sum += Number(new DataView(dev.memory.buffer, threads + t * stride + ABI.TA_COUNTERS).getBigUint64(i * 8, true));
      expect(sum, name).toBe(after[name]);
      const own = Number(new DataView(dev.memory.buffer, threads + dev.threadSlot * stride + ABI.TA_COUNTERS).getBigUint64(i * 8, true));
      expect(own, `${name}: this thread's`).toBe(after[name]);
    });
  });

  it('pmem_store_begin / pmem_store_end: one store at a time, within the log, the end after the begin', async () => {
    const dev = await smallDevice();
    expect(dev.core.pmem_store_end()).toBe(-ABI.EINVAL); // no store begun
    expect(dev.core.pmem_store_begin(0, 0, 0)).toBe(-ABI.EINVAL);
    expect(dev.core.pmem_store_begin(dev.sizeBytes - 8, 16, 0)).toBe(-ABI.EINVAL); // past the device
    const small = await smallDevice({ logCapacity: 16 });
    expect(small.core.pmem_store_begin(0, 17 * ABI.LINE_BYTES, 0)).toBe(-ABI.E2BIG); // more lines than a ring holds
    expect(dev.core.pmem_store_begin(128, 64, 0)).toBe(0);
    expect(dev.core.pmem_store_begin(256, 64, 0)).toBe(-ABI.EBUSY);
    new Uint8Array(dev.memory.buffer, dev.region(ABI.REGION.visible) + 128, 64).fill(9); // the caller's bytes
    expect(dev.core.pmem_store_end()).toBe(0);
    expect(dev.load(128, 64).every((b) => b === 9)).toBe(true);
    expect(dev.crash().load(128, 1)[0]).toBe(0); // logged like a store: pending
    expect(dev.lineInfo(128).pendingStores).toBe(1);
    expect(dev.counters().stores).toBe(1);
  });

  it('flush kinds beyond FLUSH_KIND are refused', async () => {
    const dev = await smallDevice();
    expect(Math.max(...Object.values(ABI.FLUSH_KIND))).toBe(ABI.FLUSH_CLFLUSH);
    expect(dev.core.pmem_flush(0, 64, ABI.FLUSH_CLFLUSH + 1)).toBe(-ABI.EINVAL);
  });

  it('gauges, line info and line state bits mean what the TypeScript side reads', async () => {
    const dev = await smallDevice();
    dev.store(0, new Uint8Array(8).fill(1));
    dev.store(0, new Uint8Array(8).fill(2));
    dev.store(128, new Uint8Array(8).fill(3));
    dev.flush(128, 8, 'clwb');
    expect(dev.core.pmem_gauge(ABI.GAUGE.linesPending)).toBe(2);
    const area = headerU32(dev, ABI.H_THREADS) + dev.threadSlot * headerU32(dev, ABI.H_THREAD_STRIDE);
    const ring = area + ABI.TA_LOG; // this thread's store-log ring: it made both lines pending
    expect(u32At(dev, ring + ABI.TL_PENDING)).toBe(2);
    expect(u32At(dev, ring + ABI.TL_HEAD) - u32At(dev, ring + ABI.TL_TAIL)).toBe(3);
    expect(dev.core.pmem_gauge(ABI.GAUGE.logSpan)).toBe(3);
    expect(dev.core.pmem_gauge(ABI.GAUGE.flushQueue)).toBe(1);
    expect(dev.core.pmem_line_info(0)).toBe((2 << ABI.LINE_INFO_ENTRIES_SHIFT) | ABI.LINE_PENDING);
    dev.poison(64 * 5);
    const state = new Uint8Array(dev.memory.buffer, dev.region(ABI.REGION.lineState), 8);
    expect([state[0], state[2], state[5]]).toEqual([ABI.LINE_PENDING, ABI.LINE_PENDING, ABI.LINE_POISON]);
    expect(u32At(dev, area)).toBe(1); // flush-queue length, then entries
    const record = area + ABI.FLUSHQ_FIRST_ENTRY; // the queued clwb: its range and the newest store then
    expect([u32At(dev, record + ABI.FQ_FIRST), u32At(dev, record + ABI.FQ_COUNT)]).toEqual([2, 1]);
    expect(u32At(dev, record + ABI.FQ_UP_TO)).toBe(u32At(dev, ring + ABI.TL_CLOCK) - 1);
    // Ring t's position p is entry t * logCapacity + ((p - base) mod logCapacity) of the log.
    const log = headerU32(dev, ABI.H_LOG), head = u32At(dev, ring + ABI.TL_HEAD);
    const base = u32At(dev, ring + ABI.TL_SLOT_BASE), capacity = dev.config.logCapacity;
    const entryAt = (position: number): number => log + (dev.threadSlot * capacity + ((position - base) & (capacity - 1))) * ABI.ENTRY_BYTES;
    expect([head - 3, head - 2, head - 1].map((p) => u32At(dev, entryAt(p) + ABI.ENTRY_LINE))).toEqual([0, 0, 2]);
    expect([head - 3, head - 2, head - 1].map((p) => u32At(dev, entryAt(p) + ABI.ENTRY_SEQ))).toEqual([0, 1, 2]);
  });
});

describe('abi: crash table, patch slots and modes', () => {
  /** Two pending lines, one 8-byte store each: 2 versions per line, 4 images. */
  async function twoPendingLines(): Promise<PmemDevice> {
    const dev = await smallDevice();
    dev.store(3 * ABI.LINE_BYTES, new Uint8Array(8).fill(0xa1));
    dev.store(9 * ABI.LINE_BYTES + 8, new Uint8Array(8).fill(0xb2));
    return dev;
  }

  it('crash-table rows are CRASH_ROW_BYTES apart: (line, versions)', async () => {
    const dev = await twoPendingLines();
    expect(dev.core.pmem_crash_scan()).toBe(2);
    const table = dev.region(ABI.REGION.crashTable);
    const rows = [0, 1].map((r) => [
      u32At(dev, table + r * ABI.CRASH_ROW_BYTES + ABI.CRASH_ROW_LINE),
      u32At(dev, table + r * ABI.CRASH_ROW_BYTES + ABI.CRASH_ROW_VERSIONS),
    ]);
    expect(rows.sort((a, b) => a[0]! - b[0]!)).toEqual([[3, 2], [9, 2]]);
    expect(dev.core.pmem_crash_total()).toBe(4n);
  });

  it('patch slots are PATCH_BYTES apart: line at PATCH_LINE, content at PATCH_DATA', async () => {
    const dev = await twoPendingLines();
    const patch = dev.region(ABI.REGION.patch);
    let full = 0;
    for (let image = 0n; image < 4n; image++) {
      const slots = dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate, image, 0, 0);
      if (slots !== 2) continue;
      full++;
      const lines = [0, 1].map((s) => u32At(dev, patch + s * ABI.PATCH_BYTES + ABI.PATCH_LINE)).sort((a, b) => a - b);
      expect(lines).toEqual([3, 9]);
      const slotOf9 = u32At(dev, patch + ABI.PATCH_LINE) === 9 ? 0 : 1;
      const data = new Uint8Array(dev.memory.buffer, patch + slotOf9 * ABI.PATCH_BYTES + ABI.PATCH_DATA, ABI.LINE_BYTES);
      expect([...data.subarray(0, 24)]).toEqual([...new Uint8Array(8), ...new Uint8Array(8).fill(0xb2), ...new Uint8Array(8)]);
    }
    expect(full).toBe(1);
    expect(ABI.PATCH_DATA + ABI.LINE_BYTES).toBeLessThanOrEqual(ABI.PATCH_BYTES);
  });

  it('CRASH_MODE codes: strict patches nothing, random takes any seed, enumerate stops at the count', async () => {
    const dev = await twoPendingLines();
    expect(dev.core.pmem_crash_build(ABI.CRASH_MODE.strict, 0n, 0, 0)).toBe(0);
    expect(dev.core.pmem_crash_build(ABI.CRASH_MODE.random, 123456789n, 0, 0)).toBeGreaterThanOrEqual(0);
    expect(dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate, 3n, 0, 0)).toBeGreaterThanOrEqual(0);
    expect(dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate, 4n, 0, 0)).toBe(-ABI.EINVAL);
    expect(dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate + 1, 0n, 0)).toBe(-ABI.EINVAL);
  });

  it('line-table entries: (line, alternatives, their address, flags, care mask) with MEDIA_FAILS', async () => {
    const dev = await twoPendingLines();
    const scratch = dev.region(ABI.REGION.scratch);
    const table = scratch, alternatives = scratch + 2 * ABI.LINE_RULE_BYTES;
    const careAll = (e: number): void => { setU32At(dev, e + ABI.LINE_RULE_CARE, 0xffffffff); setU32At(dev, e + ABI.LINE_RULE_CARE + 4, 0xffffffff); };
    for (const [i, line] of [3, 9].entries()) {
      const e = table + i * ABI.LINE_RULE_BYTES;
      setU32At(dev, e + ABI.LINE_RULE_LINE, line);
      setU32At(dev, e + ABI.LINE_RULE_ALTERNATIVES, 1);
      setU32At(dev, e + ABI.LINE_RULE_ALTERNATIVES_ADDR, alternatives + i * ABI.LINE_BYTES);
      careAll(e);
    }
    new Uint8Array(dev.memory.buffer, alternatives + ABI.LINE_BYTES + 8, 8).fill(0xb2); // line 9 must hold its store
    expect(dev.core.pmem_line_table_prepare(table, 2)).toBe(1);
    expect(u32At(dev, table + ABI.LINE_RULE_FLAGS)).toBe(0);
    expect(u32At(dev, table + ABI.LINE_RULE_BYTES + ABI.LINE_RULE_FLAGS)).toBe(ABI.MEDIA_FAILS);
    const passing: number[] = [];
    for (let image = 0n; image < 4n; image++) {
      const slots = dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate, image, 0, 0);
      if (dev.core.pmem_line_table_check(slots, table, 2, 1) === 1) passing.push(slots);
    }
    expect(passing).toEqual([1]); // only the image with line 9's store and without line 3's
    // Bytes outside the care mask may hold anything: with line 3's stored bytes not cared
    // for (its store is bytes 0..7: care mask without bits 0..7), both of line 3's versions pass.
    setU32At(dev, table + ABI.LINE_RULE_CARE, 0xffffff00);
    expect(dev.core.pmem_line_table_prepare(table, 2)).toBe(1);
    const passingNow: number[] = [];
    for (let image = 0n; image < 4n; image++) {
      const slots = dev.core.pmem_crash_build(ABI.CRASH_MODE.enumerate, image, 0, 0);
      if (dev.core.pmem_line_table_check(slots, table, 2, 1) === 1) passingNow.push(Number(image));
    }
    expect(passingNow.length).toBe(2); // line 9 stored, line 3 either way
  });
});

describe('abi: errno', () => {
  it('the core returns the errno numbers src/errors.ts names', async () => {
    const dev = await smallDevice();
    const core: CoreExports = dev.core;
    expect(core.pmem_store(SIZE_BYTES, 0, 1, 0)).toBe(-ERRNO.EINVAL);
    expect(core.pmem_format(DEVICE_BASE, SIZE_BYTES, 0, 2, 1024, 1 << 16, 64, 1 << 16)).toBe(-ERRNO.EBUSY);
    expect(core.pmem_attach(DEVICE_BASE)).toBe(-ERRNO.EBUSY);
    expect(core.pmem_layout_total(DEVICE_BASE, 2 ** 32 - 64, 0, 2, 1024, 1 << 16, 64, 1 << 16)).toBe(-ERRNO.E2BIG);
    dev.poison(0);
    expect(core.pmem_load(dev.region(ABI.REGION.scratch), 0, 8)).toBe(-ERRNO.EIO);
    for (const name of ['EPERM', 'ENOENT', 'EIO', 'E2BIG', 'EAGAIN', 'ENOMEM', 'EFAULT', 'EBUSY', 'EINVAL', 'ENOSPC',
      'EEXIST', 'EFBIG', 'EUCLEAN'] as const) {
      expect(ERRNO[name], name).toBe(ABI[name]);
    }
  });
});

describe('abi: B-tree node format', () => {
  /** A node of `keys` (objectid, type, offset) written with the TypeScript key layout. */
  function writeNode(dev: PmemDevice, at: number, level: number, keys: Array<[number, number, number]>): void {
    const m = new FsMemory(dev.memory.buffer);
    m.u8.fill(0, at, at + ABI.MIN_NODE_BYTES);
    m.setU32(at + ABI.NODE_NRITEMS, keys.length);
    m.setU8(at + ABI.NODE_LEVEL, level);
    const stride = level === 0 ? ABI.LEAF_ITEM_BYTES : ABI.KEY_PTR_BYTES;
    keys.forEach(([objectid, type, offset], i) => m.setKey(at + ABI.NODE_HEADER_BYTES + i * stride, { objectid, type, offset }));
  }

  it('btree_node_search reads nodes as src/fs writes them, leaves and internal nodes', async () => {
    const dev = await smallDevice();
    const node = dev.region(ABI.REGION.kernel);
    const keys: Array<[number, number, number]> = [[256, 1, 0], [256, 12, 5], [2 ** 40, 1, 2 ** 33], [2 ** 40, 2, 0]];
    for (const level of [0, 1]) {
      writeNode(dev, node, level, keys);
      keys.forEach(([o, t, f], i) => expect(dev.core.btree_node_search(node, ABI.MIN_NODE_BYTES, o, t, f), `level ${level} key ${i}`).toBe(i));
      expect(dev.core.btree_node_search(node, ABI.MIN_NODE_BYTES, 2 ** 40, 1, 2 ** 33 + 1)).toBe(-3 - 1);
    }
    expect(dev.core.btree_node_search(node, ABI.MIN_NODE_BYTES - 1, 0, 0, 0)).toBe(-ABI.EINVAL - ABI.BAD_ARGUMENT_BIAS);
  });
});

describe('abi: DAX', () => {
  /** A DAX region by hand in the kernel region: one mapping of 2 pages, its page table. */
  async function daxDevice(): Promise<{ dev: PmemDevice; ptes: number }> {
    const dev = await smallDevice();
    const core = dev.core;
    const base = dev.region(ABI.REGION.kernel);
    const threads = base + ABI.D_HEADER_BYTES;
    const mappings = threads + 2 * core.dax_thread_area_bytes(ABI.TLB_ENTRIES_MIN);
    const ptes = mappings + ABI.MAPPING_BYTES;
    expect(core.dax_thread_area_bytes(ABI.TLB_ENTRIES_MIN)).toBe(ABI.T_TLB + ABI.TLB_ENTRIES_MIN * ABI.TLB_ENTRY_BYTES);
    expect(core.dax_format(base, 1, ABI.TLB_ENTRIES_MIN / 2, mappings, threads)).toBe(-ABI.EINVAL);
    expect(core.dax_format(base, 1, ABI.TLB_ENTRIES_MAX * 2, mappings, threads)).toBe(-ABI.EINVAL);
    expect(core.dax_format(base, ABI.MAX_MAPPINGS + 1, ABI.TLB_ENTRIES_MIN, mappings, threads)).toBe(-ABI.EINVAL);
    expect(core.dax_format(base, 1, ABI.TLB_ENTRIES_MIN, mappings, threads)).toBe(0);
    expect(u32At(dev, base + ABI.D_MAGIC)).toBe(ABI.DAX_MAGIC);
    expect([ABI.D_MAX_MAPPINGS, ABI.D_MAPPINGS, ABI.D_THREADS, ABI.D_TLB_ENTRIES].map((f) => u32At(dev, base + f)))
      .toEqual([1, mappings, threads, ABI.TLB_ENTRIES_MIN]);
    expect(core.dax_attach(base)).toBe(0);
    setU32At(dev, mappings + ABI.M_PAGES, 2);
    setU32At(dev, mappings + ABI.M_PTES, ptes);
    setU32At(dev, ptes, 1 | ABI.PTE_PRESENT); // page 0 -> device page 1, read-only; page 1 absent
    setU32At(dev, mappings + ABI.M_ACTIVE, 1);
    return { dev, ptes };
  }

  it('page-table bits and fault codes: write-protect, not present, media error', async () => {
    const { dev, ptes } = await daxDevice();
    const core = dev.core;
    const src = dev.region(ABI.REGION.scratch);
    new Uint8Array(dev.memory.buffer, src, 8).fill(0x5a);
    const fault = (): [number, number] => {
      const info = core.dax_fault_info() >>> 0;
      return [info >>> ABI.FAULT_REASON_SHIFT, info & ABI.FAULT_PAGE_MASK];
    };
    expect(core.dax_store(0, 16, src, 8)).toBe(0);
    expect(fault()).toEqual([ABI.FAULT_WRITE_PROTECT, 0]);
    expect(core.dax_load(0, ABI.PAGE_BYTES, src + 64, 8)).toBe(0);
    expect(fault()).toEqual([ABI.FAULT_NOT_PRESENT, 1]);
    setU32At(dev, ptes, 1 | ABI.PTE_PRESENT | ABI.PTE_WRITE);
    core.dax_shootdown();
    expect(core.dax_store(0, 16, src, 8)).toBe(8);
    expect([...dev.load(ABI.PAGE_BYTES + 16, 8)]).toEqual(new Array(8).fill(0x5a));
    expect(ABI.PTE_BLOCK_MASK & (ABI.PTE_PRESENT | ABI.PTE_WRITE)).toBe(0);
    dev.poison(ABI.PAGE_BYTES + 16);
    expect(core.dax_load(0, 16, src + 64, 8)).toBe(0);
    expect(fault()).toEqual([ABI.FAULT_MEDIA_ERROR, 0]);
  });
});
