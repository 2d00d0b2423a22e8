// Shared by the mutant runner (run.mjs) and its test (test/mutants.test.ts): applying a
// mutant's patches to the source text, and transpiling one file the way `tsc` builds it.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Source trees a mutant may patch: the file system and what it runs on, never the checker.
 * Files under assembly/ are the core's: a mutant of one rebuilds the core (coreBuild).
 */
export const TARGET_DIRS = ['src/fs/', 'src/dax/', 'src/pmem/', 'src/workers/', 'assembly/fs/', 'assembly/pmem/', 'assembly/dax/'];

/** Is `file` a source of the WebAssembly core (AssemblyScript), not of the TypeScript build? */
export function isCoreFile(file) {
  return file.startsWith('assembly/');
}

/**
 * What an AssemblyScript file says, without comments and blank space: two texts that
 * differ here compile differently (the core's build is too slow to compare for every
 * mutant in `npm test`; run.mjs compiles each one for real).
 */
export function coreCodeOf(text) {
  const sf = ts.createSourceFile('core.ts', text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const printer = ts.createPrinter({ removeComments: true });
  return printer.printFile(sf);
}

/** Syntax errors of an AssemblyScript file (its syntax is TypeScript's). */
export function coreParseErrors(text, file) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  return (sf.parseDiagnostics ?? []).map((d) => `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

/** Bug classes the list must cover (test/mutants.test.ts checks each has a mutant). */
export const REQUIRED_CLASSES = [
  'missing-flush', 'missing-fence', 'wrong-order', 'in-place-update', 'recovery', 'early-reuse',
  'checksum', 'fsync-durability', 'atomicity', 'link-count', 'stale-data-exposure', 'refcount',
  'cow-sharing', 'reflink', 'dax-durability', 'dax-write-protect', 'dax-invalidation',
  'allocator', 'metadata-redundancy', 'space-promise',
];

/** Non-overlapping occurrences of `needle` in `text`. */
export function occurrences(text, needle) {
  if (!needle) return 0;
  let n = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

/**
 * Apply a mutant's patches in order. Each `find` must occur exactly once in the text it is
 * applied to; otherwise the mutant is stale and `problems` says which patch and how often.
 */
export function applyMutant(mutant, source) {
  let text = source;
  const problems = [];
  mutant.patches.forEach((p, i) => {
    const n = occurrences(text, p.find);
    if (n !== 1) {
      problems.push(`patch ${i + 1}: find text occurs ${n} times in ${mutant.file} (must be exactly once): ${JSON.stringify(p.find.split('\n')[0].trim().slice(0, 80))}`);
      return;
    }
    const at = text.indexOf(p.find);
    text = text.slice(0, at) + p.replace + text.slice(at + p.find.length);
  });
  return { text, problems };
}

let cachedOptions = null;

/**
 * tsconfig.json's compilerOptions, parsed by TypeScript. `module` becomes ES2022:
 * transpileModule sees no package.json, so under NodeNext it would emit CommonJS; with
 * ES2022 it emits what tsc emits for this "type": "module" package (run.mjs checks that
 * the unmutated file transpiles to the dist/ file byte for byte).
 */
export function compilerOptions() {
  if (cachedOptions) return cachedOptions;
  const file = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(file, ts.sys.readFile);
  if (read.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(read.error.messageText, ' ')}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT);
  cachedOptions = { options: parsed.options, fileNames: parsed.fileNames };
  return cachedOptions;
}

/** The dist/ file tsc builds from a source file (src/fs/kernel.ts -> dist/fs/kernel.js). */
export function distPathOf(file) {
  const { options } = compilerOptions();
  const rel = relative(options.rootDir ?? join(ROOT, 'src'), join(ROOT, file));
  return join(options.outDir ?? join(ROOT, 'dist'), rel.replace(/\.ts$/, '.js'));
}

/**
 * Transpile one file alone (ts.transpileModule): the JavaScript, its source map (sources
 * relative to the dist/ file, as tsc writes them), and the syntax errors of the input and
 * of the output.
 */
export function transpile(text, file, extra = {}) {
  const { options } = compilerOptions();
  const fileName = join(ROOT, file);
  const out = ts.transpileModule(text, {
    compilerOptions: { ...options, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler, ...extra },
    fileName,
    reportDiagnostics: true,
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
  // The output must parse as a module too.
  const js = ts.createSourceFile('out.js', out.outputText, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  for (const d of js.parseDiagnostics ?? []) errors.push(`output: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  let sourceMapText = out.sourceMapText;
  if (sourceMapText) {
    const map = JSON.parse(sourceMapText);
    map.sources = [relative(dirname(distPathOf(file)), fileName)];
    sourceMapText = JSON.stringify(map);
  }
  return { js: out.outputText, sourceMapText, errors };
}

/** The code a file compiles to, comments removed: two texts that differ here behave differently. */
export function codeOf(text, file) {
  return transpile(text, file, { removeComments: true, sourceMap: false }).js;
}

const unchangedFiles = new Map();

/**
 * Type-check mutated files against the whole project (the other files as they are on
 * disk): the semantic and syntactic errors of the mutated files. Reuses `oldProgram`.
 */
export function typeCheck(mutated, oldProgram) {
  const { options, fileNames } = compilerOptions();
  const overrides = new Map(Object.entries(mutated).map(([file, text]) => [join(ROOT, file), text]));
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
    const text = overrides.get(name);
    if (text !== undefined) return ts.createSourceFile(name, text, languageVersion, true);
    // The same object for an unchanged file: the next program reuses it instead of parsing again.
    let sf = unchangedFiles.get(name);
    if (!sf) { sf = getSourceFile(name, languageVersion, onError, shouldCreate); if (sf) unchangedFiles.set(name, sf); }
    return sf;
  };
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => overrides.get(name) ?? readFile(name);
  const program = ts.createProgram({ rootNames: fileNames, options: { ...options, noEmit: true }, host, oldProgram });
  const errors = [];
  for (const name of overrides.keys()) {
    const sf = program.getSourceFile(name);
    if (!sf) { errors.push(`${name}: not in the program`); continue; }
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      if (d.category !== ts.DiagnosticCategory.Error) continue;
      const where = d.start !== undefined ? `:${sf.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      errors.push(`${relative(ROOT, name)}${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    }
  }
  return { errors, program };
}

export function readSource(file) {
  return readFileSync(join(ROOT, file), 'utf8');
}
