// markRange sets whole bitmap bytes with one fill and single bits only at the ends: it
// must set exactly the bits of a line-by-line loop, for every start and length.
import { describe, expect, it } from 'vitest';
import { markRange } from '../src/crash/reachable.js';
import { Rng } from '../src/random.js';

function lineByLine(bitmap: Uint8Array, start: number, bytes: number): void {
  for (let line = Math.floor(start / 64); line <= Math.floor((start + bytes - 1) / 64); line++) bitmap[line >> 3]! |= 1 << (line & 7);
}

describe('markRange', () => {
  it('sets the bits of every line the range touches, and no other', () => {
    const rng = new Rng(7);
    const size = 64 * 8 * 64; // a 64-byte bitmap
    for (let t = 0; t < 5000; t++) {
      const a = new Uint8Array(64), b = new Uint8Array(64);
      // Some bits already set: markRange only adds.
      for (let i = 0; i < 4; i++) {
        const at = rng.below(64), value = rng.below(256);
        a[at] = value; b[at] = value;
      }
      const start = rng.chance(0.3) ? rng.below(size / 64) * 64 : rng.below(size - 1);
      const bytes = rng.chance(0.3) ? Math.min(size - start, 64 * rng.between(1, 40)) : rng.between(1, size - start);
      markRange(a, start, bytes);
      lineByLine(b, start, bytes);
      expect(a, `start ${start}, ${bytes} bytes`).toEqual(b);
    }
  });
});

/** A 4 MiB device holding one committed 8 KiB file /f (4 KiB nodes), unmounted: the device and its superblock. */
async function committedFile() {
  const { PmemDevice, FileSystem } = await import('../src/index.js');
  const { Kernel } = await import('../src/fs/kernel.js');
  const dev = await PmemDevice.create({ sizeBytes: 4 << 20, kernelBytes: 8 << 20 });
  FileSystem.mkfs(dev, { nodeSize: 4096 });
  const fs = FileSystem.mount(dev);
  fs.create('/f');
  fs.pwrite(fs.open('/f'), new Uint8Array(8192).fill(1), 0);
  fs.commit();
  fs.unmount();
  const read = Kernel.readSuperblock(dev);
  if (!read || !('state' in read)) throw new Error('no pmcow superblock');
  return { dev, sb: read.state };
}

describe('markReachable', () => {
  it('walks the media version of a block with a pending store, whatever that version holds', async () => {
    const { markReachable: mark } = await import('../src/crash/reachable.js');
    const { dev, sb } = await committedFile();
    // The extent tree's root: its media becomes 0xff bytes (an internal node of level 255
    // claiming 2^32 - 1 pointers), its visible bytes the block again, not yet written back.
    const block = dev.load(sb.extentTree, sb.nodeBytes);
    dev.store(sb.extentTree, new Uint8Array(sb.nodeBytes).fill(0xff));
    dev.persist(sb.extentTree, sb.nodeBytes);
    dev.store(sb.extentTree, block);
    expect(dev.readMedia(sb.extentTree, 64)).toEqual(new Uint8Array(64).fill(0xff));
    const bytes = Math.ceil(dev.sizeBytes / 64 / 8);
    const metadata = new Uint8Array(bytes), data = new Uint8Array(bytes);
    mark(dev, sb, metadata, data);
    const line = sb.extentTree / 64;
    expect((metadata[line >> 3]! >> (line & 7)) & 1).toBe(1);
    expect(data.some((b) => b !== 0)).toBe(true); // the file's extent, through the fs tree
    dev.close();
  });
  it('reads a media version\'s root items and file extents from that version, not from the visible bytes', async () => {
    const { FsMemory } = await import('../src/fs/memory.js');
    const { NodeView } = await import('../src/fs/node.js');
    const { EXTENT_DATA, ROOT_ITEM, RI_BYTENR, FE_DISK_BYTENR } = await import('../src/core/abi.js');
    const { markReachable: mark } = await import('../src/crash/reachable.js');
    const { dev, sb } = await committedFile();
    /** The first item of `type` in the leaf at `bytenr` (a copy): the block, and the item's data offset in it. */
    const itemOf = (bytenr: number, type: number): { block: Uint8Array; at: number; objectid: number } => {
      const block = dev.load(bytenr, sb.nodeBytes);
      const node = new NodeView(new FsMemory(block.buffer), 0, sb.nodeBytes);
      expect(node.isLeaf).toBe(true);
      for (let s = 0; s < node.nritems; s++) {
        const k = node.key(s);
        if (k.type === type && (type !== ROOT_ITEM || k.objectid === 5)) return { block, at: node.data(s), objectid: k.objectid };
      }
      throw new Error(`no item of type ${type} in block ${bytenr}`);
    };
    // The default subvolume's tree: one leaf with the file's extent item.
    const rootItem = itemOf(sb.rootTree, ROOT_ITEM);
    const fsTree = Number(new DataView(rootItem.block.buffer).getBigUint64(rootItem.at + RI_BYTENR, true));
    const extent = itemOf(fsTree, EXTENT_DATA);
    const view = new DataView(extent.block.buffer);
    const onMedia = Number(view.getBigUint64(extent.at + FE_DISK_BYTENR, true));
    // Its visible bytes now point the extent elsewhere (not written back): the media version
    // still maps the original extent, which only that version can tell.
    const elsewhere = onMedia + (1 << 20);
    view.setBigUint64(extent.at + FE_DISK_BYTENR, BigInt(elsewhere), true);
    dev.store(fsTree, extent.block);
    const bytes = Math.ceil(dev.sizeBytes / 64 / 8);
    const metadata = new Uint8Array(bytes), data = new Uint8Array(bytes);
    mark(dev, sb, metadata, data);
    const marked = (bitmap: Uint8Array, at: number): number => (bitmap[(at / 64) >> 3]! >> ((at / 64) & 7)) & 1;
    expect(marked(data, elsewhere)).toBe(1);
    expect(marked(data, onMedia)).toBe(1);
    dev.close();
  });
});
