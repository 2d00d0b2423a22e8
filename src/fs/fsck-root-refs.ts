// fsck of the subvolume references (btrfs check's "checking root refs"), from the items
// alone: a subvolume is named in its parent by a DIR_ITEM and a DIR_INDEX whose location is
// its ROOT_ITEM, and in the root tree by a ROOT_REF (parent -> child) and a ROOT_BACKREF
// (child -> parent) that say the same directory, index and name. A reference counts once its
// parent's entry and the ROOT_REF are both there, and only while its parent is itself
// referenced (the top subvolume, 5, always is); a subvolume's counted references are its
// ROOT_ITEM's refs, and one with none is being deleted (it has an orphan item).
import type { Kernel } from './kernel.js';
import {
  key, ROOT_ITEM, ROOT_REF, ROOT_BACKREF, ORPHAN_ITEM, ORPHAN_OBJECTID, FS_TREE_ID,
  FIRST_SUBVOLUME_ID, MAX_KEY_VALUE, type Key,
} from './format.js';
import { ROOT_REF_HEADER_BYTES, RI_REFS } from '../core/abi.js';
import { assert } from '../assert.js';

/** A parent's directory entry that locates a subvolume's ROOT_ITEM. */
export interface SubvolumeEntry {
  parent: number; dir: number; name: string; child: number;
  type: typeof DIR_ENTRY_ITEM | typeof DIR_ENTRY_INDEX; index: number;
}
export const DIR_ENTRY_ITEM = 'item';
export const DIR_ENTRY_INDEX = 'index';

interface Reference {
  parent: number; dir: number; name: string;
  index: number | null; dirItem: boolean; dirIndex: boolean; forward: boolean; back: boolean;
  mismatch: boolean; reachable: boolean;
}

/** child -> "parent dir name" -> reference */
type References = Map<number, Map<string, Reference>>;

/** What the root tree says of the subvolumes. */
interface RootTreeRefs {
  /** subvolume -> its ROOT_ITEM's refs */
  expected: Map<number, number>;
  orphans: Set<number>;
  refs: References;
  /** "parent child" with a ROOT_REF or a ROOT_BACKREF */
  children: Set<string>;
}

const decoder = new TextDecoder();

export function checkRootRefs(k: Kernel, entries: SubvolumeEntry[],
  say: (p: string) => void): void {
  const tree = readRootTree(k, say);
  // A parent's entry counts only for a child the root tree says is its own: a snapshot's
  // copy of the entry of a subvolume inside its source is a placeholder, not a reference.
  for (const e of entries) {
    if (!tree.children.has(`${e.parent} ${e.child}`)) continue;
    const r = refOf(tree.refs, e.child, e.parent, e.dir, e.name);
    if (e.type === DIR_ENTRY_ITEM) r.dirItem = true;
    else { r.dirIndex = true; noteIndex(r, e.index); }
  }
  markReachable(tree.refs);
  checkReferenceCounts(tree, say);
}

function refOf(refs: References, child: number, parent: number, dir: number,
  name: string): Reference {
  let byName = refs.get(child);
  if (!byName) refs.set(child, byName = new Map());
  const id = `${parent} ${dir} ${name}`;
  let r = byName.get(id);
  if (!r) {
    r = {
      parent, dir, name, index: null, dirItem: false, dirIndex: false, forward: false, back: false,
      mismatch: false, reachable: false,
    };
    byName.set(id, r);
  }
  return r;
}

function noteIndex(r: Reference, index: number): void {
  if (r.index === null) r.index = index;
  else if (r.index !== index) r.mismatch = true;
}

/** The ROOT_ITEMs' refs, the orphan items, and the ROOT_REFs and ROOT_BACKREFs. */
function readRootTree(k: Kernel, say: (p: string) => void): RootTreeRefs {
  const m = k.m;
  const tree: RootTreeRefs = {
    expected: new Map(), orphans: new Set(), refs: new Map(), children: new Set(),
  };
  k.rootTree.walkRange(key(0, 0, 0), key(MAX_KEY_VALUE, 255, MAX_KEY_VALUE), (kk, addr, size) => {
    if (kk.type === ROOT_ITEM && isSubvolume(kk.objectid)) {
      tree.expected.set(kk.objectid, m.u32(addr + RI_REFS));
    } else if (kk.type === ORPHAN_ITEM && kk.objectid === ORPHAN_OBJECTID) {
      tree.orphans.add(kk.offset);
    } else if (kk.type === ROOT_REF || kk.type === ROOT_BACKREF) {
      noteRootRef(k, tree, kk, addr, size, say);
    }
    return true;
  });
  return tree;
}

function noteRootRef(k: Kernel, tree: RootTreeRefs, kk: Key, addr: number, size: number,
  say: (p: string) => void): void {
  const m = k.m;
  const forward = kk.type === ROOT_REF;
  const [parent, child] = forward ? [kk.objectid, kk.offset] : [kk.offset, kk.objectid];
  tree.children.add(`${parent} ${child}`);
  const length = size >= ROOT_REF_HEADER_BYTES ? m.u16(addr + 16) : -1;
  if (length < 0 || ROOT_REF_HEADER_BYTES + length > size) {
    say(`root tree: ${forward ? 'ROOT_REF' : 'ROOT_BACKREF'} ${kk.objectid} -> ${kk.offset}: `
      + 'its name runs past the item');
    return;
  }
  const nameAt = addr + ROOT_REF_HEADER_BYTES;
  const name = decoder.decode(m.u8.slice(nameAt, nameAt + length));
  const r = refOf(tree.refs, child, parent, m.u64(addr), name);
  if (forward) { if (r.forward) r.mismatch = true; r.forward = true; }
  else { if (r.back) r.mismatch = true; r.back = true; }
  noteIndex(r, m.u64(addr + 8));
}

/** References reaching a subvolume (the top one is always reached). */
function found(refs: References, id: number): number {
  if (id === FS_TREE_ID) return 1;
  let n = 0;
  for (const r of refs.get(id)?.values() ?? []) if (r.reachable) n++;
  return n;
}

/**
 * Reachability from the top subvolume: a reference whose parent is not referenced does
 * not count, to a fixed point.
 */
function markReachable(refs: References): void {
  for (const byName of refs.values()) {
    for (const r of byName.values()) r.reachable = r.forward && r.dirItem;
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const byName of refs.values()) {
      for (const r of byName.values()) {
        if (r.reachable && found(refs, r.parent) === 0) { r.reachable = false; changed = true; }
      }
    }
  }
}

/** Each subvolume's reachable references against its ROOT_ITEM, each with all four items. */
function checkReferenceCounts(tree: RootTreeRefs, say: (p: string) => void): void {
  const ids = new Set<number>([...tree.expected.keys(), ...tree.refs.keys()]);
  for (const id of ids) {
    if (!isSubvolume(id)) continue;
    const n = found(tree.refs, id), want = tree.expected.get(id);
    if (want !== undefined && n !== want) {
      say(`subvolume ${id}: ${n} references reach it, its ROOT_ITEM says ${want}`);
    } else if (want === 0 && !tree.orphans.has(id)) {
      say(`subvolume ${id}: no references and no orphan item`);
    }
    if (n > 0 && want === undefined) say(`subvolume ${id}: referenced but has no ROOT_ITEM`);
    for (const r of tree.refs.get(id)?.values() ?? []) {
      if (!r.reachable) continue;
      assert(r.forward && r.dirItem, 'a reference counts only with its ROOT_REF and DIR_ITEM');
      const from = `subvolume ${id}: its reference from ${r.parent} dir ${r.dir} '${r.name}'`;
      const missing = [
        !r.dirItem && 'DIR_ITEM', !r.dirIndex && 'DIR_INDEX', !r.forward && 'ROOT_REF',
        !r.back && 'ROOT_BACKREF',
      ].filter(Boolean);
      if (missing.length) say(`${from} has no ${missing.join(', ')}`);
      if (r.mismatch) say(`${from} has items that disagree on its index`);
    }
  }
}

/** A subvolume tree's id (btrfs check's range FIRST_FREE .. LAST_FREE, and the top one). */
function isSubvolume(id: number): boolean {
  return id >= FIRST_SUBVOLUME_ID;
}
