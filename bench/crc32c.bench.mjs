// crc32c throughput: WASM core in place on device bytes vs a plain JS table (baseline)
// vs hash-wasm (crc32 with the Castagnoli polynomial).
import { createCRC32 } from 'hash-wasm';
import { crc32cJs, checkCrc32cJs } from './crc32c-js.mjs';
import { runGroup } from './harness.mjs';

const CASTAGNOLI = 0x82f63b78;

function hashWasmValue(hasher, bytes) {
  hasher.init();
  hasher.update(bytes);
  const d = hasher.digest('binary'); // big-endian
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

const hex = (x) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

/** device: a PmemDevice. Returns the rows of both groups. */
export async function crc32cBenches(device) {
  checkCrc32cJs();
  const hasher = await createCRC32(CASTAGNOLI);
  const check = new TextEncoder().encode('123456789');
  if (hashWasmValue(hasher, check) !== 0xe3069283) {
    throw new Error(`hash-wasm crc32(poly 0x82F63B78) of '123456789' is ${hex(hashWasmValue(hasher, check))}, expected 0xe3069283`);
  }

  const rows = [];
  const checks = [];
  for (const size of [4096, 65536]) {
    // Random bytes, in the JS heap and on the device at `addr` (stored through the
    // public API, then made durable so the device is in a plain state).
    const addr = 1 << 20;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (Math.random() * 256) | 0;
    device.store(addr, bytes);
    device.persist(addr, size);

    const wasm = device.crc32c(addr, size);
    const js = crc32cJs(bytes);
    const hw = hashWasmValue(hasher, bytes);
    checks.push({ size, wasm: hex(wasm), js: hex(js), hashWasm: hex(hw) });
    if (wasm !== js) throw new Error(`crc32c ${size} B: WASM core ${hex(wasm)} != JS table ${hex(js)}`);
    if (hw !== wasm) {
      throw new Error(`crc32c ${size} B: hash-wasm ${hex(hw)} != WASM core ${hex(wasm)}; stopping as the brief asks`);
    }

    let sink = 0;
    const group = `crc32c ${size >> 10} KiB`;
    rows.push(...await runGroup(group, [
      { name: 'JS table, byte at a time', bytes: size, baseline: true, op: () => { sink ^= crc32cJs(bytes); } },
      { name: 'WASM core in place (device.crc32c)', bytes: size, op: () => { sink ^= device.crc32c(addr, size); } },
      { name: 'hash-wasm crc32(poly 0x82F63B78)', bytes: size, op: () => { sink ^= hashWasmValue(hasher, bytes); } },
    ], { ratio: 'throughput' }));
    if (sink === 0x12345678) console.log('(sink)'); // keep results observable
  }
  return { rows, checks };
}
