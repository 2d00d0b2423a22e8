// A random workload generator aimed at DAX: files (datacow and nodatacow), several
// mappings of the same file (some MAP_SYNC), stores, flushes and fences, commits,
// snapshots, reflinks and freezes, in the orders the mailing-list threads describe.
// fsx-style scripts (src/workload/generate.ts) rarely line these up; this one does, so a
// fuzz campaign finds each switched-off mechanism in a few scripts.
import type { Script, Stmt } from '../workload/ast.js';
import type { DaxPolicy } from '../dax/policy.js';
import { Rng } from '../random.js';

const PAGE = 4096;
/** Pages of each file, and of each mapping. */
const PAGES = 4;
const FILES = ['/c0', '/c1', '/n0', '/n1'];

interface DaxWorkloadOptions {
  seed: number;
  /** Operations after the setup (default 24). */
  ops?: number;
  policyOff?: keyof DaxPolicy;
}

interface MapRecord { name: string; file: string; sync: boolean }

const nocow = (f: string): boolean => f.startsWith('/n');

export function daxWorkload(options: DaxWorkloadOptions): Script {
  const script = new DaxScript(options.seed);
  script.setUp(options.policyOff);
  const count = options.ops ?? 24;
  for (let i = 0; i < count; i++) script.step();
  return script.finish();
}

/** One script as it is written: its statements, mappings and what was stored to. */
class DaxScript {
  // Its own stream (xorshift32) and its own chance(): the seeds tests and measurements use
  // keep their scripts (src/random.ts).
  private readonly rng: Rng;
  private readonly stmts: Stmt[];
  private readonly maps: MapRecord[] = [];
  /** Pages stored to (or about to be), by file. */
  private readonly touched: Array<{ file: string; page: number }> = [];
  private mapSeq = 0;
  private clones = 0;
  private snaps = 0;
  private frozen = false;

  constructor(seed: number) {
    this.rng = Rng.xorshift32(seed * 2654435761 + 1);
    this.stmts = [{ op: 'comment', text: `dax workload seed ${seed}` }];
  }

  private chance(p: number): boolean {
    return this.rng.below(1000) < p * 1000;
  }

  /** The files, their data or holes, committed; then the mappings. */
  setUp(policyOff: keyof DaxPolicy | undefined): void {
    const { rng, stmts } = this;
    if (policyOff) stmts.push({ op: 'policy', name: policyOff, value: false });
    // Half the scripts first fill a directory, so that the files' items sit in leaves a
    // snapshot shares without copying (a one-leaf tree is copied by the snapshot's own entry).
    if (this.chance(0.5)) {
      stmts.push({ op: 'mkdir', path: '/p' });
      for (let i = 0; i < 24; i++) stmts.push({ op: 'create', path: `/p/x${i}` });
    }
    for (const f of FILES) {
      stmts.push({ op: 'create', path: f });
      if (nocow(f)) stmts.push({ op: 'setflag', path: f, flag: 'nodatacow', nocap: false });
    }
    // Some files have data, some holes.
    for (const f of FILES) {
      if (this.chance(0.7)) {
        stmts.push({
          op: 'write', path: f, offset: 0, length: PAGES * PAGE, seed: rng.below(1000),
        });
      } else {
        stmts.push({ op: 'truncate', path: f, size: PAGES * PAGE });
      }
    }
    stmts.push({ op: 'commit' });
    // Two mappings of one file, one MAP_SYNC mapping of a nodatacow file.
    this.mapOf(rng.pick(FILES), false);
    this.mapOf(this.maps[0]!.file, false);
    this.mapOf(rng.pick(FILES), false);
    this.mapOf(rng.pick(['/n0', '/n1']), true);
  }

  private mapOf(file: string, sync: boolean): void {
    const name = `m${this.mapSeq++}`;
    this.maps.push({ name, file, sync });
    this.stmts.push({
      op: 'mmap', name, path: file, offset: 0, length: PAGES * PAGE, prot: 'rw', sync,
    });
  }

  /**
   * The traps need a page stored to before a sharing event (snapshot, reflink, freeze,
   * commit) and again after it, possibly through another mapping of the file: most stores
   * revisit a page stored to earlier, through any mapping of its file.
   */
  private target(): { m: MapRecord; offset: number } {
    const { rng, touched } = this;
    if (touched.length && this.chance(0.6)) {
      const t = rng.pick(touched);
      const m = rng.pick(this.maps.filter((x) => x.file === t.file));
      return { m, offset: t.page * PAGE + rng.below(8) * 64 };
    }
    const m = rng.pick(this.maps);
    const page = rng.below(PAGES);
    if (!touched.some((t) => t.file === m.file && t.page === page)) {
      touched.push({ file: m.file, page });
    }
    return { m, offset: page * PAGE + rng.below(8) * 64 };
  }

  /** One operation after the setup. */
  step(): void {
    const { rng, stmts } = this;
    const r = rng.below(100);
    const { m, offset } = this.target();
    if (this.frozen) {
      // While frozen: stores (which must wait or fail), then thaw.
      if (this.chance(0.6)) {
        stmts.push({ op: 'mstore', name: m.name, offset, length: 64, seed: rng.below(1000) });
      } else {
        stmts.push({ op: 'thaw' });
        this.frozen = false;
      }
      return;
    }
    if (r < 40) {
      this.store(m, offset);
    } else if (r < 52) {
      stmts.push({ op: 'commit' });
    } else if (r < 66) {
      stmts.push({ op: 'snapshot', src: '/', dst: `/s${this.snaps++}`, readonly: true });
    } else if (r < 78) {
      this.reflink();
    } else if (r < 86) {
      stmts.push({ op: 'freeze' });
      this.frozen = true;
    } else if (r < 91) {
      stmts.push({
        op: 'write', path: rng.pick(FILES), offset: rng.below(PAGES * PAGE - 512), length: 512,
        seed: rng.below(1000),
      });
    } else if (r < 96) {
      stmts.push({ op: 'mload', name: m.name, offset, length: 64 });
    } else {
      this.remap(m);
    }
  }

  /** A store, flushed and fenced through a MAP_SYNC mapping (and now and then others). */
  private store(m: MapRecord, offset: number): void {
    const { rng, stmts } = this;
    stmts.push({ op: 'mstore', name: m.name, offset, length: 64, seed: rng.below(1000) });
    if (m.sync || this.chance(0.3)) {
      stmts.push({ op: 'mflush', name: m.name, offset, length: 64 });
      stmts.push({ op: 'fence' });
    }
  }

  private reflink(): void {
    const { rng, stmts } = this;
    // Mostly a file with pages stored to: reflinking it is what must write-protect them.
    const src = this.touched.length && this.chance(0.7)
      ? rng.pick(this.touched).file : rng.pick(FILES);
    const dst = `/k${this.clones++}${nocow(src) ? 'n' : 'c'}`;
    stmts.push({ op: 'create', path: dst });
    if (nocow(src)) stmts.push({ op: 'setflag', path: dst, flag: 'nodatacow', nocap: false });
    stmts.push({ op: 'clone', src, dst });
  }

  /** Unmap one mapping and map its file again: the reverse map must keep the others. */
  private remap(m: MapRecord): void {
    const at = this.maps.indexOf(m);
    this.stmts.push({ op: 'munmap', name: m.name });
    const name = `m${this.mapSeq++}`;
    this.maps[at] = { name, file: m.file, sync: m.sync };
    this.stmts.push({
      op: 'mmap', name, path: m.file, offset: 0, length: PAGES * PAGE, prot: 'rw', sync: m.sync,
    });
  }

  finish(): Script {
    if (this.frozen) this.stmts.push({ op: 'thaw' });
    return { stmts: this.stmts };
  }
}
