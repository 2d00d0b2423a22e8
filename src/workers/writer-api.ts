// What a writer thread exposes over comlink.
import * as Comlink from 'comlink';
import { loadCoreModule } from '../core/module.js';
import type { PmemHandle } from '../pmem/device.js';
import { Writer, type FaultService, type WorkloadResult, type WorkloadSpec } from './writer.js';

export class WriterApi {
  private writer: Writer | null = null;

  async init(handle: PmemHandle, daxBase: number, faults: FaultService): Promise<number> {
    await loadCoreModule(handle.config.target);
    try {
      this.writer = new Writer(handle, daxBase, faults);
    } catch (e) {
      // comlink carries the message only: keep the errno name at its front.
      throw new Error(e instanceof Error ? e.message : String(e));
    }
    return this.writer.threadSlot;
  }

  async run(spec: WorkloadSpec): Promise<WorkloadResult> {
    if (!this.writer) throw new Error('EINVAL: writer not initialised');
    const result = await this.writer.run(spec);
    return Comlink.transfer(result, [result.lastSeq.buffer]);
  }

  close(): void {
    this.writer?.close();
    this.writer = null;
  }
}
