// pmcow run / fuzz / replay / import / merge.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FsError } from '../errors.js';
import { runScript } from '../workload/run.js';
import { print } from '../workload/print.js';
import { importFsx } from '../workload/fsx.js';
import { importAce } from '../workload/ace.js';
import { replay, type FuzzFinding, type FuzzReport, type Reproducer, type PolicyName } from '../crash/fuzz.js';
import { fuzzParallel } from '../crash/fuzz-parallel.js';
import { loadCoreModule } from '../core/module.js';
import { POLICY_NAMES } from '../dax/policy.js';

export const EXIT_CLEAN = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_USAGE = 2;
/** The checker itself failed (findings of kind internal-error) and found no violation. */
export const EXIT_INTERNAL = 3;

export class UsageError extends Error {}

/** Parse `--name value` and `--flag` options after the positional arguments. */
export function parseFlags(args: string[], known: Record<string, 'value' | 'flag'>): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const kind = known[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'flag') { flags.set(name, 'true'); continue; }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.set(name, name === 'policy' && flags.has('policy') ? `${flags.get('policy')},${value}` : value);
  }
  return { positional, flags };
}

function int(flags: Map<string, string>, name: string, fallback?: number): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
}

export const RUN_USAGE = `pmcow run SCRIPT [--json]
  Run an op script (docs/workload.md); print one result per operation.
  Exit 0 when the script ran as written, 1 when an operation had an unexpected outcome.`;

export async function cmdRun(args: string[]): Promise<number> {
  const { positional, flags } = parseFlags(args, { json: 'flag', help: 'flag' });
  if (flags.has('help')) { process.stdout.write(RUN_USAGE + '\n'); return EXIT_CLEAN; }
  if (positional.length !== 1) throw new UsageError('pmcow run needs one SCRIPT');
  const result = await runScript(readFileSync(positional[0]!, 'utf8'));
  for (const r of result.results) {
    process.stdout.write(flags.has('json') ? JSON.stringify(r) + '\n' : `${String(r.line).padStart(4)}  ${r.status === 'ok' ? 'ok   ' : r.errno!.padEnd(5)}  ${r.text}${r.checksum ? `  crc32c=${r.checksum}` : ''}${r.value ? `  ${r.value}` : ''}\n`);
  }
  if (result.failure) {
    process.stdout.write(`line ${result.failure.line}: ${result.failure.kind}: ${result.failure.message}\n`);
    return EXIT_VIOLATIONS;
  }
  return EXIT_CLEAN;
}

export const FUZZ_USAGE = `pmcow fuzz [--seed S] [--scripts N] [--ops N] [--time SECONDS] [--policy NAME=off]
           [--generator fsx|dax|mixed|ace] [--ace-k K] [--samples N] [--bound N]
           [--points fence|store] [--workers W] [--shard k/n] [--out DIR] [--quiet]
           [--max-findings N]
  Crash-consistency fuzzing: random workloads (or every ACE-style workload of K core
  operations with --generator ace); at every crash point the crash images are
  enumerated (at most --bound per point, default 10000) or --samples of them are drawn,
  and each is checked against the oracle. Crash points: before every fence and after
  every operation (--points fence, the default), or also before every store (store).
  Each operation's result is checked against an independent model of the file system
  (docs/crash.md), and every crash image against the states that model allows.
  Progress goes to stderr; one JSON line per finding (printed as it is found: kind,
  point, problems, elapsedMs, images) and a summary line go to stdout; with --out,
  reproducers are written to DIR as they are found (run them with pmcow replay).
  --max-findings N stops the campaign after N findings.
  --workers W checks on W worker threads (the same scripts and findings as one thread).
  --shard k/n runs only scripts i with i mod n = k (0 <= k < n): shards of one campaign
  can run on different machines and be combined with pmcow merge.
  Exit 0 when clean, 1 when violations were found, 2 on usage errors, 3 when the checker
  failed on some script (findings of kind internal-error) and found no violation.`;

export async function cmdFuzz(args: string[]): Promise<number> {
  const { flags } = parseFlags(args, { seed: 'value', scripts: 'value', ops: 'value', time: 'value', policy: 'value', generator: 'value', samples: 'value', shard: 'value', out: 'value', quiet: 'flag', help: 'flag', workers: 'value', 'ace-k': 'value', bound: 'value', points: 'value', 'max-findings': 'value' });
  if (flags.has('help')) { process.stdout.write(FUZZ_USAGE + '\n'); return EXIT_CLEAN; }
  let policyOff: PolicyName | undefined;
  const policy = flags.get('policy');
  if (policy) {
    const m = /^([A-Za-z]+)=off$/.exec(policy);
    if (!m || !(POLICY_NAMES as string[]).includes(m[1]!)) throw new UsageError(`--policy must be NAME=off with NAME one of ${POLICY_NAMES.join(', ')}`);
    policyOff = m[1] as PolicyName;
  }
  let shard: { index: number; count: number } | undefined;
  const shardText = flags.get('shard');
  if (shardText) {
    const m = /^(\d+)\/(\d+)$/.exec(shardText);
    if (!m || Number(m[1]) >= Number(m[2]) || Number(m[2]) < 1) throw new UsageError('--shard must be k/n with 0 <= k < n');
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  const generator = flags.get('generator') ?? 'mixed';
  if (!['fsx', 'dax', 'mixed', 'ace'].includes(generator)) throw new UsageError('--generator must be fsx, dax, mixed or ace');
  const workers = int(flags, 'workers', 1)!;
  if (workers < 1 || workers > 64) throw new UsageError('--workers must be from 1 to 64');
  const aceK = int(flags, 'ace-k', 1)!;
  if (aceK < 1 || aceK > 3) throw new UsageError('--ace-k must be 1, 2 or 3');
  const points = flags.get('points') ?? 'fence';
  if (!['fence', 'store'].includes(points)) throw new UsageError('--points must be fence or store');
  const bound = int(flags, 'bound');
  const time = int(flags, 'time');
  const out = flags.get('out');
  const quiet = flags.has('quiet');
  const maxFindings = int(flags, 'max-findings');
  if (out) mkdirSync(out, { recursive: true });
  let printed = 0;
  const onFinding = (f: FuzzFinding): void => {
    const file = out ? join(out, `reproducer-${shard?.index ?? 0}-${f.script}.json`) : null;
    const text = JSON.stringify(f.reproducer, null, 1) + '\n';
    if (file) writeFileSync(file, text);
    if (!quiet) process.stderr.write('\n');
    process.stdout.write(JSON.stringify({
      finding: printed++, kind: f.kind, script: f.script, scriptSeed: f.scriptSeed, point: f.violation.point, problems: f.violation.problems,
      elapsedMs: f.elapsedMs, images: f.images, reproducerBytes: new TextEncoder().encode(text).length, ...(file ? { reproducer: file } : {}),
    }) + '\n');
  };
  const report: FuzzReport = await fuzzParallel({
    onFinding, ...(maxFindings !== undefined ? { maxFindings } : {}),
    workers, aceK, points: points === 'store' ? 'store+fence+op' : 'fence+op', ...(bound !== undefined ? { enumerateBound: bound } : {}),
    seed: int(flags, 'seed', 1)!, ops: int(flags, 'ops', 30)!, generator: generator as 'fsx' | 'dax' | 'mixed' | 'ace',
    samples: int(flags, 'samples', 8)!,
    ...(int(flags, 'scripts') !== undefined ? { scripts: int(flags, 'scripts')! } : time === undefined && generator !== 'ace' ? { scripts: 10 } : {}),
    ...(time !== undefined ? { timeMs: time * 1000 } : {}),
    ...(policyOff ? { policyOff } : {}), ...(shard ? { shard } : {}),
    onScript: (p) => {
      if (quiet) return;
      const rate = p.images / Math.max(0.001, p.elapsedMs / 1000);
      process.stderr.write(`\r[${'#'.repeat(Math.min(30, p.scripts))}] scripts ${p.scripts}  ops ${p.ops}  crash images ${p.images} (${rate.toFixed(0)}/s, ${p.mounted} mounted)  violations ${p.violations}   `);
    },
  });
  if (!quiet) process.stderr.write('\n');
  const summary = {
    summary: true, shard: shard ?? { index: 0, count: 1 }, scripts: report.scripts, ops: report.ops, points: report.points, images: report.images,
    mounted: report.mounted, violations: report.violations, findings: report.findings.length, internalErrors: report.internalErrors, unjudged: report.unjudged,
    elapsedMs: Math.round(report.elapsedMs), imagesPerSecond: Math.round(report.imagesPerSecond),
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (out) writeFileSync(join(out, `summary-${shard?.index ?? 0}.json`), JSON.stringify(summary) + '\n');
  return fuzzExitCode(report.findings.length - report.internalErrors, report.internalErrors);
}

/** 1 when violations were found, else 3 when the checker failed on some script, else 0. */
export function fuzzExitCode(violations: number, internalErrors: number): number {
  if (violations > 0) return EXIT_VIOLATIONS;
  return internalErrors > 0 ? EXIT_INTERNAL : EXIT_CLEAN;
}

export const REPLAY_USAGE = `pmcow replay FILE
  Run a reproducer written by pmcow fuzz --out: the same script, the same crash choices.
  Exit 1 when the violation reproduces, 0 when it does not.`;

export async function cmdReplay(args: string[]): Promise<number> {
  const { positional, flags } = parseFlags(args, { help: 'flag' });
  if (flags.has('help')) { process.stdout.write(REPLAY_USAGE + '\n'); return EXIT_CLEAN; }
  if (positional.length !== 1) throw new UsageError('pmcow replay needs one FILE');
  let reproducer: Reproducer;
  try { reproducer = JSON.parse(readFileSync(positional[0]!, 'utf8')) as Reproducer; } catch (e) { throw new FsError('EINVAL', `cannot read reproducer: ${(e as Error).message}`); }
  await loadCoreModule();
  const result = replay(reproducer);
  process.stdout.write(`recorded: ${reproducer.point}: ${reproducer.problems.join('; ')}\n`);
  for (const v of result.violations.slice(0, 5)) process.stdout.write(`found:    ${v.point}: ${v.problems.join('; ')}\n`);
  process.stdout.write(`${result.violations.length} violations (${result.images} crash images checked)\n`);
  return result.violations.length ? EXIT_VIOLATIONS : EXIT_CLEAN;
}

export const IMPORT_USAGE = `pmcow import fsx|ace FILE
  Translate an fsx op log (--replay-ops format) or a CrashMonkey/ACE j-lang workload into
  an op script on stdout; unsupported operations are listed on stderr by name and line.`;

export function cmdImport(args: string[]): number {
  const { positional, flags } = parseFlags(args, { help: 'flag' });
  if (flags.has('help')) { process.stdout.write(IMPORT_USAGE + '\n'); return EXIT_CLEAN; }
  if (positional.length !== 2 || !['fsx', 'ace'].includes(positional[0]!)) throw new UsageError('pmcow import needs fsx|ace and a FILE');
  const text = readFileSync(positional[1]!, 'utf8');
  const result = positional[0] === 'fsx' ? importFsx(text) : importAce(text);
  process.stdout.write(print(result.script) + '\n');
  for (const u of result.unsupported) process.stderr.write(`unsupported: ${JSON.stringify(u)}\n`);
  return EXIT_CLEAN;
}

export const MERGE_USAGE = `pmcow merge SUMMARY...
  Combine the summary lines (or summary-*.json files) of fuzz shards into one summary.`;

export function cmdMerge(args: string[]): number {
  const { positional, flags } = parseFlags(args, { help: 'flag' });
  if (flags.has('help')) { process.stdout.write(MERGE_USAGE + '\n'); return EXIT_CLEAN; }
  if (positional.length === 0) throw new UsageError('pmcow merge needs summary files');
  const total = { summary: true, shards: 0, scripts: 0, ops: 0, points: 0, images: 0, mounted: 0, violations: 0, findings: 0, elapsedMs: 0 };
  for (const file of positional) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const s = JSON.parse(line) as Record<string, unknown>;
      if (s.summary !== true) continue;
      total.shards++;
      for (const k of ['scripts', 'ops', 'points', 'images', 'mounted', 'violations', 'findings', 'elapsedMs'] as const) total[k] += Number(s[k] ?? 0);
    }
  }
  process.stdout.write(JSON.stringify(total) + '\n');
  return total.findings ? EXIT_VIOLATIONS : EXIT_CLEAN;
}

