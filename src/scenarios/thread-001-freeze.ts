// Thread 001 (lkml, 2015): freezing does not stop DAX mmap stores, because nothing
// write-protects the pages that are mapped writable. A freeze must write-protect every
// mapping; a store then faults and waits for thaw (or, on a thread that cannot wait, fails).
import { WriterPool } from '../workers/pool.js';
import {
  row, fill, sleep, mounted, nocowFile, errnoOf, plural, PAGE_BYTES,
  type Outcome, type ScenarioOptions, type ScenarioRow,
} from './common.js';

const FREEZES = 3;
const FROZEN_MS = 10;
const MAX_FROZEN_MS = 100;

/** Two writer threads store through a mapping while this thread freezes, waits, thaws. */
async function writersRun(on: boolean, options: ScenarioOptions): Promise<Outcome> {
  const { dev, fs } = await mounted({ freezeWriteProtect: on });
  const pages = 16;
  nocowFile(fs, '/f', pages, 0);
  const mapping = fs.mmap('/f', { length: pages * PAGE_BYTES });
  const entry = options.workerEntryUrl ? { entryUrl: options.workerEntryUrl } : {};
  const pool = await WriterPool.start(fs, 2, entry);
  let done = false;
  const work = pool.run([0, 1].map((writerIndex) => ({
    // Writers store in batches (one call per 256 stores): enough to outlast several freezes.
    mapping: mapping.handle(), kind: 'random' as const, stores: 400000, storeBytes: 64,
    writers: 2, writerIndex, seed: 7,
  }))).finally(() => { done = true; });

  // Freeze only once the writers are storing: a freeze before they start proves nothing.
  const startStores = dev.counters().stores;
  while (!done && dev.counters().stores === startStores) await sleep(1);
  let whileFrozen = 0;
  let freezesWithWritersRunning = 0;
  for (let i = 0; i < FREEZES && !done; i++) {
    fs.freeze();
    const before = dev.counters().stores;
    await sleep(FROZEN_MS); // the writers keep going: their stores must wait
    // On a loaded machine the writers may not get a core within FROZEN_MS: stay frozen
    // until a store lands or MAX_FROZEN_MS pass (with the switch on, none may land).
    for (let waited = FROZEN_MS; waited < MAX_FROZEN_MS; waited++) {
      if (done || dev.counters().stores !== before) break;
      await sleep(1);
    }
    whileFrozen += dev.counters().stores - before;
    if (!done) freezesWithWritersRunning++;
    fs.thaw();
    await sleep(2);
  }
  let stores = 0;
  let faults = 0;
  try {
    for (const r of await work) { stores += r.stores; faults += r.faults; }
  } finally {
    await pool.stop();
  }
  mapping.unmap();
  const text = `${plural(whileFrozen, 'store')} landed during `
    + `${plural(freezesWithWritersRunning, 'freeze')} (${FROZEN_MS}-${MAX_FROZEN_MS} ms each); `
    + `${stores} stores in all, ${plural(faults, 'fault')}`;
  // A run in which the writers had finished before any freeze could not show the failure.
  if (freezesWithWritersRunning === 0) {
    return { failed: whileFrozen > 0, text: `${text}; writers finished before a freeze` };
  }
  return { failed: whileFrozen > 0, text };
}

/**
 * The trap (the demo's row and test/dax-switches.test.ts run it): this thread stores
 * through a mapping of a frozen file system, then thaws it. It returns the file system and
 * the mapping (thawed), the store's errno, the device stores while frozen, and byte 0 as
 * read while frozen (2 before the freeze, 3 if the store landed).
 */
export async function frozenStoreTrap(on: boolean) {
  const { dev, fs } = await mounted({ freezeWriteProtect: on });
  nocowFile(fs, '/f', 1, 1);
  const m = fs.mmap('/f', { length: PAGE_BYTES });
  m.store(0, fill(8, 2)); // mapped writable
  fs.freeze();
  const before = dev.counters().stores;
  const errno = errnoOf(() => m.store(0, fill(8, 3)));
  const landedStores = dev.counters().stores - before;
  const frozenByte = fs.readFile('/f')[0]!;
  fs.thaw();
  return { fs, mapping: m, errno, landedStores, frozenByte };
}

async function mainThreadRun(on: boolean): Promise<Outcome> {
  const { errno, landedStores: landed, frozenByte } = await frozenStoreTrap(on);
  const text = `store ${errno ?? 'accepted'}; ${plural(landed, 'device store')} while frozen; `
    + `byte 0 reads ${frozenByte} (2 before the freeze)`;
  return { failed: landed > 0 || frozenByte !== 2, text };
}

export async function runThread001(options: ScenarioOptions = {}): Promise<ScenarioRow[]> {
  return [
    row('001', 'freezeWriteProtect',
      '2 writer threads storing through a mapping: does anything reach the device while frozen?',
      await writersRun(true, options), await writersRun(false, options)),
    row('001', 'freezeWriteProtect',
      'a main-thread store through a mapping while frozen: does it land?',
      await mainThreadRun(true), await mainThreadRun(false)),
  ];
}
