// An independent statement of the x86 persistency rules, used to check the core's
// crash images: written from the rules, not from the core's code.
//  - ADR: lines are independent; each line keeps a prefix of its stores since the last
//    durable point, and the first store it leaves out may contribute any subset of the
//    8-byte words it touched (a torn store).
//  - eADR: one prefix of all stores, the interrupted store torn at words.

export interface OracleStore { addr: number; bytes: Uint8Array }

interface LinePart { line: number; offset: number; bytes: Uint8Array }

function splitByLine(stores: OracleStore[]): LinePart[] {
  const parts: LinePart[] = [];
  for (const { addr, bytes } of stores) {
    let done = 0;
    while (done < bytes.length) {
      const at = addr + done;
      const line = Math.floor(at / 64);
      const offset = at % 64;
      const count = Math.min(64 - offset, bytes.length - done);
      parts.push({ line, offset, bytes: bytes.subarray(done, done + count) });
      done += count;
    }
  }
  return parts;
}

function wordsOf(part: LinePart): number[] {
  const words = new Set<number>();
  for (let i = 0; i < part.bytes.length; i++) words.add(Math.floor((part.offset + i) / 8));
  return [...words].sort((a, b) => a - b);
}

function apply(line: Uint8Array, part: LinePart, words: Set<number>): void {
  for (let i = 0; i < part.bytes.length; i++) {
    if (words.has(Math.floor((part.offset + i) / 8))) line[part.offset + i] = part.bytes[i]!;
  }
}

function nonEmptySubsets(words: number[]): Set<number>[] {
  const out: Set<number>[] = [];
  for (let m = 1; m < 1 << words.length; m++) out.push(new Set(words.filter((_, i) => (m >> i) & 1)));
  return out;
}

const key = (line: Uint8Array): string => Buffer.from(line).toString('hex');

/** Every legal image as a map line -> content hex, keyed by a canonical string. */
export function legalImages(stores: OracleStore[], media: (line: number) => Uint8Array, domain: 'adr' | 'eadr'): { count: number; images: Set<string> } {
  const parts = splitByLine(stores);
  const lines = [...new Set(parts.map((p) => p.line))].sort((a, b) => a - b);
  const render = (contents: Map<number, Uint8Array>): string => lines.map((l) => `${l}:${key(contents.get(l) ?? media(l))}`).join(' ');
  if (domain === 'eadr') {
    const images: string[] = [render(new Map())];
    for (let k = 0; k < parts.length; k++) {
      for (const subset of nonEmptySubsets(wordsOf(parts[k]!))) {
        const contents = new Map<number, Uint8Array>();
        for (let j = 0; j <= k; j++) {
          const p = parts[j]!;
          const line = contents.get(p.line) ?? Uint8Array.from(media(p.line));
          apply(line, p, j < k ? new Set([0, 1, 2, 3, 4, 5, 6, 7]) : subset);
          contents.set(p.line, line);
        }
        images.push(render(contents));
      }
    }
    return { count: images.length, images: new Set(images) };
  }
  const versionsPerLine = lines.map((l) => {
    const mine = parts.filter((p) => p.line === l);
    const versions: Uint8Array[] = [Uint8Array.from(media(l))];
    for (let k = 0; k < mine.length; k++) {
      for (const subset of nonEmptySubsets(wordsOf(mine[k]!))) {
        const line = Uint8Array.from(media(l));
        for (let j = 0; j < k; j++) apply(line, mine[j]!, new Set([0, 1, 2, 3, 4, 5, 6, 7]));
        apply(line, mine[k]!, subset);
        versions.push(line);
      }
    }
    return versions;
  });
  let images: string[] = [''];
  versionsPerLine.forEach((versions, i) => {
    const next: string[] = [];
    for (const prefix of images) for (const v of versions) next.push(`${prefix}${i ? ' ' : ''}${lines[i]}:${key(v)}`);
    images = next;
  });
  return { count: images.length, images: new Set(images) };
}

export function renderLines(load: (addr: number, length: number) => Uint8Array, lines: number[]): string {
  return lines.map((l) => `${l}:${key(load(l * 64, 64))}`).join(' ');
}

export function touchedLines(stores: OracleStore[]): number[] {
  return [...new Set(splitByLine(stores).map((p) => p.line))].sort((a, b) => a - b);
}
