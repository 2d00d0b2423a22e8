// The range operations and DAX mappings: collapse and insert range move mapped pages
// (the next access faults and sees the new layout; bytes past the new EOF read as zeros:
// generic/499), pages dirtied through a mapping keep their checksums across the move;
// dedupe compares what mapped stores left and shares only equal bytes, and a store after
// it never reaches the source (generic/630), also with writer threads storing meanwhile.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice, WriterPool, storeTag, type DaxPolicy, type WorkloadResult } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { patternBytes } from '../src/workload/pattern.js';
import { expectSameBytes } from './helpers/device.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);
const B = 4096;
const MiB = 1 << 20;

async function freshFs(policy: Partial<DaxPolicy> = {}): Promise<[PmemDevice, FileSystem]> {
  const dev = await PmemDevice.create({ sizeBytes: 32 * MiB });
  FileSystem.mkfs(dev);
  return [dev, FileSystem.mount(dev, { dax: policy })];
}

const rnd = (len: number, seed: number): Uint8Array => patternBytes(seed, len);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function codeOf(fn: () => unknown): string {
  try { fn(); return 'ok'; } catch (e) { if (e instanceof FsError) return e.code; throw e; }
}

describe('collapse and insert range with mapped pages (generic/499)', () => {
  for (const nodatacow of [false, true]) {
    it(`${nodatacow ? 'nodatacow' : 'datacow'}: a mapping sees the moved pages, zeros past the new EOF, and stores before the move keep their checksums`, async () => {
      const [dev, fs] = await freshFs();
      fs.create('/f');
      if (nodatacow) fs.setNoDataCow('/f');
      const size = 6 * B + 100;
      let data = rnd(size, 1);
      fs.writeFile('/f', data);
      fs.commit();
      const m = fs.mmap('/f', { length: 8 * B });
      // Stores through the mapping: a page in the middle, and junk past EOF in the last page.
      const stored = rnd(B, 2);
      m.store(3 * B, stored);
      data = concat(data.subarray(0, 3 * B), stored, data.subarray(4 * B));
      m.store(size, new Uint8Array(B - 100).fill(0xee));
      expectSameBytes(m.load(0, size), data, 'before');
      fs.collapseRange('/f', B, 2 * B);
      data = concat(data.subarray(0, B), data.subarray(3 * B));
      expect(fs.stat('/f').size).toBe(4 * B + 100);
      expectSameBytes(m.load(0, 4 * B + 100), data, 'through the mapping after collapse');
      expectSameBytes(m.load(4 * B + 100, B - 100), new Uint8Array(B - 100), 'past the new EOF in the last page');
      expect(codeOf(() => m.load(5 * B, 8))).toBe('SIGBUS'); // a page wholly past EOF
      expectSameBytes(fs.readFile('/f'), data, 'read after collapse'); // checksums of the stored page hold
      fs.insertRange('/f', 0, 3 * B);
      data = concat(new Uint8Array(3 * B), data);
      expectSameBytes(m.load(0, data.length), data, 'through the mapping after insert');
      // Stores after the move land where the new layout has them.
      m.store(3 * B + 10, new Uint8Array([1, 2, 3]));
      data.set([1, 2, 3], 3 * B + 10);
      expectSameBytes(fs.readFile('/f'), data, 'read after a store through the moved mapping');
      expect(fs.fsck()).toEqual([]);
      m.unmap();
      fs.commit();
      expect(fs.scrub().errors).toEqual([]);
      fs.unmount();
      const again = FileSystem.mount(dev);
      expectSameBytes(again.readFile('/f'), data, 'after a remount');
      again.unmount();
      dev.close();
    });
  }

  it('a mapping of a clone is not disturbed by a collapse of the source', async () => {
    const [dev, fs] = await freshFs();
    const data = rnd(8 * B, 3);
    fs.writeFile('/a', data);
    fs.cloneFile('/a', '/b');
    const mb = fs.mmap('/b', { length: 8 * B, prot: 'r' });
    expectSameBytes(mb.load(0, 8 * B), data);
    fs.collapseRange('/a', 0, 4 * B);
    expectSameBytes(mb.load(0, 8 * B), data, 'the clone through its mapping');
    expectSameBytes(fs.readFile('/a'), data.subarray(4 * B));
    expect(fs.fsck()).toEqual([]);
    mb.unmap();
    fs.unmount();
    dev.close();
  });
});

describe('dedupe with mapped pages', () => {
  for (const nodatacow of [false, true]) {
    it(`${nodatacow ? 'nodatacow' : 'datacow'}: compares the bytes stores left, and a store after the share never reaches the source`, async () => {
      const [dev, fs] = await freshFs();
      for (const p of ['/src', '/dst']) { fs.create(p); if (nodatacow) fs.setNoDataCow(p); }
      const data = rnd(8 * B, 4);
      fs.writeFile('/src', data);
      fs.writeFile('/dst', data);
      fs.commit();
      const md = fs.mmap('/dst', { length: 8 * B });
      const ms = fs.mmap('/src', { length: 8 * B });
      // A store through the destination's mapping makes the ranges differ...
      md.store(5 * B + 7, new Uint8Array([data[5 * B + 7]! ^ 0xff]));
      expect(fs.dedupeRange('/src', 0, '/dst', 0, 8 * B)).toEqual({ bytesDeduped: 0, status: 'differs' });
      // ...and one through the source's mapping makes them equal again (pages dirtied in this transaction).
      ms.store(5 * B + 7, new Uint8Array([data[5 * B + 7]! ^ 0xff]));
      const now = md.load(0, 8 * B);
      expect(fs.dedupeRange('/src', 0, '/dst', 0, 8 * B)).toEqual({ bytesDeduped: 8 * B, status: 'same' });
      expect(fs.fileExtents('/dst').map((e) => e.diskBytenr)).toEqual(fs.fileExtents('/src').map((e) => e.diskBytenr));
      // Stores through either mapping after the share fault and go to blocks of their own.
      md.store(0, new Uint8Array([0xaa]));
      ms.store(B, new Uint8Array([0xbb]));
      const dstNow = now.slice(); dstNow[0] = 0xaa;
      const srcNow = now.slice(); srcNow[B] = 0xbb;
      expectSameBytes(fs.readFile('/dst'), dstNow, '/dst');
      expectSameBytes(fs.readFile('/src'), srcNow, '/src');
      expectSameBytes(md.load(0, 8 * B), dstNow, '/dst through its mapping');
      expectSameBytes(ms.load(0, 8 * B), srcNow, '/src through its mapping');
      expect(fs.fsck()).toEqual([]);
      md.unmap();
      ms.unmap();
      fs.commit();
      expect(fs.scrub().errors).toEqual([]);
      fs.unmount();
      dev.close();
    });
  }
});

describe('dedupe compares pages still waiting for their checksums', () => {
  it('with snapshotWriteProtect off (the dirtied pages stay recorded), stores on both sides compare as they are', async () => {
    const [dev, fs] = await freshFs({ snapshotWriteProtect: false });
    const data = rnd(4 * B, 8);
    fs.writeFile('/s', data);
    fs.writeFile('/d', data);
    fs.commit();
    const ms = fs.mmap('/s', { length: 4 * B });
    const md = fs.mmap('/d', { length: 4 * B });
    // Both sides' pages dirtied in this transaction, in one comparison chunk: different bytes...
    ms.store(B, new Uint8Array([1, 2, 3]));
    md.store(2 * B, new Uint8Array([4, 5, 6]));
    expect(fs.dedupeRange('/s', 0, '/d', 0, 4 * B).status).toBe('differs');
    // ...then the same bytes on both sides.
    md.store(B, new Uint8Array([1, 2, 3]));
    ms.store(2 * B, new Uint8Array([4, 5, 6]));
    expect(fs.dedupeRange('/s', 0, '/d', 0, 4 * B)).toEqual({ bytesDeduped: 4 * B, status: 'same' });
    const expected = data.slice();
    expected.set([1, 2, 3], B);
    expected.set([4, 5, 6], 2 * B);
    expectSameBytes(fs.readFile('/d'), expected);
    ms.unmap();
    md.unmap();
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    dev.close();
  });
});

/**
 * generic/630's race: a writer thread stores tagged 64-byte records through a mapping of
 * /dst, page after page, while this thread dedupes /src (zeros, as /dst starts) into /dst
 * just ahead of and behind where the writer is (found through the mapping). A page the
 * writer has not reached compares equal and is shared; a page it reached differs. No store
 * may be lost (a share must not replace a page that a store reached after the comparison)
 * and none may reach /src (a shared block written in place).
 */
async function race(policy: Partial<DaxPolicy>, pages = 1024): Promise<{ same: number; differs: number; lost: number; srcChanged: number; fsck: string[] }> {
  const [dev, fs] = await freshFs(policy);
  fs.writeFile('/src', new Uint8Array(pages * B));
  fs.writeFile('/dst', new Uint8Array(pages * B));
  fs.commit();
  const mapping = fs.mmap('/dst', { length: pages * B });
  const pool = await WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY });
  const storeBytes = 64;
  let done = false;
  const work = pool.run([{ mapping: mapping.handle(), kind: 'sequential', stores: pages * (B / storeBytes), storeBytes, writers: 1, writerIndex: 0, seed: 5 }])
    .finally(() => { done = true; });
  // The first page whose first record is still zero: where the writer is (a binary search).
  const frontier = (): number => {
    let lo = 0, hi = pages;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (new DataView(mapping.load(mid * B, 8).buffer).getBigUint64(0, true) !== 0n) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  let same = 0, differs = 0;
  for (let i = 0; !done; i++) {
    await new Promise((r) => setTimeout(r, 0));
    // The page being written or the next ones: the writer may reach them meanwhile.
    const at = Math.max(0, Math.min(pages - 2, frontier() - 1 + (i % 3)));
    const r = fs.dedupeRange('/src', at * B, '/dst', at * B, 2 * B);
    if (r.status === 'same') same++; else differs++;
  }
  const results: WorkloadResult[] = await work;
  await pool.stop();
  const content = new DataView(mapping.load(0, pages * B).buffer);
  let lost = 0;
  for (let slot = 0; slot < (pages * B) / storeBytes; slot++) {
    const seq = results[0]!.lastSeq[slot]!;
    const expected = seq === 0 ? 0n : storeTag(0, seq);
    if (content.getBigUint64(slot * storeBytes, true) !== expected) lost++;
  }
  mapping.unmap();
  const src = fs.readFile('/src');
  const zeros = Buffer.alloc(B);
  let srcChanged = 0;
  for (let p = 0; p < pages; p++) if (!zeros.equals(src.subarray(p * B, (p + 1) * B))) srcChanged++;
  const fsck = fs.fsck();
  fs.unmount();
  dev.close();
  return { same, differs, lost, srcChanged, fsck };
}

describe('dedupe racing a writer thread storing through a mapping (generic/630)', () => {
  it('every mechanism on: pages are shared only while equal, no store is lost, none reaches the source', async () => {
    const o = await race({});
    // RANGE_OPS_COUNTS=1 prints the race's counts (the figures of docs/dax.md section 4).
    if (process.env.RANGE_OPS_COUNTS) console.log(`race, every mechanism on: ${JSON.stringify(o)}`);
    expect(o.same).toBeGreaterThan(10);
    expect(o.differs).toBeGreaterThan(0);
    expect(o.lost).toBe(0);
    expect(o.srcChanged).toBe(0);
    expect(o.fsck).toEqual([]);
  });

  it('with snapshotWriteProtect off, a store lands between the comparison and the share and is lost (the bug the write-protection closes)', async () => {
    // The window is short and its odds depend on the machine's load: the test races until
    // a store is lost, up to 20 times (docs/dax.md section 4 has the counts of two runs).
    let lost = 0;
    for (let i = 0; i < 20 && lost === 0; i++) {
      const o = await race({ snapshotWriteProtect: false });
      if (process.env.RANGE_OPS_COUNTS) console.log(`race, snapshotWriteProtect off: ${JSON.stringify(o)}`);
      lost += o.lost;
    }
    expect(lost).toBeGreaterThan(0);
  }, 300_000);
});
