// The file system's public API: synchronous, main thread. Paths are absolute POSIX
// paths; every failure is an FsError with an errno name. Mount and unmount, DAX (mmap,
// freeze) and checking are here; the operations come from its layers (fs-base.ts).
import { parseUuid, derivedUuid, uuidText } from './fs/uuid.js';
import { checkOptions, checkFlag, ROOT_TREE_DIR_OBJECTID, checkOffset } from './fs/fs-common.js';
import { FsError, describeValue, requireIndex } from './errors.js';
import { PmemDevice } from './pmem/device.js';
import { Kernel } from './fs/kernel.js';
import { superblockProblem } from './fs/superblock-problem.js';
import type { SuperblockState } from './fs/superblock.js';
import {
  encodeInode, encodeDirEntries, encodeInodeRefs, decodeRootItem, decodeFileExtent, nameBytes,
  type DirEntry, type RootItem,
} from './fs/items.js';
import {
  key, DEFAULT_NODE_BYTES, SYSTEM_AREA_BYTES, FS_TREE_ID, FIRST_SUBVOLUME_ID, FIRST_INODE,
  ROOT_TREE_ID, EXTENT_TREE_ID, CSUM_TREE_ID, INODE_ITEM, INODE_REF, DIR_ITEM, ROOT_ITEM,
  ORPHAN_OBJECTID, MODE_DIR, INODE_FLAG_IMMUTABLE, EXTENT_DATA as EXTENT_DATA_TYPE,
  DIR_KIND_SUBVOLUME, INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, ROOT_FLAG_READONLY, MAX_KEY_VALUE,
  SUPERBLOCK_BYTES, superblockOffsets, LAST_OBJECTID,
} from './fs/format.js';
import {
  CHUNK_TREE_ID, DEV_TREE_ID, NODE_CHUNK_TREE_UUID, F_ADOPTING, CHUNK_FREE,
} from './core/abi.js';
import { incompatAfterAdoption } from './fs/features.js';
import {
  surveyFileExtents, dropFreeSpaceTree, keyInlineRefs, cutCsumsByExtent, deleteInlineExtent,
  readMappedData, type AdoptionReport,
} from './fs/adopt.js';
import { UUID_BYTES } from './fs/uuid.js';
import type { ChunkDesc } from './fs/chunks.js';
import type { MkfsOptions, ScrubReport } from './fs/types.js';
import { requireRegular } from './fs/special.js';
import { runFsck } from './fs/fsck.js';
import { runScrub } from './fs/scrub.js';
import { DaxManager, ZERO_PAGE_BYTENR, PAGE_BYTES } from './dax/manager.js';
import type { DaxMapping } from './dax/mapping.js';
import { POLICY_NAMES, type DaxPolicy } from './dax/policy.js';
import { FsFiles } from './fs/fs-files.js';

export interface MountOptions {
  /** DAX safety mechanisms; each defaults to on (see DaxPolicy). */
  dax?: Partial<DaxPolicy>;
  /**
   * pwrite's path in the core (default true): the writes it can make alone (sector aligned:
   * in place in a nodatacow extent, one page to a new block, several pages over a hole to a
   * new extent, the inode item after them) run in one call into assembly/fs/file.ts. false
   * sends every write through TypeScript's FileData.write, which makes the same decisions
   * with the same results: the reference the core path is tested against
   * (test/fs-write-core.test.ts).
   */
  coreWrites?: boolean;
}

export interface MmapOptions {
  /** File offset of the mapping, a multiple of 4096 (default 0). */
  offset?: number;
  length: number;
  prot?: 'r' | 'rw';
  /** MAP_SYNC: a write fault returns only when the metadata reaching its block is durable. */
  sync?: boolean;
}

export class FileSystem extends FsFiles {
  private daxManager: DaxManager | null = null;

  private constructor(device: PmemDevice, kernel: Kernel) {
    super(device, kernel);
  }

  // --- mkfs, mount, unmount ----------------------------------------------------------

  static mkfs(device: PmemDevice, options: MkfsOptions = {}): void {
    if (!(device instanceof PmemDevice)) throw new FsError('EINVAL', 'mkfs needs a PmemDevice');
    if (device.isClosed) throw new FsError('EBADF', 'mkfs: the device handle is closed');
    options = checkOptions<MkfsOptions>(options, 'mkfs options',
      ['nodeSize', 'label', 'metadataProfile', 'uuid']);
    const nodeBytes = options.nodeSize ?? DEFAULT_NODE_BYTES;
    if (!Number.isInteger(nodeBytes) || nodeBytes < 4096 || nodeBytes > 65536
      || (nodeBytes & (nodeBytes - 1)) !== 0) {
      throw new FsError('EINVAL',
        `nodeSize must be a power of two in 4096..65536, got ${describeValue(nodeBytes)}`);
    }
    const label = options.label ?? '';
    if (typeof label !== 'string' || nameBytes(label).length > 255) {
      throw new FsError('EINVAL', 'label must be a string of at most 255 bytes');
    }
    const profile = options.metadataProfile ?? 'single';
    if (profile !== 'single' && profile !== 'dup') {
      throw new FsError('EINVAL',
        `metadataProfile must be 'single' or 'dup', got ${describeValue(profile)}`);
    }
    if (device.sizeBytes < SYSTEM_AREA_BYTES + 256 * nodeBytes) {
      throw new FsError('ENOSPC',
        `device of ${device.sizeBytes} bytes is too small for a file system with`
          + ` ${nodeBytes}-byte nodes`);
    }
    // mkfs under a mounted file system would pull its trees away: EBUSY, as Linux's
    // mkfs refuses a device the kernel holds open exclusively.
    const fsid = options.uuid !== undefined ? parseUuid(options.uuid)
      : derivedUuid(`pmcow fsid ${device.sizeBytes} ${nodeBytes} ${profile} ${label}`);
    const token = device.claimOwner('mkfs');
    try {
      FileSystem.format(device, nodeBytes, label, profile, fsid);
    } finally {
      device.releaseOwner(token);
    }
  }

  private static format(device: PmemDevice, nodeBytes: number, label: string,
    profile: 'single' | 'dup', fsid: Uint8Array): void {
    const k = new Kernel(device, nodeBytes, profile);
    // Old superblocks must not outlive the new file system.
    for (const offset of superblockOffsets(k.totalBytes)) {
      device.store(offset, new Uint8Array(SUPERBLOCK_BYTES));
      device.persist(offset, SUPERBLOCK_BYTES);
    }
    k.setUuids(fsid, derivedUuid(`pmcow chunk tree ${uuidText(fsid)}`));
    k.label = label;
    k.devUuid = derivedUuid(`pmcow device ${uuidText(fsid)}`);
    k.addAllocatableSpace();
    // The chunk tree first: its leaf takes the highest chunk, a system chunk.
    k.chunkTree = k.createTree(CHUNK_TREE_ID);
    k.chunks.createDeviceItem();
    k.devTree = k.createTree(DEV_TREE_ID);
    k.rootTree = k.createTree(ROOT_TREE_ID);
    k.extentTree = k.createTree(EXTENT_TREE_ID);
    k.csumTree = k.createTree(CSUM_TREE_ID);
    const fs = new FileSystem(device, k);
    const sv = fs.addSubvolume(FS_TREE_ID, k.createTree(FS_TREE_ID), 0, 0);
    fs.createRootDir(sv, FIRST_INODE);
    fs.createRootTreeDir();
    k.commit();
  }

  /**
   * btrfs's directory in the root tree (objectid 6, the superblock's root_dir_objectid):
   * an inode, its '..' reference and the entry `default` naming the top-level subvolume,
   * the one a mount without `subvol=` opens (as mkfs.btrfs writes them).
   */
  private createRootTreeDir(): void {
    const tree = this.k.rootTree;
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, INODE_ITEM, 0),
      encodeInode({ ...this.newInode(MODE_DIR, 0), nbytes: this.k.nodeBytes }));
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, INODE_REF, ROOT_TREE_DIR_OBJECTID),
      encodeInodeRefs([{ index: 0, name: '..' }]));
    const entry: DirEntry = { location: key(FS_TREE_ID, ROOT_ITEM, 0), kind: DIR_KIND_SUBVOLUME,
      name: 'default', transid: 0 };
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, DIR_ITEM, this.nameHash('default')),
      encodeDirEntries([entry]));
  }

  static mount(device: PmemDevice, options: MountOptions = {}): FileSystem {
    if (!(device instanceof PmemDevice)) throw new FsError('EINVAL', 'mount needs a PmemDevice');
    if (device.isClosed) throw new FsError('EBADF', 'mount: the device handle is closed');
    options = checkOptions<MountOptions>(options, 'mount options', ['dax', 'coreWrites']);
    const dax = checkOptions<DaxPolicy>(options.dax, 'dax policy');
    for (const [name, on] of Object.entries(dax)) {
      if (!(POLICY_NAMES as string[]).includes(name)) {
        throw new FsError('EINVAL', `unknown DAX switch '${name}'`);
      }
      checkFlag(on, name);
    }
    // One file system per device, across threads: a second mount would allocate from its
    // own copy of the free space and overwrite what the first one committed.
    if (options.coreWrites !== undefined) checkFlag(options.coreWrites, 'coreWrites');
    const token = device.claimOwner('mount');
    try {
      const fs = FileSystem.load(device, dax);
      fs.ownerToken = token;
      fs.coreWrites = options.coreWrites ?? true;
      return fs;
    } catch (e) {
      device.releaseOwner(token);
      throw e;
    }
  }

  private static load(device: PmemDevice, dax: Partial<DaxPolicy>): FileSystem {
    const sb = mountableSuperblock(device);
    const k = kernelOf(device, sb);
    loadGlobalTrees(k, sb);
    const fs = new FileSystem(device, k);
    fs.loadSubvolumes();
    if (!fs.subvolumes.has(FS_TREE_ID)) {
      throw new FsError('EIO', 'the top-level subvolume is missing');
    }
    k.checkTreeRootItems();
    fs.processOrphans();
    zeroPageReady(device, k);
    fs.attachDax(dax);
    if (sb.origin !== 'btrfs') return fs;
    const report = fs.adopt();
    // Chunks the adoption removed leave the table at a fresh mount (as a pmcow image now).
    const adopted = report.mappedDataChunksRemoved ? FileSystem.load(device, dax) : fs;
    adopted.adoption = report;
    return adopted;
  }

  /** The subvolumes of the root tree's ROOT_ITEMs (and the global trees' items noted). */
  private loadSubvolumes(): void {
    const k = this.k;
    for (const item of k.rootTree.range(key(0, ROOT_ITEM, 0),
      key(LAST_OBJECTID, ROOT_ITEM, MAX_KEY_VALUE))) {
      if (item.key.type !== ROOT_ITEM) continue;
      const r = decodeRootItem(item.data);
      // Subvolume trees (5 and 256 up), and the extent, dev and csum trees' own; any other
      // id here is damage, and taking it for a subvolume would bind it to the extent or
      // csum tree's root slot.
      if (item.key.objectid !== FS_TREE_ID && item.key.objectid < FIRST_SUBVOLUME_ID) {
        // A global tree's ROOT_ITEM has key offset 0 (btrfs refuses to open one that has not).
        if (item.key.offset !== 0) {
          throw new FsError('EUCLEAN',
            `root tree: the ROOT_ITEM of tree ${item.key.objectid} has key offset`
              + ` ${item.key.offset}`);
        }
        k.noteTreeRootItem(item.key.objectid, r.bytenr, r.level);
        continue;
      }
      const sv = this.addSubvolume(item.key.objectid,
        k.newTree(item.key.objectid, r.bytenr, r.level), r.flags, r.lastSnapshot, true);
      sv.itemDirty = false;
      sv.uuid = r.uuid!;
      sv.parentUuid = r.parentUuid!;
      sv.otransid = r.otransid!;
      sv.rootDir = r.rootDir;
      // As btrfs: new subvolume ids continue from the highest one in the root tree.
      k.nextSubvolume = Math.max(k.nextSubvolume, item.key.objectid + 1);
    }
  }

  /** The DAX manager of this mount: the file system's FileMappings. */
  private attachDax(dax: Partial<DaxPolicy>): void {
    const manager = new DaxManager({
      inodeOf: (sv, ino) => this.inode(sv, ino), fileData: this.data, kernel: this.k,
      blockOwners: (b) => this.blockOwners(b).files,
      unmapped: (sv, ino) => this.releaseIfOrphan(sv, ino),
    }, dax);
    this.daxManager = manager;
    this.mappings = manager;
    this.data.mappings = manager;
  }

  /**
   * What the mount's adoption of an image pmcow did not write changed (src/fs/adopt.ts),
   * or null when pmcow wrote the image.
   */
  adoption: AdoptionReport | null = null;

  /**
   * The first mount of a foreign image: its structures in pmcow's forms (adopt.ts). With
   * data chunks to empty it commits twice: the rewritten items and moved data (the
   * superblock still revision 0, so a crash before the end adopts again), then the emptied
   * chunks removed, as a pmcow image; else once, as a pmcow image.
   */
  private adopt(): AdoptionReport {
    const k = this.k;
    const subvolumes = [...this.subvolumes.values()];
    const inline = surveyFileExtents(k, subvolumes);
    const freeSpaceTreeDropped = dropFreeSpaceTree(k);
    if (freeSpaceTreeDropped) k.compatRoFlags = 0;
    const refs = keyInlineRefs(k);
    const csumItemsRewritten = cutCsumsByExtent(k);
    for (const x of inline) {
      deleteInlineExtent(x);
      this.writeResolved(x.sv, x.ino, x.data, 0);
    }
    const moved = readMappedData(k, subvolumes);
    for (const x of moved) {
      // Whole sectors (no old bytes read back through the chunk being emptied), then the
      // size as it was: the last sector's tail past EOF is the extent's, as before.
      // (The size is the sectors' end meanwhile: a write past EOF would zero the old last
      // sector's tail, reading it through the chunk being emptied.)
      const before = this.inode(x.sv, x.ino);
      const end = x.offset + x.data.length;
      if (end > before.size) this.putInode(x.sv, x.ino, { ...before, size: end });
      this.writeResolved(x.sv, x.ino, x.data, x.offset);
      if (end > before.size) {
        this.putInode(x.sv, x.ino, { ...this.inode(x.sv, x.ino), size: before.size });
      }
    }
    const mappedChunks: number[] = [];
    for (let c = 0; c < k.chunks.count; c++) {
      if (k.chunks.mappedData(c) && k.chunks.itemsKind(c) !== CHUNK_FREE) mappedChunks.push(c);
    }
    // Nothing to remove: this commit ends the adoption (revision 2 from here).
    if (!mappedChunks.length) k.origin = 'pmcow';
    k.commit();
    if (mappedChunks.length) {
      for (const c of mappedChunks) k.chunks.removeMappedData(c);
      k.origin = 'pmcow';
      k.commit();
    }
    k.m.setU32(k.fsStateAddr + F_ADOPTING, 0);
    return {
      freeSpaceTreeDropped, dataRefsKeyed: refs.data, sharedBlockRefsKeyed: refs.sharedBlocks,
      csumItemsRewritten,
      inlineExtentsMoved: inline.length, dataExtentsMoved: moved.length,
      mappedDataChunksRemoved: mappedChunks.length,
    };
  }

  unmount(): void {
    this.live();
    if (this.frozen) this.thaw();
    this.daxManager?.unmapAll();
    for (const fd of [...this.fds.keys()]) this.close(fd);
    // A commit that fails here (an aborted transaction) still ends the mount: the device
    // must not stay claimed by a file system nobody can use.
    try {
      if (!this.k.aborted) this.k.commit();
    } finally {
      this.mounted = false;
      this.device.releaseOwner(this.ownerToken);
    }
  }

  // --- DAX ---------------------------------------------------------------------------

  /** The DAX manager: policy switches, statistics, the reverse map. */
  get dax(): DaxManager {
    this.live();
    return this.daxManager!;
  }

  /** Map a file for direct access (DAX). */
  mmap(path: string, options: MmapOptions): DaxMapping {
    this.live();
    if (options === undefined) throw new FsError('EINVAL', 'mmap needs options with a length');
    checkOptions<MmapOptions>(options, 'mmap options', ['offset', 'length', 'prot', 'sync']);
    const offset = checkOffset(options.offset === undefined ? 0 : options.offset, 'offset');
    const length = checkOffset(options.length, 'length');
    const sync = checkFlag(options.sync, 'sync');
    const prot = options.prot === undefined ? 'rw' : options.prot;
    if (prot !== 'r' && prot !== 'rw') throw new FsError('EINVAL', `prot must be 'r' or 'rw'`);
    if (offset % PAGE_BYTES) throw new FsError('EINVAL', 'mmap offset must be a multiple of 4096');
    if (length === 0 || length > 2 ** 32 - PAGE_BYTES) {
      throw new FsError('EINVAL', 'mmap length must be between 1 byte and 4 GiB');
    }
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    if (prot === 'rw' && (r.sv.flags & ROOT_FLAG_READONLY)) {
      throw new FsError('EROFS', `'${path}' is in a read-only snapshot`);
    }
    if (sync && (r.inode.flags & INODE_FLAG_NODATASUM) === 0) {
      throw new FsError('EOPNOTSUPP',
        `MAP_SYNC needs a nodatacow file: stores after the durable fault would outrun the data`
          + ` checksums of '${path}'`);
    }
    return this.daxManager!.map(r.sv, r.ino, { offsetBytes: offset, length, prot, sync });
  }

  /**
   * Freeze: commit, then (freezeWriteProtect) write-protect every mapping; changes fail
   * with EBUSY.
   */
  freeze(): void {
    this.live();
    if (this.frozen) throw new FsError('EBUSY', 'already frozen');
    const dax = this.daxManager!;
    dax.leavingWritable(!dax.policy.freezeWriteProtect, () => this.k.commit());
    this.frozen = true;
    this.daxManager!.freeze();
  }

  thaw(): void {
    this.live();
    if (!this.frozen) throw new FsError('EINVAL', 'not frozen');
    this.frozen = false;
    this.daxManager!.thaw();
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /**
   * The DAX-immutable flag (thread 004): the file must be nodatacow, fully allocated with
   * no holes, preallocated or shared extents; then its metadata is immutable and its data
   * changes only through mmap. Setting or clearing needs the capability; clearing needs
   * the file to be unmapped.
   */
  setDaxImmutable(path: string, on: boolean, caller: { capability?: boolean } = {}): void {
    this.live();
    if (typeof on !== 'boolean') {
      throw new FsError('EINVAL', `on must be a boolean, got ${typeof on}`);
    }
    const capability =
      checkFlag(checkOptions<{ capability: boolean }>(caller, 'caller').capability, 'capability');
    const r = this.resolve(path);
    if (r.kind !== 'file') throw new FsError('EINVAL', `'${path}' is not a regular file`);
    if (!capability) {
      throw new FsError('EPERM',
        'changing the DAX-immutable flag needs the capability (CAP_LINUX_IMMUTABLE)');
    }
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    if (on) {
      if ((inode.flags & INODE_FLAG_NODATACOW) === 0) {
        throw new FsError('EINVAL',
          'DAX-immutable needs a nodatacow file (a COW write fault would change metadata)');
      }
      if (inode.size === 0) {
        throw new FsError('EINVAL', 'DAX-immutable needs a non-empty, fully allocated file');
      }
      let pos = 0;
      for (const { fileOffset, e } of this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE)) {
        if (fileOffset > pos) throw new FsError('EINVAL', `'${path}' has a hole at ${pos}`);
        if (e.type !== 1) {
          throw new FsError('EINVAL',
            `'${path}' has a preallocated (unwritten) extent at ${fileOffset}`);
        }
        if (!this.data.canOverwriteExtent(r.sv, r.ino, e)) {
          throw new FsError('EINVAL', `'${path}' has a shared extent at ${fileOffset}`);
        }
        pos = fileOffset + e.bytes;
      }
      if (pos < inode.size) throw new FsError('EINVAL', `'${path}' has a hole at ${pos}`);
      this.hasImmutableFile(r.sv);
      if ((inode.flags & INODE_FLAG_IMMUTABLE) === 0) r.sv.immutableInodes! += 1;
      inode.flags |= INODE_FLAG_IMMUTABLE;
    } else {
      if (this.daxManager!.isMapped(r.sv, r.ino)) throw new FsError('EBUSY', `'${path}' is mapped`);
      this.hasImmutableFile(r.sv);
      if (inode.flags & INODE_FLAG_IMMUTABLE) r.sv.immutableInodes! -= 1;
      inode.flags &= ~INODE_FLAG_IMMUTABLE;
    }
    this.putInode(r.sv, r.ino, inode);
  }

  /** Files and mappings that reach a device byte (for media errors). */
  blockOwners(bytenr: number): {
    files: Array<{ subvolume: number; ino: number; offset: number }>;
    mappings: Array<{ subvolume: number; ino: number; offset: number; mapping: number }>;
  } {
    this.live();
    requireIndex(bytenr, 'bytenr');
    if (bytenr >= this.k.totalBytes) {
      throw new FsError('EINVAL',
        `bytenr ${bytenr} is outside the ${this.k.totalBytes}-byte file system`);
    }
    const files: Array<{ subvolume: number; ino: number; offset: number }> = [];
    for (const sv of this.subvolumes.values()) {
      sv.tree.walkRange(key(0, EXTENT_DATA_TYPE, 0), key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE),
        (kk, addr, size) => {
        if (kk.type !== EXTENT_DATA_TYPE) return true;
        const e = decodeFileExtent(this.k.m.u8.slice(addr, addr + size));
        const start = e.diskBytenr + e.offset;
        if (e.diskBytenr && bytenr >= start && bytenr < start + e.bytes) {
          files.push({ subvolume: sv.id, ino: kk.objectid, offset: kk.offset + (bytenr - start) });
        }
        return true;
      });
    }
    return { files, mappings: this.daxManager!.mappedOwners(bytenr) };
  }

  // --- checking ----------------------------------------------------------------------

  fsck(): string[] {
    this.live();
    if (!this.k.aborted) this.k.commit();
    return runFsck(this.k, [...this.subvolumes.values()]);
  }

  scrub(): ScrubReport {
    this.live();
    if (!this.k.aborted) this.k.commit();
    return runScrub(this.k);
  }

  /** Extent map of a file (for tools and the DAX layer). */
  fileExtents(path: string): Array<{
    fileOffset: number;
    diskBytenr: number;
    diskBytes: number;
    offset: number;
    bytes: number;
    prealloc: boolean;
  }> {
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    return this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE).map(({ fileOffset, e }) => ({
      fileOffset, diskBytenr: e.diskBytenr, diskBytes: e.diskBytes, offset: e.offset,
      bytes: e.bytes, prealloc: e.type !== 1,
    }));
  }
}


/** The superblock a mount starts from: valid, pmcow's or btrfs's, and within the device. */
function mountableSuperblock(device: PmemDevice): SuperblockState {
  const read = Kernel.readSuperblock(device);
  if (!read) {
    throw new FsError('EINVAL',
      'no valid btrfs superblock on this device (primary at 64 KiB, alternate)');
  }
  if ('foreign' in read) throw new FsError('EOPNOTSUPP', read.foreign);
  const sb = read.state;
  const problem = superblockProblem(sb, device.sizeBytes);
  if (problem) {
    throw new FsError('EUCLEAN', `superblock of generation ${sb.generation}: ${problem}`);
  }
  return sb;
}

/** The kernel of a mount of `sb`: its uuids, generations and label, before any tree. */
function kernelOf(device: PmemDevice, sb: SuperblockState): Kernel {
  const k = new Kernel(device, sb.nodeBytes, sb.metadataCopies === 2 ? 'dup' : 'single');
  // An image pmcow did not write: the tree checker takes btrfs's inline forms until the
  // adoption has rewritten them (src/fs/adopt.ts).
  if (sb.origin === 'btrfs') {
    k.m.setU32(k.fsStateAddr + F_ADOPTING, 1);
    k.origin = 'btrfs';
    k.compatRoFlags = sb.compatRoFlags ?? 0;
  }
  k.setUuids(sb.fsid, sb.chunkTreeUuid);
  k.setCommittedGeneration(sb.generation);
  k.mountedGeneration = sb.generation;
  k.label = sb.label;
  k.devUuid = sb.devUuid;
  // The system chunks first (the superblock names them), then every other block group
  // from the chunk tree and the extent tree's block group items, then free space.
  return k;
}

/** The chunk, dev, root, extent and csum trees, the block groups and the free space. */
function loadGlobalTrees(k: Kernel, sb: SuperblockState): void {
  // The system chunks first (the superblock names them), then every other block group
  // from the chunk tree and the extent tree's block group items, then free space.
  k.chunks.loadSystemChunks(sb.systemChunks as ChunkDesc[]);
  k.chunkTree = k.newTree(CHUNK_TREE_ID, sb.chunkTree, sb.chunkLevel);
  // The chunk root's generation is the superblock's chunk_root_generation (btrfs's parent
  // transid check: a root block older or newer than its pointer says is not the one written).
  if (k.blockGeneration(sb.chunkTree) !== sb.chunkGeneration) {
    throw new FsError('EUCLEAN',
      `chunk tree root ${sb.chunkTree}: generation ${k.blockGeneration(sb.chunkTree)}, the`
        + ` superblock says ${sb.chunkGeneration}`);
  }
  k.chunks.loadChunkTree(sb.devItemBytes);
  if (sb.origin === 'btrfs') {
    // An image pmcow did not write: its chunk tree's uuid is in its blocks' headers, its
    // incompat bits stay (features.ts), its global roots are in their ROOT_ITEMs.
    const at = k.nodeAddr(sb.chunkTree) + NODE_CHUNK_TREE_UUID;
    k.setUuids(sb.fsid, k.m.u8.slice(at, at + UUID_BYTES));
    k.incompatFlags = incompatAfterAdoption(sb.incompatFlags ?? 0);
    k.rootTree = k.newTree(ROOT_TREE_ID, sb.rootTree, sb.rootLevel);
    for (const [id, set] of [[EXTENT_TREE_ID, (r: RootItem) => {
      sb.extentTree = r.bytenr;
      sb.extentLevel = r.level;
    }],
      [DEV_TREE_ID, (r: RootItem) => { sb.devTree = r.bytenr; sb.devLevel = r.level; }],
      [CSUM_TREE_ID, (r: RootItem) => {
        sb.csumTree = r.bytenr;
        sb.csumLevel = r.level;
      }]] as const) {
      const body = k.rootTree.get(key(id, ROOT_ITEM, 0));
      if (!body) throw new FsError('EUCLEAN', `root tree: no ROOT_ITEM for tree ${id}`);
      set(decodeRootItem(body));
    }
  }
  k.devTree = k.newTree(DEV_TREE_ID, sb.devTree, sb.devLevel);
  k.rootTree = k.newTree(ROOT_TREE_ID, sb.rootTree, sb.rootLevel);
  k.extentTree = k.newTree(EXTENT_TREE_ID, sb.extentTree, sb.extentLevel);
  k.csumTree = k.newTree(CSUM_TREE_ID, sb.csumTree, sb.csumLevel);
  k.chunks.loadBlockGroups();
  k.rebuildFreeSpace();
}

/** Make the zero page read as zeros: the page that holes map read-only. */
function zeroPageReady(device: PmemDevice, k: Kernel): void {
  // The page that holes map read-only must read as zeros (checked in the core: this runs
  // at every mount, and a crash explorer mounts thousands of images a second).
  if (!device.isZero(ZERO_PAGE_BYTENR, PAGE_BYTES)) {
    k.reportWrite(ZERO_PAGE_BYTENR, PAGE_BYTES);
    device.store(ZERO_PAGE_BYTENR, new Uint8Array(PAGE_BYTES));
    device.persist(ZERO_PAGE_BYTENR, PAGE_BYTES);
  }
}

/**
 * The operations that run the engine: each holds the fs lock while it runs (nested calls
 * take it again). Wrapped once, here, rather than in each method.
 */
const LOCKED_OPERATIONS = [
  'unmount', 'commit', 'sync', 'statfs', 'subvolumeIds', 'inode', 'mkdir', 'create',
  'exists', 'readdir', 'stat',
  'unlink', 'rmdir', 'link', 'rename', 'open', 'close', 'pread', 'preadInto', 'pwrite',
  'readFile', 'contentDigest',
  'writeFile', 'truncate',
  'fallocate', 'punchHole', 'zeroRange', 'fsync', 'setNoDataCow', 'cloneRange',
  'cloneFile', 'createSubvolume',
  'snapshot', 'deleteSubvolume', 'mmap', 'freeze', 'thaw', 'setDaxImmutable',
  'blockOwners', 'fsck', 'scrub',
  'fileExtents', 'dedupeRange', 'dedupeRanges', 'collapseRange', 'insertRange',
  'fdatasync', 'copyFileRange', 'exchangeRange', 'symlink', 'readlink', 'lstat',
  'setxattr', 'fsetxattr', 'getxattr', 'fgetxattr', 'listxattr', 'flistxattr',
  'removexattr', 'fremovexattr',
] as const satisfies ReadonlyArray<keyof FileSystem>;

for (const name of LOCKED_OPERATIONS) {
  const operation = FileSystem.prototype[name] as (this: FileSystem, ...args: unknown[]) => unknown;
  Object.defineProperty(FileSystem.prototype, name, {
    // withFsLock inlined: no closure per call (pwrite and pread are called per 4 KiB).
    value: function locked(this: FileSystem, ...args: unknown[]): unknown {
      const core = this['k'].core;
      core.fs_lock();
      try {
        return operation.apply(this, args);
      } finally {
        core.fs_unlock();
      }
    },
    writable: true, configurable: true,
  });
}
