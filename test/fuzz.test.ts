import { describe, expect, it } from 'vitest';
import { fuzz, replay } from '../src/crash/fuzz.js';
import { fuzzParallel } from '../src/crash/fuzz-parallel.js';
import { parse } from '../src/workload/parse.js';

describe('crash-consistency fuzzer', () => {
  it('finds nothing with every mechanism on', async () => {
    const r = await fuzz({ seed: 3, scripts: 1, ops: 12, generator: 'dax', samples: 4 });
    expect(r.scripts).toBe(1);
    expect(r.images).toBeGreaterThan(100);
    expect(r.violations).toBe(0);
  });

  it('finds commitChecksums off, minimises it to a small reproducer, and replay reproduces it', async () => {
    const r = await fuzz({ seed: 3, scripts: 1, ops: 12, generator: 'dax', samples: 4, policyOff: 'commitChecksums', minimiseMs: 4000 });
    expect(r.findings.length).toBe(1);
    const rep = r.findings[0]!.reproducer;
    expect(JSON.stringify(rep).length).toBeLessThanOrEqual(2048);
    expect(rep.script).toMatch(/policy commitChecksums=off/);
    expect(() => parse(rep.script)).not.toThrow();
    const again = replay(rep);
    expect(again.violations.length).toBeGreaterThan(0);
    expect(again.violations[0]!.problems.join(' ')).toMatch(/EIO/);
  });

  it('shards partition the scripts deterministically', async () => {
    const a = await fuzz({ seed: 5, scripts: 2, ops: 4, generator: 'fsx', samples: 2, shard: { index: 0, count: 2 } });
    const b = await fuzz({ seed: 5, scripts: 2, ops: 4, generator: 'fsx', samples: 2, shard: { index: 1, count: 2 } });
    const whole = await fuzz({ seed: 5, scripts: 2, ops: 4, generator: 'fsx', samples: 2, shard: { index: 0, count: 1 } });
    expect(a.scripts + b.scripts).toBe(4);
    expect(whole.scripts).toBe(2);
    await expect(fuzz({ shard: { index: 2, count: 2 } })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('--workers: two worker threads check the same scripts and images and find the same violations as one', async () => {
    const options = { seed: 1, scripts: 3, ops: 16, generator: 'dax' as const, policyOff: 'mapSyncDurableFault' as const, minimise: false };
    const one = await fuzzParallel({ ...options, workers: 1 });
    const two = await fuzzParallel({ ...options, workers: 2 });
    expect(two.scripts).toBe(3);
    expect(two.images).toBe(one.images);
    expect(two.violations).toBe(one.violations);
    expect(one.violations).toBeGreaterThan(0);
    expect(two.findings.map((f) => [f.script, f.violation.point])).toEqual(one.findings.map((f) => [f.script, f.violation.point]));
    await expect(fuzzParallel({ workers: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    // A misspelt option is refused, not ignored (10 scripts of the default generator).
    await expect(fuzzParallel({ generater: 'fsx' } as object)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(fuzz({ script: 1 } as object)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('crash points before every store add points (and stay clean with every mechanism on)', async () => {
    const options = { seed: 2, scripts: 1, ops: 12, generator: 'dax' as const, minimise: false };
    const fences = await fuzz(options);
    const stores = await fuzz({ ...options, points: 'store+fence+op' });
    expect(stores.points).toBeGreaterThan(fences.points);
    expect(stores.images).toBeGreaterThan(fences.images);
    expect(stores.violations).toBe(0);
  });

  it('the dup metadata profile: crash images (both copies of every tree block) are clean', async () => {
    const r = await fuzz({ seed: 1, scripts: 2, ops: 16, generator: 'mixed', metadataProfile: 'dup', minimise: false });
    expect(r.images).toBeGreaterThan(500);
    expect(r.violations).toBe(0);
  });
});
