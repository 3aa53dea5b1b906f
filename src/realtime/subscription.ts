/**
 * What the hub delivers to: a socket's subscription to one budget, or a long-poll waiting for one.
 * Either is only a cursor (the last sequence handed over) — never a queue. The hub reads the log
 * once per budget and hands every subscriber the same page; each takes the slice after its own
 * cursor, so the backlog → live hand-over has neither a gap nor a repeat.
 *
 * Revocation comes from the stream itself, identically on every instance and exactly once: a
 * `participant.remove` of the subscriber's user, or a `budget.delete`, is delivered and then ends
 * the subscription; nothing after it is ever sent.
 */
import { AppError } from '../errors/app-error.js';
import type { StreamEvent } from '../protocol/events.js';
import type { RevokeReason } from './messages.js';

export interface Subscriber {
  readonly budgetId: string;
  readonly userId: string;
  /** The last sequence handed over. */
  readonly cursor: number;
  /** False while it cannot take events now (socket above high water); its cursor waits. */
  ready(): boolean;
  /** A page read from the log: ascending and gap-free. Returns 'done' when the subscriber ended. */
  deliver(page: StreamEvent[]): 'keep' | 'done';
  /** The hub is closing (long-polls answer at once). */
  end(): void;
}

/** Why `e` ends `userId`'s access to its budget, if it does. */
export function revokeReason(e: StreamEvent, userId: string): RevokeReason | undefined {
  if (e.eventType === 'budget.delete') return 'deleted';
  if (e.eventType === 'participant.remove' && e.recordId === userId) return e.actorId === userId ? 'left' : 'removed';
  return undefined;
}

/** The first index of `page` after `cursor`, or -1. Pages are ≤ 500 events and start near the cursor. */
export function firstAfter(page: StreamEvent[], cursor: number): number {
  for (let i = 0; i < page.length; i++) if ((page[i] as StreamEvent).sequence > cursor) return i;
  return -1;
}

const serialized = new WeakMap<StreamEvent, string>();
/** An event's JSON, computed once per page however many sockets receive it. */
export function eventJson(e: StreamEvent): string {
  let json = serialized.get(e);
  if (json === undefined) {
    json = JSON.stringify(e);
    serialized.set(e, json);
  }
  return json;
}

/** The socket side a subscription needs (implemented by Connection). */
export interface SubscriptionSocket {
  readonly userId: string;
  /** True while the socket is open and below its high-water mark. */
  canSend(): boolean;
  /** Sends one `events` message built from pre-serialized events. */
  sendEvents(budgetId: string, events: string[], oldestServerTime: number): void;
  /** The subscription ended by the stream: send `revoked` and forget it. */
  revoked(sub: SocketSubscription, reason: RevokeReason): void;
  reportGap(budgetId: string, cursor: number, next: number): void;
}

/** At most this many events or bytes per `events` message, so one send never overshoots high water by much. */
const MAX_EVENTS_PER_MESSAGE = 100;
const MAX_MESSAGE_BYTES = 64 * 1024;

export class SocketSubscription implements Subscriber {
  private closed = false;

  constructor(
    private readonly socket: SubscriptionSocket,
    readonly budgetId: string,
    public cursor: number,
  ) {}

  get userId(): string {
    return this.socket.userId;
  }

  ready(): boolean {
    return !this.closed && this.socket.canSend();
  }

  /** Ends it without a message (unsubscribe, replaced by a new subscribe, socket closed). */
  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  end(): void {
    this.closed = true;
  }

  deliver(page: StreamEvent[]): 'keep' | 'done' {
    if (this.closed) return 'done';
    let i = firstAfter(page, this.cursor);
    if (i === -1) return 'keep';
    const first = page[i] as StreamEvent;
    if (first.sequence !== this.cursor + 1) {
      // Impossible while the log is gap-free and reads start at or below the cursor; never skip.
      this.socket.reportGap(this.budgetId, this.cursor, first.sequence);
      return 'keep';
    }
    let chunk: string[] = [];
    let bytes = 0;
    let oldest = first.serverTime;
    for (; i < page.length; i++) {
      const e = page[i] as StreamEvent;
      if (chunk.length === 0) oldest = e.serverTime;
      const json = eventJson(e);
      chunk.push(json);
      bytes += json.length;
      const reason = revokeReason(e, this.userId);
      if (reason || chunk.length >= MAX_EVENTS_PER_MESSAGE || bytes >= MAX_MESSAGE_BYTES || i === page.length - 1) {
        this.socket.sendEvents(this.budgetId, chunk, oldest);
        this.cursor = e.sequence;
        chunk = [];
        bytes = 0;
        if (reason) {
          this.closed = true;
          this.socket.revoked(this, reason);
          return 'done';
        }
        if (!this.socket.canSend()) return 'keep';
      }
    }
    return 'keep';
  }
}

/**
 * A long-poll (`GET /events?wait=`) as a subscriber that answers once: resolves when the stream
 * passes `after`, rejects with the AppError to answer when the user lost access.
 */
export class OnceWaiter implements Subscriber {
  private settled = false;

  constructor(
    readonly budgetId: string,
    readonly userId: string,
    readonly cursor: number,
    private readonly settle: (err?: AppError) => void,
  ) {}

  ready(): boolean {
    return !this.settled;
  }

  deliver(page: StreamEvent[]): 'keep' | 'done' {
    if (this.settled) return 'done';
    const i = firstAfter(page, this.cursor);
    if (i === -1) return 'keep';
    for (let j = i; j < page.length; j++) {
      const reason = revokeReason(page[j] as StreamEvent, this.userId);
      if (reason) {
        this.finish(reason === 'deleted' ? new AppError('BUDGET_NOT_FOUND', 'the budget was deleted') : new AppError('NOT_PARTICIPANT', 'not a participant of this budget'));
        return 'done';
      }
    }
    this.finish();
    return 'done';
  }

  end(): void {
    this.finish();
  }

  finish(err?: AppError): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(err);
  }
}
