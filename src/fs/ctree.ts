// The COW B-tree (btrfs's ctree). Every change goes through a copy-on-write descent:
// a node not yet copied in this transaction is copied to a new block, and the parent
// (or the root pointer) is moved to the copy. Reference counts are never decided here:
// every pointer that appears or disappears is reported to the host, which keeps them
// as delayed refs until commit (see kernel.ts).
//
// Walks trust no pointer: a child must be one level below its parent, carry the
// generation the parent's pointer records, and hold keys inside the parent's range for
// it. Levels fall by one per step from at most MAX_LEVEL and key ranges of siblings are
// disjoint, so no walk of a corrupted tree can loop or reach one block twice.
import {
  compareKeys, keyText, LEAF_ITEM_BYTES, NODE_HEADER_BYTES, type Key,
} from './format.js';
import { NodeView } from './node.js';
import type { FsMemory } from './memory.js';
import { FsError } from '../errors.js';

/** What a tree needs from its file system. */
export interface TreeHost {
  readonly m: FsMemory;
  /** Called before any tree is changed (an insert, update or delete starts its COW descent). */
  treeChanged(): void;
  readonly nodeBytes: number;
  /** Address of the node's current content; verifies a clean node's checksum. */
  nodeAddr(bytenr: number): number;
  isDirty(bytenr: number): boolean;
  /** Copy a clean node into a new dirty block owned by `owner`; returns its bytenr. */
  cowNode(bytenr: number, owner: number): number;
  /** A new, empty, dirty node. */
  allocNode(owner: number, level: number): number;
  /** Pointer bookkeeping: a node now points (or no longer points) at a block. */
  /** level >= 0: a tree block at that level; -1: a data extent of `bytes` bytes. */
  pointerAdded(container: number, target: number, tree: BTree, level: number, bytes?: number): void;
  pointerRemoved(container: number, target: number, tree: BTree, level: number, bytes?: number): void;
  /** A block lost a pointer through COW: if that was its last, drop its own pointers now. */
  maybeDropNode(bytenr: number, tree: BTree): void;
  /** A leaf item's data-extent pointer, if it has one. */
  itemPointer(owner: number, k: Key, dataAddr: number, dataSize: number): { bytenr: number; bytes: number } | null;
  coreSearch(nodeAddr: number, k: Key): number;
}

export const ROOT_POINTER = -1;

interface PathLevel { bytenr: number; slot: number }

export interface Item { key: Key; data: Uint8Array }

export class BTree {
  constructor(
    readonly host: TreeHost,
    readonly id: number,
    public root: number,
    public level: number,
    private readonly onRootMoved: (tree: BTree, old: number, next: number) => void,
  ) {}

  private view(bytenr: number): NodeView {
    return new NodeView(this.host.m, this.host.nodeAddr(bytenr), this.host.nodeBytes);
  }

  private search(k: Key, node: NodeView): number {
    return this.host.coreSearch(node.addr, k);
  }

  /**
   * The child at parent[slot], checked against its parent. `high` is the exclusive upper
   * bound of the parent's own keys (null: none). A dirty child was made by this
   * transaction and is trusted; a clean one was read from the device and must be one
   * level lower, of the generation the pointer records, non-empty, and hold keys in
   * [parent key(slot), parent key(slot + 1) or high).
   */
  private child(parent: NodeView, slot: number, high: Key | null): NodeView {
    const bytenr = parent.child(slot);
    const node = this.view(bytenr);
    if (this.host.isDirty(bytenr)) return node;
    if (node.level !== parent.level - 1) this.badChild(parent, slot, `level ${node.level}, parent is at ${parent.level}`);
    if (node.generation !== parent.childGeneration(slot)) this.badChild(parent, slot, `generation ${node.generation}, parent pointer says ${parent.childGeneration(slot)}`);
    const n = node.nritems;
    if (n === 0) this.badChild(parent, slot, 'empty node below the root');
    // Compared in place: this runs at every step of every lookup below a clean node.
    const m = this.host.m;
    const first = node.keyAt(0), last = node.keyAt(n - 1), low = parent.ptrAt(slot);
    if (m.compareKeysAt(first, low) < 0) this.badChild(parent, slot, `first key ${keyText(m.key(first))} below the parent's ${keyText(m.key(low))}`);
    const above = slot + 1 < parent.nritems ? m.compareKeysAt(last, parent.ptrAt(slot + 1)) : high ? m.compareKeyAt(last, high) : -1;
    if (above >= 0) this.badChild(parent, slot, `last key ${keyText(m.key(last))} not below ${keyText(BTree.upperBound(parent, slot, high)!)}`);
    return node;
  }

  private badChild(parent: NodeView, slot: number, what: string): never {
    throw new FsError('EUCLEAN', `tree ${this.id}: block ${parent.child(slot)} (slot ${slot} of ${parent.bytenr}): ${what}`);
  }

  /** Upper bound for the keys of parent[slot]'s subtree, given the parent's own bound. */
  private static upperBound(parent: NodeView, slot: number, high: Key | null): Key | null {
    return slot + 1 < parent.nritems ? parent.key(slot + 1) : high;
  }

  // --- pointer bookkeeping for whole nodes -----------------------------------------

  /** Report every pointer held by a node (used when items move or a copy appears). */
  private reportPointers(node: NodeView, bytenr: number, from: number, to: number, added: boolean): void {
    const h = this.host;
    for (let s = from; s < to; s++) {
      if (node.isLeaf) {
        const p = h.itemPointer(this.id, node.key(s), node.data(s), node.dataSize(s));
        if (p) (added ? h.pointerAdded : h.pointerRemoved).call(h, bytenr, p.bytenr, this, -1, p.bytes);
      } else {
        (added ? h.pointerAdded : h.pointerRemoved).call(h, bytenr, node.child(s), this, node.level - 1);
      }
    }
  }

  // --- copy-on-write descent ---------------------------------------------------------

  private cowRoot(): void {
    if (this.host.isDirty(this.root)) return;
    const next = this.host.cowNode(this.root, this.id);
    this.reportPointers(this.view(next), next, 0, this.view(next).nritems, true);
    const old = this.root;
    this.root = next;
    this.onRootMoved(this, old, next);
    this.host.maybeDropNode(old, this);
  }

  private cowChild(parentBytenr: number, slot: number): number {
    const parent = this.view(parentBytenr);
    const child = parent.child(slot);
    if (this.host.isDirty(child)) return child;
    const next = this.host.cowNode(child, this.id);
    const copy = this.view(next);
    this.reportPointers(copy, next, 0, copy.nritems, true);
    parent.setChild(slot, next, copy.generation);
    this.host.pointerRemoved(parentBytenr, child, this, parent.level - 1);
    this.host.pointerAdded(parentBytenr, next, this, parent.level - 1);
    this.host.maybeDropNode(child, this);
    return next;
  }

  /** Grow the tree by one level: a new root holding one pointer to the old root. */
  private growRoot(): void {
    const old = this.root;
    const oldNode = this.view(old);
    const next = this.host.allocNode(this.id, oldNode.level + 1);
    const top = this.view(next);
    top.ptrInsert(0, oldNode.nritems > 0 ? oldNode.key(0) : { objectid: 0, type: 0, offset: 0 }, old, oldNode.generation);
    this.host.pointerAdded(next, old, this, oldNode.level);
    this.root = next;
    this.level = oldNode.level + 1;
    this.onRootMoved(this, old, next);
  }

  /** Split the full internal child at parent[slot] in two; the parent has room. */
  private splitInternal(parentBytenr: number, slot: number): void {
    const parent = this.view(parentBytenr);
    const leftBytenr = parent.child(slot);
    const left = this.view(leftBytenr);
    const n = left.nritems;
    const mid = n >> 1;
    const rightBytenr = this.host.allocNode(this.id, left.level);
    const right = this.view(rightBytenr);
    this.host.m.copyWithin(right.ptrAt(0), left.ptrAt(mid), (n - mid) * 33);
    right.nritems = n - mid;
    this.reportPointers(right, rightBytenr, 0, n - mid, true);
    this.reportPointers(left, leftBytenr, mid, n, false);
    left.nritems = mid;
    parent.ptrInsert(slot + 1, right.key(0), rightBytenr, right.generation);
    this.host.pointerAdded(parentBytenr, rightBytenr, this, left.level);
  }

  private nearlyFull(node: NodeView): boolean {
    return !node.isLeaf && node.nritems >= node.ptrCapacity() - 1;
  }

  private childSlot(node: NodeView, k: Key): number {
    const r = this.search(k, node);
    return r >= 0 ? r : Math.max(0, -r - 2);
  }

  /**
   * Descend to the leaf where `k` is or would be. With cow, every node on the path is
   * made dirty and every nearly full internal node is split on the way down, so a leaf
   * split always finds room in its parent.
   */
  private descend(k: Key, cow: boolean): { path: PathLevel[]; found: boolean } {
    if (cow) {
      this.host.treeChanged();
      this.cowRoot();
      if (this.nearlyFull(this.view(this.root))) this.growRoot();
    }
    const top = this.view(this.root).level;
    const path: PathLevel[] = new Array(top + 1);
    let bytenr = this.root;
    let high: Key | null = null;
    let node = this.view(bytenr);
    for (let level = top; ; level--) {
      if (node.level !== level) throw new FsError('EUCLEAN', `tree ${this.id}: node ${bytenr} has level ${node.level}, expected ${level}`);
      if (level === 0) {
        const r = this.search(k, node);
        path[0] = { bytenr, slot: r >= 0 ? r : -r - 1 };
        // Every node a change will write must be a copy of this transaction. A clean one
        // here means the allocator handed out a block the tree still uses (a corrupted
        // extent tree): writing it would change committed metadata in place.
        if (cow) {
          for (const p of path) {
            if (!this.host.isDirty(p.bytenr)) throw new FsError('EUCLEAN', `tree ${this.id}: block ${p.bytenr} on a copy-on-write path is not a copy (the extent tree and tree ${this.id} disagree)`);
          }
        }
        return { path, found: r >= 0 };
      }
      let slot = this.childSlot(node, k);
      const checked = this.child(node, slot, high);
      if (cow) {
        const child = this.cowChild(bytenr, slot);
        if (this.nearlyFull(this.view(child))) {
          this.splitInternal(bytenr, slot);
          slot = this.childSlot(node, k);
          this.cowChild(bytenr, slot); // both halves are dirty already: no copy
        }
      }
      path[level] = { bytenr, slot };
      high = BTree.upperBound(node, slot, high);
      bytenr = node.child(slot);
      node = cow ? this.view(bytenr) : checked; // cow moved the pointer to a copy
    }
  }

  // --- leaf split --------------------------------------------------------------------

  /** Make room for `need` bytes at path[0].slot by splitting the leaf. */
  private splitLeaf(path: PathLevel[], k: Key, need: number): void {
    if (path.length === 1) {
      this.growRoot();
      path.push({ bytenr: this.root, slot: 0 });
    }
    const leafBytenr = path[0]!.bytenr;
    const leaf = this.view(leafBytenr);
    const n = leaf.nritems;
    const slot = path[0]!.slot;
    const capacity = this.host.nodeBytes - NODE_HEADER_BYTES;
    const prefix: number[] = [0];
    for (let i = 0; i < n; i++) prefix.push(prefix[i]! + leaf.dataSize(i) + LEAF_ITEM_BYTES);
    const total = prefix[n]!;
    // A split point m (items [0, m) stay, [m, n) move right) and the side the new item
    // goes to. Neither half may end up empty, and the side must have room.
    const choose = (m: number): 'left' | 'right' | null => {
      const canLeft = slot <= m && m < n && prefix[m]! + need <= capacity;
      const canRight = slot >= m && m > 0 && total - prefix[m]! + need <= capacity;
      if (slot < m) return canLeft ? 'left' : null;
      if (slot > m) return canRight ? 'right' : null;
      return canRight ? 'right' : canLeft ? 'left' : null;
    };
    let mid = 0;
    while (mid < n && prefix[mid + 1]! <= total / 2) mid++;
    mid = Math.min(Math.max(mid, 1), n);
    let side = choose(mid);
    if (!side) { mid = slot; side = choose(mid); }
    if (!side) throw new FsError('EFBIG', `item of ${need} bytes does not fit in a ${this.host.nodeBytes}-byte node`);
    const rightBytenr = this.host.allocNode(this.id, 0);
    const right = this.view(rightBytenr);
    for (let i = mid; i < n; i++) {
      const size = leaf.dataSize(i);
      const dst = right.leafInsert(i - mid, leaf.key(i), size);
      this.host.m.copyWithin(dst, leaf.data(i), size);
    }
    this.reportPointers(right, rightBytenr, 0, n - mid, true);
    this.reportPointers(leaf, leafBytenr, mid, n, false);
    leaf.leafDelete(mid, n - mid);
    const parentLevel = path[1]!;
    const parent = this.view(parentLevel.bytenr);
    const rightKey = side === 'right' && slot === mid ? k : right.key(0);
    parent.ptrInsert(parentLevel.slot + 1, rightKey, rightBytenr, right.generation);
    this.host.pointerAdded(parentLevel.bytenr, rightBytenr, this, 0);
    if (side === 'right') {
      path[0] = { bytenr: rightBytenr, slot: slot - mid };
      parentLevel.slot += 1;
    }
  }

  /** After slot 0 of a node changed, refresh the separator keys above it. */
  private fixLowKeys(path: PathLevel[], fromLevel: number, k: Key): void {
    for (let level = fromLevel + 1; level < path.length; level++) {
      const p = path[level]!;
      this.view(p.bytenr).setKey(p.slot, k);
      if (p.slot !== 0) break;
    }
  }

  // --- public operations -------------------------------------------------------------

  /** Read-only lookup: the item's data address and size, or null. */
  lookup(k: Key): { addr: number; size: number } | null {
    const { path, found } = this.descend(k, false);
    if (!found) return null;
    const leaf = this.view(path[0]!.bytenr);
    return { addr: leaf.data(path[0]!.slot), size: leaf.dataSize(path[0]!.slot) };
  }

  get(k: Key): Uint8Array | null {
    const r = this.lookup(k);
    return r ? this.host.m.u8.slice(r.addr, r.addr + r.size) : null;
  }

  /** Insert a new item (EEXIST if the key is present). */
  insert(k: Key, data: Uint8Array): void {
    const need = data.length + LEAF_ITEM_BYTES;
    if (need > (this.host.nodeBytes - NODE_HEADER_BYTES) / 2) throw new FsError('EFBIG', `item ${keyText(k)} of ${data.length} bytes is too large`);
    const { path, found } = this.descend(k, true);
    if (found) throw new FsError('EEXIST', `tree ${this.id}: key ${keyText(k)} exists`);
    if (this.view(path[0]!.bytenr).leafFreeBytes() < need) this.splitLeaf(path, k, need);
    const leaf = this.view(path[0]!.bytenr);
    const slot = path[0]!.slot;
    const at = leaf.leafInsert(slot, k, data.length);
    this.host.m.u8.set(data, at);
    this.reportPointers(leaf, path[0]!.bytenr, slot, slot + 1, true);
    if (slot === 0) this.fixLowKeys(path, 0, k);
  }

  /** Replace an existing item's data (any size up to half a node). */
  update(k: Key, data: Uint8Array): void {
    // Refuse before anything changes: the fallback below deletes and re-inserts.
    if (data.length + LEAF_ITEM_BYTES > (this.host.nodeBytes - NODE_HEADER_BYTES) / 2) throw new FsError('EFBIG', `item ${keyText(k)} of ${data.length} bytes is too large`);
    const { path, found } = this.descend(k, true);
    if (!found) throw new FsError('ENOENT', `tree ${this.id}: key ${keyText(k)} not found`);
    let leaf = this.view(path[0]!.bytenr);
    const slot = path[0]!.slot;
    this.reportPointers(leaf, path[0]!.bytenr, slot, slot + 1, false);
    const delta = data.length - leaf.dataSize(slot);
    if (delta > 0 && leaf.leafFreeBytes() < delta) {
      // Out of room: delete and re-insert (the split logic lives in insert).
      leaf.leafDelete(slot, 1);
      this.afterDelete(path);
      this.insert(k, data);
      return;
    }
    const at = leaf.leafResize(slot, data.length);
    this.host.m.u8.set(data, at);
    leaf = this.view(path[0]!.bytenr);
    this.reportPointers(leaf, path[0]!.bytenr, slot, slot + 1, true);
  }

  /** Insert or replace. */
  put(k: Key, data: Uint8Array): void {
    if (this.lookup(k)) this.update(k, data); else this.insert(k, data);
  }

  /** Delete an item; returns false when absent. */
  delete(k: Key): boolean {
    const { path, found } = this.descend(k, true);
    if (!found) return false;
    const leaf = this.view(path[0]!.bytenr);
    const slot = path[0]!.slot;
    this.reportPointers(leaf, path[0]!.bytenr, slot, slot + 1, false);
    leaf.leafDelete(slot, 1);
    if (slot === 0 && leaf.nritems > 0) this.fixLowKeys(path, 0, leaf.key(0));
    this.afterDelete(path);
    return true;
  }

  /** Remove empty nodes and merge small ones after a deletion at path[0]. */
  private afterDelete(path: PathLevel[]): void {
    for (let level = 0; level < path.length - 1; level++) {
      const node = this.view(path[level]!.bytenr);
      const parentLevel = path[level + 1]!;
      const parent = this.view(parentLevel.bytenr);
      if (node.nritems === 0) {
        parent.ptrDelete(parentLevel.slot, 1);
        this.host.pointerRemoved(parentLevel.bytenr, path[level]!.bytenr, this, level);
        if (parentLevel.slot === 0 && parent.nritems > 0) this.fixLowKeys(path, level + 1, parent.key(0));
        continue;
      }
      this.tryMergeRight(path, level);
    }
    // Collapse a root with a single child.
    let root = this.view(this.root);
    while (root.level > 0 && root.nritems <= 1) {
      const old = this.root;
      if (root.nritems === 0) {
        // Empty tree: a fresh empty leaf.
        const leafBytenr = this.host.allocNode(this.id, 0);
        this.root = leafBytenr;
        this.level = 0;
        this.onRootMoved(this, old, leafBytenr);
      } else {
        const child = root.child(0);
        this.root = child;
        this.level = root.level - 1;
        this.onRootMoved(this, old, child);
      }
      root = this.view(this.root);
    }
  }

  /** Merge path[level]'s node with its right sibling when both fit in one node. */
  private tryMergeRight(path: PathLevel[], level: number): void {
    const parentLevel = path[level + 1]!;
    const parent = this.view(parentLevel.bytenr);
    const node = this.view(path[level]!.bytenr);
    const quarter = this.host.nodeBytes / 4;
    const used = node.isLeaf ? node.leafUsedBytes() : node.nritems * 33;
    if (used >= quarter) return;
    if (parentLevel.slot + 1 >= parent.nritems) return;
    const siblingBytenr = this.cowChild(parentLevel.bytenr, parentLevel.slot + 1);
    const sibling = this.view(siblingBytenr);
    const siblingUsed = sibling.isLeaf ? sibling.leafUsedBytes() : sibling.nritems * 33;
    if (used + siblingUsed > this.host.nodeBytes - NODE_HEADER_BYTES - 64) return;
    const n = node.nritems;
    const count = sibling.nritems;
    if (node.isLeaf) {
      for (let i = 0; i < count; i++) {
        const size = sibling.dataSize(i);
        const dst = node.leafInsert(n + i, sibling.key(i), size);
        this.host.m.copyWithin(dst, sibling.data(i), size);
      }
    } else {
      this.host.m.copyWithin(node.ptrAt(n), sibling.ptrAt(0), count * 33);
      node.nritems = n + count;
    }
    this.reportPointers(node, path[level]!.bytenr, n, n + count, true);
    this.reportPointers(sibling, siblingBytenr, 0, count, false);
    sibling.nritems = 0;
    parent.ptrDelete(parentLevel.slot + 1, 1);
    this.host.pointerRemoved(parentLevel.bytenr, siblingBytenr, this, level);
  }

  // --- iteration ---------------------------------------------------------------------

  /** Items with min <= key <= max, in key order (copies). */
  range(min: Key, max: Key, limit = Infinity): Item[] {
    const out: Item[] = [];
    this.walkRange(min, max, (k, addr, size) => {
      out.push({ key: k, data: this.host.m.u8.slice(addr, addr + size) });
      return out.length < limit;
    });
    return out;
  }

  /** Visit items with min <= key <= max in order; the visitor returns false to stop. */
  walkRange(min: Key, max: Key, visit: (k: Key, addr: number, size: number) => boolean): void {
    const walk = (node: NodeView, high: Key | null): boolean => {
      const n = node.nritems;
      if (node.isLeaf) {
        const r = this.search(min, node);
        for (let s = r >= 0 ? r : -r - 1; s < n; s++) {
          const k = node.key(s);
          if (compareKeys(k, max) > 0) return false;
          if (!visit(k, node.data(s), node.dataSize(s))) return false;
        }
        return true;
      }
      const r = this.search(min, node);
      for (let s = r >= 0 ? r : Math.max(0, -r - 2); s < n; s++) {
        if (s > 0 && compareKeys(node.key(s), max) > 0) return false;
        if (!walk(this.child(node, s, high), BTree.upperBound(node, s, high))) return false;
      }
      return true;
    };
    walk(this.view(this.root), null);
  }

  /** The last item with key <= k, or null. */
  lastAtOrBefore(k: Key): Item | null {
    const find = (node: NodeView, high: Key | null): Item | null => {
      const r = this.search(k, node);
      if (node.isLeaf) {
        const s = r >= 0 ? r : -r - 2;
        if (s < 0) return null;
        return { key: node.key(s), data: this.host.m.u8.slice(node.data(s), node.data(s) + node.dataSize(s)) };
      }
      for (let s = r >= 0 ? r : -r - 2; s >= 0; s--) {
        const hit = find(this.child(node, s, high), BTree.upperBound(node, s, high));
        if (hit) return hit;
      }
      return null;
    };
    return find(this.view(this.root), null);
  }

  /** Visit every node (pre-order) with its level and parent pointer info. */
  visitNodes(visit: (bytenr: number, node: NodeView, parent: { bytenr: number; slot: number } | null) => boolean): void {
    const walk = (bytenr: number, node: NodeView, parent: { bytenr: number; slot: number } | null, high: Key | null): void => {
      if (!visit(bytenr, node, parent)) return;
      if (!node.isLeaf) {
        for (let s = 0; s < node.nritems; s++) walk(node.child(s), this.child(node, s, high), { bytenr, slot: s }, BTree.upperBound(node, s, high));
      }
    };
    walk(this.root, this.view(this.root), null, null);
  }
}
