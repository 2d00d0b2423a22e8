// The raw exports of build/{release,debug}.wasm (see assembly/index.ts).
import type { COUNTER_NAMES } from './abi.js';

export interface CoreExports extends CoreFsExports, CoreDaxExports {
  readonly memory: WebAssembly.Memory;
  core_heap_base(): number;
  pmem_layout_total(base: number, deviceBytes: number, domain: number, maxThreads: number,
    logCapacity: number, scratchBytes: number, flushQueueCapacity: number,
    kernelBytes: number): number;
  pmem_format(base: number, deviceBytes: number, domain: number, maxThreads: number,
    logCapacity: number, scratchBytes: number, flushQueueCapacity: number,
    kernelBytes: number): number;
  pmem_attach(base: number): number;
  pmem_detach(): number;
  pmem_region(which: number): number;
  pmem_store(addr: number, src: number, len: number, nonTemporal: number): number;
  /**
   * Store `count` records (STORE_BATCH_DESC_BYTES descriptors at `descs`, in this thread's
   * scratch; their bytes one after another from `payload`) in order, each as pmem_store: 0,
   * or -EINVAL for a bad batch (nothing stored).
   */
  pmem_store_batch(descs: number, count: number, payload: number, nonTemporal: number): number;
  pmem_store_begin(addr: number, len: number, nonTemporal: number): number;
  pmem_store_end(): number;
  pmem_persist(addr: number, len: number): number;
  pmem_load(dst: number, addr: number, len: number): number;
  pmem_read_media(dst: number, addr: number, len: number): number;
  /** 1 when [addr, addr+len) reads as zeros, 0 when not, -EIO when a line is poisoned. */
  pmem_zero_check(addr: number, len: number): number;
  pmem_flush(addr: number, len: number, kind: number): number;
  pmem_fence(isMfence: number): number;
  pmem_poison(addr: number, len: number, poisoned: number): number;
  pmem_set_fresh_run_deferral(on: number): number;
  pmem_recount_poisoned(): number;
  pmem_line_info(line: number): number;
  pmem_counter(index: number): number;
  pmem_gauge(which: number): number;
  pmem_crash_scan(): number;
  pmem_crash_total(): bigint;
  /**
   * `lines`: a line bitmap of the lines to build (0: all; a random image's lines draw
   * independently).
   */
  pmem_crash_build(mode: number, arg: bigint, keepLocked: number, lines: number): number;
  pmem_unlock(): number;
  pmem_release_after_trap(): number;
  /**
   * After pmem_crash_build(keepLocked) of `slots` lines: a patch line for every other
   * pending line (its media); the total.
   */
  pmem_crash_overlay(slots: number): number;
  pmem_crash_apply(slots: number): number;
  /** pmem_crash_apply for a device whose visible bytes were all rewritten (every line stamped). */
  pmem_crash_apply_image(slots: number): number;
  /** The first pending line in [fromLine, endLine), or -1. */
  pmem_next_pending(fromLine: number, endLine: number): number;
  /** Address of the media bytes of a line (a pending line's pre-image, else its visible bytes). */
  pmem_media_line(line: number): number;
  pmem_crash_in_place(mode: number, arg: bigint): number;
  csum_crc32c(ptr: number, len: number): number;
  csum_crc32c_update(crc: number, ptr: number, len: number): number;
  csum_crc32c_zeros(crc: number, count: number): number;
  mem_copy(dst: number, src: number, len: number): number;
  /**
   * Content digests in this thread's state (assembly/csum/content-hash.ts; twin:
   * src/model/content-hash.ts).
   */
  content_hash_begin(): number;
  /** Every chunk but the last a whole number of 16-byte blocks. */
  content_hash_update(ptr: number, len: number): number;
  content_hash_final(totalBytes: number): number;
  /** Image bytes of [addr, addr+len) for the patch just built: media with patch lines laid over. */
  pmem_patch_compose(slots: number, addr: number, len: number, dst: number): number;
  /** crc32c of the patch lines selected by a line bitmap (0: all lines). */
  pmem_patch_fingerprint(slots: number, bitmap: number): number;
  /** crc32c of the media lines selected by a line bitmap (with their line numbers). */
  pmem_media_fingerprint(bitmap: number): number;
  /** The current line-stamp epoch; a new one starts (lines changed from now on are newer). */
  pmem_stamps_advance(): number;
  /**
   * Runs of lines changed after epoch `since`, into the runs region; -E2BIG beyond its
   * capacity.
   */
  pmem_stamp_runs(since: number): number;
  /** Lines of a range with stores not yet on media. */
  pmem_pending_lines(addr: number, len: number): number;
  /** Stamp the lines of a range whose bytes the caller wrote directly. */
  pmem_mark_changed(addr: number, len: number): number;
  /** Flag the line table's lines whose media content it does not allow; returns their count. */
  pmem_line_table_prepare(table: number, entries: number): number;
  /** 1 when the image just built satisfies the line table, 0 when not. */
  pmem_line_table_check(slots: number, table: number, entries: number,
    mediaFailing: number): number;
}

// Selectors, offsets and codes of these calls: src/core/abi.ts (generated from assembly/abi.ts).
export type CounterName = (typeof COUNTER_NAMES)[number];

/**
 * The file system's engine in the core (assembly/fs/, docs/engine.md) and its helpers
 * (assembly/csum/sectors.ts). u64 values cross as numbers below 2^53.
 */
interface CoreFsExports {
  /**
   * Bytes of the state header and tables for a device of `totalBytes`, a pool of
   * `poolCount` buffers and delayed-ref tables of the given slots.
   */
  fs_state_bytes(totalBytes: number, poolCount: number, refSlots: number,
    backrefSlots: number): number;
  /** Lay out the state of a mount at `base` and attach this instance to it. */
  fs_format(base: number, nodeBytes: number, copies: number, totalBytes: number, chunkBytes: number,
    generation: number,
    pool: number, poolCount: number, refSlots: number, backrefSlots: number): number;
  /**
   * Delayed refs (assembly/fs/delayed-ref.ts): a pointer from `container` (-1: a root
   * pointer) to `target` appeared (+1) or went (-1).
   */
  fs_ref_change(container: number, target: number, owner: number, level: number, bytes: number,
    delta: number): number;
  /** The change of `target`'s reference count in this transaction. */
  fs_ref_delta(target: number): number;
  fs_ref_count(): number;
  /** Fullness of the delayed-ref tables in 1/1000. */
  fs_ref_pressure(): number;
  /** Move every delayed ref into the batch (sorted by target); the number of refs. */
  fs_refs_take(): number;
  fs_attach(base: number): number;
  /**
   * Address of tree block `bytenr`'s content; -EIO / -EUCLEAN (problem records),
   * -NEEDS_HEAL, -EINVAL.
   */
  fs_node_addr(bytenr: number): number;
  /** 0 when copy `copy` of a clean block is sound, else -EIO / -EUCLEAN with its problem record. */
  fs_check_copy(bytenr: number, copy: number): number;
  fs_is_verified(bytenr: number): number;
  fs_set_verified(bytenr: number, on: number): number;
  fs_forget_verified(): number;
  /** Buffer address of dirty block `bytenr`, 0 when it is clean. */
  fs_dirty_buffer(bytenr: number): number;
  /**
   * A new empty dirty node of tree `owner` at `level`; its bytenr (problems thrown through
   * FsHooks.fail).
   */
  fs_alloc_node(owner: number, level: number): number;
  /** 1 when `bytenr` was dirty (now dropped), 0 when not. */
  fs_drop_dirty(bytenr: number): number;
  fs_free_buffers(): number;
  fs_dirty_blocks(): number;
  fs_dirty_list_length(): number;
  /** bytenr of entry `i` of the dirty list, -1 when that block was dropped. */
  fs_dirty_list_entry(i: number): number;
  fs_end_transaction(generation: number): number;
  /**
   * Free space (assembly/fs/free-space.ts), in bytes: 0, -EIO when part of it is free
   * already, -EINVAL.
   */
  fs_free_add(start: number, length: number): number;
  /** Pin until the commit: 0, -EIO when pinned or free already, -EINVAL. */
  fs_free_pin(start: number, length: number): number;
  fs_free_unpin_all(): number;
  fs_free_bytes(): number;
  fs_pinned_bytes(): number;
  fs_tree_free_bytes(kind: number): number;
  fs_space_fits(dataBytes: number, metadataBytes: number): number;
  fs_chunks_reset(): number;
  fs_chunk_add(startSector: number, sectors: number, kind: number, stripe0Sector: number,
    stripe1Sector: number, copies: number, grid: number, excludedSectors: number): number;
  fs_copy_bytenr(bytenr: number, copy: number): number;
  fs_chunk_type_cell(chunk: number, kind: number): number;
  fs_data_ref_hash(root: number, ino: number, offset: number): number;
  fs_chunk_used_sectors(chunk: number): number;
  fs_chunk_release_if_empty(chunk: number): number;
  fs_largest_free_run(maxBytes: number): number;
  /** 1 when any byte of the range is free. */
  fs_free_overlaps(start: number, length: number): number;
  /** This thread's area of the engine (TA_*: path, keys, results, problem records). */
  fs_thread_area(): number;
  /**
   * The B-tree (assembly/fs/ctree.ts): each call names the tree (id, root, level) and leaves
   * the root and level after it, and the item found, in this thread's result record
   * (TA_RESULT). Problems are thrown through the FsHooks' fail; bad arguments are -EINVAL.
   */
  ctree_lookup(tree: number, root: number, level: number, objectid: number, type: number,
    offset: number): number;
  ctree_insert(tree: number, root: number, level: number, objectid: number, type: number,
    offset: number, data: number, size: number): number;
  ctree_copy_root(tree: number, root: number, level: number): number;
  ctree_update(tree: number, root: number, level: number, objectid: number, type: number,
    offset: number, data: number, size: number): number;
  ctree_delete(tree: number, root: number, level: number, objectid: number, type: number,
    offset: number): number;
  /** mode: SEEK_AT_OR_AFTER, SEEK_AFTER, SEEK_AT_OR_BEFORE; 1 when an item was found. */
  ctree_seek(tree: number, root: number, level: number, objectid: number, type: number,
    offset: number, mode: number): number;
  /**
   * Address of the child at `slot` of block `parent`, checked against it (`high`: address
   * of the bound key, 0 none).
   */
  ctree_checked_child(tree: number, parent: number, slot: number, high: number): number;
  /**
   * Read file bytes into `dst` (zeros for holes); flags READ_VERIFY, or READ_INODE_BOUNDS (the
   * inode's size bounds the read, its NODATASUM flag decides the verification). The bytes
   * read, READ_NO_INODE (bounds asked, no sound inode item) or a negative errno for bad
   * arguments. Problems thrown through FsHooks.fail.
   */
  file_read(tree: number, root: number, level: number, csumRoot: number, csumLevel: number,
    ino: number, offset: number, length: number, dst: number, flags: number): number;
  /**
   * Dedupe's comparison: the first index where [a, a + length) and [b, b + length) differ,
   * `length` when equal; -EINVAL for bad ranges.
   */
  fs_first_difference(a: number, b: number, length: number): number;
  /**
   * The extent and csum trees' roots, kept in the core's state (BTree reads and writes them
   * there).
   */
  fs_set_system_roots(extentRoot: number, extentLevel: number, csumRoot: number,
    csumLevel: number): number;
  /**
   * An extent's reference count with this transaction's delayed changes; < -1000000 on bad
   * arguments.
   */
  fs_extent_refs(bytenr: number, data: number, bytes: number): number;
  /** Apply every delayed ref (assembly/fs/extent-tree.ts); problems thrown through FsHooks.fail. */
  fs_run_delayed_refs(): number;
  /** Blocks whose pointers were dropped early and still hold a reference. */
  fs_dropped_blocks(): number;
  /**
   * The fs lock (assembly/fs/fs-lock.ts): taken by every file-system operation on any
   * thread; nests.
   */
  fs_lock(): number;
  /** 1 when taken (or already held by this thread), 0 when another thread holds it. */
  fs_try_lock(): number;
  /** 0, -EPERM when this thread does not hold it. */
  fs_unlock(): number;
  /** The holder's thread slot, -1 when free. */
  fs_lock_holder(): number;
  /** Count a file read this thread served through the core (TA_READS); the new count. */
  fs_read_done(): number;
  fs_tree_changes(): number;
  fs_tree_changed(): number;
  /**
   * 1: every reference to the data extent is one mapping of (tree, ino); 0: another inode's
   * too; -1: unknown; below -1000000: bad arguments.
   */
  fs_data_refs_owner(extent: number, bytes: number, tree: number, ino: number): number;
  /** Bytes a data allocation must leave free for tree blocks. */
  fs_metadata_reserve_bytes(): number;
  /** The address of subvolume tree `tree`'s root-table slot, 0 when it has none. */
  fs_root_slot(tree: number): number;
  /**
   * pwrite in the core (assembly/fs/file.ts): the device byte written, -1 when TypeScript's
   * path must run (nothing changed), below -1000000 for bad arguments. Under the fs lock.
   */
  fs_file_write(tree: number, ino: number, src: number, at: number, length: number): number;
  /**
   * The @unmanaged layout classes against the ABI's offsets: 0, or a LAYOUT_* bit per class
   * that disagrees.
   */
  core_layouts_check(): number;
  /**
   * The commit's write-out of tree blocks (checksum, store and clwb of every copy, in
   * order); WRITE_OUT_* hooks before each store. The copies stored. Under the fs lock.
   */
  fs_write_dirty_blocks(flags: number): number;
  /** Where the core builds item bodies under the fs lock (the kernel's staging buffer). */
  fs_set_staging(addr: number, bytes: number): number;
  /** EXTENT_MARK_LOSING / EXTENT_MARK_FILLED of a data extent: set (set = 1) or ask; 1 when set. */
  fs_extent_mark(which: number, bytenr: number, set: number): number;
  /**
   * Mark [start, start + length) allocated in this transaction; fs_is_fresh asks about one
   * sector.
   */
  fs_mark_fresh(start: number, length: number): number;
  fs_is_fresh(bytenr: number): number;
  /** Address of `lengthBytes` allocated bytes, or -ENOSPC (-EINVAL on bad arguments). */
  fs_free_allocate(lengthBytes: number, reserveBytes: number, kind: number): number;
  /**
   * Slot of the key in the node at `node`, or -(insertion slot) - 1; < -1000000 on bad
   * arguments.
   */
  btree_node_search(node: number, nodeBytes: number, objectid: number, type: number,
    offset: number): number;
  csum_sectors_compute(data: number, sectors: number, sectorBytes: number, out: number): number;
  /** First bad sector or -1; < -1000000 on bad arguments. */
  csum_sectors_verify(data: number, sectors: number, sectorBytes: number, expected: number): number;
}

/** DAX exports of the core (assembly/dax). */
interface CoreDaxExports {
  dax_thread_area_bytes(tlbEntries: number): number;
  dax_format(base: number, maxMappings: number, tlbEntries: number, mappingsAddr: number,
    threadsAddr: number): number;
  dax_attach(base: number): number;
  /**
   * Bytes stored; fewer than len means a fault (see dax_fault_info). Negative errno on bad
   * arguments.
   */
  dax_store(mapping: number, offset: number, src: number, len: number): number;
  /**
   * dax_store that serves its write faults in the core (the fs lock taken per fault); stops
   * where dax_store would leave a fault to the host.
   */
  dax_store_serving(mapping: number, offset: number, src: number, len: number): number;
  dax_load(mapping: number, offset: number, dst: number, len: number): number;
  /**
   * (reason << FAULT_REASON_SHIFT) | page of this thread's last fault; reason FAULT_*
   * (src/core/abi.ts).
   */
  dax_fault_info(): number;
  dax_shootdown(): number;
  /** Place the reverse map and the dirty-page table in the DAX region (assembly/dax/tables.ts). */
  dax_tables(rmapHeads: number, rmapNodes: number, ptePool: number, ptePoolBytes: number,
    devicePages: number,
    dirtyIndex: number, dirtyRecords: number, dirtyCapacity: number, fsState: number): number;
  /** Zero `count` PTEs at `ptes` (from the pool) and their reverse-map nodes: a new mapping's. */
  dax_map_ptes(ptes: number, count: number): number;
  /**
   * Zero [addr, addr + bytes) of the kernel region (the DAX header, thread areas and
   * mapping table before dax_format).
   */
  dax_zero(addr: number, bytes: number): number;
  /** Set a PTE of an active mapping, keeping the reverse map. */
  dax_set_pte(mapping: number, page: number, value: number): number;
  /** First PTE address mapping device page `block` (0: none). */
  dax_rmap_first(block: number): number;
  dax_rmap_next(pte: number): number;
  dax_rmap_mapping(pte: number): number;
  /** Address of the live dirty-page record of device page `block`, or 0. */
  dax_dirty_find(block: number): number;
  /** -ENOSPC when the table is full. */
  dax_dirty_add(block: number, tree: number, ino: number, filePage: number, extent: number,
    extentBytes: number, flags: number): number;
  dax_dirty_drop(block: number): number;
  dax_dirty_clear(): number;
  /**
   * Serve a fault on this thread (assembly/dax/fault.ts): FR_DONE, FR_OWNER, or -EINVAL.
   * Hold the fs lock.
   */
  dax_fs_fault(mapping: number, page: number, write: number): number;
  /** clwb of the mapped lines of the range, through this thread's translations. */
  dax_flush(mapping: number, offset: number, len: number): number;
  /**
   * Store `count` records (BATCH_RECORD_BYTES each, BR_* in src/core/abi.ts) at `descs` in
   * this thread's scratch: the records completed (fewer than count: a fault in that record,
   * see its BR_DONE and dax_fault_info), or -EINVAL for a bad batch (nothing stored).
   */
  dax_store_batch(mapping: number, descs: number, count: number): number;
  /** (BATCH_BAD_* << BATCH_BAD_SHIFT) | record index of this thread's last refused batch. */
  dax_batch_error(): number;
}
