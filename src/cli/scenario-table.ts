// The scenario table, as `pmcow scenarios`, `pmcow demo` and the examples print it.
import type { ScenarioRow } from '../scenarios/index.js';
import { formatTable } from './demo-device.js';

const SCENARIO_HEADERS = ['thread', 'switch', 'question', 'on', 'off', 'reproduced'];

export function formatScenarioTable(rows: ScenarioRow[]): string {
  return formatTable(
    SCENARIO_HEADERS,
    rows.map((r) => [r.thread, r.switch, r.question, r.on, r.off, r.reproduced ? 'yes' : 'NO']),
  );
}
