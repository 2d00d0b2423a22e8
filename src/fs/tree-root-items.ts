// The ROOT_ITEMs of the trees that are no subvolume but have one (the extent, dev and csum
// trees: btrfs finds their roots through them, the superblock names only the root and
// chunk trees), and the trees pmcow keeps unchanged in an image it adopted.
import { FsError } from '../errors.js';
import { UUID_TREE_ID, FREE_SPACE_TREE_ID, DATA_RELOC_TREE_ID } from '../core/abi.js';
import type { BTree } from './ctree.js';
import { ROOT_ITEM, key } from './format.js';
import { encodeRootItem } from './items.js';

/**
 * btrfs's trees pmcow keeps unchanged in an image it adopted: uuid (9), free space (10,
 * until the adoption drops it), data relocation (-9).
 */
const KEPT_TREE_IDS = [UUID_TREE_ID, FREE_SPACE_TREE_ID, DATA_RELOC_TREE_ID];

/** What the ROOT_ITEMs are kept against (the Kernel). */
interface RootItemHost {
  readonly nodeBytes: number;
  readonly rootTree: BTree;
  readonly extentTree: BTree;
  /** The trees with a ROOT_ITEM of their own that are no subvolume. */
  readonly itemTrees: BTree[];
  readonly keptTrees: Map<number, { bytenr: number; level: number }>;
  blockGeneration(bytenr: number): number;
}

export class TreeRootItems {
  /** Each item tree's root as its ROOT_ITEM last named it: `root:level`, by tree id. */
  private readonly written = new Map<number, string>();

  constructor(private readonly host: RootItemHost) {}

  /**
   * Write the ROOT_ITEM of each item tree whose root moved (and the extent tree's when
   * `force`); true when one was written.
   */
  write(force: boolean): boolean {
    const host = this.host;
    let changed = false;
    for (const tree of host.itemTrees) {
      const at = `${tree.root}:${tree.level}`;
      if (this.written.get(tree.id) === at && !(force && tree === host.extentTree)) continue;
      const item = encodeRootItem({
        bytenr: tree.root, level: tree.level, generation: host.blockGeneration(tree.root),
        flags: 0, lastSnapshot: 0, rootDir: 0,
      }, host.nodeBytes);
      host.rootTree.put(key(tree.id, ROOT_ITEM, 0), item);
      this.written.set(tree.id, at);
      changed = true;
    }
    return changed;
  }

  /** Mount: the ROOT_ITEM of one item tree, which must name the root the superblock does. */
  note(id: number, bytenr: number, level: number): void {
    if (KEPT_TREE_IDS.includes(id)) {
      this.host.keptTrees.set(id, { bytenr, level });
      return;
    }
    const tree = this.host.itemTrees.find((t) => t.id === id);
    if (!tree) {
      throw new FsError('EUCLEAN',
        `root tree: a ROOT_ITEM for tree ${id}, which is not a subvolume`);
    }
    if (tree.root !== bytenr || tree.level !== level) {
      throw new FsError('EUCLEAN', `root tree: the ROOT_ITEM of tree ${id} names block ${bytenr}`
        + ` level ${level}, the superblock ${tree.root} level ${tree.level}`);
    }
    this.written.set(id, `${bytenr}:${level}`);
  }

  /** Mount: every item tree had its ROOT_ITEM. */
  checkAllNoted(): void {
    for (const tree of this.host.itemTrees) {
      if (!this.written.has(tree.id)) {
        throw new FsError('EUCLEAN', `root tree: no ROOT_ITEM for tree ${tree.id}`);
      }
    }
  }
}
