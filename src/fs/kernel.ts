// The file system's kernel: the host of the engine in the core (assembly/fs/,
// docs/engine.md) for one mount. It lays out the kernel region and formats the engine's
// state, words the engine's problems, heals dup copies, decides when delayed refs run,
// and keeps the commit protocol and the superblock. It is the TreeHost of every tree.
import { CommitParticipants } from './commit-participants.js';
import { FsError, errnoName } from '../errors.js';
import type { PmemDevice } from '../pmem/device.js';
import {
  REGION, NEEDS_HEAL, TA_PROBLEMS, TA_KEY, P_NO_METADATA_SPACE, P_POOL_EMPTY, P_BLOCK_IN_USE,
  P_REFS_FULL, F_EXTENT_ROOT, F_CSUM_ROOT, BAD_ARGUMENT_BIAS, EXTENT_TREE_ID, CSUM_TREE_ID,
  F_GENERATION, F_FSID, F_CHUNK_TREE_UUID, F_ABORTED, ABORTED_BY_HOST, EXTENT_MARK_LOSING,
  EXTENT_MARK_FILLED, RS_FLAGS, RSF_MOVED, RS_LAST_SNAPSHOT, WRITE_OUT_REPORT,
  WRITE_OUT_STORE_POINTS, CHUNK_DATA, CHUNK_METADATA, NODE_GENERATION,
} from '../core/abi.js';
import { ChunkMap, chunkBytesFor } from './chunks.js';
import { setFsHooks, type FsHooks } from '../core/module.js';
import type { CoreExports } from '../core/exports.js';
import { BTree, ROOT_POINTER, type TreeHost } from './ctree.js';
import { FreeSpace } from './free-space.js';
import { FsMemory } from './memory.js';
import {
  SECTOR_BYTES, SUPERBLOCK_BYTES, SYSTEM_AREA_BYTES, superblockOffsets, EXTENT_ITEM, EI_GENERATION,
  FS_TREE_ID, FIRST_SUBVOLUME_ID, MAX_KEY_VALUE, key, PMCOW_INCOMPAT,
} from './format.js';
import { readProblem, engineProblemText, type CheckContext } from './tree-checker.js';
import { UUID_BYTES } from './uuid.js';
import {
  encodeSuperblock, rebaseSuperblock, type SuperblockState, type SuperblockRead,
} from './superblock.js';
import { readSuperblock, superblockStateOf } from './superblock-io.js';
import { check, abortedText } from './engine-result.js';
import { BlockCopies, type BadCopy } from './block-copies.js';
import { RootTable } from './root-table.js';
import { ReadersDropped } from './readers-dropped.js';
import { losingRefs, DelayedRefRunner } from './delayed-refs.js';
import { layKernelRegion } from './kernel-layout.js';
import { TreeRootItems } from './tree-root-items.js';
import {
  usedBytes, reservedBytes, addAllocatableSpace, rebuildFreeSpace,
} from './block-group-space.js';
import type { MetadataProfile } from './types.js';
import { assert } from '../assert.js';

export type { SuperblockState } from './superblock.js';

export function isFsTree(owner: number): boolean {
  return owner === FS_TREE_ID || owner >= FIRST_SUBVOLUME_ID;
}

export class Kernel implements TreeHost {
  /**
   * Counts tree changes (and commits): what a reader cached from the trees (the file
   * system's path cache) is valid while this stays the same. Kept by the core (its B-tree
   * operations count their changes).
   */
  get treeChanges(): number { return this.core.fs_tree_changes(); }
  treeChanged(): void { this.core.fs_tree_changed(); }

  readonly core: CoreExports;
  /** This thread's area of the core's engine (results and problem records of its calls). */
  readonly threadArea: number;

  readonly m: FsMemory;
  readonly nodeBytes: number;
  /**
   * Copies of every tree block: 1 (profile 'single') or 2 ('dup': the copy is in its
   * chunk's second half).
   */
  readonly metadataCopies: number;
  /**
   * Block group bytes one tree block takes: nodeBytes (a dup copy lies in the chunk's
   * mirror half).
   */
  readonly metadataBlockBytes: number;
  /** The block groups (chunks.ts): the core's chunk table as btrfs's items. */
  readonly chunks: ChunkMap;
  /** The device's uuid (its DEV_ITEM's, every stripe's). */
  devUuid: Uint8Array = new Uint8Array(UUID_BYTES);
  /** Tree block copies rewritten from their good twin (dup), since mount. */
  healedCopies = 0;
  readonly sectorBytes = SECTOR_BYTES;
  readonly totalBytes: number;
  readonly visibleAddr: number;
  /**
   * Last committed generation (kept in the core's state); the running transaction is
   * generation + 1.
   */
  get generation(): number { return this.m.u64(this.fsStateAddr + F_GENERATION); }
  nextSubvolume = FIRST_SUBVOLUME_ID;
  label = '';
  /** The superblock's incompat word (an adopted image keeps its accepted bits, features.ts). */
  incompatFlags = PMCOW_INCOMPAT;
  /**
   * The compat_ro word: an adopted image's free space tree flags until the adoption drops
   * the tree.
   */
  compatRoFlags = 0;
  /**
   * 'btrfs' while a mount adopts an image pmcow did not write (its superblocks keep
   * revision 0 until done).
   */
  origin: 'pmcow' | 'btrfs' = 'pmcow';
  /**
   * Trees pmcow keeps as an adopted image had them, never changing them: btrfs's uuid tree
   * (9) and data relocation tree (-9), by id (fsck walks them; their blocks are in use).
   */
  readonly keptTrees = new Map<number, { bytenr: number; level: number }>();
  /**
   * The generation of the superblock this mount read (-1 for a kernel made by mkfs). Mount
   * writes none.
   */
  mountedGeneration = -1;
  /**
   * Set when a transaction cannot complete: every later change fails with EROFS. Shared
   * with every thread's core (F_ABORTED): a problem another thread's engine hit (a writer
   * thread's page fault) aborts the transaction here too.
   */
  get aborted(): string | null {
    if (this.abortReason !== null) return this.abortReason;
    const code = this.m.u32(this.fsStateAddr + F_ABORTED);
    return code === 0 ? null : abortedText(code);
  }
  set aborted(reason: string | null) {
    this.abortReason = reason;
    this.m.setU32(this.fsStateAddr + F_ABORTED,
      reason === null ? 0 : (this.m.u32(this.fsStateAddr + F_ABORTED) || ABORTED_BY_HOST));
  }
  private abortReason: string | null = null;

  readonly free: FreeSpace;
  rootTree!: BTree;
  extentTree!: BTree;
  csumTree!: BTree;
  chunkTree!: BTree;
  devTree!: BTree;
  /** Subvolume trees whose root moved in this transaction (their ROOT_ITEM is stale). */
  readonly movedSubvolumes = new Set<BTree>();
  /** Who takes part in each commit besides the kernel: the file system's ROOT_ITEMs, the
   *  DAX layer's dirtied pages, crash oracles (commit-participants.ts). */
  readonly participants = new CommitParticipants();

  /** The core's state of this mount (dirty blocks, pool, verified blocks): assembly/fs/state.ts. */
  readonly fsStateAddr: number;
  /** Data extent `bytenr` lost a file extent item's reference (in part) in this transaction. */
  markLosingRefs(bytenr: number): void {
    check(this.core.fs_extent_mark(EXTENT_MARK_LOSING, bytenr, 1),
      'mark an extent losing references');
  }

  /**
   * Data extent `bytenr` had bytes filled in place in this transaction (the core's fault
   * path leaves it to the owner).
   */
  markFilled(bytenr: number): void {
    check(this.core.fs_extent_mark(EXTENT_MARK_FILLED, bytenr, 1), 'mark an extent filled');
  }

  /** Record a subvolume's last snapshot generation where every thread's fault path reads it. */
  setLastSnapshot(tree: BTree, generation: number): void {
    const slot = tree.slotAddress;
    if (slot) this.m.setU64(slot + RS_LAST_SNAPSHOT, generation);
  }

  /** Did another thread's core move this tree's root in this transaction? Clears the mark. */
  takeMovedMark(tree: BTree): boolean {
    const slot = tree.slotAddress;
    if (!slot || (this.m.u32(slot + RS_FLAGS) & RSF_MOVED) === 0) return false;
    this.m.setU32(slot + RS_FLAGS, this.m.u32(slot + RS_FLAGS) & ~RSF_MOVED);
    return true;
  }

  /**
   * Did an item stop mapping data extent `bytenr` (in part) in this transaction? (Core
   * bits: the fault path reads them.)
   */
  isLosingRefs(bytenr: number): boolean {
    return check(this.core.fs_extent_mark(EXTENT_MARK_LOSING, bytenr, 0),
      'ask an extent mark') === 1;
  }
  /**
   * Per data extent, the extent-relative ranges of preallocated bytes written in place in
   * this transaction (FileData.planFills): the committed tree still reads them as zeros,
   * so until the commit they may be written again in place, like a COWed block.
   */
  readonly filledThisTransaction = new Map<number, Array<[number, number]>>();
  /**
   * Per data extent, the extent-relative ranges that items dropped in this transaction
   * read (not preallocated): the committed tree, which a crash returns to, still reads them.
   */
  get readersDropped(): Map<number, Array<[number, number]>> {
    return this.readersLog.current();
  }
  private readonly readersLog: ReadersDropped;
  private dirtyData: Array<[number, number]> = [];
  private readonly superblockStaging: number;
  /** Kernel scratch for small staged buffers (csum arrays). */
  readonly stagingAddr: number;
  readonly stagingBytes: number;
  readonly poolSize: number;
  /** The DAX region: the last daxBytes of the kernel region. */
  readonly daxAddr: number;
  readonly daxBytes: number;

  constructor(readonly device: PmemDevice, nodeBytes: number, profile: MetadataProfile = 'single') {
    this.m = new FsMemory(device.memory.buffer);
    this.core = device.core;
    this.nodeBytes = nodeBytes;
    this.metadataCopies = profile === 'dup' ? 2 : 1;
    this.metadataBlockBytes = nodeBytes;
    this.totalBytes = device.sizeBytes - (device.sizeBytes % SECTOR_BYTES);
    this.visibleAddr = device.core.pmem_region(REGION.visible) >>> 0;
    const kernel = device.core.pmem_region(REGION.kernel) >>> 0;
    const kernelBytes = device.core.pmem_region(REGION.kernelBytes) >>> 0;
    const core = device.core;
    const layout = layKernelRegion(core, kernel, kernelBytes, this.totalBytes, nodeBytes);
    this.superblockStaging = layout.superblockStaging;
    this.stagingAddr = layout.stagingAddr;
    this.stagingBytes = layout.stagingBytes;
    this.daxBytes = layout.daxBytes;
    this.daxAddr = layout.daxAddr;
    this.fsStateAddr = layout.fsStateAddr;
    this.readersLog = new ReadersDropped(this.m, this.fsStateAddr);
    this.rootTable = new RootTable(this.m, this.fsStateAddr);
    this.refRunner = new DelayedRefRunner(this.core);
    this.poolSize = layout.poolSize;
    const chunkBytes = chunkBytesFor(this.totalBytes, nodeBytes, this.metadataCopies);
    if (this.totalBytes < SYSTEM_AREA_BYTES + 4 * chunkBytes) {
      throw new FsError('ENOSPC', `device of ${this.totalBytes} bytes holds fewer than 4 chunks`
        + ` of ${chunkBytes} bytes after its first MiB`);
    }
    const formatted = core.fs_format(this.fsStateAddr, nodeBytes, this.metadataCopies,
      this.totalBytes, chunkBytes, 0, layout.poolStart, layout.poolSize, layout.refSlots,
      layout.backrefSlots);
    check(formatted, 'format the file system state');
    this.chunks = new ChunkMap(this);
    this.threadArea = core.fs_thread_area();
    check(core.fs_set_staging(this.stagingAddr, this.stagingBytes), 'name the staging buffer');
    setFsHooks(core, this.hooks);
    this.free = new FreeSpace(core, this.totalBytes, SECTOR_BYTES);
  }

  /**
   * The file system's uuid: the superblock's, and every tree block header's (the core
   * writes and checks it).
   */
  get fsid(): Uint8Array {
    return this.m.u8.slice(this.fsStateAddr + F_FSID, this.fsStateAddr + F_FSID + UUID_BYTES);
  }
  get chunkTreeUuid(): Uint8Array {
    return this.m.u8.slice(this.fsStateAddr + F_CHUNK_TREE_UUID,
      this.fsStateAddr + F_CHUNK_TREE_UUID + UUID_BYTES);
  }

  /** Set both uuids (mkfs, mount): before the first tree block is read or made. */
  setUuids(fsid: Uint8Array, chunkTreeUuid: Uint8Array): void {
    if (fsid.length !== UUID_BYTES || chunkTreeUuid.length !== UUID_BYTES) {
      throw new FsError('EINVAL', 'a uuid is 16 bytes');
    }
    this.m.u8.set(fsid, this.fsStateAddr + F_FSID);
    this.m.u8.set(chunkTreeUuid, this.fsStateAddr + F_CHUNK_TREE_UUID);
  }

  get transid(): number {
    return this.generation + 1;
  }

  get metadataProfile(): MetadataProfile {
    return this.metadataCopies === 2 ? 'dup' : 'single';
  }

  /**
   * Bytes tree blocks may still take: free in metadata chunks, and the first half (dup) of
   * every free chunk.
   */
  metadataFreeBytes(): number {
    return check(this.free.treeFreeBytes(CHUNK_METADATA), 'metadata free space');
  }

  /**
   * Metadata a write may COW besides its data: 64 tree blocks' worth of device bytes (a dup
   * block counts its copy). The core's write path uses the same (WRITE_SLACK_NODES).
   */
  get writeSlackBytes(): number {
    return (64 * this.nodeBytes) / this.metadataCopies;
  }

  /**
   * Do `dataBytes` of data fit, leaving `metadataBytes` for tree blocks (free chunks go to
   * either)?
   */
  spaceFits(dataBytes: number, metadataBytes: number): boolean {
    return check(this.core.fs_space_fits(Math.max(0, dataBytes), Math.max(0, metadataBytes)),
      'space check') === 1;
  }

  /** Bytes a data allocation must leave free for metadata. */
  get metadataReserveBytes(): number {
    // The core's fault path uses the same. It depends on the device size and the block
    // size alone, so it is asked once per mount (every write checks it).
    return this.reserveBytes ??= check(this.core.fs_metadata_reserve_bytes(), 'metadata reserve');
  }

  private reserveBytes: number | undefined;

  /** What the tree checker and block pointers are checked against. */
  get checkContext(): CheckContext {
    return { nodeBytes: this.nodeBytes, totalBytes: this.totalBytes,
      metadataBlockBytes: this.metadataBlockBytes, generation: this.generation };
  }

  dirtyNodeCount(): number {
    return this.device.core.fs_dirty_blocks();
  }

  /** Fraction of the dirty-node pool in use; the fs layer commits early above 1/2. */
  poolPressure(): number {
    return 1 - this.device.core.fs_free_buffers() / this.poolSize;
  }

  /** The generation the core checks clean blocks against (mount sets it, commits advance it). */
  setCommittedGeneration(generation: number): void {
    check(this.device.core.fs_end_transaction(generation), 'set the committed generation');
  }

  checkWritable(): void {
    if (this.aborted) {
      throw new FsError('EROFS', `transaction aborted (${this.aborted}); remount to continue`);
    }
  }

  // --- TreeHost ----------------------------------------------------------------------

  /** What the core's engine asks of this file system (see FsHooks). */
  private readonly hooks: FsHooks = {
    fail: (errno) => { throw this.engineError(errno); },
    heal: (bytenr) => this.healFirstCopy(bytenr),
    dataWritten: (bytenr, bytes) => this.reportWrite(bytenr, bytes),
    beforeStore: () => this.device.beforeStore?.(),
  };

  /** The FsError for a problem the core's engine recorded in this thread's area. */
  private engineError(errno: number): FsError {
    const record = readProblem(this.m, this.threadArea + TA_PROBLEMS);
    const code = errnoName(-errno) ?? 'EIO';
    if (record.code < 60) return this.copies.readError();
    if (record.code === P_NO_METADATA_SPACE) this.aborted = 'no space for metadata';
    if (record.code === P_POOL_EMPTY) this.aborted = 'out of dirty node buffers';
    if (record.code === P_BLOCK_IN_USE) this.aborted = 'free space holds a tree block in use';
    if (record.code === P_REFS_FULL) this.aborted = 'delayed-ref tables full';
    return new FsError(code, engineProblemText(this.m, record, this.threadArea + TA_KEY));
  }

  /** Bytes staged for the core (item data): the kernel staging buffer. */
  stage(data: Uint8Array): number {
    if (data.length > this.stagingBytes) {
      throw new FsError('EFBIG', `${data.length} bytes do not fit the staging buffer`);
    }
    this.m.u8.set(data, this.stagingAddr);
    return this.stagingAddr;
  }

  operationDone(): void {
    this.refRunner.runIfFull(this);
  }

  /** The root of `tree` moved inside a core operation. */
  rootChanged(tree: BTree): void {
    if (isFsTree(tree.id)) this.movedSubvolumes.add(tree);
  }

  isDirty(bytenr: number): boolean {
    return this.device.core.fs_dirty_buffer(bytenr) > 0;
  }

  /**
   * The address of a tree block's content (assembly/fs/disk-io.ts). A clean block is
   * verified on its first read: its first copy must load (no poisoned line), match its
   * checksum and name itself, and pass the tree checker. With dup, a bad first copy is
   * replaced by a good second one (heal, here: a device store the crash explorer sees);
   * without a good copy the read fails: EIO when a copy could not be read or did not
   * match its checksum, EUCLEAN when it did but is not a valid node.
   */
  nodeAddr(bytenr: number): number {
    const addr = this.device.core.fs_node_addr(bytenr);
    if (addr >= 0) return addr;
    if (addr === -NEEDS_HEAL) {
      this.healFirstCopy(bytenr);
      return this.visibleAddr + bytenr;
    }
    if (!Number.isSafeInteger(bytenr) || bytenr < 0) {
      throw new FsError('EUCLEAN', `tree block pointer ${bytenr} is outside the device`);
    }
    throw this.copies.readError();
  }

  /** A bad first copy of a clean block, rewritten from the good second (dup), is verified. */
  private healFirstCopy(bytenr: number): void {
    this.healCopy(bytenr, 1, 0);
    check(this.core.fs_set_verified(bytenr, 1), 'mark a healed block verified');
  }

  /** The copies of each tree block (dup: two). */
  private readonly copies = new BlockCopies(this);

  /** Address in the device of copy `copy` (0 or 1) of tree block `bytenr`. */
  copyBytenr(bytenr: number, copy: number): number {
    return this.copies.copyBytenr(bytenr, copy);
  }

  /** Is copy `copy` of tree block `bytenr` readable and sound? null when it is. */
  checkCopy(bytenr: number, copy: number): BadCopy | null {
    return this.copies.check(bytenr, copy);
  }

  /** Rewrite copy `to` of a clean block from copy `from` (dup; block-copies.ts). */
  healCopy(bytenr: number, from: number, to: number): void {
    this.copies.heal(bytenr, from, to);
    this.healedCopies++;
  }

  forgetVerified(): void {
    check(this.device.core.fs_forget_verified(), 'forget verified blocks');
  }

  /** A new, empty, dirty node of tree `owner` (the core's allocation of tree blocks). */
  allocNode(owner: number, level: number): number {
    const bytenr = this.core.fs_alloc_node(owner, level);
    if (bytenr < 0) {
      throw new FsError('EINVAL', `new node of tree ${owner}: bad arguments (${bytenr})`);
    }
    return bytenr;
  }

  /**
   * Pointer bookkeeping: a pointer from `container` (a block, or ROOT_POINTER) to `target`
   * appeared (delta +1) or went (-1). level >= 0: a tree block at that level; -1: a data
   * extent of `bytes` bytes. Kept as delayed refs (the core's tables) until the commit.
   */
  refChanged(container: number, target: number, treeId: number, level: number, bytes: number,
    delta: number): void {
    const r = this.core.fs_ref_change(container, target, treeId, level,
      level < 0 ? bytes : 0, delta);
    if (r < 0) {
      throw new FsError('EINVAL',
        `delayed ref of ${target} from ${container}: bad arguments (${r})`);
    }
  }

  pointerAdded(container: number, target: number, tree: { id: number },
    level: number, bytes = 0): void {
    this.refChanged(container, target, tree.id, level, bytes, 1);
  }

  pointerRemoved(container: number, target: number, tree: { id: number },
    level: number, bytes = 0): void {
    this.refChanged(container, target, tree.id, level, bytes, -1);
  }

  /**
   * A tree with its root where the core keeps it: the extent and csum trees' in the state's
   * header (the core changes those trees on its own when it runs delayed refs, and reads
   * them), a subvolume tree's in a slot of the root table (any thread finds a file's tree
   * there). The root tree's stays here.
   */
  newTree(id: number, root: number, level: number): BTree {
    if (id === EXTENT_TREE_ID) {
      return new BTree(this, id, root, level, this.fsStateAddr + F_EXTENT_ROOT);
    }
    if (id === CSUM_TREE_ID) {
      return new BTree(this, id, root, level, this.fsStateAddr + F_CSUM_ROOT);
    }
    if (!isFsTree(id)) return new BTree(this, id, root, level);
    return new BTree(this, id, root, level, this.rootTable.claim(id));
  }

  /** Runs the delayed refs (delayed-refs.ts). */
  private readonly refRunner: DelayedRefRunner;

  /** The core's root table: a slot per subvolume tree (root-table.ts). */
  private readonly rootTable: RootTable;

  /** A subvolume tree is gone (deleted): its slot of the root table is free again. */
  releaseTree(tree: BTree): void {
    const slot = tree.release();
    if (slot) this.rootTable.release(slot);
  }

  /**
   * The address of the root-table slot of subvolume tree `id`, or 0 (for another thread's
   * lookups).
   */
  rootSlotOf(id: number): number {
    return check(this.core.fs_root_slot(id), 'root slot');
  }

  /**
   * A snapshot's root: a copy of `source`'s root block owned by tree `id`, its pointers and
   * root pointer counted.
   */
  copyRoot(id: number, source: BTree): number {
    const bytenr = this.core.ctree_copy_root(id, source.root, source.level);
    if (bytenr < 0) {
      throw new FsError('EINVAL',
        `snapshot root of tree ${id} from ${source.root}: bad arguments (${bytenr})`);
    }
    return bytenr;
  }

  /** A new empty tree: one empty leaf referenced by a root pointer. */
  createTree(id: number): BTree {
    const leaf = this.allocNode(id, 0);
    const tree = this.newTree(id, leaf, 0);
    this.pointerAdded(ROOT_POINTER, leaf, tree, 0);
    if (isFsTree(id)) this.movedSubvolumes.add(tree);
    return tree;
  }

  // --- data extents ------------------------------------------------------------------

  /** Allocate a data extent of up to `bytes` (at least one sector); null when full. */
  allocData(bytes: number): { bytenr: number; bytes: number } | null {
    let want = bytes;
    while (want >= SECTOR_BYTES) {
      const at = this.free.allocate(want, this.metadataReserveBytes, CHUNK_DATA);
      if (at !== null) {
        assert(at % SECTOR_BYTES === 0 && at + want <= this.totalBytes && want <= bytes,
          'allocData: a new data extent is sector-aligned, inside the device, not over `bytes`');
        check(this.core.fs_mark_fresh(at, want), 'mark a new extent');
        return { bytenr: at, bytes: want };
      }
      const run = this.free.largestRun(want - SECTOR_BYTES);
      want = Math.floor(run / SECTOR_BYTES) * SECTOR_BYTES;
    }
    return null;
  }

  /**
   * Bytes the next commit gives back: extents whose last reference the running
   * transaction dropped (their delayed refs run at commit, and pin them until it is
   * durable) plus extents already pinned. A lower bound: a tree block's children freed
   * with it are counted once it is dropped. For ENOSPC, which commits only if this is
   * not zero (the fs layer's reserveSpace).
   */
  reclaimableBytes(): number {
    let bytes = this.free.pinnedBytes();
    const losing = losingRefs(this.m, this.core, this.fsStateAddr, this.nodeBytes);
    // (Looked up after the scan: a lookup may copy nothing, but its results land in the core.)
    assert(bytes >= 0, 'reclaimableBytes: pinned bytes are never negative');
    for (const [target, data, extentBytes] of losing) {
      if (this.extentRefs(target, data, extentBytes) <= 0) {
        bytes += data ? extentBytes : this.metadataBlockBytes;
      }
    }
    return bytes;
  }

  /**
   * Inodes whose file extent items changed in this transaction, by tree id: their nbytes
   * (btrfs's sum of the bytes their items map) is brought up to date at commit.
   */
  private readonly extentsChanged = new Map<number, Set<number>>();

  noteExtentsChanged(tree: number, ino: number): void {
    const inos = this.extentsChanged.get(tree);
    if (inos) inos.add(ino); else this.extentsChanged.set(tree, new Set([ino]));
  }

  /** The inodes noted since the last call, by tree id (the set starts again empty). */
  takeExtentsChanged(): Map<number, Set<number>> {
    const out = new Map(this.extentsChanged);
    this.extentsChanged.clear();
    return out;
  }

  /** Data stored to the device in this transaction: flushed at commit. */
  noteDirtyData(bytenr: number, bytes: number): void {
    this.reportWrite(bytenr, bytes);
    this.dirtyData.push([bytenr, bytes]);
  }

  /** Refcount of an extent including this transaction's delayed changes. */
  extentRefs(bytenr: number, data: boolean, bytes: number): number {
    const refs = this.core.fs_extent_refs(bytenr, data ? 1 : 0, data ? bytes : 0);
    if (refs <= -BAD_ARGUMENT_BIAS) {
      throw new FsError('EINVAL', `extent refs of ${bytenr}: bad arguments`);
    }
    return refs;
  }

  extentGeneration(bytenr: number, bytes: number): number {
    if (this.core.fs_is_fresh(bytenr) === 1) return this.transid;
    const item = this.extentTree.lookup(key(bytenr, EXTENT_ITEM, bytes));
    return item ? this.m.u64(item.addr + EI_GENERATION) : 0;
  }

  // --- commit ------------------------------------------------------------------------

  /** Changes a commit must write: the trees', the data's, or a participant's own (DAX's
   *  pages dirtied through mmap). */
  hasChanges(): boolean {
    return this.participants.anyHasChanges() || this.dirtyNodeCount() > 0
      || this.core.fs_ref_count() > 0 || this.dirtyData.length > 0
      || this.movedSubvolumes.size > 0;
  }

  /** Bytes [bytenr, bytenr + bytes) of the device are written by this file system: tell the
   *  device's listeners (PmemDevice.fsWrites). */
  reportWrite(bytenr: number, bytes: number): void {
    this.device.fsWrites.report(bytenr, bytes);
  }

  /**
   * Commit: ROOT_ITEMs, delayed refs, then every new node and data block is written and
   * flushed (clwb), one sfence; then the superblock goes to the other slot, clwb, sfence.
   * Until that last fence the previous superblock (and everything it reaches, which no
   * transaction overwrites: freed blocks stay pinned) is what a crash finds.
   */
  commit(): void {
    this.checkWritable();
    this.treeChanged();
    if (!this.hasChanges()) return;
    if (this.transid > MAX_KEY_VALUE) {
      this.aborted = 'generation overflow';
      throw new FsError('EUCLEAN', `generation ${this.generation} leaves no room for another`
        + ' commit (generations stay below 2^53)');
    }
    const committedBefore = this.generation;
    this.participants.call('commitStarting', this.transid);
    try {
      this.participants.call('beforeCommit');
      this.participants.call('writeRootItems');
      this.refRunner.run();
      this.participants.call('writeRootItems');
      if (this.core.fs_ref_count() > 0) this.refRunner.run();
      // The block groups: chunks typed or emptied, used bytes changed. Their items change
      // the trees, whose new blocks change used bytes again: until nothing moves.
      // And the ROOT_ITEMs of the extent, dev and csum trees, whose roots those changes move.
      for (let round = 0; ; round++) {
        const groups = this.chunks.reconcile();
        // Round 0 rewrites the extent tree's ROOT_ITEM whether or not it moved: the root
        // tree's root is then this commit's, as btrfs reads it (the superblock's generation).
        const items = this.writeTreeRootItems(round === 0);
        if (!groups && !items) break;
        if (round > 64) {
          throw new FsError('EIO', 'commit: block group and root items do not settle');
        }
        this.refRunner.run();
      }
      const dropped = this.core.fs_dropped_blocks();
      if (dropped) {
        throw new FsError('EIO',
          `commit: ${dropped} blocks dropped their pointers but kept a reference`);
      }
      assert(this.core.fs_ref_count() === 0, 'commit: every delayed ref ran before the write-out');
      this.writeAndFlush();
    } catch (e) {
      this.aborted ??= `commit failed: ${(e as Error).message}`;
      throw e;
    }
    this.setCommittedGeneration(this.transid);
    assert(this.generation === committedBefore + 1, 'commit: the generation moves by exactly one');
    this.free.unpinAll();
    this.filledThisTransaction.clear();
    this.readersLog.clear(); // the core cleared its log, and the losing and filled bits
    this.dirtyData = [];
    this.movedSubvolumes.clear();
    this.participants.call('committed', this.generation);
  }

  private writeAndFlush(): void {
    const core = this.device.core;
    // The tree blocks, in the core (transaction.ts writeDirtyBlocks): each one's checksum, and
    // each copy stored and written back, the hooks before each store (image fuzzing's
    // observers, crash points at every store) when someone listens.
    const hooks = (this.device.fsWrites.active ? WRITE_OUT_REPORT : 0)
      | (this.device.beforeStore ? WRITE_OUT_STORE_POINTS : 0);
    // (Under the fs lock, as every engine change: mkfs's first commit runs outside
    // FileSystem's locked operations; the lock nests.)
    check(core.fs_lock(), 'fs lock');
    try {
      check(core.fs_write_dirty_blocks(hooks), 'write tree blocks');
    } finally {
      core.fs_unlock();
    }
    for (const [bytenr, bytes] of this.dirtyData) {
      check(core.pmem_flush(bytenr, bytes, 0), 'flush data');
    }
    this.device.sfence();
    // The alternate copy first, then the primary, each fenced (superblock.ts: every crash
    // image keeps one valid copy, and a valid primary is what btrfs's tools read).
    const [primary, alternate] = superblockOffsets(this.totalBytes);
    this.writeSuperblockCopy(alternate);
    this.writeSuperblockCopy(primary);
  }

  /**
   * The transaction whose superblock the staging buffer holds (its second copy only names
   * its own offset).
   */
  private superblockEncodedFor = -1;

  /** Store this commit's superblock at copy `offset`, write it back and fence. */
  private writeSuperblockCopy(offset: number): void {
    const core = this.device.core;
    const sb = this.superblockStaging;
    const bytes = this.m.u8.subarray(sb, sb + SUPERBLOCK_BYTES),
      crc = (b: Uint8Array): number => this.device.crc32cBytes(b);
    if (this.superblockEncodedFor === this.transid) rebaseSuperblock(bytes, offset, crc);
    else encodeSuperblock(bytes, offset, this.superblockState(this.transid), crc);
    this.superblockEncodedFor = this.transid;
    this.reportWrite(offset, SUPERBLOCK_BYTES);
    this.device.beforeStore?.();
    check(core.pmem_store(offset, sb, SUPERBLOCK_BYTES, 0), 'write superblock');
    check(core.pmem_flush(offset, SUPERBLOCK_BYTES, 0), 'flush superblock');
    this.device.sfence();
  }

  /** The ROOT_ITEMs of itemTrees (the extent, dev and csum trees'). */
  private readonly treeRootItems = new TreeRootItems(this);

  /** The trees with a ROOT_ITEM of their own that are no subvolume. */
  get itemTrees(): BTree[] { return [this.extentTree, this.devTree, this.csumTree]; }

  /** Write the ROOT_ITEM of each of itemTrees whose root moved; true when one did. */
  private writeTreeRootItems(force: boolean): boolean {
    return this.treeRootItems.write(force);
  }

  /** Mount: the ROOT_ITEM of one of itemTrees, which must name the root the superblock does. */
  noteTreeRootItem(id: number, bytenr: number, level: number): void {
    this.treeRootItems.note(id, bytenr, level);
  }

  /** Mount: every one of itemTrees had its ROOT_ITEM. */
  checkTreeRootItems(): void {
    this.treeRootItems.checkAllNoted();
  }

  /** Bytes of blocks and data in use now (not counting space freed in this transaction). */
  usedBytes(): number {
    return usedBytes(this.core, this.chunks);
  }

  /** The generation in tree block `bytenr`'s header (a ROOT_ITEM's generation names its root's). */
  blockGeneration(bytenr: number): number {
    return this.m.u64(this.nodeAddr(bytenr) + NODE_GENERATION);
  }

  /** What this commit's superblock says (superblock.ts writes it). */
  private superblockState(generation: number): SuperblockState {
    return superblockStateOf(this, generation);
  }

  /**
   * The superblock copy a mount uses, or null when neither copy is valid
   * (superblock-io.ts).
   */
  static readSuperblock(device: PmemDevice): SuperblockRead {
    return readSuperblock(device);
  }

  /**
   * Bytes of the device that never hold a block or data: everything outside the chunks'
   * block groups, and the bytes of a block group over a superblock copy
   * (block-group-space.ts).
   */
  reservedBytes(): number {
    return reservedBytes(this.chunks, this.totalBytes);
  }

  /** mkfs: every chunk is free (but the one around a superblock mirror). */
  addAllocatableSpace(): void {
    addAllocatableSpace(this.chunks, this.free);
  }

  /**
   * Rebuild free space from the extent tree (mount, after the chunks are loaded); EUCLEAN
   * when an extent lies outside every block group of its kind or overlaps another.
   */
  rebuildFreeSpace(): void {
    rebuildFreeSpace(this.chunks, this.free, this.extentTree, this.metadataBlockBytes);
  }
}
