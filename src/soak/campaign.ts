// One soak campaign's state and steps: the device and its spare, the mounted file system,
// the oracle's files and records, the writers, and the operations this thread runs while
// they store (soak.ts says what the campaign is).
import { sameBytes } from '../bytes.js';
import { FsError } from '../errors.js';
import { PmemDevice, type CrashMode } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import { loadCoreModule } from '../core/module.js';
import type { WorkloadResult, WorkloadSpec } from '../workers/writer.js';
import { Rng } from '../random.js';
import { SoakDraws, type SoakStatement } from '../workload/soak-draws.js';
import type { CrashOp } from '../workload/ast.js';
import type { SoakSettings } from './options.js';
import { emptySoakReport, type SoakReport } from './report.js';
import {
  SurvivalCheck, snapshotAndCloneNames, type Committed, type Frozen,
} from './survivors.js';
import { Tally, TaggedFile } from './tagged-file.js';
import { FILE_BYTES, STORE_BYTES, SoakWriters } from './writers.js';

/** Snapshots and clones kept at once (older ones are deleted): bounds space on a long soak. */
const KEEP = 3;
/** Stores per /n writer in the tail before a reboot (after a snapshot, no commits). */
const TAIL_STORES = 256;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class SoakCampaign {
  private readonly started = performance.now();
  private readonly tally = new Tally();
  readonly report: SoakReport = emptySoakReport(this.tally.messages);
  private live!: PmemDevice;
  /** Crash images go into this one device, again and again: shared memories are freed late. */
  private spare!: PmemDevice;
  private fs!: FileSystem;
  private readonly d = new TaggedFile('/d', FILE_BYTES, STORE_BYTES);
  private readonly n = new TaggedFile('/n', FILE_BYTES, STORE_BYTES);
  private readonly check: SurvivalCheck;
  /** The snapshots and clones taken that still exist (or may, in a crash image). */
  private items: Frozen[] = [];
  private committed!: Committed;
  private readonly writers: SoakWriters;
  /** Checks that wait for the batch to end (the allowed values of /n are known then). */
  private afterBatch: Array<() => void> = [];
  /** The batch running now: an unexpected error waits for it before stopping the writers. */
  private work: Promise<unknown> = Promise.resolve();
  /** This thread's operations during a batch, drawn as workload statements from the
   *  soak's stream since its first version (src/random.ts). */
  private readonly draws: SoakDraws;

  private constructor(private readonly settings: SoakSettings) {
    this.check = new SurvivalCheck(this.report, this.tally, this.d.slots);
    this.writers = new SoakWriters(settings);
    this.draws = new SoakDraws(Rng.scaled(settings.seed));
  }

  /** A fresh file system with /d, /c and the nodatacow /n, and the writers started on it. */
  static async start(settings: SoakSettings): Promise<SoakCampaign> {
    const campaign = new SoakCampaign(settings);
    await campaign.setUp();
    return campaign;
  }

  private async setUp(): Promise<void> {
    const { deviceBytes, dax } = this.settings;
    await loadCoreModule();
    this.live = await PmemDevice.create({ sizeBytes: deviceBytes });
    this.spare = await PmemDevice.create({ sizeBytes: deviceBytes });
    FileSystem.mkfs(this.live);
    const fs = FileSystem.mount(this.live, { dax });
    this.fs = fs;
    fs.mkdir('/c');
    fs.writeFile('/d', new Uint8Array(FILE_BYTES));
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(FILE_BYTES));
    fs.commit();
    this.committed = { generation: fs.kernel.generation, d: fs.readFile('/d'), names: new Set() };
    this.observeCommits(fs);
    await this.writers.attach(fs);
  }

  /**
   * The oracle's record of the last commit, taken as each commit returns (whoever made it:
   * an op, an early commit, a MAP_SYNC fault): then /d's blocks are write-protected in
   * every mapping, so what the read sees is exactly what the commit wrote.
   */
  private observeCommits(on: FileSystem): void {
    on.kernel.participants.add({
      committed: (generation) => {
        this.report.commits++;
        this.committed = this.commitRecord(on, generation, 'commit record');
      },
    });
  }

  /** /d and the snapshots and clones as they are now (an unreadable /d: empty, counted). */
  private commitRecord(on: FileSystem, generation: number, what: string): Committed {
    const d = this.check.readOrViolation(on, '/d', what) ?? new Uint8Array(0);
    return { generation, d, names: snapshotAndCloneNames(on) };
  }

  /** Batches until the time and the rounds are done (or a writer fails). */
  async run(): Promise<void> {
    try {
      for (;;) {
        const round = this.report.rounds + 1;
        const results = await this.runBatch(round);
        if (results === null) break;
        if (await this.endRound(round, results)) break;
      }
    } catch (e) {
      // Not a finding but a failure of the campaign itself: let the writers finish, stop
      // them, rethrow.
      if (this.fs.isFrozen) this.fs.thaw();
      await this.work.catch(() => undefined);
      await this.writers.stopPool();
      throw e;
    }
  }

  /** The last fsck, then everything is closed; returns the final totals. */
  async finish(): Promise<SoakReport> {
    await this.writers.detach();
    const problems = this.fs.fsck();
    this.report.fsckErrors += problems.length;
    for (const p of problems) this.tally.violation(`at the end: fsck: ${p}`);
    this.fs.unmount();
    this.live.close();
    this.spare.close();
    this.updateTotals();
    return this.report;
  }

  private updateTotals(): void {
    Object.assign(this.report, {
      storesChecked: this.tally.storesChecked, violations: this.tally.violations,
      elapsedMs: performance.now() - this.started,
    });
  }

  /**
   * One batch of the writers, with this thread's operations in between; null when a
   * writer failed (counted).
   */
  private async runBatch(round: number): Promise<WorkloadResult[] | null> {
    const { storesPerBatch } = this.settings;
    const specs = this.batchSpecs(round, storesPerBatch, storesPerBatch, 0);
    let done = false;
    let failure: unknown = null;
    const batch = this.writers.run(specs)
      .catch((e: unknown) => { failure = e; return [] as WorkloadResult[]; })
      .finally(() => { done = true; });
    this.work = batch;
    while (!done) {
      await sleep(2);
      if (done) break;
      await this.runOp(round);
    }
    const results = await batch;
    if (failure) {
      this.tally.violation(`batch ${round}: a writer failed: ${(failure as Error).message}`);
      return null;
    }
    return results;
  }

  /** One operation drawn at random; an FsError is a finding. */
  private async runOp(round: number): Promise<void> {
    try {
      await this.runStatement(this.draws.next());
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      this.tally.violation(`batch ${round}: ${e.message}`);
      if (this.fs.isFrozen) this.fs.thaw();
    }
  }

  /** A drawn statement, with the oracle's bookkeeping. */
  private async runStatement(stmt: SoakStatement): Promise<void> {
    switch (stmt.op) {
      case 'commit': this.fs.commit(); return;
      case 'snapshot': this.takeSnapshot(stmt.dst); return;
      case 'clone': this.takeClone(stmt.dst); return;
      case 'freeze': await this.freezeAndThaw(); return;
      case 'crash': this.crashDuringBatch(stmt); return;
    }
  }

  /** The batch is over: its checks, a reboot when due; returns whether it was the last. */
  private async endRound(round: number, results: WorkloadResult[]): Promise<boolean> {
    const { durationMs, minRounds, rebootEvery } = this.settings;
    this.report.rounds = round;
    this.endBatch(results);
    for (const check of this.afterBatch) check();
    this.afterBatch = [];
    this.checkQuiescent(round);
    const last = performance.now() - this.started >= durationMs && round >= minRounds;
    if (last || round % rebootEvery === 0) await this.reboot();
    this.updateTotals();
    this.settings.onProgress?.(this.report);
    return last;
  }

  /** Quiescent: every slot holds its last tag, seen through the mappings and through read. */
  private checkQuiescent(round: number): void {
    const what = `after batch ${round}`;
    const viaD = this.writers.loadD();
    const viaN = this.writers.loadN();
    this.d.checkExact(viaD, `${what}, through the mapping`, this.tally);
    this.n.checkExact(viaN, `${what}, through the mapping`, this.tally);
    const readD = this.check.readOrViolation(this.fs, '/d', what);
    if (readD && !sameBytes(readD, viaD)) {
      this.tally.violation(`${what}: readFile('/d') differs from the mapping`);
    }
    const readN = this.check.readOrViolation(this.fs, '/n', what);
    if (readN && !sameBytes(readN, viaN)) {
      this.tally.violation(`${what}: readFile('/n') differs from the mapping`);
    }
    for (const item of this.items) {
      this.check.unchanged(item, this.check.readOrViolation(this.fs, item.file, what), what);
    }
  }

  /** The writers' specs for a batch, and the oracle's files told what they will store. */
  private batchSpecs(
    round: number, dStores: number, nStores: number, seedSalt: number,
  ): WorkloadSpec[] {
    const specs = this.writers.specs(round, dStores, nStores, seedSalt);
    this.d.beginBatch(specs.filter((_, i) => i % 2 === 0));
    this.n.beginBatch(specs.filter((_, i) => i % 2 === 1));
    return specs;
  }

  private endBatch(results: WorkloadResult[]): void {
    this.report.writerStores += results.reduce((sum, r) => sum + r.stores, 0);
    this.d.endBatch(results.filter((_, i) => i % 2 === 0));
    this.n.endBatch(results.filter((_, i) => i % 2 === 1));
  }

  private crashImage(crash: CrashOp): PmemDevice {
    this.report.crashes++;
    return this.live.crash({ mode: crash.mode, seed: crash.seed ?? 0, into: this.spare });
  }

  private takeSnapshot(path: string): void {
    this.fs.snapshot('/', path);
    this.report.snapshots++;
    for (const file of [`${path}/d`, `${path}/n`]) {
      const content = this.check.readOrViolation(this.fs, file, 'new snapshot');
      if (!content) continue;
      // Checked exactly, live and in crash images, also for /n taken while the writers
      // store into it: the snapshot's commit writes back every page dirtied through a
      // mapping (stores a writer made visible but had not flushed yet included) before
      // its superblock, and write-protects it, so what the snapshot shares is durable
      // with it (Linux: dax_writeback_one + pfn_mkclean_range).
      this.items.push({ kind: 'snapshot', path, file, content });
    }
    const old = [...new Set(this.items.filter((i) => i.kind === 'snapshot').map((i) => i.path))];
    if (old.length > KEEP) {
      this.fs.deleteSubvolume(old[0]!);
      this.items = this.items.filter((i) => i.path !== old[0]);
    }
  }

  private takeClone(path: string): void {
    this.fs.cloneFile('/d', path);
    this.fs.commit();
    this.report.reflinks++;
    const content = this.check.readOrViolation(this.fs, path, 'new clone');
    if (content) this.items.push({ kind: 'clone', path, file: path, content });
    const old = this.items.filter((i) => i.kind === 'clone');
    if (old.length > KEEP) {
      this.fs.unlink(old[0]!.path);
      this.fs.commit();
      this.items = this.items.filter((i) => i !== old[0]);
    }
  }

  private async freezeAndThaw(): Promise<void> {
    this.fs.freeze();
    this.report.freezes++;
    const before = this.live.counters().stores;
    await sleep(3); // the writers keep going: their stores must wait for thaw
    const stored = this.live.counters().stores - before;
    this.fs.thaw();
    if (stored !== 0) this.tally.violation(`${stored} stores reached the device while frozen`);
  }

  /**
   * A crash image of this instant, writers still storing: mounted and checked now, its /n
   * once the batch is over (its allowed values are known then).
   */
  private crashDuringBatch(crash: CrashOp): void {
    const what = `crash image (${crash.mode}) during batch ${this.report.rounds + 1}`;
    const c = this.committed;
    const img = FileSystem.mount(this.crashImage(crash), { dax: this.settings.dax });
    const { imgN } = this.check.image(img, c, this.items, what);
    const check = this.n.snapshotAllowed();
    if (imgN) this.afterBatch.push(() => check(imgN, what, this.tally));
  }

  /**
   * The MAP_SYNC promise, at its sharpest: a snapshot shares /n's blocks, so the next
   * store to each page COWs it; a short tail of flushed and fenced stores to /n then runs
   * with no commit but the faults' own, and the crash comes right after.
   */
  private async reboot(): Promise<void> {
    this.takeSnapshot(this.draws.snapshot().dst);
    const tail = this.batchSpecs(this.report.rounds, 0, TAIL_STORES, 0x5000);
    this.endBatch(await this.writers.run(tail));
    await this.writers.detach();
    const mode: CrashMode = this.report.crashes % 2 ? 'random' : 'strict';
    const what = `reboot into a ${mode} crash image after batch ${this.report.rounds}`;
    this.report.reboots++;
    const c = this.committed;
    const image = this.crashImage(this.draws.crash(mode));
    const next = FileSystem.mount(image, { dax: this.settings.dax });
    this.checkReboot(next, c, what);
    this.spare = this.live;
    this.live = image;
    this.fs = next;
    this.observeCommits(next);
    this.committed = this.commitRecord(next, next.kernel.generation, 'after reboot');
    await this.writers.attach(next);
  }

  /** The rebooted image against the last commit; the oracle then goes on from it. */
  private checkReboot(next: FileSystem, c: Committed, what: string): void {
    const { imgD, imgN } = this.check.image(next, c, this.items, what);
    // Every store to /n was flushed and fenced, and its faults committed: all of it is there.
    if (imgN) this.n.checkExact(imgN, what, this.tally);
    const scrub = next.scrub();
    for (const e of scrub.errors) {
      this.tally.violation(`${what}: scrub: ${e.kind} at ${e.bytenr}: ${e.detail}`);
    }
    // Stores to /d since the last commit are gone; so are snapshots and clones never
    // committed. (When the commit record or the image's /d was unreadable, a violation is
    // counted: go on from what the image holds.)
    this.d.resetTo(c.d.length ? c.d : imgD ?? new Uint8Array(FILE_BYTES));
    this.items = this.items.filter((i) => c.names.has(i.path));
  }
}
