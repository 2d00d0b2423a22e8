import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice, Rng, type CoreTarget } from '../src/index.js';

// Small nodes force deep trees: thousands of directory items exercise split, merge,
// root growth and collapse of the COW B-tree through the public API, and the pushes of
// items to a sibling before a split and the merges after deletes (assembly/fs/ctree.ts),
// also on the debug build of the core (its assertions on), with a snapshot sharing the
// tree's blocks half way (pushes and merges then copy shared siblings).
describe('COW B-tree under many inserts and deletes', () => {
  it('keeps keys ordered, refcounts exact and contents intact with 4 KiB nodes', async () => {
    await churn('release', 6, 7);
  });

  it('the same on the debug build, with a snapshot that keeps the old tree', async () => {
    await churn('debug', 4, 8);
  });
});

async function churn(target: CoreTarget, rounds: number, seed: number): Promise<void> {
  const dev = await PmemDevice.create({ sizeBytes: 64 << 20, target });
  FileSystem.mkfs(dev, { nodeSize: 4096 });
  let fs = FileSystem.mount(dev);
  fs.mkdir('/d');
  const model = new Map<string, number>();
  const rng = new Rng(seed);
  const rnd = (n: number): number => rng.below(n);
  let snapshotNames: string[] | null = null;
  for (let round = 0; round < rounds; round++) {
    if (target === 'debug' && round === 2) {
      fs.snapshot('/', '/snap');
      snapshotNames = [...model.keys()].sort();
    }
    for (let i = 0; i < 600; i++) {
      const name = `f${rnd(4000).toString(36)}-${'x'.repeat(rnd(40))}`;
      if (model.has(name)) {
        fs.unlink(`/d/${name}`);
        model.delete(name);
      } else {
        const size = rnd(3) === 0 ? rnd(9000) : 0;
        fs.writeFile(`/d/${name}`, new Uint8Array(size).fill(name.length));
        model.set(name, size);
      }
    }
    expect(fs.readdir('/d').sort(), `${target} round ${round}`).toEqual([...model.keys()].sort());
    expect(fs.fsck(), `${target} round ${round}`).toEqual([]);
    if (round % 2 === 1) {
      fs.unmount();
      fs = FileSystem.mount(dev);
    }
  }
  const fsTree = fs.subvolume(5)!.tree;
  expect(fsTree.level).toBeGreaterThanOrEqual(2);
  for (const [name, size] of model) {
    const data = fs.readFile(`/d/${name}`);
    expect(data.length).toBe(size);
    if (size) expect(data[size - 1]).toBe(name.length);
  }
  // Delete everything: the tree must shrink back and all space come back.
  const usedBefore = fs.statfs().usedBytes;
  for (const name of model.keys()) fs.unlink(`/d/${name}`);
  fs.rmdir('/d');
  fs.commit();
  expect(fs.readdir('/')).toEqual(snapshotNames ? ['snap'] : []);
  expect(fs.fsck()).toEqual([]);
  expect(fs.statfs().usedBytes).toBeLessThan(usedBefore);
  if (snapshotNames) {
    // The snapshot kept the directory as it was when it was taken.
    expect(fs.readdir('/snap/d').sort()).toEqual(snapshotNames);
    expect(fs.fsck()).toEqual([]);
  } else {
    expect(fs.subvolume(5)!.tree.level).toBe(0);
  }
}
