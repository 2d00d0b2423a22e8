import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DEVICE_BASE, instantiateCore } from '../src/core/module.js';

// Minimal reader of a wasm binary's sections: enough to list data segments, the start
// function and imports, which decide whether instances may share one memory.
function sections(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let at = 8;
  const leb = (): number => { let result = 0, shift = 0, b: number; do { b = bytes[at++]!; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); return result >>> 0; };
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = leb();
    const list = out.get(id) ?? [];
    list.push(bytes.subarray(at, at + size));
    out.set(id, list);
    at += size;
  }
  return out;
}

function dataSegments(section: Uint8Array): Array<{ offset: number; length: number }> {
  let at = 0;
  const leb = (): number => { let result = 0, shift = 0, b: number; do { b = section[at++]!; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); return result >>> 0; };
  const sleb = (): number => { let result = 0, shift = 0, b: number; do { b = section[at++]!; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80); if (shift < 32 && (b & 0x40)) result |= -1 << shift; return result; };
  const count = leb();
  const segments = [];
  for (let i = 0; i < count; i++) {
    const kind = leb();
    expect(kind, 'only active segments in memory 0').toBe(0);
    expect(section[at++], 'offset is i32.const').toBe(0x41);
    const offset = sleb();
    expect(section[at++], 'end of offset expression').toBe(0x0b);
    const length = leb();
    segments.push({ offset, length });
    at += length;
  }
  return segments;
}

describe('the core can be instantiated many times over one memory', () => {
  for (const target of ['release', 'debug'] as const) {
    it(`${target}: no start function, data only below __heap_base, heap base below the device`, () => {
      const bytes = new Uint8Array(readFileSync(new URL(`../build/${target}.wasm`, import.meta.url)));
      const s = sections(bytes);
      expect(s.has(8), 'a start function would run again in every instance').toBe(false);
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const core = instantiateCore(new WebAssembly.Module(bytes), memory);
      const heapBase = core.core_heap_base();
      expect(heapBase).toBeLessThanOrEqual(DEVICE_BASE);
      const segments = (s.get(11) ?? []).flatMap(dataSegments);
      for (const seg of segments) expect(seg.offset + seg.length).toBeLessThanOrEqual(heapBase);
      // The exported runtime would mean managed allocation is reachable.
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
      expect(exports.filter((n) => n.startsWith('__'))).toEqual([]);
    });
  }
});
