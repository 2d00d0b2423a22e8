// pmcow in a page, through the package's public API only: a device, a file system, a DAX
// mapping, two writer Web Workers storing into it, bad writer entries refused with an
// FsError, and a short fuzz campaign. Each part
// reports into the list on the page and into window.__pmcowResults (read by pmcow's test,
// test/browser-app.test.ts); `done` is set when every part has run.
import { PmemDevice, FileSystem, WriterPool, fuzz, storeTag } from 'pmcow';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const results = { done: false, ok: false, crossOriginIsolated: globalThis.crossOriginIsolated === true, parts: {} };
window.__pmcowResults = results;

document.getElementById('isolation').textContent = `crossOriginIsolated: ${results.crossOriginIsolated}`;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

/** Run one part: its result (plus ok and ms) goes to the page and to __pmcowResults. */
async function part(name, run) {
  const item = document.createElement('li');
  item.id = `part-${name}`;
  item.textContent = `${name}: running`;
  document.getElementById('parts').append(item);
  await new Promise((resolve) => setTimeout(resolve, 0)); // let the page show it
  const started = performance.now();
  let result;
  try {
    result = { ok: true, ...(await run()) };
  } catch (e) {
    result = { ok: false, error: `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}: ${e?.message ?? String(e)}` };
  }
  result.ms = Math.round(performance.now() - started);
  results.parts[name] = result;
  item.dataset.ok = String(result.ok);
  item.textContent = `${name}: ${JSON.stringify(result)}`;
}

/** A fresh file system with a nodatacow file /db of `length` bytes (allocated), mapped. */
async function mappedFile(length) {
  const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
  FileSystem.mkfs(dev);
  const fs = FileSystem.mount(dev);
  fs.create('/db');
  fs.setNoDataCow('/db'); // chattr +C: stores through the mapping land in place
  fs.fallocate('/db', 0, length);
  return { dev, fs, m: fs.mmap('/db', { length }) };
}

async function main() {
  // 1. The device: a store is visible at once and durable only once flushed and fenced.
  await part('device', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 1 << 20 });
    dev.store(4096, new Uint8Array(16).fill(7));
    check(dev.load(4096, 16).every((b) => b === 7), 'the store is visible');
    check(dev.readMedia(4096, 16).every((b) => b === 0), 'the store is not on media yet');
    const crashImages = Number(dev.crashImageCount()); // 4: each 8-byte word may or may not have landed
    let enumerated = 0;
    for (const image of dev.crashImages()) if (image.index >= 0n) enumerated++;
    check(enumerated === crashImages, 'crashImages() enumerates crashImageCount() images');
    dev.persist(4096, 16); // clwb + sfence
    const crashed = dev.crash();
    check(crashed.load(4096, 16).every((b) => b === 7), 'after persist, a strict crash keeps the store');
    return { stores: dev.counters().stores, crashImages, survivedCrash: true };
  });

  // 2. The file system: mkfs, mount, write, commit, and a random crash keeps the commit.
  await part('fs', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const text = 'hello from a Vite app';
    fs.mkdir('/data');
    fs.writeFile('/data/hello.txt', encoder.encode(text));
    fs.commit();
    const after = FileSystem.mount(dev.crash({ mode: 'random', seed: 7 }));
    const readBack = decoder.decode(after.readFile('/data/hello.txt'));
    check(readBack === text, `read back after a crash: ${JSON.stringify(readBack)}`);
    const fsck = after.fsck();
    check(fsck.length === 0, `fsck: ${fsck.join('; ')}`);
    return { readBack, generation: after.statfs().generation, fsckProblems: fsck.length };
  });

  // 3. DAX mmap: stores straight into pmem, msync, and the file holds them after a crash.
  await part('mmap', async () => {
    const { dev, fs, m } = await mappedFile(64 << 10);
    const bytes = encoder.encode('stored through a DAX mapping');
    const storesBefore = dev.counters().stores;
    m.store(8192, bytes);
    const mapped = decoder.decode(m.load(8192, bytes.length));
    m.msync(8192, bytes.length); // clwb + sfence, then the file's metadata durable
    const after = FileSystem.mount(dev.crash());
    const fromFile = decoder.decode(after.readFile('/db').subarray(8192, 8192 + bytes.length));
    check(mapped === 'stored through a DAX mapping', `mapping load: ${mapped}`);
    check(fromFile === mapped, `the file after a crash: ${JSON.stringify(fromFile)}`);
    return { stores: dev.counters().stores - storesBefore, faults: fs.dax.stats.writeFaults + fs.dax.stats.readFaults, readBack: fromFile };
  });

  // 4. Two writer Web Workers (the package's default worker entry, bundled by Vite) store
  // into one mapping over the shared memory; the page then reads each writer's last tags.
  await part('writerPool', async () => {
    const { dev, fs, m } = await mappedFile(256 << 10);
    const storesBefore = dev.counters().stores;
    const pool = await WriterPool.start(fs, 2);
    let runs;
    try {
      const spec = { mapping: m.handle(), kind: 'random', stores: 4000, storeBytes: 64, writers: 2, seed: 1 };
      runs = await pool.run([{ ...spec, writerIndex: 0 }, { ...spec, writerIndex: 1 }]);
    } finally {
      await pool.stop();
    }
    const writerStores = runs.reduce((sum, r) => sum + r.stores, 0);
    const faults = runs.reduce((sum, r) => sum + r.faults, 0);
    const deviceStores = dev.counters().stores - storesBefore;
    // Every slot a writer stored to holds its last tag (writer, sequence number) in each word.
    let slotsChecked = 0;
    for (const r of runs) {
      r.lastSeq.forEach((seq, k) => {
        if (seq === 0) return;
        const slot = k * 2 + r.writerIndex;
        const word = new DataView(m.load(slot * 64, 8).buffer).getBigUint64(0, true);
        check(word === storeTag(r.writerIndex, seq), `slot ${slot} holds writer ${r.writerIndex}'s last tag ${seq}`);
        slotsChecked++;
      });
    }
    check(writerStores === 8000, `the writers made ${writerStores} stores`);
    check(deviceStores >= writerStores, `the device counted ${deviceStores} stores`);
    check(slotsChecked > 0, 'some slots were checked');
    fs.commit();
    const fsck = fs.fsck();
    check(fsck.length === 0, `fsck: ${fsck.join('; ')}`);
    return { writers: runs.length, writerStores, deviceStores, faults, slotsChecked, threadSlots: pool.threadSlots };
  });

  // 5. A writer entry that is not a pmcow writer rejects WriterPool.start with an FsError
  // (it neither hangs nor kills the page): a missing script, one that throws when it loads,
  // and one that never answers the handshake.
  await part('badWorkerEntry', async () => {
    const dev = await PmemDevice.create({ sizeBytes: 16 << 20 });
    FileSystem.mkfs(dev);
    const fs = FileSystem.mount(dev);
    const moduleUrl = (source) => new URL(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
    const entries = {
      missing: new URL('/no-such-writer-entry.js', location.href),
      throws: moduleUrl('throw new Error("not a writer");'),
      silent: moduleUrl('// never answers'),
    };
    const codes = {};
    const messages = {};
    for (const [name, entryUrl] of Object.entries(entries)) {
      try {
        const pool = await WriterPool.start(fs, 1, { entryUrl, handshakeTimeoutMs: 3000 });
        await pool.stop();
        codes[name] = 'started';
      } catch (e) {
        codes[name] = e?.name === 'FsError' ? e.code : `${e?.name}: ${e?.message}`;
        messages[name] = String(e?.message);
      }
    }
    // A static server answers a missing script 404 (ENOENT); Vite's dev server answers it
    // with index.html (its SPA fallback), which the pool names as such (EINVAL).
    const fallback = codes.missing === 'EINVAL' && /index\.html fallback/.test(messages.missing);
    check(codes.missing === 'ENOENT' || fallback, `missing entry: ${codes.missing}: ${messages.missing}`);
    check(codes.throws === 'EINVAL', `entry that throws: ${codes.throws}`);
    check(codes.silent === 'EINVAL', `entry that never answers: ${codes.silent}`);
    return { ...codes, missingServedAsHtml: fallback };
  });

  // 6. A short crash-consistency fuzz campaign, on the page's thread (it is synchronous per
  // script: a real app would run it in a Web Worker of its own to keep the page drawing).
  await part('fuzz', async () => {
    const report = await fuzz({ seed: 1, scripts: 2, ops: 12, minimiseMs: 2000 });
    check(report.scripts === 2, `scripts: ${report.scripts}`);
    check(report.images > 0, `images: ${report.images}`);
    check(report.violations === 0 && report.findings.length === 0, `violations: ${report.violations}`);
    return {
      scripts: report.scripts, ops: report.ops, points: report.points, images: report.images,
      violations: report.violations, findings: report.findings.length, internalErrors: report.internalErrors,
    };
  });
}

main().catch((e) => {
  results.error = String(e?.stack ?? e);
}).finally(() => {
  results.ok = results.crossOriginIsolated && !results.error && Object.values(results.parts).every((p) => p.ok);
  results.done = true;
  const status = document.getElementById('status');
  status.textContent = results.ok ? 'all parts passed' : `failed${results.error ? `: ${results.error}` : ''}`;
  document.body.dataset.done = 'true';
});
