// dedupeRange / dedupeRanges (FIDEDUPERANGE), collapseRange and insertRange
// (FALLOC_FL_COLLAPSE_RANGE / FALLOC_FL_INSERT_RANGE): every errno Linux gives for bad
// input, the semantics checked byte by byte and extent by extent, their place with
// snapshots, reflinks, fsck and scrub, DAX mappings (generic/499, generic/630), and a
// seeded comparison of collapse and insert against a plain byte-array model.
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice, type ErrnoName } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { MAX_FILE_BYTES } from '../src/fs/fs-common.js';
import { MAX_DEDUPE_BYTES } from '../src/fs/range-ops.js';
import { Rng } from '../src/random.js';
import { patternBytes } from '../src/workload/pattern.js';
import { expectSameBytes } from './helpers/device.js';

const MiB = 1 << 20;
const B = 4096;

async function freshFs(size = 32 * MiB): Promise<[PmemDevice, FileSystem]> {
  const dev = await PmemDevice.create({ sizeBytes: size });
  FileSystem.mkfs(dev);
  return [dev, FileSystem.mount(dev)];
}

function rnd(len: number, seed: number): Uint8Array {
  return patternBytes(seed, len);
}

function errnoOf(fn: () => unknown): ErrnoName | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

/** Every file's bytes and extent map, to show that a refused call changed nothing. */
function state(fs: FileSystem, paths: string[]): string {
  return paths.map((p) => `${p} ${fs.stat(p).size} ${Buffer.from(fs.readFile(p)).toString('base64').length} ${fs.contentDigest(p)} ${JSON.stringify(fs.fileExtents(p))}`).join('\n');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

describe('errors: every bad input is an FsError with the errno Linux gives, and changes nothing', () => {
  it('dedupeRange, dedupeRanges, collapseRange and insertRange', async () => {
    const [dev, fs] = await freshFs();
    fs.mkdir('/dir');
    fs.writeFile('/a', rnd(8 * B, 1));
    fs.writeFile('/b', rnd(8 * B, 1));
    fs.writeFile('/tail', rnd(3 * B + 100, 2));
    fs.create('/nocow');
    fs.setNoDataCow('/nocow');
    fs.writeFile('/nocow', rnd(8 * B, 1));
    fs.create('/imm');
    fs.setNoDataCow('/imm');
    fs.writeFile('/imm', rnd(8 * B, 1));
    fs.setDaxImmutable('/imm', true, { capability: true });
    fs.createSubvolume('/vol');
    fs.writeFile('/vol/f', rnd(8 * B, 1));
    fs.snapshot('/vol', '/ro', { readonly: true });
    fs.commit();
    const paths = ['/a', '/b', '/tail', '/nocow', '/imm', '/vol/f', '/ro/f'];
    const before = state(fs, paths);
    const cases: Array<[string, () => unknown, ErrnoName]> = [
      // dedupe: the VFS's and btrfs's checks (vfs_dedupe_file_range, generic_remap_checks)
      ['dedupe offset -1', () => fs.dedupeRange('/a', -1, '/b', 0, B), 'EINVAL'],
      ['dedupe length 1.5', () => fs.dedupeRange('/a', 0, '/b', 0, 1.5), 'EINVAL'],
      ['dedupe dstOffset NaN', () => fs.dedupeRange('/a', 0, '/b', NaN, B), 'EINVAL'],
      ['dedupe length above 2^50', () => fs.dedupeRange('/a', 0, '/b', 0, MAX_FILE_BYTES + 1), 'EFBIG'],
      ['dedupe source a directory', () => fs.dedupeRange('/dir', 0, '/b', 0, B), 'EISDIR'],
      ['dedupe destination a directory', () => fs.dedupeRange('/a', 0, '/dir', 0, B), 'EISDIR'],
      ['dedupe destination a subvolume', () => fs.dedupeRange('/a', 0, '/vol', 0, B), 'EISDIR'],
      ['dedupe missing source', () => fs.dedupeRange('/nope', 0, '/b', 0, B), 'ENOENT'],
      ['dedupe missing destination', () => fs.dedupeRange('/a', 0, '/nope', 0, B), 'ENOENT'],
      ['dedupe source range past EOF', () => fs.dedupeRange('/a', 4 * B, '/b', 0, 5 * B), 'EINVAL'],
      ['dedupe destination range past EOF', () => fs.dedupeRange('/a', 0, '/b', 4 * B, 5 * B), 'EINVAL'],
      ['dedupe destination offset at EOF', () => fs.dedupeRange('/a', 0, '/b', 8 * B, B), 'EINVAL'],
      ['dedupe unaligned source offset', () => fs.dedupeRange('/a', 100, '/b', 0, B), 'EINVAL'],
      ['dedupe unaligned destination offset', () => fs.dedupeRange('/a', 0, '/b', 100, B), 'EINVAL'],
      ['dedupe overlapping ranges of one file', () => fs.dedupeRange('/a', 0, '/a', B, 2 * B), 'EINVAL'],
      ['dedupe datacow to nodatacow', () => fs.dedupeRange('/a', 0, '/nocow', 0, B), 'EINVAL'],
      ['dedupe into a DAX-immutable file', () => fs.dedupeRange('/nocow', 0, '/imm', 0, B), 'EPERM'],
      ['dedupe from a DAX-immutable file', () => fs.dedupeRange('/imm', 0, '/nocow', 0, B), 'EPERM'],
      ['dedupe into a read-only snapshot', () => fs.dedupeRange('/a', 0, '/ro/f', 0, B), 'EROFS'],
      ['dedupeRanges not an array', () => fs.dedupeRanges('/a', 0, B, 'x' as never), 'EINVAL'],
      ['dedupeRanges a destination not an object', () => fs.dedupeRanges('/a', 0, B, [null as never]), 'EINVAL'],
      ['dedupeRanges 128 destinations', () => fs.dedupeRanges('/a', 0, B, Array.from({ length: 128 }, () => ({ path: '/b', offset: 0 }))), 'ENOMEM'],
      ['dedupeRanges source past EOF', () => fs.dedupeRanges('/a', 0, 9 * B, [{ path: '/b', offset: 0 }]), 'EINVAL'],
      // collapse: vfs_fallocate, then xfs_file_fallocate / ext4_collapse_range
      ['collapse length 0', () => fs.collapseRange('/a', 0, 0), 'EINVAL'],
      ['collapse offset -4096', () => fs.collapseRange('/a', -B, B), 'EINVAL'],
      ['collapse length "1"', () => fs.collapseRange('/a', 0, '1' as never), 'EINVAL'],
      ['collapse ending above 2^50', () => fs.collapseRange('/a', MAX_FILE_BYTES - B, 2 * B), 'EFBIG'],
      ['collapse a directory', () => fs.collapseRange('/dir', 0, B), 'EISDIR'],
      ['collapse unaligned offset', () => fs.collapseRange('/a', 100, B), 'EINVAL'],
      ['collapse unaligned length', () => fs.collapseRange('/a', 0, 100), 'EINVAL'],
      ['collapse reaching EOF', () => fs.collapseRange('/a', 4 * B, 4 * B), 'EINVAL'],
      ['collapse past EOF', () => fs.collapseRange('/a', 4 * B, 8 * B), 'EINVAL'],
      ['collapse of an unaligned EOF block', () => fs.collapseRange('/tail', 3 * B, B), 'EINVAL'],
      ['collapse a DAX-immutable file', () => fs.collapseRange('/imm', 0, B), 'EPERM'],
      ['collapse in a read-only snapshot', () => fs.collapseRange('/ro/f', 0, B), 'EROFS'],
      ['collapse bad path', () => fs.collapseRange('rel', 0, B), 'EINVAL'],
      // insert
      ['insert length 0', () => fs.insertRange('/a', 0, 0), 'EINVAL'],
      ['insert offset 1.5', () => fs.insertRange('/a', 1.5, B), 'EINVAL'],
      ['insert a directory', () => fs.insertRange('/dir', 0, B), 'EISDIR'],
      ['insert unaligned offset', () => fs.insertRange('/a', 1, B), 'EINVAL'],
      ['insert unaligned length', () => fs.insertRange('/a', 0, B + 1), 'EINVAL'],
      ['insert at EOF', () => fs.insertRange('/a', 8 * B, B), 'EINVAL'],
      ['insert past EOF', () => fs.insertRange('/a', 9 * B, B), 'EINVAL'],
      ['insert growing past 2^50', () => fs.insertRange('/a', 0, MAX_FILE_BYTES - 4 * B), 'EFBIG'],
      ['insert a DAX-immutable file', () => fs.insertRange('/imm', 0, B), 'EPERM'],
      ['insert in a read-only snapshot', () => fs.insertRange('/ro/f', 0, B), 'EROFS'],
    ];
    for (const [what, call, code] of cases) expect(errnoOf(call), what).toBe(code);
    // Per destination, the array form reports errors in the results and goes on.
    const infos = fs.dedupeRanges('/a', 0, 2 * B, [{ path: '/dir', offset: 0 }, { path: '/nope', offset: 0 }, { path: '/b', offset: 100 }, { path: '/nocow', offset: 0 }]);
    expect(infos.map((i) => [i.status, i.error?.code, i.bytesDeduped])).toEqual([
      ['error', 'EISDIR', 0], ['error', 'ENOENT', 0], ['error', 'EINVAL', 0], ['error', 'EINVAL', 0],
    ]);
    expect(state(fs, paths)).toBe(before);
    // A frozen file system refuses each with EBUSY; an unmounted one with EINVAL.
    fs.freeze();
    expect(errnoOf(() => fs.dedupeRange('/a', 0, '/b', 0, B))).toBe('EBUSY');
    expect(errnoOf(() => fs.collapseRange('/a', 0, B))).toBe('EBUSY');
    expect(errnoOf(() => fs.insertRange('/a', 0, B))).toBe('EBUSY');
    fs.thaw();
    expect(state(fs, paths)).toBe(before);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    for (const call of [() => fs.dedupeRange('/a', 0, '/b', 0, B), () => fs.dedupeRanges('/a', 0, B, []), () => fs.collapseRange('/a', 0, B), () => fs.insertRange('/a', 0, B)]) {
      expect(errnoOf(call)).toBe('EINVAL');
    }
    dev.close();
  });
});

describe('dedupeRange', () => {
  it('shares equal ranges (the destination maps the source\'s extents, refcounts as fsck counts them) and leaves differing ones alone', async () => {
    const [dev, fs] = await freshFs();
    const data = rnd(16 * B, 3);
    fs.writeFile('/src', data);
    fs.writeFile('/same', data);
    const other = data.slice();
    other[9 * B + 17] ^= 1;
    fs.writeFile('/diff', other);
    fs.commit();
    const usedBefore = fs.statfs().usedBytes;
    const beforeDiff = fs.fileExtents('/diff');
    expect(fs.dedupeRange('/src', 0, '/diff', 0, 16 * B)).toEqual({ bytesDeduped: 0, status: 'differs' });
    expect(fs.fileExtents('/diff')).toEqual(beforeDiff);
    // The equal part of /diff dedupes.
    expect(fs.dedupeRange('/src', 0, '/diff', 0, 8 * B)).toEqual({ bytesDeduped: 8 * B, status: 'same' });
    expect(fs.dedupeRange('/src', 0, '/same', 0, 16 * B)).toEqual({ bytesDeduped: 16 * B, status: 'same' });
    const src = fs.fileExtents('/src');
    expect(fs.fileExtents('/same').map((e) => [e.fileOffset, e.diskBytenr, e.offset, e.bytes])).toEqual(src.map((e) => [e.fileOffset, e.diskBytenr, e.offset, e.bytes]));
    expect(fs.fileExtents('/diff')[0]!.diskBytenr).toBe(src[0]!.diskBytenr);
    expectSameBytes(fs.readFile('/same'), data, '/same');
    expectSameBytes(fs.readFile('/diff'), other, '/diff');
    expect(fs.fsck()).toEqual([]); // refcounts, backrefs and nbytes
    fs.commit();
    // /same's 16 blocks are freed at the commit; /diff's extent stays whole while its
    // second half still maps it (btrfs frees an extent only when no item maps any of it).
    expect(usedBefore - fs.statfs().usedBytes).toBeGreaterThanOrEqual(16 * B);
    expect(fs.fileExtents('/diff').map((e) => e.diskBytes)).toEqual([16 * B, 16 * B]);
    expect(fs.scrub().errors).toEqual([]);
    // A write to a deduplicated range COWs: the source keeps its bytes.
    fs.writeFile('/same', rnd(16 * B, 9));
    expectSameBytes(fs.readFile('/src'), data, '/src after a write to /same');
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    dev.close();
  });

  it('follows the EOF rules: an unaligned length is cut to whole blocks, unless both ranges end at EOF', async () => {
    const [dev, fs] = await freshFs();
    const data = rnd(5 * B + 300, 4);
    fs.writeFile('/s', data);
    fs.writeFile('/d', data);
    fs.writeFile('/longer', concat(data, rnd(B, 5)));
    // Both at EOF: the unaligned tail block is shared too.
    expect(fs.dedupeRange('/s', 2 * B, '/d', 2 * B, 3 * B + 300)).toEqual({ bytesDeduped: 3 * B + 300, status: 'same' });
    expect(fs.fileExtents('/d').at(-1)!.diskBytenr).toBe(fs.fileExtents('/s').at(-1)!.diskBytenr);
    // Source at EOF, destination not: cut to 3 blocks (REMAP_FILE_CAN_SHORTEN).
    expect(fs.dedupeRange('/s', 2 * B, '/longer', 2 * B, 3 * B + 300)).toEqual({ bytesDeduped: 3 * B, status: 'same' });
    // Shorter than a block and not at EOF: nothing to share.
    expect(fs.dedupeRange('/s', 0, '/longer', 0, 100)).toEqual({ bytesDeduped: 0, status: 'same' });
    // Length 0 returns before the other checks, as the VFS's.
    expect(fs.dedupeRange('/s', 0, '/longer', 100, 0)).toEqual({ bytesDeduped: 0, status: 'same' });
    expectSameBytes(fs.readFile('/d'), data);
    expectSameBytes(fs.readFile('/longer').subarray(0, data.length), data);
    expect(fs.fsck()).toEqual([]);
    expect(MAX_DEDUPE_BYTES).toBe(2 ** 30);
    fs.unmount();
    dev.close();
  });

  it('in the array form, dedupes each destination on its own; within one file and across subvolumes; holes and nodatacow', async () => {
    const [dev, fs] = await freshFs();
    const page = rnd(B, 6);
    const data = concat(page, page, new Uint8Array(2 * B), page, rnd(B, 7));
    fs.writeFile('/f', data);
    fs.createSubvolume('/v');
    fs.writeFile('/v/g', data);
    fs.writeFile('/h', concat(page, rnd(5 * B, 8)));
    const infos = fs.dedupeRanges('/f', 0, B, [
      { path: '/f', offset: B }, { path: '/f', offset: 4 * B }, { path: '/v/g', offset: 0 }, { path: '/h', offset: B }, { path: '/h', offset: 0 },
    ]);
    expect(infos.map((i) => [i.status, i.bytesDeduped])).toEqual([['same', B], ['same', B], ['same', B], ['differs', 0], ['same', B]]);
    // /f's first block (extent offset 0) is now mapped at 0, B and 4B; /v/g's too.
    const first = fs.fileExtents('/f')[0]!.diskBytenr;
    const mapsFirstBlock = (path: string): number[] => fs.fileExtents(path).filter((e) => e.diskBytenr === first && e.offset === 0).map((e) => e.fileOffset);
    expect(mapsFirstBlock('/f')).toEqual([0, B, 4 * B]);
    expect(mapsFirstBlock('/v/g')).toEqual([0]);
    expect(mapsFirstBlock('/h')).toEqual([0]);
    // A hole dedupes against written zeros: the destination gets the hole.
    fs.punchHole('/f', 2 * B, 2 * B);
    fs.writeFile('/zeros', new Uint8Array(4 * B));
    expect(fs.dedupeRange('/f', 2 * B, '/zeros', B, 2 * B)).toEqual({ bytesDeduped: 2 * B, status: 'same' });
    expect(fs.stat('/zeros').allocatedBytes).toBe(2 * B);
    expectSameBytes(fs.readFile('/zeros'), new Uint8Array(4 * B));
    // nodatacow files dedupe between themselves.
    for (const p of ['/n1', '/n2']) { fs.create(p); fs.setNoDataCow(p); fs.writeFile(p, data); }
    expect(fs.dedupeRange('/n1', 0, '/n2', 0, data.length)).toEqual({ bytesDeduped: data.length, status: 'same' });
    expectSameBytes(fs.readFile('/f'), data);
    expectSameBytes(fs.readFile('/v/g'), data);
    expect(fs.fsck()).toEqual([]);
    expect(fs.scrub().errors).toEqual([]);
    // A nodatacow write to a deduplicated block COWs it: /n1 keeps its bytes.
    fs.writeFile('/n2', rnd(data.length, 10));
    expectSameBytes(fs.readFile('/n1'), data);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    dev.close();
  });

  it('a snapshot taken before a dedupe keeps its own extents', async () => {
    const [dev, fs] = await freshFs();
    fs.createSubvolume('/v');
    const data = rnd(8 * B, 11);
    fs.writeFile('/v/a', data);
    fs.writeFile('/v/b', data);
    fs.snapshot('/v', '/s');
    const snapB = fs.fileExtents('/s/b');
    expect(fs.dedupeRange('/v/a', 0, '/v/b', 0, 8 * B).status).toBe('same');
    expect(fs.fileExtents('/s/b')).toEqual(snapB);
    expect(fs.fileExtents('/v/b')[0]!.diskBytenr).toBe(fs.fileExtents('/v/a')[0]!.diskBytenr);
    expectSameBytes(fs.readFile('/s/b'), data);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    dev.close();
  });
});

describe('collapseRange and insertRange', () => {
  it('collapse removes the range and moves the rest down; insert leaves a hole and moves the rest up', async () => {
    const [dev, fs] = await freshFs();
    const data = rnd(10 * B + 123, 12);
    fs.writeFile('/f', data);
    fs.collapseRange('/f', 2 * B, 3 * B);
    const collapsed = concat(data.subarray(0, 2 * B), data.subarray(5 * B));
    expectSameBytes(fs.readFile('/f'), collapsed, 'after collapse');
    expect(fs.stat('/f').size).toBe(7 * B + 123);
    fs.insertRange('/f', B, 2 * B);
    const inserted = concat(collapsed.subarray(0, B), new Uint8Array(2 * B), collapsed.subarray(B));
    expectSameBytes(fs.readFile('/f'), inserted, 'after insert');
    expect(fs.fileExtents('/f').some((e) => e.fileOffset < 3 * B && e.fileOffset + e.bytes > B)).toBe(false); // a hole, no extent
    expect(fs.fsck()).toEqual([]);
    fs.commit();
    expect(fs.scrub().errors).toEqual([]);
    fs.unmount();
    const again = FileSystem.mount(dev);
    expectSameBytes(again.readFile('/f'), inserted, 'after a remount');
    expect(again.fsck()).toEqual([]);
    again.unmount();
    dev.close();
  });

  it('moves preallocated and nodatacow extents; a clone and a snapshot sharing the extents see nothing change', async () => {
    const [dev, fs] = await freshFs();
    fs.createSubvolume('/v');
    fs.create('/v/n');
    fs.setNoDataCow('/v/n');
    const data = rnd(12 * B, 13);
    fs.writeFile('/v/n', data);
    fs.fallocate('/v/n', 12 * B, 4 * B);
    fs.writeFile('/v/c', data);
    fs.cloneFile('/v/c', '/v/clone');
    fs.snapshot('/v', '/s');
    const cloneExtents = fs.fileExtents('/v/clone');
    const snapExtents = fs.fileExtents('/s/c');
    fs.collapseRange('/v/c', B, 4 * B);
    fs.insertRange('/v/c', 0, B);
    fs.collapseRange('/v/n', 0, 2 * B);
    fs.insertRange('/v/n', 8 * B, 3 * B);
    const c = concat(new Uint8Array(B), data.subarray(0, B), data.subarray(5 * B));
    expectSameBytes(fs.readFile('/v/c'), c, '/v/c');
    const n0 = concat(data.subarray(2 * B), new Uint8Array(4 * B));
    const n = concat(n0.subarray(0, 8 * B), new Uint8Array(3 * B), n0.subarray(8 * B));
    expectSameBytes(fs.readFile('/v/n'), n, '/v/n');
    expect(fs.fileExtents('/v/n').filter((e) => e.prealloc).map((e) => [e.fileOffset, e.bytes])).toEqual([[13 * B, 4 * B]]);
    expect(fs.fileExtents('/v/clone')).toEqual(cloneExtents);
    expect(fs.fileExtents('/s/c')).toEqual(snapExtents);
    expectSameBytes(fs.readFile('/v/clone'), data);
    expectSameBytes(fs.readFile('/s/c'), data);
    expectSameBytes(fs.readFile('/s/n'), concat(data, new Uint8Array(4 * B)));
    // nodatacow writes after the move COW until the commit (the committed tree still maps
    // the extents at their old offsets), then go in place again.
    const before = fs.fileExtents('/v/n')[0]!.diskBytenr;
    fs.writeFile('/v/n', n); // rewrite in place: same bytes
    expect(fs.fileExtents('/v/n')[0]!.diskBytenr).not.toBe(before);
    expect(fs.fsck()).toEqual([]);
    fs.commit();
    expect(fs.scrub().errors).toEqual([]);
    fs.unmount();
    dev.close();
  });
});

// --- the model ---------------------------------------------------------------------------

/** The file as a plain byte array: what every operation must leave. */
class ByteModel {
  bytes = new Uint8Array(0);
  write(at: number, data: Uint8Array): void {
    if (at + data.length > this.bytes.length) this.resize(at + data.length);
    this.bytes.set(data, at);
  }
  resize(size: number): void {
    const out = new Uint8Array(size);
    out.set(this.bytes.subarray(0, Math.min(size, this.bytes.length)));
    this.bytes = out;
  }
  punch(at: number, length: number): void {
    this.bytes.fill(0, at, Math.min(at + length, this.bytes.length));
  }
  collapse(at: number, length: number): void {
    this.bytes = concat(this.bytes.subarray(0, at), this.bytes.subarray(at + length));
  }
  insert(at: number, length: number): void {
    this.bytes = concat(this.bytes.subarray(0, at), new Uint8Array(length), this.bytes.subarray(at));
  }
}

describe('collapse and insert against a byte-array model', () => {
  it('200 seeded sequences mixing writes, punches, clones, dedupes, truncates, collapses and inserts: every read and fsck agree', async () => {
    const [dev, fs] = await freshFs(64 * MiB);
    let collapses = 0, inserts = 0, refused = 0, dedupes = 0;
    for (let seq = 0; seq < 200; seq++) {
      const rng = Rng.xorshift32(seq * 7919 + 1);
      const path = `/f${seq}`;
      const other = `/g${seq}`;
      if (seq % 3 === 1) { fs.create(path); fs.setNoDataCow(path); fs.create(other); fs.setNoDataCow(other); }
      const m = new ByteModel();
      const o = new ByteModel();
      const first = rnd(B * (4 + rng.below(12)) + rng.below(B), seq);
      fs.writeFile(path, first);
      m.write(0, first);
      fs.writeFile(other, first);
      o.write(0, first);
      for (let step = 0; step < 10; step++) {
        const size = m.bytes.length;
        const blocks = Math.max(1, Math.floor(size / B));
        const kind = rng.below(8);
        const at = rng.below(blocks) * B;
        const len = (1 + rng.below(4)) * B;
        const what = `seq ${seq} step ${step}: kind ${kind} at ${at} len ${len} size ${size}`;
        if (kind === 0) {
          const data = rnd(1 + rng.below(3 * B), seq * 100 + step);
          const offset = rng.below(size + B);
          const fd = fs.open(path);
          fs.pwrite(fd, data, offset);
          fs.close(fd);
          m.write(offset, data);
        } else if (kind === 1) {
          const offset = at + rng.below(100);
          fs.punchHole(path, offset, len);
          m.punch(offset, len);
        } else if (kind === 2) {
          // Reflink a piece of the other file in: later moves must not disturb it.
          const olen = Math.min(len, Math.floor(o.bytes.length / B) * B);
          if (olen > 0) {
            fs.cloneRange(other, 0, path, at, olen);
            m.write(at, o.bytes.subarray(0, olen));
          }
        } else if (kind === 3) {
          const newSize = rng.below(size + 2 * B);
          fs.truncate(path, newSize);
          m.resize(newSize);
        } else if (kind === 4 && rng.below(2) === 0) {
          // Dedupe a piece of the other file in: shares only where the bytes agree, and
          // changes no byte either way.
          const olen = Math.min(len, Math.floor(Math.min(o.bytes.length, size - at) / B) * B);
          const r = olen > 0 ? fs.dedupeRange(other, 0, path, at, olen) : null;
          if (r) expect(r.status === 'same', what).toBe(Buffer.from(o.bytes.subarray(0, olen)).equals(m.bytes.subarray(at, at + olen)));
          if (r?.status === 'same') dedupes++;
        } else if (kind <= 5) {
          const ok = at + len < size;
          expect(errnoOf(() => fs.collapseRange(path, at, len)), what).toBe(ok ? 'ok' : 'EINVAL');
          if (ok) { m.collapse(at, len); collapses++; } else refused++;
        } else {
          const ok = at < size;
          expect(errnoOf(() => fs.insertRange(path, at, len)), what).toBe(ok ? 'ok' : 'EINVAL');
          if (ok) { m.insert(at, len); inserts++; } else refused++;
        }
        expectSameBytes(fs.readFile(path), m.bytes, what);
        expectSameBytes(fs.readFile(other), o.bytes, `${what}: the other file`);
      }
      expect(fs.fsck(), `seq ${seq}`).toEqual([]);
      fs.unlink(path);
      fs.unlink(other);
    }
    // RANGE_OPS_COUNTS=1 prints the counts (the figures of docs/reliability.md).
    if (process.env.RANGE_OPS_COUNTS) console.log(`model: ${collapses} collapses, ${inserts} inserts, ${refused} refused (EINVAL), ${dedupes} dedupes shared`);
    expect(collapses).toBeGreaterThan(200);
    expect(inserts).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(0);
    expect(dedupes).toBeGreaterThan(5);
    expect(fs.scrub().errors).toEqual([]);
    fs.unmount();
    dev.close();
  });
});
