// Every failure a user can see is an FsError with an errno name. The numbers are Linux's
// (asm-generic/errno-base.h and errno.h); the core returns the same ones, negated
// (assembly/abi.ts), which test/abi.test.ts holds. This file names them, and imports
// nothing: every layer throws FsError, so it sits below them all.
export const ERRNO = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENOTDIR: 20, EISDIR: 21,
  EINVAL: 22, EFBIG: 27, ENOSPC: 28, EROFS: 30, EMLINK: 31, ERANGE: 34, ENAMETOOLONG: 36,
  ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, EOVERFLOW: 75, EOPNOTSUPP: 95,
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

/**
 * A hostile value for an error message: String() throws for symbols in templates and for
 * objects without a prototype.
 */
export function describeValue(value: unknown): string {
  try {
    if (typeof value !== 'string') return String(value);
    return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An options argument that is a plain object (not null, not an array, not a primitive). */
export function isOptions(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * An options argument that is a plain object whose every key is in `known`, else EINVAL: a
 * misspelt option would otherwise be ignored silently (`mmap(path, { offsetBytes: 8192,
 * ... })` mapped from offset 0).
 */
export function requireKnownOptions(
  options: unknown, known: readonly string[], what: string,
): asserts options is object {
  if (!isOptions(options)) throw new FsError('EINVAL', `${what} must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new FsError('EINVAL', `${what}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

/** Validate a non-negative safe integer argument. */
export function requireIndex(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    const got = describeValue(value);
    throw new FsError('EINVAL', `${name} must be a non-negative integer, got ${got}`);
  }
  return value;
}
