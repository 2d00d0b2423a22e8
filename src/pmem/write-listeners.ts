// Listeners for the device bytes a file system writes (tree blocks and their copies,
// superblocks, data, heals, the zero page): image fuzzing and the crash fuzzer restore only
// what an image changed. The list belongs to the device, so it reaches whichever file
// system is mounted on it (a mount deep inside the explorer included) without a registry.
import { Subscribers } from '../subscribers.js';

export type WriteListener = (bytenr: number, bytes: number) => void;

export class WriteListeners extends Subscribers<WriteListener> {
  /** Anyone listening: writers skip the reports (and the core's report pass) when not. */
  get active(): boolean {
    return this.size > 0;
  }

  /** Bytes [bytenr, bytenr + bytes) of the device were written. */
  report(bytenr: number, bytes: number): void {
    for (const listener of this.entries) listener(bytenr, bytes);
  }
}
