// A user's own Vite app (examples/browser-app) on the packed package, in chromium: the app is
// copied to a temporary directory, pmcow is installed there from `npm pack`'s tarball (its
// dependency comlink and the tool vite from this clone's node_modules: no network), and
// the page runs a device, a file system, a DAX mapping, a WriterPool of two Web Workers
// (the package's default worker entry, bundled by Vite) and a fuzz campaign, reporting into
// window.__pmcowResults. Once as `vite build` served by a static server with the COOP/COEP
// headers, once under Vite's dev server with the example's own config.
// Nothing missing is ever a skip: no tarball, no build, no chromium each fail, naming the step.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP_SOURCE = join(ROOT, 'examples/browser-app');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Generous: two cores shared by chromium, its workers and other test files. */
const PAGE_MS = 60_000;
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

interface PartResult { ok: boolean; ms: number; error?: string; [key: string]: unknown }
interface PageResults { done: boolean; ok: boolean; crossOriginIsolated: boolean; error?: string; parts: Record<string, PartResult> }

const tmp = mkdtempSync(join(tmpdir(), 'pmcow-browser-app-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** Run one step; its failure names it. */
async function step<T>(name: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const err = e as Error & { stderr?: Buffer | string; stdout?: Buffer | string };
    const output = [err.stderr, err.stdout].map((o) => o?.toString().trim()).filter(Boolean).join('\n');
    throw new Error(`step "${name}" failed: ${err.message}${output ? `\n${output}` : ''}`, { cause: e });
  }
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | null = null;
  return () => (made ??= make());
}

/** The example app in a temporary directory, with pmcow installed from the packed tarball. */
const installedApp = once(async () => {
  const tarball = await step('npm pack of the repository (run npm run build first: it packs dist/ and build/)', () => {
    for (const built of ['dist/index.js', 'dist/workers/web-entry.js', 'build/release.wasm']) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing`);
    }
    const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [packed] = JSON.parse(out) as Array<{ filename: string }>;
    const file = join(tmp, packed!.filename);
    if (!existsSync(file)) throw new Error(`${file} was not written`);
    return file;
  });
  const appDir = join(tmp, 'app');
  await step('copy examples/browser-app and install the tarball into its node_modules', () => {
    if (!existsSync(join(APP_SOURCE, 'package.json'))) throw new Error(`${APP_SOURCE} is missing`);
    cpSync(APP_SOURCE, appDir, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
    const pkgDir = join(appDir, 'node_modules/pmcow');
    mkdirSync(pkgDir, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', pkgDir, '--strip-components=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    if (!manifest.exports['./worker']) throw new Error('the packed package.json does not export ./worker');
    // pmcow's dependency, as npm would install it: a copy (Vite's dev server serves files
    // under the app, and a symlink would point outside it); vite itself is only run.
    cpSync(join(ROOT, 'node_modules/comlink'), join(appDir, 'node_modules/comlink'), { recursive: true, dereference: true });
    symlinkSync(join(ROOT, 'node_modules/vite'), join(appDir, 'node_modules/vite'), 'dir');
  });
  // Vite is loaded from the clone (the app's node_modules/vite is a link to it).
  const vite = await step('import vite', () => import('vite'));
  return { appDir, vite, configFile: join(appDir, 'vite.config.js') };
});

let browser: Browser | null = null;
const chromium = once(async () => step('launch chromium (test/helpers/browser.ts: the system one or @sparticuz/chromium)', async () => {
  const launched = await launchChromium();
  browser = launched.browser;
  cleanups.push(() => browser?.close());
  console.log(`browser-app: ${launched.description}`);
  return launched.browser;
}));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml',
};

/** A static server for a built site, with the COOP/COEP headers a static host must send. */
function serveStatic(dir: string): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(dir + sep) || !existsSync(file)) {
      res.writeHead(404, ISOLATION_HEADERS).end('not found');
      return;
    }
    res.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (!address || typeof address === 'string') { reject(new Error('no TCP address')); return; }
      resolve({ url: `http://127.0.0.1:${address.port}/`, server });
    });
  });
}

/**
 * Page errors other than those the bad-writer-entry part causes on purpose (its missing
 * script's 404, the load error of its script that throws); those are logged.
 */
function unexpected(pageErrors: string[]): string[] {
  const expected = pageErrors.filter((e) => /no-such-writer-entry\.js|not a writer|^console: .*blob:/.test(e));
  console.log(`page errors caused on purpose: ${expected.join(' | ') || 'none'}`);
  return pageErrors.filter((e) => !expected.includes(e));
}

/** Open the page, wait for every part to have run, return what it reported (and its errors). */
async function runPage(url: string, label: string): Promise<{ results: PageResults; pageErrors: string[]; status: string }> {
  const b = await chromium();
  const page: Page = await b.newPage();
  cleanups.push(() => page.close().catch(() => {}));
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));
  await step(`open ${label} at ${url}`, () => page.goto(url));
  await step(`${label}: wait for window.__pmcowResults.done (page errors so far: ${pageErrors.join(' | ') || 'none'})`, async () => {
    try {
      await page.waitForFunction(() => (window as { __pmcowResults?: { done?: boolean } }).__pmcowResults?.done === true, undefined, { timeout: PAGE_MS });
    } catch (e) {
      const partial = await page.evaluate(() => JSON.stringify((window as { __pmcowResults?: unknown }).__pmcowResults ?? null)).catch(() => 'unreadable');
      throw new Error(`${(e as Error).message}\nresults so far: ${partial}\npage errors: ${pageErrors.join(' | ') || 'none'}`);
    }
  });
  const results = await page.evaluate(() => (window as unknown as { __pmcowResults: PageResults }).__pmcowResults);
  const status = (await page.textContent('#status')) ?? '';
  console.log(`browser-app, ${label}: ${JSON.stringify(results.parts)}`);
  return { results, pageErrors, status };
}

/** Every named part passed; a failed part's message is in the assertion's text. */
function expectPartsPassed(results: PageResults, names: string[]): void {
  for (const name of names) {
    const part = results.parts[name];
    expect(part, `part ${name} did not run (page error: ${results.error ?? 'none'})`).toBeDefined();
    expect(part!.ok, `part ${name}: ${part!.error ?? JSON.stringify(part)}`).toBe(true);
  }
}

const ALL_PARTS = ['device', 'fs', 'mmap', 'writerPool', 'badWorkerEntry', 'fuzz'];

describe('examples/browser-app: a Vite app on the packed package, in chromium', () => {
  test('vite build: device, fs, mmap, a WriterPool of 2 Web Workers and a fuzz campaign all pass', async () => {
    const { appDir, vite, configFile } = await installedApp();
    const outDir = join(appDir, 'dist');
    await step('vite build of the example', () => vite.build({ root: appDir, configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } }));
    const assets = readdirSync(join(outDir, 'assets'));
    // Vite followed the package's literal URLs: the core wasm and the writer entry are emitted.
    expect(assets.some((f) => /^release-.*\.wasm$/.test(f)), `assets: ${assets.join(' ')}`).toBe(true);
    expect(assets.some((f) => /^web-entry-.*\.js$/.test(f)), `the writer entry was not bundled as a worker chunk; assets: ${assets.join(' ')}`).toBe(true);
    // No Buffer in what the page runs (fuzz() included): nothing a browser lacks.
    for (const js of assets.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(outDir, 'assets', js), 'utf8');
      expect(code.match(/.{0,60}(?<![A-Za-z])Buffer\b(?!Source|View).{0,60}/g)?.filter((m) => !/(Array|Shared)Buffer\b/.test(m)) ?? [], `Buffer in ${js}`).toEqual([]);
    }
    const { url, server } = await step('serve dist/ with COOP/COEP', () => serveStatic(outDir));
    cleanups.push(() => new Promise((r) => server.close(r)));

    const { results, pageErrors, status } = await runPage(url, 'the built app');
    expect(results.crossOriginIsolated).toBe(true);
    expect(results.error, 'the page failed outside a part').toBeUndefined();
    expectPartsPassed(results, ALL_PARTS);
    const { device, fs, mmap, writerPool, fuzz } = results.parts as Record<string, PartResult & Record<string, number>>;
    // A bad writer entry is an FsError in a page too: ENOENT for a missing script, EINVAL for
    // one that throws at load or never answers (no hang, no dead page).
    expect(results.parts.badWorkerEntry).toMatchObject({ ok: true, missing: 'ENOENT', missingServedAsHtml: false, throws: 'EINVAL', silent: 'EINVAL' });
    expect(device!.crashImages).toBe(4);
    expect(device!.stores).toBeGreaterThan(0);
    expect(fs!.readBack).toBe('hello from a Vite app');
    expect(fs!.fsckProblems).toBe(0);
    expect(mmap!.readBack).toBe('stored through a DAX mapping');
    expect(mmap!.stores).toBeGreaterThan(0);
    expect(writerPool!.writers).toBe(2);
    expect(writerPool!.writerStores).toBe(8000);
    expect(writerPool!.deviceStores).toBeGreaterThanOrEqual(8000);
    expect(writerPool!.faults).toBeGreaterThan(0);
    expect(writerPool!.slotsChecked).toBeGreaterThan(0);
    expect(fuzz!.scripts).toBe(2);
    expect(fuzz!.images).toBeGreaterThan(0);
    expect(fuzz!.violations).toBe(0);
    expect(fuzz!.findings).toBe(0);
    expect(results.ok).toBe(true);
    expect(status).toBe('all parts passed');
    expect(unexpected(pageErrors), pageErrors.join(' | ')).toEqual([]);
  }, 120_000);

  test('vite dev server (the example\'s config): the wasm loads and every part passes, the WriterPool and fuzz() included', async () => {
    const { appDir, vite, configFile } = await installedApp();
    const server = await step('start the Vite dev server', async () => {
      const s = await vite.createServer({
        root: appDir, configFile, logLevel: 'error', clearScreen: false,
        server: { host: '127.0.0.1', port: 0, strictPort: false, watch: null },
      });
      await s.listen();
      return s;
    });
    cleanups.push(() => server.close());
    const address = server.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('step "start the Vite dev server" failed: no TCP address');
    const { results, pageErrors } = await runPage(`http://127.0.0.1:${address.port}/`, 'the app under vite dev');
    expect(results.crossOriginIsolated).toBe(true);
    expect(results.error, 'the page failed outside a part').toBeUndefined();
    expectPartsPassed(results, ALL_PARTS);
    expect(results.parts.writerPool!.writerStores).toBe(8000);
    expect(results.parts.fuzz!.images as number).toBeGreaterThan(0);
    // Vite's dev server serves index.html for the missing script: EINVAL, named as such.
    expect(results.parts.badWorkerEntry).toMatchObject({ ok: true, missing: 'EINVAL', missingServedAsHtml: true, throws: 'EINVAL', silent: 'EINVAL' });
    expect(unexpected(pageErrors)).toEqual([]);
  }, 120_000);
});
