/**
 * What a transport does for the client, and what it tells the client back. Two implement it: the
 * socket (`GET /sync`, one WebSocket per device) and long-poll (`GET /events?wait=` per budget).
 * Both only move bytes: ordering, idempotency and state live in the inbox and outbox.
 */
import type { DropReason, OutboundEvent, PushMode, PushResult, StreamEvent } from './types.js';

export type TransportName = 'socket' | 'longpoll';

export interface Transport {
  readonly name: TransportName;
  /** True while the server is reachable (socket: after `hello`; long-poll: last request answered). */
  readonly connected: boolean;
  start(): void;
  /** Stops every loop, closes the socket, fails pushes in flight. */
  stop(): Promise<void>;
  /** Follows a budget's stream from its current cursor (again, after a snapshot reset it). */
  follow(budgetId: string): void;
  unfollow(budgetId: string): void;
  /**
   * One push; the results in submission order. Throws when no answer can come (not connected,
   * connection lost, timeout): the events are then sent again, under the same eventIds.
   */
  push(events: OutboundEvent[], mode: PushMode): Promise<PushResult[]>;
}

/** The client, as the transports see it. */
export interface TransportSink {
  /** The applied cursor of a budget; undefined when it is not loaded (nothing to follow). */
  cursor(budgetId: string): number | undefined;
  /** Budgets to follow (every budget with a cursor). */
  followed(): string[];
  /** Stream events of one budget, in any order; resolves once applied. */
  onEvents(budgetId: string, events: StreamEvent[]): Promise<void>;
  /** The server's last sequence of a budget at some moment; when the cursor reaches it, caught up. */
  onLive(budgetId: string, lastSequence: number): void;
  /** The cursor is unusable (410 / `resync`): load a snapshot, then follow again. */
  onResync(budgetId: string): Promise<void>;
  /** This user lost the budget. */
  onRevoked(budgetId: string, reason: DropReason): void;
  /** The user's set of budgets changed (socket `membership`). */
  onMembership(budgetId: string, change: 'added' | 'removed'): void;
  /** Re-reads the user's budgets (`GET /budgets`): loads new ones, drops lost ones. */
  discover(): Promise<void>;
  onConnected(): void;
  onDisconnected(info: { reason: string; code?: number }): void;
  onError(error: unknown, context: string): void;
}

/** A push was attempted while the transport cannot deliver it. */
export class NotConnectedError extends Error {
  constructor(message = 'not connected') {
    super(message);
    this.name = 'NotConnectedError';
  }
}

/** The server answered a socket message with `error`. */
export class SocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SocketError';
  }
}
