// pwrite's path in the core (assembly/fs/file.ts) against TypeScript's (FileData.write):
// the same random operations run in lockstep on two file systems, one mounted with
// coreWrites (the default) and one without. The core's path claims to make the same
// decisions with the same results, so both must answer every operation alike (value or
// errno), hold the same bytes, map every file to the same extents at the same device
// addresses, and pass fsck. Both are also held to a byte model of every file (plain
// arrays: what each write, clone, truncate and snapshot means), which judges neither.
import { describe, expect, it } from 'vitest';
import { PmemDevice, FsError, Rng } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { expectSameBytes } from './helpers/device.js';

const PAGE = 4096;
const FILES = ['/cow0', '/cow1', '/nocow0', '/nocow1'];

interface Side { dev: PmemDevice; fs: FileSystem; fds: Map<string, number> }

async function side(coreWrites: boolean, target: 'release' | 'debug'): Promise<Side> {
  const dev = await PmemDevice.create({ sizeBytes: 16 << 20, target });
  FileSystem.mkfs(dev, { nodeSize: 4096 });
  const fs = FileSystem.mount(dev, { coreWrites });
  const fds = new Map<string, number>();
  for (const path of FILES) {
    fs.create(path);
    if (path.includes('nocow')) fs.setNoDataCow(path);
    fds.set(path, fs.open(path));
  }
  return { dev, fs, fds };
}

/** The outcome of one operation: its value, or its errno. */
function outcome(fn: () => unknown): string {
  try {
    const v = fn();
    return `ok ${v instanceof Uint8Array ? v.length : String(v)}`;
  } catch (e) {
    if (e instanceof FsError) return `error ${e.code}`;
    throw e;
  }
}

function bytes(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const v = rng.u32();
    out[i] = v; out[i + 1] = v >>> 8; out[i + 2] = v >>> 16; out[i + 3] = v >>> 24;
  }
  return out;
}

/** Model: a file's bytes after writing `data` at `offset`. */
function modelWrite(file: Uint8Array, data: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(Math.max(file.length, offset + data.length));
  out.set(file);
  out.set(data, offset);
  return out;
}

function modelResize(file: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(file.subarray(0, Math.min(size, file.length)));
  return out;
}

/** One random operation on both sides and on the model; returns its description. */
function step(rng: Rng, a: Side, b: Side, model: Map<string, Uint8Array>, snaps: string[]): string {
  const path = FILES[rng.below(FILES.length)]!;
  const file = model.get(path)!;
  const pages = Math.max(1, Math.ceil(file.length / PAGE));
  const kind = rng.below(100);
  let op: string, run: (s: Side) => unknown, apply: () => void;
  if (kind < 45) {
    // One aligned page, mostly inside the file (the core's shape), sometimes just past it.
    const at = rng.below(pages + 1) * PAGE;
    const data = bytes(rng, PAGE);
    op = `pwrite ${path} ${at} 4096`;
    run = (s) => s.fs.pwrite(s.fds.get(path)!, data, at);
    apply = () => model.set(path, modelWrite(file, data, at));
  } else if (kind < 60) {
    const at = rng.below(pages + 1) * PAGE;
    const data = bytes(rng, PAGE * (2 + rng.below(3)));
    op = `pwrite ${path} ${at} ${data.length}`;
    run = (s) => s.fs.pwrite(s.fds.get(path)!, data, at);
    apply = () => model.set(path, modelWrite(file, data, at));
  } else if (kind < 68) {
    const at = rng.below(pages * PAGE + 100);
    const data = bytes(rng, 1 + rng.below(6000));
    op = `pwrite ${path} ${at} ${data.length}`;
    run = (s) => s.fs.pwrite(s.fds.get(path)!, data, at);
    apply = () => model.set(path, modelWrite(file, data, at));
  } else if (kind < 78) {
    op = 'commit';
    run = (s) => s.fs.commit();
    apply = () => {};
  } else if (kind < 86) {
    const src = FILES[rng.below(FILES.length)]!;
    const srcFile = model.get(src)!;
    const srcPages = Math.floor(srcFile.length / PAGE);
    const count = 1 + rng.below(3);
    const from = rng.below(Math.max(1, srcPages - count + 1)) * PAGE;
    const to = rng.below(pages + 1) * PAGE;
    op = `clone ${src} ${from} ${path} ${to} ${count * PAGE}`;
    run = (s) => s.fs.cloneRange(src, from, path, to, count * PAGE);
    apply = () => model.set(path, modelWrite(file, srcFile.slice(from, from + count * PAGE), to));
  } else if (kind < 92) {
    const size = rng.below(pages + 2) * PAGE - (rng.below(2) ? 0 : rng.below(PAGE));
    const clamped = Math.max(0, size);
    op = `truncate ${path} ${clamped}`;
    run = (s) => s.fs.truncate(path, clamped);
    apply = () => model.set(path, modelResize(file, clamped));
  } else if (kind < 96) {
    const at = rng.below(pages + 1) * PAGE;
    const length = PAGE * (1 + rng.below(3));
    op = `fallocate ${path} ${at} ${length}`;
    run = (s) => s.fs.fallocate(path, at, length);
    apply = () => { if (at + length > file.length) model.set(path, modelResize(file, at + length)); };
  } else {
    const name = `/snap${snaps.length}`;
    op = `snapshot / ${name}`;
    run = (s) => s.fs.snapshot('/', name);
    apply = () => {
      snaps.push(name);
      for (const f of FILES) model.set(`${name}${f}`, model.get(f)!.slice());
    };
  }
  const ra = outcome(() => run(a));
  const rb = outcome(() => run(b));
  expect(ra, op).toBe(rb);
  if (ra.startsWith('ok')) apply();
  return `${op}: ${ra}`;
}

function expectSameFiles(a: Side, b: Side, model: Map<string, Uint8Array>, when: string): void {
  for (const [path, want] of model) {
    const got = a.fs.readFile(path);
    expectSameBytes(b.fs.readFile(path), want, `${when}: ${path}, TypeScript's path`);
    expectSameBytes(got, want, `${when}: ${path}, the core's path`);
    expect(a.fs.fileExtents(path), `${when}: ${path}: extents`).toEqual(b.fs.fileExtents(path));
  }
}

async function lockstep(seed: number, ops: number, target: 'release' | 'debug'): Promise<number> {
  const a = await side(true, target);
  const b = await side(false, target);
  const model = new Map<string, Uint8Array>(FILES.map((f) => [f, new Uint8Array(0)]));
  const snaps: string[] = [];
  const rng = new Rng(seed);
  const log: string[] = [];
  for (let i = 0; i < ops; i++) {
    log.push(step(rng, a, b, model, snaps));
    if (i % 50 === 49) expectSameFiles(a, b, model, `seed ${seed} op ${i} (${log.slice(-3).join('; ')})`);
  }
  expectSameFiles(a, b, model, `seed ${seed} end`);
  a.fs.commit();
  b.fs.commit();
  expect(a.fs.fsck(), `seed ${seed}: fsck, the core's path`).toEqual([]);
  expect(b.fs.fsck(), `seed ${seed}: fsck, TypeScript's path`).toEqual([]);
  // Remounted: what the core wrote is durable and reads back verified.
  a.fs.unmount();
  const again = FileSystem.mount(a.dev);
  for (const [path, want] of model) expectSameBytes(again.readFile(path), want, `seed ${seed}: ${path} after remount`);
  expect(b.fs.writesInCore, "TypeScript's side took the core's path").toBe(0);
  return a.fs.writesInCore;
}

describe("pwrite's path in the core", () => {
  it('answers, writes and lays out files as TypeScript\'s path does, over 24 seeds', async () => {
    let inCore = 0;
    for (let seed = 1; seed <= 24; seed++) inCore += await lockstep(seed, 400, 'release');
    console.log(`writes served in the core: ${inCore} of about ${24 * 400 * 0.6}`);
    // The core served a real share of the writes (one page inside the file is the common case).
    expect(inCore).toBeGreaterThan(24 * 400 * 0.1);
  }, 120_000);

  it('holds in the checked debug build (its assertions on)', async () => {
    let inCore = 0;
    for (let seed = 101; seed <= 103; seed++) inCore += await lockstep(seed, 200, 'debug');
    expect(inCore).toBeGreaterThan(0);
  }, 120_000);

  it('serves in place, one page or a hole to new blocks, growth, and leaves the rest to TypeScript', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.create('/c');
    const n = fs.open('/n'), c = fs.open('/c');
    fs.pwrite(n, new Uint8Array(4 * PAGE).fill(1), 0);
    fs.pwrite(c, new Uint8Array(4 * PAGE).fill(1), 0);
    fs.commit();
    let served = fs.writesInCore;
    const inCore = (yes: boolean, what: string): void => {
      expect(fs.writesInCore - served, what).toBe(yes ? 1 : 0);
      served = fs.writesInCore;
    };
    // In place (the inode, from the last transaction, gets this one's transid).
    const extentsN = fs.fileExtents('/n');
    fs.pwrite(n, new Uint8Array(PAGE).fill(2), PAGE);
    inCore(true, 'one page in place');
    fs.pwrite(n, new Uint8Array(2 * PAGE).fill(3), 2 * PAGE);
    inCore(true, 'two pages in place');
    expect(fs.fileExtents('/n')).toEqual(extentsN);
    // One page to a new block.
    fs.pwrite(c, new Uint8Array(PAGE).fill(4), 3 * PAGE);
    inCore(true, 'one datacow page');
    expect(fs.fileExtents('/c').find((e) => e.fileOffset === 3 * PAGE)!.bytes).toBe(PAGE);
    fs.pwrite(c, new Uint8Array(10).fill(5), 100);
    inCore(false, 'unaligned');
    fs.pwrite(c, new Uint8Array(PAGE).fill(6), 4 * PAGE);
    inCore(true, 'one page past the end (the old size is sector aligned)');
    fs.pwrite(c, new Uint8Array(2 * PAGE).fill(7), 0);
    inCore(false, 'two pages over mapped bytes');
    fs.pwrite(c, new Uint8Array(10).fill(8), 5 * PAGE);
    inCore(false, 'unaligned, growing');
    fs.pwrite(c, new Uint8Array(PAGE).fill(9), 6 * PAGE);
    inCore(false, 'growing from an unaligned size (its last sector is zeroed first)');
    fs.pwrite(c, new Uint8Array(3 * PAGE).fill(10), 8 * PAGE);
    inCore(true, 'three pages over a hole past the end');
    const hole = fs.fileExtents('/c').find((e) => e.fileOffset === 8 * PAGE)!;
    expect(hole.bytes).toBe(3 * PAGE);
    expect(fs.stat('/c').size).toBe(11 * PAGE);
    const want = new Uint8Array(11 * PAGE);
    want.fill(7, 0, 2 * PAGE); want.fill(1, 2 * PAGE, 3 * PAGE); want.fill(4, 3 * PAGE, 4 * PAGE);
    want.fill(6, 4 * PAGE, 5 * PAGE); want.fill(8, 5 * PAGE, 5 * PAGE + 10); want.fill(9, 6 * PAGE, 7 * PAGE);
    want.fill(10, 8 * PAGE);
    expectSameBytes(fs.readFile('/c'), want, '/c');
    const wantN = new Uint8Array(4 * PAGE).fill(1);
    wantN.fill(2, PAGE, 2 * PAGE); wantN.fill(3, 2 * PAGE);
    expectSameBytes(fs.readFile('/n'), wantN, '/n');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    expect(fs.scrub().errors).toEqual([]);
  });
});
