// A progress line on stderr, redrawn in place, shown only when stderr is a terminal: a
// pipe or a log file gets nothing (no carriage returns mixed into captured output).
export class Progress {
  private shown = false;
  private lastDrawMs = 0;
  private readonly enabled: boolean;

  constructor(wanted: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = wanted && stream.isTTY === true;
  }

  /** Redraw the line (at most 10 times a second). */
  show(text: string): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (this.shown && now - this.lastDrawMs < 100) return;
    this.lastDrawMs = now;
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    this.stream.write(`\r${text.slice(0, width).padEnd(width)}`);
    this.shown = true;
  }

  /** Erase the line before other output, and at the end. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write(`\r${' '.repeat(Math.max(20, (this.stream.columns || 80) - 1))}\r`);
    this.shown = false;
  }
}
