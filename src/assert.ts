// Assertions on what the code itself guarantees (issue 18 point 5; TigerBeetle's habit):
// a bug surfaces where it happens, as an Error that names the broken invariant, not later
// as a wrong answer. Never for what comes from outside (an image, a workload, a caller's
// arguments): those get their FsError, ModelError or finding.
export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${invariant}`);
}
