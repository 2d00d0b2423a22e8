// Comparing the file system's tree with the model's: one path (existence, stat, contents
// or listing), or the whole tree with inode identity. The model harness checks the paths
// a statement touched after it runs, and the whole tree when a test asks.
import type { FileSystem } from '../../src/filesystem.js';
import { FsModel, type MNode } from './fs-model.js';

export class Mismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mismatch';
  }
}

export interface StatLike { kind: string; size: number; nlink: number; nodatacow: boolean }

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const view = (x: Uint8Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return a.length === b.length && view(a).equals(view(b));
}

export function firstDiff(a: Uint8Array, b: Uint8Array): string {
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  return `lengths ${a.length} (fs) and ${b.length} (model), `
    + `first difference at ${i}: fs ${a[i]}, model ${b[i]}`;
}

/** What the file system and the model said, for a mismatch's message. */
export const differ = (fs: unknown, model: unknown): string =>
  `fs ${JSON.stringify(fs)}, model ${JSON.stringify(model)}`;

export abstract class TreeChecker {
  abstract readonly model: FsModel;
  abstract get fs(): FileSystem;

  /** Called once per whole-tree comparison (the harness counts them). */
  protected countFullCheck(): void {}

  statMatches(path: string, a: StatLike, b: StatLike): boolean {
    if (path === '/' || path === '') return a.kind === 'dir' || a.kind === 'subvolume';
    if (a.kind !== b.kind) return false;
    if (b.kind !== 'file') return true; // directory size and link count are the implementation's
    return a.size === b.size && a.nlink === b.nlink && a.nodatacow === b.nodatacow;
  }

  /** Compare one path (non-recursive): existence, stat, contents or listing. */
  checkPath(path: string, model: FsModel = this.model, fs: FileSystem = this.fs): void {
    const node = model.tryLookup(path);
    let exists: boolean;
    try {
      exists = fs.exists(path);
    } catch (e) {
      throw new Mismatch(`exists(${path}) threw ${(e as Error).message}`);
    }
    if (exists !== (node !== undefined)) {
      throw new Mismatch(`exists(${path}): fs ${exists}, model ${node !== undefined}`);
    }
    if (!node) return;
    this.checkNode(path, node, fs);
  }

  private checkNode(path: string, node: MNode, fs: FileSystem): void {
    const what = `check ${path}`;
    const mst = FsModel.statOf(node);
    let st;
    try {
      st = fs.stat(path);
    } catch (e) {
      throw new Mismatch(`${what}: stat threw ${(e as Error).message}`);
    }
    const got = { kind: st.kind, size: st.size, nlink: st.nlink, nodatacow: st.nodatacow };
    if (!this.statMatches(path, got, mst)) {
      throw new Mismatch(`${what}: stat differs: ${differ(got, mst)}`);
    }
    if (node.kind === 'dir') this.checkListing(what, path, node, fs);
    else this.checkContents(what, path, node, fs);
  }

  private checkListing(what: string, path: string, node: MNode, fs: FileSystem): void {
    let names: string[];
    try {
      names = [...fs.readdir(path)].sort();
    } catch (e) {
      throw new Mismatch(`${what}: readdir threw ${(e as Error).message}`);
    }
    const expected = [...node.entries.keys()].sort();
    if (JSON.stringify(names) !== JSON.stringify(expected)) {
      throw new Mismatch(`${what}: readdir differs: ${differ(names, expected)}`);
    }
  }

  private checkContents(what: string, path: string, node: MNode, fs: FileSystem): void {
    let data: Uint8Array;
    try {
      data = fs.readFile(path);
    } catch (e) {
      throw new Mismatch(`${what}: readFile threw ${(e as Error).message}`);
    }
    if (!bytesEqual(data, node.data)) {
      throw new Mismatch(`${what}: contents differ: ${firstDiff(data, node.data)}`);
    }
  }

  /**
   * Compare the whole tree: every directory listing, every file's stat and bytes, and
   * inode identity (hard links share (subvolume, ino); distinct files do not).
   */
  checkTree(model: FsModel = this.model, fs: FileSystem = this.fs): void {
    this.countFullCheck();
    const ids = new Map<MNode, string>();
    const owners = new Map<string, MNode>();
    for (const [path, node] of model.walk()) {
      this.checkNode(path, node, fs);
      if (node.kind !== 'file') continue;
      const st = fs.stat(path);
      const id = `${st.subvolume}:${st.ino}`;
      const known = ids.get(node);
      if (known !== undefined && known !== id) {
        throw new Mismatch(`hard links differ in identity: ${path} is ${id}, `
          + `another link is ${known}`);
      }
      const owner = owners.get(id);
      if (owner !== undefined && owner !== node) {
        throw new Mismatch(`${path}: (subvolume, ino) ${id} is shared with a different file`);
      }
      ids.set(node, id);
      owners.set(id, node);
    }
  }

  /**
   * Compare the whole tree with each candidate; return the index of the one that matches,
   * or throw a Mismatch listing why each candidate failed.
   */
  checkTreeAny(candidates: FsModel[], fs: FileSystem = this.fs): number {
    const why: string[] = [];
    for (const [i, m] of candidates.entries()) {
      try {
        this.checkTree(m, fs);
        return i;
      } catch (e) {
        if (!(e instanceof Mismatch)) throw e;
        why.push(`candidate ${i + 1}/${candidates.length}: ${e.message}`);
      }
    }
    throw new Mismatch(why.join('\n'));
  }
}
