// PmemDevice.storeBatch: a writer's stores from JavaScript in one call into the core (issue
// 17, point 2). Record k stores lengths[k] bytes, the next ones of the caller's bytes, at
// addrs[k], exactly as a store (or ntStore) of it would, in order. Every record is checked
// before any byte is stored. The records' descriptors (assembly/abi.ts STORE_BATCH_DESC_BYTES,
// SBD_*) and their bytes (one TypedArray.set: the caller's bytes are contiguous) go into this
// thread's scratch, a scratch-full per core call (pmem_store_batch); a record longer than
// the scratch is a store of its own, as are all of them while the crash explorer's per-store
// instrument is set (it runs before every store) or when the bytes lie in the device's memory.
import {
  FsError, checkCoreResult, describeValue, requireKnownOptions,
} from '../errors.js';
import type { CoreExports } from '../core/exports.js';
import { SBD_ADDR, SBD_LENGTH, STORE_BATCH_DESC_BYTES } from '../core/abi.js';
import { copyInto } from './typed-copy.js';

export interface StoreBatchOptions {
  /** Every record a non-temporal store (`ntStore`) [false]. */
  nonTemporal?: boolean;
}

/** What a batch uses of its device (device.ts makes one per device). */
export interface BatchEnd {
  readonly core: CoreExports;
  /** The shared memory's bytes. */
  readonly bytes: Uint8Array;
  /** This thread's scratch as u32 words: the descriptors' place. */
  readonly scratchWords: Uint32Array;
  readonly scratchAddr: number;
  readonly scratchBytes: number;
  readonly sizeBytes: number;
  /** Is the crash explorer's per-store instrument (`beforeStore`) set? */
  instrumented(): boolean;
  /** Are these bytes inside the device's shared memory? */
  inMemory(view: Uint8Array): boolean;
  /** One store through the device's own path (its checks, its instrument). */
  store(addr: number, bytes: Uint8Array, nonTemporal: number): void;
}

const ADDR_WORD = SBD_ADDR / 4, LENGTH_WORD = SBD_LENGTH / 4;
const DESC_WORDS = STORE_BATCH_DESC_BYTES / 4;

type Lengths = ArrayLike<unknown> | number;

/** Store the batch (device.ts storeBatch: the device is open, `bytes` the caller's data). */
export function storeBatch(
  end: BatchEnd, addrs: unknown, lengths: unknown, bytes: Uint8Array, options: unknown,
): void {
  const nonTemporal = batchMode(options);
  const count = arrayLength(addrs, 'addrs');
  const each = end.instrumented() || end.inMemory(bytes);
  // The common case, the whole batch in one core call: the descriptors are written as they
  // are checked (into the scratch only: the device is unchanged until all are checked).
  const oneCall = !each && count * STORE_BATCH_DESC_BYTES + bytes.byteLength <= end.scratchBytes;
  checkBatch(count, addrs, lengths, bytes.byteLength, end, oneCall ? end.scratchWords : null);
  const records = addrs as ArrayLike<number>, sizes = lengths as Lengths;
  if (oneCall) {
    storeChunk(end, count, bytes, 0, bytes.byteLength, nonTemporal);
  } else if (each) {
    storeEach(end, records, sizes, bytes, count, nonTemporal);
  } else {
    storeChunks(end, records, sizes, bytes, count, nonTemporal);
  }
}

function batchMode(options: unknown): number {
  if (options === undefined) return 0;
  requireKnownOptions(options, ['nonTemporal'], 'storeBatch options');
  const nonTemporal = (options as StoreBatchOptions).nonTemporal;
  if (nonTemporal === undefined || nonTemporal === false) return 0;
  if (nonTemporal === true) return 1;
  throw new FsError(
    'EINVAL', `storeBatch: nonTemporal must be a boolean, got ${describeValue(nonTemporal)}`,
  );
}

/** The length of an array-like argument (an array or a typed array), else EINVAL. */
function arrayLength(value: unknown, name: string): number {
  const length = typeof value === 'object' && value !== null
    ? (value as { length?: unknown }).length : undefined;
  if (typeof length !== 'number' || length >>> 0 !== length) {
    const got = describeValue(value);
    throw new FsError('EINVAL', `storeBatch: ${name} must be an array or typed array, got ${got}`);
  }
  return length;
}

/** A u32 (every device address and length is one): no NaN, fraction, negative or bigint. */
function isU32(value: unknown): value is number {
  return typeof value === 'number' && value >>> 0 === value;
}

/**
 * Check every record of `count` (EINVAL before anything is stored); with `words`, write each
 * record's descriptor there too.
 */
function checkBatch(
  count: number, addrs: unknown, lengths: unknown, dataBytes: number, end: BatchEnd,
  words: Uint32Array | null,
): void {
  const same = typeof lengths === 'number';
  if (same && !isU32(lengths)) {
    throw new FsError('EINVAL', `storeBatch: lengths must be a non-negative integer or an array`
      + ` of them, got ${describeValue(lengths)}`);
  }
  if (!same && arrayLength(lengths, 'lengths') !== count) {
    throw new FsError('EINVAL', `storeBatch: ${count} addresses but `
      + `${(lengths as ArrayLike<unknown>).length} lengths`);
  }
  const a = addrs as ArrayLike<unknown>, n = lengths as Lengths, sizeBytes = end.sizeBytes;
  let total = 0;
  for (let k = 0; k < count; k++) {
    const addr = a[k], length = same ? n : (n as ArrayLike<unknown>)[k];
    if (!isU32(addr) || !isU32(length) || addr + length > sizeBytes) {
      throw badRecord(k, addr, length, sizeBytes);
    }
    if (words !== null) {
      words[k * DESC_WORDS + ADDR_WORD] = addr;
      words[k * DESC_WORDS + LENGTH_WORD] = length;
    }
    total += length;
  }
  if (total !== dataBytes) {
    throw new FsError('EINVAL', `storeBatch: the lengths add up to ${total} bytes, `
      + `but data holds ${dataBytes}`);
  }
}

/** A refused value as the message shows it (a bigint with its n: 8n is not 8). */
function shown(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : describeValue(value);
}

function badRecord(k: number, addr: unknown, length: unknown, sizeBytes: number): FsError {
  const what = !isU32(addr) ? `address must be a non-negative integer, got ${shown(addr)}`
    : !isU32(length) ? `length must be a non-negative integer, got ${shown(length)}`
      : `range [${addr}, ${addr + length}) is outside the ${sizeBytes}-byte device`;
  return new FsError('EINVAL', `storeBatch: record ${k}: ${what}`);
}

/** A store per record (the device's own path). */
function storeEach(
  end: BatchEnd, addrs: ArrayLike<number>, lengths: Lengths, bytes: Uint8Array, count: number,
  nonTemporal: number,
): void {
  let at = 0;
  for (let k = 0; k < count; k++) {
    const n = typeof lengths === 'number' ? lengths : lengths[k] as number;
    end.store(addrs[k]!, bytes.subarray(at, at + n), nonTemporal);
    at += n;
  }
}

/**
 * The records a scratch-full at a time: descriptors from the scratch's start, then their
 * bytes, one core call each; a record longer than the scratch is a store of its own.
 */
function storeChunks(
  end: BatchEnd, addrs: ArrayLike<number>, lengths: Lengths, bytes: Uint8Array, count: number,
  nonTemporal: number,
): void {
  const words = end.scratchWords, room = end.scratchBytes;
  let first = 0, from = 0, at = 0, held = 0; // the pending chunk: records, bytes, scratch used
  for (let k = 0; k < count; k++) {
    const n = typeof lengths === 'number' ? lengths : lengths[k] as number;
    if (held + STORE_BATCH_DESC_BYTES + n > room) {
      storeChunk(end, k - first, bytes, from, at, nonTemporal);
      first = k; from = at; held = 0;
      if (STORE_BATCH_DESC_BYTES + n > room) {
        end.store(addrs[k]!, bytes.subarray(at, at + n), nonTemporal);
        at += n; first = k + 1; from = at;
        continue;
      }
    }
    const w = (k - first) * DESC_WORDS;
    words[w + ADDR_WORD] = addrs[k]!;
    words[w + LENGTH_WORD] = n;
    held += STORE_BATCH_DESC_BYTES + n;
    at += n;
  }
  storeChunk(end, count - first, bytes, from, at, nonTemporal);
}

/** `records` descriptors in the scratch, their bytes bytes[from, to): into the core. */
function storeChunk(
  end: BatchEnd, records: number, bytes: Uint8Array, from: number, to: number,
  nonTemporal: number,
): void {
  if (records === 0) return;
  const payload = end.scratchAddr + records * STORE_BATCH_DESC_BYTES;
  copyInto(end.bytes, from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(from, to),
    payload);
  checkCoreResult(
    end.core.pmem_store_batch(end.scratchAddr, records, payload, nonTemporal), 'store batch',
  );
}
