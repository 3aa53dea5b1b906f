import type { TransactionSql } from '../db/sql.js';
import { type BudgetRow, type CategoryRow, type ExpenseRow, toBudget, toCategory, toExpense } from '../db/rows.js';
import type { ErrorCode } from '../errors/codes.js';
import type { ClientEvent, StreamEvent } from '../protocol/events.js';
import type { AnyRecord } from '../protocol/records.js';
import type { StreamWriter } from './stream-writer.js';

/** Thrown inside an event's savepoint to undo it and answer `conflict` or `rejected`. */
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
  new Refusal('conflict', code, code === 'VERSION_CONFLICT' ? 'version does not match the current record' : 'the record was deleted', record);

export interface ApplyContext {
  tx: TransactionSql;
  actorId: string;
  /** The locked budget row; updated in place when an event changes it. */
  budget: BudgetRow;
  writer: StreamWriter;
  now: number;
}

/**
 * Applies one authorised client event and appends it to the stream, or throws a Refusal.
 * Every statement is scoped to the event's budget, so no event can touch another budget's record.
 */
export async function applyEvent(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  switch (e.eventType) {
    case 'budget.edit':
      return editBudget(ctx, e);
    case 'budget.delete':
      return deleteBudget(ctx, e);
    case 'category.add':
      return addCategory(ctx, e);
    case 'category.edit':
      return editCategory(ctx, e);
    case 'category.delete':
      return deleteCategory(ctx, e);
    case 'expense.add':
      return addExpense(ctx, e);
    case 'expense.edit':
      return editExpense(ctx, e);
    case 'expense.delete':
      return deleteExpense(ctx, e);
  }
}

const append = (ctx: ApplyContext, e: ClientEvent, version: number, record: AnyRecord | null, cascade?: { expenseIds: string[] }) =>
  ctx.writer.append(ctx.tx, {
    budgetId: e.budgetId,
    eventId: e.eventId,
    eventType: e.eventType,
    recordId: e.recordId,
    actorId: ctx.actorId,
    when: e.when,
    version,
    record,
    fingerprint: e.fingerprint,
    ...(cascade ? { cascade } : {}),
  });

async function editBudget(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  if (ctx.budget.version !== e.version) throw conflict('VERSION_CONFLICT', toBudget(ctx.budget));
  const [row] = await ctx.tx<BudgetRow[]>`
    UPDATE budgets SET
      title = ${e.title ?? ctx.budget.title},
      details = ${e.details === undefined ? ctx.budget.details : e.details},
      version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.budgetId} RETURNING *`;
  Object.assign(ctx.budget, row);
  return append(ctx, e, ctx.budget.version, toBudget(ctx.budget));
}

async function deleteBudget(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  if (ctx.budget.owner_id !== ctx.actorId) throw rejected('NOT_OWNER', 'only the owner may delete the budget');
  if (ctx.budget.version !== e.version) throw conflict('VERSION_CONFLICT', toBudget(ctx.budget));
  const [row] = await ctx.tx<BudgetRow[]>`
    UPDATE budgets SET version = version + 1, updated_at = ${ctx.now}, deleted_at = ${ctx.now}
    WHERE id = ${e.budgetId} RETURNING *`;
  Object.assign(ctx.budget, row);
  return append(ctx, e, ctx.budget.version, null);
}

async function addCategory(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const [row] = await ctx.tx<CategoryRow[]>`
    INSERT INTO categories (id, budget_id, name, allocate, created_by, version, created_at, updated_at)
    VALUES (${e.recordId}, ${e.budgetId}, ${e.name as string}, ${e.allocate as string}, ${ctx.actorId}, 1, ${ctx.now}, ${ctx.now})
    ON CONFLICT (id) DO NOTHING RETURNING *`;
  if (!row) throw rejected('RECORD_EXISTS', 'a record with this id already exists');
  return append(ctx, e, 1, toCategory(row));
}

/** Why a version-checked statement matched nothing: gone, deleted, or stale. */
async function explainCategoryMiss(ctx: ApplyContext, e: ClientEvent): Promise<Refusal> {
  const [row] = await ctx.tx<CategoryRow[]>`SELECT * FROM categories WHERE id = ${e.recordId} AND budget_id = ${e.budgetId}`;
  if (!row) return rejected('NOT_FOUND', 'no such category in this budget');
  if (row.deleted) return conflict('RECORD_DELETED', null);
  return conflict('VERSION_CONFLICT', toCategory(row));
}

async function editCategory(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const [row] = await ctx.tx<CategoryRow[]>`
    UPDATE categories SET
      name = coalesce(${e.name ?? null}::text, name),
      allocate = coalesce(${e.allocate ?? null}::numeric, allocate),
      version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number}
    RETURNING *`;
  if (!row) throw await explainCategoryMiss(ctx, e);
  return append(ctx, e, row.version, toCategory(row));
}

async function deleteCategory(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const [row] = await ctx.tx<CategoryRow[]>`
    UPDATE categories SET deleted = true, version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number}
    RETURNING *`;
  if (!row) throw await explainCategoryMiss(ctx, e);
  // Its live expenses go with it; the stream event names them so devices delete them too.
  const expenses = await ctx.tx<{ id: string }[]>`
    UPDATE expenses SET deleted = true, version = version + 1, updated_at = ${ctx.now}
    WHERE category_id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted
    RETURNING id`;
  return append(ctx, e, row.version, null, { expenseIds: expenses.map((x) => x.id).sort() });
}

async function addExpense(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const [row] = await ctx.tx<ExpenseRow[]>`
    INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
    SELECT ${e.recordId}, ${e.budgetId}, c.id, ${e.date as string}, ${e.amount as string}, ${e.note ?? null}, ${ctx.actorId}, 1, ${ctx.now}, ${ctx.now}
    FROM categories c WHERE c.id = ${e.categoryId as string} AND c.budget_id = ${e.budgetId} AND NOT c.deleted
    ON CONFLICT (id) DO NOTHING RETURNING *`;
  if (!row) {
    const [exists] = await ctx.tx`SELECT 1 FROM expenses WHERE id = ${e.recordId}`;
    if (exists) throw rejected('RECORD_EXISTS', 'a record with this id already exists');
    throw rejected('CATEGORY_NOT_FOUND', 'the category is not a live category of this budget');
  }
  return append(ctx, e, 1, toExpense(row));
}

async function explainExpenseMiss(ctx: ApplyContext, e: ClientEvent): Promise<Refusal> {
  const [row] = await ctx.tx<ExpenseRow[]>`SELECT * FROM expenses WHERE id = ${e.recordId} AND budget_id = ${e.budgetId}`;
  if (!row) return rejected('NOT_FOUND', 'no such expense in this budget');
  if (row.deleted) return conflict('RECORD_DELETED', null);
  if (row.version !== e.version) return conflict('VERSION_CONFLICT', toExpense(row));
  return rejected('CATEGORY_NOT_FOUND', 'the category is not a live category of this budget');
}

async function editExpense(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const categoryId = e.categoryId ?? null;
  const [row] = await ctx.tx<ExpenseRow[]>`
    UPDATE expenses SET
      category_id = coalesce(${categoryId}::uuid, category_id),
      date = coalesce(${e.date ?? null}::date, date),
      amount = coalesce(${e.amount ?? null}::numeric, amount),
      note = ${e.note === undefined ? ctx.tx`note` : e.note},
      version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number}
      AND (${categoryId}::uuid IS NULL OR EXISTS (
        SELECT 1 FROM categories c WHERE c.id = ${categoryId}::uuid AND c.budget_id = ${e.budgetId} AND NOT c.deleted))
    RETURNING *`;
  if (!row) throw await explainExpenseMiss(ctx, e);
  return append(ctx, e, row.version, toExpense(row));
}

async function deleteExpense(ctx: ApplyContext, e: ClientEvent): Promise<StreamEvent> {
  const [row] = await ctx.tx<ExpenseRow[]>`
    UPDATE expenses SET deleted = true, version = version + 1, updated_at = ${ctx.now}
    WHERE id = ${e.recordId} AND budget_id = ${e.budgetId} AND NOT deleted AND version = ${e.version as number}
    RETURNING *`;
  if (!row) throw await explainExpenseMiss(ctx, e);
  return append(ctx, e, row.version, null);
}
