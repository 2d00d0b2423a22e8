// Thread 003: after a reflink every mapping of the shared page must be found (multiMapping).
// Run `npm run build` first, then: node examples/003-reflink.mjs
import { runThread003, formatScenarioTable } from '../dist/index.js';

const rows = await runThread003();
console.log(formatScenarioTable(rows));
