// Tree block checksums with the gap shortcut (assembly/fs/node-csum.ts): the value on the
// device is always crc32c of bytes [4, nodeBytes), whichever way it was computed, and a
// block whose unused middle is not zero is checked byte by byte.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { fixNodeChecksum } from '../src/image/mutate.js';
import { key, METADATA_ITEM, NODE_HEADER_BYTES, LEAF_ITEM_BYTES, NODE_NRITEMS, NODE_LEVEL } from '../src/fs/format.js';
import { NODE_CSUM_START } from '../src/core/abi.js';
import { Rng } from '../src/random.js';

describe('crc32c over zero bytes in one step', () => {
  it('equals crc32c_update over that many zeros, for many registers and lengths', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20, maxThreads: 1 });
    const core = dev.core;
    const scratch = dev.scratch();
    scratch.fill(0, 0, 70000);
    const rng = new Rng(7);
    const lengths = [0, 1, 2, 3, 7, 8, 255, 256, 4096, 16380, 65536, 69999];
    for (let i = 0; i < 40; i++) lengths.push(rng.below(70000));
    for (const n of lengths) {
      for (const crc of [0, 0xffffffff, rng.below(2 ** 32), rng.below(2 ** 32)]) {
        const slow = core.csum_crc32c_update(crc, scratch.byteOffset, n) >>> 0;
        expect(core.csum_crc32c_zeros(crc, n) >>> 0, `${n} zeros from ${crc}`).toBe(slow);
      }
    }
    dev.close();
  });
});

describe('tree block checksums with a zero gap', () => {
  async function filled(nodeSize: number, target: 'release' | 'debug' = 'release'): Promise<{ dev: PmemDevice; fs: FileSystem; blocks: number[] }> {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, maxThreads: 2, target });
    FileSystem.mkfs(dev, { nodeSize });
    const fs = FileSystem.mount(dev);
    const rng = new Rng(nodeSize);
    const live: number[] = [];
    for (let i = 0; i < 300; i++) {
      fs.writeFile(`/f${i}`, new Uint8Array(1 + rng.below(9000)).fill(i & 255));
      live.push(i);
      if (i % 7 === 0 && i > 0) fs.unlink(`/f${live.splice(rng.below(live.length), 1)[0]}`);
      if (i % 50 === 0) fs.commit();
    }
    fs.commit();
    const blocks: number[] = [];
    fs.kernel.extentTree.walkRange(key(0, 0, 0), key(Number.MAX_SAFE_INTEGER, 255, Number.MAX_SAFE_INTEGER), (k) => {
      if (k.type === METADATA_ITEM) blocks.push(k.objectid);
      return true;
    });
    return { dev, fs, blocks };
  }

  it('every committed block holds crc32c of its bytes, and its gap is zero (both builds)', async () => {
    // The debug build also asserts, for every block, that the shortcut equals crc32c.
    for (const [nodeSize, target] of [[4096, 'release'], [16384, 'release'], [16384, 'debug']] as const) {
      const { dev, fs, blocks } = await filled(nodeSize, target);
      expect(blocks.length).toBeGreaterThan(3);
      let gapBytes = 0;
      for (const at of blocks) {
        const bytes = dev.load(at, nodeSize);
        const view = new DataView(bytes.buffer);
        expect(view.getUint32(0, true), `block ${at}`).toBe(dev.crc32c(at + NODE_CSUM_START, nodeSize - NODE_CSUM_START));
        const n = view.getUint32(NODE_NRITEMS, true), level = bytes[NODE_LEVEL]!;
        const start = NODE_HEADER_BYTES + n * (level === 0 ? LEAF_ITEM_BYTES : LEAF_ITEM_BYTES + 8);
        // A leaf's lowest data starts at its last item's offset, counted from the header's end.
        const end = level === 0 && n > 0 ? NODE_HEADER_BYTES + view.getUint32(NODE_HEADER_BYTES + (n - 1) * LEAF_ITEM_BYTES + 17, true) : nodeSize;
        expect(end).toBeGreaterThanOrEqual(start);
        expect(bytes.subarray(start, end).every((b) => b === 0), `gap of block ${at}`).toBe(true);
        gapBytes += end - start;
      }
      expect(gapBytes).toBeGreaterThan(0);
      fs.unmount();
      const again = FileSystem.mount(dev);
      expect(again.fsck()).toEqual([]);
      again.unmount();
      dev.close();
    }
  });

  it('a nonzero byte in a gap fails the checksum; with the checksum fixed the block is sound', async () => {
    const { dev, fs, blocks } = await filled(16384);
    const root = blocks[0]!;
    const bytes = dev.load(root, 16384);
    const view = new DataView(bytes.buffer);
    const n = view.getUint32(NODE_NRITEMS, true);
    const gapAt = root + NODE_HEADER_BYTES + n * (bytes[NODE_LEVEL] === 0 ? LEAF_ITEM_BYTES : LEAF_ITEM_BYTES + 8) + 40;
    fs.unmount();
    dev.store(gapAt, new Uint8Array([0x5a]));
    dev.persist(0, dev.sizeBytes);
    let found = '';
    try {
      const f = FileSystem.mount(dev);
      found = f.fsck().join('\n');
      f.unmount();
    } catch (e) {
      found = (e as Error).message;
    }
    expect(found).toMatch(new RegExp(`tree block ${root}: checksum mismatch`));
    // btrfs's checksum covers the gap: with it recomputed, the block is sound again.
    fixNodeChecksum(dev, root, 16384);
    dev.persist(0, dev.sizeBytes);
    const again = FileSystem.mount(dev);
    expect(again.fsck()).toEqual([]);
    again.unmount();
    dev.close();
  });
});
