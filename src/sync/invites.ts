import { createHash, randomBytes } from 'node:crypto';
import type { Sql, TransactionSql } from '../db/sql.js';
import { AppError } from '../errors/app-error.js';
import { requireOwner, requireParticipant, requireParticipantIn } from './access.js';
import type { InviteSummary } from '@budget-sync/protocol';

/**
 * Invite tokens and who they admit. A token is 192 random bits, shown once to its creator and
 * stored only as its SHA-256. An invite admits while it is not revoked, not expired, not used up
 * and its budget is live — and, for a user the owner removed, only when the current owner made it
 * after that removal. A member's later invite does not readmit: a removal is the owner's decision,
 * and any member could otherwise undo it as often as they liked.
 */

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

interface InviteRow {
  id: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  max_uses: number | null;
  uses: number;
}

/** An invite, its budget and what it means for one user who wants to join with it. */
export interface InviteState extends InviteRow {
  budget_id: string;
  created_sequence: number;
  revoked_at: number | null;
  owner_id: string;
  deleted_at: number | null;
  /** The sequence of the owner's removal of this user, if the owner removed them. */
  removed_sequence: number | null;
  /** The user is a participant of the budget right now. */
  member: boolean;
}

const toInfo = (r: InviteRow): InviteSummary => ({
  id: r.id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  maxUses: r.max_uses,
  uses: r.uses,
});

export const invalidInvite = () => new AppError('INVITE_INVALID', 'the invite is unknown, expired or used up');

/**
 * One statement whatever state the token is in: unknown, revoked, expired, used up or from before
 * the user's removal all take the same path, so none can be told from an unknown token by its
 * answer or its timing.
 */
export async function readInvite(sql: Sql | TransactionSql, tokenHash: Buffer, userId: string): Promise<InviteState | undefined> {
  // Always one row (all null for an unknown token): the same rows travel and are decoded either way.
  const [row] = await sql<(InviteState | { [K in keyof InviteState]: null })[]>`
    SELECT i.*, b.owner_id, b.deleted_at, r.sequence AS removed_sequence,
           EXISTS (SELECT 1 FROM participants p WHERE p.budget_id = i.budget_id AND p.user_id = ${userId}) AS member
    FROM (SELECT ${tokenHash}::bytea AS token_hash) t
    LEFT JOIN invites i ON i.token_hash = t.token_hash
    LEFT JOIN budgets b ON b.id = i.budget_id
    LEFT JOIN removals r ON r.budget_id = i.budget_id AND r.user_id = ${userId}`;
  return row?.budget_id ? (row as InviteState) : undefined;
}

/** Whether the invite lets its reader in at `now` (the one rule; see the module comment). */
export function admits(s: InviteState, now: number): boolean {
  if (s.deleted_at !== null || s.revoked_at !== null || s.expires_at <= now) return false;
  if (s.max_uses !== null && s.uses >= s.max_uses) return false;
  if (s.removed_sequence !== null && (s.created_by !== s.owner_id || s.created_sequence < s.removed_sequence)) return false;
  return true;
}

/**
 * What a participant's departure does to invites (in the departure's transaction, under the budget
 * row lock): every invite they made stops working, and when the owner removed them, `removedAt`
 * (the sequence of their `participant.remove`) keeps older invites from letting them back.
 */
export async function departed(tx: TransactionSql, budgetId: string, userId: string, now: number, removedAt?: number): Promise<void> {
  await tx`UPDATE invites SET revoked_at = ${now} WHERE budget_id = ${budgetId} AND created_by = ${userId} AND revoked_at IS NULL`;
  if (removedAt === undefined) return;
  await tx`
    INSERT INTO removals (budget_id, user_id, sequence) VALUES (${budgetId}, ${userId}, ${removedAt})
    ON CONFLICT (budget_id, user_id) DO UPDATE SET sequence = EXCLUDED.sequence`;
}

/**
 * Uses the invite for a join, under the budget row lock (so uses and removals cannot change under
 * it). A revocation does not take that lock: the update re-checks it on the row and returns false
 * when one committed since `s` was read. The user's removal, if any, is lifted.
 */
export async function useInvite(tx: TransactionSql, s: InviteState, tokenHash: Buffer, userId: string): Promise<boolean> {
  const [used] = await tx`UPDATE invites SET uses = uses + 1 WHERE token_hash = ${tokenHash} AND revoked_at IS NULL RETURNING 1`;
  if (!used) return false;
  if (s.removed_sequence !== null) await tx`DELETE FROM removals WHERE budget_id = ${s.budget_id} AND user_id = ${userId}`;
  return true;
}

/** Making, listing and revoking invites. Joining with one is `Membership.join`. */
export class Invites {
  constructor(
    private readonly sql: Sql,
    private readonly options: { inviteTtlSeconds: number },
  ) {}

  /**
   * Under the budget row lock, which every membership change takes: an invite is made wholly before
   * or after a removal of its maker (none survives it), and its `created_sequence` orders it against
   * every removal.
   */
  async create(actorId: string, budgetId: string, input: { expiresInSeconds?: number; maxUses?: number }) {
    const token = randomBytes(24).toString('base64url');
    return this.sql.begin(async (tx) => {
      const access = await requireParticipantIn(tx, budgetId, actorId, true);
      const now = Date.now();
      const expiresAt = now + (input.expiresInSeconds ?? this.options.inviteTtlSeconds) * 1000;
      await tx`
        INSERT INTO invites (token_hash, budget_id, created_by, created_at, expires_at, max_uses, created_sequence)
        VALUES (${hashToken(token)}, ${budgetId}, ${actorId}, ${now}, ${expiresAt}, ${input.maxUses ?? null}, ${access.budget.last_sequence})`;
      return { token, expiresAt };
    });
  }

  /** Live invites, oldest first: all of them for the owner, their own for a member. */
  async list(actorId: string, budgetId: string): Promise<{ invites: InviteSummary[] }> {
    const access = await requireParticipant(this.sql, budgetId, actorId);
    const rows = await this.sql<InviteRow[]>`
      SELECT id, created_by, created_at, expires_at, max_uses, uses FROM invites
      WHERE budget_id = ${budgetId} AND revoked_at IS NULL AND expires_at > ${Date.now()} AND (max_uses IS NULL OR uses < max_uses)
        AND (${access.role === 'owner'} OR created_by = ${actorId})
      ORDER BY created_at, id`;
    return { invites: rows.map(toInfo) };
  }

  /**
   * The owner revokes any invite of the budget, a member their own. Revoking one that is already
   * revoked, expired or used up succeeds too: the state the caller asked for holds.
   */
  async revoke(actorId: string, budgetId: string, inviteId: string): Promise<void> {
    const access = await requireParticipant(this.sql, budgetId, actorId);
    const [row] = await this.sql<
      { created_by: string }[]
    >`SELECT created_by FROM invites WHERE budget_id = ${budgetId} AND id = ${inviteId}`;
    if (!row) throw new AppError('INVITE_NOT_FOUND', 'no invite with this id in this budget');
    if (row.created_by !== actorId) requireOwner(access);
    await this.sql`UPDATE invites SET revoked_at = ${Date.now()} WHERE id = ${inviteId} AND revoked_at IS NULL`;
  }
}
