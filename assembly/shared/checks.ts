// Checked builds. A plain `assert` is kept in every build (asconfig.json's release target
// has "noAssert": false): O(1) checks of arguments, results and invariants. Checks that
// cost more (scans, lookups, a second walk) are written
//
//     if (CHECKS) assert(cond); // what it checks
//
// and compiled into the debug target only: asc's `--use CHECKED=1` there makes CHECKS
// true, the release target's CHECKED=0 makes it false, and asc compiles no branch of a
// constant false `if`: neither the condition (its calls and loads) nor a message string.
// Tests run the debug target too (test/fs-model.test.ts, test/core-sharing.test.ts).
//
// Why not an inlined debugAssert(cond, msg): its arguments are compiled before its body,
// so the release build would keep every message in static data and the condition's calls;
// and its failures would report the helper's line instead of the check's. Messages are
// short for the same reason: static data must stay below the device base (DEVICE_BASE,
// src/core/module.ts), and a failure names its file, line and column anyway.
//
// A failed check traps into the host's abort handler (src/core/module.ts: EFAULT "core
// invariant violated"). Checks never test what was read from the device or a tree block:
// corrupted images are EUCLEAN / EIO through fail() and the problem records. Predicates
// that scan (bitmap.ts allBits, free-space.ts countsAgree, ...) start with
// `if (!CHECKS) return true;` so that a call from release code costs nothing either.

// CHECKED is a global constant from asc's --use (a compile-time integer, not an import);
// a build without it (a bare `asc assembly/index.ts`) checks nothing extra.
// @ts-ignore: CHECKED is defined by the compiler's --use option
export const CHECKS: bool = isDefined(CHECKED) ? CHECKED != 0 : false;
