// DAX for the file system: per-mapping page tables in shared memory, the reverse map,
// faults, write-protection and shootdown. The reverse map and the dirty pages of the
// running transaction are shared tables (assembly/dax/tables.ts), so that every thread's
// core serves the common faults itself (assembly/dax/fault.ts, dax_fs_fault); this class
// serves the rest on the owning thread and runs the commit, snapshot, reflink and freeze
// side of every switch over the same tables.
import { FsError } from '../errors.js';
import type { Kernel } from '../fs/kernel.js';
import type { FileMappings } from '../fs/file-mappings.js';
import { dirtyCapacity } from '../fs/kernel-layout.js';
import type { Subvolume } from '../fs/subvolume.js';
import { FileData } from '../fs/file-data.js';
import { encodeFileExtent, type InodeItem } from '../fs/items.js';
import {
  key, EXTENT_DATA, EXTENT_TYPE_REG, EXTENT_TYPE_PREALLOC,
  INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM,
} from '../fs/format.js';
import { DEFAULT_DAX_POLICY, type DaxPolicy } from './policy.js';
import { DaxMapping, type MapOptions, type MappingHost } from './mapping.js';
import { dirtyFilePages } from './dirty-pages.js';
import { DirtyTable, type DirtyPage } from './dirty-table.js';
import { check } from '../fs/engine-result.js';
import { readDaxStats, type DaxStats } from './stats.js';
import {
  D_HEADER_BYTES, MAPPING_BYTES, M_ACTIVE, M_PAGES, M_PTES, M_FLAGS, M_ROOT_SLOT,
  M_FILE_PAGE, M_TREE, M_INO,
  MF_WRITE, MF_SYNC, PAGE_BYTES, PTE_BLOCK_MASK, PTE_PRESENT, PTE_WRITE,
  D_POLICY, D_FROZEN, D_STATS,
  DP_MULTI_MAPPING, DP_TLB_SHOOTDOWN, DP_MAP_SYNC_FAULT, DS_READ_FAULTS,
  DS_WRITE_FAULTS, DS_HOLE_FILLS,
  DS_COW_FAULTS, DS_IN_PLACE_FAULTS, DS_SHOOTDOWNS, DS_WRITE_PROTECTS,
  DS_INVALIDATIONS,
  D_DIRTY_LIVE, DIRTY_RECORD_BYTES,
  DR_TREE, DR_INO, DR_EXTENT,
  DR_EXTENT_BYTES, DR_FLAGS, DRF_DATASUM, DRF_DATACOW, DRF_COWED,
  RMAP_NODE_BYTES, FR_DONE, ZERO_PAGE_BYTENR,
} from '../core/abi.js';

export {
  PAGE_BYTES, PTE_PRESENT, PTE_WRITE, PTE_BLOCK_MASK, ZERO_PAGE_BYTENR,
} from '../core/abi.js';
const MAX_MAPPINGS = 256;
const TLB_ENTRIES = 256;

/** What the file system offers DAX (implemented by FileSystem). */
interface DaxHost {
  inodeOf(sv: Subvolume, ino: number): InodeItem;
  fileData: FileData;
  kernel: Kernel;
  /** Files whose extents map a device byte (every subvolume, reflinks and snapshots too). */
  blockOwners?(bytenr: number): Array<{ subvolume: number; ino: number; offset: number }>;
  /** The last mapping of (sv, ino) went: an unlinked file goes now. */
  unmapped?(sv: Subvolume, ino: number): void;
}

/** The extent a write fault finds at the file page (FileData.extents). */
type FaultExtent = ReturnType<FileData['extents']>[number];

/** Where a write fault maps the page: its block, and the data extent holding it. */
interface FaultTarget { disk: number; extentBytenr: number; extentBytes: number }

export class DaxManager implements MappingHost, FileMappings {
  readonly policy: DaxPolicy;
  /**
   * Set around the commits of a snapshot or a freeze whose write-protect switch is off:
   * those commits write dirty nodatacow pages back but leave them writable, as before the
   * mechanism existed (the historical bug stays reproducible).
   */
  keepWritable = false;

  /** Run `fn` (commits) leaving mappings writable when `keep` is true. */
  leavingWritable<T>(keep: boolean, fn: () => T): T {
    const was = this.keepWritable;
    this.keepWritable = was || keep;
    try { return fn(); } finally { this.keepWritable = was; }
  }
  readonly base: number;
  /** The shared dirty-page table (dirty-table.ts). */
  private readonly dirty: DirtyTable;
  private readonly ptes: Uint32Array;
  private readonly mappings = new Map<number, DaxMapping>();
  private readonly byInode = new Map<string, Set<DaxMapping>>();
  private readonly freePtes: Array<[number, number]> = [];
  private readonly mappingTable: number;
  private thawWaiters: Array<() => void> = [];

  constructor(readonly host: DaxHost, policy: Partial<DaxPolicy> = {}) {
    // The switches may change while mapped (the playground flips them): every change
    // reaches the bits every thread's core reads (D_POLICY).
    this.policy = new Proxy({ ...DEFAULT_DAX_POLICY, ...policy }, {
      set: (target, name, value) => {
        (target as unknown as Record<string | symbol, unknown>)[name] = value;
        this.publishPolicy();
        return true;
      },
    });
    const k = host.kernel;
    const core = k.device.core;
    this.base = k.daxAddr;
    this.dirty = new DirtyTable(k, this.base);
    // [header][thread areas][mapping table][rmap heads][dirty index][dirty records][PTE
    // pool][rmap nodes]
    const threads = this.base + D_HEADER_BYTES;
    const threadBytes = core.dax_thread_area_bytes(TLB_ENTRIES) * k.device.config.maxThreads;
    this.mappingTable = align(threads + threadBytes, 64);
    const devicePages = Math.floor(k.totalBytes / PAGE_BYTES);
    const rmapHeads = align(this.mappingTable + MAX_MAPPINGS * MAPPING_BYTES, 64);
    const dirtyIndex = rmapHeads + devicePages * 4;
    const dirtyRecords = align(dirtyIndex + devicePages * 4, 64);
    const capacity = dirtyCapacity(k.totalBytes);
    const ptePool = align(dirtyRecords + capacity * DIRTY_RECORD_BYTES, 64);
    const end = this.base + k.daxBytes;
    // Each PTE (4 bytes) has its reverse-map node (RMAP_NODE_BYTES) after the pool.
    const poolBytes = Math.floor((end - ptePool) / (4 + RMAP_NODE_BYTES) / 16) * 16 * 4;
    if (poolBytes < 64) throw new FsError('EINVAL', 'kernel region too small for DAX tables');
    const rmapNodes = ptePool + poolBytes;
    // Thread areas and the mapping table start zeroed (in the core: a fill of shared memory
    // from JavaScript is slow); PTEs and their reverse-map nodes are zeroed when allocated.
    check(core.dax_zero(this.base, rmapHeads - this.base), 'zero the DAX tables');
    check(core.dax_format(this.base, MAX_MAPPINGS, TLB_ENTRIES, this.mappingTable,
      threads), 'dax format');
    check(core.dax_attach(this.base), 'dax attach');
    check(core.dax_tables(rmapHeads, rmapNodes, ptePool, poolBytes, devicePages, dirtyIndex,
      dirtyRecords, capacity, k.fsStateAddr), 'dax tables');
    this.ptes = new Uint32Array(k.m.u8.buffer);
    this.publishPolicy();
    this.freePtes.push([ptePool, poolBytes]);
    k.participants.add({
      beforeCommit: () => this.beforeCommit(),
      hasChanges: () => this.dirty.live() > 0,
    });
  }

  get kernel(): Kernel { return this.host.kernel; }

  /** The switches the core's fault path reads, as D_POLICY bits. */
  private publishPolicy(): void {
    const p = this.policy;
    if (!p || !this.ptes) return; // still constructing
    const bits = (p.multiMapping ? DP_MULTI_MAPPING : 0) | (p.tlbShootdown ? DP_TLB_SHOOTDOWN : 0)
      | (p.mapSyncDurableFault ? DP_MAP_SYNC_FAULT : 0);
    Atomics.store(this.ptes, (this.base + D_POLICY) >> 2, bits);
  }

  /** Faults handled, by kind (for tests, benchmarks and the playground): every thread's. */
  get stats(): Readonly<DaxStats> {
    return readDaxStats(this.kernel.m, this.base + D_STATS);
  }

  private count(kind: number): void {
    const m = this.kernel.m, at = this.base + D_STATS + kind;
    m.setU32(at, m.u32(at) + 1);
  }

  get frozen(): boolean { return this.kernel.m.u32(this.base + D_FROZEN) !== 0; }
  set frozen(on: boolean) { Atomics.store(this.ptes, (this.base + D_FROZEN) >> 2, on ? 1 : 0); }

  // --- mappings ----------------------------------------------------------------------

  map(sv: Subvolume, ino: number, options: MapOptions): DaxMapping {
    const pages = Math.ceil(options.length / PAGE_BYTES);
    let id = -1;
    for (let i = 0; i < MAX_MAPPINGS; i++) if (!this.mappings.has(i)) { id = i; break; }
    if (id < 0) throw new FsError('ENOMEM', `at most ${MAX_MAPPINGS} mappings at once`);
    if (options.offsetBytes % PAGE_BYTES !== 0) {
      throw new FsError('EINVAL', 'mapping offset must be page aligned');
    }
    const ptes = this.allocPtes(pages * 4);
    check(this.kernel.core.dax_map_ptes(ptes, pages), 'zero page-table entries');
    const entry = this.mappingTable + id * MAPPING_BYTES;
    const m = this.kernel.m;
    m.setU32(entry + M_PAGES, pages);
    m.setU32(entry + M_PTES, ptes);
    m.setU32(entry + M_FLAGS,
      (options.prot === 'rw' ? MF_WRITE : 0) | (options.sync ? MF_SYNC : 0));
    m.setU32(entry + M_ROOT_SLOT, sv.tree.slotAddress);
    m.setU32(entry + M_FILE_PAGE, options.offsetBytes / PAGE_BYTES);
    m.setU64(entry + M_TREE, sv.tree.id);
    m.setU64(entry + M_INO, ino);
    Atomics.store(this.ptes, (entry + M_ACTIVE) >> 2, 1); // active last
    const mapping = new DaxMapping(this, id, sv, ino, options, pages, ptes);
    this.mappings.set(id, mapping);
    const set = this.byInode.get(`${sv.id}:${ino}`) ?? new Set();
    set.add(mapping);
    this.byInode.set(`${sv.id}:${ino}`, set);
    return mapping;
  }

  unmap(mapping: DaxMapping): void {
    if (!this.mappings.has(mapping.id)) return;
    for (let p = 0; p < mapping.pages; p++) {
      if (this.pte(mapping, p) & PTE_PRESENT) this.setPte(mapping, p, 0);
    }
    Atomics.store(this.ptes, (this.mappingTable + mapping.id * MAPPING_BYTES + M_ACTIVE) >> 2, 0);
    this.shootdown(true);
    this.mappings.delete(mapping.id);
    this.byInode.get(`${mapping.sv.id}:${mapping.ino}`)?.delete(mapping);
    this.releasePtes(mapping.ptesAddr, align(mapping.pages * 4, 64));
    this.host.unmapped?.(mapping.sv, mapping.ino);
  }


  unmapAll(): void {
    for (const m of [...this.mappings.values()]) m.unmap();
  }

  mapping(id: number): DaxMapping {
    const m = this.mappings.get(id);
    if (!m) throw new FsError('EINVAL', `no mapping ${id}`);
    return m;
  }

  /**
   * Would rangeChanged change nothing for this file, whatever the range: no mapping of it
   * and no page dirtied through any mapping (pwrite's path in the core asks).
   */
  untouched(sv: Subvolume, ino: number): boolean {
    return this.kernel.m.u32(this.base + D_DIRTY_LIVE) === 0
      && (this.mappings.size === 0 || !this.isMapped(sv, ino));
  }

  isMapped(sv: Subvolume, ino: number): boolean {
    return (this.byInode.get(`${sv.id}:${ino}`)?.size ?? 0) > 0;
  }

  mappingsOf(sv: Subvolume, ino: number): DaxMapping[] {
    return [...(this.byInode.get(`${sv.id}:${ino}`) ?? [])];
  }

  /** Return a page-table range, merging it with free neighbours. */
  private releasePtes(at: number, bytes: number): void {
    this.freePtes.push([at, bytes]);
    this.freePtes.sort((a, b) => a[0] - b[0]);
    for (let i = this.freePtes.length - 1; i > 0; i--) {
      const [prevAt, prevBytes] = this.freePtes[i - 1]!;
      const [curAt, curBytes] = this.freePtes[i]!;
      if (prevAt + prevBytes === curAt) {
        this.freePtes[i - 1] = [prevAt, prevBytes + curBytes];
        this.freePtes.splice(i, 1);
      }
    }
  }

  /** Mappings of files in a subvolume. */
  mappingsInSubvolume(sv: Subvolume): DaxMapping[] {
    return [...this.mappings.values()].filter((m) => m.sv === sv);
  }

  private allocPtes(bytes: number): number {
    const need = align(bytes, 64);
    for (let i = 0; i < this.freePtes.length; i++) {
      const [at, size] = this.freePtes[i]!;
      if (size < need) continue;
      if (size === need) {
        this.freePtes.splice(i, 1);
      } else {
        this.freePtes[i] = [at + need, size - need];
      }
      return at;
    }
    throw new FsError('ENOMEM', 'no room left for page tables in the DAX region');
  }

  // --- page-table entries and the reverse map (shared: assembly/dax/tables.ts) ---------

  pte(mapping: DaxMapping, page: number): number {
    return Atomics.load(this.ptes, (mapping.ptesAddr >> 2) + page) >>> 0;
  }

  private setPte(mapping: DaxMapping, page: number, value: number): void {
    check(this.kernel.core.dax_set_pte(mapping.id, page, value >>> 0), 'set a page-table entry');
  }

  /**
   * Unmap a page whose entry is present, counted as an invalidation; false when it was not
   * present. A MAP_SYNC mapping's page is written back first: the program's later flush
   * of it (clwb by virtual address) faults the page in again and reaches the lines the
   * program stored to, but this emulation's flush skips a page that is not mapped, so the
   * stores would stay in the cache after the flush and fence that promised them durable (a
   * growing truncate unmapped the old EOF page: pmcow fuzz --generator mixed --seed 806
   * --ops 60 --time 60). A write-back is always legal (a cache may write a line back at
   * any time); it can only make fewer crash images.
   */
  private dropPte(mapping: DaxMapping, page: number): boolean {
    const pte = this.pte(mapping, page);
    if ((pte & PTE_PRESENT) === 0) return false;
    if (mapping.sync) this.kernel.device.persist((pte & PTE_BLOCK_MASK) * PAGE_BYTES, PAGE_BYTES);
    this.setPte(mapping, page, 0);
    this.count(DS_INVALIDATIONS);
    return true;
  }

  /** Every (mapping, page) that maps a device block, as the reverse map knows it. */
  reverseMap(block: number): Array<{ mapping: DaxMapping; page: number }> {
    const core = this.kernel.core;
    const out: Array<{ mapping: DaxMapping; page: number }> = [];
    for (let pte = check(core.dax_rmap_first(block), 'reverse map'); pte !== 0; pte =
      check(core.dax_rmap_next(pte), 'reverse map')) {
      const mapping = this.mappings.get(check(core.dax_rmap_mapping(pte), 'reverse map'));
      if (mapping) out.push({ mapping, page: (pte - mapping.ptesAddr) / 4 });
    }
    return out;
  }

  /** After entries were downgraded: make sure no thread still uses an old one. */
  private shootdown(changed: boolean): void {
    if (!changed || !this.policy.tlbShootdown) return;
    this.count(DS_SHOOTDOWNS);
    check(this.kernel.device.core.dax_shootdown(), 'shootdown');
  }

  private writeProtect(mapping: DaxMapping, page: number): boolean {
    const pte = this.pte(mapping, page);
    if ((pte & PTE_WRITE) === 0) return false;
    this.setPte(mapping, page, pte & ~PTE_WRITE);
    this.count(DS_WRITE_PROTECTS);
    return true;
  }

  /**
   * File pages of (sv, ino) dirtied through a mapping, their checksums not computed yet
   * (FileData.read, through FileMappings).
   */
  pendingPages(sv: Subvolume, ino: number): Set<number> | null {
    return dirtyFilePages(this.kernel.m, this.base, sv.tree.id, ino);
  }

  // --- faults ------------------------------------------------------------------------

  /** Resolve a fault of a main-thread access; throws SIGBUS/SIGSEGV/EBUSY. */
  fault(mappingId: number, page: number, write: boolean): void {
    const mapping = this.mapping(mappingId);
    if (write && this.frozen) {
      throw new FsError('EBUSY',
        'file system is frozen: a store on this thread cannot wait for thaw');
    }
    this.resolveLocked(mapping, page, write);
  }

  /**
   * Resolve a fault a writer thread's core left to this thread; a store during a freeze
   * waits for thaw.
   */
  async faultAsync(mappingId: number, page: number, write: boolean): Promise<void> {
    const mapping = this.mapping(mappingId);
    while (write && this.frozen) {
      await new Promise<void>((resolve) => this.thawWaiters.push(resolve));
    }
    this.resolveLocked(mapping, page, write);
  }

  /**
   * A fault runs the engine: it holds the fs lock, as every file-system operation does.
   * The core serves it when it can (assembly/dax/fault.ts: the same decisions as below
   * for the common cases); what it leaves (FR_OWNER) is served here.
   */
  private resolveLocked(mapping: DaxMapping, page: number, write: boolean): void {
    const core = this.kernel.core;
    core.fs_lock();
    try {
      const served = check(core.dax_fs_fault(mapping.id, page, write ? 1 : 0), 'core fault');
      if (served !== FR_DONE) this.resolveFault(mapping, page, write);
    } finally {
      core.fs_unlock();
    }
  }

  private resolveFault(mapping: DaxMapping, page: number, write: boolean): void {
    if (!mapping.live) throw new FsError('SIGSEGV', 'access to an unmapped range');
    if (page >= mapping.pages) throw new FsError('SIGSEGV', `page ${page} outside the mapping`);
    if (write && mapping.prot !== 'rw') {
      throw new FsError('SIGSEGV', 'store through a read-only mapping');
    }
    const { sv, ino } = mapping;
    const inode = this.host.inodeOf(sv, ino);
    const fileOffset = mapping.offsetBytes + page * PAGE_BYTES;
    if (fileOffset >= inode.size) {
      throw new FsError('SIGBUS',
        `access beyond the end of the file (offset ${fileOffset}, size ${inode.size})`);
    }
    this.kernel.checkWritable();
    if (write) this.writeFault(mapping, page, fileOffset, inode);
    else this.readFault(mapping, page, fileOffset);
  }

  private readFault(mapping: DaxMapping, page: number, fileOffset: number): void {
    this.count(DS_READ_FAULTS);
    const end = fileOffset + PAGE_BYTES;
    const ext = this.host.fileData.extents(mapping.sv, mapping.ino, fileOffset, end)[0];
    let block = ZERO_PAGE_BYTENR / PAGE_BYTES;
    if (ext && ext.e.type === EXTENT_TYPE_REG) {
      block = (ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset)) / PAGE_BYTES;
    }
    this.setPte(mapping, page, block | PTE_PRESENT);
  }

  private writeFault(
    mapping: DaxMapping, page: number, fileOffset: number, inode: InodeItem,
  ): void {
    const { sv, ino } = mapping;
    const k = this.kernel;
    // A full dirty-page table: commit first (it writes those pages back and empties it).
    if (this.dirty.full()) k.commit();
    this.count(DS_WRITE_FAULTS);
    const datacow = (inode.flags & INODE_FLAG_NODATACOW) === 0;
    const datasum = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    const ext = this.host.fileData.extents(sv, ino, fileOffset, fileOffset + PAGE_BYTES)[0];
    const oldDisk = ext && ext.e.type === EXTENT_TYPE_REG
      ? ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset) : -1;
    const target = ext && this.keepsBlock(mapping, ext, fileOffset, oldDisk, datacow)
      ? this.storeInPlace(mapping, ext, fileOffset, datasum)
      : this.storeToNewBlock(mapping, fileOffset, oldDisk, datasum);
    this.mapWritable(mapping, page, fileOffset, oldDisk, target, datacow, datasum);
  }

  /** Does the fault store into the block the page has now (else into a new one)? */
  private keepsBlock(
    mapping: DaxMapping, ext: FaultExtent, fileOffset: number, oldDisk: number, datacow: boolean,
  ): boolean {
    const { sv, ino } = mapping;
    const data = this.host.fileData;
    // In place: a datacow page COWed in this transaction (until commit), or a nodatacow
    // extent this file may overwrite.
    const filePage = fileOffset / PAGE_BYTES;
    const cowed = oldDisk >= 0
      ? this.dirty.recordFor(oldDisk / PAGE_BYTES, sv, ino, filePage) : null;
    const inPlace = ext.e.type === EXTENT_TYPE_REG && (datacow
      ? cowed !== null && (cowed.flags & DRF_COWED) !== 0
      : data.canOverwriteExtent(sv, ino, ext.e));
    if (inPlace) return true;
    // fallocate's promise holds for stores too: a preallocated page is filled in place
    // (XFS-DAX converts the unwritten extent), for datacow and nodatacow files alike, and
    // so is a page filled earlier in this transaction (FileData.planFills).
    return (ext.e.type === EXTENT_TYPE_PREALLOC
      || this.kernel.filledThisTransaction.has(ext.e.diskBytenr))
      && data.planFills(sv, ino, fileOffset, fileOffset + PAGE_BYTES).length > 0;
  }

  /** The page keeps its block; a preallocated one is zeroed and turns regular. */
  private storeInPlace(
    mapping: DaxMapping, ext: FaultExtent, fileOffset: number, datasum: boolean,
  ): FaultTarget {
    const { sv, ino } = mapping;
    const data = this.host.fileData;
    const disk = ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset);
    const target = { disk, extentBytenr: ext.e.diskBytenr, extentBytes: ext.e.diskBytes };
    if (ext.e.type !== EXTENT_TYPE_PREALLOC) {
      this.count(DS_IN_PLACE_FAULTS);
      return target;
    }
    this.storeZeros(disk);
    if (datasum) this.putCsum(disk, target.extentBytenr, target.extentBytes);
    data.drop(sv, ino, fileOffset, fileOffset + PAGE_BYTES, true);
    sv.tree.insert(key(ino, EXTENT_DATA, fileOffset), encodeFileExtent({
      ...ext.e, type: EXTENT_TYPE_REG, offset: disk - ext.e.diskBytenr, bytes: PAGE_BYTES,
    }));
    data.noteFilled(target.extentBytenr, disk, PAGE_BYTES);
    this.count(DS_HOLE_FILLS);
    return target;
  }

  /**
   * Hole, preallocated range someone else reads, or a block that must not change: a new
   * block, holding a copy of the old one (or zeros), in an extent of its own.
   */
  private storeToNewBlock(
    mapping: DaxMapping, fileOffset: number, oldDisk: number, datasum: boolean,
  ): FaultTarget {
    const { sv, ino } = mapping;
    const k = this.kernel;
    if (!k.spaceFits(PAGE_BYTES, k.metadataReserveBytes)) {
      throw new FsError('SIGBUS', 'no space left for a page fault (ENOSPC)');
    }
    const fresh = k.allocData(PAGE_BYTES);
    if (!fresh) throw new FsError('SIGBUS', 'no space left for a page fault (ENOSPC)');
    const disk = fresh.bytenr;
    if (oldDisk >= 0) {
      check(k.device.core.pmem_store(disk, k.visibleAddr + oldDisk, PAGE_BYTES, 0), 'copy page');
      this.count(DS_COW_FAULTS);
    } else {
      this.storeZeros(disk);
      this.count(DS_HOLE_FILLS);
    }
    k.noteDirtyData(disk, PAGE_BYTES);
    if (datasum) this.putCsum(disk, disk, PAGE_BYTES);
    this.host.fileData.drop(sv, ino, fileOffset, fileOffset + PAGE_BYTES);
    sv.tree.insert(key(ino, EXTENT_DATA, fileOffset), encodeFileExtent({
      generation: k.transid, type: EXTENT_TYPE_REG, diskBytenr: disk, diskBytes: PAGE_BYTES,
      offset: 0, bytes: PAGE_BYTES,
    }));
    return { disk, extentBytenr: disk, extentBytes: PAGE_BYTES };
  }

  /**
   * The page turns writable at its block, after every other translation of the old one
   * is gone (and, for MAP_SYNC, after a commit); its dirty record follows it.
   */
  private mapWritable(
    mapping: DaxMapping, page: number, fileOffset: number, oldDisk: number,
    target: FaultTarget, datacow: boolean, datasum: boolean,
  ): void {
    const { sv, ino } = mapping;
    const { disk } = target;
    const k = this.kernel;
    // Every other mapping of this file page must stop using the old block, and so must
    // every thread that cached this mapping's old (read-only) translation of the page.
    let downgraded = false;
    if (oldDisk !== disk) {
      downgraded = this.invalidateFilePage(sv, ino, fileOffset, oldDisk, mapping, page);
    }
    const before = this.pte(mapping, page);
    const elsewhere = (before & PTE_BLOCK_MASK) !== disk / PAGE_BYTES;
    if ((before & PTE_PRESENT) && elsewhere) downgraded = true;
    // MAP_SYNC: the metadata reaching the block is durable before the page is writable (a
    // commit made after mapping it would write-protect it again and the store would loop).
    if (mapping.sync && this.policy.mapSyncDurableFault) {
      this.setPte(mapping, page, 0);
      this.shootdown(downgraded);
      downgraded = false;
      // Metadata only: like Linux's dax_finish_sync_fault, which syncs the faulting range,
      // this commit leaves the other nodatacow pages dirtied through mmap writable and
      // tracked for the next full commit (else every MAP_SYNC fault would write-protect
      // them all, and each of their next stores would fault and commit in turn).
      this.syncFaultCommit = true;
      try { k.commit(); } finally { this.syncFaultCommit = false; }
    }
    this.setPte(mapping, page, (disk / PAGE_BYTES) | PTE_PRESENT | PTE_WRITE);
    this.shootdown(downgraded);
    // The file page's record moves to its block (a COWed page: in place until commit).
    const filePage = fileOffset / PAGE_BYTES;
    const old = oldDisk >= 0 && oldDisk !== disk
      ? this.dirty.recordFor(oldDisk / PAGE_BYTES, sv, ino, filePage) : null;
    if (old) check(k.core.dax_dirty_drop(old.block), 'drop a dirty page');
    this.dirty.add({
      tree: sv.tree.id, ino, filePage, block: disk / PAGE_BYTES, extent: target.extentBytenr,
      extentBytes: target.extentBytes,
      flags: (datasum ? DRF_DATASUM : 0) | (datacow ? DRF_DATACOW | DRF_COWED : 0),
    });
    // Stores through the mapping may land anywhere in the block from now on.
    k.reportWrite(disk, PAGE_BYTES);
  }

  private storeZeros(disk: number): void {
    const k = this.kernel;
    k.m.u8.fill(0, k.stagingAddr, k.stagingAddr + PAGE_BYTES);
    check(k.device.core.pmem_store(disk, k.stagingAddr, PAGE_BYTES, 0), 'zero page');
    k.noteDirtyData(disk, PAGE_BYTES);
  }

  /** Checksum the page at `block` inside data extent `extent` (whose item covers it all). */
  private putCsum(block: number, extent: number, extentBytes: number): void {
    this.host.fileData.updateCsums(extent, extentBytes, block, PAGE_BYTES);
  }

  /**
   * The file page now lives elsewhere: drop every other mapping's entry for it. Entries
   * that mapped a real block are found through the reverse map of that block; entries
   * that mapped the shared zero page through the inode's mappings.
   */
  private invalidateFilePage(
    sv: Subvolume, ino: number, fileOffset: number, oldDisk: number, except: DaxMapping,
    exceptPage: number,
  ): boolean {
    let changed = false;
    const candidates = oldDisk >= 0
      ? this.reverseMap(oldDisk / PAGE_BYTES)
      : this.mappingsOf(sv, ino)
        .map((m) => ({ mapping: m, page: (fileOffset - m.offsetBytes) / PAGE_BYTES }));
    for (const { mapping, page } of candidates) {
      if (mapping === except && page === exceptPage) continue;
      if (mapping.sv !== sv || mapping.ino !== ino) continue;
      if (page < 0 || page >= mapping.pages || !Number.isInteger(page)) continue;
      if (mapping.offsetBytes + page * PAGE_BYTES !== fileOffset) continue;
      changed = this.dropPte(mapping, page) || changed;
    }
    return changed;
  }

  // --- events from the file system ---------------------------------------------------

  /** The extent map of [start, end) changed (write, truncate, punch, clone target...). */
  rangeChanged(sv: Subvolume, ino: number, start: number, end: number): void {
    let changed = false;
    for (const mapping of this.mappingsOf(sv, ino)) {
      const first = Math.max(0, Math.floor((start - mapping.offsetBytes) / PAGE_BYTES));
      const last = Math.min(mapping.pages, Math.ceil((end - mapping.offsetBytes) / PAGE_BYTES));
      for (let p = first; p < last; p++) changed = this.dropPte(mapping, p) || changed;
    }
    // A dirtied page whose block the file no longer maps needs no checksum any more; one
    // the change kept (fallocate over it, say) still does.
    for (const d of this.dirty.pages()) {
      if (d.tree === sv.tree.id && d.ino === ino && d.filePage * PAGE_BYTES < end
        && (d.filePage + 1) * PAGE_BYTES > start) {
        const at = d.filePage * PAGE_BYTES;
        const ext = this.host.fileData.extents(sv, ino, at, at + PAGE_BYTES)[0];
        const disk = ext && ext.e.type === EXTENT_TYPE_REG
          ? ext.e.diskBytenr + ext.e.offset + (at - ext.fileOffset) : -1;
        if (disk !== d.block * PAGE_BYTES) this.dirty.drop(d);
      }
    }
    this.shootdown(changed);
  }

  /**
   * Collapse or insert range is about to move the file's pages from `start` on to other
   * file offsets. Every mapping of the file drops its entries from `start` (the next access
   * faults and finds the page where the new layout has it: generic/499), with a shootdown,
   * so that no thread stores there any more; then the pages dirtied through those mappings
   * get their checksums and leave the dirty-page table now, while its records still name
   * the file pages they were dirtied at (after the move they would name other pages, and
   * rangeChanged would forget them unchecksummed).
   */
  beforeShift(sv: Subvolume, ino: number, start: number): void {
    let changed = false;
    for (const mapping of this.mappingsOf(sv, ino)) {
      const first = Math.max(0, Math.floor((start - mapping.offsetBytes) / PAGE_BYTES));
      for (let p = first; p < mapping.pages; p++) changed = this.dropPte(mapping, p) || changed;
    }
    this.shootdown(changed);
    for (const d of this.dirty.pages()) {
      if (d.tree !== sv.tree.id || d.ino !== ino
        || (d.filePage + 1) * PAGE_BYTES <= start) continue;
      if ((d.flags & DRF_DATASUM) && this.policy.commitChecksums) {
        this.putCsum(d.block * PAGE_BYTES, d.extent, d.extentBytes);
      }
      this.dirty.drop(d);
    }
  }

  /** A snapshot is about to share every block of the subvolume. */
  beforeSnapshot(sv: Subvolume): void {
    if (!this.policy.snapshotWriteProtect) return;
    let changed = false;
    for (const mapping of this.mappings.values()) {
      if (mapping.sv !== sv) continue;
      for (let p = 0; p < mapping.pages; p++) changed = this.writeProtect(mapping, p) || changed;
    }
    this.shootdown(changed);
    // Its COWed pages are shared now: the next store COWs again.
    const m = this.kernel.m;
    for (const d of this.dirty.pages()) {
      if (d.tree === sv.tree.id) m.setU32(d.record + DR_FLAGS, d.flags & ~DRF_COWED);
    }
  }

  /**
   * A reflink is about to share these device blocks: write-protect every mapping of them
   * and, with the writers out of the way, bring the checksums of pages dirtied through
   * mmap up to date (the new owner verifies them on read).
   */
  beforeShare(blocks: number[]): void {
    if (this.policy.snapshotWriteProtect) {
      let changed = false;
      for (const block of blocks) {
        for (const { mapping, page } of this.reverseMap(block)) {
          changed = this.writeProtect(mapping, page) || changed;
        }
      }
      this.shootdown(changed);
    }
    const core = this.kernel.core, m = this.kernel.m;
    for (const block of blocks) {
      const r = check(core.dax_dirty_find(block), 'find a dirty page');
      if (r === 0) continue;
      const flags = m.u32(r + DR_FLAGS);
      // The fault that dirtied the page mapped its block: its inode's nbytes may change.
      this.kernel.noteExtentsChanged(m.u64(r + DR_TREE), m.u64(r + DR_INO));
      if ((flags & DRF_DATASUM) && this.policy.commitChecksums) {
        this.putCsum(block * PAGE_BYTES, m.u64(r + DR_EXTENT), m.u32(r + DR_EXTENT_BYTES));
      }
      // Write-protected now: the next commit no longer learns of the page from the table,
      // so it is written back with this transaction's data (or the share loses it).
      if (this.policy.snapshotWriteProtect) {
        this.kernel.noteDirtyData(block * PAGE_BYTES, PAGE_BYTES);
        check(core.dax_dirty_drop(block), 'drop a dirty page');
      }
    }
  }

  /** Set while a MAP_SYNC write fault commits its allocation (see writeFault). */
  private syncFaultCommit = false;

  /**
   * First step of every commit: mmap-dirtied datacow pages are write-protected (the next
   * store COWs again) and, with their threads out of the way, checksummed.
   */
  private beforeCommit(): void {
    const dirtied = this.dirty.pages();
    if (dirtied.length === 0) return;
    // Nodatacow pages a MAP_SYNC fault's commit leaves dirty and writable (see writeFault).
    const kept: DirtyPage[] = this.syncFaultCommit
      ? dirtied.filter((d) => (d.flags & DRF_DATACOW) === 0) : [];
    // Every page dirtied through mmap is written back and write-protected, so that the
    // next store faults and dirties it again (Linux: dax_writeback_one + pfn_mkclean_range
    // at fsync, sync, freeze and unmount): a store made after this commit is then tracked
    // for the next one. Datacow pages also COW again on that fault (cowOncePerTransaction;
    // switched off, they stay writable and later stores change committed blocks).
    let changed = false;
    for (const d of dirtied) {
      // Datacow pages: COW once per transaction. Nodatacow pages: write-back protection,
      // which a snapshot or freeze with its own switch off leaves out (keepWritable).
      if ((d.flags & DRF_DATACOW) ? !this.policy.cowOncePerTransaction
        : this.keepWritable || this.syncFaultCommit) continue;
      for (const mapping of this.mappings.values()) {
        if (mapping.sv.tree.id !== d.tree || mapping.ino !== d.ino) continue;
        const page = d.filePage - mapping.offsetBytes / PAGE_BYTES;
        if (page >= 0 && page < mapping.pages && Number.isInteger(page)) {
          changed = this.writeProtect(mapping, page) || changed;
        }
      }
    }
    this.shootdown(changed);
    for (const d of dirtied) {
      // A write fault maps a new block (a hole filled, a page copied): the inode's nbytes
      // may change (FileSystem brings it up to date after this hook).
      this.kernel.noteExtentsChanged(d.tree, d.ino);
      this.kernel.noteDirtyData(d.block * PAGE_BYTES, PAGE_BYTES);
      if ((d.flags & DRF_DATASUM) && this.policy.commitChecksums) {
        this.putCsum(d.block * PAGE_BYTES, d.extent, d.extentBytes);
      }
    }
    check(this.kernel.core.dax_dirty_clear(), 'clear the dirty pages');
    for (const d of kept) this.dirty.add(d);
  }

  freeze(): void {
    this.frozen = true;
    if (!this.policy.freezeWriteProtect) return;
    let changed = false;
    for (const mapping of this.mappings.values()) {
      for (let p = 0; p < mapping.pages; p++) changed = this.writeProtect(mapping, p) || changed;
    }
    this.shootdown(changed);
  }

  thaw(): void {
    this.frozen = false;
    const waiters = this.thawWaiters;
    this.thawWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Everyone a media error at `bytenr` hits, for the SIGBUS a load or store through a
   * mapping raises there (Linux's memory_failure walks the reverse map the same way).
   */
  mediaErrorOwners(bytenr: number): {
    files: Array<{ subvolume: number; ino: number; offset: number }>;
    mappings: Array<{ subvolume: number; ino: number; offset: number; mapping: number }>;
    text: string;
  } {
    let files: Array<{ subvolume: number; ino: number; offset: number }> = [];
    try {
      files = this.host.blockOwners?.(bytenr) ?? [];
    } catch (e) {
      if (!(e instanceof FsError)) throw e; // a damaged tree: the mappings still name owners
    }
    const mappings = this.mappedOwners(bytenr);
    const text = [
      ...files.map((f) => `subvolume ${f.subvolume} inode ${f.ino} offset ${f.offset}`),
      ...mappings.map((m) =>
        `mapping ${m.mapping} (subvolume ${m.subvolume} inode ${m.ino} offset ${m.offset})`),
    ].join(', ');
    return { files, mappings, text };
  }

  /** Every (file, offset) whose mapping reaches a device byte. */
  mappedOwners(bytenr: number): Array<{
    subvolume: number;
    ino: number;
    offset: number;
    mapping: number;
  }> {
    const block = Math.floor(bytenr / PAGE_BYTES);
    return this.reverseMap(block).map(({ mapping, page }) => ({
      subvolume: mapping.sv.id, ino: mapping.ino,
      offset: mapping.offsetBytes + page * PAGE_BYTES + (bytenr % PAGE_BYTES), mapping: mapping.id,
    }));
  }
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

