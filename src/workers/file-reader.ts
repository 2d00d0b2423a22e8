// File reads on a thread that did not mount the file system: its own core instance runs
// the engine's read (assembly/fs/inode.ts) over the shared state, under the fs lock, with
// no message to the owning thread (docs/engine.md section 6). The file is named by its
// subvolume (tree id) and inode; the tree's root comes from the core's root table.
import { FsError, errnoName } from '../errors.js';
import { setFsHooks, type FsHooks } from '../core/module.js';
import type { PmemDevice } from '../pmem/device.js';
import { FsMemory } from '../fs/memory.js';
import { kindOfMode, requireRegular } from '../fs/special.js';
import { readProblem, blockProblemText, engineProblemText } from '../fs/tree-checker.js';
import {
  RS_ROOT, RS_LEVEL, F_CSUM_ROOT, F_CSUM_LEVEL, TA_PROBLEMS, TA_KEY,
  TA_RESULT, CR_DATA, CR_SIZE, INODE_ITEM, INODE_ITEM_BYTES, INODE_SIZE, INODE_FLAGS, INODE_MODE,
  INODE_FLAG_NODATASUM, READ_VERIFY, MAX_FILE_BYTES, REGION, F_NODE_BYTES, PAGE_BYTES,
} from '../core/abi.js';
import { dirtyFilePages } from '../dax/dirty-pages.js';
import { anyPageIn } from '../fs/file-pages.js';

export interface ReadRequest {
  /** The file system's state in the shared memory (Kernel.fsStateAddr). */
  fsState: number;
  /** The subvolume (its tree id) and inode of the file. */
  tree: number;
  ino: number;
  offset: number;
  length: number;
  /** Verify data checksums (of a datasum file; pages waiting for theirs are not verified). */
  verify: boolean;
  /** The DAX region (DaxManager.base) whose dirty pages wait for their checksums; 0: none. */
  dax?: number;
}

const MAX_READ_BYTES = 1 << 30;

export class FileReader {
  private attachedTo = 0;
  private readonly m: FsMemory;
  private threadArea = 0;

  /**
   * `scratchFrom`: the bytes of this thread's scratch before it are not the reader's (a
   * writer's store batch lives there, and a read may arrive while a run awaits a fault).
   */
  constructor(private readonly device: PmemDevice, private readonly scratchFrom = 0) {
    this.m = new FsMemory(device.memory.buffer);
  }

  /** The bytes [offset, offset + length) of the file, short at its end. */
  read(req: ReadRequest): Uint8Array {
    checkRequest(req);
    const core = this.device.core;
    this.attach(req.fsState);
    core.fs_lock();
    let out: Uint8Array;
    try {
      out = this.readLocked(req);
    } finally {
      core.fs_unlock();
    }
    core.fs_read_done();
    return out;
  }

  /** Attach this thread's core to the engine's state at `fsState` (idempotent). */
  attach(fsState: number): void {
    if (this.attachedTo === fsState) return;
    if (this.device.core.fs_attach(fsState) < 0) {
      throw new FsError(
        'EINVAL', `no file-system state at ${fsState}: is the file system mounted?`,
      );
    }
    this.threadArea = this.device.core.fs_thread_area();
    setFsHooks(this.device.core, this.hooks);
    this.attachedTo = fsState;
  }

  /** What the engine asks of this thread: its problems thrown as FsErrors; no heals here. */
  private readonly hooks: FsHooks = {
    fail: (errno) => {
      const record = readProblem(this.m, this.threadArea + TA_PROBLEMS);
      const visible = this.device.core.pmem_region(REGION.visible);
      const nodeBytes = this.m.u32(this.attachedTo + F_NODE_BYTES);
      const text = record.code < 60
        ? blockProblemText(this.m, record, visible + record.bytenr + record.copy * nodeBytes)
        : engineProblemText(this.m, record, this.threadArea + TA_KEY);
      throw new FsError(errnoName(-errno), text);
    },
    heal: (bytenr) => {
      throw new FsError(
        'EAGAIN',
        `tree block ${bytenr}: its first copy needs healing from the second; read it on the `
          + `thread that mounted the file system`,
      );
    },
  };

  private readLocked(req: ReadRequest): Uint8Array {
    const core = this.device.core, m = this.m;
    const slot = this.rootSlot(req.tree);
    const root = m.u64(slot + RS_ROOT), level = m.u32(slot + RS_LEVEL);
    if (core.ctree_lookup(req.tree, root, level, req.ino, INODE_ITEM, 0) !== 1) {
      throw new FsError('ENOENT', `no inode ${req.ino} in subvolume ${req.tree}`);
    }
    const item = m.u32(this.threadArea + TA_RESULT + CR_DATA);
    if (m.u32(this.threadArea + TA_RESULT + CR_SIZE) !== INODE_ITEM_BYTES) {
      throw new FsError('EUCLEAN', `inode ${req.ino}: item of a bad size`);
    }
    requireRegular(kindOfMode(m.u32(item + INODE_MODE)), `inode ${req.ino}`);
    const size = m.u64(item + INODE_SIZE);
    const datasum = (m.u64(item + INODE_FLAGS) & INODE_FLAG_NODATASUM) === 0;
    const end = Math.min(size, req.offset + req.length);
    const out = new Uint8Array(Math.max(0, end - req.offset));
    const scratch = this.device.scratch().subarray(this.scratchFrom);
    // Pages stored through a mapping in this transaction wait for their checksums until the
    // commit (docs/dax.md, thread 002): a range holding one is read without verifying.
    const flags = req.verify && datasum && !this.pendingIn(req, end) ? READ_VERIFY : 0;
    const csumRoot = m.u64(this.attachedTo + F_CSUM_ROOT);
    const csumLevel = m.u32(this.attachedTo + F_CSUM_LEVEL);
    for (let at = req.offset; at < end; at += scratch.byteLength) {
      const n = Math.min(scratch.byteLength, end - at);
      const r = core.file_read(
        req.tree, root, level, csumRoot, csumLevel, req.ino, at, n, scratch.byteOffset, flags,
      );
      if (r < 0) {
        throw new FsError('EINVAL', `read of inode ${req.ino} at ${at}: bad arguments (${r})`);
      }
      out.set(scratch.subarray(0, n), at - req.offset);
    }
    return out;
  }

  /** Does the shared dirty-page table hold a page of this file in [req.offset, end)? */
  private pendingIn(req: ReadRequest, end: number): boolean {
    return anyPageIn(
      dirtyFilePages(this.m, req.dax ?? 0, req.tree, req.ino), req.offset, end, PAGE_BYTES,
    );
  }

  /** The root-table slot of subvolume tree `tree`. */
  private rootSlot(tree: number): number {
    const slot = this.device.core.fs_root_slot(tree);
    if (slot < 0) throw new FsError('EINVAL', `subvolume ${tree}: bad id (${slot})`);
    if (slot === 0) throw new FsError('ENOENT', `no subvolume ${tree} in the file system`);
    return slot;
  }
}

function checkRequest(req: ReadRequest): void {
  const ok = req !== null && typeof req === 'object'
    && [
      req.fsState, req.tree, req.ino, req.offset, req.length,
    ].every((v) => Number.isSafeInteger(v) && v >= 0)
    && req.length <= MAX_READ_BYTES && req.offset + req.length <= MAX_FILE_BYTES
    && typeof req.verify === 'boolean'
    && (req.dax === undefined || (Number.isSafeInteger(req.dax) && req.dax >= 0));
  if (!ok) throw new FsError('EINVAL', 'bad read request');
}
