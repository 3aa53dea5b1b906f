import type { StreamEvent } from '@budget-sync/protocol';
import type { PendingQuery, Row } from 'postgres';
import type { ClientEvent } from '../protocol/events.js';
import {
  type AppendedRow,
  RECORD_JSON,
  type StatementContext,
  appendStatement,
  appendedEvent,
  bumps,
  recordChange,
} from './apply-event.js';

/** One batch item with the sequence it gets if every statement before it is accepted. */
export interface Planned {
  ctx: StatementContext;
  e: ClientEvent;
  sequence: number;
  bump: boolean;
}

/** The event types a run takes: their change is an INSERT that needs nothing of the batch but its rows. */
const RUN_TYPES = new Set(['expense.add', 'category.add']);

/**
 * Several category.* / expense.* events, each already checked against the batch (a participant, a
 * live budget, no receipt), as one round trip: every statement is sent at once with the sequence
 * it gets if all before it are accepted, and Postgres runs them in order (a later statement sees
 * an earlier one's rows). Consecutive adds of one type go as ONE statement for all of them
 * (`runStatement`): per statement, Postgres and the driver pay a fixed cost that a batch of 25
 * adds paid 25 times (docs/benchmarks/2026-12-07.md). Returns their events when every one was
 * accepted; `undefined` as soon as one matched nothing — its sequence is then missing from the
 * log, so the caller must roll the transaction back and apply the batch one event at a time,
 * which says why and keeps the stream gap-free.
 */
export async function pipelineChanges(batch: { ctx: StatementContext; e: ClientEvent }[]): Promise<StreamEvent[] | undefined> {
  const last = new Map<string, number>();
  const planned: Planned[] = batch.map(({ ctx, e }) => {
    const previous = last.get(e.budgetId);
    const sequence = previous === undefined ? ctx.writer.nextSequence(e.budgetId) : previous + 1;
    last.set(e.budgetId, sequence);
    return { ctx, e, sequence, bump: bumps(ctx, e) };
  });
  const groups = runs(planned);
  const sent = groups.map((g) => (g.length === 1 ? one(g[0] as Planned) : runStatement(g).execute()));
  const settled = await Promise.allSettled(sent);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const events: StreamEvent[] = [];
  for (const [i, g] of groups.entries()) {
    const rows = (settled[i] as PromiseFulfilledResult<(AppendedRow<Row> & { ord?: number })[]>).value;
    if (rows.length !== g.length) return undefined;
    // A run's rows come back in no particular order: `ord` is each one's place in the run.
    const ordered = g.length === 1 ? rows : [...rows].sort((a, b) => (a.ord as number) - (b.ord as number));
    for (const [k, p] of g.entries()) {
      const row = ordered[k] as AppendedRow<Row>;
      events.push(appendedEvent(p.ctx, p.e, row, p.sequence, p.bump, p.e.eventType === 'category.delete'));
    }
  }
  return events;
}

/** The statement of one event, sent now. */
function one(p: Planned) {
  return appendStatement(p.ctx, p.e, recordChange(p.ctx, p.e), p.sequence, p.bump).execute();
}

/**
 * Splits the batch into runs: consecutive adds of one type with distinct record ids (a repeated
 * id must be refused as RECORD_EXISTS by the event-at-a-time path, and one INSERT cannot tell the
 * two rows apart), every other event alone.
 */
export function runs<T extends { e: ClientEvent }>(planned: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let ids = new Set<string>();
  for (const p of planned) {
    const head = current[0];
    const joins = head !== undefined && RUN_TYPES.has(p.e.eventType) && p.e.eventType === head.e.eventType && !ids.has(p.e.recordId);
    if (!joins) {
      if (current.length > 0) out.push(current);
      current = [];
      ids = new Set();
    }
    current.push(p);
    ids.add(p.e.recordId);
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * One INSERT for a run of adds, and their log rows, and the heads of the budgets whose last event
 * is in the run — the same rows, log JSON and heads as one statement per event, from the run's
 * values as one JSON parameter. An expense whose category is not a live category of its budget,
 * or an id that exists, is not inserted: the run then returns fewer rows than it has events (a
 * miss), and writes no head.
 */
export function runStatement(run: Planned[]): PendingQuery<(AppendedRow<Row> & { ord: number })[]> {
  const first = run[0] as Planned;
  const { tx, actorId, writer, guard } = first.ctx;
  const now = writer.serverTime;
  const type = first.e.eventType;
  const values = tx.json(
    run.map((p, ord) => ({
      ord,
      id: p.e.recordId,
      budget_id: p.e.budgetId,
      category_id: p.e.categoryId ?? null,
      name: p.e.name ?? null,
      allocate: p.e.allocate ?? null,
      date: p.e.date ?? null,
      amount: p.e.amount ?? null,
      note: p.e.note ?? null,
      event_id: p.e.eventId,
      seq: p.sequence,
      client_when: p.e.when,
      fingerprint: p.e.fingerprint,
      bump: p.bump,
    })) as never,
  );
  // The one-statement push commits whatever its statement wrote, so a run there must write all or
  // nothing: its checks (`ok`) have made sure every category is live, and a taken id fails the
  // statement (no ON CONFLICT) instead of leaving a hole in the sequences.
  const gated = guard ? tx`WHERE ${guard.condition}` : tx``;
  const onConflict = guard ? tx`` : tx`ON CONFLICT (id) DO NOTHING`;
  // In a guarded run the JSON's `seq` counts from 1 and the locked head is added here.
  const seq = guard ? tx`v.seq + ${guard.head}` : tx`v.seq`;
  const change =
    type === 'expense.add'
      ? tx`
        INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
        SELECT v.id, v.budget_id, c.id, v.date, v.amount, v.note, ${actorId}, 1, ${now}, ${now}
        FROM v JOIN categories c ON c.id = v.category_id AND c.budget_id = v.budget_id AND NOT c.deleted ${gated}
        ORDER BY v.ord
        ${onConflict} RETURNING *`
      : tx`
        INSERT INTO categories (id, budget_id, name, allocate, created_by, version, created_at, updated_at)
        SELECT v.id, v.budget_id, v.name, v.allocate, ${actorId}, 1, ${now}, ${now} FROM v ${gated} ORDER BY v.ord
        ${onConflict} RETURNING *`;
  const json = tx.unsafe(RECORD_JSON[type === 'expense.add' ? 'expense' : 'category']);
  return tx<(AppendedRow<Row> & { ord: number })[]>`
    WITH ${guard ? guard.ctes : tx``} v AS (
      SELECT * FROM jsonb_to_recordset(${values}) AS v(
        ord int, id uuid, budget_id uuid, category_id uuid, name text, allocate numeric, date date, amount numeric, note text,
        event_id uuid, seq bigint, client_when bigint, fingerprint text, bump boolean)),
    r AS (${change}),
    head AS (
      UPDATE budgets b SET last_sequence = ${seq} FROM v
      WHERE v.bump AND b.id = v.budget_id AND (SELECT count(*) FROM r) = ${run.length}),
    logged AS (
      INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
      SELECT v.budget_id, ${seq}, v.event_id, ${type}, v.id::text, ${actorId}, v.client_when, ${now}, r.version, ${json}, NULL::jsonb, v.fingerprint
      FROM r JOIN v ON v.id = r.id ORDER BY v.ord)
    SELECT v.ord, r.*, ${json} AS record, NULL::uuid[] AS cascade_ids ${guard ? tx`, ${seq} AS seq` : tx``} FROM r JOIN v ON v.id = r.id`;
}
