// The crash oracle (src/crash/oracle.ts) compares bytes with Node's Buffer
// (Buffer.from, Buffer.compare, buf.equals, ...). Browsers have no Buffer: the fuzz worker
// installs the standard browser implementation (the `buffer` package) as the global.
import { Buffer } from 'buffer';

export function installBufferShim(): void {
  const g = globalThis as unknown as { Buffer?: unknown };
  if (g.Buffer === undefined) g.Buffer = Buffer;
}
