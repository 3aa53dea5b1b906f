/**
 * Tells the other instances, after commit, which budgets grew and whose membership changed.
 *
 * Why not NOTIFY in the write transaction: it takes Postgres's global notify lock through the
 * commit's WAL flush and serialises every writer (−21% write throughput at 1 writer, −54…−67% at 8–32;
 * docs/dependencies.md, "Postgres LISTEN/NOTIFY"). Here,
 * pending pointers are coalesced (max sequence per budget) with membership changes and the
 * instance's heartbeat, and go out as ONE `SELECT pg_notify(...)` statement, its own transaction, on
 * a connection of its own with `synchronous_commit = off` (the data is already durable; the ping need
 * not be: ~7% writer cost, docs/architecture.md, "Fan-out"). One round trip per send: a `BEGIN; SET LOCAL
 * ...; COMMIT` around it cost three. At most one such transaction is in flight; the
 * next starts as soon as it ends, with whatever piled up meanwhile — no timer, no added delay.
 *
 * A failed send (database down) keeps membership changes and pointers for the next attempt after
 * RETRY_MS. A lost pointer only costs latency (the safety poll finds it within SAFETY_POLL_MS); a
 * lost membership change would cost another instance's `membership` notice, hence the retry.
 */
import { type Sql, createSql } from '../db/sql.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { CommittedPointer, MembershipChange } from '../sync/changes.js';
import { encodeNotice } from './notify-payload.js';

const RETRY_MS = 500;

/**
 * The notifier's connection: one (sends are one at a time), committing without waiting for the WAL
 * flush — set for the session at connect, so each send is a single autocommit statement.
 */
export function createNotifierSql(url: string, applicationName = 'budget-sync-notifier'): Sql {
  return createSql(url, { max: 1, applicationName, settings: { synchronous_commit: 'off' } });
}
/** Membership changes kept while Postgres is unreachable; beyond this the oldest are dropped. */
const MAX_PENDING_MEMBERSHIP = 10_000;

/** The fraction of the cluster-wide NOTIFY queue in use: a listener that stopped reading pins it. */
export async function notifyQueueUsage(sql: Sql): Promise<number> {
  const [row] = await sql<{ usage: number }[]>`SELECT pg_notification_queue_usage() AS usage`;
  return row?.usage ?? 0;
}

export class Notifier {
  /** budgetId → the newest sequence, and when the oldest commit not yet sent happened. */
  private pointers = new Map<string, { sequence: number; committedAt: number | undefined }>();
  private membership: MembershipChange[] = [];
  private heartbeat: number | undefined;
  private inFlight: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly channel: string,
    readonly instanceId: string,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Queues pointers and membership changes; sends at once unless a send is in flight. */
  publish(pointers: CommittedPointer[], membership: MembershipChange[]): void {
    if (this.closed) return;
    for (const p of pointers) this.merge(p);
    this.membership.push(...membership);
    if (this.membership.length > MAX_PENDING_MEMBERSHIP) this.membership.splice(0, this.membership.length - MAX_PENDING_MEMBERSHIP);
    this.kick();
  }

  /** Queues this instance's heartbeat (the listener's watchdog waits for it to come back). */
  sendHeartbeat(n: number): void {
    if (this.closed) return;
    this.heartbeat = n;
    this.kick();
  }

  /** Sends what is pending (bounded by `timeoutMs`) and stops. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    this.kick();
    await Promise.race([this.idle(), deadline]);
    this.closed = true;
  }

  private async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** Coalesces: the newest sequence wins, the oldest commit time stays (the metric over-states, never hides). */
  private merge(p: CommittedPointer): void {
    const had = this.pointers.get(p.budgetId);
    if (!had) this.pointers.set(p.budgetId, { sequence: p.sequence, committedAt: p.committedAt });
    else {
      if (p.sequence > had.sequence) had.sequence = p.sequence;
      if (p.committedAt !== undefined && (had.committedAt === undefined || p.committedAt < had.committedAt))
        had.committedAt = p.committedAt;
    }
  }

  private get pending(): boolean {
    return this.pointers.size > 0 || this.membership.length > 0 || this.heartbeat !== undefined;
  }

  private kick(): void {
    if (this.inFlight || this.retry || !this.pending || this.closed) return;
    this.inFlight = this.sendLoop().finally(() => {
      this.inFlight = undefined;
    });
  }

  private async sendLoop(): Promise<void> {
    while (this.pending && !this.closed) {
      const pointers: CommittedPointer[] = [...this.pointers].map(([budgetId, p]) =>
        p.committedAt === undefined ? { budgetId, sequence: p.sequence } : { budgetId, sequence: p.sequence, committedAt: p.committedAt },
      );
      const membership = this.membership;
      const heartbeat = this.heartbeat;
      this.pointers = new Map();
      this.membership = [];
      this.heartbeat = undefined;
      const payloads = encodeNotice({ instanceId: this.instanceId, heartbeat, pointers, membership });
      try {
        await this.sql`SELECT pg_notify(${this.channel}, p) FROM unnest(${payloads}::text[]) AS p`;
        this.metrics.notifiesSent.inc(payloads.length);
      } catch (err) {
        this.metrics.notifyFailures.inc();
        this.log.warn({ err, pointers: pointers.length, membership: membership.length }, 'notify failed, retrying');
        // Put back what matters; newer pointers that arrived meanwhile win.
        for (const p of pointers) this.merge(p);
        this.membership.unshift(...membership);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, RETRY_MS);
        this.retry.unref();
        return;
      }
    }
  }
}
