// A short soak (src/soak): real writer threads, commits, snapshots, reflinks, freezes,
// crash images and reboots; every checked slot must match the oracle and fsck must stay
// clean. The run is bounded by batches (minRounds), not by wall-clock figures. Runs with
// a DAX mechanism switched off show that the same checks do find violations.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FsError } from '../src/index.js';
import { soak } from '../src/soak/index.js';

const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
/** Slots of /d and /n (16 pages of 64-byte slots each). */
const SLOTS_PER_FILE = 1024;

describe('soak', () => {
  it('writers, commits, snapshots, reflinks, freezes and crashes: no violation, fsck clean', async () => {
    const report = await soak({ durationMs: 2000, minRounds: 4, writers: 2, seed: 3, rebootEvery: 2, entryUrl: WORKER_ENTRY });
    expect(report.messages).toEqual([]);
    expect(report.violations).toBe(0);
    expect(report.fsckErrors).toBe(0);
    expect(report.rounds).toBeGreaterThanOrEqual(4);
    // Every batch end checks both files slot by slot; every reboot checks /d and /n in the image.
    expect(report.storesChecked).toBeGreaterThanOrEqual(report.rounds * 2 * SLOTS_PER_FILE + 2 * 2 * SLOTS_PER_FILE);
    expect(report.reboots).toBeGreaterThanOrEqual(2);
    expect(report.remounts).toBeGreaterThanOrEqual(report.reboots);
    expect(report.crashes).toBeGreaterThanOrEqual(2);
    expect(report.commits).toBeGreaterThan(0);
    // 3000 stores per writer per batch, and 256 per /n writer in the tail before each reboot.
    expect(report.writerStores).toBe(report.rounds * 2 * 3000 + report.reboots * 256);
  });

  it('with partitioned slots (each writer a contiguous range of a file): no violation, fsck clean', async () => {
    const report = await soak({ durationMs: 0, minRounds: 2, writers: 3, seed: 5, layout: 'partitioned', entryUrl: WORKER_ENTRY });
    expect(report.messages).toEqual([]);
    expect(report.violations).toBe(0);
    expect(report.fsckErrors).toBe(0);
    expect(report.storesChecked).toBeGreaterThanOrEqual(report.rounds * 2 * SLOTS_PER_FILE);
  });

  it('finds the violations when commits no longer write-protect mmap-dirtied datacow pages', async () => {
    // Eight rounds: whether a round's stores race a commit depends on how the threads are
    // scheduled; with three, a loaded machine saw whole runs without one (2 of 24 runs
    // with two suites side by side), with eight none in 24.
    const report = await soak({ durationMs: 0, minRounds: 8, writers: 2, seed: 3, entryUrl: WORKER_ENTRY, dax: { cowOncePerTransaction: false } });
    expect(report.violations).toBeGreaterThan(0);
  });

  it('finds the lost stores when a MAP_SYNC write fault no longer commits before the page turns writable', async () => {
    // Every reboot follows a snapshot and a commit-free tail of flushed stores to /n: the
    // COWed pages' metadata is durable only through the faults' commits. Five rounds: with
    // two, a loaded machine (the whole suite on two cores) once saw a run without a reboot
    // that caught the tail.
    const report = await soak({ durationMs: 0, minRounds: 5, writers: 2, seed: 3, entryUrl: WORKER_ENTRY, dax: { mapSyncDurableFault: false } });
    expect(report.messages.some((m) => m.startsWith('reboot') && m.includes('/n slot'))).toBe(true);
  });

  it('refuses bad options with EINVAL', async () => {
    for (const bad of [{ writers: 1 }, { writers: 8 }, { durationMs: -1 }, { seed: 1.5 }, { deviceBytes: 4096 }, { storesPerBatch: 0 }, { layout: 'diagonal' as 'partitioned' }, { duration: 100 } as object]) {
      await expect(soak(bad)).rejects.toSatisfy((e: unknown) => e instanceof FsError && e.code === 'EINVAL');
    }
  });

  it('pmcow soak prints the totals and exits 0 when clean, 2 on usage errors', () => {
    const ok = spawnSync(process.execPath, [CLI, 'soak', '--time', '0', '--json', '--quiet', '--seed', '2'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const totals = JSON.parse(ok.stdout.trim().split('\n').pop()!);
    expect(totals).toMatchObject({ violations: 0, fsckErrors: 0, writers: 2, seed: 2 });
    expect(totals.storesChecked).toBeGreaterThan(0);
    expect(totals.remounts).toBeGreaterThanOrEqual(1);
    for (const args of [['--writers', '1'], ['--time', 'x'], ['--bogus'], ['extra']]) {
      const bad = spawnSync(process.execPath, [CLI, 'soak', ...args], { encoding: 'utf8' });
      expect(bad.status, args.join(' ')).toBe(2);
    }
  });
});
