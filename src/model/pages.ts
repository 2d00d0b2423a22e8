// A model file's bytes and page states (namespace.ts): what each 4 KiB page holds (a hole,
// data, a preallocated range), and the byte arrays, never changed in place.
import type { MNode } from './inode.js';

export const BLOCK = 4096;

export const PAGE_HOLE = 0;
export const PAGE_DATA = 1;
export const PAGE_PREALLOC = 2;

/** Page states of [from, to) (byte offsets, whole pages touched) mapped through `state`. */
export function markPages(node: MNode, from: number, to: number,
  state: (old: number) => number): void {
  const first = Math.floor(from / BLOCK);
  const end = Math.ceil(to / BLOCK);
  if (end <= first) return;
  const next = new Uint8Array(Math.max(node.pages.length, end));
  next.set(node.pages);
  for (let p = first; p < end; p++) next[p] = state(next[p]!);
  node.pages = next;
}

/** Pages from `page` on are dropped (holes). */
export function dropPages(node: MNode, page: number): void {
  if (node.pages.length > page) node.pages = node.pages.slice(0, page);
}

/**
 * Zeroing [from, to) of a file of `size` bytes: whole pages become `inner`, the partial
 * edges data if allocated.
 */
export function zeroPages(node: MNode, from: number, to: number, size: number,
  inner: number): void {
  const innerFrom = Math.ceil(from / BLOCK) * BLOCK;
  const innerTo = Math.floor(to / BLOCK) * BLOCK;
  const edge = (a: number, b: number): void => {
    if (Math.min(b, size) <= a) return;
    markPages(node, a, Math.min(b, size), (s) => (s === PAGE_HOLE ? s : PAGE_DATA));
  };
  if (innerFrom >= innerTo) { edge(from, to); return; }
  edge(from, innerFrom);
  edge(innerTo, to);
  markPages(node, innerFrom, innerTo, () => inner);
}

// File bytes are never changed in place: every change makes a new array, so clones (and
// the durable states of the crash tests) share the arrays instead of copying them.
export function resize(data: Uint8Array, size: number): Uint8Array {
  if (size === data.length) return data;
  const out = new Uint8Array(size);
  out.set(size < data.length ? data.subarray(0, size) : data);
  return out;
}

/** A copy of `data`, at least `size` bytes long (zero-extended). */
export function copyAtLeast(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(size, data.length));
  out.set(data);
  return out;
}

