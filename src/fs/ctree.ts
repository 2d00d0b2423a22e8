// The COW B-tree (btrfs's ctree): the TypeScript face of the core's B-tree (assembly/fs/
// ctree.ts), where the descent, copy-on-write, splits, merges and the checks of every
// child against its parent run. A BTree names one tree (id, root, level); each call
// passes them to the core and takes back the root and level the operation left.
//
// The core reports every pointer that appears or disappears to the host (the Kernel's
// delayed refs) and throws the host's FsError for a problem; see Kernel.hooks.
import { keyText, type Key } from './format.js';
import { NodeView } from './node.js';
import type { FsMemory } from './memory.js';
import { FsError } from '../errors.js';
import type { CoreExports } from '../core/exports.js';
import {
  TA_RESULT, CR_ROOT, CR_LEVEL, CR_LEAF, CR_SLOT, CR_DATA, CR_SIZE, SEEK_AT_OR_AFTER, SEEK_AFTER,
  SEEK_AT_OR_BEFORE,
} from '../core/abi.js';

/** What a tree needs from its file system. */
export interface TreeHost {
  readonly m: FsMemory;
  readonly core: CoreExports;
  readonly nodeBytes: number;
  /** Address of the node's current content; verifies a clean node's checksum. */
  nodeAddr(bytenr: number): number;
  /** This thread's area of the core (results of the last operation). */
  readonly threadArea: number;
  /** Bytes staged for the core (item data), at least half a node. */
  stage(data: Uint8Array): number;
  /** The root of `tree` moved inside an operation (the core reported its pointers). */
  rootChanged(tree: BTree): void;
  /**
   * A changing operation ended (or failed): the host runs what the core's hooks deferred
   * (dropping blocks whose last reference went needs lookups in the extent tree, which
   * must not run inside the core's operation).
   */
  operationDone(): void;
}

export const ROOT_POINTER = -1;

export interface Item { key: Key; data: Uint8Array }

export class BTree {
  private ownRoot: number;
  private ownLevel: number;

  /**
   * `rootSlot`: the address of a root (u64) and level (u32 at +8) in the core's state (the
   * extent and csum trees', a subvolume tree's slot of the root table); 0 keeps them here.
   */
  constructor(
    readonly host: TreeHost,
    readonly id: number,
    root: number,
    level: number,
    private rootSlot = 0,
  ) {
    this.ownRoot = root;
    this.ownLevel = level;
    if (rootSlot) { this.root = root; this.level = level; }
  }

  /** The address of the core's slot holding the root (0: kept here). */
  get slotAddress(): number { return this.rootSlot; }

  /** Detach from the core's slot (the tree is deleted); returns the slot's address (0: none). */
  release(): number {
    const slot = this.rootSlot;
    this.ownRoot = this.root;
    this.ownLevel = this.level;
    this.rootSlot = 0;
    return slot;
  }

  get root(): number { return this.rootSlot ? this.host.m.u64(this.rootSlot) : this.ownRoot; }
  set root(bytenr: number) {
    if (this.rootSlot) this.host.m.setU64(this.rootSlot, bytenr); else this.ownRoot = bytenr;
  }
  get level(): number { return this.rootSlot ? this.host.m.u32(this.rootSlot + 8) : this.ownLevel; }
  set level(level: number) {
    if (this.rootSlot) this.host.m.setU32(this.rootSlot + 8, level); else this.ownLevel = level;
  }

  /**
   * Take back the root and level the core's operation left (also when it failed: its
   * frames unwound after the root moved); tell the host when they moved, and that the
   * operation is done.
   */
  private settle(): void {
    const m = this.host.m, result = this.host.threadArea + TA_RESULT;
    const root = m.u64(result + CR_ROOT), level = m.u32(result + CR_LEVEL);
    if (root !== this.root || level !== this.level) {
      this.root = root;
      this.level = level;
      this.host.rootChanged(this);
    }
    this.host.operationDone();
  }

  private static check(result: number, what: string): number {
    if (result < 0) throw new FsError('EINVAL', `${what}: bad arguments (${result})`);
    return result;
  }

  // --- public operations -------------------------------------------------------------

  /** Read-only lookup: the item's data address and size, or null. */
  lookup(k: Key): { addr: number; size: number } | null {
    const found = BTree.check(this.host.core.ctree_lookup(this.id, this.root, this.level,
      k.objectid, k.type, k.offset), 'lookup');
    if (!found) return null;
    const m = this.host.m, result = this.host.threadArea + TA_RESULT;
    return { addr: m.u32(result + CR_DATA), size: m.u32(result + CR_SIZE) };
  }

  get(k: Key): Uint8Array | null {
    const r = this.lookup(k);
    return r ? this.host.m.u8.slice(r.addr, r.addr + r.size) : null;
  }

  /** Insert a new item (EEXIST if the key is present). */
  insert(k: Key, data: Uint8Array): void {
    const at = this.host.stage(data);
    try {
      BTree.check(this.host.core.ctree_insert(this.id, this.root, this.level, k.objectid, k.type,
        k.offset, at, data.length), 'insert');
    } finally {
      this.settle();
    }
  }

  /** Replace an existing item's data (any size up to half a node). */
  update(k: Key, data: Uint8Array): void {
    const at = this.host.stage(data);
    try {
      BTree.check(this.host.core.ctree_update(this.id, this.root, this.level, k.objectid, k.type,
        k.offset, at, data.length), 'update');
    } finally {
      this.settle();
    }
  }

  /** Insert or replace. */
  put(k: Key, data: Uint8Array): void {
    if (this.lookup(k)) this.update(k, data); else this.insert(k, data);
  }

  /** Delete an item; returns false when absent. */
  delete(k: Key): boolean {
    try {
      return BTree.check(this.host.core.ctree_delete(this.id, this.root, this.level, k.objectid,
        k.type, k.offset), 'delete') === 1;
    } finally {
      this.settle();
    }
  }

  // --- iteration ---------------------------------------------------------------------

  /** The core's seek: the leaf address and slot of the item found, or null. */
  private seek(k: Key, mode: number): { leaf: number; slot: number } | null {
    const found = BTree.check(this.host.core.ctree_seek(this.id, this.root, this.level, k.objectid,
      k.type, k.offset, mode), 'seek');
    if (!found) return null;
    const m = this.host.m, result = this.host.threadArea + TA_RESULT;
    return { leaf: m.u32(result + CR_LEAF), slot: m.u32(result + CR_SLOT) };
  }

  /** Items with min <= key <= max, in key order (copies). */
  range(min: Key, max: Key, limit = Infinity): Item[] {
    const out: Item[] = [];
    this.walkRange(min, max, (k, addr, size) => {
      out.push({ key: k, data: this.host.m.u8.slice(addr, addr + size) });
      return out.length < limit;
    });
    return out;
  }

  /**
   * Visit items with min <= key <= max in order; the visitor returns false to stop. Items
   * are read leaf by leaf where the core's seek found them; the next leaf is sought after
   * the last key visited.
   */
  walkRange(min: Key, max: Key, visit: (k: Key, addr: number, size: number) => boolean): void {
    const m = this.host.m;
    let at = this.seek(min, SEEK_AT_OR_AFTER);
    while (at) {
      const leaf = new NodeView(m, at.leaf, this.host.nodeBytes);
      const n = leaf.nritems;
      let last: Key | null = null;
      for (let s = at.slot; s < n; s++) {
        if (m.compareKeyAt(leaf.itemAt(s), max) > 0) return;
        last = leaf.key(s);
        if (!visit(last, leaf.data(s), leaf.dataSize(s))) return;
      }
      if (!last) return;
      const after: Key = last;
      at = this.seek(after, SEEK_AFTER);
      // A damaged tree whose leaves disagree with their parents' keys could lead the seek
      // back to keys already visited: refuse it rather than walk in a circle.
      if (at && m.compareKeyAt(new NodeView(m, at.leaf, this.host.nodeBytes)
        .itemAt(at.slot), after) <= 0) {
        throw new FsError('EUCLEAN',
          `tree ${this.id}: the item after ${keyText(after)} is not above it (a damaged tree)`);
      }
    }
  }

  /** The last item with key <= k, or null. */
  lastAtOrBefore(k: Key): Item | null {
    const at = this.seek(k, SEEK_AT_OR_BEFORE);
    if (!at) return null;
    const leaf = new NodeView(this.host.m, at.leaf, this.host.nodeBytes);
    return { key: leaf.key(at.slot),
      data: this.host.m.u8.slice(leaf.data(at.slot), leaf.data(at.slot) + leaf.dataSize(at.slot)) };
  }

  /**
   * Visit every node (pre-order) with its parent pointer info; the visitor returns false to
   * skip a node's children. Each child is checked against its parent by the core.
   */
  visitNodes(visit: (bytenr: number, node: NodeView, parent: {
    bytenr: number;
    slot: number;
  } | null) => boolean): void {
    const h = this.host;
    const walk = (bytenr: number, node: NodeView, parent: {
      bytenr: number;
      slot: number;
    } | null, high: number): void => {
      if (!visit(bytenr, node, parent)) return;
      if (node.isLeaf) return;
      for (let s = 0; s < node.nritems; s++) {
        const addr = h.core.ctree_checked_child(this.id, bytenr, s, high);
        if (addr < 0) {
          throw new FsError('EINVAL',
            `tree ${this.id}: block ${bytenr} slot ${s}: not a node (${addr})`);
        }
        const childHigh = s + 1 < node.nritems ? node.ptrAt(s + 1) : high;
        walk(node.child(s), new NodeView(h.m, addr, h.nodeBytes), { bytenr, slot: s }, childHigh);
      }
    };
    walk(this.root, new NodeView(h.m, h.nodeAddr(this.root), h.nodeBytes), null, 0);
  }
}
