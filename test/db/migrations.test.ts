import fs from 'node:fs/promises';
import t from 'tap';
import { migrate } from '../../src/db/migrate.js';
import { dumpSchema } from '../helpers/schema-dump.js';
import { createSql } from '../../src/db/sql.js';
import { createEmptyDb } from '../helpers/db.js';

const SNAPSHOT = 'test/schema.txt';

t.test('migrations go up from empty, down and up again over data, and match the reviewed schema', async (t) => {
  const url = await createEmptyDb(t);
  const applied = await migrate(url);
  t.ok(applied.length >= 1, 'applies every migration to an empty database');
  t.same(await migrate(url), [], 'a second run applies nothing');

  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end());
  const schema = await dumpSchema(sql);
  if (process.env.UPDATE_SCHEMA === '1') await fs.writeFile(SNAPSHOT, schema);
  t.equal(schema, await fs.readFile(SNAPSHOT, 'utf8'), `schema equals ${SNAPSHOT} (after reviewing a migration: npm run db:schema)`);

  // Down and up again with data in the tables: the down migration must drop cleanly.
  await sql`INSERT INTO users (id, created_at, updated_at) VALUES ('u1', 1, 1)`;
  await sql`INSERT INTO budgets (id, title, owner_id, created_by, created_at, updated_at)
            VALUES ('00000000-0000-0000-0000-000000000001', 'b', 'u1', 'u1', 1, 1)`;
  const reverted = await migrate(url, { direction: 'down', count: Infinity });
  t.same(reverted, [...applied].reverse(), 'down reverts every migration');
  const [left] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations'`;
  t.equal(left?.n, 0, 'no tables left after down');
  t.same(await migrate(url), applied, 'up again');
  t.equal(await dumpSchema(sql), schema, 'the same schema after down and up');
});

t.test('money columns are exact numeric, never float', async (t) => {
  const schema = await fs.readFile(SNAPSHOT, 'utf8');
  t.match(schema, /column categories\.allocate numeric\(12,2\) not null/);
  t.match(schema, /column expenses\.amount numeric\(12,2\) not null/);
  t.notMatch(schema, /double precision|real/);
});
