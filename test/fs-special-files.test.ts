// Special files (mknod): character and block devices, fifos and sockets. The call and its
// errnos (Linux's), the on-disk form (btrfs_mknod's: the mode's S_IFMT bits, rdev, entries of
// kind BTRFS_FT_CHRDEV..SOCK), their place in hard links, renames, snapshots and fsck, the
// calls that would open one, and crashes around them (a crash at any store of the operation
// and its commit mounts the state before or after it).
import { describe, expect, it } from 'vitest';
import { FsError, PmemDevice, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK, S_IFREG, S_IFDIR, S_IFLNK, makedev, major, minor } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { crashAtEveryStore } from './helpers/crash-cuts.js';
import { key, INODE_ITEM, DIR_INDEX, EXTENT_DATA } from '../src/fs/format.js';
import { decodeDirEntries, decodeInode, encodeInode, encodeFileExtent } from '../src/fs/items.js';
import { INODE_MODE, INODE_RDEV, INODE_SIZE, EXTENT_TYPE_REG } from '../src/core/abi.js';
import { fixNodeChecksum } from '../src/image/mutate.js';
import { errnoOf } from './helpers/errno-of.js';

const DEVICE_BYTES = 16 << 20;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function fresh(): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
  FileSystem.mkfs(dev);
  return { dev, fs: FileSystem.mount(dev) };
}

/** Every name as lstat sees it: kind, mode, rdev, links; files' sizes and digests; xattrs other than user.*. */
function describeTree(fs: FileSystem, dir = '/', out: string[] = []): string[] {
  for (const name of fs.readdir(dir).sort()) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.lstat(path);
    const xattrs = st.kind === 'symlink' ? '' : fs.listxattr(path, { noFollow: true }).sort().join(',');
    const head = `${path} ${st.kind} ${st.mode.toString(8)} rdev ${st.rdev} nlink ${st.nlink} size ${st.size} [${xattrs}]`;
    if (st.kind === 'file') out.push(`${head} ${fs.contentDigest(path)}`);
    else if (st.kind === 'symlink') out.push(`${head} -> ${fs.readlink(path)}`);
    else out.push(head);
    if (st.kind === 'dir' || st.kind === 'subvolume') describeTree(fs, path, out);
  }
  return out;
}

/** The four kinds: mode, rdev given, the kind stat reports, BTRFS_FT_* of their entries. */
const KINDS = [
  ['/chr', S_IFCHR | 0o620, makedev(4, 1), 'chardev', 3],
  ['/blk', S_IFBLK | 0o660, makedev(259, 300000), 'blockdev', 4],
  ['/fifo', S_IFIFO | 0o644, 0, 'fifo', 5],
  ['/sock', S_IFSOCK | 0o755, 0, 'socket', 6],
] as const;

describe('mknod', () => {
  it('makes each kind: stat and lstat report kind, mode and rdev, size 0; btrfs\'s items on disk; the same after a remount', async () => {
    const { dev, fs } = await fresh();
    for (const [path, mode, rdev] of KINDS) fs.mknod(path, mode, rdev);
    // A fifo's and a socket's rdev is 0 whatever the caller passes (init_special_inode).
    fs.mknod('/fifo-rdev', S_IFIFO | 0o600, makedev(1, 3));
    const check = (f: FileSystem): void => {
      for (const [path, mode, rdev, kind] of KINDS) {
        for (const st of [f.stat(path), f.lstat(path)]) {
          expect(st).toMatchObject({ kind, mode, rdev, size: 0, nlink: 1, allocatedBytes: 0, subvolume: 5 });
        }
      }
      expect(f.stat('/fifo-rdev').rdev).toBe(0);
      expect(f.readdir('/').sort()).toEqual(['blk', 'chr', 'fifo', 'fifo-rdev', 'sock']);
      expect(f.exists('/sock')).toBe(true);
    };
    check(fs);
    // On disk: the INODE_ITEM's mode and rdev (new_encode_dev: the dev_t), entries of BTRFS_FT_*.
    const tree = fs.subvolume(5)!.tree;
    for (const [path, mode, rdev, , ft] of KINDS) {
      const ino = fs.stat(path).ino;
      const item = tree.get(key(ino, INODE_ITEM, 0))!;
      const view = new DataView(item.buffer, item.byteOffset, item.byteLength);
      expect(view.getUint32(INODE_MODE, true)).toBe(mode);
      expect(Number(view.getBigUint64(INODE_RDEV, true))).toBe(rdev);
      expect(view.getBigUint64(INODE_SIZE, true)).toBe(0n);
      const entries = tree.range(key(256, DIR_INDEX, 0), key(256, DIR_INDEX, Number.MAX_SAFE_INTEGER)).map((i) => decodeDirEntries(i.data)[0]!);
      expect(entries.find((e) => e.location.objectid === ino)!.kind).toBe(ft);
      expect(tree.range(key(ino, EXTENT_DATA, 0), key(ino, EXTENT_DATA, Number.MAX_SAFE_INTEGER))).toEqual([]);
    }
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    const again = FileSystem.mount(dev);
    check(again);
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });

  it('S_IFREG, or no type at all, makes a regular file with the given permissions (as Linux\'s mknod)', async () => {
    const { fs } = await fresh();
    fs.mknod('/reg', S_IFREG | 0o600);
    fs.mknod('/untyped', 0o640, 77);
    expect(fs.stat('/reg')).toMatchObject({ kind: 'file', mode: S_IFREG | 0o600, rdev: 0, size: 0 });
    expect(fs.stat('/untyped')).toMatchObject({ kind: 'file', mode: S_IFREG | 0o640, rdev: 0 });
    fs.writeFile('/reg', text('data'));
    expect(fs.readFile('/reg')).toEqual(text('data'));
    expect(fs.stat('/reg').mode).toBe(S_IFREG | 0o600); // a rewrite keeps the permissions
    expect(fs.stat('/').mode).toBe(0o40755);
    expect(fs.fsck()).toEqual([]);
  });

  it('makedev, major and minor are glibc\'s (Linux\'s new_encode_dev, btrfs\'s rdev)', () => {
    expect(makedev(8, 1)).toBe(0x801);
    expect(makedev(259, 300000)).toBe(0x493103e0);
    expect([major(0x493103e0), minor(0x493103e0)]).toEqual([259, 300000]);
    expect(makedev(4095, 0xfffff)).toBe(0xffffffff);
    for (const [a, b] of [[4096, 0], [0, 1 << 20], [-1, 0], [1.5, 0]]) expect(errnoOf(() => makedev(a!, b!))).toBe('EINVAL');
  });

  it('gives Linux errnos: EINVAL for a bad type, mode or rdev, EPERM for S_IFDIR, EEXIST, ENOENT, ENOTDIR, EROFS, EBUSY', async () => {
    const { fs } = await fresh();
    fs.mknod('/fifo', S_IFIFO | 0o644);
    fs.mkdir('/d');
    fs.createSubvolume('/sv');
    fs.snapshot('/sv', '/ro', { readonly: true });
    const cases: Array<[() => unknown, string]> = [
      [() => fs.mknod('/x', S_IFDIR | 0o755), 'EPERM'],
      [() => fs.mknod('/x', S_IFLNK | 0o777), 'EINVAL'],
      [() => fs.mknod('/x', 0o030000 | 0o644), 'EINVAL'], // no such type
      [() => fs.mknod('/x', 0o170000), 'EINVAL'],
      [() => fs.mknod('/x', -1), 'EINVAL'], [() => fs.mknod('/x', 1.5), 'EINVAL'], [() => fs.mknod('/x', 0o200000), 'EINVAL'],
      [() => fs.mknod('/x', NaN), 'EINVAL'], [() => fs.mknod('/x', '0o10644' as unknown as number), 'EINVAL'],
      [() => fs.mknod('/x', S_IFCHR, -1), 'EINVAL'], [() => fs.mknod('/x', S_IFCHR, 2 ** 32), 'EINVAL'],
      [() => fs.mknod('/x', S_IFCHR, 0.5), 'EINVAL'], [() => fs.mknod('/x', S_IFIFO, null as unknown as number), 'EINVAL'],
      [() => fs.mknod('/fifo', S_IFIFO), 'EEXIST'], [() => fs.mknod('/d', S_IFSOCK), 'EEXIST'],
      [() => fs.mknod('/sv', S_IFCHR, 1), 'EEXIST'], [() => fs.mknod('/', S_IFIFO), 'EBUSY'],
      [() => fs.mknod('/nope/x', S_IFIFO), 'ENOENT'], [() => fs.mknod('/fifo/x', S_IFIFO), 'ENOTDIR'],
      [() => fs.mknod('/ro/x', S_IFIFO), 'EROFS'], [() => fs.mknod('x', S_IFIFO), 'EINVAL'],
      [() => fs.mknod(`/${'n'.repeat(256)}`, S_IFIFO), 'ENAMETOOLONG'],
    ];
    const before = describeTree(fs);
    for (const [call, code] of cases) expect(errnoOf(call), String(call)).toBe(code);
    fs.freeze();
    expect(errnoOf(() => fs.mknod('/x', S_IFIFO))).toBe('EBUSY');
    fs.thaw();
    expect(describeTree(fs)).toEqual(before);
    expect(fs.fsck()).toEqual([]);
  });

  it('a special file holds no data: open and the calls that open one are ENXIO, truncate EINVAL, readdir and rmdir ENOTDIR', async () => {
    const { fs } = await fresh();
    for (const [path, mode, rdev] of KINDS) fs.mknod(path, mode, rdev);
    fs.writeFile('/file', new Uint8Array(8192).fill(1));
    fs.symlink('fifo', '/to-fifo');
    const before = describeTree(fs);
    for (const [path] of KINDS) {
      const cases: Array<[() => unknown, string]> = [
        [() => fs.open(path), 'ENXIO'], [() => fs.open(path, { create: true, truncate: true }), 'ENXIO'],
        [() => fs.readFile(path), 'ENXIO'], [() => fs.writeFile(path, text('x')), 'ENXIO'], [() => fs.contentDigest(path), 'ENXIO'],
        [() => fs.truncate(path, 0), 'EINVAL'], [() => fs.fallocate(path, 0, 4096), 'ENXIO'],
        [() => fs.punchHole(path, 0, 4096), 'ENXIO'], [() => fs.zeroRange(path, 0, 4096), 'ENXIO'],
        [() => fs.cloneFile('/file', path), 'ENXIO'], [() => fs.cloneFile(path, '/new'), 'ENXIO'],
        [() => fs.cloneRange('/file', 0, path, 0, 4096), 'ENXIO'], [() => fs.copyFileRange(path, 0, '/file', 0, 10), 'ENXIO'],
        [() => fs.exchangeRange('/file', 0, path, 0, 4096), 'ENXIO'], [() => fs.dedupeRange('/file', 0, path, 0, 4096), 'ENXIO'],
        [() => fs.collapseRange(path, 0, 4096), 'ENXIO'], [() => fs.mmap(path, { length: 4096 }), 'ENXIO'],
        [() => fs.fileExtents(path), 'ENXIO'], [() => fs.setNoDataCow(path), 'EINVAL'],
        [() => fs.readdir(path), 'ENOTDIR'], [() => fs.rmdir(path), 'ENOTDIR'], [() => fs.stat(`${path}/x`), 'ENOTDIR'],
        [() => fs.create(`${path}/x`), 'ENOTDIR'], [() => fs.readlink(path), 'EINVAL'],
        [() => fs.snapshot(path, '/snap'), 'EINVAL'], [() => fs.deleteSubvolume(path), 'EINVAL'],
        // Linux's xattr_permission: user.* belongs to regular files and directories.
        [() => fs.setxattr(path, 'user.a', text('v')), 'EPERM'], [() => fs.getxattr(path, 'user.a'), 'ENODATA'],
        [() => fs.removexattr(path, 'user.a'), 'EPERM'],
      ];
      for (const [call, code] of cases) expect(errnoOf(call), `${path}: ${String(call)}`).toBe(code);
    }
    // Through a symlink too.
    expect(errnoOf(() => fs.readFile('/to-fifo'))).toBe('ENXIO');
    expect(fs.stat('/to-fifo').kind).toBe('fifo');
    expect(describeTree(fs)).toEqual(before);
    // Other namespaces' xattrs are the inode's, as on any file.
    fs.setxattr('/fifo', 'security.label', text('s'));
    fs.setxattr('/chr', 'trusted.t', text('t'));
    expect(fs.getxattr('/fifo', 'security.label')).toEqual(text('s'));
    expect(fs.listxattr('/chr')).toEqual(['trusted.t']);
    expect(fs.fsck()).toEqual([]);
  });

  it('unlink, rename and link act on them as on files; rename over a directory EISDIR, a directory over one ENOTDIR', async () => {
    const { dev, fs } = await fresh();
    for (const [path, mode, rdev] of KINDS) fs.mknod(path, mode, rdev);
    fs.mkdir('/d');
    fs.mkdir('/d/empty');
    fs.writeFile('/f', text('file'));
    fs.createSubvolume('/sv');
    fs.link('/chr', '/d/chr2');
    expect(fs.stat('/chr').nlink).toBe(2);
    expect(fs.stat('/d/chr2')).toMatchObject({ ino: fs.stat('/chr').ino, kind: 'chardev', rdev: makedev(4, 1) });
    expect(errnoOf(() => fs.link('/chr', '/sv/x'))).toBe('EXDEV');
    expect(errnoOf(() => fs.link('/fifo', '/f'))).toBe('EEXIST');
    expect(errnoOf(() => fs.rename('/fifo', '/d'))).toBe('EISDIR');
    expect(errnoOf(() => fs.rename('/d/empty', '/fifo'))).toBe('ENOTDIR');
    expect(errnoOf(() => fs.rename('/sock', '/sv'))).toBe('EBUSY');
    expect(errnoOf(() => fs.rename('/sock', '/sv/sock'))).toBe('EXDEV');
    fs.rename('/chr', '/d/chr2'); // two names of one inode: nothing happens (rename(2))
    expect(fs.stat('/chr').nlink).toBe(2);
    fs.rename('/blk', '/d/blk'); // a move
    fs.rename('/fifo', '/f'); // over a file: the file goes
    fs.writeFile('/g', text('g'));
    fs.rename('/g', '/sock'); // a file over a socket: the socket goes
    fs.unlink('/chr');
    expect(fs.stat('/d/chr2').nlink).toBe(1);
    const want = [
      '/d dir 40755 rdev 0 nlink 1 size 24 []',
      `/d/blk blockdev 60660 rdev ${makedev(259, 300000)} nlink 1 size 0 []`,
      '/d/chr2 chardev 20620 rdev 1025 nlink 1 size 0 []',
      '/d/empty dir 40755 rdev 0 nlink 1 size 0 []',
      '/f fifo 10644 rdev 0 nlink 1 size 0 []',
      `/sock file 100644 rdev 0 nlink 1 size 1 [] ${fs.contentDigest('/sock')}`,
      '/sv subvolume 40755 rdev 0 nlink 1 size 0 []',
    ];
    expect(describeTree(fs)).toEqual(want);
    expect(fs.fsck()).toEqual([]);
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(describeTree(again)).toEqual(want);
    again.unlink('/d/chr2');
    again.unlink('/d/blk');
    again.unlink('/f');
    expect(again.readdir('/d')).toEqual(['empty']);
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });

  it('snapshots copy them (kind, mode, rdev, links); each side changes alone; a read-only snapshot refuses new ones', async () => {
    const { dev, fs } = await fresh();
    fs.createSubvolume('/sv');
    for (const [path, mode, rdev] of KINDS) fs.mknod(`/sv${path}`, mode, rdev);
    fs.link('/sv/blk', '/sv/blk2');
    fs.snapshot('/sv', '/snap');
    fs.snapshot('/sv', '/ro', { readonly: true });
    const inSv = describeTree(fs, '/sv');
    const strip = (lines: string[], prefix: string): string[] => lines.map((l) => l.slice(prefix.length));
    expect(strip(describeTree(fs, '/snap'), '/snap')).toEqual(strip(inSv, '/sv'));
    expect(strip(describeTree(fs, '/ro'), '/ro')).toEqual(strip(inSv, '/sv'));
    fs.unlink('/sv/blk');
    fs.rename('/sv/fifo', '/sv/fifo2');
    fs.mknod('/snap/new', S_IFCHR | 0o600, makedev(1, 5));
    expect(fs.stat('/snap/blk')).toMatchObject({ kind: 'blockdev', nlink: 2, rdev: makedev(259, 300000) });
    expect(fs.stat('/snap/fifo').kind).toBe('fifo');
    expect(errnoOf(() => fs.stat('/sv/new'))).toBe('ENOENT');
    expect(errnoOf(() => fs.mknod('/ro/x', S_IFSOCK))).toBe('EROFS');
    expect(errnoOf(() => fs.unlink('/ro/fifo'))).toBe('EROFS');
    expect(fs.fsck()).toEqual([]);
    const all = describeTree(fs);
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(describeTree(again)).toEqual(all);
    again.deleteSubvolume('/sv');
    expect(again.stat('/snap/sock')).toMatchObject({ kind: 'socket', mode: S_IFSOCK | 0o755 });
    expect(again.fsck()).toEqual([]);
    again.unmount();
  });
});

describe('fsck and the tree checker on special files', () => {
  it('fsck reports a special file with a size, with extent items, or whose entries name another kind', async () => {
    const { fs } = await fresh();
    fs.mknod('/fifo', S_IFIFO | 0o644);
    fs.mknod('/chr', S_IFCHR | 0o644, 5);
    fs.mknod('/sock', S_IFSOCK | 0o644);
    fs.commit();
    const tree = fs.subvolume(5)!.tree;
    const fifo = fs.stat('/fifo').ino, chr = fs.stat('/chr').ino, sock = fs.stat('/sock').ino;
    tree.update(key(fifo, INODE_ITEM, 0), encodeInode({ ...decodeInode(tree.get(key(fifo, INODE_ITEM, 0))!), size: 5 }));
    tree.insert(key(sock, EXTENT_DATA, 0), encodeFileExtent({ generation: 1, type: EXTENT_TYPE_REG, diskBytenr: 0, diskBytes: 0, offset: 0, bytes: 4096 }));
    // The character device's inode says block device; its entries still say BTRFS_FT_CHRDEV.
    tree.update(key(chr, INODE_ITEM, 0), encodeInode({ ...decodeInode(tree.get(key(chr, INODE_ITEM, 0))!), mode: S_IFBLK | 0o644 }));
    const found = fs.fsck().join('\n');
    expect(found).toMatch(new RegExp(`inode ${fifo}: a fifo of size 5, nbytes 0 \\(special files hold no data\\)`));
    expect(found).toMatch(new RegExp(`inode ${sock}: a socket of size 0, nbytes 0, with extent items`));
    expect(found).toMatch(new RegExp(`entry type 3, inode ${chr} has mode 60644`));
  });

  it('the tree checker takes every POSIX file type and refuses a mode of no type (EUCLEAN)', async () => {
    const { dev, fs } = await fresh();
    fs.mknod('/weird', S_IFIFO | 0o644);
    fs.unmount();
    // The top-level tree is one leaf here: the fifo's INODE_ITEM is in it.
    const probe = FileSystem.mount(dev);
    const tree = probe.subvolume(5)!.tree;
    expect(tree.level).toBe(0);
    const leaf = tree.root;
    const modeAt = tree.lookup(key(probe.stat('/weird').ino, INODE_ITEM, 0))!.addr - probe.kernel.nodeAddr(leaf) + INODE_MODE;
    probe.unmount();
    const again = FileSystem.mount(dev);
    expect(again.subvolume(5)!.tree.root).toBe(leaf); // an unmount with nothing to commit moved nothing
    again.unmount();
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, 0o030644, true);
    dev.store(leaf + modeAt, bytes);
    fixNodeChecksum(dev, leaf, 16384);
    dev.persist(0, dev.sizeBytes);
    let message = 'mounted';
    try {
      const bad = FileSystem.mount(dev);
      try { bad.lstat('/weird'); } finally { try { bad.unmount(); } catch { /* aborted */ } }
    } catch (e) {
      message = `${(e as FsError).code}: ${(e as Error).message}`;
    }
    expect(message).toMatch(new RegExp(`^EUCLEAN: .*mode ${0o030644}`));
  });
});

describe('crashes around special files', () => {
  /** The operations whose crash images are checked, each on the base state below. */
  const OPS: Array<[string, (fs: FileSystem) => void]> = [
    ['mknod a fifo', (fs) => fs.mknod('/d/new-fifo', S_IFIFO | 0o600)],
    ['mknod a block device', (fs) => fs.mknod('/new-blk', S_IFBLK | 0o660, makedev(8, 16))],
    ['unlink a character device', (fs) => fs.unlink('/chr')],
    ['rename a socket over a file', (fs) => fs.rename('/sock', '/f')],
    ['link a fifo', (fs) => fs.link('/fifo', '/d/fifo2')],
  ];

  async function baseImage(): Promise<Uint8Array> {
    const { dev, fs } = await fresh();
    fs.writeFile('/f', new Uint8Array(9000).fill(1));
    fs.mkdir('/d');
    fs.mknod('/chr', S_IFCHR | 0o620, makedev(4, 1));
    fs.mknod('/fifo', S_IFIFO | 0o644);
    fs.mknod('/sock', S_IFSOCK | 0o755);
    fs.setxattr('/chr', 'security.s', new Uint8Array(300).fill(2));
    fs.unmount();
    const image = dev.exportMedia();
    dev.close();
    return image;
  }

  it.each(OPS)('%s: a crash at any store of the operation and its commit mounts the state before or after, fsck clean (strict and random images)', async (_name, op) => {
    await crashAtEveryStore(await baseImage(), op, describeTree);
  });
});
