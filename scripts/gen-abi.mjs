// Writes src/core/abi.ts and src/core/abi/*.ts from assembly/abi.ts and assembly/abi/*.ts
// (see docs/abi.md). Plain Node, no dependencies.
//   node scripts/gen-abi.mjs          write the generated files
//   node scripts/gen-abi.mjs --check  exit 1 when a committed file differs
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);
/** The barrel: its `export * from "./abi/NAME";` lines name the sections, in order. */
export const SOURCE_PATH = fileURLToPath(new URL('assembly/abi.ts', ROOT));
export const OUTPUT_PATH = fileURLToPath(new URL('src/core/abi.ts', ROOT));

const CONSTANT = /^export const ([A-Z][A-Z0-9_]*): (u8|u32|i32|u64) = (.+?);\s*(?:\/\/\s*(.*))?$/;
const GROUP = /^\/\/ @ts (object|array) ([A-Z][A-Z0-9_]*)\s*$/;
const KEYED_COMMENT = /^"([A-Za-z][A-Za-z0-9]*)"\s*:?\s*(.*)$/;
// A section of the barrel; the TypeScript barrel names the generated file with `.js`.
const REEXPORT = /^export \* from "\.\/(abi\/[a-z][a-z0-9-]*)";$/;
// u64 constants are kept to safe integers: TypeScript reads them as numbers.
const RANGES = {
  u8: [0, 0xff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
  u64: [0, Number.MAX_SAFE_INTEGER],
};

/** The value of EXPR: integer literals and earlier constants joined by integer operators. */
function evaluate(expr, values, type, where) {
  const substituted = expr.replace(/\b[A-Za-z_][A-Za-z0-9_]*\b/g, (name) => {
    if (/^0x[0-9a-f]+$/i.test(name)) return name;
    if (!values.has(name)) throw new Error(`${where}: unknown name ${name}`);
    return `(${values.get(name)})`;
  });
  if (!/^[0-9a-fA-Fx\s+\-*/%<>&|~()]*$/.test(substituted)) {
    throw new Error(`${where}: not an integer expression: ${expr}`);
  }
  let value = Function(`"use strict"; return (${substituted});`)();
  // a bitwise result with bit 31 set
  if (type === 'u32' && value < 0 && value >= -0x80000000) value >>>= 0;
  const [low, high] = RANGES[type];
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new Error(`${where}: ${expr} = ${value} does not fit ${type}`);
  }
  return value;
}

/**
 * Constants (in file order), groups, sections and the comment lines of one ABI file.
 * `values` holds the constants of the files read before it (a name is defined once).
 */
export function parseAbi(source, values = new Map(), file = 'assembly/abi.ts') {
  const items = [];
  let group = null;
  source.split('\n').forEach((text, index) => {
    const where = `${file}:${index + 1}`;
    const trimmed = text.trim();
    if (trimmed === '') { group = null; items.push({ kind: 'blank' }); return; }
    const groupMatch = GROUP.exec(trimmed);
    if (groupMatch) {
      group = { kind: groupMatch[1], name: groupMatch[2], members: [] };
      items.push({ kind: 'group', group });
      return;
    }
    const reexport = REEXPORT.exec(trimmed);
    if (reexport) { items.push({ kind: 'section', path: reexport[1] }); return; }
    const constant = CONSTANT.exec(trimmed);
    if (constant) {
      const [, name, type, expr, comment = ''] = constant;
      if (values.has(name)) throw new Error(`${where}: ${name} defined twice`);
      const value = evaluate(expr, values, type, where);
      values.set(name, value);
      const item = { kind: 'constant', name, type, expr, value, comment };
      if (group) group.members.push(keyOf(item, group, where));
      items.push(item);
      return;
    }
    if (trimmed.startsWith('//')) { items.push({ kind: 'comment', text: trimmed }); return; }
    throw new Error(`${where}: not a constant, comment or blank line: ${trimmed}`);
  });
  return { values, items };
}

function keyOf(item, group, where) {
  const keyed = KEYED_COMMENT.exec(item.comment);
  if (!keyed) {
    throw new Error(`${where}: ${item.name} is in @ts ${group.kind} ${group.name}: `
      + 'its comment must start with its "key"');
  }
  item.comment = keyed[2];
  return { key: keyed[1], value: item.value };
}

function literal(item) {
  return /^0x[0-9a-f]+$/i.test(item.expr) ? item.expr : String(item.value);
}

/**
 * `export const NAME = { items } as const;` (or `[items]`), the items on lines of their own
 * when the line would pass MAX_COLUMNS.
 */
function renderList(name, open, items, close) {
  const inner = open === '{' ? ` ${items.join(', ')} ` : items.join(', ');
  const line = `export const ${name} = ${open}${inner}${close} as const;`;
  if (line.length <= MAX_COLUMNS) return line;
  const rows = [];
  let current = ' ';
  for (const item of items) {
    if (current !== ' ' && current.length + 2 + item.length > MAX_COLUMNS) {
      rows.push(current);
      current = ' ';
    }
    current += ` ${item},`;
  }
  rows.push(current);
  return [`export const ${name} = ${open}`, ...rows, `${close} as const;`].join('\n');
}

function renderGroup(group) {
  const members = group.members;
  if (group.kind === 'object') {
    return renderList(group.name, '{', members.map((m) => `${m.key}: ${m.value}`), '}');
  }
  const byValue = [...members].sort((a, b) => a.value - b.value);
  byValue.forEach((m, i) => {
    if (m.value !== i) {
      throw new Error(`@ts array ${group.name}: values must be 0..${members.length - 1}`);
    }
  });
  return renderList(group.name, '[', byValue.map((m) => `'${m.key}'`), ']');
}

const MAX_COLUMNS = 100;

/** `text` as `// ` comment lines of at most MAX_COLUMNS columns (a longer word stays whole). */
function commentLines(text) {
  const lines = [];
  let current = '//';
  for (const word of text.split(' ')) {
    if (current !== '//' && current.length + 1 + word.length > MAX_COLUMNS) {
      lines.push(current);
      current = '//';
    }
    current += ` ${word}`;
  }
  lines.push(current);
  return lines;
}

/**
 * The text of the TypeScript file for the text of one ABI file (the barrel, or a section
 * read after the sections before it, whose constants `values` holds).
 */
export function renderAbi(source, values = new Map(), file = 'assembly/abi.ts') {
  const { items } = parseAbi(source, values, file);
  const out = [
    `// generated by scripts/gen-abi.mjs from ${file}: do not edit`,
    '// The constants of the core\'s ABI for TypeScript: see assembly/abi.ts and docs/abi.md.',
  ];
  const pendingGroups = [];
  const firstBlank = items.findIndex((item) => item.kind === 'blank');
  const preamble = firstBlank > 0
    && items.slice(0, firstBlank).every((item) => item.kind === 'comment');
  // the file's opening comment is for its readers
  const body = preamble ? items.slice(firstBlank) : items;
  for (const item of body) {
    if (item.kind === 'blank') {
      out.push(...pendingGroups.splice(0).map(renderGroup), '');
      continue;
    }
    if (item.kind === 'group') {
      pendingGroups.push(item.group);
      out.push(`// ${item.group.name}: the constants below, as a TypeScript ${item.group.kind}.`);
      continue;
    }
    if (item.kind === 'comment') { out.push(item.text); continue; }
    if (item.kind === 'section') { out.push(`export * from './${item.path}.js';`); continue; }
    const derived = literal(item) === item.expr ? '' : `(= ${item.expr})`;
    const doc = [item.comment, derived].filter(Boolean).join(' ');
    const line = `export const ${item.name} = ${literal(item)};`;
    // A doc that would take the line past 100 columns goes on the lines above it.
    if (doc && line.length + 4 + doc.length > MAX_COLUMNS) out.push(...commentLines(doc), line);
    else out.push(`${line}${doc ? ` // ${doc}` : ''}`);
  }
  out.push(...pendingGroups.map(renderGroup));
  while (out.at(-1) === '') out.pop();
  return `${out.join('\n')}\n`;
}

/**
 * Every generated file: the barrel, then each section it names, in its order (so a section
 * may use the constants of the sections before it), as { output path, text }.
 */
export function renderAll() {
  const barrel = readFileSync(SOURCE_PATH, 'utf8');
  const values = new Map();
  const files = [{ path: OUTPUT_PATH, text: renderAbi(barrel, values) }];
  for (const item of parseAbi(barrel).items.filter((i) => i.kind === 'section')) {
    const source = readFileSync(fileURLToPath(new URL(`assembly/${item.path}.ts`, ROOT)), 'utf8');
    const text = renderAbi(source, values, `assembly/${item.path}.ts`);
    files.push({ path: fileURLToPath(new URL(`src/core/${item.path}.ts`, ROOT)), text });
  }
  return files;
}

function main() {
  const files = renderAll();
  if (process.argv.includes('--check')) {
    for (const { path, text } of files) {
      let current = '';
      try { current = readFileSync(path, 'utf8'); } catch { /* missing: differs */ }
      if (current !== text) {
        console.error(`${path} is out of date: run node scripts/gen-abi.mjs`);
        process.exit(1);
      }
    }
    return;
  }
  mkdirSync(fileURLToPath(new URL('src/core/abi/', ROOT)), { recursive: true });
  for (const { path, text } of files) writeFileSync(path, text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
