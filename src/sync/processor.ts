import type { Sql, TransactionSql } from '../db/sql.js';
import type { BudgetRow } from '../db/rows.js';
import { AppError } from '../errors/app-error.js';
import type { PushMode, PushResult, StreamEvent } from '@budget-sync/protocol';
import { type ClientEvent, type ParsedEvent, hasEventId, parseClientEvent } from '../protocol/events.js';
import { isUnavailable } from '../db/pg-errors.js';
import { type ApplyContext, Refusal, applyEvent, pipelinable } from './apply-event.js';
import { directable, pushDirect } from './direct-push.js';
import { pipelineChanges } from './pipeline.js';
import { participantIds } from './access.js';
import type { ChangeSink, MembershipChange } from './changes.js';
import { type EventRow, StreamWriter } from './stream-writer.js';
import { inTransaction } from './transaction.js';

const UNIQUE_VIOLATION = '23505';

/**
 * How a batch was written: `direct` (one statement, no explicit transaction: direct-push.ts),
 * `pipelined` (in a transaction, its statements in one round trip; a lone one with its COMMIT),
 * `sequential` (one per event: a budget.* event, a retry or refusal decided before any
 * statement), `retried` (pipelined, one statement matched nothing, rolled back and run
 * sequentially) or `careful` (after an unexpected database error, a savepoint per event).
 * `direct-missed`: the one statement wrote nothing (a refusal, a retry, a change committed while
 * it waited for the lock); the batch is then also counted under the path that wrote it.
 */
export type BatchPath = 'direct' | 'direct-missed' | 'pipelined' | 'sequential' | 'retried' | 'careful';

export interface PushObserver {
  /** A batch reached the database, written along `path`. */
  batchWritten(path: BatchPath): void;
  /** A push was answered with these results. */
  pushed(results: readonly PushResult[]): void;
}

const NO_OBSERVER: PushObserver = { batchWritten: () => {}, pushed: () => {} };

/**
 * The one write path for client events: `POST /events` and the socket's `push` both call `push`.
 * It knows nothing of HTTP or sockets: validated raw events and an actor in, results out.
 *
 * One commit per batch; the change sink is told after it. A batch of one budget's record event,
 * or run of adds, is first tried as one statement (direct-push.ts). Otherwise, or when that wrote
 * nothing, one transaction: the budgets involved are locked in id order (so concurrent batches
 * cannot deadlock), the receipts of the batch's eventIds and the actor's memberships are read once
 * under those locks, then the events are applied in order — in one round trip when they allow it
 * (see `applyBatch`).
 */
export class Processor {
  constructor(
    private readonly sql: Sql,
    private readonly sink: ChangeSink,
    /** Told what every push did (metrics); `Metrics` is one. */
    private readonly observer: PushObserver = NO_OBSERVER,
  ) {}

  /**
   * A batch refused whole (400 VALIDATION_FAILED) when an element has no UUID eventId: the eventId is
   * what makes a retry exactly-once, so such a batch cannot be answered event by event.
   */
  async push(rawEvents: unknown[], actorId: string, mode: PushMode = 'stopOnError'): Promise<PushResult[]> {
    const missing = rawEvents.findIndex((e) => !hasEventId(e));
    if (missing !== -1) {
      throw new AppError('VALIDATION_FAILED', 'every event needs a UUID eventId', [
        { path: `/events/${missing}/eventId`, message: 'must be a UUID' },
      ]);
    }
    const results = await this.pushEvents(rawEvents, actorId, mode);
    this.observer.pushed(results);
    return results;
  }

  private async pushEvents(rawEvents: unknown[], actorId: string, mode: PushMode): Promise<PushResult[]> {
    const parsed = rawEvents.map(parseClientEvent);
    // In stopOnError mode nothing after the first invalid event is tried.
    const firstInvalid = mode === 'stopOnError' ? parsed.findIndex((p) => !p.ok) : -1;
    const tried = firstInvalid === -1 ? parsed : parsed.slice(0, firstInvalid);
    const valid = tried.filter((p): p is Extract<ParsedEvent, { ok: true }> => p.ok).map((p) => p.event);

    const results: (PushResult | undefined)[] = new Array(parsed.length);
    parsed.forEach((p, i) => {
      if (!p.ok && (firstInvalid === -1 || i <= firstInvalid)) {
        results[i] = { ...p.ref, status: 'rejected', error: errorBody(p.error) };
      }
    });

    if (valid.length > 0) {
      const applied = await this.applyBatch(valid, actorId, mode);
      let v = 0;
      let stopped = false;
      tried.forEach((p, i) => {
        if (!p.ok) return;
        const r = applied[v++];
        results[i] = r;
        if (r?.status === 'conflict' || r?.status === 'rejected') stopped = true;
      });
      // stopOnError: a conflict or rejection before the first invalid event stopped the batch, so the
      // invalid event was never reached — it is `skipped` like everything else after the stop.
      if (stopped && mode === 'stopOnError' && firstInvalid !== -1) results[firstInvalid] = undefined;
    }
    return parsed.map((p, i) => results[i] ?? { ...(p.ok ? ref(p.event) : p.ref), status: 'skipped' });
  }

  /**
   * Runs the batch optimistically: accepted events write one statement each and refused events
   * write nothing, so no savepoints are needed — they would cost a round trip per event (a batch of
   * 25 is 25 statements instead of 50). First `pipelined`: the record events' statements all in one
   * round trip (`pipelineChanges`); if one of them matched nothing the transaction is rolled back
   * and the batch runs `sequential`, one statement per event, which says why. An unexpected
   * database error (another batch committing the same eventId in another budget's lock, a
   * constraint) aborts the transaction; the batch is then run again in `careful` mode, with a
   * savepoint per event, so that one event cannot sink the rest.
   */
  private async applyBatch(events: ClientEvent[], actorId: string, mode: PushMode): Promise<(PushResult | undefined)[]> {
    const done = (path: BatchPath, results: (PushResult | undefined)[]) => {
      this.observer.batchWritten(path);
      return results;
    };
    // The one statement first, when the batch allows it. When it wrote nothing, the batch was
    // (nearly always) refused, so it goes straight to the path that says why.
    const direct = directable(events);
    if (direct) {
      const writer = await pushDirect(this.sql, actorId, events).catch((err: unknown) => {
        if (isUnavailable(err)) throw err;
        return undefined;
      });
      if (writer) {
        this.sink.committed(writer.pointers(), [], writer.events);
        return done(
          'direct',
          writer.events.map((event, i) => answer(events[i] as ClientEvent, event)),
        );
      }
      this.observer.batchWritten('direct-missed');
    }
    try {
      try {
        const { results, pipelined } = await this.runBatch(events, actorId, mode, direct ? 'sequential' : 'pipelined');
        return done(pipelined ? 'pipelined' : 'sequential', results);
      } catch (err) {
        if (!(err instanceof PipelineMiss)) throw err;
        return done('retried', (await this.runBatch(events, actorId, mode, 'sequential')).results);
      }
    } catch (err) {
      if (isUnavailable(err)) throw err;
      return done('careful', (await this.runBatch(events, actorId, mode, 'careful')).results);
    }
  }

  private async runBatch(
    events: ClientEvent[],
    actorId: string,
    mode: PushMode,
    how: 'pipelined' | 'sequential' | 'careful',
  ): Promise<{ results: (PushResult | undefined)[]; pipelined: boolean }> {
    // Created once the budget rows are locked: serverTime is then the time the batch got its turn,
    // so it orders like the commits and does not count time spent waiting for a connection or lock.
    let writer: StreamWriter | undefined;
    const membership: MembershipChange[] = [];
    let pipelined = false;
    const results = await inTransaction(this.sql, async (tx, commitWith) => {
      const budgetIds = [...new Set(events.map((e) => e.budgetId))].sort();
      // One round trip, in this order: Postgres runs a connection's pipelined statements in order,
      // so the batch's read starts after the locks are held and (READ COMMITTED: a snapshot per
      // statement) sees every change committed before. Not one statement: after a lock wait, FOR
      // UPDATE sees the new version of the locked rows but not of other rows (PG docs, "Read
      // Committed Isolation Level"), so a participants subquery beside it would miss a removal
      // committed by the holder we waited for.
      const locked = tx<BudgetRow[]>`SELECT * FROM budgets WHERE id = ANY(${budgetIds}::uuid[]) ORDER BY id FOR UPDATE`.execute();
      const read = readBatch(
        tx,
        actorId,
        budgetIds,
        events.map((e) => e.eventId),
      );
      const [budgetRows, { member, receipts }] = await Promise.all([locked, read]);
      const budgets = new Map(budgetRows.map((b) => [b.id, b]));
      writer = new StreamWriter(Date.now());
      for (const b of budgets.values()) writer.track(b.id, b.last_sequence);
      const lastOf = new Map(events.map((e) => [e.budgetId, e]));
      const batch: Batch = { tx, actorId, budgets, member, receipts, writer, careful: how === 'careful', lastOf };

      if (how === 'pipelined' && canPipeline(batch, events)) {
        pipelined = true;
        // A miss leaves a hole in the sequences the later statements took, so COMMIT waits for
        // their answers: the batch must be able to roll back. (A lone statement, which could take
        // COMMIT with it, went as the one-statement push.)
        const appended = await pipelineChanges(events.map((e) => ({ ctx: contextOf(batch, e), e })));
        if (!appended) throw new PipelineMiss();
        await commitWith(writer.flush(tx));
        return appended.map((event, i) => answer(events[i] as ClientEvent, event));
      }
      const deleted: string[] = [];
      const out = await applyInOrder(batch, events, mode, deleted);
      // A deleted budget leaves every participant's set of budgets.
      for (const id of deleted) {
        for (const userId of await participantIds(tx, id)) membership.push({ userId, budgetId: id, change: 'removed' });
      }
      await commitWith(writer.flush(tx));
      return out;
    });
    const pointers = writer?.pointers() ?? [];
    if (pointers.length > 0) this.sink.committed(pointers, membership, writer?.events);
    return { results, pipelined };
  }
}

/** What one batch's transaction knows while it applies its events. */
interface Batch {
  tx: TransactionSql;
  actorId: string;
  budgets: Map<string, BudgetRow>;
  member: Set<string>;
  receipts: Map<string, Receipt>;
  writer: StreamWriter;
  /** Savepoint per event (the retry after an unexpected error). */
  careful: boolean;
  /** Each budget's last event in the batch: it writes the budget's head in its own statement. */
  lastOf: Map<string, ClientEvent>;
}

async function applyOne(b: Batch, e: ClientEvent): Promise<PushResult> {
  const receipt = b.receipts.get(e.eventId);
  if (receipt) return answerReceipt(b.tx, e, b.actorId, receipt, b.member);
  const refusal = refusedBeforeStatement(b, e);
  if (refusal) return refused(e, refusal);
  const ctx = contextOf(b, e);
  if (!b.careful) return answer(e, await applyEvent(ctx, e));
  const before = { ...ctx.budget };
  try {
    return answer(e, await b.tx.savepoint((sp) => applyEvent({ ...ctx, tx: sp }, e)));
  } catch (err) {
    Object.assign(ctx.budget, before);
    // Another batch committed this eventId (in another budget's lock) between our read and insert.
    if (isEventIdConflict(err)) {
      const [raced] = [...(await readReceipts(b.tx, [e.eventId])).values()];
      if (raced) return answerReceipt(b.tx, e, b.actorId, raced, b.member);
    }
    throw err;
  }
}

/** A refusal the batch's reads decide without a statement: the budget is gone, or the actor is not in it. */
function refusedBeforeStatement(b: Batch, e: ClientEvent): Refusal | undefined {
  const budget = b.budgets.get(e.budgetId);
  if (!budget || budget.deleted_at !== null) return new Refusal('rejected', 'BUDGET_NOT_FOUND', 'no such budget');
  if (!b.member.has(e.budgetId)) return new Refusal('rejected', 'NOT_PARTICIPANT', 'not a participant of this budget');
  return undefined;
}

/** Thrown inside the transaction (rolling it back) when a pipelined statement matched nothing. */
class PipelineMiss extends Error {}

/**
 * Whether the batch can go as one pipeline: distinct eventIds, and record events that need nothing
 * but their statement (no receipt, a live budget, a participant).
 */
function canPipeline(b: Batch, events: ClientEvent[]): boolean {
  if (new Set(events.map((e) => e.eventId)).size !== events.length) return false;
  return events.every((e) => pipelinable(e) && !b.receipts.has(e.eventId) && refusedBeforeStatement(b, e) === undefined);
}

/** One event after the other; in stopOnError mode nothing after the first conflict or rejection. */
async function applyInOrder(b: Batch, events: ClientEvent[], mode: PushMode, deleted: string[]): Promise<(PushResult | undefined)[]> {
  const out: (PushResult | undefined)[] = [];
  let stopped = false;
  for (const e of events) {
    if (stopped) {
      out.push(undefined);
      continue;
    }
    const result = await applyOne(b, e);
    if (result.status === 'accepted') {
      b.receipts.set(e.eventId, { ...result, fingerprint: e.fingerprint });
      if (e.eventType === 'budget.delete') deleted.push(e.budgetId);
    }
    out.push(result);
    if (mode === 'stopOnError' && (result.status === 'conflict' || result.status === 'rejected')) stopped = true;
  }
  return out;
}

function contextOf(b: Batch, e: ClientEvent): ApplyContext {
  const budget = b.budgets.get(e.budgetId) as BudgetRow;
  return {
    tx: b.tx,
    actorId: b.actorId,
    budget,
    writer: b.writer,
    now: b.writer.serverTime,
    lastForBudget: b.lastOf.get(e.budgetId) === e,
  };
}

function answer(e: ClientEvent, outcome: StreamEvent | Refusal): PushResult {
  if (outcome instanceof Refusal) return refused(e, outcome);
  return { ...ref(e), status: 'accepted', sequence: outcome.sequence, version: outcome.version, record: outcome.record };
}

/** The stored outcome of an accepted eventId. */
interface Receipt {
  eventId: string;
  eventType: string | null;
  budgetId: string | null;
  recordId: string | null;
  sequence?: number;
  version?: number | null;
  record?: PushResult['record'];
  fingerprint: string;
}

const toReceipt = (r: EventRow): Receipt => ({
  eventId: r.event_id,
  eventType: r.event_type,
  budgetId: r.budget_id,
  recordId: r.record_id,
  sequence: r.sequence,
  version: r.version,
  record: r.record,
  fingerprint: r.fingerprint,
});

async function readReceipts(tx: TransactionSql, eventIds: string[]): Promise<Map<string, Receipt>> {
  const rows = await tx<EventRow[]>`SELECT * FROM events WHERE event_id = ANY(${eventIds}::uuid[])`;
  return new Map(rows.map((r) => [r.event_id, toReceipt(r)]));
}

/**
 * What the batch needs to know, as one statement: the budgets of the batch the actor is a
 * participant of, and the receipts of its eventIds (as JSON: one row, whatever the batch).
 */
async function readBatch(
  tx: TransactionSql,
  actorId: string,
  budgetIds: string[],
  eventIds: string[],
): Promise<{ member: Set<string>; receipts: Map<string, Receipt> }> {
  const [row] = await tx<{ member: string[]; receipts: EventRow[] }[]>`
    SELECT
      (SELECT coalesce(json_agg(budget_id), '[]') FROM participants
        WHERE user_id = ${actorId} AND budget_id = ANY(${budgetIds}::uuid[])) AS member,
      (SELECT coalesce(json_agg(e), '[]') FROM events e WHERE event_id = ANY(${eventIds}::uuid[])) AS receipts`.execute();
  return {
    member: new Set(row?.member),
    receipts: new Map((row?.receipts ?? []).map((r) => [r.event_id, toReceipt(r)])),
  };
}

/** A retried eventId: the original outcome, only to a current participant of its budget. */
async function answerReceipt(tx: TransactionSql, e: ClientEvent, actorId: string, r: Receipt, member: Set<string>): Promise<PushResult> {
  let isMember = member.has(r.budgetId as string);
  if (!isMember && r.budgetId !== e.budgetId) {
    const [row] = await tx`SELECT 1 FROM participants WHERE budget_id = ${r.budgetId} AND user_id = ${actorId}`;
    isMember = row !== undefined;
  }
  if (!isMember) return refused(e, new Refusal('rejected', 'NOT_PARTICIPANT', 'not a participant of this budget'));
  if (r.fingerprint !== e.fingerprint) {
    return refused(e, new Refusal('rejected', 'EVENT_ID_REUSED', 'this eventId was accepted before with different content'));
  }
  return {
    eventId: r.eventId,
    eventType: r.eventType,
    budgetId: r.budgetId,
    recordId: r.recordId,
    status: 'duplicate',
    sequence: r.sequence as number,
    version: r.version ?? null,
    record: r.record ?? null,
  };
}

const ref = (e: ClientEvent) => ({ eventId: e.eventId, eventType: e.eventType, budgetId: e.budgetId, recordId: e.recordId });

function refused(e: ClientEvent, r: Refusal): PushResult {
  const result: PushResult = { ...ref(e), status: r.status, error: { code: r.code, message: r.message } };
  if (r.status === 'conflict') result.record = r.record;
  return result;
}

const errorBody = (e: AppError): NonNullable<PushResult['error']> =>
  e.details ? { code: e.code, message: e.message, details: e.details } : { code: e.code, message: e.message };

function isEventIdConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e.code === UNIQUE_VIOLATION && e.constraint_name === 'events_event_id_idx';
}
