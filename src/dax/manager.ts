// DAX for the file system: per-mapping page tables in shared memory, the reverse map,
// faults, write-protection and shootdown. Runs on the thread that owns the file system;
// writer threads store through the page tables with no call here until they fault.
import { FsError } from '../errors.js';
import type { Kernel } from '../fs/kernel.js';
import type { Subvolume } from '../fs/subvolume.js';
import { FileData } from '../fs/file-data.js';
import { encodeFileExtent, type InodeItem } from '../fs/items.js';
import {
  key, EXTENT_DATA, EXTENT_CSUM, EXTENT_TYPE_REG, EXTENT_TYPE_PREALLOC, SECTOR_BYTES,
  INODE_FLAG_NODATACOW, INODE_FLAG_NODATASUM,
} from '../fs/format.js';
import { DEFAULT_DAX_POLICY, type DaxPolicy } from './policy.js';
import { DaxMapping, type MapOptions } from './mapping.js';
import {
  D_HEADER_BYTES, MAPPING_BYTES, M_ACTIVE, M_PAGES, M_PTES, PAGE_BYTES, PTE_BLOCK_MASK, PTE_PRESENT, PTE_WRITE,
} from '../core/abi.js';

export { PAGE_BYTES, PTE_PRESENT, PTE_WRITE, PTE_BLOCK_MASK } from '../core/abi.js';
/** A device page in the system area that is always zero: holes map it read-only. */
export const ZERO_PAGE_BYTENR = 32768;
const MAX_MAPPINGS = 256;
const TLB_ENTRIES = 256;

/** What the file system offers DAX (implemented by FileSystem). */
export interface DaxHost {
  inodeOf(sv: Subvolume, ino: number): InodeItem;
  fileData: FileData;
  kernel: Kernel;
  /** Files whose extents map a device byte (every subvolume, reflinks and snapshots too). */
  blockOwners?(bytenr: number): Array<{ subvolume: number; ino: number; offset: number }>;
}

/** A page stored to through mmap in this transaction; `extent`/`extentBytes`: the data extent holding `block` (its checksum item). */
interface DirtyPage { sv: Subvolume; ino: number; filePage: number; block: number; extent: number; extentBytes: number; datasum: boolean; datacow: boolean }

const pageKey = (sv: Subvolume, ino: number, filePage: number): string => `${sv.id}:${ino}:${filePage}`;

export class DaxManager {
  policy: DaxPolicy;
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
  private readonly ptes: Uint32Array;
  private readonly mappings = new Map<number, DaxMapping>();
  private readonly byInode = new Map<string, Set<DaxMapping>>();
  private readonly rmap = new Map<number, Set<number>>();
  private readonly rmapSingle = new Map<number, number>();
  private readonly dirtied = new Map<string, DirtyPage>();
  private readonly cowed = new Map<string, number>();
  private readonly freePtes: Array<[number, number]> = [];
  private readonly mappingTable: number;
  frozen = false;
  private thawWaiters: Array<() => void> = [];
  /** Faults handled, by kind (for tests, benchmarks and the playground). */
  readonly stats = { readFaults: 0, writeFaults: 0, holeFills: 0, cowFaults: 0, inPlaceFaults: 0, shootdowns: 0, writeProtects: 0, invalidations: 0 };

  constructor(readonly host: DaxHost, policy: Partial<DaxPolicy> = {}) {
    this.policy = { ...DEFAULT_DAX_POLICY, ...policy };
    const k = host.kernel;
    const core = k.device.core;
    this.base = k.daxAddr;
    const threads = this.base + D_HEADER_BYTES;
    const threadBytes = core.dax_thread_area_bytes(TLB_ENTRIES) * k.device.config.maxThreads;
    this.mappingTable = align(threads + threadBytes, 64);
    const ptePool = align(this.mappingTable + MAX_MAPPINGS * MAPPING_BYTES, 64);
    const end = this.base + k.daxBytes;
    if (ptePool >= end) throw new FsError('EINVAL', 'kernel region too small for DAX tables');
    // Thread areas and the mapping table start zeroed; PTE pages are zeroed when allocated.
    k.m.u8.fill(0, this.base, ptePool);
    check(core.dax_format(this.base, MAX_MAPPINGS, TLB_ENTRIES, this.mappingTable, threads), 'dax format');
    check(core.dax_attach(this.base), 'dax attach');
    this.ptes = new Uint32Array(k.m.u8.buffer);
    this.freePtes.push([ptePool, end - ptePool]);
    k.beforeCommit = () => this.beforeCommit();
    host.fileData.pendingChecksum = (sv, ino, filePage) => this.dirtied.size > 0 && this.dirtied.has(pageKey(sv, ino, filePage));
    k.externalChanges = () => this.dirtied.size > 0;
  }

  get kernel(): Kernel { return this.host.kernel; }

  // --- mappings ----------------------------------------------------------------------

  map(sv: Subvolume, ino: number, options: MapOptions): DaxMapping {
    const pages = Math.ceil(options.length / PAGE_BYTES);
    let id = -1;
    for (let i = 0; i < MAX_MAPPINGS; i++) if (!this.mappings.has(i)) { id = i; break; }
    if (id < 0) throw new FsError('ENOMEM', `at most ${MAX_MAPPINGS} mappings at once`);
    const ptes = this.allocPtes(pages * 4);
    this.kernel.m.u8.fill(0, ptes, ptes + pages * 4);
    const entry = this.mappingTable + id * MAPPING_BYTES;
    const m = this.kernel.m;
    m.setU32(entry + M_PAGES, pages);
    m.setU32(entry + M_PTES, ptes);
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
    for (let p = 0; p < mapping.pages; p++) this.setPte(mapping, p, 0);
    Atomics.store(this.ptes, (this.mappingTable + mapping.id * MAPPING_BYTES + M_ACTIVE) >> 2, 0);
    this.shootdown(true);
    this.mappings.delete(mapping.id);
    this.byInode.get(`${mapping.sv.id}:${mapping.ino}`)?.delete(mapping);
    this.releasePtes(mapping.ptesAddr, align(mapping.pages * 4, 64));
    this.onUnmapped?.(mapping.sv, mapping.ino);
  }

  /** Set by the file system: an unlinked file goes when its last mapping does. */
  onUnmapped: ((sv: Subvolume, ino: number) => void) | null = null;

  unmapAll(): void {
    for (const m of [...this.mappings.values()]) m.unmap();
  }

  mapping(id: number): DaxMapping {
    const m = this.mappings.get(id);
    if (!m) throw new FsError('EINVAL', `no mapping ${id}`);
    return m;
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
      if (prevAt + prevBytes === curAt) { this.freePtes[i - 1] = [prevAt, prevBytes + curBytes]; this.freePtes.splice(i, 1); }
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
      if (size === need) this.freePtes.splice(i, 1); else this.freePtes[i] = [at + need, size - need];
      return at;
    }
    throw new FsError('ENOMEM', 'no room left for page tables in the DAX region');
  }

  // --- page-table entries and the reverse map ----------------------------------------

  pte(mapping: DaxMapping, page: number): number {
    return Atomics.load(this.ptes, (mapping.ptesAddr >> 2) + page) >>> 0;
  }

  private setPte(mapping: DaxMapping, page: number, value: number): void {
    const old = this.pte(mapping, page);
    if (old & PTE_PRESENT) this.rmapRemove(old & PTE_BLOCK_MASK, mapping, page);
    Atomics.store(this.ptes, (mapping.ptesAddr >> 2) + page, value | 0);
    if (value & PTE_PRESENT) this.rmapAdd(value & PTE_BLOCK_MASK, mapping, page);
  }

  private rmapAdd(block: number, mapping: DaxMapping, page: number): void {
    const entry = mapping.id * 2 ** 22 + page;
    if (!this.policy.multiMapping) { this.rmapSingle.set(block, entry); return; }
    let set = this.rmap.get(block);
    if (!set) { set = new Set(); this.rmap.set(block, set); }
    set.add(entry);
  }

  private rmapRemove(block: number, mapping: DaxMapping, page: number): void {
    const entry = mapping.id * 2 ** 22 + page;
    if (this.rmapSingle.get(block) === entry) this.rmapSingle.delete(block);
    const set = this.rmap.get(block);
    if (set) { set.delete(entry); if (set.size === 0) this.rmap.delete(block); }
  }

  /** Every (mapping, page) that maps a device block, as the reverse map knows it. */
  reverseMap(block: number): Array<{ mapping: DaxMapping; page: number }> {
    const entries = this.policy.multiMapping ? [...(this.rmap.get(block) ?? [])] : (this.rmapSingle.has(block) ? [this.rmapSingle.get(block)!] : []);
    return entries.flatMap((e) => {
      const mapping = this.mappings.get(Math.floor(e / 2 ** 22));
      return mapping ? [{ mapping, page: e % 2 ** 22 }] : [];
    });
  }

  /** After entries were downgraded: make sure no thread still uses an old one. */
  private shootdown(changed: boolean): void {
    if (!changed || !this.policy.tlbShootdown) return;
    this.stats.shootdowns++;
    check(this.kernel.device.core.dax_shootdown(), 'shootdown');
  }

  private writeProtect(mapping: DaxMapping, page: number): boolean {
    const pte = this.pte(mapping, page);
    if ((pte & PTE_WRITE) === 0) return false;
    this.setPte(mapping, page, pte & ~PTE_WRITE);
    this.stats.writeProtects++;
    return true;
  }

  // --- faults ------------------------------------------------------------------------

  /** Resolve a fault of a main-thread access; throws SIGBUS/SIGSEGV/EBUSY. */
  fault(mappingId: number, page: number, write: boolean): void {
    const mapping = this.mapping(mappingId);
    if (write && this.frozen) throw new FsError('EBUSY', 'file system is frozen: a store on this thread cannot wait for thaw');
    this.resolveLocked(mapping, page, write);
  }

  /** Resolve a fault of a writer thread; a store during a freeze waits for thaw. */
  async faultAsync(mappingId: number, page: number, write: boolean): Promise<void> {
    const mapping = this.mapping(mappingId);
    while (write && this.frozen) await new Promise<void>((resolve) => this.thawWaiters.push(resolve));
    this.resolveLocked(mapping, page, write);
  }

  /** A fault runs the engine: it holds the fs lock, as every file-system operation does. */
  private resolveLocked(mapping: DaxMapping, page: number, write: boolean): void {
    const core = this.kernel.core;
    core.fs_lock();
    try {
      this.resolveFault(mapping, page, write);
    } finally {
      core.fs_unlock();
    }
  }

  private resolveFault(mapping: DaxMapping, page: number, write: boolean): void {
    if (!mapping.live) throw new FsError('SIGSEGV', 'access to an unmapped range');
    if (page >= mapping.pages) throw new FsError('SIGSEGV', `page ${page} outside the mapping`);
    if (write && mapping.prot !== 'rw') throw new FsError('SIGSEGV', 'store through a read-only mapping');
    const { sv, ino } = mapping;
    const inode = this.host.inodeOf(sv, ino);
    const fileOffset = mapping.offsetBytes + page * PAGE_BYTES;
    if (fileOffset >= inode.size) throw new FsError('SIGBUS', `access beyond the end of the file (offset ${fileOffset}, size ${inode.size})`);
    this.kernel.checkWritable();
    if (write) this.writeFault(mapping, page, fileOffset, inode);
    else this.readFault(mapping, page, fileOffset);
  }

  private readFault(mapping: DaxMapping, page: number, fileOffset: number): void {
    this.stats.readFaults++;
    const ext = this.host.fileData.extents(mapping.sv, mapping.ino, fileOffset, fileOffset + PAGE_BYTES)[0];
    let block = ZERO_PAGE_BYTENR / PAGE_BYTES;
    if (ext && ext.e.type === EXTENT_TYPE_REG) block = (ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset)) / PAGE_BYTES;
    this.setPte(mapping, page, block | PTE_PRESENT);
  }

  private writeFault(mapping: DaxMapping, page: number, fileOffset: number, inode: InodeItem): void {
    this.stats.writeFaults++;
    const { sv, ino } = mapping;
    const data = this.host.fileData;
    const k = this.kernel;
    const datacow = (inode.flags & INODE_FLAG_NODATACOW) === 0;
    const datasum = (inode.flags & INODE_FLAG_NODATASUM) === 0;
    const ext = data.extents(sv, ino, fileOffset, fileOffset + PAGE_BYTES)[0];
    const keyOf = pageKey(sv, ino, fileOffset / PAGE_BYTES);
    const oldDisk = ext && ext.e.type === EXTENT_TYPE_REG ? ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset) : -1;
    // In place: a datacow page COWed in this transaction (until commit), or a nodatacow
    // extent this file may overwrite.
    const inPlace = ext !== undefined && ext.e.type === EXTENT_TYPE_REG
      && (datacow ? this.cowed.get(keyOf) === oldDisk : data.canOverwriteExtent(sv, ino, ext.e));
    // fallocate's promise holds for stores too: a preallocated page is filled in place
    // (XFS-DAX converts the unwritten extent), for datacow and nodatacow files alike, and
    // so is a page filled earlier in this transaction (FileData.planFills).
    const fill = ext !== undefined && !inPlace
      && (ext.e.type === EXTENT_TYPE_PREALLOC || k.filledThisTransaction.has(ext.e.diskBytenr))
      && data.planFills(sv, ino, fileOffset, fileOffset + PAGE_BYTES).length > 0;
    let disk: number;
    let extent: { bytenr: number; bytes: number };
    if (ext && (inPlace || fill)) {
      disk = ext.e.diskBytenr + ext.e.offset + (fileOffset - ext.fileOffset);
      extent = { bytenr: ext.e.diskBytenr, bytes: ext.e.diskBytes };
      if (ext.e.type === EXTENT_TYPE_PREALLOC) {
        this.storeZeros(disk);
        if (datasum) this.putCsum(disk, extent.bytenr, extent.bytes);
        data.drop(sv, ino, fileOffset, fileOffset + PAGE_BYTES, true);
        sv.tree.insert(key(ino, EXTENT_DATA, fileOffset), encodeFileExtent({ ...ext.e, type: EXTENT_TYPE_REG, offset: disk - ext.e.diskBytenr, bytes: PAGE_BYTES }));
        data.noteFilled(extent.bytenr, disk, PAGE_BYTES);
        this.stats.holeFills++;
      } else {
        this.stats.inPlaceFaults++;
      }
      if (datacow) this.cowed.set(keyOf, disk); // like a COWed page: in place until commit
    } else {
      // Hole, preallocated range someone else reads, or a block that must not change: a new block.
      if (k.metadataFreeBytes() - PAGE_BYTES < k.metadataReserveBytes) throw new FsError('SIGBUS', 'no space left for a page fault (ENOSPC)');
      const fresh = k.allocData(PAGE_BYTES);
      if (!fresh) throw new FsError('SIGBUS', 'no space left for a page fault (ENOSPC)');
      disk = fresh.bytenr;
      extent = { bytenr: disk, bytes: PAGE_BYTES };
      if (oldDisk >= 0) {
        check(k.device.core.pmem_store(disk, k.visibleAddr + oldDisk, PAGE_BYTES, 0), 'copy page');
        this.stats.cowFaults++;
      } else {
        this.storeZeros(disk);
        this.stats.holeFills++;
      }
      k.noteDirtyData(disk, PAGE_BYTES);
      if (datasum) this.putCsum(disk, disk, PAGE_BYTES);
      data.drop(sv, ino, fileOffset, fileOffset + PAGE_BYTES);
      sv.tree.insert(key(ino, EXTENT_DATA, fileOffset), encodeFileExtent({
        generation: k.transid, type: EXTENT_TYPE_REG, diskBytenr: disk, diskBytes: PAGE_BYTES, offset: 0, bytes: PAGE_BYTES,
      }));
      if (datacow) this.cowed.set(keyOf, disk);
    }
    // Every other mapping of this file page must stop using the old block, and so must
    // every thread that cached this mapping's old (read-only) translation of the page.
    let downgraded = false;
    if (oldDisk !== disk) downgraded = this.invalidateFilePage(sv, ino, fileOffset, oldDisk, mapping, page);
    const before = this.pte(mapping, page);
    if ((before & PTE_PRESENT) && (before & PTE_BLOCK_MASK) !== disk / PAGE_BYTES) downgraded = true;
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
    this.dirtied.set(keyOf, { sv, ino, filePage: fileOffset / PAGE_BYTES, block: disk, extent: extent.bytenr, extentBytes: extent.bytes, datasum, datacow });
    // Stores through the mapping may land anywhere in the block from now on.
    k.onDeviceWrite?.(disk, PAGE_BYTES);
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
  private invalidateFilePage(sv: Subvolume, ino: number, fileOffset: number, oldDisk: number, except: DaxMapping, exceptPage: number): boolean {
    let changed = false;
    const candidates = oldDisk >= 0
      ? this.reverseMap(oldDisk / PAGE_BYTES)
      : this.mappingsOf(sv, ino).map((m) => ({ mapping: m, page: (fileOffset - m.offsetBytes) / PAGE_BYTES }));
    for (const { mapping, page } of candidates) {
      if (mapping === except && page === exceptPage) continue;
      if (mapping.sv !== sv || mapping.ino !== ino) continue;
      if (page < 0 || page >= mapping.pages || !Number.isInteger(page)) continue;
      if (mapping.offsetBytes + page * PAGE_BYTES !== fileOffset) continue;
      if (this.pte(mapping, page) & PTE_PRESENT) {
        this.setPte(mapping, page, 0);
        this.stats.invalidations++;
        changed = true;
      }
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
      for (let p = first; p < last; p++) {
        if (this.pte(mapping, p) & PTE_PRESENT) { this.setPte(mapping, p, 0); this.stats.invalidations++; changed = true; }
      }
    }
    // A dirtied page whose block the file no longer maps needs no checksum any more; one
    // the change kept (fallocate over it, say) still does.
    for (const [k, d] of this.dirtied) {
      if (d.sv === sv && d.ino === ino && d.filePage * PAGE_BYTES < end && (d.filePage + 1) * PAGE_BYTES > start) {
        const at = d.filePage * PAGE_BYTES;
        const ext = this.host.fileData.extents(sv, ino, at, at + PAGE_BYTES)[0];
        const disk = ext && ext.e.type === EXTENT_TYPE_REG ? ext.e.diskBytenr + ext.e.offset + (at - ext.fileOffset) : -1;
        if (disk !== d.block) { this.dirtied.delete(k); this.cowed.delete(k); }
      }
    }
    this.shootdown(changed);
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
    for (const k of [...this.cowed.keys()]) if (k.startsWith(`${sv.id}:`)) this.cowed.delete(k);
  }

  /**
   * A reflink is about to share these device blocks: write-protect every mapping of them
   * and, with the writers out of the way, bring the checksums of pages dirtied through
   * mmap up to date (the new owner verifies them on read).
   */
  beforeShare(blocks: number[]): void {
    const shared = new Set(blocks.map((b) => b * PAGE_BYTES));
    if (this.policy.snapshotWriteProtect) {
      let changed = false;
      for (const block of blocks) {
        for (const { mapping, page } of this.reverseMap(block)) changed = this.writeProtect(mapping, page) || changed;
      }
      this.shootdown(changed);
    }
    for (const [k, d] of [...this.dirtied]) {
      if (!shared.has(d.block)) continue;
      if (d.datasum && this.policy.commitChecksums) this.putCsum(d.block, d.extent, d.extentBytes);
      if (this.policy.snapshotWriteProtect) {
        // Write-protected now: the next commit no longer learns of the page from `dirtied`,
        // so it is written back with this transaction's data (or the share loses it).
        this.kernel.noteDirtyData(d.block, PAGE_BYTES);
        this.dirtied.delete(k);
        this.cowed.delete(k);
      }
    }
  }

  /**
   * First step of every commit: mmap-dirtied datacow pages are write-protected (the next
   * store COWs again) and, with their threads out of the way, checksummed.
   */
  /** Set while a MAP_SYNC write fault commits its allocation (see writeFault). */
  private syncFaultCommit = false;

  private beforeCommit(): void {
    if (this.dirtied.size === 0) return;
    // Nodatacow pages a MAP_SYNC fault's commit leaves dirty and writable (see writeFault).
    const kept = this.syncFaultCommit ? [...this.dirtied].filter(([, d]) => !d.datacow) : [];
    // Every page dirtied through mmap is written back and write-protected, so that the
    // next store faults and dirties it again (Linux: dax_writeback_one + pfn_mkclean_range
    // at fsync, sync, freeze and unmount): a store made after this commit is then tracked
    // for the next one. Datacow pages also COW again on that fault (cowOncePerTransaction;
    // switched off, they stay writable and later stores change committed blocks).
    let changed = false;
    {
      for (const d of this.dirtied.values()) {
        // Datacow pages: COW once per transaction. Nodatacow pages: write-back protection,
        // which a snapshot or freeze with its own switch off leaves out (keepWritable).
        if (d.datacow ? !this.policy.cowOncePerTransaction : this.keepWritable || this.syncFaultCommit) continue;
        for (const mapping of this.mappingsOf(d.sv, d.ino)) {
          const page = d.filePage - mapping.offsetBytes / PAGE_BYTES;
          if (page >= 0 && page < mapping.pages && Number.isInteger(page)) changed = this.writeProtect(mapping, page) || changed;
        }
      }
      this.shootdown(changed);
    }
    for (const d of this.dirtied.values()) {
      this.kernel.noteDirtyData(d.block, PAGE_BYTES);
      if (d.datasum && this.policy.commitChecksums) this.putCsum(d.block, d.extent, d.extentBytes);
    }
    this.dirtied.clear();
    this.cowed.clear();
    for (const [k, d] of kept) this.dirtied.set(k, d);
  }

  freeze(): void {
    this.frozen = true;
    if (!this.policy.freezeWriteProtect) return;
    let changed = false;
    for (const mapping of this.mappings.values()) for (let p = 0; p < mapping.pages; p++) changed = this.writeProtect(mapping, p) || changed;
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
  mediaErrorOwners(bytenr: number): { files: Array<{ subvolume: number; ino: number; offset: number }>; mappings: Array<{ subvolume: number; ino: number; offset: number; mapping: number }>; text: string } {
    let files: Array<{ subvolume: number; ino: number; offset: number }> = [];
    try {
      files = this.host.blockOwners?.(bytenr) ?? [];
    } catch (e) {
      if (!(e instanceof FsError)) throw e; // a damaged tree: the mappings still name owners
    }
    const mappings = this.mappedOwners(bytenr);
    const text = [
      ...files.map((f) => `subvolume ${f.subvolume} inode ${f.ino} offset ${f.offset}`),
      ...mappings.map((m) => `mapping ${m.mapping} (subvolume ${m.subvolume} inode ${m.ino} offset ${m.offset})`),
    ].join(', ');
    return { files, mappings, text };
  }

  /** Every (file, offset) whose mapping reaches a device byte. */
  mappedOwners(bytenr: number): Array<{ subvolume: number; ino: number; offset: number; mapping: number }> {
    const block = Math.floor(bytenr / PAGE_BYTES);
    return this.reverseMap(block).map(({ mapping, page }) => ({
      subvolume: mapping.sv.id, ino: mapping.ino, offset: mapping.offsetBytes + page * PAGE_BYTES + (bytenr % PAGE_BYTES), mapping: mapping.id,
    }));
  }
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

function check(r: number, what: string): void {
  if (r < 0) throw new FsError('EIO', `${what} failed (${r})`);
}

