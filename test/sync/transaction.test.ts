/**
 * inTransaction (src/sync/transaction.ts) on the driver as installed: COMMIT sent behind the last
 * statements by commitWith, and what a failure among them turns into. The driver's `begin` answers
 * a COMMIT that the server turned into a rollback with its own TRANSACTION_ROLLED_BACK; the caller
 * must see the statement's own error (a unique violation, a refusal), not that.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createSql } from '../../src/db/sql.js';
import { inTransaction } from '../../src/sync/transaction.js';
import { createTestDb } from '../helpers/db.js';

const sql = createSql(await createTestDb(t), { max: 2 });
t.teardown(() => sql.end({ timeout: 1 }));
await sql`CREATE TABLE tx_probe (id text PRIMARY KEY, n int NOT NULL)`;

const count = async (prefix: string) => {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tx_probe WHERE id LIKE ${`${prefix}%`}`;
  return row?.n;
};

t.test('commitWith: the last statement and COMMIT go together; its answer is returned', async (t) => {
  const p = randomUUID();
  const out = await inTransaction(sql, async (tx, commitWith) => {
    await tx`INSERT INTO tx_probe VALUES (${`${p}-a`}, 1)`;
    const [row] = await commitWith(tx<{ n: number }[]>`INSERT INTO tx_probe VALUES (${`${p}-b`}, 2) RETURNING n`.execute());
    return row?.n;
  });
  t.equal(out, 2, "the last statement's answer");
  t.equal(await count(p), 2, 'both rows committed');
});

t.test('without commitWith the transaction commits when fn returns', async (t) => {
  const p = randomUUID();
  t.equal(
    await inTransaction(sql, async (tx) => {
      await tx`INSERT INTO tx_probe VALUES (${`${p}-a`}, 1)`;
      return 'done';
    }),
    'done',
  );
  t.equal(await count(p), 1);
});

t.test('a statement sent with COMMIT that fails: its own error, nothing committed', async (t) => {
  const p = randomUUID();
  await sql`INSERT INTO tx_probe VALUES (${`${p}-taken`}, 0)`;
  const err = await inTransaction(sql, async (tx, commitWith) => {
    await tx`INSERT INTO tx_probe VALUES (${`${p}-a`}, 1)`;
    return commitWith(tx`INSERT INTO tx_probe VALUES (${`${p}-taken`}, 2)`.execute());
  }).then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  t.equal(err?.code, '23505', 'the unique violation, not the rollback the driver reports for the COMMIT');
  t.equal(await count(p), 1, 'only the row inserted before');
});

t.test('fn failing before commitWith rolls back with its error', async (t) => {
  const p = randomUUID();
  await t.rejects(
    inTransaction(sql, async (tx) => {
      await tx`INSERT INTO tx_probe VALUES (${`${p}-a`}, 1)`;
      throw new Error('refused');
    }),
    { message: 'refused' },
  );
  t.equal(await count(p), 0);
});

t.test('the pool stays usable after a failed COMMIT', async (t) => {
  for (let i = 0; i < 4; i++) {
    await inTransaction(sql, async (tx, commitWith) => commitWith(tx`SELECT 1/0`.execute())).catch(() => {});
  }
  const [row] = await sql<{ one: number }[]>`SELECT 1 AS one`;
  t.equal(row?.one, 1);
});
