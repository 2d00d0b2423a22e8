// randomScript's symlinks, special files and xattrs: each step keeps the model's view of
// links and attribute names, so that a missing one is drawn with the errno it gives.
import type { Op } from './ast.js';
import type { Rng } from '../random.js';
import {
  FILE_NAMES, LINK_NAMES, XATTR_NAMES, type Emit, type RandomModel,
} from './random-model.js';

/**
 * A symlink (to a file name that may not exist), a read or write through one, readlink,
 * lstat, a special file (a fifo: its data is ENXIO), or the removal of one of them.
 */
export function linkStep(m: RandomModel, rng: Rng, emit: Emit, seq: number): void {
  const name = rng.pick(LINK_NAMES);
  const target = m.links.get(name);
  if (target === undefined) {
    if (name === '/p0') {
      emit({ op: 'mknod', path: name, kind: 'fifo' });
      m.links.set(name, null);
      return;
    }
    const to = rng.pick(FILE_NAMES);
    emit({ op: 'symlink', target: rng.chance(0.5) ? to : to.slice(1), path: name });
    m.links.set(name, to);
    return;
  }
  const r = rng.below(5);
  if (target === null) {
    if (r === 0) { emit({ op: 'read', path: name, offset: 0, length: 10 }, 'ENXIO'); return; }
    if (r === 1) { emit({ op: 'lstat', path: name }); return; }
  } else {
    const live = m.files.get(target);
    if (r === 0) {
      emit({ op: 'read', path: name, offset: 0, length: 4096 }, live ? undefined : 'ENOENT');
      return;
    }
    if (r === 1 && live) {
      emit({ op: 'write', path: name, offset: 0, length: 100, seed: seq });
      live.size = Math.max(live.size, 100);
      return;
    }
    if (r === 2) { emit({ op: 'readlink', path: name }); return; }
    if (r === 3) { emit({ op: 'lstat', path: name }); return; }
  }
  emit({ op: 'unlink', path: name });
  m.links.delete(name);
}

/**
 * setxattr (new or replacing), getxattr, listxattr or removexattr of a file, with the
 * errno a missing name gives.
 */
export function xattrStep(
  m: RandomModel, rng: Rng, emit: Emit, seq: number, files: string[],
): void {
  const path = rng.pick(files);
  const ino = m.files.get(path)!;
  const name = rng.pick(XATTR_NAMES);
  const has = ino.xattrs.has(name);
  const r = rng.below(6);
  if (r <= 2) {
    const mode = rng.chance(0.2) ? (rng.chance(0.5) ? 'create' : 'replace') : undefined;
    const fails = (mode === 'create' && has) ? 'EEXIST'
      : (mode === 'replace' && !has) ? 'ENODATA' : undefined;
    const op: Op = {
      op: 'setxattr', path, name, length: rng.below(1000), seed: seq, nofollow: false,
    };
    if (mode) op.mode = mode;
    emit(op, fails);
    if (!fails) ino.xattrs.add(name);
    return;
  }
  if (r === 3) {
    emit({ op: 'getxattr', path, name, nofollow: false }, has ? undefined : 'ENODATA');
    return;
  }
  if (r === 4) { emit({ op: 'listxattr', path, nofollow: false }); return; }
  emit({ op: 'removexattr', path, name, nofollow: false }, has ? undefined : 'ENODATA');
  ino.xattrs.delete(name);
}
