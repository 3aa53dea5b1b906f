import type { Sql } from '../db/sql.js';

/**
 * The two writes of the photo flow on `users (photo, photo_key)`. Each locks the row and reads the key
 * it replaces in the same transaction, so of two concurrent changes each sees the other's key as
 * "previous" and exactly the superseded object gets deleted after commit.
 */

/** Points the row at a new photo. Returns the key it replaced (null: none), or undefined when the user has no row. */
export async function setPhoto(sql: Sql, uid: string, photo: string, key: string): Promise<{ previousKey: string | null } | undefined> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<{ photo_key: string | null }[]>`SELECT photo_key FROM users WHERE id = ${uid} FOR UPDATE`;
    if (!row) return undefined;
    await tx`UPDATE users SET photo = ${photo}, photo_key = ${key}, updated_at = ${Date.now()} WHERE id = ${uid}`;
    return { previousKey: row.photo_key };
  })) as { previousKey: string | null } | undefined;
}

/** Clears the row's photo. Returns the key it pointed at (null: none, or no row). */
export async function clearPhoto(sql: Sql, uid: string): Promise<string | null> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<{ photo: string | null; photo_key: string | null }[]>`
      SELECT photo, photo_key FROM users WHERE id = ${uid} FOR UPDATE`;
    // Nothing to clear: leave updated_at alone.
    if (!row || (row.photo === null && row.photo_key === null)) return null;
    await tx`UPDATE users SET photo = NULL, photo_key = NULL, updated_at = ${Date.now()} WHERE id = ${uid}`;
    return row.photo_key;
  })) as string | null;
}

/** The key the row points at now (null: none or no row). */
export async function currentPhotoKey(sql: Sql, uid: string): Promise<string | null> {
  const [row] = await sql<{ photo_key: string | null }[]>`SELECT photo_key FROM users WHERE id = ${uid}`;
  return row?.photo_key ?? null;
}
