// A writer thread: its own core instance over the shared memory, storing through DAX
// mappings with no call to the file system until a fault. Runs the same in a Node
// worker_thread and in a browser Web Worker (the entries only differ in messaging).
import { Rng } from '../random.js';
import { FsError, type ErrnoName } from '../errors.js';
import { PmemDevice, type PmemHandle } from '../pmem/device.js';
import { FAULT_MEDIA_ERROR, D_FS_STATE, FR_DONE, BATCH_RECORD_BYTES } from '../core/abi.js';
import type { MappingHandle } from '../dax/mapping.js';
import { StoreBatch, type BatchStop } from '../dax/store-batch.js';
import { FileReader, type ReadRequest } from './file-reader.js';

export type WorkloadKind = 'sequential' | 'random' | 'hot';

/**
 * Which slots a writer owns. 'interleaved': slot % writers == writerIndex (neighbouring
 * slots belong to different writers). 'partitioned': writer w owns the contiguous slots
 * [floor(w * slots / writers), floor((w + 1) * slots / writers)). Why both: with small
 * interleaved slots two writers store into adjacent lines of the same pages, and the
 * emulator's per-line metadata (line states, lists, stamps, several lines to a cache
 * line) is shared between cores where real hardware would share nothing.
 */
export type SlotLayout = 'interleaved' | 'partitioned';

export interface WorkloadSpec {
  mapping: MappingHandle;
  kind: WorkloadKind;
  /** Number of stores to make. */
  stores: number;
  /** Bytes per store, a multiple of 8; the mapping is cut into slots of this size. */
  storeBytes: number;
  /** Writers sharing the mapping; which slots this one owns: `layout`. */
  writers: number;
  writerIndex: number;
  /** Default 'interleaved'. */
  layout?: SlotLayout;
  seed: number;
  /** clwb + sfence after every store. */
  persist?: boolean;
  /** Hot workload: the number of pages it stays in (default 2). */
  hotPages?: number;
}

export interface WorkloadResult {
  writerIndex: number;
  stores: number;
  faults: number;
  /**
   * Of those, faults this writer's own core served (no message), and faults the owning thread
   * served.
   */
  faultsServedHere: number;
  faultsServedByOwner: number;
  elapsedMs: number;
  /**
   * Last sequence number written to each of this writer's slots (0 = never), by k
   * (slotPicker: slot = slot(k)).
   */
  lastSeq: Uint32Array;
}

/**
 * The owning thread's side of a fault this thread's core left to it (FR_OWNER), reached by message
 * (comlink).
 */
export interface FaultService {
  fault(mappingId: number, page: number, write: boolean): Promise<void>;
}

/** The tag every store carries: writer (high 16 bits) and sequence number. */
export function storeTag(writerIndex: number, seq: number): bigint {
  return (BigInt(writerIndex + 1) << 48n) | BigInt(seq);
}

/** Which slots a writer owns and which of them each store goes to (slotPicker). */
export interface SlotPicker {
  /** Slots this writer owns: k = 0..mine-1. */
  mine: number;
  /** Called once per store, in order (seq = 1, 2, ...): the k of the slot it goes to. */
  pick: (seq: number) => number;
  /** The mapping slot of the writer's k-th slot. */
  slot: (k: number) => number;
  /** The k of one of the writer's slots (-1 when the slot is not the writer's). */
  index: (slot: number) => number;
}

/**
 * Which of its slots each store of a workload goes to: the writer's slots (`layout`),
 * and `pick()`, called once per store in order. Writer.run and the soak's oracle
 * (src/soak/slots.ts) both use it: the one definition of where a store goes.
 */
export function slotPicker(spec: WorkloadSpec): SlotPicker {
  const slots = Math.floor(spec.mapping.length / spec.storeBytes);
  const { writers, writerIndex } = spec;
  let mine: number, slot: (k: number) => number, index: (slot: number) => number;
  if (spec.layout === 'partitioned') {
    const first = Math.floor((writerIndex * slots) / writers);
    mine = Math.floor(((writerIndex + 1) * slots) / writers) - first;
    slot = (k) => first + k;
    index = (s) => (s >= first && s < first + mine ? s - first : -1);
  } else {
    mine = Math.ceil((slots - writerIndex) / writers);
    slot = (k) => k * writers + writerIndex;
    index = (s) => (s % writers === writerIndex && s < slots ? Math.floor(s / writers) : -1);
  }
  const slotsPerPage = Math.max(1, Math.floor(4096 / spec.storeBytes));
  const hotMine = Math.max(
    1, Math.min(mine, Math.floor(((spec.hotPages ?? 2) * slotsPerPage) / writers)),
  );
  const rng = Rng.xorshift32(spec.seed * 2654435761 + writerIndex * 97 + 1);
  const pick = spec.kind === 'sequential' ? (seq: number) => (seq - 1) % mine
    : spec.kind === 'random' ? () => rng.below(mine) : () => rng.below(hotMine);
  return { mine, pick, slot, index };
}

/** Stores per crossing into the core (Writer.run): 8 KiB of records in the scratch. */
export const WRITER_BATCH_RECORDS = 256;
const TWO_32 = 2 ** 32;

export class Writer {
  private readonly device: PmemDevice;
  /** The run's stores, in this thread's scratch. */
  private readonly batch: StoreBatch;

  /** The engine's state in shared memory (named by the DAX header), 0 when there is none. */
  private readonly fsState: number;
  /** Faults this thread's core served, and faults it left to the owning thread. */
  readonly faultCounts = { own: 0, owner: 0 };

  constructor(handle: PmemHandle, daxBase: number, private readonly faults: FaultService) {
    this.device = PmemDevice.attach(handle);
    if (this.device.core.dax_attach(daxBase) < 0) {
      throw new FsError('EINVAL', 'DAX region not found');
    }
    this.fsState = new DataView(this.device.memory.buffer).getUint32(daxBase + D_FS_STATE, true);
    this.batch = new StoreBatch(this.device, WRITER_BATCH_RECORDS);
  }

  get threadSlot(): number {
    return this.device.threadSlot;
  }

  private reader: FileReader | null = null;

  /**
   * A reader that leaves the store batch's records alone: a read can arrive while run() awaits a
   * fault.
   */
  private newReader(): FileReader {
    return new FileReader(this.device, this.batch.capacity * BATCH_RECORD_BYTES);
  }

  /** Read a file on this thread, through its own core instance (FileReader). */
  read(req: ReadRequest): Uint8Array {
    this.reader ??= this.newReader();
    return this.reader.read(req);
  }

  /**
   * Serve a fault on this thread: the engine runs in this thread's core under the fs lock
   * (assembly/dax/fault.ts), with no message. False when the core left it to the owning
   * thread (an error to word, a fill, a MAP_SYNC commit, a freeze).
   */
  private faultHere(mappingId: number, page: number, write: boolean): boolean {
    if (this.fsState === 0) return false;
    this.reader ??= this.newReader();
    this.reader.attach(this.fsState);
    const core = this.device.core;
    if (core.fs_lock() < 0) return false;
    let served: number;
    try {
      served = core.dax_fs_fault(mappingId, page, write ? 1 : 0);
    } finally {
      core.fs_unlock();
    }
    if (served < 0) {
      throw new FsError('EINVAL', `fault refused (${served}): is the mapping still there?`);
    }
    return served === FR_DONE;
  }

  /**
   * Store the batch's records, serving faults on this thread where its core can: one
   * crossing per batch, one more per fault. Returns null when every record is stored, or
   * a fault only the owning thread can serve (the caller awaits it and calls again).
   */
  private storeHere(batch: StoreBatch, mappingId: number): BatchStop | null {
    for (;;) {
      const stop = batch.store(mappingId);
      if (stop === null) return null;
      if (stop.reason === FAULT_MEDIA_ERROR) {
        batch.clear();
        throw new FsError('SIGBUS', 'media error');
      }
      this.runFaults++;
      if (!this.faultHere(mappingId, stop.page, true)) return stop;
      this.faultCounts.own++;
    }
  }

  /** storeHere, awaiting the owning thread for each fault it leaves. */
  private async storeAll(batch: StoreBatch, mappingId: number, first: BatchStop): Promise<void> {
    let stop: BatchStop | null = first;
    while (stop !== null) {
      this.faultCounts.owner++;
      try {
        await this.faults.fault(mappingId, stop.page, true);
      } catch (e) {
        batch.clear();
        throw asFsError(e);
      }
      stop = this.storeHere(batch, mappingId);
    }
  }

  /** Faults of the run going on (storeHere counts them). */
  private runFaults = 0;

  /**
   * The workload's stores, WRITER_BATCH_RECORDS to a crossing: each store is one fill record
   * (the core repeats the tag over its bytes), written with typed-array stores; the loop
   * awaits only when a fault needs the owning thread.
   */
  async run(spec: WorkloadSpec): Promise<WorkloadResult> {
    checkSpec(spec);
    // One batch and one fault count per writer: a second run while one awaits a fault would mix
    // them.
    if (this.running) throw new FsError('EBUSY', 'this writer is already running a workload');
    this.running = true;
    try {
      return await this.runBatches(spec);
    } finally {
      this.running = false;
    }
  }

  private running = false;

  private async runBatches(spec: WorkloadSpec): Promise<WorkloadResult> {
    const { mine, pick, slot } = slotPicker(spec);
    const lastSeq = new Uint32Array(mine);
    const { storeBytes, mapping } = spec;
    const persist = spec.persist === true;
    // storeTag's halves: the writer in the high 16 bits, the sequence number below.
    const tagHigh = (spec.writerIndex + 1) * 65536;
    const batch = this.batch;
    batch.clear();
    this.runFaults = 0;
    const here = this.faultCounts.own, byOwner = this.faultCounts.owner;
    const start = performance.now();
    for (let seq = 1; seq <= spec.stores; seq++) {
      const k = pick(seq);
      batch.fill(
        slot(k) * storeBytes, storeBytes, seq % TWO_32, tagHigh + Math.floor(seq / TWO_32), persist,
      );
      lastSeq[k] = seq;
      if (batch.full || seq === spec.stores) {
        const stop = this.storeHere(batch, mapping.id);
        if (stop !== null) await this.storeAll(batch, mapping.id, stop);
      }
    }
    return {
      writerIndex: spec.writerIndex, stores: spec.stores, faults: this.runFaults,
      faultsServedHere: this.faultCounts.own - here,
      faultsServedByOwner: this.faultCounts.owner - byOwner,
      elapsedMs: performance.now() - start, lastSeq,
    };
  }

  close(): void {
    this.device.close();
  }
}

function checkSpec(spec: WorkloadSpec): void {
  const ok = spec && typeof spec === 'object' && Number.isSafeInteger(spec.stores)
    && spec.stores >= 0
    && Number.isSafeInteger(spec.storeBytes) && spec.storeBytes >= 8 && spec.storeBytes % 8 === 0
    && spec.storeBytes <= 65536
    && Number.isSafeInteger(spec.writers) && spec.writers >= 1
    && Number.isSafeInteger(spec.writerIndex)
    && (spec.layout === undefined || spec.layout === 'interleaved' || spec.layout === 'partitioned')
    && spec.writerIndex >= 0 && spec.writerIndex < spec.writers
    && ['sequential', 'random', 'hot'].includes(spec.kind)
    && Number.isSafeInteger(spec.seed)
    && (spec.hotPages === undefined || (Number.isSafeInteger(spec.hotPages) && spec.hotPages >= 1))
    && spec.mapping && typeof spec.mapping === 'object' && Number.isSafeInteger(spec.mapping.id)
    && spec.mapping.id >= 0 && Number.isSafeInteger(spec.mapping.length)
    && spec.mapping.length >= spec.storeBytes * spec.writers;
  if (!ok) throw new FsError('EINVAL', 'bad workload spec');
}

/** comlink carries errors as plain objects: rebuild the FsError from its message. */
export function asFsError(e: unknown): FsError {
  if (e instanceof FsError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z0-9]+): (.*)$/s.exec(message);
  return m ? new FsError(m[1] as ErrnoName, m[2]!) : new FsError('EIO', message);
}
