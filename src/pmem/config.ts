// A device's configuration: the options create() takes, checked and with their defaults
// (PmemConfig), what another thread needs to attach (PmemHandle), and the shared memory a
// configuration needs.
import {
  FsError, checkCoreResult, describeValue, requireKnownOptions, requireIndex,
} from '../errors.js';
import type { CoreExports } from '../core/exports.js';
import { DOMAIN, E2BIG, LINE_BYTES } from '../core/abi.js';
import { DEVICE_BASE, instantiateCore, type CoreTarget } from '../core/module.js';

export type PersistenceDomain = 'adr' | 'eadr';

export interface PmemOptions {
  /** Device size in bytes, a multiple of 64 (one cacheline). */
  sizeBytes: number;
  /** 'adr' (default): caches are volatile; 'eadr': caches are in the persistence domain. */
  domain?: PersistenceDomain;
  /**
   * Store-log entries kept before the oldest pending store is evicted to media (a power of two).
   */
  logCapacity?: number;
  /** Threads that may attach at once (at most 32). */
  maxThreads?: number;
  /** Per-thread scratch for copying caller bytes into shared memory. */
  scratchBytes?: number;
  /** Per-thread outstanding flushes before the queue is drained early. */
  flushQueueCapacity?: number;
  /**
   * Extra shared bytes reserved for upper layers (file system, page tables); default
   * defaultKernelBytes(sizeBytes).
   */
  kernelBytes?: number;
  /** Which core build to run. */
  target?: CoreTarget;
}

const PMEM_OPTION_NAMES: readonly (keyof PmemOptions)[] = [
  'sizeBytes', 'domain', 'logCapacity', 'maxThreads', 'scratchBytes', 'flushQueueCapacity',
  'kernelBytes', 'target',
];

export interface PmemConfig {
  sizeBytes: number;
  domain: PersistenceDomain;
  logCapacity: number;
  maxThreads: number;
  scratchBytes: number;
  flushQueueCapacity: number;
  kernelBytes: number;
  target: CoreTarget;
}

/** Everything another thread needs to attach: all of it is structured-cloneable. */
export interface PmemHandle {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  config: PmemConfig;
}

/** Only a missing option takes the default: null is a value, and a wrong one (EINVAL). */
export function orDefault<T, D>(value: T | undefined, fallback: D): T | D {
  return value === undefined ? fallback : value;
}

function below4GiB(value: number, name: string): number {
  if (value >= 2 ** 32) {
    throw new FsError('E2BIG', `${name} ${value} does not fit in 4 GiB of WebAssembly memory`);
  }
  return value;
}

/**
 * Room for a file system's volatile state (dirty B-tree nodes, DAX tables): 1/8 of the device,
 * 8..64 MiB.
 */
function defaultKernelBytes(sizeBytes: number): number {
  const eighth = Math.floor(sizeBytes / 8 / 4096) * 4096;
  return Math.min(64 << 20, Math.max(8 << 20, eighth));
}

export function normalise(options: PmemOptions): PmemConfig {
  requireKnownOptions(options, PMEM_OPTION_NAMES, 'device options');
  const sizeBytes = requireIndex(options.sizeBytes, 'sizeBytes');
  if (sizeBytes >= 2 ** 32) {
    throw new FsError(
      'E2BIG', `a ${sizeBytes}-byte device does not fit in 4 GiB of WebAssembly memory`,
    );
  }
  if (sizeBytes === 0 || sizeBytes % LINE_BYTES !== 0) {
    throw new FsError(
      'EINVAL', `sizeBytes must be a positive multiple of ${LINE_BYTES}, got ${sizeBytes}`,
    );
  }
  const domain = orDefault(options.domain, 'adr');
  if (domain !== 'adr' && domain !== 'eadr') {
    throw new FsError('EINVAL', `domain must be 'adr' or 'eadr', got ${describeValue(domain)}`);
  }
  const target = orDefault(options.target, 'release');
  if (target !== 'release' && target !== 'debug') {
    throw new FsError('EINVAL', `target must be 'release' or 'debug'`);
  }
  return {
    sizeBytes,
    domain,
    logCapacity: below4GiB(
      requireIndex(orDefault(options.logCapacity, 65536), 'logCapacity'), 'logCapacity',
    ),
    maxThreads: below4GiB(
      requireIndex(orDefault(options.maxThreads, 8), 'maxThreads'), 'maxThreads',
    ),
    scratchBytes: below4GiB(
      requireIndex(orDefault(options.scratchBytes, 1 << 20), 'scratchBytes'), 'scratchBytes',
    ),
    flushQueueCapacity: below4GiB(
      requireIndex(orDefault(options.flushQueueCapacity, 65536), 'flushQueueCapacity'),
      'flushQueueCapacity',
    ),
    kernelBytes: below4GiB(
      requireIndex(orDefault(options.kernelBytes, defaultKernelBytes(sizeBytes)), 'kernelBytes'),
      'kernelBytes',
    ),
    target,
  };
}

export function configArgs(c: PmemConfig): [
  number, number, number, number, number, number, number, number,
] {
  return [DEVICE_BASE, c.sizeBytes, DOMAIN[c.domain], c.maxThreads, c.logCapacity,
    c.scratchBytes, c.flushQueueCapacity, c.kernelBytes];
}

const planners = new Map<WebAssembly.Module, CoreExports>();
/** Bytes of shared memory a configuration needs (computed by the core itself). */
export function memoryBytesFor(module: WebAssembly.Module, config: PmemConfig): number {
  let planner = planners.get(module);
  if (!planner) {
    planner = instantiateCore(
      module, new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }),
    );
    if (planner.core_heap_base() > DEVICE_BASE) {
      throw new FsError(
        'EFAULT', `core static data (${planner.core_heap_base()} bytes) overlaps the device base`,
      );
    }
    planners.set(module, planner);
  }
  const total = planner.pmem_layout_total(...configArgs(config));
  if (total === -E2BIG) {
    throw new FsError(
      'E2BIG', `a ${config.sizeBytes}-byte device does not fit in 4 GiB of WebAssembly memory`,
    );
  }
  return checkCoreResult(
    total,
    'invalid device configuration (maxThreads 1..32, logCapacity a power of two in 16..2^24, '
      + 'scratchBytes >= 4096 and a multiple of 64, flushQueueCapacity 16..2^24)',
  );
}

