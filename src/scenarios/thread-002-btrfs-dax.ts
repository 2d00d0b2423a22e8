// Thread 002 (linux-btrfs, 2018): COW on every store is impossible and checksums cannot
// follow mmap stores. "CoW once, then nodatacow until the next commit, checksum at commit,
// write-protect for the next CoW." And pmem is atomic per 8-byte word only: pages tear.
import { FileSystem } from '../filesystem.js';
import {
  row, fill, mounted, nocowFile, readOrEio, countByte, plural, PAGE_BYTES,
  type Outcome, type ScenarioRow,
} from './common.js';

const CRASH_SEEDS = 64;

/**
 * The checksum trap (the demo's row and test/dax-switches.test.ts run it): a datacow file
 * stored to through a mapping (8 bytes of 5 at 100), committed, then read and scrubbed.
 */
export async function checksumTrap(on: boolean) {
  const { fs } = await mounted({ commitChecksums: on });
  fs.writeFile('/f', fill(2 * PAGE_BYTES, 1));
  fs.commit();
  const m = fs.mmap('/f', { length: 2 * PAGE_BYTES });
  m.store(100, fill(8, 5));
  fs.commit();
  const read = readOrEio(fs, '/f');
  return { read, scrub: fs.scrub() };
}

async function checksumRun(on: boolean): Promise<Outcome> {
  const { read, scrub } = await checksumTrap(on);
  const kept = read.eio ? 0 : countByte(read.bytes.subarray(100, 108), 5);
  const text = `read ${read.eio ? 'EIO' : `ok (${kept}/8 stored bytes)`}; `
    + `scrub: ${plural(scrub.csumErrors, 'csum error')}`;
  return { failed: read.eio || scrub.csumErrors > 0, text };
}

/**
 * The COW-once trap (the demo's row and test/dax-switches.test.ts run it): after a commit
 * of 8 bytes of 2 stored through a mapping, a store of 3s + flush + fence with no commit;
 * then a crash. It returns the COW faults of that store, and the crashed file system's
 * read of /f and fsck.
 */
export async function cowOnceTrap(on: boolean) {
  const { dev, fs } = await mounted({ cowOncePerTransaction: on });
  fs.writeFile('/f', fill(PAGE_BYTES, 1));
  fs.commit();
  const m = fs.mmap('/f', { length: PAGE_BYTES });
  m.store(0, fill(8, 2));
  fs.commit(); // the committed file holds 2s
  const cowBefore = fs.dax.stats.cowFaults;
  m.store(0, fill(8, 3)); // no commit after this one
  m.flush(0, 8);
  m.fence();
  const cowFaults = fs.dax.stats.cowFaults - cowBefore;
  const after = FileSystem.mount(dev.crash());
  const read = readOrEio(after, '/f');
  return { cowFaults, read, fsck: after.fsck() };
}

async function cowOnceRun(on: boolean): Promise<Outcome> {
  const { cowFaults, read, fsck } = await cowOnceTrap(on);
  const committed = read.eio ? 0 : countByte(read.bytes.subarray(0, 8), 2);
  const fsckText = fsck.length === 0 ? 'clean' : plural(fsck.length, 'error');
  const crashed = read.eio ? 'the committed file reads EIO'
    : `${committed}/8 committed bytes intact, fsck ${fsckText}`;
  const text = `${plural(cowFaults, 'COW fault')}; after the crash ${crashed}`;
  return { failed: read.eio || committed !== 8 || fsck.length > 0, text };
}

interface PageCrashes { old: number; fresh: number; torn: number; unreadable: number }

/** A committed 4 KiB page of 0x11 in a nodatacow file, overwritten with 0x22 through a mapping. */
async function tornPageRun(flushBeforeCrash: boolean): Promise<Outcome> {
  const { dev, fs } = await mounted();
  nocowFile(fs, '/f', 1, 0x11);
  const m = fs.mmap('/f', { length: PAGE_BYTES });
  m.store(0, fill(PAGE_BYTES, 0x22));
  if (flushBeforeCrash) { m.flush(0, PAGE_BYTES); m.fence(); }
  const counts: PageCrashes = { old: 0, fresh: 0, torn: 0, unreadable: 0 };
  const target = dev.crash();
  for (let seed = 0; seed < CRASH_SEEDS; seed++) {
    const image = dev.crash({ mode: 'random', seed, into: target });
    let page: Uint8Array;
    try {
      page = FileSystem.mount(image).readFile('/f');
    } catch {
      counts.unreadable++;
      continue;
    }
    const fresh = countByte(page, 0x22);
    const old = countByte(page, 0x11);
    if (fresh === PAGE_BYTES) counts.fresh++;
    else if (old === PAGE_BYTES) counts.old++;
    else counts.torn++;
  }
  const text = `of ${CRASH_SEEDS} crash images: `
    + `${counts.old} old, ${counts.fresh} new, ${counts.torn} torn`
    + `${counts.unreadable ? `, ${counts.unreadable} unreadable` : ''}`;
  return { failed: counts.torn + counts.unreadable > 0, text };
}

export async function runThread002(): Promise<ScenarioRow[]> {
  return [
    row('002', 'commitChecksums',
      'pages dirtied through mmap, then a commit: do they read back, does scrub pass?',
      await checksumRun(true), await checksumRun(false)),
    row('002', 'cowOncePerTransaction',
      'store + flush + fence after a commit, then a crash: is the committed file intact?',
      await cowOnceRun(true), await cowOnceRun(false)),
    row('002', 'none (hardware)',
      '4 KiB page stored through a mapping, random crashes: old, new or torn? '
        + '(on: after flush + fence; off: before)',
      await tornPageRun(true), await tornPageRun(false)),
  ];
}
