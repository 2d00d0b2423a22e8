// Pack a device image for the test fixtures: its size and its non-zero 4 KiB blocks,
// gzipped (a 128 MiB mkfs.btrfs image is a few hundred such blocks). test/helpers/
// image-pack.ts unpacks it.
//   node scripts/pack-image.mjs IMAGE OUT.pack.gz
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BLOCK = 4096;
const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node scripts/pack-image.mjs IMAGE OUT.pack.gz');
const image = readFileSync(input);
if (image.length % BLOCK) throw new Error(`${input}: not whole 4 KiB blocks`);
const parts = [];
const header = Buffer.alloc(16);
header.write('PMCOWIMG', 0, 'latin1');
header.writeBigUInt64LE(BigInt(image.length), 8);
parts.push(header);
let blocks = 0;
for (let at = 0; at < image.length; at += BLOCK) {
  const block = image.subarray(at, at + BLOCK);
  if (block.every((b) => b === 0)) continue;
  const index = Buffer.alloc(4);
  index.writeUInt32LE(at / BLOCK);
  parts.push(index, block);
  blocks++;
}
writeFileSync(output, gzipSync(Buffer.concat(parts), { level: 9 }));
console.log(`${output}: ${blocks} non-zero blocks of ${image.length / BLOCK}`);
