// The DAX mechanisms: mapping basics, the seven switches each on and then off, and the
// DAX-immutable flag. The switches' traps are the mailing-list threads' scenarios
// (src/scenarios): the demo runs them to print its table, this file runs the same steps
// and asserts what each switch must change.
import { describe, expect, it } from 'vitest';
import type { DaxPolicy } from '../src/index.js';
import {
  errnoOf as code, fill as bytes, mounted as scenarioMounted, nocowFile, PAGE_BYTES as PAGE,
} from '../src/scenarios/common.js';
import { snapshotTrap, SNAPSHOT_TRAP_PAGES } from '../src/scenarios/thread-000-snapshot.js';
import { frozenStoreTrap } from '../src/scenarios/thread-001-freeze.js';
import { checksumTrap, cowOnceTrap } from '../src/scenarios/thread-002-btrfs-dax.js';
import { reflinkTrap } from '../src/scenarios/thread-003-reflink.js';
import { mapSyncRuleTrap, mapSyncTrap } from '../src/scenarios/thread-004-map-sync.js';

const mounted = (policy: Partial<DaxPolicy> = {}): ReturnType<typeof scenarioMounted> =>
  scenarioMounted(policy, 32 << 20);

describe('DAX mapping basics', () => {
  it('a store through a mapping leaves its line pending in the cache, and only mflush queues its write-back', async () => {
    const { dev, fs } = await mounted();
    nocowFile(fs, '/f', 1, 1);
    const m = fs.mmap('/f', { length: PAGE });
    m.store(0, bytes(8, 2)); // faults the page writable first
    const [extent] = fs.fileExtents('/f');
    const line = extent!.diskBytenr + extent!.offset;
    const queued = dev.flushesQueued();
    m.store(64, bytes(8, 3));
    expect(dev.lineInfo(line + 64).pendingStores).toBeGreaterThan(0);
    expect(dev.flushesQueued()).toBe(queued); // a store is not a clwb
    m.flush(64, 8);
    expect(dev.flushesQueued()).toBe(queued + 1);
    m.fence();
    expect(dev.lineInfo(line + 64).pendingStores).toBe(0);
    dev.close();
  });

  it('stores go straight to the device with no fault once the page is writable', async () => {
    const { fs } = await mounted();
    nocowFile(fs, '/f', 4, 1);
    const m = fs.mmap('/f', { length: 4 * PAGE });
    m.store(10, bytes(5, 9));
    const faults = fs.dax.stats.writeFaults;
    for (let i = 0; i < 100; i++) m.store(20 + i, bytes(1, 8));
    expect(fs.dax.stats.writeFaults).toBe(faults); // DAX: no file-system call per store
    expect(fs.readFile('/f').subarray(10, 15)).toEqual(bytes(5, 9));
    expect(m.load(20, 100)).toEqual(bytes(100, 8));
  });

  it('a read fault on a hole maps the zero page; a later pwrite is seen through the mapping (generic/428)', async () => {
    const { fs } = await mounted();
    fs.create('/h');
    fs.truncate('/h', 2 * PAGE);
    const m = fs.mmap('/h', { length: 2 * PAGE, prot: 'r' });
    expect(m.load(0, 8)).toEqual(bytes(8, 0));
    const fd = fs.open('/h');
    fs.pwrite(fd, bytes(8, 0x42), 4);
    expect(m.load(0, 12)).toEqual(Uint8Array.from([0, 0, 0, 0, ...bytes(8, 0x42)]));
  });

  it('access past EOF is SIGBUS, truncate unmaps, a read-only mapping refuses stores', async () => {
    const { fs } = await mounted();
    nocowFile(fs, '/f', 2, 1);
    const m = fs.mmap('/f', { length: 4 * PAGE });
    expect(code(() => m.load(2 * PAGE, 1))).toBe('SIGBUS');
    m.store(PAGE, bytes(4, 5));
    fs.truncate('/f', PAGE);
    expect(code(() => m.load(PAGE, 1))).toBe('SIGBUS');
    expect(code(() => m.store(PAGE, bytes(1, 1)))).toBe('SIGBUS');
    const r = fs.mmap('/f', { length: PAGE, prot: 'r' });
    expect(code(() => r.store(0, bytes(1, 1)))).toBe('SIGSEGV');
    expect(code(() => m.load(4 * PAGE, 1))).toBe('SIGSEGV');
  });

  it('a write fault on a shared extent COWs the page; the sibling file is untouched', async () => {
    const { fs } = await mounted();
    nocowFile(fs, '/a', 2, 1);
    fs.create('/b');
    fs.setNoDataCow('/b');
    fs.cloneFile('/a', '/b');
    const m = fs.mmap('/a', { length: 2 * PAGE });
    m.store(0, bytes(8, 7));
    expect(fs.dax.stats.cowFaults).toBe(1);
    expect(fs.readFile('/b').subarray(0, 8)).toEqual(bytes(8, 1));
    expect(fs.readFile('/a').subarray(0, 8)).toEqual(bytes(8, 7));
    expect(fs.fsck()).toEqual([]);
  });

  it('a poisoned block is a bus error through the mapping and reports every owner', async () => {
    const { dev, fs } = await mounted();
    nocowFile(fs, '/a', 1, 1);
    fs.create('/b');
    fs.setNoDataCow('/b');
    fs.cloneFile('/a', '/b');
    const ma = fs.mmap('/a', { length: PAGE, prot: 'r' });
    const mb = fs.mmap('/b', { length: PAGE, prot: 'r' });
    ma.load(0, 1);
    mb.load(0, 1);
    const block = fs.fileExtents('/a')[0]!.diskBytenr;
    dev.poison(block + 128);
    expect(code(() => ma.load(100, 64))).toBe('SIGBUS');
    expect(code(() => fs.readFile('/b'))).toBe('EIO');
    const owners = fs.blockOwners(block + 128);
    expect(owners.files.map((f) => f.ino).sort()).toHaveLength(2);
    expect(owners.mappings.map((m) => m.mapping).sort()).toEqual([ma.handle().id, mb.handle().id].sort());
    expect(owners.files.every((f) => f.offset === 128)).toBe(true);
  });
});

describe('the seven switches: each mechanism on, then off', () => {
  it('snapshotWriteProtect: a snapshot never changes after it returns', async () => {
    for (const on of [true, false]) {
      const seen = await snapshotTrap(on);
      for (let p = 0; p < SNAPSHOT_TRAP_PAGES; p++) {
        // The store after the snapshot: 64 bytes of 0x33 at 64 of each page.
        const stored = (data: Uint8Array): Uint8Array =>
          data.subarray(p * PAGE + 64, p * PAGE + 128);
        // With the switch off, the historical bug: the snapshot changed.
        if (!on) expect(stored(seen.snapshotLater)).toEqual(bytes(64, 0x33));
        expect(stored(seen.file)).toEqual(bytes(64, 0x33));
      }
      if (on) expect(seen.snapshotLater).toEqual(seen.atSnapshot);
    }
  });

  it('snapshotWriteProtect: a reflink target never changes through the source mapping', async () => {
    for (const on of [true, false]) {
      const { fs } = await mounted({ snapshotWriteProtect: on });
      nocowFile(fs, '/a', 1, 1);
      const m = fs.mmap('/a', { length: PAGE });
      m.store(0, bytes(8, 2));
      fs.create('/b');
      fs.setNoDataCow('/b');
      fs.cloneFile('/a', '/b');
      m.store(0, bytes(8, 3));
      expect(fs.readFile('/b').subarray(0, 8)).toEqual(bytes(8, on ? 2 : 3));
    }
  });

  it('freezeWriteProtect: nothing lands while frozen', async () => {
    for (const on of [true, false]) {
      const seen = await frozenStoreTrap(on);
      if (on) {
        expect(seen.errno).toBe('EBUSY'); // a main thread cannot wait for thaw
        expect(seen.landedStores).toBe(0);
        expect(seen.frozenByte).toBe(2);
      } else {
        expect(seen.errno).toBe(null);
        expect(seen.landedStores).toBeGreaterThan(0); // the store reached the device while frozen
      }
      // Thawed: stores go through again.
      seen.mapping.store(0, bytes(8, 4));
      expect(seen.fs.readFile('/f').subarray(0, 8)).toEqual(bytes(8, 4));
    }
  });

  it('multiMapping: after a reflink, a second mapping of the source no longer writes '
    + 'the shared block', async () => {
    for (const on of [true, false]) {
      const seen = await reflinkTrap(on);
      if (on) {
        expect(seen.b).toEqual(seen.expectB);
        expect(seen.a).toEqual(seen.expectA);
      } else {
        expect(seen.b).not.toEqual(seen.expectB); // the sibling was scribbled on
      }
    }
  });

  it('commitChecksums: pages dirtied through mmap read back after commit '
    + '(and scrub is clean)', async () => {
    for (const on of [true, false]) {
      const { read, scrub } = await checksumTrap(on);
      if (on) {
        expect(read.eio).toBe(false);
        expect(read.bytes.subarray(100, 108)).toEqual(bytes(8, 5));
        expect(scrub.csumErrors).toBe(0);
      } else {
        expect(read.eio).toBe(true); // stale checksum on good data
        expect(scrub.csumErrors).toBeGreaterThan(0);
      }
    }
  });

  it('cowOncePerTransaction: stores after a commit never touch the committed blocks', async () => {
    for (const on of [true, false]) {
      const { read, fsck } = await cowOnceTrap(on);
      if (on) {
        expect(read.eio).toBe(false);
        expect(read.bytes.subarray(0, 8)).toEqual(bytes(8, 2));
        expect(fsck).toEqual([]);
      } else {
        expect(read.eio).toBe(true); // the committed block changed under its checksum
      }
    }
  });

  it('mapSyncDurableFault: store + flush + fence through a MAP_SYNC mapping survives a crash',
    async () => {
    for (const on of [true, false]) {
      const { file, fsck } = await mapSyncTrap(on);
      expect(file.subarray(PAGE, PAGE + 8)).toEqual(bytes(8, on ? 6 : 0));
      expect(fsck).toEqual([]);
    }
  });

  it('MAP_SYNC is refused where the file cannot honour it (data checksums)', async () => {
    const { fs } = await mounted();
    fs.writeFile('/f', bytes(PAGE, 1));
    expect(code(() => fs.mmap('/f', { length: PAGE, sync: true }))).toBe('EOPNOTSUPP');
    const datacow = await mapSyncRuleTrap(false);
    expect(datacow.refused).toBe('EOPNOTSUPP');
    // Through a plain mapping of a datacow file, flush + fence is not enough.
    expect(datacow.file.subarray(0, 8)).not.toEqual(bytes(8, 6));
    const nodatacow = await mapSyncRuleTrap(true);
    expect(nodatacow.refused).toBe(null);
    expect(nodatacow.file.subarray(0, 8)).toEqual(bytes(8, 6));
  });

  it('tlbShootdown: a stale translation is never used after an entry changes', async () => {
    for (const on of [true, false]) {
      const { fs } = await mounted({ tlbShootdown: on });
      nocowFile(fs, '/f', 1, 1);
      const m = fs.mmap('/f', { length: PAGE });
      m.store(0, bytes(8, 2)); // this thread's TLB now holds a writable translation
      fs.snapshot('/', '/snap'); // entry write-protected (snapshotWriteProtect is on)
      m.store(0, bytes(8, 3));
      expect(fs.readFile('/snap/f').subarray(0, 8)).toEqual(bytes(8, on ? 2 : 3));
    }
  });
});

describe('the DAX-immutable flag (thread 004, six rules)', () => {
  it('needs a fully allocated, unshared nodatacow file and the capability; then only mmap changes data', async () => {
    const { fs } = await mounted();
    fs.create('/sparse');
    fs.setNoDataCow('/sparse');
    fs.truncate('/sparse', 2 * PAGE);
    expect(code(() => fs.setDaxImmutable('/sparse', true, { capability: true }))).toBe('EINVAL'); // rule 1: holes
    fs.create('/pre');
    fs.setNoDataCow('/pre');
    fs.fallocate('/pre', 0, PAGE);
    expect(code(() => fs.setDaxImmutable('/pre', true, { capability: true }))).toBe('EINVAL'); // rule 1: unwritten extents
    fs.writeFile('/cow', bytes(PAGE, 1));
    expect(code(() => fs.setDaxImmutable('/cow', true, { capability: true }))).toBe('EINVAL'); // COW faults change metadata
    nocowFile(fs, '/f', 2, 1);
    fs.create('/twin');
    fs.setNoDataCow('/twin');
    fs.cloneFile('/f', '/twin');
    expect(code(() => fs.setDaxImmutable('/f', true, { capability: true }))).toBe('EINVAL'); // rule 1: shared extents
    fs.unlink('/twin');
    fs.commit();
    expect(code(() => fs.setDaxImmutable('/f', true))).toBe('EPERM'); // rule 2: capability
    fs.setDaxImmutable('/f', true, { capability: true });
    // Rules 3 and 4: metadata immutable, data only through mmap.
    const fd = fs.open('/f');
    expect(code(() => fs.pwrite(fd, bytes(1, 1), 0))).toBe('EPERM');
    expect(code(() => fs.truncate('/f', 0))).toBe('EPERM');
    expect(code(() => fs.fallocate('/f', 0, 3 * PAGE))).toBe('EPERM');
    expect(code(() => fs.punchHole('/f', 0, PAGE))).toBe('EPERM');
    expect(code(() => fs.unlink('/f'))).toBe('EPERM');
    expect(code(() => fs.rename('/f', '/g'))).toBe('EPERM');
    expect(code(() => fs.link('/f', '/g'))).toBe('EPERM');
    expect(code(() => fs.snapshot('/', '/snap'))).toBe('EPERM'); // a snapshot would share its extents
    const m = fs.mmap('/f', { length: 2 * PAGE });
    m.store(0, bytes(8, 9));
    expect(fs.dax.stats.cowFaults).toBe(0);
    expect(fs.readFile('/f').subarray(0, 8)).toEqual(bytes(8, 9));
    // Rule 6: cleared only when not mapped (and with the capability).
    expect(code(() => fs.setDaxImmutable('/f', false, { capability: true }))).toBe('EBUSY');
    m.unmap();
    expect(code(() => fs.setDaxImmutable('/f', false))).toBe('EPERM');
    fs.setDaxImmutable('/f', false, { capability: true });
    fs.pwrite(fd, bytes(1, 1), 0);
    expect(fs.fsck()).toEqual([]);
  });
});
