// Small byte arrays compared in JavaScript (names, uuids, keys, a soak's tags): file data is
// compared in the core. (No Buffer: this runs in browsers too.)

/** Do `a` and `b` hold the same bytes? */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
