/**
 * Membership notices ride the same NOTIFY as stream pointers, and a NOTIFY sent while this
 * instance's LISTEN connection is down is lost. The stream recovers from the log (every (re)LISTEN
 * re-reads every subscribed budget); membership recovers here. For every user with a socket on this
 * instance the reconciler holds the budgets that user was last known to belong to; after every
 * (re)LISTEN it reads the participant rows of all those users in ONE query and sends the
 * differences as ordinary `membership` notices. Seen without it: in a 10-minute soak with listener
 * rebuilds under load, a device never heard that its user had joined a budget on the other instance.
 *
 * The baseline of a newly connected user comes from the same kind of read, batched: the users of
 * all sockets opened within one turn of the event loop share one query (a reconnect storm of
 * thousands of sockets costs a handful of reads, never one per socket).
 *
 * Races: a notice for a user that arrives while a read is in flight makes that user's row of the
 * read stale (the read may predate the change); such a user keeps the state the notices built and,
 * if it had no baseline yet, is read again.
 */
import type { Sql } from '../db/sql.js';
import type { Logger } from '../log.js';
import type { MembershipChange } from '../sync/changes.js';

type Change = MembershipChange['change'];

export interface ReconcilerOptions {
  /** Tells every local socket of `userId`. */
  tell(userId: string, budgetId: string, change: Change): void;
  log: Logger;
}

export class MembershipReconciler {
  /** userId → budgets the user's local sockets were last told (or read) they belong to. */
  private readonly known = new Map<string, Set<string>>();
  /** Tracked users still without a baseline. */
  private readonly pending = new Set<string>();
  /** Users that got a notice while the current read was in flight. */
  private readonly touched = new Set<string>();
  private reading = false;
  /** Another read was asked for while one ran: all tracked users (reconcile) or only the pending. */
  private again: 'none' | 'pending' | 'all' = 'none';
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly options: ReconcilerOptions,
  ) {}

  /** The user's first socket on this instance opened. */
  track(userId: string): void {
    if (this.known.has(userId) || this.pending.has(userId)) return;
    this.pending.add(userId);
    this.schedule();
  }

  /** The user's last socket on this instance closed. */
  untrack(userId: string): void {
    this.known.delete(userId);
    this.pending.delete(userId);
  }

  /** A membership notice (local commit or another instance's NOTIFY), already told to the sockets. */
  noticed(userId: string, budgetId: string, change: Change): void {
    if (this.reading) this.touched.add(userId);
    const set = this.known.get(userId);
    if (!set) return;
    if (change === 'added') set.add(budgetId);
    else set.delete(budgetId);
  }

  /** Whether the user's baseline has been read. */
  knows(userId: string): boolean {
    return this.known.has(userId);
  }

  /** After a (re)LISTEN: notices may have been lost; compare every tracked user with the database. */
  reconcile(): Promise<void> {
    return this.read('all');
  }

  close(): void {
    this.closed = true;
    this.known.clear();
    this.pending.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.read('pending');
    });
  }

  private async read(scope: 'pending' | 'all'): Promise<void> {
    if (this.closed) return;
    if (this.reading) {
      if (scope === 'all' || this.again === 'none') this.again = scope;
      return;
    }
    const users = scope === 'all' ? [...this.known.keys(), ...this.pending] : [...this.pending];
    if (users.length === 0) return;
    this.reading = true;
    this.touched.clear();
    try {
      const rows = await this.sql<{ user_id: string; budget_id: string }[]>`
        SELECT p.user_id, p.budget_id::text AS budget_id
        FROM participants p JOIN budgets b ON b.id = p.budget_id
        WHERE p.user_id = ANY(${users}::text[]) AND b.deleted_at IS NULL`;
      const now = new Map<string, Set<string>>(users.map((u) => [u, new Set<string>()]));
      for (const r of rows) now.get(r.user_id)?.add(r.budget_id);
      for (const [userId, budgets] of now) this.settle(userId, budgets);
    } catch (err) {
      // A (re)LISTEN after an outage may race the pool's own reconnect: try again shortly.
      this.options.log.warn({ err, users: users.length }, 'membership read failed, retrying');
      if (this.again !== 'all') this.again = scope;
      await new Promise((r) => setTimeout(r, 500).unref());
    } finally {
      this.reading = false;
    }
    const next = this.again;
    this.again = 'none';
    if (next !== 'none') await this.read(next);
    else if (this.pending.size > 0) this.schedule();
  }

  private settle(userId: string, budgets: Set<string>): void {
    if (this.touched.has(userId)) return; // the read may predate a notice: keep what notices built
    if (this.pending.delete(userId)) {
      this.known.set(userId, budgets);
      return;
    }
    const known = this.known.get(userId);
    if (!known) return; // untracked meanwhile
    for (const b of budgets) if (!known.has(b)) this.options.tell(userId, b, 'added');
    for (const b of known) if (!budgets.has(b)) this.options.tell(userId, b, 'removed');
    this.known.set(userId, budgets);
  }
}
