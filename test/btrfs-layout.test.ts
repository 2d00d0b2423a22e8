// pmcow's images in btrfs's on-disk layout, read byte by byte at btrfs's own offsets
// (struct btrfs_super_block, btrfs_header, btrfs_dir_item in btrfs-progs'
// kernel-shared/uapi/btrfs_tree.h), not through pmcow's constants: the superblock's
// two copies, tree block headers, and the root tree's directory with its `default` entry.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { key, compareKeys } from '../src/fs/format.js';

const u64 = (b: Uint8Array, at: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

async function image(sizeBytes: number, metadataProfile: 'single' | 'dup' = 'single'): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes });
  FileSystem.mkfs(dev, { label: 'layout', metadataProfile });
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

  for (const [sizeBytes, profile] of [[16 << 20, 'single'], [80 << 20, 'dup']] as const) {
    it(`block groups on a ${sizeBytes >> 20} MiB device (${profile}): sys_chunk_array, chunk tree, dev tree and block group items agree`, async () => {
      const { dev, fs } = await image(sizeBytes, profile);
      for (let i = 0; i < 30; i++) fs.writeFile(`/g${i}`, new Uint8Array(40000).fill(i));
      fs.commit();
      const sb = dev.readMedia(64 << 10, 4096);
      const leafItems = (bytenr: number): Array<{ objectid: bigint; type: number; offset: bigint; data: Uint8Array }> => {
        const h = dev.readMedia(bytenr, 16384);
        expect(h[100], `block ${bytenr} is a leaf`).toBe(0);
        return Array.from({ length: u32(h, 96) }, (_, i) => {
          const at = 101 + i * 25;
          const off = 101 + u32(h, at + 17);
          return { objectid: u64(h, at), type: h[at + 8]!, offset: u64(h, at + 9), data: h.slice(off, off + u32(h, at + 21)) };
        });
      };
      // struct btrfs_chunk: length, owner, stripe_len, type, ..., num_stripes @44, stripes @48.
      const chunkOf = (c: Uint8Array): { length: bigint; type: bigint; stripes: bigint[] } => ({
        length: u64(c, 0), type: u64(c, 24),
        stripes: Array.from({ length: new DataView(c.buffer, c.byteOffset).getUint16(44, true) }, (_, i) => u64(c, 48 + i * 32 + 8)),
      });
      // The chunk tree: one leaf, its root in the superblock (chunk_root @88, level @199).
      expect(sb[199]).toBe(0);
      const chunkItems = leafItems(Number(u64(sb, 88)));
      const chunks = chunkItems.filter((it) => it.type === 228);
      const devItem = chunkItems.find((it) => it.type === 216)!;
      expect(devItem.objectid).toBe(1n);
      // sys_chunk_array (size @160, bytes @811): the system chunks, key then chunk.
      const sysBytes = u32(sb, 160);
      expect(sysBytes).toBeGreaterThan(0);
      const sysChunk = chunkOf(sb.subarray(811 + 17, 811 + sysBytes));
      const system = chunks.filter((c) => (chunkOf(c.data).type & 7n) === 2n);
      expect(system.length).toBe(1);
      expect(sb[811 + 8]).toBe(228);
      expect(u64(sb, 811 + 9)).toBe(system[0]!.offset);
      expect(sysChunk).toEqual(chunkOf(system[0]!.data));
      const dup = profile === 'dup';
      let stripeBytes = 0n;
      const stripes: Array<[bigint, bigint]> = [];
      for (const c of chunks) {
        const d = chunkOf(c.data);
        expect(u64(c.data, 8)).toBe(2n); // owner: the extent tree
        expect(u64(c.data, 16)).toBe(65536n); // stripe_len
        const tree = (d.type & 6n) !== 0n;
        expect(d.type & 32n, `chunk ${c.offset} DUP flag`).toBe(tree && dup ? 32n : 0n);
        // 1:1: the first stripe is the logical address; a DUP chunk's second follows it.
        expect(d.stripes[0]).toBe(c.offset);
        if (tree && dup) expect(d.stripes).toEqual([c.offset, c.offset + d.length]);
        else expect(d.stripes.length).toBe(1);
        for (const st of d.stripes) { stripeBytes += d.length; stripes.push([st, d.length]); }
        // No chunk covers btrfs's first mirror superblock.
        for (const st of d.stripes) expect(st + d.length <= 64n << 20n || st >= (64n << 20n) + 65536n).toBe(true);
      }
      expect(u64(devItem.data, 16)).toBe(stripeBytes); // dev_item.bytes_used
      expect(u64(sb, 201 + 16)).toBe(stripeBytes); // the superblock's copy
      // The dev tree (its ROOT_ITEM's bytenr @176): a DEV_EXTENT per stripe.
      const devRoot = fs.kernel.rootTree.get(key(4, 132, 0))!;
      const devExtents = leafItems(Number(u64(devRoot, 176))).filter((it) => it.type === 204);
      expect(devExtents.map((e) => [e.offset, u64(e.data, 24)])).toEqual(stripes.sort((a, b) => Number(a[0] - b[0])));
      // Block group items: one per chunk, its used bytes the sum of the extents in it.
      const items = fs.kernel.extentTree.range(key(0, 0, 0), key(2 ** 53 - 1, 255, 2 ** 53 - 1));
      const groups = items.filter((it) => it.key.type === 192);
      expect(groups.map((g) => BigInt(g.key.objectid)).sort()).toEqual(chunks.map((c) => c.offset).sort());
      for (const g of groups) {
        const inside = items.filter((it) => (it.key.type === 168 || it.key.type === 169) && it.key.objectid >= g.key.objectid && it.key.objectid < g.key.objectid + g.key.offset);
        const sum = inside.reduce((n, it) => n + (it.key.type === 168 ? it.key.offset : 16384), 0);
        expect(u64(g.data, 0), `block group ${g.key.objectid}`).toBe(BigInt(sum));
        expect(sum).toBeGreaterThan(0);
      }
      expect(fs.fsck()).toEqual([]);
      fs.unmount();
    });
  }

  it('fsck finds a block group whose used bytes are wrong, a missing dev extent and a data chunk not mapped 1:1 refuses to mount', async () => {
    const { dev, fs } = await image(16 << 20);
    const k = fs.kernel;
    const group = k.extentTree.range(key(0, 192, 0), key(2 ** 53 - 1, 192, 2 ** 53 - 1)).find((it) => it.key.type === 192)!;
    const wrong = group.data.slice();
    new DataView(wrong.buffer).setBigUint64(0, u64(wrong, 0) + 4096n, true);
    k.extentTree.update(group.key, wrong);
    expect(fs.fsck()).toContainEqual(expect.stringMatching(new RegExp(`block group ${group.key.objectid}: used`)));
    k.extentTree.update(group.key, group.data);
    const de = k.devTree.range(key(1, 204, 0), key(1, 204, 2 ** 53 - 1))[0]!;
    k.devTree.delete(de.key);
    expect(fs.fsck().join('\n')).toMatch(/no dev extent for its stripe/);
    k.devTree.insert(de.key, de.data);
    expect(fs.fsck()).toEqual([]);
    // A data chunk whose stripe is not its logical start: a mount refuses it by name (DAX maps
    // a data extent's bytenr as its device byte).
    const chunk = k.chunkTree.range(key(256, 228, 0), key(256, 228, 2 ** 53 - 1)).find((it) => (u64(it.data, 24) & 7n) === 1n)!;
    const moved = chunk.data.slice();
    new DataView(moved.buffer).setBigUint64(48 + 8, u64(moved, 48 + 8) + 4096n, true);
    k.chunkTree.update(chunk.key, moved);
    fs.unmount();
    expect(() => FileSystem.mount(dev)).toThrow(/EOPNOTSUPP: chunk \d+: a data chunk at device byte \d+ \(pmcow maps data 1:1/);
  });

  it('fsck checks root refs as btrfs check does; a mount refuses a stripe on another device uuid, a superblock device item unlike the chunk tree\'s and a global ROOT_ITEM with a key offset', async () => {
    const { dev, fs } = await image(16 << 20);
    fs.mkdir('/d');
    fs.createSubvolume('/d/v');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    const k = fs.kernel;
    const id = 256; // the first subvolume's id
    expect(k.rootTree.get(key(id, 132, 0))).not.toBeNull();
    // ROOT_REF (5 -> id) naming another directory than the ROOT_BACKREF and the entry.
    const ref = k.rootTree.get(key(5, 156, id))!;
    const wrong = ref.slice();
    new DataView(wrong.buffer).setBigUint64(0, 32768n, true);
    k.rootTree.update(key(5, 156, id), wrong);
    expect(fs.fsck().join('\n')).toMatch(new RegExp(`subvolume ${id}: 0 references reach it, its ROOT_ITEM says 1`));
    k.rootTree.update(key(5, 156, id), ref);
    // No ROOT_BACKREF: the reference still counts, but is incomplete.
    const back = k.rootTree.get(key(id, 144, 5))!;
    k.rootTree.delete(key(id, 144, 5));
    expect(fs.fsck().join('\n')).toMatch(/has no ROOT_BACKREF/);
    k.rootTree.insert(key(id, 144, 5), back);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    // Raw media edits, each on its own copy of the image (checksums put right where needed).
    const media = dev.exportMedia();
    const fresh = async (edit: (d: PmemDevice, f: FileSystem) => void): Promise<() => FileSystem> => {
      const d = await PmemDevice.fromImage(media);
      const f = FileSystem.mount(d);
      edit(d, f);
      f.commit();
      f.unmount();
      return () => FileSystem.mount(d);
    };
    const chunkMoved = await fresh((_d, f) => {
      const chunk = f.kernel.chunkTree.range(key(256, 228, 0), key(256, 228, 2 ** 53 - 1)).find((it) => (u64(it.data, 24) & 7n) === 1n)!;
      const other = chunk.data.slice();
      other[48 + 16] ^= 0xff; // the first stripe's dev_uuid
      f.kernel.chunkTree.update(chunk.key, other);
    });
    expect(chunkMoved).toThrow(/EUCLEAN: chunk tree: chunk .* a stripe on a device of another uuid/);
    const globalOffset = await fresh((_d, f) => {
      const item = f.kernel.rootTree.get(key(7, 132, 0))!;
      f.kernel.rootTree.delete(key(7, 132, 0));
      f.kernel.rootTree.insert(key(7, 132, 256), item);
    });
    expect(globalOffset).toThrow(/EUCLEAN: root tree: the ROOT_ITEM of tree 7 has key offset 256/);
    // The superblock's device item (at 201) with other total bytes, checksums put right.
    const edited = media.slice();
    for (const at of [64 << 10, 128 << 10]) {
      const sb = edited.subarray(at, at + 4096);
      new DataView(sb.buffer, sb.byteOffset).setBigUint64(201 + 8, 2n * u64(sb, 201 + 8), true);
      new DataView(sb.buffer, sb.byteOffset).setUint32(0, dev.crc32cBytes(sb.subarray(32)), true);
    }
    const d = await PmemDevice.fromImage(edited);
    expect(() => FileSystem.mount(d)).toThrow(/EUCLEAN: the superblock's device item differs from the chunk tree's/);
  });

  it('ROOT_ITEMs carry uuids: each subvolume its own, a snapshot its source\'s as parent_uuid; kept across a remount', async () => {
    const { dev, fs } = await image(16 << 20);
    fs.createSubvolume('/v');
    fs.snapshot('/v', '/s');
    fs.snapshot('/', '/top');
    fs.commit();
    const item = (id: number): Uint8Array => fs.kernel.rootTree.get(key(id, 132, 0))!;
    const uuid = (id: number): Uint8Array => item(id).subarray(247, 263);
    const parent = (id: number): Uint8Array => item(id).subarray(263, 279);
    const zero = new Uint8Array(16);
    const ids = [5, 256, 257, 258];
    for (const id of ids) expect(uuid(id), `subvolume ${id}`).not.toEqual(zero);
    expect(new Set(ids.map((id) => Buffer.from(uuid(id)).toString('hex'))).size).toBe(4);
    expect(parent(5)).toEqual(zero);
    expect(parent(256)).toEqual(zero);
    expect(parent(257)).toEqual(uuid(256)); // /s, a snapshot of /v
    expect(parent(258)).toEqual(uuid(5)); // /top, a snapshot of /
    // otransid: the creating transaction; ctransid: the last change (the root's generation).
    const u64At = (b: Uint8Array, at: number): number => Number(u64(b, at));
    expect(u64At(item(257), 303)).toBeGreaterThan(u64At(item(256), 303)); // /s was made after /v
    expect(u64At(item(256), 295)).toBe(u64At(item(256), 160));
    const before = ids.map((id) => item(id).slice(247, 279));
    fs.writeFile('/v/f', new Uint8Array(10).fill(1)); // moves /v's root: its ROOT_ITEM rewritten
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(ids.map((id) => again.kernel.rootTree.get(key(id, 132, 0))!.slice(247, 279))).toEqual(before);
    // The extent, dev and csum trees' ROOT_ITEMs have none (as btrfs).
    for (const id of [2, 4, 7]) expect(again.kernel.rootTree.get(key(id, 132, 0))!.subarray(247, 279)).toEqual(new Uint8Array(32));
    again.unmount();
  });

  it('extent items: skinny METADATA_ITEMs keyed by level with inline TREE_BLOCK_REFs; after a snapshot and a copy, FULL_BACKREF and SHARED_BLOCK_REF / SHARED_DATA_REF', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    FileSystem.mkfs(dev, { nodeSize: 4096 });
    const fs = FileSystem.mount(dev);
    fs.mkdir('/d');
    for (let i = 0; i < 60; i++) fs.writeFile(`/d/f${i}`, new Uint8Array(5000).fill(i));
    fs.commit();
    const k = fs.kernel;
    const all = (): Array<{ key: { objectid: number; type: number; offset: number }; data: Uint8Array }> =>
      k.extentTree.range(key(0, 0, 0), key(2 ** 53 - 1, 255, 2 ** 53 - 1));
    // Every tree block: (bytenr, METADATA_ITEM 169, level), btrfs_extent_item (refs, generation,
    // flags TREE_BLOCK 2) then inline refs (type 176 TREE_BLOCK_REF, root u64), 9 bytes each.
    const root5 = k.rootTree.get(key(5, 132, 0))!;
    const rootBlock = u64(root5, 176);
    const item = all().find((it) => it.key.type === 169 && BigInt(it.key.objectid) === rootBlock)!;
    expect(item.key.offset).toBe(root5[238]); // the root item's level
    expect(item.data.length).toBe(24 + 9);
    expect(u64(item.data, 0)).toBe(1n);
    expect(u64(item.data, 16)).toBe(2n);
    expect(item.data[24]).toBe(176);
    expect(u64(item.data, 25)).toBe(5n);
    // A snapshot copies the root (owned by the snapshot); the source then copies its shared
    // blocks, which become FULL_BACKREF: their pointers are SHARED_*_REFs.
    fs.snapshot('/', '/snap');
    for (let i = 0; i < 60; i += 2) fs.writeFile(`/d/f${i}`, new Uint8Array(3000).fill(200 - i));
    fs.commit();
    const items = all();
    const full = items.filter((it) => it.key.type === 169 && (u64(it.data, 16) & 256n) !== 0n);
    expect(full.length).toBeGreaterThan(0);
    expect(items.some((it) => it.key.type === 182)).toBe(full.some((it) => it.key.offset > 0));
    expect(items.some((it) => it.key.type === 184 && u32(it.data, 0) > 0)).toBe(true);
    for (const f of full) {
      // Every pointer from a FULL_BACKREF block names it.
      const node = dev.readMedia(f.key.objectid, 4096);
      if (node[100] === 0) continue;
      const child = Number(u64(node, 101 + 17));
      expect(items.some((it) => it.key.objectid === child && it.key.type === 182 && it.key.offset === f.key.objectid)).toBe(true);
    }
    expect(fs.fsck()).toEqual([]);
    // A subvolume deleted while its snapshot keeps its blocks: they become FULL_BACKREF
    // (their owner's tree is gone), and fsck's model agrees after a remount.
    fs.createSubvolume('/sv');
    for (let i = 0; i < 60; i++) fs.writeFile(`/sv/g${i}`, new Uint8Array(4000).fill(i));
    fs.commit();
    fs.snapshot('/sv', '/sv-snap');
    fs.writeFile('/sv/g0', new Uint8Array(10).fill(1));
    fs.commit();
    const before = all().filter((it) => it.key.type === 169 && (u64(it.data, 16) & 256n) !== 0n).length;
    fs.deleteSubvolume('/sv');
    fs.commit();
    expect(all().filter((it) => it.key.type === 169 && (u64(it.data, 16) & 256n) !== 0n).length).toBeGreaterThan(before);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(again.readFile('/sv-snap/g5')).toEqual(new Uint8Array(4000).fill(5));
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });

  it('checksums are keyed (EXTENT_CSUM_OBJECTID -10, EXTENT_CSUM 128, extent bytenr), sorted after every other objectid', async () => {
    const { dev, fs } = await image(16 << 20);
    const k = fs.kernel;
    const data = k.extentTree.range(key(0, 168, 0), key(2 ** 53 - 1, 168, 2 ** 53 - 1)).filter((it) => it.key.type === 168);
    expect(data.length).toBeGreaterThan(0);
    // The csum tree's leaf, read raw: every key's objectid is (u64)-10.
    const root = k.rootTree.get(key(7, 132, 0))!;
    const leaf = dev.readMedia(Number(u64(root, 176)), 16384);
    expect(leaf[100]).toBe(0);
    const n = u32(leaf, 96);
    expect(n).toBe(data.length);
    for (let i = 0; i < n; i++) {
      const at = 101 + i * 25;
      expect(u64(leaf, at)).toBe(0xfffffffffffffff6n);
      expect(leaf[at + 8]).toBe(128);
      expect(Number(u64(leaf, at + 9))).toBe(data[i]!.key.objectid);
      expect(u32(leaf, at + 21)).toBe((data[i]!.key.offset / 4096) * 4);
    }
    // TypeScript holds (u64)-n as -n and orders it as btrfs does: above every other objectid.
    expect(compareKeys(key(-10, 128, 0), key(2 ** 53 - 1, 255, 0))).toBe(1);
    expect(compareKeys(key(-10, 128, 0), key(-5, 1, 0))).toBe(-1);
    expect(k.csumTree.lookup(key(-10, 128, data[0]!.key.objectid))?.size).toBe((data[0]!.key.offset / 4096) * 4);
    fs.unmount();
  });
});

