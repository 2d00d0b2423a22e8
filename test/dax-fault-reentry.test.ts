import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice } from '../src/index.js';

// A fault runs file-system code (allocation, a MAP_SYNC commit, the commit hooks a fuzzer
// installs). That code may use the device scratch the mapping stages its bytes in; the
// store and the load must survive it. Found by the fuzzer's MAP_SYNC floor check.
describe('DAX faults that re-enter the file system', () => {
  it('a store and a load survive a commit hook that reads files during the fault', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, kernelBytes: 8 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.create('/f'); fs.setNoDataCow('/f'); fs.truncate('/f', 8192);
    fs.writeFile('/g', new Uint8Array(8192).fill(7));
    fs.commit();
    let hookReads = 0;
    fs.kernel.participants.add({ commitStarting: () => { hookReads++; fs.readFile('/g'); fs.readFile('/f'); } });
    const m = fs.mmap('/f', { length: 8192, sync: true }); // MAP_SYNC: the write fault commits
    m.store(4096, new Uint8Array(64).fill(5));
    expect(hookReads).toBeGreaterThan(0);
    expect(m.load(4096, 64)).toEqual(new Uint8Array(64).fill(5));
    expect(fs.readFile('/f').subarray(4096, 4160)).toEqual(new Uint8Array(64).fill(5));
    dev.close();
  });
});

// dax_store_serving (the main thread's mapping.store): the core serves the write faults it
// can itself, under the fs lock, and stops where dax_store would stop for the faults it
// leaves to the owner (frozen: EBUSY from the host's path) or a media error (SIGBUS).
describe('stores that serve their faults in the core', () => {
  async function sparse(): Promise<{ dev: PmemDevice; fs: FileSystem }> {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20, kernelBytes: 8 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.create('/f'); fs.setNoDataCow('/f'); fs.truncate('/f', 4 * 4096);
    fs.commit();
    return { dev, fs };
  }

  it('a store over holes is served whole in one call, and reads back', async () => {
    const { dev, fs } = await sparse();
    const m = fs.mmap('/f', { length: 4 * 4096 });
    const core = dev.core;
    const scratch = dev.scratch();
    scratch.fill(9, 0, 3 * 4096);
    const before = fs.dax.stats;
    expect(core.dax_store(m.id, 0, scratch.byteOffset, 3 * 4096)).toBe(0); // the plain store stops at the fault
    expect(core.dax_store_serving(m.id, 0, scratch.byteOffset, 3 * 4096)).toBe(3 * 4096);
    const after = fs.dax.stats;
    expect(after.holeFills - before.holeFills).toBe(3);
    expect(after.writeFaults - before.writeFaults).toBe(3);
    expect(fs.readFile('/f').subarray(0, 3 * 4096)).toEqual(new Uint8Array(3 * 4096).fill(9));
    expect(fs.fsck()).toEqual([]);
    dev.close();
  });

  it('stops at a fault the core leaves to the owner: a frozen file system answers EBUSY', async () => {
    const { dev, fs } = await sparse();
    const m = fs.mmap('/f', { length: 4 * 4096 });
    m.store(0, new Uint8Array(8).fill(1)); // page 0 writable
    fs.freeze();
    const scratch = dev.scratch();
    scratch.fill(2, 0, 8192);
    // Page 0 was write-protected by the freeze: nothing is stored, nothing faulted in.
    expect(dev.core.dax_store_serving(m.id, 0, scratch.byteOffset, 8192)).toBe(0);
    expect(() => m.store(4096, new Uint8Array(8).fill(3))).toThrow(/EBUSY/);
    fs.thaw();
    m.store(4096, new Uint8Array(8).fill(3));
    expect(fs.readFile('/f').subarray(0, 8)).toEqual(new Uint8Array(8).fill(1));
    expect(fs.readFile('/f').subarray(4096, 4104)).toEqual(new Uint8Array(8).fill(3));
    dev.close();
  });
});
