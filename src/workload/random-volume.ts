// randomScript's whole-file-system steps: snapshots of the root subvolume and their
// removal, freeze, and what it draws while the file system is frozen.
import { drawRange, takeSnapshot, type Draw } from './random-model.js';

export function drawSnapshot(d: Draw): void {
  const { m, emit } = d;
  if (m.immutableFile) {
    // A DAX-immutable file's extents must never be shared.
    const dst = `/s${m.snapshots + 1}`;
    if (d.errors) emit({ op: 'snapshot', src: '/', dst, readonly: true }, 'EPERM');
    else emit({ op: 'commit' });
    return;
  }
  takeSnapshot(d, d.rng.chance(0.5));
}

export function drawRmsubvol(d: Draw): void {
  const { m, emit } = d;
  if (m.liveSnapshots.length === 0) { emit({ op: 'commit' }); return; }
  const at = d.rng.below(m.liveSnapshots.length);
  emit({ op: 'rmsubvol', path: m.liveSnapshots[at]! });
  m.liveSnapshots.splice(at, 1);
}

export function drawFreeze(d: Draw): void {
  d.emit({ op: 'freeze' });
  d.m.frozen = true;
}

/** While frozen: thaw, a read-only operation, or a change that must fail with EBUSY. */
export function drawWhileFrozen(d: Draw): void {
  const { rng, m, emit } = d;
  const r = rng.below(6);
  if (r === 0 || r === 5) { emit({ op: 'thaw' }); m.frozen = false; return; }
  const f = [...m.files.keys()];
  if (r === 1 && f.length) {
    emit({ op: 'read', path: rng.pick(f), ...drawRange(d) });
    return;
  }
  if (r === 2 && f.length) {
    emit({ op: 'write', path: rng.pick(f), ...drawRange(d), seed: d.seq }, 'EBUSY');
    return;
  }
  if (r === 3 && d.errors) { emit({ op: 'freeze' }, 'EBUSY'); return; }
  const rw = [...m.maps.values()].filter((x) => x.prot === 'rw');
  const probed = m.policy.freezeWriteProtect !== false && m.policy.tlbShootdown !== false;
  if (r === 4 && rw.length && probed) {
    const x = rng.pick(rw);
    const length = Math.min(8, x.length);
    emit({ op: 'mstore', name: x.name, offset: 0, length, seed: d.seq }, 'EBUSY');
    return;
  }
  emit({ op: 'commit' });
}
