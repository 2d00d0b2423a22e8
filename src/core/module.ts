// Loading and instantiating the core. One compiled WebAssembly.Module is instantiated
// once per thread over one shared WebAssembly.Memory. Safe because the core has no
// mutable static data (only constant strings, which re-instantiation rewrites with the
// same bytes), never allocates from the AssemblyScript heap (stub runtime, no `new` on
// any path) and keeps per-thread state in WebAssembly globals, which are per instance.
import { FsError } from '../errors.js';
import type { CoreExports } from './exports.js';
import { H_LOCK, REGION } from './abi.js';

export type CoreTarget = 'release' | 'debug';

/** Where every device header lives: above the core's static data, 64 KiB aligned. */
export const DEVICE_BASE = 65536;

const modules = new Map<CoreTarget, Promise<WebAssembly.Module>>();
const loaded = new Map<CoreTarget, WebAssembly.Module>();

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Where the core is: build/ next to dist/ (or src/). Two literal URLs, not a template:
 * bundlers follow `new URL('literal', import.meta.url)` and emit the file (Vite's build, and
 * its dependency pre-bundling under `vite` dev, which rewrites such URLs to the package's
 * files), while Vite's pre-bundling leaves a template with `${target}` pointing nowhere.
 */
function wasmUrl(target: CoreTarget): URL {
  return target === 'debug'
    ? new URL('../../build/debug.wasm', import.meta.url)
    : new URL('../../build/release.wasm', import.meta.url);
}

async function readWasm(target: CoreTarget): Promise<ArrayBuffer | Uint8Array> {
  const url = wasmUrl(target);
  if (isNode()) {
    const fs = await import('node:fs/promises');
    return fs.readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new FsError('ENOENT', `cannot fetch ${url.href}: ${response.status}`);
  return response.arrayBuffer();
}

/** Compile (once) and cache the core module. */
export function loadCoreModule(target: CoreTarget = 'release'): Promise<WebAssembly.Module> {
  if (target !== 'release' && target !== 'debug') {
    return Promise.reject(new FsError('EINVAL', `target must be 'release' or 'debug'`));
  }
  let pending = modules.get(target);
  if (!pending) {
    pending = readWasm(target).then((bytes) =>
      WebAssembly.compile(bytes as BufferSource)).then((m) => {
      loaded.set(target, m);
      return m;
    });
    modules.set(target, pending);
  }
  return pending;
}

/** The module, if loadCoreModule has completed for this target. */
export function loadedCoreModule(target: CoreTarget = 'release'): WebAssembly.Module {
  const m = loaded.get(target);
  if (!m) {
    throw new FsError('EAGAIN', `core module '${target}' not loaded: await loadCoreModule() first`);
  }
  return m;
}

function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint8Array(memory.buffer);
  const lengthBytes = new DataView(memory.buffer).getUint32(ptr - 4, true);
  let text = '';
  for (let i = 0; i < lengthBytes; i += 2) {
    text += String.fromCharCode(bytes[ptr + i]! | (bytes[ptr + i + 1]! << 8));
  }
  return text;
}

/**
 * What the core's file-system engine asks of its host (assembly/fs/ctree.ts's imports):
 * the errors it throws and the heals of dup copies (device stores the crash explorer
 * watches). Set per instance (per thread) by the file system that runs on it (Kernel);
 * until then every call is an error.
 */
export interface FsHooks {
  /** Throw the error this thread's problem record describes (errno is negative). */
  fail(errno: number): never;
  /** Rewrite the first copy of `bytenr` from its good second copy, and mark it verified. */
  heal(bytenr: number): void;
  /**
   * Bytes are about to be stored to the device (the DAX fault path, the commit's
   * write-out): image fuzzing's observers.
   */
  dataWritten?(bytenr: number, bytes: number): void;
  /**
   * A device store is about to happen inside the core (the commit's write-out): crash
   * points at every store.
   */
  beforeStore?(): void;
}

const noFileSystem = (): never => {
  throw new FsError('EINVAL',
    'the core\'s file-system engine was called with no file system attached to this thread');
};
const NO_HOOKS: FsHooks = { fail: noFileSystem, heal: noFileSystem };
const hooksOf = new WeakMap<CoreExports, { current: FsHooks }>();

/** Attach (or detach, with null) the file system that serves this instance's engine calls. */
export function setFsHooks(core: CoreExports, hooks: FsHooks | null): void {
  const slot = hooksOf.get(core);
  if (!slot) throw new FsError('EINVAL', 'not a core instance');
  slot.current = hooks ?? NO_HOOKS;
}

/** Instantiate the core over a shared memory. Synchronous: the module is compiled. */
export function instantiateCore(module: WebAssembly.Module,
  memory: WebAssembly.Memory): CoreExports {
  let self: CoreExports | null = null;
  const hooks = { current: NO_HOOKS };
  const imports = {
    env: {
      memory,
      fs_fail: (errno: number): void => { hooks.current.fail(errno); },
      fs_heal: (bytenr: number): void => { hooks.current.heal(bytenr); },
      fs_data_written: (bytenr: number, bytes: number): void => {
        hooks.current.dataWritten?.(bytenr, bytes);
      },
      fs_before_store: (): void => { hooks.current.beforeStore?.(); },
      abort(messagePtr: number, filePtr: number, line: number, column: number): never {
        const message = readAsString(memory, messagePtr);
        const file = readAsString(memory, filePtr);
        // A failed check inside a locked section would leave the device locked for every
        // thread: release what this thread holds (the world lock, stripe locks, its flag).
        if (self && memory.buffer.byteLength > DEVICE_BASE + H_LOCK
          && self.pmem_region(REGION.threadSlot) >= 0) {
          self.pmem_release_after_trap();
        }
        throw new FsError('EFAULT',
          `core invariant violated: ${message} (${file}:${line}:${column})`);
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  self = instance.exports as unknown as CoreExports;
  hooksOf.set(self, hooks);
  return self;
}

