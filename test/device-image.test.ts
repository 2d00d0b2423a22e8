// Device images in and out: PmemDevice.exportMedia writes what survives a crash now,
// PmemDevice.fromImage boots it again (nothing pending), `pmcow export` and
// `pmcow run --image` do the same from the command line, and an image made by mkfs.btrfs
// is refused with EOPNOTSUPP (pmcow's format is btrfs-like, not btrfs's yet).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PmemDevice, FileSystem } from '../src/index.js';
import { errnoOf } from './helpers/errno-of.js';
import { mapSyncScript } from './helpers/map-sync-script.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/main.js');

function pattern(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed * 7) & 255);
}

describe('device images', () => {
  it('a crash violation\'s image, saved through the checker\'s observer, mounts and shows the bytes the model refused', async () => {
    const { checkScript, fuzzDevices } = await import('../src/crash/fuzz.js');
    const { parse } = await import('../src/workload/parse.js');
    const { patternBytes } = await import('../src/workload/pattern.js');
    const { loadCoreModule } = await import('../src/core/module.js');
    await loadCoreModule();
    const options = { sizeBytes: 16 << 20, samples: 64 };
    const saved: Array<{ problems: string[]; bytes: Uint8Array }> = [];
    const r = checkScript(parse(mapSyncScript(true)), options, fuzzDevices(options), { onViolationImage: (v, image) => saved.push({ problems: v.problems, bytes: image.exportMedia() }) });
    const crashes = r.violations.filter((v) => v.kind === 'crash');
    expect(crashes.length).toBeGreaterThan(0);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.length).toBeLessThanOrEqual(crashes.length);
    // The first saved image: /f's flushed and fenced store is not all there (what the model refused).
    const first = saved[0]!;
    const at = Number(/\/f: bytes (\d+)\.\./.exec(first.problems.join(' '))![1]);
    const dev = await PmemDevice.fromImage(first.bytes);
    const fs = FileSystem.mount(dev);
    const stored = patternBytes(5, 64);
    const word = fs.readFile('/f').subarray(at, at + 8);
    expect(Buffer.from(word).equals(Buffer.from(stored.subarray(at - 4096, at - 4096 + 8)))).toBe(false);
    fs.unmount();
    dev.close();
  });

  it('exportMedia and fromImage: the committed state boots again, pending stores are not in it', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.writeFile('/kept', pattern(20_000, 1));
    fs.mkdir('/d');
    fs.writeFile('/d/also', pattern(5000, 2));
    fs.commit();
    fs.writeFile('/kept', pattern(20_000, 3)); // not committed: not in the media
    const image = dev.exportMedia();
    expect(image.length).toBe(dev.sizeBytes);
    const again = await PmemDevice.fromImage(image);
    expect(again.sizeBytes).toBe(dev.sizeBytes);
    expect(Buffer.from(again.exportMedia()).equals(Buffer.from(image))).toBe(true); // nothing pending: media = the image
    const fs2 = FileSystem.mount(again);
    expect(fs2.readFile('/kept')).toEqual(pattern(20_000, 1));
    expect(fs2.readFile('/d/also')).toEqual(pattern(5000, 2));
    expect(fs2.fsck()).toEqual([]);
    fs2.writeFile('/new', pattern(100, 4)); // a working file system
    fs2.commit();
    fs2.unmount();
    again.close();
    fs.unmount();
    dev.close();
  });

  it('fromImage refuses what is not an image with EINVAL', async () => {
    expect(await errnoOfAsync(() => PmemDevice.fromImage('nope' as unknown as Uint8Array))).toBe('EINVAL');
    expect(await errnoOfAsync(() => PmemDevice.fromImage(new Uint8Array(100)))).toBe('EINVAL');
    expect(await errnoOfAsync(() => PmemDevice.fromImage(new Uint8Array(0)))).toBe('EINVAL');
    expect(await errnoOfAsync(() => PmemDevice.fromImage(new Uint8Array(1 << 20), 5 as unknown as object))).toBe('EINVAL');
  });

  it('an image with btrfs\'s superblock is refused with EOPNOTSUPP, anything else without a superblock with EINVAL', async () => {
    // A btrfs superblock, its checksum valid, that pmcow did not write (as mkfs.btrfs's).
    const image = new Uint8Array(4 << 20);
    image.set(new TextEncoder().encode('_BHRfS_M'), (64 << 10) + 0x40);
    new DataView(image.buffer).setUint32((64 << 10) + 48, 64 << 10, true); // bytenr: the copy's own offset
    const btrfs = await PmemDevice.fromImage(image);
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, btrfs.crc32c((64 << 10) + 32, 4096 - 32), true);
    btrfs.store(64 << 10, crc);
    btrfs.persist(64 << 10, 4);
    expect(errnoOf(() => FileSystem.mount(btrfs))).toBe('EOPNOTSUPP');
    btrfs.close();
    const blank = await PmemDevice.fromImage(new Uint8Array(4 << 20));
    expect(errnoOf(() => FileSystem.mount(blank))).toBe('EINVAL');
    blank.close();
  });

  it('pmcow export writes the media or a crash image; pmcow run --image boots it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmcow-image-'));
    const script = join(dir, 'make.txt');
    writeFileSync(script, 'create /f\nwrite /f 0 10000 seed 3\ncommit\nwrite /f 0 10000 seed 4\n');
    const check = join(dir, 'check.txt');
    writeFileSync(check, 'stat /f\nread /f\n');
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
    const media = join(dir, 'media.img');
    const made = run('export', script, '--out', media);
    expect(made.status, made.stderr).toBe(0);
    expect(readFileSync(media).length).toBe(32 << 20);
    const read = run('run', '--image', media, '--json', check);
    expect(read.status, read.stderr).toBe(0);
    const results = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; value?: string; checksum?: string });
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(results[0]!.value).toBe('file size=10000 nlink=1');
    // The committed contents (seed 3), as a run of the same writes on a new device reads them.
    const reference = join(dir, 'reference.txt');
    writeFileSync(reference, 'create /f\nwrite /f 0 10000 seed 3\nread /f\n');
    const expected = run('run', '--json', reference).stdout.trim().split('\n').map((l) => JSON.parse(l) as { checksum?: string })[2]!.checksum;
    expect(results[1]!.checksum).toBe(expected);
    // A crash image: a legal state, here either the committed one or the one with the last write.
    const crashed = join(dir, 'crash.img');
    expect(run('export', script, '--out', crashed, '--crash-seed', '7').status).toBe(0);
    expect(run('run', '--image', crashed, check).status).toBe(0);
    // A reproducer's violating crash image, written by pmcow replay --image-out, boots.
    const reproducer = join(dir, 'reproducer.json');
    writeFileSync(reproducer, JSON.stringify({
      pmcow: 'reproducer', version: 1, point: 'line 9: after the operation', problems: [], options: { sizeBytes: 16 << 20, samples: 64 },
      script: mapSyncScript(true),
    }));
    const violating = join(dir, 'violating.img');
    const replayed = run('replay', reproducer, '--image-out', violating);
    expect(replayed.status, replayed.stderr).toBe(1);
    expect(replayed.stdout).toMatch(/the first violating crash image \(16777216 bytes\)/);
    expect(readFileSync(violating).length).toBe(16 << 20);
    writeFileSync(join(dir, 'stat.txt'), 'stat /f\n');
    expect(run('run', '--image', violating, join(dir, 'stat.txt')).status).toBe(0);
    // Usage errors: one line on stderr, exit 2.
    const missing = run('export', script);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^pmcow: .*--out/);
    const absent = run('run', '--image', join(dir, 'absent.img'), check);
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(/^pmcow: cannot read image/);
    writeFileSync(join(dir, 'odd.img'), new Uint8Array(1000));
    const odd = run('run', '--image', join(dir, 'odd.img'), check);
    expect(odd.status).toBe(2);
    expect(odd.stderr).toMatch(/^pmcow: image .*EINVAL/);
  });
});

async function errnoOfAsync(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
