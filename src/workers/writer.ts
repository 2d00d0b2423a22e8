// A writer thread: its own core instance over the shared memory, storing through DAX
// mappings with no call to the file system until a fault. Runs the same in a Node
// worker_thread and in a browser Web Worker (the entries only differ in messaging).
import { Rng } from '../random.js';
import { FsError, type ErrnoName } from '../errors.js';
import { PmemDevice, type PmemHandle } from '../pmem/device.js';
import { FAULT_MEDIA_ERROR, FAULT_PAGE_MASK, FAULT_REASON_SHIFT, D_FS_STATE, FR_DONE } from '../core/abi.js';
import type { MappingHandle } from '../dax/mapping.js';
import { FileReader, type ReadRequest } from './file-reader.js';

export type WorkloadKind = 'sequential' | 'random' | 'hot';

export interface WorkloadSpec {
  mapping: MappingHandle;
  kind: WorkloadKind;
  /** Number of stores to make. */
  stores: number;
  /** Bytes per store, a multiple of 8; the mapping is cut into slots of this size. */
  storeBytes: number;
  /** Writers sharing the mapping: this writer owns slots with slot % writers == writerIndex. */
  writers: number;
  writerIndex: number;
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
  /** Of those, faults this writer's own core served (no message), and faults the owning thread served. */
  faultsServedHere: number;
  faultsServedByOwner: number;
  elapsedMs: number;
  /** Last sequence number written to each of this writer's slots (0 = never), by slot / writers. */
  lastSeq: Uint32Array;
}

/** The owning thread's side of a fault this thread's core left to it (FR_OWNER), reached by message (comlink). */
export interface FaultService {
  fault(mappingId: number, page: number, write: boolean): Promise<void>;
}

/** The tag every store carries: writer (high 16 bits) and sequence number. */
export function storeTag(writerIndex: number, seq: number): bigint {
  return (BigInt(writerIndex + 1) << 48n) | BigInt(seq);
}

/**
 * Which of its slots each store of a workload goes to: `mine` slots are the writer's
 * (slot = k * writers + writerIndex), and `pick()`, called once per store in order, gives
 * k. Writer.run and the soak's oracle (src/soak/slots.ts) both use it.
 */
export function slotPicker(spec: WorkloadSpec): { mine: number; pick: (seq: number) => number } {
  const slots = Math.floor(spec.mapping.length / spec.storeBytes);
  const mine = Math.ceil((slots - spec.writerIndex) / spec.writers);
  const slotsPerPage = Math.max(1, Math.floor(4096 / spec.storeBytes));
  const hotMine = Math.max(1, Math.min(mine, Math.floor(((spec.hotPages ?? 2) * slotsPerPage) / spec.writers)));
  const rng = Rng.xorshift32(spec.seed * 2654435761 + spec.writerIndex * 97 + 1);
  const pick = spec.kind === 'sequential' ? (seq: number) => (seq - 1) % mine : spec.kind === 'random' ? () => rng.below(mine) : () => rng.below(hotMine);
  return { mine, pick };
}


export class Writer {
  private readonly device: PmemDevice;
  private readonly words: BigUint64Array;

  /** The engine's state in shared memory (named by the DAX header), 0 when there is none. */
  private readonly fsState: number;
  /** Faults this thread's core served, and faults it left to the owning thread. */
  readonly faultCounts = { own: 0, owner: 0 };

  constructor(handle: PmemHandle, daxBase: number, private readonly faults: FaultService) {
    this.device = PmemDevice.attach(handle);
    if (this.device.core.dax_attach(daxBase) < 0) throw new FsError('EINVAL', 'DAX region not found');
    this.fsState = new DataView(this.device.memory.buffer).getUint32(daxBase + D_FS_STATE, true);
    const scratch = this.device.scratch();
    this.words = new BigUint64Array(scratch.buffer, scratch.byteOffset, Math.floor(scratch.byteLength / 8));
  }

  get threadSlot(): number {
    return this.device.threadSlot;
  }

  private reader: FileReader | null = null;

  /** Read a file on this thread, through its own core instance (FileReader). */
  read(req: ReadRequest): Uint8Array {
    this.reader ??= new FileReader(this.device);
    return this.reader.read(req);
  }

  /**
   * Serve a fault on this thread: the engine runs in this thread's core under the fs lock
   * (assembly/dax/fault.ts), with no message. False when the core left it to the owning
   * thread (an error to word, a fill, a MAP_SYNC commit, a freeze).
   */
  private faultHere(mappingId: number, page: number, write: boolean): boolean {
    if (this.fsState === 0) return false;
    this.reader ??= new FileReader(this.device);
    this.reader.attach(this.fsState);
    const core = this.device.core;
    if (core.fs_lock() < 0) return false;
    let served: number;
    try {
      served = core.dax_fs_fault(mappingId, page, write ? 1 : 0);
    } finally {
      core.fs_unlock();
    }
    if (served < 0) throw new FsError('EINVAL', `fault refused (${served}): is the mapping still there?`);
    return served === FR_DONE;
  }

  /** Store the first `length` bytes of scratch at `offset`, faulting as needed. */
  private async storeScratch(mapping: MappingHandle, offset: number, length: number): Promise<number> {
    const core = this.device.core;
    const src = this.device.scratch().byteOffset;
    let done = 0;
    let faults = 0;
    while (done < length) {
      const r = core.dax_store(mapping.id, offset + done, src + done, length - done);
      if (r < 0) throw new FsError('EINVAL', `dax store refused (${r}): is the mapping still there?`);
      done += r;
      if (done < length) {
        const info = core.dax_fault_info() >>> 0;
        if (info >>> FAULT_REASON_SHIFT === FAULT_MEDIA_ERROR) throw new FsError('SIGBUS', 'media error');
        faults++;
        if (this.faultHere(mapping.id, info & FAULT_PAGE_MASK, true)) {
          this.faultCounts.own++;
          continue;
        }
        this.faultCounts.owner++;
        try {
          await this.faults.fault(mapping.id, info & FAULT_PAGE_MASK, true);
        } catch (e) {
          throw asFsError(e);
        }
      }
    }
    return faults;
  }

  async run(spec: WorkloadSpec): Promise<WorkloadResult> {
    checkSpec(spec);
    const { mine, pick } = slotPicker(spec);
    const lastSeq = new Uint32Array(mine);
    const wordsPerStore = spec.storeBytes / 8;
    let faults = 0;
    const here = this.faultCounts.own, byOwner = this.faultCounts.owner;
    const start = performance.now();
    for (let seq = 1; seq <= spec.stores; seq++) {
      const k = pick(seq);
      const slot = k * spec.writers + spec.writerIndex;
      this.words.fill(storeTag(spec.writerIndex, seq), 0, wordsPerStore);
      const offset = slot * spec.storeBytes;
      faults += await this.storeScratch(spec.mapping, offset, spec.storeBytes);
      lastSeq[k] = seq;
      if (spec.persist) {
        // clwb of the lines just stored, through this thread's translations, then sfence.
        this.device.core.dax_flush(spec.mapping.id, offset, spec.storeBytes);
        this.device.core.pmem_fence(0);
      }
    }
    return {
      writerIndex: spec.writerIndex, stores: spec.stores, faults, faultsServedHere: this.faultCounts.own - here,
      faultsServedByOwner: this.faultCounts.owner - byOwner, elapsedMs: performance.now() - start, lastSeq,
    };
  }

  close(): void {
    this.device.close();
  }
}

function checkSpec(spec: WorkloadSpec): void {
  const ok = spec && typeof spec === 'object' && Number.isSafeInteger(spec.stores) && spec.stores >= 0
    && Number.isSafeInteger(spec.storeBytes) && spec.storeBytes >= 8 && spec.storeBytes % 8 === 0 && spec.storeBytes <= 65536
    && Number.isSafeInteger(spec.writers) && spec.writers >= 1 && Number.isSafeInteger(spec.writerIndex)
    && spec.writerIndex >= 0 && spec.writerIndex < spec.writers && ['sequential', 'random', 'hot'].includes(spec.kind)
    && Number.isSafeInteger(spec.seed) && (spec.hotPages === undefined || (Number.isSafeInteger(spec.hotPages) && spec.hotPages >= 1))
    && spec.mapping && typeof spec.mapping === 'object' && Number.isSafeInteger(spec.mapping.id) && spec.mapping.id >= 0 && Number.isSafeInteger(spec.mapping.length) && spec.mapping.length >= spec.storeBytes * spec.writers;
  if (!ok) throw new FsError('EINVAL', 'bad workload spec');
}

/** comlink carries errors as plain objects: rebuild the FsError from its message. */
export function asFsError(e: unknown): FsError {
  if (e instanceof FsError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z0-9]+): (.*)$/s.exec(message);
  return m ? new FsError(m[1] as ErrnoName, m[2]!) : new FsError('EIO', message);
}
