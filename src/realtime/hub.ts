/**
 * The instance's fan-out hub: every local subscriber (socket subscriptions and long-polls) by
 * budget, and every socket by user for `membership` notices.
 *
 * NOTIFY is a wake-up, the log is the truth (docs/architecture.md, "Fan-out"). `wake(budgetId)` reads the
 * budget's log ONCE from the smallest cursor of its ready subscribers, a page (500) at a time, and
 * hands each subscriber the slice after its own cursor — never one query per socket. The budgets
 * woken in one event-loop turn are read by one query (`readStreams`), so a NOTIFY carrying many
 * budgets' pointers, or a storm of subscribes, costs a few round trips, not one per budget. Wake-ups
 * that arrive while the budget is being read coalesce into one more read. A subscriber that cannot take
 * more (its socket is above high water) is skipped and keeps its cursor; it is woken again when it
 * drains and reads on from the log, so nothing is queued in memory per socket.
 *
 * Sources of wake-ups: local commits (`committed`, the ChangeSink), other instances' notices, every
 * (re)LISTEN (`wakeAll`), and a safety poll every SAFETY_POLL_MS that compares `last_sequence` of
 * the subscribed budgets with what was read, in case a NOTIFY was lost. Membership notices lost
 * with a NOTIFY are recovered by the MembershipReconciler after every (re)LISTEN.
 */
import type { Sql } from '../db/sql.js';
import type { AppError } from '../errors/app-error.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { StreamEvent } from '@budget-sync/protocol';
import type { ChangeSink, CommittedPointer, MembershipChange, StreamWaiter } from '../sync/changes.js';
import { readStreams } from '../sync/reads.js';
import { LocalCommits } from './local-commits.js';
import { MembershipReconciler } from './membership-reconciler.js';
import { OnceWaiter, type Subscriber } from './subscription.js';

/** Events per log read: the largest `count` of GET /events too. */
export const PAGE_SIZE = 500;
/**
 * Wake-ups of one event-loop turn are read together, at most this many budgets and (estimated from
 * the known heads) rows per query: a NOTIFY carries the coalesced pointers of many commits, and a
 * reconnect storm subscribes thousands of sockets within a second; one query each cost a round trip
 * and a pool turn apiece. 10,000 rows of ~0.5 KB is ~5 MB held at once, at most.
 */
const MAX_BUDGETS_PER_READ = 200;
const MAX_ROWS_PER_READ = 10_000;

/** A socket that hears about its user's membership changes. */
export interface MembershipTarget {
  readonly userId: string;
  membership(budgetId: string, change: MembershipChange['change']): void;
}

/** One budget's share of a read: its due subscribers and the cursor the page starts after. */
interface ReadJob {
  b: BudgetState;
  due: Subscriber[];
  from: number;
  wokenAt: number;
}

interface BudgetState {
  readonly id: string;
  readonly subs: Set<Subscriber>;
  /** The highest sequence known to be committed. */
  head: number;
  /** Read even if every cursor is at `head` (after a (re)LISTEN or a full page). */
  force: boolean;
  reading: boolean;
  again: boolean;
  /** When the oldest wake-up not yet served by a read came (ms), 0 if none. */
  wokenAt: number;
  /** This instance's latest commits: a read they cover is served without a query. */
  readonly local: LocalCommits;
  /** [sequence, committedAt] of recent commits not yet sent, ascending (for commit → send). */
  commits: [number, number][];
}

/** Commits remembered per budget for the metric; older ones are dropped, never the stream. */
const MAX_TIMED_COMMITS = 64;

export interface HubOptions {
  safetyPollMs: number;
  /** Hands local commits to the notifier, for the other instances. */
  publish(pointers: CommittedPointer[], membership: MembershipChange[]): void;
  metrics: Metrics;
  log: Logger;
}

export class Hub implements ChangeSink, StreamWaiter {
  private readonly budgets = new Map<string, BudgetState>();
  private readonly users = new Map<string, Set<MembershipTarget>>();
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  /** Recovers membership notices lost with a NOTIFY (after every (re)LISTEN). */
  private readonly reconciler: MembershipReconciler;
  /** Budgets whose read waits for the end of this event-loop turn. */
  private readonly toRead = new Set<BudgetState>();
  private flushScheduled = false;

  constructor(
    private readonly sql: Sql,
    private readonly options: HubOptions,
  ) {
    this.reconciler = new MembershipReconciler(sql, {
      tell: (userId, budgetId, change) => this.tell(userId, budgetId, change),
      log: options.log,
    });
  }

  /** ChangeSink: called by the Processor and Membership after COMMIT. */
  committed(pointers: CommittedPointer[], membership: MembershipChange[], events: readonly StreamEvent[] = []): void {
    const at = Date.now();
    for (const e of events) this.budgets.get(e.budgetId)?.local.add(e);
    const timed = pointers.map((p) => ({ ...p, committedAt: p.committedAt ?? at }));
    this.changed(timed, membership);
    this.options.publish(timed, membership);
  }

  /** Commits of this or another instance: wake their budgets, tell the users' sockets. */
  changed(pointers: CommittedPointer[], membership: MembershipChange[]): void {
    for (const p of pointers) this.wake(p.budgetId, p.sequence, false, p.committedAt);
    for (const m of membership) {
      this.reconciler.noticed(m.userId, m.budgetId, m.change);
      this.tell(m.userId, m.budgetId, m.change);
      // The stream carries the participant.remove / budget.delete that revokes; make sure it is read.
      if (m.change === 'removed') this.wake(m.budgetId, 0, true);
    }
  }

  private tell(userId: string, budgetId: string, change: MembershipChange['change']): void {
    for (const target of this.users.get(userId) ?? []) target.membership(budgetId, change);
  }

  /** After every (re)LISTEN: membership notices sent while it was down are lost too. */
  reconcileMembership(): Promise<void> {
    return this.reconciler.reconcile();
  }

  /** Whether the user's budgets are known here (their first socket's read is done); for tests. */
  membershipKnown(userId: string): boolean {
    return this.reconciler.knows(userId);
  }

  /**
   * Delivers what is committed after the subscribers' cursors. `sequence`: a head just learned;
   * `force`: read even when no cursor is known to be behind (the head is unknown). `committedAt`:
   * when that sequence was committed, for the commit → send metric.
   */
  wake(budgetId: string, sequence = 0, force = false, committedAt?: number): void {
    const b = this.budgets.get(budgetId);
    if (!b || this.closed) return;
    if (committedAt !== undefined && sequence > (b.commits.at(-1)?.[0] ?? 0)) {
      b.commits.push([sequence, committedAt]);
      if (b.commits.length > MAX_TIMED_COMMITS) b.commits.shift();
    }
    if (sequence > b.head) b.head = sequence;
    if (force) b.force = true;
    if (b.reading) {
      if (b.wokenAt === 0) b.wokenAt = Date.now();
      b.again = true;
      return;
    }
    // Most wake-ups of the safety poll find every cursor at the head: no read, no promise.
    if (!b.force && !this.anyDue(b)) return;
    b.wokenAt = Date.now();
    this.schedule(b);
  }

  private anyDue(b: BudgetState): boolean {
    for (const s of b.subs) if (s.cursor < b.head && s.ready()) return true;
    return false;
  }

  /** After every (re)LISTEN: notifications sent while it was down are lost, so re-read everything. */
  wakeAll(): void {
    for (const id of this.budgets.keys()) this.wake(id, 0, true);
  }

  add(sub: Subscriber): void {
    let b = this.budgets.get(sub.budgetId);
    if (!b) {
      b = {
        id: sub.budgetId,
        subs: new Set(),
        head: 0,
        force: false,
        reading: false,
        again: false,
        wokenAt: 0,
        local: new LocalCommits(),
        commits: [],
      };
      this.budgets.set(sub.budgetId, b);
    }
    b.subs.add(sub);
  }

  remove(sub: Subscriber): void {
    const b = this.budgets.get(sub.budgetId);
    if (!b) return;
    b.subs.delete(sub);
    if (b.subs.size === 0 && !b.reading) this.budgets.delete(b.id);
  }

  addUser(target: MembershipTarget): void {
    let set = this.users.get(target.userId);
    if (!set) {
      set = new Set();
      this.users.set(target.userId, set);
      this.reconciler.track(target.userId);
    }
    set.add(target);
  }

  removeUser(target: MembershipTarget): void {
    const set = this.users.get(target.userId);
    set?.delete(target);
    if (set?.size === 0) {
      this.users.delete(target.userId);
      this.reconciler.untrack(target.userId);
    }
  }

  /** StreamWaiter: a long-poll is a subscriber that answers once. */
  waitForStream(budgetId: string, userId: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed || signal.aborted) return resolve();
      const waiter: OnceWaiter = new OnceWaiter(budgetId, userId, after, (err?: AppError) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.remove(waiter);
        if (err) reject(err);
        else resolve();
      });
      const onAbort = () => waiter.finish();
      const timer = setTimeout(onAbort, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.add(waiter);
      // The caller's read found nothing; something may have committed since. Read to be sure.
      this.wake(budgetId, 0, true);
    });
  }

  /** Budget ids with local subscribers (for the safety poll and tests). */
  subscribedBudgets(): string[] {
    return [...this.budgets.keys()];
  }

  startSafetyPoll(): void {
    this.poller = setInterval(() => void this.poll(), this.options.safetyPollMs);
    this.poller.unref();
  }

  /** One query for all subscribed budgets; wakes those whose head is ahead of what was read. */
  async poll(): Promise<void> {
    const ids = this.subscribedBudgets();
    if (this.polling || ids.length === 0 || this.closed) return;
    this.polling = true;
    try {
      const rows = await this.sql<{ id: string; last_sequence: number; deleted_at: number | null }[]>`
        SELECT id, last_sequence, deleted_at FROM budgets WHERE id = ANY(${ids}::uuid[])`;
      // wake() reads only if some ready subscriber is behind the head; a deleted budget's
      // subscribers must reach its budget.delete, whatever the head says.
      for (const r of rows) this.wake(r.id, r.last_sequence, r.deleted_at !== null);
    } catch (err) {
      this.options.log.warn({ err }, 'safety poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** Stops the poll and answers every long-poll; sockets are closed by their owner. */
  close(): void {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    for (const b of this.budgets.values()) for (const s of b.subs) s.end();
    this.budgets.clear();
    this.users.clear();
    this.reconciler.close();
  }

  /** Queues a read of `b`; the reads queued in one event-loop turn share one query. */
  private schedule(b: BudgetState): void {
    b.reading = true;
    this.toRead.add(b);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushReads());
  }

  private flushReads(): void {
    this.flushScheduled = false;
    let batch: BudgetState[] = [];
    let rows = 0;
    // A snapshot: what is scheduled while this turn's reads start waits for the next turn.
    const queued = [...this.toRead];
    this.toRead.clear();
    for (const b of queued) {
      batch.push(b);
      rows += Math.min(PAGE_SIZE, Math.max(1, b.head - this.lowestCursor(b)));
      if (batch.length >= MAX_BUDGETS_PER_READ || rows >= MAX_ROWS_PER_READ) {
        void this.read(batch);
        batch = [];
        rows = 0;
      }
    }
    if (batch.length > 0) void this.read(batch);
  }

  /** The smallest cursor of the budget's subscribers, or its head. */
  private lowestCursor(b: BudgetState): number {
    let from = b.head;
    for (const s of b.subs) if (s.cursor < from) from = s.cursor;
    return from;
  }

  /**
   * One query for the pages of several budgets, each from the smallest cursor of its due
   * subscribers; then every subscriber takes its slice. A budget woken again meanwhile, or whose
   * page was full, is queued for another read.
   */
  private async read(batch: BudgetState[]): Promise<void> {
    const jobs: ReadJob[] = [];
    for (const b of batch) {
      b.again = false;
      const due: Subscriber[] = [];
      let from = Number.MAX_SAFE_INTEGER;
      for (const s of b.subs) {
        if (!s.ready() || !(b.force || s.cursor < b.head)) continue;
        due.push(s);
        if (s.cursor < from) from = s.cursor;
      }
      const forced = b.force;
      b.force = false;
      const wokenAt = b.wokenAt;
      b.wokenAt = 0;
      if (due.length === 0 || this.closed) {
        this.readDone(b);
        continue;
      }
      // Never after a (re)LISTEN or a poll that forced a read: the head is unknown then.
      const page = forced ? undefined : b.local.page(from, b.head);
      if (page) {
        this.options.metrics.memoryPages.inc();
        this.deliverSafely({ b, due, from, wokenAt }, page);
      } else jobs.push({ b, due, from, wokenAt });
    }
    if (jobs.length === 0) return;
    let pages: Map<string, StreamEvent[]>;
    try {
      this.options.metrics.logQueries.inc();
      this.options.metrics.logReads.inc(jobs.length);
      pages = await readStreams(
        this.sql,
        jobs.map((j) => ({ budgetId: j.b.id, after: j.from })),
        PAGE_SIZE,
      );
    } catch (err) {
      // The safety poll wakes these budgets again within SAFETY_POLL_MS.
      this.options.log.warn({ err, budgets: jobs.length }, 'stream read failed');
      for (const { b } of jobs) {
        b.force = true;
        this.readDone(b);
      }
      return;
    }
    for (const job of jobs) this.deliverSafely(job, pages.get(job.b.id) ?? []);
  }

  /** A throw while sending must not leave the budget marked as being read (it would never be read again). */
  private deliverSafely(job: ReadJob, page: StreamEvent[]): void {
    try {
      this.deliverPage(job, page);
    } catch (err) {
      this.options.log.error({ err, budgetId: job.b.id }, 'stream delivery failed');
      job.b.force = true; // the safety poll reads it again within SAFETY_POLL_MS
      this.readDone(job.b);
    }
  }

  /** Every due subscriber takes its slice of `page`; the budget is read again if it must be. */
  private deliverPage({ b, due, wokenAt }: ReadJob, page: StreamEvent[]): void {
    const last = page.at(-1)?.sequence ?? 0;
    if (last > b.head) b.head = last;
    let progressed = false;
    for (const s of due) {
      if (!b.subs.has(s) || !s.ready()) continue;
      const before = s.cursor;
      if (s.deliver(page) === 'done') b.subs.delete(s);
      if (s.cursor !== before || !b.subs.has(s)) progressed = true;
    }
    const now = Date.now();
    if (progressed && wokenAt !== 0) this.options.metrics.wakeToSend.observe((now - wokenAt) / 1000);
    // Every ready subscriber now holds the page: the commits it covers are sent.
    while (b.commits.length > 0 && (b.commits[0] as [number, number])[0] <= last) {
      this.options.metrics.commitToSend.observe(Math.max(0, now - (b.commits.shift() as [number, number])[1]) / 1000);
    }
    // Local events every subscriber holds are not needed again.
    b.local.trim(this.lowestCursor(b));
    // A full page: there may be more than the head we know of. (No progress on a full page
    // would mean a hole in the log; never spin on it.)
    if (page.length === PAGE_SIZE && progressed) b.force = true;
    // Subscribers skipped as not ready are woken by their own drain.
    if ((b.again || b.force) && !this.closed) {
      if (b.wokenAt === 0) b.wokenAt = now;
      this.schedule(b);
    } else this.readDone(b);
  }

  private readDone(b: BudgetState): void {
    b.reading = false;
    if (b.subs.size === 0 && this.budgets.get(b.id) === b) this.budgets.delete(b.id);
  }
}
