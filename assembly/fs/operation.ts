// The B-tree operation in progress (this instance's: WebAssembly globals): the tree it
// changes or reads, that tree's root and level (ctree.ts begins and walks it), and how it
// fails. Below ctree.ts so that the layers ctree.ts calls into (delayed refs, the extent
// tree's drop bookkeeping) can fail an operation and name its tree without importing it.
//
// Errors do not return: fail() records the problem in this thread's area and calls the
// host's fs_fail, which throws (an FsError in TypeScript); the operation's frames unwind.
import {
  PR_CODE, PR_SLOT, PR_A, PR_B, PR_C, PR_BYTENR, PR_TREE, P_NO_METADATA_SPACE, P_POOL_EMPTY,
  P_BLOCK_IN_USE, P_REFS_FULL, P_NONE, F_ABORTED, MAX_LEVEL,
} from "../abi";
import { fsBase } from "./state";
import { problemRecord } from "./disk-io";
import { CHECKS } from "../shared/checks";

export let treeId: u64 = 0;
export let treeRoot: u64 = 0;
export let treeLevel: u32 = 0;

/** Throws the error this thread's problem record describes; does not return. */
@external("env", "fs_fail")
export declare function hostFail(code: i32): void;

/**
 * Record a problem in this thread's area and have the host throw it (errno `code`, problem
 * P_*, the block, slot and values it names). Does not return.
 */
export function fail(
  code: i32, problem: u32, bytenr: u64, slot: u32, a: u64, b: u64, c: u64,
): void {
  assert(code > 0, "no errno");
  assert(problem != P_NONE, "no problem");
  const record = problemRecord(0);
  store<u32>(record + PR_CODE, problem);
  store<u32>(record + PR_SLOT, slot);
  store<u64>(record + PR_A, a);
  store<u64>(record + PR_B, b);
  store<u64>(record + PR_C, c);
  store<u64>(record + PR_BYTENR, bytenr);
  store<u64>(record + PR_TREE, treeId);
  // Problems that leave the transaction unfinishable abort it for every thread: the
  // owner's TypeScript reads the code (Kernel.aborted) when another thread hit it.
  if (problem == P_NO_METADATA_SPACE || problem == P_POOL_EMPTY || problem == P_BLOCK_IN_USE
    || problem == P_REFS_FULL) {
    if (load<u32>(fsBase + F_ABORTED) == 0) store<u32>(fsBase + F_ABORTED, problem);
  }
  hostFail(-code);
  unreachable(); // the host threw
}

/** The root of the tree of the last operation, and its level (for callers inside the core). */
export function currentRoot(): u64 {
  if (CHECKS) assert(treeRoot != 0); // an operation without a root
  return treeRoot;
}
export function currentLevel(): u32 {
  assert(treeLevel <= MAX_LEVEL, "bad level");
  return treeLevel;
}

/** The tree being operated on (the host's hooks are told which). */
export function currentTree(): u64 {
  return treeId;
}
