/**
 * The long-poll transport: the socket's semantics over plain HTTP, for networks that break
 * WebSockets.
 *
 * - One loop per followed budget: `GET /events?budgetId&key=<cursor>&wait=<s>`; the server holds
 *   the request until something commits (or `wait` passes), the page goes to the inbox, repeat from
 *   the new cursor. A page with `hasMore: false` means caught up as of that read; the first read of
 *   a loop uses `wait=0` so that is known at once.
 * - Pushes are `POST /events`.
 * - Membership: `GET /budgets` at start and every `membershipPollMs` (the client loads new budgets
 *   and drops lost ones); a loop answered 403 (not a participant) or 404 (budget gone) drops its
 *   budget at once; 410 SNAPSHOT_REQUIRED reloads the budget from a snapshot and goes on, and so
 *   does a cursor past the budget's last sequence (checked once when a loop starts).
 * - Failures back off with full jitter (`Retry-After` when the server gives one); "connected" is
 *   the last request having been answered, "disconnected" a request that got no answer.
 */
import { Backoff, type BackoffOptions, sleep } from './backoff.js';
import { type HttpApi, HttpError, NetworkError } from './http.js';
import type { Transport, TransportSink } from './transport.js';
import type { OutboundEvent, PushMode, PushResult } from './types.js';

export interface LongPollTransportOptions {
  http: HttpApi;
  sink: TransportSink;
  /** Seconds the server may hold a poll (default 20, at most 60). */
  waitSeconds?: number;
  /** Events per page (default 500). */
  count?: number;
  /** How often to re-read the user's budgets (default 30 s). */
  membershipPollMs?: number;
  backoff?: BackoffOptions;
}

export class LongPollTransport implements Transport {
  readonly name = 'longpoll' as const;
  private running = false;
  private online = false;
  private stopping = new AbortController();
  private readonly loops = new Map<string, AbortController>();
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly options: LongPollTransportOptions) {}

  get connected(): boolean {
    return this.online;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    for (const b of this.options.sink.followed()) this.follow(b);
    this.track(this.membershipLoop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    for (const ac of this.loops.values()) ac.abort();
    this.loops.clear();
    await Promise.allSettled([...this.tasks]);
    if (this.online) {
      this.online = false;
      this.options.sink.onDisconnected({ reason: 'client stopped' });
    }
  }

  follow(budgetId: string): void {
    if (!this.running || this.loops.has(budgetId)) return;
    const ac = new AbortController();
    this.loops.set(budgetId, ac);
    this.track(this.pollLoop(budgetId, ac));
  }

  unfollow(budgetId: string): void {
    this.loops.get(budgetId)?.abort();
    this.loops.delete(budgetId);
  }

  async push(events: OutboundEvent[], mode: PushMode): Promise<PushResult[]> {
    try {
      const results = await this.options.http.push(events, mode, this.stopping.signal);
      this.up();
      return results;
    } catch (err) {
      if (err instanceof NetworkError) this.down(err);
      throw err;
    }
  }

  private track(task: Promise<void>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private async pollLoop(budgetId: string, ac: AbortController): Promise<void> {
    const { http, sink } = this.options;
    const backoff = new Backoff(this.options.backoff);
    // The first read answers at once, so "caught up" is known without waiting for a change.
    let wait = 0;
    let checked = false;
    try {
      while (this.running && !ac.signal.aborted) {
        const cursor = sink.cursor(budgetId);
        if (cursor === undefined) return;
        try {
          if (!checked) {
            // A cursor past the server's last sequence (a restored device, another deployment) would
            // wait forever on an empty stream: the socket answers it with `resync`, here we ask.
            const last = await http.lastSequence(budgetId, ac.signal);
            checked = true;
            if (last < cursor) {
              await sink.onResync(budgetId);
              continue;
            }
          }
          const page = await http.events(budgetId, cursor, { count: this.options.count ?? 500, wait, signal: ac.signal });
          wait = this.options.waitSeconds ?? 20;
          this.up();
          backoff.reset();
          if (page.events.length > 0) {
            await sink.onEvents(budgetId, page.events);
            // Delivered but not applied (the budget went away meanwhile): nothing left to follow.
            if ((sink.cursor(budgetId) ?? -1) <= cursor) return;
          }
          if (!page.hasMore) sink.onLive(budgetId, page.nextKey);
        } catch (err) {
          if (ac.signal.aborted || !this.running) return;
          if (err instanceof HttpError && (err.status === 403 || err.status === 404)) {
            this.up();
            return sink.onRevoked(budgetId, err.status === 403 ? 'removed' : 'deleted');
          }
          if (err instanceof HttpError && err.status === 410) {
            this.up();
            await sink.onResync(budgetId);
            continue;
          }
          if (err instanceof NetworkError) this.down(err);
          else sink.onError(err, `poll ${budgetId}`);
          await sleep((err instanceof HttpError ? err.retryAfterMs : undefined) ?? backoff.next(), ac.signal);
        }
      }
    } finally {
      if (this.loops.get(budgetId) === ac) this.loops.delete(budgetId);
    }
  }

  private async membershipLoop(): Promise<void> {
    const backoff = new Backoff(this.options.backoff);
    while (this.running) {
      let delay = this.options.membershipPollMs ?? 30_000;
      try {
        await this.options.sink.discover();
        this.up();
        backoff.reset();
      } catch (err) {
        if (!this.running) return;
        if (err instanceof NetworkError) this.down(err);
        else this.options.sink.onError(err, 'discover budgets');
        delay = Math.min(delay, backoff.next());
      }
      await sleep(delay, this.stopping.signal);
    }
  }

  private up(): void {
    if (this.online || !this.running) return;
    this.online = true;
    this.options.sink.onConnected();
  }

  private down(err: Error): void {
    if (!this.online) return;
    this.online = false;
    this.options.sink.onDisconnected({ reason: err.message });
  }
}
