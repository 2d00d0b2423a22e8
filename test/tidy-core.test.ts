// The core's discipline, counted (issue 14, point 7): no function of assembly/ longer than
// 70 lines, and at least 2 assertions per function on average in the file system's engine
// (assembly/fs, assembly/dax). The rest of the core is a ratchet: the device emulator
// (assembly/pmem) and the checksums (assembly/csum) predate the rule, and the exported
// entry points of assembly/index.ts check their arguments by returning an errno, not by
// asserting (bad input is the caller's error, not a broken invariant); its average may not
// fall. Functions are the top-level `function` declarations, their lines from the
// declaration to its closing brace; assertions are `assert(` calls in them, checked
// (`if (CHECKS) assert`) or not.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../assembly/', import.meta.url).pathname;
const MAX_FUNCTION_LINES = 70;
/** The engine's floor (the issue's). */
const MIN_ENGINE_ASSERTS_PER_FUNCTION = 2;
/** The whole core's floor: 1.43 when the ratchet was set, 1.46 with the device's first additions; raise it as assertions are added. */
const MIN_ASSERTS_PER_FUNCTION = 1.46;

interface Fn { file: string; name: string; lines: number; asserts: number }

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function functionsOf(file: string): Fn[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Fn[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(?:export )?(?:@inline )?(?:export )?function (\w+)/.exec(lines[i]!);
    if (!m) continue;
    // A wrapped signature: the body opens on the first line that ends with `{` (none
    // before a `;`: a declaration without a body).
    let open = i;
    while (open < lines.length && !lines[open]!.trimEnd().endsWith('{') && !lines[open]!.trimEnd().endsWith(';')) open++;
    if (open >= lines.length || !lines[open]!.trimEnd().endsWith('{')) continue;
    let depth = 0, asserts = 0, j = open;
    for (let k = i; k < open; k++) asserts += (lines[k]!.match(/\bassert\(/g) ?? []).length;
    for (; j < lines.length; j++) {
      depth += (lines[j]!.match(/\{/g) ?? []).length - (lines[j]!.match(/\}/g) ?? []).length;
      asserts += (lines[j]!.match(/\bassert\(/g) ?? []).length;
      if (depth === 0 && j > open) break;
    }
    out.push({ file: file.slice(ROOT.length), name: m[1]!, lines: j - i + 1, asserts });
    i = j;
  }
  return out;
}

describe('the core, counted', () => {
  const fns = sources(ROOT).flatMap(functionsOf);

  it('finds the functions it counts', () => {
    expect(fns.length).toBeGreaterThan(500);
    expect(fns.some((f) => f.name === 'crc32cUpdate' && f.asserts >= 1)).toBe(true);
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = fns.filter((f) => f.lines > MAX_FUNCTION_LINES).map((f) => `${f.file} ${f.name}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it(`has at least ${MIN_ENGINE_ASSERTS_PER_FUNCTION} assertions per function on average in the engine (fs, dax)`, () => {
    const engine = fns.filter((f) => f.file.startsWith('fs/') || f.file.startsWith('dax/'));
    expect(engine.length).toBeGreaterThan(300);
    const asserts = engine.reduce((n, f) => n + f.asserts, 0);
    expect(asserts / engine.length).toBeGreaterThanOrEqual(MIN_ENGINE_ASSERTS_PER_FUNCTION);
  });

  it(`keeps at least ${MIN_ASSERTS_PER_FUNCTION} assertions per function on average in the whole core (the ratchet)`, () => {
    const asserts = fns.reduce((n, f) => n + f.asserts, 0);
    expect(asserts / fns.length).toBeGreaterThanOrEqual(MIN_ASSERTS_PER_FUNCTION);
  });
});
