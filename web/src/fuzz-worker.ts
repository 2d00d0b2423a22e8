// A fuzz campaign in its own Web Worker: checkScript is synchronous and would freeze the
// page for seconds; here the page keeps drawing and gets progress after every script.
import * as Comlink from 'comlink';
import { fuzz, type FuzzOptions, type FuzzProgress, type FuzzReport } from '../../src/crash/fuzz.js';

export type CampaignOptions = Omit<FuzzOptions, 'onScript'>;

const api = {
  async run(options: CampaignOptions, onProgress: (p: FuzzProgress) => void): Promise<FuzzReport> {
    const report = await fuzz({ ...options, onScript: (p) => { void onProgress(p); } });
    // Each reproducer keeps the campaign's options, onScript included: a function cannot
    // cross postMessage, and a reproducer file holds JSON only.
    return JSON.parse(JSON.stringify(report, (_key, value: unknown) => (typeof value === 'function' ? undefined : typeof value === 'bigint' ? String(value) : value))) as FuzzReport;
  },
};

export type FuzzWorkerApi = typeof api;
Comlink.expose(api);
