// Snapshots and reflink targets must never change after they are taken, whatever the
// writers do to the source (threads 000, 002, 003). The watch remembers each one's crc32c
// (computed in WebAssembly) and re-reads it now and then; a change is a reproduced failure.
import type { PmemDevice } from '../../src/pmem/device.js';
import type { FileSystem } from '../../src/filesystem.js';
import { FsError } from '../../src/errors.js';

/** Re-read at most this often: each check reads every watched file. */
const CHECK_INTERVAL_MS = 400;
/** The newest watches only: enough to see a failure, bounded cost per check. */
const MAX_WATCHES = 12;

interface Watched { path: string; label: string; crc: number | 'EIO'; changed: boolean }

export class SnapshotWatch {
  private watched: Watched[] = [];
  private lastCheckMs = 0;

  constructor(private readonly device: PmemDevice) {}

  private crcOf(fs: FileSystem, path: string): number | 'EIO' {
    try {
      return this.device.crc32cBytes(fs.readFile(path));
    } catch (e) {
      if (e instanceof FsError && e.code === 'EIO') return 'EIO';
      throw e;
    }
  }

  add(fs: FileSystem, path: string, label: string): void {
    this.watched.push({ path, label, crc: this.crcOf(fs, path), changed: false });
    if (this.watched.length > MAX_WATCHES) this.watched.shift();
  }

  clear(): void {
    this.watched = [];
  }

  /** Descriptions of watched files found changed since they were taken (each reported once). */
  check(fs: FileSystem): string[] {
    const now = performance.now();
    if (now - this.lastCheckMs < CHECK_INTERVAL_MS) return [];
    this.lastCheckMs = now;
    const out: string[] = [];
    for (const w of this.watched) {
      if (w.changed || !fs.exists(w.path)) continue;
      const crc = this.crcOf(fs, w.path);
      if (crc !== w.crc) {
        w.changed = true;
        out.push(crc === 'EIO' ? `${w.label}: ${w.path} now reads EIO (checksum mismatch)` : `${w.label}: ${w.path} changed after it was taken (crc32c ${hex(w.crc)} -> ${hex(crc)})`);
      }
    }
    return out;
  }
}

const hex = (crc: number | 'EIO'): string => (crc === 'EIO' ? 'EIO' : crc.toString(16).padStart(8, '0'));
