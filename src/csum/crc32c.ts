// Standalone crc32c over caller bytes, on a small private device (the tables live in
// shared memory, built by the core). For device bytes use PmemDevice.crc32c: no copy.
import { PmemDevice } from '../pmem/device.js';
import { loadCoreModule } from '../core/module.js';
import { FsError } from '../errors.js';

let context: PmemDevice | undefined;

/** Load the core once so that crc32c() can run synchronously. */
export async function loadCrc32c(): Promise<void> {
  await loadCoreModule('release');
  context ??= PmemDevice.createSync({
    sizeBytes: 4096, logCapacity: 16, maxThreads: 1, scratchBytes: 1 << 16, flushQueueCapacity: 16,
  });
}

/** crc32c (Castagnoli; seed ~0, final xor ~0, as btrfs). Needs `await loadCrc32c()` first. */
export function crc32c(data: ArrayBufferView | ArrayBuffer): number {
  if (!context) throw new FsError('EAGAIN', 'call await loadCrc32c() before crc32c()');
  return context.crc32cBytes(data);
}
