import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice, WriterPool, storeTag, type DaxPolicy, type WorkloadResult } from '../src/index.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);
const PAGE = 4096;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  /** Reads that failed their data checksum (a store reached a block after its checksum). */
  checksumFailures: number;
  lostOrMisplaced: number;
  changedSnapshots: number;
  changedClones: number;
  storesWhileFrozen: number;
  fsck: string[];
  faults: number;
  events: Record<string, number>;
  /** Store-log entries written back to make room (device counter). */
  evictions: number;
}

/**
 * Two writer threads store tagged records (64 bytes, or whole 4 KiB pages: each store then
 * logs 64 whole lines, most of them pending already, and the full log evicts them in
 * stretches) into one mapping of a datacow file while this thread commits, snapshots,
 * reflinks and freezes. Then every record must be where it belongs, and nothing taken or
 * frozen may have changed.
 */
async function run(policy: Partial<DaxPolicy>, storesPerWriter: number, storeBytes = 64): Promise<Outcome> {
  const dev = await PmemDevice.create({ sizeBytes: 64 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev, { dax: policy });
  const fileBytes = 16 * PAGE;
  fs.writeFile('/f', new Uint8Array(fileBytes));
  fs.commit();
  const mapping = fs.mmap('/f', { length: fileBytes });
  const pool = await WriterPool.start(fs, 2, { entryUrl: WORKER_ENTRY });
  const writers = 2;
  let done = false;
  const work = pool.run([0, 1].map((writerIndex) => ({
    mapping: mapping.handle(), kind: writerIndex === 0 ? 'hot' as const : 'random' as const,
    stores: storesPerWriter, storeBytes, writers, writerIndex, seed: 11, hotPages: 4,
  }))).finally(() => { done = true; });

  let checksumFailures = 0;
  const read = (path: string): Uint8Array => {
    try {
      return fs.readFile(path);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EIO') throw e;
      checksumFailures++;
      return new Uint8Array(0);
    }
  };
  const snapshots: Array<[string, Uint8Array]> = [];
  const clones: Array<[string, Uint8Array]> = [];
  let storesWhileFrozen = 0;
  const events: Record<string, number> = { commit: 0, snapshot: 0, reflink: 0, freeze: 0 };
  for (let i = 0; !done; i++) {
    await sleep(3);
    switch (i % 4) {
      case 0: fs.commit(); events.commit!++; break;
      case 1: fs.snapshot('/', `/snap${i}`); snapshots.push([`/snap${i}/f`, read(`/snap${i}/f`)]); events.snapshot!++; break;
      case 2: fs.cloneFile('/f', `/clone${i}`); clones.push([`/clone${i}`, read(`/clone${i}`)]); events.reflink!++; break;
      case 3: {
        fs.freeze();
        const before = dev.counters().stores;
        await sleep(5); // writers keep running: their stores must wait
        storesWhileFrozen += dev.counters().stores - before;
        fs.thaw();
        events.freeze!++;
        break;
      }
    }
  }
  const results: WorkloadResult[] = await work;
  await pool.stop();
  // Read the records through the mapping: DAX loads do not verify checksums, so a block
  // whose checksum went stale is still counted record by record.
  const content = new DataView(mapping.load(0, fileBytes).buffer);
  read('/f');
  mapping.unmap();

  // Every record where it belongs: slot s holds the tag of its owner's last store to it.
  let lostOrMisplaced = 0;
  for (let slot = 0; slot < fileBytes / storeBytes; slot++) {
    const owner = slot % writers;
    const seq = results[owner]!.lastSeq[Math.floor(slot / writers)]!;
    const expected = seq === 0 ? 0n : storeTag(owner, seq);
    for (let w = 0; w < storeBytes / 8; w++) {
      if (content.getBigUint64(slot * storeBytes + w * 8, true) !== expected) { lostOrMisplaced++; break; }
    }
  }
  // A snapshot or clone unreadable when taken or at the end counts as changed.
  const changed = (list: Array<[string, Uint8Array]>): number =>
    list.filter(([path, bytes]) => { const now = read(path); return bytes.length === 0 || now.length === 0 || Buffer.compare(Buffer.from(now), Buffer.from(bytes)) !== 0; }).length;
  return {
    checksumFailures, lostOrMisplaced, changedSnapshots: changed(snapshots), changedClones: changed(clones), storesWhileFrozen,
    fsck: fs.fsck(), faults: results.reduce((n, r) => n + r.faults, 0), events,
    evictions: dev.counters().evictions,
    faultsHere: results.reduce((n, r) => n + r.faultsServedHere, 0), faultsByOwner: results.reduce((n, r) => n + r.faultsServedByOwner, 0),
  };
}

/** What the checks count against the rules, by kind (all 0 and no fsck error when they hold). */
function violations(o: Outcome): Record<string, number | string[]> {
  const { checksumFailures, lostOrMisplaced, changedSnapshots, changedClones, storesWhileFrozen, fsck } = o;
  return { checksumFailures, lostOrMisplaced, changedSnapshots, changedClones, storesWhileFrozen, fsck };
}
const NONE = { checksumFailures: 0, lostOrMisplaced: 0, changedSnapshots: 0, changedClones: 0, storesWhileFrozen: 0, fsck: [] };

describe('concurrent writer threads through DAX mappings', () => {
  it('with every mechanism on: every store lands where it belongs, snapshots and clones never change, nothing lands while frozen', async () => {
    const o = await run({}, 300000); // batched writers store 30,000 in ~15 ms: enough stores to outlast several rounds of events
    expect(o.events.commit).toBeGreaterThan(1);
    expect(o.events.snapshot).toBeGreaterThan(0);
    expect(o.events.freeze).toBeGreaterThan(0);
    expect(o.events.reflink).toBeGreaterThan(0);
    expect(o.faults).toBeGreaterThan(0); // commits write-protected pages: writers COWed again
    // The writers served their COW faults on their own threads, concurrently with this
    // thread's commits, snapshots, reflinks and freezes; only stores during a freeze (which
    // wait for thaw on this thread) went to it.
    expect(o.faultsHere).toBeGreaterThan(0);
    expect(o.faultsHere + o.faultsByOwner).toBe(o.faults);
    expect(violations(o)).toEqual(NONE);
  });

  it('with every mechanism on, writers storing whole pages: the same holds', async () => {
    const o = await run({}, 20000, PAGE);
    expect(o.events.commit).toBeGreaterThan(1);
    expect(o.events.snapshot! + o.events.reflink! + o.events.freeze!).toBeGreaterThan(0);
    expect(o.faults).toBeGreaterThan(0);
    expect(violations(o)).toEqual(NONE);
    // The writers' rings filled and evicted (their stores outnumber a ring's lines 20 to 1).
    expect(o.evictions).toBeGreaterThan(1_000_000);
  });

  it('with tlbShootdown off: writers keep using stale translations and the same checks catch it', async () => {
    const o = await run({ tlbShootdown: false }, 300000);
    expect(o.events.snapshot! + o.events.freeze!).toBeGreaterThan(0);
    const counted = Object.values(violations(o)).filter((n): n is number => typeof n === 'number');
    expect(counted.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
