// randomScript's DAX mappings: mmap (of up to four at once), the accesses through one
// (mstore, mload, mflush, msync) with the fault each must give, and munmap.
import type { ErrnoName } from '../errors.js';
import { MAP_NAMES, PAGE, type Draw } from './random-model.js';

export function drawMmap(d: Draw): void {
  const { rng, m, emit } = d;
  const free = MAP_NAMES.filter((x) => !m.maps.has(x));
  if (free.length === 0) {
    const x = rng.pick([...m.maps.keys()]);
    emit({ op: 'munmap', name: x });
    m.maps.delete(x);
    return;
  }
  const name = rng.pick(free);
  const p = rng.pick(d.files);
  const ino = m.files.get(p)!;
  const offset = rng.below(Math.max(1, Math.ceil(ino.size / PAGE))) * PAGE;
  const length = rng.chance(0.5) ? rng.between(1, 16) * PAGE : rng.between(1, d.maxOp);
  const prot = rng.chance(0.8) ? 'rw' as const : 'r' as const;
  const sync = ino.nodatacow && prot === 'rw' && rng.chance(0.3);
  emit({ op: 'mmap', name, path: p, offset, length, prot, sync });
  m.maps.set(name, { name, ino, offset, length, prot, sync });
}

/** An access through a mapping, with the signal it must raise (when errors are drawn). */
export function drawMapAccess(d: Draw, kind: 'mstore' | 'mload' | 'mflush' | 'msync'): void {
  const { rng, m, emit, errors } = d;
  const maps = [...m.maps.values()];
  if (maps.length === 0) { emit({ op: 'fence' }); return; }
  const x = rng.pick(maps);
  const offset = rng.below(x.length);
  const length = rng.between(1, Math.min(x.length - offset, d.maxOp));
  // Pages at or past EOF fault with SIGBUS; a read-only mapping refuses stores (SIGSEGV).
  const lastPageStart = x.offset + Math.floor((offset + length - 1) / PAGE) * PAGE;
  const beyond = lastPageStart >= x.ino.size;
  // Without shootdowns this thread's TLB may still hold an entry a truncate, a freeze
  // or an munmap dropped (mapping ids are reused): whether the access faults is not
  // known in advance.
  const faults = beyond || (kind === 'mstore' && x.prot === 'r');
  if (m.policy.tlbShootdown === false && faults) { emit({ op: 'fence' }); return; }
  if (kind === 'mstore') {
    const expect: ErrnoName | undefined = x.prot === 'r' ? 'SIGSEGV'
      : beyond ? 'SIGBUS' : undefined;
    if (expect && !errors) { emit({ op: 'fence' }); return; }
    emit({ op: 'mstore', name: x.name, offset, length, seed: d.seq }, expect);
  } else if (kind === 'mload') {
    if (beyond && !errors) { emit({ op: 'fence' }); return; }
    emit({ op: 'mload', name: x.name, offset, length }, beyond ? 'SIGBUS' : undefined);
  } else {
    emit({ op: kind, name: x.name, offset, length });
  }
}

export function drawMunmap(d: Draw): void {
  const names = [...d.m.maps.keys()];
  if (names.length === 0) { d.emit({ op: 'fence' }); return; }
  const x = d.rng.pick(names);
  d.emit({ op: 'munmap', name: x });
  d.m.maps.delete(x);
}
