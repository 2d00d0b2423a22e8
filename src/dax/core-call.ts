// A DAX-table call into the core that must succeed: its failure is the table's state gone
// wrong (or no room), reported as EIO with what was being done.
import { FsError } from '../errors.js';

export function check(r: number, what: string): number {
  if (r < 0) throw new FsError('EIO', `${what} failed (${r})`);
  return r;
}
