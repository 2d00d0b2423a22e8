import { PmemDevice, type PmemOptions } from '../../src/index.js';

export async function device(sizeBytes = 1 << 16, options: Partial<PmemOptions> = {}): Promise<PmemDevice> {
  return PmemDevice.create({ sizeBytes, maxThreads: 4, scratchBytes: 1 << 16, ...options });
}

export function filled(length: number, value: number): Uint8Array {
  return new Uint8Array(length).fill(value);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Fast byte comparison (vitest's deep equality walks typed arrays element by element). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  throw new Error(`${what} differ at offset ${at} (lengths ${actual.length} and ${expected.length}): got ${actual[at]}, expected ${expected[at]}`);
}
