// Verified data sectors (assembly/fs/inode.ts): a read skips the checksum of a sector that
// passed it and that nothing stored to since, as a page-cache hit skips it in btrfs. Every
// way bytes change must make the next read check again: a store through the device, a
// change behind the core's back that is reported (markChanged), a store in the same stamp
// epoch as the verification and in a later one; poison, which changes no byte, must still
// fail every read.
import { describe, expect, it } from 'vitest';
import { PmemDevice, FsError } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';

const PAGE = 4096;

async function mounted(): Promise<{ dev: PmemDevice; fs: FileSystem; fd: number; block: (page: number) => number }> {
  const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev);
  fs.create('/f');
  const fd = fs.open('/f');
  const data = new Uint8Array(8 * PAGE);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 255;
  fs.pwrite(fd, data, 0);
  fs.commit();
  const block = (page: number): number => {
    const e = fs.fileExtents('/f').find((x) => x.fileOffset <= page * PAGE && page * PAGE < x.fileOffset + x.bytes)!;
    return e.diskBytenr + e.offset + (page * PAGE - e.fileOffset);
  };
  return { dev, fs, fd, block };
}

function readCode(fs: FileSystem, fd: number, page: number): string {
  try {
    fs.pread(fd, PAGE, page * PAGE);
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

describe('verified data sectors', () => {
  it('a store to a verified sector makes the next read check it (EIO)', async () => {
    const { dev, fs, fd, block } = await mounted();
    for (let r = 0; r < 3; r++) expect(readCode(fs, fd, 2)).toBe('ok'); // verified, then known good
    const at = block(2) + 100;
    const old = dev.load(at, 1)[0]!;
    dev.store(at, new Uint8Array([old ^ 1]));
    expect(readCode(fs, fd, 2)).toBe('EIO');
    expect(readCode(fs, fd, 3)).toBe('ok'); // the next sector was not touched
    dev.store(at, new Uint8Array([old]));
    expect(readCode(fs, fd, 2)).toBe('ok');
  });

  it('a store in the epoch the sector was verified in is seen, and one in a later epoch too', async () => {
    const { dev, fs, fd, block } = await mounted();
    const at = block(5) + 4000;
    const old = dev.load(at, 1)[0]!;
    // Rewritten and read in one epoch: the verification starts a new epoch.
    dev.store(at, new Uint8Array([old]));
    expect(readCode(fs, fd, 5)).toBe('ok');
    dev.store(at, new Uint8Array([old ^ 0x80]));
    expect(readCode(fs, fd, 5)).toBe('EIO');
    dev.store(at, new Uint8Array([old]));
    expect(readCode(fs, fd, 5)).toBe('ok');
    expect(readCode(fs, fd, 5)).toBe('ok');
    dev.store(at, new Uint8Array([old ^ 0x80]));
    expect(readCode(fs, fd, 5)).toBe('EIO');
  });

  it('a change behind the core\'s back that is reported (markChanged) is seen', async () => {
    const { dev, fs, fd, block } = await mounted();
    expect(readCode(fs, fd, 1)).toBe('ok');
    const at = block(1) + 17;
    const visible = new Uint8Array(dev.memory.buffer, fs.kernel.visibleAddr + at, 1);
    visible[0] = visible[0]! ^ 0xff;
    dev.markChanged(at, 1);
    expect(readCode(fs, fd, 1)).toBe('EIO');
  });

  it('poison fails every read of a verified sector', async () => {
    const { dev, fs, fd, block } = await mounted();
    expect(readCode(fs, fd, 4)).toBe('ok');
    dev.poison(block(4) + 64, 64);
    expect(readCode(fs, fd, 4)).toBe('EIO');
    expect(readCode(fs, fd, 4)).toBe('EIO');
  });

  it('a rewrite through the file system is read back (no stale verdict, no stale bytes)', async () => {
    const { fs, fd } = await mounted();
    expect(readCode(fs, fd, 0)).toBe('ok');
    const fresh = new Uint8Array(PAGE).fill(0x42);
    fs.pwrite(fd, fresh, 0);
    expect(fs.pread(fd, PAGE, 0)).toEqual(fresh);
    fs.commit();
    expect(fs.pread(fd, PAGE, 0)).toEqual(fresh);
    expect(fs.scrub().csumErrors).toBe(0);
  });
});
