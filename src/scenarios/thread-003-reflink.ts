// Thread 003 (linux-xfs, 2019): after a reflink one physical page belongs to several
// files, and a page that remembers only one (mapping, index) cannot be invalidated
// everywhere. "Reflink a file and then use the different links using mmap."
import {
  row, fill, mounted, nocowFile, bytesDiffering, plural, PAGE_BYTES,
  type Outcome, type ScenarioRow,
} from './common.js';

/**
 * The trap (the demo's row and test/dax-switches.test.ts run it): two mappings of /a, a
 * reflink /a -> /b, then both copies written through mappings. It returns each file as
 * read and as its own mappings' stores should have left it, and the COW faults since the
 * reflink.
 */
export async function reflinkTrap(on: boolean) {
  const { fs } = await mounted({ multiMapping: on });
  nocowFile(fs, '/a', 1, 1);
  const m1 = fs.mmap('/a', { length: PAGE_BYTES });
  const m2 = fs.mmap('/a', { length: PAGE_BYTES });
  m1.store(0, fill(8, 2));
  m2.store(8, fill(8, 2)); // both mappings now map the block writable
  fs.create('/b');
  fs.setNoDataCow('/b');
  fs.cloneFile('/a', '/b'); // the block is now shared with /b
  const expectA = fs.readFile('/a');
  const expectB = fs.readFile('/b');
  const mb = fs.mmap('/b', { length: PAGE_BYTES });
  const cowBefore = fs.dax.stats.cowFaults;
  // mwrite both copies of the shared block, each at its own offsets.
  const writes: Array<[typeof m1, Uint8Array, number, number]> = [
    [m1, expectA, 16, 0xa1], [m2, expectA, 24, 0xa2],
    [mb, expectB, 32, 0xb0], [m1, expectA, 40, 0xa3],
  ];
  for (const [m, expect, at, value] of writes) {
    m.store(at, fill(8, value));
    expect.fill(value, at, at + 8);
  }
  const cowFaults = fs.dax.stats.cowFaults - cowBefore;
  const a = fs.readFile('/a');
  const b = fs.readFile('/b');
  return { a, b, expectA, expectB, cowFaults, invalidations: fs.dax.stats.invalidations };
}

async function reflinkRun(on: boolean): Promise<Outcome> {
  const seen = await reflinkTrap(on);
  const wrongA = bytesDiffering(seen.a, seen.expectA);
  const wrongB = bytesDiffering(seen.b, seen.expectB);
  const text = `${wrongB} bytes of /b, ${wrongA} of /a not what their own mappings stored `
    + `(${plural(seen.cowFaults, 'COW fault')}, ${plural(seen.invalidations, 'invalidation')})`;
  return { failed: wrongA + wrongB > 0, text };
}

export async function runThread003(): Promise<ScenarioRow[]> {
  return [
    row('003', 'multiMapping',
      'reflink /a -> /b, mwrite both (2 mappings of /a, 1 of /b): '
        + 'does each file hold only its own stores?',
      await reflinkRun(true), await reflinkRun(false)),
  ];
}
