// The playground page: builds the session, wires the controls, redraws ~5 times a second.
import writerEntryUrl from '../../src/workers/web-entry.ts?worker&url';
import fuzzWorkerUrl from './fuzz-worker.ts?worker&url';
import { POLICY_NAMES } from '../../src/dax/policy.js';
import { PlaygroundSession } from './session.js';
import { LineGrid } from './line-grid.js';
import { FilesView } from './files-view.js';
import { MappingsView } from './mappings-view.js';
import { CountersView } from './counters-view.js';
import { FuzzPanel } from './fuzz-panel.js';
import { ScenariosPanel } from './scenarios-panel.js';
import { el, byId } from './dom.js';
import './styles.css';

const FRAME_MS = 200;
/** The zoom: the first MiB (where the data extents go), 2 pages (128 lines) per row. */
const ZOOM_LINES = (1 << 20) / 64;
const ZOOM_LINES_PER_ROW = 128;
/** Files and mappings walk the trees: every few frames is enough. */
const SLOW_VIEWS_EVERY = 3;

const writerUrl = new URL(writerEntryUrl, location.href);

function showError(e: unknown, session?: PlaygroundSession): void {
  const text = e instanceof Error ? e.message : String(e);
  byId('last-error').textContent = text;
  session?.events.add('error', text);
}

/** Run a control's action; errors (EBUSY while frozen, ...) are shown, not thrown. */
function action(session: PlaygroundSession, id: string, run: () => unknown): void {
  const button = byId<HTMLButtonElement>(id);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await run();
      byId('last-error').textContent = '';
    } catch (e) {
      showError(e, session);
    } finally {
      button.disabled = false;
    }
  });
}

async function main(): Promise<void> {
  const isolated = globalThis.crossOriginIsolated === true;
  const iso = byId('isolation');
  iso.textContent = `crossOriginIsolated: ${isolated}`;
  iso.dataset.isolated = String(isolated);
  if (!isolated) throw new Error('this page is not cross-origin isolated (COOP/COEP headers missing): SharedArrayBuffer is unavailable');

  const session = await PlaygroundSession.create(writerUrl);
  const grid = new LineGrid(byId<HTMLCanvasElement>('grid'), byId('legend'), byId('grid-hover'), session.lines);
  const zoom = new LineGrid(byId<HTMLCanvasElement>('grid-zoom'), null, byId('grid-hover'), session.lines, { firstLine: 0, lineCount: ZOOM_LINES, linesPerRow: ZOOM_LINES_PER_ROW });
  const files = new FilesView(byId('files'));
  const mappings = new MappingsView(byId('mappings'));
  const counters = new CountersView(byId('counters'));
  new FuzzPanel(new URL(fuzzWorkerUrl, location.href), session.events);
  new ScenariosPanel(writerUrl, session.events);

  action(session, 'writers-start', () => session.startWriters(Number(byId<HTMLSelectElement>('writer-count').value)));
  action(session, 'writers-stop', () => session.stopWriters());
  byId<HTMLInputElement>('writers-persist').addEventListener('change', (e) => { session.writersPersist = (e.target as HTMLInputElement).checked; });
  action(session, 'commit', () => session.commit());
  action(session, 'snapshot', () => session.snapshot());
  action(session, 'reflink', () => session.reflink());
  action(session, 'freeze', () => session.freeze());
  action(session, 'thaw', () => session.thaw());
  action(session, 'clwb', () => session.clwbWithoutFence());
  action(session, 'sfence', () => session.sfence());
  action(session, 'poison', () => session.poisonDbLine());
  action(session, 'clear-poison', () => session.clearPoison());
  action(session, 'crash-strict', () => session.crashAndRemount('strict'));
  action(session, 'crash-random', () => session.crashAndRemount('random'));

  const switches = byId('switches');
  for (const name of POLICY_NAMES) {
    const box = el('input', { type: 'checkbox', id: `switch-${name}` });
    box.checked = session.policy[name];
    box.addEventListener('change', () => session.setSwitch(name, box.checked));
    switches.append(el('label', { class: 'switch' }, box, ` ${name}`));
  }

  let frame = 0;
  const redraw = (): void => {
    try {
      session.tick();
      grid.draw();
      zoom.draw();
      counters.render(session);
      if (frame++ % SLOW_VIEWS_EVERY === 0) {
        files.render(session.fileSystem);
        mappings.render(session.fileSystem, session.mappings);
      }
      renderEvents(session);
      renderViolations(session);
      renderRemount(session);
    } catch (e) {
      showError(e, session);
    }
  };
  setInterval(redraw, FRAME_MS);
  redraw();
  document.body.dataset.ready = 'true';
  // For the end-to-end test and the console: read-only access to the session.
  (globalThis as unknown as { playground: PlaygroundSession }).playground = session;
}

let shownEventSeq = -1;
function renderEvents(session: PlaygroundSession): void {
  if (session.events.lastSeq === shownEventSeq) return;
  shownEventSeq = session.events.lastSeq;
  byId('events').replaceChildren(...session.events.latest(80).map((e) =>
    el('li', { class: `event ${e.kind}` }, el('span', { class: 'at', text: `${(e.atMs / 1000).toFixed(2)}s` }), el('span', { class: 'kind', text: e.kind }), ` ${e.text}`)));
}

let shownViolations = -1;
function renderViolations(session: PlaygroundSession): void {
  if (session.violations.length === shownViolations) return;
  shownViolations = session.violations.length;
  byId('violations').replaceChildren(...session.violations.map((v) => el('li', { class: 'violation', text: `${v.source}: ${v.text}` })));
}

function renderRemount(session: PlaygroundSession): void {
  const r = session.lastRemount;
  const node = byId('remount');
  if (!r) return;
  const clean = r.problems.length === 0;
  const text = `after ${r.mode} crash${r.mode === 'random' ? ` (seed ${r.seed})` : ''}: fsck ${clean ? 'clean' : `${r.problems.length} problems: ${r.problems.slice(0, 3).join('; ')}`}; scrub ${r.csumErrors} checksum, ${r.metadataErrors} metadata errors`;
  if (node.textContent !== text) { node.textContent = text; node.dataset.fsck = clean ? 'clean' : 'problems'; }
}

main().catch((e: unknown) => {
  showError(e);
  document.body.dataset.ready = 'failed';
});
