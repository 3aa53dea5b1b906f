import type { StreamEvent } from '@budget-sync/protocol';

/** A budget whose stream grew: its newest committed sequence. */
export interface CommittedPointer {
  budgetId: string;
  sequence: number;
  /**
   * When the committing instance saw COMMIT return (ms since the epoch, its clock). Only for the
   * commit → send metric; set by the hub, carried in the NOTIFY.
   */
  committedAt?: number;
}

/** A user's set of budgets changed (docs/protocol.md, "Membership"). */
export interface MembershipChange {
  userId: string;
  budgetId: string;
  change: 'added' | 'removed';
}

/**
 * Told after every commit that appended to a stream: the real-time side wakes local subscribers
 * and tells other instances. Called after COMMIT, never inside the write transaction (a NOTIFY
 * there would take Postgres's global notify lock through the commit; docs/dependencies.md).
 */
export interface ChangeSink {
  /**
   * `events`: stream events of the commit exactly as a log read returns them, when the writer has
   * them (the Processor's); the hub sends them to local subscribers without reading the log.
   */
  committed(pointers: CommittedPointer[], membership: MembershipChange[], events?: readonly StreamEvent[]): void;
}

export const NO_SINK: ChangeSink = { committed: () => {} };

/**
 * Holds a long-poll until the budget's stream passes `after`, `timeoutMs` passes, the user loses
 * access (it then rejects with the AppError to answer), or `signal` aborts. The real-time hub
 * implements it; without one, requests answer at once.
 */
export interface StreamWaiter {
  waitForStream(budgetId: string, userId: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
}
