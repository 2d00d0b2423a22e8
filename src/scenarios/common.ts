// What every scenario shares: the row it reports, a fresh device and file system per
// run, and the rule that a row's verdict comes from what the two runs measured.
import { FsError, type ErrnoName } from '../errors.js';
import { FileSystem } from '../filesystem.js';
import { PmemDevice } from '../pmem/device.js';
import type { DaxPolicy } from '../dax/policy.js';

export type ThreadId = '000' | '001' | '002' | '003' | '004';

/** One question of one mailing-list thread, run with its mechanism on and then off. */
export interface ScenarioRow {
  thread: ThreadId;
  /** The DaxPolicy switch (or the rule, for rows that have no switch). */
  switch: string;
  question: string;
  /** What the run with the mechanism on observed. */
  on: string;
  /** What the run with the mechanism off observed. */
  off: string;
  /** The historical failure happened with the switch off and did not with it on. */
  reproduced: boolean;
}

export interface ScenarioOptions {
  /** Entry script of the writer threads (default: dist/workers/node-entry.js next to pool.js). */
  workerEntryUrl?: URL;
}

/** What one run saw: whether the historical failure happened, and the numbers behind it. */
export interface Outcome {
  failed: boolean;
  text: string;
}

export const PAGE_BYTES = 4096;
/** Small enough to create a dozen of, big enough for snapshots and COW faults. */
const DEVICE_BYTES = 16 << 20;

export function row(
  thread: ThreadId, name: string, question: string, on: Outcome, off: Outcome,
): ScenarioRow {
  const reproduced = off.failed && !on.failed;
  return { thread, switch: name, question, on: on.text, off: off.text, reproduced };
}

export const fill = (length: number, value: number): Uint8Array =>
  new Uint8Array(length).fill(value);

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export async function mounted(
  policy: Partial<DaxPolicy> = {}, sizeBytes = DEVICE_BYTES,
): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes });
  FileSystem.mkfs(dev);
  return { dev, fs: FileSystem.mount(dev, { dax: policy }) };
}

/** A nodatacow file of `pages` pages filled with `value`, committed. */
export function nocowFile(fs: FileSystem, path: string, pages: number, value: number): void {
  fs.create(path);
  fs.setNoDataCow(path);
  fs.writeFile(path, fill(pages * PAGE_BYTES, value));
  fs.commit();
}

/** The errno an operation failed with, or null when it succeeded. */
export function errnoOf(fn: () => unknown): ErrnoName | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

/** Bytes that differ between two equally long buffers (a length change counts every byte). */
export function bytesDiffering(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

export function countByte(bytes: Uint8Array, value: number): number {
  let n = 0;
  for (const b of bytes) if (b === value) n++;
  return n;
}

/** readFile, with a checksum failure (EIO) reported instead of thrown. */
export function readOrEio(fs: FileSystem, path: string): { bytes: Uint8Array; eio: boolean } {
  try {
    return { bytes: fs.readFile(path), eio: false };
  } catch (e) {
    if (e instanceof FsError && e.code === 'EIO') return { bytes: new Uint8Array(0), eio: true };
    throw e;
  }
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
