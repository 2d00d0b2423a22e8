import { describe, expect, it } from 'vitest';
import { fuzz, replay } from '../src/crash/fuzz.js';
import { POLICY_NAMES } from '../src/dax/policy.js';

// Issue 5: with every mechanism on the fuzzer finds nothing; with any one of the seven
// switched off it finds a violation on its own, in a bounded campaign (at most 60
// scripts of the default campaign, seed 1), minimises it, and the reproducer replays it.
describe('fuzz campaigns per switch', () => {
  it('every ACE seq-1 workload (634) and 6 DAX workloads: no violation with every mechanism on', async () => {
    const ace = await fuzz({ generator: 'ace', aceK: 1, minimise: false });
    expect(ace.scripts).toBe(634);
    expect(ace.images).toBeGreaterThan(2000);
    expect(ace.violations).toBe(0);
    const dax = await fuzz({ seed: 1, scripts: 6, ops: 24, generator: 'dax', minimise: false });
    expect(dax.images).toBeGreaterThan(5000);
    expect(dax.violations).toBe(0);
  });

  for (const name of POLICY_NAMES) {
    it(`finds ${name} off within 60 scripts of a default campaign, and the reproducer replays`, async () => {
      // The default generator (mixed), as `pmcow fuzz --policy NAME=off` runs it.
      const r = await fuzz({ seed: 1, scripts: 60, policyOff: name, maxFindings: 1, minimiseMs: 2000 });
      expect(r.findings.length).toBe(1);
      const rep = r.findings[0]!.reproducer;
      expect(rep.script).toContain(`policy ${name}=off`);
      expect(JSON.stringify(rep).length).toBeLessThanOrEqual(2048);
      expect(replay(rep).violations.length).toBeGreaterThan(0);
      // The same workloads with the switch on are clean: the violation is the switch's.
      const on = replay({ ...rep, script: rep.script.replace(`policy ${name}=off`, '# switch on') });
      expect(on.violations).toEqual([]);
    });
  }
});
