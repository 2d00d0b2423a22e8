// Figures of the range operations (docs/fs.md section 5, "Dedupe, collapse and insert range"):
//   - dedupe's comparison: a 64 MiB dedupe of equal files (compared in the core, then
//     shared) and of files that differ in their last byte (compared, nothing shared);
//   - collapse and insert range on a file of many extent items: the time per operation
//     and the items it moved (each moved item: an insert and a delete in the fs tree);
//   - the largest number of extent items one collapse or insert may move in one
//     transaction on this device (reserveShift in src/fs/range-ops.ts).
//   node bench/range-ops-probe.mjs [extents]
import { PmemDevice, FileSystem, FsError } from '../dist/index.js';

const B = 4096;
const MiB = 1 << 20;
const extents = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 4000);
const device = await PmemDevice.create({ sizeBytes: 512 * MiB });
FileSystem.mkfs(device);
const fs = FileSystem.mount(device);
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;

const big = new Uint8Array(64 * MiB);
for (let i = 0; i < big.length; i += B) big[i] = (i / B) & 0xff;
fs.writeFile('/s', big);
fs.writeFile('/d', big);
big[big.length - 1] ^= 1;
fs.writeFile('/x', big);
fs.commit();
let t = process.hrtime.bigint();
const differs = fs.dedupeRange('/s', 0, '/x', 0, 64 * MiB);
const differsMs = ms(t);
t = process.hrtime.bigint();
const same = fs.dedupeRange('/s', 0, '/d', 0, 64 * MiB);
const sameMs = ms(t);
if (same.status !== 'same' || differs.status !== 'differs') throw new Error('unexpected dedupe results');
console.log(`dedupe 64 MiB, differing in the last byte: ${differsMs.toFixed(1)} ms (${(64 / (differsMs / 1000)).toFixed(0)} MiB/s compared; both files' checksums verified on this first read)`);
console.log(`dedupe 64 MiB, equal: ${sameMs.toFixed(1)} ms (compared and shared; the source's checksums known good from the first dedupe)`);
fs.unlink('/s'); fs.unlink('/d'); fs.unlink('/x');
fs.commit();

// A file of `extents` one-block extent items: every other block written, then the gaps.
fs.create('/m');
const fd = fs.open('/m');
const block = new Uint8Array(B).fill(7);
for (let i = 0; i < extents; i += 2) fs.pwrite(fd, block, i * B);
fs.commit();
for (let i = 1; i < extents; i += 2) fs.pwrite(fd, block, i * B);
fs.close(fd);
fs.commit();
const items = fs.fileExtents('/m').length;
t = process.hrtime.bigint();
fs.collapseRange('/m', 0, B);
const collapseMs = ms(t);
fs.commit();
t = process.hrtime.bigint();
fs.insertRange('/m', 0, B);
const insertMs = ms(t);
fs.commit();
if (fs.fsck().length) throw new Error('fsck found problems');
console.log(`collapse of the first block of a file of ${items} extent items: ${collapseMs.toFixed(1)} ms (${(collapseMs * 1000 / items).toFixed(1)} us per moved item)`);
console.log(`insert of a block at the start of that file: ${insertMs.toFixed(1)} ms`);

// The largest move one transaction takes on a 128 MiB device: grow the file (one-block
// extents with gaps) until a collapse at its start is ENOSPC.
fs.unmount();
const small = await PmemDevice.create({ sizeBytes: 128 * MiB });
FileSystem.mkfs(small);
const sfs = FileSystem.mount(small);
console.log(`device 128 MiB: ${sfs.kernel.poolSize} dirty-node buffers of ${sfs.kernel.nodeBytes} bytes`);
sfs.create('/m');
let limit = null;
let moved = 0;
for (let n = 1024; n <= 32768 && limit === null; n *= 2) {
  sfs.truncate('/m', 0);
  sfs.commit();
  const f = sfs.open('/m');
  for (let i = 0; i < n; i += 2) sfs.pwrite(f, block, i * B);
  sfs.close(f);
  sfs.commit();
  try {
    sfs.collapseRange('/m', 0, B);
    sfs.commit();
    moved = sfs.fileExtents('/m').length;
  } catch (e) {
    if (!(e instanceof FsError) || e.code !== 'ENOSPC') throw e;
    limit = sfs.fileExtents('/m').length;
  }
}
if (sfs.fsck().length) throw new Error('fsck found problems');
console.log(`a collapse moved ${moved} extent items in one transaction; ${limit === null ? 'no ENOSPC up to 16,384' : `one moving ${limit} is ENOSPC`}`);
sfs.unmount();
