// The tree checker's words. The checks themselves run in the core (assembly/fs/
// tree-checker.ts, on every first read of a clean tree block, and assembly/fs/disk-io.ts);
// a problem comes back as a record (code, slot, values) and is worded here, where the
// strings are. validBlockPointer stays here too: the superblock is parsed in TypeScript.
import type { FsMemory } from './memory.js';
import {
  NODE_HEADER_BYTES, LEAF_ITEM_BYTES, KEY_PTR_BYTES, NODE_LEVEL, MAX_LEVEL, SECTOR_BYTES,
  SYSTEM_AREA_BYTES, keyText,
} from './format.js';
import {
  PR_CODE, PR_SLOT, PR_COPY, PR_A, PR_B, PR_C, PR_BYTENR, P_NONE, P_MEDIA_ERROR, P_CHECKSUM,
  P_BYTENR, P_POINTER, P_LEVEL, P_GENERATION, P_OWNER, P_NRITEMS, P_EMPTY_INTERNAL, P_KEY_RANGE,
  P_KEY_ORDER, P_CHILD_POINTER, P_CHILD_GENERATION, P_DATA_END, P_DATA_OVERLAP, P_ITEM_SIZE,
  P_INODE_MODE, P_INODE_SIZE, P_INODE_FLAGS, P_NO_NAMES, P_NAME_TRUNCATED, P_NAME_LENGTH,
  P_NAME_PAST, P_DIR_KIND, P_EXTENT_TYPE, P_FILE_OFFSET, P_EXTENT_OUTSIDE, P_EXTENT_MAPS,
  P_MAPS_BEYOND, P_CSUM_BYTES, P_BAD_KEY, P_ROOT_LEVEL, P_ROOT_OUTSIDE, P_TREE_ID, P_REF_BYTES,
  P_EXTENT_KEY, P_LEAF_ALIGN, P_UNKNOWN_TYPE, P_FSID, P_DIR_DATA, P_INLINE_FILE, PR_TREE,
  P_CHILD_LEVEL, P_CHILD_STALE, P_CHILD_EMPTY,
  P_CHILD_LOW, P_CHILD_HIGH, P_NODE_LEVEL, P_NOT_COPY, P_ITEM_TOO_LARGE,
  P_ITEM_NO_FIT, P_KEY_EXISTS,
  P_KEY_MISSING, P_NO_METADATA_SPACE, P_POOL_EMPTY, P_BLOCK_IN_USE, P_DATA_MEDIA,
  P_DATA_POISON, P_DATA_CSUM,
  P_CSUMS_MISSING, P_EXTENT_DAMAGED, P_REFS_FULL, P_REFS_NEGATIVE, P_BACKREF_NEGATIVE,
  P_REFS_LOOP, P_REF_KIND,
} from '../core/abi.js';

/** What a node is checked against: the file system's geometry and last commit. */
export interface CheckContext {
  nodeBytes: number;
  totalBytes: number;
  /** Bytes a tree block occupies on the device (nodeBytes times the metadata copies). */
  metadataBlockBytes: number;
  /** The last committed generation: no clean node can be newer. */
  generation: number;
}

/** A tree block pointer a node or item may hold: aligned, inside the allocatable space. */
export function validBlockPointer(bytenr: number, ctx: CheckContext): boolean {
  return Number.isSafeInteger(bytenr) && bytenr >= SYSTEM_AREA_BYTES && bytenr % SECTOR_BYTES === 0
    && bytenr + ctx.metadataBlockBytes <= ctx.totalBytes;
}

/** A problem record the core wrote (PROBLEM_BYTES at `record`). */
export interface Problem {
  code: number;
  slot: number;
  copy: number;
  a: number;
  b: number;
  c: number;
  bytenr: number;
  tree: number;
}

export function readProblem(m: FsMemory, record: number): Problem {
  return {
    code: m.u32(record + PR_CODE), slot: m.u32(record + PR_SLOT), copy: m.u32(record + PR_COPY),
    a: m.u64(record + PR_A), b: m.u64(record + PR_B), c: m.u64(record + PR_C),
    bytenr: m.u64(record + PR_BYTENR),
    tree: m.u64(record + PR_TREE),
  };
}

/** The words of a block reader's problem: `tree block B[ copy 2]: what`. */
export function blockProblemText(m: FsMemory, p: Problem, nodeAddr: number): string {
  if (p.code === P_POINTER) return `tree block pointer ${p.bytenr} is outside the device`;
  const what = `tree block ${p.bytenr}${p.copy ? ` copy ${p.copy + 1}` : ''}`;
  if (p.code === P_MEDIA_ERROR) return `${what}: media error`;
  if (p.code === P_CHECKSUM) return `${what}: checksum mismatch`;
  if (p.code === P_BYTENR) return `${what}: header says ${p.a}`;
  return `${what}: ${nodeProblemText(m, p, nodeAddr)}`;
}

/** The words of a tree checker problem in the node at `nodeAddr`. */
function nodeProblemText(m: FsMemory, p: Problem, nodeAddr: number): string {
  const stride = m.u8At(nodeAddr + NODE_LEVEL) === 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  const keyAt = (slot: number): string =>
    keyText(m.key(nodeAddr + NODE_HEADER_BYTES + slot * stride));
  const s = p.slot;
  switch (p.code) {
    case P_NONE: return 'no problem';
    case P_LEVEL: return `level ${p.a} above the maximum ${MAX_LEVEL}`;
    case P_GENERATION: return `generation ${p.a} outside 1..${p.b}`;
    case P_OWNER: return `owner ${p.a} is not a tree id`;
    case P_NRITEMS: return `nritems ${p.a} above the ${p.b} that fit`;
    case P_EMPTY_INTERNAL: return 'internal node without key pointers';
    case P_KEY_RANGE: return `slot ${s}: key ${keyAt(s)} above 2^53`;
    case P_KEY_ORDER: return `keys out of order at slot ${s}: ${keyAt(s - 1)} then ${keyAt(s)}`;
    case P_CHILD_POINTER: return `slot ${s}: child pointer ${p.a} is outside the device`;
    case P_CHILD_GENERATION: return `slot ${s}: child generation ${p.a} outside 1..${p.b}`;
    case P_DATA_END: return `slot ${s}: data [${p.a}, +${p.b}) does not end at ${p.c}`;
    case P_DATA_OVERLAP: return `slot ${s}: data at ${p.a} overlaps the item headers`;
    case P_FSID: return 'fsid does not match the file system\'s';
    default: return `slot ${s} ${keyAt(s)}: ${itemProblemText(p)}`;
  }
}

function itemProblemText(p: Problem): string {
  switch (p.code) {
    case P_ITEM_SIZE: return `${p.a} bytes, expected ${p.b}`;
    case P_INODE_MODE: return `mode ${p.a}`;
    case P_INODE_SIZE: return `size ${p.a} above 2^50`;
    case P_INODE_FLAGS: return `flags ${p.a}`;
    case P_NO_NAMES: return 'no names';
    case P_NAME_TRUNCATED: return `truncated record at ${p.a}`;
    case P_NAME_LENGTH: return `name length ${p.a}`;
    case P_NAME_PAST: return 'name runs past the item';
    case P_DIR_KIND: return `entry kind ${p.a}`;
    case P_EXTENT_TYPE: return `extent type ${p.a}`;
    case P_FILE_OFFSET: return `file offset ${p.a}`;
    case P_EXTENT_OUTSIDE: return `extent ${p.a}+${p.b} outside the device`;
    case P_EXTENT_MAPS: return `maps ${p.a}+${p.b} of a ${p.c}-byte extent`;
    case P_MAPS_BEYOND: return 'maps beyond 2^50';
    case P_CSUM_BYTES: return `${p.a} bytes of checksums`;
    case P_BAD_KEY: return 'bad key';
    case P_ROOT_LEVEL: return `root level ${p.a}`;
    case P_ROOT_OUTSIDE: return `root ${p.a} outside the device`;
    case P_TREE_ID: return `tree id ${p.a}`;
    case P_REF_BYTES: return `${p.a} bytes`;
    case P_EXTENT_KEY: return `extent ${p.a}+${p.b}`;
    case P_LEAF_ALIGN: return `leaf ${p.a} not aligned`;
    case P_UNKNOWN_TYPE: return `unknown item type ${p.a}`;
    case P_DIR_DATA: return `directory entry with ${p.a} bytes of data (only xattrs carry data)`;
    default: return `problem ${p.code}`;
  }
}

/**
 * The words of a problem of the core's B-tree operations (assembly/fs/ctree.ts). Key
 * problems carry the addresses of the keys (still in memory: nothing changed since);
 * `opKey` is the address of the operation's key.
 */
export function engineProblemText(m: FsMemory, p: Problem, opKey: number): string {
  const child = (what: string): string =>
    `tree ${p.tree}: block ${p.c} (slot ${p.slot} of ${p.bytenr}): ${what}`;
  switch (p.code) {
    case P_CHILD_LEVEL: return child(`level ${p.a}, parent is at ${p.b}`);
    case P_CHILD_STALE: return child(`generation ${p.a}, parent pointer says ${p.b}`);
    case P_CHILD_EMPTY: return child('empty node below the root');
    case P_CHILD_LOW: return child(
      `first key ${keyText(m.key(p.a))} below the parent's ${keyText(m.key(p.b))}`);
    case P_CHILD_HIGH: return child(
      `last key ${keyText(m.key(p.a))} not below ${keyText(m.key(p.b))}`);
    case P_NODE_LEVEL: return `tree ${p.tree}: node ${p.bytenr} has level ${p.a}, expected ${p.b}`;
    case P_NOT_COPY: return `tree ${p.tree}: block ${p.bytenr} on a copy-on-write path is not a`
      + ` copy (the extent tree and tree ${p.tree} disagree)`;
    case P_ITEM_TOO_LARGE: return `item ${keyText(m.key(opKey))} of ${p.a} bytes is too large`;
    case P_ITEM_NO_FIT: return `item of ${p.a} bytes does not fit in a ${p.b}-byte node`;
    case P_KEY_EXISTS: return `tree ${p.tree}: key ${keyText(m.key(opKey))} exists`;
    case P_KEY_MISSING: return `tree ${p.tree}: key ${keyText(m.key(opKey))} not found`;
    case P_NO_METADATA_SPACE: return 'no space left for metadata';
    case P_POOL_EMPTY: return 'no free dirty-node buffer: the transaction is too large';
    case P_BLOCK_IN_USE: return `free space hands out tree block ${p.bytenr}, which is in use`
      + ` (the extent tree lacks its item)`;
    case P_DATA_MEDIA: return `media error in data sectors at device byte ${p.bytenr}`;
    case P_DATA_POISON: return `media error: poisoned line in [${p.bytenr}, ${p.bytenr + p.a})`;
    case P_DATA_CSUM: return `data checksum mismatch at device byte ${p.bytenr}`;
    case P_CSUMS_MISSING: return `data extent ${p.bytenr}: checksums missing`;
    case P_REFS_FULL: return `delayed-ref tables full (${p.a} refs, ${p.b} back references)`;
    case P_REFS_NEGATIVE: return `extent ${p.bytenr}: reference count ${p.a} would drop below zero`;
    case P_EXTENT_DAMAGED: return p.slot === 0
      ? `extent tree: tree block ${p.bytenr} has an item at another level than ${p.a}, the level`
        + ` its pointer says`
      : `extent tree: extent ${p.bytenr}+${p.a} freed twice (its items count more references than`
        + ` exist)`;
    case P_BACKREF_NEGATIVE:
      if (p.slot === 1) {
        return `data extent ${p.bytenr}: no free key for the back reference of root ${p.a}, inode`
          + ` ${p.b}`;
      }
      if (p.slot === 2) {
        return `tree block ${p.bytenr}: its back reference (root or parent ${p.a}) changes by`
          + ` ${p.c === 0 ? 'removal, but it has none' : `${p.c} at once`}`;
      }
      if (p.slot === 3) {
        return `data extent ${p.bytenr}: the shared back reference of leaf ${p.a} would count`
          + ` ${p.c}`;
      }
      return `data extent ${p.bytenr}: back reference of root ${p.a}, inode ${p.b}, offset`
        + ` ${p.c} would drop below zero`;
    case P_REFS_LOOP: return 'delayed refs do not settle';
    case P_REF_KIND: return `block ${p.bytenr} referenced both as data and as a tree block`;
    case P_INLINE_FILE: return `inode ${p.a}: an inline extent in a regular file (pmcow keeps`
      + ` inline data only for symlinks; an adoption moves a file's to an extent)`;
    default: return `problem ${p.code} in tree ${p.tree}`;
  }
}
