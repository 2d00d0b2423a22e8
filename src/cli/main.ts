#!/usr/bin/env node
// The pmcow command: a table of commands, each with its usage. `-h`/`--help` anywhere
// before `--` prints the command's usage and never runs it; every error is one line on
// stderr with an exit code (0 clean, 1 violations, 2 usage or input error, 3 internal).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDeviceDemo, formatTable } from './demo-device.js';
import { formatScenarioTable } from './scenario-table.js';
import { runScenarios } from '../scenarios/index.js';
import { FsError } from '../errors.js';
import { crc32c, loadCrc32c } from '../csum/crc32c.js';
import {
  cmdRun, cmdCheck, cmdFuzz, cmdReplay, cmdImport, cmdMerge,
  RUN_USAGE, CHECK_USAGE, FUZZ_USAGE, REPLAY_USAGE, IMPORT_USAGE, MERGE_USAGE,
} from './fuzz-commands.js';
import {
  EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_INTERNAL, UsageError, wantsHelp, parseCommand, describeFailure,
} from './args.js';
import { cmdSoak, SOAK_USAGE } from './soak-command.js';
import { cmdExport, EXPORT_USAGE } from './image-commands.js';

/** bench/ ships with a clone of the repository, not with the npm package. */
const BENCH_SCRIPT = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

interface Command { usage: string; summary: string; run(args: string[]): Promise<number> | number }

const JSON_ONLY = { json: { type: 'boolean' } } as const;

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'the device-model demo (what survives a crash, and why), then the scenarios',
    usage: `pmcow demo [--json]
  Run the device-model demo (what survives a crash under the x86 persistency rules, and
  why), then the scenarios (pmcow scenarios).
  --json  the rows as JSON lines
  Exit 0 when every scenario row reproduced its thread's failure with its switch off.`,
    run: async (args) => {
      const { values } = parseCommand('demo', args, JSON_ONLY, { min: 0, max: 0, names: '' });
      const rows = await runDeviceDemo();
      if (values.json) {
        for (const r of rows) process.stdout.write(JSON.stringify({ demo: r }) + '\n');
      } else {
        process.stdout.write('pmcow device model: x86 persistency rules, ADR unless noted\n\n');
        const headers = ['scenario', 'legal crash images', 'strict crash', 'random crashes'];
        const cells = rows.map((r) => [r.scenario, r.images, r.strictCrash, r.randomCrashes]);
        process.stdout.write(formatTable(headers, cells) + '\n\n');
      }
      return printScenarios(values.json === true);
    },
  },
  scenarios: {
    summary: "each mailing-list thread's mechanism run on, then off",
    usage: `pmcow scenarios [--json]
  Run each mailing-list thread's mechanism switched on, then off (docs/threads.md), and
  show whether the thread's failure reproduces with the switch off.
  --json  the rows as JSON lines
  Exit 0 when every row reproduced, 1 when some did not.`,
    run: (args) => {
      const { values } = parseCommand('scenarios', args, JSON_ONLY, { min: 0, max: 0, names: '' });
      return printScenarios(values.json === true);
    },
  },
  run: { summary: 'run an op script (docs/workload.md)', usage: RUN_USAGE, run: cmdRun },
  export: {
    summary: 'write a device image (media bytes or a crash image) after an op script',
    usage: EXPORT_USAGE, run: cmdExport,
  },
  check: {
    summary: 'crash-check one op script against the reference model', usage: CHECK_USAGE,
    run: cmdCheck,
  },
  fuzz: { summary: 'crash-consistency fuzzing', usage: FUZZ_USAGE, run: cmdFuzz },
  replay: {
    summary: 'run a reproducer written by pmcow fuzz --out', usage: REPLAY_USAGE, run: cmdReplay,
  },
  import: {
    summary: 'translate an fsx op log or an ACE workload into an op script', usage: IMPORT_USAGE,
    run: cmdImport,
  },
  merge: { summary: 'combine the summaries of fuzz shards', usage: MERGE_USAGE, run: cmdMerge },
  soak: {
    summary: 'writer threads, commits, snapshots, reflinks, freezes and crashes, checked',
    usage: SOAK_USAGE, run: cmdSoak,
  },
  crc32c: {
    summary: 'crc32c (btrfs flavour) of a string',
    usage: `pmcow crc32c TEXT [--json]
  Print the crc32c (Castagnoli, as btrfs uses it) of TEXT's UTF-8 bytes.`,
    run: async (args) => {
      const { positionals, values } = parseCommand(
        'crc32c', args, JSON_ONLY, { min: 1, max: 1, names: 'TEXT' },
      );
      await loadCrc32c();
      const crc = crc32c(new TextEncoder().encode(positionals[0]));
      const hex = `0x${crc.toString(16).padStart(8, '0')}`;
      process.stdout.write(values.json ? JSON.stringify({ crc32c: hex }) + '\n' : hex + '\n');
      return EXIT_CLEAN;
    },
  },
  ...(existsSync(BENCH_SCRIPT) ? {
    bench: {
      summary: 'the benchmarks (a clone of the repository only; same as npm run bench)',
      usage: `pmcow bench [GROUP...]
  Run the tinybench benchmarks (bench/run.mjs) and rewrite bench/results.md and
  bench/results.json. GROUP is one of crc32c, store, fs, dax, crash (default: all).
  Needs a clone of the repository: bench/ is not part of the npm package.`,
      run: async (args: string[]): Promise<number> => {
        const { positionals } = parseCommand(
          'bench', args, {}, { min: 0, max: 5, names: 'GROUP...' },
        );
        const { spawnSync } = await import('node:child_process');
        const r = spawnSync(process.execPath, [BENCH_SCRIPT, ...positionals], { stdio: 'inherit' });
        return r.status ?? EXIT_INTERNAL;
      },
    } satisfies Command,
  } : {}),
};

function version(): string {
  return (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return `pmcow ${version()} - a pmem + copy-on-write file system emulator

usage: pmcow COMMAND [options]     (pmcow COMMAND --help for its options)

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}
  ${'help'.padEnd(width)}  this text (also -h, --help); --version prints the version

exit codes: 0 clean, 1 violations found (or a failed run), 2 usage or input error,
3 internal error (the checker itself failed)
`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
    const topic = command === 'help' && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    process.stdout.write(topic ? topic.usage + '\n' : usage());
    return EXIT_CLEAN;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return EXIT_CLEAN;
  }
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command]! : undefined;
  if (!entry) {
    const hint = command === 'bench'
      ? ': bench/ is not in the npm package (run it from a clone of the repository)' : '';
    throw new UsageError(`unknown command '${command}'${hint} (pmcow --help lists the commands)`);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(entry.usage + '\n');
    return EXIT_CLEAN;
  }
  return entry.run(rest);
}

async function printScenarios(json: boolean): Promise<number> {
  const rows = await runScenarios();
  if (json) for (const r of rows) process.stdout.write(JSON.stringify({ scenario: r }) + '\n');
  else {
    process.stdout.write(
      'pmcow scenarios: each thread\'s mechanism switched on, then off (measured; reproduced = '
        + 'failure off, none on)\n\n',
    );
    process.stdout.write(formatScenarioTable(rows) + '\n');
  }
  const missed = rows.filter((r) => !r.reproduced).length;
  if (missed === 0) return EXIT_CLEAN;
  if (!json) {
    process.stdout.write(
      `\n${missed} of ${rows.length} rows did not reproduce their thread's failure\n`,
    );
  }
  return EXIT_VIOLATIONS;
}

// `pmcow ... | head`: the reader went away; end quietly with the code so far.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_CLEAN);
    }
    process.exitCode = EXIT_INTERNAL;
  });
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  const { code, line } = describeFailure(error, (e) => e instanceof FsError);
  process.stderr.write(line + '\n');
  process.exitCode = code;
});
