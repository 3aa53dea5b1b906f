import type { Sql } from '../db/sql.js';
import {
  type CategoryRow,
  type ExpenseRow,
  type ParticipantRow,
  type BudgetRow,
  toBudget,
  toCategory,
  toExpense,
  toParticipant,
} from '../db/rows.js';
import { AppError } from '../errors/app-error.js';
import type { StreamEvent } from '@budget-sync/protocol';
import { requireParticipant, requireParticipantIn } from './access.js';
import { type EventRow, toStreamEvent } from './stream-writer.js';

/**
 * Every read of a budget: scoped to the budget in the path and to current participants, keyset
 * paginated where a list can grow, and served from indexes (see the initial migration).
 */
export class Reads {
  constructor(private readonly sql: Sql) {}

  async budgets(userId: string, key: string | undefined, count: number) {
    const rows = await this.sql<BudgetRow[]>`
      SELECT b.* FROM participants p JOIN budgets b ON b.id = p.budget_id
      WHERE p.user_id = ${userId} AND b.deleted_at IS NULL ${key ? this.sql`AND p.budget_id > ${key}` : this.sql``}
      ORDER BY p.budget_id LIMIT ${count + 1}`;
    const page = rows.slice(0, count);
    return { budgets: page.map(toBudget), nextKey: rows.length > count ? (page.at(-1)?.id ?? null) : null };
  }

  async budget(userId: string, budgetId: string) {
    const { budget } = await requireParticipant(this.sql, budgetId, userId);
    return { budget: toBudget(budget), lastSequence: budget.last_sequence };
  }

  async lastSequence(userId: string, budgetId: string) {
    const { budget } = await requireParticipant(this.sql, budgetId, userId);
    return { budgetId, lastSequence: budget.last_sequence };
  }

  /** One consistent read: the stream after `lastSequence` applied on top gives the current state. */
  async snapshot(userId: string, budgetId: string) {
    return this.sql.begin('isolation level repeatable read read only', async (tx) => {
      const { budget } = await requireParticipantIn(tx, budgetId, userId);
      const [participants, categories, expenses] = await Promise.all([
        tx<ParticipantRow[]>`
          SELECT p.*, u.first_name, u.last_name, u.photo FROM participants p LEFT JOIN users u ON u.id = p.user_id
          WHERE p.budget_id = ${budgetId} ORDER BY p.joined_at, p.user_id`,
        tx<CategoryRow[]>`SELECT * FROM categories WHERE budget_id = ${budgetId} AND NOT deleted ORDER BY id`,
        tx<ExpenseRow[]>`SELECT * FROM expenses WHERE budget_id = ${budgetId} AND NOT deleted ORDER BY id`,
      ]);
      return {
        budget: toBudget(budget),
        participants: participants.map(toParticipant),
        categories: categories.map(toCategory),
        expenses: expenses.map(toExpense),
        lastSequence: budget.last_sequence,
      };
    });
  }

  async participants(userId: string, budgetId: string) {
    await requireParticipant(this.sql, budgetId, userId);
    const rows = await this.sql<ParticipantRow[]>`
      SELECT p.*, u.first_name, u.last_name, u.photo FROM participants p LEFT JOIN users u ON u.id = p.user_id
      WHERE p.budget_id = ${budgetId} ORDER BY p.joined_at, p.user_id`;
    return { participants: rows.map(toParticipant) };
  }

  async participant(userId: string, budgetId: string, participantId: string) {
    await requireParticipant(this.sql, budgetId, userId);
    const [row] = await this.sql<ParticipantRow[]>`
      SELECT p.*, u.first_name, u.last_name, u.photo FROM participants p LEFT JOIN users u ON u.id = p.user_id
      WHERE p.budget_id = ${budgetId} AND p.user_id = ${participantId}`;
    if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', 'not a participant of this budget');
    return { participant: toParticipant(row) };
  }

  async categories(userId: string, budgetId: string) {
    await requireParticipant(this.sql, budgetId, userId);
    const rows = await this.sql<CategoryRow[]>`SELECT * FROM categories WHERE budget_id = ${budgetId} AND NOT deleted ORDER BY id`;
    return { categories: rows.map(toCategory) };
  }

  async category(userId: string, budgetId: string, categoryId: string) {
    await requireParticipant(this.sql, budgetId, userId);
    const [row] = await this.sql<CategoryRow[]>`
      SELECT * FROM categories WHERE id = ${categoryId} AND budget_id = ${budgetId} AND NOT deleted`;
    if (!row) throw new AppError('CATEGORY_NOT_FOUND', 'no such category in this budget');
    return { category: toCategory(row) };
  }

  async expenses(userId: string, budgetId: string, key: string | undefined, count: number) {
    await requireParticipant(this.sql, budgetId, userId);
    const rows = await this.sql<ExpenseRow[]>`
      SELECT * FROM expenses WHERE budget_id = ${budgetId} AND NOT deleted ${key ? this.sql`AND id > ${key}` : this.sql``}
      ORDER BY id LIMIT ${count + 1}`;
    const page = rows.slice(0, count);
    return { expenses: page.map(toExpense), nextKey: rows.length > count ? (page.at(-1)?.id ?? null) : null };
  }

  async expense(userId: string, budgetId: string, expenseId: string) {
    await requireParticipant(this.sql, budgetId, userId);
    const [row] = await this.sql<ExpenseRow[]>`SELECT * FROM expenses WHERE id = ${expenseId} AND budget_id = ${budgetId} AND NOT deleted`;
    if (!row) throw new AppError('EXPENSE_NOT_FOUND', 'no such expense in this budget');
    return { expense: toExpense(row) };
  }

  /**
   * Exact decimal sums per live category and in total; `from`/`to` bound the expense date, inclusive.
   * Sums are unbounded `numeric` rounded to 2 places (a fixed precision such as numeric(14,2)
   * overflows — a 500 — once a category holds ~100 maximal amounts).
   */
  async summary(userId: string, budgetId: string, from: string | null, to: string | null) {
    await requireParticipant(this.sql, budgetId, userId);
    const rows = await this.sql<{ id: string; name: string; allocate: string; spent: string; remaining: string; count: number }[]>`
      SELECT c.id, c.name, c.allocate,
             round(coalesce(s.spent, 0), 2)::text AS spent,
             round(c.allocate - coalesce(s.spent, 0), 2)::text AS remaining,
             coalesce(s.count, 0)::int AS count
      FROM categories c
      LEFT JOIN LATERAL (
        SELECT sum(e.amount) AS spent, count(*) AS count FROM expenses e
        WHERE e.category_id = c.id AND e.budget_id = ${budgetId} AND NOT e.deleted
          AND (${from}::date IS NULL OR e.date >= ${from}::date) AND (${to}::date IS NULL OR e.date <= ${to}::date)
      ) s ON true
      WHERE c.budget_id = ${budgetId} AND NOT c.deleted
      ORDER BY c.name, c.id`;
    const [totals] = await this.sql<{ allocate: string; spent: string; remaining: string }[]>`
      SELECT round(coalesce(sum(allocate), 0), 2)::text AS allocate,
             round(coalesce(sum(spent), 0), 2)::text AS spent,
             round(coalesce(sum(allocate), 0) - coalesce(sum(spent), 0), 2)::text AS remaining
      FROM unnest(${rows.map((r) => r.allocate)}::numeric[], ${rows.map((r) => r.spent)}::numeric[]) AS t(allocate, spent)`;
    return {
      budgetId,
      from,
      to,
      categories: rows.map((r) => ({
        categoryId: r.id,
        name: r.name,
        allocate: r.allocate,
        spent: r.spent,
        remaining: r.remaining,
        count: r.count,
      })),
      totals: { ...(totals as { allocate: string; spent: string; remaining: string }), count: rows.reduce((n, r) => n + r.count, 0) },
    };
  }

  /** The stream after `key`, ascending, at most `count`; `hasMore` when more existed at read time. */
  async events(userId: string, budgetId: string, key: number, count: number) {
    const { budget } = await requireParticipant(this.sql, budgetId, userId);
    const events = key >= budget.last_sequence ? [] : await readStream(this.sql, budgetId, key, count);
    const nextKey = events.at(-1)?.sequence ?? key;
    return { budgetId, key, nextKey, events, hasMore: budget.last_sequence > nextKey, lastSequence: budget.last_sequence };
  }
}

/** One page of a budget's stream from the log's primary key (budget_id, sequence). */
export async function readStream(sql: Sql, budgetId: string, after: number, limit: number): Promise<StreamEvent[]> {
  const rows = await sql<EventRow[]>`
    SELECT * FROM events WHERE budget_id = ${budgetId} AND sequence > ${after} ORDER BY sequence LIMIT ${limit}`;
  return rows.map(toStreamEvent);
}

/**
 * One page of each of several budgets' streams in ONE query (the hub's wake-ups of one event-loop
 * turn): a LATERAL index range scan per budget, so each costs what `readStream` would. Returns the
 * pages by budget id, ascending; budgets with nothing after their cursor are absent.
 */
export async function readStreams(
  sql: Sql,
  reads: { budgetId: string; after: number }[],
  limit: number,
): Promise<Map<string, StreamEvent[]>> {
  const rows = await sql<EventRow[]>`
    SELECT e.* FROM unnest(${reads.map((r) => r.budgetId)}::uuid[], ${reads.map((r) => r.after)}::bigint[]) AS v(budget_id, after)
    CROSS JOIN LATERAL (
      SELECT * FROM events WHERE budget_id = v.budget_id AND sequence > v.after ORDER BY sequence LIMIT ${limit}) e`;
  const pages = new Map<string, StreamEvent[]>();
  let sorted = true;
  for (const r of rows) {
    const page = pages.get(r.budget_id);
    if (!page) pages.set(r.budget_id, [toStreamEvent(r)]);
    else {
      if ((page.at(-1) as StreamEvent).sequence > r.sequence) sorted = false;
      page.push(toStreamEvent(r));
    }
  }
  // A nested loop keeps each budget's rows in index order; SQL does not promise it, so check.
  if (!sorted) for (const page of pages.values()) page.sort((a, b) => a.sequence - b.sequence);
  return pages;
}
