/**
 * Array parameters (src/db/sql.ts `pgArray`): they must work in a pool's very first query, where
 * porsager's `sql.array()` went out as the plain string "a,b" ("malformed array literal"), and
 * any text must survive the literal's quoting.
 */
import t from 'tap';
import { createSql, pgArray } from '../../src/db/sql.js';
import { createTestDb } from '../helpers/db.js';

const url = await createTestDb(t);

t.test("porsager's own array parameter fails as a fresh pool's first query (why pgArray exists)", async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  await t.rejects(sql`SELECT ${sql.array(['a', 'b'])}::text[] AS a`, /malformed array literal/);
});

t.test('pgArray works as the first query of a fresh pool, for uuid, bigint, numeric and text', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const ids = ['5f0b0c9e-8a8b-4b59-9d55-2c1c3c0a8a11', '00000000-0000-4000-8000-000000000000'];
  const [row] = await sql<{ ids: string[]; seqs: number[]; sums: string }[]>`
    SELECT ${pgArray(ids)}::uuid[] AS ids, ${pgArray([1, 2 ** 40])}::bigint[] AS seqs,
           (SELECT sum(x)::text FROM unnest(${pgArray(['1.25', '2.50'])}::numeric[]) x) AS sums`;
  t.same(row, { ids, seqs: [1, 2 ** 40], sums: '3.75' });
});

t.test('any text survives: quotes, backslashes, commas, braces, spaces, NULL-looking words, unicode, empty', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const nasty = ['a,b', '{x}', 'say "hi"', 'back\\slash', ' padded ', 'NULL', '', 'ünï ✓ 🙂', '{"i":"x","p":[["b",1]]}', 'new\nline'];
  const [row] = await sql<{ a: string[] }[]>`SELECT ${pgArray(nasty)}::text[] AS a`;
  t.same(row?.a, nasty);
  const [empty] = await sql<{ n: number }[]>`SELECT cardinality(${pgArray([])}::text[]) AS n`;
  t.equal(empty?.n, 0, 'an empty list is an empty array');
});
