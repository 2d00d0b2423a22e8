// Public types of the file system API (src/filesystem.ts).

export interface MkfsOptions {
  /** B-tree node size in bytes: a power of two, 4096..65536 (default 16384). */
  nodeSize?: number;
  label?: string;
  /**
   * 'single' (default): one copy of every tree block. 'dup': two copies of every tree
   * block (the second in the next nodeBytes); a read that finds a bad copy uses the
   * other and rewrites the bad one, scrub checks and repairs both.
   */
  metadataProfile?: MetadataProfile;
  /**
   * The file system's uuid (btrfs's fsid, `mkfs.btrfs -U`), as 8-4-4-4-12 hex digits.
   * Default: derived from the device size, node size, profile and label, so the same mkfs
   * gives the same image.
   */
  uuid?: string;
}

export type MetadataProfile = 'single' | 'dup';

/**
 * 'symlink' only from lstat: every other call follows symlinks. 'chardev', 'blockdev',
 * 'fifo' and 'socket': special files (mknod), which hold no data and are never opened.
 */
export type FileKind = 'file' | 'dir' | 'subvolume' | 'symlink' | 'chardev' | 'blockdev'
  | 'fifo' | 'socket';

export interface Stat {
  /** Inode number within its subvolume. */
  ino: number;
  /** Subvolume id (5 is the top-level subvolume). */
  subvolume: number;
  kind: FileKind;
  size: number;
  nlink: number;
  /** Bytes of data extents referenced (allocated, including preallocated). */
  allocatedBytes: number;
  nodatacow: boolean;
  /** Transaction generation of the last change. */
  generation: number;
  /** st_mode: the S_IF* type bits and the permission bits (0o100644 for a file pmcow creates). */
  mode: number;
  /** st_rdev: a device's number (a dev_t: makedev, major, minor); 0 for every other kind. */
  rdev: number;
}

export interface StatFs {
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  nodeSize: number;
  sectorSize: number;
  generation: number;
  label: string;
}

export interface ScrubError {
  kind: 'data-csum' | 'metadata';
  /** Device byte address of the bad sector or node. */
  bytenr: number;
  detail: string;
  /** Files (subvolume, inode, file offset) that reference the bad data, when known. */
  owners?: Array<{ subvolume: number; ino: number; offset: number }>;
  /** metadata: which copy of the block was bad (1 or 2; dup has two). */
  copy?: number;
  /** metadata: the bad copy was rewritten from the good one. */
  repaired?: boolean;
}

export interface ScrubReport {
  bytesChecked: number;
  csumErrors: number;
  /** Bad tree block copies found (a block with both copies bad counts twice). */
  metadataErrors: number;
  /** Of those, copies rewritten from a good copy (dup only). */
  metadataRepaired: number;
  errors: ScrubError[];
}

export interface SnapshotOptions {
  readonly?: boolean;
}

/** getxattr, listxattr, removexattr: `noFollow` acts on a symlink itself (lgetxattr, ...). */
export interface XattrOptions {
  noFollow?: boolean;
}

/**
 * setxattr: XATTR_CREATE (`create`: EEXIST when the name exists) or XATTR_REPLACE
 * (`replace`: ENODATA when it does not).
 */
export interface SetXattrOptions extends XattrOptions {
  create?: boolean;
  replace?: boolean;
}

export interface FallocateOptions {
  keepSize?: boolean;
}
