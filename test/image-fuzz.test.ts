// Image fuzzing: corrupted images mount and work, or fail with an FsError that has an
// errno name; never a WebAssembly trap, a TypeError, a RangeError or a hang. First the
// structural checks one by one (each corruption has its checksum recomputed so the
// check behind the checksum is what answers), then the campaign of 100,000 images.
import { afterAll, describe, expect, it } from 'vitest';
import { FsError, PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { NodeView } from '../src/fs/node.js';
import { fixNodeChecksum, fixSuperblockChecksum } from '../src/image/mutate.js';
import { closeImageFuzzDevices, imageFuzz, summarizeImageFuzz, type ImageFuzzCounts } from '../src/image/fuzz-images.js';
import {
  superblockOffsets, SB_ROOT_LEVEL, SB_GENERATION, NODE_NRITEMS, NODE_HEADER_BYTES,
  KEY_PTR_BYTES, LEAF_ITEM_BYTES, INODE_SIZE, key, INODE_ITEM, ROOT_ITEM,
} from '../src/fs/format.js';
import { errnoOf } from './helpers/errno-of.js';

const NODE = 4096;

const code = errnoOf;

/** A file system whose top-level tree has an internal root (4 KiB nodes, 60 files). */
async function image(profile: 'single' | 'dup' = 'single'): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20, maxThreads: 2 });
  FileSystem.mkfs(dev, { nodeSize: NODE, metadataProfile: profile });
  const fs = FileSystem.mount(dev);
  for (let i = 0; i < 60; i++) fs.writeFile(`/file-${i}`, new Uint8Array(100 + i).fill(i));
  fs.commit();
  return { dev, fs };
}

function u64(value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
  return b;
}

/** Store `bytes` at `offset` of tree block `bytenr` (single profile) and recompute its checksum. */
function corrupt(dev: PmemDevice, bytenr: number, offset: number, bytes: Uint8Array): void {
  dev.store(bytenr + offset, bytes);
  fixNodeChecksum(dev, bytenr, NODE);
  dev.persist(bytenr, NODE);
}

/**
 * The corrupted device as the next boot sees it: everything stored is made durable, then
 * the power goes (the file system the image was built with is gone; one owner per device).
 */
function reboot(dev: PmemDevice): PmemDevice {
  dev.persist(0, dev.sizeBytes);
  dev.crashInPlace();
  return dev;
}

/** Reboot, mount and read every file: the first errno met, or 'ok'. */
function mountAndRead(dev: PmemDevice): string {
  return code(() => {
    const fs = FileSystem.mount(reboot(dev));
    for (const name of fs.readdir('/')) fs.readFile(`/${name}`);
    const problems = fs.fsck();
    if (problems.length) throw new FsError('EUCLEAN', problems.join('; '));
  });
}

describe('image checks: each corruption is a clear FsError', () => {
  it('a child pointer to its own parent (a loop) is EUCLEAN, not a hang', async () => {
    const { dev, fs } = await image();
    const root = fs.subvolume(5)!.tree.root;
    const node = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(root), NODE);
    expect(node.level).toBe(1);
    corrupt(dev, root, NODE_HEADER_BYTES + 1 * KEY_PTR_BYTES + 17, u64(root));
    expect(mountAndRead(dev)).toBe('EUCLEAN');
  });

  it('two key pointers to one child (a DAG) is EUCLEAN: the child\'s keys are outside the second range', async () => {
    const { dev, fs } = await image();
    const root = fs.subvolume(5)!.tree.root;
    const node = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(root), NODE);
    const first = node.child(0), generation = node.childGeneration(0);
    corrupt(dev, root, NODE_HEADER_BYTES + KEY_PTR_BYTES + 17, new Uint8Array([...u64(first), ...u64(generation)]));
    expect(mountAndRead(dev)).toBe('EUCLEAN');
  });

  it('nritems beyond the node, a leaf item outside the node, an unknown item type: EUCLEAN', async () => {
    for (const [what, at, bytes] of [
      ['nritems', NODE_NRITEMS, new Uint8Array([255, 255, 255, 255])],
      ['data offset', NODE_HEADER_BYTES + 17, new Uint8Array([0, 0, 1, 0])],
      ['data size', NODE_HEADER_BYTES + 21, new Uint8Array([0, 0, 0, 1])],
      ['item type', NODE_HEADER_BYTES + 2 * LEAF_ITEM_BYTES + 8, new Uint8Array([200])],
    ] as const) {
      const { dev, fs } = await image();
      const leaf = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(fs.subvolume(5)!.tree.root), NODE).child(0);
      corrupt(dev, leaf, at, bytes);
      expect(mountAndRead(dev), what).toBe('EUCLEAN');
      dev.close();
    }
  });

  it('an inode size above 2^50 is EUCLEAN, not a huge allocation', async () => {
    const { dev, fs } = await image();
    fs.writeFile('/big', new Uint8Array(10));
    fs.commit();
    const ino = fs.stat('/big').ino;
    // Find the leaf holding the inode and its item.
    let done = false;
    fs.subvolume(5)!.tree.visitNodes((bytenr, node) => {
      if (!node.isLeaf || done) return true;
      for (let s = 0; s < node.nritems; s++) {
        const k = node.key(s);
        if (k.objectid === ino && k.type === INODE_ITEM) {
          corrupt(dev, bytenr, node.dataOffset(s) + INODE_SIZE, u64(2 ** 60));
          done = true;
        }
      }
      return true;
    });
    expect(done).toBe(true);
    // Its leaf is the tree's last, which mount reads (the next inode number): mount refuses.
    expect(mountAndRead(dev)).toBe('EUCLEAN');
  });

  it('a superblock with a valid checksum but a root level of 200 is EUCLEAN', async () => {
    const { dev, fs } = await image();
    // The primary: a valid one is what mount reads.
    const slot = superblockOffsets(dev.sizeBytes)[0];
    dev.store(slot + SB_ROOT_LEVEL, new Uint8Array([200]));
    fixSuperblockChecksum(dev, slot);
    expect(code(() => FileSystem.mount(reboot(dev)))).toBe('EUCLEAN');
  });

  it('a ROOT_ITEM of a tree that is not a subvolume (the csum tree\'s id) is EUCLEAN, not a subvolume', async () => {
    // Found by image fuzzing: taken for a subvolume, it bound the csum tree's root slot.
    const { dev, fs } = await image();
    const rootTree = fs.kernel.rootTree.root;
    const leaf = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(rootTree), NODE);
    expect(leaf.level).toBe(0);
    const slot = Array.from({ length: leaf.nritems }, (_, s) => s).find((s) => leaf.key(s).objectid === 5 && leaf.key(s).type === ROOT_ITEM);
    expect(slot).toBeDefined();
    corrupt(dev, rootTree, NODE_HEADER_BYTES + slot! * LEAF_ITEM_BYTES, u64(7));
    expect(mountAndRead(dev)).toBe('EUCLEAN');
  });

  it('a primary superblock that fails its checksum gives way to the alternate copy, the same commit', async () => {
    const { dev, fs } = await image();
    const generation = fs.kernel.generation;
    const [primary, alternate] = superblockOffsets(dev.sizeBytes);
    dev.store(primary + SB_GENERATION, u64(12345));
    const again = FileSystem.mount(reboot(dev));
    expect(again.statfs().generation).toBe(generation);
    again.unmount();
    // Both copies bad: no superblock.
    dev.store(primary + SB_GENERATION, u64(12345));
    dev.store(alternate + SB_GENERATION, u64(12345));
    expect(code(() => FileSystem.mount(reboot(dev)))).toBe('EINVAL');
  });

  it('a truncated device is EUCLEAN (its superblock names more bytes than it has)', async () => {
    const { dev } = await image();
    const short = await PmemDevice.create({ sizeBytes: 4 << 20, maxThreads: 2 });
    short.store(0, dev.load(0, 4 << 20));
    short.persist(0, 4 << 20);
    expect(code(() => FileSystem.mount(short))).toBe('EUCLEAN');
  });

  it('dup: a bad first copy (bit flip, or poison) is healed from the second; everything reads', async () => {
    const { dev, fs } = await image('dup');
    const expected = fs.readFile('/file-7');
    const leaf = new NodeView(fs.kernel.m, fs.kernel.nodeAddr(fs.subvolume(5)!.tree.root), NODE).child(0);
    const root = fs.subvolume(5)!.tree.root;
    fs.unmount();
    dev.store(leaf + 100, new Uint8Array([dev.load(leaf + 100, 1)[0]! ^ 0x10]));
    dev.poison(root + 128);
    const again = FileSystem.mount(dev);
    for (let i = 0; i < 60; i++) expect(again.readFile(`/file-${i}`).length).toBe(100 + i);
    expect(Buffer.from(again.readFile('/file-7')).equals(Buffer.from(expected))).toBe(true);
    expect(again.kernel.healedCopies).toBe(2);
    expect(dev.lineInfo(root + 128).poisoned).toBe(false);
    expect(Buffer.from(dev.load(leaf, NODE)).equals(Buffer.from(dev.load(again.kernel.copyBytenr(leaf, 1), NODE)))).toBe(true);
    expect(again.fsck()).toEqual([]);
    const tree = again.subvolume(5)!.tree;
    expect(tree.get(key(256, INODE_ITEM, 0))).not.toBeNull();
  });
});

describe('image fuzzing campaign', () => {
  const runs: ImageFuzzCounts[] = [];
  afterAll(async () => {
    await closeImageFuzzDevices();
    const total = runs.reduce((n, c) => n + c.images, 0);
    const traps = runs.reduce((n, c) => n + c.traps, 0);
    console.log(`image fuzzing: ${total} mutated images in ${runs.length} campaigns, ${traps} traps`);
  });

  // 100,000 images: eight single-profile campaigns and two dup campaigns (different
  // seeds), small enough each to stay far from the test timeout on a loaded machine.
  it.each([
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((seed) => ({ seed, images: 11_500, metadataProfile: 'single' as const })),
    ...[9, 10].map((seed) => ({ seed, images: 4_000, metadataProfile: 'dup' as const })),
  ])('seed $seed: $images images ($metadataProfile) mount and work or fail with an FsError', async (options) => {
    const c = await imageFuzz(options);
    runs.push(c);
    console.log(`image fuzzing seed ${options.seed} (${options.metadataProfile}): ${summarizeImageFuzz(c)}\n  first error of each errno after mount: ${JSON.stringify(c.opErrorExamples)}`);
    expect(c.firstTraps, 'failures that were not FsErrors').toEqual([]);
    expect(c.traps).toBe(0);
    expect(c.images).toBe(options.images);
    // The campaign reaches every outcome: refusals, clean mounts, EIO reads, fsck findings.
    expect(c.mounted).toBeGreaterThan(0);
    expect(c.images - c.mounted).toBeGreaterThan(0);
    expect(c.clean).toBeGreaterThan(0);
    expect(c.eioReads).toBeGreaterThan(0);
    expect(c.refused.EUCLEAN ?? 0).toBeGreaterThan(0);
    expect(c.byRegion.metadata).toBeGreaterThan(options.images / 3);
    if (options.metadataProfile === 'dup') expect(c.healedCopies).toBeGreaterThan(0);
  });
});
