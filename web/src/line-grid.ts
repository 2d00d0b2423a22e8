// The device as a grid: one pixel per 64-byte line, coloured by LineStates; the whole
// device at 512 lines (32 KiB) per row, or a window of it (the zoom on the first MiB,
// where the data extents are). Drawn with one putImageData per frame.
import { LINE_STATE, LINE_STATE_NAMES, type LineStates, type LineStateName } from './line-states.js';
import { el, hexAddress } from './dom.js';
import { LINE_BYTES } from '../../src/core/abi.js';

export const LINES_PER_ROW = 512;

/** Colours as CSS and as little-endian RGBA words for ImageData. */
export const STATE_COLOURS: Record<LineStateName, string> = {
  clean: '#20242c',
  durable: '#2e9e5b',
  dirty: '#f08c2e',
  flushPending: '#f2d544',
  poisoned: '#e0245e',
};

function rgbaWord(css: string): number {
  const v = Number.parseInt(css.slice(1), 16);
  return ((0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
}

/** Which lines a grid shows: [firstLine, firstLine + lineCount), linesPerRow per row. */
export interface GridWindow { firstLine: number; lineCount: number; linesPerRow: number }

export class LineGrid {
  private readonly context: CanvasRenderingContext2D;
  private readonly image: ImageData;
  private readonly pixels: Uint32Array;
  private readonly palette = new Uint32Array(LINE_STATE_NAMES.map((n) => rgbaWord(STATE_COLOURS[n])));
  private readonly legendCounts = new Map<LineStateName, HTMLElement>();
  private readonly window: GridWindow;

  constructor(
    readonly canvas: HTMLCanvasElement, legend: HTMLElement | null, private readonly hover: HTMLElement, private readonly lines: LineStates,
    window: Partial<GridWindow> = {},
  ) {
    this.window = {
      firstLine: window.firstLine ?? 0,
      lineCount: Math.min(window.lineCount ?? lines.lineCount, lines.lineCount - (window.firstLine ?? 0)),
      linesPerRow: window.linesPerRow ?? LINES_PER_ROW,
    };
    const rows = Math.ceil(this.window.lineCount / this.window.linesPerRow);
    canvas.width = this.window.linesPerRow;
    canvas.height = rows;
    this.context = canvas.getContext('2d')!;
    this.image = this.context.createImageData(this.window.linesPerRow, rows);
    this.pixels = new Uint32Array(this.image.data.buffer);
    if (legend) for (const name of LINE_STATE_NAMES) {
      const count = el('span', { class: 'count', 'data-state': name, text: '0' });
      this.legendCounts.set(name, count);
      legend.append(el('span', { class: 'legend-item' }, el('span', { class: 'swatch', style: `background:${STATE_COLOURS[name]}` }), ` ${name} `, count));
    }
    canvas.addEventListener('mousemove', (e) => this.describe(e));
  }

  draw(): void {
    const { firstLine, lineCount } = this.window;
    const states = this.lines.states.subarray(firstLine, firstLine + lineCount);
    const { pixels, palette } = this;
    for (let i = 0; i < states.length; i++) pixels[i] = palette[states[i]!]!;
    this.context.putImageData(this.image, 0, 0);
    for (const [name, cell] of this.legendCounts) cell.textContent = String(this.lines.counts[LINE_STATE[name]]);
  }

  private describe(e: MouseEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * this.canvas.width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * this.canvas.height);
    if (x < 0 || y < 0 || x >= this.window.linesPerRow) return;
    const line = this.window.firstLine + y * this.window.linesPerRow + x;
    if (line >= this.window.firstLine + this.window.lineCount) return;
    const state = LINE_STATE_NAMES[this.lines.states[line]!] ?? 'clean';
    this.hover.textContent = `line ${line} @ ${hexAddress(line * LINE_BYTES)} (block ${Math.floor((line * LINE_BYTES) / 4096)}): ${state}`;
  }
}
