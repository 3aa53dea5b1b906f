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
import type { StreamEvent } from '@budget-sync/protocol';
import type { RevokeReason } from '@budget-sync/protocol';

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

/**
 * One `events` message, serialized once and sent as the same string to every socket that needs it.
 * A string, not a Buffer: a Buffer per message lives outside the V8 heap, and tens of thousands of
 * short-lived ones (a reconnect storm, 10k sockets subscribing) held RSS several KiB per socket
 * higher until a major GC; `ws` encodes the string straight into the socket write.
 */
export interface EventsMessage {
  readonly data: string;
  readonly count: number;
  /** serverTime of its first (oldest) event. */
  readonly oldestServerTime: number;
  /** sequence of its last event: the cursor after it. */
  readonly lastSequence: number;
}

/** The socket side a subscription needs (implemented by Connection). */
export interface SubscriptionSocket {
  readonly userId: string;
  /** True while the socket is open and below its high-water mark. */
  canSend(): boolean;
  /** Sends one pre-built `events` message. */
  sendEvents(message: EventsMessage): void;
  /** The subscription ended by the stream: send `revoked` and forget it. */
  revoked(sub: SocketSubscription, reason: RevokeReason): void;
  reportGap(budgetId: string, cursor: number, next: number): void;
}

/** At most this many events or bytes per `events` message, so one send never overshoots high water by much. */
const MAX_EVENTS_PER_MESSAGE = 100;
const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * The `events` messages of one page read from the log, built on demand and shared. Every socket
 * whose cursor is at the same place gets the same chunk (chunk bounds depend only on where it
 * starts, except where a `participant.remove` of the socket's own user ends it), so a wake-up
 * serializes each message once per budget, not once per socket.
 */
class PageMessages {
  private readonly built = new Map<number, EventsMessage>();
  /** Indexes of `participant.remove` events: they end the chunk of one user only (rare). */
  private readonly removals: number[] = [];

  constructor(private readonly page: StreamEvent[]) {
    for (let i = 0; i < page.length; i++) if ((page[i] as StreamEvent).eventType === 'participant.remove') this.removals.push(i);
  }

  /** The message that starts at `start` for `userId`, and the revocation its last event carries. */
  at(start: number, userId: string): { message: EventsMessage; reason: RevokeReason | undefined } {
    const page = this.page;
    let end = start;
    let bytes = 0;
    let reason: RevokeReason | undefined;
    for (; ; end++) {
      const e = page[end] as StreamEvent;
      bytes += eventJson(e).length;
      if (e.eventType === 'budget.delete') reason = 'deleted';
      if (reason || end - start + 1 >= MAX_EVENTS_PER_MESSAGE || bytes >= MAX_MESSAGE_BYTES || end === page.length - 1) break;
    }
    for (const r of this.removals) {
      if (r < start) continue;
      if (r > end) break;
      const own = revokeReason(page[r] as StreamEvent, userId);
      if (own) {
        end = r;
        reason = own;
        break;
      }
    }
    const key = start * 65536 + end;
    let message = this.built.get(key);
    if (!message) {
      const first = page[start] as StreamEvent;
      const jsons: string[] = [];
      for (let i = start; i <= end; i++) jsons.push(eventJson(page[i] as StreamEvent));
      message = {
        data: `{"type":"events","budgetId":${JSON.stringify(first.budgetId)},"events":[${jsons.join(',')}]}`,
        count: end - start + 1,
        oldestServerTime: first.serverTime,
        lastSequence: (page[end] as StreamEvent).sequence,
      };
      this.built.set(key, message);
    }
    return { message, reason };
  }
}

const pages = new WeakMap<StreamEvent[], PageMessages>();
function messagesOf(page: StreamEvent[]): PageMessages {
  let m = pages.get(page);
  if (!m) {
    m = new PageMessages(page);
    pages.set(page, m);
  }
  return m;
}

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
    const messages = messagesOf(page);
    while (i < page.length) {
      const { message, reason } = messages.at(i, this.userId);
      this.socket.sendEvents(message);
      this.cursor = message.lastSequence;
      i += message.count;
      if (reason) {
        this.closed = true;
        this.socket.revoked(this, reason);
        return 'done';
      }
      if (!this.socket.canSend()) return 'keep';
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
        this.finish(
          reason === 'deleted'
            ? new AppError('BUDGET_NOT_FOUND', 'the budget was deleted')
            : new AppError('NOT_PARTICIPANT', 'not a participant of this budget'),
        );
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
