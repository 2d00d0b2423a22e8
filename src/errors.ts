// Every failure a user can see is an FsError with an errno name. The core returns
// negative errno numbers (assembly/abi.ts, through src/core/abi.ts); this file is the one
// place that names them.
import { E2BIG, EAGAIN, EBUSY, EFAULT, EINVAL, EIO, ENOENT, ENOMEM, ENOSPC, EPERM } from './core/abi.js';

export const ERRNO = {
  EPERM, ENOENT, EIO, ENXIO: 6, EACCES: 13, E2BIG, EBADF: 9, EAGAIN, ENOMEM, EFAULT,
  EBUSY, EEXIST: 17, EXDEV: 18, ENOTDIR: 20, EISDIR: 21, EINVAL, EFBIG: 27,
  ENOSPC, EROFS: 30, EMLINK: 31, ERANGE: 34, ENAMETOOLONG: 36, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61,
  EOVERFLOW: 75, EOPNOTSUPP: 95,
  // "Structure needs cleaning": Linux's EFSCORRUPTED. Metadata that passed its checksum
  // but is not a valid structure (a tree checker failure, an impossible superblock field).
  // EIO stays the answer for what could not be read (media error, checksum mismatch).
  EUCLEAN: 117,
  // Not an errno: the signal a DAX mapping raises on an access past EOF or on poison.
  SIGBUS: 135,
  /** A store through a read-only mapping. */
  SIGSEGV: 139,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const NAME_BY_NUMBER = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, num]) => [num, name]),
);

export class FsError extends Error {
  readonly code: ErrnoName;
  constructor(code: ErrnoName, message: string) {
    super(`${code}: ${message}`);
    this.name = 'FsError';
    this.code = code;
  }
  get errno(): number {
    return ERRNO[this.code];
  }
}

export function errnoName(errno: number): ErrnoName {
  return NAME_BY_NUMBER.get(errno) ?? 'EIO';
}

/** Throw the FsError for a negative core return value; pass other values through. */
export function checkCoreResult(result: number, what: string): number {
  if (result < 0) throw new FsError(errnoName(-result), what);
  return result;
}

/** A hostile value for an error message: String() throws for symbols in templates and for objects without a prototype. */
export function describeValue(value: unknown): string {
  try {
    return typeof value === 'string' ? `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'` : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An options argument that is a plain object (not null, not an array, not a primitive). */
export function isOptions(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validate a non-negative safe integer argument. */
export function requireIndex(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FsError('EINVAL', `${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}
