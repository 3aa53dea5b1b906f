/**
 * The socket, `GET /sync` (docs/protocol.md "The socket"): JSON text frames, one message each, every
 * message with a `type`. Both directions are discriminated unions on `type`, so a `switch` over
 * `msg.type` narrows each message to its fields.
 */
import type { ErrorDetail, ErrorCode } from './errors.js';
import type { PushEvent, PushMode, PushResult, StreamEvent } from './events.js';

/** The `protocol` of `hello`; it changes only with an incompatible wire change. */
export const PROTOCOL_VERSION = 1;

/**
 * The WebSocket subprotocol. Browsers cannot set headers on a WebSocket, so they authenticate with
 * the subprotocol list `[SOCKET_PROTOCOL, 'bearer.<token>']`; the server selects this entry, never
 * the bearer one (which would echo the token).
 */
export const SOCKET_PROTOCOL = 'budget-sync.v1';
/** Prefix of the subprotocol entry that carries the token. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** Close codes the server uses; an `error` message precedes a close where possible. */
export const CLOSE_CODES = {
  /** The instance is shutting down: reconnect (to another) at once. */
  DRAINING: 1001,
  /** A text frame that is not valid UTF-8 (the WebSocket standard's code). */
  INVALID_UTF8: 1007,
  /** A frame larger than the server accepts. */
  TOO_BIG: 1009,
  /** Protocol violation (e.g. a flood of invalid messages). */
  PROTOCOL_VIOLATION: 4000,
  /** The token expired or was revoked: reconnect with a fresh one. */
  TOKEN_EXPIRED: 4401,
  /** Too many sockets (per user or instance) or messages per second. */
  TOO_MANY: 4429,
  /** The client read too slowly: reconnect and resume from its cursors. */
  SLOW_CONSUMER: 4503,
} as const;
export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** The client's reference of a message, echoed as `id` in answers and `ref` in errors. */
export type MessageRef = string | number;

// ---- client → server ------------------------------------------------------------------------

/** Answered `subscribed`, then `events` from `after + 1` on, live from then on (or `error` / `resync`). */
export interface SubscribeMessage {
  type: 'subscribe';
  budgetId: string;
  /** The last sequence already held (0: none). */
  after: number;
  id?: MessageRef;
}
export interface UnsubscribeMessage {
  type: 'unsubscribe';
  budgetId: string;
  id?: MessageRef;
}
/** Answered `pushResult` with the same results `POST /events` gives. */
export interface PushMessage {
  type: 'push';
  id: MessageRef;
  events: PushEvent[];
  mode?: PushMode;
}
/** A fresh token for a long-lived socket; answered `authOk`. */
export interface AuthMessage {
  type: 'auth';
  token: string;
  id?: MessageRef;
}
export interface PingMessage {
  type: 'ping';
  id?: MessageRef;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | PushMessage | AuthMessage | PingMessage;

// ---- server → client ------------------------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  protocol: typeof PROTOCOL_VERSION;
  connectionId: string;
  userId: string;
  /** The server pings this often; the client's own `ping` keeps the same pace. */
  heartbeatMs: number;
}
export interface SubscribedMessage {
  type: 'subscribed';
  budgetId: string;
  /** The budget's last sequence at the moment of subscribing: caught up once applied. */
  lastSequence: number;
  id?: MessageRef;
}
export interface UnsubscribedMessage {
  type: 'unsubscribed';
  budgetId: string;
  id?: MessageRef;
}
export interface EventsMessage {
  type: 'events';
  budgetId: string;
  events: StreamEvent[];
}
export interface PushResultMessage {
  type: 'pushResult';
  id: MessageRef;
  events: PushResult[];
}
export interface AuthOkMessage {
  type: 'authOk';
  /** Epoch ms when the new token expires. */
  expiresAt: number;
  id?: MessageRef;
}
export interface PongMessage {
  type: 'pong';
  id?: MessageRef;
}
/** Why a subscription ended from the stream. */
export type RevokeReason = 'left' | 'removed' | 'deleted';
export interface RevokedMessage {
  type: 'revoked';
  budgetId: string;
  reason: RevokeReason;
}
/** Sent to every socket of a user whose set of budgets changed, on every instance. */
export interface MembershipMessage {
  type: 'membership';
  budgetId: string;
  change: 'added' | 'removed';
}
/** The `after` of a subscribe is unusable: load a snapshot and subscribe from its `lastSequence`. */
export interface ResyncMessage {
  type: 'resync';
  budgetId: string;
  code: 'SNAPSHOT_REQUIRED';
  id?: MessageRef;
}
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** The `id` of the client message this answers. */
  ref?: MessageRef;
  details?: ErrorDetail[];
}

export type ServerMessage =
  | HelloMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | EventsMessage
  | PushResultMessage
  | AuthOkMessage
  | PongMessage
  | RevokedMessage
  | MembershipMessage
  | ResyncMessage
  | ErrorMessage;
