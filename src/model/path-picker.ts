// The paths the model-based generator draws, from the model's tree at one moment: existing
// files and directories (mostly writable ones), new names, and odd paths that must fail.
import type { Rng } from '../random.js';
import type { FsModel, MNode } from './namespace.js';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

type Entry = [string, MNode];

const depth = (path: string): number => (path === '/' ? 0 : path.split('/').length - 1);

export class PathPicker {
  readonly all: Entry[];
  readonly files: Entry[];
  readonly dirs: Entry[];
  /** Subvolumes besides "/". */
  readonly subvols: Entry[];

  constructor(private readonly r: Rng, private readonly model: FsModel) {
    this.all = model.walk();
    this.files = this.all.filter(([, n]) => n.kind === 'file');
    this.dirs = this.all.filter(([, n]) => n.kind === 'dir');
    this.subvols = model.subvolumes().filter(([p]) => p !== '/');
  }

  /** Mostly an entry of a writable subvolume. */
  pickFrom(list: Entry[]): Entry | undefined {
    const r = this.r;
    if (list.length === 0) return undefined;
    const w = list.filter(([, n]) => !n.subvol.readonly);
    return w.length > 0 && r.chance(0.85) ? r.pick(w) : r.pick(list);
  }

  /** A path that names nothing, or goes through a file. */
  oddPath(): string {
    const r = this.r;
    const shape = r.below(3);
    if (shape === 0) return `/missing${r.below(3)}/${r.pick(NAMES)}`;
    if (shape === 1 && this.files.length > 0) return `${r.pick(this.files)[0]}/${r.pick(NAMES)}`;
    return `/${r.pick(NAMES)}${r.pick(NAMES)}`;
  }

  anyPath(): string {
    if (this.r.chance(0.05)) return this.oddPath();
    return this.pickFrom(this.all.filter(([p]) => p !== '/'))?.[0] ?? this.oddPath();
  }

  filePath(): string {
    if (this.r.chance(0.06)) return this.anyPath();
    return this.pickFrom(this.files)?.[0] ?? this.anyPath();
  }

  /** A directory; subvolume roots (whose rmdir/rename the API leaves open) only if asked. */
  dirPath(withSubvolumes = false, withPlaceholders = true): string {
    if (this.r.chance(0.08)) return this.anyPath();
    const dirs = this.dirs.filter(([p, n]) => p !== '/' && (withSubvolumes || !n.subvolRoot)
      && (withPlaceholders || !n.placeholder));
    return this.pickFrom(dirs)?.[0] ?? this.oddPath();
  }

  /** A file like `src` for a clone (same nodatacow flag: cloning across the flag is left open). */
  cloneTarget(src: string): string {
    const s = this.model.tryLookup(src);
    const like = this.files.filter(([p, n]) => p !== src && (!s || n.nodatacow === s.nodatacow));
    if (like.length === 0 || this.r.chance(0.05)) return this.filePath();
    return this.pickFrom(like)![0];
  }

  newPath(): string {
    const r = this.r;
    if (r.chance(0.04)) return this.oddPath();
    const parents = this.dirs.filter(([p, n]) => depth(p) < 3 && !n.placeholder);
    const [dir] = this.pickFrom(parents) ?? ['/', this.model.top.root];
    return `${dir === '/' ? '' : dir}/${r.pick(NAMES)}`;
  }

  sizeOf(p: string): number {
    const n = this.model.tryLookup(p);
    return n && n.kind === 'file' ? n.size : 0;
  }
}
