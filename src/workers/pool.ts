// A pool of writer threads storing into one file system's DAX mappings while the
// owning thread commits, snapshots, reflinks and freezes. Node: worker_threads;
// browser: Web Workers (module workers). Both talk comlink.
import * as Comlink from 'comlink';
import { FsError, isOptions } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import type { FileSystem } from '../fs/filesystem.js';
import { nodeEndpoint } from './node-endpoint.js';
import type { WriterApi } from './writer-api.js';
import { asFsError, type FaultService, type WorkloadResult, type WorkloadSpec } from './writer.js';

export interface PoolOptions {
  /** Where the entry script is (defaults to dist/workers/{node,web}-entry.js next to this file). */
  entryUrl?: URL;
}

interface Member { api: Comlink.Remote<WriterApi>; stop: () => Promise<unknown> }

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

export class WriterPool {
  private constructor(private readonly members: Member[], readonly threadSlots: number[]) {}

  static async start(fs: FileSystem, count: number, options: PoolOptions = {}): Promise<WriterPool> {
    if (fs === null || typeof fs !== 'object' || !((fs as { device?: unknown }).device instanceof PmemDevice)) {
      throw new FsError('EINVAL', 'WriterPool.start needs a mounted FileSystem');
    }
    if (!isOptions(options) || (options.entryUrl !== undefined && !(options.entryUrl instanceof URL))) {
      throw new FsError('EINVAL', 'pool options must be an object; entryUrl a URL');
    }
    const slots = fs.device.config.maxThreads - 1; // one slot is the owning thread's
    if (!Number.isSafeInteger(count) || count < 1 || count > slots) throw new FsError('EINVAL', `writer count must be 1..${slots} (the device has ${slots + 1} thread slots)`);
    const dax = fs.dax;
    const faults: FaultService = {
      fault: async (mappingId, page, write) => {
        try {
          await dax.faultAsync(mappingId, page, write);
        } catch (e) {
          // comlink ships errors as messages; keep the errno name at the front.
          throw new Error(e instanceof FsError ? e.message : String(e));
        }
      },
    };
    const members: Member[] = [];
    const threadSlots: number[] = [];
    try {
    for (let i = 0; i < count; i++) {
      let endpoint: Comlink.Endpoint;
      let stop: () => Promise<unknown>;
      if (isNode()) {
        const { Worker } = await import('node:worker_threads');
        const worker = new Worker(options.entryUrl ?? new URL('./node-entry.js', import.meta.url));
        endpoint = nodeEndpoint(worker as unknown as Parameters<typeof nodeEndpoint>[0]);
        stop = () => worker.terminate();
      } else {
        const worker = new Worker(options.entryUrl ?? new URL('./web-entry.js', import.meta.url), { type: 'module' });
        endpoint = worker;
        stop = async () => worker.terminate();
      }
      const api = Comlink.wrap<WriterApi>(endpoint);
      members.push({ api, stop });
      threadSlots.push(await api.init(fs.device.handle(), dax.base, Comlink.proxy(faults)));
    }
    } catch (e) {
      // Leave nothing running behind a failed start.
      for (const m of members) { await m.stop(); }
      throw asFsError(e);
    }
    return new WriterPool(members, threadSlots);
  }

  get size(): number {
    return this.members.length;
  }

  /** Run one workload per writer (specs[i] on writer i), concurrently. Rejects with an FsError. */
  async run(specs: WorkloadSpec[]): Promise<WorkloadResult[]> {
    if (this.stopped) throw new FsError('EBADF', 'the writer pool is stopped');
    if (!Array.isArray(specs)) throw new FsError('EINVAL', 'specs must be an array of workloads');
    if (specs.length > this.members.length) throw new FsError('EINVAL', 'more workloads than writers');
    // Errors cross comlink as plain Errors whose message starts with the errno name.
    return Promise.all(specs.map((spec, i) => this.members[i]!.api.run(spec).catch((e: unknown) => { throw asFsError(e); })));
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const m of this.members) {
      await m.api.close();
      m.api[Comlink.releaseProxy]();
      await m.stop();
    }
  }
}
