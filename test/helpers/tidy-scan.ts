// What the tidy ratchet counts (test/tidy.test.ts, issue 18 point 4), read from the sources
// as text. The counts are approximations of a parser's (a function is a line that opens one
// and ends with `{`, up to the brace that closes it; a name is used when another file
// mentions it), the same every run: a ratchet needs a stable count, not a compiler.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);

/** Every .ts file under `dir` (repo-relative), sorted. */
export function tsFiles(dir: string): string[] {
  const walk = (at: string): string[] => readdirSync(at).flatMap((name) => {
    const path = join(at, name);
    if (statSync(path).isDirectory()) return walk(path);
    return /\.(ts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [relative(REPO, path)] : [];
  });
  return walk(join(REPO, dir)).sort();
}

const text = new Map<string, string>();
export function source(file: string): string {
  let t = text.get(file);
  if (t === undefined) { t = readFileSync(join(REPO, file), 'utf8'); text.set(file, t); }
  return t;
}

export interface LongFunction { file: string; line: number; name: string; lines: number }

// A line that opens a function body: a declaration, a method, or an arrow function whose
// body is a block. Control statements and object literals are not functions.
const OPENERS = [
  /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+([\w$]+)/,
  /^\s*(?:export\s+)?(?:@inline\s+)?(?:export\s+)?function\s+([\w$]+)/,
  /^\s+(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*\*?([\w$]+)\s*(?:<[^>]*>)?\(.*\)\s*(?::\s*[^={]+)?\{\s*$/,
  /^\s*(?:export\s+)?(?:const|let)\s+([\w$]+)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:\([^)]*\)|[\w$]+)\s*(?::\s*[^=]+)?=>\s*\{\s*$/,
];
const NOT_FUNCTIONS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'else', 'do', 'try', 'with', 'function']);

// A signature wrapped over several lines: a `function` declaration, or a method whose line
// ends with its open parenthesis. Its body opens on the first later line that ends with
// `{` (a method's: a line that starts with the closing parenthesis), unless a line ending
// with `;` comes first (an overload, an abstract method, or a call, not a declaration).
const WRAPPED_DECLARATION = /^\s*(?:export\s+)?(?:default\s+)?(?:@inline\s+)?(?:export\s+)?(?:async\s+)?function\*?\s+([\w$]+)/;
const WRAPPED_METHOD = /^\s+(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*\*?([\w$]+)\s*(?:<[^>]*>)?\($/;
const MAX_SIGNATURE_LINES = 16;

/** The line whose `{` opens the body of a function declared at line `at`, or -1. */
function bodyLine(lines: string[], at: number): { name: string; open: number } | null {
  const line = lines[at]!;
  if (line.trimEnd().endsWith('{')) {
    const name = OPENERS.map((re) => re.exec(line)?.[1]).find((n) => n !== undefined);
    return name === undefined || NOT_FUNCTIONS.has(name) ? null : { name, open: at };
  }
  const declared = WRAPPED_DECLARATION.exec(line)?.[1];
  const method = declared === undefined ? WRAPPED_METHOD.exec(line)?.[1] : undefined;
  const name = declared ?? method;
  if (name === undefined || NOT_FUNCTIONS.has(name)) return null;
  for (let j = at + 1; j < Math.min(lines.length, at + MAX_SIGNATURE_LINES); j++) {
    const text = lines[j]!.trimEnd();
    if (text.endsWith(';')) return null;
    // The parameters' closing line ends the signature: `): T {` opens the body, `) {}` is
    // an empty one.
    if (text.trimStart().startsWith(')')) return text.endsWith('{') ? { name, open: j } : null;
    if (!text.endsWith('{')) continue;
    if (declared !== undefined || text.trimStart().startsWith(')')) return { name, open: j };
    return null;
  }
  return null;
}

/** Functions (and methods, and block-bodied arrows bound to a name) longer than `max` lines,
 *  their signatures wrapped or not: counted from the first line of the signature. */
export function longFunctions(files: string[], max: number): LongFunction[] {
  const out: LongFunction[] = [];
  for (const file of files) {
    const lines = source(file).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const found = bodyLine(lines, i);
      if (!found) continue;
      const end = closingLine(lines, found.open);
      if (end - i + 1 > max) out.push({ file, line: i + 1, name: found.name, lines: end - i + 1 });
    }
  }
  return out;
}

// The line of the brace that closes the block opened at the end of line `from` (braces in
// strings and comments are counted too: good enough for a count that only has to be stable).
function closingLine(lines: string[], from: number): number {
  let depth = 0;
  for (let j = from; j < lines.length; j++) {
    for (const ch of lines[j]!) {
      if (ch === '{') depth++;
      else if (ch === '}') depth--;
    }
    if (depth <= 0 && j > from) return j;
    if (depth <= 0 && j === from) continue;
  }
  return lines.length - 1;
}

/** Lines longer than `max` columns, as "file:line". */
export function longLines(files: string[], max: number): string[] {
  return files.flatMap((file) => source(file).split('\n').flatMap((l, i) => (l.length > max ? [`${file}:${i + 1}`] : [])));
}

/** Files longer than `max` lines. */
export function longFiles(files: string[], max: number): string[] {
  return files.filter((file) => source(file).split('\n').length > max);
}

/**
 * Static imports (and re-exports) of `file` that name another file of the repo, type-only
 * ones included: a type import is a dependency of the design too, if not of the code run.
 */
export function importsOf(file: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of source(file).matchAll(re)) {
    const target = resolve(dirname(join(REPO, file)), m[1]!).replace(/\.js$/, '.ts');
    const candidates = [target, `${target}.ts`, target.replace(/\.ts$/, '.mjs')];
    const hit = candidates.find((c) => { try { return statSync(c).isFile(); } catch { return false; } });
    if (hit) out.push(relative(REPO, hit));
  }
  return out;
}

/** Strongly connected components of more than one node (Tarjan's): the import loops. */
export function loops(nodes: string[], edges: (n: string) => string[]): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return out;
}

/**
 * The node a file is for folder loops: its first folder under `root`, or the file itself
 * when it lies in `root` (src/index.ts gathers every folder, and src/errors.ts is below
 * them all: as one node they would make every folder part of one loop).
 */
export function folderOf(file: string, root: string): string {
  const rest = relative(root, file).split('/');
  return rest.length > 1 ? `${root}/${rest[0]}` : file;
}

/**
 * Files whose every export is public API: re-exported whole (`export * from`,
 * `export type * from`, `export * as name from`) by the package entry (src/index.ts), or by
 * a file it re-exports whole, and so on. A user reads their names through the entry (as
 * `workload.MkfsOp`), which no file of the repo need mention.
 */
export function wholeReexports(entry: string): Set<string> {
  const out = new Set<string>();
  const visit = (file: string): void => {
    const re = /(?:^|\n)\s*export\s+(?:type\s+)?\*\s+(?:as\s+[\w$]+\s+)?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;
    for (const m of source(file).matchAll(re)) {
      const target = relative(REPO, resolve(dirname(join(REPO, file)), m[1]!).replace(/\.js$/, '.ts'));
      if (!out.has(target)) { out.add(target); visit(target); }
    }
  };
  visit(entry);
  return out;
}

/** Exported names of `files` that no other file of `readers` mentions, as "file: name". */
export function unusedExports(files: string[], readers: string[]): string[] {
  const out: string[] = [];
  const publicApi = wholeReexports('src/index.ts');
  // (`@inline export function`: AssemblyScript's decorator comes first.)
  const decl = /^(?:@inline\s+)?export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([\w$]+)/gm;
  for (const file of files) {
    if (publicApi.has(file)) continue;
    for (const m of source(file).matchAll(decl)) {
      const name = m[1]!;
      const word = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`);
      if (!readers.some((other) => other !== file && word.test(source(other)))) out.push(`${file}: ${name}`);
    }
  }
  return out;
}
