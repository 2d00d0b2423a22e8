// ENOSPC reclaims first (issue 12, item 5): space freed in the running transaction is
// pinned until a commit makes the free durable. Before an operation fails with ENOSPC it
// commits to return that space and asks again (btrfs flush_space COMMIT_TRANS, XFS's log
// force for busy extents): unlink on a full file system, then write, works without sync.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { patternBytes } from '../src/workload/pattern.js';
import { expectSameBytes } from './helpers/device.js';
import { errnoOf } from './helpers/errno-of.js';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { loadCoreModule } from '../src/core/module.js';
import { parse } from '../src/workload/parse.js';

const NODE = 4096;
const MiB = 1 << 20;

/**
 * A 16 MiB file system with an empty /target and a /big file that takes nearly all the
 * data space, committed: what is left is below `leftBytes` more than the reserve.
 */
async function full(): Promise<{ dev: PmemDevice; fs: FileSystem; bigBytes: number; old: Uint8Array }> {
  const dev = await PmemDevice.create({ sizeBytes: 16 * MiB });
  FileSystem.mkfs(dev, { nodeSize: NODE });
  const fs = FileSystem.mount(dev);
  const old = patternBytes(5, 4096);
  fs.writeFile('/target', old);
  fs.commit();
  const k = fs.kernel;
  // Leave 256 KiB of data space plus the write's metadata slack.
  const room = k.metadataFreeBytes() - k.metadataReserveBytes - 64 * NODE - 160 * NODE;
  const bigBytes = Math.floor((room - 256 * 1024) / 4096) * 4096;
  fs.writeFile('/big', patternBytes(1, bigBytes));
  fs.commit();
  return { dev, fs, bigBytes, old };
}

/** Would a write of `bytes` at 0 pass the space check without a commit? */
function fitsNow(fs: FileSystem, bytes: number): boolean {
  const k = fs.kernel;
  return k.metadataFreeBytes() - (Math.ceil(bytes / 4096) * 4096 + 64 * NODE) >= k.metadataReserveBytes;
}

describe('ENOSPC reclaims pinned space first', () => {
  it('unlink on a full file system, then a write that needs the freed space: works without sync', async () => {
    const { dev, fs, bigBytes, old } = await full();
    const data = patternBytes(2, 4 * MiB);
    expect(bigBytes).toBeGreaterThan(data.length + MiB);
    // Full: the write cannot fit, and nothing is pinned, so ENOSPC and nothing changed.
    expect(errnoOf(() => fs.writeFile('/target', data))).toBe('ENOSPC');
    fs.writeFile('/target', old);
    fs.commit();
    const generation = fs.statfs().generation;
    const reclaims = fs.spaceReclaims; // writeFile's truncate freed /target's extent: one try already
    fs.unlink('/big');
    expect(fs.kernel.reclaimableBytes()).toBeGreaterThanOrEqual(bigBytes);
    expect(fitsNow(fs, data.length)).toBe(false); // the freed extents come back only at the next commit
    const fd = fs.open('/target');
    expect(fs.pwrite(fd, data, 0)).toBe(data.length);
    fs.close(fd);
    expect(fs.spaceReclaims).toBe(reclaims + 1);
    expect(fs.statfs().generation).toBe(generation + 1); // the reclaim commit, no more
    expectSameBytes(fs.readFile('/target'), data, '/target after the write');

    // A power cut right after the write: the reclaim commit made the unlink durable, the
    // write itself is in the running transaction (durable at the next fsync, as on Linux).
    const image = FileSystem.mount(dev.crash());
    expect(image.fsck()).toEqual([]);
    expect(image.exists('/big')).toBe(false);
    expectSameBytes(image.readFile('/target'), old, '/target after a crash before fsync');
    image.unmount();

    // After fsync the written data survives a strict crash.
    fs.fsync(fs.open('/target'));
    expect(fs.fsck()).toEqual([]);
    const synced = FileSystem.mount(dev.crash());
    expect(synced.fsck()).toEqual([]);
    expectSameBytes(synced.readFile('/target'), data, '/target after fsync and a crash');
    synced.unmount();
  });

  it('writeFile after unlink: the new file gets the space', async () => {
    const { dev, fs } = await full();
    const data = patternBytes(3, 6 * MiB);
    fs.unlink('/big');
    fs.writeFile('/new', data);
    expectSameBytes(fs.readFile('/new'), data, '/new');
    fs.commit();
    const image = FileSystem.mount(dev.crash());
    expect(image.fsck()).toEqual([]);
    expectSameBytes(image.readFile('/new'), data, '/new after a crash');
  });

  it('fallocate after unlink works without sync', async () => {
    const { dev, fs } = await full();
    expect(errnoOf(() => fs.fallocate('/target', 0, 4 * MiB))).toBe('ENOSPC');
    expect(fs.stat('/target').size).toBe(4096); // the refused fallocate changed nothing
    fs.unlink('/big');
    fs.fallocate('/target', 0, 4 * MiB);
    expect(fs.spaceReclaims).toBe(1);
    expect(fs.stat('/target').size).toBe(4 * MiB);
    fs.commit();
    const image = FileSystem.mount(dev.crash());
    expect(image.fsck()).toEqual([]);
    expect(image.stat('/target').size).toBe(4 * MiB);
  });

  it('zero range after unlink works without sync', async () => {
    const { dev, fs, old } = await full();
    expect(errnoOf(() => fs.zeroRange('/target', 0, 4 * MiB))).toBe('ENOSPC');
    expectSameBytes(fs.readFile('/target'), old, 'the refused zero range changed nothing');
    fs.unlink('/big');
    fs.zeroRange('/target', 0, 4 * MiB);
    expect(fs.spaceReclaims).toBe(1);
    expectSameBytes(fs.readFile('/target'), new Uint8Array(4 * MiB), '/target zeroed');
    fs.commit();
    const image = FileSystem.mount(dev.crash());
    expect(image.fsck()).toEqual([]);
    expectSameBytes(image.readFile('/target'), new Uint8Array(4 * MiB), '/target zeroed after a crash');
  });

  // Scripts of `pmcow fuzz` findings, around the space /full's unlink pins until a commit:
  // an operation rewrote a sector with new data without asking for room first, so that
  // space stayed pinned and it failed with ENOSPC where the model has room; or it asked,
  // the commit came, and the operation went on with a plan made before it. /full's first
  // fallocates are the fsx generator's filler, the same in every script.
  const FULL = `create /full
fallocate /full 0 1048576 keep
fallocate /full 1048576 1048576 keep
fallocate /full 4194304 262144 keep`;
  const FULLER = `${FULL}
fallocate /full 5242880 65536 keep
fallocate /full 5308416 65536 keep
fallocate /full 5373952 65536 keep`;
  const FOUND: Array<[string, string]> = [
    // The write planned to rewrite in place the sector the write before it had filled in
    // this transaction, then committed for room: in place after that commit, the sector tore
    // under its committed checksum (a crash image read EIO).
    ['a write that commits for room plans its fills again (fsx seed 702, 60 ops)', `create /f0
fallocate /f0 29525 14168
write /f0 35856 16384 seed 5
snapshot / /s1
link /f0 /f2
fallocate /f2 0 28672 keep
${FULL}
write /f2 8700 19972 seed 26
unlink /full
write /f2 26452 16384 seed 25`],
    // The clone zeroes the bytes past the old EOF in its last sector (zeroPastEof).
    ['a clone growing a file rewrites its old EOF sector (fsx seed 202)', `open /f2 creat
write /f2 28672 14394 seed 10
write /f2 15 10699 seed 21
fallocate /f2 4096 16384
snapshot / /s2 ro
${FULLER}
fallocate /full 5505024 16384 keep
fallocate /full 5570560 4096 keep
fallocate /full 5574656 4096 keep
fallocate /full 5578752 4096 keep
unlink /full
clone /f2 4096 /f2 40960 36864`],
    // A zero range inside one sector rewrites that sector (zeroRange asked only for room
    // for its whole sectors).
    ['a zero range of part of a sector rewrites it (fsx seed 301)', `create /f0
create /f1
write /f0 1418 10604 seed 2
write /f1 0 12288 seed 4
${FULLER}
fallocate /full 5505024 16384 keep
fallocate /full 5521408 16384 keep
fallocate /full 5570560 4096 keep
fallocate /full 5574656 4096 keep
unlink /full
zero /f0 5499 273`],
  ];
  for (const [name, script] of FOUND) {
    it(`${name}: with the space a commit returns`, async () => {
      await loadCoreModule();
      const r = checkScript(parse(script), {}, fuzzDevices());
      expect(r.violations.map((v) => `${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
      expect(r.unjudged).toBeNull(); // judged to its end
    });
  }

  it('with nothing pinned, ENOSPC comes without a commit', async () => {
    const { fs } = await full();
    const generation = fs.statfs().generation;
    expect(errnoOf(() => fs.fallocate('/target', 0, 4 * MiB))).toBe('ENOSPC');
    expect(fs.spaceReclaims).toBe(0);
    expect(fs.statfs().generation).toBe(generation);
  });
});
