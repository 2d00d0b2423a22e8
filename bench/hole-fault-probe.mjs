// Median latency of a DAX hole fault on a device whose memory the host has not touched:
// a sparse nodatacow file, each sample the first 8-byte store to one of its pages after a
// commit (the fault allocates a block and zeroes it). The dax bench's fault rows measure
// the same fault among others; this probe isolates the host's page faults on fresh memory
// (docs/pmem.md section 1, "The first store to a line reads its old bytes").
//   node bench/hole-fault-probe.mjs [samples] [--touched]
// --touched: write the whole device once first, so the host has every page mapped.
import { PmemDevice, FileSystem } from '../dist/index.js';

const PAGE = 4096;
const samples = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 4000);
const touched = process.argv.includes('--touched');
const device = await PmemDevice.create({ sizeBytes: 256 << 20 });
if (touched) {
  const zeros = new Uint8Array(1 << 20);
  for (let at = 0; at < device.sizeBytes; at += zeros.length) { device.store(at, zeros); device.persist(at, zeros.length); }
}
FileSystem.mkfs(device);
const fs = FileSystem.mount(device);
fs.create('/h');
fs.setNoDataCow('/h');
fs.truncate('/h', samples * PAGE);
fs.commit();
const mapping = fs.mmap('/h', { length: samples * PAGE });
const eight = new Uint8Array(8).fill(0x5a);
const ns = [];
for (let i = 0; i < samples; i++) {
  fs.commit();
  const t = process.hrtime.bigint();
  mapping.store(i * PAGE + 64, eight);
  ns.push(Number(process.hrtime.bigint() - t));
}
if (fs.dax.stats.holeFills < samples) throw new Error(`only ${fs.dax.stats.holeFills} hole fills for ${samples} samples`);
ns.sort((a, b) => a - b);
console.log(`${touched ? 'touched' : 'fresh'} device: hole fault median ${(ns[samples >> 1] / 1000).toFixed(2)} us over ${samples} samples`);
