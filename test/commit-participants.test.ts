// Seams of issue 18 point 2: commit participants and device write listeners are lists a
// layer joins and leaves, in order, without undoing another's registration.
import { describe, expect, it } from 'vitest';
import { PmemDevice, FileSystem } from '../src/index.js';
import { CommitParticipants } from '../src/fs/commit-participants.js';

describe('commit participants', () => {
  it('calls each point in registration order, and a removed participant no more', () => {
    const list = new CommitParticipants();
    const seen: string[] = [];
    const stopA = list.add({ commitStarting: (g) => seen.push(`a start ${g}`), committed: (g) => seen.push(`a done ${g}`) });
    list.add({ beforeCommit: () => seen.push('b before'), committed: (g) => seen.push(`b done ${g}`) });
    list.call('commitStarting', 7);
    list.call('beforeCommit');
    list.call('committed', 7);
    stopA();
    stopA(); // a second call removes nothing else
    list.call('committed', 8);
    expect(seen).toEqual(['a start 7', 'b before', 'a done 7', 'b done 7', 'b done 8']);
    expect(list.size).toBe(1);
  });

  it('sees every commit of a file system once, with its generation, and none that changes nothing', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const starts: number[] = [], done: number[] = [];
    const stop = fs.kernel.participants.add({ commitStarting: (g) => starts.push(g), committed: (g) => done.push(g) });
    const g0 = fs.statfs().generation;
    fs.writeFile('/a', new Uint8Array(5000).fill(1));
    fs.commit();
    fs.commit(); // nothing changed: no commit
    fs.mkdir('/d');
    fs.sync();
    expect(done).toEqual([g0 + 1, g0 + 2]);
    expect(starts).toEqual(done);
    expect(fs.statfs().generation).toBe(g0 + 2);
    stop();
    fs.writeFile('/b', new Uint8Array(10));
    fs.commit();
    expect(done).toHaveLength(2);
    fs.unmount();
  });
});

describe('device write listeners', () => {
  it('report the blocks a file system writes to every listener until it leaves', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 32 << 20 });
    const a: number[] = [], b: number[] = [];
    const stopA = dev.fsWrites.add((bytenr) => a.push(bytenr));
    dev.fsWrites.add((bytenr) => b.push(bytenr));
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    // The superblock's primary copy at 64 KiB is among the writes.
    expect(a).toContain(64 << 10);
    stopA();
    const before = a.length;
    fs.writeFile('/f', new Uint8Array(8192).fill(3));
    fs.commit();
    expect(a.length).toBe(before);
    expect(b.length).toBeGreaterThan(before);
    fs.unmount();
  });
});
