// Binary search of a key in one B-tree node, in place over device or kernel memory.
// Node format (docs/fs.md): 48-byte header (nritems u32 at 32, level u8 at 36), then
// leaf items of 25 bytes or internal key pointers of 33 bytes, each starting with the
// key: objectid u64, type u8, offset u64 (little endian).
export const NODE_HEADER_BYTES: u32 = 48;
export const LEAF_ITEM_BYTES: u32 = 25;
export const KEY_PTR_BYTES: u32 = 33;

@inline function compareKey(at: usize, objectid: u64, type: u32, offset: u64): i32 {
  const o = load<u64>(at);
  if (o != objectid) return o < objectid ? -1 : 1;
  const t = <u32>load<u8>(at + 8);
  if (t != type) return t < type ? -1 : 1;
  const f = load<u64>(at + 9);
  if (f != offset) return f < offset ? -1 : 1;
  return 0;
}

// Returns the slot holding the key, or -(insertion slot) - 1.
export function nodeSearch(node: usize, objectid: u64, type: u32, offset: u64): i32 {
  const count = load<u32>(node + 32);
  const stride: usize = load<u8>(node + 36) == 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  let low: i32 = 0;
  let high: i32 = <i32>count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareKey(node + NODE_HEADER_BYTES + <usize>mid * stride, objectid, type, offset);
    if (c < 0) low = mid + 1;
    else if (c > 0) high = mid;
    else return mid;
  }
  return -low - 1;
}
