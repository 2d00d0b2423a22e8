// Crash-exploration throughput of two builds, measured interleaved in one sitting (this
// machine's speed drifts between runs; only a side-by-side ratio says whether a change
// made exploration slower): `node bench/compare-explore.mjs OLD_ROOT NEW_ROOT [rounds]`,
// each root a checkout with `npm run build` done (e.g. `git worktree add /tmp/old <commit>`).
// Each round runs, in a child process per build, the crash bench's crash point (bench/
// crash.bench.mjs crashPoint: 24 DAX stores pending) explored with 500 samples, every image
// mounted and checked (lineTables: false), four untimed explores then seven timed: the
// median images/s. Prints every round and the median ratio new/old.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [oldRoot, newRoot, roundsText] = process.argv.slice(2);
if (!oldRoot || !newRoot) {
  console.error('usage: node bench/compare-explore.mjs OLD_ROOT NEW_ROOT [rounds]');
  process.exit(2);
}
const rounds = Number(roundsText ?? 5);

if (process.env.COMPARE_EXPLORE_CHILD) {
  const root = process.env.COMPARE_EXPLORE_CHILD;
  const { crashPoint } = await import(`${root}/bench/crash.bench.mjs`);
  const { CrashExplorer } = await import(`${root}/dist/crash/explorer.js`);
  const { dev, target, oracle, runner } = await crashPoint('compare-explore');
  const once = () => {
    const explorer = new CrashExplorer(dev, oracle, { enumerateBound: 10_000, samples: 500, target, lineTables: false });
    const t0 = performance.now();
    const report = explorer.explore('p');
    if (report.violations.length || report.checked !== 500) throw new Error(`explore: ${report.violations.length} violations, ${report.checked} checked`);
    return report.checked / ((performance.now() - t0) / 1000);
  };
  for (let i = 0; i < 4; i++) once();
  const rates = Array.from({ length: 7 }, once).sort((a, b) => a - b);
  runner.close(); dev.close(); target.close();
  process.stdout.write(String(rates[3]));
} else {
  const self = fileURLToPath(import.meta.url);
  const measure = (root) => Number(execFileSync(process.execPath, [self, oldRoot, newRoot], { env: { ...process.env, COMPARE_EXPLORE_CHILD: root } }).toString());
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const a = measure(oldRoot), b = measure(newRoot);
    ratios.push(b / a);
    console.log(`round ${r + 1}: old ${Math.round(a)} images/s, new ${Math.round(b)} images/s, new/old ${(b / a).toFixed(3)}`);
  }
  ratios.sort((x, y) => x - y);
  console.log(`median new/old over ${rounds} rounds: ${ratios[Math.floor(rounds / 2)].toFixed(3)}`);
}
