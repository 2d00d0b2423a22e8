// Doc-test (issue 13): every fenced code block of README.md runs as written.
//
// - ```js / ```mjs / ```javascript blocks: each is written verbatim to its own .mjs file in
//   a temporary directory whose node_modules/pmcow is a symlink to this repository, so
//   `import ... from 'pmcow'` resolves through package.json "exports" to dist/index.js,
//   exactly as for a user who installed the package. Each runs in its own `node` process
//   and must exit 0; a block that calls console.log must print something.
//   ```ts / ```typescript blocks are run the same way, so they must be plain JavaScript
//   (no type annotations): there is no type stripping here, Node 20 has none built in.
// - ```sh / ```bash / ```shell blocks: one command per line (a trailing `\` continues it;
//   `#` after whitespace starts a comment). `pmcow` and `npx pmcow` run as
//   `node dist/cli/main.js`. Each command runs in the repository with `sh -c`, must exit
//   0 and print something on stdout. Commands that take long or change the checkout are
//   listed in EXCLUDED with the reason; the list must match README.md exactly, so a new
//   long command is a conscious decision.
// - Anything else (usage listings, output samples) needs a fence language from NOT_RUN,
//   such as ```text; a bare ``` fence or an unknown language fails the test.
//
// Needs a build (npm test builds first; alone: npm run build && npx vitest run test/readme.test.ts).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = join(ROOT, 'README.md');

const JS = new Set(['js', 'mjs', 'javascript', 'ts', 'typescript']);
const SHELL = new Set(['sh', 'bash', 'shell']);
const NOT_RUN = new Set(['text', 'txt', 'output', 'json', 'ebnf']);

/** Shell commands of README.md not run here, each with the reason. */
const EXCLUDED: Record<string, string> = {
  'npm test': 'the whole test suite, this file included',
  'npm run web': 'a Vite dev server: runs until stopped',
  'npm run web:build': 'rebuilds the core and writes web/dist/ in the shared checkout; test/web-playground.test.ts builds and drives the page',
};

/**
 * Commands run as what they come down to once npm test has built: `npm install` fetches
 * from the registry (CI's clean install does that) and `npm start` is the build, then the
 * demo, which runs here as it would.
 */
const SUBSTITUTED: Record<string, string> = {
  'npm install && npm start': 'node dist/cli/main.js demo',
};

/** Per block (a js block or one shell command): generous, the whole file stays far below it. */
const TIMEOUT_MS = 30_000;

interface Block { line: number; lang: string; body: string }

/** Fenced blocks (``` or ~~~, three or more) of a markdown text; `line` is the opening fence's, from 1. */
function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j]!)) body.push(lines[j++]!);
    if (j === lines.length) throw new Error(`README.md:${i + 1}: code block never closed`);
    blocks.push({ line: i + 1, lang: open[2]!.toLowerCase(), body: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** The commands of a shell block: comments and blank lines dropped, `\` continuations joined. */
function shellCommands(body: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of body.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line.endsWith('\\')) { pending += line.slice(0, -1).trim() + ' '; continue; }
    const command = (pending + line).trim();
    pending = '';
    if (command) commands.push(command);
  }
  if (pending.trim()) commands.push(pending.trim());
  return commands;
}

/** `pmcow ...` and `npx pmcow ...` (also after && ; |) run the CLI of this checkout. */
function localCli(command: string): string {
  return command.replace(/(^|[;&|]\s*)(?:npx\s+)?pmcow(?=\s|$)/g, '$1node dist/cli/main.js');
}

interface Ran { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }

/** Run a process in its own group, killing the whole group on timeout. */
function run(file: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // whatever vitest put there is not what a user has
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, TIMEOUT_MS);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

function report(where: string, r: Ran): string {
  const how = r.timedOut ? `timed out after ${TIMEOUT_MS} ms` : r.signal ? `died of ${r.signal}` : `exited ${r.code}`;
  return `${where} ${how}\n--- stderr ---\n${r.stderr.slice(-4000)}\n--- stdout ---\n${r.stdout.slice(-2000)}`;
}

const blocks = extractBlocks(readFileSync(README, 'utf8'));

describe('README.md code blocks', () => {
  let dir = '';

  beforeAll(() => {
    for (const built of ['dist/index.js', 'dist/cli/main.js', 'build/release.wasm']) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run npm run build first`);
    }
    dir = mkdtempSync(join(tmpdir(), 'pmcow-readme-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'pmcow'), 'dir');
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every block has a fence language this test knows (```text for what is not run)', () => {
    const unknown = blocks.filter((b) => !JS.has(b.lang) && !SHELL.has(b.lang) && !NOT_RUN.has(b.lang));
    expect(unknown.map((b) => `README.md:${b.line} \`\`\`${b.lang}`)).toEqual([]);
  });

  it('the excluded shell commands are exactly those in README.md', () => {
    const inReadme = blocks.filter((b) => SHELL.has(b.lang)).flatMap((b) => shellCommands(b.body)).filter((c) => c in EXCLUDED);
    expect([...new Set(inReadme)].sort()).toEqual(Object.keys(EXCLUDED).sort());
  });

  for (const block of blocks) {
    const name = `README.md:${block.line} (${block.lang})`;
    if (JS.has(block.lang)) {
      it(name, async () => {
        const file = join(dir, `readme-${block.line}.mjs`);
        writeFileSync(file, block.body);
        const r = await run(process.execPath, [file], dir);
        expect(r.code, report(name, r)).toBe(0);
        if (/\bconsole\.(log|info|table|dir)\(/.test(block.body)) {
          expect(r.stdout.trim(), `${name} prints nothing`).not.toBe('');
        }
      }, TIMEOUT_MS + 5_000);
    } else if (SHELL.has(block.lang)) {
      const commands = shellCommands(block.body);
      const toRun = commands.filter((c) => !(c in EXCLUDED));
      const skipped = commands.filter((c) => c in EXCLUDED);
      const notRun = skipped.length ? ` (not run: ${skipped.join('; ')})` : '';
      // A block of excluded commands only gets no test of its own: the exclusion list,
      // checked against README above, is where each one is accounted for.
      if (toRun.length === 0) continue;
      it(`${name}: ${toRun.join('; ')}${notRun}`, async () => {
        for (const command of toRun) {
          const r = await run('sh', ['-c', SUBSTITUTED[command] ?? localCli(command)], ROOT);
          expect(r.code, report(`${name} \`${command}\``, r)).toBe(0);
          expect(r.stdout.trim(), `${name} \`${command}\` prints nothing`).not.toBe('');
        }
      }, toRun.length * TIMEOUT_MS + 5_000);
    }
  }
});
