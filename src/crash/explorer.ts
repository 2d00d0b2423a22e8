// Crash exploration: at a crash point (just before a fence, or after an op), every legal
// crash image of the device's pending state, or seeded samples when there are too many,
// is mounted and checked. Images that pick the same superblock and agree on every line
// reachable from it are checked once (their mounts are identical).
import { FsError } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { FileSystem } from '../filesystem.js';
import type { SuperblockState } from '../fs/kernel.js';
import { markReachable, markRange } from './reachable.js';
import { buildLineTable, captureFileMap, type FileMap, type LineTable } from './line-table.js';
import type { PassToken } from '../model/crash-model.js';
import type { CrashOracle, WordCondition } from './oracle-contract.js';

export type { CrashOracle } from './oracle-contract.js';
import { CRASH_MODE, CRASH_ROW_BYTES, CRASH_ROW_LINE, REGION } from '../core/abi.js';
import {
  SUPERBLOCK_BYTES, superblockOffsets, SECTOR_BYTES,
} from '../fs/format.js';
import { decodeSuperblock, chooseSuperblock } from '../fs/superblock.js';


export type ImageChoice = { mode: 'enumerate'; index: bigint } | { mode: 'random'; seed: number };

/** What kind of failure a violation is (docs/crash.md, "Findings"). */
export type ViolationKind = 'crash' | 'unexpected-result' | 'live' | 'abort' | 'internal-error';

export interface Violation {
  /** 'crash' for the explorer's own reports: a crash image the oracle rejected. */
  kind: ViolationKind;
  point: string;
  image: ImageChoice;
  generation: number;
  problems: string[];
}

export interface PointReport {
  point: string;
  /** Legal images at this point (saturating at 2^64-1). */
  images: bigint;
  /** Images looked at (all of them, or the samples). */
  checked: number;
  /** Distinct mounts among them. */
  mounted: number;
  /** Images decided without mounting: same metadata as a mounted one, data checked by the line table. */
  tableChecked: number;
  /** Images not mounted because the same contents passed at an earlier point. */
  remembered: number;
  sampled: boolean;
  violations: Violation[];
}

export interface ExplorerOptions {
  /** Enumerate every image when there are at most this many (default 10^4). */
  enumerateBound?: number;
  /** Samples per point beyond the bound (default 256). */
  samples?: number;
  /** Seed of the samples. */
  seed?: number;
  /** A device of the same size to build images into (reused; one is made if absent). */
  target?: PmemDevice;
  /** Check images that share a mounted image's metadata by their data lines alone (default true). */
  lineTables?: boolean;
  /**
   * Another handle on the same device (`PmemDevice.attach(device.handle())`, its own
   * thread slot): the explorer works in its scratch, never in the scratch of the operation
   * it interrupts. Without one, the explorer saves the device's scratch before each crash
   * point and puts it back after (tens of KiB a point).
   */
  workspace?: PmemDevice;
  /**
   * Called with each crash violation found by mounting its image, and the device holding
   * that image (the explorer's target, valid until the hook returns): to save it
   * (`pmcow replay --image-out`).
   */
  onViolationImage?: (violation: Violation, image: PmemDevice) => void;
  /**
   * Each image the explorer mounts, as the crash left it (before the mount, which may
   * replay orphans into a transaction of its own): `npm run check:btrfs-progs` hands it to
   * btrfs check. Called synchronously; the device is valid only during the call.
   */
  onImage?: (image: PmemDevice) => void;
}


/** Superblock generations an image of one crash point can mount (two slots, visible and media). */
const MAX_CANDIDATES = 4;
/** From this many images at a point, they are built on the lines that decide them only. */
const FILTERED_BUILD_MIN_IMAGES = 8;
/** Clean images remembered across crash points (forgotten all at once beyond this). */
const MAX_REMEMBERED = 4096;

/** Saves the scratch bytes the explorer is about to use (a growing prefix) and puts them back. */
class ScratchGuard {
  private savedUpTo = 0;
  private readonly pieces: Array<{ at: number; bytes: Uint8Array }> = [];
  constructor(private readonly scratch: Uint8Array) {}
  touch(end: number): void {
    const to = Math.min(end, this.scratch.length);
    if (to <= this.savedUpTo) return;
    this.pieces.push({ at: this.savedUpTo, bytes: this.scratch.slice(this.savedUpTo, to) });
    this.savedUpTo = to;
  }
  restore(): void {
    for (const p of this.pieces) this.scratch.set(p.bytes, p.at);
    this.pieces.length = 0;
    this.savedUpTo = 0;
  }
}

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
function parseSuperblock(bytes: Uint8Array, crc: (b: Uint8Array) => number, offset: number): SuperblockState | null {
  const read = decodeSuperblock(bytes, crc, offset);
  return read && 'state' in read ? read.state : null;
}

/** An image that passed: its file map, the state it matched, under which constraints. */
interface CleanImage {
  files: FileMap;
  match: number | null;
  /** The oracle's constraintRevision then. */
  revision: number;
  /** The oracle's token for an exact pass (valid under later revisions while passesAgain says so), or null. */
  pass: PassToken | null;
}

export class CrashExplorer {
  private target: PmemDevice | null = null;
  readonly totals = { points: 0, images: 0, mounted: 0, tableChecked: 0, remembered: 0, violations: 0, elapsedMs: 0 };
  /** File maps of images that passed, and what they matched, by rememberedKey. */
  private readonly cleanImages = new Map<string, CleanImage>();
  /** The superblock an image's slots choose (null: none valid), by media and patch fingerprints. */
  private readonly composedSuperblocks = new Map<string, SuperblockState | null>();
  /** Superblocks parsed from the media slots, by the media fingerprint of the slots' lines. */
  private readonly mediaSuperblocks = new Map<number, SuperblockState[]>();
  private readonly bound: number;
  private readonly samples: number;
  private readonly seed: number;

  constructor(readonly device: PmemDevice, private readonly oracle: CrashOracle, options: ExplorerOptions = {}) {
    this.bound = options.enumerateBound ?? 10_000;
    this.samples = options.samples ?? 256;
    this.seed = options.seed ?? 1;
    this.target = options.target ?? null;
    this.workspace = options.workspace ?? null;
    if (this.workspace && (this.workspace.memory !== device.memory || this.workspace.threadSlot === device.threadSlot)) {
      throw new FsError('EINVAL', 'the crash explorer\'s workspace must be another handle (thread slot) on the same device');
    }
    this.lineTables = options.lineTables ?? true;
    this.onViolationImage = options.onViolationImage ?? null;
    this.onImage = options.onImage ?? null;
    const lineCount = device.sizeBytes / 64;
    if (2 * SUPERBLOCK_BYTES + (MAX_CANDIDATES * 2 + 2) * Math.ceil(lineCount / 8) > device.scratch().length) {
      throw new FsError('EINVAL', `device too large for crash exploration: its scratch holds no ${Math.ceil(lineCount / 8)}-byte line bitmaps`);
    }
  }

  private readonly lineTables: boolean;
  private readonly onViolationImage: ((violation: Violation, image: PmemDevice) => void) | null;
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

  /** `work`: the handle whose scratch the explorer uses; `guard` saves it when it is the device's own. */
  private exploreIn(point: string, work: PmemDevice, guard: ScratchGuard | null): PointReport {
    const started = performance.now();
    const dev = this.device;
    const core = dev.core;
    const scratch = work.scratch();
    guard?.touch(2 * SUPERBLOCK_BYTES); // superblock loads and checksums bounce through here
    const images = dev.crashImageCount();
    const composeAt = scratch.byteOffset;
    const bitmapBytes = Math.ceil(dev.sizeBytes / 64 / 8);
    // Scratch: the composed superblock slots, two bitmaps per candidate, the bitmap of the
    // superblock slots' lines, the bitmap of the lines images are built on, then the line table.
    const slotsBitmapAt = composeAt + 2 * SUPERBLOCK_BYTES + MAX_CANDIDATES * 2 * bitmapBytes;
    const buildLinesAt = slotsBitmapAt + bitmapBytes;
    const tableAt = buildLinesAt + bitmapBytes;
    const tableRoom = scratch.byteOffset + scratch.length - tableAt;
    const crc = (b: Uint8Array): number => work.crc32cBytes(b);
    // The superblocks an image can mount: those in the media and in the visible bytes.
    const candidates = new Map<number, Candidate>();
    const addCandidates = (found: SuperblockState[]): void => {
      for (const sb of found) {
        if (!candidates.has(sb.generation)) {
          if (candidates.size >= MAX_CANDIDATES) throw new FsError('EIO', 'more than four superblock generations on the device');
          const metadata = composeAt + 2 * SUPERBLOCK_BYTES + candidates.size * 2 * bitmapBytes;
          guard?.touch(metadata + 2 * bitmapBytes - composeAt);
          candidates.set(sb.generation, { sb, metadata, data: metadata + bitmapBytes, marked: false, pendingData: null });
        }
      }
    };
    guard?.touch(tableAt - composeAt);
    const slotsBitmap = new Uint8Array(dev.memory.buffer, slotsBitmapAt, bitmapBytes);
    slotsBitmap.fill(0);
    // The superblock copies (superblock.ts): [primary, alternate], composed side by side.
    const copies = superblockOffsets(dev.sizeBytes - (dev.sizeBytes % SECTOR_BYTES));
    for (const offset of copies) markRange(slotsBitmap, offset, SUPERBLOCK_BYTES);
    // The superblocks on media change only when a commit's superblock reaches it: parsed
    // once per content (keyed by the media fingerprint of the slots' lines, from the
    // core's per-chunk crc cache). The visible ones differ only while a slot line is pending.
    const mediaKey = core.pmem_media_fingerprint(slotsBitmapAt) >>> 0;
    const validSlots = (load: (i: number) => Uint8Array): SuperblockState[] =>
      [0, 1].map((i) => parseSuperblock(load(i), crc, copies[i]!)).filter((sb) => sb !== null);
    let onMedia = this.mediaSuperblocks.get(mediaKey);
    if (!onMedia) {
      onMedia = validSlots((i) => dev.readMedia(copies[i]!, SUPERBLOCK_BYTES));
      if (this.mediaSuperblocks.size >= MAX_REMEMBERED) this.mediaSuperblocks.clear();
      this.mediaSuperblocks.set(mediaKey, onMedia);
    }
    addCandidates(onMedia);
    if (copies.some((offset) => core.pmem_pending_lines(offset, SUPERBLOCK_BYTES) > 0)) {
      // The visible copies, loaded where images' copies are composed later (no copy out).
      addCandidates(validSlots((i) => {
        const view = new Uint8Array(dev.memory.buffer, composeAt + i * SUPERBLOCK_BYTES, SUPERBLOCK_BYTES);
        work.loadInto(copies[i]!, view);
        return view;
      }));
    }
    const sampled = images > BigInt(this.bound);
    const count = sampled ? this.samples : Number(images);
    const markCandidate = (c: Candidate): void => {
      if (c.marked) return;
      markReachable(dev, c.sb, new Uint8Array(dev.memory.buffer, c.metadata, bitmapBytes), new Uint8Array(dev.memory.buffer, c.data, bitmapBytes));
      c.marked = true;
    };
    // An image's verdict depends only on its superblock slots and the lines the superblock
    // it mounts reaches; an image mounted is built whole (materialize). So a point with many
    // images builds them on those lines alone (often a fifth of the pending lines: the rest
    // is data no superblock references yet): the slots, and the lines of every candidate
    // an image has chosen so far (an image that chooses another is built again with its
    // lines added; a random image's lines draw independently, so the lines built before
    // come out the same).
    const words = bitmapBytes >> 2;
    const buildUnion = count >= FILTERED_BUILD_MIN_IMAGES ? new Uint32Array(dev.memory.buffer, buildLinesAt, words) : null;
    buildUnion?.set(new Uint32Array(dev.memory.buffer, slotsBitmapAt, words));
    const buildLines = buildUnion ? buildLinesAt : 0;
    const inUnion = new Set<Candidate>();
    /** Add a candidate's lines to the build bitmap; true when it was not there yet. */
    const widenBuild = (c: Candidate): boolean => {
      if (!buildUnion || inUnion.has(c)) return false;
      inUnion.add(c);
      for (const at of [c.metadata, c.data]) {
        const bits = new Uint32Array(dev.memory.buffer, at, words);
        for (let w = 0; w < words; w++) buildUnion[w]! |= bits[w]!;
      }
      return true;
    };
    // Which superblock an image mounts depends only on its superblock slots' bytes: within
    // one point (one media), on the patch lines that fall in the slots.
    const chosenBySlots = new Map<number, number | null>();
    // Classes (images that mount the same superblock and metadata lines) and their line
    // tables (null: none, every image with new data is mounted).
    const classes = new Map<string, LineTable | null>();
    // Verdicts by an image's full reachable contents (metadata and data patch lines).
    const verdicts = new Map<string, { generation: number; problems: string[] }>();
    let loaded: { table: LineTable; mediaFailing: number } | null = null;
    /** Does the image just built satisfy `table`? (Put in the scratch and prepared once.) */
    const tableAccepts = (table: LineTable, slots: number): boolean => {
      if (loaded?.table !== table) {
        guard?.touch(table.base + table.bytes.length - composeAt);
        new Uint8Array(dev.memory.buffer, table.base, table.bytes.length).set(table.bytes);
        const mediaFailing = core.pmem_line_table_prepare(table.base, table.entries);
        if (mediaFailing < 0) throw new FsError('EIO', `line table rejected (${mediaFailing})`);
        loaded = { table, mediaFailing };
      }
      const r = core.pmem_line_table_check(slots, table.base, table.entries, loaded.mediaFailing);
      if (r < 0) throw new FsError('EIO', `line table check failed (${r})`);
      return r === 1;
    };
    const report: PointReport = { point, images, checked: 0, mounted: 0, tableChecked: 0, remembered: 0, sampled, violations: [] };
    for (let i = 0; i < count; i++) {
      const choice: ImageChoice = sampled ? { mode: 'random', seed: this.seed * 1_000_003 + this.totals.points * 7919 + i } : { mode: 'enumerate', index: BigInt(i) };
      const build = (): number => {
        const built = core.pmem_crash_build(CRASH_MODE[choice.mode], choice.mode === 'random' ? BigInt(choice.seed) : choice.index, 0, buildLines);
        if (built < 0) throw new FsError('EIO', `crash build failed (${built})`);
        return built;
      };
      let slots = build();
      const slotsCrc = core.pmem_patch_fingerprint(slots, slotsBitmapAt) >>> 0;
      let generation = chosenBySlots.get(slotsCrc);
      if (generation === undefined) {
        // The slots' bytes are their media (mediaKey) with the image's patch lines laid over
        // (slotsCrc): the same pair, at any point, composes the same superblocks.
        const composedKey = `${mediaKey}:${slotsCrc}`;
        let chosen = this.composedSuperblocks.get(composedKey);
        if (chosen === undefined) {
          copies.forEach((offset, i) => core.pmem_patch_compose(slots, offset, SUPERBLOCK_BYTES, composeAt + i * SUPERBLOCK_BYTES));
          // The mount's rule (superblock.ts chooseSuperblock): the primary when valid.
          chosen = chooseSuperblock((i) => parseSuperblock(new Uint8Array(dev.memory.buffer, composeAt + i * SUPERBLOCK_BYTES, SUPERBLOCK_BYTES), crc, copies[i]!));
          if (this.composedSuperblocks.size >= MAX_REMEMBERED) this.composedSuperblocks.clear();
          this.composedSuperblocks.set(composedKey, chosen);
        }
        generation = chosen && candidates.has(chosen.generation) ? chosen.generation : null;
        chosenBySlots.set(slotsCrc, generation);
      }
      report.checked++;
      const candidate = generation === null ? undefined : candidates.get(generation);
      if (!candidate) {
        // No superblock the explorer knows: mount it to see what happens.
        const verdict = this.mountAndCheck(choice);
        report.mounted++;
        if (verdict.problems.length) this.report(report, { kind: 'crash', point, image: choice, generation: verdict.generation, problems: verdict.problems });
        continue;
      }
      markCandidate(candidate);
      if (widenBuild(candidate)) slots = build();
      const metaKey = `${generation}:${core.pmem_patch_fingerprint(slots, candidate.metadata) >>> 0}`;
      const classTable = classes.get(metaKey); // undefined: the first image of its class
      if (classTable && tableAccepts(classTable, slots)) { report.tableChecked++; continue; }
      const dataKey = `${metaKey}:${core.pmem_patch_fingerprint(slots, candidate.data) >>> 0}`;
      let verdict = verdicts.get(dataKey);
      if (!verdict && classTable === undefined) {
        // An image with these very contents may have passed at an earlier point, under the
        // same oracle constraints (later versions only allow more), or exactly matching a
        // state the oracle still allows (passesAgain): then it passes again.
        const remembered = this.lineTables && this.oracle.constraintRevision !== undefined
          ? this.rememberedKey(candidate, generation!, dataKey) : null;
        const clean = remembered ? this.stillClean(remembered) : undefined;
        const rulesOf = (match: number | null | undefined): Map<string, WordCondition[]> | null =>
          this.lineTables && match !== null && match !== undefined ? this.oracle.dataRules?.(match) ?? null : null;
        let table: LineTable | null = null;
        if (clean) {
          const files = clean.files;
          const rules = rulesOf(clean.match);
          report.remembered++;
          verdict = { generation: generation!, problems: [] };
          if (rules && tableRoom > 0) {
            const lineBytes = (line: number): Uint8Array => {
              core.pmem_patch_compose(slots, line * 64, 64, composeAt);
              return new Uint8Array(dev.memory.buffer, composeAt, 64).slice();
            };
            table = this.tableFor(candidate, files, lineBytes, rules, tableAt, tableRoom);
          }
        } else {
          const mounted = this.mountCheckKeep(choice);
          report.mounted++;
          verdict = mounted.verdict;
          const match = verdict.problems.length ? null : this.oracle.lastMatch?.();
          const rules = rulesOf(match);
          if (rules && mounted.fs) {
            const map = captureFileMap(mounted.fs, rules.keys());
            if (remembered) {
              if (this.cleanImages.size >= MAX_REMEMBERED) this.cleanImages.clear();
              const pass = this.oracle.lastPass?.() ?? null;
              this.cleanImages.set(remembered, { files: map, match: match!, revision: this.oracle.constraintRevision!, pass });
            }
            if (tableRoom > 0) {
              const image = this.target!;
              // The image's bytes: its media (a mount may have stored since, not yet on media).
              const lineBytes = (line: number): Uint8Array => image.readMedia(line * 64, 64);
              table = this.tableFor(candidate, map, lineBytes, rules, tableAt, tableRoom);
            }
          }
        }
        // The table must accept the image it was made from; if not, it is not used.
        classes.set(metaKey, table && tableAccepts(table, slots) ? table : null);
        verdicts.set(dataKey, verdict!);
      }
      if (!verdict) {
        verdict = this.mountAndCheck(choice);
        report.mounted++;
        verdicts.set(dataKey, verdict);
      }
      if (verdict.problems.length) this.report(report, { kind: 'crash', point, image: choice, generation: verdict.generation, problems: verdict.problems });
    }
    this.totals.points++;
    this.totals.images += report.checked;
    this.totals.mounted += report.mounted;
    this.totals.tableChecked += report.tableChecked;
    this.totals.remembered += report.remembered;
    this.totals.violations += report.violations.length;
    this.totals.elapsedMs += performance.now() - started;
    return report;
  }

  /**
   * The key of an image's full contents on the lines its superblock reaches (metadata and
   * data; media and patch), under the oracle's current constraints.
   */
  private rememberedKey(candidate: Candidate, generation: number, dataKey: string): string {
    const core = this.device.core;
    candidate.mediaFingerprint ??= `${core.pmem_media_fingerprint(candidate.metadata) >>> 0}:${core.pmem_media_fingerprint(candidate.data) >>> 0}`;
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
  private tableFor(candidate: Candidate, files: FileMap, lineBytes: (line: number) => Uint8Array, rules: Map<string, WordCondition[]>, tableAt: number, tableRoom: number): LineTable | null {
    const dev = this.device;
    if (!candidate.pendingData) {
      // Pending lines (the crash scan's rows) that hold file data of this superblock.
      const rowWords = CRASH_ROW_BYTES / Uint32Array.BYTES_PER_ELEMENT;
      const rows = new Uint32Array(dev.memory.buffer, dev.region(REGION.crashTable), rowWords * dev.region(REGION.crashRows));
      const bitmap = new Uint8Array(dev.memory.buffer, candidate.data, Math.ceil(dev.sizeBytes / 64 / 8));
      const lines: number[] = [];
      for (let r = 0; r < rows.length; r += rowWords) {
        const line = rows[r + CRASH_ROW_LINE / Uint32Array.BYTES_PER_ELEMENT]!;
        if ((bitmap[line >> 3]! >> (line & 7)) & 1) lines.push(line);
      }
      candidate.pendingData = Uint32Array.from(lines.sort((x, y) => x - y));
    }
    return buildLineTable(files, lineBytes, rules, candidate.pendingData, tableAt, tableRoom);
  }

  /** Mount and check one image; keeps the mounted file system for building a line table. */
  private mountCheckKeep(choice: ImageChoice): { verdict: { generation: number; problems: string[] }; fs: FileSystem | null } {
    const image = this.materialize(choice);
    this.onImage?.(image);
    let fs: FileSystem;
    try {
      fs = FileSystem.mount(image);
    } catch (e) {
      return { verdict: { generation: -1, problems: [`mount failed: ${(e as Error).message}`] }, fs: null };
    }
    // The superblock the mount chose (mount writes none: reading it again gives the same).
    const generation = fs.kernel.mountedGeneration;
    try {
      return { verdict: { generation, problems: this.oracle.check(fs, generation) }, fs };
    } catch (e) {
      return { verdict: { generation, problems: [`check failed: ${(e as Error).message}`] }, fs: null };
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
    const same = held.mode === 'random' ? held.seed === (v.image as { seed: number }).seed : held.index === (v.image as { index: bigint }).index;
    if (same) this.onViolationImage(v, this.target);
  }

  /** The image the target holds (the last one materialized). */
  private targetHolds: ImageChoice | null = null;

  /** The device holding one image (the explorer's reusable target). */
  materialize(choice: ImageChoice): PmemDevice {
    this.targetHolds = choice;
    const dev = this.device;
    if (choice.mode === 'random') {
      this.target = dev.crash({ mode: 'random', seed: choice.seed, into: this.target ?? undefined });
      return this.target;
    }
    this.target = dev.crashImageAt(choice.index, { into: this.target ?? undefined });
    return this.target;
  }
}
