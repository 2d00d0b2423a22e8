// fsck of the block groups, from the items alone (not the core's chunk table they are
// written from): every chunk item has its dev extents and its block group item, the device
// item counts the dev extents, stripes never overlap, every extent lies in a block group of
// its kind, and each block group's used bytes are the sum of its extents (what btrfs check
// compares in "checking extents").
import type { Kernel } from './kernel.js';
import { key, keyText, EXTENT_ITEM, METADATA_ITEM, MAX_KEY_VALUE } from './format.js';
import {
  BLOCK_GROUP_ITEM, BG_USED, BG_FLAGS, DEV_EXTENT, DE_CHUNK_OFFSET, DE_LENGTH, DE_CHUNK_TREE,
  DEV_ITEM, DI_DEVID, DI_TOTAL_BYTES, DI_BYTES_USED, CHUNK_ITEM, BLOCK_GROUP_DUP, CHUNK_DATA,
  CHUNK_METADATA, CHUNK_SYSTEM, NODE_OWNER, CHUNK_TREE_ID, SYSTEM_AREA_BYTES,
} from '../core/abi.js';
import { decodeChunkItem, kindName, DEVICE_ID, type ChunkDesc } from './chunks.js';
import { assert } from '../assert.js';

const ALL = [key(0, 0, 0), key(MAX_KEY_VALUE, 255, MAX_KEY_VALUE)] as const;

/** A chunk's stripe on the device: [device start, bytes, chunk]. */
type Stripe = [number, number, number];

/** A block group item, and the bytes of the extents found in it. */
interface Group { length: number; type: number; used: number; sum: number }

/** An extent item: where, how long, the chunk kind it must lie in, and its name for a finding. */
interface ExtentSpan { start: number; bytes: number; kind: number; what: string }

export function checkBlockGroups(k: Kernel, say: (p: string) => void): void {
  const { chunks, devItemUsed } = readChunkTree(k, say);
  const stripes = checkStripes(k, chunks, say);
  checkDevExtents(k, stripes, devItemUsed, say);
  // Block groups against chunks, extents against block groups.
  const { groups, extents } = readExtentTree(k);
  const starts = [...groups.keys()].sort((a, b) => a - b);
  checkGroupsOfChunks(chunks, groups, starts, say);
  checkExtentsInGroups(groups, starts, extents, say);
}

/** The chunk items, and the device item's used bytes (null: no device item). */
function readChunkTree(k: Kernel, say: (p: string) => void):
  { chunks: Map<number, ChunkDesc>; devItemUsed: number | null } {
  const m = k.m;
  const chunks = new Map<number, ChunkDesc>();
  let devItemUsed: number | null = null;
  k.chunkTree.walkRange(ALL[0], ALL[1], (kk, addr, size) => {
    if (kk.type === DEV_ITEM) {
      if (kk.offset !== DEVICE_ID || m.u64(addr + DI_DEVID) !== DEVICE_ID) {
        say(`chunk tree: device item ${keyText(kk)} of another device`);
      }
      devItemUsed = m.u64(addr + DI_BYTES_USED);
      if (m.u64(addr + DI_TOTAL_BYTES) !== k.totalBytes) {
        say(`chunk tree: the device item says ${m.u64(addr + DI_TOTAL_BYTES)} bytes, `
          + `the file system has ${k.totalBytes}`);
      }
    } else if (kk.type === CHUNK_ITEM) {
      const d = decodeChunkItem(m, kk.offset, addr, size, k.devUuid);
      if (typeof d === 'string') say(`chunk tree: ${keyText(kk)}: ${d}`);
      else chunks.set(kk.offset, d);
    } else {
      say(`chunk tree: unexpected item ${keyText(kk)}`);
    }
    return true;
  });
  if (devItemUsed === null) say('chunk tree: no device item');
  return { chunks, devItemUsed };
}

/** Stripes, by device start: none overlapping another or the first MiB, none past the device. */
function checkStripes(k: Kernel, chunks: Map<number, ChunkDesc>,
  say: (p: string) => void): Stripe[] {
  const stripes: Stripe[] = [];
  for (const d of chunks.values()) for (const s of d.stripes) stripes.push([s, d.length, d.start]);
  stripes.sort((a, b) => a[0] - b[0]);
  let end = SYSTEM_AREA_BYTES;
  for (const [start, bytes, chunk] of stripes) {
    if (start < end) {
      say(`chunk ${chunk}: a stripe at ${start} overlaps the first MiB or another stripe`);
    }
    if (start + bytes > k.totalBytes) {
      say(`chunk ${chunk}: a stripe at ${start} runs past the device`);
    }
    end = Math.max(end, start + bytes);
  }
  return stripes;
}

/** Each stripe's dev extent, and the device item's used bytes against them. */
function checkDevExtents(k: Kernel, stripes: Stripe[], devItemUsed: number | null,
  say: (p: string) => void): void {
  const m = k.m;
  const devExtents = new Map<number, { chunk: number; bytes: number }>();
  let devBytes = 0;
  k.devTree.walkRange(ALL[0], ALL[1], (kk, addr) => {
    const foreign = kk.type !== DEV_EXTENT || kk.objectid !== DEVICE_ID
      || m.u64(addr + DE_CHUNK_TREE) !== CHUNK_TREE_ID;
    if (foreign) {
      say(`dev tree: unexpected item ${keyText(kk)}`);
      return true;
    }
    const chunk = m.u64(addr + DE_CHUNK_OFFSET);
    devExtents.set(kk.offset, { chunk, bytes: m.u64(addr + DE_LENGTH) });
    devBytes += m.u64(addr + DE_LENGTH);
    return true;
  });
  for (const [start, bytes, chunk] of stripes) {
    const de = devExtents.get(start);
    if (!de) say(`chunk ${chunk}: no dev extent for its stripe at ${start}`);
    else if (de.chunk !== chunk || de.bytes !== bytes) {
      say(`dev extent ${start}: says chunk ${de.chunk} of ${de.bytes} bytes, `
        + `the chunk is ${chunk} of ${bytes}`);
    }
  }
  if (devExtents.size !== stripes.length) {
    say(`dev tree: ${devExtents.size} dev extents for ${stripes.length} stripes`);
  }
  if (devItemUsed !== null && devItemUsed !== devBytes) {
    say(`chunk tree: the device item says ${devItemUsed} bytes used, `
      + `the dev extents hold ${devBytes}`);
  }
}

/** The block group items, and every extent item with the chunk kind it must lie in. */
function readExtentTree(k: Kernel): { groups: Map<number, Group>; extents: ExtentSpan[] } {
  const m = k.m;
  const groups = new Map<number, Group>();
  const extents: ExtentSpan[] = [];
  k.extentTree.walkRange(ALL[0], ALL[1], (kk, addr) => {
    if (kk.type === BLOCK_GROUP_ITEM) {
      groups.set(kk.objectid, {
        length: kk.offset, type: m.u64(addr + BG_FLAGS), used: m.u64(addr + BG_USED), sum: 0,
      });
    } else if (kk.type === EXTENT_ITEM) {
      const what = `data extent ${kk.objectid}+${kk.offset}`;
      extents.push({ start: kk.objectid, bytes: kk.offset, kind: CHUNK_DATA, what });
    } else if (kk.type === METADATA_ITEM) {
      // The chunk tree's blocks live in system chunks (btrfs reads them through the
      // superblock's sys_chunk_array), every other tree's in metadata chunks.
      let owner = 0;
      try {
        owner = m.u64(k.nodeAddr(kk.objectid) + NODE_OWNER);
      } catch { /* the tree walk reports an unreadable block */ }
      const kind = owner === CHUNK_TREE_ID ? CHUNK_SYSTEM : CHUNK_METADATA;
      const what = `tree block ${kk.objectid} of tree ${owner}`;
      extents.push({ start: kk.objectid, bytes: k.nodeBytes, kind, what });
    }
    return true;
  });
  return { groups, extents };
}

/** Each chunk's block group item, of its length and type, and each group's chunk. */
function checkGroupsOfChunks(chunks: Map<number, ChunkDesc>, groups: Map<number, Group>,
  starts: number[], say: (p: string) => void): void {
  for (const [start, d] of chunks) {
    const g = groups.get(start);
    if (!g) say(`chunk ${start} (${kindName(d.type)}): no block group item`);
    else if (g.length !== d.length || g.type !== d.type) {
      say(`block group ${start}: ${kindName(g.type)} of ${g.length} bytes, `
        + `its chunk ${kindName(d.type)} of ${d.length}`);
    }
  }
  for (const start of starts) if (!chunks.has(start)) say(`block group ${start}: no chunk item`);
}

/** Each extent inside a block group of its kind; each group's used bytes their sum. */
function checkExtentsInGroups(groups: Map<number, Group>, starts: number[], extents: ExtentSpan[],
  say: (p: string) => void): void {
  for (const e of extents) {
    // The group with the highest start at or below the extent.
    let lo = 0, hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= e.start) lo = mid + 1; else hi = mid;
    }
    const start = lo > 0 ? starts[lo - 1]! : -1;
    const g = start >= 0 ? groups.get(start)! : null;
    assert(start <= e.start, 'the block group found starts at or below the extent');
    if (!g || e.start + e.bytes > start + g.length) {
      say(`${e.what}: in no block group`);
      continue;
    }
    if ((g.type & ~BLOCK_GROUP_DUP) !== e.kind) {
      say(`${e.what}: in a ${kindName(g.type)} block group`);
    }
    g.sum += e.bytes;
  }
  for (const [start, g] of groups) {
    if (g.used !== g.sum) say(`block group ${start}: used ${g.used}, its extents take ${g.sum}`);
  }
}
