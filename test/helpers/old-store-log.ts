// A raw driver for the frozen core of test/fixtures/old-store-log/core.wasm: the store log
// as it was before issue 17 (assembly/pmem/storelog.ts, fresh-runs.ts, flushqueue.ts,
// crash.ts, device.ts at the commit named in that directory's README). It is the
// reference that test/pmem-log-vs-old.test.ts holds the current core to.
//
// It must not import src/core/abi.ts, src/core/module.ts or src/pmem/device.ts: those
// follow the current core and will change with it. What it needs of the old ABI is copied
// below as frozen literals. It formats and attaches as src/pmem/device.ts did at that
// commit (at DEVICE_BASE, memory sized by pmem_layout_total), and stores and loads as it
// did (caller bytes through the thread's scratch, a core call per scratch-sized chunk), so
// that both sides make the same store-log calls for the same user call (the counters
// count calls). Media reads and crash images come from the old core's own exports
// (pmem_read_media; pmem_crash_build then pmem_patch_compose), written to the kernel
// region, which the driver sizes to hold the whole device.
import { readFile } from 'node:fs/promises';

// --- the old ABI (src/core/abi.ts and src/core/module.ts at the fixture's commit) -------
// Frozen: these are the numbers the fixture was compiled with, not the current ones.

/** Where the device header lives (module.ts DEVICE_BASE). */
const DEVICE_BASE = 65536;
const WASM_PAGE_BYTES = 65536;
/** pmem_format's domain argument (abi.ts DOMAIN). */
const DOMAIN = { adr: 0, eadr: 1 } as const;
/** pmem_region selectors (abi.ts REGION), only those the driver reads. */
const REGION = { scratch: 2, scratchBytes: 3, kernel: 7, deviceBytes: 9, stampRuns: 15 } as const;
/** pmem_gauge selectors (abi.ts GAUGE). */
const GAUGE = { linesPending: 0, logSpan: 1, flushQueue: 2 } as const;
/** pmem_crash_build modes (abi.ts CRASH_MODE). */
const CRASH_MODE = { strict: 0, random: 1, enumerate: 2 } as const;
/** pmem_flush kinds (abi.ts FLUSH_KIND). */
const FLUSH_KIND = { clwb: 0, clflushopt: 1, clflush: 2 } as const;
/** pmem_line_info: (entries << LINE_INFO_ENTRIES_SHIFT) | state bits (abi.ts). */
const LINE_INFO_ENTRIES_SHIFT = 8;
const LINE_POISON = 2;
/** pmem_counter indices 0..13 (abi.ts COUNTER_NAMES). */
export const OLD_COUNTER_NAMES = [
  'stores', 'bytesStored', 'ntStores', 'clwb', 'clflushopt', 'clflush', 'sfence', 'mfence',
  'evictions', 'loads', 'bytesLoaded', 'flushQueueDrains', 'linesRetired', 'logEntries',
] as const;

const FIXTURE = new URL('../fixtures/old-store-log/core.wasm', import.meta.url);

// --- configuration ---------------------------------------------------------------------

export type OldDomain = keyof typeof DOMAIN;
export type OldFlushKind = keyof typeof FLUSH_KIND;

/** Every field explicit: the reference must not depend on anyone's defaults. */
export interface OldLogConfig {
  sizeBytes: number;
  domain: OldDomain;
  logCapacity: number;
  maxThreads: number;
  flushQueueCapacity: number;
  scratchBytes: number;
  /** At least sizeBytes: media reads and composed crash images are written there. */
  kernelBytes: number;
}

/** Image number `index` of the enumeration, the random image of a seed, or the strict one. */
export type OldCrashChoice = bigint | { seed: bigint } | 'strict';

export interface OldCrashImage {
  index: bigint;
  /** The whole device as the crash leaves it: media with the image's patch over it. */
  bytes: Uint8Array;
  /** Patch lines the build wrote (PmemDevice's CrashImage.changedLines). */
  changedLines: number;
}

/** The old core's exports the driver calls (numbers as the module's JS API gives them). */
interface OldExports {
  core_heap_base(): number;
  pmem_layout_total(...args: number[]): number;
  pmem_format(...args: number[]): number;
  pmem_attach(base: number): number;
  pmem_detach(): number;
  pmem_region(which: number): number;
  pmem_store(addr: number, src: number, len: number, nonTemporal: number): number;
  pmem_load(dst: number, addr: number, len: number): number;
  pmem_read_media(dst: number, addr: number, len: number): number;
  pmem_flush(addr: number, len: number, kind: number): number;
  pmem_fence(isMfence: number): number;
  pmem_line_info(line: number): number;
  pmem_pending_lines(addr: number, len: number): number;
  pmem_counter(index: number): number;
  pmem_gauge(which: number): number;
  pmem_crash_scan(): number;
  pmem_crash_total(): bigint;
  pmem_crash_build(mode: number, arg: bigint, keepLocked: number, lines: number): number;
  pmem_patch_compose(slots: number, addr: number, len: number, dst: number): number;
  pmem_stamps_advance(): number;
  pmem_stamp_runs(since: number): number;
}

// --- instantiation -----------------------------------------------------------------------

let compiled: Promise<WebAssembly.Module> | null = null;

function oldModule(): Promise<WebAssembly.Module> {
  compiled ??= readFile(FIXTURE).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

/** An AssemblyScript string (UTF-16, length in bytes at ptr - 4), for abort messages. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const length = new DataView(memory.buffer).getUint32(ptr - 4, true);
  return String.fromCharCode(...new Uint16Array(memory.buffer.slice(ptr, ptr + length)));
}

/**
 * The old module over `memory` (imported, shared). The file-system hooks are never called
 * by the pmem exports the driver uses; each fails loudly if it is.
 */
function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): OldExports {
  const unexpected = (name: string) => (): never => {
    throw new Error(`old core: unexpected call of ${name}`);
  };
  const env = {
    memory,
    fs_fail: unexpected('fs_fail'),
    fs_heal: unexpected('fs_heal'),
    fs_data_written: unexpected('fs_data_written'),
    fs_before_store: unexpected('fs_before_store'),
    abort(message: number, file: number, line: number, column: number): never {
      const where = `${readAsString(memory, file)}:${line}:${column}`;
      throw new Error(`old core aborted: ${readAsString(memory, message)} (${where})`);
    },
  };
  return new WebAssembly.Instance(module, { env }).exports as unknown as OldExports;
}

function formatArgs(c: OldLogConfig): number[] {
  return [DEVICE_BASE, c.sizeBytes, DOMAIN[c.domain], c.maxThreads, c.logCapacity,
    c.scratchBytes, c.flushQueueCapacity, c.kernelBytes];
}

/** A negative result is an errno: the driver was used wrongly, or the old core refused. */
function ok(result: number, what: string): number {
  if (result < 0) throw new Error(`old core: ${what} failed with errno ${-result}`);
  return result;
}

/** Shared memory for `config`, sized by the old core itself (pmem_layout_total). */
function memoryFor(module: WebAssembly.Module, config: OldLogConfig): WebAssembly.Memory {
  const page = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const planner = instantiate(module, page);
  if (planner.core_heap_base() > DEVICE_BASE) throw new Error('old core: static data above DEVICE_BASE');
  const bytes = ok(planner.pmem_layout_total(...formatArgs(config)), 'layout');
  const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

// --- the driver ----------------------------------------------------------------------------

export class OldStoreLog {
  readonly config: OldLogConfig;
  private readonly core: OldExports;
  private readonly bytes: Uint8Array;
  private readonly scratch: number;
  private readonly scratchBytes: number;
  /** The kernel region: the driver's output buffer (sizeBytes or more). */
  private readonly out: number;

  private constructor(module: WebAssembly.Module, config: OldLogConfig) {
    if (config.kernelBytes < config.sizeBytes) throw new Error('old driver: kernelBytes below sizeBytes');
    this.config = { ...config };
    const memory = memoryFor(module, config);
    this.core = instantiate(module, memory);
    ok(this.core.pmem_format(...formatArgs(config)), 'format');
    ok(this.core.pmem_attach(DEVICE_BASE), 'attach');
    this.bytes = new Uint8Array(memory.buffer);
    // Region addresses are u32 that the core returns as i32.
    this.scratch = this.core.pmem_region(REGION.scratch) >>> 0;
    this.scratchBytes = this.core.pmem_region(REGION.scratchBytes) >>> 0;
    this.out = this.core.pmem_region(REGION.kernel) >>> 0;
    if (this.core.pmem_region(REGION.deviceBytes) >>> 0 !== config.sizeBytes) {
      throw new Error('old driver: the attached device has another size');
    }
  }

  static async create(config: OldLogConfig): Promise<OldStoreLog> {
    return new OldStoreLog(await oldModule(), config);
  }

  get sizeBytes(): number {
    return this.config.sizeBytes;
  }

  /** A store (nt: non-temporal), in scratch-sized chunks as PmemDevice.store does. */
  store(addr: number, data: Uint8Array, nt: boolean): void {
    for (let done = 0; done < data.length; done += this.scratchBytes) {
      const chunk = Math.min(this.scratchBytes, data.length - done);
      this.bytes.set(data.subarray(done, done + chunk), this.scratch);
      ok(this.core.pmem_store(addr + done, this.scratch, chunk, nt ? 1 : 0), 'store');
    }
  }

  flush(addr: number, length: number, kind: OldFlushKind): void {
    ok(this.core.pmem_flush(addr, length, FLUSH_KIND[kind]), kind);
  }

  fence(mfence: boolean): void {
    ok(this.core.pmem_fence(mfence ? 1 : 0), mfence ? 'mfence' : 'sfence');
  }

  /** Visible bytes, in scratch-sized loads as PmemDevice.load does (the load counters agree). */
  load(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let done = 0; done < length; done += this.scratchBytes) {
      const chunk = Math.min(this.scratchBytes, length - done);
      ok(this.core.pmem_load(this.scratch, addr + done, chunk), 'load');
      out.set(this.bytes.subarray(this.scratch, this.scratch + chunk), done);
    }
    return out;
  }

  /** Media bytes, from the old core's own media reader. */
  readMedia(addr: number, length: number): Uint8Array {
    ok(this.core.pmem_read_media(this.out, addr, length), 'read media');
    return this.bytes.slice(this.out, this.out + length);
  }

  /** Number of legal crash images (a fresh scan; saturates at 2^64-1). */
  crashCount(): bigint {
    ok(this.core.pmem_crash_scan(), 'crash scan');
    return BigInt.asUintN(64, this.core.pmem_crash_total());
  }

  /** One crash image: the whole device's bytes as the crash leaves them. */
  crashImageBytes(choice: OldCrashChoice): Uint8Array {
    const [mode, arg] = choice === 'strict' ? [CRASH_MODE.strict, 0n]
      : typeof choice === 'bigint' ? [CRASH_MODE.enumerate, choice]
        : [CRASH_MODE.random, choice.seed];
    return this.build(mode, arg).bytes;
  }

  /** Every image in enumeration order (the caller bounds the count first). */
  *images(): Generator<OldCrashImage> {
    const total = this.crashCount();
    for (let index = 0n; index < total; index++) {
      yield { index, ...this.build(CRASH_MODE.enumerate, index) };
    }
  }

  /**
   * Build a patch (pmem_crash_build, from a fresh scan) and compose it over media
   * (pmem_patch_compose): the bytes a device booted from this image holds.
   */
  private build(mode: number, arg: bigint): { bytes: Uint8Array; changedLines: number } {
    const slots = ok(this.core.pmem_crash_build(mode, BigInt.asIntN(64, arg), 0, 0), 'crash build');
    ok(this.core.pmem_patch_compose(slots, 0, this.sizeBytes, this.out), 'patch compose');
    return { bytes: this.bytes.slice(this.out, this.out + this.sizeBytes), changedLines: slots };
  }

  lineInfo(line: number): { pendingStores: number; poisoned: boolean } {
    const info = ok(this.core.pmem_line_info(line), 'line info');
    const poisoned = (info & LINE_POISON) !== 0;
    return { pendingStores: info >>> LINE_INFO_ENTRIES_SHIFT, poisoned };
  }

  /**
   * Is the line pending? Read from the line's state byte only: unlike lineInfo, it writes no
   * deferred entries, so asking it leaves the old log exactly as the new side's is driven.
   */
  isPending(line: number): boolean {
    return ok(this.core.pmem_pending_lines(line * 64, 64), 'pending lines') > 0;
  }

  linesPending(): number {
    return ok(this.core.pmem_gauge(GAUGE.linesPending), 'lines pending');
  }

  logSpan(): number {
    return ok(this.core.pmem_gauge(GAUGE.logSpan), 'log span');
  }

  flushesQueued(): number {
    return ok(this.core.pmem_gauge(GAUGE.flushQueue), 'flush queue');
  }

  /** The stamp epoch now; lines changed from now on are stamped newer. */
  stampsAdvance(): number {
    return this.core.pmem_stamps_advance() >>> 0;
  }

  /** Runs of lines stamped after `since`, as [first line, count] pairs (null: too many). */
  changedRuns(since: number): number[] | null {
    const runs = this.core.pmem_stamp_runs(since);
    if (runs < 0) return null;
    const at = this.core.pmem_region(REGION.stampRuns) >>> 0;
    return Array.from(new Uint32Array(this.bytes.buffer, at, 2 * runs));
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    OLD_COUNTER_NAMES.forEach((name, i) => { out[name] = this.core.pmem_counter(i); });
    return out;
  }

  close(): void {
    ok(this.core.pmem_detach(), 'detach');
  }
}
