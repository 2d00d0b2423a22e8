// Crash an operation at every store: from a committed image, run the operation and a
// commit, and crash before each of their stores and after the last. Every strict and
// random crash image must mount to the state before the operation or after it (as
// `describe` sees a mounted file system), fsck clean; both must be seen.
import { expect } from 'vitest';
import { PmemDevice } from '../../src/index.js';
import { FileSystem } from '../../src/filesystem.js';

export interface CrashCuts { stores: number; before: number; after: number }

export async function crashAtEveryStore(base: Uint8Array, op: (fs: FileSystem) => void, describe: (fs: FileSystem) => unknown): Promise<CrashCuts> {
  const states = await statesAround(base, op, describe);
  const seen = { before: 0, after: 0 };
  for (let cut = 1; cut <= states.stores + 1; cut++) {
    const dev = await PmemDevice.fromImage(base);
    const fs = FileSystem.mount(dev);
    let n = 0;
    dev.beforeStore = () => { if (++n === cut) throw new Error('crash point'); };
    try { op(fs); fs.commit(); } catch (e) { if ((e as Error).message !== 'crash point') throw e; }
    dev.beforeStore = null;
    for (const mode of ['strict', 'random'] as const) {
      const crashed = dev.crash({ mode, seed: cut });
      const mounted = FileSystem.mount(crashed);
      const now = JSON.stringify(describe(mounted));
      const which = now === states.before ? 'before' : now === states.after ? 'after' : null;
      expect(which, `store ${cut} of ${states.stores}, ${mode} image: ${now}`).not.toBeNull();
      seen[which!]++;
      expect(mounted.fsck(), `store ${cut}, ${mode} image`).toEqual([]);
      crashed.close();
    }
    dev.close();
  }
  // Crashes land on both sides of the commit point.
  expect(seen.before, `${seen.after} images after, none before`).toBeGreaterThan(0);
  expect(seen.after).toBeGreaterThan(0);
  return { stores: states.stores, ...seen };
}

/** The states before and after the operation and its commit, and how many stores they took. */
async function statesAround(base: Uint8Array, op: (fs: FileSystem) => void, describe: (fs: FileSystem) => unknown): Promise<{ before: string; after: string; stores: number }> {
  const dev = await PmemDevice.fromImage(base);
  const fs = FileSystem.mount(dev);
  const before = JSON.stringify(describe(fs));
  let stores = 0;
  dev.beforeStore = () => { stores++; };
  op(fs);
  fs.commit();
  dev.beforeStore = null;
  const after = JSON.stringify(describe(fs));
  dev.close();
  expect(after, 'the operation changed nothing').not.toBe(before);
  expect(stores).toBeGreaterThan(2);
  return { before, after, stores };
}
