// Crash exploration: at a crash point (just before a fence, or after an op), every legal
// crash image of the device's pending state, or seeded samples when there are too many,
// is mounted and checked. Images that pick the same superblock and agree on every line
// reachable from it are checked once (their mounts are identical).
import { FsError } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { FileSystem } from '../fs/filesystem.js';
import { Kernel, type SuperblockState } from '../fs/kernel.js';
import { FsMemory } from '../fs/memory.js';
import { markReachable } from './reachable.js';
import {
  SUPERBLOCK_BYTES, SUPERBLOCK_OFFSETS, SUPERBLOCK_MAGIC, SB_MAGIC, SB_CSUM, SB_GENERATION,
  SB_ROOT_TREE, SB_EXTENT_TREE, SB_CSUM_TREE, SB_ROOT_LEVEL, SB_EXTENT_LEVEL, SB_CSUM_LEVEL,
  SB_NODE_BYTES, SB_SECTOR_BYTES, SB_TOTAL_BYTES, SB_BYTES_USED, SB_NEXT_SUBVOLUME,
} from '../fs/format.js';

/** Checks a mounted crash image; returns problems (empty when the image is correct). */
export interface CrashOracle {
  check(fs: FileSystem, generation: number): string[];
}

export type ImageChoice = { mode: 'enumerate'; index: bigint } | { mode: 'random'; seed: number };

export interface Violation {
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
}

const MODE_RANDOM = 1;
const MODE_ENUMERATE = 2;

function parseSuperblock(bytes: Uint8Array, crc: (b: Uint8Array) => number): SuperblockState | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getBigUint64(SB_MAGIC, true) !== SUPERBLOCK_MAGIC) return null;
  if (crc(bytes.subarray(4)) !== dv.getUint32(SB_CSUM, true)) return null;
  const m = new FsMemory(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    generation: m.u64(SB_GENERATION), rootTree: m.u64(SB_ROOT_TREE), rootLevel: m.u8At(SB_ROOT_LEVEL),
    extentTree: m.u64(SB_EXTENT_TREE), extentLevel: m.u8At(SB_EXTENT_LEVEL), csumTree: m.u64(SB_CSUM_TREE),
    csumLevel: m.u8At(SB_CSUM_LEVEL), nodeBytes: m.u32(SB_NODE_BYTES), sectorBytes: m.u32(SB_SECTOR_BYTES),
    totalBytes: m.u64(SB_TOTAL_BYTES), bytesUsed: m.u64(SB_BYTES_USED), nextSubvolume: m.u64(SB_NEXT_SUBVOLUME), label: '',
  };
}

export class CrashExplorer {
  private target: PmemDevice | null = null;
  readonly totals = { points: 0, images: 0, mounted: 0, violations: 0, elapsedMs: 0 };
  private readonly bound: number;
  private readonly samples: number;
  private readonly seed: number;

  constructor(readonly device: PmemDevice, private readonly oracle: CrashOracle, options: ExplorerOptions = {}) {
    this.bound = options.enumerateBound ?? 10_000;
    this.samples = options.samples ?? 256;
    this.seed = options.seed ?? 1;
    this.target = options.target ?? null;
    const lineCount = device.sizeBytes / 64;
    if (2 * SUPERBLOCK_BYTES + 4 * Math.ceil(lineCount / 8) > device.scratch().length) {
      throw new FsError('EINVAL', `device too large for crash exploration: its scratch holds no ${Math.ceil(lineCount / 8)}-byte line bitmaps`);
    }
  }

  /** Check the images of the device's current pending state. */
  explore(point: string): PointReport {
    const started = performance.now();
    const dev = this.device;
    const core = dev.core;
    const images = dev.crashImageCount();
    const scratch = dev.scratch();
    const composeAt = scratch.byteOffset;
    const bitmapBytes = Math.ceil(dev.sizeBytes / 64 / 8);
    const crc = (b: Uint8Array): number => dev.crc32cBytes(b);
    // The superblocks an image can mount: those in the media and in the visible bytes.
    const candidates = new Map<number, { sb: SuperblockState; bitmap: number }>();
    const sbBytes = (load: (a: number, n: number) => Uint8Array): void => {
      for (const offset of SUPERBLOCK_OFFSETS) {
        const sb = parseSuperblock(load(offset, SUPERBLOCK_BYTES), crc);
        if (sb && !candidates.has(sb.generation)) {
          if (candidates.size >= 4) throw new FsError('EIO', 'more than four superblock generations on the device');
          const bitmap = composeAt + 2 * SUPERBLOCK_BYTES + candidates.size * bitmapBytes;
          candidates.set(sb.generation, { sb, bitmap });
        }
      }
    };
    sbBytes((a, n) => dev.readMedia(a, n));
    sbBytes((a, n) => dev.load(a, n));
    const marked = new Set<number>();
    const sampled = images > BigInt(this.bound);
    const count = sampled ? this.samples : Number(images);
    const verdicts = new Map<string, { generation: number; problems: string[] }>();
    const report: PointReport = { point, images, checked: 0, mounted: 0, sampled, violations: [] };
    for (let i = 0; i < count; i++) {
      const choice: ImageChoice = sampled ? { mode: 'random', seed: this.seed * 1_000_003 + this.totals.points * 7919 + i } : { mode: 'enumerate', index: BigInt(i) };
      const slots = core.pmem_crash_build(choice.mode === 'random' ? MODE_RANDOM : MODE_ENUMERATE, choice.mode === 'random' ? BigInt(choice.seed) : choice.index, 0);
      if (slots < 0) throw new FsError('EIO', `crash build failed (${slots})`);
      // Which superblock would this image mount?
      core.pmem_patch_compose(slots, 0, 2 * SUPERBLOCK_BYTES, composeAt);
      let chosen: SuperblockState | null = null;
      for (const offset of SUPERBLOCK_OFFSETS) {
        const sb = parseSuperblock(new Uint8Array(dev.memory.buffer, composeAt + offset, SUPERBLOCK_BYTES), crc);
        if (sb && (!chosen || sb.generation > chosen.generation)) chosen = sb;
      }
      const candidate = chosen ? candidates.get(chosen.generation) : undefined;
      if (candidate && !marked.has(chosen!.generation)) {
        markReachable(dev, candidate.sb, new Uint8Array(dev.memory.buffer, candidate.bitmap, bitmapBytes));
        marked.add(chosen!.generation);
      }
      const key = candidate ? `${chosen!.generation}:${core.pmem_patch_fingerprint(slots, candidate.bitmap) >>> 0}` : null;
      report.checked++;
      let verdict = key ? verdicts.get(key) : undefined;
      if (!verdict) {
        verdict = this.mountAndCheck(choice);
        report.mounted++;
        if (key) verdicts.set(key, verdict);
      }
      if (verdict.problems.length) report.violations.push({ point, image: choice, generation: verdict.generation, problems: verdict.problems });
    }
    this.totals.points++;
    this.totals.images += report.checked;
    this.totals.mounted += report.mounted;
    this.totals.violations += report.violations.length;
    this.totals.elapsedMs += performance.now() - started;
    return report;
  }

  /** Build the image into the reusable target device, mount it and ask the oracle. */
  mountAndCheck(choice: ImageChoice): { generation: number; problems: string[] } {
    const image = this.materialize(choice);
    let fs: FileSystem;
    try {
      fs = FileSystem.mount(image);
    } catch (e) {
      return { generation: -1, problems: [`mount failed: ${(e as Error).message}`] };
    }
    const generation = Kernel.readSuperblock(image)?.generation ?? -1;
    try {
      return { generation, problems: this.oracle.check(fs, generation) };
    } catch (e) {
      return { generation, problems: [`check failed: ${(e as Error).message}`] };
    }
  }

  /** The device holding one image (the explorer's reusable target). */
  materialize(choice: ImageChoice): PmemDevice {
    const dev = this.device;
    if (choice.mode === 'random') {
      this.target = dev.crash({ mode: 'random', seed: choice.seed, into: this.target ?? undefined });
      return this.target;
    }
    this.target = dev.crashImageAt(choice.index, { into: this.target ?? undefined });
    return this.target;
  }
}
