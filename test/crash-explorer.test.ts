import { describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices } from '../src/crash/fuzz.js';
import { parse } from '../src/workload/parse.js';
import { loadCoreModule } from '../src/core/module.js';
import { mapSyncScript } from './helpers/map-sync-script.js';
import type { CrashModel } from '../src/model/crash-model.js';

// Crash exploration of whole scripts, judged by the reference model (src/model).
const check = async (text: string) => {
  await loadCoreModule();
  const options = { sizeBytes: 16 << 20, samples: 64 };
  return checkScript(parse(text), options, fuzzDevices(options));
};
/** Apply a script's operations to a model, each expected to succeed. */
const runner = (model: CrashModel) => (text: string): void => {
  for (const stmt of parse(text).stmts) {
    if (stmt.op === 'comment') continue;
    expect(model.begin(stmt).ok).toBe(true);
    expect(model.end({ ok: true }, () => '')).toEqual([]);
  }
};
const kinds = (r: Awaited<ReturnType<typeof check>>): string[] => r.violations.map((v) => `${v.kind}: ${v.point}: ${v.problems.join('; ')}`);

describe('crash exploration', () => {
  it('finds no violation in a datacow workload with commits, fsyncs and a snapshot, and dedupes mounts', async () => {
    const r = await check(`mkdir /d
create /d/f0
write /d/f0 0 3000 seed 1
create /d/f1
write /d/f1 0 8000 seed 2
create /d/f2
write /d/f2 0 13000 seed 3
commit
write /d/f1 1000 6000 seed 9
fsync /d/f1
snapshot / /s ro
unlink /d/f0
commit
read /s/d/f0
`);
    expect(kinds(r)).toEqual([]);
    expect(r.unjudged).toBeNull();
    expect(r.images).toBeGreaterThan(500);
    expect(r.mounted).toBeLessThan(r.images / 4);
  });

  it('finds the violation when cowOncePerTransaction is off (and none when on)', async () => {
    for (const on of [true, false]) {
      const r = await check(`${on ? '' : 'policy cowOncePerTransaction=off\n'}create /f
write /f 0 8192 seed 1
commit
mmap m /f 0 8192 rw
mstore m 0 64 seed 2
commit
mstore m 0 64 seed 3
mflush m 0 64
fence
`);
      if (on) expect(kinds(r)).toEqual([]);
      // Stores after the commit change the committed block in place: its checksum goes
      // stale (the live read fails) and crash images hold data no state had.
      else expect(r.violations.length).toBeGreaterThan(0);
    }
  });

  it('finds the violation when mapSyncDurableFault is off (and none when on)', async () => {
    for (const on of [true, false]) {
      const r = await check(mapSyncScript(!on));
      if (on) expect(kinds(r)).toEqual([]);
      else expect(r.violations.filter((v) => v.kind === 'crash').map((v) => v.problems.join(' ')).join('\n')).toMatch(/\/f: bytes 409[0-9]/);
    }
  });

  it('catches an fsync the model knows was a persistence point: an image older than it is a violation', async () => {
    // The model alone decides: a crash image that shows the file as it was before the
    // fsync (here: the state before the write) must be rejected. The same image is legal
    // before the fsync returns.
    const { CrashModel } = await import('../src/model/crash-model.js');
    const model = new CrashModel({ deviceBytes: 16 << 20 });
    const run = runner(model);
    run('create /f\nwrite /f 0 100 seed 1\n');
    const before = model.state.clone();
    run('commit\nwrite /f 0 100 seed 2\n');
    const entry = (m: typeof before) => [
      { path: '/', kind: 'subvolume' as const, size: 0, nlink: 1, nodatacow: false, link: '5:256' },
      { path: '/f', kind: 'file' as const, size: 100, nlink: 1, nodatacow: false, link: '5:257', data: m.readFile('/f') },
    ];
    expect(model.matchEntries(entry(before)).problems).toEqual([]); // the committed state
    run('fsync /f\n');
    expect(model.matchEntries(entry(before)).problems.length).toBeGreaterThan(0);
    expect(model.matchEntries(entry(model.state)).problems).toEqual([]);
  });

  it('an exact match outlives a persistence point while a legal state holds the same files, and no MAP_SYNC floor since', async () => {
    // The explorer remembers images that passed; across a change of constraintRevision it
    // reuses a pass only when CrashModel.stillMatches vouches for it.
    const { CrashModel } = await import('../src/model/crash-model.js');
    const model = new CrashModel({ deviceBytes: 16 << 20 });
    const run = runner(model);
    const entry = (m: typeof model.state) => [
      { path: '/', kind: 'subvolume' as const, size: 0, nlink: 1, nodatacow: false, link: '5:256' },
      { path: '/f', kind: 'file' as const, size: m.readFile('/f').length, nlink: 1, nodatacow: true, link: '5:257', data: m.readFile('/f') },
    ];
    run('create /f\nsetflag /f nodatacow\nwrite /f 0 100 seed 1\n');
    const image = entry(model.state.clone());
    const first = model.matchEntries(image);
    expect(first.problems).toEqual([]);
    expect(first.exact).toBe(true);
    const token = model.passToken(first)!;
    expect(token).not.toBeNull();
    const revision = model.revision;
    run('commit\n'); // the commit's own state holds the same files: the image still matches it
    expect(model.revision).not.toBe(revision);
    expect(model.stillMatches(token)).toBe(model.time);
    expect(model.matchEntries(image).problems).toEqual([]); // what stillMatches promised
    run('write /f 0 100 seed 2\nfsync /f\n'); // a newer state persisted: the old one is gone
    expect(model.stillMatches(token)).toBeNull();
    expect(model.matchEntries(image).problems.length).toBeGreaterThan(0);
    // A MAP_SYNC floor set since a pass: no reuse, whatever the state.
    run('truncate /f 8192\ncommit\n');
    const now = model.matchEntries(entry(model.state.clone()));
    expect(now.exact).toBe(true);
    const token2 = model.passToken(now)!;
    run('mmap m /f 0 8192 rw sync\nmstore m 4096 8 seed 3\nmflush m 4096 8\nfence\n');
    expect(model.floorRevision).not.toBe(token2.floorRevision);
    expect(model.stillMatches(token2)).toBeNull();
  });
});
