import { createHash, randomUUID } from 'node:crypto';
import type { Sql, TransactionSql } from '../db/sql.js';
import { type BudgetRow, type ParticipantRow, toBudget, toParticipant } from '../db/rows.js';
import { AppError } from '../errors/app-error.js';
import type { Budget, Participant, Role } from '@budget-sync/protocol';
import { requireOwner, requireParticipantIn } from './access.js';
import type { ChangeSink, MembershipChange } from './changes.js';
import { Invites, admits, departed, hashToken, invalidInvite, readInvite, useInvite } from './invites.js';
import { StreamWriter } from './stream-writer.js';

/** Server-made events have no client content to compare; their fingerprint is a constant. */
const SERVER_FINGERPRINT = 'server';

export interface MembershipOptions {
  participantLimit: number;
  inviteTtlSeconds: number;
}

export interface CreateBudgetInput {
  eventId: string;
  id: string;
  title: string;
  details?: string | null;
  when: number;
}

export interface CreatedBudget {
  /** 201 when created now, 200 when this eventId had created it before. */
  created: boolean;
  body: { budget: Budget; participant: Participant; sequence: number };
}

function isEventIdConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e.code === '23505' && e.constraint_name === 'events_event_id_idx';
}

async function participantRow(tx: TransactionSql | Sql, budgetId: string, userId: string): Promise<ParticipantRow | undefined> {
  const [row] = await tx<ParticipantRow[]>`
    SELECT p.*, u.first_name, u.last_name, u.photo FROM participants p LEFT JOIN users u ON u.id = p.user_id
    WHERE p.budget_id = ${budgetId} AND p.user_id = ${userId}`;
  return row;
}

/**
 * Budget creation and membership: every change locks the budget row, appends its server-made
 * stream events (`budget.create`, `participant.add|remove|role`) and tells the sink after commit,
 * so other devices learn it through the same stream as any edit.
 */
export class Membership {
  private readonly invites: Invites;

  constructor(
    private readonly sql: Sql,
    private readonly sink: ChangeSink,
    private readonly options: MembershipOptions,
  ) {
    this.invites = new Invites(sql, options);
  }

  /** Runs `fn` in a transaction with a stream writer, then reports what it appended. */
  private async write<T>(fn: (tx: TransactionSql, writer: StreamWriter, membership: MembershipChange[]) => Promise<T>): Promise<T> {
    const writer = new StreamWriter(Date.now());
    const membership: MembershipChange[] = [];
    const result = (await this.sql.begin(async (tx) => {
      const r = await fn(tx, writer, membership);
      await writer.flush(tx);
      return r;
    })) as T;
    const pointers = writer.pointers();
    if (pointers.length > 0 || membership.length > 0) this.sink.committed(pointers, membership);
    return result;
  }

  async createBudget(actorId: string, input: CreateBudgetInput): Promise<CreatedBudget> {
    try {
      return await this.createBudgetOnce(actorId, input);
    } catch (err) {
      // A concurrent request committed this eventId (for another budget id) between our receipt
      // check and our insert: run again, and the receipt check answers it (replay or EVENT_ID_REUSED).
      if (isEventIdConflict(err)) return this.createBudgetOnce(actorId, input);
      throw err;
    }
  }

  private async createBudgetOnce(actorId: string, input: CreateBudgetInput): Promise<CreatedBudget> {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(['budget.create', input.id, input.title, input.details ?? null]))
      .digest('base64url')
      .slice(0, 32);
    return this.write(async (tx, writer, membership) => {
      const replay = async (): Promise<CreatedBudget | undefined> => {
        const [receipt] = await tx<{ budget_id: string; event_type: string; fingerprint: string; actor_id: string }[]>`
          SELECT budget_id, event_type, fingerprint, actor_id FROM events WHERE event_id = ${input.eventId}`;
        if (!receipt) return undefined;
        if (receipt.event_type !== 'budget.create' || receipt.fingerprint !== fingerprint || receipt.actor_id !== actorId) {
          throw new AppError('EVENT_ID_REUSED', 'this eventId was used before with different content');
        }
        const rows = await tx<{ sequence: number; record: Budget & Participant }[]>`
          SELECT sequence, record FROM events WHERE budget_id = ${receipt.budget_id} AND sequence <= 2 ORDER BY sequence`;
        return {
          created: false,
          body: { budget: rows[0]?.record as Budget, participant: rows[1]?.record as Participant, sequence: 2 },
        };
      };
      const earlier = await replay();
      if (earlier) return earlier;
      const now = writer.serverTime;
      const [row] = await tx<BudgetRow[]>`
        INSERT INTO budgets (id, title, details, owner_id, created_by, version, last_sequence, created_at, updated_at)
        VALUES (${input.id}, ${input.title}, ${input.details ?? null}, ${actorId}, ${actorId}, 1, 0, ${now}, ${now})
        ON CONFLICT (id) DO NOTHING RETURNING *`;
      if (!row) {
        // A concurrent retry of the same eventId may have just committed it.
        const raced = await replay();
        if (raced) return raced;
        throw new AppError('BUDGET_EXISTS', 'a budget with this id already exists');
      }
      writer.track(row.id, 0);
      const budget = toBudget(row);
      await writer.append(tx, {
        budgetId: row.id,
        eventId: input.eventId,
        eventType: 'budget.create',
        recordId: row.id,
        actorId,
        when: input.when,
        version: 1,
        record: budget,
        fingerprint,
      });
      const participant = await this.addParticipant(tx, writer, row.id, actorId, 'owner', input.when);
      membership.push({ userId: actorId, budgetId: row.id, change: 'added' });
      return { created: true, body: { budget, participant, sequence: 2 } };
    });
  }

  private async addParticipant(tx: TransactionSql, writer: StreamWriter, budgetId: string, userId: string, role: Role, when: number) {
    await tx`INSERT INTO participants (budget_id, user_id, role, joined_at) VALUES (${budgetId}, ${userId}, ${role}, ${writer.serverTime})`;
    const participant = toParticipant((await participantRow(tx, budgetId, userId)) as ParticipantRow);
    await writer.append(tx, {
      budgetId,
      eventId: randomUUID(),
      eventType: 'participant.add',
      recordId: userId,
      actorId: userId,
      when,
      version: null,
      record: participant,
      fingerprint: SERVER_FINGERPRINT,
    });
    return participant;
  }

  createInvite(actorId: string, budgetId: string, input: { expiresInSeconds?: number; maxUses?: number }) {
    return this.invites.create(actorId, budgetId, input);
  }

  listInvites(actorId: string, budgetId: string) {
    return this.invites.list(actorId, budgetId);
  }

  revokeInvite(actorId: string, budgetId: string, inviteId: string) {
    return this.invites.revoke(actorId, budgetId, inviteId);
  }

  /**
   * Joins by invite token (see invites.ts for who an invite admits). Joining again is a no-op with
   * the same answer, even once the invite is used up or expired: a retried join must not fail.
   */
  async join(actorId: string, token: string, expectedBudgetId?: string): Promise<{ budget: Budget; participant: Participant }> {
    const tokenHash = hashToken(token);
    const seen = await readInvite(this.sql, tokenHash, actorId);
    if (!seen || (expectedBudgetId !== undefined && seen.budget_id !== expectedBudgetId)) throw invalidInvite();
    if (!seen.member && !admits(seen, Date.now())) throw invalidInvite();
    return this.write(async (tx, writer, membership) => {
      const [budget] = await tx<BudgetRow[]>`SELECT * FROM budgets WHERE id = ${seen.budget_id} FOR UPDATE`;
      if (!budget || budget.deleted_at !== null) throw invalidInvite();
      const existing = await participantRow(tx, budget.id, actorId);
      if (existing) return { budget: toBudget(budget), participant: toParticipant(existing) };
      // Read again under the budget row lock: a removal, a revocation by the maker's departure, or
      // another join's use committed since the first read counts; concurrent joins cannot pass the
      // participant limit or overuse the invite.
      const invite = await readInvite(tx, tokenHash, actorId);
      if (!invite || !admits(invite, writer.serverTime) || !(await useInvite(tx, invite, tokenHash, actorId))) throw invalidInvite();
      const [counted] = await tx<{ count: number }[]>`SELECT count(*)::int AS count FROM participants WHERE budget_id = ${budget.id}`;
      if ((counted?.count ?? 0) >= this.options.participantLimit) throw new AppError('PARTICIPANT_LIMIT_REACHED', 'the budget is full');
      writer.track(budget.id, budget.last_sequence);
      const participant = await this.addParticipant(tx, writer, budget.id, actorId, 'member', writer.serverTime);
      membership.push({ userId: actorId, budgetId: budget.id, change: 'added' });
      return { budget: toBudget(budget), participant };
    });
  }

  /** The caller leaves. The owner must hand over first, unless it is the last member (the budget is then deleted). */
  async leave(actorId: string, budgetId: string): Promise<{ budgetId: string; userId: string }> {
    return this.write(async (tx, writer, membership) => {
      const access = await requireParticipantIn(tx, budgetId, actorId, true);
      writer.track(budgetId, access.budget.last_sequence);
      if (access.role === 'owner') {
        const [other] = await tx`SELECT 1 FROM participants WHERE budget_id = ${budgetId} AND user_id <> ${actorId} LIMIT 1`;
        if (other) throw new AppError('OWNER_MUST_TRANSFER', 'hand over ownership before leaving');
        await this.removeParticipant(tx, writer, budgetId, actorId, actorId);
        const [row] = await tx<BudgetRow[]>`
          UPDATE budgets SET deleted_at = ${writer.serverTime}, version = version + 1, updated_at = ${writer.serverTime}
          WHERE id = ${budgetId} RETURNING *`;
        await writer.append(tx, {
          budgetId,
          eventId: randomUUID(),
          eventType: 'budget.delete',
          recordId: budgetId,
          actorId,
          when: writer.serverTime,
          version: (row as BudgetRow).version,
          record: null,
          fingerprint: SERVER_FINGERPRINT,
        });
      } else {
        await this.removeParticipant(tx, writer, budgetId, actorId, actorId);
      }
      membership.push({ userId: actorId, budgetId, change: 'removed' });
      return { budgetId, userId: actorId };
    });
  }

  /** The owner removes a member. */
  async remove(actorId: string, budgetId: string, userId: string): Promise<{ budgetId: string; userId: string }> {
    if (userId === actorId) return this.leave(actorId, budgetId);
    return this.write(async (tx, writer, membership) => {
      const access = await requireParticipantIn(tx, budgetId, actorId, true);
      requireOwner(access);
      writer.track(budgetId, access.budget.last_sequence);
      if (!(await participantRow(tx, budgetId, userId))) throw new AppError('PARTICIPANT_NOT_FOUND', 'not a participant of this budget');
      await this.removeParticipant(tx, writer, budgetId, userId, actorId);
      membership.push({ userId, budgetId, change: 'removed' });
      return { budgetId, userId };
    });
  }

  /** Ends a membership: the `participant.remove` event, and the invites it affects (invites.ts `departed`). */
  private async removeParticipant(tx: TransactionSql, writer: StreamWriter, budgetId: string, userId: string, actorId: string) {
    await tx`DELETE FROM participants WHERE budget_id = ${budgetId} AND user_id = ${userId}`;
    const event = await writer.append(tx, {
      budgetId,
      eventId: randomUUID(),
      eventType: 'participant.remove',
      recordId: userId,
      actorId,
      when: writer.serverTime,
      version: null,
      record: null,
      fingerprint: SERVER_FINGERPRINT,
    });
    await departed(tx, budgetId, userId, writer.serverTime, actorId === userId ? undefined : event.sequence);
  }

  /**
   * Hands ownership to another participant; the stream gets `participant.role` for both. The budget
   * row's version and updated_at stay as they are: no budget event is written, so a client derives
   * `ownerId` from the `participant.role` events, and snapshot + stream stays equal to the current state.
   */
  async transferOwnership(actorId: string, budgetId: string, userId: string): Promise<{ budget: Budget }> {
    return this.write(async (tx, writer) => {
      const access = await requireParticipantIn(tx, budgetId, actorId, true);
      requireOwner(access);
      if (userId === actorId) return { budget: toBudget(access.budget) };
      if (!(await participantRow(tx, budgetId, userId))) throw new AppError('PARTICIPANT_NOT_FOUND', 'not a participant of this budget');
      writer.track(budgetId, access.budget.last_sequence);
      const [row] = await tx<BudgetRow[]>`
        UPDATE budgets SET owner_id = ${userId} WHERE id = ${budgetId} RETURNING *`;
      for (const [uid, role] of [
        [actorId, 'member'],
        [userId, 'owner'],
      ] as const) {
        await tx`UPDATE participants SET role = ${role} WHERE budget_id = ${budgetId} AND user_id = ${uid}`;
        const participant = toParticipant((await participantRow(tx, budgetId, uid)) as ParticipantRow);
        await writer.append(tx, {
          budgetId,
          eventId: randomUUID(),
          eventType: 'participant.role',
          recordId: uid,
          actorId,
          when: writer.serverTime,
          version: null,
          record: participant,
          fingerprint: SERVER_FINGERPRINT,
        });
      }
      return { budget: toBudget(row as BudgetRow) };
    });
  }
}
