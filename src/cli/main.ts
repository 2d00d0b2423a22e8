#!/usr/bin/env node
// The pmcow command.
import { runDeviceDemo, formatTable } from './demo-device.js';
import { formatScenarioTable } from './scenario-table.js';
import { runScenarios } from '../scenarios/index.js';
import { FsError } from '../errors.js';
import { crc32c, loadCrc32c } from '../csum/crc32c.js';
import { cmdRun, cmdFuzz, cmdReplay, cmdImport, cmdMerge, UsageError, EXIT_USAGE } from './fuzz-commands.js';
import { cmdSoak } from '../soak/cli.js';

const USAGE = `pmcow - a pmem + copy-on-write file system emulator

usage:
  pmcow demo              run the device-model demo (what survives a crash, and why),
                          then the scenarios
  pmcow scenarios         each mailing-list thread's mechanism run on, then off
  pmcow run SCRIPT        run an op script (docs/workload.md)
  pmcow fuzz [options]    crash-consistency fuzzing (pmcow fuzz --help)
  pmcow replay FILE       run a reproducer written by pmcow fuzz --out
  pmcow import fsx|ace F  translate an fsx op log or an ACE workload into an op script
  pmcow merge FILES...    combine the summaries of fuzz shards
  pmcow soak [options]    writer threads, commits, snapshots, reflinks, freezes and
                          crashes for a while, checking every slot (pmcow soak --help)
  pmcow bench             the benchmarks (same as npm run bench)
  pmcow crc32c <text>     crc32c (btrfs flavour) of a string
  pmcow help              this text

exit codes: 0 clean, 1 violations found (or a failed run), 2 usage error, 3 internal error
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'demo': {
      const rows = await runDeviceDemo();
      process.stdout.write('pmcow device model: x86 persistency rules, ADR unless noted\n\n');
      process.stdout.write(formatTable(['scenario', 'legal crash images', 'strict crash', 'random crashes'],
        rows.map((r) => [r.scenario, r.images, r.strictCrash, r.randomCrashes])) + '\n\n');
      return printScenarios();
    }
    case 'scenarios':
      return printScenarios();
    case 'crc32c': {
      if (rest.length !== 1) throw new FsError('EINVAL', 'usage: pmcow crc32c <text>');
      await loadCrc32c();
      process.stdout.write(`0x${crc32c(new TextEncoder().encode(rest[0])).toString(16).padStart(8, '0')}\n`);
      return 0;
    }
    case 'run': return cmdRun(rest);
    case 'fuzz': return cmdFuzz(rest);
    case 'replay': return cmdReplay(rest);
    case 'import': return cmdImport(rest);
    case 'merge': return cmdMerge(rest);
    case 'soak': return cmdSoak(rest);
    case 'bench': {
      const { spawnSync } = await import('node:child_process');
      const r = spawnSync(process.execPath, [new URL('../../bench/run.mjs', import.meta.url).pathname], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    default:
      process.stderr.write(`pmcow: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

async function printScenarios(): Promise<number> {
  const rows = await runScenarios();
  process.stdout.write('pmcow scenarios: each thread\'s mechanism switched on, then off (measured; reproduced = failure off, none on)\n\n');
  process.stdout.write(formatScenarioTable(rows) + '\n');
  const missed = rows.filter((r) => !r.reproduced).length;
  if (missed === 0) return 0;
  process.stdout.write(`\n${missed} of ${rows.length} rows did not reproduce their thread's failure\n`);
  return 1;
}

// `pmcow ... | head`: the reader went away; end quietly with the code so far.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw e;
});

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`pmcow: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else if (error instanceof FsError) {
    process.stderr.write(`pmcow: ${error.message}\n`);
    process.exitCode = 1;
  } else {
    // Never a stack trace on the terminal: one line, and the exit code of an internal error.
    process.stderr.write(`pmcow: internal error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exitCode = 3;
  }
});
