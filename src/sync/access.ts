import type { Sql, TransactionSql } from '../db/sql.js';
import type { BudgetRow } from '../db/rows.js';
import { AppError } from '../errors/app-error.js';
import type { Role } from '@budget-sync/protocol';

export interface Access {
  budget: BudgetRow;
  role: Role;
}

/**
 * The budget and the caller's role, read on the pool, or the error the protocol prescribes (docs/protocol.md): 404
 * BUDGET_NOT_FOUND for a missing or deleted budget, 403 NOT_PARTICIPANT for anyone who is not a
 * participant right now. A refusal is confirmed by `confirmRefusal` before it is given.
 */
export async function requireParticipant(sql: Sql, budgetId: string, userId: string): Promise<Access> {
  return accessFrom(await confirmRefusal(sql, budgetId, userId, await accessRow(sql, budgetId, userId, false)));
}

/**
 * The same answer read inside the caller's transaction, whose snapshot (and, with `lock`, the budget
 * row lock that every membership change also takes) decides: no second read, which would only
 * repeat the snapshot in a savepoint. A separate function rather than a test of the handle: the
 * driver's transactions have `begin` (a savepoint) like the pool, so only the type tells them apart.
 */
export async function requireParticipantIn(tx: TransactionSql, budgetId: string, userId: string, lock = false): Promise<Access> {
  return accessFrom(await accessRow(tx, budgetId, userId, lock));
}

/**
 * A refusal makes a client drop the budget's data and its unsent edits, so it is confirmed in a
 * transaction of its own before it is given; returns the row to answer from. Seen twice in the
 * convergence suite right after a Postgres restart: an existing budget answered as missing (under
 * investigation; the warning says whether the confirmation disagreed). Shared with AccessBatcher.
 */
export async function confirmRefusal(
  sql: Sql,
  budgetId: string,
  userId: string,
  row: AccessRow | undefined,
): Promise<AccessRow | undefined> {
  if (!refused(row)) return row;
  const again = await sql.begin((tx) => accessRow(tx, budgetId, userId, false));
  if (!refused(again))
    process.emitWarning(`access to budget ${budgetId} for ${userId} read as refused, then granted on a second read`, {
      code: 'BUDGET_SYNC_ACCESS_RECHECK',
    });
  return again;
}

/** A budget row joined with the caller's role (null when not a participant). */
export type AccessRow = BudgetRow & { role: Role | null };

/** The Access a row grants, or the refusal it means (the one mapping, shared with AccessBatcher). */
export function accessFrom(row: AccessRow | undefined): Access {
  if (!row || row.deleted_at !== null) throw new AppError('BUDGET_NOT_FOUND', 'no such budget');
  if (!row.role) throw new AppError('NOT_PARTICIPANT', 'not a participant of this budget');
  const { role, ...budget } = row;
  return { budget, role };
}

async function accessRow(sql: Sql | TransactionSql, budgetId: string, userId: string, lock: boolean): Promise<AccessRow | undefined> {
  const rows = lock
    ? await sql<AccessRow[]>`
        SELECT b.*, (SELECT role FROM participants WHERE budget_id = b.id AND user_id = ${userId}) AS role
        FROM budgets b WHERE b.id = ${budgetId} FOR UPDATE`
    : await sql<AccessRow[]>`
        SELECT b.*, p.role FROM budgets b LEFT JOIN participants p ON p.budget_id = b.id AND p.user_id = ${userId}
        WHERE b.id = ${budgetId}`;
  return rows[0];
}

const refused = (row: AccessRow | undefined): boolean => !row || row.deleted_at !== null || !row.role;

export function requireOwner(access: Access): void {
  if (access.role !== 'owner') throw new AppError('NOT_OWNER', 'only the owner may do this');
}

/** Everyone in a budget right now. */
export async function participantIds(sql: Sql | TransactionSql, budgetId: string): Promise<string[]> {
  return (await sql<{ user_id: string }[]>`SELECT user_id FROM participants WHERE budget_id = ${budgetId}`).map((r) => r.user_id);
}
