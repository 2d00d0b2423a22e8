// The five thread scenarios (src/scenarios), each run with its mechanism on and then off,
// on fresh devices of their own; the writer-thread ones use the same writer workers.
import {
  runThread000, runThread001, runThread002, runThread003, runThread004,
  type ScenarioRow, type ThreadId,
} from '../../src/scenarios/index.js';
import type { EventLog } from './event-log.js';
import { el, byId } from './dom.js';

const THREADS: Array<{ id: ThreadId; title: string }> = [
  { id: '000', title: 'dm-snapshot and DAX' },
  { id: '001', title: 'freeze vs mmap' },
  { id: '002', title: 'DAX in btrfs' },
  { id: '003', title: 'reflink on DAX' },
  { id: '004', title: 'MAP_SYNC' },
];

export class ScenariosPanel {
  private busy = false;

  constructor(private readonly writerEntryUrl: URL, private readonly events: EventLog) {
    const buttons = byId('scenario-buttons');
    for (const t of THREADS) {
      const b = el('button', { id: `scenario-${t.id}`, text: `thread ${t.id}: ${t.title}` });
      b.addEventListener('click', () => { void this.run(t.id); });
      buttons.append(b);
    }
  }

  private runner(id: ThreadId): () => Promise<ScenarioRow[]> {
    const options = { workerEntryUrl: this.writerEntryUrl };
    switch (id) {
      case '000': return () => runThread000(options);
      case '001': return () => runThread001(options);
      case '002': return () => runThread002();
      case '003': return () => runThread003();
      case '004': return () => runThread004();
    }
  }

  async run(id: ThreadId): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const status = byId('scenario-status');
    const buttons = [...byId('scenario-buttons').querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    status.textContent = `running thread ${id}...`;
    status.dataset.state = 'running';
    try {
      const rows = await this.runner(id)();
      const table = byId('scenario-rows');
      for (const r of rows) {
        table.append(el('tr', { 'data-thread': r.thread, 'data-switch': r.switch, 'data-reproduced': String(r.reproduced) },
          el('td', { text: r.thread }), el('td', { text: r.switch }), el('td', { text: r.question }),
          el('td', { text: r.on }), el('td', { text: r.off }),
          el('td', { class: r.reproduced ? 'yes' : 'no', text: r.reproduced ? 'reproduced' : 'not reproduced' })));
        this.events.add('scenario', `thread ${r.thread} ${r.switch}: failure ${r.reproduced ? 'reproduced with the switch off, absent with it on' : 'NOT reproduced'}`);
      }
      status.textContent = `thread ${id}: ${rows.filter((r) => r.reproduced).length}/${rows.length} failures reproduced`;
      status.dataset.state = 'done';
    } catch (e) {
      status.textContent = `thread ${id} failed: ${e instanceof Error ? e.message : String(e)}`;
      status.dataset.state = 'failed';
      this.events.add('error', status.textContent);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      this.busy = false;
    }
  }
}
