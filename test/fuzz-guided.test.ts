// The model-guided generator as a fuzz generator (`fuzz --generator guided`): the model
// tests' statements, crash-checked as whole scripts (src/model/guided-script.ts).
import { describe, expect, it } from 'vitest';
import { fuzz, checkScript } from '../src/crash/fuzz.js';
import { guidedScript } from '../src/model/guided-script.js';
import { parse, print } from '../src/workload/index.js';
import { loadCoreModule } from '../src/core/module.js';

describe('fuzz --generator guided', () => {
  it('draws the same script for a seed, and prints and parses back', () => {
    const a = print(guidedScript({ seed: 11 })), b = print(guidedScript({ seed: 11 }));
    expect(a).toBe(b);
    expect(print(guidedScript({ seed: 12 }))).not.toBe(a);
    const stmts = parse(a).stmts.filter((s) => s.op !== 'comment');
    expect(stmts.length).toBeGreaterThanOrEqual(30);
    expect(stmts.filter((s) => s.expect === undefined).length).toBeGreaterThan(stmts.length / 3);
  });

  it('runs clean on the file system: no violation, no internal error', async () => {
    const report = await fuzz({ seed: 3, scripts: 40, generator: 'guided' });
    expect(report.internalErrors).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.ops).toBeGreaterThan(40 * 20);
    expect(report.images).toBeGreaterThan(1000);
  });

  // Its first campaign's finding: the crash model compared a directory's size (0) with
  // btrfs's (twice the bytes of its names) and reported the file system wrong.
  it("takes a directory's size as the implementation's", async () => {
    await loadCoreModule('release');
    const check = checkScript(parse('mkdir /a\nmkdir /a/h\nstat /a\n'));
    expect(check.violations).toEqual([]);
  });
});
