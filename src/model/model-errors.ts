// How the model says what an operation must do when it does not succeed (namespace.ts):
// the errnos the file system may report, or that the API leaves the outcome open.
import type { ErrnoName } from '../errors.js';

export class ModelError extends Error {
  readonly codes: ErrnoName[];
  constructor(codes: ErrnoName[], message: string) {
    super(`${codes.join('|')}: ${message}`);
    this.name = 'ModelError';
    this.codes = [...new Set(codes)];
  }
}

/** The API does not pin the outcome down: do not run this op. */
export class Unspecified extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unspecified';
  }
}

/** Refuse the operation with any of `codes`. */
export function err(codes: ErrnoName[] | ErrnoName, message: string): never {
  throw new ModelError(Array.isArray(codes) ? codes : [codes], message);
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/**
 * The codes of a ModelError (when either of two errors may be reported); anything else is
 * rethrown.
 */
export function modelErrorCodes(e: unknown): ErrnoName[] {
  if (!(e instanceof ModelError)) throw e;
  return e.codes;
}
