// Debian's chromium driven by playwright-core (which never downloads a browser of its own).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless run on a CI machine: no sandbox (root), no GPU, no network chatter. */
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export function chromiumMissingMessage(): string {
  return `${CHROMIUM_PATH} is missing: install it with 'apt-get install -y chromium' (.ci/run does)${process.env.CI === 'true' ? ' -- required under CI=true' : ''}`;
}

/** Launch chromium headless; throws (the test fails, it is never skipped) when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(chromiumMissingMessage());
  // playwright-core gives each launch a fresh temporary profile (--user-data-dir).
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
}
