// Crash exploration: at a crash point (just before a fence, or after an op), every legal
// crash image of the device's pending state, or seeded samples when there are too many,
// is mounted and checked. Images that pick the same superblock and agree on every line
// reachable from it are checked once (their mounts are identical).
import { FsError, requireKnownOptions } from '../errors.js';
import { assert } from '../assert.js';
import { PmemDevice } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import type { SuperblockState } from '../fs/kernel.js';
import { markReachable, markRange } from './reachable.js';
import { buildLineTable, captureFileMap, type FileMap, type LineTable } from './line-table.js';
import type { PassToken } from '../model/crash-model.js';
import type { CrashOracle, WordCondition } from './oracle-contract.js';
import type {
  ExplorerOptions, ImageChoice, PointReport, Violation,
} from './explorer-api.js';
import { ScratchGuard } from './scratch-guard.js';

export type { CrashOracle } from './oracle-contract.js';
export type {
  ExplorerOptions, PointReport, Violation, ViolationKind,
} from './explorer-api.js';
import { CRASH_MODE, CRASH_ROW_BYTES, CRASH_ROW_LINE, REGION } from '../core/abi.js';
import {
  SUPERBLOCK_BYTES, superblockOffsets, SECTOR_BYTES,
} from '../fs/format.js';
import { decodeSuperblock, chooseSuperblock } from '../fs/superblock.js';

/** Superblock generations an image of one crash point can mount (two slots, visible and media). */
const MAX_CANDIDATES = 4;
/** From this many images at a point, they are built on the lines that decide them only. */
const FILTERED_BUILD_MIN_IMAGES = 8;
/** Clean images remembered across crash points (forgotten all at once beyond this). */
const MAX_REMEMBERED = 4096;

interface Candidate {
  sb: SuperblockState;
  /** Scratch addresses of its bitmaps: tree blocks, and file data extents. */
  metadata: number;
  data: number;
  marked: boolean;
  /** Pending lines in its data bitmap, ascending (made when a line table is first built). */
  pendingData: Uint32Array | null;
  /** Fingerprints of its metadata and data lines at media (made when first needed). */
  mediaFingerprint?: string;
}

/** A superblock copy pmcow mounts, read in place, or null (no valid one, or a foreign one). */
function parseSuperblock(
  bytes: Uint8Array, crc: (b: Uint8Array) => number, offset: number,
): SuperblockState | null {
  const read = decodeSuperblock(bytes, crc, offset);
  return read && 'state' in read ? read.state : null;
}

/** An image that passed: its file map, the state it matched, under which constraints. */
interface CleanImage {
  files: FileMap;
  match: number | null;
  /** The oracle's constraintRevision then. */
  revision: number;
  /**
   * The oracle's token for an exact pass (valid under later revisions while passesAgain
   * says so), or null.
   */
  pass: PassToken | null;
}

/** What the oracle said of an image: the generation it mounted, and its problems. */
interface Verdict { generation: number; problems: string[] }

/** One crash point's exploration: where its scratch goes, its candidates, what it learnt. */
interface PointState {
  readonly report: PointReport;
  /** The handle whose scratch the explorer uses, and the guard of the device's own. */
  readonly work: PmemDevice;
  readonly guard: ScratchGuard | null;
  // Scratch: the composed superblock slots, two bitmaps per candidate, the bitmap of the
  // superblock slots' lines, the bitmap of the lines images are built on, then the line
  // table.
  readonly composeAt: number;
  readonly bitmapBytes: number;
  readonly slotsBitmapAt: number;
  readonly buildLinesAt: number;
  readonly tableAt: number;
  readonly tableRoom: number;
  readonly crc: (b: Uint8Array) => number;
  /** The superblock copies (superblock.ts): [primary, alternate], composed side by side. */
  readonly copies: [number, number];
  /** The media fingerprint of the superblock slots' lines. */
  readonly mediaKey: number;
  /** The superblocks an image can mount: those in the media and in the visible bytes. */
  readonly candidates: Map<number, Candidate>;
  /** The lines images are built on (null: every line), and its scratch address (0: none). */
  buildUnion: Uint32Array | null;
  buildLines: number;
  /** The candidates whose lines are in buildUnion. */
  readonly inUnion: Set<Candidate>;
  /**
   * Which superblock an image mounts depends only on its superblock slots' bytes: within
   * one point (one media), on the patch lines that fall in the slots.
   */
  readonly chosenBySlots: Map<number, number | null>;
  /**
   * Classes (images that mount the same superblock and metadata lines) and their line
   * tables (null: none, every image with new data is mounted).
   */
  readonly classes: Map<string, LineTable | null>;
  /** Verdicts by an image's full reachable contents (metadata and data patch lines). */
  readonly verdicts: Map<string, Verdict>;
  /** The line table in the scratch, prepared. */
  loaded: { table: LineTable; mediaFailing: number } | null;
}

const EXPLORER_OPTION_NAMES: readonly (keyof ExplorerOptions)[] = [
  'enumerateBound', 'samples', 'seed', 'target', 'lineTables', 'workspace', 'onViolationImage',
  'onImage',
];

export class CrashExplorer {
  private target: PmemDevice | null = null;
  readonly totals = {
    points: 0, images: 0, mounted: 0, tableChecked: 0, remembered: 0, violations: 0,
    elapsedMs: 0,
  };
  /** File maps of images that passed, and what they matched, by rememberedKey. */
  private readonly cleanImages = new Map<string, CleanImage>();
  /**
   * The superblock an image's slots choose (null: none valid), by media and patch
   * fingerprints.
   */
  private readonly composedSuperblocks = new Map<string, SuperblockState | null>();
  /** Superblocks parsed from the media slots, by the media fingerprint of the slots' lines. */
  private readonly mediaSuperblocks = new Map<number, SuperblockState[]>();
  private readonly bound: number;
  private readonly samples: number;
  private readonly seed: number;

  constructor(
    readonly device: PmemDevice, private readonly oracle: CrashOracle,
    options: ExplorerOptions = {},
  ) {
    requireKnownOptions(options, EXPLORER_OPTION_NAMES, 'explorer options');
    this.bound = options.enumerateBound ?? 10_000;
    this.samples = options.samples ?? 256;
    this.seed = options.seed ?? 1;
    this.target = options.target ?? null;
    this.workspace = options.workspace ?? null;
    if (this.workspace && (this.workspace.memory !== device.memory
      || this.workspace.threadSlot === device.threadSlot)) {
      throw new FsError(
        'EINVAL',
        'the crash explorer\'s workspace must be another handle (thread slot) on the same device',
      );
    }
    this.lineTables = options.lineTables ?? true;
    this.onViolationImage = options.onViolationImage ?? null;
    this.onImage = options.onImage ?? null;
    const lineCount = device.sizeBytes / 64;
    const bitmapBytes = Math.ceil(lineCount / 8);
    if (2 * SUPERBLOCK_BYTES + (MAX_CANDIDATES * 2 + 2) * bitmapBytes > device.scratch().length) {
      throw new FsError(
        'EINVAL',
        `device too large for crash exploration: its scratch holds no ${bitmapBytes}-byte `
        + 'line bitmaps',
      );
    }
  }

  private readonly lineTables: boolean;
  private readonly onViolationImage:
    ((violation: Violation, image: PmemDevice) => void) | null;
  private readonly onImage: ((image: PmemDevice) => void) | null;
  private readonly workspace: PmemDevice | null;

  /** Check the images of the device's current pending state. */
  explore(point: string): PointReport {
    if (this.workspace) return this.exploreIn(point, this.workspace, null);
    // The explorer works in the device's scratch, which the operation it interrupts (a
    // store or fence hook) may be using: it leaves the scratch as it found it.
    const guard = new ScratchGuard(this.device.scratch());
    try {
      return this.exploreIn(point, this.device, guard);
    } finally {
      guard.restore();
    }
  }

  /**
   * `work`: the handle whose scratch the explorer uses; `guard` saves it when it is the
   * device's own.
   */
  private exploreIn(point: string, work: PmemDevice, guard: ScratchGuard | null): PointReport {
    const started = performance.now();
    const scratch = work.scratch();
    guard?.touch(2 * SUPERBLOCK_BYTES); // superblock loads and checksums bounce through here
    const images = this.device.crashImageCount();
    const sampled = images > BigInt(this.bound);
    const report: PointReport = {
      point, images, checked: 0, mounted: 0, tableChecked: 0, remembered: 0, sampled,
      violations: [],
    };
    const p = this.startPoint(report, work, guard, scratch);
    this.findCandidates(p);
    const count = sampled ? this.samples : Number(images);
    this.startBuildUnion(p, count);
    for (let i = 0; i < count; i++) this.checkImage(p, i);
    assert(report.checked === count, 'a point checks each image it chose, once');
    // Each image is decided one way: a mount, its class's line table, an image remembered
    // from an earlier point, or a verdict cached at this point (the rest).
    assert(report.mounted + report.tableChecked + report.remembered <= report.checked,
      'an image is decided by one of a mount, a line table or a remembered image');
    this.totals.points++;
    this.totals.images += report.checked;
    this.totals.mounted += report.mounted;
    this.totals.tableChecked += report.tableChecked;
    this.totals.remembered += report.remembered;
    this.totals.violations += report.violations.length;
    this.totals.elapsedMs += performance.now() - started;
    return report;
  }

  /** A point's scratch layout and empty caches, with the superblock slots' lines marked. */
  private startPoint(
    report: PointReport, work: PmemDevice, guard: ScratchGuard | null, scratch: Uint8Array,
  ): PointState {
    const dev = this.device;
    const composeAt = scratch.byteOffset;
    const bitmapBytes = Math.ceil(dev.sizeBytes / 64 / 8);
    const slotsBitmapAt = composeAt + 2 * SUPERBLOCK_BYTES + MAX_CANDIDATES * 2 * bitmapBytes;
    const buildLinesAt = slotsBitmapAt + bitmapBytes;
    const tableAt = buildLinesAt + bitmapBytes;
    guard?.touch(tableAt - composeAt);
    const slotsBitmap = new Uint8Array(dev.memory.buffer, slotsBitmapAt, bitmapBytes);
    slotsBitmap.fill(0);
    const copies = superblockOffsets(dev.sizeBytes - (dev.sizeBytes % SECTOR_BYTES));
    for (const offset of copies) markRange(slotsBitmap, offset, SUPERBLOCK_BYTES);
    return {
      report, work, guard, composeAt, bitmapBytes, slotsBitmapAt, buildLinesAt, tableAt,
      tableRoom: scratch.byteOffset + scratch.length - tableAt,
      crc: (b: Uint8Array): number => work.crc32cBytes(b),
      copies,
      mediaKey: dev.core.pmem_media_fingerprint(slotsBitmapAt) >>> 0,
      candidates: new Map(), buildUnion: null, buildLines: 0, inUnion: new Set(),
      chosenBySlots: new Map(), classes: new Map(), verdicts: new Map(), loaded: null,
    };
  }

  /** The superblocks an image of this point can mount: on media, and visible ones. */
  private findCandidates(p: PointState): void {
    const dev = this.device;
    // The superblocks on media change only when a commit's superblock reaches it: parsed
    // once per content (keyed by the media fingerprint of the slots' lines, from the
    // core's per-chunk crc cache). The visible ones differ only while a slot line is pending.
    let onMedia = this.mediaSuperblocks.get(p.mediaKey);
    if (!onMedia) {
      onMedia = validSlots(p, (i) => dev.readMedia(p.copies[i]!, SUPERBLOCK_BYTES));
      if (this.mediaSuperblocks.size >= MAX_REMEMBERED) this.mediaSuperblocks.clear();
      this.mediaSuperblocks.set(p.mediaKey, onMedia);
    }
    addCandidates(p, onMedia);
    const pending = (offset: number): boolean =>
      dev.core.pmem_pending_lines(offset, SUPERBLOCK_BYTES) > 0;
    if (p.copies.some(pending)) {
      // The visible copies, loaded where images' copies are composed later (no copy out).
      addCandidates(p, validSlots(p, (i) => {
        const view = new Uint8Array(
          dev.memory.buffer, p.composeAt + i * SUPERBLOCK_BYTES, SUPERBLOCK_BYTES,
        );
        p.work.loadInto(p.copies[i]!, view);
        return view;
      }));
    }
  }

  /**
   * An image's verdict depends only on its superblock slots and the lines the superblock
   * it mounts reaches; an image mounted is built whole (materialize). So a point with many
   * images builds them on those lines alone (often a fifth of the pending lines: the rest
   * is data no superblock references yet): the slots, and the lines of every candidate
   * an image has chosen so far (an image that chooses another is built again with its
   * lines added; a random image's lines draw independently, so the lines built before
   * come out the same).
   */
  private startBuildUnion(p: PointState, count: number): void {
    const buffer = this.device.memory.buffer;
    const words = p.bitmapBytes >> 2;
    p.buildUnion = count >= FILTERED_BUILD_MIN_IMAGES
      ? new Uint32Array(buffer, p.buildLinesAt, words) : null;
    p.buildUnion?.set(new Uint32Array(buffer, p.slotsBitmapAt, words));
    p.buildLines = p.buildUnion ? p.buildLinesAt : 0;
  }

  /** Add a candidate's lines to the build bitmap; true when it was not there yet. */
  private widenBuild(p: PointState, c: Candidate): boolean {
    const buildUnion = p.buildUnion;
    if (!buildUnion || p.inUnion.has(c)) return false;
    p.inUnion.add(c);
    const words = p.bitmapBytes >> 2;
    for (const at of [c.metadata, c.data]) {
      const bits = new Uint32Array(this.device.memory.buffer, at, words);
      for (let w = 0; w < words; w++) buildUnion[w]! |= bits[w]!;
    }
    return true;
  }

  private markCandidate(p: PointState, c: Candidate): void {
    if (c.marked) return;
    const buffer = this.device.memory.buffer;
    markReachable(
      this.device, c.sb, new Uint8Array(buffer, c.metadata, p.bitmapBytes),
      new Uint8Array(buffer, c.data, p.bitmapBytes),
    );
    c.marked = true;
  }

  /** Does the image just built satisfy `table`? (Put in the scratch and prepared once.) */
  private tableAccepts(p: PointState, table: LineTable, slots: number): boolean {
    const core = this.device.core;
    if (p.loaded?.table !== table) {
      p.guard?.touch(table.base + table.bytes.length - p.composeAt);
      new Uint8Array(this.device.memory.buffer, table.base, table.bytes.length).set(table.bytes);
      const mediaFailing = core.pmem_line_table_prepare(table.base, table.entries);
      // (The explorer built the table: a refusal is its bug, not a media error.)
      assert(mediaFailing >= 0, 'the core accepts the line tables the explorer builds');
      p.loaded = { table, mediaFailing };
    }
    const r = core.pmem_line_table_check(slots, table.base, table.entries, p.loaded.mediaFailing);
    assert(r >= 0, 'a prepared line table checks every image built on the point');
    return r === 1;
  }

  /** Build image `choice` on the point's build lines; returns its patch slots. */
  private build(p: PointState, choice: ImageChoice): number {
    const arg = choice.mode === 'random' ? BigInt(choice.seed) : choice.index;
    const built = this.device.core.pmem_crash_build(CRASH_MODE[choice.mode], arg, 0, p.buildLines);
    assert(built >= 0, 'the core builds every image choice the explorer makes of its point');
    return built;
  }

  /** The generation of the candidate the image built in `slots` mounts, or null (none). */
  private chosenGeneration(p: PointState, slots: number): number | null {
    const core = this.device.core;
    const slotsCrc = core.pmem_patch_fingerprint(slots, p.slotsBitmapAt) >>> 0;
    let generation = p.chosenBySlots.get(slotsCrc);
    if (generation !== undefined) return generation;
    // The slots' bytes are their media (mediaKey) with the image's patch lines laid over
    // (slotsCrc): the same pair, at any point, composes the same superblocks.
    const composedKey = `${p.mediaKey}:${slotsCrc}`;
    let chosen = this.composedSuperblocks.get(composedKey);
    if (chosen === undefined) {
      const buffer = this.device.memory.buffer;
      p.copies.forEach((offset, i) => core.pmem_patch_compose(
        slots, offset, SUPERBLOCK_BYTES, p.composeAt + i * SUPERBLOCK_BYTES,
      ));
      // The mount's rule (superblock.ts chooseSuperblock): the primary when valid.
      chosen = chooseSuperblock((i) => parseSuperblock(
        new Uint8Array(buffer, p.composeAt + i * SUPERBLOCK_BYTES, SUPERBLOCK_BYTES),
        p.crc, p.copies[i]!,
      ));
      if (this.composedSuperblocks.size >= MAX_REMEMBERED) this.composedSuperblocks.clear();
      this.composedSuperblocks.set(composedKey, chosen);
    }
    generation = chosen && p.candidates.has(chosen.generation) ? chosen.generation : null;
    p.chosenBySlots.set(slotsCrc, generation);
    return generation;
  }

  /** Image `i` of the point: decided by its class's line table, a verdict, or a mount. */
  private checkImage(p: PointState, i: number): void {
    const { report } = p;
    const choice: ImageChoice = report.sampled
      ? { mode: 'random', seed: this.seed * 1_000_003 + this.totals.points * 7919 + i }
      : { mode: 'enumerate', index: BigInt(i) };
    let slots = this.build(p, choice);
    const generation = this.chosenGeneration(p, slots);
    report.checked++;
    const candidate = generation === null ? undefined : p.candidates.get(generation);
    if (!candidate) {
      // No superblock the explorer knows: mount it to see what happens.
      const verdict = this.mountAndCheck(choice);
      report.mounted++;
      this.reportVerdict(report, choice, verdict);
      return;
    }
    this.markCandidate(p, candidate);
    if (this.widenBuild(p, candidate)) slots = this.build(p, choice);
    const core = this.device.core;
    const metaKey = `${generation}:${core.pmem_patch_fingerprint(slots, candidate.metadata) >>> 0}`;
    const classTable = p.classes.get(metaKey); // undefined: the first image of its class
    if (classTable && this.tableAccepts(p, classTable, slots)) { report.tableChecked++; return; }
    const dataKey = `${metaKey}:${core.pmem_patch_fingerprint(slots, candidate.data) >>> 0}`;
    let verdict = p.verdicts.get(dataKey);
    if (!verdict && classTable === undefined) {
      verdict = this.firstOfClass(p, choice, slots, candidate, metaKey, dataKey);
    }
    if (!verdict) {
      verdict = this.mountAndCheck(choice);
      report.mounted++;
      p.verdicts.set(dataKey, verdict);
    }
    this.reportVerdict(report, choice, verdict);
  }

  /**
   * The first image of a class: remembered from an earlier point or mounted. The class
   * gets a line table when the oracle gives data rules for what the image matched.
   */
  private firstOfClass(
    p: PointState, choice: ImageChoice, slots: number, candidate: Candidate,
    metaKey: string, dataKey: string,
  ): Verdict {
    const generation = candidate.sb.generation;
    // An image with these very contents may have passed at an earlier point, under the
    // same oracle constraints (later versions only allow more), or exactly matching a
    // state the oracle still allows (passesAgain): then it passes again.
    const remembered = this.lineTables && this.oracle.constraintRevision !== undefined
      ? this.rememberedKey(candidate, generation, dataKey) : null;
    const clean = remembered ? this.stillClean(remembered) : undefined;
    let verdict: Verdict;
    let table: LineTable | null;
    if (clean) {
      const rules = this.rulesOf(clean.match);
      p.report.remembered++;
      verdict = { generation, problems: [] };
      table = rules ? this.rememberedTable(p, candidate, clean.files, rules, slots) : null;
    } else {
      const mounted = this.mountCheckKeep(choice);
      p.report.mounted++;
      verdict = mounted.verdict;
      table = this.mountedTable(p, candidate, mounted, remembered);
    }
    // The table must accept the image it was made from; if not, it is not used.
    p.classes.set(metaKey, table && this.tableAccepts(p, table, slots) ? table : null);
    p.verdicts.set(dataKey, verdict);
    return verdict;
  }

  /** The oracle's data rules for images like one that matched `match` (null: none). */
  private rulesOf(match: number | null | undefined): Map<string, WordCondition[]> | null {
    return this.lineTables && match !== null && match !== undefined
      ? this.oracle.dataRules?.(match) ?? null : null;
  }

  /** A remembered clean image's class table, its lines composed from the patch. */
  private rememberedTable(
    p: PointState, candidate: Candidate, files: FileMap,
    rules: Map<string, WordCondition[]>, slots: number,
  ): LineTable | null {
    if (p.tableRoom <= 0) return null;
    const dev = this.device;
    const lineBytes = (line: number): Uint8Array => {
      dev.core.pmem_patch_compose(slots, line * 64, 64, p.composeAt);
      return new Uint8Array(dev.memory.buffer, p.composeAt, 64).slice();
    };
    return this.tableFor(candidate, files, lineBytes, rules, p.tableAt, p.tableRoom);
  }

  /**
   * A mounted image that passed: remembered (under `remembered`, when given), and its
   * class's table made from its file map.
   */
  private mountedTable(
    p: PointState, candidate: Candidate,
    mounted: { verdict: Verdict; fs: FileSystem | null }, remembered: string | null,
  ): LineTable | null {
    const match = mounted.verdict.problems.length ? null : this.oracle.lastMatch?.();
    const rules = this.rulesOf(match);
    if (!rules || !mounted.fs) return null;
    const map = captureFileMap(mounted.fs, rules.keys());
    if (remembered) {
      if (this.cleanImages.size >= MAX_REMEMBERED) this.cleanImages.clear();
      const pass = this.oracle.lastPass?.() ?? null;
      const revision = this.oracle.constraintRevision!;
      this.cleanImages.set(remembered, { files: map, match: match!, revision, pass });
    }
    if (p.tableRoom <= 0) return null;
    const image = this.target!;
    // The image's bytes: its media (a mount may have stored since, not yet on media).
    const lineBytes = (line: number): Uint8Array => image.readMedia(line * 64, 64);
    return this.tableFor(candidate, map, lineBytes, rules, p.tableAt, p.tableRoom);
  }

  /** Report a verdict's problems, if any, as a crash violation of the point. */
  private reportVerdict(report: PointReport, choice: ImageChoice, verdict: Verdict): void {
    if (!verdict.problems.length) return;
    this.report(report, {
      kind: 'crash', point: report.point, image: choice, generation: verdict.generation,
      problems: verdict.problems,
    });
  }

  /**
   * The key of an image's full contents on the lines its superblock reaches (metadata and
   * data; media and patch), under the oracle's current constraints.
   */
  private rememberedKey(candidate: Candidate, generation: number, dataKey: string): string {
    const core = this.device.core;
    candidate.mediaFingerprint ??= `${core.pmem_media_fingerprint(candidate.metadata) >>> 0}:`
      + `${core.pmem_media_fingerprint(candidate.data) >>> 0}`;
    return `${generation}:${candidate.mediaFingerprint}:${dataKey}`;
  }

  /** The remembered clean image of this key, if it passes under the oracle's constraints now. */
  private stillClean(key: string): CleanImage | undefined {
    const clean = this.cleanImages.get(key);
    if (!clean) return undefined;
    if (clean.revision === this.oracle.constraintRevision) return clean;
    const match = clean.pass ? this.oracle.passesAgain?.(clean.pass) ?? null : null;
    return match === null ? undefined : { ...clean, match };
  }

  /** The line table of a class whose representative passed the oracle. */
  private tableFor(
    candidate: Candidate, files: FileMap, lineBytes: (line: number) => Uint8Array,
    rules: Map<string, WordCondition[]>, tableAt: number, tableRoom: number,
  ): LineTable | null {
    candidate.pendingData ??= this.pendingDataLines(candidate);
    return buildLineTable(files, lineBytes, rules, candidate.pendingData, tableAt, tableRoom);
  }

  /** Pending lines (the crash scan's rows) that hold file data of this superblock. */
  private pendingDataLines(candidate: Candidate): Uint32Array {
    const dev = this.device;
    const rowWords = CRASH_ROW_BYTES / Uint32Array.BYTES_PER_ELEMENT;
    const rows = new Uint32Array(
      dev.memory.buffer, dev.region(REGION.crashTable), rowWords * dev.region(REGION.crashRows),
    );
    const bitmap = new Uint8Array(
      dev.memory.buffer, candidate.data, Math.ceil(dev.sizeBytes / 64 / 8),
    );
    const lines: number[] = [];
    for (let r = 0; r < rows.length; r += rowWords) {
      const line = rows[r + CRASH_ROW_LINE / Uint32Array.BYTES_PER_ELEMENT]!;
      if ((bitmap[line >> 3]! >> (line & 7)) & 1) lines.push(line);
    }
    return Uint32Array.from(lines.sort((x, y) => x - y));
  }

  /** Mount and check one image; keeps the mounted file system for building a line table. */
  private mountCheckKeep(choice: ImageChoice): { verdict: Verdict; fs: FileSystem | null } {
    const image = this.materialize(choice);
    this.onImage?.(image);
    let fs: FileSystem;
    try {
      fs = FileSystem.mount(image);
    } catch (e) {
      const problems = [`mount failed: ${(e as Error).message}`];
      return { verdict: { generation: -1, problems }, fs: null };
    }
    // The superblock the mount chose (mount writes none: reading it again gives the same).
    const generation = fs.kernel.mountedGeneration;
    try {
      return { verdict: { generation, problems: this.oracle.check(fs, generation) }, fs };
    } catch (e) {
      const problems = [`check failed: ${(e as Error).message}`];
      return { verdict: { generation, problems }, fs: null };
    }
  }

  /** Build the image into the reusable target device, mount it and ask the oracle. */
  mountAndCheck(choice: ImageChoice): { generation: number; problems: string[] } {
    return this.mountCheckKeep(choice).verdict;
  }

  /** Record a violation; the hook sees its image when the target still holds it. */
  private report(report: PointReport, v: Violation): void {
    report.violations.push(v);
    const held = this.targetHolds;
    if (!this.onViolationImage || !this.target || !held || held.mode !== v.image.mode) return;
    const same = held.mode === 'random'
      ? held.seed === (v.image as { seed: number }).seed
      : held.index === (v.image as { index: bigint }).index;
    if (same) this.onViolationImage(v, this.target);
  }

  /** The image the target holds (the last one materialized). */
  private targetHolds: ImageChoice | null = null;

  /** The device holding one image (the explorer's reusable target). */
  materialize(choice: ImageChoice): PmemDevice {
    this.targetHolds = choice;
    const dev = this.device;
    if (choice.mode === 'random') {
      const into = this.target ?? undefined;
      this.target = dev.crash({ mode: 'random', seed: choice.seed, into });
      return this.target;
    }
    this.target = dev.crashImageAt(choice.index, { into: this.target ?? undefined });
    return this.target;
  }
}

/** The valid superblocks of the two copies, as `load` gives their bytes. */
function validSlots(p: PointState, load: (i: number) => Uint8Array): SuperblockState[] {
  return [0, 1].map((i) => parseSuperblock(load(i), p.crc, p.copies[i]!))
    .filter((sb) => sb !== null);
}

/** The superblocks found become candidates (new generations only, four at most). */
function addCandidates(p: PointState, found: SuperblockState[]): void {
  for (const sb of found) {
    if (p.candidates.has(sb.generation)) continue;
    if (p.candidates.size >= MAX_CANDIDATES) {
      throw new FsError('EIO', 'more than four superblock generations on the device');
    }
    const metadata = p.composeAt + 2 * SUPERBLOCK_BYTES + p.candidates.size * 2 * p.bitmapBytes;
    p.guard?.touch(metadata + 2 * p.bitmapBytes - p.composeAt);
    p.candidates.set(sb.generation, {
      sb, metadata, data: metadata + p.bitmapBytes, marked: false, pendingData: null,
    });
  }
}
