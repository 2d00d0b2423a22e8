// scrub: read every tree block and every data sector that has a checksum, and report
// the ones that do not match, with the files that own bad data. With the dup metadata
// profile every copy of every tree block is read, and a bad copy is rewritten from a
// good one (repair); data has one copy and is only reported.
import { isFsTree, type Kernel } from './kernel.js';
import { NodeView } from './node.js';
import { decodeFileExtent, decodeRootItem } from './items.js';
import { validBlockPointer } from './tree-checker.js';
import {
  key, EXTENT_CSUM, EXTENT_CSUM_OBJECTID, ROOT_ITEM, EXTENT_DATA, EXTENT_TYPE_REG, SECTOR_BYTES,
  MAX_KEY_VALUE, MAX_LEVEL, LAST_OBJECTID,
} from './format.js';
import type { ScrubReport, ScrubError } from './types.js';
import { assert } from '../assert.js';

/** The report's cap on kept errors (every error is counted). */
const MAX_ERRORS = 1000;

export function runScrub(k: Kernel): ScrubReport {
  const report: ScrubReport = {
    bytesChecked: 0, csumErrors: 0, metadataErrors: 0, metadataRepaired: 0, errors: [],
  };
  k.forgetVerified();
  const roots = scrubRoots(k);
  const seen = new Set<number>();
  for (const [bytenr] of roots) scrubBlock(k, report, seen, bytenr);
  const leafOwners = new LeafOwners(k, roots);
  const first = key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, 0);
  const last = key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, MAX_KEY_VALUE);
  k.csumTree.walkRange(first, last, (kk, addr, size) => {
    if (kk.type === EXTENT_CSUM) scrubCsumItem(k, report, leafOwners, kk.offset, addr, size);
    return true;
  });
  assert(report.metadataRepaired <= report.metadataErrors,
    'scrub repairs only the copies it found bad');
  return report;
}

/**
 * [root block, tree id] of every tree: the root and chunk trees from the superblock, every
 * other from its ROOT_ITEM.
 */
function scrubRoots(k: Kernel): Array<[number, number]> {
  const roots: Array<[number, number]> = [[k.rootTree.root, 1], [k.chunkTree.root, 3]];
  const first = key(0, ROOT_ITEM, 0), last = key(LAST_OBJECTID, ROOT_ITEM, MAX_KEY_VALUE);
  k.rootTree.walkRange(first, last, (kk, addr, size) => {
    if (kk.type !== ROOT_ITEM) return true;
    roots.push([decodeRootItem(k.m.u8.slice(addr, addr + size)).bytenr, kk.objectid]);
    return true;
  });
  return roots;
}

function metadataError(report: ScrubReport, err: ScrubError): void {
  report.metadataErrors++;
  if (err.repaired) report.metadataRepaired++;
  if (report.errors.length < MAX_ERRORS) report.errors.push(err);
}

/**
 * Read the block at `bytenr` and the blocks below it. Each block once (a shared or
 * corrupted tree may point at a block twice): the walk is bounded by the number of blocks
 * on the device.
 */
function scrubBlock(k: Kernel, report: ScrubReport, seen: Set<number>, bytenr: number): void {
  if (seen.has(bytenr)) return;
  seen.add(bytenr);
  const reported = k.metadataCopies > 1 && !k.isDirty(bytenr) && checkCopies(k, report, bytenr);
  let node: NodeView;
  try {
    node = new NodeView(k.m, k.nodeAddr(bytenr), k.nodeBytes);
    report.bytesChecked += k.nodeBytes * k.metadataCopies;
  } catch (e) {
    if (!reported) {
      metadataError(report, { kind: 'metadata', bytenr, detail: (e as Error).message });
    }
    return;
  }
  if (node.isLeaf) return;
  for (let s = 0; s < node.nritems; s++) scrubBlock(k, report, seen, node.child(s));
}

/** dup: check both copies; rewrite a bad one from a good one; report each bad copy. */
function checkCopies(k: Kernel, report: ScrubReport, bytenr: number): boolean {
  if (!validBlockPointer(bytenr, k.checkContext)) return false; // nodeAddr reports it
  const bad = [k.checkCopy(bytenr, 0), k.checkCopy(bytenr, 1)];
  const good = bad.findIndex((b) => b === null);
  bad.forEach((b, copy) => {
    if (!b) return;
    if (good >= 0) k.healCopy(bytenr, good, copy);
    const repaired = good >= 0;
    metadataError(report, { kind: 'metadata', bytenr, copy: copy + 1, detail: b.message,
      repaired });
  });
  return good !== 0 || bad[1] !== null;
}

/** Verify each sector of data extent `extent` against the checksum item at `addr`. */
function scrubCsumItem(k: Kernel, report: ScrubReport, leafOwners: LeafOwners, extent: number,
  addr: number, size: number): void {
  const staging = k.stagingAddr, core = k.device.core;
  const sectors = size / 4;
  for (let s = 0; s < sectors; s++) {
    const at = extent + s * SECTOR_BYTES;
    let bad = false;
    let detail = 'checksum mismatch';
    if (core.pmem_load(staging, at, SECTOR_BYTES) < 0) { bad = true; detail = 'media error'; }
    else if (core.csum_sectors_verify(staging, 1, SECTOR_BYTES, addr + s * 4) !== -1) bad = true;
    report.bytesChecked += SECTOR_BYTES;
    if (bad) {
      // A sector of a partly filled preallocated extent that no item reads holds no data
      // (its checksum may predate a fill a crash undid): nothing to report.
      const found = owners(k, extent, at, leafOwners);
      if (!found.read) continue;
      report.csumErrors++;
      const err: ScrubError = { kind: 'data-csum', bytenr: at, detail, owners: found.owners };
      if (report.errors.length < MAX_ERRORS) report.errors.push(err);
    }
  }
}

/**
 * Which subvolumes reach each leaf (a snapshot shares its source's leaves): built at the
 * first bad sector, so a clean scrub pays nothing for it.
 */
class LeafOwners {
  private byLeaf: Map<number, number[]> | null = null;

  constructor(private readonly k: Kernel, private readonly roots: Array<[number, number]>) {}

  private map(): Map<number, number[]> {
    this.byLeaf ??= reachingSubvolumes(this.k, this.roots.filter(([, id]) => isFsTree(id)));
    return this.byLeaf;
  }

  subvolumesOf(leaf: number): number[] {
    return this.map().get(leaf) ?? [];
  }

  leaves(): Iterable<number> {
    return this.map().keys();
  }
}

/** For every leaf of the given fs trees, the ids of the subvolumes whose tree reaches it. */
function reachingSubvolumes(k: Kernel, trees: Array<[number, number]>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [root, id] of trees) {
    // Each block once per tree: bounded by the blocks on the device even if corrupted.
    const seen = new Set<number>();
    const walk = (bytenr: number, depth: number): void => {
      if (seen.has(bytenr) || depth > MAX_LEVEL) return;
      seen.add(bytenr);
      let node: NodeView;
      try {
        node = new NodeView(k.m, k.nodeAddr(bytenr), k.nodeBytes);
      } catch {
        return; // reported by the tree walk
      }
      if (node.isLeaf) {
        const ids = out.get(bytenr);
        if (ids) ids.push(id); else out.set(bytenr, [id]);
        return;
      }
      for (let s = 0; s < node.nritems; s++) walk(node.child(s), depth + 1);
    };
    walk(root, 0);
  }
  return out;
}

/** A file's bytes at a device byte: its subvolume, inode and file offset. */
interface Owner { subvolume: number; ino: number; offset: number }

/**
 * Files whose extents map the device byte `at` of data extent `extent`: the file extent
 * items of every leaf that points at it (a scan of the fs trees' leaves, independent of
 * the back references it checks), each owned by every subvolume reaching the leaf (a
 * snapshot's too).
 */
function owners(k: Kernel, extent: number, at: number,
  leafOwners: LeafOwners): { owners: Owner[]; read: boolean } {
  const out: Owner[] = [];
  let read = false;
  for (const bytenr of leafOwners.leaves()) {
    let leaf: NodeView;
    try {
      leaf = new NodeView(k.m, k.nodeAddr(bytenr), k.nodeBytes);
    } catch {
      continue; // an unreadable leaf was reported by the tree walk
    }
    for (let s = 0; s < leaf.nritems; s++) {
      const kk = leaf.key(s);
      if (kk.type !== EXTENT_DATA) continue;
      const e = decodeFileExtent(k.m.u8.slice(leaf.data(s), leaf.data(s) + leaf.dataSize(s)));
      const start = e.diskBytenr + e.offset;
      if (e.diskBytenr === extent && at >= start && at < start + e.bytes) {
        if (e.type !== EXTENT_TYPE_REG) continue; // preallocated: reads zeros, not this sector
        read = true;
        for (const subvolume of leafOwners.subvolumesOf(bytenr)) {
          out.push({ subvolume, ino: kk.objectid, offset: kk.offset + (at - start) });
        }
      }
    }
  }
  return { owners: out, read };
}
