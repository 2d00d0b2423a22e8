import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  checkScript, fuzz, fuzzDevices, type FuzzOptions,
} from '../src/crash/fuzz.js';
import { FileSystem } from '../src/index.js';
import { loadCoreModule } from '../src/core/module.js';
import { parse } from '../src/workload/parse.js';
import { patternBytes } from '../src/workload/pattern.js';
import { fuzzExitCode } from '../src/cli/fuzz-commands.js';

// Issue 11: the campaigns a user runs with the defaults, every generator and the store
// crash points, over six seeds each, every switch on: no violation, no internal error, and
// every script judged to its end by the reference model.
const SEEDS = [1, 2, 3, 4, 5, 6];
const campaigns: Array<[string, FuzzOptions]> = [
  ['fsx', { generator: 'fsx', scripts: 12 }],
  ['dax', { generator: 'dax', scripts: 8 }],
  ['mixed', { generator: 'mixed', scripts: 10 }],
  ['mixed, crash points before every store', { points: 'store+fence+op', scripts: 3 }],
];

describe('default campaigns are clean on the unmodified file system', () => {
  for (const [name, options] of campaigns) {
    it(`${name}: seeds ${SEEDS.join(', ')}`, async () => {
      for (const seed of SEEDS) {
        const r = await fuzz({ ...options, seed, minimise: false });
        const found = r.findings.map((f) => `seed ${seed} script ${f.script} ${f.kind}: ${f.violation.point}: ${f.violation.problems.join('; ')}`);
        expect(found).toEqual([]);
        expect(r.internalErrors).toBe(0);
        expect(r.unjudged).toBe(0);
        expect(r.scripts).toBe(options.scripts);
        expect(r.images).toBeGreaterThan(0);
      }
    });
  }

  it('a store the model expects to stop at EOF may stop earlier for want of space (seed 88201, script 87)', async () => {
    // /full leaves too little room for the COW fault of a page before EOF: the store stops
    // there with the same SIGBUS the model expected at EOF. The oracle took the SIGBUS as
    // its own and wanted every page up to EOF stored.
    const text = `create /f0
create /f1
create /f2
fallocate /f1 34316 16384
truncate /f0 23186
mmap m3 /f0 8192 32768 rw
write /f2 9828 7978 seed 14
mstore m3 5234 8740 seed 15
fallocate /f1 20480 28672
create /full
fallocate /full 0 1048576 keep
fallocate /full 1048576 1048576 keep
fallocate /full 2097152 1048576 keep
fallocate /full 5570560 4096 keep
expect SIGBUS mstore m3 11425 14859 seed 18
`;
    await loadCoreModule();
    const options = { metadataProfile: 'dup' as const, samples: 8 };
    const r = checkScript(parse(text), options, fuzzDevices(options));
    expect(r.violations.map((v) => `${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull(); // judged to its end
    // The store did stop before EOF, for space: the case this test is for.
    const dev = fuzzDevices().device; // the campaign's device
    FileSystem.mkfs(dev, { nodeSize: 4096, metadataProfile: 'dup' });
    const fs = FileSystem.mount(dev);
    for (const path of ['/f0', '/f1', '/f2']) fs.create(path);
    fs.fallocate('/f1', 34316, 16384);
    fs.truncate('/f0', 23186);
    const m = fs.mmap('/f0', { offset: 8192, length: 32768 });
    fs.writeFile('/f2', new Uint8Array(0));
    const fd = fs.open('/f2');
    fs.pwrite(fd, patternBytes(14, 7978), 9828);
    fs.close(fd);
    m.store(5234, patternBytes(15, 8740));
    fs.fallocate('/f1', 20480, 28672);
    fs.create('/full');
    fs.fallocate('/full', 0, 1 << 20, { keepSize: true });
    fs.fallocate('/full', 1 << 20, 1 << 20, { keepSize: true });
    expect(() => fs.fallocate('/full', 2 << 20, 1 << 20, { keepSize: true })).toThrow(/ENOSPC/);
    fs.fallocate('/full', 5570560, 4096, { keepSize: true });
    expect(() => m.store(11425, patternBytes(18, 14859))).toThrow(/SIGBUS.*ENOSPC/);
    const stored = patternBytes(18, 14859);
    expect(fs.readFile('/f0')[20480]).not.toBe(stored[20480 - 19617]);
    dev.close();
  });

  it('a nodatacow store past EOF lands in place: a crash back to the longer size may show it (fsx seed 403, script 1110)', async () => {
    // The truncate is not durable at the crash, so the image may have the old size, which
    // reads the bytes the mapping stored past the new EOF in the EOF page: they went into
    // the block in place. The model recorded in-place stores inside EOF only.
    const text = `create /f1
setflag /f1 nodatacow
write /f1 28672 10263 seed 2
commit
mmap m0 /f1 32768 12288 rw
truncate /f1 36963
mstore m0 3498 2444 seed 20
`;
    await loadCoreModule();
    const r = checkScript(parse(text), { samples: 64 }, fuzzDevices());
    expect(r.violations.map((v) => `${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull();
    // The case is real: some crash image has the old size and the stored bytes past EOF.
    const dev = fuzzDevices().device;
    FileSystem.mkfs(dev, { nodeSize: 4096 });
    const fs = FileSystem.mount(dev);
    fs.create('/f1');
    fs.setNoDataCow('/f1');
    const fd = fs.open('/f1');
    fs.pwrite(fd, patternBytes(2, 10263), 28672);
    fs.close(fd);
    fs.commit();
    const m = fs.mmap('/f1', { offset: 32768, length: 12288 });
    fs.truncate('/f1', 36963);
    const stored = patternBytes(20, 2444);
    m.store(3498, stored);
    let seen = 0;
    for (let seed = 1; seed <= 32 && seen === 0; seed++) {
      const image = dev.crash({ mode: 'random', seed });
      const after = FileSystem.mount(image);
      const data = after.readFile('/f1');
      if (data.length === 38935 && data[36992] === stored[36992 - 36266]
        && data[36999] === stored[36999 - 36266]) seen++;
      after.unmount();
      image.close();
    }
    expect(seen).toBe(1);
    dev.close();
  });

  it('a MAP_SYNC flush after a growing truncate unmapped the page still makes its stores durable (mixed seed 806, 60 ops)', async () => {
    // The truncate zeroes past the old EOF in the EOF page and unmaps that page; the flush
    // through the mapping skipped the unmapped page, so the stores made before it stayed
    // in the cache after the flush and fence that MAP_SYNC promised durable.
    const text = `create /f1
setflag /f1 nodatacow
rename /f1 /f0
mmap m0 /f0 0 24576 rw sync
truncate /f0 9134
mstore m0 6269 5821 seed 43
truncate /f0 33058
mflush m0 807 10259
fence
`;
    await loadCoreModule();
    const options = { metadataProfile: 'dup' as const, samples: 64 };
    const r = checkScript(parse(text), options, fuzzDevices(options));
    expect(r.violations.map((v) => `${v.point}: ${v.problems.join('; ')}`)).toEqual([]);
    expect(r.unjudged).toBeNull();
  });

  it('every ACE-style seq-1 workload is clean and judged to its end', async () => {
    const r = await fuzz({ generator: 'ace', aceK: 1, minimise: false });
    expect(r.scripts).toBe(634);
    expect(r.violations).toBe(0);
    expect(r.internalErrors).toBe(0);
    expect(r.unjudged).toBe(0);
  });

  it('`pmcow fuzz` with no options exits 0 and prints its summary, no stack trace', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'fuzz', '--quiet', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ summary: true, scripts: 10, violations: 0, findings: 0, internalErrors: 0 });
    expect(r.stderr).toBe('');
  });

  it('a violation exits 1 and its finding line comes with its kind, time and images', () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'fuzz', '--quiet', '--json', '--policy', 'commitChecksums=off', '--max-findings', '1'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const finding = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>;
    expect(finding).toMatchObject({ finding: 0 });
    expect(['crash', 'live', 'unexpected-result']).toContain(finding.kind);
    expect(finding.elapsedMs).toBeGreaterThan(0);
    expect(finding.reproducerBytes).toBeLessThanOrEqual(2048);
  });

  it('exit codes: 1 for violations (even with internal errors), 3 for internal errors alone, 0 clean', () => {
    expect(fuzzExitCode(2, 1)).toBe(1);
    expect(fuzzExitCode(0, 1)).toBe(3);
    expect(fuzzExitCode(0, 0)).toBe(0);
  });
});
