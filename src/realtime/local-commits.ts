/**
 * One budget's latest commits made by THIS instance, as the stream events its statements read back
 * (StreamWriter.appended: byte for byte what a log read returns; test/sync/appended-events.test.ts).
 * The hub serves a read from them when they cover every due cursor up to the known head, and reads
 * the log otherwise.
 *
 * Kept as one contiguous ascending run: commits of a budget are serialised by its row lock, but
 * their after-commit callbacks may run out of order and other instances commit too, so a break
 * restarts the run. Capped at MAX_EVENTS and trimmed to what some subscriber still lacks, so the
 * memory per budget stays small whatever the write rate.
 */
import type { StreamEvent } from '@budget-sync/protocol';

/** A subscriber further behind than this many local events reads the log. */
const MAX_EVENTS = 64;

export class LocalCommits {
  private run: StreamEvent[] = [];

  add(e: StreamEvent): void {
    const last = this.run.at(-1);
    if (last && last.sequence + 1 !== e.sequence) this.run = [];
    this.run.push(e);
    if (this.run.length > MAX_EVENTS) this.run.shift();
  }

  /** The page after `from` up to `head`, if the run covers it without a break; a new array each time. */
  page(from: number, head: number): StreamEvent[] | undefined {
    const first = this.run[0];
    const last = this.run.at(-1);
    if (!first || !last || first.sequence > from + 1 || last.sequence < head) return undefined;
    return this.run.slice(Math.max(0, from + 1 - first.sequence));
  }

  /** Drops what every subscriber holds (cursor `lowest` and before). */
  trim(lowest: number): void {
    while (this.run.length > 0 && (this.run[0] as StreamEvent).sequence <= lowest) this.run.shift();
  }
}
