// What happened, newest last: faults, commits, snapshots, crashes... A bounded ring, so a
// fault storm (thousands per second from writer threads) costs memory of the last few only.
export type EventKind = 'fault' | 'commit' | 'snapshot' | 'reflink' | 'freeze' | 'thaw' | 'crash' | 'mount' | 'policy' | 'flush' | 'poison' | 'writers' | 'violation' | 'scenario' | 'fuzz' | 'error';

export interface PlaygroundEvent {
  seq: number;
  /** Milliseconds since the page loaded (performance.now()). */
  atMs: number;
  kind: EventKind;
  text: string;
}

export class EventLog {
  private readonly ring: PlaygroundEvent[] = [];
  private nextSeq = 1;
  /** Events ever added, by kind (the ring forgets, these do not). */
  readonly totals = new Map<EventKind, number>();

  constructor(private readonly capacity = 400) {}

  add(kind: EventKind, text: string): void {
    this.ring.push({ seq: this.nextSeq++, atMs: performance.now(), kind, text });
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    this.totals.set(kind, (this.totals.get(kind) ?? 0) + 1);
  }

  /** The newest `count` events, newest first. */
  latest(count: number): PlaygroundEvent[] {
    return this.ring.slice(-count).reverse();
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }
}
