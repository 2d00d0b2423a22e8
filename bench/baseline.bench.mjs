// This build's crash exploration against an older build's, measured interleaved in one run
// (this machine's speed drifts by up to 1.7x between runs, so only side-by-side ratios say
// whether a change made exploration slower). Runs only when named with the older build's
// root: `PMCOW_BASELINE_ROOT=/tmp/old node bench/run.mjs baseline`, the root a checkout
// with `npm run build` done (e.g. `git worktree add /tmp/old a49c801`, the commit before
// issue 17's per-thread store logs). Each round runs each build in a child process:
//  - explore(): bench/compare-explore.mjs's measurement (the crash bench's crash point, 500
//    samples, every image mounted and checked; median images/s of seven timed explores);
//  - the default fuzz campaign, 200 scripts (`pmcow fuzz --scripts 200`): images/s, and the
//    image counts, which must be the same for both builds (the same crash images exist).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { median } from './harness.mjs';

const ROUNDS = 5;
const FUZZ_SCRIPTS = 200;

function exploreRate(root) {
  const script = fileURLToPath(new URL('./compare-explore.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [script, root, root, '1'], { env: { ...process.env, COMPARE_EXPLORE_CHILD: root }, encoding: 'utf8' });
  return Number(/([\d.]+)\s*$/.exec(out.trim())[1]);
}

function fuzzRun(root) {
  const out = execFileSync(process.execPath, [`${root}/dist/cli/main.js`, 'fuzz', '--scripts', String(FUZZ_SCRIPTS), '--quiet'], { encoding: 'utf8' });
  const m = /(\d+) scripts, (\d+) operations, (\d+) crash images \((\d+) mounted\) in ([\d.]+) s, (\d+) images\/s/.exec(out);
  if (!m || !/^0 findings/m.test(out)) throw new Error(`baseline bench: unexpected fuzz output from ${root}: ${out}`);
  return { images: Number(m[3]), mounted: Number(m[4]), rate: Number(m[6]) };
}

const commitOf = (root) => {
  try { return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return root; }
};

export async function baselineBenches() {
  const oldRoot = process.env.PMCOW_BASELINE_ROOT;
  if (!oldRoot) throw new Error('bench baseline: set PMCOW_BASELINE_ROOT to a built checkout of the older build');
  const newRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  JSON.parse(readFileSync(`${oldRoot}/package.json`, 'utf8')); // a checkout, or fail here
  const rounds = { explore: [], fuzz: [] };
  let counts = null;
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which build goes first: the second of a pair runs on a warmer machine.
    const order = r % 2 === 0 ? [oldRoot, newRoot] : [newRoot, oldRoot];
    const ex = {}, fz = {};
    for (const root of order) { ex[root] = exploreRate(root); fz[root] = fuzzRun(root); }
    rounds.explore.push({ old: ex[oldRoot], new: ex[newRoot] });
    rounds.fuzz.push({ old: fz[oldRoot].rate, new: fz[newRoot].rate });
    const same = fz[oldRoot].images === fz[newRoot].images && fz[oldRoot].mounted === fz[newRoot].mounted;
    if (!same) throw new Error(`baseline bench: the builds checked different images: ${JSON.stringify(fz)}`);
    counts = { images: fz[newRoot].images, mounted: fz[newRoot].mounted };
  }
  const oldName = commitOf(oldRoot);
  const group = `crash exploration, this build vs ${oldName}, interleaved (images/s)`;
  const row = (name, rate, baseline, ratio) => ({
    group, name, baseline, bytes: 0, batch: 0, samples: ROUNDS, opsPerSec: rate, meanNs: 1e9 / rate, p50Ns: 1e9 / rate,
    p99Ns: null, rmePct: null, bytesPerSec: 0, ratioKind: 'throughput', ratio,
  });
  const exOld = median(rounds.explore.map((x) => x.old)), exNew = median(rounds.explore.map((x) => x.new));
  const fzOld = median(rounds.fuzz.map((x) => x.old)), fzNew = median(rounds.fuzz.map((x) => x.new));
  const exRatio = median(rounds.explore.map((x) => x.new / x.old)), fzRatio = median(rounds.fuzz.map((x) => x.new / x.old));
  const rows = [
    row(`explore(), 500 samples mounted: ${oldName}`, exOld, true, 1),
    row('explore(), 500 samples mounted: this build', exNew, false, exRatio),
    row(`fuzz --scripts ${FUZZ_SCRIPTS}: ${oldName}`, fzOld, true, 1),
    row(`fuzz --scripts ${FUZZ_SCRIPTS}: this build`, fzNew, false, fzRatio),
  ];
  return { rows, details: { oldRoot, oldName, rounds, counts, exploreRatio: exRatio, fuzzRatio: fzRatio } };
}

export function baselineNotes(d) {
  if (!d) return [];
  const r = (xs, k) => xs.map((x) => x[k].toFixed(0)).join(', ');
  return [
    `baseline: this build against ${d.oldName} (PMCOW_BASELINE_ROOT=${d.oldRoot}), ${d.rounds.explore.length} rounds, the builds alternating first, each in a child process. explore(): bench/compare-explore.mjs's crash point, 500 samples, every image mounted and checked, median images/s of seven timed explores per round (old: ${r(d.rounds.explore, 'old')}; new: ${r(d.rounds.explore, 'new')}). fuzz: the default campaign of ${FUZZ_SCRIPTS} scripts, the CLI's images/s (old: ${r(d.rounds.fuzz, 'old')}; new: ${r(d.rounds.fuzz, 'new')}); both builds checked the same ${d.counts.images.toLocaleString('en-US')} crash images (${d.counts.mounted.toLocaleString('en-US')} mounted) in every round. ratio = median over the rounds of new/old (higher is faster): explore ${d.exploreRatio.toFixed(3)}, fuzz ${d.fuzzRatio.toFixed(3)}.`,
  ];
}
