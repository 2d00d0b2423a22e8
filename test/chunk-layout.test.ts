// The chunk table a mount lays out (src/fs/chunk-layout.ts): mkfs.btrfs's own layout, and a
// pmcow image whose metadata chunk is moved to stripes apart from its logical range, as
// mkfs.btrfs places them, mounted, read and written through its stripes.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { key } from '../src/fs/format.js';
import { planChunkTable } from '../src/fs/chunk-layout.js';
import { chunkBytesFor } from '../src/fs/chunks.js';

const MiB = 1 << 20;
const DATA = 1, SYSTEM = 2, METADATA = 4, DUP = 32, FREE = 0;
const u64 = (b: Uint8Array, at: number): number => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));
const setU64 = (b: Uint8Array, at: number, v: number): void => new DataView(b.buffer, b.byteOffset).setBigUint64(at, BigInt(v), true);

describe('chunk table layout', () => {
  it('lays out mkfs.btrfs 6.2\'s 128 MiB image: its three chunks where it put them, the 64 MiB mirror kept out of the metadata chunk, grid cells in the space left', () => {
    // From `mkfs.btrfs --rootdir` on a 128 MiB file, read with `btrfs inspect-internal dump-tree -t chunk`.
    const totalBytes = 128 * MiB, nodeBytes = 16384;
    const cellBytes = chunkBytesFor(totalBytes, nodeBytes, 2);
    const plan = planChunkTable({
      totalBytes, nodeBytes, metadataCopies: 2, cellBytes,
      chunks: [
        { start: 13631488, length: 8 * MiB, type: DATA, stripes: [13631488] },
        { start: 22020096, length: 8 * MiB, type: SYSTEM | DUP, stripes: [22020096, 30408704] },
        { start: 30408704, length: 32 * MiB, type: METADATA | DUP, stripes: [38797312, 72351744] },
      ],
    });
    const placed = plan.filter((e) => !e.grid);
    expect(placed.map((e) => [e.start, e.length, e.kind, e.stripes])).toEqual([
      [13631488, 8 * MiB, DATA, [13631488]],
      [22020096, 8 * MiB, SYSTEM, [22020096, 30408704]],
      [30408704, 32 * MiB, METADATA, [38797312, 72351744]],
    ]);
    // The mirror at device byte 64 MiB lies in the metadata chunk's first stripe, 28 MiB in:
    // the 64 KiB stripe there, in logical bytes, is never free space (btrfs's excluded super stripe).
    expect(placed[2]!.excluded).toEqual([[30408704 + (64 * MiB - 38797312), 30408704 + (64 * MiB - 38797312) + 65536]]);
    expect(placed[0]!.excluded).toEqual([]);
    // Cells: none over a chunk's logical range or any stripe, in order, none around the mirror
    // (it is inside a stripe, so no cell there is reserved).
    const cells = plan.filter((e) => e.grid);
    expect(cells.length).toBeGreaterThan(0);
    const used: Array<[number, number]> = [[13631488, 105906176]];
    for (const c of cells) {
      expect(c.kind).toBe(FREE);
      expect(c.length).toBe(cellBytes);
      expect(used.some(([a, b]) => c.start < b && a < c.start + c.length), `cell ${c.start}`).toBe(false);
    }
    expect(plan.map((e) => e.start)).toEqual([...plan.map((e) => e.start)].sort((a, b) => a - b));
  });

  it('refuses what pmcow cannot run, by name', () => {
    const base = { totalBytes: 128 * MiB, nodeBytes: 16384, metadataCopies: 2, cellBytes: 4 * MiB };
    const data = { start: 13631488, length: 8 * MiB, type: DATA, stripes: [13631488] };
    const cases: Array<[object, RegExp]> = [
      [{ ...data, type: DATA | 16, stripes: [13631488, 30408704] }, /RAID1 profile/],
      [{ ...data, type: DATA | METADATA }, /mixed data and metadata/],
      [{ ...data, stripes: [40 * MiB] }, /pmcow maps data 1:1/],
      [{ start: 30408704, length: 32 * MiB, type: METADATA, stripes: [38797312] }, /SINGLE tree blocks on a file system whose tree blocks are DUP/],
      [{ start: 200 * MiB, length: 8 * MiB, type: METADATA | DUP, stripes: [38797312, 72351744] }, /outside the device/],
    ];
    for (const [chunk, why] of cases) {
      expect(() => planChunkTable({ ...base, chunks: [chunk as never] })).toThrow(why);
    }
    expect(() => planChunkTable({ ...base, chunks: [data, { ...data, start: 16 * MiB, stripes: [16 * MiB] }] })).toThrow(/EUCLEAN: chunk 16777216 overlaps chunk 13631488/);
  });

  for (const profile of ['single', 'dup'] as const) {
    it(`a metadata chunk moved to other stripes (${profile}) mounts, reads and writes through them, and fsck finds it clean`, async () => {
      const dev = await PmemDevice.create({ sizeBytes: 32 * MiB });
      FileSystem.mkfs(dev, { metadataProfile: profile });
      let fs = FileSystem.mount(dev);
      const a = new Uint8Array(20000).map((_, i) => i * 7);
      fs.writeFile('/a', a);
      fs.commit();
      const k = fs.kernel;
      const chunkItems = k.chunkTree.range(key(256, 228, 0), key(256, 228, 2 ** 53 - 1));
      const meta = chunkItems.find((it) => (u64(it.data, 24) & 7) === METADATA)!;
      const start = meta.key.offset, length = u64(meta.data, 0), stripes = u64(meta.data, 44) & 0xffff;
      const cell = k.chunks.chunkBytes;
      // A free cell to move it to.
      let to = -1;
      for (let c = 0; c < k.chunks.count; c++) if (k.chunks.kind(c) === FREE) to = k.chunks.start(c);
      expect(to).toBeGreaterThan(0);
      const moved = meta.data.slice();
      const dev0 = k.devTree.get(key(1, 204, start))!;
      for (let i = 0; i < stripes; i++) {
        setU64(moved, 48 + i * 32 + 8, to + i * length);
        k.devTree.delete(key(1, 204, start + i * length));
        k.devTree.insert(key(1, 204, to + i * length), dev0);
      }
      k.chunkTree.update(meta.key, moved);
      fs.commit();
      fs.unmount();
      // The chunk's bytes to the new stripes, the old place zeroed: every read must follow the stripes.
      const media = dev.exportMedia();
      media.copyWithin(to, start, start + cell);
      media.fill(0, start, start + cell);
      const moved2 = await PmemDevice.fromImage(media);
      fs = FileSystem.mount(moved2);
      expect(fs.readFile('/a')).toEqual(a);
      expect(fs.fsck()).toEqual([]);
      // Written through the stripes: new tree blocks in the moved chunk, copies where its stripes say.
      for (let i = 0; i < 40; i++) fs.writeFile(`/f${i}`, new Uint8Array(3000).fill(i));
      fs.commit();
      expect(fs.fsck()).toEqual([]);
      const root = fs.kernel.rootTree.root;
      expect(root).toBeGreaterThanOrEqual(start);
      expect(root).toBeLessThan(start + length);
      expect(fs.kernel.copyBytenr(root, 0)).toBe(to + (root - start));
      if (profile === 'dup') expect(fs.kernel.copyBytenr(root, 1)).toBe(to + length + (root - start));
      fs.unmount();
      fs = FileSystem.mount(moved2);
      expect(fs.readFile('/a')).toEqual(a);
      for (let i = 0; i < 40; i++) expect(fs.readFile(`/f${i}`)).toEqual(new Uint8Array(3000).fill(i));
      expect(fs.fsck()).toEqual([]);
      fs.unmount();
    });
  }
});
