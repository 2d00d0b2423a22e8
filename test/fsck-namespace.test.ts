// fsck's namespace checks (src/fs/fsck.ts checkNamespace, which reads items where the tree
// walk finds them): each kind of damage to directory and inode items is reported, and a
// sound namespace, hard links and '..' names included, is not.
import { describe, expect, it } from 'vitest';
import { FileSystem, PmemDevice } from '../src/index.js';
import { key } from '../src/fs/format.js';
import { DIR_ITEM, DIR_INDEX, INODE_ITEM, INODE_NLINK, DIR_ENTRY_HEADER_BYTES } from '../src/core/abi.js';

async function namespace(): Promise<{ fs: FileSystem; dirIno: number; fileIno: number }> {
  const dev = await PmemDevice.create({ sizeBytes: 8 << 20 });
  FileSystem.mkfs(dev, { nodeSize: 4096 });
  const fs = FileSystem.mount(dev);
  fs.mkdir('/d');
  fs.mkdir('/d/sub');
  fs.writeFile('/d/a', new Uint8Array(100).fill(1));
  fs.link('/d/a', '/d/b');
  fs.writeFile('/d/ünïcode', new Uint8Array(10));
  fs.commit();
  return { fs, dirIno: fs.stat('/d').ino, fileIno: fs.stat('/d/a').ino };
}

/** The key of the item of `type` in `dir` whose entry names `name`. */
function entryKey(fs: FileSystem, dir: number, type: number, name: string): { objectid: number; type: number; offset: number } {
  const tree = fs.subvolume(5)!.tree;
  const found = tree.range(key(dir, type, 0), key(dir, type, Number.MAX_SAFE_INTEGER)).find((it) => new TextDecoder().decode(it.data.subarray(DIR_ENTRY_HEADER_BYTES)) === name);
  if (!found) throw new Error(`no ${type} item for ${name}`);
  return found.key;
}

describe('fsck namespace checks', () => {
  it('a sound namespace with hard links, subdirectories and non-ASCII names is clean', async () => {
    const { fs } = await namespace();
    expect(fs.fsck()).toEqual([]);
  });

  it('a DIR_INDEX without its DIR_ITEM is reported with the name', async () => {
    const { fs, dirIno } = await namespace();
    const tree = fs.subvolume(5)!.tree;
    expect(tree.delete(entryKey(fs, dirIno, DIR_ITEM, 'ünïcode'))).toBe(true);
    expect(fs.fsck().join('\n')).toMatch(/dir \d+ index entry 'ünïcode' has no DIR_ITEM/);
  });

  it('an entry whose inode is gone is reported', async () => {
    const { fs, dirIno } = await namespace();
    const tree = fs.subvolume(5)!.tree;
    const sub = fs.stat('/d/sub').ino;
    expect(tree.delete(key(sub, INODE_ITEM, 0))).toBe(true);
    expect(fs.fsck().join('\n')).toMatch(new RegExp(`dir ${dirIno} entry 'sub' points at missing inode ${sub}`));
    expect(entryKey(fs, dirIno, DIR_INDEX, 'sub').objectid).toBe(dirIno); // the entry itself is intact
  });

  it('an inode whose nlink disagrees with its names is reported', async () => {
    const { fs, fileIno } = await namespace();
    const tree = fs.subvolume(5)!.tree;
    const item = tree.get(key(fileIno, INODE_ITEM, 0))!;
    new DataView(item.buffer, item.byteOffset).setUint32(INODE_NLINK, 3, true);
    tree.update(key(fileIno, INODE_ITEM, 0), item);
    expect(fs.fsck().join('\n')).toMatch(new RegExp(`inode ${fileIno} has nlink 3 but 2 names`));
  });
});
