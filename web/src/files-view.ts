// Files and their extents. An extent whose disk range other files also reference is
// shared (a snapshot's or a reflink's); it gets the same colour in every file, and a badge
// with the number of files that share it.
import type { FileSystem } from '../../src/filesystem.js';
import { el, formatBytes, hexAddress } from './dom.js';

interface FileRow {
  path: string;
  size: number;
  subvolume: number;
  nodatacow: boolean;
  extents: Array<{ fileOffset: number; bytes: number; diskBytenr: number; diskBytes: number; prealloc: boolean }>;
}

function walk(fs: FileSystem, dir: string, out: FileRow[]): void {
  for (const name of fs.readdir(dir)) {
    const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = fs.stat(path);
    if (st.kind === 'file') {
      out.push({ path, size: st.size, subvolume: st.subvolume, nodatacow: st.nodatacow, extents: fs.fileExtents(path) });
    } else {
      walk(fs, path, out);
    }
  }
}

/** Same disk extent, same hue, in every file. */
const hueOf = (diskBytenr: number): number => Math.floor(((diskBytenr / 4096) * 0.618034 % 1) * 360);

export class FilesView {
  private lastKey = '';

  constructor(private readonly root: HTMLElement) {}

  render(fs: FileSystem): void {
    const files: FileRow[] = [];
    walk(fs, '/', files);
    const key = JSON.stringify(files);
    if (key === this.lastKey) return;
    this.lastKey = key;
    const sharers = new Map<number, Set<string>>();
    for (const f of files) {
      for (const e of f.extents) if (e.diskBytenr) {
        const set = sharers.get(e.diskBytenr) ?? new Set<string>();
        set.add(f.path);
        sharers.set(e.diskBytenr, set);
      }
    }
    const table = el('table', { class: 'files' },
      el('tr', {}, el('th', { text: 'path' }), el('th', { text: 'subvol' }), el('th', { text: 'size' }), el('th', { text: 'extents (file range -> disk)' })));
    for (const f of files) {
      const chips = el('td', { class: 'extents' });
      for (const e of f.extents) {
        const shared = e.diskBytenr ? (sharers.get(e.diskBytenr)?.size ?? 1) : 1;
        const label = `${formatBytes(e.fileOffset)}+${formatBytes(e.bytes)} -> ${e.diskBytenr ? hexAddress(e.diskBytenr) : 'hole'}${e.prealloc ? ' prealloc' : ''}`;
        const chip = el('span', {
          class: `extent${shared > 1 ? ' shared' : ''}`,
          style: e.diskBytenr ? `border-color:hsl(${hueOf(e.diskBytenr)} 70% 55%)` : '',
          title: shared > 1 ? `shared by ${[...sharers.get(e.diskBytenr)!].join(', ')}` : 'exclusive',
          text: label,
        });
        if (shared > 1) chip.append(el('b', { class: 'badge', text: ` shared x${shared}` }));
        chips.append(chip);
      }
      if (f.extents.length === 0) chips.append('(no extents)');
      table.append(el('tr', { 'data-path': f.path },
        el('td', { text: `${f.path}${f.nodatacow ? ' (nodatacow)' : ''}` }),
        el('td', { text: String(f.subvolume) }),
        el('td', { text: formatBytes(f.size) }),
        chips));
    }
    this.root.replaceChildren(table);
  }
}
