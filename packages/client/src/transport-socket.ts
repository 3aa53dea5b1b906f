/**
 * The socket transport: one WebSocket to `GET /sync` (docs/protocol.md "The socket").
 *
 * - Auth: a browser-style WebSocket (the browser's or React Native's global, or `options.WebSocket`)
 *   sends the subprotocols `['budget-sync.v1', 'bearer.<token>']`; the package's Node entry opens
 *   its sockets with the `ws` package and `Authorization: Bearer` instead (`openSocket`).
 * - After `hello`: every followed budget is subscribed from its cursor, the heartbeat starts, the
 *   token refresh is scheduled, and the user's budgets are re-read (membership changes while away),
 *   again and again with backoff until that read succeeds.
 * - Reconnect: exponential backoff with full jitter, capped, reset by each `hello`. Close 1001
 *   (draining) and 4503 (slow consumer) reconnect at the first step; 4401 (token expired) first asks
 *   the app for a fresh token. A connection that fails before `hello` also refreshes the token once
 *   (a refused upgrade — 401 — looks like any other failure in a browser).
 * - Token: `auth {token}` shortly before it expires, the next one timed by `authOk.expiresAt`.
 * - Liveness: the server pings with WebSocket ping frames, which browsers answer without showing
 *   them, so this side sends its own `ping` every `heartbeatMs`; nothing heard for two intervals
 *   means the connection is dead: drop it and reconnect.
 * - `resync` → the client loads a snapshot and follows again; `revoked` → the client drops the
 *   budget; `membership` → the client loads or drops the budget; `error` with the `ref` of a
 *   subscribe for NOT_PARTICIPANT / BUDGET_NOT_FOUND → dropped as well.
 */
import {
  BEARER_PROTOCOL_PREFIX,
  CLOSE_CODES,
  type ClientMessage,
  type ErrorMessage,
  type HelloMessage,
  SOCKET_PROTOCOL,
  type ServerMessage,
} from '@budget-sync/protocol';
import { Backoff, type BackoffOptions } from './backoff.js';
import { AbortedError, NetworkError, REQUEST_TIMEOUT_MS, TimeoutError } from './http.js';
import { type TokenSource, expiresAt } from './token.js';
import { NotConnectedError, SocketError, type Transport, type TransportSink } from './transport.js';
import type { OutboundEvent, PushMode, PushResult } from './types.js';

/** The part of the WebSocket API used here; the browser's, React Native's and `ws`'s all have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // biome-ignore lint/suspicious/noExplicitAny: each implementation declares its own event classes
  onopen: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: each implementation declares its own event classes
  onmessage: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: each implementation declares its own event classes
  onclose: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: each implementation declares its own event classes
  onerror: ((event: any) => void) | null;
}

/** A browser-style constructor: `new WebSocket(url, protocols)`. */
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Opens the socket to `url` with `token` (how the token travels is the opener's choice). */
export type OpenSocket = (url: string, token: string) => WebSocketLike | Promise<WebSocketLike>;

/** Browser-style auth: the token rides in the subprotocol list, since browsers cannot set headers. */
export function subprotocolAuth(WebSocket: WebSocketConstructorLike): OpenSocket {
  return (url, token) => new WebSocket(url, [SOCKET_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}${token}`]);
}

/** The platform's own WebSocket (browsers, React Native, Node 22+), with subprotocol auth. */
export const globalSocket: OpenSocket = (url, token) => {
  const Ctor = (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  if (!Ctor) throw new TypeError('no global WebSocket here: pass `WebSocket` or `openSocket`, or use the long-poll transport');
  return subprotocolAuth(Ctor)(url, token);
};

export interface SocketTransportOptions {
  /** `ws(s)://host/sync`. */
  url: string;
  tokens: TokenSource;
  sink: TransportSink;
  /** Opens a socket with a token. */
  open: OpenSocket;
  backoff?: BackoffOptions;
  /** A push without `pushResult` for this long is treated as lost (and sent again). */
  pushTimeoutMs?: number;
}

const OPEN = 1;
type PendingPush = { resolve: (r: PushResult[]) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export class SocketTransport implements Transport {
  readonly name = 'socket' as const;
  private ws: WebSocketLike | undefined;
  private running = false;
  private hello = false;
  private readonly follows = new Set<string>();
  private readonly pushes = new Map<string, PendingPush>();
  private nextId = 1;
  private readonly backoff: Backoff;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private discoverTimer: ReturnType<typeof setTimeout> | undefined;
  private lastHeard = 0;
  private failedBeforeHello = 0;
  private refreshOnConnect = false;
  /** The token the current connection was opened or last re-authenticated with. */
  private token: string | undefined;

  constructor(private readonly options: SocketTransportOptions) {
    this.backoff = new Backoff(options.backoff);
  }

  get connected(): boolean {
    return this.hello;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const b of this.options.sink.followed()) this.follows.add(b);
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (ws) this.closed(ws, 1000, 'client stopped');
  }

  follow(budgetId: string): void {
    this.follows.add(budgetId);
    if (this.hello) this.subscribe(budgetId);
  }

  unfollow(budgetId: string): void {
    if (!this.follows.delete(budgetId)) return;
    if (this.hello) this.send({ type: 'unsubscribe', budgetId });
  }

  push(events: OutboundEvent[], mode: PushMode): Promise<PushResult[]> {
    if (!this.hello || !this.ws) return Promise.reject(new NotConnectedError());
    const id = `push:${this.nextId++}`;
    return new Promise<PushResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pushes.delete(id);
        reject(new TimeoutError(`push: no pushResult within ${this.options.pushTimeoutMs ?? REQUEST_TIMEOUT_MS} ms`));
      }, this.options.pushTimeoutMs ?? REQUEST_TIMEOUT_MS);
      this.pushes.set(id, { resolve, reject, timer });
      this.send({ type: 'push', id, events, mode });
    });
  }

  // ---- connecting ---------------------------------------------------------------------------

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    let ws: WebSocketLike;
    try {
      const token = this.refreshOnConnect ? await this.options.tokens.refresh() : await this.options.tokens.get();
      this.refreshOnConnect = false;
      if (!this.running) return;
      ws = await this.open(token);
      this.token = token;
    } catch (err) {
      this.options.sink.onError(err, 'socket connect');
      return this.reconnect(this.backoff.next());
    }
    if (!this.running) return discard(ws);
    this.ws = ws;
    this.hello = false;
    this.lastHeard = Date.now();
    ws.onmessage = (ev: { data: unknown }) => this.received(ws, ev.data);
    ws.onclose = (ev: { code?: number; reason?: string }) => this.closed(ws, ev.code ?? 1006, ev.reason ?? '');
    ws.onerror = () => {}; // a close event follows
  }

  private async open(token: string): Promise<WebSocketLike> {
    return this.options.open(this.options.url, token);
  }

  private reconnect(delayMs: number): void {
    if (!this.running || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => void this.connect(), delayMs);
  }

  /** The socket ended (closed by either side, or dropped here as dead). */
  private closed(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    ws.onmessage = ws.onclose = null;
    // Not null: `ws` emits 'error' when a socket still connecting is closed, and an 'error' nobody
    // listens to ends the Node process.
    ws.onerror = () => {};
    if (ws.readyState <= OPEN) {
      try {
        // A dead peer never answers a close handshake: `ws` can cut the TCP connection at once.
        const terminate = (ws as { terminate?: () => void }).terminate;
        if (code !== 1000 && terminate) terminate.call(ws);
        else ws.close(code === 1000 ? 1000 : 4000, reason.slice(0, 100));
      } catch {
        /* already closing */
      }
    }
    this.ws = undefined;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.discoverTimer);
    const error = this.running ? new NetworkError(`socket closed (${code})`) : new AbortedError();
    for (const p of this.pushes.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pushes.clear();
    const wasOpen = this.hello;
    this.hello = false;
    if (wasOpen) this.options.sink.onDisconnected({ reason: reason || `closed with ${code}`, code });
    if (!this.running) return;
    if (!wasOpen && ++this.failedBeforeHello === 1) this.refreshOnConnect = true;
    if (code === CLOSE_CODES.TOKEN_EXPIRED) {
      this.refreshOnConnect = true;
      return this.reconnect(0);
    }
    if (code === CLOSE_CODES.DRAINING || code === CLOSE_CODES.SLOW_CONSUMER) this.backoff.reset();
    this.reconnect(this.backoff.next());
  }

  // ---- messages -----------------------------------------------------------------------------

  private send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN) ws.send(JSON.stringify(msg));
  }

  private subscribe(budgetId: string): void {
    const after = this.options.sink.cursor(budgetId);
    if (after === undefined) return; // not loaded yet: the client follows again after the snapshot
    this.send({ type: 'subscribe', budgetId, after, id: `sub:${budgetId}` });
  }

  private received(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    let msg: ServerMessage;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data)) as ServerMessage;
    } catch (err) {
      return this.options.sink.onError(err, 'socket message');
    }
    const sink = this.options.sink;
    switch (msg.type) {
      case 'hello':
        return this.onHello(ws, msg);
      case 'subscribed':
        return sink.onLive(msg.budgetId, msg.lastSequence);
      case 'events':
        sink.onEvents(msg.budgetId, msg.events).catch((err: unknown) => sink.onError(err, 'apply events'));
        return;
      case 'pushResult': {
        const id = String(msg.id);
        const p = this.pushes.get(id);
        if (!p) return;
        this.pushes.delete(id);
        clearTimeout(p.timer);
        return p.resolve(msg.events);
      }
      case 'authOk':
        return this.scheduleRefresh(msg.expiresAt);
      case 'revoked':
        this.follows.delete(msg.budgetId);
        return sink.onRevoked(msg.budgetId, msg.reason);
      case 'membership':
        if (msg.change === 'removed') this.follows.delete(msg.budgetId);
        return sink.onMembership(msg.budgetId, msg.change);
      case 'resync':
        sink.onResync(msg.budgetId).catch((err: unknown) => sink.onError(err, 'resync'));
        return;
      case 'error':
        return this.onServerError(msg);
      default:
        return; // pong, unsubscribed, and anything newer than this client
    }
  }

  private onHello(ws: WebSocketLike, hello: HelloMessage): void {
    this.hello = true;
    this.failedBeforeHello = 0;
    this.backoff.reset();
    this.options.sink.onConnected();
    for (const b of this.follows) this.subscribe(b);
    const every = Math.max(1000, hello.heartbeatMs || 25_000);
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > 2 * every) return this.closed(ws, 4000, 'heartbeat missed');
      this.send({ type: 'ping' });
    }, every);
    const exp = this.token === undefined ? undefined : expiresAt(this.token);
    if (exp !== undefined) this.scheduleRefresh(exp);
    this.discover(ws, new Backoff(this.options.backoff));
  }

  /**
   * Re-reads the user's budgets after `hello`: a membership notice sent while this device was away
   * (or its instance was down) is lost, so this is how the device learns of it. Retried until it
   * succeeds or the connection ends — a failure here (e.g. the database is briefly unavailable)
   * would otherwise leave a joined budget missing until the next reconnect.
   */
  private discover(ws: WebSocketLike, backoff: Backoff): void {
    this.options.sink.discover().catch((err: unknown) => {
      this.options.sink.onError(err, 'discover budgets');
      if (ws !== this.ws || !this.hello) return;
      clearTimeout(this.discoverTimer);
      this.discoverTimer = setTimeout(() => ws === this.ws && this.hello && this.discover(ws, backoff), backoff.next());
    });
  }

  /** Sends `auth` with a fresh token `marginMs` before `expiresAtMs`. */
  private scheduleRefresh(expiresAtMs: number): void {
    clearTimeout(this.refreshTimer);
    const delay = Math.max(1000, expiresAtMs - this.options.tokens.marginMs - Date.now());
    this.refreshTimer = setTimeout(() => void this.refreshAuth(), delay);
  }

  private async refreshAuth(): Promise<void> {
    try {
      const token = await this.options.tokens.refresh();
      if (!this.hello) return;
      this.token = token;
      this.send({ type: 'auth', token, id: `auth:${this.nextId++}` });
    } catch (err) {
      this.options.sink.onError(err, 'token refresh');
      this.refreshTimer = setTimeout(() => void this.refreshAuth(), 5000);
    }
  }

  private onServerError(e: ErrorMessage): void {
    const ref = typeof e.ref === 'string' ? e.ref : '';
    if (ref.startsWith('push:')) {
      const p = this.pushes.get(ref);
      if (p) {
        this.pushes.delete(ref);
        clearTimeout(p.timer);
        p.reject(new SocketError(e.code, e.message));
      }
      return;
    }
    if (ref.startsWith('sub:')) {
      const budgetId = ref.slice(4);
      if (e.code === 'NOT_PARTICIPANT' || e.code === 'BUDGET_NOT_FOUND') {
        this.follows.delete(budgetId);
        return this.options.sink.onRevoked(budgetId, e.code === 'NOT_PARTICIPANT' ? 'removed' : 'deleted');
      }
      // Server trouble (e.g. DATABASE_UNAVAILABLE): ask again a little later.
      setTimeout(() => this.follows.has(budgetId) && this.hello && this.subscribe(budgetId), 1000 + Math.random() * 2000);
    }
    if (ref.startsWith('auth:')) this.refreshOnConnect = true; // the next connection gets a new token
    this.options.sink.onError(new SocketError(e.code, e.message), 'socket');
  }
}

/** Closes a socket that is no longer wanted (it may still be connecting). */
function discard(ws: WebSocketLike): void {
  ws.onmessage = ws.onclose = null;
  ws.onerror = () => {}; // see `closed`
  try {
    ws.close(1000);
  } catch {
    /* already closing */
  }
}
