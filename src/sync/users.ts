import type { Sql } from '../db/sql.js';
import { type UserRow, toUser } from '../db/rows.js';
import { AppError } from '../errors/app-error.js';
import type { Principal } from '../auth/verifier.js';
import type { PublicProfile, User } from '@budget-sync/protocol';
import type { Membership } from './membership.js';

/** Splits a token's `name` claim into first and last name ("Ada Lovelace" → Ada / Lovelace). */
function splitName(name: string | undefined): [string | null, string | null] {
  const parts = name?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (parts.length === 0) return [null, null];
  return [parts[0] as string, parts.length > 1 ? parts.slice(1).join(' ') : null];
}

/** Hook for the photo store: called before a user's row is deleted, to remove their photo object. */
export type PhotoCleanup = (user: UserRow) => Promise<void>;

export class Users {
  /** uids whose row this instance has seen exist, so most requests skip the upsert. */
  private readonly known = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly membership: Membership,
    private readonly maxKnown = 100_000,
  ) {}

  /** Creates the row from the token's claims on the first authenticated request. */
  async ensure(p: Principal): Promise<void> {
    if (this.known.has(p.uid)) return;
    const now = Date.now();
    const [first, last] = splitName(p.name);
    await this.sql`
      INSERT INTO users (id, email, first_name, last_name, created_at, updated_at)
      VALUES (${p.uid}, ${p.email ?? null}, ${first}, ${last}, ${now}, ${now})
      ON CONFLICT (id) DO NOTHING`;
    if (this.known.size >= this.maxKnown) this.known.clear();
    this.known.add(p.uid);
  }

  async get(p: Principal): Promise<User> {
    let [row] = await this.sql<UserRow[]>`SELECT * FROM users WHERE id = ${p.uid}`;
    if (!row) {
      // Deleted on another instance after this one cached it: recreate, as on a first request.
      this.known.delete(p.uid);
      await this.ensure(p);
      [row] = await this.sql<UserRow[]>`SELECT * FROM users WHERE id = ${p.uid}`;
    }
    return toUser(row as UserRow);
  }

  async row(uid: string): Promise<UserRow | undefined> {
    const [row] = await this.sql<UserRow[]>`SELECT * FROM users WHERE id = ${uid}`;
    return row;
  }

  async update(p: Principal, input: { firstName?: string | null; lastName?: string | null; email?: string | null }): Promise<User> {
    await this.ensure(p);
    const [row] = await this.sql<UserRow[]>`
      UPDATE users SET
        first_name = ${input.firstName === undefined ? this.sql`first_name` : input.firstName},
        last_name = ${input.lastName === undefined ? this.sql`last_name` : input.lastName},
        email = ${input.email === undefined ? this.sql`email` : input.email},
        updated_at = ${Date.now()}
      WHERE id = ${p.uid} RETURNING *`;
    if (!row) throw new AppError('USER_NOT_FOUND', 'no such user');
    return toUser(row);
  }

  /**
   * Deletes the account: the user leaves every budget first (ownership passes to the longest-standing
   * member; a budget where they were alone is deleted), then the photo, then the row.
   */
  async delete(uid: string, cleanupPhoto?: PhotoCleanup): Promise<void> {
    const budgets = await this.sql<{ budget_id: string; role: string; heir: string | null }[]>`
      SELECT p.budget_id, p.role,
        (SELECT o.user_id FROM participants o WHERE o.budget_id = p.budget_id AND o.user_id <> p.user_id
         ORDER BY o.joined_at, o.user_id LIMIT 1) AS heir
      FROM participants p JOIN budgets b ON b.id = p.budget_id
      WHERE p.user_id = ${uid} AND b.deleted_at IS NULL`;
    for (const b of budgets) {
      if (b.role === 'owner' && b.heir) await this.membership.transferOwnership(uid, b.budget_id, b.heir);
      await this.membership.leave(uid, b.budget_id);
    }
    const row = await this.row(uid);
    if (row && cleanupPhoto) await cleanupPhoto(row);
    await this.sql`DELETE FROM users WHERE id = ${uid}`;
    this.known.delete(uid);
  }

  async profile(userId: string): Promise<PublicProfile> {
    const row = await this.row(userId);
    if (!row) throw new AppError('USER_NOT_FOUND', 'no such user');
    const { email: _email, ...profile } = toUser(row);
    return profile;
  }
}
