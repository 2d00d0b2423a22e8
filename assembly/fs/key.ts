// Keys (btrfs's btrfs_disk_key): objectid u64, type u8, offset u64, little endian, compared
// in that order. Compared in place: a key is never copied out of its node to be compared.
import { KEY_OBJECTID, KEY_TYPE, KEY_OFFSET } from "../abi";

/** Order of the key at `at` against (objectid, type, offset): -1, 0 or 1. */
@inline export function compareKeyTo(at: usize, objectid: u64, type: u32, offset: u64): i32 {
  const o = load<u64>(at + KEY_OBJECTID);
  if (o != objectid) return o < objectid ? -1 : 1;
  const t = <u32>load<u8>(at + KEY_TYPE);
  if (t != type) return t < type ? -1 : 1;
  const f = load<u64>(at + KEY_OFFSET);
  if (f != offset) return f < offset ? -1 : 1;
  return 0;
}

/** Order of the key at `a` against the key at `b`. */
@inline export function compareKeysAt(a: usize, b: usize): i32 {
  return compareKeyTo(a, load<u64>(b + KEY_OBJECTID), <u32>load<u8>(b + KEY_TYPE),
    load<u64>(b + KEY_OFFSET));
}
