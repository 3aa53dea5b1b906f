/**
 * Access checks of socket `subscribe`s, batched: every (budget, user) pair asked in one event-loop
 * turn is answered by one query, so a reconnect storm (5,000 sockets subscribing within seconds)
 * costs a few queries, not one per socket queued behind the writes.
 *
 * Each caller gets exactly what `requireParticipant(sql, budgetId, userId)` gives: the same
 * `accessFrom` mapping, and a refusal confirmed by the same `confirmRefusal` (a second read in a
 * transaction of its own; BUDGET_SYNC_ACCESS_RECHECK if it disagrees). Refusals are rare on
 * reconnect: the devices were subscribed before.
 */
import type { Sql } from '../db/sql.js';
import { isUuid } from '../protocol/primitives.js';
import { type Access, type AccessRow, accessFrom, confirmRefusal, requireParticipant } from './access.js';

/**
 * Distinct pairs per query. The pairs travel as two array parameters, so no bind-parameter limit
 * decides it; spreading the work does: a storm of 5,000 sockets becomes 10 queries, which the
 * request pool's default 10 connections (DATABASE_POOL_MAX) run side by side instead of one
 * connection reading 5,000 rows while nine idle, and each result (at most 500 budget rows) is parsed
 * on the event loop in its own slice rather than in one long one. Other sizes were not measured.
 */
export const MAX_PAIRS_PER_QUERY = 500;

interface Caller {
  resolve(access: Access): void;
  reject(err: unknown): void;
}

/** One distinct pair of a batch and everyone who asked for it. */
interface Pair {
  budgetId: string;
  userId: string;
  callers: Caller[];
}

/** A batch row: the pair's 1-based position, then the columns of the single query (all null when the budget does not exist). */
type BatchRow = Omit<AccessRow, 'id'> & { id: string | null; pair: number };

export class AccessBatcher {
  /** This turn's pairs by lower-cased budget id (uuid input ignores case) and user id (case matters). */
  private pending = new Map<string, Pair>();

  constructor(private readonly sql: Sql) {}

  /** What `requireParticipant(sql, budgetId, userId)` answers, read together with this turn's other pairs. */
  check(budgetId: string, userId: string): Promise<Access> {
    // The `::uuid[]` cast of a malformed id would fail every pair of the batch; alone it fails only
    // its caller, as it always did. (The socket validates ids first; this keeps the contract exact.)
    if (!isUuid(budgetId)) return requireParticipant(this.sql, budgetId, userId);
    return new Promise<Access>((resolve, reject) => {
      const key = `${budgetId.toLowerCase()} ${userId}`;
      let pair = this.pending.get(key);
      if (!pair) {
        if (this.pending.size === 0) setImmediate(() => this.flush());
        pair = { budgetId, userId, callers: [] };
        this.pending.set(key, pair);
      }
      pair.callers.push({ resolve, reject });
    });
  }

  private flush(): void {
    const pairs = [...this.pending.values()];
    this.pending = new Map();
    for (let i = 0; i < pairs.length; i += MAX_PAIRS_PER_QUERY) this.answer(pairs.slice(i, i + MAX_PAIRS_PER_QUERY));
  }

  /**
   * Every pair's answer derives from the one read, so a failed read (Postgres away, the pool ended)
   * rejects each caller with the error the single query would have given, and nothing is left pending.
   */
  private answer(pairs: Pair[]): void {
    const rows = this.read(pairs);
    for (const [i, pair] of pairs.entries()) {
      const answer = rows.then(async (found) => accessFrom(await confirmRefusal(this.sql, pair.budgetId, pair.userId, found[i])));
      answer.then(
        (access) => {
          for (const c of pair.callers) c.resolve(access);
        },
        (err: unknown) => {
          for (const c of pair.callers) c.reject(err);
        },
      );
    }
  }

  /** The rows of `pairs`, in their order; a pair without a row reads as refused (and is then confirmed). */
  private async read(pairs: Pair[]): Promise<(AccessRow | undefined)[]> {
    const rows = await this.sql<BatchRow[]>`
      SELECT v.pair, b.*, p.role
      FROM unnest(${pairs.map((p) => p.budgetId)}::uuid[], ${pairs.map((p) => p.userId)}::text[])
        WITH ORDINALITY AS v(budget_id, user_id, pair)
      LEFT JOIN budgets b ON b.id = v.budget_id
      LEFT JOIN participants p ON p.budget_id = b.id AND p.user_id = v.user_id`;
    const found = new Array<AccessRow | undefined>(pairs.length);
    for (const { pair, ...row } of rows) found[pair - 1] = row.id === null ? undefined : (row as AccessRow);
    return found;
  }
}
