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
 *
 * This file is the app-facing surface; the work is done by the parts it ties together:
 * `engine.ts` (shared state, the lock, waiting), `pusher.ts` (the outbox going out),
 * `follower.ts` (the stream coming in, snapshots, membership) and `transports.ts`.
 */
import { LIMITS } from '@budget-sync/protocol';
import { TypedEmitter } from './emitter.js';
import { Engine } from './engine.js';
import { Follower } from './follower.js';
import type { FlushOptions, SyncClientEvents, SyncClientOptions } from './options.js';
import { Pusher } from './pusher.js';
import type { LocalStore } from './store.js';
import { createTransport } from './transports.js';
import type {
  Budget,
  BudgetCreateEvent,
  Category,
  EventFields,
  Expense,
  OutboundEvent,
  OutboxEntry,
  Participant,
  QueuedEvent,
  RecordKind,
} from './types.js';
import * as check from './values.js';

export type { FlushOptions, SyncClientEvents, SyncClientOptions } from './options.js';

type EditFields<T> = { [K in keyof T]?: T[K] };

export class SyncClient extends TypedEmitter<SyncClientEvents> {
  readonly store: LocalStore;
  private readonly e: Engine;
  private readonly follower: Follower;
  private readonly pusher: Pusher;
  /** `start()` and `stop()` run one after the other, never interleaved. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(options: SyncClientOptions) {
    super((error, type) => this.emit('error', { error, context: `listener of ${String(type)}` }));
    this.e = new Engine(options, (type, payload) => this.emit(type, payload));
    this.store = this.e.store;
    this.follower = new Follower(this.e);
    this.pusher = new Pusher(this.e, this.follower);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Goes online: follows every stored budget from its cursor, discovers new ones, sends the outbox. */
  start(): Promise<void> {
    return this.transition(async () => {
      const e = this.e;
      if (e.running) return;
      await e.ensureUserId();
      e.running = true;
      e.stopping = new AbortController();
      await this.follower.load();
      e.transport = createTransport(
        e,
        this.follower.sink(() => {
          this.pusher.wake();
          this.pusher.kick();
        }),
      );
      e.transport.start();
      this.pusher.kick();
    });
  }

  /** Goes offline: closes the transport, cancels requests in flight. Local state stays as it is. */
  stop(): Promise<void> {
    return this.transition(async () => {
      const e = this.e;
      if (!e.running) return;
      e.running = false;
      e.stopping.abort();
      this.pusher.wake();
      await e.transport?.stop();
      e.transport = undefined;
      this.follower.offline();
      e.notify();
      await e.idle();
    });
  }

  get connected(): boolean {
    return this.e.transport?.connected ?? false;
  }

  get userId(): string | undefined {
    return this.e.uid;
  }

  /**
   * Resolves when the outbox is empty (everything sent and confirmed by the stream) and every budget
   * applied the stream up to the server's last sequence as read here. Needs `start()`.
   */
  async flush(options: FlushOptions = {}): Promise<void> {
    const e = this.e;
    if (!e.running) throw new Error('SyncClient.flush: call start() first');
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const cursors = this.follower.cursors;
    this.pusher.kick();
    await e.waitUntil(async () => (await e.outbox.unsent()).length === 0, deadline, 'the outbox to be sent');
    await e.retryUntil(() => this.follower.discover(), deadline);
    const targets = new Map<string, number>();
    for (const budgetId of [...cursors.keys()]) {
      const seq = await e.retryUntil(
        () => e.http.lastSequence(budgetId, e.signal).catch((err: unknown) => this.follower.lostAccess(budgetId, err)),
        deadline,
      );
      if (seq !== undefined) targets.set(budgetId, seq);
    }
    await e.waitUntil(async () => [...targets].every(([id, seq]) => (cursors.get(id) ?? Infinity) >= seq), deadline, 'the stream');
    await e.waitUntil(async () => (await e.store.outbox()).length === 0, deadline, 'the stream to confirm the outbox');
  }

  // ---- reading the local layer --------------------------------------------------------------

  async budgets(): Promise<Budget[]> {
    const out: Budget[] = [];
    for (const id of await this.e.store.budgetIds()) {
      const b = await this.e.store.get('local', 'budget', id, id);
      if (b) out.push(b);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  budget(budgetId: string): Promise<Budget | undefined> {
    return this.e.store.get('local', 'budget', budgetId, budgetId);
  }

  async categories(budgetId: string): Promise<Category[]> {
    return sortById(await this.e.store.list('local', 'category', budgetId));
  }

  async expenses(budgetId: string): Promise<Expense[]> {
    return sortById(await this.e.store.list('local', 'expense', budgetId));
  }

  async participants(budgetId: string): Promise<Participant[]> {
    return (await this.e.store.list('local', 'participant', budgetId)).sort((a, b) => a.userId.localeCompare(b.userId));
  }

  /** The outbox (entries with `acceptedSequence` are confirmed and wait for the stream). */
  pending(): Promise<OutboxEntry[]> {
    return this.e.store.outbox();
  }

  /** The applied cursor of a budget (undefined: not loaded). */
  cursor(budgetId: string): number | undefined {
    return this.follower.cursors.get(budgetId);
  }

  // ---- edits: optimistic, queued ------------------------------------------------------------

  /** Creates a budget (offline too); it reaches the server through `POST /budget`. */
  async createBudget(input: { title: string; details?: string | null; id?: string }): Promise<BudgetCreateEvent> {
    const budgetId = input.id === undefined ? crypto.randomUUID() : check.uuid(input.id, 'id');
    const event: BudgetCreateEvent = {
      eventId: crypto.randomUUID(),
      eventType: 'budget.create',
      budgetId,
      recordId: budgetId,
      when: this.e.now(),
      title: check.text(input.title, 'title', LIMITS.title),
    };
    if (input.details !== undefined)
      event.details = input.details === null ? null : check.text(input.details, 'details', LIMITS.details, 0);
    return this.enqueue(event);
  }

  async budgetEdit(budgetId: string, changes: EditFields<Pick<Budget, 'title' | 'details'>>): Promise<OutboundEvent> {
    const fields: EventFields = {};
    if (changes.title !== undefined) fields.title = check.text(changes.title, 'title', LIMITS.title);
    if (changes.details !== undefined)
      fields.details = changes.details === null ? null : check.text(changes.details, 'details', LIMITS.details, 0);
    return this.edit('budget.edit', budgetId, budgetId, fields);
  }

  async budgetDelete(budgetId: string): Promise<OutboundEvent> {
    return this.edit('budget.delete', budgetId, budgetId, {});
  }

  async categoryAdd(budgetId: string, input: { name: string; allocate: string; id?: string }): Promise<OutboundEvent> {
    return this.add(budgetId, 'category.add', input.id, {
      name: check.text(input.name, 'name', LIMITS.name),
      allocate: check.money(input.allocate, 'allocate'),
    });
  }

  async categoryEdit(
    budgetId: string,
    categoryId: string,
    changes: EditFields<Pick<Category, 'name' | 'allocate'>>,
  ): Promise<OutboundEvent> {
    const fields: EventFields = {};
    if (changes.name !== undefined) fields.name = check.text(changes.name, 'name', LIMITS.name);
    if (changes.allocate !== undefined) fields.allocate = check.money(changes.allocate, 'allocate');
    return this.edit('category.edit', budgetId, categoryId, fields);
  }

  async categoryDelete(budgetId: string, categoryId: string): Promise<OutboundEvent> {
    return this.edit('category.delete', budgetId, categoryId, {});
  }

  async expenseAdd(
    budgetId: string,
    input: { categoryId: string; date: string; amount: string; note?: string | null; id?: string },
  ): Promise<OutboundEvent> {
    const fields: EventFields = {
      categoryId: check.uuid(input.categoryId, 'categoryId'),
      date: check.date(input.date, 'date'),
      amount: check.money(input.amount, 'amount'),
    };
    if (input.note !== undefined) fields.note = input.note === null ? null : check.text(input.note, 'note', LIMITS.note, 0);
    return this.add(budgetId, 'expense.add', input.id, fields);
  }

  async expenseEdit(
    budgetId: string,
    expenseId: string,
    changes: EditFields<Pick<Expense, 'categoryId' | 'date' | 'amount' | 'note'>>,
  ): Promise<OutboundEvent> {
    const fields: EventFields = {};
    if (changes.categoryId !== undefined) fields.categoryId = check.uuid(changes.categoryId, 'categoryId');
    if (changes.date !== undefined) fields.date = check.date(changes.date, 'date');
    if (changes.amount !== undefined) fields.amount = check.money(changes.amount, 'amount');
    if (changes.note !== undefined) fields.note = changes.note === null ? null : check.text(changes.note, 'note', LIMITS.note, 0);
    return this.edit('expense.edit', budgetId, expenseId, fields);
  }

  async expenseDelete(budgetId: string, expenseId: string): Promise<OutboundEvent> {
    return this.edit('expense.delete', budgetId, expenseId, {});
  }

  // ---- membership (online only: plain HTTP) ------------------------------------------------

  /** An invite token for the budget (any member may invite). */
  createInvite(
    budgetId: string,
    options: { expiresInSeconds?: number; maxUses?: number } = {},
  ): Promise<{ token: string; expiresAt: number }> {
    return this.e.http.createInvite(check.uuid(budgetId, 'budgetId'), options);
  }

  /** Joins through an invite, then loads the budget and follows it. */
  async join(token: string): Promise<Budget> {
    const { budget } = await this.e.http.acceptInvite(token);
    await this.follower.bootstrap(budget.id, 'added');
    return budget;
  }

  /** Leaves a budget and drops its local data. */
  async leave(budgetId: string): Promise<void> {
    await this.e.http.leave(check.uuid(budgetId, 'budgetId'));
    await this.follower.drop(budgetId, 'left');
  }

  // ---- internals: edits ---------------------------------------------------------------------

  private async add(
    budgetId: string,
    eventType: 'category.add' | 'expense.add',
    id: string | undefined,
    fields: EventFields,
  ): Promise<OutboundEvent> {
    const bid = check.uuid(budgetId, 'budgetId');
    const recordId = id === undefined ? crypto.randomUUID() : check.uuid(id, 'id');
    return this.e
      .locked(async () => {
        if (!(await this.e.store.get('local', 'budget', bid, bid))) throw new Error(`no budget ${bid} here`);
        // The callers pass exactly the fields of `eventType` (checked above them), so this is that event.
        const event = { eventId: crypto.randomUUID(), eventType, budgetId: bid, recordId, when: this.e.now(), ...fields } as OutboundEvent;
        await this.e.outbox.enqueue(event);
        return event;
      })
      .then((ev) => this.queued(ev));
  }

  private async edit(
    eventType: OutboundEvent['eventType'],
    budgetId: string,
    recordId: string,
    fields: EventFields,
  ): Promise<OutboundEvent> {
    const bid = check.uuid(budgetId, 'budgetId');
    const rid = check.uuid(recordId, 'recordId');
    const isDelete = eventType.endsWith('.delete');
    if (!isDelete && Object.keys(fields).length === 0) throw new TypeError(`${eventType} needs at least one field to change`);
    const kind = eventType.split('.')[0] as RecordKind;
    return this.e
      .locked(async () => {
        const current = await this.e.store.get('local', kind, bid, rid);
        if (!current || !('version' in current)) throw new Error(`no ${kind} ${rid} in budget ${bid} here`);
        const event = {
          eventId: crypto.randomUUID(),
          eventType,
          budgetId: bid,
          recordId: rid,
          when: this.e.now(),
          version: current.version,
          ...fields,
        } as OutboundEvent;
        await this.e.outbox.enqueue(event);
        return event;
      })
      .then((ev) => this.queued(ev));
  }

  private async enqueue<E extends QueuedEvent>(event: E): Promise<E> {
    await this.e.ensureUserId();
    await this.e.locked(() => this.e.outbox.enqueue(event));
    return this.queued(event);
  }

  private queued<E extends QueuedEvent>(event: E): E {
    this.emit('change', { budgetId: event.budgetId });
    this.e.notify();
    this.pusher.kick();
    return event;
  }

  // ---- internals: plumbing ------------------------------------------------------------------

  private transition(fn: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(fn);
    this.lifecycle = run.catch(() => {});
    return run;
  }
}

function sortById<T extends { id: string }>(list: T[]): T[] {
  return list.sort((a, b) => a.id.localeCompare(b.id));
}
