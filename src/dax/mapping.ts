// A DAX mapping on the thread that owns the file system. Loads and stores run in the
// core through the mapping's page table; only faults come back here.
import { FsError, requireIndex } from '../errors.js';
import { copyInto } from '../pmem/typed-copy.js';
import type { Subvolume } from '../fs/subvolume.js';
import type { Kernel } from '../fs/kernel.js';
import {
  FAULT_MEDIA_ERROR, FAULT_PAGE_MASK, FAULT_REASON_SHIFT, PAGE_BYTES, PTE_BLOCK_MASK,
} from '../core/abi.js';

export interface MapOptions {
  offsetBytes: number;
  length: number;
  prot: 'r' | 'rw';
  sync: boolean;
}


/**
 * What a mapping asks of the DAX manager that made it (DaxManager is one): an interface of
 * its own, so that this file does not import the manager, which imports this file.
 */
export interface MappingHost {
  readonly base: number;
  readonly kernel: Kernel;
  pte(mapping: DaxMapping, page: number): number;
  mediaErrorOwners(bytenr: number): { text: string };
  fault(mappingId: number, page: number, write: boolean): void;
  unmap(mapping: DaxMapping): void;
}

/** Everything a writer thread needs to use the same mapping (structured-cloneable). */
export interface MappingHandle {
  id: number;
  length: number;
  prot: 'r' | 'rw';
  daxBase: number;
}

export class DaxMapping {
  live = true;
  readonly offsetBytes: number;
  readonly length: number;
  readonly prot: 'r' | 'rw';
  readonly sync: boolean;

  constructor(
    private readonly manager: MappingHost,
    readonly id: number,
    readonly sv: Subvolume,
    readonly ino: number,
    options: MapOptions,
    readonly pages: number,
    readonly ptesAddr: number,
  ) {
    this.offsetBytes = options.offsetBytes;
    this.length = options.length;
    this.prot = options.prot;
    this.sync = options.sync;
  }

  handle(): MappingHandle {
    return { id: this.id, length: this.length, prot: this.prot, daxBase: this.manager.base };
  }

  private range(offset: unknown, length: unknown): [number, number] {
    const n = requireIndex(length, 'length');
    return [this.start(offset, n), n];
  }

  private get core() {
    return this.manager.kernel.device.core;
  }

  /** Store bytes through the mapping (faulting pages in as needed). */
  store(offset: number, data: ArrayBufferView | ArrayBuffer): void {
    const bytes = data instanceof Uint8Array ? data : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
    if (!bytes) throw new FsError('EINVAL', 'data must be bytes');
    const n = bytes.length; // (.length: the byte getters are calls on Node 20)
    const o = this.start(offset, n);
    const dev = this.manager.kernel.device;
    // (the kept scratch outlives its device: asked anew, it would refuse a closed one)
    if (dev.isClosed) throw new FsError('EBADF', 'device handle is closed');
    const scratch = this.scratch ??= dev.scratch();
    // The scratch's address, asked once: byteOffset is a call too.
    const at = this.scratchAddr ??= scratch.byteOffset;
    const core = dev.core;
    const perStore = dev.beforeStore;
    for (let done = 0; done < n;) {
      // Exploring crash points at every store: one line per store call, the hook first.
      const chunk = perStore ? Math.min(64 - ((o + done) % 64), n - done)
        : Math.min(scratch.length, n - done);
      perStore?.();
      copyInto(scratch, chunk === n ? bytes : bytes.subarray(done, done + chunk), 0);
      let stored = 0;
      while (stored < chunk) {
        const r = core.dax_store_serving(this.id, o + done + stored, at + stored, chunk - stored);
        if (r < 0) throw new FsError('EINVAL', `store failed (${r})`);
        stored += r;
        if (stored < chunk) {
          this.handleFault(true);
          // The fault ran file-system code that may have used the scratch (a commit, a
          // read from a commit hook): stage the bytes still to store again.
          copyInto(scratch, bytes.subarray(done + stored, done + chunk), stored);
        }
      }
      done += chunk;
    }
  }

  // This thread's scratch and its address, kept from the first store: a store of 64 bytes
  // made a view of it, a view of the caller's bytes and an [offset, length] pair, and asked
  // a view's byteOffset (a call), most of its time (the dax bench's "mapping.store" rows).
  private scratch: Uint8Array | null = null;
  private scratchAddr: number | null = null;

  /** range's check for [offset, offset + length), without the pair: the offset. */
  private start(offset: unknown, length: number): number {
    if (!this.live) throw new FsError('EINVAL', 'mapping was unmapped');
    const o = requireIndex(offset, 'offset');
    if (o + length > this.length) {
      throw new FsError('SIGSEGV',
        `access [${o}, ${o + length}) outside the ${this.length}-byte mapping`);
    }
    return o;
  }

  load(offset: number, length: number): Uint8Array {
    const [o, n] = this.range(offset, length);
    const out = new Uint8Array(n);
    const dev = this.manager.kernel.device;
    const scratch = dev.scratch();
    for (let done = 0; done < n;) {
      const chunk = Math.min(scratch.length, n - done);
      let loaded = 0;
      while (loaded < chunk) {
        const r = this.core.dax_load(this.id, o + done + loaded,
          scratch.byteOffset + loaded, chunk - loaded);
        if (r < 0) throw new FsError('EINVAL', `load failed (${r})`);
        // Keep what was loaded before a fault runs file-system code that may use the scratch.
        out.set(scratch.subarray(loaded, loaded + r), done + loaded);
        loaded += r;
        if (loaded < chunk) this.handleFault(false);
      }
      done += chunk;
    }
    return out;
  }

  private handleFault(write: boolean): void {
    const info = this.core.dax_fault_info() >>> 0;
    const reason = info >>> FAULT_REASON_SHIFT;
    const page = info & FAULT_PAGE_MASK;
    if (reason === FAULT_MEDIA_ERROR) {
      const pte = this.manager.pte(this, page);
      const bytenr = (pte & PTE_BLOCK_MASK) * PAGE_BYTES;
      const owners = this.manager.mediaErrorOwners(bytenr);
      throw Object.assign(new FsError('SIGBUS',
        `media error at device byte ${bytenr} (file offset`
          + ` ${this.offsetBytes + page * PAGE_BYTES}); owners: ${owners.text}`), { owners });
    }
    this.manager.fault(this.id, page, write);
  }

  /** clwb every cacheline of the range that is mapped (in the core, one call). */
  flush(offset: number, length: number): void {
    const [o, n] = this.range(offset, length);
    if (n === 0) return;
    if (this.core.dax_flush(this.id, o, n) < 0) throw new FsError('EIO', 'flush failed');
  }

  fence(): void {
    this.manager.kernel.device.sfence();
  }

  /** msync: flush and fence the range, then make the file's metadata durable. */
  msync(offset: number, length: number): void {
    this.flush(offset, length);
    this.fence();
    this.manager.kernel.commit();
  }

  unmap(): void {
    if (!this.live) return;
    this.manager.unmap(this);
    this.live = false;
  }
}
