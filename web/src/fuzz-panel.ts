// Controls and results of a short fuzz campaign (src/crash/fuzz.ts) run in a worker:
// progress after each script, each finding with its reproducer, downloadable as the JSON
// file `pmcow replay` reads.
import * as Comlink from 'comlink';
import { POLICY_NAMES } from '../../src/dax/policy.js';
import type { FuzzProgress, FuzzReport } from '../../src/crash/fuzz.js';
import type { FuzzWorkerApi, CampaignOptions } from './fuzz-worker.js';
import type { EventLog } from './event-log.js';
import { el, byId } from './dom.js';

export class FuzzPanel {
  private running = false;

  constructor(private readonly workerUrl: URL, private readonly events: EventLog) {
    const select = byId<HTMLSelectElement>('fuzz-policy');
    select.append(el('option', { value: '', text: 'all switches on' }));
    for (const name of POLICY_NAMES) select.append(el('option', { value: name, text: `${name} off` }));
    byId('fuzz-run').addEventListener('click', () => { void this.run(); });
  }

  private options(): CampaignOptions {
    const num = (id: string, fallback: number): number => {
      const v = Number(byId<HTMLInputElement>(id).value);
      return Number.isSafeInteger(v) && v > 0 ? v : fallback;
    };
    const policyOff = byId<HTMLSelectElement>('fuzz-policy').value;
    return {
      seed: num('fuzz-seed', 3), scripts: num('fuzz-scripts', 2), ops: num('fuzz-ops', 12),
      generator: 'dax', samples: 4, minimiseMs: 4000,
      ...(policyOff ? { policyOff: policyOff as CampaignOptions['policyOff'] } : {}),
    } as CampaignOptions;
  }

  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const button = byId<HTMLButtonElement>('fuzz-run');
    button.disabled = true;
    const options = this.options();
    const bar = byId<HTMLProgressElement>('fuzz-progress');
    const status = byId('fuzz-status');
    const findings = byId('fuzz-findings');
    bar.max = options.scripts!;
    bar.value = 0;
    findings.replaceChildren();
    status.textContent = `running ${options.scripts} scripts (seed ${options.seed}${options.policyOff ? `, ${options.policyOff} off` : ''})...`;
    status.dataset.state = 'running';
    this.events.add('fuzz', status.textContent);
    const worker = new Worker(this.workerUrl, { type: 'module' });
    const api = Comlink.wrap<FuzzWorkerApi>(worker);
    try {
      const report = await api.run(options, Comlink.proxy((p: FuzzProgress) => {
        bar.value = p.scripts;
        status.textContent = progressText(p);
      }));
      bar.value = report.scripts;
      status.textContent = `done: ${progressText(report)}; ${report.findings.length} finding(s)`;
      status.dataset.state = 'done';
      this.events.add('fuzz', status.textContent);
      this.showFindings(report, findings);
    } catch (e) {
      status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
      status.dataset.state = 'failed';
      this.events.add('error', `fuzz ${status.textContent}`);
    } finally {
      api[Comlink.releaseProxy]();
      worker.terminate();
      button.disabled = false;
      this.running = false;
    }
  }

  private showFindings(report: FuzzReport, root: HTMLElement): void {
    for (const f of report.findings) {
      const json = JSON.stringify(f.reproducer, null, 2);
      const href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
      const name = `pmcow-reproducer-${f.scriptSeed}.json`;
      root.append(el('div', { class: 'finding' },
        el('div', { class: 'finding-title', text: `script ${f.script} (seed ${f.scriptSeed}) at ${f.violation.point}: ${f.violation.problems[0] ?? ''}` }),
        el('a', { class: 'download', href, download: name, text: `download ${name}` }),
        el('pre', { class: 'reproducer', text: json })));
      this.events.add('violation', `fuzz: ${f.violation.problems[0] ?? f.violation.point}`);
    }
  }
}

function progressText(p: FuzzProgress): string {
  return `${p.scripts} scripts, ${p.ops} ops, ${p.points} crash points, ${p.images} images, ${p.mounted} mounted, ${p.violations} violations`;
}
