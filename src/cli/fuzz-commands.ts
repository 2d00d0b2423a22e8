// pmcow run / check / fuzz / replay / import / merge.
import { writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FsError } from '../errors.js';
import { runScript, DEFAULT_DEVICE_BYTES, type RunResult } from '../workload/run.js';
import { deviceFromImageOption, runOnImage } from './image-commands.js';
import { parse, ParseError } from '../workload/parse.js';
import { print } from '../workload/print.js';
import { checkScriptSizes } from '../workload/limits.js';
import type { Script } from '../workload/ast.js';
import { importFsx } from '../workload/fsx.js';
import { importAce } from '../workload/ace.js';
import {
  checkScript, reproducerInput, CHECK_LIMITS, DEFAULT_FUZZ_DEVICE_BYTES,
  type CheckOptions, type FuzzFinding, type FuzzReport, type Reproducer, type PolicyName,
} from '../crash/fuzz.js';
import type { Violation } from '../crash/explorer.js';
import { fuzzParallel } from '../crash/fuzz-parallel.js';
import { loadCoreModule } from '../core/module.js';
import { POLICY_NAMES } from '../dax/policy.js';
import {
  EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_INTERNAL, UsageError, parseCommand, intOption, choiceOption,
  readInput, parseJsonInput, type Values,
} from './args.js';
import { Progress } from './progress.js';

export { EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_INTERNAL, UsageError } from './args.js';

/** Read and parse an op script; a syntax error is a UsageError naming file, line and column. */
function readScript(path: string): Script {
  const text = readInput(path, 'script');
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof ParseError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

function out(line: string): void {
  process.stdout.write(line + '\n');
}

// --- run -------------------------------------------------------------------------------

export const RUN_USAGE = `pmcow run SCRIPT [--image FILE] [--json]
  Run an op script (docs/workload.md); print one result per operation.
  --image FILE  run on a device loaded from FILE (written by pmcow export; the script's
                first operation mounts it) instead of a new one (formatted first)
  --json  one JSON object per operation
  Exit 0 when the script ran as written, 1 when an operation had an unexpected outcome,
  2 when SCRIPT cannot be read or parsed.`;

export async function cmdRun(args: string[]): Promise<number> {
  const { positionals, values } = parseCommand(
    'run', args, { json: { type: 'boolean' }, image: { type: 'string' } },
    { min: 1, max: 1, names: 'SCRIPT' },
  );
  const script = readScript(positionals[0]!);
  const image = await deviceFromImageOption(values.image as string | undefined);
  let result: RunResult;
  if (image) {
    const run = await runOnImage(script, image);
    result = run.result;
    run.runner.close();
    image.close();
  } else {
    checkScriptSizes(script, DEFAULT_DEVICE_BYTES);
    result = await runScript(script);
  }
  for (const r of result.results) {
    out(
      values.json ? JSON.stringify(r)
        : `${String(r.line).padStart(4)}  ${r.status === 'ok' ? 'ok   ' : r.errno!.padEnd(5)}  `
          + `${r.text}${r.checksum ? `  crc32c=${r.checksum}` : ''}`
          + `${r.value ? `  ${r.value}` : ''}`,
    );
  }
  if (result.failure) {
    const f = result.failure;
    out(values.json ? JSON.stringify({ failure: f }) : `line ${f.line}: ${f.kind}: ${f.message}`);
    return EXIT_VIOLATIONS;
  }
  return EXIT_CLEAN;
}

// --- options shared by check and fuzz ------------------------------------------------

const CHECK_OPTIONS = {
  samples: { type: 'string' }, bound: { type: 'string' }, points: { type: 'string' },
  'explore-seed': { type: 'string' },
} as const;
const CHECK_OPTIONS_USAGE = `  --samples N       crash images drawn per point beyond the bound `
  + `(default 8, at most ${CHECK_LIMITS.samples.max})
  --bound N         enumerate every image of a point with at most N images (default 10000)
  --points fence|store  crash points before every fence and after every operation
                    (fence, the default), or also before every store`;

function checkOptions(values: Values): CheckOptions {
  const bound = intOption(values, 'bound', CHECK_LIMITS.enumerateBound);
  const points = choiceOption(values, 'points', ['fence', 'store'] as const, 'fence');
  return {
    samples: intOption(values, 'samples', CHECK_LIMITS.samples, 8),
    points: points === 'store' ? 'store+fence+op' : 'fence+op',
    ...(bound !== undefined ? { enumerateBound: bound } : {}),
  };
}

function violationLine(v: Violation, json: boolean): string {
  return json ? JSON.stringify({ kind: v.kind, point: v.point, problems: v.problems })
    : `${v.kind} at ${v.point}: ${v.problems.join('; ')}`;
}

// --- check -----------------------------------------------------------------------------

/** The size of the device a checked script runs on, for the usage text. */
const DEVICE_MIB = DEFAULT_FUZZ_DEVICE_BYTES >> 20;
export const CHECK_USAGE = `pmcow check SCRIPT [--samples N] [--bound N] [--points fence|store] `
  + `[--explore-seed S] [--json]
  Crash-check one op script, as pmcow fuzz checks each of its scripts: every operation's
  result against the reference model, and at every crash point the crash images against
  the states the model allows (docs/crash.md). The script runs on a fresh ${DEVICE_MIB} MiB device.
${CHECK_OPTIONS_USAGE}
  --explore-seed S  seed of the sampled crash images (default 0)
  --json            violations and the summary as JSON lines
  Exit 0 when clean, 1 when violations were found, 2 when SCRIPT cannot be read or parsed.`;

export async function cmdCheck(args: string[]): Promise<number> {
  const { positionals, values } = parseCommand(
    'check', args, { ...CHECK_OPTIONS, json: { type: 'boolean' } },
    { min: 1, max: 1, names: 'SCRIPT' },
  );
  const options: CheckOptions = {
    ...checkOptions(values),
    exploreSeed: intOption(values, 'explore-seed', { min: 0, max: 2 ** 32 - 1 }, 0),
  };
  const script = readScript(positionals[0]!);
  checkScriptSizes(script, DEFAULT_FUZZ_DEVICE_BYTES);
  await loadCoreModule();
  const result = checkScript(script, options);
  const json = values.json === true;
  for (const v of result.violations) out(violationLine(v, json));
  const summary = {
    summary: true, ops: result.ops, points: result.points, images: result.images,
    mounted: result.mounted, violations: result.violations.length, unjudged: result.unjudged,
  };
  out(
    json ? JSON.stringify(summary)
      : `${summary.violations} violations: ${summary.ops} operations, ${summary.points} crash `
        + `points, ${summary.images} crash images (${summary.mounted} `
        + `mounted)${summary.unjudged ? `; not judged after: ${summary.unjudged}` : ''}`,
  );
  const internal = result.violations.filter((v) => v.kind === 'internal-error').length;
  return fuzzExitCode(result.violations.length - internal, internal);
}

// --- fuzz ------------------------------------------------------------------------------

export const FUZZ_USAGE = `pmcow fuzz [--seed S] [--scripts N] [--ops N] [--time SECONDS] `
  + `[--policy NAME=off]
           [--generator fsx|dax|mixed|ace|guided] [--ace-k K] [--samples N] [--bound N]
           [--points fence|store] [--workers W] [--shard k/n] [--out DIR] [--json]
           [--quiet] [--max-findings N]
  Crash-consistency fuzzing: random workloads (or every ACE-style workload of K core
  operations with --generator ace); at every crash point the crash images are
  enumerated (at most --bound per point) or --samples of them are drawn, and each is
  checked against the oracle. Each operation's result is checked against an independent
  model of the file system (docs/crash.md), and every crash image against the states
  that model allows.
  --seed S          seed of the campaign (default 1)
  --scripts N       scripts to run (default 10; ace: every workload)
  --ops N           operations per random script (default 30)
  --time SECONDS    run until this much time has passed (instead of --scripts)
  --generator G     fsx, dax, mixed (default), ace, or guided (the model tests' statements)
  --ace-k K         core operations per ACE workload: 1, 2 or 3 (default 1)
${CHECK_OPTIONS_USAGE}
  --policy NAME=off turn one switch off in every script (${POLICY_NAMES.join(', ')})
  --workers W       check on W worker threads (the same scripts and findings as one)
  --shard k/n       run only scripts i with i mod n = k; combine shards with pmcow merge
  --out DIR         write each finding's reproducer (pmcow replay FILE) and the summary
  --max-findings N  stop after N findings
  --json            findings and the summary as JSON lines on stdout
  --quiet           no progress line (it is shown only when stderr is a terminal)
  Findings are printed as they are found; the summary comes last.
  Exit 0 when clean, 1 when violations were found, 2 on usage errors, 3 when the checker
  failed on some script (findings of kind internal-error) and found no violation.`;

const FUZZ_OPTIONS = {
  ...CHECK_OPTIONS, seed: { type: 'string' }, scripts: { type: 'string' }, ops: { type: 'string' },
  time: { type: 'string' }, policy: { type: 'string' }, generator: { type: 'string' },
  'ace-k': { type: 'string' }, workers: { type: 'string' }, shard: { type: 'string' },
  out: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' },
  'max-findings': { type: 'string' },
} as const;

/** --out must be a directory or a path that does not exist yet; checked before the campaign. */
function prepareOutDir(dir: string): void {
  let isDir = false;
  try { isDir = statSync(dir).isDirectory(); } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`--out '${dir}': ${(e as Error).message}`);
    }
  }
  if (!isDir) {
    try { mkdirSync(dir, { recursive: true }); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST' || code === 'ENOTDIR'
        ? 'is a file, not a directory' : `cannot be created: ${(e as Error).message}`;
      throw new UsageError(`--out '${dir}' ${why}`);
    }
  }
}

/** --policy NAME=off: the switch to turn off, if any. */
function policyOption(values: Values): PolicyName | undefined {
  const policy = values.policy as string | undefined;
  if (policy === undefined) return undefined;
  const m = /^([A-Za-z]+)=off$/.exec(policy);
  if (!m || !(POLICY_NAMES as string[]).includes(m[1]!)) {
    throw new UsageError(`--policy must be NAME=off with NAME one of ${POLICY_NAMES.join(', ')}`);
  }
  return m[1] as PolicyName;
}

/** --shard k/n, if given. */
function shardOption(values: Values): { index: number; count: number } | undefined {
  const shardText = values.shard as string | undefined;
  if (shardText === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(shardText);
  if (!m || Number(m[1]) >= Number(m[2]) || Number(m[2]) < 1 || Number(m[2]) > 1_000_000) {
    throw new UsageError('--shard must be k/n with 0 <= k < n');
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}

export async function cmdFuzz(args: string[]): Promise<number> {
  const { values } = parseCommand('fuzz', args, FUZZ_OPTIONS, { min: 0, max: 0, names: '' });
  const policyOff = policyOption(values);
  const shard = shardOption(values);
  const generator = choiceOption(
    values, 'generator', ['fsx', 'dax', 'mixed', 'ace', 'guided'] as const, 'mixed',
  );
  const workers = intOption(values, 'workers', { min: 1, max: 64 }, 1);
  const aceK = intOption(values, 'ace-k', { min: 1, max: 3 }, 1);
  const time = intOption(values, 'time', { min: 1, max: 30 * 24 * 3600 });
  const scripts = intOption(values, 'scripts', { min: 1, max: 1e9 });
  const seed = intOption(values, 'seed', { min: 0, max: 2 ** 32 - 1 }, 1);
  const ops = intOption(values, 'ops', { min: 1, max: 10_000 }, 30);
  const maxFindings = intOption(values, 'max-findings', { min: 1, max: 1e9 });
  const check = checkOptions(values);
  const json = values.json === true;
  const outDir = values.out as string | undefined;
  if (outDir !== undefined) prepareOutDir(outDir);
  const progress = new Progress(values.quiet !== true);
  let printed = 0;
  const onFinding = (f: FuzzFinding): void => {
    const file = outDir !== undefined
      ? join(outDir, `reproducer-${shard?.index ?? 0}-${f.script}.json`) : null;
    const text = JSON.stringify(f.reproducer, null, 1) + '\n';
    if (file) writeFileSync(file, text);
    const bytes = new TextEncoder().encode(text).length;
    progress.clear();
    out(json ? JSON.stringify({
      finding: printed, kind: f.kind, script: f.script, scriptSeed: f.scriptSeed,
      point: f.violation.point, problems: f.violation.problems,
      elapsedMs: f.elapsedMs, images: f.images, reproducerBytes: bytes,
      ...(file ? { reproducer: file } : {}),
    }) : `finding ${printed}: ${f.kind} in script ${f.script} at ${f.violation.point}: `
      + `${f.violation.problems.join('; ')}${file ? ` (reproducer ${file}, ${bytes} bytes)` : ''}`);
    printed++;
  };
  const planned = scripts ?? (time === undefined && generator !== 'ace' ? 10 : undefined);
  const report: FuzzReport = await fuzzParallel({
    onFinding, ...(maxFindings !== undefined ? { maxFindings } : {}),
    workers, aceK, seed, ops, generator, ...check,
    ...(planned !== undefined ? { scripts: planned } : {}),
    ...(time !== undefined ? { timeMs: time * 1000 } : {}),
    ...(policyOff ? { policyOff } : {}), ...(shard ? { shard } : {}),
    onScript: (p) => {
      const rate = p.images / Math.max(0.001, p.elapsedMs / 1000);
      const eta = time !== undefined ? Math.max(0, time - p.elapsedMs / 1000)
        : planned !== undefined && p.scripts > 0
          ? (p.elapsedMs / 1000) * (planned - p.scripts) / p.scripts : null;
      progress.show(
        `scripts ${p.scripts}${planned !== undefined ? `/${planned}` : ''}  crash images `
          + `${p.images} (${rate.toFixed(0)}/s)  findings `
          + `${printed}${eta !== null ? `  ETA ${eta.toFixed(0)} s` : ''}`,
      );
    },
  });
  progress.clear();
  printFuzzSummary(report, shard, json, outDir);
  return fuzzExitCode(report.findings.length - report.internalErrors, report.internalErrors);
}

/** The campaign's summary line, on stdout and (with --out) in summary-K.json. */
function printFuzzSummary(
  report: FuzzReport, shard: { index: number; count: number } | undefined, json: boolean,
  outDir: string | undefined,
): void {
  const summary = {
    summary: true, shard: shard ?? { index: 0, count: 1 }, scripts: report.scripts, ops: report.ops,
    points: report.points, images: report.images, mounted: report.mounted,
    violations: report.violations, findings: report.findings.length,
    internalErrors: report.internalErrors, unjudged: report.unjudged,
    elapsedMs: Math.round(report.elapsedMs), imagesPerSecond: Math.round(report.imagesPerSecond),
  };
  out(
    json ? JSON.stringify(summary)
      : `${summary.findings} findings (${summary.violations} violations, `
        + `${summary.internalErrors} internal errors): ${summary.scripts} scripts, ${summary.ops} `
        + `operations, ${summary.images} crash images (${summary.mounted} mounted) in `
        + `${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.imagesPerSecond} images/s`,
  );
  if (outDir !== undefined) {
    writeFileSync(
      join(outDir, `summary-${shard?.index ?? 0}.json`), JSON.stringify(summary) + '\n',
    );
  }
}

/** 1 when violations were found, else 3 when the checker failed on some script, else 0. */
export function fuzzExitCode(violations: number, internalErrors: number): number {
  if (violations > 0) return EXIT_VIOLATIONS;
  return internalErrors > 0 ? EXIT_INTERNAL : EXIT_CLEAN;
}

// --- replay ----------------------------------------------------------------------------

export const REPLAY_USAGE = `pmcow replay FILE [--image-out IMG] [--json]
  Run a reproducer written by pmcow fuzz --out: the same script, the same crash choices.
  --image-out IMG  write the first violating crash image to IMG (a device image: pmcow run
                   --image IMG SCRIPT mounts it; PmemDevice.fromImage loads it)
  --json  the recorded and found violations as JSON lines
  Exit 1 when the violation reproduces, 0 when it does not, 2 when FILE is not a
  reproducer (or asks for more than the limits: a device of 1-256 MiB, at most
  ${CHECK_LIMITS.samples.max} samples, data lengths within the device).`;

export async function cmdReplay(args: string[]): Promise<number> {
  const { positionals, values } = parseCommand(
    'replay', args, { json: { type: 'boolean' }, 'image-out': { type: 'string' } },
    { min: 1, max: 1, names: 'FILE' },
  );
  const path = positionals[0]!;
  const reproducer = parseJsonInput(
    readInput(path, 'reproducer'), path, 'reproducer',
  ) as Reproducer;
  let input: ReturnType<typeof reproducerInput>;
  try {
    input = reproducerInput(reproducer);
  } catch (e) {
    if (e instanceof FsError || e instanceof ParseError) {
      throw new UsageError(`${path}: ${e.message}`);
    }
    throw e;
  }
  await loadCoreModule();
  const imageOut = values['image-out'] as string | undefined;
  let image: Uint8Array | null = null;
  const result = checkScript(input.script, input.options, undefined, imageOut === undefined ? {} : {
    onViolationImage: (_v, device) => { image ??= device.exportMedia(); },
  });
  const json = values.json === true;
  if (imageOut !== undefined) {
    if (image) {
      writeFileSync(imageOut, image);
      out(
        json ? JSON.stringify({ image: imageOut, bytes: (image as Uint8Array).length })
          : `${imageOut}: the first violating crash image (${(image as Uint8Array).length} bytes)`,
      );
    } else {
      out(
        json ? JSON.stringify({ image: null })
          : `${imageOut}: not written (no crash image violated: the violations found are of other `
            + `kinds, or none)`,
      );
    }
  }
  const problems = Array.isArray(reproducer.problems) ? reproducer.problems.map(String) : [];
  out(
    json ? JSON.stringify({ recorded: { point: reproducer.point, problems } })
      : `recorded: ${reproducer.point}: ${problems.join('; ')}`,
  );
  for (const v of result.violations.slice(0, 5)) {
    out(
      json ? JSON.stringify({ found: { kind: v.kind, point: v.point, problems: v.problems } })
        : `found:    ${v.point}: ${v.problems.join('; ')}`,
    );
  }
  out(
    json ? JSON.stringify({
      summary: true, violations: result.violations.length, images: result.images,
    }) : `${result.violations.length} violations (${result.images} crash images checked)`,
  );
  return result.violations.length ? EXIT_VIOLATIONS : EXIT_CLEAN;
}

// --- import ----------------------------------------------------------------------------

export const IMPORT_USAGE = `pmcow import fsx|ace FILE [--json]
  Translate an fsx op log (--replay-ops format) or a CrashMonkey/ACE j-lang workload into
  an op script on stdout; unsupported operations are listed on stderr by name and line.
  --json  one JSON object: { script, unsupported }`;

export function cmdImport(args: string[]): number {
  const { positionals, values } = parseCommand(
    'import', args, { json: { type: 'boolean' } }, { min: 2, max: 2, names: 'fsx|ace FILE' },
  );
  const kind = positionals[0]!;
  if (kind !== 'fsx' && kind !== 'ace') {
    throw new UsageError(`import: the format must be fsx or ace, got '${kind}'`);
  }
  const text = readInput(positionals[1]!, `${kind} file`);
  const result = kind === 'fsx' ? importFsx(text) : importAce(text);
  if (values.json) {
    out(JSON.stringify({ script: print(result.script), unsupported: result.unsupported }));
    return EXIT_CLEAN;
  }
  out(print(result.script));
  for (const u of result.unsupported) process.stderr.write(`unsupported: ${JSON.stringify(u)}\n`);
  return EXIT_CLEAN;
}

// --- merge -----------------------------------------------------------------------------

export const MERGE_USAGE = `pmcow merge SUMMARY... [--json]
  Combine the summary lines (or summary-*.json files) of the shards of one fuzz campaign
  (pmcow fuzz --shard k/n) into one summary. Every shard must come once, all with the same n.
  --json  the merged summary as one JSON line
  Exit 1 when the shards found anything, 0 when not, 2 on unreadable input or a shard
  given twice.`;

const SUMMED = [
  'scripts', 'ops', 'points', 'images', 'mounted', 'violations', 'findings', 'internalErrors',
  'elapsedMs',
] as const;

export function cmdMerge(args: string[]): number {
  const { positionals, values } = parseCommand(
    'merge', args, { json: { type: 'boolean' } }, { min: 1, max: 100_000, names: 'SUMMARY...' },
  );
  const total: Record<string, unknown> & Record<(typeof SUMMED)[number], number> = {
    summary: true, shards: 0, scripts: 0, ops: 0, points: 0, images: 0, mounted: 0, violations: 0,
    findings: 0, internalErrors: 0, elapsedMs: 0,
  };
  const seen = new Map<number, string>();
  let count: number | null = null;
  for (const file of positionals) {
    let found = 0;
    readInput(file, 'summary').split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      const s = parseJsonInput(line, `${file}:${i + 1}`, 'summary line') as Record<string, unknown>;
      if (!s || typeof s !== 'object' || s.summary !== true) return;
      found++;
      const shard = s.shard as { index?: unknown; count?: unknown } | undefined;
      const index = Number(shard?.index ?? 0), n = Number(shard?.count ?? 1);
      if (!Number.isSafeInteger(index) || !Number.isSafeInteger(n) || index < 0 || index >= n) {
        throw new UsageError(
          `${file}:${i + 1}: not a shard summary (shard ${JSON.stringify(s.shard)})`,
        );
      }
      if (count !== null && n !== count) {
        throw new UsageError(
          `${file}:${i + 1}: shard ${index}/${n} is from a campaign of ${n} shards, the others of `
            + `${count}`,
        );
      }
      count = n;
      const earlier = seen.get(index);
      if (earlier !== undefined) {
        throw new UsageError(
          `shard ${index}/${n} is given twice (${earlier} and ${file}:${i + 1})`,
        );
      }
      seen.set(index, `${file}:${i + 1}`);
      total.shards = (total.shards as number) + 1;
      for (const k of SUMMED) total[k] += Number(s[k] ?? 0);
    });
    if (found === 0) {
      throw new UsageError(
        `'${file}' holds no fuzz summary line (pmcow fuzz prints one last; --out writes `
          + `summary-K.json)`,
      );
    }
  }
  if (count !== null && seen.size < count) {
    total.missingShards = [...Array(count as number).keys()].filter((k) => !seen.has(k));
  }
  out(
    values.json ? JSON.stringify(total)
      : `${total.findings} findings (${total.violations} violations, ${total.internalErrors} `
        + `internal errors) in ${total.shards as number} of ${count} shards: ${total.scripts} `
        + `scripts, ${total.images} crash images`
        + (total.missingShards
          ? `; missing shards: ${(total.missingShards as number[]).join(', ')}` : ''),
  );
  return fuzzExitCode(total.findings - total.internalErrors, total.internalErrors);
}
