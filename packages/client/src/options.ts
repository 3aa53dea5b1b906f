/**
 * What an app passes to `SyncClient` and what the client tells it back (its events).
 */
import type { BackoffOptions } from './backoff.js';
import type { FetchLike } from './http.js';
import type { ConflictReport, RejectedReport } from './outbox.js';
import type { LocalStore } from './store.js';
import type { GetToken } from './token.js';
import type { OpenSocket, WebSocketConstructorLike } from './transport-socket.js';
import type { TransportName } from './transport.js';
import type { DropReason, PushMode, QueuedEvent } from './types.js';

export interface SyncClientOptions {
  /** `https://api.example.com` (the socket URL is derived: `wss://api.example.com/sync`). */
  baseUrl: string;
  /** The app's ID token; `forceRefresh` after the server refused the last one. */
  getToken: GetToken;
  /** Default: a new MemoryStore. */
  store?: LocalStore;
  /** Default: `socket`. */
  transport?: TransportName;
  /** The user's id; default: the token's `sub` claim, else `GET /user`. */
  userId?: string;
  /**
   * A browser-style WebSocket constructor; the token goes in the subprotocol list. Default: the
   * global `WebSocket` (browsers, React Native); the package's Node entry uses `ws` instead.
   */
  WebSocket?: WebSocketConstructorLike;
  /** Opens the socket yourself (e.g. to send the token as a header); wins over `WebSocket`. */
  openSocket?: OpenSocket;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /**
   * An HTTP request (or a socket push) with no answer this long is given up and retried, as after
   * a lost connection (default 30 s; a long-poll adds its wait).
   */
  requestTimeoutMs?: number;
  /** Default `stopOnError`. */
  pushMode?: PushMode;
  /** Events per push, 1..25 (default 25). */
  batchSize?: number;
  backoff?: BackoffOptions;
  /** Long-poll: seconds the server may hold a poll (default 20). */
  longPollWaitSeconds?: number;
  /** Long-poll: how often to re-read the user's budgets (default 30 s). */
  membershipPollMs?: number;
  /** Refresh the token this long before it expires (default 60 s). */
  tokenRefreshMarginMs?: number;
  /** The device clock for `when` (default `Date.now`). */
  now?: () => number;
}

/** What the client tells the app. */
export interface SyncClientEvents {
  /** The server is reachable (socket: `hello` received; long-poll: a request was answered). */
  connected: { transport: TransportName };
  disconnected: { transport: TransportName; reason: string; code?: number };
  /** Every followed budget has applied the stream up to what the server had. */
  caughtUp: { cursors: Record<string, number> };
  /** The local layer of a budget changed (an edit, a stream event, a result, a snapshot). */
  change: { budgetId: string };
  /** The server confirmed one of this device's events. */
  confirmed: { event: QueuedEvent; status: 'accepted' | 'duplicate'; sequence: number };
  /** An event was dropped: the record changed on the server; `record` now shows locally. */
  conflict: ConflictReport;
  /** An event was dropped: the server refused it (`error.code`). */
  rejected: RejectedReport;
  /** A budget's local data was dropped; `discarded` = its events that never reached the server. */
  revoked: { budgetId: string; reason: DropReason; discarded: QueuedEvent[] };
  /** The user's set of budgets changed (a budget was loaded, or dropped). */
  membership: { budgetId: string; change: 'added' | 'removed' };
  /** Something failed that the client will retry or that the app may want to log. */
  error: { error: unknown; context: string };
}

export interface FlushOptions {
  /** Default 30 s. */
  timeoutMs?: number;
}

/** How the parts of a client report to the app (the client's `emit`). */
export type Emit = <K extends keyof SyncClientEvents>(type: K, payload: SyncClientEvents[K]) => void;
