// Plain JavaScript crc32c (Castagnoli, reflected polynomial 0x82F63B78), one byte per
// step through a 256-entry table; seed ~0 and final xor ~0 as btrfs. The benchmark
// baseline for the WASM core and for hash-wasm.

const POLY = 0x82f63b78;

export const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** crc32c of `bytes` (a Uint8Array) as an unsigned 32-bit number. */
export function crc32cJs(bytes) {
  const table = CRC32C_TABLE;
  let crc = 0xffffffff;
  for (let i = 0, n = bytes.length; i < n; i++) crc = (crc >>> 8) ^ table[(crc ^ bytes[i]) & 0xff];
  return (crc ^ 0xffffffff) >>> 0;
}

/** The standard check value: crc32c('123456789') = 0xE3069283. Throws if wrong. */
export function checkCrc32cJs() {
  const got = crc32cJs(new TextEncoder().encode('123456789'));
  if (got !== 0xe3069283) throw new Error(`crc32c-js check failed: 0x${got.toString(16)} != 0xe3069283`);
  return got;
}
