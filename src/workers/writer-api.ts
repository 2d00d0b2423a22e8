// What a writer thread exposes over comlink.
import * as Comlink from 'comlink';
import { loadCoreModule } from '../core/module.js';
import type { PmemHandle } from '../pmem/device.js';
import { Writer, type FaultService, type WorkloadResult, type WorkloadSpec } from './writer.js';
import type { ReadRequest } from './file-reader.js';

/**
 * What `identify()` answers: the pool's handshake tells a pmcow writer entry from any other module.
 */
export const WRITER_IDENTITY = 'pmcow-writer/1';

export class WriterApi {
  private writer: Writer | null = null;
  private faults: Comlink.Remote<FaultService> | null = null;

  identify(): string {
    return WRITER_IDENTITY;
  }

  /**
   * `faultPort`: the owning thread's fault service, exposed on the other end of a MessageChannel.
   */
  async init(handle: PmemHandle, daxBase: number, faultPort: MessagePort): Promise<number> {
    await loadCoreModule(handle.config.target);
    try {
      faultPort.start(); // a DOM MessagePort delivers nothing to addEventListener before start()
      this.faults = Comlink.wrap<FaultService>(faultPort);
      this.writer = new Writer(handle, daxBase, this.faults);
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

  /** Read a file on this thread (the bytes cross back as a transfer). */
  read(req: ReadRequest): Uint8Array {
    if (!this.writer) throw new Error('EINVAL: writer not initialised');
    try {
      const bytes = this.writer.read(req);
      return Comlink.transfer(bytes, [bytes.buffer]);
    } catch (e) {
      // comlink carries the message only: keep the errno name at its front.
      throw new Error(e instanceof Error ? e.message : String(e));
    }
  }

  close(): void {
    this.writer?.close();
    this.writer = null;
    this.faults?.[Comlink.releaseProxy]();
    this.faults = null;
  }
}
