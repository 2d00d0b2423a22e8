// fsck of the tree blocks: every tree is walked from its root pointer (the superblock's
// for the root and chunk trees, a ROOT_ITEM's for every other), each block's header, key
// order and child pointers are checked, and every pointer is counted with who made it,
// for the extent tree's refcounts and back references (fsck-extents.ts).
import type { Kernel } from './kernel.js';
import { isFsTree } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { NodeView } from './node.js';
import type { FsError } from '../errors.js';
import { assert } from '../assert.js';
import { decodeRootItem } from './items.js';
import {
  compareKeys, keyText, key, EXTENT_DATA, ROOT_ITEM, MAX_KEY_VALUE, LAST_OBJECTID, type Key,
} from './format.js';

/** A tree's root pointer: its block, level, and the generation it records (null: none). */
interface TreeRoot { id: number; bytenr: number; level: number; generation: number | null }

/** A file extent item of an fs tree's leaf, with the leaf and the tree that reached it. */
export interface FileExtentItem {
  tree: number; leaf: number; leafOwner: number; k: Key; data: Uint8Array;
}

/** What the walk of every tree found. */
export interface TreeBlocks {
  /** Pointers that reach each block (its refcount by the trees). */
  refs: Map<number, number>;
  /**
   * Who points at each block: a parent block, or a tree's root pointer (rootPointer(tree
   * id)).
   */
  parents: Map<number, number[]>;
  /** Each block's owner and level (its header's). */
  owners: Map<number, number>;
  levels: Map<number, number>;
  fileExtents: FileExtentItem[];
}

/**
 * Each tree's root pointer, and the ROOT_ITEMs checked against the trees the file system
 * has open. Each root pointer counts one reference: the superblock's of the root and chunk
 * trees, a ROOT_ITEM's of every other (the extent, dev and csum trees', the subvolumes').
 * A clean root's generation is what its pointer records (btrfs's parent transid): the
 * superblock's generation for the root tree, its ROOT_ITEM's for the others.
 */
export function treeRoots(k: Kernel, subvolumes: Subvolume[],
  say: (p: string) => void): TreeRoot[] {
  const roots: TreeRoot[] = [
    { id: 1, bytenr: k.rootTree.root, level: k.rootTree.level, generation: k.generation },
    { id: 3, bytenr: k.chunkTree.root, level: k.chunkTree.level, generation: null },
  ];
  const itemRoots = new Map<number, { bytenr: number; level: number }>();
  const first = key(0, ROOT_ITEM, 0), last = key(LAST_OBJECTID, ROOT_ITEM, MAX_KEY_VALUE);
  k.rootTree.walkRange(first, last, (kk, addr, size) => {
    if (kk.type !== ROOT_ITEM) return true;
    const r = decodeRootItem(k.m.u8.slice(addr, addr + size));
    itemRoots.set(kk.objectid, { bytenr: r.bytenr, level: r.level });
    roots.push({ id: kk.objectid, bytenr: r.bytenr, level: r.level, generation: r.generation });
    return true;
  });
  for (const tree of k.itemTrees) {
    const item = itemRoots.get(tree.id);
    if (!item) say(`tree ${tree.id}: no ROOT_ITEM`);
    else if (item.bytenr !== tree.root || item.level !== tree.level) {
      say(`tree ${tree.id}: ROOT_ITEM points at ${item.bytenr} level ${item.level}, `
        + `the superblock at ${tree.root} level ${tree.level}`);
    }
  }
  for (const sv of subvolumes) {
    const item = itemRoots.get(sv.id);
    if (!item) say(`subvolume ${sv.id}: no ROOT_ITEM`);
    else if (item.bytenr !== sv.tree.root) {
      say(`subvolume ${sv.id}: ROOT_ITEM points at ${item.bytenr}, tree root is ${sv.tree.root}`);
    }
  }
  return roots;
}

/** The walk's state: the kernel, where findings go, what it found, the blocks it read. */
interface Walk { k: Kernel; say: (p: string) => void; blocks: TreeBlocks; visited: Set<number> }

/** Walk every tree from its root pointer, each block once, counting every pointer. */
export function walkTrees(k: Kernel, roots: TreeRoot[], say: (p: string) => void): TreeBlocks {
  const blocks: TreeBlocks = {
    refs: new Map(), parents: new Map(), owners: new Map(), levels: new Map(), fileExtents: [],
  };
  const w: Walk = { k, say, blocks, visited: new Set() };
  for (const r of roots) {
    const expectGen = k.isDirty(r.bytenr) ? null : r.generation;
    walkBlock(w, r.bytenr, r.level, r.id, null, expectGen, rootPointer(r.id));
  }
  assert(blocks.refs.size === blocks.parents.size,
    'every block a pointer reaches has its pointers listed');
  return blocks;
}

function walkBlock(w: Walk, bytenr: number, level: number, owner: number, low: Key | null,
  expectGen: number | null, parent: number): void {
  const { blocks, say } = w;
  blocks.refs.set(bytenr, (blocks.refs.get(bytenr) ?? 0) + 1);
  const from = blocks.parents.get(bytenr);
  if (from) from.push(parent); else blocks.parents.set(bytenr, [parent]);
  if (w.visited.has(bytenr)) return;
  w.visited.add(bytenr);
  const node = readBlock(w, bytenr, owner);
  if (!node) return;
  blocks.owners.set(bytenr, node.owner);
  blocks.levels.set(bytenr, node.level);
  // Levels fall by one per step: a pointer back up the tree (a loop) stops here.
  if (node.level !== level) {
    say(`block ${bytenr}: level ${node.level}, parent expects ${level}`);
    return;
  }
  if (expectGen !== null && node.generation !== expectGen) {
    say(`block ${bytenr}: generation ${node.generation}, parent pointer says ${expectGen}`);
  }
  if (node.generation > w.k.generation) {
    say(`block ${bytenr}: generation ${node.generation} is newer than the superblock's `
      + `${w.k.generation}`);
  }
  walkSlots(w, node, bytenr, level, owner, low);
}

/** The block at `bytenr` (null when unreadable: said), each of its dup copies checked. */
function readBlock(w: Walk, bytenr: number, owner: number): NodeView | null {
  const k = w.k;
  let node: NodeView;
  try {
    node = new NodeView(k.m, k.nodeAddr(bytenr), k.nodeBytes);
  } catch (e) {
    w.say(`tree ${owner}: block ${bytenr}: ${(e as FsError).message}`);
    return null;
  }
  // dup: every copy must be good, not just the one reads use.
  if (k.metadataCopies > 1 && !k.isDirty(bytenr)) {
    for (let copy = 0; copy < k.metadataCopies; copy++) {
      const bad = k.checkCopy(bytenr, copy);
      if (bad) w.say(`tree ${owner}: ${bad.message}`);
    }
  }
  return node;
}

/** A block's keys in order (the first its parent's), its items inside it, its children. */
function walkSlots(w: Walk, node: NodeView, bytenr: number, level: number, owner: number,
  low: Key | null): void {
  const { k, say } = w;
  let prev: Key | null = null;
  for (let s = 0; s < node.nritems; s++) {
    const kk = node.key(s);
    if (prev && compareKeys(prev, kk) >= 0) {
      say(`block ${bytenr}: keys out of order at slot ${s}: ${keyText(prev)} then ${keyText(kk)}`);
    }
    if (s === 0 && low && compareKeys(kk, low) !== 0) {
      say(`block ${bytenr}: first key ${keyText(kk)} is not its parent's key ${keyText(low)}`);
    }
    prev = kk;
    if (node.isLeaf) {
      if (node.dataOffset(s) + node.dataSize(s) > k.nodeBytes) {
        say(`block ${bytenr}: item ${s} data outside the node`);
      }
      if (isFsTree(owner) && kk.type === EXTENT_DATA) {
        const data = k.m.u8.slice(node.data(s), node.data(s) + node.dataSize(s));
        const leafOwner = node.owner;
        w.blocks.fileExtents.push({ tree: owner, leaf: bytenr, leafOwner, k: kk, data });
      }
    } else {
      walkBlock(w, node.child(s), level - 1, owner, kk, node.childGeneration(s), bytenr);
    }
  }
}

/**
 * A tree's root pointer among a block's parents (block bytenrs are never negative): below
 * -511 for tree ids from 0, -511..-256 for btrfs's special ids -256..-1.
 */
function rootPointer(tree: number): number {
  return -(tree + 512);
}

export function rootPointerTree(p: number): number {
  return -p - 512;
}

/**
 * The blocks that are FULL_BACKREF by btrfs's rule: a subvolume tree's block its owner no
 * longer reaches (it reaches a block when the block is its root, or a parent of the same
 * owner that it reaches points at it: a tree's blocks are its own or shared from its
 * source, and a block a tree made is pointed at by blocks it made). `parents` lists each
 * block's pointers: a parent block, or -(tree id) for a root pointer.
 */
export function fullBackrefs(parents: Map<number, number[]>,
  owners: Map<number, number>): Set<number> {
  const reaches = new Map<number, boolean>();
  const ownerReaches = (bytenr: number, depth: number): boolean => {
    const known = reaches.get(bytenr);
    if (known !== undefined) return known;
    const owner = owners.get(bytenr);
    let found = false;
    // Levels fall by one per step (the walk checked them): a corrupted loop ends here.
    if (depth <= 16) {
      for (const p of parents.get(bytenr) ?? []) {
        const reached = p < 0
          ? rootPointerTree(p) === owner
          : owners.get(p) === owner && ownerReaches(p, depth + 1);
        if (reached) { found = true; break; }
      }
    }
    reaches.set(bytenr, found);
    return found;
  };
  const full = new Set<number>();
  for (const [bytenr, owner] of owners) {
    if (isFsTree(owner) && !ownerReaches(bytenr, 0)) full.add(bytenr);
  }
  return full;
}
