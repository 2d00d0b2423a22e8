// The one place the browser tests choose and launch chromium (driven by playwright-core,
// which never downloads a browser of its own):
//   1. the system chromium: $PMCOW_CHROMIUM if set, else /usr/bin/chromium (Debian's), if present;
//   2. otherwise (or if it fails to start) the npm package @sparticuz/chromium (a devDependency):
//      its brotli-packed headless chromium is inflated into the temporary directory.
// PMCOW_BROWSER=system or PMCOW_BROWSER=bundled tries only that one (default: auto, in order).
// Only the executable comes from @sparticuz/chromium, never its `args`: they include
// --disable-web-security (and --single-process), and the playground needs a cross-origin
// isolated page (SharedArrayBuffer, COOP/COEP) with Web Workers, so both browsers get our flags.
// When no browser starts, launch throws an error naming every attempt: the tests fail, never skip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

export const SYSTEM_CHROMIUM = process.env.PMCOW_CHROMIUM || '/usr/bin/chromium';

/** Flags for a headless run on a CI machine: no sandbox (root), no GPU, no network chatter. */
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export interface LaunchedBrowser {
  browser: Browser;
  /** Which browser started, for the log: "system chromium /usr/bin/chromium (156.0...)". */
  description: string;
}

type Attempt = 'system' | 'bundled';

function attempts(): Attempt[] {
  const choice = process.env.PMCOW_BROWSER ?? 'auto';
  if (choice === 'system' || choice === 'bundled') return [choice];
  if (choice !== 'auto') throw new Error(`PMCOW_BROWSER=${choice}: expected system, bundled or auto`);
  return ['system', 'bundled'];
}

function launch(executablePath: string, env?: NodeJS.ProcessEnv): Promise<Browser> {
  // playwright-core gives each launch a fresh temporary profile (--user-data-dir).
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS, ...(env ? { env } : {}) });
}

async function launchSystem(): Promise<LaunchedBrowser> {
  if (!existsSync(SYSTEM_CHROMIUM)) throw new Error(`${SYSTEM_CHROMIUM} is missing`);
  const browser = await launch(SYSTEM_CHROMIUM);
  return { browser, description: `system chromium ${SYSTEM_CHROMIUM} (${browser.version()})` };
}

/** The bundled chromium needs libnss3, libnspr4 and libexpat, which a machine without apt's
 * chromium may lack; the package ships them (al2023.tar.br). Inflated once per version into
 * the temporary directory (extracted aside, then renamed, so a half-written copy is never used). */
function bundledLibDir(binDir: string, version: string): string {
  const dir = join(tmpdir(), `pmcow-sparticuz-chromium-${version}-libs`);
  if (existsSync(join(dir, 'lib', 'libnss3.so'))) return join(dir, 'lib');
  const staging = mkdtempSync(`${dir}-`);
  try {
    const tar = brotliDecompressSync(readFileSync(join(binDir, 'al2023.tar.br')));
    const r = spawnSync('tar', ['-x', '-C', staging], { input: tar });
    if (r.status !== 0) throw new Error(`tar -x of al2023.tar.br failed: ${r.error?.message ?? r.stderr.toString()}`);
    try { renameSync(staging, dir); } catch { if (!existsSync(join(dir, 'lib', 'libnss3.so'))) throw new Error(`cannot create ${dir}`); }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return join(dir, 'lib');
}

async function launchBundled(): Promise<LaunchedBrowser> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@sparticuz/chromium'); // .../build/cjs/index.cjs
  const root = join(dirname(entry), '..', '..');
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const { default: Chromium } = await import('@sparticuz/chromium');
  // Inflates chromium into $TMPDIR/chromium and its fonts into $TMPDIR/fonts (once).
  const executablePath = await Chromium.executablePath();
  const libDir = bundledLibDir(join(root, 'bin'), version);
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    FONTCONFIG_PATH: process.env.FONTCONFIG_PATH ?? join(tmpdir(), 'fonts'),
  };
  try {
    const browser = await launch(executablePath, env);
    return { browser, description: `bundled @sparticuz/chromium ${version} ${executablePath} (${browser.version()})` };
  } catch (e) {
    throw new Error(`${(e as Error).message}\n(a stale or half-written ${executablePath} from an interrupted run is reused: delete it to inflate it again)`);
  }
}

/** Launch chromium headless: the system one, else the bundled one. Throws (the test fails,
 * it is never skipped) with every attempt's error when none starts. */
export async function launchChromium(): Promise<LaunchedBrowser> {
  const failures: string[] = [];
  for (const attempt of attempts()) {
    try {
      const launched = attempt === 'system' ? await launchSystem() : await launchBundled();
      if (failures.length > 0) launched.description += ` [after: ${failures.join('; ')}]`;
      return launched;
    } catch (e) {
      failures.push(attempt === 'system'
        ? `system chromium (${SYSTEM_CHROMIUM}; PMCOW_CHROMIUM overrides the path): ${(e as Error).message}`
        : `bundled chromium (devDependency @sparticuz/chromium, installed by npm install): ${(e as Error).message}`);
    }
  }
  throw new Error(`no chromium could be started (PMCOW_BROWSER=${process.env.PMCOW_BROWSER ?? 'auto'}):\n- ${failures.join('\n- ')}`);
}
