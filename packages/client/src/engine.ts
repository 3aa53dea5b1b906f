/**
 * What the parts of a `SyncClient` share: the store and the state machine over it (view, outbox,
 * inbox), the HTTP API, the running state, and two pieces of plumbing:
 *
 * - the lock: every change of local state is one store transaction, and they run one at a time, in
 *   the order they were asked for (network calls run outside it);
 * - waiters: `waitUntil` re-checks a condition whenever something changed (`notify`) or every
 *   250 ms, until a deadline — what `flush()` is made of.
 */
import { Backoff, sleep } from './backoff.js';
import { HttpApi, NetworkError } from './http.js';
import { Inbox } from './inbox.js';
import type { Emit, SyncClientOptions } from './options.js';
import { Outbox } from './outbox.js';
import { type LocalStore, MemoryStore } from './store.js';
import { TokenSource } from './token.js';
import type { Transport } from './transport.js';
import { LocalView } from './view.js';

export class Engine {
  readonly store: LocalStore;
  readonly tokens: TokenSource;
  readonly http: HttpApi;
  readonly view: LocalView;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  /** The device clock for `when`. */
  readonly now: () => number;
  uid: string | undefined;
  /** Between `start()` and `stop()`. */
  running = false;
  /** Aborted by `stop()`: cancels requests in flight and wakes sleeps. */
  stopping = new AbortController();
  transport: Transport | undefined;
  private lockTail: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly options: SyncClientOptions,
    readonly emit: Emit,
  ) {
    this.store = options.store ?? new MemoryStore();
    this.tokens = new TokenSource(options.getToken, options.tokenRefreshMarginMs ?? 60_000);
    this.http = new HttpApi(options.baseUrl, this.tokens, options.fetch, options.requestTimeoutMs);
    this.view = new LocalView(this.store, () => this.me());
    this.outbox = new Outbox(this.store, this.view);
    this.inbox = new Inbox(this.store, this.view, this.outbox, () => this.me());
    this.now = options.now ?? Date.now;
  }

  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  me(): string {
    if (this.uid === undefined) throw new Error('SyncClient: the user id is not known yet');
    return this.uid;
  }

  async ensureUserId(): Promise<void> {
    if (this.uid !== undefined) return;
    this.uid = this.options.userId ?? TokenSource.userId(await this.tokens.get()) ?? (await this.http.me()).id;
  }

  /** Runs `fn` as one store transaction, after every earlier one. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockTail.then(async () => {
      if (this.uid === undefined) await this.ensureUserId();
      return this.store.transaction(fn);
    });
    this.lockTail = run.catch(() => {});
    return run;
  }

  /** Resolves once every transaction asked for so far has ended. */
  idle(): Promise<void> {
    return this.lockTail.then(
      () => {},
      () => {},
    );
  }

  /** Wakes `waitUntil` checks. */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves when `done()` holds; fails at `deadline` or when the client stops. */
  async waitUntil(done: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
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
  async retryUntil<T>(fn: () => Promise<T>, deadline: number): Promise<T> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof NetworkError) || !this.running || Date.now() + 100 > deadline) throw err;
        await sleep(Math.min(backoff.next(), Math.max(0, deadline - Date.now())), this.signal);
      }
    }
  }
}
