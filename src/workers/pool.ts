// A pool of writer threads storing into one file system's DAX mappings while the
// owning thread commits, snapshots, reflinks and freezes. Node: worker_threads;
// browser: Web Workers (module workers). Both talk comlink.
//
// Manners. In Node the workers (and the fault service's MessagePort) are unref'd while
// idle, so a script that never calls stop() still ends when its own work is done; a
// writer is ref'd only while a call to it is outstanding, so awaited work completes. A
// bad entry (missing, throws at load, exits, is not a pmcow writer, or never answers)
// rejects start() with an FsError instead of an uncaught 'error' event or a hang.
//
// Bundlers. The default browser entry is created by one literal expression,
// `new Worker(new URL('./web-entry.js', import.meta.url), { type: 'module' })`, the form
// bundlers recognise (Vite: test/browser-app.test.ts; webpack 5 and Parcel document it):
// they bundle web-entry.js and what it imports as a worker chunk and rewrite the URL, so an
// app that imports 'pmcow' gets working writers without passing entryUrl. The Node entry's
// URL is built from a constant so that no bundler takes it for an asset of a browser build.
/// <reference path="./comlink-node-adapter.d.ts" />
import * as Comlink from 'comlink';
import nodeEndpoint, { type NodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
import {
  FsError, describeValue, isOptions, requireKnownOptions, type ErrnoName,
} from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import type { FileSystem } from '../filesystem.js';
import { requireRegular } from '../fs/special.js';
import { WRITER_IDENTITY, type WriterApi } from './writer-api.js';
import { asFsError, type FaultService, type WorkloadResult, type WorkloadSpec } from './writer.js';

export interface PoolOptions {
  /**
   * Where the entry script is. Default: dist/workers/node-entry.js in Node; in a browser
   * dist/workers/web-entry.js, which a bundler emits as a worker chunk of its own. The
   * package exports both as 'pmcow/worker' (condition "node": the Node one).
   */
  entryUrl?: URL;
  /**
   * How long a new worker has to load its entry and answer the handshake, in ms
   * (default 30000). A worker that neither answers nor fails by then is stopped and
   * start() rejects with EINVAL.
   */
  handshakeTimeoutMs?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

/** One worker thread, whatever the platform. */
interface Thread {
  endpoint: Comlink.Endpoint;
  /** Node: keep the event loop alive for this thread (no-ops in browsers). */
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
  /** Rejects with an FsError when the thread fails or exits; never resolves. */
  failed: Promise<never>;
  /** Reject `failed` (the first failure wins) and mark the thread dead. */
  fail(e: FsError): void;
  /** Set once the handshake is done (failures after it are EIO, before it a bad entry). */
  ready: boolean;
  stopping: boolean;
  dead: boolean;
}

interface Member {
  api: Comlink.Remote<WriterApi>;
  thread: Thread;
  /** The owning thread's end of the fault service's channel. */
  faultPort: MessagePort;
  /** Calls outstanding; the thread is ref'd while this is above 0. */
  pending: number;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : describeValue(e);
}

function newThread(
  endpoint: Comlink.Endpoint, ref: () => void, unref: () => void, terminate: () => Promise<unknown>,
): Thread {
  let reject!: (e: FsError) => void;
  const failed = new Promise<never>((_, r) => { reject = r; });
  failed.catch(() => {}); // only calls in flight care; never an unhandled rejection
  const thread: Thread = {
    endpoint, ref, unref, terminate, failed,
    fail: (e) => { thread.dead = true; reject(e); },
    ready: false, stopping: false, dead: false,
  };
  return thread;
}

/** The Node entry, next to this file (a constant: see "Bundlers" above). */
const NODE_ENTRY = './node-entry.js';
/** How messages name the default browser entry, whose bundled URL only the bundler knows. */
const DEFAULT_WEB_ENTRY = "the default writer entry (pmcow's dist/workers/web-entry.js)";

/** The default browser writer: the literal form bundlers follow (keep it one expression). */
function defaultWebWorker(): Worker {
  return new Worker(new URL('./web-entry.js', import.meta.url), { type: 'module' });
}

function loadError(entry: string, ready: boolean, code: ErrnoName, detail: string): FsError {
  return ready
    ? new FsError('EIO', `writer thread failed: ${detail}`)
    : new FsError(code, `writer entry ${entry} failed to load: ${detail}`);
}

function exitError(entry: string, thread: Thread, how: string): FsError {
  if (thread.stopping) return new FsError('EBADF', 'the writer pool is stopped');
  return thread.ready
    ? new FsError('EIO', `writer thread ${how}`)
    : new FsError(
      'EINVAL',
      `writer entry ${entry} ${how} before answering the handshake: not a pmcow writer entry`,
    );
}

async function spawnNode(entry: URL, usedDefault: boolean): Promise<Thread> {
  const { Worker } = await import('node:worker_threads');
  if (entry.protocol === 'file:') {
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    if (!existsSync(fileURLToPath(entry))) {
      throw new FsError(
        'ENOENT',
        `writer entry ${entry.href} does not `
          + `exist${usedDefault ? ' (run npm run build, or pass entryUrl)' : ''}`,
      );
    }
  }
  let worker: InstanceType<typeof Worker>;
  try {
    worker = new Worker(entry);
  } catch (e) {
    throw new FsError(
      'EINVAL', `writer entry ${entry.href} cannot start a worker: ${messageOf(e)}`,
    );
  }
  const thread = newThread(
    nodeEndpoint(worker as unknown as NodeEndpoint), () => worker.ref(), () => worker.unref(),
    () => worker.terminate(),
  );
  // Without an 'error' listener, a worker that throws would be an uncaught error here.
  worker.on('error', (e: unknown) => {
    const code = (e as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND' ? 'ENOENT'
      : 'EINVAL';
    thread.fail(loadError(entry.href, thread.ready, code, messageOf(e)));
  });
  worker.on(
    'exit',
    (exitCode: number) => thread.fail(exitError(entry.href, thread, `exited (code ${exitCode})`)),
  );
  return thread;
}

/** A browser writer: from `entry`, or the default entry when it is null. */
function spawnBrowser(entry: URL | null): Thread {
  const name = entry ? entry.href : DEFAULT_WEB_ENTRY;
  let worker: Worker;
  try {
    worker = entry ? new Worker(entry, { type: 'module' }) : defaultWebWorker();
  } catch (e) {
    throw new FsError('EINVAL', `writer entry ${name} cannot start a worker: ${messageOf(e)}`);
  }
  const thread = newThread(worker, () => {}, () => {}, async () => worker.terminate());
  // A script that cannot be fetched or parsed fires a plain Event; one that throws an ErrorEvent.
  worker.addEventListener('error', (event: Event) => {
    event.preventDefault();
    if (event instanceof ErrorEvent && event.message) {
      thread.fail(loadError(name, thread.ready, 'EINVAL', event.message));
      return;
    }
    // The event does not say why: ask the server whether the script is there at all.
    const unknown = (): void => thread.fail(
      loadError(
        name, thread.ready, 'EINVAL',
        'the script could not be loaded (missing, not a module, or a syntax error)',
      ),
    );
    if (thread.ready || !entry || typeof fetch !== 'function') { unknown(); return; }
    fetch(entry, { method: 'HEAD' }).then((response) => {
      const type = response.headers.get('content-type') ?? '';
      if (response.status === 404 || response.status === 410) {
        thread.fail(
          new FsError(
            'ENOENT', `writer entry ${entry.href} does not exist (HTTP ${response.status})`,
          ),
        );
      } else if (response.ok && type && !/javascript|ecmascript/i.test(type)) {
        // A dev server's SPA fallback answers a missing script with index.html.
        thread.fail(
          loadError(
            name, false, 'EINVAL',
            `it is served as ${type}, not JavaScript (a missing file behind an index.html `
              + `fallback?)`,
          ),
        );
      } else {
        unknown();
      }
    }, unknown);
  });
  worker.addEventListener(
    'messageerror',
    () => thread.fail(new FsError('EIO', 'a writer thread message could not be deserialised')),
  );
  return thread;
}

function timeout(ms: number, error: () => FsError): { expired: Promise<never>; clear: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>(
    (_, reject) => { timer = setTimeout(() => reject(error()), Math.min(ms, 2 ** 31 - 1)); },
  );
  expired.catch(() => {});
  return { expired, clear: () => clearTimeout(timer) };
}

interface PoolReadOptions {
  offset?: number;
  /** Bytes to read (default: to the end of the file). */
  length?: number;
  /** Which writer thread reads (default 0). */
  writer?: number;
}

export class WriterPool {
  private constructor(
    private readonly members: Member[], readonly threadSlots: number[],
    private readonly fs: FileSystem,
  ) {}

  static async start(
    fs: FileSystem, count: number, options: PoolOptions = {},
  ): Promise<WriterPool> {
    const handshakeMs = WriterPool.checkStart(fs, count, options);
    const faults = WriterPool.faultService(fs.dax);
    const node = isNode();
    // In a browser a null entry is the default one (spawnBrowser); its URL is the bundler's.
    const entry = options.entryUrl ?? (node ? new URL(NODE_ENTRY, import.meta.url) : null);
    const members: Member[] = [];
    const threadSlots: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const thread = node && entry ? await spawnNode(entry, options.entryUrl === undefined)
          : spawnBrowser(entry);
        // The fault service gets a channel of its own (not Comlink.proxy's hidden one) so
        // that its port can be unref'd: a port with a message listener holds Node open.
        const { port1, port2 } = new MessageChannel();
        Comlink.expose(faults, port1);
        (port1 as { unref?: () => void }).unref?.();
        const member: Member = {
          api: Comlink.wrap<WriterApi>(thread.endpoint), thread, faultPort: port1, pending: 0,
        };
        members.push(member);
        await WriterPool.handshake(member, entry ? entry.href : DEFAULT_WEB_ENTRY, handshakeMs);
        thread.ready = true;
        threadSlots.push(await WriterPool.call(member, () =>
          member.api.init(fs.device.handle(), fs.dax.base, Comlink.transfer(port2, [port2]))));
      }
    } catch (e) {
      // Leave nothing running behind a failed start.
      for (const m of members) await WriterPool.halt(m);
      throw asFsError(e);
    }
    return new WriterPool(members, threadSlots, fs);
  }

  /** start's arguments checked (EINVAL); returns the handshake's timeout in ms. */
  private static checkStart(fs: FileSystem, count: number, options: PoolOptions): number {
    if (fs === null || typeof fs !== 'object'
      || !((fs as { device?: unknown }).device instanceof PmemDevice)) {
      throw new FsError('EINVAL', 'WriterPool.start needs a mounted FileSystem');
    }
    if (!isOptions(options)
      || (options.entryUrl !== undefined && !(options.entryUrl instanceof URL))) {
      throw new FsError('EINVAL', 'pool options must be an object; entryUrl a URL');
    }
    requireKnownOptions(options, ['entryUrl', 'handshakeTimeoutMs'], 'pool options');
    const handshakeMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (typeof handshakeMs !== 'number' || !(handshakeMs > 0) || !Number.isFinite(handshakeMs)) {
      throw new FsError(
        'EINVAL',
        `handshakeTimeoutMs must be a positive number of ms, got ${describeValue(handshakeMs)}`,
      );
    }
    const slots = fs.device.config.maxThreads - 1; // one slot is the owning thread's
    if (!Number.isSafeInteger(count) || count < 1 || count > slots) {
      throw new FsError(
        'EINVAL', `writer count must be 1..${slots} (the device has ${slots + 1} thread slots)`,
      );
    }
    return handshakeMs;
  }

  /** What the writers call when a store faults: the owning thread's DAX manager. */
  private static faultService(dax: FileSystem['dax']): FaultService {
    return {
      fault: async (mappingId, page, write) => {
        try {
          await dax.faultAsync(mappingId, page, write);
        } catch (e) {
          // comlink ships errors as messages; keep the errno name at the front.
          throw new Error(e instanceof FsError ? e.message : String(e));
        }
      },
    };
  }

  /** The writer entry answers that it is one, within `handshakeMs` (EINVAL if not). */
  private static async handshake(
    member: Member, entryName: string, handshakeMs: number,
  ): Promise<void> {
    const handshake = timeout(handshakeMs, () => new FsError('EINVAL',
      `writer entry ${entryName} did not answer the handshake within ${handshakeMs} ms: not a `
        + `pmcow writer entry, or it hangs while loading`));
    // comlink's answer from a module that exposes something else is "identify is not a
    // function".
    const identified = member.api.identify().then(
      (identity) => {
        if (identity !== WRITER_IDENTITY) {
          throw new FsError(
            'EINVAL',
            `writer entry ${entryName} is not a pmcow writer entry (it answered `
              + `${describeValue(identity)})`,
          );
        }
      },
      (e: unknown) => {
        throw new FsError(
          'EINVAL', `writer entry ${entryName} is not a pmcow writer entry (${messageOf(e)})`,
        );
      },
    );
    try {
      await WriterPool.call(member, () => Promise.race([identified, handshake.expired]));
    } finally {
      handshake.clear();
    }
  }

  /**
   * One call to a writer: ref'd while outstanding (unref'd again when the last call
   * settles), rejected with the thread's failure if it dies first, errors as FsErrors.
   */
  private static async call<T>(m: Member, f: () => Promise<T>): Promise<T> {
    if (m.thread.dead) return m.thread.failed;
    if (m.pending++ === 0) m.thread.ref();
    try {
      return await Promise.race([f(), m.thread.failed]);
    } catch (e) {
      throw asFsError(e);
    } finally {
      if (--m.pending === 0) m.thread.unref();
    }
  }

  /** Terminate a writer's thread (ref'd until it has gone) and close its channels. */
  private static async halt(m: Member): Promise<void> {
    m.thread.stopping = true;
    m.api[Comlink.releaseProxy]();
    m.faultPort.close();
    m.thread.ref();
    await m.thread.terminate();
  }

  get size(): number {
    return this.members.length;
  }

  /** Run one workload per writer (specs[i] on writer i), concurrently. Rejects with an FsError. */
  async run(specs: WorkloadSpec[]): Promise<WorkloadResult[]> {
    if (this.stopped) throw new FsError('EBADF', 'the writer pool is stopped');
    if (!Array.isArray(specs)) throw new FsError('EINVAL', 'specs must be an array of workloads');
    if (specs.length > this.members.length) {
      throw new FsError('EINVAL', 'more workloads than writers');
    }
    // Errors cross comlink as plain Errors whose message starts with the errno name.
    return Promise.all(specs.map((spec, i) => {
      const m = this.members[i]!;
      return WriterPool.call(m, () => m.api.run(spec));
    }));
  }

  /**
   * Read a file on a writer thread: its own core instance runs the engine's read under the
   * fs lock, with no message back to this thread (which may be busy meanwhile). Checksums
   * are verified, except in a range holding a page stored through a mapping in this
   * transaction (it waits for its checksum until the commit): the writer finds those in
   * the shared dirty-page table when it reads. A
   * file of a subvolume beyond the engine's root table (more than ROOT_SLOTS in one mount)
   * is read on this thread.
   */
  async readFile(path: string, options: PoolReadOptions = {}): Promise<Uint8Array> {
    if (this.stopped) throw new FsError('EBADF', 'the writer pool is stopped');
    if (!isOptions(options)) throw new FsError('EINVAL', 'read options must be an object');
    const writer = options.writer ?? 0;
    if (!Number.isSafeInteger(writer) || writer < 0 || writer >= this.members.length) {
      throw new FsError('EINVAL', `writer must be 0..${this.members.length - 1}`);
    }
    const st = this.fs.stat(path);
    requireRegular(st.kind, path);
    const offset = options.offset ?? 0;
    const length = options.length ?? Math.max(0, st.size - offset);
    // A subvolume beyond the root table's slots (docs/engine.md) is found on this thread only.
    if (this.fs.kernel.rootSlotOf(st.subvolume) === 0) {
      return this.fs.readFile(path).slice(offset, offset + length);
    }
    const m = this.members[writer]!;
    const req = {
      fsState: this.fs.kernel.fsStateAddr, tree: st.subvolume, ino: st.ino, offset, length,
      verify: true, dax: this.fs.dax.base,
    };
    return WriterPool.call(m, () => m.api.read(req));
  }

  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let first: unknown;
    for (const m of this.members) {
      // A thread that already died has nothing to close (its failure was the answer to
      // the call that saw it; its thread slot stays taken, as after a crash).
      if (!m.thread.dead) {
        try {
          await WriterPool.call(m, () => m.api.close());
        } catch (e) {
          first ??= e; // still stop the rest
        }
      }
      await WriterPool.halt(m);
    }
    if (first !== undefined) throw asFsError(first);
  }
}
