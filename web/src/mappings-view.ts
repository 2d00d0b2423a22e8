// Every live DAX mapping with its page-table entries: one cell per page, W (present and
// writable), R (present, read-only: the next store faults) or absent.
import type { FileSystem } from '../../src/filesystem.js';
import type { DaxMapping } from '../../src/dax/mapping.js';
import { PTE_PRESENT, PTE_WRITE, PTE_BLOCK_MASK } from '../../src/dax/manager.js';
import { el } from './dom.js';

export class MappingsView {
  private lastKey = '';

  constructor(private readonly root: HTMLElement) {}

  render(fs: FileSystem, mappings: Array<{ path: string; mapping: DaxMapping }>): void {
    const dax = fs.dax;
    const rows = mappings.filter(({ mapping }) => mapping.live).map(({ path, mapping }) => {
      const ptes: number[] = [];
      for (let page = 0; page < mapping.pages; page++) ptes.push(dax.pte(mapping, page));
      return { path, mapping, ptes };
    });
    const key = JSON.stringify(rows.map((r) => [r.path, r.mapping.id, r.ptes]));
    if (key === this.lastKey) return;
    this.lastKey = key;
    const counts = { writable: 0, readOnly: 0, absent: 0 };
    const table = el('table', { class: 'mappings' });
    for (const { path, mapping, ptes } of rows) {
      const cells = el('td', { class: 'ptes' });
      ptes.forEach((pte, page) => {
        const kind = (pte & PTE_PRESENT) === 0 ? 'absent' : (pte & PTE_WRITE) !== 0 ? 'writable' : 'readOnly';
        counts[kind]++;
        const block = pte & PTE_BLOCK_MASK;
        cells.append(el('span', {
          class: `pte ${kind}`,
          title: kind === 'absent' ? `page ${page}: not present` : `page ${page} -> block ${block} (${kind === 'writable' ? 'writable' : 'read-only'})`,
          text: kind === 'absent' ? '.' : kind === 'writable' ? 'W' : 'R',
        }));
      });
      table.append(el('tr', {},
        el('td', { text: `#${mapping.id} ${path} ${mapping.prot}${mapping.sync ? ' MAP_SYNC' : ''}` }),
        cells));
    }
    this.root.replaceChildren(
      el('div', { class: 'pte-summary', id: 'pte-summary', text: `entries: ${counts.writable} writable, ${counts.readOnly} read-only, ${counts.absent} absent` }),
      table,
    );
  }
}
