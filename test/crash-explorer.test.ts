import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice, type DaxPolicy } from '../src/index.js';
import { CrashExplorer, type PointReport } from '../src/crash/explorer.js';
import { ModelOracle } from '../src/crash/oracle.js';

const PAGE = 4096;
const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

async function setup(policy: Partial<DaxPolicy> = {}) {
  const dev = await PmemDevice.create({ sizeBytes: 16 << 20, kernelBytes: 8 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev, { dax: policy });
  const oracle = new ModelOracle(fs);
  const explorer = new CrashExplorer(dev, oracle, { samples: 64, enumerateBound: 10_000 });
  const reports: PointReport[] = [];
  let inside = false;
  dev.beforeFence = () => {
    if (inside) return;
    inside = true;
    try { reports.push(explorer.explore(`fence #${reports.length}`)); } finally { inside = false; }
  };
  const step = (label: string, op: () => void): void => {
    op();
    oracle.afterOp();
    const report = explorer.explore(`after ${label}`);
    // The live file system is checked too: reads that fail, snapshots that changed.
    for (const p of [...oracle.checkLive(), ...oracle.liveReadErrors()]) report.violations.push({ point: `live after ${label}`, image: { mode: 'random', seed: 0 }, generation: -1, problems: [p] });
    reports.push(report);
  };
  return { dev, fs, oracle, explorer, reports, step };
}

const violations = (reports: PointReport[]): string[] => reports.flatMap((r) => r.violations.map((v) => `${r.point}: ${v.problems.join('; ')}`));

describe('crash exploration', () => {
  it('finds no violation in a datacow workload with commits, fsyncs and a snapshot, and dedupes mounts', async () => {
    const { fs, explorer, reports, step, oracle } = await setup();
    step('mkdir', () => fs.mkdir('/d'));
    for (let i = 0; i < 4; i++) step(`write ${i}`, () => fs.writeFile(`/d/f${i}`, bytes(3000 + i * 5000, i + 1)));
    step('commit', () => fs.commit());
    step('overwrite', () => { const fd = fs.open('/d/f1'); fs.pwrite(fd, bytes(6000, 9), 1000); fs.fsync(fd); fs.close(fd); });
    step('snapshot', () => { fs.snapshot('/', '/s'); oracle.snapshotTaken('/s'); });
    step('unlink', () => fs.unlink('/d/f0'));
    step('commit', () => fs.commit());
    expect(violations(reports)).toEqual([]);
    expect(explorer.totals.images).toBeGreaterThan(500);
    expect(explorer.totals.mounted).toBeLessThan(explorer.totals.images / 4);
    expect(reports.some((r) => !r.sampled)).toBe(true); // small windows are enumerated exhaustively
    expect(reports.some((r) => r.sampled)).toBe(true);
  });

  it('finds the violation when cowOncePerTransaction is off (and none when on)', async () => {
    for (const on of [true, false]) {
      const { fs, reports, step } = await setup({ cowOncePerTransaction: on });
      step('write', () => fs.writeFile('/f', bytes(2 * PAGE, 1)));
      step('commit', () => fs.commit());
      const m = fs.mmap('/f', { length: 2 * PAGE });
      step('mstore', () => m.store(0, bytes(64, 2)));
      step('commit', () => fs.commit());
      step('mstore after commit', () => m.store(0, bytes(64, 3)));
      step('flush + fence', () => { m.flush(0, 64); m.fence(); });
      if (on) expect(violations(reports)).toEqual([]);
      else expect(violations(reports).length).toBeGreaterThan(0);
    }
  });

  it('finds the violation when mapSyncDurableFault is off (and none when on)', async () => {
    for (const on of [true, false]) {
      const { fs, reports, step, oracle } = await setup({ mapSyncDurableFault: on });
      step('create', () => { fs.create('/f'); fs.setNoDataCow('/f'); fs.truncate('/f', 2 * PAGE); });
      step('commit', () => fs.commit());
      const m = fs.mmap('/f', { length: 2 * PAGE, sync: true });
      step('mstore', () => m.store(PAGE, bytes(64, 5)));
      step('flush + fence', () => { m.flush(PAGE, 64); m.fence(); oracle.addFloor('/f', PAGE, bytes(64, 5)); });
      if (on) expect(violations(reports)).toEqual([]);
      else expect(violations(reports).join('\n')).toMatch(/MAP_SYNC/);
    }
  });
});
