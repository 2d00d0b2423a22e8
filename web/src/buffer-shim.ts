// The crash oracle (src/crash/oracle.ts) compares byte arrays with Node's
// Buffer.compare(Buffer.from(a), Buffer.from(b)). Browsers have no Buffer; the fuzz worker
// installs this stand-in, which supports exactly those two calls (views, no copies).
interface BufferLike {
  from(bytes: Uint8Array): Uint8Array;
  compare(a: Uint8Array, b: Uint8Array): number;
}

const bufferShim: BufferLike = {
  from: (bytes) => (bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes as ArrayBufferLike)),
  compare(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  },
};

export function installBufferShim(): void {
  const g = globalThis as unknown as { Buffer?: unknown };
  if (g.Buffer === undefined) g.Buffer = bufferShim;
}
