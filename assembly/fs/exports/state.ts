// The fs exports of the engine's state (state.ts, format.ts), its blocks (disk-io.ts) and
// the transaction's dirty blocks (transaction.ts).
import {
  EINVAL, EIO, FS_HEADER_BYTES, SECTOR_BYTES, SECTOR_SHIFT, MAX_LEVEL, NEEDS_HEAL, EUCLEAN,
} from "../../abi";
import * as S from "../../pmem/state";
import { fsFormat, fsTablesBytes } from "../format";
import {
  fsAttach, fsAttached, dirtyBuffer, isVerified, setVerified, clearVerified, nodeBytes,
  kernelRangeValid, fsBase, poolCount, totalBytes, committedGeneration,
} from "../state";
import { begin, allocNode } from "../ctree";
import { nritems as nritemsAt, inPool, level as levelAt } from "../node";
import { CHECKS } from "../../shared/checks";
import { refCount, backrefCount } from "../delayed-ref";
import {
  dropDirty, endTransaction, freeBuffers, liveDirtyBlocks, dirtyListLength, dirtyListEntry,
} from "../transaction";
import { nodeAddr, checkCopy } from "../disk-io";
import { chunkBytesValid } from "../chunks";
import { u64Arg, ready, stateSound } from "./args";

// Bytes the state needs at its base: header and tables (the pool is separate), with
// delayed-ref tables of `refSlots` and `backrefSlots` (powers of two).
export function fs_state_bytes(
  totalBytes: u32, poolCount: u32, refSlots: u32, backrefSlots: u32,
): f64 {
  if (S.threadSlot < 0 || (totalBytes & (SECTOR_BYTES - 1)) != 0 || poolCount == 0
      || !slotsValid(refSlots) || !slotsValid(backrefSlots)) {
    return -EINVAL;
  }
  const tables = fsTablesBytes(totalBytes, poolCount, refSlots, backrefSlots);
  // The stacks (free, freed, dirty list) and the sector index are among the tables.
  assert(tables >= <u64>poolCount * 12 + <u64>(totalBytes >> SECTOR_SHIFT) * 4, "tables too small");
  return <f64>FS_HEADER_BYTES + <f64>tables;
}

@inline function slotsValid(slots: u32): bool {
  return slots >= 16 && slots <= (1 << 26) && (slots & (slots - 1)) == 0;
}

// Lay out the state at `base` for a mount: pool of `poolCount` buffers at `pool`, delayed
// refs in tables of `refSlots` and `backrefSlots`; nothing dirty, nothing verified. Then
// attach to it.
export function fs_format(
  base: u32, node: u32, copies: u32, totalBytes: u32, chunkBytes: u32, generation: f64,
  pool: u32, poolCount: u32, refSlots: u32, backrefSlots: u32,
): i32 {
  if (S.threadSlot < 0 || node < SECTOR_BYTES || node > 65536 || (node & (node - 1)) != 0) {
    return -EINVAL;
  }
  if ((copies != 1 && copies != 2) || (totalBytes & (SECTOR_BYTES - 1)) != 0
      || totalBytes > S.deviceBytes) {
    return -EINVAL;
  }
  if (!chunkBytesValid(chunkBytes, node, copies, totalBytes)) return -EINVAL;
  if (u64Arg(generation) < 0 || poolCount == 0 || (base & 7) != 0 || !slotsValid(refSlots)
      || !slotsValid(backrefSlots)) {
    return -EINVAL;
  }
  const stateBytes = <u64>FS_HEADER_BYTES + fsTablesBytes(totalBytes, poolCount, refSlots,
    backrefSlots);
  if (!kernelRangeValid(base, stateBytes) || !kernelRangeValid(pool, <u64>poolCount * node)) {
    return -EINVAL;
  }
  if (<u64>base < <u64>pool + <u64>poolCount * node && <u64>pool < <u64>base + stateBytes) {
    return -EINVAL;
  }
  fsFormat(base, node, copies, totalBytes, chunkBytes, <u64>generation, pool, poolCount, refSlots,
    backrefSlots);
  if (!fsAttach(base)) return -EINVAL;
  // A new state: every buffer free, no delayed ref, at the generation asked.
  assert(freeBuffers() == poolCount, "buffers in use");
  assert(refCount() == 0 && backrefCount() == 0, "refs left");
  assert(committedGeneration() == <u64>generation, "generation");
  if (CHECKS) assert(stateSound()); // fs_format broke the state's invariants
  return 0;
}

// Attach this instance (thread) to the state a mount formatted at `base`.
export function fs_attach(base: u32): i32 {
  if (S.threadSlot < 0 || !kernelRangeValid(base, FS_HEADER_BYTES)) return -EINVAL;
  if (!fsAttach(base)) return -EINVAL;
  assert(fsBase == base && fsAttached(), "state");
  return 0;
}

// The address of tree block `bytenr`'s content, or -EIO / -EUCLEAN (problem records),
// -NEEDS_HEAL (heal copy 1 from copy 2, then fs_set_verified), -EINVAL.
export function fs_node_addr(bytenr: f64): f64 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_node_addr is called
  const addr = nodeAddr(<u64>b);
  assert(addr >= 0 || addr == -<i64>EIO || addr == -<i64>EUCLEAN || addr == -<i64>NEEDS_HEAL,
    "read result");
  if (CHECKS) assert(stateSound()); // fs_node_addr broke the state's invariants
  return <f64>addr;
}

// Is copy `copy` of clean tree block `bytenr` sound? 0, or -EIO / -EUCLEAN with its record.
export function fs_check_copy(bytenr: f64, copy: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0 || copy > 1 || (b & (SECTOR_BYTES - 1)) != 0) return -EINVAL;
  if (<u64>b + <u64>(copy + 1) * nodeBytes > <u64>S.deviceBytes) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_check_copy is called
  const r = checkCopy(<u64>b, copy);
  assert(r == 0 || r == -EIO || r == -EUCLEAN, "check result");
  return r;
}

export function fs_is_verified(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_is_verified is called
  return isVerified(<u64>b) ? 1 : 0;
}

export function fs_set_verified(bytenr: f64, on: u32): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_set_verified is called
  setVerified(<u64>b, on != 0);
  if (CHECKS) assert(stateSound()); // fs_set_verified broke the state's invariants
  return 0;
}

// Every block is read (and checked) again on its next use (scrub).
export function fs_forget_verified(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_forget_verified is called
  clearVerified();
  if (CHECKS) assert(stateSound()); // fs_forget_verified broke the state's invariants
  return 0;
}

// The buffer address of dirty block `bytenr`, 0 when it is not dirty.
export function fs_dirty_buffer(bytenr: f64): f64 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_buffer is called
  const buffer = dirtyBuffer(<u64>b);
  assert(buffer == 0 || inPool(buffer), "not a pool buffer");
  return <f64>buffer;
}

// A new, empty, dirty node of tree `owner` at `level` (a new tree's root): the block the
// B-tree's own allocation gives. Its bytenr; problems (no space, an empty pool) are thrown
// by fs_fail.
export function fs_alloc_node(owner: f64, level: u32): f64 {
  const o = u64Arg(owner);
  if (!ready() || o < 0 || level > MAX_LEVEL) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_alloc_node is called
  begin(<u64>o, 0, 0, 0, 0, 0);
  const bytenr = allocNode(level);
  const node = dirtyBuffer(bytenr);
  assert(node != 0, "node not dirty");
  assert(levelAt(node) == level, "bad level");
  assert(nritemsAt(node) == 0, "node not empty");
  if (CHECKS) assert(stateSound()); // fs_alloc_node broke the state's invariants
  return <f64>bytenr;
}

// Drop dirty block `bytenr` (its last reference is gone): 1 when it was dirty, 0 if not.
export function fs_drop_dirty(bytenr: f64): i32 {
  const b = u64Arg(bytenr);
  if (!ready() || b < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_drop_dirty is called
  const dropped = dropDirty(<u64>b);
  assert(dirtyBuffer(<u64>b) == 0, "still dirty");
  if (CHECKS) assert(stateSound()); // fs_drop_dirty broke the state's invariants
  return dropped ? 1 : 0;
}

export function fs_free_buffers(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_free_buffers is called
  return <i32>freeBuffers();
}

export function fs_dirty_blocks(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_blocks is called
  return <i32>liveDirtyBlocks();
}

export function fs_dirty_list_length(): i32 {
  if (!ready()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_list_length is called
  return <i32>dirtyListLength();
}

// The bytenr of dirty-list entry `i` (the order blocks became dirty), -1 when dropped since.
export function fs_dirty_list_entry(i: u32): f64 {
  if (!ready() || i >= dirtyListLength()) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_dirty_list_entry is called
  return <f64>dirtyListEntry(i);
}

// The commit of `generation` is durable: written blocks become clean and verified.
export function fs_end_transaction(generation: f64): i32 {
  const g = u64Arg(generation);
  if (!ready() || g < 0) return -EINVAL;
  if (CHECKS) assert(stateSound()); // the state is sound when fs_end_transaction is called
  endTransaction(<u64>g);
  // Every buffer came back, nothing is dirty, and the generation is the one committed.
  assert(freeBuffers() == poolCount && liveDirtyBlocks() == 0 && dirtyListLength() == 0,
    "buffers in use");
  assert(committedGeneration() == <u64>g, "generation");
  if (CHECKS) assert(stateSound()); // fs_end_transaction broke the state's invariants
  return 0;
}
