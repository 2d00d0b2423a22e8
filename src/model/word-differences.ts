// Where two byte arrays of one length differ, found a word at a time: the crash checker
// compares every file of an image with a state's bytes, and most are equal.
/**
 * The first offset where two arrays of the same length differ, or null (compared 4 bytes
 * at a time).
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | null {
  return new WordDifferences(a, b).next(0);
}

/**
 * The differences of one pair of arrays of the same length, asked for many times: the word
 * views are made once (an image's file that differs from a state in many words asks for
 * every one of them, and two views per question were most of the oracle's garbage).
 * A native compare (Node's Buffer) would be faster on long equal stretches, but the library
 * runs in browsers too and keeps Buffer out of src/ (test/no-node-globals.test.ts).
 */
export class WordDifferences {
  private readonly a32: Uint32Array | null;
  private readonly b32: Uint32Array | null;

  constructor(private readonly a: Uint8Array, private readonly b: Uint8Array) {
    if (a.length !== b.length) throw new Error('WordDifferences: lengths differ');
    const aligned = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0;
    this.a32 = aligned ? new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2) : null;
    this.b32 = aligned ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : null;
  }

  /** The first index at or after `from` (a multiple of 4) where the arrays differ, or null. */
  next(from: number): number | null {
    const { a, b, a32, b32 } = this;
    let at = from;
    if (a32 && b32 && from % 4 === 0) {
      let i = from >>> 2;
      const words = a32.length;
      while (i < words && a32[i] === b32[i]) i++;
      at = i * 4;
    }
    while (at < a.length && a[at] === b[at]) at++;
    return at < a.length ? at : null;
  }
}
