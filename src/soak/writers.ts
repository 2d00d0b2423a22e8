// The soak's writer threads and the mappings they store through: two of the datacow file
// /d (its writers use one or the other, batch by batch: multiMapping) and a MAP_SYNC one
// of the nodatacow file /n, whose every store is flushed and fenced.
import type { FileSystem } from '../filesystem.js';
import type { DaxMapping } from '../dax/mapping.js';
import { WriterPool } from '../workers/pool.js';
import type { WorkloadResult, WorkloadSpec } from '../workers/writer.js';
import type { SoakSettings } from './options.js';

/** Bytes of /d and of /n. */
export const FILE_BYTES = 16 * 4096;
/** Bytes of one tagged store (a slot). */
export const STORE_BYTES = 64;

export class SoakWriters {
  private mD!: DaxMapping;
  private mD2!: DaxMapping;
  private mN!: DaxMapping;
  private pool: WriterPool | null = null;

  constructor(private readonly settings: SoakSettings) {}

  /** Maps /d twice and /n once, and starts the writers on `fs`. */
  async attach(fs: FileSystem): Promise<void> {
    this.mD = fs.mmap('/d', { length: FILE_BYTES });
    this.mD2 = fs.mmap('/d', { length: FILE_BYTES });
    this.mN = fs.mmap('/n', { length: FILE_BYTES, sync: true });
    const { entryUrl } = this.settings;
    this.pool = await WriterPool.start(fs, this.settings.writers, entryUrl ? { entryUrl } : {});
  }

  async detach(): Promise<void> {
    this.mD.unmap();
    this.mD2.unmap();
    this.mN.unmap();
    await this.stopPool();
  }

  async stopPool(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.stop();
  }

  run(specs: WorkloadSpec[]): Promise<WorkloadResult[]> {
    return this.pool!.run(specs);
  }

  /** /d and /n as the mappings show them now. */
  loadD(): Uint8Array {
    return this.mD.load(0, FILE_BYTES);
  }

  loadN(): Uint8Array {
    return this.mN.load(0, FILE_BYTES);
  }

  /** One spec per writer: even writers store into /d, odd ones into /n (flushed and fenced). */
  specs(round: number, dStores: number, nStores: number, seedSalt: number): WorkloadSpec[] {
    const { writers, seed, layout } = this.settings;
    const specs: WorkloadSpec[] = [];
    const groups = [[] as number[], [] as number[]];
    for (let i = 0; i < writers; i++) groups[i % 2]!.push(i);
    for (let i = 0; i < writers; i++) {
      const toD = i % 2 === 0;
      const group = groups[i % 2]!;
      const mapping = toD ? ((round + group.indexOf(i)) % 2 ? this.mD2 : this.mD) : this.mN;
      specs.push({
        mapping: mapping.handle(), kind: toD && round % 2 ? 'hot' : 'random',
        stores: toD ? dStores : nStores, storeBytes: STORE_BYTES, writers: group.length,
        writerIndex: group.indexOf(i), seed: (seed * 7919 + round + seedSalt) % 2 ** 31,
        hotPages: 4, persist: !toD, layout,
      });
    }
    return specs;
  }
}
