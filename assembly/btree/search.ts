// Binary search of a key in one B-tree node, in place over device or kernel memory.
// Node format (docs/fs.md; offsets and sizes in assembly/abi.ts): a header (NODE_NRITEMS,
// NODE_LEVEL), then leaf items or internal key pointers, each starting with the key.
import {
  NODE_HEADER_BYTES, NODE_NRITEMS, NODE_LEVEL, LEAF_ITEM_BYTES, KEY_PTR_BYTES, KEY_OBJECTID, KEY_TYPE, KEY_OFFSET,
} from "../abi";

@inline function compareKey(at: usize, objectid: u64, type: u32, offset: u64): i32 {
  const o = load<u64>(at + KEY_OBJECTID);
  if (o != objectid) return o < objectid ? -1 : 1;
  const t = <u32>load<u8>(at + KEY_TYPE);
  if (t != type) return t < type ? -1 : 1;
  const f = load<u64>(at + KEY_OFFSET);
  if (f != offset) return f < offset ? -1 : 1;
  return 0;
}

// Returns the slot holding the key, or -(insertion slot) - 1.
export function nodeSearch(node: usize, objectid: u64, type: u32, offset: u64): i32 {
  const count = load<u32>(node + NODE_NRITEMS);
  const stride: usize = load<u8>(node + NODE_LEVEL) == 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
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
