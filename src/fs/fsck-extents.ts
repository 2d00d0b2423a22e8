// fsck of the extent and csum trees against what the tree walk counted (fsck-trees.ts):
// each extent item's refcount and flags, each back reference made by a pointer or file
// extent item (btrfs check's "checking extents"), each datasum extent's checksums and
// each checksum item's extent (btrfs check's "checking csums").
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { decodeFileExtent, decodeInode } from './items.js';
import {
  keyText, key, EXTENT_CSUM_OBJECTID, EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF, EXTENT_CSUM,
  INODE_ITEM, EI_REFS, EI_FLAGS, EXTENT_TYPE_REG, INODE_FLAG_NODATASUM, EXTENT_FLAG_FULL_BACKREF,
  EXTENT_FLAG_TREE_BLOCK, EXTENT_FLAG_DATA, TREE_BLOCK_REF, SHARED_BLOCK_REF, SHARED_DATA_REF,
  EXTENT_ITEM_BYTES, SECTOR_BYTES, MAX_KEY_VALUE, type Key,
} from './format.js';
import { FsMemory } from './memory.js';
import { rootPointerTree, type FileExtentItem, type TreeBlocks } from './fsck-trees.js';
import { EDR_ROOT, EDR_OBJECTID, EDR_OFFSET, EDR_COUNT } from '../core/abi.js';

/**
 * datasum: read by a datasum file (checksums required); mayHaveCsums: referenced by one at
 * all; backrefs: items per implicit back reference "root inode offset" (the leaf's owning
 * tree, the inode, the file offset of the extent's first byte mod 2^64: btrfs's
 * EXTENT_DATA_REF), each leaf counted once however many trees reach it.
 */
interface DataUse {
  refs: number; backrefs: Map<string, number>; bytes: number; datasum: boolean;
  mayHaveCsums: boolean;
}

/**
 * The file offset of an extent's first byte as its back reference keeps it: key offset -
 * extent offset, mod 2^64.
 */
function backrefOffset(keyOffset: number, extentOffset: number): bigint {
  return BigInt.asUintN(64, BigInt(keyOffset) - BigInt(extentOffset));
}

/** Data references from file extent items, per data extent. */
export function countDataRefs(fileExtents: FileExtentItem[], full: Set<number>,
  subvolumes: Subvolume[], say: (p: string) => void): Map<number, DataUse> {
  const dataRefs = new Map<number, DataUse>();
  for (const fe of fileExtents) {
    const e = decodeFileExtent(fe.data);
    if (e.diskBytenr === 0) continue;
    if (e.offset + e.bytes > e.diskBytes) {
      say(`tree ${fe.tree}: ${keyText(fe.k)} maps beyond its extent`);
    }
    let use = dataRefs.get(e.diskBytenr);
    if (!use) {
      use = {
        refs: 0, backrefs: new Map(), bytes: e.diskBytes, datasum: false, mayHaveCsums: false,
      };
      dataRefs.set(e.diskBytenr, use);
    }
    use.refs++;
    // A FULL_BACKREF leaf's items are counted by leaf (SHARED_DATA_REF), any other's by
    // (owner, inode, offset) (EXTENT_DATA_REF).
    const ref = full.has(fe.leaf)
      ? `leaf ${fe.leaf}`
      : `${fe.leafOwner} ${fe.k.objectid} ${backrefOffset(fe.k.offset, e.offset)}`;
    use.backrefs.set(ref, (use.backrefs.get(ref) ?? 0) + 1);
    const inode = findInode(subvolumes, fe.tree, fe.k.objectid);
    if (inode && (inode.flags & INODE_FLAG_NODATASUM) === 0) {
      // Read data needs checksums; a preallocated extent of a datasum file may have them
      // (from a fill of another part, which a punch or crash may since have undone).
      if (e.type === EXTENT_TYPE_REG) use.datasum = true;
      use.mayHaveCsums = true;
    }
  }
  return dataRefs;
}

function findInode(subvolumes: Subvolume[], tree: number, ino: number): { flags: number } | null {
  const sv = subvolumes.find((s) => s.id === tree);
  const b = sv?.tree.get(key(ino, INODE_ITEM, 0));
  return b ? decodeInode(b) : null;
}

/** The extent tree check's state: the counts it checks and what it has seen. */
interface ExtentCheck {
  k: Kernel;
  say: (p: string) => void;
  blocks: TreeBlocks;
  full: Set<number>;
  dataRefs: Map<number, DataUse>;
  seenTree: Set<number>;
  seenData: Set<number>;
  seenBackrefs: Set<string>;
  seenBlockRefs: Set<string>;
  /** Each block's expected back references (made once: its inline references ask each). */
  expectedRefs: Map<number, Set<string>>;
  /** The end of the previous extent item. */
  lastEnd: number;
}

/** The extent tree against the counts, then the counts against the extent tree. */
export function checkExtentTree(k: Kernel, blocks: TreeBlocks, full: Set<number>,
  dataRefs: Map<number, DataUse>, say: (p: string) => void): void {
  const c: ExtentCheck = {
    k, say, blocks, full, dataRefs, seenTree: new Set(), seenData: new Set(),
    seenBackrefs: new Set(), seenBlockRefs: new Set(), expectedRefs: new Map(), lastEnd: 0,
  };
  k.extentTree.walkRange(key(0, 0, 0), key(MAX_KEY_VALUE, 255, MAX_KEY_VALUE), (kk, addr, size) => {
    const body = new FsMemory(k.m.u8.slice(addr, addr + size).buffer);
    if (kk.type === METADATA_ITEM || kk.type === EXTENT_ITEM) checkExtentItem(c, kk, body, size);
    else if (kk.type === SHARED_BLOCK_REF || kk.type === TREE_BLOCK_REF) checkBlockRefItem(c, kk);
    else if (kk.type === SHARED_DATA_REF) checkSharedDataRef(c, kk, body);
    else if (kk.type === EXTENT_DATA_REF) checkExtentDataRef(c, kk, body);
    return true;
  });
  checkTreeBlocksSeen(c);
  checkDataExtentsSeen(c);
}

/**
 * btrfs's rule for a pointer's back reference: TREE_BLOCK_REF(tree) for a root pointer
 * and for a pointer from a block its owner reaches, SHARED_BLOCK_REF(parent) from one it
 * does not (a FULL_BACKREF parent).
 */
function expectedBlockRefs(c: ExtentCheck, bytenr: number): Set<string> {
  let refs = c.expectedRefs.get(bytenr);
  if (!refs) {
    const { parents, owners } = c.blocks;
    refs = new Set((parents.get(bytenr) ?? []).map((p) => (p < 0
      ? `tree ${rootPointerTree(p)}`
      : c.full.has(p) ? `parent ${p}` : `tree ${owners.get(p)}`)));
    c.expectedRefs.set(bytenr, refs);
  }
  return refs;
}

/** A METADATA_ITEM or an EXTENT_ITEM: no overlap, not free, its refcount and flags. */
function checkExtentItem(c: ExtentCheck, kk: Key, body: FsMemory, size: number): void {
  const { k, say } = c;
  const length = kk.type === METADATA_ITEM ? k.metadataBlockBytes : kk.offset;
  if (kk.objectid < c.lastEnd) say(`extent ${kk.objectid}: overlaps the previous extent`);
  c.lastEnd = kk.objectid + length;
  if (k.free.isFree(kk.objectid, length)) {
    say(`extent ${kk.objectid}+${length}: both allocated and free`);
  }
  const refs = body.u64(EI_REFS);
  const flags = body.u64(EI_FLAGS);
  if (kk.type === METADATA_ITEM) checkMetadataItem(c, kk, body, size, refs, flags);
  else checkDataItem(c, kk, refs, flags);
}

function checkMetadataItem(c: ExtentCheck, kk: Key, body: FsMemory, size: number, refs: number,
  flags: number): void {
  const { say } = c;
  c.seenTree.add(kk.objectid);
  const found = c.blocks.refs.get(kk.objectid) ?? 0;
  if (found !== refs) {
    say(`tree block ${kk.objectid}: refcount ${refs}, but ${found} pointers reach it`);
  }
  const isFull = (flags & EXTENT_FLAG_FULL_BACKREF) !== 0;
  if (found > 0 && isFull !== c.full.has(kk.objectid)) {
    say(`tree block ${kk.objectid}: ${isFull
      ? 'FULL_BACKREF, but its owner reaches it'
      : 'its owner no longer reaches it, but it is not FULL_BACKREF'}`);
  }
  if ((flags & ~EXTENT_FLAG_FULL_BACKREF) !== EXTENT_FLAG_TREE_BLOCK) {
    say(`tree block ${kk.objectid}: extent flags ${flags}`);
  }
  // Its inline TREE_BLOCK_REFs (9 bytes each: type, root).
  for (let at = EXTENT_ITEM_BYTES; at + 9 <= size; at += 9) {
    if (body.u8At(at) !== TREE_BLOCK_REF) {
      say(`tree block ${kk.objectid}: an inline reference of type ${body.u8At(at)}`);
    }
    noteBlockRef(c, kk.objectid, `tree ${body.objectid(at + 1)}`);
  }
  const level = c.blocks.levels.get(kk.objectid);
  if (level !== undefined && level !== kk.offset) {
    say(`tree block ${kk.objectid}: METADATA_ITEM says level ${kk.offset}, `
      + `the block is at ${level}`);
  }
}

function checkDataItem(c: ExtentCheck, kk: Key, refs: number, flags: number): void {
  const { say } = c;
  if (flags !== EXTENT_FLAG_DATA) say(`data extent ${kk.objectid}: extent flags ${flags}`);
  c.seenData.add(kk.objectid);
  const use = c.dataRefs.get(kk.objectid);
  if ((use?.refs ?? 0) !== refs) {
    say(`data extent ${kk.objectid}: refcount ${refs}, `
      + `but ${use?.refs ?? 0} file extent items reference it`);
  }
  if (use && use.bytes !== kk.offset) {
    say(`data extent ${kk.objectid}: length ${kk.offset}, file extents say ${use.bytes}`);
  }
}

/** A tree block's back reference (inline or keyed): once, and made by some pointer. */
function noteBlockRef(c: ExtentCheck, bytenr: number, ref: string): void {
  const id = `${bytenr} ${ref}`;
  if (c.seenBlockRefs.has(id)) c.say(`tree block ${bytenr}: back reference (${ref}) appears twice`);
  c.seenBlockRefs.add(id);
  if (!expectedBlockRefs(c, bytenr).has(ref)) {
    c.say(`tree block ${bytenr}: back reference (${ref}) that no pointer makes`);
  }
}

function checkBlockRefItem(c: ExtentCheck, kk: Key): void {
  const ref = kk.type === TREE_BLOCK_REF ? `tree ${kk.offset}` : `parent ${kk.offset}`;
  noteBlockRef(c, kk.objectid, ref);
}

function checkSharedDataRef(c: ExtentCheck, kk: Key, body: FsMemory): void {
  const count = body.u32(0);
  const found = c.dataRefs.get(kk.objectid)?.backrefs.get(`leaf ${kk.offset}`) ?? 0;
  if (found !== count) {
    c.say(`data extent ${kk.objectid}: shared backref (leaf ${kk.offset}) counts ${count}, `
      + `the leaf holds ${found}`);
  }
  c.seenBackrefs.add(`${kk.objectid} leaf ${kk.offset}`);
}

function checkExtentDataRef(c: ExtentCheck, kk: Key, body: FsMemory): void {
  const dv = new DataView(body.u8.buffer);
  const root = dv.getBigUint64(EDR_ROOT, true), ino = dv.getBigUint64(EDR_OBJECTID, true);
  const ref = `${root} ${ino} ${dv.getBigUint64(EDR_OFFSET, true)}`;
  const count = dv.getUint32(EDR_COUNT, true);
  const use = c.dataRefs.get(kk.objectid);
  const found = use?.backrefs.get(ref) ?? 0;
  if (found !== count) {
    c.say(`data extent ${kk.objectid}: backref (root inode offset ${ref}) counts ${count}, `
      + `the trees hold ${found}`);
  }
  if (c.seenBackrefs.has(`${kk.objectid} ${ref}`)) {
    c.say(`data extent ${kk.objectid}: backref (root inode offset ${ref}) appears twice`);
  }
  c.seenBackrefs.add(`${kk.objectid} ${ref}`);
}

/** Every reachable tree block has its item and the back references its pointers make. */
function checkTreeBlocksSeen(c: ExtentCheck): void {
  const { say } = c;
  for (const [bytenr, pointers] of c.blocks.refs) {
    if (!c.seenTree.has(bytenr)) say(`tree block ${bytenr}: reachable but has no METADATA_ITEM`);
    const expected = expectedBlockRefs(c, bytenr);
    for (const ref of expected) {
      if (!c.seenBlockRefs.has(`${bytenr} ${ref}`)) {
        say(`tree block ${bytenr}: no back reference (${ref})`);
      }
    }
    if (expected.size !== pointers) {
      say(`tree block ${bytenr}: ${pointers} pointers `
        + `but ${expected.size} distinct back references `
        + '(one tree reaches it twice)');
    }
  }
}

/** Every referenced data extent has its item, its back references and its checksums. */
function checkDataExtentsSeen(c: ExtentCheck): void {
  const { say } = c;
  for (const [bytenr, use] of c.dataRefs) {
    if (!c.seenData.has(bytenr)) say(`data extent ${bytenr}: referenced but has no EXTENT_ITEM`);
    for (const [ref, count] of use.backrefs) {
      if (!c.seenBackrefs.has(`${bytenr} ${ref}`)) {
        say(`data extent ${bytenr}: ${count} references from (root inode offset ${ref}) `
          + 'without a backref');
      }
    }
    if (use.datasum) {
      const csums = c.k.csumTree.lookup(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, bytenr));
      if (!csums) say(`data extent ${bytenr}: no checksums`);
      else if (csums.size !== (use.bytes / SECTOR_BYTES) * 4) {
        say(`data extent ${bytenr}: ${csums.size / 4} checksums `
          + `for ${use.bytes / SECTOR_BYTES} sectors`);
      }
    }
  }
}

/**
 * A checksum item with no datasum extent under it is left over from a freed extent (or
 * written for a nodatacow one): btrfs check's "there are no extents for csum range".
 */
export function checkCsumItems(k: Kernel, dataRefs: Map<number, DataUse>,
  say: (p: string) => void): void {
  k.csumTree.walkRange(key(0, 0, 0), key(-1, 255, MAX_KEY_VALUE), (kk) => {
    if (kk.type !== EXTENT_CSUM || kk.objectid !== EXTENT_CSUM_OBJECTID) {
      say(`csum tree: an item ${keyText(kk)} that is no EXTENT_CSUM`);
      return true;
    }
    const use = dataRefs.get(kk.offset);
    if (!use) {
      say(`checksums at ${kk.offset}: no data extent there (left over from a freed extent)`);
    }
    else if (!use.mayHaveCsums) say(`checksums at ${kk.offset}: the extent there is nodatasum`);
    return true;
  });
}
