// The running transaction's tree blocks: which blocks are dirty (copied or new in this
// transaction, held in a pool buffer until the commit writes them), in the order they
// became dirty (the commit writes them in that order, so crash points stay where they
// were), and which buffers come back when the commit ends.
//
// A block's bytenr becomes dirty at most once per transaction: a dropped block is pinned
// until the commit, so its bytenr is not handed out again before the list is reset.
import { zeroGap, nodeCsum } from "./node-csum";
import {
  F_FREE_COUNT, F_FREED_COUNT, F_DIRTY_COUNT, F_DIRTY_LIVE, F_GENERATION, SECTOR_SHIFT,
  SECTOR_BYTES, NODE_BYTENR, NODE_GENERATION, NODE_OWNER, NODE_LEVEL, F_READERS_COUNT, MAX_LEVEL,
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_CSUM, NODE_FSID, NODE_FLAGS,
  NODE_CHUNK_TREE_UUID, UUID_BYTES, NODE_FLAG_WRITTEN, NODE_BACKREF_REV, BACKREF_REV_MIXED, F_FSID,
  F_CHUNK_TREE_UUID, FLUSH_CLWB, WRITE_OUT_REPORT, WRITE_OUT_STORE_POINTS,
} from "../abi";
import {
  fsBase, nodeBytes, poolCount, freeStackAddr, freedStackAddr, dirtyListAddr, sectorBufferAddr,
  totalBytes, bufferAddr, setVerified, freshBitsAddr, bitmapBytes, losingBitsAddr, filledBitsAddr,
  poolAddr, dirtyBuffer, kernelRangeValid, copies,
} from "./state";
import { CHECKS } from "../shared/checks";
import { copyBytenr } from "./chunks";
import { nritems, isLeaf, dataOffset, leafCapacity, ptrCapacity } from "./node";
import { deviceStoreLines, deviceFlush, deviceLock, deviceUnlock } from "../pmem/device";

/** A tree block copy is about to be stored at commit (the host's observers: image fuzzing). */
@external("env", "fs_data_written")
declare function hostDataWritten(bytenr: f64, bytes: u32): void;

/** A device store is about to happen (the host's crash points at every store). */
@external("env", "fs_before_store")
declare function hostBeforeStore(): void;


// The pool's books, kept by makeDirty, dropDirty and endTransaction: every buffer is free
// or listed dirty (free + listed == pool), and a listed one is live or dropped
// (listed == live + freed).

@inline function sectorEntry(bytenr: u64): usize {
  assert(bytenr < <u64>totalBytes, "past device end");
  // a dirty-index entry of an unaligned block
  if (CHECKS) assert((bytenr & (SECTOR_BYTES - 1)) == 0);
  // outside the kernel region
  if (CHECKS) {
    assert(kernelRangeValid(sectorBufferAddr + (<usize>(bytenr >> SECTOR_SHIFT) << 2), 4));
  }
  return sectorBufferAddr + (<usize>(bytenr >> SECTOR_SHIFT) << 2);
}

export function freeBuffers(): u32 {
  const free = load<u32>(fsBase + F_FREE_COUNT);
  assert(free <= poolCount, "free buffers");
  assert(free + dirtyListLength() == poolCount, "pool books");
  return free;
}

export function liveDirtyBlocks(): u32 {
  const live = load<u32>(fsBase + F_DIRTY_LIVE);
  assert(live <= dirtyListLength(), "live count");
  assert(live + load<u32>(fsBase + F_FREED_COUNT) == dirtyListLength(), "pool books");
  return live;
}

export function dirtyListLength(): u32 {
  const listed = load<u32>(fsBase + F_DIRTY_COUNT);
  assert(listed <= poolCount, "listed count");
  return listed;
}

/** The bytenr of dirty-list entry `i`, or -1 when that block was dropped since. */
export function dirtyListEntry(i: u32): i64 {
  assert(i < dirtyListLength(), "fs: dirty list index");
  const sector = load<u32>(dirtyListAddr + (<usize>i << 2));
  const bytenr = <u64>sector << SECTOR_SHIFT;
  assert(bytenr < <u64>totalBytes, "past device end");
  return load<u32>(sectorEntry(bytenr)) == 0 ? -1 : <i64>bytenr;
}

/**
 * Give `bytenr` (a block just allocated) a pool buffer and list it as dirty; returns the
 * buffer's address, or 0 when the pool is empty.
 */
function makeDirty(bytenr: u64): usize {
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  assert(bytenr + nodeBytes <= <u64>totalBytes, "fs: a dirty block outside the device");
  assert(load<u32>(sectorEntry(bytenr)) == 0, "fs: a block made dirty twice");
  const free = load<u32>(fsBase + F_FREE_COUNT);
  assert(free + load<u32>(fsBase + F_DIRTY_COUNT) == poolCount, "pool books");
  if (free == 0) return 0;
  const index = load<u32>(freeStackAddr + (<usize>(free - 1) << 2));
  assert(index < poolCount, "fs: free stack holds a bad buffer index");
  store<u32>(fsBase + F_FREE_COUNT, free - 1);
  const listed = load<u32>(fsBase + F_DIRTY_COUNT);
  assert(listed < poolCount, "fs: more dirty blocks than buffers in one transaction");
  store<u32>(dirtyListAddr + (<usize>listed << 2), <u32>(bytenr >> SECTOR_SHIFT));
  store<u32>(fsBase + F_DIRTY_COUNT, listed + 1);
  store<u32>(fsBase + F_DIRTY_LIVE, load<u32>(fsBase + F_DIRTY_LIVE) + 1);
  store<u32>(sectorEntry(bytenr), index + 1);
  if (CHECKS) assert(dirtyListEntry(listed) == <i64>bytenr); // a dirty block the list does not name
  return bufferAddr(index);
}

@inline function setHeader(buffer: usize, bytenr: u64, generation: u64, owner: u64): void {
  assert(buffer >= poolAddr && buffer - poolAddr < <usize>poolCount * nodeBytes
    && (buffer - poolAddr) % nodeBytes == 0, "not a pool buffer");
  // btrfs's header: the checksum field's unused 28 bytes zero, the file system's and chunk
  // tree's uuids, the written flag and the mixed back-reference revision.
  memory.fill(buffer + NODE_CSUM + 4, 0, NODE_FSID - NODE_CSUM - 4);
  memory.copy(buffer + NODE_FSID, fsBase + F_FSID, UUID_BYTES);
  store<u64>(buffer + NODE_BYTENR, bytenr);
  store<u64>(buffer + NODE_FLAGS, NODE_FLAG_WRITTEN);
  store<u8>(buffer + NODE_BACKREF_REV, BACKREF_REV_MIXED);
  memory.copy(buffer + NODE_CHUNK_TREE_UUID, fsBase + F_CHUNK_TREE_UUID, UUID_BYTES);
  store<u64>(buffer + NODE_GENERATION, generation);
  store<u64>(buffer + NODE_OWNER, owner);
}

/**
 * Copy the node at `src` (a block the tree checker passed) into a new dirty block `bytenr`
 * of this transaction. Only the bytes the node uses are copied: a leaf's header and item
 * headers and, at its end, the items' data; an internal node's header and key pointers.
 * The free gap between them keeps whatever the buffer held: nothing reads it (item
 * offsets and counts say where the bytes are), and the commit's checksum covers it as it
 * is. (A path of 16 KiB nodes copied whole was most of a first change after a commit.)
 */
export function cowBlock(src: usize, bytenr: u64, owner: u64): usize {
  assert(src != 0, "no source");
  const buffer = makeDirty(bytenr);
  if (buffer == 0) return 0;
  const n = nritems(src);
  if (isLeaf(src)) {
    const front = NODE_HEADER_BYTES + n * LEAF_ITEM_BYTES;
    const low = n == 0 ? nodeBytes : dataOffset(src, n - 1);
    assert(front <= low && low <= nodeBytes,
      "transaction: a leaf whose data overlaps its items reached a copy");
    memory.copy(buffer, src, front);
    memory.copy(buffer + low, src + low, nodeBytes - low);
  } else {
    const used = NODE_HEADER_BYTES + n * KEY_PTR_BYTES;
    assert(used <= nodeBytes,
      "transaction: an internal node with more pointers than room reached a copy");
    memory.copy(buffer, src, used);
  }
  setHeader(buffer, bytenr, load<u64>(fsBase + F_GENERATION) + 1, owner);
  // Past the header (checksum, bytenr, generation, owner), the copy holds its source's items.
  if (CHECKS) assert(sameItems(buffer, src)); // a copy that is not its source
  assert(dirtyBuffer(bytenr) == buffer, "dirty index");
  return buffer;
}

/** Debug builds: do two nodes hold the same bytes past the header's owner, where items live? */
function sameItems(a: usize, b: usize): bool {
  assert(a != b, "transaction: a block compared with itself");
  const n = nritems(b);
  assert(n <= (isLeaf(b) ? leafCapacity() : ptrCapacity()),
    "transaction: a block with more items than it holds");
  if (nritems(a) != n) return false;
  const from = NODE_OWNER + 8;
  if (!isLeaf(b)) {
    return memory.compare(a + from, b + from, NODE_HEADER_BYTES + n * KEY_PTR_BYTES - from) == 0;
  }
  const front = NODE_HEADER_BYTES + n * LEAF_ITEM_BYTES;
  const low = n == 0 ? nodeBytes : dataOffset(b, n - 1);
  return memory.compare(a + from, b + from, front - from) == 0
    && memory.compare(a + low, b + low, nodeBytes - low) == 0;
}

/** A new, empty dirty block `bytenr` at `level`. */
export function newBlock(bytenr: u64, owner: u64, level: u32): usize {
  // A grown root may be one above MAX_LEVEL: the walk then refuses it (P_NODE_LEVEL).
  assert(level <= MAX_LEVEL + 1, "bad level");
  const buffer = makeDirty(bytenr);
  if (buffer == 0) return 0;
  memory.fill(buffer, 0, nodeBytes);
  setHeader(buffer, bytenr, load<u64>(fsBase + F_GENERATION) + 1, owner);
  store<u8>(buffer + NODE_LEVEL, <u8>level);
  assert(dirtyBuffer(bytenr) == buffer, "dirty index");
  return buffer;
}

/** A dirty block's last reference is gone: it is not written, its buffer returns at commit. */
export function dropDirty(bytenr: u64): bool {
  if (bytenr >= <u64>totalBytes || (bytenr & (SECTOR_BYTES - 1)) != 0) return false;
  const entry = sectorEntry(bytenr);
  const index = load<u32>(entry);
  if (index == 0) return false;
  store<u32>(entry, 0);
  const freed = load<u32>(fsBase + F_FREED_COUNT);
  assert(freed < poolCount, "fs: more dropped buffers than the pool has");
  assert(index - 1 < poolCount, "buffer index");
  const live = load<u32>(fsBase + F_DIRTY_LIVE);
  assert(live > 0, "live count");
  store<u32>(freedStackAddr + (<usize>freed << 2), index - 1);
  store<u32>(fsBase + F_FREED_COUNT, freed + 1);
  store<u32>(fsBase + F_DIRTY_LIVE, live - 1);
  assert(live - 1 + freed + 1 == load<u32>(fsBase + F_DIRTY_COUNT), "pool books");
  return true;
}

/**
 * The commit of `generation` is durable: every block it wrote is now clean and verified,
 * and every buffer of the transaction returns to the pool, in the order the pool always
 * got them back (written blocks in list order, then dropped ones).
 */
export function endTransaction(generation: u64): void {
  let free = load<u32>(fsBase + F_FREE_COUNT);
  const listed = load<u32>(fsBase + F_DIRTY_COUNT);
  assert(free + listed == poolCount, "pool books");
  assert(listed == load<u32>(fsBase + F_DIRTY_LIVE) + load<u32>(fsBase + F_FREED_COUNT),
    "pool books");
  for (let i: u32 = 0; i < listed; i++) {
    const bytenr = <u64>load<u32>(dirtyListAddr + (<usize>i << 2)) << SECTOR_SHIFT;
    const entry = sectorEntry(bytenr);
    const index = load<u32>(entry);
    if (index == 0) continue;
    store<u32>(freeStackAddr + (<usize>free << 2), index - 1);
    free++;
    store<u32>(entry, 0);
    setVerified(bytenr, true);
  }
  const freed = load<u32>(fsBase + F_FREED_COUNT);
  for (let i: u32 = 0; i < freed; i++) {
    store<u32>(freeStackAddr + (<usize>free << 2), load<u32>(freedStackAddr + (<usize>i << 2)));
    free++;
  }
  assert(free == poolCount, "fs: buffers lost in a transaction");
  if (CHECKS) {
    // The free stack is the whole pool again, each buffer once (their sum is 0 + ... + n - 1).
    let sum: u64 = 0;
    for (let i: u32 = 0; i < free; i++) {
      const index = load<u32>(freeStackAddr + (<usize>i << 2));
      assert(index < poolCount); // a free buffer beyond the pool
      sum += index;
    }
    // a buffer twice on the free stack, another lost
    assert(sum == <u64>poolCount * (poolCount - 1) / 2);
  }
  store<u32>(fsBase + F_FREE_COUNT, free);
  store<u32>(fsBase + F_FREED_COUNT, 0);
  store<u32>(fsBase + F_DIRTY_COUNT, 0);
  store<u32>(fsBase + F_DIRTY_LIVE, 0);
  store<u64>(fsBase + F_GENERATION, generation);
  const bits = bitmapBytes(totalBytes >> SECTOR_SHIFT);
  memory.fill(freshBitsAddr, 0, bits);
  memory.fill(losingBitsAddr, 0, bits);
  memory.fill(filledBitsAddr, 0, bits);
  store<u32>(fsBase + F_READERS_COUNT, 0);
}

/**
 * The commit's write-out of tree blocks (btrfs_write_and_wait_transaction's first half):
 * every block still dirty, in the order it became dirty, gets its checksum, and each copy
 * (dup: the next node) is stored and written back (clwb). The caller then flushes the
 * data, fences, and writes the superblock. `flags`: WRITE_OUT_* hooks to call before each
 * store (they run outside the device lock: the crash explorer's store points read the
 * device). Returns the copies stored.
 */
export function writeDirtyBlocks(flags: u32): u32 {
  const listed = dirtyListLength();
  let stored: u32 = 0;
  for (let i: u32 = 0; i < listed; i++) {
    const bytenr = dirtyListEntry(i);
    if (bytenr < 0) continue; // dropped after it became dirty
    const buffer = dirtyBuffer(<u64>bytenr);
    assert(buffer != 0, "transaction: a listed block without its buffer");
    zeroGap(buffer); // the unused middle goes to the device as zeros: its crc is one step
    store<u32>(buffer + NODE_CSUM, nodeCsum(buffer));
    for (let copy: u32 = 0; copy < copies; copy++) {
      const at = copyBytenr(<u64>bytenr, copy);
      assert(at + nodeBytes <= <u64>totalBytes, "transaction: a tree block copy past the device");
      if ((flags & WRITE_OUT_REPORT) != 0) hostDataWritten(<f64>at, nodeBytes);
      if ((flags & WRITE_OUT_STORE_POINTS) != 0) hostBeforeStore();
      deviceLock();
      deviceStoreLines(<u32>at, buffer, nodeBytes, false);
      deviceFlush(<u32>at, nodeBytes, FLUSH_CLWB);
      deviceUnlock();
      stored++;
    }
  }
  return stored;
}
