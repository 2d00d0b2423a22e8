// One B-tree node in memory at an absolute address (a device block or a kernel buffer).
// Leaf: items [key, data offset, data size] from the front, data packed from the end,
// item 0's data last. Internal: key pointers [key, block pointer, generation].
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_NRITEMS, NODE_LEVEL, NODE_BYTENR,
  NODE_GENERATION, NODE_OWNER, type Key,
} from './format.js';
import type { FsMemory } from './memory.js';

export class NodeView {
  constructor(readonly m: FsMemory, readonly addr: number, readonly nodeBytes: number) {}

  get nritems(): number { return this.m.u32(this.addr + NODE_NRITEMS); }
  set nritems(n: number) { this.m.setU32(this.addr + NODE_NRITEMS, n); }
  get level(): number { return this.m.u8At(this.addr + NODE_LEVEL); }
  get isLeaf(): boolean { return this.level === 0; }
  get bytenr(): number { return this.m.u64(this.addr + NODE_BYTENR); }
  get generation(): number { return this.m.u64(this.addr + NODE_GENERATION); }
  get owner(): number { return this.m.u64(this.addr + NODE_OWNER); }

  init(bytenr: number, generation: number, owner: number, level: number): void {
    this.m.u8.fill(0, this.addr, this.addr + this.nodeBytes);
    this.m.setU64(this.addr + NODE_BYTENR, bytenr);
    this.m.setU64(this.addr + NODE_GENERATION, generation);
    this.m.setU64(this.addr + NODE_OWNER, owner);
    this.m.setU8(this.addr + NODE_LEVEL, level);
  }

  setHeader(bytenr: number, generation: number, owner: number): void {
    this.m.setU64(this.addr + NODE_BYTENR, bytenr);
    this.m.setU64(this.addr + NODE_GENERATION, generation);
    this.m.setU64(this.addr + NODE_OWNER, owner);
  }

  // --- leaf ------------------------------------------------------------------------
  itemAt(slot: number): number { return this.addr + NODE_HEADER_BYTES + slot * LEAF_ITEM_BYTES; }
  /** Address of the key of `slot` (an item in a leaf, a key pointer in a node). */
  keyAt(slot: number): number { return this.isLeaf ? this.itemAt(slot) : this.ptrAt(slot); }
  key(slot: number): Key {
    return this.m.key(this.keyAt(slot));
  }
  setKey(slot: number, k: Key): void {
    this.m.setKey(this.keyAt(slot), k);
  }
  dataOffset(slot: number): number { return this.m.u32(this.itemAt(slot) + 17); }
  dataSize(slot: number): number { return this.m.u32(this.itemAt(slot) + 21); }
  /** Absolute address of the item's data. */
  data(slot: number): number { return this.addr + this.dataOffset(slot); }
  /** End (relative) of the data area used by items before `slot`. */
  private dataEnd(slot: number): number { return slot === 0 ? this.nodeBytes : this.dataOffset(slot - 1); }
  leafFreeBytes(): number {
    const n = this.nritems;
    const low = n === 0 ? this.nodeBytes : this.dataOffset(n - 1);
    return low - NODE_HEADER_BYTES - n * LEAF_ITEM_BYTES;
  }
  leafUsedBytes(): number { return this.nodeBytes - NODE_HEADER_BYTES - this.leafFreeBytes(); }

  /** Make room for an item of `size` bytes at `slot`; returns the data address. */
  leafInsert(slot: number, k: Key, size: number): number {
    const n = this.nritems;
    if (this.leafFreeBytes() < size + LEAF_ITEM_BYTES) throw new Error('leafInsert: no room (caller must split)');
    const end = this.dataEnd(slot);
    if (slot < n) {
      const low = this.dataOffset(n - 1);
      this.m.copyWithin(this.addr + low - size, this.addr + low, end - low);
      for (let i = slot; i < n; i++) this.m.setU32(this.itemAt(i) + 17, this.dataOffset(i) - size);
      this.m.copyWithin(this.itemAt(slot + 1), this.itemAt(slot), (n - slot) * LEAF_ITEM_BYTES);
    }
    this.m.setKey(this.itemAt(slot), k);
    this.m.setU32(this.itemAt(slot) + 17, end - size);
    this.m.setU32(this.itemAt(slot) + 21, size);
    this.nritems = n + 1;
    return this.addr + end - size;
  }

  leafDelete(slot: number, count = 1): void {
    const n = this.nritems;
    if (count <= 0) return;
    const last = slot + count - 1;
    const freed = this.dataEnd(slot) - this.dataOffset(last);
    if (last < n - 1) {
      const low = this.dataOffset(n - 1);
      const moveEnd = this.dataOffset(last);
      this.m.copyWithin(this.addr + low + freed, this.addr + low, moveEnd - low);
      for (let i = last + 1; i < n; i++) this.m.setU32(this.itemAt(i) + 17, this.dataOffset(i) + freed);
      this.m.copyWithin(this.itemAt(slot), this.itemAt(last + 1), (n - last - 1) * LEAF_ITEM_BYTES);
    }
    this.nritems = n - count;
  }

  /** Change an item's data size, keeping its first min(old, new) bytes. */
  leafResize(slot: number, newSize: number): number {
    const n = this.nritems;
    const old = this.dataSize(slot);
    const delta = newSize - old;
    if (delta > 0 && this.leafFreeBytes() < delta) throw new Error('leafResize: no room (caller must split)');
    const low = this.dataOffset(n - 1);
    const keepEnd = this.dataOffset(slot) + Math.min(old, newSize);
    this.m.copyWithin(this.addr + low - delta, this.addr + low, keepEnd - low);
    for (let i = slot; i < n; i++) this.m.setU32(this.itemAt(i) + 17, this.dataOffset(i) - delta);
    this.m.setU32(this.itemAt(slot) + 21, newSize);
    return this.data(slot);
  }

  // --- internal --------------------------------------------------------------------
  ptrAt(slot: number): number { return this.addr + NODE_HEADER_BYTES + slot * KEY_PTR_BYTES; }
  child(slot: number): number { return this.m.u64(this.ptrAt(slot) + 17); }
  childGeneration(slot: number): number { return this.m.u64(this.ptrAt(slot) + 25); }
  setChild(slot: number, bytenr: number, generation: number): void {
    this.m.setU64(this.ptrAt(slot) + 17, bytenr);
    this.m.setU64(this.ptrAt(slot) + 25, generation);
  }
  ptrCapacity(): number { return Math.floor((this.nodeBytes - NODE_HEADER_BYTES) / KEY_PTR_BYTES); }
  ptrInsert(slot: number, k: Key, bytenr: number, generation: number): void {
    const n = this.nritems;
    if (n >= this.ptrCapacity()) throw new Error('ptrInsert: node full (caller must split)');
    this.m.copyWithin(this.ptrAt(slot + 1), this.ptrAt(slot), (n - slot) * KEY_PTR_BYTES);
    this.m.setKey(this.ptrAt(slot), k);
    this.setChild(slot, bytenr, generation);
    this.nritems = n + 1;
  }
  ptrDelete(slot: number, count = 1): void {
    const n = this.nritems;
    this.m.copyWithin(this.ptrAt(slot), this.ptrAt(slot + count), (n - slot - count) * KEY_PTR_BYTES);
    this.nritems = n - count;
  }
}
