// randomScript's data operations on the files the model knows: write (and a look at it
// through a mapping of the file), read, truncate, fallocate, zero, punch, clone, and the
// one-off steps that shape the file system (populate, fillup, immutable).
import { PAGE, drawRange, takeSnapshot, type Draw } from './random-model.js';

export function drawWrite(d: Draw): void {
  const { rng, m, emit } = d;
  const p = rng.pick(d.files);
  const r = drawRange(d);
  emit({ op: 'write', path: p, ...r, seed: d.seq });
  const ino = m.files.get(p)!;
  ino.size = Math.max(ino.size, r.offset + r.length);
  // A write under a mapping: the mapping must see it (its pages may have moved).
  const mapped = [...m.maps.values()].find((x) => x.ino === ino && x.offset < ino.size);
  if (mapped && rng.chance(0.5)) {
    const from = Math.max(0, Math.min(r.offset - mapped.offset, mapped.length - 1));
    const length = Math.min(64, mapped.length - from);
    const lastPageStart = mapped.offset + Math.floor((from + length - 1) / PAGE) * PAGE;
    if (lastPageStart < ino.size && m.policy.tlbShootdown !== false) {
      if (mapped.prot === 'rw' && rng.chance(0.5)) {
        emit({ op: 'mstore', name: mapped.name, offset: from, length, seed: d.seq });
      } else {
        emit({ op: 'mload', name: mapped.name, offset: from, length });
      }
    }
  }
}

export function drawRead(d: Draw): void {
  const p = d.rng.pick(d.files);
  if (d.rng.chance(0.2)) d.emit({ op: 'read', path: p });
  else d.emit({ op: 'read', path: p, ...drawRange(d) });
}

export function drawTruncate(d: Draw): void {
  const { rng, m, emit, maxFile } = d;
  const p = rng.pick(d.files);
  const ino = m.files.get(p)!;
  if (ino.size > 1 && rng.chance(0.3)) {
    // fsx's down-then-up: the bytes between the two sizes must read as zeros.
    const down = rng.below(ino.size);
    const up = down + rng.between(1, 2 * PAGE);
    emit({ op: 'truncate', path: p, size: down });
    emit({ op: 'truncate', path: p, size: up });
    ino.size = up;
    return;
  }
  const size = rng.chance(0.2) ? 0
    : rng.chance(0.3) ? rng.below(maxFile / PAGE) * PAGE : rng.below(maxFile);
  emit({ op: 'truncate', path: p, size });
  ino.size = size;
}

/** fallocate or zero, keeping the size or not. */
export function drawAllocate(d: Draw, kind: 'fallocate' | 'zero'): void {
  const p = d.rng.pick(d.files);
  const r = drawRange(d);
  const keepSize = d.rng.chance(0.5);
  d.emit({ op: kind, path: p, ...r, keepSize });
  const ino = d.m.files.get(p)!;
  if (!keepSize) ino.size = Math.max(ino.size, r.offset + r.length);
}

export function drawPunch(d: Draw): void {
  const p = d.rng.pick(d.files);
  d.emit({ op: 'punch', path: p, ...drawRange(d) });
}

/** Page-aligned, inside the source, not overlapping itself, between files of one kind. */
export function drawClone(d: Draw): void {
  const { rng, m, emit, files } = d;
  const src = rng.pick(files);
  const s = m.files.get(src)!;
  const pages = Math.floor(s.size / PAGE);
  if (pages === 0) { emit({ op: 'fsync', path: src }); return; }
  const sameKind = files.filter((f) => m.files.get(f)!.nodatacow === s.nodatacow);
  const dst = rng.pick(sameKind);
  const t = m.files.get(dst)!;
  const len = rng.between(1, Math.min(pages, 16)) * PAGE;
  const srcOffset = rng.below(pages - len / PAGE + 1) * PAGE;
  let dstOffset = rng.below(d.maxFile / PAGE) * PAGE;
  if (t === s && srcOffset < dstOffset + len && dstOffset < srcOffset + len) {
    dstOffset = srcOffset + len;
  }
  // A clone into the middle of a file must not carry an unaligned EOF block: ours
  // never do (aligned length).
  emit({ op: 'clone', src, dst, range: { srcOffset, dstOffset, length: len } });
  t.size = Math.max(t.size, dstOffset + len);
}

/**
 * Once: enough files for the fs tree to have several leaves (a snapshot then shares
 * leaves it does not copy).
 */
export function drawPopulate(d: Draw): void {
  const { m, emit } = d;
  if (m.populated) { emit({ op: 'commit' }); return; }
  m.populated = true;
  emit({ op: 'mkdir', path: '/p' });
  for (let i = 0; i < 24; i++) emit({ op: 'create', path: `/p/x${i}` });
  // A nodatacow file whose items come after all of those, in a leaf of its own.
  emit({ op: 'create', path: '/p/n' });
  emit({ op: 'setflag', path: '/p/n', flag: 'nodatacow', nocap: false });
  emit({ op: 'write', path: '/p/n', offset: 0, length: 4 * PAGE, seed: d.seq });
  m.files.set('/p/n', { ...m.newInode(), size: 4 * PAGE, nodatacow: true });
}

/**
 * Once: preallocate in a file, fill the device (a 4 MiB one, the fuzz default), then
 * write into the preallocated range, which must not fail with ENOSPC (fallocate's
 * promise), sometimes after a read-only snapshot. In about a third of the scripts (every
 * check on a full device is slower).
 */
export function drawFillup(d: Draw): void {
  const { rng, m, emit } = d;
  if (m.filledUp || !rng.chance(0.35)) { emit({ op: 'commit' }); return; }
  m.filledUp = true;
  const p = rng.pick(d.files);
  const ino = m.files.get(p)!;
  const at = rng.below(d.maxFile / PAGE) * PAGE;
  const length = rng.between(1, 8) * PAGE;
  const keepSize = rng.chance(0.3);
  emit({ op: 'fallocate', path: p, offset: at, length, keepSize });
  if (!keepSize) ino.size = Math.max(ino.size, at + length);
  if (d.snapshots && rng.chance(0.3) && !m.immutableFile) takeSnapshot(d, true);
  emit({ op: 'create', path: '/full' });
  let cursor = 0;
  for (const size of [1 << 20, 256 << 10, 64 << 10, 16 << 10, PAGE]) {
    // Preallocated past EOF: the space is taken, yet every check reads an empty file.
    for (let i = 0; i < 4; i++) {
      emit({ op: 'fallocate', path: '/full', offset: cursor, length: size, keepSize: true });
      cursor += size;
    }
  }
  // In two unaligned pieces.
  const cut = rng.between(1, length - 1);
  emit({ op: 'write', path: p, offset: at, length: cut, seed: d.seq + 1 });
  emit({ op: 'write', path: p, offset: at + cut, length: length - cut, seed: d.seq + 2 });
  ino.size = Math.max(ino.size, at + length);
  emit({ op: 'unlink', path: '/full' });
}

/**
 * Thread 004's DAX-immutable flag: set on a fully written nodatacow file, then the
 * changes it refuses, or cleared again.
 */
export function drawImmutable(d: Draw): void {
  const { rng, m, emit, errors } = d;
  if (!m.immutableFile) {
    const p = `/i${m.immutables++}`;
    emit({ op: 'create', path: p });
    emit({ op: 'setflag', path: p, flag: 'nodatacow', nocap: false });
    emit({ op: 'write', path: p, offset: 0, length: 4 * PAGE, seed: d.seq });
    if (errors && rng.chance(0.3)) {
      emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: true }, 'EPERM');
    }
    emit({ op: 'setflag', path: p, flag: 'dax-immutable', nocap: false });
    m.immutableFile = p;
    return;
  }
  const p = m.immutableFile;
  const r = errors ? rng.below(5) : 4;
  if (r === 0) {
    const offset = rng.below(4 * PAGE);
    emit({ op: 'write', path: p, offset, length: 100, seed: d.seq }, 'EPERM');
  } else if (r === 1) {
    emit({ op: 'truncate', path: p, size: rng.below(4 * PAGE) }, 'EPERM');
  } else if (r === 2) {
    emit({ op: 'unlink', path: p }, 'EPERM');
  } else if (r === 3) {
    emit({ op: 'punch', path: p, offset: 0, length: PAGE }, 'EPERM');
  } else {
    emit({ op: 'clearflag', path: p, flag: 'dax-immutable', nocap: false });
    m.immutableFile = null;
  }
}
