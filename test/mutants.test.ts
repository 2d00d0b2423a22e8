// The mutants of `npm run mutants` (test/mutants/mutants.mjs) must keep applying to the
// current sources: every find text matches exactly once, the patched file still parses and
// transpiles, and the patch changes the emitted code (no mutant is a comment-only no-op).
// Cheap: no fuzzing here (test/mutants/run.mjs does that), no type-check of the project.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript modules without type declarations
import { mutants } from './mutants/mutants.mjs';
// @ts-expect-error plain JavaScript modules without type declarations
import {
  ROOT, TARGET_DIRS, REQUIRED_CLASSES, applyMutant, codeOf, readSource, transpile, isCoreFile, coreCodeOf, coreParseErrors,
} from './mutants/lib.mjs';

interface Patch { find: string; replace: string }
interface Mutant { id: string; class: string; description: string; modelledOn: string; file: string; patches: Patch[] }

const list = mutants as Mutant[];

describe('mutants', () => {
  it('there are at least 30, with unique ids', () => {
    expect(list.length).toBeGreaterThanOrEqual(30);
    const ids = list.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('each names its class, what it does and the real bug or paper it is modelled on', () => {
    for (const m of list) {
      expect(REQUIRED_CLASSES, `${m.id}: class '${m.class}'`).toContain(m.class);
      expect(m.description.length, `${m.id}: description`).toBeGreaterThan(40);
      expect(m.modelledOn.length, `${m.id}: modelledOn`).toBeGreaterThan(20);
    }
  });

  it('cover every required bug class', () => {
    const classes = new Set(list.map((m) => m.class));
    for (const c of REQUIRED_CLASSES as string[]) expect(classes.has(c), `no mutant of class ${c}`).toBe(true);
  });

  it('patch only the file system, DAX, the device or the writer threads (never the checker)', () => {
    for (const m of list) {
      expect(TARGET_DIRS.some((d: string) => m.file.startsWith(d)), `${m.id}: ${m.file}`).toBe(true);
      expect(m.file.endsWith('.ts')).toBe(true);
      expect(existsSync(join(ROOT, m.file)), `${m.id}: ${m.file} exists`).toBe(true);
      expect(m.patches.length, `${m.id}: patches`).toBeGreaterThan(0);
      for (const p of m.patches) {
        expect(typeof p.find === 'string' && p.find.length > 0, `${m.id}: empty find`).toBe(true);
        expect(p.replace, `${m.id}: replace equals find`).not.toBe(p.find);
      }
    }
  });

  it('every find matches exactly once in the current sources, and the result parses and changes the code', () => {
    const originalCode = new Map<string, string>();
    const failures: string[] = [];
    for (const m of list) {
      const source = readSource(m.file) as string;
      const { text, problems } = applyMutant(m, source) as { text: string; problems: string[] };
      if (problems.length) { failures.push(`${m.id} is stale: ${problems.join('; ')}`); continue; }
      if (isCoreFile(m.file)) {
        // The core: parsed and printed without comments (run.mjs compiles it for real).
        const errors = coreParseErrors(text, m.file) as string[];
        if (errors.length) { failures.push(`${m.id} does not parse: ${errors.join('; ')}`); continue; }
        if (coreCodeOf(text) === coreCodeOf(source)) failures.push(`${m.id} does not change the code`);
        continue;
      }
      // One transpile per mutant: comments removed, so that equal output means no change.
      const out = transpile(text, m.file, { removeComments: true, sourceMap: false }) as { js: string; errors: string[] };
      if (out.errors.length) { failures.push(`${m.id} does not parse: ${out.errors.join('; ')}`); continue; }
      if (!originalCode.has(m.file)) originalCode.set(m.file, codeOf(source, m.file));
      if (out.js === originalCode.get(m.file)) failures.push(`${m.id} does not change the emitted code`);
    }
    expect(failures).toEqual([]);
  });

  it('docs/mutants.md lists every mutant', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'mutants.md'), 'utf8');
    const missing = list.filter((m) => !doc.includes(`| \`${m.id}\` | ${m.class} |`)).map((m) => m.id);
    expect(missing).toEqual([]);
  });

  it('a find that matches twice or not at all makes a mutant stale', () => {
    const source = 'a();\nb();\na();\n';
    const twice = applyMutant({ id: 'x', file: 'f.ts', patches: [{ find: 'a();', replace: 'c();' }] }, source);
    expect(twice.problems).toHaveLength(1);
    expect(twice.problems[0]).toContain('occurs 2 times');
    const never = applyMutant({ id: 'x', file: 'f.ts', patches: [{ find: 'd();', replace: 'c();' }] }, source);
    expect(never.problems[0]).toContain('occurs 0 times');
    const once = applyMutant({ id: 'x', file: 'f.ts', patches: [{ find: 'b();', replace: 'c();' }, { find: 'c();\na', replace: 'e();\na' }] }, source);
    expect(once).toEqual({ text: 'a();\ne();\na();\n', problems: [] });
  });

  it('a comment-only patch does not change the emitted code (the no-op check works)', () => {
    const file = 'src/fs/free-space.ts';
    const source = readSource(file) as string;
    const commented = source.replace('  pin(start: number, length: number): void {', '  // a comment\n  pin(start: number, length: number): void {');
    expect(commented).not.toBe(source);
    expect(codeOf(commented, file)).toBe(codeOf(source, file));
    const changed = source.replace('    this.core.fs_free_unpin_all();', '    this.core.fs_free_bytes();');
    expect(changed).not.toBe(source);
    expect(codeOf(changed, file)).not.toBe(codeOf(source, file));
  });

  it('the same for a file of the core: comments do not count, code does', () => {
    const file = 'assembly/fs/free-space.ts';
    const source = readSource(file) as string;
    const commented = source.replace('export function unpinAll(): void {', '// a comment\nexport function unpinAll(): void {');
    expect(commented).not.toBe(source);
    expect(coreCodeOf(commented)).toBe(coreCodeOf(source));
    const changed = source.replace('  take(<u32>found, count);', '  take(<u32>found, count - 1);');
    expect(changed).not.toBe(source);
    expect(coreCodeOf(changed)).not.toBe(coreCodeOf(source));
    expect(coreParseErrors('export function f(: void {', file)).not.toEqual([]);
  });
});
