// The B-tree (btrfs's ctree.c), in place over device or kernel memory. Node format
// (docs/fs.md; offsets and sizes in assembly/abi.ts): a header (NODE_NRITEMS, NODE_LEVEL),
// then leaf items or internal key pointers, each starting with the key.
import { NODE_HEADER_BYTES, NODE_NRITEMS, NODE_LEVEL, LEAF_ITEM_BYTES, KEY_PTR_BYTES } from "../abi";
import { compareKeyTo } from "./key";

/** Binary search of one node: the slot holding the key, or -(insertion slot) - 1. */
export function nodeSearch(node: usize, objectid: u64, type: u32, offset: u64): i32 {
  const count = load<u32>(node + NODE_NRITEMS);
  const stride: usize = load<u8>(node + NODE_LEVEL) == 0 ? LEAF_ITEM_BYTES : KEY_PTR_BYTES;
  let low: i32 = 0;
  let high: i32 = <i32>count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareKeyTo(node + NODE_HEADER_BYTES + <usize>mid * stride, objectid, type, offset);
    if (c < 0) low = mid + 1;
    else if (c > 0) high = mid;
    else return mid;
  }
  return -low - 1;
}
