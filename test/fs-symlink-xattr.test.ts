// Symbolic links and extended attributes: the calls, their errnos (Linux's), their place in
// hard links, renames, snapshots and fsck, their on-disk form, and crashes around them (a
// crash at any store of the operation and its commit mounts the state before or after it).
import { describe, expect, it } from 'vitest';
import { PmemDevice } from '../src/index.js';
import { FileSystem } from '../src/filesystem.js';
import { crashAtEveryStore } from './helpers/crash-cuts.js';
import { storeXattr, findXattr, listXattrs, deleteXattr, xattrNameText, type XattrHost } from '../src/fs/xattr.js';
import { key, XATTR_ITEM } from '../src/fs/format.js';
import type { Subvolume } from '../src/fs/subvolume.js';
import { errnoOf } from './helpers/errno-of.js';

const DEVICE_BYTES = 16 << 20;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

async function fresh(nodeSize?: number): Promise<{ dev: PmemDevice; fs: FileSystem }> {
  const dev = await PmemDevice.create({ sizeBytes: DEVICE_BYTES });
  FileSystem.mkfs(dev, nodeSize ? { nodeSize } : {});
  return { dev, fs: FileSystem.mount(dev) };
}

/**
 * Everything a user sees of a tree, one line per name (lstat's view: symlinks as their
 * targets, files as size and digest, every object's xattrs): an independent description to
 * compare states by.
 */
function describeTree(fs: FileSystem, dir = '/', out: string[] = []): string[] {
  for (const name of fs.readdir(dir).sort()) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.lstat(path);
    const xattrs = fs.listxattr(path, { noFollow: true }).sort()
      .map((n) => `${n}=${st.kind === 'symlink' && n.startsWith('user.') ? '' : str(fs.getxattr(path, n, { noFollow: true }))}`).join(',');
    if (st.kind === 'symlink') out.push(`${path} -> ${fs.readlink(path)} [${xattrs}] nlink ${st.nlink}`);
    else if (st.kind === 'file') out.push(`${path} file ${st.size} ${fs.contentDigest(path)} [${xattrs}] nlink ${st.nlink}`);
    else { out.push(`${path} ${st.kind} [${xattrs}]`); describeTree(fs, path, out); }
  }
  return out;
}

describe('symlinks', () => {
  it('symlink, readlink, lstat; walks follow relative, absolute and ".." targets, also mid-path', async () => {
    const { fs } = await fresh();
    fs.mkdir('/d');
    fs.mkdir('/d/e');
    fs.writeFile('/d/e/f', text('payload'));
    fs.symlink('e/f', '/d/rel');
    fs.symlink('/d/e', '/abs');
    fs.symlink('../e/./f', '/d/e/up');
    fs.symlink('abs', '/chain');
    expect(fs.readlink('/d/rel')).toBe('e/f');
    const l = fs.lstat('/d/rel');
    expect(l.kind).toBe('symlink');
    expect(l.size).toBe(3); // the target's length, as Linux's lstat
    expect(fs.stat('/d/rel').kind).toBe('file');
    expect(fs.stat('/d/rel').ino).toBe(fs.stat('/d/e/f').ino);
    expect(str(fs.readFile('/d/rel'))).toBe('payload');
    expect(str(fs.readFile('/abs/f'))).toBe('payload');
    expect(str(fs.readFile('/d/e/up'))).toBe('payload');
    expect(str(fs.readFile('/chain/up'))).toBe('payload');
    expect(fs.readdir('/chain').sort()).toEqual(['f', 'up']);
    // A trailing slash follows the link (Linux's walk): lstat sees the directory.
    expect(fs.lstat('/abs/').kind).toBe('dir');
    // '..' after a followed link steps back from where the link led (the target's parent).
    expect(fs.stat('/abs/..').ino).toBe(fs.stat('/d').ino);
    // Writes through a link reach the target.
    fs.writeFile('/d/rel', text('changed'));
    expect(str(fs.readFile('/d/e/f'))).toBe('changed');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });

  it('gives Linux errnos: ENOENT, ENAMETOOLONG, EEXIST, EINVAL, ELOOP, ENOTDIR, EISDIR', async () => {
    const { fs } = await fresh();
    fs.writeFile('/file', text('x'));
    fs.mkdir('/dir');
    expect(errnoOf(() => fs.symlink('', '/l'))).toBe('ENOENT');
    expect(errnoOf(() => fs.symlink('a'.repeat(4096), '/l'))).toBe('ENAMETOOLONG');
    expect(errnoOf(() => fs.symlink('a'.repeat(4095), '/l'))).toBe('ok'); // PATH_MAX - 1 fits a 16 KiB node
    expect(errnoOf(() => fs.symlink('x', '/file'))).toBe('EEXIST');
    expect(errnoOf(() => fs.symlink('x', '/l'))).toBe('EEXIST'); // a symlink, too
    expect(errnoOf(() => fs.symlink('a\0b', '/m'))).toBe('EINVAL');
    expect(errnoOf(() => fs.symlink(7 as unknown as string, '/m'))).toBe('EINVAL');
    expect(errnoOf(() => fs.symlink('x', '/missing/l'))).toBe('ENOENT');
    expect(errnoOf(() => fs.readlink('/file'))).toBe('EINVAL');
    expect(errnoOf(() => fs.readlink('/nothing'))).toBe('ENOENT');
    fs.symlink('nowhere', '/dangling');
    expect(errnoOf(() => fs.stat('/dangling'))).toBe('ENOENT');
    expect(fs.lstat('/dangling').kind).toBe('symlink');
    expect(fs.exists('/dangling')).toBe(false); // exists follows, as access(2)
    fs.symlink('loop-b', '/loop-a');
    fs.symlink('loop-a', '/loop-b');
    expect(errnoOf(() => fs.stat('/loop-a'))).toBe('ELOOP');
    expect(errnoOf(() => fs.readFile('/loop-a'))).toBe('ELOOP');
    expect(fs.readlink('/loop-a')).toBe('loop-b');
    fs.symlink('file', '/to-file');
    expect(errnoOf(() => fs.stat('/to-file/x'))).toBe('ENOTDIR');
    expect(errnoOf(() => fs.rmdir('/to-file'))).toBe('ENOTDIR');
    fs.symlink('dir', '/to-dir');
    expect(errnoOf(() => fs.rmdir('/to-dir'))).toBe('ENOTDIR'); // rmdir does not follow
    expect(errnoOf(() => fs.rename('/to-dir', '/dir'))).toBe('EISDIR'); // a link is no directory
    expect(errnoOf(() => fs.rename('/dir', '/to-dir'))).toBe('ENOTDIR');
    expect(errnoOf(() => fs.symlink('x'.repeat(300), '/long-name'))).toBe('ok');
    expect(errnoOf(() => fs.stat('/long-name'))).toBe('ENAMETOOLONG'); // a target's component longer than NAME_MAX
    // A 4 KiB node holds less inline (btrfs's BTRFS_MAX_INLINE_DATA_SIZE; pmcow's items are at most half a leaf).
    const small = await fresh(4096);
    expect(errnoOf(() => small.fs.symlink('a'.repeat(1952), '/l'))).toBe('ENAMETOOLONG');
    expect(errnoOf(() => small.fs.symlink('a'.repeat(1951), '/l'))).toBe('ok');
    small.fs.commit();
    expect(small.fs.fsck()).toEqual([]);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });

  it('unlink, rename and link act on the link itself; open(O_CREAT) through a dangling link creates its target', async () => {
    const { dev, fs } = await fresh();
    fs.writeFile('/t', text('target'));
    fs.symlink('t', '/l');
    fs.link('/l', '/l2'); // a hard link to the symlink, not to /t
    expect(fs.lstat('/l2').kind).toBe('symlink');
    expect(fs.lstat('/l').nlink).toBe(2);
    expect(fs.stat('/t').nlink).toBe(1);
    fs.rename('/l', '/renamed');
    expect(fs.readlink('/renamed')).toBe('t');
    fs.unlink('/l2');
    expect(fs.lstat('/renamed').nlink).toBe(1);
    expect(str(fs.readFile('/t'))).toBe('target'); // unlink removed the link, not /t
    fs.writeFile('/other', text('o'));
    fs.rename('/other', '/renamed'); // a file over a symlink
    expect(fs.lstat('/renamed').kind).toBe('file');
    fs.symlink('made/by-open', '/dangling');
    fs.mkdir('/made');
    const fd = fs.open('/dangling', { create: true });
    fs.pwrite(fd, text('new'), 0);
    fs.close(fd);
    expect(str(fs.readFile('/made/by-open'))).toBe('new');
    expect(fs.lstat('/dangling').kind).toBe('symlink');
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(again.fsck()).toEqual([]);
    expect(describeTree(again)).toEqual([
      '/dangling -> made/by-open [] nlink 1',
      '/made dir []',
      `/made/by-open file 3 ${again.contentDigest('/made/by-open')} [] nlink 1`,
      `/renamed file 1 ${again.contentDigest('/renamed')} [] nlink 1`,
      `/t file 6 ${again.contentDigest('/t')} [] nlink 1`,
    ]);
  });

  it('snapshots keep a subvolume\'s links as they were; a read-only snapshot refuses new ones', async () => {
    const { fs } = await fresh();
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/f', text('f'));
    fs.symlink('f', '/sv/l');
    fs.snapshot('/sv', '/snap', { readonly: true });
    fs.unlink('/sv/l');
    fs.symlink('elsewhere', '/sv/l');
    expect(fs.readlink('/snap/l')).toBe('f');
    expect(fs.readlink('/sv/l')).toBe('elsewhere');
    expect(errnoOf(() => fs.symlink('x', '/snap/new'))).toBe('EROFS');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
  });
});

describe('xattrs', () => {
  it('set, get, list and remove, with XATTR_CREATE and XATTR_REPLACE; by path and by descriptor', async () => {
    const { dev, fs } = await fresh();
    fs.writeFile('/f', text('data'));
    fs.mkdir('/d');
    fs.setxattr('/f', 'user.a', text('one'));
    fs.setxattr('/f', 'security.b', new Uint8Array(0)); // an empty value is a value
    fs.setxattr('/d', 'trusted.c', new Uint8Array(3000).fill(7));
    expect(fs.listxattr('/f').sort()).toEqual(['security.b', 'user.a']);
    expect(str(fs.getxattr('/f', 'user.a'))).toBe('one');
    expect(fs.getxattr('/f', 'security.b').length).toBe(0);
    expect(fs.getxattr('/d', 'trusted.c').every((b) => b === 7)).toBe(true);
    expect(errnoOf(() => fs.setxattr('/f', 'user.a', text('x'), { create: true }))).toBe('EEXIST');
    expect(errnoOf(() => fs.setxattr('/f', 'user.new', text('x'), { replace: true }))).toBe('ENODATA');
    expect(errnoOf(() => fs.setxattr('/f', 'user.new', text('x'), { create: true, replace: true }))).toBe('EINVAL');
    fs.setxattr('/f', 'user.a', text('two'), { replace: true });
    expect(str(fs.getxattr('/f', 'user.a'))).toBe('two');
    const fd = fs.open('/f');
    fs.rename('/f', '/g'); // a descriptor names the inode, whatever its path now
    fs.fsetxattr(fd, 'user.via-fd', text('fd'));
    expect(fs.flistxattr(fd).sort()).toEqual(['security.b', 'user.a', 'user.via-fd']);
    expect(str(fs.fgetxattr(fd, 'user.via-fd'))).toBe('fd');
    fs.fremovexattr(fd, 'security.b');
    fs.close(fd);
    fs.removexattr('/g', 'user.a');
    expect(errnoOf(() => fs.removexattr('/g', 'user.a'))).toBe('ENODATA');
    expect(errnoOf(() => fs.getxattr('/g', 'user.a'))).toBe('ENODATA');
    expect(fs.listxattr('/g')).toEqual(['user.via-fd']);
    fs.unmount();
    const again = FileSystem.mount(dev);
    expect(again.fsck()).toEqual([]);
    expect(describeTree(again)).toEqual([
      `/d dir [trusted.c=${str(new Uint8Array(3000).fill(7))}]`,
      `/g file 4 ${again.contentDigest('/g')} [user.via-fd=fd] nlink 1`,
    ]);
  });

  it('gives Linux errnos: ERANGE, EOPNOTSUPP, E2BIG, ENOSPC (btrfs: one leaf item), EPERM, EROFS, EBUSY, ENODATA', async () => {
    const { fs } = await fresh();
    fs.writeFile('/f', text('x'));
    expect(errnoOf(() => fs.setxattr('/f', '', text('v')))).toBe('ERANGE');
    expect(errnoOf(() => fs.setxattr('/f', `user.${'n'.repeat(251)}`, text('v')))).toBe('ERANGE');
    expect(errnoOf(() => fs.setxattr('/f', `user.${'n'.repeat(250)}`, text('v')))).toBe('ok'); // 255 bytes
    expect(errnoOf(() => fs.setxattr('/f', 'nonamespace', text('v')))).toBe('EOPNOTSUPP');
    expect(errnoOf(() => fs.setxattr('/f', 'system.posix_acl_access', text('v')))).toBe('EOPNOTSUPP');
    expect(errnoOf(() => fs.setxattr('/f', 'user.', text('v')))).toBe('EINVAL');
    expect(errnoOf(() => fs.setxattr('/f', 'user.big', new Uint8Array(65537)))).toBe('E2BIG');
    // Name and value in one leaf item: with 16 KiB nodes, 8,086 bytes (pmcow's items are at most half a leaf).
    expect(errnoOf(() => fs.setxattr('/f', 'user.big', new Uint8Array(8087 - 8)))).toBe('ENOSPC');
    expect(errnoOf(() => fs.setxattr('/f', 'user.fit', new Uint8Array(8086 - 8)))).toBe('ok');
    expect(errnoOf(() => fs.setxattr('/f', 'user.v', 'text' as unknown as Uint8Array))).toBe('EINVAL');
    expect(errnoOf(() => fs.getxattr('/f', 'user.none'))).toBe('ENODATA');
    expect(errnoOf(() => fs.getxattr('/nothing', 'user.a'))).toBe('ENOENT');
    // user.* belongs to regular files and directories: on a symlink itself, EPERM to set, nothing to get.
    fs.symlink('f', '/l');
    expect(errnoOf(() => fs.setxattr('/l', 'user.a', text('v'), { noFollow: true }))).toBe('EPERM');
    expect(errnoOf(() => fs.setxattr('/l', 'trusted.a', text('v'), { noFollow: true }))).toBe('ok');
    expect(fs.listxattr('/l', { noFollow: true })).toEqual(['trusted.a']);
    expect(errnoOf(() => fs.setxattr('/l', 'user.through', text('v')))).toBe('ok'); // follows to /f
    expect(str(fs.getxattr('/f', 'user.through'))).toBe('v');
    fs.create('/n');
    fs.setNoDataCow('/n');
    fs.writeFile('/n', new Uint8Array(4096));
    fs.setxattr('/n', 'user.kept', text('v'));
    fs.setDaxImmutable('/n', true, { capability: true });
    expect(errnoOf(() => fs.setxattr('/n', 'user.a', text('v')))).toBe('EPERM');
    expect(errnoOf(() => fs.removexattr('/n', 'user.kept'))).toBe('EPERM');
    fs.setDaxImmutable('/n', false, { capability: true });
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/g', text('g'));
    fs.snapshot('/sv', '/ro', { readonly: true });
    expect(errnoOf(() => fs.setxattr('/ro/g', 'user.a', text('v')))).toBe('EROFS');
    fs.freeze();
    expect(errnoOf(() => fs.setxattr('/f', 'user.a', text('v')))).toBe('EBUSY');
    fs.thaw();
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    // A 4 KiB node: the item bound is lower (btrfs's BTRFS_MAX_XATTR_SIZE).
    const small = await fresh(4096);
    small.fs.writeFile('/f', text('x'));
    expect(errnoOf(() => small.fs.setxattr('/f', 'user.big', new Uint8Array(1943 - 8 + 1)))).toBe('ENOSPC');
    expect(errnoOf(() => small.fs.setxattr('/f', 'user.big', new Uint8Array(1942 - 8)))).toBe('ok');
    small.fs.commit();
    expect(small.fs.fsck()).toEqual([]);
  });

  it('hard links share an inode\'s xattrs; a snapshot keeps its own; unlinking the last name drops them', async () => {
    const { fs } = await fresh();
    fs.createSubvolume('/sv');
    fs.writeFile('/sv/f', text('x'));
    fs.link('/sv/f', '/sv/h');
    fs.setxattr('/sv/f', 'user.k', text('before'));
    expect(str(fs.getxattr('/sv/h', 'user.k'))).toBe('before');
    fs.snapshot('/sv', '/snap');
    fs.setxattr('/sv/h', 'user.k', text('after'));
    expect(str(fs.getxattr('/sv/f', 'user.k'))).toBe('after');
    expect(str(fs.getxattr('/snap/f', 'user.k'))).toBe('before');
    for (let i = 0; i < 200; i++) fs.setxattr('/sv/f', `user.many-${i}`, new Uint8Array(100).fill(i));
    expect(fs.listxattr('/sv/f').length).toBe(201);
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    fs.unlink('/sv/f');
    fs.unlink('/sv/h');
    fs.commit();
    expect(fs.fsck()).toEqual([]);
    expect(fs.listxattr('/snap/f').length).toBe(1);
  });

  it('names whose hashes collide share one item (btrfs\'s layout), each found, replaced and removed alone', async () => {
    const { fs } = await fresh();
    fs.writeFile('/f', text('x'));
    // The layout code with a hash that puts every name in one item (the file system's own
    // hash is crc32c: collisions are too rare to meet by chance).
    const sv = (fs as unknown as { subvolumes: Map<number, Subvolume> }).subvolumes.get(5)!;
    const ino = fs.stat('/f').ino;
    fs.setxattr('/f', 'user.real', text('r')); // begins a transaction for the writes below
    const host: XattrHost = { tree: sv.tree, hash: () => 12345, transid: 1, nodeBytes: 16384 };
    for (const [name, value] of [['user.a', 'A'], ['user.bb', 'BB'], ['user.ccc', '']]) storeXattr(host, ino, text(name), text(value));
    expect(sv.tree.get(key(ino, XATTR_ITEM, 12345))).not.toBeNull();
    expect(listXattrs(host, ino).map(xattrNameText).filter((n) => n !== 'user.real')).toEqual(['user.a', 'user.bb', 'user.ccc']);
    storeXattr(host, ino, text('user.bb'), text('replaced'));
    expect(str(findXattr(host, ino, text('user.bb'))!)).toBe('replaced');
    expect(str(findXattr(host, ino, text('user.a'))!)).toBe('A');
    expect(deleteXattr(host, ino, text('user.a'))).toBe(true);
    expect(deleteXattr(host, ino, text('user.a'))).toBe(false);
    expect(findXattr(host, ino, text('user.a'))).toBeNull();
    expect(str(findXattr(host, ino, text('user.ccc'))!)).toBe('');
    expect(() => storeXattr(host, ino, text('user.huge'), new Uint8Array(8070))).toThrow(/ENOSPC/);
    // fsck holds every entry to its name's hash: these are not at theirs.
    fs.commit();
    expect(fs.fsck().filter((p) => /not at its name's hash/.test(p)).length).toBe(2);
  });
});

describe('crashes around symlinks and xattrs', () => {
  /** The operations whose crash images are checked, each on the base state below. */
  const OPS: Array<[string, (fs: FileSystem) => void]> = [
    ['symlink', (fs) => fs.symlink('../f', '/d/new-link')],
    ['unlink a link', (fs) => fs.unlink('/l')],
    ['rename a link over a file', (fs) => fs.rename('/l', '/g')],
    ['link a link', (fs) => fs.link('/l', '/d/l2')],
    ['setxattr', (fs) => fs.setxattr('/f', 'user.new', new Uint8Array(2000).fill(9))],
    ['setxattr replace', (fs) => fs.setxattr('/f', 'user.a', text('replaced'), { replace: true })],
    ['removexattr', (fs) => fs.removexattr('/f', 'user.a')],
    ['unlink a file with xattrs', (fs) => fs.unlink('/f')],
  ];

  async function baseImage(): Promise<Uint8Array> {
    const { dev, fs } = await fresh();
    fs.writeFile('/f', new Uint8Array(9000).fill(1));
    fs.writeFile('/g', text('g'));
    fs.mkdir('/d');
    fs.symlink('f', '/l');
    fs.setxattr('/f', 'user.a', text('original'));
    fs.setxattr('/d', 'security.s', new Uint8Array(500).fill(2));
    fs.unmount();
    const image = dev.exportMedia();
    dev.close();
    return image;
  }

  it.each(OPS)('%s: a crash at any store of the operation and its commit mounts the state before or after, fsck clean (strict and random images)', async (_name, op) => {
    await crashAtEveryStore(await baseImage(), op, describeTree);
  });
});
