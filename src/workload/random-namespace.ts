// randomScript's namespace operations over FILE_NAMES and the directory /d: create,
// unlink, rename, link, mkdir, rmdir, and the operations whose errno is certain.
import { FILE_NAMES, PAGE, type Draw } from './random-model.js';

/** The names in FILE_NAMES no file has, whose directory exists. */
function freeNames(d: Draw): string[] {
  return FILE_NAMES.filter((f) => !d.m.files.has(f) && d.m.parentExists(f));
}

export function drawCreate(d: Draw): void {
  const { rng, m, emit } = d;
  const free = freeNames(d);
  if (free.length === 0) { emit({ op: 'commit' }); return; }
  const p = rng.pick(free);
  if (rng.chance(0.3)) emit({ op: 'open', path: p, create: true, truncate: false });
  else emit({ op: 'create', path: p });
  const ino = m.newInode();
  m.files.set(p, ino);
  if (rng.chance(0.3)) {
    emit({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false });
    ino.nodatacow = true;
  }
}

export function drawUnlink(d: Draw): void {
  if (d.files.length <= 1) { d.emit({ op: 'commit' }); return; }
  const p = d.rng.pick(d.files);
  d.emit({ op: 'unlink', path: p });
  d.m.files.delete(p);
}

export function drawRename(d: Draw): void {
  const { rng, m } = d;
  const from = rng.pick(d.files);
  const targets = FILE_NAMES.filter((f) => f !== from && m.parentExists(f));
  const to = rng.pick(targets);
  d.emit({ op: 'rename', from, to });
  const ino = m.files.get(from)!;
  if (m.files.get(to) !== ino) { m.files.set(to, ino); m.files.delete(from); }
}

export function drawLink(d: Draw): void {
  const free = freeNames(d);
  if (free.length === 0) { d.emit({ op: 'commit' }); return; }
  const from = d.rng.pick(d.files);
  const to = d.rng.pick(free);
  d.emit({ op: 'link', from, to });
  d.m.files.set(to, d.m.files.get(from)!);
}

export function drawMkdir(d: Draw): void {
  if (d.m.dirExists) { d.emit({ op: 'mkdir', path: '/d' }, 'EEXIST'); return; }
  d.emit({ op: 'mkdir', path: '/d' });
  d.m.dirExists = true;
}

export function drawRmdir(d: Draw): void {
  const { m, emit } = d;
  if (!m.dirExists) { emit({ op: 'rmdir', path: '/d' }, 'ENOENT'); return; }
  if (!m.dirEmpty()) { emit({ op: 'rmdir', path: '/d' }, 'ENOTEMPTY'); return; }
  emit({ op: 'rmdir', path: '/d' });
  m.dirExists = false;
}

/** An operation whose errno is certain. */
export function drawError(d: Draw): void {
  const { rng, m, emit, files } = d;
  const r = rng.below(7);
  const free = freeNames(d);
  if (r === 0) emit({ op: 'create', path: rng.pick(files) }, 'EEXIST');
  else if (r === 1 && free.length) emit({ op: 'unlink', path: rng.pick(free) }, 'ENOENT');
  else if (r === 2) emit({ op: 'thaw' }, 'EINVAL');
  else if (r === 3 && !m.dirExists) emit({ op: 'create', path: '/d/g0' }, 'ENOENT');
  else if (r === 4 && d.useMmap) {
    const p = files.find((f) => !m.files.get(f)!.nodatacow);
    if (p) {
      emit({
        op: 'mmap', name: 'bad', path: p, offset: 0, length: PAGE, prot: 'rw', sync: true,
      }, 'EOPNOTSUPP');
    } else {
      emit({ op: 'fence' });
    }
  } else if (r === 5) {
    const path = rng.pick(files);
    emit({ op: 'fallocate', path, offset: 0, length: 0, keepSize: false }, 'EINVAL');
  } else {
    emit({ op: 'link', from: rng.pick(files), to: rng.pick(files) }, 'EEXIST');
  }
}
