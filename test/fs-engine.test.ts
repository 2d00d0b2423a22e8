// The file system's engine in the core (assembly/fs/, docs/engine.md): its state lives in
// the shared memory, so every thread's core instance sees the same dirty blocks, pool and
// verified blocks; the tree checker and the block reader answer with problem records that
// TypeScript words; bad arguments are negative errnos, never traps.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { NodeView } from '../src/fs/node.js';
import { fixNodeChecksum } from '../src/image/mutate.js';
import { NODE_HEADER_BYTES, LEAF_ITEM_BYTES, NODE_GENERATION, EXTENT_DATA_REF, NODE_FSID } from '../src/fs/format.js';
import {
  EINVAL, REGION, RS_ROOT, RS_LEVEL, F_CSUM_ROOT, F_CSUM_LEVEL, READ_VERIFY, READ_INODE_BOUNDS, READ_NO_INODE, ROOT_SLOTS,
  CHUNK_DATA, CHUNK_METADATA, CHUNK_SYSTEM, F_CHUNKS, CHUNK_ENTRY_BYTES,
} from '../src/core/abi.js';
import { chunkBytesFor } from '../src/fs/chunks.js';
import { FreeSpace } from '../src/fs/free-space.js';
import { Rng } from '../src/random.js';
import { FreeSpaceModel } from './helpers/free-space-model.js';

const NODE = 4096;

async function mounted(): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20, maxThreads: 2 });
  FileSystem.mkfs(dev, { nodeSize: NODE });
  const fs = FileSystem.mount(dev);
  for (let i = 0; i < 40; i++) fs.writeFile(`/file-${i}`, new Uint8Array(100 + i).fill(i));
  fs.commit();
  return { dev, fs };
}

/** The bytenrs the core lists as dirty, in the order they became dirty. */
function dirtyBlocks(core: PmemDevice['core']): number[] {
  const out: number[] = [];
  for (let i = 0; i < core.fs_dirty_list_length(); i++) {
    const bytenr = core.fs_dirty_list_entry(i);
    if (bytenr >= 0) out.push(bytenr);
  }
  return out;
}

describe('the engine state in shared memory', () => {
  it('a second thread\'s core attaches to the mount and sees the same dirty blocks, buffers and verified blocks', async () => {
    const { dev, fs } = await mounted();
    fs.writeFile('/new', new Uint8Array(5000).fill(7));
    const k = fs.kernel;
    const mine = dirtyBlocks(dev.core);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBe(k.dirtyNodeCount());

    const other = PmemDevice.attach(dev.handle());
    try {
      expect(other.core.fs_attach(k.fsStateAddr)).toBe(0);
      expect(dirtyBlocks(other.core)).toEqual(mine);
      for (const bytenr of mine) {
        const buffer = other.core.fs_dirty_buffer(bytenr);
        expect(buffer).toBeGreaterThan(0);
        expect(buffer).toBe(dev.core.fs_dirty_buffer(bytenr));
        expect(new NodeView(k.m, buffer, NODE).bytenr).toBe(bytenr);
      }
      expect(other.core.fs_free_buffers()).toBe(dev.core.fs_free_buffers());
      // A block read (and verified) by one thread is verified for the other.
      const clean = fs.subvolume(5)!.tree.root;
      expect(k.isDirty(clean)).toBe(true);
      fs.commit();
      expect(other.core.fs_dirty_blocks()).toBe(0);
      expect(other.core.fs_is_verified(clean)).toBe(1);
      expect(other.core.fs_node_addr(clean)).toBe(k.visibleAddr + clean);
      expect(other.core.fs_free_buffers()).toBe(k.poolSize);
    } finally {
      other.close();
    }
  });

  it('a commit returns every buffer, and a dropped block is neither written nor listed', async () => {
    const { fs } = await mounted();
    const k = fs.kernel;
    expect(k.device.core.fs_free_buffers()).toBe(k.poolSize);
    for (let i = 0; i < 40; i++) fs.unlink(`/file-${i}`);
    expect(k.dirtyNodeCount()).toBeGreaterThan(0);
    expect(k.device.core.fs_dirty_list_length()).toBeGreaterThanOrEqual(k.dirtyNodeCount());
    fs.commit();
    expect(k.dirtyNodeCount()).toBe(0);
    expect(k.device.core.fs_free_buffers()).toBe(k.poolSize);
    expect(fs.readdir('/')).toEqual([]);
    expect(fs.fsck()).toEqual([]);
  });
});

describe('the block reader and tree checker in the core', () => {
  /** A committed leaf of the top-level tree, with its checksum fixed after `change`. */
  async function corruptedLeaf(change: (dev: PmemDevice, leaf: number) => void): Promise<string> {
    const { dev, fs } = await mounted();
    const leaf = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(fs.subvolume(5)!.tree.root), NODE).child(1);
    fs.unmount();
    change(dev, leaf);
    fixNodeChecksum(dev, leaf, NODE);
    dev.persist(0, dev.sizeBytes);
    const again = FileSystem.mount(dev);
    try {
      for (const name of again.readdir('/')) again.readFile(`/${name}`);
      return 'ok';
    } catch (e) {
      return `${(e as { code: string }).code}: ${(e as Error).message}`;
    } finally {
      try { again.unmount(); } catch { /* aborted */ }
    }
  }

  it('words each problem with its slot, key and values', async () => {
    const typeAt = NODE_HEADER_BYTES + 2 * LEAF_ITEM_BYTES + 8;
    expect(await corruptedLeaf((dev, leaf) => dev.store(leaf + typeAt, new Uint8Array([200]))))
      .toMatch(/^EUCLEAN: .*tree block \d+: (slot 2 \(\d+ 200 \d+\): unknown item type 200|keys out of order at slot \d+: .* then .*)$/);
    expect(await corruptedLeaf((dev, leaf) => dev.store(leaf + NODE_GENERATION, new Uint8Array([0, 0, 0, 0, 0, 0, 1, 0]))))
      .toMatch(/^EUCLEAN: .*tree block \d+: generation 281474976710656 outside 1\.\.\d+$/);
    // A block of another file system (btrfs's fsid in the header), its checksum valid.
    expect(await corruptedLeaf((dev, leaf) => dev.store(leaf + NODE_FSID + 5, new Uint8Array([0x77]))))
      .toMatch(/^EUCLEAN: .*tree block \d+: fsid does not match the file system's$/);
    expect(await corruptedLeaf((dev, leaf) => dev.store(leaf + NODE_HEADER_BYTES + 21, new Uint8Array([0, 0, 0, 1]))))
      .toMatch(/^EUCLEAN: .*tree block \d+: slot 0: data \[\d+, \+16777216\) does not end at 4096$/);
  });

  it('a checksum mismatch is EIO and names the block', async () => {
    const { dev, fs } = await mounted();
    const leaf = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(fs.subvolume(5)!.tree.root), NODE).child(0);
    fs.unmount();
    dev.store(leaf + 100, new Uint8Array([1, 2, 3]));
    dev.persist(0, dev.sizeBytes);
    const again = FileSystem.mount(dev);
    expect(again.kernel.checkCopy(leaf, 0)).toEqual({ code: 'EIO', message: `tree block ${leaf}: checksum mismatch` });
    again.unmount();
  });
});

describe('bad arguments are errnos, never traps', () => {
  it('every fs_ export refuses what is not a block, a buffer or a state of this device', async () => {
    const { dev, fs } = await mounted();
    const core = dev.core;
    const k = fs.kernel;
    for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 60]) {
      expect(core.fs_node_addr(bad), `node addr ${bad}`).toBe(-EINVAL);
      expect(core.fs_dirty_buffer(bad)).toBe(-EINVAL);
      expect(core.fs_set_verified(bad, 1)).toBe(-EINVAL);
      expect(core.fs_alloc_node(bad, 0)).toBe(-EINVAL);
      expect(core.fs_end_transaction(bad)).toBe(-EINVAL);
    }
    expect(core.fs_alloc_node(5, 9)).toBe(-EINVAL); // above MAX_LEVEL
    expect(core.fs_check_copy(k.totalBytes, 0)).toBe(-EINVAL);
    expect(core.fs_check_copy(65536, 2)).toBe(-EINVAL);
    // A pointer outside the device is a problem record, EUCLEAN, not a read.
    expect(core.fs_node_addr(k.totalBytes + 4096)).toBeLessThan(0);
    expect(() => k.nodeAddr(k.totalBytes + 4096)).toThrow(/tree block pointer \d+ is outside the device/);
    // A state outside the kernel region, or overlapping its own pool.
    expect(core.fs_format(0, NODE, 1, k.totalBytes, 1, k.fsStateAddr, 64, 1024, 2048)).toBe(-EINVAL);
    expect(core.fs_format(k.fsStateAddr, NODE, 1, k.totalBytes, 1, k.fsStateAddr, 64, 1024, 2048)).toBe(-EINVAL);
    expect(core.fs_format(k.fsStateAddr, 3000, 1, k.totalBytes, 1, k.daxAddr - 64 * NODE, 64, 1024, 2048)).toBe(-EINVAL);
    expect(core.fs_attach(12)).toBe(-EINVAL);
    // Nothing above changed the mount.
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });
});

describe('free space in the core', () => {
  /** A fresh device with a core state formatted in its kernel region (no file system). */
  async function state(sizeBytes: number, copies = 1): Promise<{ dev: PmemDevice; total: number; chunkBytes: number; stateBase: number }> {
    const dev = await PmemDevice.create({ sizeBytes, maxThreads: 1 });
    const kernel = dev.core.pmem_region(REGION.kernel);
    const total = sizeBytes - (sizeBytes % 4096);
    const stateBytes = dev.core.fs_state_bytes(total, 64, 1024, 2048);
    const pool = kernel + Math.ceil((stateBytes + 4096) / 4096) * 4096;
    const chunkBytes = chunkBytesFor(total, 16384, copies);
    expect(dev.core.fs_format(kernel + 4096, 16384, copies, total, chunkBytes, 1, pool, 64, 1024, 2048)).toBe(0);
    return { dev, total, chunkBytes, stateBase: kernel + 4096 };
  }

  it('hands out the same addresses as the reference allocator over random calls (many seeds, single and dup)', async () => {
    let released = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const copies = seed % 2 === 0 ? 2 : 1;
      const { dev, total, chunkBytes, stateBase } = await state((seed % 3 === 0 ? 3 : 1) * (4 << 20) + seed * 4096, copies);
      const core = dev.core;
      const model = new FreeSpaceModel(total, chunkBytes, 16384, copies);
      const free = new FreeSpace(core, total, 4096);
      const rng = new Rng(seed);
      model.addChunks();
      for (let c = 0; c < model.kinds.length; c++) free.addFree(model.chunkStart(c), chunkBytes);
      const live: Array<[number, number]> = [];
      for (let step = 0; step < 1500; step++) {
        const what = rng.below(10);
        if (what < 4) {
          const length = (1 + rng.below(rng.below(4) === 0 ? 64 : 8)) * 4096;
          const reserve = rng.below(3) === 0 ? 32 * 16384 : 0;
          const a = model.allocateData(length, reserve);
          expect(free.allocate(length, reserve, CHUNK_DATA), `seed ${seed} step ${step}: data ${length}`).toBe(a);
          if (a !== null) live.push([a, length]);
        } else if (what < 6) {
          const kind = rng.below(8) === 0 ? CHUNK_SYSTEM : CHUNK_METADATA;
          const a = model.allocateTreeBlock(kind);
          expect(free.allocate(16384, 0, kind), `seed ${seed} step ${step}: block`).toBe(a);
          if (a !== null) live.push([a, 16384]);
        } else if (what < 9 && live.length) {
          const [start, length] = live.splice(rng.below(live.length), 1)[0]!;
          model.pin(start, length);
          free.pin(start, length);
        } else {
          // A commit: chunks empty since the last one go back, then pinned space is free.
          const gone = model.releaseEmpty();
          for (let c = 0; c < model.kinds.length; c++) {
            expect(core.fs_chunk_release_if_empty(c), `seed ${seed} step ${step}: chunk ${c} released`).toBe(gone.includes(c) ? 1 : 0);
          }
          released += gone.length + model.unpinAll().length;
          free.unpinAll();
          const table = new DataView(dev.memory.buffer).getUint32(stateBase + F_CHUNKS, true);
          const kinds = model.kinds.map((_, c) => new Uint8Array(dev.memory.buffer)[table + c * CHUNK_ENTRY_BYTES]);
          expect(kinds, `seed ${seed} step ${step}: chunk kinds`).toEqual(model.kinds);
        }
        expect(free.freeBytes()).toBe(model.freeBytes());
        expect(free.pinnedBytes()).toBe(model.pinnedBytes());
        expect(free.treeFreeBytes(CHUNK_METADATA), `seed ${seed} step ${step}: tree space`).toBe(model.treeFreeBytes(CHUNK_METADATA));
        if (step % 50 === 0) {
          expect(free.largestRun(1 << 20)).toBe(model.largestRun(1 << 20));
          const probe = (1 << 20) + rng.below((total - (1 << 20)) / 4096 - 4) * 4096;
          expect(free.isFree(probe, 8192)).toBe(model.isFree(probe, 8192));
          const d = rng.below(4 << 20), m = rng.below(1 << 20);
          expect(core.fs_space_fits(d, m) === 1, `seed ${seed} step ${step}: fits ${d} ${m}`).toBe(model.spaceFits(Math.ceil(d / 4096) * 4096, Math.ceil(m / 4096) * 4096));
        }
      }
      dev.close();
    }
    expect(released, 'chunks given back').toBeGreaterThan(0);
  });

  it('refuses a double free, a double pin, unaligned extents and space outside the chunks with EIO, and bad arguments with -EINVAL', async () => {
    const { dev, total, chunkBytes } = await state(4 << 20);
    const free = new FreeSpace(dev.core, total, 4096);
    free.addFree(1 << 20, chunkBytes);
    expect(() => free.addFree((1 << 20) + 4096, 4096)).toThrow(/freed twice/);
    expect(() => free.addFree(65536, 4096)).toThrow(/bad extent/);
    const at = free.allocate(8192)!;
    free.pin(at, 8192);
    expect(() => free.pin(at, 4096)).toThrow(/freed twice in one transaction/);
    expect(() => free.pin(at + 100, 4096)).toThrow(/bad extent/);
    expect(() => free.addFree(total, 4096)).toThrow(/bad extent/);
    for (const bad of [-4096, 0.5, NaN, 2 ** 60]) {
      expect(dev.core.fs_free_add(bad, 4096)).toBe(-EINVAL);
      expect(dev.core.fs_free_allocate(bad, 0, CHUNK_DATA)).toBe(-EINVAL);
    }
    expect(dev.core.fs_free_allocate(4096, 0, 3)).toBe(-EINVAL);
    expect(dev.core.fs_free_allocate(4096, 0, CHUNK_METADATA)).toBe(-EINVAL);
    expect(dev.core.fs_format(dev.core.pmem_region(REGION.kernel) + 4096, 16384, 1, total, 12345, 1, 0, 64, 1024, 2048)).toBe(-EINVAL);
    expect(free.allocate(64 << 20)).toBe(null);
    dev.close();
  });
});

describe('delayed refs in the core', () => {
  it('a transaction larger than the delayed-ref tables runs them between operations', async () => {
    // A 4 MiB kernel region: tables of 2,048 ref slots (run at 1,024 refs), a pool large
    // enough that the overwrite below commits nothing early.
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, kernelBytes: 4 << 20, maxThreads: 1 });
    FileSystem.mkfs(dev, { nodeSize: NODE });
    const fs = FileSystem.mount(dev);
    const core = dev.core;
    expect(core.fs_ref_pressure()).toBe(0);
    fs.writeFile('/big', new Uint8Array(0));
    const fd = fs.open('/big');
    const extents = 1500;
    for (let i = 0; i < extents; i++) fs.pwrite(fd, new Uint8Array(4096).fill(i & 255), i * 8192);
    fs.commit();
    fs.snapshot('/', '/snap');
    fs.commit();
    const generation = fs.statfs().generation;
    let peak = 0, fell = 0, previous = 0;
    for (let i = 0; i < extents; i++) {
      fs.pwrite(fd, new Uint8Array(16).fill(7), i * 8192);
      const count = core.fs_ref_count();
      peak = Math.max(peak, count);
      if (count < previous) fell++;
      previous = count;
    }
    // Still one transaction: no commit ran, yet the refs were run (and went down) inside it.
    expect(fs.statfs().generation).toBe(generation);
    expect(fell).toBeGreaterThan(0);
    expect(dev.core.fs_ref_pressure()).toBeLessThan(1000);
    expect(peak).toBeLessThan(2048);
    fs.close(fd);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    const again = fs.readFile('/big');
    const snap = fs.readFile('/snap/big');
    for (const i of [0, 1, 749, 1499]) {
      expect(again[i * 8192]).toBe(7);
      expect(snap[i * 8192]).toBe(i & 255);
    }
    dev.close();
  });
});

describe('implicit data back references', () => {
  it('copying a leaf of its own tree leaves the extent tree alone; backrefs name (root, inode, extent start)', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, maxThreads: 1 });
    FileSystem.mkfs(dev, { nodeSize: NODE });
    const fs = FileSystem.mount(dev);
    for (let i = 0; i < 30; i++) fs.writeFile(`/f${i}`, new Uint8Array(8192).fill(i));
    fs.commit();
    const k = fs.kernel;
    const dataRefs = (): string[] => [...k.extentTree.range({ objectid: 0, type: 0, offset: 0 }, { objectid: 2 ** 53 - 1, type: 255, offset: 2 ** 53 - 1 })]
      .filter((it) => it.key.type === EXTENT_DATA_REF).map((it) => `${it.key.objectid} ${it.key.offset} ${[...it.data].join(',')}`);
    const before = dataRefs();
    expect(before.length).toBe(30);
    const fsRoot = fs.subvolume(5).tree.root;
    // A hard link changes /f3's inode item and adds its INODE_REF: leaves holding the
    // files' extent items are copied (the fs tree's root moves), and every one of their back
    // references stays as it was (a per-leaf reference would have moved to the copy).
    fs.link('/f3', '/f3-link');
    fs.commit();
    expect(fs.subvolume(5).tree.root).not.toBe(fsRoot);
    expect(dataRefs()).toEqual(before);
    expect(fs.fsck()).toEqual([]);
    // A write into the middle of a file splits its item around a new extent: the two parts
    // keep one back reference (same inode, same extent start) with count 2.
    fs.writeFile('/f5', new Uint8Array(12288).fill(5));
    fs.commit();
    const [old] = fs.fileExtents('/f5');
    const fd = fs.open('/f5');
    fs.pwrite(fd, new Uint8Array(10).fill(99), 4096);
    fs.close(fd);
    fs.commit();
    const refs = [...k.extentTree.range({ objectid: old!.diskBytenr, type: EXTENT_DATA_REF, offset: 0 }, { objectid: old!.diskBytenr, type: EXTENT_DATA_REF, offset: 2 ** 53 - 1 })];
    expect(refs.length).toBe(1);
    const body = new DataView(refs[0]!.data.buffer, refs[0]!.data.byteOffset);
    const ino = fs.stat('/f5').ino;
    expect([body.getBigUint64(0, true), body.getBigUint64(8, true), body.getBigUint64(16, true), body.getUint32(24, true)]).toEqual([5n, BigInt(ino), 0n, 2]);
    expect(fs.fsck()).toEqual([]);
    dev.close();
  });

  it('fs_data_refs_owner: one mapping of the file, another file, several mappings of the file', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, maxThreads: 1 });
    FileSystem.mkfs(dev, { nodeSize: NODE });
    const fs = FileSystem.mount(dev);
    const core = dev.core;
    for (const path of ['/a', '/b', '/c']) { fs.create(path); fs.setNoDataCow(path); fs.writeFile(path, new Uint8Array(16384).fill(1)); }
    fs.commit();
    const owner = (path: string): number => {
      const [e] = fs.fileExtents(path);
      return core.fs_data_refs_owner(e!.diskBytenr, e!.diskBytes, 5, fs.stat(path).ino);
    };
    expect(owner('/a')).toBe(1); // one item: one reference of this inode
    fs.cloneRange('/b', 0, '/a', 16384, 4096); // a reference from another inode (in /a) to /b's extent
    expect(owner('/b')).toBe(-1); // delayed: not run yet
    fs.commit();
    expect(owner('/b')).toBe(0);
    fs.cloneRange('/c', 0, '/c', 16384, 4096); // the same extent twice in /c: two mappings
    fs.commit();
    expect(owner('/c')).toBe(-1);
    expect(core.fs_data_refs_owner(1.5, 4096, 5, 257)).toBeLessThan(-1000000);
    // What the answers decide: an overwrite of /b's shared block leaves /a's clone alone.
    const fd = fs.open('/b');
    fs.pwrite(fd, new Uint8Array(4096).fill(9), 0);
    fs.close(fd);
    expect(fs.readFile('/a').subarray(16384, 16384 + 4096).every((x) => x === 1)).toBe(true);
    expect(fs.readFile('/b').subarray(0, 4096).every((x) => x === 9)).toBe(true);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    dev.close();
  });
});

describe('preadInto', () => {
  it('reads into the caller\'s buffer, short at the end of the file, with the errors of pread', async () => {
    const { dev, fs } = await mounted();
    const data = new Uint8Array(10_000).map((_, i) => (i * 7) & 255);
    fs.writeFile('/r', data);
    const fd = fs.open('/r');
    const buf = new Uint8Array(4096).fill(0xee);
    expect(fs.preadInto(fd, buf, 4000)).toBe(4096);
    expect(buf).toEqual(data.subarray(4000, 8096));
    buf.fill(0xee);
    expect(fs.preadInto(fd, buf, 8000)).toBe(2000);
    expect(buf.subarray(0, 2000)).toEqual(data.subarray(8000));
    expect(buf.subarray(2000).every((b) => b === 0xee)).toBe(true); // the rest left as it was
    expect(fs.preadInto(fd, buf, 20_000)).toBe(0);
    const view = new DataView(new ArrayBuffer(16), 4, 8);
    expect(fs.preadInto(fd, view, 1)).toBe(8);
    expect(view.getUint8(0)).toBe(data[1]);
    expect(() => fs.preadInto(fd, 'x' as unknown as Uint8Array, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => fs.preadInto(fd, buf, -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    fs.close(fd);
    expect(() => fs.preadInto(fd, buf, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    dev.close();
  });
});

describe('the root table', () => {
  it('another thread\'s core reads a file through the root table and the csum tree root in the state', async () => {
    const { dev, fs } = await mounted();
    const content = new Uint8Array(20000).map((_, i) => (i * 7 + 3) & 255);
    fs.writeFile('/r', content);
    fs.snapshot('/', '/snap');
    fs.writeFile('/r', new Uint8Array(20000).fill(9)); // the snapshot keeps the first content
    const k = fs.kernel;
    const other = PmemDevice.attach(dev.handle());
    try {
      expect(other.core.fs_attach(k.fsStateAddr)).toBe(0);
      const dst = other.core.pmem_region(REGION.scratch);
      const read = (id: number): Uint8Array => {
        const slot = k.rootSlotOf(id);
        expect(slot).toBeGreaterThan(0);
        const m = k.m;
        const ino = fs.stat(id === 5 ? '/r' : '/snap/r').ino;
        expect(other.core.file_read(id, m.u64(slot + RS_ROOT), m.u32(slot + RS_LEVEL), m.u64(k.fsStateAddr + F_CSUM_ROOT),
          m.u32(k.fsStateAddr + F_CSUM_LEVEL), ino, 0, content.length, dst, READ_VERIFY)).toBe(content.length);
        const bytes = m.u8.slice(dst, dst + content.length);
        // With READ_INODE_BOUNDS the core looks the inode up itself: a read past EOF stops there.
        expect(other.core.file_read(id, m.u64(slot + RS_ROOT), m.u32(slot + RS_LEVEL), m.u64(k.fsStateAddr + F_CSUM_ROOT),
          m.u32(k.fsStateAddr + F_CSUM_LEVEL), ino, content.length - 100, 4096, dst, READ_INODE_BOUNDS)).toBe(100);
        expect(other.core.file_read(id, m.u64(slot + RS_ROOT), m.u32(slot + RS_LEVEL), m.u64(k.fsStateAddr + F_CSUM_ROOT),
          m.u32(k.fsStateAddr + F_CSUM_LEVEL), 999_999, 0, 4096, dst, READ_INODE_BOUNDS)).toBe(READ_NO_INODE);
        return bytes;
      };
      expect(read(5)).toEqual(new Uint8Array(20000).fill(9));
      expect(read(fs.stat('/snap').subvolume)).toEqual(content);
      // A deleted subvolume's slot is free again.
      const snapId = fs.stat('/snap').subvolume;
      fs.deleteSubvolume('/snap');
      expect(k.rootSlotOf(snapId)).toBe(0);
    } finally {
      other.close();
    }
  });
});

describe('the root table when full', () => {
  it('subvolumes beyond its slots keep their roots on the owning thread; a deleted one frees its slot', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 128 << 20, maxThreads: 2 });
    FileSystem.mkfs(dev, { nodeSize: NODE });
    const fs = FileSystem.mount(dev);
    const k = fs.kernel;
    fs.writeFile('/x', new Uint8Array(100).fill(5));
    fs.mkdir('/s');
    const ids: number[] = [];
    for (let i = 0; i < ROOT_SLOTS + 4; i++) {
      fs.snapshot('/', `/s/${i}`);
      ids.push(fs.stat(`/s/${i}`).subvolume);
    }
    // The top-level subvolume holds a slot too: the last five snapshots have none.
    expect(ids.slice(0, ROOT_SLOTS - 1).every((id) => k.rootSlotOf(id) > 0)).toBe(true);
    expect(ids.slice(ROOT_SLOTS - 1).every((id) => k.rootSlotOf(id) === 0)).toBe(true);
    expect(fs.readFile(`/s/${ROOT_SLOTS + 3}/x`)).toEqual(new Uint8Array(100).fill(5));
    fs.deleteSubvolume('/s/0');
    fs.snapshot('/', '/s/again');
    expect(k.rootSlotOf(fs.stat('/s/again').subvolume)).toBeGreaterThan(0);
    expect(fs.fsck()).toEqual([]);
    dev.close();
  });
});

describe("the commit's write-out of tree blocks in the core", () => {
  it('stores and writes back every copy of every dirty block, its checksum right, with the hooks before each store', async () => {
    for (const metadataProfile of ['single', 'dup'] as const) {
      const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
      FileSystem.mkfs(dev, { nodeSize: 4096, metadataProfile });
      const fs = FileSystem.mount(dev);
      for (let i = 0; i < 40; i++) fs.writeFile(`/f${i}`, new Uint8Array(100).fill(i));
      const k = fs.kernel;
      const core = dev.core;
      // The blocks the write-out will store: the dirty list as it stands once the delayed
      // refs have run (they dirty more blocks), read from the commit's first store.
      const copies = metadataProfile === 'dup' ? 2 : 1;
      let expected: number[] | null = null;
      const stores: number[] = [];
      const written: number[] = [];
      dev.beforeStore = () => {
        if (!expected) {
          expected = [];
          for (let i = 0; i < core.fs_dirty_list_length(); i++) {
            const b = core.fs_dirty_list_entry(i);
            if (b >= 0) for (let c = 0; c < copies; c++) expected.push(k.copyBytenr(b, c));
          }
        }
        stores.push(stores.length);
      };
      const stopListening = dev.fsWrites.add((bytenr) => { written.push(bytenr); });
      // (A mount sees the listeners added before it as well as after: mount again anyway.)
      fs.unmount();
      const again = FileSystem.mount(dev);
      for (let i = 0; i < 40; i++) again.writeFile(`/g${i}`, new Uint8Array(100).fill(i));
      expected = null; stores.length = 0; written.length = 0;
      again.commit();
      dev.beforeStore = null;
      stopListening();
      expect(expected, metadataProfile).not.toBeNull();
      // One store point per tree block copy, then the superblock's two copies.
      expect(stores.length, metadataProfile).toBe(expected!.length + 2);
      expect(written.slice(0, expected!.length), metadataProfile).toEqual(expected);
      // Every copy is durable and checks: a strict crash mounts and fsck is clean.
      const after = FileSystem.mount(dev.crash({ mode: 'strict' }));
      expect(after.fsck(), metadataProfile).toEqual([]);
      expect(after.readFile('/g39')).toEqual(new Uint8Array(100).fill(39));
    }
  });
});
