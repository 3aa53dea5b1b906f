/**
 * The push loop: sends the outbox in order, one push at a time (a lone `budget.create` through
 * `POST /budget`, other events in batches through the transport), applies each answer in one
 * transaction (outbox.ts says what each result does) and tells the app. No answer — offline, a lost
 * connection, a timeout, 5xx, 429 — means the same events (same eventIds) go again after a jittered
 * backoff, or at once when a connection opens.
 */
import { Backoff, sleep } from './backoff.js';
import type { Engine } from './engine.js';
import type { Follower } from './follower.js';
import { HttpError, NetworkError, TimeoutError } from './http.js';
import { type CreatedBudget, MAX_BATCH, type Settlement } from './outbox.js';
import { NotConnectedError } from './transport.js';
import type { BudgetCreateEvent, OutboundEvent, OutboxEntry } from './types.js';

export class Pusher {
  private pushing = false;
  private pushAgain = false;
  private readonly backoff: Backoff;
  private retryWake = new AbortController();

  constructor(
    private readonly e: Engine,
    private readonly follower: Follower,
  ) {
    this.backoff = new Backoff(e.options.backoff);
  }

  /** Sends whatever is unsent (a loop already running picks the new events up). */
  kick(): void {
    if (!this.e.running) return;
    this.pushAgain = true;
    if (this.pushing) return;
    this.pushing = true;
    void (async () => {
      try {
        while (this.e.running && this.pushAgain) {
          this.pushAgain = false;
          await this.pushAll();
        }
      } finally {
        this.pushing = false;
      }
    })();
  }

  /** Ends a backoff wait at once (a connection opened, or the client stops). */
  wake(): void {
    this.retryWake.abort();
  }

  /** Sends batches until the outbox has nothing unsent (or the client stops). */
  private async pushAll(): Promise<void> {
    const e = this.e;
    const size = Math.max(1, Math.min(MAX_BATCH, e.options.batchSize ?? MAX_BATCH));
    while (e.running) {
      const batch = await e.locked(() => e.outbox.nextBatch(size));
      if (!batch) return;
      try {
        let settled: Settlement;
        if (batch.kind === 'create') {
          settled = await this.pushCreate(batch.entry);
        } else {
          const transport = e.transport;
          if (!transport) return;
          const results = await transport.push(
            batch.entries.map((x) => x.event as OutboundEvent),
            e.options.pushMode ?? 'stopOnError',
          );
          settled = await e.locked(() => e.outbox.settle(batch.entries, results));
        }
        this.backoff.reset();
        await this.afterSettle(settled);
      } catch (err) {
        if (!e.running) return;
        // Offline is not an error worth reporting (`disconnected` says it); anything else is,
        // including a push that got no answer at all (a server or proxy that swallows requests).
        const offline = err instanceof NotConnectedError || (err instanceof NetworkError && !(err instanceof TimeoutError));
        if (!offline) e.emit('error', { error: err, context: 'push' });
        // Wait, then send the same events again (same eventIds); a new connection wakes us early.
        this.retryWake = new AbortController();
        const retryAfter = err instanceof HttpError ? err.retryAfterMs : undefined;
        await sleep(retryAfter ?? this.backoff.next(), this.retryWake.signal);
      }
    }
  }

  private async pushCreate(entry: OutboxEntry): Promise<Settlement> {
    const e = this.e;
    const event = entry.event as BudgetCreateEvent;
    let answer: { created: CreatedBudget; replayed: boolean };
    try {
      const body = {
        eventId: event.eventId,
        id: event.budgetId,
        title: event.title,
        when: event.when,
        ...(event.details === undefined ? {} : { details: event.details }),
      };
      answer = await e.http.createBudget(body, e.signal);
    } catch (err) {
      if (!(err instanceof HttpError) || err.transient || err.status === 401) throw err;
      const error = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
      const refused = await e.locked(async () => {
        const r = await e.outbox.rejectCreate(entry, error);
        if (r.dropLocal) await e.inbox.drop(event.budgetId);
        return r;
      });
      if (refused.dropLocal) e.emit('revoked', { budgetId: event.budgetId, reason: 'rejected', discarded: [] });
      return refused;
    }
    return e.locked(() => e.outbox.settleCreate(entry, answer.created, answer.replayed));
  }

  /** Tells the app what a push did, and follows up on it (new budgets, deleted, suspect ones). */
  private async afterSettle(s: Settlement): Promise<void> {
    const e = this.e;
    const budgets = new Set<string>();
    for (const c of s.confirmed) {
      budgets.add(c.event.budgetId);
      e.emit('confirmed', c);
    }
    for (const c of s.conflicts) {
      budgets.add(c.event.budgetId);
      e.emit('conflict', c);
    }
    for (const r of s.rejected) {
      budgets.add(r.event.budgetId);
      e.emit('rejected', r);
    }
    for (const budgetId of s.createdBudgets) await this.follower.created(budgetId);
    for (const budgetId of budgets) e.emit('change', { budgetId });
    for (const budgetId of s.deletedBudgets) await this.follower.drop(budgetId, 'deleted');
    for (const budgetId of s.suspectBudgets) await this.follower.verifyAccess(budgetId);
    e.notify();
  }
}
