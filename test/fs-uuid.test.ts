// The file system's uuid (btrfs's fsid): mkfs takes one or derives one from its arguments,
// the superblock and every tree block's header carry it, and mount keeps it.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { NODE_FSID, NODE_CHUNK_TREE_UUID, NODE_FLAGS, METADATA_ITEM, key } from '../src/fs/format.js';
import { uuidText, parseUuid } from '../src/fs/uuid.js';

async function formatted(options: Parameters<typeof FileSystem.mkfs>[1] = {}): Promise<PmemDevice> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
  FileSystem.mkfs(dev, options);
  return dev;
}

function treeBlocks(fs: FileSystem): number[] {
  const blocks: number[] = [];
  fs.kernel.extentTree.walkRange(key(0, 0, 0), key(Number.MAX_SAFE_INTEGER, 255, Number.MAX_SAFE_INTEGER), (k) => {
    if (k.type === METADATA_ITEM) blocks.push(k.objectid);
    return true;
  });
  return blocks;
}

describe('the file system uuid', () => {
  it('is the one mkfs was given, in every tree block header, and survives a remount', async () => {
    const uuid = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
    const dev = await formatted({ uuid });
    const fs = FileSystem.mount(dev);
    fs.writeFile('/a', new Uint8Array(5000).fill(1));
    fs.commit();
    expect(uuidText(fs.kernel.fsid)).toBe(uuid);
    const blocks = treeBlocks(fs);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const at of blocks) {
      const header = dev.load(at, 128);
      expect(uuidText(header.slice(NODE_FSID, NODE_FSID + 16)), `block ${at}`).toBe(uuid);
      expect(header.slice(NODE_CHUNK_TREE_UUID, NODE_CHUNK_TREE_UUID + 16)).toEqual(fs.kernel.chunkTreeUuid);
      // btrfs's WRITTEN flag and the mixed back-reference revision in the flags' top byte.
      expect(new DataView(header.buffer).getBigUint64(NODE_FLAGS, true)).toBe((1n << 56n) | 1n);
    }
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(uuidText(again.kernel.fsid)).toBe(uuid);
    expect(again.readFile('/a')).toEqual(new Uint8Array(5000).fill(1));
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });

  it('is derived from the mkfs arguments when not given: the same mkfs, the same image', async () => {
    const a = await formatted({ label: 'x' });
    const b = await formatted({ label: 'x' });
    const c = await formatted({ label: 'y' });
    // (Buffer.compare, not toEqual: vitest's deep equality walks 8 MiB element by element,
    // which took two minutes on a loaded machine.)
    expect(Buffer.compare(a.load(0, 8 << 20), b.load(0, 8 << 20))).toBe(0);
    const fsid = (dev: PmemDevice): string => { const fs = FileSystem.mount(dev); const t = uuidText(fs.kernel.fsid); fs.unmount(); return t; };
    expect(fsid(a)).toBe(fsid(b));
    expect(fsid(a)).not.toBe(fsid(c));
    expect(fsid(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a malformed or all-zero uuid with EINVAL', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
    for (const uuid of ['nope', '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f', '00000000-0000-0000-0000-000000000000', 7]) {
      expect(() => FileSystem.mkfs(dev, { uuid: uuid as string }), String(uuid)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(uuidText(parseUuid('0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9'))).toBe('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
  });
});

describe('btrfs name hash', () => {
  it('gives the DIR_ITEM key offsets btrfs-progs 6.2 wrote for these names (dump-tree of a mkfs.btrfs image)', async () => {
    const { btrfsNameHash } = await import('../src/fs/fs-common.js');
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    const hash = (name: string): number => btrfsNameHash(dev, new TextEncoder().encode(name));
    // `mkfs.btrfs --rootdir` with files a and d, then `btrfs inspect-internal dump-tree`:
    // (ROOT_TREE_DIR DIR_ITEM 2378154706) "default", (256 DIR_ITEM 3427024844) "a",
    // (256 DIR_ITEM 4189400016) "d".
    expect(hash('default')).toBe(2378154706);
    expect(hash('a')).toBe(3427024844);
    expect(hash('d')).toBe(4189400016);
  });

  it('keys the directory items pmcow writes', async () => {
    const { btrfsNameHash } = await import('../src/fs/fs-common.js');
    const { DIR_ITEM } = await import('../src/fs/format.js');
    const dev = await formatted();
    const fs = FileSystem.mount(dev);
    fs.writeFile('/default', new Uint8Array(1));
    fs.commit();
    const items = fs.subvolume(5)!.tree.range(key(256, DIR_ITEM, 0), key(256, DIR_ITEM, Number.MAX_SAFE_INTEGER));
    expect(items.map((i) => i.key.offset)).toEqual([btrfsNameHash(dev, new TextEncoder().encode('default'))]);
    expect(items[0]!.key.offset).toBe(2378154706);
    fs.unmount();
  });
});
