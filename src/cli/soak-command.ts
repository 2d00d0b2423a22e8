// pmcow soak: the soak campaign from the command line.
import { EXIT_CLEAN, EXIT_VIOLATIONS, parseCommand, intOption } from './args.js';
import { Progress } from './progress.js';
import { soak, type SoakReport } from '../soak/soak.js';

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
  --quiet         no progress line (it is shown only when stderr is a terminal)
  Exit 0 when clean, 1 when violations or fsck errors were found, 2 on usage errors.`;

export async function cmdSoak(args: string[]): Promise<number> {
  const { values } = parseCommand('soak', args, {
    time: { type: 'string' }, writers: { type: 'string' }, seed: { type: 'string' },
    json: { type: 'boolean' }, quiet: { type: 'boolean' },
  }, { min: 0, max: 0, names: '' });
  const seconds = intOption(values, 'time', { min: 0, max: 2 ** 30 }, 10);
  const writers = intOption(values, 'writers', { min: 2, max: 7 }, 2);
  const seed = intOption(values, 'seed', { min: 0, max: 2 ** 31 }, 1);
  const progress = new Progress(values.quiet !== true);
  const report: SoakReport = await soak({
    durationMs: seconds * 1000, writers, seed, minRounds: 1,
    onProgress: (r) => {
      const eta = Math.max(0, seconds - r.elapsedMs / 1000);
      progress.show(
        `soak ${(r.elapsedMs / 1000).toFixed(1)} s (ETA ${eta.toFixed(0)} s)  batches ${r.rounds}`
          + `  stores checked ${r.storesChecked}  crashes ${r.crashes}  violations ${r.violations}`,
      );
    },
  });
  progress.clear();
  for (const m of report.messages) {
    process.stdout.write(
      values.json ? JSON.stringify({ violation: m }) + '\n' : `violation: ${m}\n`,
    );
  }
  const totals = {
    storesChecked: report.storesChecked, violations: report.violations,
    fsckErrors: report.fsckErrors, commits: report.commits, snapshots: report.snapshots,
    reflinks: report.reflinks, freezes: report.freezes, crashes: report.crashes,
    remounts: report.remounts, reboots: report.reboots, batches: report.rounds,
    writerStores: report.writerStores,
    writers, seed, elapsedMs: Math.round(report.elapsedMs),
  };
  if (values.json) process.stdout.write(JSON.stringify(totals) + '\n');
  else for (const [k, v] of Object.entries(totals)) process.stdout.write(`${k.padEnd(14)} ${v}\n`);
  return report.violations || report.fsckErrors ? EXIT_VIOLATIONS : EXIT_CLEAN;
}
