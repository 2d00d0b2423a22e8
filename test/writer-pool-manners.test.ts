// WriterPool manners (issue 13): a Node script that never calls stop() still ends when its
// work is done, and a bad worker entry rejects start() with an FsError instead of an
// uncaught 'error' event or a hang. Needs `npm run build` (dist/ is what the child
// processes and the worker threads load).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSystem, FsError, PmemDevice, WriterPool, type DaxMapping, type ErrnoName } from '../src/index.js';

const DIST_INDEX = new URL('../dist/index.js', import.meta.url);
const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);
const fixture = (name: string): URL => new URL(`./workers/${name}`, import.meta.url);

/** The bad entries, with the errno start() must reject with. */
const BAD_ENTRIES: Array<[string, URL, ErrnoName, RegExp]> = [
  ['a path that does not exist', fixture('no-such-entry.mjs'), 'ENOENT', /does not exist/],
  ['a module that throws at load', fixture('entry-throws.mjs'), 'EINVAL', /failed to load: this entry throws at load/],
  ['a module whose thread just ends', fixture('entry-exits.mjs'), 'EINVAL', /exited \(code 0\) before answering the handshake: not a pmcow writer entry/],
  ['a comlink worker exposing something else', fixture('entry-other-comlink.mjs'), 'EINVAL', /is not a pmcow writer entry/],
  ['a module that never answers', fixture('entry-silent.mjs'), 'EINVAL', /did not answer the handshake within 300 ms/],
];

interface Child { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Run `source` as an .mjs file in a child `node`; kill it after `killMs`. */
function runScript(dir: string, name: string, source: string, killMs: number): Promise<Child> {
  const file = join(dir, name);
  writeFileSync(file, source);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), killMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The child's preamble: a device, a file system, a mapped file. */
const SETUP = `
const { FileSystem, FsError, PmemDevice, WriterPool } = await import(${JSON.stringify(DIST_INDEX.href)});
const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
FileSystem.mkfs(dev);
const fs = FileSystem.mount(dev);
fs.writeFile('/f', new Uint8Array(16 * 4096));
fs.commit();
const mapping = fs.mmap('/f', { length: 16 * 4096 });
`;

describe('WriterPool manners', () => {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pmcow-pool-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('a script that starts a pool, awaits its work and never calls stop() exits by itself with code 0', async () => {
    const child = await runScript(dir, 'no-stop.mjs', `${SETUP}
const pool = await WriterPool.start(fs, 2, { entryUrl: new URL(${JSON.stringify(WORKER_ENTRY.href)}) });
// Two rounds, with the owning thread idle in between: unref'd idle threads must not stop
// awaited work from completing (every fault is a round trip to this thread).
let stores = 0, faults = 0;
for (let round = 0; round < 2; round++) {
  const results = await pool.run([0, 1].map((writerIndex) => ({ mapping: mapping.handle(), kind: 'random', stores: 2000,
    storeBytes: 64, writers: 2, writerIndex, seed: round + 1 })));
  for (const r of results) { stores += r.stores; faults += r.faults; }
  fs.commit(); // write-protects the pages again: the next round faults too
  await new Promise((resolve) => setTimeout(resolve, 50));
}
console.log(JSON.stringify({ stores, faults, slots: pool.threadSlots.length }));
const done = performance.now();
process.on('exit', () => console.log(JSON.stringify({ lingeredMs: performance.now() - done })));
`, 30_000);
    expect(child.signal, child.stderr).toBeNull();
    expect(child.code, child.stderr).toBe(0);
    const [work, exit] = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, number>);
    expect(work).toMatchObject({ stores: 8000, slots: 2 });
    expect(work!.faults).toBeGreaterThan(0);
    // Nothing keeps the process once its work is done. (Before the threads were unref'd it
    // lingered about 8 s, until the worker threads ended on their own once comlink had
    // released the garbage-collected pool's proxies.)
    expect(exit!.lingeredMs).toBeLessThan(2_000);
  });

  it('a script whose pool fails to start on bad entries catches FsErrors and still exits by itself with code 0', async () => {
    const entries = BAD_ENTRIES.map(([, url]) => url.href);
    const child = await runScript(dir, 'bad-entries.mjs', `${SETUP}
const codes = [];
for (const href of ${JSON.stringify(entries)}) {
  try {
    await WriterPool.start(fs, 1, { entryUrl: new URL(href), handshakeTimeoutMs: 300 });
    codes.push('started');
  } catch (e) {
    codes.push(e instanceof FsError ? e.code : 'not an FsError: ' + e);
  }
}
console.log(JSON.stringify(codes));
`, 30_000);
    expect(child.signal, child.stderr).toBeNull();
    expect(child.code, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual(BAD_ENTRIES.map(([, , code]) => code));
  });

  describe('a bad worker entry rejects start() with an FsError', () => {
    let dev: PmemDevice;
    let fs: FileSystem;
    let mapping: DaxMapping;
    beforeAll(async () => {
      dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
      FileSystem.mkfs(dev);
      fs = FileSystem.mount(dev);
      fs.writeFile('/f', new Uint8Array(4 * 4096));
      fs.commit();
      mapping = fs.mmap('/f', { length: 4 * 4096 });
    });
    afterAll(() => { mapping.unmap(); fs.unmount(); dev.close(); });

    it.each(BAD_ENTRIES)('%s', async (_name, entryUrl, code, message) => {
      const error = await WriterPool.start(fs, 1, { entryUrl, handshakeTimeoutMs: 300 }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(FsError);
      expect((error as FsError).code).toBe(code);
      expect((error as FsError).message).toMatch(message);
      expect((error as FsError).message).toContain(entryUrl.href);
    });

    it('the default entry next to the sources (vitest runs src/, not dist/) is ENOENT with a hint', async () => {
      await expect(WriterPool.start(fs, 1)).rejects.toThrow(/ENOENT: writer entry .*node-entry\.js does not exist \(run npm run build, or pass entryUrl\)/);
    });

    it('a writer thread that ends mid-run rejects that run and later ones with EIO; stop() still stops the pool', async () => {
      const pool = await WriterPool.start(fs, 1, { entryUrl: fixture('entry-dies-on-run.mjs') });
      const spec = { mapping: mapping.handle(), kind: 'sequential' as const, stores: 8, storeBytes: 64, writers: 1, writerIndex: 0, seed: 1 };
      await expect(pool.run([spec])).rejects.toThrow(/^EIO: writer thread exited \(code 3\)/);
      await expect(pool.run([spec])).rejects.toThrow(/^EIO: writer thread exited \(code 3\)/);
      await pool.stop();
      await expect(pool.run([spec])).rejects.toThrow(/^EBADF/);
    });

    it('an unknown option is EINVAL (a misspelt one would be ignored)', async () => {
      await expect(WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY, handshakeTimeout: 300 } as object)).rejects.toThrow(/^EINVAL: pool options: unknown option 'handshakeTimeout'/);
    });

    it('a bad handshakeTimeoutMs is EINVAL', async () => {
      for (const handshakeTimeoutMs of [0, -1, NaN, Infinity, '5']) {
        await expect(WriterPool.start(fs, 1, { entryUrl: WORKER_ENTRY, handshakeTimeoutMs: handshakeTimeoutMs as number })).rejects.toThrow(/^EINVAL: handshakeTimeoutMs/);
      }
    });

    it('after the failed starts a pool on the same file system starts, works and stops', async () => {
      const count = 2;
      const pool = await WriterPool.start(fs, count, { entryUrl: WORKER_ENTRY });
      try {
        const results = await pool.run(Array.from({ length: count }, (_, writerIndex) => ({
          mapping: mapping.handle(), kind: 'sequential' as const, stores: 64, storeBytes: 64, writers: count, writerIndex, seed: 3,
        })));
        expect(results.map((r) => r.stores)).toEqual(Array(count).fill(64));
      } finally {
        await pool.stop();
      }
      await expect(pool.run([])).rejects.toThrow(/^EBADF/);
    });
  });
});
