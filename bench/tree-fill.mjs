// How full the trees of the engine bench's datacow workload are, and how many tree blocks a
// commit writes: a 16 MiB datacow file (16 KiB nodes) written whole, then random 4 KiB
// writes with a commit every 256 (the engine bench's write loop, its seed), until every
// page has been rewritten several times. Prints, per tree, its blocks and leaves and how
// full the leaves are (item headers and data over the leaf's room), then the tree-block
// bytes one more commit of 256 writes stores. Reads the trees through the file system's
// internals (its kernel and NodeView): a diagnostic, not part of `bench/run.mjs`.
//   npm run build && node bench/tree-fill.mjs
import { PmemDevice, FileSystem, Rng } from '../dist/index.js';
import { NodeView } from '../dist/fs/node.js';

const NODE_BYTES = 16384, FILE_BYTES = 16 << 20, IO = 4096, SLOTS = FILE_BYTES / IO;
const LEAF_ROOM = NODE_BYTES - 48, ITEM_HEADER = 25, COMMIT_EVERY = 256, ROUNDS = 120;

const device = await PmemDevice.create({ sizeBytes: 256 << 20, kernelBytes: 64 << 20 });
FileSystem.mkfs(device, { nodeSize: NODE_BYTES });
const fs = FileSystem.mount(device);
fs.create('/f');
const fd = fs.open('/f');
const contents = new Uint8Array(FILE_BYTES);
for (let i = 0; i < contents.length; i++) contents[i] = (i * 131 + 7) & 255;
fs.pwrite(fd, contents, 0);
fs.commit();
const data = contents.slice(0, IO);
const rng = new Rng(0x9e3779b9);
const writes = () => { for (let j = 0; j < COMMIT_EVERY; j++) fs.pwrite(fd, data, rng.below(SLOTS) * IO); };
for (let r = 0; r < ROUNDS; r++) { writes(); fs.commit(); }

const k = fs.k;
const trees = [['extent', k.extentTree], ['csum', k.csumTree], ['fs', fs.subvolume(5).tree]];
let blocks = 0;
for (const [name, tree] of trees) {
  const s = { blocks: 0, leaves: 0, items: 0, used: 0 };
  const walk = (bytenr) => {
    const n = new NodeView(k.m, k.nodeAddr(bytenr), NODE_BYTES);
    s.blocks++;
    if (!n.isLeaf) { for (let i = 0; i < n.nritems; i++) walk(n.child(i)); return; }
    s.leaves++;
    s.items += n.nritems;
    for (let i = 0; i < n.nritems; i++) s.used += ITEM_HEADER + n.dataSize(i);
  };
  walk(tree.root);
  blocks += s.blocks;
  console.log(`${name} tree: ${s.blocks} blocks, ${s.leaves} leaves, ${s.items} items, leaves ${(100 * s.used / (s.leaves * LEAF_ROOM)).toFixed(0)} % full`);
}
writes();
const before = device.counters().bytesStored;
fs.commit();
const stored = device.counters().bytesStored - before;
const SUPERBLOCK_BYTES = 4096;
console.log(`blocks in these trees: ${blocks}; one commit of ${COMMIT_EVERY} writes stored ${stored} bytes: ${(stored - SUPERBLOCK_BYTES) / NODE_BYTES} tree blocks of ${NODE_BYTES} bytes and the superblock`);
