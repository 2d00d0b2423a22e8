// PmemDevice: the typed face of assembly/pmem. One instance per thread; every thread's
// instance shares the same WebAssembly.Memory (see core/module.ts for why that is safe).
import {
  FsError, checkCoreResult, isOptions, requireKnownOptions, requireIndex,
} from '../errors.js';
import type { CoreExports, CounterName } from '../core/exports.js';
import { WriteListeners } from './write-listeners.js';
import {
  COUNTER_NAMES, CRASH_MODE, FLUSH_KIND, GAUGE, H_FS_OWNER, H_FS_OWNER_SEQ, LINE_BYTES,
  LINE_INFO_ENTRIES_SHIFT, LINE_POISON, PATCH_BYTES, REGION,
} from '../core/abi.js';
import {
  DEVICE_BASE, instantiateCore, loadCoreModule, loadedCoreModule,
} from '../core/module.js';
import {
  configArgs, memoryBytesFor, normalise, orDefault, type PersistenceDomain, type PmemConfig,
  type PmemHandle, type PmemOptions,
} from './config.js';
import { copyImageInto, type ImageEnd } from './crash-copy.js';
import { storeBatch, type BatchEnd, type StoreBatchOptions } from './store-batch.js';
import { copyInto } from './typed-copy.js';

export { LINE_BYTES, WORD_BYTES } from '../core/abi.js';
export type { PersistenceDomain, PmemConfig, PmemHandle, PmemOptions } from './config.js';
export type { StoreBatchOptions } from './store-batch.js';
const WASM_PAGE_BYTES = 65536;
/**
 * From this many bytes a store from outside the device's memory copies the caller's bytes
 * straight into the visible bytes between pmem_store_begin and pmem_store_end: the core's
 * second copy (scratch to device) then costs more than the second call.
 */
const DIRECT_STORE_BYTES = 1024;
/**
 * The owner word of the device header (assembly/abi.ts H_FS_OWNER), an index of ownerWord:
 * 0 when no file system holds the device, else the token of the one that does. It lives in
 * the shared memory, outside the emulated pmem (no crash image carries it), so every thread
 * attached to the device sees it; claims are compare-and-swaps.
 */
const OWNER = 0;
/** Source of owner tokens (H_FS_OWNER_SEQ): unique per device, whichever thread claims. */
const OWNER_SEQ = (H_FS_OWNER_SEQ - H_FS_OWNER) / Int32Array.BYTES_PER_ELEMENT;

export type CrashMode = 'strict' | 'random';

export type PmemCounters = Record<CounterName, number>;

export interface LineInfo {
  /** Stores to this line not yet on media. */
  pendingStores: number;
  poisoned: boolean;
}

export interface CrashOptions {
  mode?: CrashMode;
  /**
   * Reuse this device (same size, no other thread attached) for the image instead of
   * allocating a new one: fuzzers that try thousands of images keep memory flat.
   */
  into?: PmemDevice;
  /** Seed for mode 'random': the same seed on the same state gives the same image. */
  seed?: number | bigint;
}

/** One legal post-crash image of an enumeration; valid until the iterator moves on. */
export interface CrashImage {
  readonly index: bigint;
  /** Lines of the image that differ from the pre-crash media. */
  readonly changedLines: number;
  /** crc32c of the changed lines (line numbers and contents). */
  fingerprint(): number;
  /** A device holding this image: a new one, or `into` overwritten. */
  device(into?: PmemDevice): PmemDevice;
}

export type FlushKind = keyof typeof FLUSH_KIND;

/**
 * What a crash target holds: `source`'s media as of the source's stamp epoch
 * `sourceEpoch`, plus its own changes stamped after `ownEpoch` (its patch, later stores).
 */
interface HeldImage { source: PmemDevice; sourceEpoch: number; ownEpoch: number }

export class PmemDevice {
  readonly config: PmemConfig;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  /** Raw core exports of this thread's instance (for upper layers). */
  readonly core: CoreExports;
  readonly threadSlot: number;
  private readonly bytes: Uint8Array;
  private readonly visibleAddr: number;
  private readonly scratchAddr: number;
  private readonly scratchBytes: number;
  private closed = false;
  private readonly ownerWord: Int32Array;
  /** Owner tokens claimed through this handle and not yet released (see claimOwner). */
  private readonly ownTokens = new Set<number>();
  /** What a crash image's copy reads and writes of this device (crash-copy.ts). */
  private readonly imageEnd: ImageEnd;
  /** What a batch of stores uses of this device (store-batch.ts). */
  private readonly batchEnd: BatchEnd;

  private constructor(
    module: WebAssembly.Module, memory: WebAssembly.Memory, config: PmemConfig, format: boolean,
  ) {
    this.module = module;
    this.memory = memory;
    this.config = config;
    this.core = instantiateCore(module, memory);
    if (format) checkCoreResult(this.core.pmem_format(...configArgs(config)), 'format device');
    this.threadSlot = checkCoreResult(
      this.core.pmem_attach(DEVICE_BASE), 'attach to device (all thread slots taken?)',
    );
    this.bytes = new Uint8Array(memory.buffer);
    this.ownerWord = new Int32Array(memory.buffer, DEVICE_BASE + H_FS_OWNER, OWNER_SEQ + 1);
    // Addresses are u32; the core returns them as i32, so above 2 GiB they must be re-read
    // unsigned.
    this.visibleAddr = this.region(REGION.visible);
    this.scratchAddr = this.region(REGION.scratch);
    this.scratchBytes = this.region(REGION.scratchBytes);
    if (this.region(REGION.deviceBytes) !== config.sizeBytes) {
      throw new FsError('EINVAL', 'attached device size differs from the handle configuration');
    }
    this.imageEnd = {
      bytes: this.bytes, visibleAddr: this.visibleAddr, core: this.core,
      sizeBytes: config.sizeBytes, region: (which) => this.region(which),
    };
    this.batchEnd = {
      core: this.core, bytes: this.bytes, scratchAddr: this.scratchAddr,
      scratchWords: new Uint32Array(memory.buffer, this.scratchAddr, this.scratchBytes >>> 2),
      scratchBytes: this.scratchBytes, sizeBytes: config.sizeBytes,
      instrumented: () => this.beforeStore !== null, inMemory: (view) => this.inMemory(view),
      store: (addr, bytes, nonTemporal) => this.storeWith(addr, bytes, nonTemporal),
    };
  }

  /** Create a device (compiles the core on first use). */
  static async create(options: PmemOptions): Promise<PmemDevice> {
    const config = normalise(options);
    await loadCoreModule(config.target);
    return PmemDevice.createSync(options);
  }

  /**
   * A device whose media holds `image` (its size is the device's: a positive multiple of 64
   * bytes), nothing pending: a device image written by `exportMedia` (or `pmcow export`)
   * boots again. The other options are those of `create`.
   */
  static async fromImage(
    image: Uint8Array, options: Omit<PmemOptions, 'sizeBytes'> = {},
  ): Promise<PmemDevice> {
    if (!(image instanceof Uint8Array)) throw new FsError('EINVAL', 'image must be a Uint8Array');
    if (!isOptions(options)) throw new FsError('EINVAL', 'options must be an object');
    const dev = await PmemDevice.create({ ...options, sizeBytes: image.byteLength });
    try {
      dev.bytes.set(image, dev.visibleAddr);
      // Nothing is pending on a new device: its visible bytes are its media. Every line is
      // stamped, so that change trackers (crash targets, fingerprints) see the new bytes.
      checkCoreResult(dev.core.pmem_crash_apply_image(0), 'load the image');
    } catch (e) {
      dev.close();
      throw e;
    }
    return dev;
  }

  /**
   * The media bytes of the whole device: what survives a crash now if no pending store
   * reaches media (the strict crash image). `PmemDevice.fromImage` loads it back.
   */
  exportMedia(): Uint8Array {
    return this.readMedia(0, this.config.sizeBytes);
  }

  /** Create a device once loadCoreModule() has completed for its target. */
  static createSync(options: PmemOptions): PmemDevice {
    const config = normalise(options);
    const module = loadedCoreModule(config.target);
    const bytes = memoryBytesFor(module, config);
    const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (e) {
      throw new FsError(
        'ENOMEM', `cannot allocate ${bytes} bytes of shared memory: ${(e as Error).message}`,
      );
    }
    return new PmemDevice(module, memory, config, true);
  }

  /** Attach another thread to an existing device. */
  static attach(handle: PmemHandle): PmemDevice {
    if (!handle || !(handle.memory instanceof WebAssembly.Memory)
      || !(handle.module instanceof WebAssembly.Module)) {
      throw new FsError('EINVAL', 'not a device handle');
    }
    return new PmemDevice(handle.module, handle.memory, normalise(handle.config), false);
  }

  /** A core region address or size, unsigned. */
  region(which: number): number {
    return this.core.pmem_region(which) >>> 0;
  }

  handle(): PmemHandle {
    return { module: this.module, memory: this.memory, config: this.config };
  }

  get sizeBytes(): number {
    return this.config.sizeBytes;
  }

  get domain(): PersistenceDomain {
    return this.config.domain;
  }

  /** After close(): every method that reaches the core fails with EBADF. */
  get isClosed(): boolean {
    return this.closed;
  }

  // --- ownership: one file system per device -------------------------------------------

  /**
   * Claim the device for one file system (mount, mkfs): a compare-and-swap of the header's
   * owner word, so two threads attached to one device cannot both win. EBUSY while another
   * claim holds it. Returns the token that releaseOwner() and ownsDevice() take.
   */
  claimOwner(what: string): number {
    this.live();
    let token = 0;
    while (token === 0) token = (Atomics.add(this.ownerWord, OWNER_SEQ, 1) + 1) | 0;
    if (Atomics.compareExchange(this.ownerWord, OWNER, 0, token) !== 0) {
      throw new FsError('EBUSY', `${what}: the device is already mounted (unmount it first)`);
    }
    this.ownTokens.add(token);
    return token;
  }

  /** Release a claim; a no-op when the claim is gone already (a crash, another handle's close). */
  releaseOwner(token: number): void {
    this.ownTokens.delete(token);
    Atomics.compareExchange(this.ownerWord, OWNER, token, 0);
  }

  /**
   * Does this claim still hold the device? False once the device crashed or the claim was released.
   */
  ownsDevice(token: number): boolean {
    return Atomics.load(this.ownerWord, OWNER) === token;
  }

  /** Is a file system mounted on this device (by any thread)? */
  get isOwned(): boolean {
    return Atomics.load(this.ownerWord, OWNER) !== 0;
  }

  /** A crash is a new boot: whatever file system held the device is gone. */
  private dropOwner(): void {
    this.ownTokens.clear();
    Atomics.store(this.ownerWord, OWNER, 0);
  }

  // --- argument checks ---------------------------------------------------------------

  private live(): void {
    if (this.closed) throw new FsError('EBADF', 'device handle is closed');
  }

  /** As range, without the pair: `addr` is a number once this returns. */
  private checkRange(addr: unknown, length: number): asserts addr is number {
    this.live();
    const a = requireIndex(addr, 'address');
    if (a + length > this.config.sizeBytes) {
      throw new FsError(
        'EINVAL', `range [${a}, ${a + length}) is outside the ${this.config.sizeBytes}-byte device`,
      );
    }
  }

  private range(addr: unknown, length: unknown): [number, number] {
    this.live();
    const a = requireIndex(addr, 'address');
    const n = requireIndex(length, 'length');
    if (a + n > this.config.sizeBytes) {
      throw new FsError(
        'EINVAL', `range [${a}, ${a + n}) is outside the ${this.config.sizeBytes}-byte device`,
      );
    }
    return [a, n];
  }

  private static asBytes(data: unknown): Uint8Array {
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new FsError(
      'EINVAL', 'data must be a Uint8Array, a typed array, a DataView or an ArrayBuffer',
    );
  }

  /** Is `view` inside this device's shared memory? Then the core reads it in place. */
  private inMemory(view: Uint8Array): boolean {
    // Bytes of this memory the core reads in place lie above DEVICE_BASE (thread areas, the
    // kernel region), so a view starting below it needs no look at its buffer (a getter
    // call, a tenth of a 64-byte store's time). this.bytes.buffer, not this.memory.buffer:
    // the Memory's getter is a call into the engine; the memory never grows.
    return view.byteOffset >= DEVICE_BASE && view.buffer === this.bytes.buffer;
  }

  // --- stores, loads, flushes, fences ------------------------------------------------

  /** Store bytes at addr (any length, any alignment). Visible at once, durable later. */
  store(addr: number, data: ArrayBufferView | ArrayBuffer): void {
    this.storeWith(addr, data, 0);
  }

  /** Non-temporal store: a store plus a write-back that the next sfence completes. */
  ntStore(addr: number, data: ArrayBufferView | ArrayBuffer): void {
    this.storeWith(addr, data, 1);
  }

  /**
   * Store k puts lengths[k] bytes (the next ones of `data`, in order) at addrs[k]; `lengths`
   * may be one number for all. The same as a `store` (or `ntStore`) per record, in order, in
   * one call into the core per scratch-full of records. Every record is checked first: EINVAL
   * (nothing stored) for an address or length that is not a non-negative integer, a record
   * past the device, or lengths that do not add up to data's bytes.
   */
  storeBatch(
    addrs: ArrayLike<number>, lengths: ArrayLike<number> | number,
    data: ArrayBufferView | ArrayBuffer, options?: StoreBatchOptions,
  ): void {
    this.live();
    storeBatch(this.batchEnd, addrs, lengths, PmemDevice.asBytes(data), options);
  }

  /**
   * Called before every store call (store, ntStore, storeU64, and each line a DAX mapping
   * stores) when set: crash exploration at every store. It must leave the scratch as it was.
   */
  beforeStore: (() => void) | null = null;

  /** Listeners for the bytes a file system mounted here writes (write-listeners.ts). */
  readonly fsWrites = new WriteListeners();

  private storeWith(addr: number, data: ArrayBufferView | ArrayBuffer, nonTemporal: number): void {
    const bytes = PmemDevice.asBytes(data);
    // .length, not .byteLength (the same for bytes): on Node 20 the byte getters of a typed
    // array are calls, 9 ns each, a tenth of a 64-byte store; .length is inlined (bench/
    // typed-array-getters-probe.mjs).
    const n = bytes.length;
    this.checkRange(addr, n); // (no [addr, length] pair made: a store's path allocates nothing)
    this.beforeStore?.();
    // A small store goes through the scratch wherever its bytes are: asking whether they are
    // in this memory (byteOffset, then buffer) costs about as much as copying them. The
    // others are a method of their own: this one stays small enough for V8 to inline into
    // its callers (a call less per 64-byte store).
    if (n >= DIRECT_STORE_BYTES || n > this.scratchBytes) {
      this.storeLarge(addr, bytes, nonTemporal);
      return;
    }
    copyInto(this.bytes, bytes, this.scratchAddr);
    checkCoreResult(this.core.pmem_store(addr, this.scratchAddr, n, nonTemporal), 'store');
  }

  /** storeWith of DIRECT_STORE_BYTES or more, or of more than the scratch holds. */
  private storeLarge(a: number, bytes: Uint8Array, nonTemporal: number): void {
    const n = bytes.length;
    if (this.inMemory(bytes)) {
      checkCoreResult(this.core.pmem_store(a, bytes.byteOffset, n, nonTemporal), 'store');
      return;
    }
    // Logged first, then the caller's bytes go straight into the visible bytes (one copy
    // into the device instead of two: into the scratch, then the core's). Up to the
    // scratch's size: a longer one is several stores through the scratch, as before.
    if (n <= this.scratchBytes && this.lineSpan(a, n) <= this.config.logCapacity) {
      checkCoreResult(this.core.pmem_store_begin(a, n, nonTemporal), 'store');
      try {
        copyInto(this.bytes, bytes, this.visibleAddr + a);
      } finally {
        checkCoreResult(this.core.pmem_store_end(), 'store');
      }
      return;
    }
    // Through this thread's scratch, a chunk at a time.
    for (let done = 0; done < n; done += this.scratchBytes) {
      const chunk = Math.min(this.scratchBytes, n - done);
      copyInto(this.bytes, bytes.subarray(done, done + chunk), this.scratchAddr);
      checkCoreResult(
        this.core.pmem_store(a + done, this.scratchAddr, chunk, nonTemporal), 'store',
      );
    }
  }

  /** Lines [addr, addr + n) touches (n > 0). */
  private lineSpan(addr: number, n: number): number {
    return Math.floor((addr + n - 1) / LINE_BYTES) - Math.floor(addr / LINE_BYTES) + 1;
  }

  /** Store one 64-bit value (8-byte aligned stores are atomic: they never tear). */
  storeU64(addr: number, value: bigint): void {
    this.range(addr, 8);
    if (typeof value !== 'bigint') {
      throw new FsError('EINVAL', `value must be a bigint, got ${typeof value}`);
    }
    this.beforeStore?.();
    new DataView(this.bytes.buffer).setBigUint64(this.scratchAddr, BigInt.asUintN(64, value), true);
    checkCoreResult(this.core.pmem_store(addr, this.scratchAddr, 8, 0), 'store');
  }

  /** Load bytes (what the CPU sees). Poisoned lines fail with EIO. */
  load(addr: number, length: number): Uint8Array {
    // before allocating: a huge length is EINVAL, not a RangeError
    const [a, n] = this.range(addr, length);
    const out = new Uint8Array(n);
    this.loadRange(a, n, out);
    return out;
  }

  loadInto(addr: number, out: Uint8Array): void {
    if (!(out instanceof Uint8Array)) throw new FsError('EINVAL', 'out must be a Uint8Array');
    const [a, n] = this.range(addr, out.byteLength);
    this.loadRange(a, n, out);
  }

  /** [a, a + n) already checked by range(); out holds n bytes. */
  private loadRange(a: number, n: number, out: Uint8Array): void {
    if (this.inMemory(out)) {
      this.loadResult(this.core.pmem_load(out.byteOffset, a, n), a, n);
      return;
    }
    for (let done = 0; done < n; done += this.scratchBytes) {
      const chunk = Math.min(this.scratchBytes, n - done);
      this.loadResult(this.core.pmem_load(this.scratchAddr, a + done, chunk), a + done, chunk);
      out.set(this.bytes.subarray(this.scratchAddr, this.scratchAddr + chunk), done);
    }
  }

  private loadResult(result: number, addr: number, length: number): void {
    if (result === -5) {
      throw new FsError('EIO', `media error: poisoned line in [${addr}, ${addr + length})`);
    }
    checkCoreResult(result, 'load');
  }

  loadU64(addr: number): bigint {
    this.range(addr, 8);
    this.loadResult(this.core.pmem_load(this.scratchAddr, addr, 8), addr, 8);
    return new DataView(this.bytes.buffer).getBigUint64(this.scratchAddr, true);
  }

  /** Do the bytes of [addr, addr+length) read as zeros? EIO when a line is poisoned, as a load. */
  isZero(addr: number, length: number): boolean {
    const [a, n] = this.range(addr, length);
    const r = this.core.pmem_zero_check(a, n);
    this.loadResult(r, a, n);
    return r === 1;
  }

  /** The media bytes: what would survive if every pending line were lost. */
  readMedia(addr: number, length: number): Uint8Array {
    const [a, n] = this.range(addr, length);
    // The visible bytes, with each pending line's media (its pre-image) over them. Not
    // through the scratch: a crash explorer keeps its bitmaps there while it reads media.
    // (new + set, not slice: a slice of shared memory copies a byte at a time.)
    const out = new Uint8Array(n);
    out.set(this.bytes.subarray(this.visibleAddr + a, this.visibleAddr + a + n));
    const endLine = Math.ceil((a + n) / LINE_BYTES);
    let line = this.nextPending(Math.floor(a / LINE_BYTES), endLine);
    for (; line >= 0; line = this.nextPending(line + 1, endLine)) {
      const media = this.core.pmem_media_line(line) >>> 0; // an address (u32): the line is in range
      const from = Math.max(a, line * LINE_BYTES), to = Math.min(a + n, (line + 1) * LINE_BYTES);
      out.set(
        this.bytes.subarray(media + from - line * LINE_BYTES, media + to - line * LINE_BYTES),
        from - a,
      );
    }
    return out;
  }

  /** The first pending line in [fromLine, endLine), or -1. */
  private nextPending(fromLine: number, endLine: number): number {
    const line = this.core.pmem_next_pending(fromLine, endLine);
    return line === -1 ? -1 : checkCoreResult(line, 'next pending line');
  }

  /** Write back every line overlapping [addr, addr+length): clwb, clflushopt or clflush. */
  flush(addr: number, length: number, kind: FlushKind = 'clwb'): void {
    const [a, n] = this.range(addr, length);
    if (typeof kind !== 'string' || !Object.hasOwn(FLUSH_KIND, kind)) {
      throw new FsError('EINVAL', `flush kind must be clwb, clflushopt or clflush`);
    }
    checkCoreResult(this.core.pmem_flush(a, n, FLUSH_KIND[kind]), kind);
  }

  clwb(addr: number): void { this.flush(addr, 1, 'clwb'); }
  clflushopt(addr: number): void { this.flush(addr, 1, 'clflushopt'); }
  clflush(addr: number): void { this.flush(addr, 1, 'clflush'); }

  /**
   * Called on this thread just before each sfence/mfence made through this object (the
   * file system's and DAX mappings' fences included): a crash explorer's crash point.
   * The device must not be changed from inside the hook.
   */
  beforeFence: ((kind: 'sfence' | 'mfence') => void) | null = null;

  sfence(): void {
    this.live();
    this.beforeFence?.('sfence');
    checkCoreResult(this.core.pmem_fence(0), 'sfence');
  }

  mfence(): void {
    this.live();
    this.beforeFence?.('mfence');
    checkCoreResult(this.core.pmem_fence(1), 'mfence');
  }

  /** clwb every line of the range, then sfence: the range is durable on return. */
  persist(addr: number, length: number): void {
    if (this.beforeFence) {
      // Crash exploration at fences: the hook runs between the clwb and the sfence.
      this.flush(addr, length, 'clwb');
      this.sfence();
      return;
    }
    this.checkRange(addr, length);
    checkCoreResult(this.core.pmem_persist(addr, length), 'persist');
  }

  // --- media errors ------------------------------------------------------------------

  /** Poison every line overlapping the range: loads fail with EIO until cleared. */
  poison(addr: number, length = 1): void {
    const [a, n] = this.range(addr, length);
    checkCoreResult(this.core.pmem_poison(a, n, 1), 'poison');
  }

  clearPoison(addr: number, length = 1): void {
    const [a, n] = this.range(addr, length);
    checkCoreResult(this.core.pmem_poison(a, n, 0), 'clear poison');
  }

  lineInfo(addr: number): LineInfo {
    const [a] = this.range(addr, 1);
    const info = checkCoreResult(this.core.pmem_line_info(Math.floor(a / LINE_BYTES)), 'line info');
    return {
      pendingStores: info >>> LINE_INFO_ENTRIES_SHIFT, poisoned: (info & LINE_POISON) !== 0,
    };
  }

  // --- counters ----------------------------------------------------------------------

  counters(): PmemCounters {
    this.live();
    const out = {} as PmemCounters;
    COUNTER_NAMES.forEach((name, i) => { out[name] = this.core.pmem_counter(i); });
    return out;
  }

  /** Lines with a media error (poison). */
  poisonedLines(): number {
    this.live();
    return checkCoreResult(this.core.pmem_gauge(GAUGE.poisonedLines), 'poisoned lines');
  }

  /** Lines with stores not yet on media. */
  linesPending(): number {
    this.live();
    return checkCoreResult(this.core.pmem_gauge(GAUGE.linesPending), 'lines pending');
  }

  /** Store-log entries between the oldest live one and the newest. */
  logSpan(): number {
    this.live();
    return checkCoreResult(this.core.pmem_gauge(GAUGE.logSpan), 'log span');
  }

  /** This thread's flushes waiting for a fence. */
  flushesQueued(): number {
    this.live();
    return checkCoreResult(this.core.pmem_gauge(GAUGE.flushQueue), 'flush queue');
  }

  // --- crash -------------------------------------------------------------------------

  /** Number of legal post-crash images of the current pending state (saturates at 2^64-1). */
  crashImageCount(): bigint {
    this.live();
    checkCoreResult(this.core.pmem_crash_scan(), 'crash scan');
    return BigInt.asUintN(64, this.core.pmem_crash_total());
  }

  /** A new device holding a legal post-crash image; this device is unchanged. */
  crash(options: CrashOptions = {}): PmemDevice {
    const [mode, arg] = this.crashChoice(options);
    return this.materialize(mode, arg, options.into);
  }

  /** Image number `index` of crashImages(), built directly (into a new device or `into`). */
  crashImageAt(index: bigint, options: { into?: PmemDevice } = {}): PmemDevice {
    this.live();
    if (typeof index !== 'bigint' || index < 0n) {
      throw new FsError('EINVAL', 'image index must be a non-negative bigint');
    }
    requireKnownOptions(options, ['into'], 'crashImageAt options');
    return this.materialize(CRASH_MODE.enumerate, index, options.into);
  }

  /** Crash this device itself: it reboots holding a legal post-crash image. */
  crashInPlace(options: CrashOptions = {}): void {
    const [mode, arg] = this.crashChoice(options);
    checkCoreResult(this.core.pmem_crash_in_place(mode, arg), 'crash');
    this.dropOwner();
  }

  /**
   * Every legal post-crash image of the current pending state, in a fixed order.
   * The window is bounded by the store log (logCapacity entries; older stores have been
   * evicted to media); enumeration refuses with E2BIG above maxImages.
   */
  *crashImages(options: { maxImages?: number } = {}): Generator<CrashImage> {
    requireKnownOptions(options, ['maxImages'], 'crashImages options');
    const maxImages = BigInt(requireIndex(orDefault(options.maxImages, 1 << 16), 'maxImages'));
    const total = this.crashImageCount();
    if (total > maxImages) {
      throw new FsError('E2BIG', `${total} crash images exceed maxImages ${maxImages}`);
    }
    const patchAddr = this.region(REGION.patch);
    for (let index = 0n; index < total; index++) {
      const slots = checkCoreResult(
        this.core.pmem_crash_build(CRASH_MODE.enumerate, index, 0, 0),
        'crash build (did the device change during enumeration?)',
      );
      const generation = index;
      let current = true;
      const image: CrashImage = {
        index: generation,
        changedLines: slots,
        fingerprint: () => {
          if (!current) throw new FsError('EINVAL', 'crash image used after the iterator moved on');
          return this.core.csum_crc32c(patchAddr, slots * PATCH_BYTES) >>> 0;
        },
        device: (into?: PmemDevice) => {
          if (!current) throw new FsError('EINVAL', 'crash image used after the iterator moved on');
          return this.materialize(CRASH_MODE.enumerate, generation, into);
        },
      };
      yield image;
      current = false;
    }
  }

  private crashChoice(options: CrashOptions): [number, bigint] {
    this.live();
    requireKnownOptions(options, ['mode', 'seed', 'into'], 'crash options');
    const mode = orDefault(options.mode, 'strict');
    if (mode === 'strict') return [CRASH_MODE.strict, 0n];
    if (mode !== 'random') throw new FsError('EINVAL', `crash mode must be 'strict' or 'random'`);
    const seed = orDefault(options.seed, 0);
    if (typeof seed === 'bigint') return [CRASH_MODE.random, BigInt.asIntN(64, seed)];
    return [CRASH_MODE.random, BigInt.asIntN(64, BigInt(requireIndex(seed, 'seed')))];
  }

  /**
   * New device = this device's media plus the patch of one image. The patch is built and
   * the media copied under one hold of the world lock, so threads still storing cannot
   * make them disagree: the image is the state of one instant.
   */
  private materialize(mode: number, arg: bigint, into: PmemDevice | undefined): PmemDevice {
    if (into !== undefined && !(into instanceof PmemDevice)) {
      throw new FsError('EINVAL', 'crash target must be another device of the same size');
    }
    const next = into ?? new PmemDevice(this.module, new WebAssembly.Memory({
      initial: this.memory.buffer.byteLength / WASM_PAGE_BYTES,
      maximum: this.memory.buffer.byteLength / WASM_PAGE_BYTES,
      shared: true,
    }), this.config, true);
    if (into !== undefined) {
      if (!(into instanceof PmemDevice) || into.memory === this.memory
        || into.sizeBytes !== this.sizeBytes) {
        throw new FsError('EINVAL', 'crash target must be another device of the same size');
      }
      into.live();
    }
    const changed = checkCoreResult(this.core.pmem_crash_build(mode, arg, 1, 0), 'crash build');
    // The image = this device's visible bytes with a patch line over each pending line: the
    // changed ones, and the others' media bytes (their pre-images).
    const overlay = this.core.pmem_crash_overlay(changed);
    // The target's patch holds a line per entry of every ring (at most a line per line).
    const targetRows = Math.min(
      next.config.sizeBytes / LINE_BYTES, next.config.maxThreads * next.config.logCapacity,
    );
    if (overlay < 0 || overlay > targetRows) {
      checkCoreResult(this.core.pmem_unlock(), 'unlock');
      checkCoreResult(overlay, 'crash overlay');
      throw new FsError(
        'EINVAL',
        `crash target's patch (maxThreads ${next.config.maxThreads} x logCapacity `
          + `${next.config.logCapacity}) holds fewer than the ${overlay} pending lines`,
      );
    }
    const slots = overlay;
    const held = next.heldImage;
    next.heldImage = null; // until the image is complete
    let copied: { incremental: boolean; sourceEpoch: number };
    try {
      const sameSource = held !== null && held.source === this ? held : null;
      copied = copyImageInto(this.imageEnd, next.imageEnd, slots, sameSource);
    } finally {
      checkCoreResult(this.core.pmem_unlock(), 'unlock');
    }
    const ownEpoch = checkCoreResult(
      copied.incremental
        ? next.core.pmem_crash_apply(slots) : next.core.pmem_crash_apply_image(slots),
      'apply crash image',
    );
    next.heldImage = { source: this, sourceEpoch: copied.sourceEpoch, ownEpoch };
    // The image is a fresh boot of the target: a file system mounted on its last image is gone.
    next.dropOwner();
    return next;
  }

  /** As a crash target: whose media this device holds, as of which epochs (crash-copy.ts). */
  private heldImage: HeldImage | null = null;

  /**
   * The caller wrote bytes of the device's regions directly: stamp them (crash targets and
   * fingerprints notice).
   */
  markChanged(addr: number, length: number): void {
    const [a, n] = this.range(addr, length);
    checkCoreResult(this.core.pmem_mark_changed(a, n), 'mark changed');
  }

  // --- checksums and raw access ------------------------------------------------------

  /** crc32c (btrfs flavour) of device bytes, computed in place. */
  crc32c(addr: number, length: number): number {
    const [a, n] = this.range(addr, length);
    return this.core.csum_crc32c(this.visibleAddr + a, n) >>> 0;
  }

  /** crc32c of caller bytes. */
  crc32cBytes(data: ArrayBufferView | ArrayBuffer): number {
    this.live();
    const bytes = PmemDevice.asBytes(data);
    if (this.inMemory(bytes)) {
      return this.core.csum_crc32c(bytes.byteOffset, bytes.byteLength) >>> 0;
    }
    let crc = 0xffffffff;
    for (let done = 0; done < bytes.byteLength; done += this.scratchBytes) {
      const chunk = Math.min(this.scratchBytes, bytes.byteLength - done);
      this.bytes.set(bytes.subarray(done, done + chunk), this.scratchAddr);
      crc = this.core.csum_crc32c_update(crc, this.scratchAddr, chunk);
    }
    return (crc ^ 0xffffffff) >>> 0;
  }

  /** This thread's scratch area in the shared memory (for zero-copy callers). */
  scratch(): Uint8Array {
    this.live();
    return this.bytes.subarray(this.scratchAddr, this.scratchAddr + this.scratchBytes);
  }

  /**
   * Release this thread's slot (and any mount claimed through it); flushes still queued complete
   * first.
   */
  close(): void {
    if (this.closed) return;
    for (const token of [...this.ownTokens]) this.releaseOwner(token);
    checkCoreResult(this.core.pmem_detach(), 'detach');
    this.closed = true;
  }
}
