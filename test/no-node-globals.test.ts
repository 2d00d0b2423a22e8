// The library runs in browsers too (`fuzz()` and the playground run in a page): no Node
// `Buffer` in src/. Bytes are Uint8Array; compare with a loop, hex with a small function,
// text with TextEncoder/TextDecoder. ArrayBuffer and SharedArrayBuffer are of course fine.
// The scan parses every file and looks at identifiers, so comments and names that merely
// contain the word (ArrayBuffer, BufferSource) do not count.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

/** Node-only code, where Buffer would be allowed: directories end in '/'. */
const NODE_ONLY: ReadonlyArray<readonly [string, string]> = [
  ['src/cli/', 'the pmcow command line: Node only (another engineer\'s code)'],
  ['src/crash/fuzz-worker.ts', 'the fuzzer\'s worker thread: node:worker_threads'],
  ['src/workers/node-entry.ts', 'the writer threads\' Node entry: node:worker_threads'],
];

const nodeOnly = (file: string): boolean => NODE_ONLY.some(([p]) => (p.endsWith('/') ? file.startsWith(p) : file === p));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(path);
  }
  return out;
}

/** `line:column` of every use of the identifier `Buffer` (or `x['Buffer']`) in the text. */
function bufferUses(text: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node): string => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    return `${line + 1}:${character + 1}`;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'Buffer') found.push(at(node));
    if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'Buffer') found.push(at(node));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('no Node globals in the library', () => {
  it('the scan finds Buffer and nothing that only looks like it', () => {
    expect(bufferUses('const a = Buffer.from(x).toString("hex");')).toEqual(['1:11']);
    expect(bufferUses('let b: Buffer;\nimport { Buffer as B } from "node:buffer";\nglobalThis["Buffer"];')).toHaveLength(3);
    expect(bufferUses('// Buffer\n/* Buffer */ const s = "Buffer"; new ArrayBuffer(8); new SharedArrayBuffer(8); let t: BufferSource;')).toEqual([]);
  });

  it('the Node-only files listed exist', () => {
    for (const [p] of NODE_ONLY) expect(existsSync(join(ROOT, p)), p).toBe(true);
  });

  it('no Buffer in src/ outside the Node-only files', () => {
    const uses: string[] = [];
    for (const path of sourceFiles(SRC)) {
      const file = relative(ROOT, path).split('\\').join('/');
      if (nodeOnly(file)) continue;
      for (const where of bufferUses(readFileSync(path, 'utf8'), path)) uses.push(`${file}:${where}`);
    }
    expect(uses, 'use Uint8Array, TextEncoder/TextDecoder or a small hex function instead').toEqual([]);
  });
});
