#!/usr/bin/env node
// The mutation score of the crash-consistency fuzzer: every mutant of test/mutants/mutants.mjs
// is applied to a copy of the built file system, `pmcow fuzz` runs on it with its defaults
// (for --mutant-time seconds), and the table says which mutants it found, how fast, and
// whether the reproducer it wrote replays. docs/mutants.md has the details.
//
//   npm run build && node test/mutants/run.mjs [--mutant-time S] [--only ID[,ID...]] [--jobs J]
//                                              [--no-baseline] [--keep] [--fuzz-arg ARG]...
//
// Exit 0 whatever the score; 2 when a selected mutant is stale (a find text no longer
// matches exactly once), does not compile, or the command line or the build is wrong.
import { spawn } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { mutants as allMutants } from './mutants.mjs';
import { ROOT, TARGET_DIRS, applyMutant, distPathOf, readSource, transpile, typeCheck, isCoreFile, coreParseErrors } from './lib.mjs';

const USAGE = `node test/mutants/run.mjs [options]     (npm run mutants builds first)
  --mutant-time S   fuzz each mutant for S seconds (pmcow fuzz --time S; default 60);
                    the hard timeout of a campaign is S + 30 seconds
  --only ID[,ID]    run only these mutants (repeatable)
  --jobs J          run J mutants at once (default 1; each campaign uses one core)
  --no-baseline     skip the campaign on the unmutated build
  --keep            keep the temporary directories (printed) instead of removing them
  --fuzz-arg ARG    pass ARG on to pmcow fuzz after the defaults (repeatable; for
                    debugging only: scores are measured with the defaults)
  --list            print the mutants and exit
  --list-md         print the mutants as the markdown table of docs/mutants.md and exit
Exit 0 whatever the score; 2 when a selected mutant is stale or does not compile.`;

const EXIT_OK = 0;
const EXIT_BROKEN = 2;

// --- command line ------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { mutantTime: 60, only: [], jobs: 1, baseline: true, keep: false, fuzzArgs: [], list: false, listMd: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    const int = (min) => {
      const v = value();
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got '${v}'`);
      return n;
    };
    switch (name) {
      case '--mutant-time': opts.mutantTime = int(1); break;
      case '--only': opts.only.push(...value().split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--jobs': opts.jobs = int(1); break;
      case '--no-baseline': opts.baseline = false; break;
      case '--keep': opts.keep = true; break;
      case '--fuzz-arg': opts.fuzzArgs.push(value()); break;
      case '--list': opts.list = true; break;
      case '--list-md': opts.listMd = true; break;
      case '--help': case '-h': process.stdout.write(USAGE + '\n'); process.exit(EXIT_OK); break;
      default: throw new UsageError(`unknown option ${a}`);
    }
  }
  return opts;
}

class UsageError extends Error {}

// --- preparing a mutant -------------------------------------------------------------------

/**
 * Apply every selected mutant to the current sources, transpile the patched file and
 * type-check it against the project. Returns the prepared mutants and the broken ones.
 */
function prepare(selected) {
  const prepared = [];
  const broken = [];
  let program;
  for (const m of selected) {
    const problems = [];
    if (!TARGET_DIRS.some((d) => m.file.startsWith(d))) problems.push(`${m.file} is not under ${TARGET_DIRS.join(', ')}`);
    if (!existsSync(join(ROOT, m.file))) {
      broken.push({ mutant: m, status: 'stale', problems: [...problems, `${m.file} does not exist`] });
      continue;
    }
    const applied = applyMutant(m, readSource(m.file));
    if (applied.problems.length || problems.length) {
      broken.push({ mutant: m, status: 'stale', problems: [...problems, ...applied.problems] });
      continue;
    }
    if (isCoreFile(m.file)) {
      // The core: compiled (buildCores) once the list is checked.
      const errors = coreParseErrors(applied.text, m.file);
      if (errors.length) broken.push({ mutant: m, status: 'compile-error', problems: errors });
      else prepared.push({ mutant: m, coreText: applied.text });
      continue;
    }
    const out = transpile(applied.text, m.file);
    const checked = typeCheck({ [m.file]: applied.text }, program);
    program = checked.program;
    const errors = [...out.errors, ...checked.errors];
    if (errors.length) {
      broken.push({ mutant: m, status: 'compile-error', problems: errors });
      continue;
    }
    prepared.push({ mutant: m, js: out.js, sourceMapText: out.sourceMapText });
  }
  return { prepared, broken };
}

/**
 * Build the core of every mutant of an assembly/ file: a copy of assembly/ with the patched
 * file, compiled with asconfig.json's release target (what pmcow fuzz loads). Sets
 * p.wasmPath; returns the mutants that do not compile.
 */
async function buildCores(prepared) {
  const broken = [];
  for (const p of prepared.filter((q) => q.coreText !== undefined)) {
    const dir = mkdtempSync(join(tmpdir(), `pmcow-core-${p.mutant.id}-`));
    tempDirs.add(dir);
    cpSync(join(ROOT, 'assembly'), join(dir, 'assembly'), { recursive: true });
    cpSync(join(ROOT, 'asconfig.json'), join(dir, 'asconfig.json'));
    writeFileSync(join(dir, p.mutant.file), p.coreText);
    let stderr = '';
    const asc = join(ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
    const exit = await runNode([asc, 'assembly/index.ts', '--target', 'release'], {
      cwd: dir, timeoutMs: 300_000, onStdoutLine: () => {}, onStderr: (t) => { stderr += t; },
    });
    const wasm = join(dir, 'build', 'release.wasm');
    if (exit.code !== 0 || !existsSync(wasm)) {
      broken.push({ mutant: p.mutant, status: 'compile-error', problems: [stderr.trim().split('\n').slice(0, 12).join('\n') || `asc exited ${exit.code}`] });
      continue;
    }
    p.wasmPath = wasm;
  }
  return broken;
}

/** The dist/ files the mutants replace must be the build of the current sources. */
function checkDistFresh(files) {
  const stale = [];
  for (const file of files) {
    const dist = distPathOf(file);
    const built = existsSync(dist) ? readFileSync(dist, 'utf8') : null;
    if (built !== transpile(readSource(file), file).js) stale.push(`${relative(ROOT, dist)} is not the build of ${file}`);
  }
  return stale;
}

// --- one campaign ---------------------------------------------------------------------------

const children = new Set();
const tempDirs = new Set();

/** A copy of the build in a temporary directory, with the mutated file written over its own. */
function makeTree(p) {
  const dir = mkdtempSync(join(tmpdir(), `pmcow-mutant-${p ? p.mutant.id : 'baseline'}-`));
  tempDirs.add(dir);
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  // dist/core/module.js loads ../../build/<target>.wasm; dist/*.js are ES modules because
  // of package.json's "type": "module"; comlink comes from node_modules.
  mkdirSync(join(dir, 'build'));
  for (const f of readdirSync(join(ROOT, 'build'))) if (f.endsWith('.wasm')) cpSync(join(ROOT, 'build', f), join(dir, 'build', f));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (p?.wasmPath) cpSync(p.wasmPath, join(dir, 'build', 'release.wasm'));
  else if (p) {
    const target = join(dir, relative(ROOT, distPathOf(p.mutant.file)));
    writeFileSync(target, p.js);
    if (p.sourceMapText) writeFileSync(`${target}.map`, p.sourceMapText);
  }
  return dir;
}

/** Spawn node with args; resolve with { code, signal, timedOut } ; stream callbacks. */
function runNode(args, { cwd, timeoutMs, onStdoutLine, onStderr }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onStdoutLine?.(line, child);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => onStderr?.(chunk));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (buffered) onStdoutLine?.(buffered, child);
      resolve({ code, signal, timedOut });
    });
  });
}

// `pmcow fuzz` progress on stderr (current CLI): "... scripts N  ops N  crash images N (R/s, M mounted)  violations V"
const PROGRESS = /scripts (\d+)\s+ops (\d+)\s+crash images (\d+) \((\d+)\/s, (\d+) mounted\)\s+violations (\d+)/g;

/**
 * Run `pmcow fuzz` on one tree. The first finding line ends the campaign (the score is the
 * time to the first finding); internal-error findings are noted and the campaign goes on,
 * so that a mutant found only by them is marked as such.
 *
 * Both forms of the CLI's output are understood: finding lines printed as they are found,
 * with kind, elapsedMs, images and the reproducer's file name; and the older form, where
 * findings are printed at the end of the campaign without them (then the time and image
 * count come from the first progress line on stderr that counts a violation).
 */
async function campaign(dir, opts) {
  const out = join(dir, 'out');
  const started = performance.now();
  const result = {
    finding: null, internal: null, internalFindings: 0, findingLines: 0, summary: null,
    progressFirstViolation: null, lastProgress: null, stderrTail: '', exit: null,
  };
  let stderrCarry = '';
  const onStderr = (chunk) => {
    result.stderrTail = (result.stderrTail + chunk).slice(-4000);
    const text = stderrCarry + chunk;
    stderrCarry = text.slice(-300);
    for (const m of text.matchAll(PROGRESS)) {
      const p = { scripts: +m[1], ops: +m[2], images: +m[3], rate: +m[4], mounted: +m[5], violations: +m[6] };
      result.lastProgress = p;
      if (p.violations > 0 && !result.progressFirstViolation) {
        result.progressFirstViolation = { ...p, wallMs: performance.now() - started };
      }
    }
  };
  const onStdoutLine = (line, child) => {
    let obj;
    try { obj = JSON.parse(line); } catch { return; }
    if (!obj || typeof obj !== 'object') return;
    if (obj.summary === true) { result.summary = obj; return; }
    if (!('finding' in obj)) return;
    result.findingLines++;
    const f = { ...obj, wallMs: performance.now() - started };
    if (obj.kind === 'internal-error') {
      result.internalFindings++;
      result.internal ??= f;
      return;
    }
    if (result.finding) return;
    result.finding = f;
    // Streaming CLI: the campaign has done its job. (The older CLI prints findings only
    // once the campaign is over: nothing to stop.)
    if (obj.elapsedMs !== undefined) child.kill('SIGKILL');
  };
  const args = [join(dir, 'dist', 'cli', 'main.js'), 'fuzz', '--json', '--time', String(opts.mutantTime), '--out', out, ...opts.fuzzArgs];
  result.exit = await runNode(args, { cwd: dir, timeoutMs: (opts.mutantTime + 30) * 1000, onStdoutLine, onStderr });
  result.wallMs = performance.now() - started;
  result.outDir = out;
  return result;
}

/** The reproducer file a finding names, or the one the older CLI wrote for its script. */
function reproducerOf(finding, outDir) {
  const named = finding.reproducer ?? finding.reproducerFile ?? finding.file;
  if (typeof named === 'string' && named) {
    if (isAbsolute(named)) return named;
    // A name under --out, or a path relative to the campaign's working directory.
    const candidates = [join(outDir, named), join(dirname(outDir), named), join(outDir, basename(named))];
    return candidates.find((f) => existsSync(f)) ?? candidates[0];
  }
  if (!existsSync(outDir)) return null;
  if (finding.script !== undefined) {
    const own = readdirSync(outDir).find((f) => f.startsWith('reproducer-') && f.endsWith(`-${finding.script}.json`));
    if (own) return join(outDir, own);
  }
  const all = readdirSync(outDir).filter((f) => /^reproducer-.*\.json$/.test(f))
    .map((f) => ({ f, t: statSync(join(outDir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
  return all.length ? join(outDir, all[0].f) : null;
}

async function waitForFile(file, ms) {
  const end = performance.now() + ms;
  while (!existsSync(file) && performance.now() < end) await new Promise((r) => setTimeout(r, 100));
  return existsSync(file);
}

/** Run one tree (a mutant, or the baseline when p is null) and describe the outcome. */
async function runOne(p, opts) {
  const id = p ? p.mutant.id : 'baseline';
  const dir = makeTree(p);
  try {
    const c = await campaign(dir, opts);
    const row = {
      id, class: p ? p.mutant.class : '-', modelledOn: p ? p.mutant.modelledOn : '',
      found: false, internalOnly: false, status: 'not-found', seconds: null, images: null, kind: null,
      point: null, problems: null, reproducer: null, reproducerBytes: null, replays: null,
      exitCode: c.exit.code, signal: c.exit.signal, timedOut: c.exit.timedOut, wallSeconds: round(c.wallMs / 1000, 1),
      timing: null, findingLines: c.findingLines, internalFindings: c.internalFindings, note: '',
    };
    const first = c.finding ?? c.internal;
    if (first) {
      row.found = true;
      row.internalOnly = !c.finding;
      row.status = row.internalOnly ? 'found-internal-only' : 'found';
      row.kind = first.kind ?? 'violation';
      row.point = first.point ?? null;
      row.problems = Array.isArray(first.problems) ? first.problems.slice(0, 3) : null;
      if (first.elapsedMs !== undefined) {
        row.seconds = round(Number(first.elapsedMs) / 1000, 2);
        row.images = first.images ?? null;
        row.timing = 'finding';
      } else if (c.progressFirstViolation) {
        row.seconds = round(c.progressFirstViolation.wallMs / 1000, 2);
        row.images = c.progressFirstViolation.images;
        row.timing = 'progress';
      } else {
        row.seconds = round(first.wallMs / 1000, 2);
        row.timing = 'wall';
      }
      const file = reproducerOf(first, c.outDir);
      if (file && await waitForFile(file, 3000)) {
        row.reproducer = relative(dir, file);
        row.reproducerBytes = statSync(file).size;
        const r = await runNode([join(dir, 'dist', 'cli', 'main.js'), 'replay', file], { cwd: dir, timeoutMs: 120_000 });
        row.replays = r.code === 1;
        if (!row.replays) row.note = `replay exited ${r.code ?? r.signal}${r.timedOut ? ' (timeout)' : ''}`;
      } else {
        row.note = 'no reproducer file';
      }
    } else if (c.progressFirstViolation) {
      // The older CLI counted a violation in its progress line, then died (or was stopped)
      // before printing findings: found, without a reproducer.
      row.found = true;
      row.status = 'found-progress-only';
      row.kind = 'violation';
      row.seconds = round(c.progressFirstViolation.wallMs / 1000, 2);
      row.images = c.progressFirstViolation.images;
      row.timing = 'progress';
      row.note = `fuzz exited ${c.exit.code ?? c.exit.signal}${c.exit.timedOut ? ' (timeout)' : ''} before printing the finding: no reproducer`;
    } else if (c.exit.timedOut) {
      row.status = 'timeout';
      row.note = `no finding within ${opts.mutantTime + 30} s`;
    } else if (![0, 1, 3].includes(c.exit.code) || !c.summary) {
      // The campaign died without reporting anything: the checker failed, not the mutant's bug.
      row.status = 'checker-error';
      const lines = c.stderrTail.split(/\r|\n/).map((s) => s.trim()).filter((s) => s && !/crash images \d+/.test(s));
      row.note = `fuzz exited ${c.exit.code ?? c.exit.signal} without a finding: ${(lines.find((l) => /Error|error:/.test(l)) ?? lines.at(-1) ?? '').slice(0, 160)}`;
    }
    if (opts.keep) row.dir = dir;
    return row;
  } finally {
    if (!opts.keep) { rmSync(dir, { recursive: true, force: true }); tempDirs.delete(dir); }
  }
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// --- output ----------------------------------------------------------------------------------

function tableRows(rows) {
  return rows.map((r) => [
    r.id, r.class,
    r.found ? `yes${r.internalOnly ? ' (internal)' : ''}${r.status === 'found-progress-only' ? ' (progress)' : ''}${r.sameAsBaseline ? ' (=baseline)' : ''}` : (r.status === 'not-found' ? 'no' : `no (${r.status})`),
    r.seconds === null ? '-' : r.seconds.toFixed(2),
    r.images === null || r.images === undefined ? '-' : String(r.images),
    r.reproducerBytes === null ? '-' : String(r.reproducerBytes),
    r.replays === null ? '-' : r.replays ? 'yes' : 'no',
  ]);
}

const HEADER = ['mutant', 'class', 'found', 's to first', 'images to first', 'reproducer bytes', 'replays'];

function textTable(rows) {
  const all = [HEADER, ...tableRows(rows)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

function markdownTable(rows) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (i >= 3 ? '---:' : '---')).join(' | ')} |`,
    ...tableRows(rows).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function scoreOf(rows) {
  const found = rows.filter((r) => r.found).length;
  const percent = rows.length ? round((100 * found) / rows.length, 1) : 0;
  return { found, total: rows.length, percent, internalOnly: rows.filter((r) => r.internalOnly).length };
}

function gitHead() {
  try {
    const head = readFileSync(join(ROOT, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const loose = join(ROOT, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(ROOT, '.git', 'packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return packed ? packed.split(' ')[0] : null;
  } catch { return null; }
}

// --- main ------------------------------------------------------------------------------------

async function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`mutants: ${e.message}\n${USAGE}\n`);
    return EXIT_BROKEN;
  }
  if (opts.listMd) {
    const esc = (t) => t.replace(/\|/g, '\\|');
    process.stdout.write('| id | class | file | what it breaks | modelled on |\n| --- | --- | --- | --- | --- |\n');
    for (const m of allMutants) process.stdout.write(`| \`${m.id}\` | ${m.class} | ${m.file.replace(/^src\//, '')} | ${esc(m.description)} | ${esc(m.modelledOn)} |\n`);
    return EXIT_OK;
  }
  if (opts.list) {
    for (const m of allMutants) process.stdout.write(`${m.id.padEnd(36)} ${m.class.padEnd(20)} ${m.file}\n`);
    return EXIT_OK;
  }
  const ids = new Set(allMutants.map((m) => m.id));
  const unknown = opts.only.filter((id) => !ids.has(id));
  if (unknown.length) {
    process.stderr.write(`mutants: unknown mutant id(s): ${unknown.join(', ')} (see --list)\n`);
    return EXIT_BROKEN;
  }
  for (const need of ['dist/cli/main.js', 'build/release.wasm']) {
    if (!existsSync(join(ROOT, need))) {
      process.stderr.write(`mutants: ${need} is missing: run npm run build first (npm run mutants does)\n`);
      return EXIT_BROKEN;
    }
  }
  const selected = opts.only.length ? allMutants.filter((m) => opts.only.includes(m.id)) : allMutants;

  // Unselected mutants are only checked for staleness (a warning): test/mutants.test.ts fails on them.
  for (const m of allMutants) {
    if (selected.includes(m) || !existsSync(join(ROOT, m.file))) continue;
    const { problems } = applyMutant(m, readSource(m.file));
    if (problems.length) process.stderr.write(`warning: mutant ${m.id} (not selected) is stale: ${problems[0]}\n`);
  }
  const { prepared, broken } = prepare(selected);
  if (broken.length) {
    for (const b of broken) process.stderr.write(`mutant ${b.mutant.id}: ${b.status}\n${b.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.stderr.write(`mutants: ${broken.length} mutant(s) stale or not compiling: fix test/mutants/mutants.mjs\n`);
    return EXIT_BROKEN;
  }
  const coreBroken = await buildCores(prepared);
  if (coreBroken.length) {
    for (const b of coreBroken) process.stderr.write(`mutant ${b.mutant.id}: ${b.status}\n${b.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.stderr.write(`mutants: ${coreBroken.length} mutant(s) of the core do not compile: fix test/mutants/mutants.mjs\n`);
    return EXIT_BROKEN;
  }
  const notFresh = checkDistFresh([...new Set(prepared.filter((p) => p.coreText === undefined).map((p) => p.mutant.file))]);
  if (notFresh.length) {
    process.stderr.write(`mutants: ${notFresh.join('; ')}: run npm run build first (npm run mutants does)\n`);
    return EXIT_BROKEN;
  }

  process.stderr.write(`mutants: ${prepared.length} mutant(s), ${opts.mutantTime} s each, ${opts.jobs} at a time${opts.fuzzArgs.length ? `, fuzz args ${opts.fuzzArgs.join(' ')}` : ''}\n`);
  // The baseline (the unmutated build) runs first, in the same pool: a finding there means
  // the fuzzer or the file system is not clean, and mutants found the same way prove nothing.
  const tasks = [...(opts.baseline ? [null] : []), ...prepared];
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const p = tasks[i];
      const name = p ? `[${i + 1 - (opts.baseline ? 1 : 0)}/${prepared.length}] ${p.mutant.id}` : 'baseline (unmutated build)';
      process.stderr.write(`${name} ...\n`);
      results[i] = await runOne(p, opts);
      process.stderr.write(`${name}: ${describe(results[i])}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, tasks.length) }, worker));
  const baseline = opts.baseline ? results[0] : null;
  const rows = opts.baseline ? results.slice(1) : results;
  if (baseline?.found) for (const r of rows) r.sameAsBaseline = r.found && signature(r) === signature(baseline);

  const score = scoreOf(rows);
  const scoreLine = `mutants: ${score.found}/${score.total} found (${score.percent} %)`;
  const baselineLine = baseline
    ? `baseline (unmutated build): ${baseline.found ? `NOT CLEAN: ${baseline.kind} at ${baseline.point ?? '?'} (${(baseline.problems ?? []).join('; ').slice(0, 200)}): findings on mutants mean little until the fuzzer is clean here` : baseline.status === 'not-found' ? 'clean' : `${baseline.status}: ${baseline.note}`}`
    : 'baseline: not run (--no-baseline)';
  const sameCount = rows.filter((r) => r.sameAsBaseline).length;
  const sameLine = baseline?.found ? `\n${sameCount} of the ${score.found} found mutants were found by the baseline's finding (=baseline)` : '';
  process.stdout.write(`${textTable(rows)}\n\n${baselineLine}${sameLine}\n${scoreLine}\n`);

  const meta = {
    generatedAt: new Date().toISOString(), commit: gitHead(), node: process.version,
    options: { mutantTime: opts.mutantTime, jobs: opts.jobs, only: opts.only, fuzzArgs: opts.fuzzArgs, baseline: opts.baseline },
    partial: opts.only.length > 0, fuzzCommand: `pmcow fuzz --time ${opts.mutantTime} --out DIR${opts.fuzzArgs.length ? ' ' + opts.fuzzArgs.join(' ') : ''}`,
  };
  writeFileSync(join(ROOT, 'test', 'mutants', 'results.json'), JSON.stringify({ ...meta, score: { ...score, sameAsBaseline: sameCount }, baseline, mutants: rows }, null, 2) + '\n');
  writeFileSync(join(ROOT, 'test', 'mutants', 'results.md'), [
    '# Mutation score', '',
    `Measured by \`npm run mutants\` (${meta.fuzzCommand} per mutant) on ${meta.generatedAt}${meta.commit ? ` at commit \`${meta.commit.slice(0, 12)}\`` : ''}, Node ${meta.node}${meta.partial ? `; a partial run (${opts.only.join(', ')})` : ''}.`, '',
    markdownTable(rows), '',
    baselineLine + sameLine, '',
    `**${scoreLine}**`, '',
  ].join('\n'));
  return EXIT_OK;
}

/** A finding with its numbers (lines, offsets, times) blanked: equal for the same bug found twice. */
function signature(r) {
  return `${r.kind}|${(r.problems ?? []).map((p) => p.replace(/\d+/g, '#')).sort().join(';')}`;
}

function describe(r) {
  return describeOutcome(r) + (r.dir ? ` [kept: ${r.dir}]` : '');
}

function describeOutcome(r) {
  if (r.found) return `found${r.internalOnly ? ' (internal errors only)' : ''} after ${r.seconds} s${r.images !== null ? `, ${r.images} images` : ''}: ${r.kind} at ${r.point ?? '?'}; reproducer ${r.reproducerBytes ?? '-'} bytes, replays ${r.replays === null ? '-' : r.replays ? 'yes' : 'no'}${r.note ? ` (${r.note})` : ''}`;
  return `${r.status}${r.note ? `: ${r.note}` : ''}`;
}

function cleanUp() {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

// A reader that goes away (| head) is not an error of the run.
process.stdout.on('error', (e) => { if (e.code !== 'EPIPE') throw e; });

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanUp(); process.exit(130); });
}

main().then((code) => { process.exitCode = code; }, (e) => {
  cleanUp();
  process.stderr.write(`mutants: ${e.stack ?? e}\n`);
  process.exitCode = EXIT_BROKEN;
});
