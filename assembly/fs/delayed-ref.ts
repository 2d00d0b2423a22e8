// Delayed refs (btrfs's delayed-ref.c): every pointer that appears or disappears in a
// transaction changes its target's reference count here, not in the extent tree; the
// commit (or a run between operations when the table fills) applies the net changes.
// Most net to zero (a copied node re-reports every pointer it holds).
//
// Two open-addressing tables in shared memory, linear probing, never deleted from (a run
// takes every entry into the batch and clears both):
//   refs:      target sector + 1 -> delta, flags, extent bytes, owner
//   backrefs:  (target sector + 1, root, inode, offset) -> delta of that back reference: an
//              EXTENT_DATA_REF, or with BACKREF_IS_* as the inode a TREE_BLOCK_REF (root),
//              SHARED_BLOCK_REF or SHARED_DATA_REF (the parent block in the root field)
// A data pointer's back reference names the tree owning the leaf that holds the item, the
// inode and the file offset of the extent's first byte (btrfs's implicit back reference):
// copying a leaf within its own tree reports the same keys with -1 and +1, so they net to
// zero and the run changes nothing in the extent tree (per-leaf references used to move
// from the old leaf to the copy: two extent-tree changes per data pointer).
// Sized at mount from the pool (each dirty node brings a few dozen refs at most); the file
// system runs them early at half full. Each table lists the slots it uses, in the order
// they were taken, so that taking the batch costs the refs there are, not the table's size
// (a commit of one change used to scan and clear every slot of both tables).
import {
  F_REFS, F_REF_SLOTS, F_REF_COUNT, F_BACKREFS, F_BACKREF_SLOTS, F_BACKREF_COUNT, F_BATCH,
  F_BATCH_COUNT, F_BATCH_BACKREFS, REF_BYTES, REF_TARGET, REF_DELTA, REF_FLAGS, REF_BYTES_FIELD,
  REF_OWNER, REF_BACKREF_COUNT, REF_BACKREF_FIRST, REF_DATA, BACKREF_BYTES, BACKREF_TARGET,
  BACKREF_DELTA, SECTOR_SHIFT, ENOSPC, EIO, P_REFS_FULL, P_REF_KIND, ROOT_POINTER, F_REF_LIST,
  F_BACKREF_LIST, BACKREF_ROOT, BACKREF_INO, BACKREF_OFFSET, F_REF_TABLES_CLEAN, REF_TABLES_CLEAN,
  REF_SET_FULL, REF_LEVEL_SHIFT, BACKREF_IS_TREE, BACKREF_IS_SHARED_BLOCK, BACKREF_IS_SHARED_DATA,
  MAX_LEVEL,
} from "../abi";
import { fsBase, kernelRangeValid } from "./state";
import { fail } from "./operation";
import { CHECKS } from "../shared/checks";

// Invariants: each table holds at most half its slots (refChange refuses the entry that
// would pass that), so probing always meets an empty slot; slot counts are powers of two
// (the probe masks with them); a key is sector + 1, never 0 (0 marks an empty slot).

@inline function refs(): usize {
  const at = <usize>load<u32>(fsBase + F_REFS);
  assert(at != 0, "no tables");
  // refs outside the kernel region
  if (CHECKS) assert(kernelRangeValid(at, <u64>load<u32>(fsBase + F_REF_SLOTS) * REF_BYTES));
  return at;
}
@inline function refSlots(): u32 {
  const slots = load<u32>(fsBase + F_REF_SLOTS);
  assert(slots != 0 && (slots & (slots - 1)) == 0, "slots not a power of 2");
  if (CHECKS) assert(slots >= 16 && slots <= 1 << 26); // ref slots outside what fs_format accepts
  return slots;
}
@inline function backrefs(): usize {
  const at = <usize>load<u32>(fsBase + F_BACKREFS);
  assert(at != 0, "no tables");
  // backrefs outside the kernel region
  if (CHECKS) {
    assert(kernelRangeValid(at, <u64>load<u32>(fsBase + F_BACKREF_SLOTS) * BACKREF_BYTES));
  }
  return at;
}
@inline function backrefSlots(): u32 {
  const slots = load<u32>(fsBase + F_BACKREF_SLOTS);
  assert(slots != 0 && (slots & (slots - 1)) == 0, "slots not a power of 2");
  // backref slots outside what fs_format accepts
  if (CHECKS) assert(slots >= 16 && slots <= 1 << 26);
  return slots;
}

@inline function hash(x: u32): u32 {
  return (x * 0x9e3779b1) ^ (x >> 15);
}

/** Bytes the tables and the batch need for `refSlots` and `backrefSlots` (powers of two). */
export function refTablesBytes(refSlotCount: u32, backrefSlotCount: u32): u64 {
  assert(refSlotCount >= 2 && backrefSlotCount >= 2, "slots");
  // The batch holds at most half of each table (the tables run at half full at most), and
  // so do the lists of slots in use.
  return (<u64>refSlotCount * REF_BYTES + <u64>backrefSlotCount * BACKREF_BYTES) * 3 / 2
    + (<u64>(refSlotCount >> 1) + <u64>(backrefSlotCount >> 1)) * 4;
}

/** Debug builds: every slot of both hash tables is empty (release: true). */
export function refTablesZero(): bool {
  if (!CHECKS) return true;
  for (let i: u32 = 0; i < refSlots(); i++) {
    if (load<u32>(refs() + <usize>i * REF_BYTES + REF_TARGET) != 0) return false;
  }
  for (let i: u32 = 0; i < backrefSlots(); i++) {
    if (load<u32>(backrefs() + <usize>i * BACKREF_BYTES + BACKREF_TARGET) != 0) return false;
  }
  return true;
}

/** Lay the tables out at `at` (zeroed by the caller). */
export function refTablesFormat(at: usize, refSlotCount: u32, backrefSlotCount: u32): void {
  assert((refSlotCount & (refSlotCount - 1)) == 0
    && (backrefSlotCount & (backrefSlotCount - 1)) == 0,
      "delayed refs: slots must be powers of two");
  assert(at != 0 && (at & 7) == 0, "delayed refs: tables missing or unaligned");
  store<u32>(fsBase + F_REFS, <u32>at);
  store<u32>(fsBase + F_REF_SLOTS, refSlotCount);
  const back = at + <usize>refSlotCount * REF_BYTES;
  store<u32>(fsBase + F_BACKREFS, <u32>back);
  store<u32>(fsBase + F_BACKREF_SLOTS, backrefSlotCount);
  const batch = back + <usize>backrefSlotCount * BACKREF_BYTES;
  store<u32>(fsBase + F_BATCH, <u32>batch);
  const batchBackrefs = batch + <usize>(refSlotCount >> 1) * REF_BYTES;
  store<u32>(fsBase + F_BATCH_BACKREFS, <u32>batchBackrefs);
  const refList = batchBackrefs + <usize>(backrefSlotCount >> 1) * BACKREF_BYTES;
  store<u32>(fsBase + F_REF_LIST, <u32>refList);
  store<u32>(fsBase + F_BACKREF_LIST, <u32>(refList + <usize>(refSlotCount >> 1) * 4));
  store<u32>(fsBase + F_REF_COUNT, 0);
  store<u32>(fsBase + F_BACKREF_COUNT, 0);
  store<u32>(fsBase + F_BATCH_COUNT, 0);
}

export function refCount(): u32 {
  const count = load<u32>(fsBase + F_REF_COUNT);
  assert(<u64>count * 2 <= <u64>refSlots(), "refs over half");
  return count;
}

export function backrefCount(): u32 {
  const count = load<u32>(fsBase + F_BACKREF_COUNT);
  assert(<u64>count * 2 <= <u64>backrefSlots(), "backrefs over half");
  return count;
}

/** How full the fuller of the two tables is, in 1/1000 of its capacity (half its slots). */
export function refPressure(): u32 {
  const r = <u64>refCount() * 2000 / refSlots();
  const b = <u64>backrefCount() * 2000 / backrefSlots();
  const pressure = <u32>max<u64>(r, b);
  assert(pressure <= 1000, "pressure");
  return pressure;
}

/** The slot of `target` (sector + 1), or the empty slot where it goes. */
function refSlot(target: u32): usize {
  assert(target != 0, "key 0");
  if (CHECKS) assert(refCount() < refSlots()); // a probe of a full table would not end
  const mask = refSlots() - 1;
  for (let i = hash(target) & mask; ; i = (i + 1) & mask) {
    const at = refs() + <usize>i * REF_BYTES;
    const key = load<u32>(at + REF_TARGET);
    if (key == target || key == 0) return at;
  }
  return 0;
}

@inline function hash64(x: u64): u32 {
  return hash(<u32>x ^ hash(<u32>(x >> 32)));
}

function backrefSlot(target: u32, root: u64, ino: u64, offset: u64): usize {
  assert(target != 0 && root != 0, "delayed refs: a backref key without its target or root");
  if (CHECKS) assert(backrefCount() < backrefSlots()); // a probe of a full table would not end
  const mask = backrefSlots() - 1;
  for (let i = hash(target ^ hash64(root) ^ hash(hash64(ino) + hash64(offset))) & mask; ;
      i = (i + 1) & mask) {
    const at = backrefs() + <usize>i * BACKREF_BYTES;
    const key = load<u32>(at + BACKREF_TARGET);
    if (key == 0) return at;
    if (key == target && load<u64>(at + BACKREF_ROOT) == root && load<u64>(at + BACKREF_INO) == ino
        && load<u64>(at + BACKREF_OFFSET) == offset) {
      return at;
    }
  }
  return 0;
}

@inline function sectorKey(bytenr: u64): u32 {
  return <u32>(bytenr >> SECTOR_SHIFT) + 1;
}

/** Has `bytenr` a delayed ref (a change, or changes that net to zero, not yet run)? */
export function hasDelayedRef(bytenr: u64): bool {
  assert((bytenr & ((1 << SECTOR_SHIFT) - 1)) == 0, "delayed refs: a target not on a sector");
  const key = load<u32>(refSlot(sectorKey(bytenr)) + REF_TARGET);
  assert(key == 0 || key == sectorKey(bytenr), "delayed refs: the probe stopped at another target");
  return key != 0;
}

/** The change of `bytenr`'s reference count in this transaction. */
export function refDelta(bytenr: u64): i32 {
  const at = refSlot(sectorKey(bytenr));
  return load<u32>(at + REF_TARGET) == 0 ? 0 : load<i32>(at + REF_DELTA);
}

/**
 * The slot of `target`'s ref, taken (empty and counted) when it has none yet. A tree
 * block's level rides in its flags (its METADATA_ITEM's key offset).
 */
function takeRefSlot(target: u64, owner: u64, data: bool, bytes: u32, level: u32): usize {
  assert((target & ((1 << SECTOR_SHIFT) - 1)) == 0, "delayed refs: a target not on a sector");
  assert(data == (bytes != 0), "delayed refs: data refs carry their length, tree blocks none");
  assert(level <= MAX_LEVEL + 1, "delayed refs: a tree block's level");
  const key = sectorKey(target);
  const at = refSlot(key);
  if (load<u32>(at + REF_TARGET) == 0) {
    if (refCount() * 2 >= refSlots()) {
      fail(ENOSPC, P_REFS_FULL, target, 0, refCount(), backrefCount(), 0);
    }
    store<u32>(fsBase + F_REF_TABLES_CLEAN, 0); // a slot is taken: the tables are not all zero
    store<u32>(at + REF_TARGET, key);
    store<i32>(at + REF_DELTA, 0);
    store<u32>(at + REF_FLAGS, data ? REF_DATA : level << REF_LEVEL_SHIFT);
    store<u32>(at + REF_BYTES_FIELD, bytes);
    store<u64>(at + REF_OWNER, owner);
    store<u32>(at + REF_BACKREF_COUNT, 0);
    store<u32>(<usize>load<u32>(fsBase + F_REF_LIST) + (<usize>refCount() << 2),
      <u32>((at - refs()) / REF_BYTES));
    store<u32>(fsBase + F_REF_COUNT, refCount() + 1);
  } else if (((load<u32>(at + REF_FLAGS) & REF_DATA) != 0) != data) {
    fail(EIO, P_REF_KIND, target, 0, 0, 0, 0);
  }
  assert(load<u32>(at + REF_TARGET) == key, "delayed refs: the slot taken is another target's");
  return at;
}

/** Add `delta` to back reference (root, ino, offset) of the ref at `at` (target `target`). */
function addBackref(at: usize, target: u64, root: u64, ino: u64, offset: u64, delta: i32): void {
  assert(delta == 1 || delta == -1, "delayed refs: one back reference at a time");
  assert(root != 0, "delayed refs: a back reference without its root or parent");
  const key = sectorKey(target);
  assert(load<u32>(at + REF_TARGET) == key, "delayed refs: a back reference of another ref");
  const b = backrefSlot(key, root, ino, offset);
  if (load<u32>(b + BACKREF_TARGET) == 0) {
    if (backrefCount() * 2 >= backrefSlots()) {
      fail(ENOSPC, P_REFS_FULL, target, 0, refCount(), backrefCount(), 0);
    }
    store<u32>(fsBase + F_REF_TABLES_CLEAN, 0); // a slot is taken: the tables are not all zero
    store<u32>(b + BACKREF_TARGET, key);
    store<u64>(b + BACKREF_ROOT, root);
    store<u64>(b + BACKREF_INO, ino);
    store<u64>(b + BACKREF_OFFSET, offset);
    store<i32>(b + BACKREF_DELTA, 0);
    store<u32>(<usize>load<u32>(fsBase + F_BACKREF_LIST) + (<usize>backrefCount() << 2),
      <u32>((b - backrefs()) / BACKREF_BYTES));
    store<u32>(fsBase + F_BACKREF_COUNT, backrefCount() + 1);
    store<u32>(at + REF_BACKREF_COUNT, load<u32>(at + REF_BACKREF_COUNT) + 1);
  }
  store<i32>(b + BACKREF_DELTA, load<i32>(b + BACKREF_DELTA) + delta);
  assert(load<u32>(at + REF_BACKREF_COUNT) > 0, "delayed refs: a ref without its backrefs counted");
}

/**
 * A pointer from `container` (a block, or ROOT_POINTER) to tree block `target` at `level`
 * appeared (+1) or went (-1). Its back reference: the root's own TREE_BLOCK_REF for a root
 * pointer; SHARED_BLOCK_REF(container) when the container is FULL_BACKREF (`full`: its
 * owner no longer reaches it); else TREE_BLOCK_REF(owner), the tree the container is of.
 */
export function refChange(
  container: i64, target: u64, owner: u64, level: i32, bytes: u32, delta: i32, full: bool = false,
): void {
  assert(delta == 1 || delta == -1, "delayed refs: one pointer at a time");
  assert(level >= 0 && bytes == 0, "delayed refs: tree blocks only (data pointers: dataRefChange)");
  assert(container == ROOT_POINTER || container >= 0, "delayed refs: a pointer's container");
  assert(!full || container != ROOT_POINTER, "delayed refs: a root pointer is no block's");
  const at = takeRefSlot(target, owner, false, 0, <u32>level);
  store<i32>(at + REF_DELTA, load<i32>(at + REF_DELTA) + delta);
  if (full) addBackref(at, target, <u64>container, BACKREF_IS_SHARED_BLOCK, 0, delta);
  else addBackref(at, target, owner, BACKREF_IS_TREE, 0, delta);
}

/**
 * A file extent item pointing at data extent `target` (`bytes` long) appeared (+1) or went
 * (-1) in a leaf of tree `root`; its back reference is (root, inode `ino`, `offset`: the
 * file offset of the extent's first byte, item key offset - item extent offset mod 2^64).
 */
export function dataRefChange(
  target: u64, root: u64, ino: u64, offset: u64, bytes: u32, delta: i32,
): void {
  assert(delta == 1 || delta == -1, "delayed refs: one pointer at a time");
  assert(bytes > 0 && root != 0, "delayed refs: a data pointer has a length and a tree");
  assert(ino < BACKREF_IS_SHARED_DATA,
    "delayed refs: an inode number the back reference kinds use");
  const at = takeRefSlot(target, root, true, bytes, 0);
  store<i32>(at + REF_DELTA, load<i32>(at + REF_DELTA) + delta);
  addBackref(at, target, root, ino, offset, delta);
}

/**
 * A file extent item of FULL_BACKREF leaf `parent` pointing at data extent `target` appeared or
 * went.
 */
export function sharedDataRefChange(
  target: u64, parent: u64, owner: u64, bytes: u32, delta: i32,
): void {
  assert(delta == 1 || delta == -1, "delayed refs: one pointer at a time");
  assert(bytes > 0 && parent != 0, "delayed refs: a data pointer has a length and a leaf");
  const at = takeRefSlot(target, owner, true, bytes, 0);
  store<i32>(at + REF_DELTA, load<i32>(at + REF_DELTA) + delta);
  addBackref(at, target, parent, BACKREF_IS_SHARED_DATA, 0, delta);
}

/**
 * Block `block` (owned by `owner`, at `level`) becomes FULL_BACKREF: its pointers' back
 * references move from its owner to it (the caller moves them with backrefMoved); its
 * METADATA_ITEM takes the flag if it still has references after the run.
 */
export function markFull(block: u64, owner: u64, level: u32): void {
  assert(owner != 0, "delayed refs: a block of no tree");
  const at = takeRefSlot(block, owner, false, 0, level);
  store<u32>(at + REF_FLAGS, load<u32>(at + REF_FLAGS) | REF_SET_FULL);
  assert((load<u32>(at + REF_FLAGS) & REF_DATA) == 0,
    "delayed refs: a data extent marked FULL_BACKREF");
}

/** Did this transaction make `block` FULL_BACKREF (a pending markFull)? */
export function pendingFull(block: u64): bool {
  assert((block & ((1 << SECTOR_SHIFT) - 1)) == 0, "delayed refs: a block not on a sector");
  const at = refSlot(sectorKey(block));
  assert(load<u32>(at + REF_TARGET) == 0 || load<u32>(at + REF_TARGET) == sectorKey(block),
    "delayed refs: the probe stopped at another target");
  return load<u32>(at + REF_TARGET) != 0 && (load<u32>(at + REF_FLAGS) & REF_SET_FULL) != 0;
}

/**
 * Move one back reference of `target` without changing its count: from `fromRoot`/`fromIno`
 * to `toRoot`/`toIno` (a FULL_BACKREF conversion: TREE_BLOCK_REF(owner) to
 * SHARED_BLOCK_REF(parent), or EXTENT_DATA_REF(owner, ino, offset) to SHARED_DATA_REF(leaf)).
 */
export function backrefMoved(target: u64, data: bool, bytes: u32, level: u32, owner: u64,
  fromRoot: u64, fromIno: u64, fromOffset: u64, toRoot: u64, toIno: u64): void {
  assert(fromRoot != 0 && toRoot != 0, "delayed refs: a back reference without its root or parent");
  const at = takeRefSlot(target, owner, data, bytes, level);
  addBackref(at, target, fromRoot, fromIno, fromOffset, -1);
  addBackref(at, target, toRoot, toIno, 0, 1);
}

/**
 * Move every ref into the batch (sorted by target; each ref's back references after each
 * other in the batch's backref array, REF_BACKREF_FIRST / REF_BACKREF_COUNT) and clear
 * the tables: the changes the run applies may add refs of their own (the next batch).
 * Returns the number of refs in the batch.
 */
export function takeBatch(): u32 {
  const batch = <usize>load<u32>(fsBase + F_BATCH);
  assert(batch != 0 && load<u32>(fsBase + F_REF_LIST) != 0, "delayed refs: no batch or slot lists");
  const n = refCount();
  const refList = <usize>load<u32>(fsBase + F_REF_LIST);
  for (let k: u32 = 0; k < n; k++) {
    const slot = load<u32>(refList + (<usize>k << 2));
    assert(slot < refSlots(), "delayed refs: a listed slot outside the table");
    const at = refs() + <usize>slot * REF_BYTES;
    assert(load<u32>(at + REF_TARGET) != 0, "delayed refs: a listed slot is empty");
    moveEntry32(batch + <usize>k * REF_BYTES, at);
  }
  sortBatch(batch, n);
  // Back references: each ref's first index, then the backrefs scattered into place.
  let first: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const e = batch + <usize>i * REF_BYTES;
    store<u32>(e + REF_BACKREF_FIRST, first);
    first += load<u32>(e + REF_BACKREF_COUNT);
    store<u32>(e + REF_BACKREF_COUNT, 0);
  }
  const m = backrefCount();
  assert(first == m, "delayed refs: backref count");
  const out = <usize>load<u32>(fsBase + F_BATCH_BACKREFS);
  const backrefList = <usize>load<u32>(fsBase + F_BACKREF_LIST);
  for (let k: u32 = 0; k < m; k++) {
    const slot = load<u32>(backrefList + (<usize>k << 2));
    assert(slot < backrefSlots(), "delayed refs: a listed backref slot outside the table");
    const b = backrefs() + <usize>slot * BACKREF_BYTES;
    const target = load<u32>(b + BACKREF_TARGET);
    assert(target != 0, "delayed refs: a listed backref slot is empty");
    const e = batch + <usize>findInBatch(batch, n, target) * REF_BYTES;
    const index = load<u32>(e + REF_BACKREF_FIRST) + load<u32>(e + REF_BACKREF_COUNT);
    moveEntry32(out + <usize>index * BACKREF_BYTES, b);
    store<u32>(e + REF_BACKREF_COUNT, load<u32>(e + REF_BACKREF_COUNT) + 1);
  }
  store<u32>(fsBase + F_REF_COUNT, 0);
  store<u32>(fsBase + F_BACKREF_COUNT, 0);
  store<u32>(fsBase + F_BATCH_COUNT, n);
  // Every slot taken since the tables were last zero was listed and is cleared now.
  store<u32>(fsBase + F_REF_TABLES_CLEAN, REF_TABLES_CLEAN);
  // Every listed slot was cleared: a later probe meets no entry of this batch.
  // a taken ref left in the table
  if (CHECKS) {
    assert(n == 0 || load<u32>(refs() + <usize>load<u32>(refList) * REF_BYTES + REF_TARGET) == 0);
  }
  return n;
}

/**
 * Move a 32-byte table slot to the batch and clear it: two 16-byte loads and stores each
 * way (memory.copy and fill of 32 bytes became a call into the engine's memmove per slot).
 */
@inline function moveEntry32(dst: usize, src: usize): void {
  // constants: no code
  assert(REF_BYTES == 32 && BACKREF_BYTES == 32, "delayed refs: slots are moved as 32 bytes");
  v128.store(dst, v128.load(src));
  v128.store(dst, v128.load(src, 16), 16);
  v128.store(src, i64x2.splat(0));
  v128.store(src, i64x2.splat(0), 16);
}

/** Heap sort of the batch's entries by target (no scratch memory; n log n). */
function sortBatch(batch: usize, n: u32): void {
  assert(<u64>n * 2 <= <u64>refSlots(), "batch too large");
  if (n < 2) return;
  for (let i = <i32>(n >> 1) - 1; i >= 0; i--) siftDown(batch, <u32>i, n);
  for (let end = n - 1; end > 0; end--) {
    swap(batch, 0, end);
    siftDown(batch, 0, end);
  }
  if (CHECKS) assert(batchSorted(batch, n)); // the batch is not sorted by target
}

/**
 * Debug builds: are the batch's n targets strictly increasing (each target once)? Release: true.
 */
function batchSorted(batch: usize, n: u32): bool {
  if (!CHECKS) return true;
  assert(<u64>n * 2 <= <u64>refSlots(), "batch too large");
  for (let i: u32 = 1; i < n; i++) if (targetAt(batch, i - 1) >= targetAt(batch, i)) return false;
  return true;
}

@inline function targetAt(batch: usize, i: u32): u32 {
  if (CHECKS) assert(<u64>i * 2 < <u64>refSlots()); // a batch entry past the batch
  const target = load<u32>(batch + <usize>i * REF_BYTES + REF_TARGET);
  if (CHECKS) assert(target != 0); // a batch entry without a target
  return target;
}

function siftDown(batch: usize, start: u32, n: u32): void {
  assert(start < n, "heap index");
  let root = start;
  while (true) {
    let child = root * 2 + 1;
    if (child >= n) return;
    if (child + 1 < n && targetAt(batch, child + 1) > targetAt(batch, child)) child++;
    if (targetAt(batch, root) >= targetAt(batch, child)) return;
    swap(batch, root, child);
    root = child;
  }
}

function swap(batch: usize, a: u32, b: u32): void {
  assert(a != b, "swap with itself");
  if (CHECKS) assert(<u64>max<u32>(a, b) * 2 < <u64>refSlots()); // a swap past the batch
  const pa = batch + <usize>a * REF_BYTES, pb = batch + <usize>b * REF_BYTES;
  const a0 = v128.load(pa), a1 = v128.load(pa, 16);
  v128.store(pa, v128.load(pb));
  v128.store(pa, v128.load(pb, 16), 16);
  v128.store(pb, a0);
  v128.store(pb, a1, 16);
}

function findInBatch(batch: usize, n: u32, target: u32): u32 {
  assert(n > 0, "empty batch");
  assert(target != 0, "key 0");
  let low: u32 = 0, high = n;
  while (low < high) {
    const mid = (low + high) >> 1;
    const t = targetAt(batch, mid);
    if (t == target) return mid;
    if (t < target) low = mid + 1; else high = mid;
  }
  assert(false, "delayed refs: a backref without its ref");
  return 0;
}
