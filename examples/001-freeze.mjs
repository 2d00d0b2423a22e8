// Thread 001: a freeze must stop DAX stores (freezeWriteProtect): 2 writer threads and a main-thread store.
// Run `npm run build` first, then: node examples/001-freeze.mjs
import { runThread001, formatScenarioTable } from '../dist/index.js';

const rows = await runThread001();
console.log(formatScenarioTable(rows));
