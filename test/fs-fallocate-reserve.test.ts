// fallocate reserves (issue 12, item 4): after fallocate, with or without keepSize, writes
// into the preallocated range never fail with ENOSPC, even when the rest of the file
// system is full: for datacow and nodatacow files, through write and through a DAX
// mapping, and after a read-only snapshot of the file (posix_fallocate's promise;
// xfstests generic/274 and btrfs/170). The first write into preallocated space fills it in
// place; each case is then crashed (strict and random images) and must mount clean, with
// scrub clean, holding either the state before the write or after it.
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { patternBytes } from '../src/workload/pattern.js';
import { errnoOf } from './helpers/errno-of.js';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { loadCoreModule } from '../src/core/module.js';
import { parse } from '../src/workload/parse.js';

const PAGE = 4096;
const MiB = 1 << 20;
const PREALLOC = 64 * 1024;

type Kind = 'datacow' | 'nodatacow';

/** Write filler files until even one page no longer fits, and commit. */
function fillUp(fs: FileSystem): void {
  let n = 0;
  for (const size of [256 * 1024, 16 * 1024, PAGE]) {
    for (;;) {
      const path = `/fill${n++}`;
      try {
        fs.writeFile(path, patternBytes(n, size));
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ENOSPC');
        try { fs.unlink(path); } catch { /* never created */ }
        break;
      }
    }
  }
  fs.commit();
  expect(errnoOf(() => fs.writeFile('/one-more', new Uint8Array(PAGE).fill(1)))).toBe('ENOSPC');
}

/** fillUp, then page faults take what writes leave (a fault needs no metadata slack). */
function fillUpCompletely(fs: FileSystem): void {
  fillUp(fs);
  fs.create('/pad');
  fs.truncate('/pad', 4 * MiB);
  const pad = fs.mmap('/pad', { length: 4 * MiB });
  let page = 0;
  for (; page < 4 * MiB / PAGE; page++) {
    try {
      pad.store(page * PAGE, new Uint8Array(8).fill(9));
    } catch (e) {
      expect((e as { code?: string }).code).toBe('SIGBUS');
      break;
    }
  }
  expect(page).toBeGreaterThan(0);
  expect(page).toBeLessThan(4 * MiB / PAGE);
  fs.commit();
  expect(errnoOf(() => pad.store(page * PAGE, new Uint8Array(8).fill(9)))).toBe('SIGBUS');
  pad.unmap();
}

async function withPrealloc(kind: Kind, keepSize: boolean): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: 8 * MiB });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev);
  fs.create('/f');
  if (kind === 'nodatacow') fs.setNoDataCow('/f');
  fs.fallocate('/f', 0, PREALLOC, { keepSize });
  fs.commit();
  return { dev, fs };
}

/** Mount strict and random crash images; each must be clean and show one of `allowed`. */
function crashImagesShow(dev: PmemDevice, path: string, allowed: Uint8Array[]): void {
  for (const options of [{ mode: 'strict' as const }, ...[1, 2, 3, 4, 5, 6].map((seed) => ({ mode: 'random' as const, seed }))]) {
    const image = dev.crash(options);
    const fs = FileSystem.mount(image);
    expect(fs.fsck()).toEqual([]);
    const got = fs.readFile(path);
    expect(allowed.some((a) => a.length === got.length && a.every((v, i) => v === got[i])), `${options.mode} ${'seed' in options ? options.seed : ''}`).toBe(true);
    const scrub = fs.scrub();
    expect(scrub.csumErrors).toBe(0);
    expect(scrub.metadataErrors).toBe(0);
    fs.unmount();
    image.close();
  }
}

/** Unaligned pieces that together cover [0, PREALLOC). */
const PIECES: Array<[number, number]> = [[0, 100], [100, 5000], [5100, 3000], [8100, 30000], [38100, PREALLOC - 38100]];

/** pwrite random bytes over /f's preallocated range in the PIECES; each must succeed. */
function writeInPieces(fs: FileSystem, seed: number): Uint8Array {
  const want = patternBytes(seed, PREALLOC);
  const fd = fs.open('/f');
  for (const [at, len] of PIECES) expect(fs.pwrite(fd, want.subarray(at, at + len), at)).toBe(len);
  fs.close(fd);
  expect(fs.readFile('/f')).toEqual(want);
  return want;
}

describe('writes into preallocated space never fail with ENOSPC', () => {
  for (const kind of ['datacow', 'nodatacow'] as const) {
    for (const keepSize of [false, true]) {
      it(`${kind}, keepSize ${keepSize}: write(2) in unaligned pieces on a full file system`, async () => {
        const { dev, fs } = await withPrealloc(kind, keepSize);
        fillUp(fs);
        const want = writeInPieces(fs, 77);
        expect(fs.fileExtents('/f').every((e) => !e.prealloc)).toBe(true);
        // Still full: the writes took no new space.
        expect(errnoOf(() => fs.writeFile('/one-more', new Uint8Array(PAGE).fill(1)))).toBe('ENOSPC');
        const before = keepSize ? new Uint8Array(0) : new Uint8Array(PREALLOC);
        crashImagesShow(dev, '/f', [before, want]); // not committed: either state, never a mix
        fs.commit();
        crashImagesShow(dev, '/f', [want]);
        expect(fs.fsck()).toEqual([]);
      });
    }

    it(`${kind}: after a read-only snapshot of the file, the snapshot still reads zeros`, async () => {
      const { dev, fs } = await withPrealloc(kind, false);
      fs.snapshot('/', '/snap', { readonly: true });
      fillUp(fs);
      const want = writeInPieces(fs, 78);
      expect(fs.readFile('/snap/f')).toEqual(new Uint8Array(PREALLOC));
      fs.commit();
      crashImagesShow(dev, '/f', [want]);
      crashImagesShow(dev, '/snap/f', [new Uint8Array(PREALLOC)]);
    });

    it(`${kind}: stores through a DAX mapping fill preallocated pages on a full file system`, async () => {
      const { dev, fs } = await withPrealloc(kind, false);
      fillUpCompletely(fs);
      const m = fs.mmap('/f', { length: PREALLOC });
      const want = new Uint8Array(PREALLOC);
      for (let page = 0; page < PREALLOC / PAGE; page++) {
        const data = patternBytes(100 + page, 64);
        m.store(page * PAGE + 8, data);
        want.set(data, page * PAGE + 8);
      }
      expect(fs.readFile('/f')).toEqual(want);
      fs.commit();
      crashImagesShow(dev, '/f', [want]);
      m.unmap();
    });
  }

  it('a fill after a commit updates the checksum item of a partly filled extent; a crash before the next commit leaves the rest reading zeros, and scrub clean', async () => {
    const { dev, fs } = await withPrealloc('datacow', false);
    const first = patternBytes(1, 8192);
    const second = patternBytes(2, 8192);
    const fd = fs.open('/f');
    fs.pwrite(fd, first, 0);
    fs.commit();
    fs.pwrite(fd, second, 16384);
    fs.close(fd);
    const before = new Uint8Array(PREALLOC);
    before.set(first, 0);
    const after = before.slice();
    after.set(second, 16384);
    crashImagesShow(dev, '/f', [before, after]);
    fs.commit();
    crashImagesShow(dev, '/f', [after]);
    // Punch the filled parts: the extent is preallocated only again, its checksum item stays.
    fs.punchHole('/f', 0, 8192);
    fs.punchHole('/f', 16384, 8192);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    expect(fs.scrub().csumErrors).toBe(0);
  });

  it('preallocated bytes another file filled first are COWed, never overwritten (a clone shares them)', async () => {
    for (const kind of ['datacow', 'nodatacow'] as const) {
      const { fs } = await withPrealloc(kind, false);
      fs.create('/g');
      if (kind === 'nodatacow') fs.setNoDataCow('/g');
      fs.cloneRange('/f', 0, '/g', 0, PREALLOC);
      const g = patternBytes(3, PAGE);
      const f = patternBytes(4, PAGE);
      const gfd = fs.open('/g');
      fs.pwrite(gfd, g, 0); // fills the shared extent's first page in place: /f still reads zeros
      fs.close(gfd);
      expect(fs.readFile('/f').subarray(0, PAGE)).toEqual(new Uint8Array(PAGE));
      const ffd = fs.open('/f');
      fs.pwrite(ffd, f, 0); // /g reads that page: /f must COW
      fs.close(ffd);
      expect(fs.readFile('/g').subarray(0, PAGE)).toEqual(g);
      expect(fs.readFile('/f').subarray(0, PAGE)).toEqual(f);
      const fExtent = fs.fileExtents('/f')[0]!;
      const gExtent = fs.fileExtents('/g')[0]!;
      expect(fExtent.diskBytenr).not.toBe(gExtent.diskBytenr);
      fs.commit();
      expect(fs.fsck()).toEqual([]);
      expect(fs.scrub().csumErrors).toBe(0);
    }
  });
});

describe('zeroing across two partial sectors', () => {
  // A punch or a zero range with no whole sector inside may still touch two sectors:
  // each is rewritten with zeros only if it holds an extent. Rewriting both as one range
  // allocated a hole sector, which a fallocate then left out of its promise (pmcow fuzz
  // --generator fsx --seed 301 --time 30: a write into "preallocated" pages got ENOSPC).
  for (const op of ['punch', 'zero'] as const) {
    it(`${op} leaves a hole sector a hole and rewrites the preallocated one`, async () => {
      const dev = await PmemDevice.create({ sizeBytes: 16 * MiB });
      FileSystem.mkfs(dev, { nodeSize: 4096 });
      const fs = FileSystem.mount(dev);
      fs.create('/f');
      fs.fallocate('/f', 4 * PAGE, PAGE); // sector 4 preallocated, 0-3 holes
      fs.truncate('/f', 6 * PAGE);
      const from = 3 * PAGE + 700;
      const length = PAGE; // ends inside sector 4: no whole sector
      if (op === 'punch') fs.punchHole('/f', from, length);
      else fs.zeroRange('/f', from, length);
      const sectors = fs.fileExtents('/f')
        .filter((e) => e.diskBytenr !== 0)
        .map((e) => [e.fileOffset / PAGE, (e.fileOffset + e.bytes) / PAGE]);
      expect(sectors).toEqual([[4, 5]]); // sector 3 stays a hole
      expect(fs.stat('/f').allocatedBytes).toBe(PAGE);
      expect(fs.readFile('/f')).toEqual(new Uint8Array(6 * PAGE));
      fs.commit();
      expect(fs.fsck()).toEqual([]);
    });
  }

  it('the fuzz script that found it: every write into preallocated pages succeeds', async () => {
    await loadCoreModule();
    const r = checkScript(parse(`create /f1
zero /f1 60121 5415
punch /f1 61176 4096
fallocate /f1 36864 32768 keep
create /full
fallocate /full 0 1048576 keep
fallocate /full 1048576 1048576 keep
fallocate /full 4194304 262144 keep
write /f1 36864 22432 seed 25`), {}, fuzzDevices());
    expect(r.violations.map((v) => `${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull();
  });
});
