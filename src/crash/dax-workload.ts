// A random workload generator aimed at DAX: files (datacow and nodatacow), several
// mappings of the same file (some MAP_SYNC), stores, flushes and fences, commits,
// snapshots, reflinks and freezes, in the orders the mailing-list threads describe.
// fsx-style scripts (src/workload/generate.ts) rarely line these up; this one does, so a
// fuzz campaign finds each switched-off mechanism in a few scripts.
import type { Script, Stmt } from '../workload/ast.js';
import type { DaxPolicy } from '../dax/policy.js';
import { Rng } from '../random.js';

const PAGE = 4096;

export interface DaxWorkloadOptions {
  seed: number;
  /** Operations after the setup (default 24). */
  ops?: number;
  policyOff?: keyof DaxPolicy;
}

export function daxWorkload(options: DaxWorkloadOptions): Script {
  // Its own stream (xorshift32) and its own chance(): the seeds tests and measurements use
  // keep their scripts (src/random.ts).
  const rng = Rng.xorshift32(options.seed * 2654435761 + 1);
  const chance = (p: number): boolean => rng.below(1000) < p * 1000;
  const stmts: Stmt[] = [{ op: 'comment', text: `dax workload seed ${options.seed}` }];
  if (options.policyOff) stmts.push({ op: 'policy', name: options.policyOff, value: false });
  const pages = 4;
  const files = ['/c0', '/c1', '/n0', '/n1'];
  const nocow = (f: string): boolean => f.startsWith('/n');
  // Half the scripts first fill a directory, so that the files' items sit in leaves a
  // snapshot shares without copying (a one-leaf tree is copied by the snapshot's own entry).
  if (chance(0.5)) {
    stmts.push({ op: 'mkdir', path: '/p' });
    for (let i = 0; i < 24; i++) stmts.push({ op: 'create', path: `/p/x${i}` });
  }
  for (const f of files) {
    stmts.push({ op: 'create', path: f });
    if (nocow(f)) stmts.push({ op: 'setflag', path: f, flag: 'nodatacow', nocap: false });
  }
  // Some files have data, some holes.
  for (const f of files) {
    if (chance(0.7)) stmts.push({ op: 'write', path: f, offset: 0, length: pages * PAGE, seed: rng.below(1000) });
    else stmts.push({ op: 'truncate', path: f, size: pages * PAGE });
  }
  stmts.push({ op: 'commit' });
  const maps: Array<{ name: string; file: string; sync: boolean }> = [];
  let mapSeq = 0;
  let clones = 0;
  let snaps = 0;
  let frozen = false;
  const mapOf = (file: string, sync: boolean): void => {
    const name = `m${mapSeq++}`;
    maps.push({ name, file, sync });
    stmts.push({ op: 'mmap', name, path: file, offset: 0, length: pages * PAGE, prot: 'rw', sync });
  };
  // Two mappings of one file, one MAP_SYNC mapping of a nodatacow file.
  mapOf(rng.pick(files), false);
  mapOf(maps[0]!.file, false);
  mapOf(rng.pick(files), false);
  const syncFile = rng.pick(['/n0', '/n1']);
  mapOf(syncFile, true);
  // The traps need a page stored to before a sharing event (snapshot, reflink, freeze,
  // commit) and again after it, possibly through another mapping of the file: most stores
  // revisit a page stored to earlier, through any mapping of its file.
  const touched: Array<{ file: string; page: number }> = [];
  const target = (): { m: typeof maps[number]; offset: number } => {
    if (touched.length && chance(0.6)) {
      const t = rng.pick(touched);
      const m = rng.pick(maps.filter((x) => x.file === t.file));
      return { m, offset: t.page * PAGE + rng.below(8) * 64 };
    }
    const m = rng.pick(maps);
    const page = rng.below(pages);
    if (!touched.some((t) => t.file === m.file && t.page === page)) touched.push({ file: m.file, page });
    return { m, offset: page * PAGE + rng.below(8) * 64 };
  };
  const count = options.ops ?? 24;
  for (let i = 0; i < count; i++) {
    const r = rng.below(100);
    const { m, offset } = target();
    if (frozen) {
      // While frozen: stores (which must wait or fail), then thaw.
      if (chance(0.6)) stmts.push({ op: 'mstore', name: m.name, offset, length: 64, seed: rng.below(1000) });
      else { stmts.push({ op: 'thaw' }); frozen = false; }
      continue;
    }
    if (r < 40) {
      stmts.push({ op: 'mstore', name: m.name, offset, length: 64, seed: rng.below(1000) });
      if (m.sync || chance(0.3)) {
        stmts.push({ op: 'mflush', name: m.name, offset, length: 64 });
        stmts.push({ op: 'fence' });
      }
    } else if (r < 52) {
      stmts.push({ op: 'commit' });
    } else if (r < 66) {
      stmts.push({ op: 'snapshot', src: '/', dst: `/s${snaps++}`, readonly: true });
    } else if (r < 78) {
      // Mostly a file with pages stored to: reflinking it is what must write-protect them.
      const src = touched.length && chance(0.7) ? rng.pick(touched).file : rng.pick(files);
      const dst = `/k${clones++}${nocow(src) ? 'n' : 'c'}`;
      stmts.push({ op: 'create', path: dst });
      if (nocow(src)) stmts.push({ op: 'setflag', path: dst, flag: 'nodatacow', nocap: false });
      stmts.push({ op: 'clone', src, dst });
    } else if (r < 86) {
      stmts.push({ op: 'freeze' });
      frozen = true;
    } else if (r < 91) {
      stmts.push({ op: 'write', path: rng.pick(files), offset: rng.below(pages * PAGE - 512), length: 512, seed: rng.below(1000) });
    } else if (r < 96) {
      stmts.push({ op: 'mload', name: m.name, offset, length: 64 });
    } else {
      // Unmap one mapping and map its file again: the reverse map must keep the others.
      const at = maps.indexOf(m);
      stmts.push({ op: 'munmap', name: m.name });
      const name = `m${mapSeq++}`;
      maps[at] = { name, file: m.file, sync: m.sync };
      stmts.push({ op: 'mmap', name, path: m.file, offset: 0, length: pages * PAGE, prot: 'rw', sync: m.sync });
    }
  }
  if (frozen) stmts.push({ op: 'thaw' });
  return { stmts };
}
