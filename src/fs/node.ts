// One B-tree node in memory at an absolute address (a pool buffer or the device's
// visible bytes), read-only: what fsck, scrub and the DAX layer read of a node. Every
// change to a node is the core's (assembly/fs/node.ts, ctree.ts). Leaf: items [key, data
// offset, data size] from the front, data packed from the end, item 0's data last.
// Internal: key pointers [key, block pointer, generation].
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_NRITEMS, NODE_LEVEL, NODE_BYTENR,
  NODE_GENERATION, NODE_OWNER, type Key,
} from './format.js';
import { LEAF_DATA_OFFSET, LEAF_DATA_SIZE, PTR_BLOCK, PTR_GENERATION } from '../core/abi.js';
import type { FsMemory } from './memory.js';

export class NodeView {
  constructor(readonly m: FsMemory, readonly addr: number, readonly nodeBytes: number) {}

  get nritems(): number { return this.m.u32(this.addr + NODE_NRITEMS); }
  get level(): number { return this.m.u8At(this.addr + NODE_LEVEL); }
  get isLeaf(): boolean { return this.level === 0; }
  get bytenr(): number { return this.m.u64(this.addr + NODE_BYTENR); }
  get generation(): number { return this.m.u64(this.addr + NODE_GENERATION); }
  /**
   * The owning tree's id (btrfs's special ids, such as the data relocation tree's (u64)-9,
   * as -256..-1).
   */
  get owner(): number { return this.m.objectid(this.addr + NODE_OWNER); }

  // --- leaf ------------------------------------------------------------------------
  itemAt(slot: number): number { return this.addr + NODE_HEADER_BYTES + slot * LEAF_ITEM_BYTES; }
  /** Address of the key of `slot` (an item in a leaf, a key pointer in a node). */
  keyAt(slot: number): number { return this.isLeaf ? this.itemAt(slot) : this.ptrAt(slot); }
  key(slot: number): Key {
    return this.m.key(this.keyAt(slot));
  }
  /** The item's data offset from the node's start (stored from the header's end, as btrfs does). */
  dataOffset(slot: number): number {
    return this.m.u32(this.itemAt(slot) + LEAF_DATA_OFFSET) + NODE_HEADER_BYTES;
  }
  dataSize(slot: number): number { return this.m.u32(this.itemAt(slot) + LEAF_DATA_SIZE); }
  /** Absolute address of the item's data. */
  data(slot: number): number { return this.addr + this.dataOffset(slot); }

  // --- internal --------------------------------------------------------------------
  ptrAt(slot: number): number { return this.addr + NODE_HEADER_BYTES + slot * KEY_PTR_BYTES; }
  child(slot: number): number { return this.m.u64(this.ptrAt(slot) + PTR_BLOCK); }
  childGeneration(slot: number): number { return this.m.u64(this.ptrAt(slot) + PTR_GENERATION); }
}
