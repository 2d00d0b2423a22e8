// pmcow's images in btrfs's on-disk layout, read byte by byte at btrfs's own offsets
// (struct btrfs_super_block, btrfs_header, btrfs_dir_item in btrfs-progs'
// kernel-shared/uapi/btrfs_tree.h), not through pmcow's constants: the superblock's
// two copies, tree block headers, and the root tree's directory with its `default` entry.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/fs/filesystem.js';
import { key } from '../src/fs/format.js';

const u64 = (b: Uint8Array, at: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

async function image(sizeBytes: number): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes });
  FileSystem.mkfs(dev, { label: 'layout' });
  const fs = FileSystem.mount(dev);
  fs.writeFile('/f', new Uint8Array(5000).fill(3));
  fs.commit();
  return { dev, fs };
}

describe('btrfs on-disk layout', () => {
  for (const [sizeBytes, alternate] of [[16 << 20, 128 << 10], [80 << 20, 64 << 20]] as const) {
    it(`superblock copies at 64 KiB and ${alternate >> 10} KiB on a ${sizeBytes >> 20} MiB device, as btrfs lays them out`, async () => {
      const { dev, fs } = await image(sizeBytes);
      for (const at of [64 << 10, alternate]) {
        const sb = dev.readMedia(at, 4096);
        expect(new TextDecoder().decode(sb.subarray(64, 72))).toBe('_BHRfS_M');
        expect(u32(sb, 0), `csum of the copy at ${at}`).toBe(dev.crc32c(at + 32, 4096 - 32));
        expect(sb.subarray(4, 32).every((b) => b === 0)).toBe(true);
        expect(u64(sb, 48)).toBe(BigInt(at)); // bytenr: the copy's own offset
        expect(u64(sb, 72)).toBe(BigInt(fs.kernel.generation)); // generation
        expect(u64(sb, 80)).toBe(BigInt(fs.kernel.rootTree.root)); // root
        expect(u64(sb, 112)).toBe(BigInt(sizeBytes)); // total_bytes
        expect(u64(sb, 128)).toBe(6n); // root_dir_objectid
        expect(u64(sb, 136)).toBe(1n); // num_devices
        expect([u32(sb, 144), u32(sb, 148), u32(sb, 152), u32(sb, 156)]).toEqual([4096, 16384, 16384, 4096]);
        expect(u64(sb, 188)).toBe(0x301n); // MIXED_BACKREF | SKINNY_METADATA | NO_HOLES
        expect(sb[198]).toBe(fs.kernel.rootTree.level); // root_level
        expect(new TextDecoder().decode(sb.subarray(299, 305))).toBe('layout');
        expect(sb.subarray(32, 48)).toEqual(fs.kernel.fsid); // fsid
        expect(sb.subarray(201 + 82, 201 + 98)).toEqual(fs.kernel.fsid); // dev_item.fsid
      }
      fs.unmount();
    });
  }

  it('tree block headers: fsid, bytenr, flags, generation, owner, nritems, level at btrfs\'s offsets', async () => {
    const { dev, fs } = await image(16 << 20);
    const root = fs.kernel.rootTree.root;
    const h = dev.readMedia(root, 16384);
    expect(u32(h, 0)).toBe(dev.crc32c(root + 32, 16384 - 32));
    expect(h.subarray(32, 48)).toEqual(fs.kernel.fsid);
    expect(u64(h, 48)).toBe(BigInt(root));
    expect(u64(h, 56)).toBe((1n << 56n) | 1n); // WRITTEN, back-reference revision 1
    expect(u64(h, 80)).toBe(BigInt(fs.kernel.generation));
    expect(u64(h, 88)).toBe(1n); // owner: the root tree
    expect(h[100]).toBe(0); // a leaf
    // Item 0: its data offset counts from the end of the 101-byte header.
    const n = u32(h, 96);
    expect(n).toBeGreaterThan(3);
    const lastOffset = u32(h, 101 + (n - 1) * 25 + 17);
    expect(101 + lastOffset).toBeGreaterThan(101 + n * 25);
    expect(101 + u32(h, 101 + 17) + u32(h, 101 + 21)).toBe(16384); // item 0's data ends the block
    fs.unmount();
  });

  it('the root tree holds btrfs\'s directory 6 with `default` naming the top-level subvolume', async () => {
    const { fs } = await image(16 << 20);
    const tree = fs.kernel.rootTree;
    expect(tree.get(key(6, 1, 0))?.length).toBe(160); // INODE_ITEM
    const ref = tree.get(key(6, 12, 6))!; // INODE_REF '..', index 0
    expect(u64(ref, 0)).toBe(0n);
    expect(new TextDecoder().decode(ref.subarray(10))).toBe('..');
    // DIR_ITEM at btrfs's hash of "default" (mkfs.btrfs writes the same key).
    const dir = tree.get(key(6, 84, 2378154706))!;
    expect(dir).not.toBeNull();
    expect(u64(dir, 0)).toBe(5n); // location: (FS_TREE, ROOT_ITEM, -1)
    expect(dir[8]).toBe(132);
    expect(u64(dir, 9)).toBe(0xffffffffffffffffn);
    expect(dir[29]).toBe(2); // BTRFS_FT_DIR
    expect(new TextDecoder().decode(dir.subarray(30))).toBe('default');
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
  });
});
