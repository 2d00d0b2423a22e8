// Who takes part in a commit besides the kernel (Kernel.commit, docs/engine.md): the file
// system's ROOT_ITEMs, the DAX layer's mmap-dirtied pages, crash oracles and soak's record
// of each commit. Each registers here and is called in registration order, so that layers
// above the kernel reach into its commit through one list instead of single-slot hooks that
// the last setter owns (and a wrapped `commit`).
import { Subscribers } from '../subscribers.js';

/** The points of a commit a participant may act at; every one is optional. */
export interface CommitParticipant {
  /** As a commit of `generation` starts, before anything changes. */
  commitStarting?(generation: number): void;
  /** First in the commit: what must be in the trees before they are written (DAX: the
   *  pages stores dirtied through mappings, write-protected and checksummed). */
  beforeCommit?(): void;
  /** Items that depend on where the trees' roots are (the file system's ROOT_ITEMs and
   *  directory sizes): called twice, before and after the delayed refs run. */
  writeRootItems?(): void;
  /** After the commit of `generation` is durable (its superblock fenced). */
  committed?(generation: number): void;
  /** Has it changes a commit must write though no tree changed (DAX: pages stored to
   *  through mmap)? A commit with none anywhere writes nothing. */
  hasChanges?(): boolean;
}

type Point = Exclude<keyof CommitParticipant, 'hasChanges'>;

export class CommitParticipants extends Subscribers<CommitParticipant> {
  /** Has any participant changes of its own for the next commit? */
  anyHasChanges(): boolean {
    for (const participant of this.entries) if (participant.hasChanges?.()) return true;
    return false;
  }

  /** Call `point` of every participant that has it, in registration order. A participant
   *  added or removed by a call takes effect from the next point on. */
  call(point: Exclude<Point, 'commitStarting' | 'committed'>): void;
  call(point: 'commitStarting' | 'committed', generation: number): void;
  call(point: Point, generation?: number): void {
    if (this.size === 0) return;
    for (const participant of this.snapshot()) participant[point]?.(generation!);
  }
}
