// `pmcow demo`: the device model's rules, each shown by running it.
import { PmemDevice } from '../pmem/device.js';
import { FsError } from '../errors.js';

interface DemoRow { scenario: string; images: string; strictCrash: string; randomCrashes: string }

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

function keptOf(
  dev: PmemDevice, addr: number, length: number, value: number, seeds: number,
): string {
  const target = dev.crash();
  let whole = 0, none = 0, mixed = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const bytes = dev.crash({ mode: 'random', seed, into: target }).load(addr, length);
    const kept = bytes.filter((b) => b === value).length;
    if (kept === length) whole++; else if (kept === 0) none++; else mixed++;
  }
  return `${whole} new, ${none} old, ${mixed} torn (of ${seeds})`;
}

function strictOf(dev: PmemDevice, addr: number, length: number, value: number): string {
  const bytes = dev.crash().load(addr, length);
  const kept = bytes.filter((b) => b === value).length;
  return kept === length ? 'kept' : kept === 0 ? 'lost' : `torn (${kept}/${length} bytes)`;
}

export async function runDeviceDemo(): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const seeds = 64;
  const fresh = (domain: 'adr' | 'eadr' = 'adr'): Promise<PmemDevice> =>
    PmemDevice.create({ sizeBytes: 1 << 20, domain, maxThreads: 2, scratchBytes: 1 << 16 });
  const row = (
    scenario: string, dev: PmemDevice, addr: number, length: number, value: number,
  ): void => {
    const count = dev.crashImageCount();
    rows.push({
      scenario, images: count === 2n ** 64n - 1n ? '>= 2^64 (saturated)' : String(count),
      strictCrash: strictOf(dev, addr, length, value),
      randomCrashes: keptOf(dev, addr, length, value, seeds),
    });
  };

  let dev = await fresh();
  dev.store(0, fill(8, 1));
  row('8-byte store, never flushed', dev, 0, 8, 1);

  dev = await fresh();
  dev.store(0, fill(8, 1)); dev.clwb(0);
  row('8-byte store + clwb, no sfence', dev, 0, 8, 1);

  dev = await fresh();
  dev.store(0, fill(8, 1)); dev.clwb(0); dev.sfence();
  row('8-byte store + clwb + sfence', dev, 0, 8, 1);

  dev = await fresh();
  dev.store(0, fill(8, 1)); dev.clflush(0);
  row('8-byte store + clflush', dev, 0, 8, 1);

  dev = await fresh();
  dev.ntStore(0, fill(64, 1)); dev.sfence();
  row('64-byte non-temporal store + sfence', dev, 0, 64, 1);

  dev = await fresh();
  dev.store(0, fill(64, 1));
  row('64-byte store (one line), never flushed', dev, 0, 64, 1);

  dev = await fresh();
  dev.store(0, fill(4096, 1));
  row('4 KiB page store, never flushed (thread 002: pages tear)', dev, 0, 4096, 1);

  dev = await fresh();
  dev.store(0, fill(4096, 1)); dev.flush(0, 4096); dev.sfence();
  row('4 KiB page store + clwb x64 + sfence', dev, 0, 4096, 1);

  dev = await fresh('eadr');
  dev.store(0, fill(4096, 1));
  row('eADR: 4 KiB page store, no flush', dev, 0, 4096, 1);

  dev = await fresh();
  dev.store(64, fill(8, 2)); dev.persist(64, 8); dev.poison(64);
  let poisoned = 'no error';
  try { dev.load(64, 8); } catch (e) { poisoned = e instanceof FsError ? e.code : String(e); }
  rows.push({
    scenario: 'poisoned line, then load', images: '-', strictCrash: `load: ${poisoned}`,
    randomCrashes: '-',
  });
  return rows;
}

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line),
  ].join('\n');
}
