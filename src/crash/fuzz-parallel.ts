// A fuzz campaign on W worker threads: the campaign's scripts (or its shard's) are handed
// out one at a time to whichever thread is free; each thread has its own core instance
// and devices. The scripts, crash images and findings are exactly those of the
// single-threaded campaign (findings are reported in script order).
import { FsError, requireKnownOptions } from '../errors.js';
import {
  FUZZ_OPTION_NAMES, fuzz, internalError, type FuzzFinding, type FuzzOptions, type FuzzProgress,
  type FuzzReport,
} from './fuzz.js';

export interface ParallelFuzzOptions extends FuzzOptions {
  /** Worker threads (default 1: run on this thread). */
  workers?: number;
}

function workerEntry(): URL {
  // Built code runs dist/crash/fuzz-worker.js; from the TypeScript sources (tests) use the
  // built copy too, since worker entries must be plain JavaScript.
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/crash/fuzz-worker.js', here) : new URL('./fuzz-worker.js', here);
}

export async function fuzzParallel(options: ParallelFuzzOptions = {}): Promise<FuzzReport> {
  requireKnownOptions(options, [...FUZZ_OPTION_NAMES, 'workers'], 'fuzz options');
  const workers = options.workers ?? 1;
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 64) {
    throw new FsError('EINVAL', 'workers must be an integer from 1 to 64');
  }
  const { workers: _w, onScript, onFinding, ...rest } = options;
  if (workers === 1) {
    return fuzz({
      ...rest, ...(onScript ? { onScript } : {}), ...(onFinding ? { onFinding } : {}),
    });
  }
  const shard = options.shard ?? { index: 0, count: 1 };
  const started = performance.now();
  const latest: FuzzProgress[] = [];
  // Threads claim script positions from one shared counter: a thread that finishes its
  // script takes the next, so long and short scripts balance out. The set of scripts,
  // and so the images and findings, are those of one thread.
  const counter = new Int32Array(new SharedArrayBuffer(4));
  // Loaded here, not at the top: the package entry also loads in browsers.
  const { Worker } = await import('node:worker_threads');
  const reports = await Promise.all(Array.from(
    { length: workers }, (_, w) => new Promise<FuzzReport>((resolve, reject) => {
    const workerOptions = { ...rest, shard, counter };
    const worker = new Worker(workerEntry(), { workerData: workerOptions });
    worker.on('message', (m: {
      kind: string; progress?: FuzzProgress; report?: FuzzReport; finding?: FuzzFinding;
      code?: string; message?: string;
    }) => {
      if (m.kind === 'finding') {
        onFinding?.({ ...m.finding!, elapsedMs: Math.round(performance.now() - started) });
      } else if (m.kind === 'progress') {
        latest[w] = m.progress!;
        onScript?.(sum(latest, performance.now() - started));
      } else if (m.kind === 'report') {
        resolve(m.report!);
        void worker.terminate();
      } else if (m.code === 'EINVAL') {
        // bad options: a usage error
        reject(new FsError('EINVAL', `fuzz worker ${w}: ${m.message}`));
        void worker.terminate();
      } else {
        resolve(lostWorker(w, latest[w], m.message ?? 'failed', started, onFinding));
        void worker.terminate();
      }
    });
    // A worker that dies is the checker's failure, not the campaign's end: an internal error.
    worker.on('error', (e) => resolve(lostWorker(w, latest[w], e.message, started, onFinding)));
  })));
  const total = sum(reports, performance.now() - started);
  // Findings in the order of the single-threaded campaign (by script index).
  const findings = reports.flatMap((r) => r.findings).sort((a, b) => a.script - b.script);
  return { ...total, findings, imagesPerSecond: total.images / (total.elapsedMs / 1000) };
}

/** The report of a worker that died: what it did so far, and one internal-error finding. */
function lostWorker(
  w: number, progress: FuzzProgress | undefined, message: string, started: number,
  onFinding?: (f: FuzzFinding) => void,
): FuzzReport {
  const done = progress ?? sum([], 0);
  const violation = internalError(`fuzz worker ${w}`, new Error(message));
  const finding: FuzzFinding = {
    script: -1, scriptSeed: 0, kind: 'internal-error', violation,
    elapsedMs: Math.round(performance.now() - started), images: done.images,
    reproducer: {
      pmcow: 'reproducer', version: 1, point: violation.point, problems: violation.problems,
      options: {}, script: '',
    },
  };
  onFinding?.(finding);
  return {
    ...done, internalErrors: done.internalErrors + 1, findings: [finding], imagesPerSecond: 0,
  };
}

function sum(parts: Array<FuzzProgress | undefined>, elapsedMs: number): FuzzProgress {
  const out: FuzzProgress = {
    scripts: 0, ops: 0, points: 0, images: 0, mounted: 0, violations: 0, elapsedMs,
    internalErrors: 0, unjudged: 0,
  };
  for (const p of parts) {
    if (!p) continue;
    out.scripts += p.scripts; out.ops += p.ops; out.points += p.points; out.images += p.images;
    out.mounted += p.mounted; out.violations += p.violations;
    out.internalErrors += p.internalErrors; out.unjudged += p.unjudged;
  }
  return out;
}
