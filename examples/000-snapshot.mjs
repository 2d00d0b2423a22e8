// Thread 000: a snapshot must not change after it returns (snapshotWriteProtect), and no writer thread may keep a stale translation (tlbShootdown, 2 real writer threads).
// Run `npm run build` first, then: node examples/000-snapshot.mjs
import { runThread000, formatScenarioTable } from '../dist/index.js';

const rows = await runThread000();
console.log(formatScenarioTable(rows));
