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
    fs.kernel.commitStarting = () => { hookReads++; fs.readFile('/g'); fs.readFile('/f'); };
    const m = fs.mmap('/f', { length: 8192, sync: true }); // MAP_SYNC: the write fault commits
    m.store(4096, new Uint8Array(64).fill(5));
    expect(hookReads).toBeGreaterThan(0);
    expect(m.load(4096, 64)).toEqual(new Uint8Array(64).fill(5));
    expect(fs.readFile('/f').subarray(4096, 4160)).toEqual(new Uint8Array(64).fill(5));
    dev.close();
  });
});
