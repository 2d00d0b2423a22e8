// The commit participants' `committed` point (issue 18 point 2, the soak's seam): a
// participant hears of every commit that writes a new generation, whoever made it (an
// explicit commit, one the file system makes on its own, a MAP_SYNC write fault), once
// each; and nothing after it leaves.
import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice } from '../src/index.js';

const PAGE = 4096;

describe('a committed participant', () => {
  it('sees each commit once, with its generation, and stops after unsubscribe', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const seen: number[] = [];
    const stop = fs.kernel.participants.add({ committed: (generation) => seen.push(generation) });
    const generation = (): number => fs.statfs().generation;

    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(PAGE).fill(1));
    fs.commit();
    expect(seen).toEqual([generation()]);
    fs.commit(); // nothing changed: no new generation, nothing to hear
    expect(seen).toEqual([generation()]);

    fs.snapshot('/', '/snap'); // commits on its own
    expect(seen.length).toBe(2);
    expect(seen[1]).toBe(generation());

    // The snapshot shares /n's block: the first store COWs it, and a MAP_SYNC write fault
    // commits the new extent before the page turns writable.
    const m = fs.mmap('/n', { length: PAGE, sync: true });
    const before = seen.length;
    m.store(0, new Uint8Array(64).fill(7));
    expect(seen.length).toBeGreaterThan(before);
    expect(seen.at(-1)).toBe(generation());
    expect(new Set(seen).size).toBe(seen.length);
    m.unmap();

    stop();
    const heard = seen.length;
    fs.writeFile('/g', new Uint8Array(PAGE).fill(2));
    fs.commit();
    expect(generation()).toBeGreaterThan(seen.at(-1)!);
    expect(seen.length).toBe(heard);
    stop(); // a second unsubscribe is harmless
    fs.unmount();
    dev.close();
  });

  it('a listener may unsubscribe while it is told; the others are still told', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = fs.kernel.participants.add({ committed: (g) => { first.push(g); stopFirst(); } });
    fs.kernel.participants.add({ committed: (g) => second.push(g) });
    fs.writeFile('/a', new Uint8Array(16));
    fs.commit();
    fs.writeFile('/b', new Uint8Array(16));
    fs.commit();
    expect(first.length).toBe(1);
    expect(second.length).toBe(2);
    fs.unmount();
    dev.close();
  });
});
