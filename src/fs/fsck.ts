// fsck: an offline check of the committed image. Walks every tree from the superblock
// and the ROOT_ITEMs, counts every pointer, and compares with the extent tree.
import type { Kernel } from './kernel.js';
import { isFsTree } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { NodeView } from './node.js';
import { FsError } from '../errors.js';
import { decodeFileExtent, decodeInode, decodeRootItem } from './items.js';
import {
  compareKeys, keyText, key, EXTENT_CSUM_OBJECTID, EXTENT_ITEM, METADATA_ITEM, EXTENT_DATA_REF, EXTENT_CSUM, EXTENT_DATA,
  INODE_ITEM, INODE_REF, DIR_ITEM, DIR_INDEX, ROOT_ITEM, EI_REFS, EI_FLAGS, EXTENT_TYPE_REG, INODE_FLAG_NODATASUM,
  EXTENT_FLAG_FULL_BACKREF, EXTENT_FLAG_TREE_BLOCK, EXTENT_FLAG_DATA, TREE_BLOCK_REF, SHARED_BLOCK_REF, SHARED_DATA_REF,
  EXTENT_ITEM_BYTES,
  SECTOR_BYTES, MAX_KEY_VALUE, isDirMode, isFileMode, isSymlinkMode, NAME_HASH_SEED, ORPHAN_OBJECTID, type Key, LAST_OBJECTID,
  EXTENT_TYPE_INLINE, FILE_EXTENT_INLINE_BYTES, XATTR_ITEM, DIR_ENTRY_DATA_LENGTH,
} from './format.js';
import { FsMemory } from './memory.js';
import { checkBlockGroups } from './fsck-chunks.js';
import { kindOfMode, entryKindOfMode, isSpecialKind } from './special.js';
import { checkRootRefs, DIR_ENTRY_ITEM, DIR_ENTRY_INDEX, type SubvolumeEntry } from './fsck-root-refs.js';
import {
  EDR_ROOT, EDR_OBJECTID, EDR_OFFSET, EDR_COUNT, INODE_NLINK, INODE_MODE, INODE_NBYTES, INODE_GENERATION, INODE_TRANSID,
  INODE_SIZE, DIR_ENTRY_KIND, INODE_REF_HEADER_BYTES, DIR_ENTRY_HEADER_BYTES,
  DIR_ENTRY_NAME_LENGTH, KEY_OBJECTID, KEY_TYPE,
} from '../core/abi.js';

/**
 * datasum: read by a datasum file (checksums required); mayHaveCsums: referenced by one at
 * all; backrefs: items per implicit back reference "root inode offset" (the leaf's owning
 * tree, the inode, the file offset of the extent's first byte mod 2^64: btrfs's
 * EXTENT_DATA_REF), each leaf counted once however many trees reach it.
 */
interface DataUse { refs: number; backrefs: Map<string, number>; bytes: number; datasum: boolean; mayHaveCsums: boolean }

/** The file offset of an extent's first byte as its back reference keeps it: key offset - extent offset, mod 2^64. */
function backrefOffset(keyOffset: number, extentOffset: number): bigint {
  return BigInt.asUintN(64, BigInt(keyOffset) - BigInt(extentOffset));
}

export function runFsck(k: Kernel, subvolumes: Subvolume[]): string[] {
  const problems: string[] = [];
  const say = (p: string): void => { if (problems.length < 1000) problems.push(p); };
  // A tree too damaged to walk on (an unreadable root, a bad extent tree) ends the check
  // with that problem reported, not with an exception.
  try {
    check(k, subvolumes, say);
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    say(`check stopped: ${e.message}`);
  }
  return problems;
}

function check(k: Kernel, subvolumes: Subvolume[], say: (p: string) => void): void {
  const treeRefs = new Map<number, number>();
  const dataRefs = new Map<number, DataUse>();
  const visited = new Set<number>();
  const nodeBytes = k.nodeBytes;
  // Each tree's root pointer counts one reference: the superblock's of the root and chunk
  // trees, a ROOT_ITEM's of every other (the extent, dev and csum trees', the subvolumes').
  // A clean root's generation is what its pointer records (btrfs's parent transid): the
  // superblock's generation for the root tree, its ROOT_ITEM's for the others.
  const roots: Array<{ id: number; bytenr: number; level: number; generation: number | null }> = [
    { id: 1, bytenr: k.rootTree.root, level: k.rootTree.level, generation: k.generation },
    { id: 3, bytenr: k.chunkTree.root, level: k.chunkTree.level, generation: null },
  ];
  const itemRoots = new Map<number, { bytenr: number; level: number }>();
  k.rootTree.walkRange(key(0, ROOT_ITEM, 0), key(LAST_OBJECTID, ROOT_ITEM, MAX_KEY_VALUE), (kk, addr, size) => {
    if (kk.type !== ROOT_ITEM) return true;
    const r = decodeRootItem(k.m.u8.slice(addr, addr + size));
    itemRoots.set(kk.objectid, { bytenr: r.bytenr, level: r.level });
    roots.push({ id: kk.objectid, bytenr: r.bytenr, level: r.level, generation: r.generation });
    return true;
  });
  for (const tree of k.itemTrees) {
    const item = itemRoots.get(tree.id);
    if (!item) say(`tree ${tree.id}: no ROOT_ITEM`);
    else if (item.bytenr !== tree.root || item.level !== tree.level) say(`tree ${tree.id}: ROOT_ITEM points at ${item.bytenr} level ${item.level}, the superblock at ${tree.root} level ${tree.level}`);
  }
  for (const sv of subvolumes) {
    const item = itemRoots.get(sv.id);
    if (!item) say(`subvolume ${sv.id}: no ROOT_ITEM`);
    else if (item.bytenr !== sv.tree.root) say(`subvolume ${sv.id}: ROOT_ITEM points at ${item.bytenr}, tree root is ${sv.tree.root}`);
  }
  const fileExtents: Array<{ tree: number; leaf: number; leafOwner: number; k: Key; data: Uint8Array }> = [];
  // Who points at each block: a parent block, or a tree's root pointer (rootPointer(tree id)); and each
  // block's owner (its header's).
  const parents = new Map<number, number[]>();
  const blockOwner = new Map<number, number>();
  const blockLevel = new Map<number, number>();
  const datasumInodes = new Set<string>();

  const walk = (bytenr: number, level: number, owner: number, low: Key | null, expectGen: number | null, parent: number): void => {
    treeRefs.set(bytenr, (treeRefs.get(bytenr) ?? 0) + 1);
    const from = parents.get(bytenr);
    if (from) from.push(parent); else parents.set(bytenr, [parent]);
    if (visited.has(bytenr)) return;
    visited.add(bytenr);
    let node: NodeView;
    try {
      node = new NodeView(k.m, k.nodeAddr(bytenr), nodeBytes);
    } catch (e) {
      say(`tree ${owner}: block ${bytenr}: ${(e as FsError).message}`);
      return;
    }
    // dup: every copy must be good, not just the one reads use.
    if (k.metadataCopies > 1 && !k.isDirty(bytenr)) {
      for (let copy = 0; copy < k.metadataCopies; copy++) {
        const bad = k.checkCopy(bytenr, copy);
        if (bad) say(`tree ${owner}: ${bad.message}`);
      }
    }
    blockOwner.set(bytenr, node.owner);
    blockLevel.set(bytenr, node.level);
    // Levels fall by one per step: a pointer back up the tree (a loop) stops here.
    if (node.level !== level) { say(`block ${bytenr}: level ${node.level}, parent expects ${level}`); return; }
    if (expectGen !== null && node.generation !== expectGen) say(`block ${bytenr}: generation ${node.generation}, parent pointer says ${expectGen}`);
    if (node.generation > k.generation) say(`block ${bytenr}: generation ${node.generation} is newer than the superblock's ${k.generation}`);
    let prev: Key | null = null;
    for (let s = 0; s < node.nritems; s++) {
      const kk = node.key(s);
      if (prev && compareKeys(prev, kk) >= 0) say(`block ${bytenr}: keys out of order at slot ${s}: ${keyText(prev)} then ${keyText(kk)}`);
      if (s === 0 && low && compareKeys(kk, low) !== 0) say(`block ${bytenr}: first key ${keyText(kk)} is not its parent's key ${keyText(low)}`);
      prev = kk;
      if (node.isLeaf) {
        if (node.dataOffset(s) + node.dataSize(s) > nodeBytes) say(`block ${bytenr}: item ${s} data outside the node`);
        if (isFsTree(owner) && kk.type === EXTENT_DATA) fileExtents.push({ tree: owner, leaf: bytenr, leafOwner: node.owner, k: kk, data: k.m.u8.slice(node.data(s), node.data(s) + node.dataSize(s)) });
      } else {
        walk(node.child(s), level - 1, owner, kk, node.childGeneration(s), bytenr);
      }
    }
  };
  for (const r of roots) walk(r.bytenr, r.level, r.id, null, k.isDirty(r.bytenr) ? null : r.generation, rootPointer(r.id));
  const full = fullBackrefs(parents, blockOwner);

  // Data references from file extent items, per leaf.
  for (const fe of fileExtents) {
    const e = decodeFileExtent(fe.data);
    if (e.diskBytenr === 0) continue;
    if (e.offset + e.bytes > e.diskBytes) say(`tree ${fe.tree}: ${keyText(fe.k)} maps beyond its extent`);
    let use = dataRefs.get(e.diskBytenr);
    if (!use) { use = { refs: 0, backrefs: new Map(), bytes: e.diskBytes, datasum: false, mayHaveCsums: false }; dataRefs.set(e.diskBytenr, use); }
    use.refs++;
    // A FULL_BACKREF leaf's items are counted by leaf (SHARED_DATA_REF), any other's by
    // (owner, inode, offset) (EXTENT_DATA_REF).
    const ref = full.has(fe.leaf) ? `leaf ${fe.leaf}` : `${fe.leafOwner} ${fe.k.objectid} ${backrefOffset(fe.k.offset, e.offset)}`;
    use.backrefs.set(ref, (use.backrefs.get(ref) ?? 0) + 1);
    const inode = findInode(subvolumes, fe.tree, fe.k.objectid);
    if (inode && (inode.flags & INODE_FLAG_NODATASUM) === 0) {
      // Read data needs checksums; a preallocated extent of a datasum file may have them
      // (from a fill of another part, which a punch or crash may since have undone).
      if (e.type === EXTENT_TYPE_REG) use.datasum = true;
      use.mayHaveCsums = true;
    }
  }

  // The extent tree against the counts.
  const seenTree = new Set<number>();
  const seenData = new Set<number>();
  const seenBackrefs = new Set<string>();
  const seenBlockRefs = new Set<string>();
  // btrfs's rule for a pointer's back reference: TREE_BLOCK_REF(tree) for a root pointer
  // and for a pointer from a block its owner reaches, SHARED_BLOCK_REF(parent) from one it
  // does not (a FULL_BACKREF parent).
  // (Made once per block: a block's inline references ask for it each.)
  const expectedRefs = new Map<number, Set<string>>();
  const expectedBlockRefs = (bytenr: number): Set<string> => {
    let refs = expectedRefs.get(bytenr);
    if (!refs) {
      refs = new Set((parents.get(bytenr) ?? []).map((p) => p < 0 ? `tree ${rootPointerTree(p)}` : full.has(p) ? `parent ${p}` : `tree ${blockOwner.get(p)}`));
      expectedRefs.set(bytenr, refs);
    }
    return refs;
  };
  let lastEnd = 0;
  k.extentTree.walkRange(key(0, 0, 0), key(MAX_KEY_VALUE, 255, MAX_KEY_VALUE), (kk, addr, size) => {
    const body = new FsMemory(k.m.u8.slice(addr, addr + size).buffer);
    if (kk.type === METADATA_ITEM || kk.type === EXTENT_ITEM) {
      const length = kk.type === METADATA_ITEM ? k.metadataBlockBytes : kk.offset;
      if (kk.objectid < lastEnd) say(`extent ${kk.objectid}: overlaps the previous extent`);
      lastEnd = kk.objectid + length;
      if (k.free.isFree(kk.objectid, length)) say(`extent ${kk.objectid}+${length}: both allocated and free`);
      const refs = body.u64(EI_REFS);
      const flags = body.u64(EI_FLAGS);
      if (kk.type === METADATA_ITEM) {
        seenTree.add(kk.objectid);
        const found = treeRefs.get(kk.objectid) ?? 0;
        if (found !== refs) say(`tree block ${kk.objectid}: refcount ${refs}, but ${found} pointers reach it`);
        const isFull = (flags & EXTENT_FLAG_FULL_BACKREF) !== 0;
        if (found > 0 && isFull !== full.has(kk.objectid)) say(`tree block ${kk.objectid}: ${isFull ? 'FULL_BACKREF, but its owner reaches it' : 'its owner no longer reaches it, but it is not FULL_BACKREF'}`);
        if ((flags & ~EXTENT_FLAG_FULL_BACKREF) !== EXTENT_FLAG_TREE_BLOCK) say(`tree block ${kk.objectid}: extent flags ${flags}`);
        // Its inline TREE_BLOCK_REFs (9 bytes each: type, root).
        for (let at = EXTENT_ITEM_BYTES; at + 9 <= size; at += 9) {
          const ref = `tree ${body.objectid(at + 1)}`;
          if (body.u8At(at) !== TREE_BLOCK_REF) say(`tree block ${kk.objectid}: an inline reference of type ${body.u8At(at)}`);
          if (seenBlockRefs.has(`${kk.objectid} ${ref}`)) say(`tree block ${kk.objectid}: back reference (${ref}) appears twice`);
          seenBlockRefs.add(`${kk.objectid} ${ref}`);
          if (!expectedBlockRefs(kk.objectid).has(ref)) say(`tree block ${kk.objectid}: back reference (${ref}) that no pointer makes`);
        }
        const level = blockLevel.get(kk.objectid);
        if (level !== undefined && level !== kk.offset) say(`tree block ${kk.objectid}: METADATA_ITEM says level ${kk.offset}, the block is at ${level}`);
      } else {
        if (flags !== EXTENT_FLAG_DATA) say(`data extent ${kk.objectid}: extent flags ${flags}`);
        seenData.add(kk.objectid);
        const use = dataRefs.get(kk.objectid);
        if ((use?.refs ?? 0) !== refs) say(`data extent ${kk.objectid}: refcount ${refs}, but ${use?.refs ?? 0} file extent items reference it`);
        if (use && use.bytes !== kk.offset) say(`data extent ${kk.objectid}: length ${kk.offset}, file extents say ${use.bytes}`);
      }
    } else if (kk.type === SHARED_BLOCK_REF || kk.type === TREE_BLOCK_REF) {
      const ref = kk.type === TREE_BLOCK_REF ? `tree ${kk.offset}` : `parent ${kk.offset}`;
      if (seenBlockRefs.has(`${kk.objectid} ${ref}`)) say(`tree block ${kk.objectid}: back reference (${ref}) appears twice`);
      seenBlockRefs.add(`${kk.objectid} ${ref}`);
      if (!expectedBlockRefs(kk.objectid).has(ref)) say(`tree block ${kk.objectid}: back reference (${ref}) that no pointer makes`);
    } else if (kk.type === SHARED_DATA_REF) {
      const count = body.u32(0);
      const found = dataRefs.get(kk.objectid)?.backrefs.get(`leaf ${kk.offset}`) ?? 0;
      if (found !== count) say(`data extent ${kk.objectid}: shared backref (leaf ${kk.offset}) counts ${count}, the leaf holds ${found}`);
      seenBackrefs.add(`${kk.objectid} leaf ${kk.offset}`);
    } else if (kk.type === EXTENT_DATA_REF) {
      const dv = new DataView(body.u8.buffer);
      const ref = `${dv.getBigUint64(EDR_ROOT, true)} ${dv.getBigUint64(EDR_OBJECTID, true)} ${dv.getBigUint64(EDR_OFFSET, true)}`;
      const count = dv.getUint32(EDR_COUNT, true);
      const use = dataRefs.get(kk.objectid);
      const found = use?.backrefs.get(ref) ?? 0;
      if (found !== count) say(`data extent ${kk.objectid}: backref (root inode offset ${ref}) counts ${count}, the trees hold ${found}`);
      if (seenBackrefs.has(`${kk.objectid} ${ref}`)) say(`data extent ${kk.objectid}: backref (root inode offset ${ref}) appears twice`);
      seenBackrefs.add(`${kk.objectid} ${ref}`);
    }
    return true;
  });
  for (const bytenr of treeRefs.keys()) {
    if (!seenTree.has(bytenr)) say(`tree block ${bytenr}: reachable but has no METADATA_ITEM`);
    const expected = expectedBlockRefs(bytenr);
    for (const ref of expected) if (!seenBlockRefs.has(`${bytenr} ${ref}`)) say(`tree block ${bytenr}: no back reference (${ref})`);
    if (expected.size !== treeRefs.get(bytenr)) say(`tree block ${bytenr}: ${treeRefs.get(bytenr)} pointers but ${expected.size} distinct back references (one tree reaches it twice)`);
  }
  for (const [bytenr, use] of dataRefs) {
    if (!seenData.has(bytenr)) say(`data extent ${bytenr}: referenced but has no EXTENT_ITEM`);
    for (const [ref, count] of use.backrefs) {
      if (!seenBackrefs.has(`${bytenr} ${ref}`)) say(`data extent ${bytenr}: ${count} references from (root inode offset ${ref}) without a backref`);
    }
    if (use.datasum) {
      const c = k.csumTree.lookup(key(EXTENT_CSUM_OBJECTID, EXTENT_CSUM, bytenr));
      if (!c) say(`data extent ${bytenr}: no checksums`);
      else if (c.size !== (use.bytes / SECTOR_BYTES) * 4) say(`data extent ${bytenr}: ${c.size / 4} checksums for ${use.bytes / SECTOR_BYTES} sectors`);
    }
  }
  // A checksum item with no datasum extent under it is left over from a freed extent (or
  // written for a nodatacow one): btrfs check's "there are no extents for csum range".
  k.csumTree.walkRange(key(0, 0, 0), key(-1, 255, MAX_KEY_VALUE), (kk) => {
    if (kk.type !== EXTENT_CSUM || kk.objectid !== EXTENT_CSUM_OBJECTID) {
      say(`csum tree: an item ${keyText(kk)} that is no EXTENT_CSUM`);
      return true;
    }
    const use = dataRefs.get(kk.offset);
    if (!use) say(`checksums at ${kk.offset}: no data extent there (left over from a freed extent)`);
    else if (!use.mayHaveCsums) say(`checksums at ${kk.offset}: the extent there is nodatasum`);
    return true;
  });
  checkBlockGroups(k, say);
  const subvolumeEntries: SubvolumeEntry[] = [];
  for (const sv of subvolumes) checkNamespace(k, sv, say, subvolumeEntries);
  checkRootRefs(k, subvolumeEntries, say);
}

/**
 * The blocks that are FULL_BACKREF by btrfs's rule: a subvolume tree's block its owner no
 * longer reaches (it reaches a block when the block is its root, or a parent of the same
 * owner that it reaches points at it: a tree's blocks are its own or shared from its
 * source, and a block a tree made is pointed at by blocks it made). `parents` lists each
 * block's pointers: a parent block, or -(tree id) for a root pointer.
 */
/**
 * A tree's root pointer among a block's parents (block bytenrs are never negative): below
 * -511 for tree ids from 0, -511..-256 for btrfs's special ids -256..-1.
 */
function rootPointer(tree: number): number {
  return -(tree + 512);
}

function rootPointerTree(p: number): number {
  return -p - 512;
}

function fullBackrefs(parents: Map<number, number[]>, owners: Map<number, number>): Set<number> {
  const reaches = new Map<number, boolean>();
  const ownerReaches = (bytenr: number, depth: number): boolean => {
    const known = reaches.get(bytenr);
    if (known !== undefined) return known;
    const owner = owners.get(bytenr);
    let found = false;
    // Levels fall by one per step (the walk checked them): a corrupted loop ends here.
    if (depth <= 16) {
      for (const p of parents.get(bytenr) ?? []) {
        if (p < 0 ? rootPointerTree(p) === owner : owners.get(p) === owner && ownerReaches(p, depth + 1)) { found = true; break; }
      }
    }
    reaches.set(bytenr, found);
    return found;
  };
  const full = new Set<number>();
  for (const [bytenr, owner] of owners) if (isFsTree(owner) && !ownerReaches(bytenr, 0)) full.add(bytenr);
  return full;
}

function findInode(subvolumes: Subvolume[], tree: number, ino: number): { flags: number } | null {
  const sv = subvolumes.find((s) => s.id === tree);
  const b = sv?.tree.get(key(ino, INODE_ITEM, 0));
  return b ? decodeInode(b) : null;
}

/** Directory entries, back references and link counts of one subvolume. */
function checkNamespace(k: Kernel, sv: Subvolume, say: (p: string) => void, subvolumeEntries: SubvolumeEntry[]): void {
  // Items are read where the walk finds them (no copies): fsck runs on every crash image
  // the explorer mounts, and the copies and decoded names were a third of its time.
  const m = k.m;
  const links = new Map<number, number>();
  const inodes = new Map<number, { nlink: number; mode: number; nbytes: number; size: number }>();
  const lastExtentEnd = new Map<number, number>();
  const mapped = new Map<number, number>();
  const inlineItems = new Map<number, InlineItem>(); // inode -> its inline extent item
  // btrfs check's name triples: every name is a DIR_ITEM, a DIR_INDEX and (for an inode)
  // an INODE_REF that agree (names as crc32c and length: no strings on this path).
  const nameId = (at: number, length: number): string => `${k.device.core.csum_crc32c_update(NAME_HASH_SEED, at, length) >>> 0}:${length}`;
  const inodeRefs = new Set<string>(); // "ino dir index name"
  const indexes: Array<{ dir: number; index: number; name: string; target: number; inode: boolean; kind: number }> = [];
  const dirItems = new Set<string>(); // "dir name"
  const dirNameBytes = new Map<number, number>();
  sv.tree.walkRange(key(0, 0, 0), key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE), (kk, addr, size) => {
    const ino = kk.objectid;
    if (kk.type === INODE_ITEM) {
      inodes.set(ino, { nlink: m.u32(addr + INODE_NLINK), mode: m.u32(addr + INODE_MODE), nbytes: m.u64(addr + INODE_NBYTES), size: m.u64(addr + INODE_SIZE) });
      // btrfs check's "invalid inode generation or transid": none past the running transaction.
      const newest = k.generation + 1;
      if (m.u64(addr + INODE_GENERATION) > newest || m.u64(addr + INODE_TRANSID) > newest) say(`subvolume ${sv.id}: inode ${ino} has generation ${m.u64(addr + INODE_GENERATION)}, transid ${m.u64(addr + INODE_TRANSID)}, past the file system's ${k.generation}`);
    } else if (kk.type === INODE_REF) {
      links.set(ino, (links.get(ino) ?? 0) + countRefsButParent(m, addr, size));
      for (let at = 0; at + INODE_REF_HEADER_BYTES <= size;) {
        const length = m.u16(addr + at + 8);
        if (at + INODE_REF_HEADER_BYTES + length > size) break;
        inodeRefs.add(`${ino} ${kk.offset} ${m.u64(addr + at)} ${nameId(addr + at + INODE_REF_HEADER_BYTES, length)}`);
        at += INODE_REF_HEADER_BYTES + length;
      }
    } else if (kk.type === DIR_ITEM) {
      for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
        const length = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH);
        if (at + DIR_ENTRY_HEADER_BYTES + length > size) break;
        dirItems.add(`${ino} ${nameId(addr + at + DIR_ENTRY_HEADER_BYTES, length)}`);
        if (m.u8[addr + at + KEY_TYPE] === ROOT_ITEM) {
          subvolumeEntries.push({ parent: sv.id, dir: ino, name: nameAt(m, addr + at + DIR_ENTRY_HEADER_BYTES, length), child: m.objectid(addr + at + KEY_OBJECTID), type: DIR_ENTRY_ITEM, index: 0 });
        }
        at += DIR_ENTRY_HEADER_BYTES + length;
      }
    } else if (kk.type === DIR_INDEX) {
      checkDirIndex(k, sv, kk, addr, size, say);
      if (size >= DIR_ENTRY_HEADER_BYTES) {
        const length = m.u16(addr + DIR_ENTRY_NAME_LENGTH);
        if (DIR_ENTRY_HEADER_BYTES + length <= size) {
          indexes.push({ dir: ino, index: kk.offset, name: nameId(addr + DIR_ENTRY_HEADER_BYTES, length), target: m.objectid(addr + KEY_OBJECTID), inode: m.u8[addr + KEY_TYPE] === INODE_ITEM, kind: m.u8[addr + DIR_ENTRY_KIND]! });
          dirNameBytes.set(ino, (dirNameBytes.get(ino) ?? 0) + length);
          if (m.u8[addr + KEY_TYPE] === ROOT_ITEM) {
            subvolumeEntries.push({ parent: sv.id, dir: ino, name: nameAt(m, addr + DIR_ENTRY_HEADER_BYTES, length), child: m.objectid(addr + KEY_OBJECTID), type: DIR_ENTRY_INDEX, index: kk.offset });
          }
        }
      }
    } else if (kk.type === EXTENT_DATA) {
      const e = decodeFileExtent(m.u8.subarray(addr, addr + size));
      const prevEnd = lastExtentEnd.get(ino) ?? 0;
      if (kk.offset < prevEnd) say(`subvolume ${sv.id}: inode ${ino} extents overlap at ${kk.offset}`);
      lastExtentEnd.set(ino, kk.offset + e.bytes);
      if (e.type === EXTENT_TYPE_INLINE) inlineItems.set(ino, { offset: kk.offset, bytes: e.bytes, nulEnded: size > FILE_EXTENT_INLINE_BYTES && m.u8[addr + size - 1] === 0 });
      else if (e.diskBytenr !== 0) mapped.set(ino, (mapped.get(ino) ?? 0) + e.bytes);
    } else if (kk.type === XATTR_ITEM) {
      checkXattrItem(k, sv, kk, addr, size, inodes.has(ino), say);
    }
    return true;
  });
  const indexed = new Set<string>();
  const byRef = new Set<string>();
  for (const x of indexes) {
    indexed.add(`${x.dir} ${x.name}`);
    byRef.add(`${x.target} ${x.dir} ${x.index} ${x.name}`);
    if (!dirItems.has(`${x.dir} ${x.name}`)) continue; // checkDirIndex said so
    if (!x.inode) continue; // a subvolume's entry: its ROOT_REF names it
    if (!inodeRefs.has(`${x.target} ${x.dir} ${x.index} ${x.name}`)) say(`subvolume ${sv.id}: dir ${x.dir} index ${x.index}: inode ${x.target} has no INODE_REF for that name and index`);
    const target = inodes.get(x.target);
    if (target && x.kind !== entryKindOfMode(target.mode)) say(`subvolume ${sv.id}: dir ${x.dir} index ${x.index}: entry type ${x.kind}, inode ${x.target} has mode ${target.mode.toString(8)}`);
  }
  for (const name of dirItems) if (!indexed.has(name)) say(`subvolume ${sv.id}: dir ${name.split(' ')[0]}: a DIR_ITEM name without its DIR_INDEX`);
  for (const ref of inodeRefs) {
    const [ino, dir, index] = ref.split(' ');
    if (ino === dir && index === '0') continue; // the root directory's '..'
    if (!byRef.has(ref)) {
      say(`subvolume ${sv.id}: inode ${ino}: an INODE_REF (dir ${dir}, index ${index}) without its DIR_INDEX`);
    }
  }
  const items: InodeItems = { mapped, inline: inlineItems, extentItems: lastExtentEnd, dirNameBytes };
  for (const [ino, i] of inodes) {
    checkInodeData(sv, ino, i, items, say);
    if (ino === sv.rootDir) continue;
    const found = links.get(ino) ?? 0;
    const expected = isDirMode(i.mode) ? 1 : i.nlink;
    if (found === expected) continue;
    const orphan = sv.tree.lookup(key(ORPHAN_OBJECTID, 48, ino));
    if (!(orphan && found === 0)) say(`subvolume ${sv.id}: inode ${ino} has nlink ${i.nlink} but ${found} names`);
  }
}

/** What checkNamespace's walk found per inode: mapped bytes, inline item, any extent item (its end), directory name bytes. */
interface InodeItems { mapped: Map<number, number>; inline: Map<number, InlineItem>; extentItems: Map<number, number>; dirNameBytes: Map<number, number> }

/** An inode's size and nbytes against its items, by kind. */
function checkInodeData(sv: Subvolume, ino: number, i: { mode: number; nbytes: number; size: number }, items: InodeItems, say: (p: string) => void): void {
  const names = items.dirNameBytes.get(ino) ?? 0, mapped = items.mapped.get(ino) ?? 0;
  // btrfs check's "dir isize wrong": a directory's size is twice its names' bytes.
  if (isDirMode(i.mode) && i.size !== 2 * names) say(`subvolume ${sv.id}: dir ${ino} has size ${i.size} but names of ${names} bytes`);
  // btrfs check's "nbytes wrong": a file's nbytes is the bytes its items map.
  if (isFileMode(i.mode) && i.nbytes !== mapped) say(`subvolume ${sv.id}: inode ${ino} has nbytes ${i.nbytes} but its items map ${mapped}`);
  const kind = kindOfMode(i.mode);
  if (!isSpecialKind(kind)) { checkInlineData(sv, ino, i, items.inline.get(ino), items.mapped.has(ino), say); return; }
  // A device, fifo or socket holds no data: no extent item at all (a hole's neither), size
  // and nbytes 0 (btrfs_mknod).
  const extents = items.extentItems.has(ino);
  if (extents || i.size !== 0 || i.nbytes !== 0) say(`subvolume ${sv.id}: inode ${ino}: a ${kind} of size ${i.size}, nbytes ${i.nbytes}${extents ? ', with extent items' : ''} (special files hold no data)`);
}

/** An inline extent item: its key offset, ram bytes, and whether its last byte is a NUL. */
interface InlineItem { offset: number; bytes: number; nulEnded: boolean }

/**
 * Inline data: a symlink's target is its one extent item, inline at offset 0, as long as
 * its size and nbytes (btrfs_symlink; mkfs.btrfs 6.2's --rootdir stores the target's NUL
 * too, counted in nbytes, not in the size); pmcow keeps no inline data in a regular file
 * (an adoption moves it to an extent) and no extents in a directory.
 */
function checkInlineData(sv: Subvolume, ino: number, i: { mode: number; nbytes: number; size: number }, inline: InlineItem | undefined,
  hasExtents: boolean, say: (p: string) => void): void {
  const where = `subvolume ${sv.id}: inode ${ino}`;
  if (isSymlinkMode(i.mode)) {
    if (!inline) { say(`${where}: a symlink without its inline target`); return; }
    if (hasExtents) say(`${where}: a symlink with data extents`);
    const length = inline.bytes === i.size + 1 && inline.nulEnded ? i.size + 1 : i.size;
    if (inline.offset !== 0 || inline.bytes !== length || i.nbytes !== length) say(`${where}: a symlink of size ${i.size}, nbytes ${i.nbytes}, its target ${inline.bytes} bytes inline at ${inline.offset}`);
  } else if (inline) {
    say(`${where}: an inline extent in a ${isDirMode(i.mode) ? 'directory' : 'regular file'} (pmcow keeps inline data only for symlinks)`);
  } else if (isDirMode(i.mode) && hasExtents) {
    say(`${where}: a directory with data extents`);
  }
}

/** An XATTR_ITEM: its inode exists, and every entry's name hashes to the key's offset. */
function checkXattrItem(k: Kernel, sv: Subvolume, kk: Key, addr: number, size: number, inodeExists: boolean, say: (p: string) => void): void {
  const m = k.m;
  if (!inodeExists) say(`subvolume ${sv.id}: xattrs ${keyText(kk)} of a missing inode`);
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH), valueLength = m.u16(addr + at + DIR_ENTRY_DATA_LENGTH);
    const name = addr + at + DIR_ENTRY_HEADER_BYTES;
    if (k.device.core.csum_crc32c_update(NAME_HASH_SEED, name, length) >>> 0 !== kk.offset) say(`subvolume ${sv.id}: xattr '${nameAt(m, name, length)}' of inode ${kk.objectid} is not at its name's hash`);
    if (m.objectid(addr + at + KEY_OBJECTID) !== 0 || m.u8[addr + at + KEY_TYPE] !== 0) say(`subvolume ${sv.id}: xattr '${nameAt(m, name, length)}' of inode ${kk.objectid} locates an item`);
    at += DIR_ENTRY_HEADER_BYTES + length + valueLength;
  }
}

/** Names of an INODE_REF item at `addr` other than '..' (read in place). */
function countRefsButParent(m: FsMemory, addr: number, size: number): number {
  let n = 0;
  for (let at = 0; at + INODE_REF_HEADER_BYTES <= size;) {
    const length = m.u16(addr + at + 8);
    const name = addr + at + INODE_REF_HEADER_BYTES;
    if (!(length === 2 && m.u8[name] === 0x2e && m.u8[name + 1] === 0x2e)) n++;
    at += INODE_REF_HEADER_BYTES + length;
  }
  return n;
}

/** A DIR_INDEX item at `addr`: its entry has a DIR_ITEM of the same name, and its inode exists. */
function checkDirIndex(k: Kernel, sv: Subvolume, kk: Key, addr: number, size: number, say: (p: string) => void): void {
  const m = k.m;
  if (size < DIR_ENTRY_HEADER_BYTES) { say(`subvolume ${sv.id}: empty DIR_INDEX ${keyText(kk)}`); return; }
  const length = m.u16(addr + DIR_ENTRY_NAME_LENGTH);
  const name = addr + DIR_ENTRY_HEADER_BYTES;
  if (DIR_ENTRY_HEADER_BYTES + length > size) { say(`subvolume ${sv.id}: DIR_INDEX ${keyText(kk)} name past its item`); return; }
  // The name's hash in place (btrfs's: crc32c's register from ~1, not inverted; the DIR_ITEM's key offset).
  const hash = k.device.core.csum_crc32c_update(NAME_HASH_SEED, name, length) >>> 0;
  // A subvolume's entry locates its ROOT_ITEM (btrfs); any other, an inode.
  const location = m.objectid(addr + KEY_OBJECTID), subvolume = m.u8[addr + KEY_TYPE] === ROOT_ITEM;
  if (!subvolume && m.u8[addr + KEY_TYPE] !== INODE_ITEM) say(`subvolume ${sv.id}: dir ${kk.objectid} entry '${nameAt(m, name, length)}' locates an item of type ${m.u8[addr + KEY_TYPE]}`);
  const hashItem = sv.tree.lookup(key(kk.objectid, DIR_ITEM, hash));
  if (!hashItem || !dirItemHasName(m, hashItem.addr, hashItem.size, name, length)) say(`subvolume ${sv.id}: dir ${kk.objectid} index entry '${nameAt(m, name, length)}' has no DIR_ITEM`);
  if (!subvolume && !sv.tree.lookup(key(location, INODE_ITEM, 0))) say(`subvolume ${sv.id}: dir ${kk.objectid} entry '${nameAt(m, name, length)}' points at missing inode ${location}`);
}

/** The name of `length` bytes at `name`, for a finding (copied out: shared memory is not decoded in place). */
function nameAt(m: FsMemory, name: number, length: number): string {
  return decoder.decode(m.u8.slice(name, name + length));
}

/** Does the DIR_ITEM at `addr` hold an entry named by the `length` bytes at `name`? */
function dirItemHasName(m: FsMemory, addr: number, size: number, name: number, length: number): boolean {
  for (let at = 0; at + DIR_ENTRY_HEADER_BYTES <= size;) {
    const n = m.u16(addr + at + DIR_ENTRY_NAME_LENGTH);
    if (n === length) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = m.u8[addr + at + DIR_ENTRY_HEADER_BYTES + i] === m.u8[name + i];
      if (same) return true;
    }
    at += DIR_ENTRY_HEADER_BYTES + n;
  }
  return false;
}

const decoder = new TextDecoder();
