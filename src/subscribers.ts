// A list that layers join and leave (a seam, docs/shape.md): each `add` returns what removes
// that entry again, so one subscriber never undoes another's registration, as a single
// callback slot the last setter owns would.
export class Subscribers<T> {
  private readonly list: T[] = [];

  /** Add `entry`; the returned function removes it (once; later calls do nothing). */
  add(entry: T): () => void {
    this.list.push(entry);
    return () => {
      const at = this.list.indexOf(entry);
      if (at >= 0) this.list.splice(at, 1);
    };
  }

  /** The entries now, in the order they were added (a copy: an entry may leave meanwhile). */
  snapshot(): T[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }

  /** Read-only view for loops that call no entry that might leave. */
  get entries(): readonly T[] {
    return this.list;
  }
}
