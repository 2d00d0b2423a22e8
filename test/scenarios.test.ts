import { beforeAll, describe, expect, it } from 'vitest';
import { POLICY_NAMES, runScenarios, type ScenarioRow } from '../src/index.js';

// The scenarios run from src/ here: the writer threads need the built entry (npm run build).
const WORKER_ENTRY = new URL('../dist/workers/node-entry.js', import.meta.url);

describe('scenarios: every thread, every mechanism on and then off', () => {
  let rows: ScenarioRow[] = [];
  beforeAll(async () => {
    rows = await runScenarios({ workerEntryUrl: WORKER_ENTRY });
  });

  it('has rows for all five threads and all seven switches', () => {
    expect(new Set(rows.map((r) => r.thread))).toEqual(new Set(['000', '001', '002', '003', '004']));
    const switches = new Set(rows.map((r) => r.switch));
    expect(POLICY_NAMES).toHaveLength(7);
    for (const name of POLICY_NAMES) expect(switches, name).toContain(name);
    for (const r of rows) {
      expect(r.question.length, `${r.thread} ${r.switch}`).toBeGreaterThan(0);
      expect(r.on, `${r.thread} ${r.switch}: on and off must have observed different things`).not.toEqual(r.off);
    }
  });

  it('every row reproduces its thread: the failure with the switch off, none with it on', () => {
    expect(rows.length).toBeGreaterThan(0);
    const missed = rows.filter((r) => !r.reproduced).map((r) => `${r.thread} ${r.switch}: on: ${r.on} | off: ${r.off}`);
    expect(missed).toEqual([]);
  });
});
