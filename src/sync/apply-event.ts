import type { PendingQuery, Row } from 'postgres';
import type { Sql, TransactionSql } from '../db/sql.js';
import { type BudgetRow, type CategoryRow, type ExpenseRow, toBudget, toCategory, toExpense } from '../db/rows.js';
import type { ErrorCode } from '../errors/codes.js';
import type { StreamEvent } from '@budget-sync/protocol';
import type { ClientEvent } from '../protocol/events.js';
import type { AnyRecord } from '@budget-sync/protocol';
import type { StreamWriter } from './stream-writer.js';

/** Answers `conflict` or `rejected` for an event; nothing of it was written. */
export class Refusal {
  constructor(
    readonly status: 'conflict' | 'rejected',
    readonly code: ErrorCode,
    readonly message: string,
    readonly record: AnyRecord | null = null,
  ) {}
}

const rejected = (code: ErrorCode, message: string) => new Refusal('rejected', code, message);
const conflict = (code: 'VERSION_CONFLICT' | 'RECORD_DELETED', record: AnyRecord | null) =>
  new Refusal(
    'conflict',
    code,
    code === 'VERSION_CONFLICT' ? 'version does not match the current record' : 'the record was deleted',
    record,
  );

/** What a record event's statement needs; budget.* events also need the locked row (`ApplyContext`). */
export interface StatementContext {
  /** The batch's transaction, or the pool for the one-statement push (`guard` set). */
  tx: TransactionSql | Sql;
  actorId: string;
  writer: StreamWriter;
  now: number;
  /**
   * The batch's last event for this budget: an accepted change also writes the budget's new head
   * in its own statement, so the batch needs no separate head update (StreamWriter.flush) for it.
   */
  lastForBudget?: boolean;
  /** The one-statement push (direct-push.ts): the checks its statement carries. */
  guard?: Guard;
}

export interface ApplyContext extends StatementContext {
  /** The locked budget row; updated in place when an event changes it. */
  budget: BudgetRow;
}

/**
 * What the one-statement push puts into an event's statement: CTEs before the change (they lock
 * the budget and compute `ok`, one row when every check holds), the condition that gates every
 * write on `ok`, and the locked head the sequences count from.
 */
export interface Guard {
  ctes: PendingQuery<Row[]>;
  condition: PendingQuery<Row[]>;
  /** The budget's head under the lock, as a scalar subquery. */
  head: PendingQuery<Row[]>;
}

/**
 * Applies one authorised client event and appends it to the stream, or returns a Refusal.
 *
 * Each accepted event costs one statement: the change and its log row are one CTE
 * (`WITH r AS (change … RETURNING *) INSERT INTO events … FROM r`), with the record's wire JSON
 * built in SQL. Version checks live in the change's WHERE, so a refused event writes nothing; only
 * when the change matched no row does a second query say why. Every statement is scoped to the
 * event's budget, so no event can touch another budget's record.
 */
export async function applyEvent(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent | Refusal> {
  switch (e.eventType) {
    case 'budget.edit':
      return editBudget(ctx, e);
    case 'budget.delete':
      return deleteBudget(ctx, e);
    default:
      return applyRecordEvent(ctx, e);
  }
}

/** The wire JSON of each record, built from the CTE's row `r` (money as 2-decimal text). */
export const RECORD_JSON = {
  budget: `jsonb_build_object('id', r.id, 'title', r.title, 'details', r.details, 'ownerId', r.owner_id, 'createdBy', r.created_by,
    'version', r.version, 'createdAt', r.created_at, 'updatedAt', r.updated_at)`,
  category: `jsonb_build_object('id', r.id, 'budgetId', r.budget_id, 'name', r.name, 'allocate', r.allocate::text, 'createdBy', r.created_by,
    'version', r.version, 'createdAt', r.created_at, 'updatedAt', r.updated_at)`,
  expense: `jsonb_build_object('id', r.id, 'budgetId', r.budget_id, 'categoryId', r.category_id, 'date', to_char(r.date, 'YYYY-MM-DD'), 'amount', r.amount::text,
    'note', r.note, 'createdBy', r.created_by, 'version', r.version, 'createdAt', r.created_at, 'updatedAt', r.updated_at)`,
  none: 'NULL::jsonb',
} as const;

/** A data-modifying statement `RETURNING *` and what its log row records. */
export interface ChangeSpec {
  change: PendingQuery<Row[]>;
  record: keyof typeof RECORD_JSON;
  /** category.delete: the expenses that go with it (`RETURNING id`), named in the event. */
  cascade?: PendingQuery<Row[]>;
}

export type AppendedRow<T extends Row> = T & { record: AnyRecord | null; cascade_ids: string[] | null };

/**
 * The one statement of an accepted change: the change and, if it matched a row, its log row at
 * `sequence` (and the budget's head, when `bump`). Built, not sent: the caller awaits it alone
 * (`changeAndAppend`), sends a batch's statements together (`pipelineChanges`) or, with
 * `ctx.guard`, sends it as the whole push (direct-push.ts; the row then carries its `seq`).
 */
export function appendStatement(
  ctx: StatementContext,
  e: ClientEvent,
  spec: ChangeSpec,
  sequenceNumber: number,
  bump: boolean,
): PendingQuery<AppendedRow<Row>[]> {
  const { tx, writer, guard } = ctx;
  const { change, record, cascade } = spec;
  const sequence = guard ? tx`(${guard.head} + 1)` : sequenceNumber;
  const json = tx.unsafe(RECORD_JSON[record]);
  const extra = cascade
    ? tx`jsonb_build_object('cascade', jsonb_build_object('expenseIds', coalesce((SELECT jsonb_agg(id ORDER BY id) FROM x), '[]'::jsonb)))`
    : tx`NULL::jsonb`;
  return tx<AppendedRow<Row>[]>`
    WITH ${guard ? guard.ctes : tx``} r AS (${change}),
    ${cascade ? tx`x AS (${cascade}),` : tx``}
    ${bump ? tx`head AS (UPDATE budgets SET last_sequence = ${sequence} WHERE id = ${e.budgetId} AND EXISTS (SELECT 1 FROM r)),` : tx``}
    logged AS (
      INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
      SELECT ${e.budgetId}, ${sequence}, ${e.eventId}, ${e.eventType}, ${e.recordId}, ${ctx.actorId}, ${e.when}, ${writer.serverTime},
             r.version, ${json}, ${extra}, ${e.fingerprint}
      FROM r)
    SELECT r.*, ${json} AS record, ${cascade ? tx`(SELECT array_agg(id ORDER BY id) FROM x)` : tx`NULL::uuid[]`} AS cascade_ids
      ${guard ? tx`, ${sequence} AS seq` : tx``} FROM r`;
}

/** The stream event of an appended row, recorded with the writer. */
export function appendedEvent(
  ctx: StatementContext,
  e: ClientEvent,
  row: AppendedRow<Row>,
  sequence: number,
  bump: boolean,
  cascade: boolean,
): StreamEvent {
  const { writer } = ctx;
  const event: StreamEvent = {
    sequence,
    eventId: e.eventId,
    eventType: e.eventType,
    budgetId: e.budgetId,
    recordId: e.recordId,
    actorId: ctx.actorId,
    when: e.when,
    serverTime: writer.serverTime,
    version: row.version as number,
    record: row.record,
  };
  if (cascade) event.cascade = { expenseIds: row.cascade_ids ?? [] };
  writer.appended(event, bump);
  return event;
}

/** Not for budget.* events: their change is itself an UPDATE of the budget row, and one statement must not update a row twice. */
export const bumps = (ctx: StatementContext, e: ClientEvent) => ctx.lastForBudget === true && !e.eventType.startsWith('budget.');

/**
 * Runs `spec.change` and, if it matched a row, appends the log row in the same statement. Returns
 * the changed row, or undefined when nothing matched.
 */
async function changeAndAppend<T extends Row>(
  ctx: ApplyContext,
  e: ClientEvent,
  spec: ChangeSpec,
): Promise<{ row: T; event: StreamEvent } | undefined> {
  const sequence = ctx.writer.nextSequence(e.budgetId);
  const bump = bumps(ctx, e);
  const [row] = await appendStatement(ctx, e, spec, sequence, bump);
  if (!row) return undefined;
  return { row: row as unknown as T, event: appendedEvent(ctx, e, row, sequence, bump, spec.cascade !== undefined) };
}

/** Whether `pipelineChanges` takes this event type (every record event; budget.* read and update the locked row in memory). */
export const pipelinable = (e: ClientEvent) => !e.eventType.startsWith('budget.');

async function editBudget(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent | Refusal> {
  if (ctx.budget.version !== e.version) return conflict('VERSION_CONFLICT', toBudget(ctx.budget));
  const done = await changeAndAppend<BudgetRow>(ctx, e, {
    change: ctx.tx`
      UPDATE budgets SET
        title = ${e.title ?? ctx.budget.title},
        details = ${e.details === undefined ? ctx.budget.details : e.details},
        version = version + 1, updated_at = ${ctx.now}
      WHERE id = ${e.budgetId} RETURNING *`,
    record: 'budget',
  });
  if (!done) throw new Error('locked budget row vanished');
  Object.assign(ctx.budget, stripExtras(done.row));
  return done.event;
}

async function deleteBudget(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent | Refusal> {
  if (ctx.budget.owner_id !== ctx.actorId) return rejected('NOT_OWNER', 'only the owner may delete the budget');
  if (ctx.budget.version !== e.version) return conflict('VERSION_CONFLICT', toBudget(ctx.budget));
  const done = await changeAndAppend<BudgetRow>(ctx, e, {
    change: ctx.tx`
      UPDATE budgets SET version = version + 1, updated_at = ${ctx.now}, deleted_at = ${ctx.now}
      WHERE id = ${e.budgetId} RETURNING *`,
    record: 'none',
  });
  if (!done) throw new Error('locked budget row vanished');
  Object.assign(ctx.budget, stripExtras(done.row));
  return done.event;
}

/** The CTE adds `record` and `cascade_ids` to the row; the budget row kept in memory must not carry them. */
function stripExtras<T extends Row>(row: T): T {
  const { record: _r, cascade_ids: _c, ...rest } = row as T & { record?: unknown; cascade_ids?: unknown };
  return rest as unknown as T;
}

/**
 * The change of a category.* or expense.* event. Version checks live in its WHERE, so a refused
 * event matches nothing and writes nothing; each is scoped to the event's budget.
 */
export function recordChange(ctx: StatementContext, e: ClientEvent): ChangeSpec {
  const { tx, now } = ctx;
  // The one-statement push writes only when its checks held (`ok`); elsewhere this is empty.
  const gated = ctx.guard ? tx`AND ${ctx.guard.condition}` : tx``;
  switch (e.eventType) {
    case 'category.add':
      return {
        change: tx`
          INSERT INTO categories (id, budget_id, name, allocate, created_by, version, created_at, updated_at)
          SELECT ${e.recordId}, ${e.budgetId}, ${e.name as string}, ${e.allocate as string}, ${ctx.actorId}, 1, ${now}, ${now}
          WHERE true ${gated}
          ON CONFLICT (id) DO NOTHING RETURNING *`,
        record: 'category',
      };
    case 'category.edit':
      return {
        change: tx`
          UPDATE categories SET
            name = coalesce(${e.name ?? null}::text, name),
            allocate = coalesce(${e.allocate ?? null}::numeric, allocate),
            version = version + 1, updated_at = ${now}
          WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number} ${gated}
          RETURNING *`,
        record: 'category',
      };
    case 'category.delete':
      return {
        change: softDelete(ctx, e, 'categories', gated),
        record: 'none',
        // Its live expenses go with it; the stream event names them so devices delete them too.
        cascade: tx`
          UPDATE expenses SET deleted = true, version = version + 1, updated_at = ${now}
          WHERE category_id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND EXISTS (SELECT 1 FROM r)
          RETURNING id`,
      };
    case 'expense.add':
      return {
        change: tx`
          INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
          SELECT ${e.recordId}, ${e.budgetId}, c.id, ${e.date as string}, ${e.amount as string}, ${e.note ?? null}, ${ctx.actorId}, 1, ${now}, ${now}
          FROM categories c WHERE c.id = ${e.categoryId as string} AND c.budget_id = ${e.budgetId} AND NOT c.deleted ${gated}
          ON CONFLICT (id) DO NOTHING RETURNING *`,
        record: 'expense',
      };
    case 'expense.edit': {
      const categoryId = e.categoryId ?? null;
      return {
        change: tx`
          UPDATE expenses SET
            category_id = coalesce(${categoryId}::uuid, category_id),
            date = coalesce(${e.date ?? null}::date, date),
            amount = coalesce(${e.amount ?? null}::numeric, amount),
            note = ${e.note === undefined ? tx`note` : e.note},
            version = version + 1, updated_at = ${now}
          WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number}
            AND (${categoryId}::uuid IS NULL OR EXISTS (
              SELECT 1 FROM categories c WHERE c.id = ${categoryId}::uuid AND c.budget_id = ${e.budgetId} AND NOT c.deleted)) ${gated}
          RETURNING *`,
        record: 'expense',
      };
    }
    case 'expense.delete':
      return { change: softDelete(ctx, e, 'expenses', gated), record: 'none' };
    default:
      throw new Error(`${e.eventType} is not a record event`);
  }
}

/** A version-checked soft delete of one record of the event's budget. */
function softDelete(
  ctx: StatementContext,
  e: ClientEvent,
  table: 'categories' | 'expenses',
  gated: PendingQuery<Row[]>,
): PendingQuery<Row[]> {
  return ctx.tx`
    UPDATE ${ctx.tx(table)} SET deleted = true, version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number} ${gated}
    RETURNING *`;
}

/** A record event one statement at a time; when it matched nothing, a second query says why. */
async function applyRecordEvent(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent | Refusal> {
  const done = await changeAndAppend(ctx, e, recordChange(ctx, e));
  if (done) return done.event;
  if (e.eventType.startsWith('category.')) return explainCategoryMiss(ctx, e);
  return explainExpenseMiss(ctx, e);
}

/** Why a category event matched nothing: the id is taken (add), or the record is gone, deleted or stale. */
async function explainCategoryMiss(ctx: ApplyContext, e: ClientEvent): Promise<Refusal> {
  if (e.eventType === 'category.add') return rejected('RECORD_EXISTS', 'a record with this id already exists');
  const [row] = await ctx.tx<CategoryRow[]>`SELECT * FROM categories WHERE id = ${e.recordId} AND budget_id = ${e.budgetId}`;
  if (!row) return rejected('NOT_FOUND', 'no such category in this budget');
  if (row.deleted) return conflict('RECORD_DELETED', null);
  return conflict('VERSION_CONFLICT', toCategory(row));
}

/** Why an expense event matched nothing: the id is taken or its category is not live (add), or the record is gone, deleted or stale. */
async function explainExpenseMiss(ctx: ApplyContext, e: ClientEvent): Promise<Refusal> {
  if (e.eventType === 'expense.add') {
    const [exists] = await ctx.tx`SELECT 1 FROM expenses WHERE id = ${e.recordId}`;
    if (exists) return rejected('RECORD_EXISTS', 'a record with this id already exists');
    return rejected('CATEGORY_NOT_FOUND', 'the category is not a live category of this budget');
  }
  const [row] = await ctx.tx<ExpenseRow[]>`SELECT * FROM expenses WHERE id = ${e.recordId} AND budget_id = ${e.budgetId}`;
  if (!row) return rejected('NOT_FOUND', 'no such expense in this budget');
  if (row.deleted) return conflict('RECORD_DELETED', null);
  if (row.version !== e.version) return conflict('VERSION_CONFLICT', toExpense(row));
  return rejected('CATEGORY_NOT_FOUND', 'the category is not a live category of this budget');
}
