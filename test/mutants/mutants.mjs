// Crash-consistency mutants of pmcow: each is a small patch to the TypeScript sources of
// the file system (src/fs), DAX (src/dax), the device (src/pmem) or the writer threads
// (src/workers) that injects one bug of a class crash-consistency testers have found in
// real file systems. `npm run mutants` (test/mutants/run.mjs) applies each in a copy of
// dist/, runs `pmcow fuzz` on it and reports whether, and how fast, it is found.
// docs/mutants.md describes the fields and the score.
//
// A patch is a list of { find, replace } applied in order to the text of `file`; each
// `find` must occur exactly once in the text it is applied to (test/mutants.test.ts
// checks this against the current sources, so a mutant never rots silently).

/** Source lines joined with newlines (keeps multi-line finds readable). */
const L = (...lines) => lines.join('\n');

// Papers and sources the mutants are modelled on (short names used below).
const CRASHMONKEY = 'CrashMonkey/ACE (Mohan et al., OSDI 2018)';
const CHIPMUNK = 'Chipmunk (LeBlanc et al., EuroSys 2023)';
const VINTER = 'Vinter (Kalbfleisch et al., USENIX ATC 2022)';
const SILHOUETTE = 'Silhouette (FAST 2024)';
const YAT = 'Yat (Lantz et al., USENIX ATC 2014)';

/** @type {Array<{ id: string, class: string, description: string, modelledOn: string, file: string, patches: Array<{ find: string, replace: string }> }>} */
export const mutants = [
  // --- the commit protocol: flushes, fences, order ------------------------------------
  {
    id: 'commit-no-flush-tree-blocks',
    class: 'missing-flush',
    description: 'Commit stores every new tree block but never writes it back (no clwb): the superblock becomes durable while the blocks it points at may still sit in the cache.',
    modelledOn: `${CHIPMUNK}: missing cache-line flushes of new metadata before the commit point; ${VINTER}: crash-consistency bugs from unflushed metadata in PM file systems`,
    file: 'assembly/fs/transaction.ts',
    patches: [{
      find: L(
        '      deviceStoreLines(<u32>at, buffer, nodeBytes, false);',
        '      deviceFlush(<u32>at, nodeBytes, FLUSH_CLWB);',
      ),
      replace: '      deviceStoreLines(<u32>at, buffer, nodeBytes, false); // MUTANT: no write-back',
    }],
  },
  {
    id: 'commit-no-fence-before-superblock',
    class: 'missing-fence',
    description: 'No sfence between the write-back of the tree blocks and data and the superblock copies, nor between the two copies (one fence after both): the primary may reach media before the blocks it points at, and both copies may be torn at once.',
    modelledOn: `${CHIPMUNK}: missing store fence between the write-back of data/metadata and the store that commits it; ${YAT}: ordering bugs in PMFS`,
    file: 'src/fs/kernel.ts',
    patches: [
      {
        find: L(
          '    for (const [bytenr, bytes] of this.dirtyData) {',
          "      check(core.pmem_flush(bytenr, bytes, 0), 'flush data');",
          '    }',
          '    this.device.sfence();',
          '    // The alternate copy first, then the primary, each fenced (superblock.ts: every crash',
        ),
        replace: L(
          '    for (const [bytenr, bytes] of this.dirtyData) {',
          "      check(core.pmem_flush(bytenr, bytes, 0), 'flush data');",
          '    }',
          '    // The alternate copy first, then the primary, each fenced (superblock.ts: every crash',
        ),
      },
      {
        find: L(
          "    check(core.pmem_flush(offset, SUPERBLOCK_BYTES, 0), 'flush superblock');",
          '    this.device.sfence();',
          '  }',
        ),
        replace: L(
          "    check(core.pmem_flush(offset, SUPERBLOCK_BYTES, 0), 'flush superblock');",
          '  }',
        ),
      },
      {
        find: L(
          '    this.writeSuperblockCopy(primary);',
          '  }',
        ),
        replace: L(
          '    this.writeSuperblockCopy(primary);',
          '    this.device.sfence();',
          '  }',
        ),
      },
    ],
  },
  {
    id: 'commit-superblock-first',
    class: 'wrong-order',
    description: 'Commit writes, flushes and fences the superblock first and the tree blocks and data after it: for a while the durable superblock points at blocks that are not written yet.',
    modelledOn: `${CHIPMUNK}: commit record durable before the data it commits (write-ordering bugs); the ordering every journaling or COW file system enforces between its blocks and its commit block or superblock`,
    file: 'src/fs/kernel.ts',
    patches: [
      {
        find: L(
          '  private writeAndFlush(): void {',
          '    const core = this.device.core;',
        ),
        replace: L(
          '  private writeAndFlush(): void {',
          '    const core = this.device.core;',
          '    const [first, second] = superblockOffsets(this.totalBytes);',
          '    this.writeSuperblockCopy(second);',
          '    this.writeSuperblockCopy(first);',
        ),
      },
      {
        find: L(
          '    const [primary, alternate] = superblockOffsets(this.totalBytes);',
          '    this.writeSuperblockCopy(alternate);',
          '    this.writeSuperblockCopy(primary);',
          '  }',
        ),
        replace: '  }',
      },
    ],
  },
  {
    id: 'commit-no-flush-superblock',
    class: 'missing-flush',
    description: 'The new superblock is stored and fenced but never written back: a commit (and every fsync) returns before it is durable, and media may keep a superblock two generations old whose blocks were reused.',
    modelledOn: `${CHIPMUNK}: missing flush of the pointer whose store commits an update (log tail, superblock); ${CRASHMONKEY}: fsync returning before its changes are durable`,
    file: 'src/fs/kernel.ts',
    patches: [{
      find: L(
        "    check(core.pmem_store(offset, sb, SUPERBLOCK_BYTES, 0), 'write superblock');",
        "    check(core.pmem_flush(offset, SUPERBLOCK_BYTES, 0), 'flush superblock');",
      ),
      replace: "    check(core.pmem_store(offset, sb, SUPERBLOCK_BYTES, 0), 'write superblock');",
    }],
  },
  {
    id: 'commit-no-flush-dirty-data',
    class: 'missing-flush',
    description: 'Commit writes back the tree blocks but not the data extents written in the transaction (dirtyData): committed extent items and checksums point at data still in the cache.',
    modelledOn: `${CRASHMONKEY}: data=ordered violations, metadata durable before the file data it points at; ${CHIPMUNK}: missing flush of file data in write paths (NOVA, WineFS)`,
    file: 'src/fs/kernel.ts',
    patches: [{
      find: L(
        '    for (const [bytenr, bytes] of this.dirtyData) {',
        "      check(core.pmem_flush(bytenr, bytes, 0), 'flush data');",
        '    }',
        '    this.device.sfence();',
      ),
      replace: '    this.device.sfence();',
    }],
  },
  {
    id: 'commit-flush-data-first-sector',
    class: 'missing-flush',
    description: 'The write-back range of dirty data is computed wrong: only the first 4 KiB sector of each written extent is flushed at commit.',
    modelledOn: `${CHIPMUNK}: flush of a wrong or partial range (flush length computed from the wrong size); ${VINTER}: partially persisted data`,
    file: 'src/fs/kernel.ts',
    patches: [{
      find: '    this.dirtyData.push([bytenr, bytes]);',
      replace: '    this.dirtyData.push([bytenr, Math.min(bytes, SECTOR_BYTES)]);',
    }],
  },
  {
    id: 'commit-superblock-single-slot',
    class: 'in-place-update',
    description: 'Every commit overwrites the primary superblock in place and never the alternate copy: a torn primary fails its checksum and mount falls back to the alternate, the mkfs superblock, whose blocks were long reused.',
    modelledOn: `${CHIPMUNK}: in-place update of a structure that must change atomically (PMFS/NOVA superblock and inode updates); ${SILHOUETTE}: updates that bypass the file system's own consistency mechanism`,
    file: 'src/fs/kernel.ts',
    patches: [{
      find: '    this.writeSuperblockCopy(alternate);\n',
      replace: '',
    }],
  },
  // --- mount: which superblock ---------------------------------------------------------
  {
    id: 'mount-alternate-only',
    class: 'recovery',
    description: 'Mount reads only the alternate superblock: a crash that tore the alternate (the first copy a commit writes) leaves a device with a valid primary that does not mount.',
    modelledOn: `${CHIPMUNK}: recovery code that rebuilds state from stale metadata; ${VINTER}: recovery bugs in PM file systems`,
    file: 'src/fs/superblock.ts',
    patches: [{
      find: '  return read(0) ?? read(1);',
      replace: '  return read(1);',
    }],
  },
  {
    id: 'mount-ignores-superblock-csum',
    class: 'recovery',
    description: 'Mount no longer checks the superblock checksum: a superblock torn at 8-byte words (a new generation over old tree roots, say) is mounted.',
    modelledOn: `${CHIPMUNK}: recovery trusting a structure that may be torn at 8-byte granularity (wrong atomicity assumptions); ${VINTER}: torn-write bugs`,
    file: 'src/fs/superblock.ts',
    patches: [{
      find: L(
        '  if (crc(bytes.subarray(SB_CSUM_START)) !== dv.getUint32(SB_CSUM, true)) return null;',
      ),
      replace: '  // MUTANT: the superblock checksum is not checked.',
    }],
  },
  // --- freed space --------------------------------------------------------------------
  {
    id: 'free-tree-block-unpinned',
    class: 'early-reuse',
    description: 'A tree block whose last reference goes during the commit is free at once instead of pinned until the new superblock is durable: later copies of the same commit can be written over a block the durable tree still uses.',
    modelledOn: `btrfs: extents freed in a transaction stay pinned until it commits, else a crash finds the old tree over reused blocks; ${CHIPMUNK}: space freed and reused before the freeing update is durable`,
    file: 'assembly/fs/extent-tree.ts',
    patches: [
      {
        find: 'import { pin } from "./free-space";',
        replace: 'import { pin, addFree } from "./free-space";',
      },
      {
        find: '  pinOrFail(target, metadataBlockBytes());',
        replace: '  addFree(target, metadataBlockBytes());',
      },
    ],
  },
  {
    id: 'free-data-extent-in-transaction',
    class: 'early-reuse',
    description: 'A committed data extent whose last reference is dropped becomes allocatable at once, inside the running transaction: the next write can store over data the durable tree still maps.',
    modelledOn: `${CHIPMUNK}: blocks freed and reallocated before the freeing operation is durable; btrfs: extents must stay pinned until the transaction that freed them commits`,
    file: 'assembly/fs/extent-tree.ts',
    patches: [
      {
        find: 'import { pin } from "./free-space";',
        replace: 'import { pin, addFree, anyFree } from "./free-space";\nimport { F_REFS, F_REF_SLOTS } from "../abi";',
      },
      {
        // At each tree operation's end (the pointer changes are in): every data extent that
        // lost its last reference goes back to the free space at once.
        find: L(
          'function dropCandidates(): void {',
          '  const list = threadArea() + TA_DROPS;',
        ),
        replace: L(
          'function dropCandidates(): void {',
          '  const table = <usize>load<u32>(fsBase + F_REFS);',
          '  for (let i: u32 = 0; i < load<u32>(fsBase + F_REF_SLOTS); i++) {',
          '    const e = table + <usize>i * REF_BYTES;',
          '    if (load<u32>(e + REF_TARGET) == 0 || (load<u32>(e + REF_FLAGS) & REF_DATA) == 0 || load<i32>(e + REF_DELTA) >= 0) continue;',
          '    const t = <u64>(load<u32>(e + REF_TARGET) - 1) << SECTOR_SHIFT, n = <u64>load<u32>(e + REF_BYTES_FIELD);',
          '    if (testBit(freshBitsAddr, <u32>(t >> SECTOR_SHIFT)) || extentRefs(t, true, n) != 0) continue;',
          '    if (!anyFree(<u32>(t >> SECTOR_SHIFT), <u32>((t + n) >> SECTOR_SHIFT))) addFree(t, n);',
          '  }',
          '  const list = threadArea() + TA_DROPS;',
        ),
      },
      {
        find: L(
          '    deleteCsums(target);',
          '    pinOrFail(target, bytes);',
        ),
        replace: L(
          '    deleteCsums(target);',
          '    if (!anyFree(<u32>(target >> SECTOR_SHIFT), <u32>((target + bytes) >> SECTOR_SHIFT))) pinOrFail(target, bytes);',
        ),
      },
    ],
  },
  {
    id: 'allocator-overlap',
    class: 'allocator',
    description: 'The data allocator hands out a run but keeps its last sector in the free list: the next allocation overlaps the previous extent by one sector.',
    modelledOn: `${CHIPMUNK}: allocator and free-list bugs that hand out a block twice; btrfs free-space-cache corruption leading to overlapping extents`,
    file: 'assembly/fs/free-space.ts',
    patches: [{
      find: '  take(<u32>found, count);',
      replace: '  take(<u32>found, count > 1 ? count - 1 : count);',
    }],
  },
  // --- checksums ----------------------------------------------------------------------
  {
    id: 'freed-extent-keeps-csum',
    class: 'checksum',
    description: 'Dropping the last reference to a data extent no longer deletes its EXTENT_CSUM item: stale checksums outlive the extent and cover whatever reuses the space.',
    modelledOn: 'btrfs: outdated checksums left in the csum tree after the extent is freed (cf. the fix "btrfs: fix csum tree corruption, duplicate and outdated checksums"), seen by scrub as csum errors on reused space',
    file: 'assembly/fs/extent-tree.ts',
    patches: [{
      find: '    deleteCsums(target);\n',
      replace: '',
    }],
  },
  {
    id: 'data-csum-before-store',
    class: 'checksum',
    description: 'A datacow write computes the checksums of its new extent before storing the data into it: the checksums cover the stale bytes the space held.',
    modelledOn: 'btrfs: data checksums computed over bytes that change before the write (direct-IO/mmap csum mismatches); thread 002 of docs/dax.md (stale checksums)',
    file: 'src/fs/file-data.ts',
    patches: [{
      find: L(
        '      this.k.device.store(ext.bytenr, chunk);',
        '      this.k.noteDirtyData(ext.bytenr, ext.bytes);',
        '      if (datasum) this.insertCsums(ext.bytenr, ext.bytes);',
      ),
      replace: L(
        '      if (datasum) this.insertCsums(ext.bytenr, ext.bytes);',
        '      this.k.device.store(ext.bytenr, chunk);',
        '      this.k.noteDirtyData(ext.bytenr, ext.bytes);',
      ),
    }],
  },
  {
    id: 'data-csum-short-range',
    class: 'checksum',
    description: 'The checksum computation covers one sector less than the extent: the last checksum of every multi-sector extent is whatever the staging area held.',
    modelledOn: 'checksum computed over the wrong range (off-by-one in the sector count); btrfs csum-range bugs',
    file: 'src/fs/file-data.ts',
    patches: [{
      find: L(
        '    const r = this.k.device.core.csum_sectors_compute(this.k.visibleAddr + bytenr, sectors,',
        '      SECTOR_BYTES, staging);',
      ),
      replace: L(
        '    const r = this.k.device.core.csum_sectors_compute(this.k.visibleAddr + bytenr,',
        '      Math.max(1, sectors - 1), SECTOR_BYTES, staging);',
      ),
    }],
  },
  {
    id: 'dup-second-copy-not-written',
    class: 'metadata-redundancy',
    description: 'With the dup metadata profile, commit writes only the first copy of each tree block: the second copy is stale, so healing from it restores old metadata.',
    modelledOn: 'btrfs DUP profile: a mirror copy not written, so the redundant copy diverges and a repair from it restores stale metadata',
    file: 'assembly/fs/transaction.ts',
    patches: [{
      find: '    for (let copy: u32 = 0; copy < copies; copy++) {',
      replace: '    for (let copy: u32 = 0; copy < 1; copy++) { // MUTANT: the first copy only',
    }],
  },
  // --- fsync ------------------------------------------------------------------------------
  {
    id: 'fsync-commits-nothing',
    class: 'fsync-durability',
    description: 'fsync checks its descriptor and returns without committing: nothing written since the last commit is durable when it returns.',
    modelledOn: `${CRASHMONKEY}: fsync not persisting the file (btrfs, F2FS and ext4 bugs where data or size written before fsync is lost after a crash)`,
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: L(
        '  fsync(fd: number): void {',
        '    this.fd(fd);',
        '    this.k.commit();',
        '  }',
      ),
      replace: L(
        '  fsync(fd: number): void {',
        '    this.fd(fd);',
        '  }',
      ),
    }],
  },
  // --- namespace: rename, link counts ---------------------------------------------------
  {
    id: 'rename-not-atomic',
    class: 'atomicity',
    description: 'rename commits after removing the old name and before adding the new one: a crash after that commit finds the file under neither name.',
    modelledOn: `${CRASHMONKEY}: btrfs rename atomicity bugs (file missing under both names after rename + fsync + crash); ${VINTER}: non-atomic rename in NOVA/PMFS`,
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: L(
        '    const entry = this.removeEntry(sp);',
        '    const index = this.addEntry(dp, entry.location, entry.kind);',
      ),
      replace: L(
        '    const entry = this.removeEntry(sp);',
        '    this.k.commit();',
        '    const index = this.addEntry(dp, entry.location, entry.kind);',
      ),
    }],
  },
  {
    id: 'rename-keeps-old-name',
    class: 'atomicity',
    description: 'rename adds the new name but never removes the old one: both names survive (and the inode has one link more than nlink says).',
    modelledOn: `${CRASHMONKEY}: btrfs bugs where both the old and the new name exist after rename + crash (log replay of renames)`,
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: '    const entry = this.removeEntry(sp);',
      replace: '    const entry = this.lookupEntry(sp.sv, sp.dir, sp.name)!;',
    }],
  },
  {
    id: 'rename-over-file-keeps-link',
    class: 'link-count',
    description: 'rename over an existing file removes the victim\'s name but does not drop its link: the victim inode survives with nlink 1 and no name.',
    modelledOn: `${CRASHMONKEY}: wrong link counts after rename/link + fsync + crash (btrfs); fsck-detected nlink mismatches`,
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: L(
        '      } else {',
        '        this.dropLink(victim.sv, victim.ino);',
        '      }',
      ),
      replace: '      }',
    }],
  },
  {
    id: 'link-nlink-not-incremented',
    class: 'link-count',
    description: 'link adds the new name without raising nlink: unlinking either name deletes the inode while the other name still points at it.',
    modelledOn: `${CRASHMONKEY}: btrfs link count not persisted or wrong after link + fsync + crash`,
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: L(
        '    inode.nlink += 1;',
        '    this.putInode(r.sv, r.ino, inode);',
      ),
      replace: '    this.putInode(r.sv, r.ino, inode);',
    }],
  },
  {
    id: 'unlink-nlink-off-by-one',
    class: 'link-count',
    description: 'Dropping a link of a file with several links subtracts two: the next unlink deletes an inode that still has a name.',
    modelledOn: `${CRASHMONKEY}: link-count off-by-one bugs (btrfs/F2FS hard links after fsync and crash)`,
    file: 'src/fs/fs-base.ts',
    patches: [{
      find: L(
        '    inode.nlink -= 1;',
        '    if (inode.nlink > 0) { this.putInode(sv, ino, inode); return; }',
      ),
      replace: L(
        '    inode.nlink -= inode.nlink > 1 ? 2 : 1;',
        '    if (inode.nlink > 0) { this.putInode(sv, ino, inode); return; }',
      ),
    }],
  },
  // --- truncate, extend, punch, zero, fallocate ---------------------------------------
  {
    id: 'truncate-no-eof-zeroing',
    class: 'stale-data-exposure',
    description: 'truncate never zeroes the partial sector at EOF, neither when it shrinks the file (the rest of the sector keeps the old bytes) nor when it grows it: truncate down then up exposes the old bytes.',
    modelledOn: 'ext4/XFS post-EOF zeroing bugs (stale data exposed by truncate down + extend, found by fsx and generic/ tests); ' + CRASHMONKEY + ': truncate + extend workloads',
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: L(
        '      if (tailEnd > size && this.data.extents(r.sv, r.ino, size, tailEnd).length) {',
        '        this.data.write(r.sv, r.ino, inode, new Uint8Array(tailEnd - size), size);',
        '      }',
      ),
      replace: '      void tailEnd; // MUTANT: the partial tail sector keeps its old bytes',
    }, {
      find: L(
        '    this.zeroPastEof(r.sv, r.ino, size);',
        '    const current = this.inode(r.sv, r.ino);',
      ),
      replace: '    const current = this.inode(r.sv, r.ino);',
    }],
  },
  {
    id: 'truncate-keeps-blocks-past-eof',
    class: 'stale-data-exposure',
    description: 'Truncating down keeps the extents past the new EOF: a later extend (truncate up, a write past EOF) shows the old data instead of zeros.',
    modelledOn: 'ext4/XFS extend-not-zeroing bugs (blocks beyond EOF not freed or zeroed, exposed by a later extend; fsx)',
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: '      this.data.drop(r.sv, r.ino, alignUp(size), MAX_KEY_VALUE);\n      const tailEnd',
      replace: '      const tailEnd',
    }],
  },
  {
    id: 'write-extend-no-zero-past-eof',
    class: 'stale-data-exposure',
    description: 'A write past EOF no longer zeroes the bytes between the old EOF and the end of its sector first: what a store through a mapping put past EOF becomes file data.',
    modelledOn: 'xfstests generic/029 and generic/499 (data written through mmap past EOF must not appear when the file is extended); ext4/XFS partial-EOF-block zeroing bugs',
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: '    this.zeroPastEof(sv, ino, offset + bytes.length);\n',
      replace: '',
    }],
  },
  {
    id: 'punch-zero-keep-partial-sectors',
    class: 'stale-data-exposure',
    description: 'punchHole and zeroRange unmap the whole sectors of the range but no longer write zeros over its partial first and last sectors.',
    modelledOn: `${CRASHMONKEY}: punch hole / zero range not persisted or leaving data (ext4, F2FS, btrfs); fsx punch-hole data checks`,
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: L(
        '    zeroPart(from, headEnd);',
        '    zeroPart(Math.max(headEnd, innerEnd), to);',
      ),
      replace: '    // MUTANT: the partial edge sectors are left as they were',
    }],
  },
  {
    id: 'punch-hole-keeps-blocks',
    class: 'stale-data-exposure',
    description: 'punchHole zeroes the partial edge sectors but never unmaps the whole sectors in between: the punched range still reads the old data.',
    modelledOn: `${CRASHMONKEY}: btrfs/ext4 punch hole bugs (data still present after punch hole + fsync + crash)`,
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: L(
        '    this.data.drop(r.sv, r.ino, innerStart, innerEnd);',
        '    if (prealloc) this.data.preallocate(r.sv, r.ino, innerStart, innerEnd);',
      ),
      replace: '    if (prealloc) { this.data.drop(r.sv, r.ino, innerStart, innerEnd); this.data.preallocate(r.sv, r.ino, innerStart, innerEnd); }',
    }],
  },
  {
    id: 'zero-range-keeps-blocks',
    class: 'stale-data-exposure',
    description: 'zeroRange preallocates the whole sectors of the range without unmapping the written extents there first: preallocate only fills holes, so the old data stays.',
    modelledOn: `${CRASHMONKEY}: F2FS/ext4 zero-range bugs (FALLOC_FL_ZERO_RANGE leaving data or wrong size after crash)`,
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: L(
        '    this.data.drop(r.sv, r.ino, innerStart, innerEnd);',
        '    if (prealloc) this.data.preallocate(r.sv, r.ino, innerStart, innerEnd);',
      ),
      replace: L(
        '    if (!prealloc) this.data.drop(r.sv, r.ino, innerStart, innerEnd);',
        '    if (prealloc) this.data.preallocate(r.sv, r.ino, innerStart, innerEnd);',
      ),
    }],
  },
  {
    id: 'prealloc-read-returns-disk',
    class: 'stale-data-exposure',
    description: 'Reads of nodatasum files return the device bytes of preallocated (unwritten) extents instead of zeros: whatever freed data the space held.',
    modelledOn: 'ext4/XFS unwritten-extent stale data exposure (reads of fallocated blocks returning old disk contents); ' + CRASHMONKEY + ': fallocate workloads',
    file: 'assembly/fs/inode.ts',
    patches: [{
      find: '    if (<u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_REG) {',
      replace: '    if (<u32>load<u8>(item + FE_TYPE) == EXTENT_TYPE_REG || !verify) { // MUTANT: nodatasum files read preallocated extents raw',
    }],
  },
  {
    id: 'prealloc-write-not-converted',
    class: 'stale-data-exposure',
    description: 'A nodatacow write into a preallocated extent stores the data in place but leaves the extent marked preallocated: the written data reads back as zeros.',
    modelledOn: `${CRASHMONKEY}: unwritten extent not converted after a write + fsync (ext4/F2FS data lost after crash)`,
    file: 'src/fs/file-data.ts',
    patches: [{
      find: L(
        '        if (e.type === EXTENT_TYPE_PREALLOC) {',
        '          this.drop(sv, ino, from, to',
      ),
      replace: L(
        '        if (e.type === EXTENT_TYPE_PREALLOC && !nodatacow) { // MUTANT: nodatacow fills stay preallocated',
        '          this.drop(sv, ino, from, to',
      ),
    }],
  },
  // --- reflink, snapshots, nodatacow ---------------------------------------------------
  {
    id: 'clone-range-misses-last-block',
    class: 'reflink',
    description: 'cloneRange unmaps the whole target range but shares the source extents only up to one block before its end: the last block of every clone reads as zeros.',
    modelledOn: 'XFS/btrfs reflink off-by-one bugs at the end of the cloned range (clone_range/FICLONERANGE, fsx clone_range tests)',
    file: 'src/fs/file-data.ts',
    patches: [{
      find: L(
        '    const pieces = this.extents(src, srcIno, srcOff, srcOff + length).map(({ fileOffset, e }) => {',
        '      const from = Math.max(srcOff, fileOffset);',
        '      const to = Math.min(srcOff + length, fileOffset + e.bytes);',
      ),
      replace: L(
        '    const pieces = this.extents(src, srcIno, srcOff, srcOff + length - SECTOR_BYTES).map(({ fileOffset, e }) => {',
        '      const from = Math.max(srcOff, fileOffset);',
        '      const to = Math.min(srcOff + length - SECTOR_BYTES, fileOffset + e.bytes);',
      ),
    }],
  },
  {
    id: 'nodatacow-reflink-in-place',
    class: 'cow-sharing',
    description: 'canOverwriteExtent ignores references from other files: a nodatacow write to a reflinked extent goes in place and changes the clone too.',
    modelledOn: 'btrfs: NOCOW writes into extents shared by reflink (can_nocow_extent / cross-reference checks); thread 003 of docs/dax.md',
    file: 'src/fs/file-data.ts',
    patches: [{
      find: '    if (refs !== mine.length) return false;\n',
      replace: '',
    }],
  },
  {
    id: 'nodatacow-snapshot-in-place',
    class: 'cow-sharing',
    description: 'A snapshot no longer records its generation as the source\'s last snapshot: nodatacow writes after the snapshot go in place into extents the snapshot shares.',
    modelledOn: 'btrfs: nodatacow writes after a snapshot must COW once (last_snapshot/root generation check); thread 000 of docs/dax.md (snapshots that keep changing)',
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: '    src.sv.lastSnapshot = this.k.transid;\n',
      replace: '',
    }],
  },
  {
    id: 'snapshot-no-commit-first',
    class: 'cow-sharing',
    description: 'snapshot shares the source root without committing first: the root may be a dirty buffer that later changes of the source (the snapshot\'s own directory entry, to begin with) modify in place.',
    modelledOn: 'btrfs snapshot creation must flush pending changes and take the committed root (create_pending_snapshot); snapshot including changes made after it',
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: L(
        '    // The snapshot shares the committed tree: commit first so that the source root is clean.',
        '    this.k.commit();',
      ),
      replace: '    // MUTANT: no commit: the snapshot may share a dirty root.',
    }],
  },
  {
    id: 'snapshot-root-ref-missing',
    class: 'refcount',
    description: 'the snapshot\'s copy of the source root (btrfs_copy_root) counts no reference for the blocks it points at: the source\'s next copies free blocks the snapshot still uses.',
    modelledOn: 'btrfs snapshot/backref refcount bugs (shared tree block freed while another root still points at it)',
    file: 'assembly/fs/ctree.ts',
    patches: [{
      find: '  reportPointers(copy, next, 0, nritems(copy), 1);\n  refChange(ROOT_POINTER, next, treeId, <i32>treeLevel, 0, 1);\n',
      replace: '  refChange(ROOT_POINTER, next, treeId, <i32>treeLevel, 0, 1);\n',
    }],
  },
  {
    id: 'delete-subvolume-leaks-refs',
    class: 'refcount',
    description: 'deleteSubvolume removes the ROOT_ITEM and the names but not the root pointer\'s reference: the whole tree and its data stay allocated forever.',
    modelledOn: 'btrfs subvolume deletion leaking extents (orphan roots never cleaned, refcounts left behind); fsck refcount mismatches',
    file: 'src/fs/fs-namespace.ts',
    patches: [{
      find: '    this.k.pointerRemoved(-1, r.sv.tree.root, r.sv.tree, r.sv.tree.level);\n',
      replace: '',
    }],
  },
  {
    id: 'pwrite-no-invalidate',
    class: 'dax-invalidation',
    description: 'pwrite changes the file\'s extent map without invalidating the DAX mappings of the range: mappings keep storing into the old, soon freed block.',
    modelledOn: 'Linux DAX: write(2) must invalidate mapped DAX entries of the range (generic/428-style stale mapping bugs); thread 003 of docs/dax.md',
    file: 'src/fs/fs-files.ts',
    patches: [{
      find: '      this.rangeChanged(sv, ino, offset + done, offset + done + chunk);\n',
      replace: '',
    }],
  },
  // --- DAX -----------------------------------------------------------------------------
  {
    id: 'dax-commit-no-writeback',
    class: 'dax-durability',
    description: 'Commit checksums the pages dirtied through mmap but no longer adds them to the data written back: fsync/commit of a DAX file leaves its mmap stores in the cache.',
    modelledOn: 'Linux DAX fsync/msync writeback of dirty entries (dax_writeback_mapping_range bugs: dirty DAX pages not flushed on fsync); ' + CHIPMUNK + ': missing flush in ext4-DAX/XFS-DAX paths',
    file: 'src/dax/manager.ts',
    patches: [{
      find: L(
        '      this.kernel.noteExtentsChanged(d.tree, d.ino);',
        '      this.kernel.noteDirtyData(d.block * PAGE_BYTES, PAGE_BYTES);',
      ),
      replace: '      this.kernel.noteExtentsChanged(d.tree, d.ino);',
    }],
  },
  {
    id: 'map-sync-fill-not-durable',
    class: 'dax-durability',
    description: 'A MAP_SYNC write fault commits the metadata only when it COWs an existing block: a fault that fills a hole or converts a preallocated block returns with the new extent item not durable.',
    modelledOn: 'Linux MAP_SYNC: a synchronous fault must make the block allocation / unwritten conversion durable before mapping (IOMAP_F_DIRTY, dax_finish_sync_fault); thread 004 of docs/dax.md',
    file: 'src/dax/manager.ts',
    patches: [{
      find: '    if (mapping.sync && this.policy.mapSyncDurableFault) {',
      replace: '    if (mapping.sync && this.policy.mapSyncDurableFault && oldDisk >= 0) {',
    }],
  },
  {
    id: 'snapshot-wp-no-shootdown',
    class: 'dax-write-protect',
    description: 'Before a snapshot, the source\'s mappings are write-protected in the page tables but the TLBs are not shot down: a thread keeps its cached writable translation and stores in place into blocks the snapshot now shares.',
    modelledOn: 'thread 000 of docs/dax.md (a snapshot of a DAX file keeps changing); Linux: write-protecting PTEs without flushing the TLB (missing flush_tlb after page_mkclean/change_protection, a recurring mm bug class)',
    file: 'src/dax/manager.ts',
    patches: [{
      find: L(
        '      for (let p = 0; p < mapping.pages; p++) changed = this.writeProtect(mapping, p) || changed;',
        '    }',
        '    this.shootdown(changed);',
        '    // Its COWed pages are shared now: the next store COWs again.',
      ),
      replace: L(
        '      for (let p = 0; p < mapping.pages; p++) changed = this.writeProtect(mapping, p) || changed;',
        '    }',
        '    void changed; // MUTANT: no shootdown',
        '    // Its COWed pages are shared now: the next store COWs again.',
      ),
    }],
  },
  {
    id: 'freeze-fault-not-blocked',
    class: 'dax-write-protect',
    description: 'A write fault on the owning thread no longer fails while the file system is frozen: the store that freeze write-protected faults, gets its page (a COW, a hole fill) and reaches the device during the freeze.',
    modelledOn: 'thread 001 of docs/dax.md (freeze does not stop DAX stores); Linux: DAX page faults must take freeze protection (sb_start_pagefault), fixed in ext4/XFS DAX fault paths',
    file: 'src/dax/manager.ts',
    patches: [{
      find: L(
        '    if (write && this.frozen) {',
        "      throw new FsError('EBUSY',",
        "        'file system is frozen: a store on this thread cannot wait for thaw');",
        '    }',
        '',
      ),
      replace: '',
    }],
  },
  {
    id: 'reflink-wp-first-mapping-only',
    class: 'dax-write-protect',
    description: 'A reflink write-protects only the first (mapping, page) the reverse map lists for each shared block: a second mapping of the same page keeps writing into the now shared block.',
    modelledOn: 'thread 003 of docs/dax.md (reflinked pages two files scribble on; the reverse map must name every mapping); Linux DAX rmap for shared extents',
    file: 'src/dax/manager.ts',
    patches: [{
      find: '        for (const { mapping, page } of this.reverseMap(block)) {',
      replace: '        for (const { mapping, page } of this.reverseMap(block).slice(0, 1)) {',
    }],
  },
  {
    id: 'rmap-remove-forgets-block',
    class: 'dax-invalidation',
    description: 'When one mapping\'s entry for a block goes, the reverse map forgets every mapping of that block: later write-protects and invalidations miss the others.',
    modelledOn: 'thread 003 of docs/dax.md (reverse map of shared DAX blocks); Linux page->mapping/index single-owner assumption for shared DAX pages',
    file: 'assembly/dax/tables.ts',
    patches: [{
      find: L(
        '      store<u32>(link, load<u32>(nodeOf(at) + RN_NEXT));',
        '      break;',
      ),
      replace: L(
        '      store<u32>(head, 0); // MUTANT: the whole list goes',
        '      break;',
      ),
    }],
  },
  {
    id: 'cow-fault-stale-cowed',
    class: 'in-place-update',
    description: 'Commit forgets to clear the record of pages COWed in the transaction: after the commit, a write fault on such a page is served in place, into the block the commit just made durable.',
    modelledOn: 'thread 002 of docs/dax.md (COW once per transaction); ' + SILHOUETTE + ': in-place updates that bypass the copy-on-write mechanism',
    file: 'src/dax/manager.ts',
    patches: [{
      find: "    check(this.kernel.core.dax_dirty_clear(), 'clear the dirty pages');",
      replace: "    for (const d of dirtied) if ((d.flags & DRF_COWED) === 0) check(this.kernel.core.dax_dirty_drop(d.block), 'drop a dirty page');",
    }],
  },
  {
    id: 'dax-hole-fill-not-zeroed',
    class: 'stale-data-exposure',
    description: 'A write fault on a hole maps a newly allocated block without zeroing it: the parts of the page not stored to show whatever the block held before.',
    modelledOn: 'ext4/XFS DAX: blocks allocated by a write fault must be zeroed before they are mapped (EXT4_GET_BLOCKS_ZERO, IOMAP_F_NEW), else stale data is exposed',
    file: 'assembly/dax/fault.ts',
    patches: [{
      find: L(
        '    memory.fill(zeros, 0, PAGE_BYTES);',
        '    deviceStoreLines(<u32>disk, zeros, PAGE_BYTES, false);',
      ),
      replace: '    void zeros; // MUTANT: the new block keeps what it held',
    }],
  },
  {
    id: 'dax-prealloc-fill-not-zeroed',
    class: 'stale-data-exposure',
    description: 'A write fault on a preallocated block converts it to a written extent without zeroing it first: the stale contents of the unwritten block become file data.',
    modelledOn: 'ext4/XFS DAX unwritten-extent conversion on fault without zeroing (stale data exposure through mmap of fallocated files)',
    file: 'src/dax/manager.ts',
    patches: [{
      find: L(
        '    this.storeZeros(disk);',
        '    if (datasum) this.putCsum(disk, target.extentBytenr, target.extentBytes);',
      ),
      replace: '    if (datasum) this.putCsum(disk, target.extentBytenr, target.extentBytes);',
    }],
  },
  {
    id: 'core-pwrite-csum-before-store',
    class: 'checksum',
    description: "pwrite's path in the core inserts a new page's checksum before it stores the data into the block: the checksum covers whatever the block held, and the page reads back as EIO.",
    modelledOn: 'btrfs: data checksums computed over bytes that change before the write (direct-IO/mmap csum mismatches); thread 002 of docs/dax.md (stale checksums)',
    file: 'assembly/fs/file.ts',
    patches: [{
      find: L(
        '  store(disk, src, SECTOR_BYTES);',
        '  // the block does not hold the bytes written',
        '  if (CHECKS) assert(memory.compare(visibleAddr + <usize>disk, src, SECTOR_BYTES) == 0);',
        '  if (datasum) csumInsertFresh(disk, SECTOR_BYTES);',
      ),
      replace: L(
        '  if (datasum) csumInsertFresh(disk, SECTOR_BYTES); // MUTANT: the checksum of what the block held',
        '  store(disk, src, SECTOR_BYTES);',
      ),
    }],
  },
  {
    id: 'dax-cow-fault-no-copy',
    class: 'cow-sharing',
    description: 'A COW write fault gives the page a new block but zeroes it instead of copying the old block: the rest of the page loses its data.',
    modelledOn: 'XFS DAX reflink COW fault (dax_iomap_cow_copy) copy bugs; ' + CHIPMUNK + ': partial copy on copy-on-write updates',
    file: 'assembly/dax/fault.ts',
    patches: [{
      find: '    deviceStoreLines(<u32>disk, visibleAddr + <usize>oldDisk, PAGE_BYTES, false);',
      replace: L(
        '    memory.fill(<usize>load<u32>(fsBase + F_STAGING), 0, PAGE_BYTES); // MUTANT: zeros, not the old page',
        '    deviceStoreLines(<u32>disk, <usize>load<u32>(fsBase + F_STAGING), PAGE_BYTES, false);',
      ),
    }],
  },
  {
    id: 'reflink-stale-csum',
    class: 'checksum',
    description: 'A reflink no longer brings the checksums of mmap-dirtied pages up to date before sharing them: the clone (and later the source) verify a checksum of old contents.',
    modelledOn: 'thread 002 of docs/dax.md (checksums that go stale under DAX stores); btrfs+DAX: data checksums not updated for mmap writes',
    file: 'src/dax/manager.ts',
    patches: [{
      find: L(
        '      if ((flags & DRF_DATASUM) && this.policy.commitChecksums) {',
        '        this.putCsum(block * PAGE_BYTES, m.u64(r + DR_EXTENT), m.u32(r + DR_EXTENT_BYTES));',
        '      }',
        '',
      ),
      replace: '',
    }],
  },
  {
    id: 'msync-no-commit',
    class: 'dax-durability',
    description: 'msync flushes and fences the range but does not commit: the data is durable, the metadata that reaches it (a COW fault\'s new extent) is not.',
    modelledOn: 'Linux DAX msync/fsync must persist the block mapping as well as the data (ext4-DAX/XFS-DAX msync bugs); ' + CRASHMONKEY + ': fsync-class durability',
    file: 'src/dax/mapping.ts',
    patches: [{
      find: L(
        '    this.fence();',
        '    this.manager.kernel.commit();',
      ),
      replace: '    this.fence();',
    }],
  },
  {
    id: 'mflush-ignores-short-range',
    class: 'missing-flush',
    description: 'A mapping flush of one cacheline or less returns without writing anything back: MAP_SYNC stores the application flushed and fenced are not durable.',
    modelledOn: `${CHIPMUNK}: flush helpers that skip or miscompute short ranges (missing clwb for the last/only cacheline); PMDK pmem_flush range bugs`,
    file: 'src/dax/mapping.ts',
    patches: [{
      find: '    if (n === 0) return;',
      replace: '    if (n <= 64) return;',
    }],
  },
  {
    id: 'zero-page-mapped-writable',
    class: 'dax-write-protect',
    description: 'A read fault on a hole of a writable mapping maps the shared zero page writable: a later store to the hole lands in the zero page (which every hole of every file reads through mappings) instead of faulting and allocating a block.',
    modelledOn: 'Linux DAX: holes are mapped read-only to the shared zero page and a write must fault to allocate (dax_load_hole, the DAX huge zero page bugs); thread 002 of docs/dax.md (read faults on holes, generic/428)',
    file: 'assembly/dax/fault.ts',
    patches: [{
      find: '  setPte(faultMapping, faultPage, block | PTE_PRESENT);',
      replace: '  setPte(faultMapping, faultPage, block | PTE_PRESENT | (block == ZERO_PAGE_BYTENR >> PAGE_SHIFT && (load<u32>(mappingEntry(faultMapping) + M_FLAGS) & MF_WRITE) != 0 ? PTE_WRITE : 0));',
    }],
  },
  // --- fallocate's promise ---------------------------------------------------------------
  {
    id: 'prealloc-write-needs-space',
    class: 'space-promise',
    description: 'Writes into preallocated space never fill it in place: every one asks the allocator for new space, so after fallocate a full file system fails them with ENOSPC.',
    modelledOn: 'xfstests generic/274 (preallocate, fill the fs, write into the preallocated range: must succeed); btrfs/170 (NOCOW writes into an unwritten extent); btrfs ENOSPC on writes into prealloc extents',
    file: 'src/fs/file-data.ts',
    patches: [{
      find: '    const fills: FileRange[] = [];',
      replace: '    const fills: FileRange[] = [];\n    if (fills.length === 0) return fills;',
    }],
  },
  {
    id: 'prealloc-fill-over-reader',
    class: 'cow-sharing',
    description: 'Filling preallocated space in place ignores the other items that read those bytes (a clone that filled them first, or an item dropped in this transaction): another file\'s data, or committed data, is overwritten.',
    modelledOn: `btrfs: NOCOW writes into extents shared by reflinks or snapshots (can_nocow_extent / btrfs_cross_ref_exist bugs); ${CRASHMONKEY}: reflink + write workloads`,
    file: 'src/fs/file-data.ts',
    patches: [{
      find: '      if (overlapping(read, a, b) !== (prealloc ? 0 : 1)) continue;',
      replace: '',
    }, {
      find: '      if (overlapping(this.k.readersDropped.get(e.diskBytenr) ?? [], a, b)) continue;',
      replace: '',
    }],
  },
];

export default mutants;
