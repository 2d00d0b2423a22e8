// One owner per device (issue 12, item 3): a second mount of a mounted device, or mkfs
// on it, would allocate from its own copy of the free space and overwrite what the first
// mount committed. Both are EBUSY until unmount, from this thread or another one that
// attached the device; a crash is a new boot that ends the first mount.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { errnoOf } from './helpers/errno-of.js';

const WORKER_URL = new URL('./workers/mount-worker.mjs', import.meta.url);
const text = (s: string) => new TextEncoder().encode(s);
const read = (fs: FileSystem, path: string) => new TextDecoder().decode(fs.readFile(path));

async function mounted(): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20, maxThreads: 4 });
  FileSystem.mkfs(dev, { nodeSize: 4096 });
  const fs = FileSystem.mount(dev);
  fs.writeFile('/committed', text('first mount'));
  fs.commit();
  return { dev, fs };
}

interface WorkerResult { mount: string; mkfs: string; read: string }

function inWorker(dev: PmemDevice): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { handle: dev.handle() } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  });
}

describe('one file system per device', () => {
  it('a second mount is EBUSY while the first is mounted, and works after unmount', async () => {
    const { dev, fs } = await mounted();
    expect(dev.isOwned).toBe(true);
    expect(errnoOf(() => FileSystem.mount(dev))).toBe('EBUSY');
    // The refused mount changed nothing: the first mount goes on, its file is there.
    fs.writeFile('/after', text('still mine'));
    fs.commit();
    expect(read(fs, '/committed')).toBe('first mount');
    fs.unmount();
    expect(dev.isOwned).toBe(false);
    const again = FileSystem.mount(dev);
    expect(read(again, '/committed')).toBe('first mount');
    expect(read(again, '/after')).toBe('still mine');
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });

  it('mkfs on a mounted device is EBUSY and leaves the file system alone; after unmount it formats', async () => {
    const { dev, fs } = await mounted();
    expect(errnoOf(() => FileSystem.mkfs(dev))).toBe('EBUSY');
    expect(read(fs, '/committed')).toBe('first mount');
    fs.unmount();
    // The committed file survived the refused mkfs.
    const check = FileSystem.mount(dev);
    expect(read(check, '/committed')).toBe('first mount');
    check.unmount();
    FileSystem.mkfs(dev, { nodeSize: 4096 });
    const fresh = FileSystem.mount(dev);
    expect(fresh.readdir('/')).toEqual([]);
    fresh.unmount();
  });

  it('a failed mount (no file system) does not keep the device', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
    expect(errnoOf(() => FileSystem.mount(dev))).toBe('EINVAL');
    expect(dev.isOwned).toBe(false);
    FileSystem.mkfs(dev, { nodeSize: 4096 });
    expect(dev.isOwned).toBe(false);
    FileSystem.mount(dev).unmount();
  });

  it('crashInPlace is a new boot: the device mounts again, and the old mount is gone (EIO)', async () => {
    const { dev, fs } = await mounted();
    fs.writeFile('/uncommitted', text('lost'));
    dev.crashInPlace();
    expect(dev.isOwned).toBe(false);
    const after = FileSystem.mount(dev);
    expect(read(after, '/committed')).toBe('first mount');
    expect(errnoOf(() => after.stat('/uncommitted'))).toBe('ENOENT');
    // The mount from before the crash cannot write over the new one, nor release it.
    expect(errnoOf(() => fs.writeFile('/stale', text('x')))).toBe('EIO');
    expect(errnoOf(() => fs.unmount())).toBe('EIO');
    expect(errnoOf(() => FileSystem.mount(dev))).toBe('EBUSY');
    after.unmount();
    // mkfs after a crash works too.
    dev.crashInPlace();
    FileSystem.mkfs(dev, { nodeSize: 4096 });
  });

  it('a crash image mounts, also when it is built into a device a mount still holds', async () => {
    const { dev, fs } = await mounted();
    const image = dev.crash();
    const a = FileSystem.mount(image);
    expect(read(a, '/committed')).toBe('first mount');
    // The next image into the same target is a new boot of it: no unmount needed.
    dev.crash({ into: image });
    const b = FileSystem.mount(image);
    expect(read(b, '/committed')).toBe('first mount');
    expect(errnoOf(() => a.readdir('/'))).toBe('EIO');
    for (const img of dev.crashImages()) {
      const c = FileSystem.mount(img.device(image));
      expect(read(c, '/committed')).toBe('first mount');
    }
    // b's mount went with the images built into its device since: it is gone (EIO).
    expect(errnoOf(() => b.unmount())).toBe('EIO');
    expect(read(fs, '/committed')).toBe('first mount');
    fs.unmount();
  });

  it('device.close() releases a mount made through it', async () => {
    const { dev } = await mounted();
    const other = PmemDevice.attach(dev.handle());
    expect(errnoOf(() => FileSystem.mount(other))).toBe('EBUSY');
    dev.close();
    const fs = FileSystem.mount(other);
    expect(read(fs, '/committed')).toBe('first mount');
    fs.unmount();
    other.close();
  });

  it('another thread that attached the device gets EBUSY for mount and mkfs while this thread holds it', async () => {
    const { dev, fs } = await mounted();
    const busy = await inWorker(dev);
    expect(busy).toEqual({ mount: 'EBUSY', mkfs: 'EBUSY', read: '' });
    expect(read(fs, '/committed')).toBe('first mount');
    fs.writeFile('/later', text('after the worker'));
    fs.unmount();
    // Unmounted: the worker mounts it, reads the committed file, and its mkfs is refused
    // only while its own mount holds the device.
    const free = await inWorker(dev);
    expect(free).toEqual({ mount: 'ok', mkfs: 'EBUSY', read: 'first mount' });
    expect(dev.isOwned).toBe(false);
    const back = FileSystem.mount(dev);
    expect(read(back, '/later')).toBe('after the worker');
    back.unmount();
  });
});
