// Thread 004: MAP_SYNC faults make their allocation durable (mapSyncDurableFault), MAP_SYNC is refused on datacow files, DAX-immutable refuses pwrite.
// Run `npm run build` first, then: node examples/004-map-sync.mjs
import { runThread004, formatScenarioTable } from '../dist/index.js';

const rows = await runThread004();
console.log(formatScenarioTable(rows));
