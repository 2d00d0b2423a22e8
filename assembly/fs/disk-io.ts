// Reading tree blocks (btrfs's disk-io.c): the address of a block's current content. A
// dirty block is its pool buffer; a clean one is read in place from the device's visible
// bytes, verified once per mount (first copy loads without a media error, matches its
// checksum, names itself, passes the tree checker). With two copies (dup), a bad first
// copy is replaced by a good second one: the caller rewrites it (a device store that the
// crash explorer watches, so it stays in TypeScript) and then marks the block verified.
import {
  NODE_CSUM, NODE_BYTENR, TA_PROBLEMS, PROBLEM_BYTES, PR_CODE, PR_COPY, PR_A, PR_BYTENR, P_NONE,
  P_MEDIA_ERROR, P_CHECKSUM, P_BYTENR, P_POINTER, EIO, EUCLEAN, NEEDS_HEAL, SECTOR_BYTES, TA_DROPS,
} from "../abi";
import {
  nodeBytes, copies, totalBytes, dirtyBuffer, isVerified, setVerified, committedGeneration,
  metadataBlockBytes, threadArea,
} from "./state";
import { checkNode, checkAgainst, validBlockPointer } from "./tree-checker";
import { deviceReadable } from "../pmem/device";
import { visibleAddr } from "../pmem/state";
import { nodeCsum } from "./node-csum";
import { deviceBytes } from "../pmem/state";
import { CHECKS } from "../shared/checks";
import { copyBytenr } from "./chunks";

/** This thread's problem record for copy `copy` (0 or 1) of the block it reads. */
@inline export function problemRecord(copy: u32): usize {
  assert(copy < 2, "bad copy");
  // a record over the drop list
  if (CHECKS) assert(TA_PROBLEMS + (copy + 1) * PROBLEM_BYTES <= TA_DROPS);
  return threadArea() + TA_PROBLEMS + <usize>copy * PROBLEM_BYTES;
}

function report(copy: u32, bytenr: u64, code: u32, a: u64): i32 {
  assert(copy < copies, "bad copy");
  // The device-level problems; the tree checker reports the others itself.
  assert(code == P_MEDIA_ERROR || code == P_CHECKSUM || code == P_BYTENR || code == P_POINTER,
    "problem code");
  const record = problemRecord(copy);
  store<u32>(record + PR_CODE, code);
  store<u32>(record + PR_COPY, copy);
  store<u64>(record + PR_A, a);
  store<u64>(record + PR_BYTENR, bytenr);
  return code == P_MEDIA_ERROR || code == P_CHECKSUM ? -EIO : -EUCLEAN;
}

/**
 * Is copy `copy` of tree block `bytenr` readable and sound? 0 when it is, else -EIO (media
 * error, checksum) or -EUCLEAN (a valid checksum over a block that is not a valid node),
 * with the problem in record `copy`.
 */
export function checkCopy(bytenr: u64, copy: u32): i32 {
  assert(copy < copies, "disk-io: a copy the profile does not have");
  const record = problemRecord(copy);
  store<u32>(record + PR_CODE, P_NONE);
  store<u32>(record + PR_COPY, copy);
  store<u64>(record + PR_BYTENR, bytenr);
  const at = copyBytenr(bytenr, copy);
  assert((bytenr & (SECTOR_BYTES - 1)) == 0, "block unaligned");
  assert(at + nodeBytes <= <u64>deviceBytes, "block past device");
  // A load of the whole node reports media errors (poisoned lines); it is read in place.
  if (!deviceReadable(<u32>at, nodeBytes)) return report(copy, bytenr, P_MEDIA_ERROR, 0);
  const addr = visibleAddr + <usize>at;
  if (nodeCsum(addr) != load<u32>(addr + NODE_CSUM)) return report(copy, bytenr, P_CHECKSUM, 0);
  if (load<u64>(addr + NODE_BYTENR) != bytenr) {
    return report(copy, bytenr, P_BYTENR, load<u64>(addr + NODE_BYTENR));
  }
  checkAgainst(nodeBytes, totalBytes, metadataBlockBytes(), committedGeneration());
  const code = checkNode(addr, record);
  store<u32>(record + PR_COPY, copy);
  store<u64>(record + PR_BYTENR, bytenr);
  // TypeScript words the problem from the record: it must name the code returned.
  if (CHECKS) assert(load<u32>(record + PR_CODE) == code);
  return code == P_NONE ? 0 : -EUCLEAN;
}

/**
 * The address of tree block `bytenr`'s content, or a negative code: -EUCLEAN / -EIO with
 * the problem in record 0 (and record 1 for the second copy), or -NEEDS_HEAL when the first
 * copy is bad and the second good.
 */
export function nodeAddr(bytenr: u64): i64 {
  const dirty = dirtyBuffer(bytenr);
  if (dirty != 0) return <i64>dirty;
  if (!isVerified(bytenr)) {
    // A verified bytenr was a valid pointer: the check runs once per block, like the rest.
    if (!validBlockPointer(bytenr, totalBytes, metadataBlockBytes())) {
      store<u32>(problemRecord(1), P_NONE);
      return <i64>report(0, bytenr, P_POINTER, bytenr);
    }
    const first = checkCopy(bytenr, 0);
    assert(first == 0 || first == -EIO || first == -EUCLEAN, "check result");
    if (first != 0) {
      if (copies == 1) {
        store<u32>(problemRecord(1) + PR_CODE, P_NONE);
        return <i64>first;
      }
      const second = checkCopy(bytenr, 1);
      // a sound second copy with a problem recorded
      if (CHECKS) assert(second != 0 || load<u32>(problemRecord(1) + PR_CODE) == P_NONE);
      return second == 0 ? -<i64>NEEDS_HEAL : <i64>first;
    }
    // a sound copy with a problem recorded
    if (CHECKS) assert(load<u32>(problemRecord(0) + PR_CODE) == P_NONE);
    setVerified(bytenr, true);
  }
  return <i64>(visibleAddr + <usize>copyBytenr(bytenr, 0));
}
