// Public types of the file system API (src/fs/filesystem.ts).

export interface MkfsOptions {
  /** B-tree node size in bytes: a power of two, 4096..65536 (default 16384). */
  nodeSize?: number;
  label?: string;
}

export type FileKind = 'file' | 'dir' | 'subvolume';

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
}

export interface ScrubReport {
  bytesChecked: number;
  csumErrors: number;
  metadataErrors: number;
  errors: ScrubError[];
}

export interface SnapshotOptions {
  readonly?: boolean;
}

export interface FallocateOptions {
  keepSize?: boolean;
}
