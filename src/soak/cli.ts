// pmcow soak: the soak campaign from the command line.
import { EXIT_CLEAN, EXIT_VIOLATIONS, UsageError, parseFlags } from '../cli/fuzz-commands.js';
import { soak, type SoakReport } from './soak.js';

export const SOAK_USAGE = `pmcow soak [--time SECONDS] [--writers N] [--seed S] [--json] [--quiet]
  Soak: writer threads store tagged words through DAX mappings (a datacow file, and a
  nodatacow MAP_SYNC file whose every store is flushed and fenced) while this thread
  commits, snapshots, reflinks, freezes and takes crash images; every crash image is
  mounted, fsck-ed and compared with what must have survived, and every two batches the
  device reboots into a crash image (docs/reliability.md).
  --time SECONDS  run for this long (default 10), then finish the batch
  --writers N     writer threads, 2..7 (default 2)
  --seed S        seed of the operations, crash images and workloads (default 1)
  --json          print the totals as one JSON line
  --quiet         no progress line (stderr)
  Exit 0 when clean, 1 when violations or fsck errors were found, 2 on usage errors.`;

function count(flags: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

export async function cmdSoak(args: string[]): Promise<number> {
  const { positional, flags } = parseFlags(args, { time: 'value', writers: 'value', seed: 'value', json: 'flag', quiet: 'flag', help: 'flag' });
  if (flags.has('help')) { process.stdout.write(SOAK_USAGE + '\n'); return EXIT_CLEAN; }
  if (positional.length) throw new UsageError(`pmcow soak takes no positional arguments (got '${positional[0]}')`);
  const seconds = count(flags, 'time', 10, 0, 2 ** 30);
  const writers = count(flags, 'writers', 2, 2, 7);
  const seed = count(flags, 'seed', 1, 0, 2 ** 31);
  const quiet = flags.has('quiet');
  let shownAt = -Infinity;
  const report: SoakReport = await soak({
    durationMs: seconds * 1000, writers, seed, minRounds: 1,
    onProgress: (r) => {
      if (quiet || r.elapsedMs - shownAt < 500) return; // a line every half second is enough
      shownAt = r.elapsedMs;
      process.stderr.write(`\rsoak ${(r.elapsedMs / 1000).toFixed(1)} s  batches ${r.rounds}  stores checked ${r.storesChecked}  commits ${r.commits}  snapshots ${r.snapshots}  reflinks ${r.reflinks}  freezes ${r.freezes}  crashes ${r.crashes}  violations ${r.violations}   `);
    },
  });
  if (!quiet) process.stderr.write('\n');
  for (const m of report.messages) process.stdout.write(`violation: ${m}\n`);
  const totals = {
    storesChecked: report.storesChecked, violations: report.violations, fsckErrors: report.fsckErrors,
    commits: report.commits, snapshots: report.snapshots, reflinks: report.reflinks, freezes: report.freezes,
    crashes: report.crashes, remounts: report.remounts, reboots: report.reboots, batches: report.rounds, writerStores: report.writerStores,
    writers, seed, elapsedMs: Math.round(report.elapsedMs),
  };
  if (flags.has('json')) process.stdout.write(JSON.stringify(totals) + '\n');
  else for (const [k, v] of Object.entries(totals)) process.stdout.write(`${k.padEnd(14)} ${v}\n`);
  return report.violations || report.fsckErrors ? EXIT_VIOLATIONS : EXIT_CLEAN;
}
