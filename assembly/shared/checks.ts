// Checked builds. `assert` is kept in every build (asconfig.json's release target has
// "noAssert": false): O(1) checks of arguments, results and invariants. `debugAssert` is
// compiled only into the debug target, where asc's `--use CHECKED=1` (asconfig.json) makes
// CHECKS true; the release target sets CHECKED=0 and the check disappears. Tests run the
// debug target too (test/fs-model.test.ts, test/core-sharing.test.ts).
//
// Its condition is still an argument: cheap expressions cost at most a load in release,
// but a scan must not be written inline. Scans go through predicates that start with
// `if (!CHECKS) return true;` (bitmap.ts allBits, free-space.ts freeCountsAgree, ...), so
// that the release build compiles them to `true` and drops the call.
//
// A failed check traps into the host's abort handler (src/core/module.ts: EFAULT "core
// invariant violated"). Checks never test what was read from the device or a tree block:
// corrupted images are EUCLEAN / EIO through fail() and the problem records.

// CHECKED is a global constant from asc's --use (a compile-time integer, not an import);
// a build without it (a bare `asc assembly/index.ts`) checks nothing extra.
// @ts-ignore: CHECKED is defined by the compiler's --use option
export const CHECKS: bool = isDefined(CHECKED) ? CHECKED != 0 : false;

/** `assert(cond, msg)` in the debug build only (see above: `cond` must be cheap or guarded). */
@inline export function debugAssert(cond: bool, msg: string): void {
  if (CHECKS) assert(cond, msg);
}
