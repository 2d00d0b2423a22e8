// The pmcow command as a user meets it: --help never runs a command, --version, usage
// errors for bad values, one line on stderr for every ordinary mistake (never a stack
// trace), the documented exit codes, quiet EPIPE, no progress output off a terminal,
// --json results, `pmcow check`, and merge's refusal of a shard given twice.
import { describe, expect, it } from 'vitest';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, parseCommand, intOption, UsageError, EXIT_INTERNAL, EXIT_USAGE } from '../src/cli/args.js';
import { FsError } from '../src/errors.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'pmcow-cli-'));

function pmcow(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** One line on stderr, no stack frame. */
function expectOneLine(stderr: string, what: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, `${what}: stderr was\n${stderr}`).toHaveLength(1);
  expect(lines[0], what).toMatch(/^pmcow: /);
  expect(stderr, what).not.toMatch(/\n\s+at /);
}

const COMMANDS = ['demo', 'scenarios', 'run', 'export', 'check', 'fuzz', 'replay', 'import', 'merge', 'soak', 'crc32c', 'bench'];

describe('pmcow command line', () => {
  it('-h and --help print a command\'s usage and never run it (bench included)', () => {
    const results = join(ROOT, 'bench/results.md');
    const before = statSync(results).mtimeMs;
    for (const command of COMMANDS) {
      for (const flag of ['--help', '-h']) {
        // With other, even invalid, arguments around it: help wins.
        const r = pmcow(command, '--bogus', flag, 'extra');
        expect(r.code, `${command} ${flag}: ${r.stderr}`).toBe(0);
        expect(r.stdout, `${command} ${flag}`).toMatch(new RegExp(`^pmcow ${command}\\b`));
        expect(r.stderr, `${command} ${flag}`).toBe('');
      }
    }
    expect(statSync(results).mtimeMs, 'bench --help rewrote bench/results.md').toBe(before);
    const top = pmcow('--help');
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command} `);
    expect(top.stdout).toMatch(/exit codes: 0 clean, 1 violations.*2 usage.*\n3 internal/s);
    expect(pmcow('help', 'fuzz').stdout).toMatch(/^pmcow fuzz /);
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = pmcow('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('ordinary mistakes are one line on stderr and exit 2', () => {
    const syntax = file('syntax.txt', 'create /a\nwrite /a 0 zz\n');
    const text = file('text.txt', 'write /a 0 10\n');
    const edited = file('edited.json', JSON.stringify({ pmcow: 'reproducer', version: 1, point: 'x', problems: [], options: { samples: 1e9 }, script: 'create /a' }));
    const huge = file('huge.json', JSON.stringify({ pmcow: 'reproducer', version: 1, point: 'x', problems: [], options: {}, script: 'create /a\nwrite /a 0 10737418240' }));
    const alien = file('alien.json', JSON.stringify({ hello: 'world' }));
    const badSize = file('size.json', JSON.stringify({ pmcow: 'reproducer', version: 1, point: 'x', problems: [], options: { sizeBytes: 2 ** 40 }, script: 'create /a' }));
    const unknownOp = file('unknown.txt', 'frobnicate /a\n');
    const mistakes: Array<[string[], RegExp]> = [
      [['run', join(dir, 'missing.txt')], /cannot read script .*no such file/],
      [['run', dir], /is a directory/],
      [['run', syntax], /syntax\.txt: line 2, column 12: expected a length/],
      [['run', unknownOp], /unknown operation 'frobnicate'/],
      [['check', syntax], /line 2/],
      [['check'], /takes 1 argument/],
      [['replay', text], /is not JSON/],
      [['replay', alien], /not a pmcow reproducer/],
      [['replay', edited], /samples must be an integer from 0 to 100000/],
      [['replay', huge], /EFBIG: line 2 \(write\) moves 10737418240 bytes/],
      [['replay', badSize], /sizeBytes must be an integer/],
      [['replay', join(dir, 'missing.json')], /no such file/],
      [['merge', text], /is not JSON/],
      [['merge', alien], /holds no fuzz summary line/],
      [['merge'], /takes 1 to/],
      [['import', 'fsx', join(dir, 'missing.log')], /no such file/],
      [['import', 'ace', dir], /is a directory/],
      [['import', 'xfs', text], /must be fsx or ace/],
      [['fuzz', '--seed=abc'], /--seed must be an integer/],
      [['fuzz', '--seed', '1.5'], /--seed must be an integer/],
      [['fuzz', '--scripts', '-3'], /--scripts/],
      [['fuzz', '--generator', 'nope'], /--generator must be fsx, dax, mixed, ace/],
      [['fuzz', '--points', 'sometimes'], /--points must be fence, store/],
      [['fuzz', '--policy', 'nope=off'], /--policy must be NAME=off/],
      [['fuzz', '--shard', '3/2'], /--shard must be k\/n/],
      [['fuzz', '--samples', '1000000000'], /--samples must be an integer from 0 to 100000/],
      [['fuzz', '--out', text, '--scripts', '1'], /--out .* is a file, not a directory/],
      [['fuzz', '--bogus'], /Unknown option '--bogus'/],
      [['fuzz', '--seed'], /argument missing/],
      [['fuzz', 'extra'], /takes 0 arguments/],
      [['soak', '--writers', '9'], /--writers must be an integer from 2 to 7/],
      [['crc32c'], /takes 1 argument/],
      [['nope'], /unknown command 'nope'/],
    ];
    for (const [args, message] of mistakes) {
      const r = pmcow(...args);
      const what = `pmcow ${args.join(' ')}`;
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expectOneLine(r.stderr, what);
      expect(r.stderr, what).toMatch(message);
      expect(r.stdout, `${what} printed results`).toBe('');
    }
  });

  it('exit codes: 0 clean, 1 violations or a failed run, 2 usage, 3 the tool\'s own failure', () => {
    const clean = file('clean.txt', 'create /a\nwrite /a 0 5000\nfsync /a\nmkdir /d\nrename /a /d/b\ncommit\n');
    expect(pmcow('check', clean).code).toBe(0);
    expect(pmcow('run', clean).code).toBe(0);
    // An operation whose expectation does not hold: the run failed.
    const failing = file('failing.txt', 'create /a\ncreate /a\n');
    const r = pmcow('run', failing);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/line 2: .*EEXIST/);
    // A violation: a campaign with a switch off (commitChecksums, found on its first script).
    const found = pmcow('fuzz', '--quiet', '--policy', 'commitChecksums=off', '--max-findings', '1', '--generator', 'dax', '--json');
    expect(found.code, found.stderr).toBe(1);
    expect(JSON.parse(found.stdout.split('\n')[0]!)).toMatchObject({ finding: 0, kind: 'crash' });
    expect(pmcow('fuzz', '--seed=x').code).toBe(EXIT_USAGE);
    // 3: anything that is not the user's mistake, still on one line.
    const failure = describeFailure(new RangeError('offset is out of bounds\n    at somewhere (x.js:1:1)'), (e) => e instanceof FsError);
    expect(failure.code).toBe(EXIT_INTERNAL);
    expect(failure.line).toBe('pmcow: internal error: RangeError: offset is out of bounds at somewhere (x.js:1:1)');
    expect(describeFailure(new FsError('ENOENT', 'x'), (e) => e instanceof FsError).code).toBe(EXIT_USAGE);
    expect(describeFailure(new UsageError('bad'), () => false)).toEqual({ code: EXIT_USAGE, line: 'pmcow: bad' });
  });

  it('a reader that goes away (| head) ends the command quietly', async () => {
    const long = file('long.txt', Array.from({ length: 4000 }, (_, i) => `create /f${i}`).join('\n') + '\n');
    const child = spawn(process.execPath, [CLI, 'run', long], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('no progress output when stderr is not a terminal; --json results everywhere', () => {
    const r = pmcow('fuzz', '--scripts', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({ summary: true, scripts: 2, violations: 0 });
    const human = pmcow('fuzz', '--scripts', '1');
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/^0 findings \(0 violations, 0 internal errors\): 1 scripts/);
    const clean = file('clean-json.txt', 'create /a\nwrite /a 0 100\ncommit\n');
    const checked = pmcow('check', clean, '--json');
    expect(JSON.parse(checked.stdout)).toMatchObject({ summary: true, violations: 0, ops: 3 });
    const ran = pmcow('run', clean, '--json').stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string });
    expect(ran.map((x) => x.status)).toEqual(['ok', 'ok', 'ok']);
    expect(JSON.parse(pmcow('crc32c', 'abc', '--json').stdout)).toEqual({ crc32c: '0x364b3fb7' });
    const fsxLog = file('fsx.log', 'skip 1 write 0x0 thru 0xff (0x100 bytes)\n');
    const imported = JSON.parse(pmcow('import', 'fsx', fsxLog, '--json').stdout) as { script: string; unsupported: unknown[] };
    expect(typeof imported.script).toBe('string');
  });

  it('merge sums the shards of one campaign and refuses a shard given twice', () => {
    const outs = [0, 1].map((k) => {
      const out = join(dir, `shard${k}`);
      mkdirSync(out, { recursive: true });
      const r = pmcow('fuzz', '--scripts', '2', '--shard', `${k}/2`, '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      return join(out, `summary-${k}.json`);
    });
    const merged = pmcow('merge', ...outs, '--json');
    expect(merged.code, merged.stderr).toBe(0);
    const total = JSON.parse(merged.stdout) as Record<string, number>;
    const parts = outs.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, number>);
    expect(total.shards).toBe(2);
    expect(total.images).toBe(parts[0]!.images! + parts[1]!.images!);
    const twice = pmcow('merge', outs[0]!, outs[1]!, outs[0]!);
    expect(twice.code).toBe(2);
    expectOneLine(twice.stderr, 'merge twice');
    expect(twice.stderr).toMatch(/shard 0\/2 is given twice/);
    const half = pmcow('merge', outs[1]!, '--json');
    expect(JSON.parse(half.stdout)).toMatchObject({ shards: 1, missingShards: [0] });
  });

  it('parses options strictly (unit)', () => {
    expect(() => parseCommand('x', ['--bogus'], {}, { min: 0, max: 0, names: '' })).toThrow(UsageError);
    expect(() => parseCommand('x', ['--seed'], { seed: { type: 'string' } }, { min: 0, max: 0, names: '' })).toThrow(UsageError);
    const { positionals, values } = parseCommand('x', ['a', '--seed', '4', '--quiet'], { seed: { type: 'string' }, quiet: { type: 'boolean' } }, { min: 1, max: 1, names: 'A' });
    expect(positionals).toEqual(['a']);
    expect(intOption(values, 'seed', { min: 0, max: 10 }, 1)).toBe(4);
    expect(() => intOption({ seed: '11' }, 'seed', { min: 0, max: 10 })).toThrow(/from 0 to 10/);
    expect(() => intOption({ seed: '0x10' }, 'seed', { min: 0, max: 100 })).toThrow(UsageError);
  });
});
