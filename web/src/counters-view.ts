// Counters: the device's (stores, flushes, fences...), the DAX layer's (faults by kind,
// write-protects, shootdowns), the file system's generation and the writers' totals.
import type { PlaygroundSession } from './session.js';
import { el } from './dom.js';

export class CountersView {
  private readonly cells = new Map<string, HTMLElement>();

  constructor(private readonly root: HTMLElement) {}

  private set(group: string, name: string, value: number | string): void {
    const id = `counter-${name}`;
    let cell = this.cells.get(id);
    if (!cell) {
      let section = this.root.querySelector<HTMLElement>(`[data-group="${group}"]`);
      if (!section) {
        section = el('dl', { 'data-group': group }, el('dt', { class: 'group', text: group }));
        this.root.append(section);
      }
      cell = el('dd', { id, text: '' });
      section.append(el('div', { class: 'counter' }, el('span', { text: name }), cell));
      this.cells.set(id, cell);
    }
    const text = String(value);
    if (cell.textContent !== text) cell.textContent = text;
  }

  render(session: PlaygroundSession): void {
    const dev = session.device;
    for (const [name, value] of Object.entries(dev.counters())) this.set('device', name, value);
    this.set('device', 'linesPending', dev.linesPending());
    this.set('device', 'logSpan', dev.logSpan());
    for (const [name, value] of Object.entries(session.fileSystem.dax.stats)) this.set('dax', name, value);
    const statfs = session.fileSystem.statfs();
    this.set('file system', 'generation', statfs.generation);
    this.set('file system', 'usedBytes', statfs.usedBytes);
    this.set('file system', 'frozen', session.frozen ? 'yes' : 'no');
    this.set('writers', 'writersRunning', session.writers.running);
    this.set('writers', 'writerBatches', session.writers.batches);
    this.set('writers', 'writerStores', session.writers.stores);
    this.set('writers', 'writerFaults', session.writers.faults);
    this.set('events', 'faultEvents', session.events.totals.get('fault') ?? 0);
    this.set('events', 'commitEvents', session.events.totals.get('commit') ?? 0);
    this.set('events', 'violations', session.violations.length);
  }
}
