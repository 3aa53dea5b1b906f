/**
 * The budgets a device follows: their cursors, the stream applied in sequence order (a gap is filled
 * from `GET /events`), snapshots for budgets it does not have (or whose cursor became unusable),
 * discovery of new and lost budgets (`GET /budgets`), and dropping a budget the user lost. It is
 * also what the transports talk to (`sink()`): they only move bytes, the rules live here, in the
 * inbox and in the outbox.
 */
import { Backoff, sleep } from './backoff.js';
import type { Engine } from './engine.js';
import { HttpError, NetworkError } from './http.js';
import type { TransportSink } from './transport.js';
import type { DropReason, QueuedEvent, StreamEvent } from './types.js';

export class Follower {
  /** Applied cursor per loaded budget (a budget without one is not followed). */
  readonly cursors = new Map<string, number>();
  /** The server's last sequence per budget as last heard; reaching all of them is `caughtUp`. */
  private readonly targets = new Map<string, number>();
  private caughtUp = false;
  private readonly bootstraps = new Map<string, Promise<void>>();
  private deliveryTail: Promise<unknown> = Promise.resolve();

  constructor(private readonly e: Engine) {}

  /** Reads the cursors of every stored budget (at `start()`). */
  async load(): Promise<void> {
    this.cursors.clear();
    for (const id of await this.e.store.budgetIds()) {
      const cursor = await this.e.store.getCursor(id);
      if (cursor !== undefined) this.cursors.set(id, cursor);
    }
  }

  /** The server is out of reach: nothing is known to be caught up any more. */
  offline(): void {
    this.targets.clear();
    this.caughtUp = false;
  }

  /** A budget created here got its cursor from `POST /budget`: follow it. */
  async created(budgetId: string): Promise<void> {
    const cursor = await this.e.store.getCursor(budgetId);
    if (cursor !== undefined) this.cursors.set(budgetId, cursor);
    this.e.transport?.follow(budgetId);
  }

  /** Applies stream events of one budget; fills a gap from `GET /events`. One delivery at a time. */
  deliver(budgetId: string, events: StreamEvent[]): Promise<void> {
    const run = this.deliveryTail.then(() => this.deliverNow(budgetId, events));
    this.deliveryTail = run.catch(() => {});
    return run;
  }

  private async deliverNow(budgetId: string, events: StreamEvent[]): Promise<void> {
    const e = this.e;
    let batch = events;
    const backoff = new Backoff(e.options.backoff);
    for (;;) {
      const outcome = await e.locked(() => e.inbox.apply(budgetId, batch));
      if (outcome.status === 'unknown') return;
      if (outcome.dropped) return this.dropped(budgetId, outcome.dropped.reason, outcome.dropped.discarded);
      this.cursors.set(budgetId, outcome.cursor);
      if (outcome.applied > 0) e.emit('change', { budgetId });
      this.checkCaughtUp();
      e.notify();
      if (!outcome.gap || !e.running) return;
      const after = outcome.cursor;
      try {
        const page = await e.http.events(budgetId, after, { count: 500, wait: 0, signal: e.signal });
        if (page.events.length === 0) return; // nothing new on the server's side: wait for the stream
        batch = [...page.events, ...batch.filter((x) => x.sequence > after)];
      } catch (err) {
        if (err instanceof HttpError && err.status === 410) return this.bootstrap(budgetId, 'resync');
        // No answer: try again a few times (the events after the gap are kept meanwhile).
        if (err instanceof NetworkError && e.running && backoff.attempts < 5) {
          await sleep(backoff.next(), e.signal);
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
  bootstrap(budgetId: string, why: 'added' | 'resync'): Promise<void> {
    const running = this.bootstraps.get(budgetId);
    if (running) return running;
    const e = this.e;
    const task = (async () => {
      const backoff = new Backoff(e.options.backoff);
      const isNew = !this.cursors.has(budgetId);
      for (;;) {
        try {
          const snapshot = await e.http.snapshot(budgetId, e.signal);
          await e.locked(() => e.inbox.bootstrap(snapshot));
          this.cursors.set(budgetId, snapshot.lastSequence);
          this.targets.set(budgetId, snapshot.lastSequence);
          e.transport?.follow(budgetId);
          if (isNew && why === 'added') e.emit('membership', { budgetId, change: 'added' });
          e.emit('change', { budgetId });
          this.checkCaughtUp();
          e.notify();
          return;
        } catch (err) {
          if (err instanceof HttpError && (err.status === 403 || err.status === 404)) return void (await this.lostAccess(budgetId, err));
          if (!e.running) return;
          if (!(err instanceof NetworkError)) e.emit('error', { error: err, context: `snapshot ${budgetId}` });
          await sleep(backoff.next(), e.signal);
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
  async discover(): Promise<void> {
    const budgets = await this.e.http.budgets(this.e.signal);
    const ids = new Set(budgets.map((b) => b.id));
    const loads: Promise<void>[] = [];
    for (const id of ids) if (!this.cursors.has(id)) loads.push(this.bootstrap(id, 'added'));
    for (const id of [...this.cursors.keys()]) if (!ids.has(id)) loads.push(this.verifyAccess(id));
    await Promise.all(loads);
  }

  /** Asks the server whether the user still has the budget; drops it when not. */
  async verifyAccess(budgetId: string): Promise<void> {
    try {
      await this.e.http.request('GET', `/budgets/${budgetId}`, undefined, this.e.signal);
    } catch (err) {
      await this.lostAccess(budgetId, err);
    }
  }

  /** 403 / 404 → drop the budget; anything else is reported (and rethrown when it is the network). */
  async lostAccess(budgetId: string, err: unknown): Promise<undefined> {
    if (err instanceof HttpError && (err.status === 403 || err.status === 404)) {
      await this.drop(budgetId, err.status === 403 ? 'removed' : 'deleted');
      return undefined;
    }
    if (err instanceof NetworkError) throw err;
    if (this.e.running) this.e.emit('error', { error: err, context: `budget ${budgetId}` });
    return undefined;
  }

  /**
   * A revocation read from the stream (or a refused subscribe) can be older than the user's
   * membership: the user left on another device and joined again, and this device, resuming from an
   * old cursor, replays the leave after the join's `membership` notice has come and gone. So after
   * dropping, it asks once; a budget the user belongs to again is loaded afresh. (Seen in the
   * convergence suite: a device that never caught up with a budget its user had rejoined.)
   */
  private async rejoinedMeanwhile(budgetId: string): Promise<void> {
    try {
      await this.e.http.request('GET', `/budgets/${budgetId}`, undefined, this.e.signal);
    } catch {
      return; // 403/404: really gone; no answer: the discovery on the next connection decides
    }
    if (this.e.running && !this.cursors.has(budgetId)) await this.bootstrap(budgetId, 'added');
  }

  /** Drops a budget's local data (nothing happens when there is none). */
  async drop(budgetId: string, reason: DropReason): Promise<void> {
    const e = this.e;
    e.transport?.unfollow(budgetId);
    const result = await e.locked(async () => {
      const known = (await e.store.budgetIds()).includes(budgetId);
      return known ? await e.inbox.drop(budgetId) : undefined;
    });
    if (result) this.dropped(budgetId, reason, result);
    else this.cursors.delete(budgetId);
  }

  private dropped(budgetId: string, reason: DropReason, discarded: QueuedEvent[]): void {
    const e = this.e;
    e.transport?.unfollow(budgetId);
    this.cursors.delete(budgetId);
    this.targets.delete(budgetId);
    e.emit('revoked', { budgetId, reason, discarded });
    e.emit('membership', { budgetId, change: 'removed' });
    e.emit('change', { budgetId });
    this.checkCaughtUp();
    e.notify();
  }

  checkCaughtUp(): void {
    if (!this.e.transport?.connected) return;
    const ok = [...this.cursors].every(([id, cursor]) => {
      const target = this.targets.get(id);
      return target !== undefined && cursor >= target;
    });
    if (ok && !this.caughtUp) this.e.emit('caughtUp', { cursors: Object.fromEntries(this.cursors) });
    this.caughtUp = ok;
  }

  /** What the transports call; `onConnected` also lets the client send its outbox at once. */
  sink(onConnected: () => void): TransportSink {
    const e = this.e;
    const name = e.options.transport ?? 'socket';
    return {
      cursor: (budgetId) => this.cursors.get(budgetId),
      followed: () => [...this.cursors.keys()],
      onEvents: (budgetId, events) => this.deliver(budgetId, events),
      onLive: (budgetId, lastSequence) => {
        this.targets.set(budgetId, Math.max(lastSequence, this.targets.get(budgetId) ?? 0));
        this.checkCaughtUp();
      },
      onResync: (budgetId) => this.bootstrap(budgetId, 'resync'),
      onRevoked: (budgetId, reason) =>
        void this.drop(budgetId, reason)
          .then(() => this.rejoinedMeanwhile(budgetId))
          .catch((err: unknown) => e.emit('error', { error: err, context: 'drop' })),
      onMembership: (budgetId, change) => {
        // `added` for a budget held already (e.g. created on this device) needs nothing.
        if (change === 'added' && this.cursors.has(budgetId)) return;
        const task = change === 'added' ? this.bootstrap(budgetId, 'added') : this.drop(budgetId, 'removed');
        task.catch((err: unknown) => e.emit('error', { error: err, context: 'membership' }));
      },
      discover: () => this.discover(),
      onConnected: () => {
        e.emit('connected', { transport: name });
        onConnected();
        this.checkCaughtUp();
      },
      onDisconnected: (info) => {
        this.offline();
        e.emit('disconnected', { transport: name, ...info });
      },
      onError: (error, context) => e.emit('error', { error, context }),
    };
  }
}
