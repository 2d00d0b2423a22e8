// End-to-end: the browser playground (web/) in chromium, headless: the system one if present,
// else the npm package @sparticuz/chromium (test/helpers/browser.ts chooses). The page runs
// the core on its own thread and the writers in Web Workers over one shared memory; these
// tests drive it through its controls and read what it reports.
// No chromium starting fails every test (never a skip), with each attempt's error.
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { serveBuiltPlayground, type WebServer } from './helpers/web-server.js';

const SCREENSHOT_PATH = process.env.PMCOW_PLAYGROUND_SCREENSHOT ?? join(tmpdir(), 'pmcow-playground.png');
/** Generous: two cores shared by chromium, its workers and other test files. */
const WAIT_MS = 60_000;

let server: WebServer | null = null;
let browser: Browser | null = null;
let browserDescription = '';
const pageErrors: string[] = [];

let opened: Promise<Page> | null = null;

/** The page, opened once and shared by the tests below (they run in order); a failed
 * opening fails every test with its error, without launching chromium again. */
function playground(): Promise<Page> {
  opened ??= (async () => {
    const launched = await launchChromium();
    browser = launched.browser;
    browserDescription = launched.description;
    console.log(`web-playground: ${browserDescription}`);
    server = await serveBuiltPlayground();
    const p = await browser.newPage({ viewport: { width: 1600, height: 1400 }, acceptDownloads: true });
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(server.url);
    await p.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    return p;
  })();
  return opened;
}

async function counter(p: Page, name: string): Promise<number> {
  return Number(await p.textContent(`#counter-${name}`));
}

/** Wait until a counter is above `floor`. */
async function counterAbove(p: Page, name: string, floor: number): Promise<number> {
  await p.waitForFunction(([id, min]) => Number(document.getElementById(id as string)?.textContent) > (min as number), [`counter-${name}`, floor], { timeout: WAIT_MS });
  return counter(p, name);
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('browser playground in chromium', () => {
  test('a chromium starts: the system one or the bundled @sparticuz/chromium', async () => {
    await playground(); // throws, naming each attempt, when none starts
    expect(browserDescription).toMatch(/^(system chromium|bundled @sparticuz\/chromium) /);
    expect(browser?.isConnected()).toBe(true);
  }, 3 * WAIT_MS); // the first bundled launch inflates chromium (~190 MB) first

  test('the page is cross-origin isolated and the core runs in it', async () => {
    const p = await playground();
    expect(await p.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    expect(await p.textContent('#isolation')).toBe('crossOriginIsolated: true');
    // The page set up /db and /notes: both listed, /notes mapped read-only and present.
    await p.waitForSelector('tr[data-path="/db"]', { timeout: WAIT_MS });
    await p.waitForSelector('tr[data-path="/notes"]', { timeout: WAIT_MS });
    expect(await p.textContent('#pte-summary')).toMatch(/[1-9]\d* read-only/);
    expect(await p.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  });

  test('writer workers store through the mapping: counters grow, faults are shown, entries turn writable', async () => {
    const p = await playground();
    const storesBefore = await counter(p, 'stores');
    await p.selectOption('#writer-count', '2');
    await p.click('#writers-start');
    await counterAbove(p, 'writersRunning', 0);
    const writerStores = await counterAbove(p, 'writerStores', 0);
    expect(writerStores).toBeGreaterThanOrEqual(2 * 2000); // one batch from each writer
    expect(await counterAbove(p, 'stores', storesBefore + writerStores - 1)).toBeGreaterThanOrEqual(storesBefore + writerStores);
    expect(await counterAbove(p, 'faultEvents', 0)).toBeGreaterThan(0);
    await p.waitForFunction(() => /[1-9]\d* writable/.test(document.getElementById('pte-summary')?.textContent ?? ''), undefined, { timeout: WAIT_MS });
    expect(await p.locator('#events .event.fault').count()).toBeGreaterThan(0);
    // The grid counts lines written by the writers (dirty: they do not flush by default).
    expect(Number(await p.textContent('#legend [data-state="dirty"]'))).toBeGreaterThan(0);
  });

  test('a snapshot taken while the writers store appears with shared extents and does not change', async () => {
    const p = await playground();
    await p.click('#snapshot');
    await p.waitForSelector('tr[data-path="/snap-1/db"]', { timeout: WAIT_MS });
    await p.waitForSelector('tr[data-path="/snap-1/notes"] .extent.shared', { timeout: WAIT_MS });
    expect(await p.textContent('tr[data-path="/snap-1/notes"]')).toContain('shared x2');
    // The writers keep storing into /db: two more batches each, then the snapshot is checked.
    const after = await counter(p, 'writerStores');
    await counterAbove(p, 'writerStores', after + 2 * 2 * 2000 - 1);
    await p.waitForTimeout(1000); // at least two checks of the snapshot watch (every 400 ms)
    expect(await p.locator('#violations li').allTextContents()).toEqual([]);
    expect(await counter(p, 'cowFaults')).toBeGreaterThan(0);
  });

  test('freeze stops the writers\' stores until thaw', async () => {
    const p = await playground();
    await p.click('#freeze');
    await p.waitForFunction(() => document.getElementById('counter-frozen')?.textContent === 'yes', undefined, { timeout: WAIT_MS });
    const frozenStores = await counter(p, 'stores');
    await p.waitForTimeout(1000); // the writers keep trying: their faults wait for thaw
    expect(await counter(p, 'stores')).toBe(frozenStores);
    expect(await p.locator('#violations li').count()).toBe(0);
    await p.click('#thaw');
    await counterAbove(p, 'stores', frozenStores);
  });

  test('clwb without a fence leaves lines flush-pending until sfence; a poisoned line shows', async () => {
    const p = await playground();
    const legend = (state: string): Promise<number> => p.textContent(`#legend [data-state="${state}"]`).then(Number);
    const waitLegend = (state: string, test: 'zero' | 'positive'): Promise<unknown> => p.waitForFunction(([s, t]) => {
      const n = Number(document.querySelector(`#legend [data-state="${s}"]`)?.textContent);
      return t === 'zero' ? n === 0 : n > 0;
    }, [state, test], { timeout: WAIT_MS });
    await p.click('#clwb');
    await waitLegend('flushPending', 'positive');
    await p.click('#sfence');
    await waitLegend('flushPending', 'zero');
    expect(await legend('flushPending')).toBe(0);
    await p.click('#poison');
    await waitLegend('poisoned', 'positive');
    expect(await legend('poisoned')).toBe(1);
    await p.click('#clear-poison');
    await waitLegend('poisoned', 'zero');
  });

  test('crash (strict, then random) and remount: fsck is clean', async () => {
    const p = await playground();
    await p.click('#crash-strict');
    await p.waitForSelector('#remount[data-fsck]', { timeout: WAIT_MS });
    expect(await p.textContent('#remount')).toMatch(/^after strict crash: fsck clean; scrub 0 checksum, 0 metadata errors$/);
    expect(await counter(p, 'writersRunning')).toBe(0);
    await p.click('#crash-random');
    await p.waitForFunction(() => document.getElementById('remount')?.textContent?.includes('random'), undefined, { timeout: WAIT_MS });
    expect(await p.getAttribute('#remount', 'data-fsck')).toBe('clean');
    // The committed files survive; the snapshot was committed when it was taken.
    await p.waitForSelector('tr[data-path="/snap-1/db"]', { timeout: WAIT_MS });
  });

  test('snapshotWriteProtect off: the snapshot changes under the writers and the page reports it', async () => {
    const p = await playground();
    await p.uncheck('#switch-snapshotWriteProtect');
    await p.click('#writers-start');
    await counterAbove(p, 'writersRunning', 0);
    await counterAbove(p, 'writerStores', await counter(p, 'writerStores'));
    await p.click('#snapshot');
    await p.waitForSelector('#violations li', { timeout: WAIT_MS });
    const violations = await p.locator('#violations li').allTextContents();
    expect(violations.some((v) => /snapshot \/snap-\d+: \/snap-\d+\/db changed after it was taken/.test(v))).toBe(true);
    await p.click('#writers-stop');
    await p.waitForFunction(() => document.getElementById('counter-writersRunning')?.textContent === '0', undefined, { timeout: WAIT_MS });
    await p.check('#switch-snapshotWriteProtect');
  });

  test('every thread scenario runs in the browser and reports its failure reproduced with the switch off', async () => {
    const p = await playground();
    for (const thread of ['000', '001', '002', '003', '004']) {
      await p.click(`#scenario-${thread}`);
      await p.waitForFunction((t) => {
        const status = document.getElementById('scenario-status');
        return status?.dataset.state !== 'running' && status?.textContent?.startsWith(`thread ${t}`);
      }, thread, { timeout: 3 * WAIT_MS });
      expect(await p.getAttribute('#scenario-status', 'data-state')).toBe('done');
      const rows = p.locator(`#scenario-rows tr[data-thread="${thread}"]`);
      expect(await rows.count()).toBeGreaterThan(0);
      const texts = await rows.allTextContents();
      expect(await p.locator(`#scenario-rows tr[data-thread="${thread}"][data-reproduced="true"]`).count(), `thread ${thread}: ${texts.join(' / ')}`).toBe(await rows.count());
    }
  }, 6 * WAIT_MS);

  test('a fuzz campaign with commitChecksums off finds a violation and offers its reproducer for download', async () => {
    const p = await playground();
    await p.fill('#fuzz-seed', '3');
    await p.fill('#fuzz-scripts', '2');
    await p.fill('#fuzz-ops', '12');
    await p.selectOption('#fuzz-policy', 'commitChecksums');
    await p.click('#fuzz-run');
    await p.waitForSelector('#fuzz-status[data-state="done"], #fuzz-status[data-state="failed"]', { timeout: 3 * WAIT_MS });
    expect(await p.textContent('#fuzz-status')).toMatch(/^done: 2 scripts, .* [1-9]\d* violations; [1-9]\d* finding\(s\)$/);
    expect(await p.evaluate(() => (document.getElementById('fuzz-progress') as HTMLProgressElement).value)).toBe(2);
    expect(await p.locator('#fuzz-findings .finding').count()).toBeGreaterThan(0);
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('#fuzz-findings a.download >> nth=0')]);
    const reproducer = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(reproducer.pmcow).toBe('reproducer');
    expect(reproducer.script).toContain('policy commitChecksums=off');
    // As in Node (test/fuzz.test.ts): the stale checksum of an mmap-dirtied page reads EIO.
    expect(reproducer.problems.join(' ')).toMatch(/EIO/);
  }, 4 * WAIT_MS);

  test('screenshot of the whole page, writers running after a reflink', async () => {
    const p = await playground();
    await p.click('#writers-start');
    await counterAbove(p, 'writersRunning', 0);
    await p.click('#reflink');
    await p.waitForSelector('tr[data-path="/db.reflink-1"]', { timeout: WAIT_MS });
    await counterAbove(p, 'writerStores', await counter(p, 'writerStores'));
    await p.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    const png = readFileSync(SCREENSHOT_PATH);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const width = png.readUInt32BE(16);
    expect(width).toBe(1600);
    expect(statSync(SCREENSHOT_PATH).size).toBeGreaterThan(50_000);
    expect(pageErrors).toEqual([]);
  });
});
