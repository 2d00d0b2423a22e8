import { FsError } from '../../src/errors.js';

/** 'ok' when `f` returns, the errno name when it throws an FsError; anything else is rethrown. */
export function errnoOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}
