// Thread 002: checksums at commit (commitChecksums), COW once per transaction (cowOncePerTransaction), and 4 KiB pages torn by a crash (hardware).
// Run `npm run build` first, then: node examples/002-btrfs-dax.mjs
import { runThread002, formatScenarioTable } from '../dist/index.js';

const rows = await runThread002();
console.log(formatScenarioTable(rows));
