// One playground session: a device, the file system mounted on it, two DAX mappings and
// a pool of writer Web Workers storing through one of them; plus the live checks that
// turn a switched-off mechanism into a reported failure. Everything runs on the page's
// thread except the writers, exactly as in Node (src/workers/pool.ts).
import { PmemDevice, type CrashMode } from '../../src/pmem/device.js';
import { FileSystem } from '../../src/filesystem.js';
import type { DaxMapping } from '../../src/dax/mapping.js';
import { DEFAULT_DAX_POLICY, type DaxPolicy } from '../../src/dax/policy.js';
import { WriterPool } from '../../src/workers/pool.js';
import { FsError } from '../../src/errors.js';
import { EventLog } from './event-log.js';
import { LineStates } from './line-states.js';
import { SnapshotWatch } from './snapshot-watch.js';

export const PAGE_BYTES = 4096;
/** 16 MiB: 262144 lines, a 512 x 512 grid, one pixel per line. */
export const DEVICE_BYTES = 16 << 20;
/** The file the writers store into: nodatacow, like a database file (thread 004's model). */
export const DB_PATH = '/db';
export const DB_PAGES = 32;
/** A datacow file, mapped read-only: its entries show read faults and COW. */
export const NOTES_PATH = '/notes';
export const NOTES_PAGES = 4;
/** Stores each writer makes per batch; the writers stop between batches. */
const STORES_PER_BATCH = 2000;

export interface Violation {
  source: string;
  text: string;
}

export interface WriterTotals {
  running: number;
  batches: number;
  stores: number;
  faults: number;
}

export class PlaygroundSession {
  readonly events = new EventLog();
  readonly policy: DaxPolicy = { ...DEFAULT_DAX_POLICY };
  readonly violations: Violation[] = [];
  readonly writers: WriterTotals = { running: 0, batches: 0, stores: 0, faults: 0 };
  /** clwb + sfence after every writer store (lines turn durable instead of dirty). */
  writersPersist = false;
  lines: LineStates;
  mappings: Array<{ path: string; mapping: DaxMapping }> = [];
  /** The result of the last remount's fsck (null before the first crash). */
  lastRemount: { mode: CrashMode; seed: number; problems: string[]; csumErrors: number; metadataErrors: number } | null = null;
  private fs: FileSystem;
  private pool: WriterPool | null = null;
  private writerLoop: Promise<void> | null = null;
  private stopRequested = false;
  private watch: SnapshotWatch;
  private frozenAtStores: number | null = null;
  private snapshots = 0;
  private reflinks = 0;
  private crashes = 0;
  private readonly poisoned: number[] = [];

  private constructor(readonly device: PmemDevice, private readonly writerEntryUrl: URL) {
    FileSystem.mkfs(device);
    this.fs = this.mountAndHook();
    this.lines = new LineStates(device);
    this.watch = new SnapshotWatch(device);
    this.createFiles();
    this.mapFiles();
  }

  static async create(writerEntryUrl: URL): Promise<PlaygroundSession> {
    const device = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
    return new PlaygroundSession(device, writerEntryUrl);
  }

  get fileSystem(): FileSystem {
    return this.fs;
  }

  get frozen(): boolean {
    return this.fs.isFrozen;
  }

  // --- setup -------------------------------------------------------------------------

  /** Mount with the current switches, and log every fault and commit as it happens. */
  private mountAndHook(): FileSystem {
    const fs = FileSystem.mount(this.device, { dax: { ...this.policy } });
    const dax = fs.dax;
    const describe = (before: typeof dax.stats): string => {
      const after = dax.stats;
      if (after.cowFaults > before.cowFaults) return 'COW (copied to a new block)';
      if (after.holeFills > before.holeFills) return 'hole filled';
      if (after.inPlaceFaults > before.inPlaceFaults) return 'mapped in place';
      if (after.readFaults > before.readFaults) return 'mapped read-only';
      return 'resolved';
    };
    const label = (id: number, page: number, write: boolean): string => `${write ? 'write' : 'read'} fault, mapping ${id} page ${page}`;
    // Instance overrides, not source changes: the pool's fault service and DaxMapping
    // call these methods on this manager.
    const faultAsync = dax.faultAsync.bind(dax);
    dax.faultAsync = async (id, page, write) => {
      const before = { ...dax.stats };
      await faultAsync(id, page, write);
      this.events.add('fault', `${label(id, page, write)} (writer): ${describe(before)}`);
    };
    const fault = dax.fault.bind(dax);
    dax.fault = (id, page, write) => {
      const before = { ...dax.stats };
      fault(id, page, write);
      this.events.add('fault', `${label(id, page, write)} (page thread): ${describe(before)}`);
    };
    const kernel = fs.kernel;
    const commit = kernel.commit.bind(kernel);
    kernel.commit = () => {
      const before = kernel.generation;
      commit();
      if (kernel.generation !== before) this.events.add('commit', `generation ${kernel.generation} durable (superblock flushed and fenced)`);
    };
    return fs;
  }

  private createFiles(): void {
    const fs = this.fs;
    fs.create(DB_PATH);
    fs.setNoDataCow(DB_PATH);
    fs.writeFile(DB_PATH, new Uint8Array(DB_PAGES * PAGE_BYTES));
    fs.writeFile(NOTES_PATH, new TextEncoder().encode('pmcow playground\n'.repeat((NOTES_PAGES * PAGE_BYTES) / 17)));
    fs.commit();
  }

  private mapFiles(): void {
    const db = this.fs.mmap(DB_PATH, { length: DB_PAGES * PAGE_BYTES });
    const notesBytes = this.fs.stat(NOTES_PATH).size;
    const notes = this.fs.mmap(NOTES_PATH, { length: notesBytes, prot: 'r' });
    notes.load(0, notesBytes); // read faults: every page present, read-only
    this.mappings = [{ path: DB_PATH, mapping: db }, { path: NOTES_PATH, mapping: notes }];
  }

  // --- writers -----------------------------------------------------------------------

  async startWriters(count: number): Promise<void> {
    if (this.pool) throw new FsError('EBUSY', 'writers are already running');
    const db = this.mappings[0]!.mapping;
    const pool = await WriterPool.start(this.fs, count, { entryUrl: this.writerEntryUrl });
    this.pool = pool;
    this.stopRequested = false;
    this.writers.running = count;
    this.events.add('writers', `${count} writer workers started on ${DB_PATH} (thread slots ${pool.threadSlots.join(', ')})`);
    this.writerLoop = (async () => {
      for (let batch = 0; !this.stopRequested; batch++) {
        const specs = Array.from({ length: count }, (_, writerIndex) => ({
          mapping: db.handle(), kind: writerIndex % 2 === 0 ? 'random' as const : 'hot' as const,
          stores: STORES_PER_BATCH, storeBytes: 64, writers: count, writerIndex, seed: batch + 1, hotPages: 4,
          persist: this.writersPersist,
        }));
        const results = await pool.run(specs);
        this.writers.batches++;
        for (const r of results) { this.writers.stores += r.stores; this.writers.faults += r.faults; }
      }
    })().catch((e: unknown) => {
      if (this.pool === pool) this.events.add('error', `writers: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** Stop after the current batch (a writer waiting for thaw is stopped at once). */
  async stopWriters(): Promise<void> {
    // Frozen: the batch cannot finish before thaw, so do not wait for it.
    if (await this.endWriters(!this.frozen)) this.events.add('writers', 'writers stopped');
  }

  /** Stop the pool, after the current batch when `finishBatch`; false when none was running. */
  private async endWriters(finishBatch: boolean): Promise<boolean> {
    const pool = this.pool;
    if (!pool) return false;
    this.stopRequested = true;
    if (finishBatch) await this.writerLoop;
    this.pool = null;
    this.writerLoop = null;
    await pool.stop();
    this.writers.running = 0;
    return true;
  }

  // --- file-system operations --------------------------------------------------------

  commit(): void {
    this.fs.commit();
  }

  snapshot(): string {
    const path = `/snap-${++this.snapshots}`;
    this.fs.snapshot('/', path, { readonly: true });
    this.events.add('snapshot', `read-only snapshot ${path} of / (shares every extent; mappings write-protected: ${this.policy.snapshotWriteProtect ? 'yes' : 'NO'})`);
    this.watch.add(this.fs, `${path}${DB_PATH}`, `snapshot ${path}`);
    return path;
  }

  reflink(): string {
    const path = `${DB_PATH}.reflink-${++this.reflinks}`;
    this.fs.create(path);
    this.fs.setNoDataCow(path);
    this.fs.cloneFile(DB_PATH, path);
    this.events.add('reflink', `${DB_PATH} cloned to ${path} (extents shared, refcounts raised)`);
    this.watch.add(this.fs, path, `reflink ${path}`);
    return path;
  }

  freeze(): void {
    this.fs.freeze();
    this.frozenAtStores = this.device.counters().stores;
    this.events.add('freeze', `frozen (mappings write-protected: ${this.policy.freezeWriteProtect ? 'yes' : 'NO'})`);
  }

  thaw(): void {
    this.fs.thaw();
    this.frozenAtStores = null;
    this.events.add('thaw', 'thawed: waiting stores fault and continue');
  }

  /** clwb every line of /db through the mapping, from the page thread, without a fence: the
   * lines stay flush-pending until sfence (or a commit, whose fences drain this thread's queue). */
  clwbWithoutFence(): void {
    const db = this.mappings[0]!.mapping;
    db.flush(0, db.length);
    this.events.add('flush', `clwb of ${DB_PATH} queued (${this.device.flushesQueued()} write-backs wait for sfence)`);
  }

  sfence(): void {
    const queued = this.device.flushesQueued();
    this.device.sfence();
    this.events.add('flush', `sfence: ${queued} queued write-backs completed`);
  }

  /** A media error on the first line of /db's first block (loads of it fail; SIGBUS through a mapping). */
  poisonDbLine(): number {
    const first = this.fs.fileExtents(DB_PATH).find((e) => e.diskBytenr !== 0);
    if (!first) throw new FsError('ENODATA', `${DB_PATH} has no extent`);
    const addr = first.diskBytenr + first.offset;
    this.device.poison(addr, 64);
    this.poisoned.push(addr);
    this.events.add('poison', `line at device byte ${addr} (${DB_PATH} offset ${first.fileOffset}) poisoned`);
    return addr;
  }

  clearPoison(): void {
    for (const addr of this.poisoned.splice(0)) this.device.clearPoison(addr, 64);
    this.events.add('poison', 'poison cleared');
  }

  setSwitch(name: keyof DaxPolicy, on: boolean): void {
    this.policy[name] = on;
    this.fs.dax.policy[name] = on;
    this.events.add('policy', `${name} ${on ? 'on' : 'OFF'}`);
  }

  /**
   * Power cut: the device keeps one legal post-crash image (strict: only what was flushed
   * and fenced; random: any legal choice of the pending stores, by seed), the file system
   * is mounted again and checked.
   */
  async crashAndRemount(mode: CrashMode, seed = 0): Promise<void> {
    const hadWriters = await this.endWriters(false); // a power cut does not wait for the batch
    const crashSeed = mode === 'random' ? seed || ++this.crashes : 0;
    this.device.crashInPlace({ mode, seed: crashSeed });
    this.events.add('crash', `${mode} crash${mode === 'random' ? ` (seed ${crashSeed})` : ''}${hadWriters ? ', writers killed' : ''}`);
    this.frozenAtStores = null;
    this.lines.forget();
    this.watch.clear();
    this.fs = this.mountAndHook();
    const problems = this.fs.fsck();
    const scrub = this.fs.scrub();
    this.lastRemount = { mode, seed: crashSeed, problems, csumErrors: scrub.csumErrors, metadataErrors: scrub.metadataErrors };
    this.events.add('mount', `remounted: fsck ${problems.length === 0 ? 'clean' : `${problems.length} problems`}, scrub ${scrub.csumErrors} checksum / ${scrub.metadataErrors} metadata errors`);
    if (problems.length) this.report('fsck after remount', problems.slice(0, 3).join('; '));
    this.mapFiles();
  }

  // --- live checks -------------------------------------------------------------------

  private report(source: string, text: string): void {
    this.violations.push({ source, text });
    this.events.add('violation', `${source}: ${text}`);
  }

  /** Called every frame: the grid, and the checks a switched-off mechanism fails. */
  tick(): void {
    this.lines.refresh();
    if (this.frozenAtStores !== null) {
      const landed = this.device.counters().stores - this.frozenAtStores;
      if (landed > 0) {
        this.report('freeze', `${landed} stores reached the device while the file system was frozen (freezeWriteProtect ${this.policy.freezeWriteProtect ? 'on' : 'off'})`);
        this.frozenAtStores = null; // once per freeze
      }
    }
    for (const change of this.watch.check(this.fs)) this.report('snapshot/reflink watch', change);
  }
}
