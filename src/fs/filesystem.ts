// The file system's public API: synchronous, main thread. Paths are absolute POSIX
// paths; every failure is an FsError with an errno name.
import { parseUuid, derivedUuid, uuidText } from './uuid.js';
import { FsError, describeValue, requireIndex } from '../errors.js';
import { PmemDevice } from '../pmem/device.js';
import { DEVICE_BASE } from '../core/module.js';
import { Kernel, superblockProblem } from './kernel.js';
import { FileData, alignDown, alignUp } from './file-data.js';
import type { Subvolume } from './subvolume.js';
import type { BTree } from './ctree.js';
import {
  encodeInode, decodeInode, encodeDirEntries, decodeDirEntries, encodeInodeRefs, decodeInodeRefs,
  encodeRootItem, decodeRootItem, encodeRootRef, decodeRootRef, decodeFileExtent, nameBytes, type InodeItem, type DirEntry,
  type RootItem,
} from './items.js';
import {
  key, DEFAULT_NODE_BYTES, SYSTEM_AREA_BYTES, FS_TREE_ID, FIRST_SUBVOLUME_ID, FIRST_INODE, ROOT_TREE_ID, EXTENT_TREE_ID,
  CSUM_TREE_ID, INODE_ITEM, INODE_REF, DIR_ITEM, DIR_INDEX, ROOT_ITEM, ROOT_REF, ROOT_BACKREF,
  ORPHAN_OBJECTID, ORPHAN_ITEM, MODE_FILE, MODE_DIR, MODE_SYMLINK, isFileMode, isSymlinkMode, DIR_KIND_SYMLINK, NAME_HASH_SEED, INODE_FLAG_IMMUTABLE, EXTENT_DATA as EXTENT_DATA_TYPE, DIR_KIND_SUBVOLUME,
  INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM, ROOT_FLAG_READONLY, MAX_KEY_VALUE,
  SECTOR_BYTES, EXTENT_TYPE_REG, SUPERBLOCK_BYTES, superblockOffsets, INODE_REF_HEADER_BYTES, LEAF_ITEM_BYTES, NODE_HEADER_BYTES, type Key, LAST_OBJECTID,
} from './format.js';
import { INODE_ITEM_BYTES, INODE_SIZE, INODE_FLAGS, CHUNK_TREE_ID, DEV_TREE_ID, NODE_CHUNK_TREE_UUID, F_ADOPTING, CHUNK_FREE } from '../core/abi.js';
import { incompatAfterAdoption } from './features.js';
import { surveyFileExtents, dropFreeSpaceTree, keyInlineRefs, cutCsumsByExtent, deleteInlineExtent, readMappedData, type AdoptionReport } from './adopt.js';
import { UUID_BYTES } from './uuid.js';
import type { ChunkDesc } from './chunks.js';
import type { MkfsOptions, Stat, StatFs, SnapshotOptions, FallocateOptions, ScrubReport, FileKind, XattrOptions, SetXattrOptions } from './types.js';
import { xattrNameBytes, xattrValueBytes, xattrNameText, findXattr, listXattrs, storeXattr, deleteXattr, type XattrHost } from './xattr.js';
import { kindOfMode, entryKindOfMode, isSpecialKind, isDirKind, requireRegular, checkMknod } from './special.js';
import { MAX_SYMLINK_FOLLOWS, checkSymlinkTarget, encodeSymlinkTarget, decodeSymlinkTarget, pathNames } from './symlink.js';
import { runFsck } from './fsck.js';
import { runScrub } from './scrub.js';
import * as rangeOps from './range-ops.js';
import type { RangeHost, DedupeResult, DedupeDestination, DedupeInfo } from './range-ops.js';
import { DaxManager, ZERO_PAGE_BYTENR, PAGE_BYTES } from '../dax/manager.js';
import type { DaxMapping } from '../dax/mapping.js';
import { POLICY_NAMES, type DaxPolicy } from '../dax/policy.js';

export interface MountOptions {
  /** DAX safety mechanisms; each defaults to on (see DaxPolicy). */
  dax?: Partial<DaxPolicy>;
  /**
   * pwrite's path in the core (default true): the writes it can make alone (sector aligned:
   * in place in a nodatacow extent, one page to a new block, several pages over a hole to a
   * new extent, the inode item after them) run in one call into assembly/fs/file.ts. false sends every write through TypeScript's
   * FileData.write, which makes the same decisions with the same results: the reference
   * the core path is tested against (test/fs-write-core.test.ts).
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

/** Largest file size: keys and offsets stay below 2^53. */
export const MAX_FILE_BYTES = 2 ** 50;

/** copyFileRange's copies go through a buffer of at most this many bytes at a time. */
const COPY_CHUNK_BYTES = 1 << 20;

/** Paths kept in the path cache before it starts over. */
const MAX_DENTRIES = 4096;

interface Resolved {
  sv: Subvolume; ino: number; inode: InodeItem; kind: FileKind;
  /** A snapshot's stand-in for a subvolume nested in its source: an empty, read-only directory. */
  placeholder?: boolean;
}

/** btrfs's inode number for the empty directory that stands for a nested subvolume in a snapshot. */
const EMPTY_SUBVOL_DIR_INO = 2;
interface Parent { sv: Subvolume; dir: number; name: string; placeholder?: boolean }
/** Where a walk stands: the object reached and the directories it came through ('..' steps back along them). */
interface Walked { cur: Resolved; up: Resolved[] }
interface OpenFile { sv: Subvolume; ino: number }

/** One component of a path as written: a name, or '..' (empty components and '.' are dropped). */

/**
 * btrfs's name hash (btrfs_name_hash): crc32c's register run over the name from ~1, not
 * inverted at the end; the key offset of a DIR_ITEM. Computed in the device's scratch.
 */
export function btrfsNameHash(device: PmemDevice, name: Uint8Array): number {
  const scratch = device.scratch();
  if (name.length > scratch.length) throw new FsError('ENAMETOOLONG', 'name longer than the scratch area');
  scratch.set(name);
  return device.core.csum_crc32c_update(NAME_HASH_SEED, scratch.byteOffset, name.length) >>> 0;
}

/** A copy of a walk's answer: callers change the inode they are given before writing it back. */
function copyResolved(r: Resolved): Resolved {
  return { ...r, inode: { ...r.inode } };
}

function checkPath(path: unknown): string[] {
  if (typeof path !== 'string') throw new FsError('EINVAL', `path must be a string, got ${typeof path}`);
  if (!path.startsWith('/')) throw new FsError('EINVAL', `path must be absolute: '${path}'`);
  if (path.includes('\0')) throw new FsError('EINVAL', 'path contains a NUL byte');
  return pathNames(path);
}

/**
 * The names a path reaches once '..' is applied lexically. Only for comparing paths that
 * resolve() accepted: resolve() walks '..' itself, so 'file/..' and 'missing/..' fail there.
 */
function normalisedParts(path: string): string[] {
  const out: string[] = [];
  for (const part of checkPath(path)) if (part === '..') out.pop(); else out.push(part);
  return out;
}

/** An options argument: undefined means defaults; anything but a plain object is EINVAL. */
function checkOptions<T extends object>(options: unknown, what: string): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FsError('EINVAL', `${what} must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  return options as Partial<T>;
}

/** An optional boolean flag: undefined is false; anything but a boolean is EINVAL. */
function checkFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new FsError('EINVAL', `${name} must be a boolean, got ${typeof value}`);
  return value;
}

/** Linux's MAX_RW_COUNT is just under 2 GiB; a read returns at most 1 GiB here (a short read, as POSIX allows). */
export const MAX_READ_BYTES = 2 ** 30;

/** btrfs's BTRFS_ROOT_TREE_DIR_OBJECTID: the root tree's directory (superblock root_dir_objectid). */
const ROOT_TREE_DIR_OBJECTID = 6;

function checkOffset(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FsError('EINVAL', `${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
  if (value > MAX_FILE_BYTES) throw new FsError('EFBIG', `${name} ${value} exceeds the maximum file size`);
  return value;
}

function checkBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new FsError('EINVAL', 'data must be a Uint8Array or another typed array');
}

export class FileSystem {
  private readonly k: Kernel;
  private readonly data: FileData;
  private daxManager: DaxManager | null = null;
  /** MountOptions.coreWrites. */
  private coreWrites = true;
  /** Writes (pwrite calls) the core's path made alone since mount. */
  writesInCore = 0;
  /** This thread's scratch of the device (caller bytes go through it into the shared memory). */
  private scratch: Uint8Array | null = null;
  private frozen = false;
  private readonly subvolumes = new Map<number, Subvolume>();
  /**
   * Path cache (a dentry cache): paths without '..' (components joined by '/') and what
   * they resolved to, valid while no tree changed since (Kernel.treeChanges); callers get
   * copies, since some change the inode they are given before writing it back.
   */
  private readonly dentries = new Map<string, Walked>();
  private readonly nameHashes = new Map<string, number>();
  private dentriesAt = -1;
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  private mounted = true;
  /** Commits made because an operation would otherwise have failed with ENOSPC (reserveSpace). */
  spaceReclaims = 0;
  /** This mount's claim on the device (PmemDevice.claimOwner): one file system per device. */
  private ownerToken = 0;

  private constructor(readonly device: PmemDevice, kernel: Kernel) {
    this.k = kernel;
    this.data = new FileData(kernel);
    this.data.allTrees = () => [...this.subvolumes.values()].map((sv) => sv.tree);
    kernel.participants.add({
      writeRootItems: () => {
        this.updateNbytes();
        this.writeRootItems();
      },
    });
  }

  /**
   * Run `fn` holding the fs lock (shared memory, nested): another thread's core instance
   * runs an operation of the engine only between this thread's (docs/engine.md).
   */
  private withFsLock<T>(fn: () => T): T {
    const core = this.k.core;
    core.fs_lock();
    try {
      return fn();
    } finally {
      core.fs_unlock();
    }
  }

  // --- mkfs, mount, unmount ----------------------------------------------------------

  static mkfs(device: PmemDevice, options: MkfsOptions = {}): void {
    if (!(device instanceof PmemDevice)) throw new FsError('EINVAL', 'mkfs needs a PmemDevice');
    if (device.isClosed) throw new FsError('EBADF', 'mkfs: the device handle is closed');
    options = checkOptions<MkfsOptions>(options, 'mkfs options');
    const nodeBytes = options.nodeSize ?? DEFAULT_NODE_BYTES;
    if (!Number.isInteger(nodeBytes) || nodeBytes < 4096 || nodeBytes > 65536 || (nodeBytes & (nodeBytes - 1)) !== 0) {
      throw new FsError('EINVAL', `nodeSize must be a power of two in 4096..65536, got ${describeValue(nodeBytes)}`);
    }
    const label = options.label ?? '';
    if (typeof label !== 'string' || nameBytes(label).length > 255) throw new FsError('EINVAL', 'label must be a string of at most 255 bytes');
    const profile = options.metadataProfile ?? 'single';
    if (profile !== 'single' && profile !== 'dup') throw new FsError('EINVAL', `metadataProfile must be 'single' or 'dup', got ${describeValue(profile)}`);
    if (device.sizeBytes < SYSTEM_AREA_BYTES + 256 * nodeBytes) {
      throw new FsError('ENOSPC', `device of ${device.sizeBytes} bytes is too small for a file system with ${nodeBytes}-byte nodes`);
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

  private static format(device: PmemDevice, nodeBytes: number, label: string, profile: 'single' | 'dup', fsid: Uint8Array): void {
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
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, INODE_ITEM, 0), encodeInode({ ...this.newInode(MODE_DIR, 0), nbytes: this.k.nodeBytes }));
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, INODE_REF, ROOT_TREE_DIR_OBJECTID), encodeInodeRefs([{ index: 0, name: '..' }]));
    const entry: DirEntry = { location: key(FS_TREE_ID, ROOT_ITEM, 0), kind: DIR_KIND_SUBVOLUME, name: 'default', transid: 0 };
    tree.insert(key(ROOT_TREE_DIR_OBJECTID, DIR_ITEM, this.nameHash('default')), encodeDirEntries([entry]));
  }

  static mount(device: PmemDevice, options: MountOptions = {}): FileSystem {
    if (!(device instanceof PmemDevice)) throw new FsError('EINVAL', 'mount needs a PmemDevice');
    if (device.isClosed) throw new FsError('EBADF', 'mount: the device handle is closed');
    options = checkOptions<MountOptions>(options, 'mount options');
    const dax = checkOptions<DaxPolicy>(options.dax, 'dax policy');
    for (const [name, on] of Object.entries(dax)) {
      if (!(POLICY_NAMES as string[]).includes(name)) throw new FsError('EINVAL', `unknown DAX switch '${name}'`);
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
    const read = Kernel.readSuperblock(device);
    if (!read) throw new FsError('EINVAL', 'no valid btrfs superblock on this device (primary at 64 KiB, alternate)');
    if ('foreign' in read) throw new FsError('EOPNOTSUPP', read.foreign);
    const sb = read.state;
    const problem = superblockProblem(sb, device.sizeBytes);
    if (problem) throw new FsError('EUCLEAN', `superblock of generation ${sb.generation}: ${problem}`);
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
    k.chunks.loadSystemChunks(sb.systemChunks as ChunkDesc[]);
    k.chunkTree = k.newTree(CHUNK_TREE_ID, sb.chunkTree, sb.chunkLevel);
    // The chunk root's generation is the superblock's chunk_root_generation (btrfs's parent
    // transid check: a root block older or newer than its pointer says is not the one written).
    if (k.blockGeneration(sb.chunkTree) !== sb.chunkGeneration) {
      throw new FsError('EUCLEAN', `chunk tree root ${sb.chunkTree}: generation ${k.blockGeneration(sb.chunkTree)}, the superblock says ${sb.chunkGeneration}`);
    }
    k.chunks.loadChunkTree(sb.devItemBytes);
    if (sb.origin === 'btrfs') {
      // An image pmcow did not write: its chunk tree's uuid is in its blocks' headers, its
      // incompat bits stay (features.ts), its global roots are in their ROOT_ITEMs.
      const at = k.nodeAddr(sb.chunkTree) + NODE_CHUNK_TREE_UUID;
      k.setUuids(sb.fsid, k.m.u8.slice(at, at + UUID_BYTES));
      k.incompatFlags = incompatAfterAdoption(sb.incompatFlags ?? 0);
      k.rootTree = k.newTree(ROOT_TREE_ID, sb.rootTree, sb.rootLevel);
      for (const [id, set] of [[EXTENT_TREE_ID, (r: RootItem) => { sb.extentTree = r.bytenr; sb.extentLevel = r.level; }],
        [DEV_TREE_ID, (r: RootItem) => { sb.devTree = r.bytenr; sb.devLevel = r.level; }],
        [CSUM_TREE_ID, (r: RootItem) => { sb.csumTree = r.bytenr; sb.csumLevel = r.level; }]] as const) {
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
    const fs = new FileSystem(device, k);
    for (const item of k.rootTree.range(key(0, ROOT_ITEM, 0), key(LAST_OBJECTID, ROOT_ITEM, MAX_KEY_VALUE))) {
      if (item.key.type !== ROOT_ITEM) continue;
      const r = decodeRootItem(item.data);
      // Subvolume trees (5 and 256 up), and the extent, dev and csum trees' own; any other
      // id here is damage, and taking it for a subvolume would bind it to the extent or
      // csum tree's root slot.
      if (item.key.objectid !== FS_TREE_ID && item.key.objectid < FIRST_SUBVOLUME_ID) {
        // A global tree's ROOT_ITEM has key offset 0 (btrfs refuses to open one that has not).
        if (item.key.offset !== 0) throw new FsError('EUCLEAN', `root tree: the ROOT_ITEM of tree ${item.key.objectid} has key offset ${item.key.offset}`);
        k.noteTreeRootItem(item.key.objectid, r.bytenr, r.level);
        continue;
      }
      const sv = fs.addSubvolume(item.key.objectid, k.newTree(item.key.objectid, r.bytenr, r.level), r.flags, r.lastSnapshot, true);
      sv.itemDirty = false;
      sv.uuid = r.uuid!;
      sv.parentUuid = r.parentUuid!;
      sv.otransid = r.otransid!;
      sv.rootDir = r.rootDir;
      // As btrfs: new subvolume ids continue from the highest one in the root tree.
      k.nextSubvolume = Math.max(k.nextSubvolume, item.key.objectid + 1);
    }
    if (!fs.subvolumes.has(FS_TREE_ID)) throw new FsError('EIO', 'the top-level subvolume is missing');
    k.checkTreeRootItems();
    fs.processOrphans();
    // The page that holes map read-only must read as zeros (checked in the core: this runs
    // at every mount, and a crash explorer mounts thousands of images a second).
    if (!device.isZero(ZERO_PAGE_BYTENR, PAGE_BYTES)) {
      k.reportWrite(ZERO_PAGE_BYTENR, PAGE_BYTES);
      device.store(ZERO_PAGE_BYTENR, new Uint8Array(PAGE_BYTES));
      device.persist(ZERO_PAGE_BYTENR, PAGE_BYTES);
    }
    fs.daxManager = new DaxManager({ inodeOf: (sv, ino) => fs.inode(sv, ino), fileData: fs.data, kernel: k, blockOwners: (b) => fs.blockOwners(b).files }, dax);
    fs.daxManager.onUnmapped = (sv, ino) => fs.releaseIfOrphan(sv, ino);
    if (sb.origin !== 'btrfs') return fs;
    const report = fs.adopt();
    // Chunks the adoption removed leave the table at a fresh mount (as a pmcow image now).
    const adopted = report.mappedDataChunksRemoved ? FileSystem.load(device, dax) : fs;
    adopted.adoption = report;
    return adopted;
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
      if (end > before.size) this.putInode(x.sv, x.ino, { ...this.inode(x.sv, x.ino), size: before.size });
    }
    const mappedChunks: number[] = [];
    for (let c = 0; c < k.chunks.count; c++) if (k.chunks.mappedData(c) && k.chunks.itemsKind(c) !== CHUNK_FREE) mappedChunks.push(c);
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
      freeSpaceTreeDropped, dataRefsKeyed: refs.data, sharedBlockRefsKeyed: refs.sharedBlocks, csumItemsRewritten,
      inlineExtentsMoved: inline.length, dataExtentsMoved: moved.length, mappedDataChunksRemoved: mappedChunks.length,
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

  commit(): void {
    this.live();
    this.k.commit();
  }

  sync(): void {
    this.commit();
  }

  statfs(): StatFs {
    this.live();
    const used = this.k.usedBytes();
    return {
      totalBytes: this.k.totalBytes, usedBytes: used + this.k.reservedBytes(),
      freeBytes: this.k.free.freeBytes(), nodeSize: this.k.nodeBytes, sectorSize: SECTOR_BYTES,
      generation: this.k.generation, label: this.k.label,
    };
  }

  /** The kernel (trees, allocator): for fsck, scrub, DAX and tests. */
  get kernel(): Kernel {
    return this.k;
  }

  subvolumeIds(): number[] {
    return [...this.subvolumes.keys()].sort((a, b) => a - b);
  }

  subvolume(id: number): Subvolume | undefined {
    return this.subvolumes.get(id);
  }

  // --- subvolume bookkeeping ---------------------------------------------------------

  private addSubvolume(id: number, tree: BTree, flags: number, lastSnapshot: number, atMount = false): Subvolume {
    let last: { key: Key } | null = null;
    let damaged: Subvolume['damaged'];
    try {
      last = tree.lastAtOrBefore(key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE));
    } catch (e) {
      // At mount, a subvolume whose tree cannot be read (a media error, a corrupted node)
      // is mounted read-only, so that the rest of the file system stays usable; its
      // readable parts read, the rest fail with that error.
      if (!atMount || !(e instanceof FsError)) throw e;
      damaged = { reason: e.message, flags };
    }
    const sv: Subvolume = {
      id, tree, flags: damaged ? flags | ROOT_FLAG_READONLY : flags, lastSnapshot, rootDir: FIRST_INODE,
      // A new subvolume's uuid, derived (images stay reproducible: the crash explorer's are
      // compared byte for byte) from the file system's and the subvolume's id and creation.
      // (A mount reads them from the ROOT_ITEM instead.)
      uuid: atMount ? new Uint8Array(UUID_BYTES) : derivedUuid(`pmcow subvolume ${uuidText(this.k.fsid)} ${id} ${lastSnapshot}`),
      parentUuid: new Uint8Array(UUID_BYTES),
      otransid: lastSnapshot,
      nextIno: Math.max(FIRST_INODE + 1, last ? last.key.objectid + 1 : FIRST_INODE + 1), itemDirty: true,
      immutableInodes: null,
    };
    if (damaged) sv.damaged = damaged;
    this.subvolumes.set(id, sv);
    this.k.setLastSnapshot(tree, lastSnapshot);
    return sv;
  }

  /**
   * btrfs's inode nbytes (the bytes a file's extent items map), for every inode whose items
   * changed in this transaction: summed from the items at commit, written when it moved.
   */
  private updateNbytes(): void {
    for (const [tree, inos] of this.k.takeExtentsChanged()) {
      const sv = this.subvolumes.get(tree);
      if (!sv) continue;
      for (const ino of inos) {
        const item = sv.tree.get(key(ino, INODE_ITEM, 0));
        if (!item) continue; // deleted in this transaction
        const inode = decodeInode(item);
        const nbytes = isFileMode(inode.mode) ? this.data.nbytes(sv, ino) : inode.nbytes;
        if (nbytes !== inode.nbytes) sv.tree.update(key(ino, INODE_ITEM, 0), encodeInode({ ...inode, nbytes }));
      }
    }
  }

  private writeRootItems(): void {
    for (const sv of this.subvolumes.values()) {
      const movedElsewhere = this.k.takeMovedMark(sv.tree);
      if (!sv.itemDirty && !movedElsewhere && !this.k.movedSubvolumes.has(sv.tree)) continue;
      // The root block's generation, as btrfs reads it back (a ROOT_ITEM rewritten for its
      // last snapshot alone must not claim a newer root than the one it names).
      this.k.rootTree.put(key(sv.id, ROOT_ITEM, 0), encodeRootItem({
        bytenr: sv.tree.root, level: sv.tree.level, generation: this.k.blockGeneration(sv.tree.root), flags: sv.damaged?.flags ?? sv.flags,
        lastSnapshot: sv.lastSnapshot, rootDir: sv.rootDir, uuid: sv.uuid, parentUuid: sv.parentUuid, otransid: sv.otransid,
      }, this.k.nodeBytes));
      sv.itemDirty = false;
      this.k.movedSubvolumes.delete(sv.tree);
    }
  }

  private createRootDir(sv: Subvolume, ino: number): void {
    sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(this.newInode(MODE_DIR, 0)));
    sv.tree.insert(key(ino, INODE_REF, ino), encodeInodeRefs([{ index: 0, name: '..' }]));
  }

  private newInode(mode: number, flags: number): InodeItem {
    return { generation: this.k.transid, size: 0, nbytes: 0, nlink: 1, mode, flags, transid: this.k.transid };
  }

  // --- guards ------------------------------------------------------------------------

  private live(): void {
    if (!this.mounted) throw new FsError('EINVAL', 'file system is not mounted');
    // A crash (crashInPlace, a crash image built into this device) is a new boot: this
    // mount's state is gone with it, and another mount may own the device now.
    if (this.ownerToken !== 0 && !this.device.ownsDevice(this.ownerToken)) {
      throw new FsError('EIO', 'the device crashed since this mount: mount it again');
    }
  }

  /**
   * Before a change: writable, and room in the dirty-node pool for the operation. A change
   * that grows metadata (a new name, inode or subvolume) must leave half the metadata
   * reserve free, so that deletions, truncation and commits can always proceed.
   */
  private beginChange(sv?: Subvolume, growsMetadata: boolean | 'snapshot' = false): void {
    this.live();
    if (this.frozen) throw new FsError('EBUSY', 'file system is frozen');
    this.k.checkWritable();
    if (sv && (sv.flags & ROOT_FLAG_READONLY) !== 0) throw new FsError('EROFS', `subvolume ${sv.id} is a read-only snapshot`);
    // Commit early when dirty buffers or free space run low: a commit returns pinned space.
    if (this.k.poolPressure() > 0.4 || (this.k.metadataFreeBytes() < this.k.metadataReserveBytes && this.k.hasChanges())) this.k.commit();
    // A snapshot shares a whole tree: the next commits rewrite shared paths and refcounts,
    // so it asks for the full reserve; other growing changes for three quarters of it.
    const needed = growsMetadata === 'snapshot' ? this.k.metadataReserveBytes : (this.k.metadataReserveBytes * 3) / 4;
    if (growsMetadata) this.reserveSpace(() => this.k.metadataFreeBytes() >= needed, 'no space left for metadata');
  }

  /**
   * ENOSPC reclaims first: when `enough` fails and the running transaction freed extents
   * (their space comes back only with the commit that makes the frees durable: a crash
   * before it must still find them intact), commit to return it and ask again; ENOSPC only if that did not help. btrfs does the same
   * (flush_space's COMMIT_TRANS step before a reservation fails), as does XFS (a log force
   * to free busy extents). Callers ask before they change anything, so the commit makes
   * durable only operations that already returned, and a failure changes nothing.
   */
  private reserveSpace(enough: () => boolean, message = 'no space left on device'): void {
    if (enough()) return;
    if (this.k.reclaimableBytes() > 0) {
      this.k.commit();
      this.spaceReclaims++;
      if (enough()) return;
    }
    throw new FsError('ENOSPC', message);
  }

  // --- inodes and directories --------------------------------------------------------

  inode(sv: Subvolume, ino: number): InodeItem {
    const b = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!b) throw new FsError('EIO', `subvolume ${sv.id}: inode ${ino} is missing`);
    return decodeInode(b);
  }

  private putInode(sv: Subvolume, ino: number, i: InodeItem): void {
    i.transid = this.k.transid;
    sv.tree.update(key(ino, INODE_ITEM, 0), encodeInode(i));
  }

  /** crc32c of a name (the DIR_ITEM key offset), remembered: every path lookup asks for it. */
  private nameHash(name: string): number {
    let hash = this.nameHashes.get(name);
    if (hash === undefined) {
      hash = btrfsNameHash(this.device, nameBytes(name));
      if (this.nameHashes.size >= MAX_DENTRIES) this.nameHashes.clear();
      this.nameHashes.set(name, hash);
    }
    return hash;
  }

  private lookupEntry(sv: Subvolume, dir: number, name: string): DirEntry | null {
    const b = sv.tree.get(key(dir, DIR_ITEM, this.nameHash(name)));
    if (!b) return null;
    return decodeDirEntries(b).find((e) => e.name === name) ?? null;
  }

  private entryTarget(sv: Subvolume, e: DirEntry): Resolved {
    if (e.kind === DIR_KIND_SUBVOLUME) {
      const child = this.subvolumes.get(e.location.objectid);
      // Only the subvolume that holds the ROOT_REF owns the child; a snapshot's copy of
      // the entry stands for an empty directory (btrfs does the same).
      if (!child || !this.k.rootTree.lookup(key(sv.id, ROOT_REF, e.location.objectid))) {
        return { sv, ino: EMPTY_SUBVOL_DIR_INO, inode: { ...this.newInode(MODE_DIR, 0), transid: 0, generation: 0 }, kind: 'dir', placeholder: true };
      }
      return { sv: child, ino: child.rootDir, inode: this.inode(child, child.rootDir), kind: 'subvolume' };
    }
    const inode = this.inode(sv, e.location.objectid);
    return { sv, ino: e.location.objectid, inode, kind: kindOfMode(inode.mode) };
  }

  /** What `path` names, symlinks followed (stat, open and every call on a file's contents). */
  private resolve(path: unknown): Resolved {
    this.live();
    return this.walk(checkPath(path), path);
  }

  /**
   * What `path` names without following a symlink in its last component (lstat, unlink,
   * rename, link, readlink); a trailing '/' follows it, as Linux's path walk does.
   */
  private resolveNoFollow(path: unknown): Resolved {
    this.live();
    const parts = checkPath(path);
    if (parts.length === 0 || parts[parts.length - 1] === '..' || (path as string).endsWith('/')) return this.walk(parts, path);
    if (parts.includes('..')) return this.walk(parts, path, false);
    // The directory through the path cache, then the last name as it is.
    const dir = this.walkCached(parts.slice(0, -1), path);
    if (!isDirKind(dir.cur.kind)) throw new FsError('ENOTDIR', `'${String(path)}': a component is not a directory`);
    const e = dir.cur.placeholder ? null : this.lookupEntry(dir.cur.sv, dir.cur.ino, parts[parts.length - 1]!);
    if (!e) throw new FsError('ENOENT', `'${String(path)}': no such file or directory`);
    const r = this.entryTarget(dir.cur.sv, e);
    // Anything but a symlink is what a followed walk finds too: the cache keeps it (a
    // reader that lstats, then reads or lists, walks the name once).
    if (r.kind !== 'symlink') this.remember(parts, { cur: copyResolved(r), up: [...dir.up, dir.cur] });
    return r;
  }

  /**
   * Walk the components from the top-level root. '..' steps back to the directory the
   * walk came from (the top-level root stays put), after checking that the component
   * before it exists and is a directory, as POSIX asks ('file/..' is ENOTDIR). Symlinks
   * are followed (the last component's only when `followLast`).
   */
  private walk(parts: string[], path: unknown, followLast = true): Resolved {
    if (parts.includes('..') || !followLast) return copyResolved(this.walkFrom(this.fromTop(), parts, path, followLast).cur);
    return copyResolved(this.walkCached(parts, path).cur);
  }

  private fromTop(): Walked {
    const top = this.subvolumes.get(FS_TREE_ID)!;
    return { cur: { sv: top, ino: top.rootDir, inode: this.inode(top, top.rootDir), kind: 'subvolume' }, up: [] };
  }

  /**
   * Walk a path without '..' (symlinks followed) through the path cache: the path itself,
   * else its longest cached prefix, else the top-level root. The answer is the cache's
   * own (copy it before handing it out).
   */
  private walkCached(parts: string[], path: unknown): Walked {
    if (this.dentriesAt !== this.k.treeChanges) {
      this.dentries.clear();
      this.dentriesAt = this.k.treeChanges;
    }
    let cached = parts.length; // components the cache entry `hit` covers
    let hit: Walked | undefined;
    while (cached > 0 && (hit = this.dentries.get(parts.slice(0, cached).join('/'))) === undefined) cached--;
    if (hit && cached === parts.length) return hit;
    const walked = this.walkFrom(hit ? { cur: hit.cur, up: [...hit.up] } : this.fromTop(), parts.slice(cached), path, true);
    const entry = { cur: copyResolved(walked.cur), up: walked.up };
    this.remember(parts, entry);
    return entry;
  }

  private remember(parts: string[], entry: Walked): void {
    if (this.dentries.size >= MAX_DENTRIES) this.dentries.clear();
    this.dentries.set(parts.join('/'), entry);
  }

  /**
   * Walk `parts` on from `from`: '..' steps back to the directory the walk came from; a
   * symlink's target is walked in its place (from the top for an absolute one), at most
   * MAX_SYMLINK_FOLLOWS of them (ELOOP, Linux's MAXSYMLINKS).
   */
  private walkFrom(from: Walked, parts: string[], path: unknown, followLast: boolean): Walked {
    let { cur } = from;
    let { up } = from;
    const todo = [...parts].reverse();
    let follows = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (!isDirKind(cur.kind)) throw new FsError('ENOTDIR', `'${String(path)}': a component is not a directory`);
      if (part === '..') { cur = up.pop() ?? cur; continue; }
      const e = cur.placeholder ? null : this.lookupEntry(cur.sv, cur.ino, part);
      if (!e) throw new FsError('ENOENT', `'${String(path)}': no such file or directory`);
      const next = this.entryTarget(cur.sv, e);
      if (next.kind === 'symlink' && (todo.length > 0 || followLast)) {
        if (++follows > MAX_SYMLINK_FOLLOWS) throw new FsError('ELOOP', `'${String(path)}': more than ${MAX_SYMLINK_FOLLOWS} symbolic links`);
        const target = this.symlinkTarget(next.sv, next.ino);
        if (target.startsWith('/')) {
          const top = this.subvolumes.get(FS_TREE_ID)!;
          cur = { sv: top, ino: top.rootDir, inode: this.inode(top, top.rootDir), kind: 'subvolume' };
          up = [];
        }
        todo.push(...pathNames(target).reverse());
        continue;
      }
      up.push(cur);
      cur = next;
    }
    return { cur, up };
  }

  private resolveParent(path: unknown): Parent {
    this.live();
    const parts = checkPath(path);
    if (parts.length === 0 || parts[parts.length - 1] === '..') {
      // A path ending in '..' names a directory that exists (or fails the walk): never a new or removable name.
      this.walk(parts, path);
      throw new FsError('EBUSY', `'${String(path)}': '/' and '..' cannot be the target of this operation`);
    }
    const name = parts[parts.length - 1]!;
    const dir = this.walk(parts.slice(0, -1), path);
    if (!isDirKind(dir.kind)) throw new FsError('ENOTDIR', `'${String(path)}': parent is not a directory`);
    return { sv: dir.sv, dir: dir.ino, name, placeholder: dir.placeholder === true };
  }

  private addEntry(p: Parent, location: Key, kind: number): number {
    const dirInode = this.inode(p.sv, p.dir);
    const index = this.takeDirIndex(p.sv, p.dir);
    dirInode.size += nameBytes(p.name).length * 2;
    this.putInode(p.sv, p.dir, dirInode);
    const hashKey = key(p.dir, DIR_ITEM, this.nameHash(p.name));
    const existing = p.sv.tree.get(hashKey);
    const entry: DirEntry = { location, kind, name: p.name, transid: this.k.transid };
    const entries = existing ? [...decodeDirEntries(existing), entry] : [entry];
    p.sv.tree.put(hashKey, encodeDirEntries(entries));
    p.sv.tree.insert(key(p.dir, DIR_INDEX, index), encodeDirEntries([entry]));
    if (kind !== DIR_KIND_SUBVOLUME) {
      const refKey = key(location.objectid, INODE_REF, p.dir);
      const refs = p.sv.tree.get(refKey);
      p.sv.tree.put(refKey, encodeInodeRefs([...(refs ? decodeInodeRefs(refs) : []), { index, name: p.name }]));
    }
    return index;
  }

  /**
   * The next DIR_INDEX of `dir`: btrfs keeps no counter on disk, it continues from the
   * directory's highest index (2 for an empty one) and counts up in memory for the mount.
   */
  private takeDirIndex(sv: Subvolume, dir: number): number {
    const id = `${sv.id}:${dir}`;
    let next = this.nextDirIndexes.get(id);
    if (next === undefined) {
      const last = sv.tree.lastAtOrBefore(key(dir, DIR_INDEX, MAX_KEY_VALUE));
      next = last && last.key.objectid === dir && last.key.type === DIR_INDEX ? last.key.offset + 1 : 2;
    }
    if (this.nextDirIndexes.size >= MAX_DENTRIES) this.nextDirIndexes.clear();
    this.nextDirIndexes.set(id, next + 1);
    return next;
  }

  private readonly nextDirIndexes = new Map<string, number>();

  /** Would one more name for `ino` in `dir` still fit its INODE_REF item? (btrfs: EMLINK) */
  private checkRefRoom(sv: Subvolume, ino: number, dir: number, name: string): void {
    const refs = sv.tree.get(key(ino, INODE_REF, dir));
    const size = (refs?.length ?? 0) + nameBytes(name).length + INODE_REF_HEADER_BYTES + LEAF_ITEM_BYTES;
    if (size > (this.k.nodeBytes - NODE_HEADER_BYTES) / 2) throw new FsError('EMLINK', 'too many names for this inode in one directory');
  }

  private removeEntry(p: Parent): DirEntry {
    const hashKey = key(p.dir, DIR_ITEM, this.nameHash(p.name));
    const existing = p.sv.tree.get(hashKey);
    const entries = existing ? decodeDirEntries(existing) : [];
    const entry = entries.find((e) => e.name === p.name);
    if (!entry) throw new FsError('ENOENT', `'${p.name}': no such entry`);
    const rest = entries.filter((e) => e !== entry);
    if (rest.length) p.sv.tree.update(hashKey, encodeDirEntries(rest)); else p.sv.tree.delete(hashKey);
    let index = -1;
    if (entry.kind !== DIR_KIND_SUBVOLUME) {
      const refKey = key(entry.location.objectid, INODE_REF, p.dir);
      const refs = decodeInodeRefs(p.sv.tree.get(refKey) ?? new Uint8Array(0));
      const ref = refs.find((r) => r.name === p.name);
      if (!ref) throw new FsError('EIO', `inode ${entry.location.objectid}: back reference for '${p.name}' is missing`);
      index = ref.index;
      const left = refs.filter((r) => r !== ref);
      if (left.length) p.sv.tree.update(refKey, encodeInodeRefs(left)); else p.sv.tree.delete(refKey);
    } else {
      const rr = this.k.rootTree.get(key(p.sv.id, ROOT_REF, entry.location.objectid));
      index = rr ? decodeRootRef(rr).index : -1;
    }
    if (index >= 0) p.sv.tree.delete(key(p.dir, DIR_INDEX, index));
    else {
      for (const item of p.sv.tree.range(key(p.dir, DIR_INDEX, 0), key(p.dir, DIR_INDEX, MAX_KEY_VALUE))) {
        if (decodeDirEntries(item.data)[0]?.name === p.name) { p.sv.tree.delete(item.key); break; }
      }
    }
    const dirInode = this.inode(p.sv, p.dir);
    dirInode.size = Math.max(0, dirInode.size - nameBytes(p.name).length * 2);
    this.putInode(p.sv, p.dir, dirInode);
    return entry;
  }

  private dirIsEmpty(sv: Subvolume, dir: number): boolean {
    return sv.tree.range(key(dir, DIR_INDEX, 0), key(dir, DIR_INDEX, MAX_KEY_VALUE), 1).length === 0;
  }

  private isOpen(sv: Subvolume, ino: number): boolean {
    for (const f of this.fds.values()) if (f.sv === sv && f.ino === ino) return true;
    return this.daxManager?.isMapped(sv, ino) ?? false;
  }

  private immutable(r: { inode: InodeItem }): boolean {
    return (r.inode.flags & INODE_FLAG_IMMUTABLE) !== 0;
  }

  private refuseImmutable(r: { inode: InodeItem }, what: string): void {
    if (this.immutable(r)) throw new FsError('EPERM', `${what}: the file is DAX-immutable`);
  }

  private refusePlaceholder(p: { placeholder?: boolean }): void {
    if (p.placeholder) throw new FsError('EPERM', 'the directory stands for a subvolume that the snapshot does not contain');
  }

  private rangeChanged(sv: Subvolume, ino: number, start: number, end: number): void {
    this.daxManager?.rangeChanged(sv, ino, start, end);
  }

  /**
   * The file grows to `newSize`: bytes past the old EOF in its last sector (a store through
   * a mapping may have put data there) must read as zeros (generic/029, generic/499).
   */
  private zeroPastEof(sv: Subvolume, ino: number, newSize: number): void {
    const inode = this.inode(sv, ino);
    const from = inode.size;
    const to = alignUp(from);
    if (newSize <= from || from === to) return;
    if (!this.data.extents(sv, ino, from, to).some(({ e }) => e.type === EXTENT_TYPE_REG)) return;
    this.data.write(sv, ino, inode, new Uint8Array(to - from), from);
    this.rangeChanged(sv, ino, alignDown(from), to);
  }

  /** nlink dropped: delete the inode now, or when its last descriptor closes. */
  private dropLink(sv: Subvolume, ino: number): void {
    const inode = this.inode(sv, ino);
    inode.nlink -= 1;
    if (inode.nlink > 0) { this.putInode(sv, ino, inode); return; }
    this.putInode(sv, ino, inode);
    if (this.isOpen(sv, ino)) sv.tree.put(key(ORPHAN_OBJECTID, ORPHAN_ITEM, ino), new Uint8Array(0));
    else this.deleteInode(sv, ino);
  }

  private deleteInode(sv: Subvolume, ino: number): void {
    // Its extents go the way every dropped extent reference goes (FileData.drop), then the
    // rest (a symlink's inline target item refers to no extent).
    const item = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!item || !isSymlinkMode(decodeInode(item).mode)) this.data.drop(sv, ino, 0, MAX_KEY_VALUE);
    for (const item of sv.tree.range(key(ino, 0, 0), key(ino, 255, MAX_KEY_VALUE))) sv.tree.delete(item.key);
    sv.tree.delete(key(ORPHAN_OBJECTID, ORPHAN_ITEM, ino));
  }

  private processOrphans(): void {
    for (const sv of this.subvolumes.values()) {
      if (sv.damaged) continue; // read-only until repaired: its orphans stay
      const orphans = sv.tree.range(key(ORPHAN_OBJECTID, ORPHAN_ITEM, 0), key(ORPHAN_OBJECTID, ORPHAN_ITEM, MAX_KEY_VALUE));
      if (orphans.length && (sv.flags & ROOT_FLAG_READONLY) === 0) for (const o of orphans) this.deleteInode(sv, o.key.offset);
    }
  }

  // --- namespace operations ----------------------------------------------------------

  /** A new inode of `mode` (a directory, a regular or a special file: no items but its own) named `path`. */
  private makeNode(path: string, mode: number, rdev = 0): Resolved {
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const ino = p.sv.nextIno++;
    const inode = { ...this.newInode(mode, 0), rdev };
    p.sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(inode));
    this.addEntry(p, key(ino, INODE_ITEM, 0), entryKindOfMode(mode));
    return { sv: p.sv, ino, inode, kind: kindOfMode(mode) };
  }

  /**
   * mknod(2): a new name `path` for a special file of `mode`: S_IFCHR or S_IFBLK (a device,
   * `rdev` its number: makedev(major, minor)), S_IFIFO or S_IFSOCK, or S_IFREG or no type (a
   * regular file), with its permission bits (kept as given: pmcow has no umask). EPERM for
   * S_IFDIR, EINVAL for any other type, a mode that is no 16-bit integer or an rdev that is
   * no 32-bit dev_t; EEXIST when `path` exists. A special file holds no data: stat reports
   * its kind and rdev, open and the calls that read or write data ENXIO, truncate EINVAL.
   */
  mknod(path: string, mode: number, rdev = 0): void {
    const checked = checkMknod(mode, rdev);
    this.makeNode(path, checked.mode, checked.rdev);
  }

  /**
   * symlink(2): a new name `path` for a symbolic link to `target` (any text: it need not
   * exist; a relative one is walked from the link's directory). ENOENT for an empty target,
   * ENAMETOOLONG past 4095 bytes (or what one leaf item holds), EEXIST when `path` exists,
   * a dangling symlink included.
   */
  symlink(target: string, path: string): void {
    const bytes = checkSymlinkTarget(target, this.k.nodeBytes);
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const ino = p.sv.nextIno++;
    // btrfs_symlink: size and nbytes are the target's length, the target the inline extent.
    const inode = { ...this.newInode(MODE_SYMLINK, 0), size: bytes.length, nbytes: bytes.length };
    p.sv.tree.insert(key(ino, INODE_ITEM, 0), encodeInode(inode));
    p.sv.tree.insert(key(ino, EXTENT_DATA_TYPE, 0), encodeSymlinkTarget(bytes, this.k.transid));
    this.addEntry(p, key(ino, INODE_ITEM, 0), DIR_KIND_SYMLINK);
  }

  /** readlink(2): the target of the symlink `path` (EINVAL when it is no symlink). */
  readlink(path: string): string {
    const r = this.resolveNoFollow(path);
    if (r.kind !== 'symlink') throw new FsError('EINVAL', `'${path}' is not a symbolic link`);
    return this.symlinkTarget(r.sv, r.ino);
  }

  /** A symlink's target from its inline extent item. */
  private symlinkTarget(sv: Subvolume, ino: number): string {
    const item = sv.tree.get(key(ino, EXTENT_DATA_TYPE, 0));
    const target = item ? decodeSymlinkTarget(item) : null;
    if (target === null) throw new FsError('EUCLEAN', `subvolume ${sv.id}: symlink ${ino} has no inline target item`);
    return target;
  }

  mkdir(path: string): void {
    this.makeNode(path, MODE_DIR);
  }

  create(path: string): void {
    this.makeNode(path, MODE_FILE);
  }

  exists(path: string): boolean {
    // A malformed path fails resolve() with EINVAL or ENAMETOOLONG: an error, not a missing file.
    try { this.resolve(path); return true; } catch (e) {
      if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return false;
      throw e;
    }
  }

  readdir(path: string): string[] {
    this.live();
    const r = this.resolve(path);
    if (!isDirKind(r.kind)) throw new FsError('ENOTDIR', `'${path}' is not a directory`);
    if (r.placeholder) return [];
    return r.sv.tree.range(key(r.ino, DIR_INDEX, 0), key(r.ino, DIR_INDEX, MAX_KEY_VALUE)).map((i) => decodeDirEntries(i.data)[0]!.name);
  }

  stat(path: string): Stat {
    this.live();
    return this.statOf(this.resolve(path));
  }

  /** stat without following a symlink in the last component: the link itself (kind 'symlink', size its target's length). */
  lstat(path: string): Stat {
    this.live();
    return this.statOf(this.resolveNoFollow(path));
  }

  private statOf(r: Resolved): Stat {
    return {
      ino: r.ino, subvolume: r.sv.id, kind: r.kind, size: r.inode.size, nlink: r.inode.nlink,
      allocatedBytes: r.kind === 'file' ? this.data.allocatedBytes(r.sv, r.ino) : 0,
      nodatacow: (r.inode.flags & INODE_FLAG_NODATACOW) !== 0, generation: r.inode.transid,
      mode: r.inode.mode, rdev: r.inode.rdev ?? 0,
    };
  }

  unlink(path: string): void {
    const p = this.resolveParent(path);
    const r = this.resolveNoFollow(path);
    if (isDirKind(r.kind)) throw new FsError('EISDIR', `'${path}' is a directory`);
    this.refuseImmutable(r, 'unlink');
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.dropLink(r.sv, r.ino);
  }

  rmdir(path: string): void {
    const p = this.resolveParent(path);
    const r = this.resolveNoFollow(path);
    if (!isDirKind(r.kind)) throw new FsError('ENOTDIR', `'${path}' is not a directory`);
    if (r.kind === 'subvolume') throw new FsError('EPERM', `'${path}' is a subvolume: use deleteSubvolume`);
    if (r.placeholder) {
      this.beginChange(p.sv);
      this.removeEntry(p);
      return;
    }
    if (!this.dirIsEmpty(r.sv, r.ino)) throw new FsError('ENOTEMPTY', `'${path}' is not empty`);
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.deleteInode(r.sv, r.ino);
  }

  /** link(2): a new name for `existing` (a symlink itself, not its target, as linkat without AT_SYMLINK_FOLLOW). */
  link(existing: string, newPath: string): void {
    const r = this.resolveNoFollow(existing);
    if (isDirKind(r.kind)) throw new FsError('EPERM', `'${existing}' is a directory`);
    this.refuseImmutable(r, 'link');
    const p = this.resolveParent(newPath);
    this.refusePlaceholder(p);
    if (p.sv !== r.sv) throw new FsError('EXDEV', 'hard links cannot cross subvolumes');
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${newPath}' exists`);
    this.checkRefRoom(p.sv, r.ino, p.dir, p.name);
    const inode = this.inode(r.sv, r.ino);
    inode.nlink += 1;
    this.putInode(r.sv, r.ino, inode);
    this.addEntry(p, key(r.ino, INODE_ITEM, 0), entryKindOfMode(inode.mode));
  }

  rename(from: string, to: string): void {
    const src = this.resolveNoFollow(from);
    const sp = this.resolveParent(from);
    const dp = this.resolveParent(to);
    if (sp.sv !== dp.sv) throw new FsError('EXDEV', 'rename cannot cross subvolumes');
    const fromParts = normalisedParts(from);
    const toParts = normalisedParts(to);
    const srcIsDir = src.kind === 'dir' || src.kind === 'subvolume';
    if (srcIsDir && toParts.length > fromParts.length && fromParts.every((p, i) => toParts[i] === p)) {
      throw new FsError('EINVAL', `cannot move '${from}' into itself`);
    }
    if (src.kind === 'file') this.refuseImmutable(src, 'rename');
    this.refusePlaceholder(src);
    this.refusePlaceholder(dp);
    const existing = this.lookupEntry(dp.sv, dp.dir, dp.name);
    let victim: Resolved | null = null;
    if (existing) {
      victim = this.entryTarget(dp.sv, existing);
      if (victim.kind === 'file') this.refuseImmutable(victim, 'rename over');
      this.refusePlaceholder(victim);
      const sameObject = victim.sv === src.sv && victim.ino === src.ino && victim.kind === src.kind;
      if (sameObject) return;
      if (victim.kind === 'subvolume') throw new FsError('EBUSY', `'${to}' is a subvolume`);
      const victimIsDir = victim.kind === 'dir';
      if (!srcIsDir && victimIsDir) throw new FsError('EISDIR', `'${to}' is a directory`);
      if (srcIsDir && !victimIsDir) throw new FsError('ENOTDIR', `'${to}' is not a directory`);
      if (victim.kind === 'dir' && !this.dirIsEmpty(victim.sv, victim.ino)) throw new FsError('ENOTEMPTY', `'${to}' is not empty`);
    }
    this.beginChange(sp.sv);
    if (!srcIsDir) this.checkRefRoom(dp.sv, src.ino, dp.dir, dp.name);
    if (victim) {
      this.removeEntry(dp);
      if (victim.kind === 'dir') this.deleteInode(victim.sv, victim.ino); else this.dropLink(victim.sv, victim.ino);
    }
    const entry = this.removeEntry(sp);
    const index = this.addEntry(dp, entry.location, entry.kind);
    if (entry.kind === DIR_KIND_SUBVOLUME) this.putRootRefs(dp.sv.id, entry.location.objectid, dp.dir, index, dp.name);
  }

  // --- files -------------------------------------------------------------------------

  open(path: string, flags: { create?: boolean; truncate?: boolean } = {}): number {
    this.live();
    const f = checkOptions<{ create: boolean; truncate: boolean }>(flags, 'open flags');
    const create = checkFlag(f.create, 'create');
    const truncate = checkFlag(f.truncate, 'truncate');
    let r: Resolved;
    try {
      r = this.resolve(path);
    } catch (e) {
      if (!(e instanceof FsError && e.code === 'ENOENT' && create)) throw e;
      r = this.makeNode(this.creationPath(path), MODE_FILE);
    }
    requireRegular(r.kind, path);
    if (truncate) this.truncateResolved(r, 0);
    const fd = this.nextFd++;
    this.fds.set(fd, { sv: r.sv, ino: r.ino });
    return fd;
  }

  /**
   * Where open(O_CREAT) creates `path`: the path itself, or, when its last component is a
   * dangling symlink, the target it names (Linux follows it and creates the target).
   */
  private creationPath(path: string): string {
    for (let follows = 0; ; follows++) {
      let r: Resolved;
      try { r = this.resolveNoFollow(path); } catch (e) {
        if (e instanceof FsError && e.code === 'ENOENT') return path;
        throw e;
      }
      if (r.kind !== 'symlink') return path;
      if (follows >= MAX_SYMLINK_FOLLOWS) throw new FsError('ELOOP', `'${path}': more than ${MAX_SYMLINK_FOLLOWS} symbolic links`);
      const target = this.symlinkTarget(r.sv, r.ino);
      path = target.startsWith('/') ? target : `${path.replace(/\/+$/, '').replace(/[^/]*$/, '')}${target}`;
    }
  }

  close(fd: number): void {
    const f = this.fd(fd);
    this.fds.delete(fd);
    this.releaseIfOrphan(f.sv, f.ino);
  }

  /** The last descriptor or mapping of an unlinked file went away: delete it. */
  private releaseIfOrphan(sv: Subvolume, ino: number): void {
    if (this.isOpen(sv, ino) || this.k.aborted || this.frozen || !this.subvolumes.has(sv.id)) return;
    const item = sv.tree.get(key(ino, INODE_ITEM, 0));
    if (!item || decodeInode(item).nlink !== 0) return;
    this.beginChange();
    this.deleteInode(sv, ino);
  }

  private fd(fd: unknown): OpenFile {
    this.live();
    const f = typeof fd === 'number' ? this.fds.get(fd) : undefined;
    if (!f) throw new FsError('EBADF', `bad file descriptor ${describeValue(fd)}`);
    return f;
  }

  pread(fd: number, length: number, offset: number): Uint8Array {
    const f = this.fd(fd);
    checkOffset(length, 'length');
    checkOffset(offset, 'offset');
    return this.data.read(f.sv, f.ino, this.inode(f.sv, f.ino), offset, Math.min(length, MAX_READ_BYTES));
  }

  /**
   * Read into `target` (any byte view) from file offset `offset`, as Node's fs.readSync
   * with a buffer: no new array per read. Returns the bytes read: `target.byteLength`, or
   * fewer at the end of the file (the rest of `target` is left as it was).
   */
  preadInto(fd: number, target: ArrayBufferView, offset: number): number {
    const f = this.fd(fd);
    if (!ArrayBuffer.isView(target)) throw new FsError('EINVAL', 'target must be a typed array or DataView');
    checkOffset(offset, 'offset');
    const out = new Uint8Array(target.buffer, target.byteOffset, Math.min(target.byteLength, MAX_READ_BYTES));
    return this.data.readIntoBounded(f.sv, f.ino, offset, out) ?? this.data.readInto(f.sv, f.ino, this.inodeSizeFlags(f.sv, f.ino), offset, out);
  }

  /** An inode's size and flags, read in place (no copy of the item, no decode of the rest). */
  private inodeSizeFlags(sv: Subvolume, ino: number): { size: number; flags: number } {
    const item = sv.tree.lookup(key(ino, INODE_ITEM, 0));
    if (!item) throw new FsError('EIO', `subvolume ${sv.id}: inode ${ino} is missing`);
    if (item.size !== INODE_ITEM_BYTES) return this.inode(sv, ino); // its decode says what is wrong
    return { size: this.k.m.u64(item.addr + INODE_SIZE), flags: this.k.m.u64(item.addr + INODE_FLAGS) };
  }

  pwrite(fd: number, data: Uint8Array, offset: number): number {
    const f = this.fd(fd);
    const bytes = checkBytes(data);
    checkOffset(offset, 'offset');
    if (offset + bytes.length > MAX_FILE_BYTES) throw new FsError('EFBIG', 'write beyond the maximum file size');
    if (!this.writeInCore(f.sv, f.ino, bytes, offset)) this.writeResolved(f.sv, f.ino, bytes, offset);
    return bytes.length;
  }

  /**
   * The writes the core makes alone, in one call (assembly/fs/file.ts: sector-aligned, in
   * place in a nodatacow extent, one page to a new block or several to a new extent over a
   * hole, then the inode item); false when writeResolved must run, which the core answers
   * before it changes anything. Not with
   * crash points at every store (the hook runs once per store TypeScript makes) nor when a
   * DAX mapping or dirtied page may involve the file (rangeChanged has work to do).
   */
  private writeInCore(sv: Subvolume, ino: number, bytes: Uint8Array, offset: number): boolean {
    const length = bytes.length;
    if (!this.coreWrites || length === 0 || offset % SECTOR_BYTES !== 0 || length % SECTOR_BYTES !== 0) return false;
    if (this.device.beforeStore || (this.daxManager && !this.daxManager.untouched(sv, ino))) return false;
    // Caller bytes outside the shared memory come in through this thread's scratch.
    // (A view starting below the device base is not one the core reads in place: no look at
    // its buffer, a getter call, for the common caller's array.)
    const inMemory = bytes.byteOffset >= DEVICE_BASE && bytes.buffer === this.k.m.u8.buffer;
    const scratch = inMemory ? null : (this.scratch ??= this.device.scratch());
    if (scratch && length > scratch.length) return false;
    this.beginChange(sv);
    scratch?.set(bytes);
    let disk: number;
    try {
      disk = this.k.core.fs_file_write(sv.tree.id, ino, scratch ? scratch.byteOffset : bytes.byteOffset, offset, length);
    } catch (e) {
      this.unmapPastEof(sv, ino, this.inode(sv, ino).size);
      throw e;
    }
    if (disk === -1) return false;
    if (disk < 0) throw new FsError('EINVAL', `pwrite in the core refused its arguments (${disk})`);
    this.k.noteDirtyData(disk, length);
    this.k.noteExtentsChanged(sv.tree.id, ino);
    this.writesInCore++;
    return true;
  }

  private writeResolved(sv: Subvolume, ino: number, bytes: Uint8Array, offset: number): void {
    this.beginChange(sv);
    const inode = this.inode(sv, ino);
    this.refuseImmutable({ inode }, 'write');
    // Check space for the whole write first (with slack for the metadata it COWs), so
    // that a write either happens whole or fails before changing anything. Preallocated
    // ranges it fills need no new space (fallocate's promise): only the metadata reserve,
    // half of which a filling write may use, as deletions do.
    const start = alignDown(offset);
    const end = alignUp(offset + bytes.length);
    const fills = this.data.planFills(sv, ino, start, end);
    const filledBytes = fills.reduce((sum, [a, b]) => sum + (b - a), 0);
    const need = end - start - filledBytes;
    if (need > 0) this.reserveSpace(() => this.k.spaceFits(need, this.k.writeSlackBytes + this.k.metadataReserveBytes));
    else this.reserveSpace(() => this.k.metadataFreeBytes() >= this.k.metadataReserveBytes / 2);
    this.zeroPastEof(sv, ino, offset + bytes.length);
    for (let done = 0; done < bytes.length;) {
      // Chunks end on sector boundaries: no sector is written twice (a filled one would COW).
      const chunk = Math.min(bytes.length - done, alignDown(offset + done + (4 << 20)) - (offset + done));
      const current = this.inode(sv, ino);
      try {
        this.data.write(sv, ino, current, bytes.subarray(done, done + chunk), offset + done, fills);
      } catch (e) {
        this.unmapPastEof(sv, ino, current.size);
        throw e;
      }
      current.size = Math.max(current.size, offset + done + chunk);
      this.putInode(sv, ino, current);
      this.rangeChanged(sv, ino, offset + done, offset + done + chunk);
      done += chunk;
      if (done < bytes.length && this.k.poolPressure() > 0.4) this.k.commit();
    }
  }

  /**
   * After a write failed part way: nothing may stay mapped beyond EOF (`size`), or a later
   * growing truncate would read the failed write's bytes instead of zeros.
   */
  private unmapPastEof(sv: Subvolume, ino: number, size: number): void {
    if (!this.k.aborted) this.data.drop(sv, ino, alignUp(size), MAX_KEY_VALUE);
  }

  readFile(path: string): Uint8Array {
    this.live();
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    if (r.inode.size > MAX_READ_BYTES) throw new FsError('EFBIG', `'${path}' is ${r.inode.size} bytes: readFile returns at most ${MAX_READ_BYTES} (use pread)`);
    return this.data.read(r.sv, r.ino, r.inode, 0, r.inode.size);
  }

  /**
   * A 53-bit digest of the bytes readFile(path) returns (the same checksum verification and
   * errors, no size limit), computed in the core without copying the bytes out: for
   * comparing contents, as the crash oracle does. Not cryptographic; the same function as
   * contentDigest in src/model/content-hash.ts over the same bytes.
   */
  contentDigest(path: string): number {
    this.live();
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    return this.data.digest(r.sv, r.ino, r.inode);
  }

  writeFile(path: string, data: Uint8Array): void {
    const bytes = checkBytes(data);
    const fd = this.open(path, { create: true, truncate: true });
    try {
      if (bytes.length) this.pwrite(fd, bytes, 0);
    } finally {
      this.close(fd);
    }
  }

  truncate(path: string, size: number): void {
    checkOffset(size, 'size');
    const r = this.resolve(path);
    // vfs_truncate: a directory is EISDIR, any other kind that is not a regular file EINVAL.
    if (isSpecialKind(r.kind)) throw new FsError('EINVAL', `'${path}' is a ${r.kind}, not a regular file`);
    requireRegular(r.kind, path);
    this.truncateResolved(r, size);
  }

  private truncateResolved(r: Resolved, size: number): void {
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    this.refuseImmutable({ inode }, 'truncate');
    // A partial last sector, old or new, is rewritten with zeros past EOF (one sector of
    // new data): space freed by an unlink in this transaction comes back with a commit first.
    if (size % SECTOR_BYTES !== 0 || inode.size % SECTOR_BYTES !== 0) {
      this.reserveSpace(() => this.k.spaceFits(SECTOR_BYTES, this.k.metadataReserveBytes));
    }
    if (size < inode.size) {
      this.data.drop(r.sv, r.ino, alignUp(size), MAX_KEY_VALUE);
      const tailEnd = Math.min(alignUp(size), inode.size);
      if (tailEnd > size && this.data.extents(r.sv, r.ino, size, tailEnd).length) {
        this.data.write(r.sv, r.ino, inode, new Uint8Array(tailEnd - size), size);
      }
    }
    this.zeroPastEof(r.sv, r.ino, size);
    const current = this.inode(r.sv, r.ino);
    const old = current.size;
    current.size = size;
    this.putInode(r.sv, r.ino, current);
    if (size < old) this.rangeChanged(r.sv, r.ino, alignDown(size), MAX_KEY_VALUE);
  }

  fallocate(path: string, offset: number, length: number, options: FallocateOptions = {}): void {
    this.live();
    const keepSize = checkFlag(checkOptions<FallocateOptions>(options, 'fallocate options').keepSize, 'keepSize');
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    if (length === 0) throw new FsError('EINVAL', 'fallocate length must be positive');
    if (offset + length > MAX_FILE_BYTES) throw new FsError('EFBIG', 'fallocate beyond the maximum file size');
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'fallocate');
    this.beginChange(r.sv);
    const start = alignDown(offset);
    const end = alignUp(offset + length);
    const holes = this.data.holeBytes(r.sv, r.ino, start, end);
    this.reserveSpace(() => this.k.spaceFits(holes, this.k.metadataReserveBytes));
    if (!keepSize) this.zeroPastEof(r.sv, r.ino, offset + length);
    this.data.preallocate(r.sv, r.ino, start, end);
    const inode = this.inode(r.sv, r.ino);
    if (!keepSize) inode.size = Math.max(inode.size, offset + length);
    this.putInode(r.sv, r.ino, inode);
    this.rangeChanged(r.sv, r.ino, start, end);
  }

  punchHole(path: string, offset: number, length: number): void {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'punch hole');
    this.beginChange(r.sv);
    // The partial sectors at either end are rewritten (two sectors at most): their space
    // may be pinned by an unlink in this transaction (reclaimed by a commit first).
    this.reserveSpace(() => this.k.spaceFits(2 * SECTOR_BYTES, this.k.metadataReserveBytes));
    this.zeroOut(r, offset, Math.min(offset + length, Math.max(r.inode.size, offset)), false);
    this.rangeChanged(r.sv, r.ino, offset, offset + length);
  }

  zeroRange(path: string, offset: number, length: number): void {
    this.live();
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    if (offset + length > MAX_FILE_BYTES) throw new FsError('EFBIG', 'zero range beyond the maximum file size');
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    this.refuseImmutable(r, 'zero range');
    this.beginChange(r.sv);
    // The whole sectors become preallocated: check their space first, as fallocate does,
    // so that the call fails before changing anything.
    const innerStart = alignUp(offset);
    const innerEnd = alignDown(offset + length);
    if (innerEnd > innerStart) this.reserveSpace(() => this.k.spaceFits(innerEnd - innerStart, this.k.metadataReserveBytes));
    this.zeroPastEof(r.sv, r.ino, offset + length);
    this.zeroOut(r, offset, offset + length, true);
    const inode = this.inode(r.sv, r.ino);
    inode.size = Math.max(inode.size, offset + length);
    this.putInode(r.sv, r.ino, inode);
    this.rangeChanged(r.sv, r.ino, offset, offset + length);
  }

  /** Zero [from, to): partial sectors are written with zeros, whole sectors unmapped (or preallocated). */
  private zeroOut(r: Resolved, from: number, to: number, prealloc: boolean): void {
    if (to <= from) return;
    const inode = this.inode(r.sv, r.ino);
    const innerStart = alignUp(from);
    const innerEnd = alignDown(to);
    const zeroPart = (a: number, b: number): void => {
      const limit = Math.min(b, inode.size);
      if (limit > a && this.data.extents(r.sv, r.ino, a, limit).length) this.data.write(r.sv, r.ino, inode, new Uint8Array(limit - a), a);
    };
    if (innerStart >= innerEnd) { zeroPart(from, to); return; }
    zeroPart(from, innerStart);
    zeroPart(innerEnd, to);
    this.data.drop(r.sv, r.ino, innerStart, innerEnd);
    if (prealloc) this.data.preallocate(r.sv, r.ino, innerStart, innerEnd);
  }

  fsync(fd: number): void {
    this.fd(fd);
    this.k.commit();
  }

  /**
   * XFS_IOC_EXCHANGE_RANGE (what fsx's exchange_range calls): swap the bytes of
   * `path1` [offset1, offset1 + length) and `path2` [offset2, offset2 + length), atomically
   * (one transaction: a crash shows both ranges as they were, or both swapped), by moving
   * extents, not bytes. Offsets and length 4096-aligned, both ranges inside their files
   * (not past EOF: EINVAL), apart when one file (EINVAL), both files of one kind (datacow or nodatacow:
   * EINVAL); EPERM for a DAX-immutable file.
   */
  exchangeRange(path1: string, offset1: number, path2: string, offset2: number, length: number): void {
    checkOffset(offset1, 'offset1');
    checkOffset(offset2, 'offset2');
    checkOffset(length, 'length');
    const one = this.resolve(path1);
    const two = this.resolve(path2);
    requireRegular(one.kind, path1);
    requireRegular(two.kind, path2);
    if ((offset1 | offset2 | length) % SECTOR_BYTES) throw new FsError('EINVAL', 'exchange range offsets and length must be 4096-aligned');
    // Inside both files, as XFS asks: a range over the last partial page would carry the
    // bytes past EOF there (a mapping's stores may have put some) into the other file.
    if (offset1 + length > one.inode.size || offset2 + length > two.inode.size) throw new FsError('EINVAL', 'exchange range beyond EOF');
    if (one.sv === two.sv && one.ino === two.ino && offset1 < offset2 + length && offset2 < offset1 + length) throw new FsError('EINVAL', 'exchange ranges overlap');
    if ((one.inode.flags & INODE_FLAG_NODATASUM) !== (two.inode.flags & INODE_FLAG_NODATASUM)) throw new FsError('EINVAL', 'cannot exchange between datacow and nodatacow files');
    this.refuseImmutable(one, 'exchange');
    this.refuseImmutable(two, 'exchange');
    if (length === 0) return;
    this.beginChange(one.sv);
    if (two.sv !== one.sv) this.beginChange(two.sv);
    // Pages dirtied through mappings get their checksums while their records still name the
    // file pages they were stored at, as before a collapse (rangeChanged would forget those
    // whose blocks move to the other range: a later read failed with EIO). Mapped pages
    // from either offset on fault again.
    this.daxManager?.beforeShift(one.sv, one.ino, offset1);
    this.daxManager?.beforeShift(two.sv, two.ino, offset2);
    this.data.exchange(one.sv, one.ino, offset1, two.sv, two.ino, offset2, length);
    // (Both ranges end at or before their files' last whole page: no file's bytes past EOF move.)
    for (const [r, at] of [[one, offset1], [two, offset2]] as const) {
      this.touchInode(r.sv, r.ino);
      this.rangeChanged(r.sv, r.ino, at, at + length);
    }
  }

  /** The running transaction changed inode `ino` (its transid moves). */
  private touchInode(sv: Subvolume, ino: number): void {
    this.putInode(sv, ino, this.inode(sv, ino));
  }

  /**
   * copy_file_range(2): copy `length` bytes of `srcPath` from `srcOffset` to `dstPath` at
   * `dstOffset`; returns the bytes copied (fewer when the source ends first: 0 from or past
   * its EOF). As btrfs does, sector-aligned ranges between files of the same kind
   * (datacow or nodatacow) are shared (a reflink, cloneRange), others copied. EINVAL for
   * overlapping ranges of one file, EISDIR for a directory, EFBIG past the largest file.
   */
  copyFileRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number, length: number): number {
    const [src, dst] = this.rangePair(srcPath, srcOffset, dstPath, dstOffset, length, 'copy');
    if (src.sv === dst.sv && src.ino === dst.ino && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
      throw new FsError('EINVAL', 'copy source and destination overlap');
    }
    this.refuseImmutable(dst, 'copy into');
    const n = Math.min(length, Math.max(0, src.inode.size - srcOffset));
    if (n === 0) return 0;
    const aligned = srcOffset % SECTOR_BYTES === 0 && dstOffset % SECTOR_BYTES === 0
      && (n % SECTOR_BYTES === 0 || (srcOffset + n === src.inode.size && dstOffset + n >= dst.inode.size));
    if (aligned && (src.inode.flags & INODE_FLAG_NODATASUM) === (dst.inode.flags & INODE_FLAG_NODATASUM) && !this.immutable(src)) {
      this.cloneRange(srcPath, srcOffset, dstPath, dstOffset, n);
      return n;
    }
    const from = this.open(srcPath);
    const to = this.open(dstPath);
    try {
      for (let done = 0; done < n;) {
        const chunk = this.pread(from, Math.min(COPY_CHUNK_BYTES, n - done), srcOffset + done);
        this.pwrite(to, chunk, dstOffset + done);
        done += chunk.length;
      }
    } finally {
      this.close(from);
      this.close(to);
    }
    return n;
  }

  /**
   * fdatasync(2): the file's data and the metadata needed to read it back. A commit is
   * the one way this file system makes anything durable, and it makes everything durable,
   * so this is fsync (Linux may leave, say, a timestamp behind; this never does).
   */
  fdatasync(fd: number): void {
    this.fd(fd);
    this.k.commit();
  }

  setNoDataCow(path: string): void {
    const r = this.resolve(path);
    if (r.kind !== 'file') throw new FsError('EINVAL', `'${path}' is not a regular file`);
    if ((r.inode.size > 0 || this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE).length > 0)) {
      throw new FsError('EINVAL', `'${path}' is not empty: nodatacow can only be set on an empty file`);
    }
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    inode.flags |= INODE_FLAG_NODATACOW | INODE_FLAG_NODATASUM;
    this.putInode(r.sv, r.ino, inode);
  }

  // --- extended attributes (btrfs XATTR_ITEMs: src/fs/xattr.ts) ---------------------

  /**
   * setxattr(2) (lsetxattr with `noFollow`): set attribute `name` ('user.', 'trusted.' or
   * 'security.' namespace) of `path` to `value`. `create`: EEXIST when it exists; `replace`:
   * ENODATA when it does not.
   */
  setxattr(path: string, name: string, value: Uint8Array, options: SetXattrOptions = {}): void {
    const o = checkOptions<SetXattrOptions>(options, 'setxattr options');
    this.setXattrOn(this.xattrTarget(path, o), name, value, o);
  }

  /** fsetxattr(2): setxattr on an open file (it may have been renamed or unlinked since). */
  fsetxattr(fd: number, name: string, value: Uint8Array, options: SetXattrOptions = {}): void {
    this.setXattrOn(this.fdTarget(fd), name, value, checkOptions<SetXattrOptions>(options, 'setxattr options'));
  }

  /** getxattr(2): the value of attribute `name` of `path` (ENODATA when it has none). */
  getxattr(path: string, name: string, options: XattrOptions = {}): Uint8Array {
    return this.getXattrOf(this.xattrTarget(path, checkOptions<XattrOptions>(options, 'getxattr options')), name);
  }

  fgetxattr(fd: number, name: string): Uint8Array {
    return this.getXattrOf(this.fdTarget(fd), name);
  }

  /** listxattr(2): the names of `path`'s attributes, in btrfs's key (name hash) order. */
  listxattr(path: string, options: XattrOptions = {}): string[] {
    const r = this.xattrTarget(path, checkOptions<XattrOptions>(options, 'listxattr options'));
    return listXattrs(this.xattrHost(r.sv), r.ino).map(xattrNameText);
  }

  flistxattr(fd: number): string[] {
    const r = this.fdTarget(fd);
    return listXattrs(this.xattrHost(r.sv), r.ino).map(xattrNameText);
  }

  /** removexattr(2): remove attribute `name` of `path` (ENODATA when it has none). */
  removexattr(path: string, name: string, options: XattrOptions = {}): void {
    this.removeXattrOf(this.xattrTarget(path, checkOptions<XattrOptions>(options, 'removexattr options')), name);
  }

  fremovexattr(fd: number, name: string): void {
    this.removeXattrOf(this.fdTarget(fd), name);
  }

  private xattrTarget(path: string, options: Partial<XattrOptions>): Resolved {
    return checkFlag(options.noFollow, 'noFollow') ? this.resolveNoFollow(path) : this.resolve(path);
  }

  /** An open file as a walk would find it. */
  private fdTarget(fd: number): Resolved {
    const f = this.fd(fd);
    const inode = this.inode(f.sv, f.ino);
    return { sv: f.sv, ino: f.ino, inode, kind: 'file' };
  }

  private xattrHost(sv: Subvolume): XattrHost {
    return { tree: sv.tree, hash: (name) => btrfsNameHash(this.device, name), transid: this.k.transid, nodeBytes: this.k.nodeBytes };
  }

  /**
   * Linux's xattr_permission: user.* attributes belong to regular files and directories; on
   * a symlink a set is EPERM and a get finds nothing (ENODATA).
   */
  private userXattrRefused(r: Resolved, name: Uint8Array): boolean {
    return (r.kind === 'symlink' || isSpecialKind(r.kind)) && xattrNameText(name).startsWith('user.');
  }

  private setXattrOn(r: Resolved, name: string, value: Uint8Array, options: Partial<SetXattrOptions & XattrOptions>): void {
    const nameBytes = xattrNameBytes(name);
    const create = checkFlag(options.create, 'create'), replace = checkFlag(options.replace, 'replace');
    if (create && replace) throw new FsError('EINVAL', 'setxattr: create and replace together');
    const valueBytes = xattrValueBytes(value, nameBytes, this.k.nodeBytes);
    if (this.userXattrRefused(r, nameBytes)) throw new FsError('EPERM', `'${name}': user.* attributes are for regular files and directories`);
    this.refusePlaceholder(r);
    this.refuseImmutable(r, 'setxattr');
    this.beginChange(r.sv, true);
    const host = this.xattrHost(r.sv);
    const exists = findXattr(host, r.ino, nameBytes) !== null;
    if (create && exists) throw new FsError('EEXIST', `xattr '${name}' exists`);
    if (replace && !exists) throw new FsError('ENODATA', `no xattr '${name}'`);
    storeXattr(host, r.ino, nameBytes, valueBytes);
    this.touchInode(r.sv, r.ino);
  }

  private getXattrOf(r: Resolved, name: string): Uint8Array {
    const nameBytes = xattrNameBytes(name);
    const value = this.userXattrRefused(r, nameBytes) ? null : findXattr(this.xattrHost(r.sv), r.ino, nameBytes);
    if (value === null) throw new FsError('ENODATA', `no xattr '${name}'`);
    return value;
  }

  private removeXattrOf(r: Resolved, name: string): void {
    const nameBytes = xattrNameBytes(name);
    if (this.userXattrRefused(r, nameBytes)) throw new FsError('EPERM', `'${name}': user.* attributes are for regular files and directories`);
    this.refusePlaceholder(r);
    this.refuseImmutable(r, 'removexattr');
    this.beginChange(r.sv);
    if (!deleteXattr(this.xattrHost(r.sv), r.ino, nameBytes)) throw new FsError('ENODATA', `no xattr '${name}'`);
    this.touchInode(r.sv, r.ino);
  }

  // --- reflink -----------------------------------------------------------------------

  /**
   * The checks a call from one file's range to another's begins with (cloneRange,
   * copyFileRange): offsets and length (EINVAL), the destination's end (EFBIG), both paths
   * resolved to regular files.
   */
  private rangePair(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number, length: number, what: string): [Resolved, Resolved] {
    checkOffset(srcOffset, 'srcOffset');
    checkOffset(dstOffset, 'dstOffset');
    checkOffset(length, 'length');
    if (dstOffset + length > MAX_FILE_BYTES) throw new FsError('EFBIG', `${what} beyond the maximum file size`);
    const src = this.resolve(srcPath);
    const dst = this.resolve(dstPath);
    requireRegular(src.kind, srcPath);
    requireRegular(dst.kind, dstPath);
    return [src, dst];
  }

  cloneRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number, length: number): void {
    const [src, dst] = this.rangePair(srcPath, srcOffset, dstPath, dstOffset, length, 'clone');
    if (srcOffset % SECTOR_BYTES || dstOffset % SECTOR_BYTES) throw new FsError('EINVAL', 'clone offsets must be 4096-aligned');
    if (srcOffset + length > src.inode.size) throw new FsError('EINVAL', 'clone range beyond the source EOF');
    const reachesEof = srcOffset + length === src.inode.size;
    if (length % SECTOR_BYTES && !reachesEof) throw new FsError('EINVAL', 'clone length must be 4096-aligned unless it reaches EOF');
    if ((src.inode.flags & INODE_FLAG_NODATASUM) !== (dst.inode.flags & INODE_FLAG_NODATASUM)) {
      throw new FsError('EINVAL', 'cannot clone between datacow and nodatacow files');
    }
    if (src.sv === dst.sv && src.ino === dst.ino && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
      throw new FsError('EINVAL', 'clone source and destination overlap');
    }
    this.refuseImmutable(src, 'clone from');
    this.refuseImmutable(dst, 'clone into');
    if (length === 0) return;
    this.beginChange(dst.sv);
    const mapped = alignUp(length);
    if (reachesEof && dstOffset + length < dst.inode.size && mapped !== length) {
      throw new FsError('EINVAL', 'clone of an unaligned EOF block into the middle of a file');
    }
    // The source blocks become shared: no mapping may keep writing them in place.
    const blocks: number[] = [];
    for (const { fileOffset, e } of this.data.extents(src.sv, src.ino, srcOffset, srcOffset + mapped)) {
      if (e.type !== 1) continue;
      const from = Math.max(srcOffset, fileOffset);
      const to = Math.min(srcOffset + mapped, fileOffset + e.bytes);
      for (let at = from; at < to; at += PAGE_BYTES) blocks.push((e.diskBytenr + e.offset + (at - fileOffset)) / PAGE_BYTES);
    }
    this.daxManager?.beforeShare(blocks);
    this.zeroPastEof(dst.sv, dst.ino, dstOffset + length);
    this.data.clone(src.sv, src.ino, srcOffset, dst.sv, dst.ino, dstOffset, mapped);
    const inode = this.inode(dst.sv, dst.ino);
    inode.size = Math.max(inode.size, dstOffset + length);
    this.putInode(dst.sv, dst.ino, inode);
    this.rangeChanged(dst.sv, dst.ino, dstOffset, dstOffset + mapped);
  }

  cloneFile(srcPath: string, dstPath: string): void {
    const src = this.resolve(srcPath);
    requireRegular(src.kind, srcPath);
    this.refuseImmutable(src, 'clone from');
    if (this.exists(dstPath)) {
      const dst = this.resolve(dstPath);
      requireRegular(dst.kind, dstPath);
      if (dst.sv === src.sv && dst.ino === src.ino) return; // cloning a file onto itself keeps it
      this.refuseImmutable(dst, 'clone into');
      if ((src.inode.flags & INODE_FLAG_NODATASUM) !== (dst.inode.flags & INODE_FLAG_NODATASUM)) {
        throw new FsError('EINVAL', 'cannot clone between datacow and nodatacow files');
      }
      if (dst.sv.flags & ROOT_FLAG_READONLY) throw new FsError('EROFS', `'${dstPath}' is in a read-only snapshot`);
    } else {
      if (src.inode.flags & INODE_FLAG_NODATASUM) throw new FsError('EINVAL', 'cannot clone a nodatacow file into a new (datacow) file; create it and setNoDataCow first');
      this.create(dstPath);
    }
    this.truncate(dstPath, 0);
    if (src.inode.size > 0) this.cloneRange(srcPath, 0, dstPath, 0, src.inode.size);
  }

  // --- range operations (src/fs/range-ops.ts; docs/fs.md section 5) -----------------

  /** FIDEDUPERANGE, one destination: share the source's extents if the ranges hold the same bytes. */
  dedupeRange(srcPath: string, srcOffset: number, dstPath: string, dstOffset: number, length: number): DedupeResult {
    return rangeOps.dedupeRange(this.rangeHost, srcPath, srcOffset, dstPath, dstOffset, length);
  }

  /** FIDEDUPERANGE's array form: one result per destination, a destination's error in its result. */
  dedupeRanges(srcPath: string, srcOffset: number, length: number, destinations: DedupeDestination[]): DedupeInfo[] {
    return rangeOps.dedupeRanges(this.rangeHost, srcPath, srcOffset, length, destinations);
  }

  /** FALLOC_FL_COLLAPSE_RANGE: remove [offset, offset + length), moving the rest of the file down. */
  collapseRange(path: string, offset: number, length: number): void {
    rangeOps.collapseRange(this.rangeHost, path, offset, length);
  }

  /** FALLOC_FL_INSERT_RANGE: a hole of `length` bytes at `offset`, moving the rest of the file up. */
  insertRange(path: string, offset: number, length: number): void {
    rangeOps.insertRange(this.rangeHost, path, offset, length);
  }

  private rangeHostMade: RangeHost | null = null;

  /** This file system's helpers, as range-ops.ts uses them (made once). */
  private get rangeHost(): RangeHost {
    return this.rangeHostMade ??= {
      k: this.k, data: this.data, dax: () => this.daxManager, live: () => this.live(), resolve: (path) => this.resolve(path),
      beginChange: (sv) => this.beginChange(sv), reserveSpace: (enough, message) => this.reserveSpace(enough, message),
      inode: (sv, ino) => this.inode(sv, ino), putInode: (sv, ino, inode) => this.putInode(sv, ino, inode),
      rangeChanged: (sv, ino, start, end) => this.rangeChanged(sv, ino, start, end),
    };
  }

  // --- subvolumes and snapshots ------------------------------------------------------

  private putRootRefs(parent: number, child: number, dirIno: number, index: number, name: string): void {
    const body = encodeRootRef({ dirIno, index, name });
    this.k.rootTree.put(key(parent, ROOT_REF, child), body);
    this.k.rootTree.put(key(child, ROOT_BACKREF, parent), body);
  }

  createSubvolume(path: string): void {
    const p = this.resolveParent(path);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, true);
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${path}' exists`);
    const id = this.k.nextSubvolume++;
    const sv = this.addSubvolume(id, this.k.createTree(id), 0, this.k.transid);
    this.createRootDir(sv, FIRST_INODE);
    const index = this.addEntry(p, key(id, ROOT_ITEM, 0), DIR_KIND_SUBVOLUME);
    this.putRootRefs(p.sv.id, id, p.dir, index, p.name);
  }

  /** O(1): the new subvolume's root pointer is the source's root block, refcount raised. */
  snapshot(sourcePath: string, destPath: string, options: SnapshotOptions = {}): void {
    this.live();
    const readonly = checkFlag(checkOptions<SnapshotOptions>(options, 'snapshot options').readonly, 'readonly');
    const src = this.resolve(sourcePath);
    if (src.kind !== 'subvolume') throw new FsError('EINVAL', `'${sourcePath}' is not a subvolume`);
    const p = this.resolveParent(destPath);
    this.refusePlaceholder(p);
    this.beginChange(p.sv, 'snapshot');
    if (this.lookupEntry(p.sv, p.dir, p.name)) throw new FsError('EEXIST', `'${destPath}' exists`);
    if (this.hasImmutableFile(src.sv)) throw new FsError('EPERM', 'the subvolume holds a DAX-immutable file, whose extents must never be shared');
    // Writers must stop storing in place before the blocks become shared.
    this.daxManager?.beforeSnapshot(src.sv);
    const dax = this.daxManager!;
    dax.leavingWritable(!dax.policy.snapshotWriteProtect, () => this.snapshotCommitted(src, p, readonly));
  }

  private snapshotCommitted(src: Resolved, p: ReturnType<FileSystem['resolveParent']>, readonly: boolean): void {
    // The snapshot shares the committed tree: commit first so that the source root is clean.
    this.k.commit();
    const id = this.k.nextSubvolume++;
    // The snapshot's root is a copy of the source's, owned by the snapshot (btrfs's
    // btrfs_copy_root): every tree owns its root block, as btrfs check expects.
    const tree = this.k.newTree(id, this.k.copyRoot(id, src.sv.tree), src.sv.tree.level);
    const sv = this.addSubvolume(id, tree, readonly ? ROOT_FLAG_READONLY : 0, this.k.transid);
    sv.parentUuid = src.sv.uuid;
    sv.nextIno = src.sv.nextIno;
    sv.rootDir = src.sv.rootDir;
    sv.immutableInodes = 0; // the source has none (checked above)
    src.sv.lastSnapshot = this.k.transid;
    this.k.setLastSnapshot(src.sv.tree, src.sv.lastSnapshot);
    src.sv.itemDirty = true;
    const index = this.addEntry(p, key(id, ROOT_ITEM, 0), DIR_KIND_SUBVOLUME);
    this.putRootRefs(p.sv.id, id, p.dir, index, p.name);
    this.k.commit();
  }

  deleteSubvolume(path: string): void {
    const r = this.resolve(path);
    if (r.kind !== 'subvolume') throw new FsError('EINVAL', `'${path}' is not a subvolume`);
    if (r.sv.id === FS_TREE_ID) throw new FsError('EBUSY', 'the top-level subvolume cannot be deleted');
    for (const f of this.fds.values()) if (f.sv === r.sv) throw new FsError('EBUSY', `'${path}' has open files`);
    if (this.daxManager!.mappingsInSubvolume(r.sv).length) throw new FsError('EBUSY', `'${path}' has mapped files`);
    if (this.hasImmutableFile(r.sv)) throw new FsError('EPERM', `'${path}' holds a DAX-immutable file`);
    if (this.k.rootTree.range(key(r.sv.id, ROOT_REF, 0), key(r.sv.id, ROOT_REF, MAX_KEY_VALUE), 1).length) {
      throw new FsError('ENOTEMPTY', `'${path}' contains subvolumes`);
    }
    const p = this.resolveParent(path);
    this.beginChange(p.sv);
    this.removeEntry(p);
    this.k.rootTree.delete(key(p.sv.id, ROOT_REF, r.sv.id));
    this.k.rootTree.delete(key(r.sv.id, ROOT_BACKREF, p.sv.id));
    this.k.rootTree.delete(key(r.sv.id, ROOT_ITEM, 0));
    // Dropping the root pointer drops the tree: refcounts cascade at commit.
    this.k.pointerRemoved(-1, r.sv.tree.root, r.sv.tree, r.sv.tree.level);
    this.k.movedSubvolumes.delete(r.sv.tree);
    this.subvolumes.delete(r.sv.id);
    this.k.releaseTree(r.sv.tree);
    this.k.commit();
  }

  /** Counted once per mount by a walk, then kept by setDaxImmutable: snapshots stay O(1). */
  private hasImmutableFile(sv: Subvolume): boolean {
    if (sv.immutableInodes === null) {
      let count = 0;
      sv.tree.walkRange(key(0, INODE_ITEM, 0), key(ORPHAN_OBJECTID - 1, INODE_ITEM, MAX_KEY_VALUE), (kk, addr, size) => {
        if (kk.type === INODE_ITEM && (decodeInode(this.k.m.u8.slice(addr, addr + size)).flags & INODE_FLAG_IMMUTABLE)) count++;
        return true;
      });
      sv.immutableInodes = count;
    }
    return sv.immutableInodes > 0;
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
    checkOptions<MmapOptions>(options, 'mmap options');
    const offset = checkOffset(options.offset === undefined ? 0 : options.offset, 'offset');
    const length = checkOffset(options.length, 'length');
    const sync = checkFlag(options.sync, 'sync');
    const prot = options.prot === undefined ? 'rw' : options.prot;
    if (prot !== 'r' && prot !== 'rw') throw new FsError('EINVAL', `prot must be 'r' or 'rw'`);
    if (offset % PAGE_BYTES) throw new FsError('EINVAL', 'mmap offset must be a multiple of 4096');
    if (length === 0 || length > 2 ** 32 - PAGE_BYTES) throw new FsError('EINVAL', 'mmap length must be between 1 byte and 4 GiB');
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    if (prot === 'rw' && (r.sv.flags & ROOT_FLAG_READONLY)) throw new FsError('EROFS', `'${path}' is in a read-only snapshot`);
    if (sync && (r.inode.flags & INODE_FLAG_NODATASUM) === 0) {
      throw new FsError('EOPNOTSUPP', `MAP_SYNC needs a nodatacow file: stores after the durable fault would outrun the data checksums of '${path}'`);
    }
    return this.daxManager!.map(r.sv, r.ino, { offsetBytes: offset, length, prot, sync });
  }

  /** Freeze: commit, then (freezeWriteProtect) write-protect every mapping; changes fail with EBUSY. */
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
    if (typeof on !== 'boolean') throw new FsError('EINVAL', `on must be a boolean, got ${typeof on}`);
    const capability = checkFlag(checkOptions<{ capability: boolean }>(caller, 'caller').capability, 'capability');
    const r = this.resolve(path);
    if (r.kind !== 'file') throw new FsError('EINVAL', `'${path}' is not a regular file`);
    if (!capability) throw new FsError('EPERM', 'changing the DAX-immutable flag needs the capability (CAP_LINUX_IMMUTABLE)');
    this.beginChange(r.sv);
    const inode = this.inode(r.sv, r.ino);
    if (on) {
      if ((inode.flags & INODE_FLAG_NODATACOW) === 0) throw new FsError('EINVAL', 'DAX-immutable needs a nodatacow file (a COW write fault would change metadata)');
      if (inode.size === 0) throw new FsError('EINVAL', 'DAX-immutable needs a non-empty, fully allocated file');
      let pos = 0;
      for (const { fileOffset, e } of this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE)) {
        if (fileOffset > pos) throw new FsError('EINVAL', `'${path}' has a hole at ${pos}`);
        if (e.type !== 1) throw new FsError('EINVAL', `'${path}' has a preallocated (unwritten) extent at ${fileOffset}`);
        if (!this.data.canOverwriteExtent(r.sv, r.ino, e)) throw new FsError('EINVAL', `'${path}' has a shared extent at ${fileOffset}`);
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
  blockOwners(bytenr: number): { files: Array<{ subvolume: number; ino: number; offset: number }>; mappings: Array<{ subvolume: number; ino: number; offset: number; mapping: number }> } {
    this.live();
    requireIndex(bytenr, 'bytenr');
    if (bytenr >= this.k.totalBytes) throw new FsError('EINVAL', `bytenr ${bytenr} is outside the ${this.k.totalBytes}-byte file system`);
    const files: Array<{ subvolume: number; ino: number; offset: number }> = [];
    for (const sv of this.subvolumes.values()) {
      sv.tree.walkRange(key(0, EXTENT_DATA_TYPE, 0), key(ORPHAN_OBJECTID - 1, 255, MAX_KEY_VALUE), (kk, addr, size) => {
        if (kk.type !== EXTENT_DATA_TYPE) return true;
        const e = decodeFileExtent(this.k.m.u8.slice(addr, addr + size));
        const start = e.diskBytenr + e.offset;
        if (e.diskBytenr && bytenr >= start && bytenr < start + e.bytes) files.push({ subvolume: sv.id, ino: kk.objectid, offset: kk.offset + (bytenr - start) });
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
  fileExtents(path: string): Array<{ fileOffset: number; diskBytenr: number; diskBytes: number; offset: number; bytes: number; prealloc: boolean }> {
    const r = this.resolve(path);
    requireRegular(r.kind, path);
    return this.data.extents(r.sv, r.ino, 0, MAX_KEY_VALUE).map(({ fileOffset, e }) => ({
      fileOffset, diskBytenr: e.diskBytenr, diskBytes: e.diskBytes, offset: e.offset, bytes: e.bytes, prealloc: e.type !== 1,
    }));
  }
}

/**
 * The operations that run the engine: each holds the fs lock while it runs (nested calls
 * take it again). Wrapped once, here, rather than in each method.
 */
const LOCKED_OPERATIONS = [
  'unmount', 'commit', 'sync', 'statfs', 'subvolumeIds', 'inode', 'mkdir', 'create', 'exists', 'readdir', 'stat',
  'unlink', 'rmdir', 'link', 'rename', 'open', 'close', 'pread', 'preadInto', 'pwrite', 'readFile', 'contentDigest',
  'writeFile', 'truncate',
  'fallocate', 'punchHole', 'zeroRange', 'fsync', 'setNoDataCow', 'cloneRange', 'cloneFile', 'createSubvolume',
  'snapshot', 'deleteSubvolume', 'mmap', 'freeze', 'thaw', 'setDaxImmutable', 'blockOwners', 'fsck', 'scrub',
  'fileExtents', 'dedupeRange', 'dedupeRanges', 'collapseRange', 'insertRange',
  'fdatasync', 'copyFileRange', 'exchangeRange', 'symlink', 'readlink', 'lstat',
  'setxattr', 'fsetxattr', 'getxattr', 'fgetxattr', 'listxattr', 'flistxattr', 'removexattr', 'fremovexattr',
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
