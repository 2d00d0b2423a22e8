// Runnable scenarios, one per mailing-list thread (docs/threads.md): each runs the
// mechanism that answers the thread on, then off, and reports what the runs measured.
import type { ScenarioOptions, ScenarioRow } from './common.js';
import { runThread000 } from './thread-000-snapshot.js';
import { runThread001 } from './thread-001-freeze.js';
import { runThread002 } from './thread-002-btrfs-dax.js';
import { runThread003 } from './thread-003-reflink.js';
import { runThread004 } from './thread-004-map-sync.js';

export type { ScenarioRow, ScenarioOptions, ThreadId } from './common.js';
export { runThread000, runThread001, runThread002, runThread003, runThread004 };

/**
 * Every scenario, thread by thread, one after another (the writer-thread ones must not
 * overlap).
 */
export async function runScenarios(options: ScenarioOptions = {}): Promise<ScenarioRow[]> {
  return [
    ...await runThread000(options),
    ...await runThread001(options),
    ...await runThread002(),
    ...await runThread003(),
    ...await runThread004(),
  ];
}
