import type { Row } from 'postgres';
import type { Sql } from '../db/sql.js';
import type { ClientEvent } from '../protocol/events.js';
import {
  type AppendedRow,
  type Guard,
  type StatementContext,
  appendStatement,
  appendedEvent,
  pipelinable,
  recordChange,
} from './apply-event.js';
import { type Planned, runStatement, runs } from './pipeline.js';
import { StreamWriter } from './stream-writer.js';

/**
 * The push a live app sends most — one record event, or one run of adds, for one budget — as ONE
 * statement outside any explicit transaction: it locks the budget, checks the actor, the receipts
 * and (for a run of expenses) the categories, writes the change, its log rows and the head, and
 * commits: one round trip instead of three (BEGIN; lock and read; statement and COMMIT), and two
 * statements fewer for Postgres.
 *
 * Why one statement is safe: under READ COMMITTED a statement reads one snapshot, taken when it
 * starts. After waiting for the budget's lock, `FOR UPDATE` returns the row's newest version, but
 * every other read still sees the snapshot, which would miss a removal or a category deleted by
 * the holder it waited for. Every write of a budget's data (records, members, log) also writes its
 * row (the head at least), so the snapshot is current exactly when the locked version is the one
 * the snapshot sees: the same `ctid`. `ok` has a row only then, and only when the budget is live,
 * the actor a participant and no eventId has a receipt; every write is gated on it. Anything else
 * — a refusal, a retry, a change committed meanwhile, a taken id (an error: a run has no
 * ON CONFLICT, so it writes all or nothing) — writes nothing, and the caller runs the batch in a
 * transaction, which says why.
 */

/** Whether `events` can be one statement: one budget, and one record event or one run of adds. */
export function directable(events: ClientEvent[]): boolean {
  const first = events[0];
  if (!first || !events.every((e) => e.budgetId === first.budgetId && pipelinable(e))) return false;
  if (events.length === 1) return true;
  return new Set(events.map((e) => e.eventId)).size === events.length && runs(events.map((e) => ({ e }))).length === 1;
}

/**
 * Sends the statement. The writer that recorded the events when all were written, `undefined`
 * when none was. A rejection is the statement's error: nothing was written.
 */
export async function pushDirect(sql: Sql, actorId: string, events: ClientEvent[]): Promise<StreamWriter | undefined> {
  // serverTime is when the statement leaves, before any wait for the lock (the transaction path
  // takes it once the lock is held): two pushes racing for one budget may commit in the other
  // order than their serverTimes. Nothing orders by serverTime; the sequence is the order.
  const writer = new StreamWriter(Date.now());
  const { ctx, statement } = directStatement(sql, actorId, events, writer);
  // Rows carry their `seq`; a run's rows come back in no particular order (`ord` is their place).
  const rows: readonly AppendedRow<Row>[] = await statement;
  if (rows.length === 0) return undefined;
  if (rows.length !== events.length) throw new Error(`the one-statement push wrote ${rows.length} of ${events.length} events`);
  const ordered = rows.length === 1 ? rows : [...rows].sort((a, b) => (a.ord as number) - (b.ord as number));
  writer.track((events[0] as ClientEvent).budgetId, (ordered[0] as AppendedRow<Row>).seq - 1);
  for (const [i, row] of ordered.entries()) {
    const e = events[i] as ClientEvent;
    appendedEvent(ctx, e, row, row.seq as number, i === events.length - 1, e.eventType === 'category.delete');
  }
  return writer;
}

/**
 * The statement of a `directable` batch, built, not sent (the ingest bench's floor sends it too),
 * and the context that records what it appended.
 */
export function directStatement(sql: Sql, actorId: string, events: ClientEvent[], writer: StreamWriter) {
  const first = events[0] as ClientEvent;
  const ctx: StatementContext = { tx: sql, actorId, writer, now: writer.serverTime, guard: guard(sql, actorId, events) };
  // Sequences count from 1 here; the statement adds the head it locked.
  const planned: Planned[] = events.map((e, i) => ({ ctx, e, sequence: i + 1, bump: i === events.length - 1 }));
  // Lazy, as the driver's queries are: sent when awaited.
  const statement: PromiseLike<readonly AppendedRow<Row>[]> =
    events.length === 1 ? appendStatement(ctx, first, recordChange(ctx, first), 1, true) : runStatement(planned);
  return { ctx, statement };
}

/** The checks of the statement (see above); a run of expenses also needs every category live. */
function guard(sql: Sql, actorId: string, events: ClientEvent[]): Guard {
  const first = events[0] as ClientEvent;
  const budgetId = first.budgetId;
  const categories =
    events.length > 1 && events[0]?.eventType === 'expense.add' ? [...new Set(events.map((e) => e.categoryId as string))] : [];
  const live = categories.length
    ? sql`AND (SELECT count(*) FROM categories WHERE id = ANY(${categories}::uuid[]) AND budget_id = ${budgetId} AND NOT deleted) = ${categories.length}`
    : sql``;
  // One event: `=`, not `= ANY(array)`. Postgres soon keeps one generic plan for a prepared
  // statement, and the generic plan of `= ANY($n)` (an array of unknown length) scans the whole
  // table when it was made while the table was small — as the log grew the push cost Postgres
  // ~300 µs more (ingest bench, batch 1, empty log).
  const receipt = events.length === 1 ? sql`event_id = ${first.eventId}` : sql`event_id = ANY(${events.map((e) => e.eventId)}::uuid[])`;
  return {
    ctes: sql`
      locked AS MATERIALIZED (SELECT ctid AS at, last_sequence FROM budgets WHERE id = ${budgetId} FOR UPDATE),
      ok AS MATERIALIZED (
        SELECT l.last_sequence AS head FROM locked l JOIN budgets s ON s.ctid = l.at AND s.id = ${budgetId}
        WHERE s.deleted_at IS NULL
          AND EXISTS (SELECT 1 FROM participants WHERE budget_id = ${budgetId} AND user_id = ${actorId})
          AND NOT EXISTS (SELECT 1 FROM events WHERE ${receipt})
          ${live}),`,
    condition: sql`EXISTS (SELECT 1 FROM ok)`,
    head: sql`(SELECT head FROM ok)`,
  };
}
