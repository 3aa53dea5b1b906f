/**
 * `SyncClient`: the reference client of the budget sync protocol — local store, outbox, inbox and a
 * transport (socket or long-poll), tied together.
 *
 *   const client = new SyncClient({ baseUrl, getToken, store, transport: 'socket' });
 *   client.on('conflict', ({ event, record }) => ...);
 *   await client.start();
 *   const budget = await client.createBudget({ title: 'Home' });
 *   const food = await client.categoryAdd(budget.budgetId, { name: 'Food', allocate: '300' });
 *   await client.flush();
 *
 * Edits are applied to the local layer at once (optimistic) and queued; they go out whenever the
 * server is reachable, and the stream later confirms them. Work runs under one lock — every change
 * of local state is one store transaction, one at a time — while network calls run outside it.
 */
import { Backoff, type BackoffOptions, sleep } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import { type FetchLike, HttpApi, HttpError, NetworkError } from './http.js';
import { Inbox } from './inbox.js';
import { type ConflictReport, type CreatedBudget, MAX_BATCH, Outbox, type RejectedReport, type Settlement } from './outbox.js';
import { type LocalStore, MemoryStore } from './store.js';
import { type GetToken, TokenSource } from './token.js';
import { LongPollTransport } from './transport-longpoll.js';
import { SocketTransport, type WebSocketConstructorLike } from './transport-socket.js';
import { NotConnectedError, type Transport, type TransportName, type TransportSink } from './transport.js';
import {
  type Budget,
  type BudgetCreateEvent,
  type Category,
  type DropReason,
  type Expense,
  type OutboundEvent,
  type OutboxEntry,
  type Participant,
  type PushMode,
  type QueuedEvent,
  type RecordKind,
  type StreamEvent,
} from './types.js';
import * as check from './values.js';
import { LocalView } from './view.js';

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
  /** A browser-style WebSocket constructor (browsers, React Native); default: the `ws` package. */
  WebSocket?: WebSocketConstructorLike;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
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

type EditFields<T> = { [K in keyof T]?: T[K] };

export class SyncClient extends TypedEmitter<SyncClientEvents> {
  readonly store: LocalStore;
  private readonly tokens: TokenSource;
  private readonly http: HttpApi;
  private readonly view: LocalView;
  private readonly outbox: Outbox;
  private readonly inbox: Inbox;
  private readonly transportName: TransportName;
  private transport: Transport | undefined;
  private uid: string | undefined;
  private running = false;
  private stopping = new AbortController();
  private lockTail: Promise<unknown> = Promise.resolve();
  private deliveryTail: Promise<unknown> = Promise.resolve();
  private readonly cursors = new Map<string, number>();
  private readonly targets = new Map<string, number>();
  private caughtUp = false;
  private readonly bootstraps = new Map<string, Promise<void>>();
  private pushing = false;
  private pushAgain = false;
  private readonly pushBackoff: Backoff;
  private retryWake = new AbortController();
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly options: SyncClientOptions) {
    super((error, type) => this.emit('error', { error, context: `listener of ${String(type)}` }));
    this.store = options.store ?? new MemoryStore();
    this.tokens = new TokenSource(options.getToken, options.tokenRefreshMarginMs ?? 60_000);
    this.http = new HttpApi(options.baseUrl, this.tokens, options.fetch);
    this.view = new LocalView(this.store, () => this.me());
    this.outbox = new Outbox(this.store, this.view);
    this.inbox = new Inbox(this.store, this.view, this.outbox, () => this.me());
    this.transportName = options.transport ?? 'socket';
    this.pushBackoff = new Backoff(options.backoff);
    this.now = options.now ?? Date.now;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Goes online: follows every stored budget from its cursor, discovers new ones, sends the outbox. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureUserId();
    this.running = true;
    this.stopping = new AbortController();
    this.cursors.clear();
    for (const id of await this.store.budgetIds()) {
      const cursor = await this.store.getCursor(id);
      if (cursor !== undefined) this.cursors.set(id, cursor);
    }
    this.transport = this.createTransport();
    this.transport.start();
    this.kickPush();
  }

  /** Goes offline: closes the transport, cancels requests in flight. Local state stays as it is. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.retryWake.abort();
    await this.transport?.stop();
    this.transport = undefined;
    this.targets.clear();
    this.caughtUp = false;
    this.notify();
    await this.lockTail.catch(() => {});
  }

  get connected(): boolean {
    return this.transport?.connected ?? false;
  }

  get userId(): string | undefined {
    return this.uid;
  }

  /**
   * Resolves when the outbox is empty (everything sent and confirmed by the stream) and every budget
   * applied the stream up to the server's last sequence as read here. Needs `start()`.
   */
  async flush(options: FlushOptions = {}): Promise<void> {
    if (!this.running) throw new Error('SyncClient.flush: call start() first');
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    this.kickPush();
    await this.waitUntil(async () => (await this.outbox.unsent()).length === 0, deadline, 'the outbox to be sent');
    await this.retryUntil(() => this.discover(), deadline);
    const targets = new Map<string, number>();
    for (const budgetId of [...this.cursors.keys()]) {
      const seq = await this.retryUntil(() => this.http.lastSequence(budgetId, this.stopping.signal).catch((err: unknown) => this.lostAccess(budgetId, err)), deadline);
      if (seq !== undefined) targets.set(budgetId, seq);
    }
    await this.waitUntil(async () => [...targets].every(([id, seq]) => (this.cursors.get(id) ?? Infinity) >= seq), deadline, 'the stream');
    await this.waitUntil(async () => (await this.store.outbox()).length === 0, deadline, 'the stream to confirm the outbox');
  }

  // ---- reading the local layer --------------------------------------------------------------

  async budgets(): Promise<Budget[]> {
    const out: Budget[] = [];
    for (const id of await this.store.budgetIds()) {
      const b = await this.store.get('local', 'budget', id, id);
      if (b) out.push(b);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  budget(budgetId: string): Promise<Budget | undefined> {
    return this.store.get('local', 'budget', budgetId, budgetId);
  }

  async categories(budgetId: string): Promise<Category[]> {
    return sortById(await this.store.list('local', 'category', budgetId));
  }

  async expenses(budgetId: string): Promise<Expense[]> {
    return sortById(await this.store.list('local', 'expense', budgetId));
  }

  async participants(budgetId: string): Promise<Participant[]> {
    return (await this.store.list('local', 'participant', budgetId)).sort((a, b) => a.userId.localeCompare(b.userId));
  }

  /** The outbox (entries with `acceptedSequence` are confirmed and wait for the stream). */
  pending(): Promise<OutboxEntry[]> {
    return this.store.outbox();
  }

  /** The applied cursor of a budget (undefined: not loaded). */
  cursor(budgetId: string): number | undefined {
    return this.cursors.get(budgetId);
  }

  // ---- edits: optimistic, queued ------------------------------------------------------------

  /** Creates a budget (offline too); it reaches the server through `POST /budget`. */
  async createBudget(input: { title: string; details?: string | null; id?: string }): Promise<BudgetCreateEvent> {
    const budgetId = input.id === undefined ? crypto.randomUUID() : check.uuid(input.id, 'id');
    const event: BudgetCreateEvent = { eventId: crypto.randomUUID(), eventType: 'budget.create', budgetId, recordId: budgetId, when: this.now(), title: check.text(input.title, 'title', 200) };
    if (input.details !== undefined) event.details = input.details === null ? null : check.text(input.details, 'details', 2000, 0);
    return this.enqueue(event);
  }

  async budgetEdit(budgetId: string, changes: EditFields<Pick<Budget, 'title' | 'details'>>): Promise<OutboundEvent> {
    const fields: Partial<OutboundEvent> = {};
    if (changes.title !== undefined) fields.title = check.text(changes.title, 'title', 200);
    if (changes.details !== undefined) fields.details = changes.details === null ? null : check.text(changes.details, 'details', 2000, 0);
    return this.edit('budget.edit', budgetId, budgetId, fields);
  }

  async budgetDelete(budgetId: string): Promise<OutboundEvent> {
    return this.edit('budget.delete', budgetId, budgetId, {});
  }

  async categoryAdd(budgetId: string, input: { name: string; allocate: string; id?: string }): Promise<OutboundEvent> {
    return this.add(budgetId, 'category.add', input.id, { name: check.text(input.name, 'name', 200), allocate: check.money(input.allocate, 'allocate') });
  }

  async categoryEdit(budgetId: string, categoryId: string, changes: EditFields<Pick<Category, 'name' | 'allocate'>>): Promise<OutboundEvent> {
    const fields: Partial<OutboundEvent> = {};
    if (changes.name !== undefined) fields.name = check.text(changes.name, 'name', 200);
    if (changes.allocate !== undefined) fields.allocate = check.money(changes.allocate, 'allocate');
    return this.edit('category.edit', budgetId, categoryId, fields);
  }

  async categoryDelete(budgetId: string, categoryId: string): Promise<OutboundEvent> {
    return this.edit('category.delete', budgetId, categoryId, {});
  }

  async expenseAdd(budgetId: string, input: { categoryId: string; date: string; amount: string; note?: string | null; id?: string }): Promise<OutboundEvent> {
    const fields: Partial<OutboundEvent> = {
      categoryId: check.uuid(input.categoryId, 'categoryId'),
      date: check.date(input.date, 'date'),
      amount: check.money(input.amount, 'amount'),
    };
    if (input.note !== undefined) fields.note = input.note === null ? null : check.text(input.note, 'note', 1000, 0);
    return this.add(budgetId, 'expense.add', input.id, fields);
  }

  async expenseEdit(budgetId: string, expenseId: string, changes: EditFields<Pick<Expense, 'categoryId' | 'date' | 'amount' | 'note'>>): Promise<OutboundEvent> {
    const fields: Partial<OutboundEvent> = {};
    if (changes.categoryId !== undefined) fields.categoryId = check.uuid(changes.categoryId, 'categoryId');
    if (changes.date !== undefined) fields.date = check.date(changes.date, 'date');
    if (changes.amount !== undefined) fields.amount = check.money(changes.amount, 'amount');
    if (changes.note !== undefined) fields.note = changes.note === null ? null : check.text(changes.note, 'note', 1000, 0);
    return this.edit('expense.edit', budgetId, expenseId, fields);
  }

  async expenseDelete(budgetId: string, expenseId: string): Promise<OutboundEvent> {
    return this.edit('expense.delete', budgetId, expenseId, {});
  }

  // ---- membership (online only: plain HTTP) ------------------------------------------------

  /** An invite token for the budget (any member may invite). */
  createInvite(budgetId: string, options: { expiresInSeconds?: number; maxUses?: number } = {}): Promise<{ token: string; expiresAt: number }> {
    return this.http.createInvite(check.uuid(budgetId, 'budgetId'), options);
  }

  /** Joins through an invite, then loads the budget and follows it. */
  async join(token: string): Promise<Budget> {
    const { budget } = await this.http.acceptInvite(token);
    await this.bootstrap(budget.id, 'added');
    return budget;
  }

  /** Leaves a budget and drops its local data. */
  async leave(budgetId: string): Promise<void> {
    await this.http.leave(check.uuid(budgetId, 'budgetId'));
    await this.drop(budgetId, 'left');
  }

  // ---- internals: edits ---------------------------------------------------------------------

  private async add(budgetId: string, eventType: 'category.add' | 'expense.add', id: string | undefined, fields: Partial<OutboundEvent>): Promise<OutboundEvent> {
    const bid = check.uuid(budgetId, 'budgetId');
    const recordId = id === undefined ? crypto.randomUUID() : check.uuid(id, 'id');
    return this.locked(async () => {
      if (!(await this.store.get('local', 'budget', bid, bid))) throw new Error(`no budget ${bid} here`);
      const event: OutboundEvent = { eventId: crypto.randomUUID(), eventType, budgetId: bid, recordId, when: this.now(), ...fields };
      await this.outbox.enqueue(event);
      return event;
    }).then((e) => this.queued(e));
  }

  private async edit(eventType: OutboundEvent['eventType'], budgetId: string, recordId: string, fields: Partial<OutboundEvent>): Promise<OutboundEvent> {
    const bid = check.uuid(budgetId, 'budgetId');
    const rid = check.uuid(recordId, 'recordId');
    const isDelete = eventType.endsWith('.delete');
    if (!isDelete && Object.keys(fields).length === 0) throw new TypeError(`${eventType} needs at least one field to change`);
    const kind = eventType.split('.')[0] as RecordKind;
    return this.locked(async () => {
      const current = await this.store.get('local', kind, bid, rid);
      if (!current || !('version' in current)) throw new Error(`no ${kind} ${rid} in budget ${bid} here`);
      const event: OutboundEvent = { eventId: crypto.randomUUID(), eventType, budgetId: bid, recordId: rid, when: this.now(), version: current.version, ...fields };
      await this.outbox.enqueue(event);
      return event;
    }).then((e) => this.queued(e));
  }

  private async enqueue<E extends QueuedEvent>(event: E): Promise<E> {
    await this.ensureUserId();
    await this.locked(() => this.outbox.enqueue(event));
    return this.queued(event);
  }

  private queued<E extends QueuedEvent>(event: E): E {
    this.emit('change', { budgetId: event.budgetId });
    this.notify();
    this.kickPush();
    return event;
  }

  // ---- internals: pushing -------------------------------------------------------------------

  private kickPush(): void {
    if (!this.running) return;
    this.pushAgain = true;
    if (this.pushing) return;
    this.pushing = true;
    void (async () => {
      try {
        while (this.running && this.pushAgain) {
          this.pushAgain = false;
          await this.pushAll();
        }
      } finally {
        this.pushing = false;
      }
    })();
  }

  /** Sends batches until the outbox has nothing unsent (or the client stops). */
  private async pushAll(): Promise<void> {
    const size = Math.max(1, Math.min(MAX_BATCH, this.options.batchSize ?? MAX_BATCH));
    while (this.running) {
      const batch = await this.locked(() => this.outbox.nextBatch(size));
      if (!batch) return;
      try {
        let settled: Settlement;
        if (batch.kind === 'create') {
          settled = await this.pushCreate(batch.entry);
        } else {
          const transport = this.transport;
          if (!transport) return;
          const results = await transport.push(batch.entries.map((e) => e.event as OutboundEvent), this.options.pushMode ?? 'stopOnError');
          settled = await this.locked(() => this.outbox.settle(batch.entries, results));
        }
        this.pushBackoff.reset();
        await this.afterSettle(settled);
      } catch (err) {
        if (!this.running) return;
        // Offline is not an error worth reporting (`disconnected` says it); anything else is.
        if (!(err instanceof NotConnectedError || err instanceof NetworkError)) this.emit('error', { error: err, context: 'push' });
        // Wait, then send the same events again (same eventIds); a new connection wakes us early.
        this.retryWake = new AbortController();
        const retryAfter = err instanceof HttpError ? err.retryAfterMs : undefined;
        await sleep(retryAfter ?? this.pushBackoff.next(), this.retryWake.signal);
      }
    }
  }

  private async pushCreate(entry: OutboxEntry): Promise<Settlement> {
    const e = entry.event as BudgetCreateEvent;
    let answer: { created: CreatedBudget; replayed: boolean };
    try {
      const body = { eventId: e.eventId, id: e.budgetId, title: e.title, when: e.when, ...(e.details === undefined ? {} : { details: e.details }) };
      answer = await this.http.createBudget(body, this.stopping.signal);
    } catch (err) {
      if (!(err instanceof HttpError) || err.transient || err.status === 401) throw err;
      const error = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
      const refused = await this.locked(async () => {
        const r = await this.outbox.rejectCreate(entry, error);
        if (r.dropLocal) await this.inbox.drop(e.budgetId);
        return r;
      });
      if (refused.dropLocal) this.emit('revoked', { budgetId: e.budgetId, reason: 'rejected', discarded: [] });
      return refused;
    }
    return this.locked(() => this.outbox.settleCreate(entry, answer.created, answer.replayed));
  }

  private async afterSettle(s: Settlement): Promise<void> {
    const budgets = new Set<string>();
    for (const c of s.confirmed) {
      budgets.add(c.event.budgetId);
      this.emit('confirmed', c);
    }
    for (const c of s.conflicts) {
      budgets.add(c.event.budgetId);
      this.emit('conflict', c);
    }
    for (const r of s.rejected) {
      budgets.add(r.event.budgetId);
      this.emit('rejected', r);
    }
    for (const budgetId of s.createdBudgets) {
      const cursor = await this.store.getCursor(budgetId);
      if (cursor !== undefined) this.cursors.set(budgetId, cursor);
      this.transport?.follow(budgetId);
    }
    for (const budgetId of budgets) this.emit('change', { budgetId });
    for (const budgetId of s.deletedBudgets) await this.drop(budgetId, 'deleted');
    for (const budgetId of s.suspectBudgets) await this.verifyAccess(budgetId);
    this.notify();
  }

  // ---- internals: the stream ----------------------------------------------------------------

  /** Applies stream events of one budget; fills a gap from `GET /events`. One delivery at a time. */
  private deliver(budgetId: string, events: StreamEvent[]): Promise<void> {
    const run = this.deliveryTail.then(() => this.deliverNow(budgetId, events));
    this.deliveryTail = run.catch(() => {});
    return run;
  }

  private async deliverNow(budgetId: string, events: StreamEvent[]): Promise<void> {
    let batch = events;
    const backoff = new Backoff(this.options.backoff);
    for (;;) {
      const outcome = await this.locked(() => this.inbox.apply(budgetId, batch));
      if (outcome.status === 'unknown') return;
      if (outcome.dropped) return this.dropped(budgetId, outcome.dropped.reason, outcome.dropped.discarded);
      this.cursors.set(budgetId, outcome.cursor);
      if (outcome.applied > 0) this.emit('change', { budgetId });
      this.checkCaughtUp();
      this.notify();
      if (!outcome.gap || !this.running) return;
      const after = outcome.cursor;
      try {
        const page = await this.http.events(budgetId, after, { count: 500, wait: 0, signal: this.stopping.signal });
        if (page.events.length === 0) return; // nothing new on the server's side: wait for the stream
        batch = [...page.events, ...batch.filter((e) => e.sequence > after)];
      } catch (err) {
        if (err instanceof HttpError && err.status === 410) return this.bootstrap(budgetId, 'resync');
        // No answer: try again a few times (the events after the gap are kept meanwhile).
        if (err instanceof NetworkError && this.running && backoff.attempts < 5) {
          await sleep(backoff.next(), this.stopping.signal);
          continue;
        }
        return void (await this.lostAccess(budgetId, err));
      }
    }
  }

  /**
   * Loads a budget from its snapshot (new membership, or the cursor became unusable), then follows
   * its stream from the snapshot's lastSequence. Retries until it succeeds, the budget turns out to
   * be gone (dropped), or the client stops.
   */
  private bootstrap(budgetId: string, why: 'added' | 'resync'): Promise<void> {
    const running = this.bootstraps.get(budgetId);
    if (running) return running;
    const task = (async () => {
      const backoff = new Backoff(this.options.backoff);
      const isNew = !this.cursors.has(budgetId);
      for (;;) {
        try {
          const snapshot = await this.http.snapshot(budgetId, this.stopping.signal);
          await this.locked(() => this.inbox.bootstrap(snapshot));
          this.cursors.set(budgetId, snapshot.lastSequence);
          this.targets.set(budgetId, snapshot.lastSequence);
          this.transport?.follow(budgetId);
          if (isNew && why === 'added') this.emit('membership', { budgetId, change: 'added' });
          this.emit('change', { budgetId });
          this.checkCaughtUp();
          this.notify();
          return;
        } catch (err) {
          if (err instanceof HttpError && (err.status === 403 || err.status === 404)) return void (await this.lostAccess(budgetId, err));
          if (!this.running) return;
          if (!(err instanceof NetworkError)) this.emit('error', { error: err, context: `snapshot ${budgetId}` });
          await sleep(backoff.next(), this.stopping.signal);
        }
      }
    })().finally(() => this.bootstraps.delete(budgetId));
    this.bootstraps.set(budgetId, task);
    return task;
  }

  /**
   * `GET /budgets`: loads budgets this device does not have, and checks the ones the list lacks
   * (dropped when the server confirms with 403/404). Budgets created here and not yet sent have no
   * cursor and are left alone.
   */
  private async discover(): Promise<void> {
    const budgets = await this.http.budgets(this.stopping.signal);
    const ids = new Set(budgets.map((b) => b.id));
    const loads: Promise<void>[] = [];
    for (const id of ids) if (!this.cursors.has(id)) loads.push(this.bootstrap(id, 'added'));
    for (const id of [...this.cursors.keys()]) if (!ids.has(id)) loads.push(this.verifyAccess(id));
    await Promise.all(loads);
  }

  /** Asks the server whether the user still has the budget; drops it when not. */
  private async verifyAccess(budgetId: string): Promise<void> {
    try {
      await this.http.request('GET', `/budgets/${budgetId}`, undefined, this.stopping.signal);
    } catch (err) {
      await this.lostAccess(budgetId, err);
    }
  }

  /** 403 / 404 → drop the budget; anything else is reported (and rethrown when it is the network). */
  private async lostAccess(budgetId: string, err: unknown): Promise<undefined> {
    if (err instanceof HttpError && (err.status === 403 || err.status === 404)) {
      await this.drop(budgetId, err.status === 403 ? 'removed' : 'deleted');
      return undefined;
    }
    if (err instanceof NetworkError) throw err;
    if (this.running) this.emit('error', { error: err, context: `budget ${budgetId}` });
    return undefined;
  }

  /** Drops a budget's local data (nothing happens when there is none). */
  private async drop(budgetId: string, reason: DropReason): Promise<void> {
    this.transport?.unfollow(budgetId);
    const result = await this.locked(async () => {
      const known = (await this.store.budgetIds()).includes(budgetId);
      return known ? await this.inbox.drop(budgetId) : undefined;
    });
    if (result) this.dropped(budgetId, reason, result);
    else this.cursors.delete(budgetId);
  }

  private dropped(budgetId: string, reason: DropReason, discarded: QueuedEvent[]): void {
    this.transport?.unfollow(budgetId);
    this.cursors.delete(budgetId);
    this.targets.delete(budgetId);
    this.emit('revoked', { budgetId, reason, discarded });
    this.emit('membership', { budgetId, change: 'removed' });
    this.emit('change', { budgetId });
    this.checkCaughtUp();
    this.notify();
  }

  private checkCaughtUp(): void {
    if (!this.transport?.connected) return;
    const ok = [...this.cursors].every(([id, cursor]) => {
      const target = this.targets.get(id);
      return target !== undefined && cursor >= target;
    });
    if (ok && !this.caughtUp) this.emit('caughtUp', { cursors: Object.fromEntries(this.cursors) });
    this.caughtUp = ok;
  }

  private createTransport(): Transport {
    const sink: TransportSink = {
      cursor: (budgetId) => this.cursors.get(budgetId),
      followed: () => [...this.cursors.keys()],
      onEvents: (budgetId, events) => this.deliver(budgetId, events),
      onLive: (budgetId, lastSequence) => {
        this.targets.set(budgetId, Math.max(lastSequence, this.targets.get(budgetId) ?? 0));
        this.checkCaughtUp();
      },
      onResync: (budgetId) => this.bootstrap(budgetId, 'resync'),
      onRevoked: (budgetId, reason) => void this.drop(budgetId, reason).catch((err: unknown) => this.emit('error', { error: err, context: 'drop' })),
      onMembership: (budgetId, change) => {
        // `added` for a budget held already (e.g. created on this device) needs nothing.
        if (change === 'added' && this.cursors.has(budgetId)) return;
        const task = change === 'added' ? this.bootstrap(budgetId, 'added') : this.drop(budgetId, 'removed');
        task.catch((err: unknown) => this.emit('error', { error: err, context: 'membership' }));
      },
      discover: () => this.discover(),
      onConnected: () => {
        this.emit('connected', { transport: this.transportName });
        this.retryWake.abort();
        this.kickPush();
        this.checkCaughtUp();
      },
      onDisconnected: (info) => {
        this.targets.clear();
        this.caughtUp = false;
        this.emit('disconnected', { transport: this.transportName, ...info });
      },
      onError: (error, context) => this.emit('error', { error, context }),
    };
    if (this.transportName === 'longpoll') {
      return new LongPollTransport({
        http: this.http,
        sink,
        ...(this.options.longPollWaitSeconds === undefined ? {} : { waitSeconds: this.options.longPollWaitSeconds }),
        ...(this.options.membershipPollMs === undefined ? {} : { membershipPollMs: this.options.membershipPollMs }),
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      });
    }
    const url = `${this.options.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/sync`;
    return new SocketTransport({
      url,
      tokens: this.tokens,
      sink,
      ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    });
  }

  // ---- internals: plumbing ------------------------------------------------------------------

  private me(): string {
    if (this.uid === undefined) throw new Error('SyncClient: the user id is not known yet');
    return this.uid;
  }

  private async ensureUserId(): Promise<void> {
    if (this.uid !== undefined) return;
    this.uid = this.options.userId ?? TokenSource.userId(await this.tokens.get()) ?? (await this.http.me()).id;
  }

  /** Runs `fn` as one store transaction, after every earlier one. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockTail.then(async () => {
      if (this.uid === undefined) await this.ensureUserId();
      return this.store.transaction(fn);
    });
    this.lockTail = run.catch(() => {});
    return run;
  }

  /** Wakes `waitUntil` checks. */
  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private async waitUntil(done: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
    while (!(await done())) {
      if (!this.running) throw new Error(`SyncClient.flush: stopped while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SyncClient.flush: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 250));
        this.waiters.add(wake);
      });
    }
  }

  /** Runs `fn` until it does not fail with a network error, or the deadline passes. */
  private async retryUntil<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof NetworkError) || !this.running || Date.now() + 100 > deadline) throw err;
        await sleep(Math.min(backoff.next(), Math.max(0, deadline - Date.now())), this.stopping.signal);
      }
    }
  }
}

function sortById<T extends { id: string }>(list: T[]): T[] {
  return list.sort((a, b) => a.id.localeCompare(b.id));
}
