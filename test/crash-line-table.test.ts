import { describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { daxWorkload } from '../src/crash/dax-workload.js';
import { randomScript } from '../src/workload/generate.js';
import { loadCoreModule } from '../src/core/module.js';
import type { DaxPolicy } from '../src/dax/policy.js';
import type { Violation } from '../src/crash/explorer.js';

// Line tables decide crash images without mounting them when they share a mounted image's
// metadata. They must be at least as strict as mounting: the same workloads, explored
// with and without them, give exactly the same violations, image by image.
const key = (v: Violation): string => `${v.point}|${v.image.mode}:${'index' in v.image ? v.image.index : v.image.seed}`;

describe('crash line tables', () => {
  it('find the same violations as mounting every image, with far fewer mounts', async () => {
    await loadCoreModule('release');
    const devices = fuzzDevices();
    let images = 0;
    let mountedWith = 0;
    let mountedWithout = 0;
    let violations = 0;
    const cases: Array<[keyof DaxPolicy | undefined, number]> = [[undefined, 77], [undefined, 78], ['snapshotWriteProtect', 78], ['mapSyncDurableFault', 79]];
    for (const [policyOff, seed] of cases) {
      const script = daxWorkload({ seed, ops: 20, ...(policyOff ? { policyOff } : {}) });
      const a = checkScript(script, { enumerateBound: 1000, samples: 16, lineTables: true }, devices);
      const b = checkScript(script, { enumerateBound: 1000, samples: 16, lineTables: false }, devices);
      expect(a.images).toBe(b.images);
      expect(new Set(a.violations.map(key))).toEqual(new Set(b.violations.map(key)));
      images += a.images;
      if (!policyOff) { mountedWith += a.mounted; mountedWithout += b.mounted; } // violating images are all mounted
      violations += a.violations.length;
    }
    // fsx-style scripts: preallocated extents (lines left out of the tables), clones, truncates,
    // and (seeds chosen for them) copies, dedupes, collapses and exchanges.
    for (const seed of [5, 11]) {
      const script = randomScript({ seed, ops: 40 });
      expect(script.stmts.some((s) => s.op === 'fallocate')).toBe(true);
      const a = checkScript(script, { enumerateBound: 1000, samples: 16, lineTables: true }, devices);
      const b = checkScript(script, { enumerateBound: 1000, samples: 16, lineTables: false }, devices);
      expect(a.images).toBe(b.images);
      expect(new Set(a.violations.map(key))).toEqual(new Set(b.violations.map(key)));
      images += a.images;
      mountedWith += a.mounted; mountedWithout += b.mounted;
    }
    expect(violations).toBeGreaterThan(0); // the comparison covered failing images too
    expect(images).toBeGreaterThan(3000);
    expect(mountedWith * 4).toBeLessThan(mountedWithout);
  });
});
