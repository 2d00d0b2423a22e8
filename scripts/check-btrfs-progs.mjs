// npm run check:btrfs-progs: btrfs's own tools judge pmcow's images (issue 15).
//
// For workloads of every generator (fsx, dax, mixed, ace) over several seeds, every image a
// commit point leaves (the media after each `commit`, `fsync` and the script's end) and
// random crash images at each of those points are written to a file and must
//   - pass `btrfs check --readonly` (exit 0, no error line), and
//   - give back, through `btrfs restore -s`, exactly the files pmcow mounts from the same
//     image (paths, sizes, bytes; the crash oracle already holds pmcow's mount to the
//     model), restore's rules for subvolumes modelled (expectedRestore).
// And for every script (--explored N: the first N of each generator and seed), every crash
// image the crash explorer mounts (as `pmcow fuzz` explores it) must pass `btrfs check
// --readonly`, and every tenth of them the restore comparison too.
// With --image-fuzz N: N mutated images of each of two image-fuzzing seeds; every one pmcow
// mounts and calls clean must pass btrfs check too (default 1500; 0 leaves it out).
// A crash image whose primary superblock is torn is checked after the rescue step btrfs
// needs for it (docs/fs.md section 2): the alternate copy written over the primary, as
// `btrfs rescue super-recover` does from a mirror.
//
// Needs btrfs-progs and setfattr (Debian: apt-get install btrfs-progs attr) and a build (npm run build). It
// fails, never skips, when btrfs is missing. Plain Node; prints a closing line
// `N images, N passed, N failed` and exits 1 on any failure.
//   node scripts/check-btrfs-progs.mjs [--seeds N] [--scripts N] [--crashes N] [--explored N]
//     [--image-fuzz N] [--keep DIR] [--verbose]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync, statSync, existsSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
if (!existsSync(join(root, 'dist/index.js'))) {
  console.error('check:btrfs-progs: no build (dist/): run npm run build first');
  process.exit(1);
}
const version = spawnSync('btrfs', ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  console.error('check:btrfs-progs: btrfs-progs is missing (Debian: apt-get install btrfs-progs); this check fails without it, it never skips');
  process.exit(1);
}

const { PmemDevice, FileSystem, workload, S_IFCHR, S_IFIFO, S_IFSOCK, makedev } = await import(join(root, 'dist/index.js'));
const { daxWorkload } = await import(join(root, 'dist/crash/dax-workload.js'));
const { randomScript, exhaustive } = await import(join(root, 'dist/workload/generate.js'));
const { decodeSuperblock, encodeSuperblock } = await import(join(root, 'dist/fs/superblock.js'));
const { checkScript } = await import(join(root, 'dist/crash/fuzz.js'));
const { imageFuzz, closeImageFuzzDevices } = await import(join(root, 'dist/image/fuzz-images.js'));
const { superblockOffsets, SUPERBLOCK_BYTES } = await import(join(root, 'dist/fs/format.js'));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SEEDS = option('seeds', 3);
const SCRIPTS = option('scripts', 4);
const CRASHES = option('crashes', 2);
const EXPLORED = option('explored', SCRIPTS);
const IMAGE_FUZZ = option('image-fuzz', 1500);
const VERBOSE = args.includes('--verbose');
const keepAt = args.indexOf('--keep');
/** --keep DIR: every failing image is saved there (FILE.img, for btrfs check by hand). */
const KEEP = keepAt >= 0 ? args[keepAt + 1] : null;
const DEVICE_BYTES = 4 << 20;

const work = mkdtempSync(join(tmpdir(), 'pmcow-btrfs-progs-'));
let images = 0, passed = 0, failed = 0, rescued = 0;
const failures = [];

/** The scripts of a generator, as `pmcow fuzz` draws them (src/crash/fuzz.ts scriptAt). */
function scriptsOf(generator, seed) {
  const out = [];
  if (generator === 'ace') {
    let i = 0;
    for (const { script } of exhaustive({ k: 1 })) {
      if (i++ % 17 === seed % 17 && out.length < SCRIPTS) out.push(script);
    }
    return out;
  }
  for (let i = 0; i < SCRIPTS; i++) {
    const scriptSeed = seed * 1_000_003 + i;
    out.push(generator === 'dax' || (generator === 'mixed' && i % 2 === 0)
      ? daxWorkload({ seed: scriptSeed, ops: 30 })
      : randomScript({ seed: scriptSeed, ops: 30, maxFileBytes: 64 << 10, maxOpBytes: 16 << 10 }));
  }
  return out;
}

/** Cut points: after each commit, fsync and unmount, and the end. */
function cutsOf(script) {
  const cuts = [];
  script.stmts.forEach((s, i) => { if (s.op === 'commit' || s.op === 'fsync' || s.op === 'unmount') cuts.push(i + 1); });
  cuts.push(script.stmts.length);
  return [...new Set(cuts)];
}

let crcDevice = null;
const crc = (bytes) => crcDevice.crc32cBytes(bytes);

/** The image btrfs reads: with a torn primary superblock, the alternate written over it. */
function rescue(bytes) {
  const [primary, alternate] = superblockOffsets(bytes.length);
  const read = (at) => decodeSuperblock(bytes.slice(at, at + SUPERBLOCK_BYTES), crc, at);
  const first = read(primary);
  if (first && 'state' in first) return bytes;
  const second = read(alternate);
  if (!second || !('state' in second)) return null;
  const copy = bytes.slice();
  encodeSuperblock(copy.subarray(primary, primary + SUPERBLOCK_BYTES), primary, second.state, crc);
  rescued++;
  return copy;
}

/** The path of every subvolume pmcow reaches from '/': id -> path. */
function subvolumePaths(fs, dir = '/', out = new Map([[5, '/']])) {
  for (const name of fs.readdir(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.lstat(path);
    if (st.kind === 'subvolume') out.set(st.subvolume, path);
    if (st.kind === 'dir' || st.kind === 'subvolume') subvolumePaths(fs, path, out);
  }
  return out;
}

/** Devices, fifos and sockets: btrfs restore 6.2 skips them (it restores files, directories and symlinks). */
const SPECIAL_KINDS = new Set(['chardev', 'blockdev', 'fifo', 'socket']);

/**
 * The regular files `btrfs restore -s` gives back, as pmcow's mount of the image holds
 * them: path -> bytes (special files left out: restore skips them). restore descends into every subvolume and snapshot entry, also
 * into a snapshot's copy of a nested subvolume's entry (which a mount shows as btrfs's
 * empty placeholder, inode 2): restore reads the subvolume that entry locates (pmcow's
 * lookupEntry tells which).
 */
function expectedRestore(fs, paths, dir = '/', rel = '', out = new Map(), depth = 0) {
  if (depth > 8) return out;
  for (const name of fs.readdir(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.lstat(path);
    if (st.kind === 'file') { out.set(`${rel}/${name}`, fs.readFile(path)); continue; }
    if (st.kind === 'symlink') { out.set(`${rel}/${name}`, `-> ${fs.readlink(path)}`); continue; }
    if (SPECIAL_KINDS.has(st.kind)) continue;
    if (st.kind === 'dir' && st.ino === 2) {
      const parent = fs.resolve(dir);
      const target = fs.lookupEntry(parent.sv, parent.ino, name)?.location.objectid;
      if (paths.has(target)) expectedRestore(fs, paths, paths.get(target), `${rel}/${name}`, out, depth + 1);
      continue;
    }
    expectedRestore(fs, paths, path, `${rel}/${name}`, out, depth + 1);
  }
  return out;
}

/** Regular files (path -> bytes) and symlinks (path -> '-> target') btrfs restore -S wrote under `base`. */
function restoredFiles(base, dir = '', out = new Map()) {
  for (const name of readdirSync(join(base, dir))) {
    const rel = `${dir}/${name}`;
    const st = lstatSync(join(base, rel));
    if (st.isSymbolicLink()) out.set(rel, `-> ${readlinkSync(join(base, rel))}`);
    else if (st.isDirectory()) restoredFiles(base, rel, out);
    else out.set(rel, readFileSync(join(base, rel)));
  }
  return out;
}

/** Equal bytes, or equal symlink texts. */
function same(a, b) {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** btrfs check --readonly of image bytes (rescued when the primary is torn): its problems, or a missing superblock's. */
function btrfsCheck(bytes, problems) {
  const image = rescue(bytes);
  if (!image) { problems.push('no valid superblock copy'); return null; }
  const file = join(work, 'image');
  writeFileSync(file, image);
  const check = spawnSync('btrfs', ['check', '--readonly', file], { encoding: 'utf8' });
  if (check.status !== 0 || /ERROR|error/.test(check.stderr.replace(/no error found/g, ''))) {
    problems.push(`btrfs check exit ${check.status}: ${check.stderr.split('\n').filter((l) => /ERROR|error|wrong|mismatch|missing/.test(l)).slice(0, 4).join(' | ')}`);
  }
  return { image, file };
}

async function judge(bytes, label) {
  images++;
  const problems = [];
  const checked = btrfsCheck(bytes, problems);
  if (!checked) { fail(label, problems); return; }
  const { image, file } = checked;
  // pmcow's view of the same image (a mount replays orphans; it changes no file).
  const dev = await PmemDevice.fromImage(bytes);
  let expected;
  try {
    const fs = FileSystem.mount(dev);
    expected = expectedRestore(fs, subvolumePaths(fs));
    fs.unmount();
  } catch (e) {
    problems.push(`pmcow mount: ${e.message}`);
  } finally {
    dev.close();
  }
  if (expected) {
    const out = join(work, 'restore');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    const restore = spawnSync('btrfs', ['restore', '-s', '-S', file, out], { encoding: 'utf8' });
    if (restore.status !== 0) problems.push(`btrfs restore exit ${restore.status}: ${restore.stderr.split('\n')[0]}`);
    else {
      const got = restoredFiles(out);
      for (const [path, data] of expected) {
        if (!got.has(path)) problems.push(`restore lacks ${path}`);
        else if (!same(data, got.get(path))) problems.push(`restore of ${path}: ${got.get(path).length} bytes differ from pmcow's ${data.length}`);
      }
      for (const path of got.keys()) if (!expected.has(path)) problems.push(`restore has ${path}, pmcow does not`);
    }
  }
  if (problems.length) {
    if (KEEP) { mkdirSync(KEEP, { recursive: true }); writeFileSync(join(KEEP, `${label.replace(/[^a-z0-9]+/gi, '-')}.img`), image); }
    fail(label, problems);
  } else { passed++; if (VERBOSE) console.log(`ok ${label}`); }
}

function fail(label, problems) {
  failed++;
  failures.push(`${label}: ${problems.slice(0, 6).join('; ')}`);
  console.log(`FAIL ${label}: ${problems.slice(0, 6).join('; ')}`);
}

/** Every crash image the explorer mounts for `script`: btrfs check each, the full judge every tenth. */
async function explore(script, seed, label) {
  const sample = [];
  let mounted = 0;
  checkScript(script, { metadataProfile: seed % 2 ? 'single' : 'dup' }, undefined, {
    onImage: (image) => {
      mounted++;
      images++;
      const problems = [];
      btrfsCheck(image.exportMedia(), problems);
      if (problems.length) fail(`${label}, explored image ${mounted}`, problems);
      else passed++;
      if (mounted % 10 === 0) sample.push([mounted, image.exportMedia()]);
    },
  });
  for (const [m, bytes] of sample) await judge(bytes, `${label}, explored image ${m} (restore)`);
  explored += mounted;
}
let explored = 0;

/**
 * Mutated images pmcow mounts (image fuzzing): each one pmcow calls clean must pass btrfs
 * check (a failure otherwise); of the others (pmcow found damage), a tenth go through btrfs
 * check too, and how often btrfs agrees is reported (not judged: btrfs check --readonly does
 * not read data checksums, which pmcow's fsck does).
 */
async function imageFuzzCheck() {
  const byReason = new Map();
  const damaged = { sampled: 0, btrfsAgrees: 0 };
  for (const seed of [1, 2]) {
    await imageFuzz({
      seed, images: IMAGE_FUZZ, onMounted: (image, clean, i) => {
        if (!clean) {
          if (i % 10) return;
          damaged.sampled++;
          const problems = [];
          btrfsCheck(image, problems);
          if (problems.length) damaged.btrfsAgrees++;
          return;
        }
        images++;
        const problems = [];
        btrfsCheck(image, problems);
        if (!problems.length) { passed++; return; }
        const label = `image fuzzing seed ${seed} image ${i} (clean to pmcow)`;
        const reason = problems[0].replace(/[0-9]+/g, 'N');
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
        if (KEEP) { mkdirSync(KEEP, { recursive: true }); writeFileSync(join(KEEP, `${label.replace(/[^a-z0-9]+/gi, '-')}.img`), image); }
        fail(label, problems);
      },
    });
  }
  closeImageFuzzDevices();
  for (const [reason, n] of [...byReason].sort((a, b) => b[1] - a[1])) console.log(`${n} x ${reason}`);
  console.log(`image fuzzing: ${damaged.sampled} sampled images pmcow found damaged; btrfs check finds damage in ${damaged.btrfsAgrees} of them`);
}

/**
 * A sample tree under `dir` (files of edge sizes, a sparse file, hard links, nested dirs, a
 * full directory, symlinks, a fifo, a socket, a character and a block device): path ->
 * bytes, '-> target' for a symlink, '<kind>' for a special file.
 */
function makeSampleTree(dir, seed) {
  let state = seed * 2654435761 >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const bytes = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() >>> 24; return b; };
  const files = new Map();
  const put = (path, data) => { mkdirSync(join(dir, path, '..'), { recursive: true }); writeFileSync(join(dir, path), data); files.set(path, data); };
  for (const n of [0, 1, 100, 2047, 2048, 4095, 4096, 4097, 20000, 300000, 2 << 20, 5 << 20]) put(`/sizes/f${n}`, bytes(n));
  const sparse = new Uint8Array(3 << 20);
  sparse.set(bytes(5000), 1 << 20);
  put('/sparse', sparse);
  let deep = '';
  for (let d = 0; d < 6; d++) { deep += `/d${d}`; put(`${deep}/leaf`, bytes(50 + d * 1000)); }
  for (let i = 0; i < 120; i++) put(`/many/file-with-a-longer-name-${i}`, bytes(next() % 3000));
  // Hard links, in the same directory and in another.
  for (const [from, to] of [['/sizes/f20000', '/sizes/link20000'], ['/sizes/f300000', '/d0/d1/link300000'], ['/sizes/f100', '/many/link100']]) {
    spawnSync('ln', [join(dir, from), join(dir, to)]);
    files.set(to, files.get(from));
  }
  // Symlinks: relative, up a level, absolute, to a directory, dangling, a long target.
  for (const [to, target] of [['/links/rel', '../sizes/f100'], ['/links/abs', '/sizes/f4096'], ['/links/dir', '../d0'], ['/links/dangling', 'nowhere'], ['/sizes/near', 'f1'], ['/links/long', 'x'.repeat(900)]]) {
    mkdirSync(join(dir, to, '..'), { recursive: true });
    spawnSync('ln', ['-s', target, join(dir, to)]);
    files.set(to, `-> ${target}`);
  }
  // Special files (devices need root: CAP_MKNOD). mkfs.btrfs 6.2's --rootdir writes every
  // inode's rdev as 0, so only their kinds are compared.
  mkdirSync(join(dir, 'special'));
  const special = [
    ['/special/pipe', 'fifo', ['mkfifo', join(dir, 'special/pipe')]],
    ['/special/sock', 'socket', ['python3', '-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(dir, 'special/sock'))})`]],
    ['/special/null', 'chardev', ['mknod', join(dir, 'special/null'), 'c', '1', '3']],
    ['/special/loop', 'blockdev', ['mknod', join(dir, 'special/loop'), 'b', '7', '0']],
  ];
  for (const [path, kind, [command, ...args]] of special) {
    const made = spawnSync(command, args, { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`making ${path} (${command}; devices need root): ${made.error?.message ?? made.stderr}`);
    files.set(path, `<${kind}>`);
  }
  return files;
}

/** Xattrs set on the sample tree with setfattr (Debian's attr): path -> name -> value. */
const SAMPLE_XATTRS = [['/sizes/f100', 'user.small', 'v'], ['/sizes/f100', 'user.other', 'a longer value of text'],
  ['/d0', 'user.on-a-dir', 'dir'], ['/sizes/f4096', 'user.big', 'b'.repeat(3000)], ['/sizes/f0', 'trusted.t', 'root only']];

function setSampleXattrs(dir) {
  for (const [path, name, value] of SAMPLE_XATTRS) {
    const r = spawnSync('setfattr', ['-n', name, '-v', value, join(dir, path)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`setfattr ${name} on ${path}: ${r.error?.message ?? r.stderr} (setfattr is Debian's attr package)`);
  }
}

/** The files (path -> bytes), symlinks (path -> '-> target') and special files ('<kind>') pmcow's mount holds under `dir` (no subvolumes), and each path's inode. */
function mountedFiles(fs, dir = '/', out = new Map(), inos = new Map()) {
  for (const name of fs.readdir(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.lstat(path);
    if (st.kind === 'file') { out.set(path, fs.readFile(path)); inos.set(path, `${st.subvolume}:${st.ino}`); }
    else if (st.kind === 'symlink') out.set(path, `-> ${fs.readlink(path)}`);
    else if (SPECIAL_KINDS.has(st.kind)) out.set(path, `<${st.kind}>`);
    else mountedFiles(fs, path, out, inos);
  }
  return { files: out, inos };
}

/**
 * What pmcow does not run yet, in an image mkfs.btrfs made: a mount refuses it with
 * EOPNOTSUPP naming it, and the image is left as it was. (Fifos, sockets and devices were
 * here until pmcow kept them: the sample tree has them now.)
 */
async function mkfsRefusalsCheck() {
  const cases = [
    // 80 names of 255 bytes for one inode in one directory: more than its INODE_REF item
    // holds, so mkfs.btrfs writes INODE_EXTREF items (extended_iref).
    ['extended inode refs', /EOPNOTSUPP: .*extended inode refs/, (dir) => {
      for (let i = 0; i < 80; i++) {
        const made = spawnSync('ln', [join(dir, 'f'), join(dir, `l${String(i).padStart(3, '0')}${'n'.repeat(251)}`)], { encoding: 'utf8' });
        if (made.status !== 0) return made;
      }
      return { status: 0 };
    }],
  ];
  for (const [what, why, add] of cases) {
    const label = `mkfs.btrfs --rootdir with ${what}`;
    const tree = join(work, 'refusal');
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree);
    writeFileSync(join(tree, 'f'), 'data');
    const added = add(tree);
    images++;
    if (added.status !== 0) { fail(label, [`could not make ${what} here (setfattr is Debian's attr package): ${added.error?.message ?? added.stderr}`]); continue; }
    const file = join(work, 'refusal.img');
    writeFileSync(file, new Uint8Array(0));
    spawnSync('truncate', ['-s', '128M', file]);
    const made = spawnSync('mkfs.btrfs', ['-q', '-f', '--rootdir', tree, file], { encoding: 'utf8' });
    if (made.status !== 0) { fail(label, [`mkfs.btrfs exit ${made.status}`]); continue; }
    const before = new Uint8Array(readFileSync(file));
    const dev = await PmemDevice.fromImage(before);
    const problems = [];
    try {
      FileSystem.mount(dev).unmount();
      problems.push('mounted');
    } catch (e) {
      if (!why.test(e.message)) problems.push(`refused with ${e.message}`);
    }
    if (!same(dev.exportMedia(), before)) problems.push('the refused mount changed the image');
    dev.close();
    if (problems.length) fail(label, problems); else { passed++; if (VERBOSE) console.log(`ok ${label}`); }
  }
}

/**
 * Images made by mkfs.btrfs --rootdir from sample trees, with several of its options: each
 * mounts in pmcow (adopted), reads back equal to the tree (hard links one inode), passes
 * pmcow's fsck; then pmcow writes on (files, a subvolume, a snapshot), and the image it
 * leaves passes btrfs check and restores to what pmcow mounts (judge).
 */
async function mkfsImagesCheck() {
  const variants = [[], ['-m', 'single'], ['-n', '4096'], ['-n', '65536'], ['-R', '^free-space-tree'], ['-O', '^no-holes'], ['--shrink']];
  for (const [v, options] of variants.entries()) {
    const label = `mkfs.btrfs --rootdir ${options.join(' ') || '(defaults)'}`;
    const tree = join(work, `tree-${v}`);
    rmSync(tree, { recursive: true, force: true });
    const want = makeSampleTree(tree, v + 1);
    setSampleXattrs(tree);
    const file = join(work, `mkfs-${v}.img`);
    writeFileSync(file, new Uint8Array(0));
    spawnSync('truncate', ['-s', '160M', file]);
    const made = spawnSync('mkfs.btrfs', ['-q', '-f', '--rootdir', tree, ...options, file], { encoding: 'utf8' });
    images++;
    if (made.status !== 0) { fail(label, [`mkfs.btrfs exit ${made.status}: ${made.stderr.split('\n')[0]}`]); continue; }
    const problems = [];
    const dev = await PmemDevice.fromImage(new Uint8Array(readFileSync(file)));
    let after = null;
    try {
      const fs = FileSystem.mount(dev);
      if (!fs.adoption) problems.push('mounted without an adoption');
      const { files, inos } = mountedFiles(fs);
      for (const [path, data] of want) {
        if (!files.has(path)) problems.push(`pmcow lacks ${path}`);
        else if (!same(files.get(path), data)) problems.push(`pmcow's ${path}: ${files.get(path).length} bytes differ from the tree's ${data.length}`);
      }
      for (const path of files.keys()) if (!want.has(path)) problems.push(`pmcow has ${path}, the tree does not`);
      if (inos.get('/sizes/f20000') !== inos.get('/sizes/link20000')) problems.push('a hard link is not its file\'s inode');
      for (const [path, name, value] of SAMPLE_XATTRS) {
        let got = null;
        try { got = new TextDecoder().decode(fs.getxattr(path, name)); } catch (e) { problems.push(`pmcow getxattr ${path} ${name}: ${e.message}`); }
        if (got !== null && got !== value) problems.push(`pmcow's xattr ${name} of ${path} differs`);
      }
      if (fs.readFile('/links/rel').length !== 100) problems.push('reading through /links/rel');
      for (const [path, kind] of [['/special/pipe', 'fifo'], ['/special/null', 'chardev']]) {
        let code = null;
        try { fs.readFile(path); } catch (e) { code = e.code; }
        if (code !== 'ENXIO') problems.push(`pmcow's readFile of the ${kind} ${path}: ${code ?? 'read'}, expected ENXIO`);
      }
      const clean = fs.fsck();
      if (clean.length) problems.push(`pmcow fsck after adoption: ${clean.slice(0, 3).join('; ')}`);
      fs.writeFile('/sizes/f4096', new Uint8Array(8192).fill(3));
      fs.writeFile('/added', new Uint8Array(70000).fill(4));
      fs.createSubvolume('/sv');
      fs.writeFile('/sv/inside', new Uint8Array(5000).fill(5));
      fs.snapshot('/sv', '/snap');
      fs.unlink('/many/file-with-a-longer-name-7');
      fs.symlink('../added', '/sv/up');
      fs.symlink('/sizes/f1', '/added-link');
      fs.unlink('/links/dangling');
      fs.rename('/links/rel', '/links/moved');
      fs.setxattr('/added', 'user.new', new Uint8Array(500).fill(6));
      fs.setxattr('/sizes/f100', 'user.small', new Uint8Array([1, 2, 3]), { replace: true });
      fs.removexattr('/sizes/f100', 'user.other');
      // Special files pmcow makes, and the adopted ones renamed, linked and removed.
      fs.mknod('/added-null', S_IFCHR | 0o600, ADDED_RDEV);
      fs.mknod('/sv/fifo', S_IFIFO | 0o644);
      fs.mknod('/sv/sock', S_IFSOCK | 0o755);
      fs.rename('/special/pipe', '/special/pipe-moved');
      fs.link('/special/null', '/d0/null-link');
      fs.unlink('/special/sock');
      fs.commit();
      const later = fs.fsck();
      if (later.length) problems.push(`pmcow fsck after writes: ${later.slice(0, 3).join('; ')}`);
      fs.unmount();
      after = dev.exportMedia();
    } catch (e) {
      problems.push(`pmcow: ${e.message}`);
    } finally {
      dev.close();
    }
    if (problems.length) {
      if (KEEP) { mkdirSync(KEEP, { recursive: true }); writeFileSync(join(KEEP, `${label.replace(/[^a-z0-9]+/gi, '-')}.img`), readFileSync(file)); }
      fail(label, problems);
      continue;
    }
    if (!btrfsReadsRdev(after)) { fail(`${label}, after pmcow wrote on`, [`btrfs dump-tree shows no mode 20600 inode with rdev ${ADDED_RDEV}`]); continue; }
    passed++;
    if (VERBOSE) console.log(`ok ${label}`);
    await judge(after, `${label}, after pmcow wrote on`);
    if (v === 0) await adoptionCrashes(new Uint8Array(readFileSync(file)), label);
  }
}

/** The device number of the character device pmcow adds to each adopted image. */
const ADDED_RDEV = makedev(1, 3);

/** Does btrfs's own dump of the top-level tree show the device pmcow made, with its rdev (new_encode_dev)? */
function btrfsReadsRdev(image) {
  const file = join(work, 'rdev.img');
  writeFileSync(file, image);
  const dump = spawnSync('btrfs', ['inspect-internal', 'dump-tree', '-t', '5', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return dump.status === 0 && new RegExp(`mode 20600 links 1 uid 0 gid 0 rdev ${ADDED_RDEV}\\b`).test(dump.stdout);
}

/**
 * A crash anywhere in an adoption: at every store the adopting mount makes, the strict
 * crash image and a random one pass btrfs check (each of the adoption's commits leaves a
 * btrfs file system; its superblocks say revision 0 until the last, so a mount adopts again).
 */
async function adoptionCrashes(image, label) {
  const counting = await PmemDevice.fromImage(image);
  let stores = 0;
  counting.beforeStore = () => { stores++; };
  FileSystem.mount(counting).unmount();
  counting.close();
  for (let cut = 1; cut <= stores; cut++) {
    const dev = await PmemDevice.fromImage(image);
    let n = 0;
    dev.beforeStore = () => { if (++n === cut) throw new Error('crash point'); };
    try { FileSystem.mount(dev); } catch (e) { if (e.message !== 'crash point') fail(`${label}, adoption crash at store ${cut}`, [`mount: ${e.message}`]); }
    dev.beforeStore = null;
    for (const mode of ['strict', 'random']) {
      const crashed = dev.crash({ mode, seed: cut });
      images++;
      const problems = [];
      btrfsCheck(crashed.exportMedia(), problems);
      crashed.close();
      if (problems.length) fail(`${label}, adoption crash at store ${cut} of ${stores} (${mode})`, problems);
      else passed++;
    }
    dev.close();
  }
  adoptionCrashImages += 2 * stores;
}
let adoptionCrashImages = 0;

crcDevice = await PmemDevice.create({ sizeBytes: 2 << 20 });
try {
  for (const generator of ['fsx', 'dax', 'mixed', 'ace']) {
    for (let seed = 1; seed <= SEEDS; seed++) {
      for (const [n, script] of scriptsOf(generator, seed).entries()) {
        const label = `${generator} seed ${seed} script ${n}`;
        if (n < EXPLORED) await explore(script, seed, label);
        for (const cut of cutsOf(script)) {
          const runner = await workload.Runner.create({ sizeBytes: DEVICE_BYTES, mkfs: { nodeSize: 4096, metadataProfile: seed % 2 ? 'single' : 'dup' } });
          try {
            runner.run({ ...script, stmts: script.stmts.slice(0, cut) });
            const dev = runner.device;
            await judge(dev.exportMedia(), `${label} at statement ${cut}`);
            for (let c = 1; c <= CRASHES; c++) {
              const crashed = dev.crash({ mode: 'random', seed: c * 7919 + cut });
              try { await judge(crashed.exportMedia(), `${label} at statement ${cut}, crash image ${c}`); } finally { crashed.close(); }
            }
          } finally {
            runner.close();
          }
        }
      }
    }
  }
  await mkfsImagesCheck();
  await mkfsRefusalsCheck();
  if (IMAGE_FUZZ > 0) await imageFuzzCheck();
} finally {
  crcDevice.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`${version.stdout.trim()}: ${explored} images the crash explorer mounted among them, ${adoptionCrashImages} crash images of an adoption; ${rescued} torn primaries rescued from the alternate`);
console.log(`${images} images, ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && images > 0 ? 0 : 1);
