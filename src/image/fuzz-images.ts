// Image fuzzing: take a valid file-system image, mutate it (mutate.ts, or truncate the
// device), mount it and use it. Mount and every operation must either work or fail with
// an FsError that has an errno name; anything else (a WebAssembly trap, a TypeError, a
// RangeError from a huge allocation, a stack overflow) is a "trap" and a finding.
//
// Speed: one small device (1.25 MiB, 4 KiB nodes, a 128 KiB DAX region, a short store
// log) is restored from the pristine image before each mutation, copying back only the
// lines the previous image changed (restore.ts); no device is created per image (shared
// WebAssembly memories are freed late).
import { FsError, type ErrnoName } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { REGION } from '../core/abi.js';
import { FileSystem } from '../filesystem.js';
import type { MetadataProfile } from '../fs/types.js';
import { Rng } from '../random.js';
import { superblockOffsets, SUPERBLOCK_BYTES, SB_TOTAL_BYTES } from '../fs/format.js';
import { ImageRestorer } from './restore.js';
import {
  mapImage, mutateImage, fixSuperblockChecksum, u64Bytes, REGIONS, MUTATION_KINDS, type ImageMap,
  type MutationKind, type Region,
} from './mutate.js';

export interface ImageFuzzOptions {
  seed: number;
  /** Mutated images to mount and use. */
  images: number;
  /** First image index (to replay one image of a campaign: { seed, first: i, images: 1 }). */
  first?: number;
  metadataProfile?: MetadataProfile;
  /** One in `truncateEvery` images is a truncated device instead of a mutation (default 50). */
  truncateEvery?: number;
  /** One in `scrubEvery` mounted images is also scrubbed (default 16). */
  scrubEvery?: number;
  /** Keep stack traces (slower: every FsError captures one); replay a trap with it. */
  stackTraces?: boolean;
  /** Called every 1000 images. */
  onProgress?: (counts: ImageFuzzCounts) => void;
  /**
   * Each image pmcow mounted, as it was before the mount, with whether pmcow called it
   * clean (every operation succeeded, fsck found nothing): `npm run check:btrfs-progs`
   * hands it to btrfs check. Costs a copy of the device per mounted image.
   */
  onMounted?: (image: Uint8Array, clean: boolean, index: number) => void;
}

/**
 * A failure that was not an FsError; replay it with { seed, first: image, images: 1,
 * stackTraces: true }.
 */
interface TrapReport { image: number; mutation: string; step: string; error: string }

export interface ImageFuzzCounts {
  images: number;
  byMutation: Record<MutationKind | 'truncate', number>;
  /** Images whose mutation touched each region (an image can touch several). */
  byRegion: Record<Region, number>;
  mounted: number;
  /** Mount refused, by errno. */
  refused: Partial<Record<ErrnoName, number>>;
  /** Mounted images on which every operation succeeded and fsck found nothing. */
  clean: number;
  /** Operations after mount that failed, by errno (reads, fsck, scrub, writes, commit). */
  opErrors: Partial<Record<ErrnoName, number>>;
  /** The first failure of each errno after mount: step and message (for reading the counts). */
  opErrorExamples: Partial<Record<ErrnoName, string>>;
  /** File reads that failed with EIO (a checksum or media error reported, not returned). */
  eioReads: number;
  /** Mounted images where fsck reported problems. */
  fsckProblems: number;
  /** Mounted images where scrub reported errors. */
  scrubErrors: number;
  /** Tree block copies rewritten from the good copy (dup). */
  healedCopies: number;
  /** Failures that were not an FsError: must stay 0. */
  traps: number;
  firstTraps: TrapReport[];
}

/** Device bytes per profile: dup needs room for its doubled metadata reserve. */
const DEVICE_BYTES: Record<MetadataProfile, number> = { single: 2240 * 1024, dup: 2752 * 1024 };
const NODE_BYTES = 4096;
/**
 * Staging, the core's state of the mount (with its smallest delayed-ref tables, 1,024 ref
 * slots of about 150 bytes), 80 pool buffers, the small DAX region and its tables that grow
 * with the device (reverse map, dirty pages: under 32 KiB here; see Kernel).
 */
const KERNEL_BYTES = 69632 + 8192 + 160 * 1024 + 80 * NODE_BYTES + (128 << 10) + (32 << 10);
const LOG_CAPACITY = 1024;
const READ_LIMIT_BYTES = 32 << 10;
const WALK_LIMIT = 64;
/** Truncated device sizes: only the superblocks, half the image, all but the top 64 KiB. */
const shortDeviceBytes = (bytes: number): number[] => [65536, bytes / 2, bytes - 65536];

function emptyCounts(): ImageFuzzCounts {
  return {
    images: 0,
    byMutation: Object.fromEntries([...MUTATION_KINDS, 'truncate'].map((k) => [k, 0])) as
      ImageFuzzCounts['byMutation'],
    byRegion: Object.fromEntries(REGIONS.map((r) => [r, 0])) as ImageFuzzCounts['byRegion'],
    mounted: 0, refused: {}, clean: 0, opErrors: {}, opErrorExamples: {}, eioReads: 0,
    fsckProblems: 0, scrubErrors: 0, healedCopies: 0, traps: 0, firstTraps: [],
  };
}

/**
 * An FsError other than EFAULT: EFAULT is what the core's abort handler throws when a
 * WebAssembly assertion fails (src/core/module.ts), a trap in all but name.
 */
function expected(e: unknown): e is FsError {
  return e instanceof FsError && e.code !== 'EFAULT';
}

function bump<K extends string>(table: Partial<Record<K, number>>, k: K): void {
  table[k] = (table[k] ?? 0) + 1;
}

async function device(sizeBytes: number): Promise<PmemDevice> {
  return PmemDevice.create({
    sizeBytes, kernelBytes: KERNEL_BYTES, logCapacity: LOG_CAPACITY, maxThreads: 1,
  });
}

/**
 * The pristine image: a handful of files, directories, a subvolume, a snapshot, a reflink,
 * a nodatacow file.
 */
function populate(dev: PmemDevice, profile: MetadataProfile): ImageMap {
  FileSystem.mkfs(dev, { nodeSize: NODE_BYTES, metadataProfile: profile, label: 'fuzz' });
  const fs = FileSystem.mount(dev);
  const bytes = (n: number, seed: number): Uint8Array =>
    new Uint8Array(n).map((_, i) => (i * 31 + seed) & 255);
  fs.mkdir('/d');
  fs.mkdir('/d/e');
  for (let i = 0; i < 4; i++) fs.writeFile(`/d/f${i}`, bytes(1000 + i * 5000, i));
  fs.writeFile('/d/e/deep', bytes(9000, 7));
  fs.commit();
  fs.createSubvolume('/v');
  fs.writeFile('/v/x', bytes(12288, 9));
  fs.snapshot('/v', '/s', { readonly: true });
  fs.cloneFile('/d/f2', '/d/clone');
  fs.create('/n'); fs.setNoDataCow('/n'); fs.writeFile('/n', bytes(8192, 3));
  fs.link('/d/f1', '/d/f1-link');
  fs.commit();
  const map = mapImage(fs);
  fs.unmount();
  return map;
}

/**
 * The bounded use of a mounted image: walk the namespace (at most WALK_LIMIT entries),
 * stat and read every file (up to READ_LIMIT_BYTES each), fsck, maybe scrub, write a
 * file, one more change (unlink, rename, truncate, reflink, snapshot, subvolume deletion,
 * hole punch, loads through a DAX mapping, mkdir + rmdir; `change` picks), commit,
 * unmount. Each step's FsError is counted and the next step runs.
 */
function use(fs: FileSystem, counts: ImageFuzzCounts, scrub: boolean, change: number,
  step: { name: string }): boolean {
  let ok = true;
  const attempt = (name: string, f: () => void): void => {
    step.name = name;
    try {
      f();
    } catch (e) {
      if (!expected(e)) throw e;
      ok = false;
      bump(counts.opErrors, e.code);
      counts.opErrorExamples[e.code] ??= `${name}: ${e.message}`;
      if (name === 'read' && e.code === 'EIO') counts.eioReads++;
    }
  };
  const files = walkAndRead(fs, attempt);
  attempt('fsck', () => { if (fs.fsck().length) { ok = false; counts.fsckProblems++; } });
  if (scrub) {
    attempt('scrub', () => {
      const r = fs.scrub();
      if (r.csumErrors || r.metadataErrors) { ok = false; counts.scrubErrors++; }
    });
  }
  attempt('write', () => fs.writeFile('/fuzz-new', new Uint8Array(5000).fill(0x5a)));
  // One more change per image, in turn: the paths that drop references, rewrite refcounts
  // and walk deleted trees run on the damaged metadata too.
  // A datacow file of the top-level subvolume (renames cannot cross subvolumes, a
  // nodatacow file cannot be cloned into a new one).
  const own = files.filter((f) => !f.startsWith('/v/') && !f.startsWith('/s/') && f !== '/n');
  const file = own[change % Math.max(1, own.length)] ?? '/fuzz-new';
  attempt('change', () => changeOne(fs, file, change));
  attempt('commit', () => fs.commit());
  counts.healedCopies += fs.kernel.healedCopies;
  attempt('unmount', () => fs.unmount());
  return ok;
}

/**
 * Walk the namespace breadth first (at most WALK_LIMIT entries), stat every entry and read
 * every file (up to READ_LIMIT_BYTES each): the files found.
 */
function walkAndRead(fs: FileSystem, attempt: (name: string, f: () => void) => void): string[] {
  const dirs = ['/'];
  const files: string[] = [];
  let seen = 0;
  while (dirs.length && seen < WALK_LIMIT) {
    const dir = dirs.shift()!;
    let names: string[] = [];
    attempt('readdir', () => { names = fs.readdir(dir); });
    for (const name of names) {
      if (++seen > WALK_LIMIT) break;
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      let kind = '';
      let size = 0;
      attempt('stat', () => { const st = fs.stat(path); kind = st.kind; size = st.size; });
      if (kind === 'dir' || kind === 'subvolume') dirs.push(path);
      else if (kind === 'file') {
        files.push(path);
        attempt('read', () => {
          const fd = fs.open(path);
          try { fs.pread(fd, Math.min(size, READ_LIMIT_BYTES), 0); } finally { fs.close(fd); }
        });
      }
    }
  }
  return files;
}

/** The image's one more change, `change` picks which. */
function changeOne(fs: FileSystem, file: string, change: number): void {
  switch (change % 9) {
    case 0: fs.unlink(file); break;
    case 1: fs.rename(file, '/fuzz-renamed'); break;
    case 2: fs.truncate(file, 1000); break;
    case 3: fs.cloneFile(file, '/fuzz-clone'); break;
    case 4: fs.snapshot('/v', '/fuzz-snap'); break;
    case 5: fs.deleteSubvolume('/s'); break;
    case 6: fs.punchHole(file, 0, 8192); break;
    case 7: { // a DAX mapping: the fault path reads the extent map and checksums
      const m = fs.mmap(file, { length: 4096, prot: 'r' });
      try { m.load(0, 64); } finally { m.unmap(); }
      break;
    }
    default: fs.mkdir('/fuzz-dir'); fs.rmdir('/fuzz-dir'); break;
  }
}

/** The devices of one profile: the pristine image, the work device, the truncated ones. */
interface Devices {
  pristine: PmemDevice;
  work: PmemDevice;
  restorer: ImageRestorer;
  map: ImageMap;
  short: Array<{ pristine: PmemDevice; work: PmemDevice }>;
}

/**
 * Devices are made once per profile and kept for later campaigns in this process (every
 * image restores what it uses): a test of many campaigns creates eight, not eight each.
 */
const devicesByProfile = new Map<MetadataProfile, Promise<Devices>>();

async function makeDevices(profile: MetadataProfile): Promise<Devices> {
  const pristine = await device(DEVICE_BYTES[profile]);
  const work = await device(DEVICE_BYTES[profile]);
  const map = populate(pristine, profile);
  // Truncated devices hold a prefix of the pristine image (prepared once, restored per image).
  const short: Array<{ pristine: PmemDevice; work: PmemDevice }> = [];
  for (const bytes of shortDeviceBytes(DEVICE_BYTES[profile])) {
    const p = await device(bytes);
    p.store(0, pristine.load(0, bytes));
    p.persist(0, bytes);
    short.push({ pristine: p, work: await device(bytes) });
  }
  const restorer = new ImageRestorer(pristine, work);
  // (Listening for the devices' life.)
  work.fsWrites.add((bytenr, bytes) => restorer.written.push([bytenr, bytes]));
  return { pristine, work, restorer, map, short };
}

/** Close the devices image fuzzing keeps between campaigns. */
export async function closeImageFuzzDevices(): Promise<void> {
  for (const pending of devicesByProfile.values()) {
    const d = await pending;
    const all = [d.pristine, d.work, ...d.short.flatMap((s) => [s.pristine, s.work])];
    for (const dev of all) dev.close();
  }
  devicesByProfile.clear();
}

/** Run a campaign; returns the counts (traps must be 0). */
export async function imageFuzz(options: ImageFuzzOptions): Promise<ImageFuzzCounts> {
  const profile = options.metadataProfile ?? 'single';
  let pending = devicesByProfile.get(profile);
  if (!pending) { pending = makeDevices(profile); devicesByProfile.set(profile, pending); }
  const devices = await pending;
  const counts = emptyCounts();
  const first = options.first ?? 0;
  // Most images end in FsErrors; capturing deep stacks for each is a fifth of the time.
  const stackTraceLimit = Error.stackTraceLimit;
  // Replay a trap's image with { first: image, images: 1, stackTraces: true } for its stack.
  if (!options.stackTraces) Error.stackTraceLimit = 0;
  try {
    for (let i = first; i < first + options.images; i++) {
      fuzzImage(devices, options, counts, i);
      if (options.onProgress && (i - first + 1) % 1000 === 0) options.onProgress(counts);
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  return counts;
}

/** Image `i` of a campaign: made (mutated or truncated), mounted and used, or its trap recorded. */
function fuzzImage(devices: Devices, options: ImageFuzzOptions, counts: ImageFuzzCounts,
  i: number): void {
  const rng = new Rng(options.seed * 1_000_003 + i);
  const step = { name: 'mutate' };
  const image = { described: '' };
  try {
    const dev = makeImage(devices, rng, counts, options.truncateEvery ?? 50, image);
    counts.images++;
    step.name = 'mount';
    // The bytes the mount reads: mutations are stores, not yet written back (poison, which
    // a file cannot hold, aside).
    const before = options.onMounted
      ? new Uint8Array(dev.memory.buffer, dev.region(REGION.visible), dev.sizeBytes).slice()
      : null;
    let fs: FileSystem;
    try {
      fs = FileSystem.mount(dev);
    } catch (e) {
      if (!expected(e)) throw e;
      bump(counts.refused, e.code);
      return;
    }
    counts.mounted++;
    const clean = use(fs, counts, i % (options.scrubEvery ?? 16) === 0, i, step);
    if (clean) counts.clean++;
    if (before) options.onMounted!(before, clean, i);
  } catch (e) {
    counts.traps++;
    if (counts.firstTraps.length < 20) {
      const error = e as Error;
      const stack = error?.stack?.split('\n').slice(1, 6).join('\n');
      counts.firstTraps.push({
        image: i, mutation: image.described, step: step.name,
        error: `${error?.name}: ${error?.message}\n${stack}`,
      });
    }
  }
}

/**
 * The device to mount: one in `truncateEvery` a truncated device, any other a mutated one
 * (`image.described` says which, as far as it got: a trap's report names it).
 */
function makeImage(devices: Devices, rng: Rng, counts: ImageFuzzCounts, truncateEvery: number,
  image: { described: string }): PmemDevice {
  if (rng.below(truncateEvery) === 0) return truncatedImage(devices, rng, counts, image);
  const { work, restorer, map } = devices;
  restorer.restore();
  const m = mutateImage(work, map, rng);
  restorer.written.push(...m.written);
  counts.byMutation[m.kind]++;
  for (const r of m.regions) counts.byRegion[r]++;
  image.described = `${m.kind}: ${m.detail}`;
  return work;
}

function truncatedImage(devices: Devices, rng: Rng, counts: ImageFuzzCounts,
  image: { described: string }): PmemDevice {
  const s = rng.pick(devices.short);
  s.pristine.crash({ into: s.work });
  const dev = s.work;
  counts.byMutation.truncate++;
  image.described = `truncate to ${dev.sizeBytes} bytes`;
  // Half of them also claim the new size (a shrink that forgot the blocks beyond it).
  if (rng.chance(0.5)) {
    // The copies the original size wrote (a shrunk device may now have another alternate).
    for (const slot of superblockOffsets(s.pristine.sizeBytes)) {
      if (slot + SUPERBLOCK_BYTES > dev.sizeBytes) continue;
      dev.store(slot + SB_TOTAL_BYTES, u64Bytes(dev.sizeBytes));
      fixSuperblockChecksum(dev, slot);
    }
    image.described += ', superblocks rewritten to match';
  }
  counts.byRegion.metadata++;
  return dev;
}

/** One line for logs: images, mounted, refused by errno, EIO reads, traps. */
export function summarizeImageFuzz(c: ImageFuzzCounts): string {
  const table = (t: Partial<Record<string, number>>): string => Object.entries(t)
    .sort((a, b) => b[1]! - a[1]!).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return `${c.images} images: mounted ${c.mounted} (clean ${c.clean}), `
    + `refused ${c.images - c.mounted} (${table(c.refused)}); `
    + `after mount: op errors ${table(c.opErrors)}, EIO reads ${c.eioReads}, `
    + `fsck problems ${c.fsckProblems}, scrub errors ${c.scrubErrors}, `
    + `healed copies ${c.healedCopies}; `
    + `regions ${table(c.byRegion)}; mutations ${table(c.byMutation)}; traps ${c.traps}`;
}
