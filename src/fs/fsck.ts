// fsck: an offline check of the committed image. Walks every tree from the superblock
// and the ROOT_ITEMs, counts every pointer, and compares with the extent tree.
import type { Kernel } from './kernel.js';
import type { Subvolume } from './subvolume.js';
import { FsError } from '../errors.js';
import { checkBlockGroups } from './fsck-chunks.js';
import { checkRootRefs, type SubvolumeEntry } from './fsck-root-refs.js';
import { treeRoots, walkTrees, fullBackrefs } from './fsck-trees.js';
import { countDataRefs, checkExtentTree, checkCsumItems } from './fsck-extents.js';
import { checkNamespace } from './fsck-namespace.js';

/** At most this many problems are kept (a badly damaged image has one per item). */
const MAX_PROBLEMS = 1000;

export function runFsck(k: Kernel, subvolumes: Subvolume[]): string[] {
  const problems: string[] = [];
  const say = (p: string): void => { if (problems.length < MAX_PROBLEMS) problems.push(p); };
  // A tree too damaged to walk on (an unreadable root, a bad extent tree) ends the check
  // with that problem reported, not with an exception.
  try {
    check(k, subvolumes, say);
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    say(`check stopped: ${e.message}`);
  }
  return problems;
}

/** The passes, in the order their findings are reported: trees, extents, csums, chunks, names. */
function check(k: Kernel, subvolumes: Subvolume[], say: (p: string) => void): void {
  const roots = treeRoots(k, subvolumes, say);
  const blocks = walkTrees(k, roots, say);
  const full = fullBackrefs(blocks.parents, blocks.owners);
  const dataRefs = countDataRefs(blocks.fileExtents, full, subvolumes, say);
  checkExtentTree(k, blocks, full, dataRefs, say);
  checkCsumItems(k, dataRefs, say);
  checkBlockGroups(k, say);
  const subvolumeEntries: SubvolumeEntry[] = [];
  for (const sv of subvolumes) checkNamespace(k, sv, say, subvolumeEntries);
  checkRootRefs(k, subvolumeEntries, say);
}
