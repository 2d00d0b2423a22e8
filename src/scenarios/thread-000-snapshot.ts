// Thread 000 (dm-devel, 2018): a snapshot cannot see DAX stores. Once a block becomes
// shared, every mapping of it must lose write access and the next store must fault and
// COW; and a changed page-table entry only counts once no thread still uses the old one.
import { WriterPool } from '../workers/pool.js';
import { storeTag, type WorkloadResult } from '../workers/writer.js';
import {
  row, fill, sleep, mounted, nocowFile, bytesDiffering, countByte, readOrEio, plural,
  PAGE_BYTES, type Outcome, type ScenarioOptions, type ScenarioRow,
} from './common.js';

const MAX_SNAPSHOTS = 48;

/** Pages of the snapshot trap's file; each gets 64 bytes stored before and after the snapshot. */
export const SNAPSHOT_TRAP_PAGES = 4;

/**
 * The trap (the demo's row and test/dax-switches.test.ts run it): a nodatacow file stored
 * to through a mapping, snapshotted, then stored to again (0x33 at 64..127 of each page).
 * It returns the snapshot as taken and afterwards, the file, and the COW faults since.
 */
export async function snapshotTrap(on: boolean) {
  const { fs } = await mounted({ snapshotWriteProtect: on });
  const pages = SNAPSHOT_TRAP_PAGES;
  nocowFile(fs, '/f', pages, 0x11);
  const m = fs.mmap('/f', { length: pages * PAGE_BYTES });
  // nodatacow and unshared: every page is now mapped writable, in place.
  for (let p = 0; p < pages; p++) m.store(p * PAGE_BYTES, fill(64, 0x22));
  fs.snapshot('/', '/snap');
  const atSnapshot = fs.readFile('/snap/f');
  const cowBefore = fs.dax.stats.cowFaults;
  for (let p = 0; p < pages; p++) m.store(p * PAGE_BYTES + 64, fill(64, 0x33));
  const snapshotLater = fs.readFile('/snap/f');
  const file = fs.readFile('/f');
  return { atSnapshot, snapshotLater, file, cowFaults: fs.dax.stats.cowFaults - cowBefore };
}

async function snapshotRun(on: boolean): Promise<Outcome> {
  const seen = await snapshotTrap(on);
  const changed = bytesDiffering(seen.atSnapshot, seen.snapshotLater);
  const landed = countByte(seen.file, 0x33);
  const text = `${changed}/${seen.atSnapshot.length} snapshot bytes changed; `
    + `${landed} bytes stored to /f after it, ${plural(seen.cowFaults, 'COW fault')}`;
  return { failed: changed > 0, text };
}

/**
 * Two writer threads store tagged 64-byte records into a mapping of a datacow file while
 * this thread alternately commits (write-protects dirtied pages) and snapshots
 * (write-protects everything). Then each record must be where it belongs and no snapshot
 * may have changed (the checks of test/dax-workers.test.ts).
 */
async function shootdownRun(on: boolean, options: ScenarioOptions): Promise<Outcome> {
  // Every snapshot pins a copy of the file's pages: room for MAX_SNAPSHOTS of them.
  const { fs } = await mounted({ tlbShootdown: on }, 64 << 20);
  const fileBytes = 16 * PAGE_BYTES;
  const storeBytes = 64;
  const writers = 2;
  fs.writeFile('/f', new Uint8Array(fileBytes));
  fs.commit();
  const mapping = fs.mmap('/f', { length: fileBytes });
  const entry = options.workerEntryUrl ? { entryUrl: options.workerEntryUrl } : {};
  const pool = await WriterPool.start(fs, writers, entry);
  let done = false;
  const work = pool.run([0, 1].map((writerIndex) => ({
    mapping: mapping.handle(), kind: writerIndex === 0 ? 'hot' as const : 'random' as const,
    // Writers store in batches (one call per 256 stores): enough stores to outlast several
    // commits and snapshots of this thread.
    stores: 150000, storeBytes, writers, writerIndex, seed: 11, hotPages: 4,
  }))).finally(() => { done = true; });

  // A snapshot is read as it is taken and again at the end: it must read the same, and
  // without a checksum failure, both times.
  const snapshots: Array<{ path: string; taken: { bytes: Uint8Array; eio: boolean } }> = [];
  let commits = 0;
  for (let i = 0; !done; i++) {
    await sleep(1);
    if (i % 2 === 0 || snapshots.length >= MAX_SNAPSHOTS) { fs.commit(); commits++; continue; }
    fs.snapshot('/', `/snap${i}`);
    snapshots.push({ path: `/snap${i}/f`, taken: readOrEio(fs, `/snap${i}/f`) });
  }
  let results: WorkloadResult[];
  try {
    results = await work;
  } finally {
    await pool.stop();
  }
  mapping.unmap();

  // The file is read through a fresh mapping, which does not verify checksums: a record
  // is judged by where it landed, a stale checksum is counted apart (by readFile).
  const liveEio = readOrEio(fs, '/f').eio;
  const view = fs.mmap('/f', { length: fileBytes, prot: 'r' });
  const live = view.load(0, fileBytes);
  view.unmap();
  const slots = fileBytes / storeBytes;
  const wrong = misplacedRecords(live, results, storeBytes, writers);
  let changedSnapshots = 0;
  let eioSnapshots = 0;
  for (const { path, taken } of snapshots) {
    const later = readOrEio(fs, path);
    if (taken.eio || later.eio) eioSnapshots++;
    else if (bytesDiffering(taken.bytes, later.bytes) > 0) changedSnapshots++;
  }
  const stores = results.reduce((n, r) => n + r.stores, 0);
  const faults = results.reduce((n, r) => n + r.faults, 0);
  const failed = wrong + changedSnapshots + eioSnapshots > 0 || liveEio;
  const text = `${wrong}/${slots} records lost or misplaced; `
    + `${changedSnapshots}/${snapshots.length} snapshots changed, ${eioSnapshots} read EIO; `
    + `/f reads ${liveEio ? 'EIO' : 'ok'} `
    + `(${stores} stores, ${plural(faults, 'fault')}, ${plural(commits, 'commit')})`;
  return { failed, text };
}

/**
 * Records not where they belong: slot s holds the tag of its owner's last store to it, in
 * every one of its words (slots are owned in turn, writer 0 first).
 */
function misplacedRecords(
  live: Uint8Array, results: WorkloadResult[], storeBytes: number, writers: number,
): number {
  const content = new DataView(live.buffer, live.byteOffset, live.byteLength);
  const slots = live.length / storeBytes;
  let wrong = 0;
  for (let slot = 0; slot < slots; slot++) {
    const owner = slot % writers;
    const seq = results[owner]!.lastSeq[Math.floor(slot / writers)]!;
    const expected = seq === 0 ? 0n : storeTag(owner, seq);
    for (let w = 0; w < storeBytes / 8; w++) {
      if (content.getBigUint64(slot * storeBytes + w * 8, true) !== expected) { wrong++; break; }
    }
  }
  return wrong;
}

export async function runThread000(options: ScenarioOptions = {}): Promise<ScenarioRow[]> {
  return [
    row('000', 'snapshotWriteProtect',
      'snapshot of a nodatacow file mapped for writing: does it change after it returns?',
      await snapshotRun(true), await snapshotRun(false)),
    row('000', 'tlbShootdown',
      '2 writer threads storing during commits and snapshots: '
        + 'does every store land where it belongs?',
      await shootdownRun(true, options), await shootdownRun(false, options)),
  ];
}
