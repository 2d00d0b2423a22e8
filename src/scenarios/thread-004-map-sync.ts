// Thread 004 (linux-fsdevel, 2016): the "PMEM programming model" flushes from user space
// and never calls fsync/msync, so a write fault must make its block allocation durable
// before it returns (MAP_SYNC); where a file cannot promise that, MAP_SYNC is refused.
// And the proposed DAX-immutable flag: metadata frozen, data changed only through mmap.
import { FsError, type ErrnoName } from '../errors.js';
import { FileSystem } from '../filesystem.js';
import type { DaxMapping } from '../dax/mapping.js';
import {
  row, fill, mounted, nocowFile, errnoOf, countByte, plural, PAGE_BYTES,
  type Outcome, type ScenarioRow,
} from './common.js';

/**
 * The MAP_SYNC trap (the demo's row and test/dax-switches.test.ts run it): store + flush +
 * fence of 8 bytes of 6 into a hole (page 1) through a MAP_SYNC mapping of a nodatacow
 * file, then a crash. It returns the crashed file's bytes and its fsck.
 */
export async function mapSyncTrap(on: boolean) {
  const { dev, fs } = await mounted({ mapSyncDurableFault: on });
  fs.create('/f');
  fs.setNoDataCow('/f');
  fs.truncate('/f', 2 * PAGE_BYTES);
  fs.commit();
  const m = fs.mmap('/f', { length: 2 * PAGE_BYTES, sync: true });
  m.store(PAGE_BYTES, fill(8, 6)); // a hole: the fault allocates a block
  m.flush(PAGE_BYTES, 8);
  m.fence(); // no msync, no fsync
  const after = FileSystem.mount(dev.crash());
  return { file: after.readFile('/f'), fsck: after.fsck() };
}

async function mapSyncRun(on: boolean): Promise<Outcome> {
  const { file, fsck } = await mapSyncTrap(on);
  const kept = countByte(file.subarray(PAGE_BYTES, PAGE_BYTES + 8), 6);
  const text = `${kept}/8 flushed and fenced bytes survived the crash; `
    + `fsck ${fsck.length === 0 ? 'clean' : plural(fsck.length, 'error')}`;
  return { failed: kept !== 8 || fsck.length > 0, text };
}

/**
 * The MAP_SYNC rule (the demo's row and test/dax-switches.test.ts run it): ask for MAP_SYNC
 * on a nodatacow file (on) or a datacow one (off); where it is refused, fall back to a
 * plain mapping as an application would, and still flush and fence only (8 bytes of 6 at
 * 0), then crash. It returns the errno of the refusal (null: granted) and the crashed file.
 */
export async function mapSyncRuleTrap(nodatacow: boolean) {
  const { dev, fs } = await mounted();
  fs.create('/f');
  if (nodatacow) fs.setNoDataCow('/f');
  fs.truncate('/f', PAGE_BYTES);
  fs.commit();
  let mapping: DaxMapping;
  let refused: ErrnoName | null = null;
  try {
    mapping = fs.mmap('/f', { length: PAGE_BYTES, sync: true });
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    refused = e.code;
    mapping = fs.mmap('/f', { length: PAGE_BYTES });
  }
  mapping.store(0, fill(8, 6));
  mapping.flush(0, 8);
  mapping.fence();
  const after = FileSystem.mount(dev.crash());
  return { refused, file: after.readFile('/f') };
}

async function mapSyncRefusedRun(nodatacow: boolean): Promise<Outcome> {
  const { refused, file } = await mapSyncRuleTrap(nodatacow);
  const kept = countByte(file.subarray(0, 8), 6);
  const text = `MAP_SYNC ${refused ?? 'granted'}; ${refused ? 'through a plain mapping ' : ''}`
    + `${kept}/8 flushed and fenced bytes survived a crash`;
  return { failed: kept !== 8, text };
}

/** A fully allocated nodatacow file, mapped, with the DAX-immutable flag set (on) or not (off). */
async function immutableRun(flag: boolean): Promise<Outcome> {
  const { fs } = await mounted();
  nocowFile(fs, '/f', 2, 1);
  if (flag) fs.setDaxImmutable('/f', true, { capability: true });
  const m = fs.mmap('/f', { length: 2 * PAGE_BYTES });
  m.store(0, fill(8, 9));
  const before = fs.readFile('/f');
  const fd = fs.open('/f');
  const pwrite = errnoOf(() => fs.pwrite(fd, fill(8, 7), PAGE_BYTES));
  const changed = countByte(fs.readFile('/f'), 7);
  const truncate = errnoOf(() => fs.truncate('/f', PAGE_BYTES));
  const size = fs.stat('/f').size;
  const store = errnoOf(() => m.store(PAGE_BYTES, fill(8, 9)));
  fs.close(fd);
  const text = `pwrite ${pwrite ?? `ok (${changed} bytes changed)`}; `
    + `truncate ${truncate ?? `ok (${before.length} -> ${size} bytes)`}; `
    + `mmap store at page 1 ${store ?? 'ok'}`;
  return { failed: pwrite === null || truncate === null || store !== null, text };
}

export async function runThread004(): Promise<ScenarioRow[]> {
  return [
    row('004', 'mapSyncDurableFault',
      'MAP_SYNC store + flush + fence into a hole, no msync, then a crash: does the data survive?',
      await mapSyncRun(true), await mapSyncRun(false)),
    row('004', 'nodatacow (MAP_SYNC rule)',
      'MAP_SYNC only where flush + fence suffices? (on: nodatacow file; off: datacow file)',
      await mapSyncRefusedRun(true), await mapSyncRefusedRun(false)),
    row('004', 'daxImmutable (flag)',
      'mapped file: can calls other than mmap stores change it? '
        + '(on: DAX-immutable set; off: clear)',
      await immutableRun(true), await immutableRun(false)),
  ];
}
