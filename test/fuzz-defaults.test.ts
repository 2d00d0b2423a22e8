import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fuzz, type FuzzOptions } from '../src/crash/fuzz.js';
import { fuzzExitCode } from '../src/cli/fuzz-commands.js';

// Issue 11: the campaigns a user runs with the defaults, every generator and the store
// crash points, over six seeds each, every switch on: no violation, no internal error, and
// every script judged to its end by the reference model.
const SEEDS = [1, 2, 3, 4, 5, 6];
const campaigns: Array<[string, FuzzOptions]> = [
  ['fsx', { generator: 'fsx', scripts: 12 }],
  ['dax', { generator: 'dax', scripts: 8 }],
  ['mixed', { generator: 'mixed', scripts: 10 }],
  ['mixed, crash points before every store', { points: 'store+fence+op', scripts: 3 }],
];

describe('default campaigns are clean on the unmodified file system', () => {
  for (const [name, options] of campaigns) {
    it(`${name}: seeds ${SEEDS.join(', ')}`, async () => {
      for (const seed of SEEDS) {
        const r = await fuzz({ ...options, seed, minimise: false });
        const found = r.findings.map((f) => `seed ${seed} script ${f.script} ${f.kind}: ${f.violation.point}: ${f.violation.problems.join('; ')}`);
        expect(found).toEqual([]);
        expect(r.internalErrors).toBe(0);
        expect(r.unjudged).toBe(0);
        expect(r.scripts).toBe(options.scripts);
        expect(r.images).toBeGreaterThan(0);
      }
    });
  }

  it('every ACE-style seq-1 workload is clean and judged to its end', async () => {
    const r = await fuzz({ generator: 'ace', aceK: 1, minimise: false });
    expect(r.scripts).toBe(634);
    expect(r.violations).toBe(0);
    expect(r.internalErrors).toBe(0);
    expect(r.unjudged).toBe(0);
  });

  it('`pmcow fuzz` with no options exits 0 and prints its summary, no stack trace', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'fuzz', '--quiet', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ summary: true, scripts: 10, violations: 0, findings: 0, internalErrors: 0 });
    expect(r.stderr).toBe('');
  });

  it('a violation exits 1 and its finding line comes with its kind, time and images', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'fuzz', '--quiet', '--json', '--policy', 'commitChecksums=off', '--max-findings', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const finding = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>;
    expect(finding).toMatchObject({ finding: 0 });
    expect(['crash', 'live', 'unexpected-result']).toContain(finding.kind);
    expect(finding.elapsedMs).toBeGreaterThan(0);
    expect(finding.reproducerBytes).toBeLessThanOrEqual(2048);
  });

  it('exit codes: 1 for violations (even with internal errors), 3 for internal errors alone, 0 clean', () => {
    expect(fuzzExitCode(2, 1)).toBe(1);
    expect(fuzzExitCode(0, 1)).toBe(3);
    expect(fuzzExitCode(0, 0)).toBe(0);
  });
});
