/**
 * One device's socket: its messages, its subscriptions (cursors), its token's lifetime, its send
 * buffer. Messages are handled one at a time in arrival order, so `subscribe` then `unsubscribe`
 * of one budget, or a `push` then a `subscribe`, mean what they say.
 *
 * Limits (docs/protocol.md, "The socket"): more than WS_MAX_MESSAGES_PER_SECOND averaged over 5 s → 4429;
 * more than WS_MAX_SUBSCRIPTIONS_PER_SOCKET budgets → `error TOO_MANY_SUBSCRIPTIONS`, no close;
 * a flood of bad messages (a bucket of 20, refilled 1/s) → 4000; the token's expiry without a fresh
 * `auth` → 4401; a send buffer past WS_HARD_LIMIT_BYTES, or above WS_HIGH_WATER_BYTES for
 * WS_SLOW_TIMEOUT_MS → 4503. An `error` message precedes each close.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { Principal, TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config/schema.js';
import { CLOSE_CODES, type MessageRef, PROTOCOL_VERSION, type RevokeReason, type ServerMessage } from '@budget-sync/protocol';
import { toAppError } from '../sync/to-app-error.js';
import { AppError, logLevel, refusalFields } from '../errors/app-error.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { AccessBatcher } from '../sync/access-batch.js';
import type { Processor } from '../sync/processor.js';
import type { Hub, MembershipTarget } from './hub.js';
import { type CheckedMessage, errorMessage, parseFrame, withId } from './messages.js';
import { Bucket } from './bucket.js';
import { type EventsMessage, SocketSubscription, type SubscriptionSocket } from './subscription.js';

/** After a close frame, a peer that does not answer within this is cut (its buffer freed). */
const CLOSE_GRACE_MS = 5000;
/** Bad messages tolerated in a burst before 4000, and how fast that allowance comes back. */
const INVALID_BURST = 20;
const INVALID_REFILL_PER_SECOND = 1;
/** setTimeout's ceiling (~24.8 days); longer tokens are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ConnectionDeps {
  config: Config;
  hub: Hub;
  processor: Processor;
  /** The instance's one batcher of subscribe access checks (no query per socket in a reconnect storm). */
  access: AccessBatcher;
  verifier: TokenVerifier;
  metrics: Metrics;
  log: Logger;
  /** The socket's buffer passed high water: poll it until it drains. */
  onBlocked(conn: Connection): void;
  onClosed(conn: Connection): void;
}

export class Connection implements SubscriptionSocket, MembershipTarget {
  readonly id = randomUUID();
  /** Cleared at each ping, set by each pong; a peer still false at the next ping is cut. */
  alive = true;
  /** Largest send buffer seen (bytes): memory per slow client stays bounded (tests, metrics). */
  peakBuffered = 0;
  private readonly subs = new Map<string, SocketSubscription>();
  private queue: Promise<void> = Promise.resolve();
  private readonly rate: Bucket;
  private readonly invalid = new Bucket(INVALID_BURST, INVALID_REFILL_PER_SECOND);
  private blockedSince: number | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private cutoff: NodeJS.Timeout | undefined;
  private closing = false;
  private disposed = false;

  constructor(
    readonly socket: WebSocket,
    private principal: Principal,
    private readonly deps: ConnectionDeps,
  ) {
    const perSecond = deps.config.WS_MAX_MESSAGES_PER_SECOND;
    this.rate = new Bucket(perSecond * 5, perSecond);
  }

  get userId(): string {
    return this.principal.uid;
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  open(): void {
    const { socket, deps } = this;
    socket.on('message', (data: RawData, isBinary: boolean) => this.received(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', () => this.dispose());
    deps.hub.addUser(this);
    this.armExpiry();
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      connectionId: this.id,
      userId: this.userId,
      heartbeatMs: deps.config.WS_HEARTBEAT_MS,
    });
  }

  // ---- sending --------------------------------------------------------------------------------

  send(msg: ServerMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(msg));
    this.checkBuffer();
  }

  canSend(): boolean {
    return !this.closing && this.blockedSince === undefined && this.socket.readyState === this.socket.OPEN;
  }

  /** The same bytes go to every socket at the same cursor (built once per budget and wake-up). */
  sendEvents(message: EventsMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(message.data);
    this.deps.metrics.eventsDelivered.inc(message.count);
    this.deps.metrics.deliveryLag.observe(Math.max(0, Date.now() - message.oldestServerTime) / 1000);
    this.checkBuffer();
  }

  private checkBuffer(): void {
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
    if (buffered > this.deps.config.WS_HARD_LIMIT_BYTES) {
      this.slow('the send buffer passed its hard limit');
    } else if (buffered > this.deps.config.WS_HIGH_WATER_BYTES && this.blockedSince === undefined) {
      this.blockedSince = Date.now();
      this.deps.onBlocked(this);
    }
  }

  /**
   * Polled while blocked. Sending resumes (from the log, at each cursor) once the buffer is below
   * half the high-water mark, so a socket does not flap around the mark one message at a time.
   * Returns true while it is still blocked.
   */
  pollDrain(now: number): boolean {
    if (this.blockedSince === undefined || this.closing) return false;
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.deps.config.WS_HARD_LIMIT_BYTES || now - this.blockedSince > this.deps.config.WS_SLOW_TIMEOUT_MS) {
      this.slow('the client read too slowly');
      return false;
    }
    if (buffered > this.deps.config.WS_HIGH_WATER_BYTES / 2) return true;
    this.blockedSince = undefined;
    for (const sub of this.subs.values()) this.deps.hub.wake(sub.budgetId);
    return false;
  }

  private slow(why: string): void {
    this.close(CLOSE_CODES.SLOW_CONSUMER, new AppError('SLOW_CONSUMER', `${why}; reconnect and subscribe from your last sequence`));
  }

  // ---- subscriptions and membership (called by the hub) ---------------------------------------

  revoked(sub: SocketSubscription, reason: RevokeReason): void {
    if (this.subs.get(sub.budgetId) === sub) {
      this.subs.delete(sub.budgetId);
      this.deps.metrics.subscriptions.dec();
    }
    this.send({ type: 'revoked', budgetId: sub.budgetId, reason });
  }

  membership(budgetId: string, change: 'added' | 'removed'): void {
    this.send({ type: 'membership', budgetId, change });
  }

  reportGap(budgetId: string, cursor: number, next: number): void {
    this.deps.log.error({ budgetId, cursor, next, connectionId: this.id }, 'stream gap: the log skipped a sequence');
  }

  // ---- client messages ------------------------------------------------------------------------

  private received(data: RawData, isBinary: boolean): void {
    // A throw here would escape the 'message' listener and end the process (one frame must never
    // take down every socket of the instance); treat it as an internal error of this message.
    try {
      this.receive(data, isBinary);
    } catch (err) {
      this.deps.log.error({ err, connectionId: this.id }, 'socket message failed');
      this.send(errorMessage(toAppError(err)));
    }
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!this.rate.take()) {
      this.close(
        CLOSE_CODES.TOO_MANY,
        new AppError('RATE_LIMITED', `more than ${this.deps.config.WS_MAX_MESSAGES_PER_SECOND} messages per second`),
      );
      return;
    }
    const parsed = parseFrame(data, isBinary);
    if (!parsed.ok) {
      this.send(errorMessage(parsed.error, parsed.ref));
      if (!this.invalid.take()) this.close(CLOSE_CODES.PROTOCOL_VIOLATION, new AppError('INVALID_MESSAGE', 'too many invalid messages'));
      return;
    }
    const message = parsed.message;
    this.queue = this.queue.then(() => this.handle(message));
  }

  private async handle(m: CheckedMessage): Promise<void> {
    if (this.closing) return;
    try {
      switch (m.type) {
        case 'subscribe':
          return await this.subscribe(m.budgetId.toLowerCase(), m.after, m.id);
        case 'unsubscribe': {
          const budgetId = m.budgetId.toLowerCase();
          this.drop(budgetId);
          return this.send(withId({ type: 'unsubscribed', budgetId }, m.id));
        }
        case 'push':
          return await this.push(m.id, m.events, m.mode);
        case 'auth':
          return await this.auth(m.token, m.id);
        case 'ping':
          return this.send(withId({ type: 'pong' }, m.id));
      }
    } catch (err) {
      const e = toAppError(err);
      const level = logLevel(e);
      if (level === 'error') this.deps.log.error({ err, type: m.type, connectionId: this.id }, 'socket message failed');
      else if (level === 'warn') this.deps.log.warn({ ...refusalFields(e), type: m.type, connectionId: this.id }, 'socket message refused');
      this.send(errorMessage(e, m.id));
      if (e.code === 'VALIDATION_FAILED' && !this.invalid.take())
        this.close(CLOSE_CODES.PROTOCOL_VIOLATION, new AppError('INVALID_MESSAGE', 'too many invalid messages'));
    }
  }

  /**
   * `after` beyond the budget's last sequence means the client's state did not come from this
   * server's log (a restored database, another deployment): nothing it holds can be trusted, so it
   * gets `resync SNAPSHOT_REQUIRED` (load the snapshot, subscribe from its lastSequence) and no
   * subscription. A subscribe for a budget already subscribed replaces that subscription.
   */
  private async subscribe(budgetId: string, after: number, id: MessageRef | undefined): Promise<void> {
    // Messages are handled one at a time, so the count cannot change between this check and the add.
    const cap = this.deps.config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET;
    if (!this.subs.has(budgetId) && this.subs.size >= cap) {
      throw new AppError('TOO_MANY_SUBSCRIPTIONS', `this socket already follows ${cap} budgets; unsubscribe one first`);
    }
    const { budget } = await this.deps.access.check(budgetId, this.userId);
    if (this.closing) return;
    this.drop(budgetId);
    if (after > budget.last_sequence) {
      this.send(withId({ type: 'resync', budgetId, code: 'SNAPSHOT_REQUIRED' as const }, id));
      return;
    }
    this.send(withId({ type: 'subscribed', budgetId, lastSequence: budget.last_sequence }, id));
    const sub = new SocketSubscription(this, budgetId, after);
    this.subs.set(budgetId, sub);
    this.deps.metrics.subscriptions.inc();
    this.deps.hub.add(sub);
    this.deps.hub.wake(budgetId, budget.last_sequence);
  }

  private drop(budgetId: string): void {
    const sub = this.subs.get(budgetId);
    if (!sub) return;
    sub.close();
    this.subs.delete(budgetId);
    this.deps.hub.remove(sub);
    this.deps.metrics.subscriptions.dec();
  }

  /** Exactly POST /events: the same write path, the same refusals, the same results. */
  private async push(id: MessageRef, events: unknown[], mode: 'stopOnError' | 'independent' | undefined): Promise<void> {
    const results = await this.deps.processor.push(events, this.userId, mode ?? 'stopOnError');
    this.send({ type: 'pushResult', id, events: results });
  }

  /** A fresh token for the same user moves the expiry; another user's token ends the socket. */
  private async auth(token: string, id: MessageRef | undefined): Promise<void> {
    const next = await this.deps.verifier.verify(token);
    if (next.uid !== this.userId) {
      this.close(CLOSE_CODES.TOKEN_EXPIRED, new AppError('UNAUTHENTICATED', 'the token is for another user'), id);
      return;
    }
    this.principal = next;
    this.armExpiry();
    this.send(withId({ type: 'authOk', expiresAt: next.expiresAt }, id));
  }

  private armExpiry(): void {
    if (this.expiry) clearTimeout(this.expiry);
    const ms = this.principal.expiresAt - Date.now();
    this.expiry = setTimeout(
      () => {
        if (Date.now() < this.principal.expiresAt) return this.armExpiry();
        this.close(
          CLOSE_CODES.TOKEN_EXPIRED,
          new AppError('TOKEN_EXPIRED', 'the token expired; reconnect with a fresh one (or send `auth` before expiry)'),
        );
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    this.expiry.unref();
  }

  // ---- closing --------------------------------------------------------------------------------

  /** Sends `error` (when given) and closes with `code`; a peer that does not answer is cut after 5 s. */
  close(code: number, err?: AppError, ref?: MessageRef): void {
    if (this.closing) return;
    this.closing = true;
    if (err) this.send(errorMessage(err, ref));
    this.deps.metrics.socketCloses.inc({ code });
    this.stopSending();
    try {
      this.socket.close(code, (err?.code ?? '').slice(0, 120));
    } catch {
      this.socket.terminate();
    }
    this.cutoff = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.cutoff.unref();
  }

  /** Cuts a peer that missed a heartbeat. */
  terminate(): void {
    this.closing = true;
    this.socket.terminate();
  }

  private stopSending(): void {
    for (const budgetId of [...this.subs.keys()]) this.drop(budgetId);
    if (this.expiry) clearTimeout(this.expiry);
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closing = true;
    this.stopSending();
    if (this.cutoff) clearTimeout(this.cutoff);
    this.deps.hub.removeUser(this);
    this.deps.onClosed(this);
  }
}
