import { describe, expect, it } from 'vitest';
import { checkScript, fuzzDevices, resetToGarbage, fillWithGarbage } from '../src/crash/fuzz.js';
import { randomScript } from '../src/workload/generate.js';
import { daxWorkload } from '../src/crash/dax-workload.js';
import { loadCoreModule } from '../src/core/module.js';
import { REGION } from '../src/core/abi.js';
import { PmemDevice } from '../src/index.js';

// A campaign reuses one device: each script must start on exactly the bytes a fresh device
// gets (so that its reproducer replays the same), though only the blocks the previous
// script may have written are filled again.
describe('every fuzzed script starts on the same garbage', () => {
  it('after real scripts of each generator, the partial refill equals a full one', async () => {
    await loadCoreModule('release');
    const devices = fuzzDevices();
    const dev = devices.device;
    const fresh = PmemDevice.createSync({ sizeBytes: dev.sizeBytes, kernelBytes: 8 << 20, maxThreads: 2 });
    fillWithGarbage(fresh);
    const bytesOf = (d: PmemDevice, region: number): Uint8Array => new Uint8Array(d.memory.buffer, d.region(region), d.sizeBytes);
    const scripts = [
      ...[1, 2, 3].map((seed) => randomScript({ seed, ops: 30, maxFileBytes: 64 << 10, maxOpBytes: 16 << 10 })),
      ...[1, 2, 3].map((seed) => daxWorkload({ seed, ops: 24 })),
    ];
    let refilled = 0;
    for (const script of scripts) {
      const r = checkScript(script, {}, devices);
      expect(r.violations).toEqual([]);
      dev.crashInPlace();
      const marked = devices.written!.reduce((a, b) => a + b, 0);
      resetToGarbage(devices);
      refilled += marked;
      for (const region of [REGION.visible]) {
        const got = bytesOf(dev, region);
        const want = bytesOf(fresh, region);
        let at = 0;
        while (at < got.length && got[at] === want[at]) at++;
        expect(at, `region ${region}: first byte that differs from a fresh device`).toBe(got.length);
      }
    }
    // The refill was partial: fewer blocks than the device holds, per script.
    expect(refilled / scripts.length).toBeLessThan(dev.sizeBytes / 4096);
    expect(refilled).toBeGreaterThan(0);
    fresh.close();
  });
});
