/**
 * Array parameters are passed as plain JS arrays with a cast (`${ids}::uuid[]`). They must work in a
 * pool's very first query — the array helper of the driver's previous major went out there as the
 * plain string "a,b" ("malformed array literal") because it took the element type from types
 * fetched on the first connection — and any text must survive the array literal's quoting.
 */
import t from 'tap';
import { createSql } from '../../src/db/sql.js';
import { createTestDb } from '../helpers/db.js';

const url = await createTestDb(t);

t.test('plain arrays work as the first query of a fresh pool, for uuid, bigint, numeric and text', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const ids = ['5f0b0c9e-8a8b-4b59-9d55-2c1c3c0a8a11', '00000000-0000-4000-8000-000000000000'];
  const [row] = await sql<{ ids: string[]; seqs: number[]; sums: string }[]>`
    SELECT ${ids}::uuid[] AS ids, ${[1, 2 ** 40]}::bigint[] AS seqs,
           (SELECT sum(x)::text FROM unnest(${['1.25', '2.50']}::numeric[]) x) AS sums`;
  t.same(row, { ids, seqs: [1, 2 ** 40], sums: '3.75' });
});

t.test('each column of a multi-array unnest keeps its own type, first query of a fresh pool', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const rows = await sql<{ id: string; after: number }[]>`
    SELECT * FROM unnest(${['5f0b0c9e-8a8b-4b59-9d55-2c1c3c0a8a11', '00000000-0000-4000-8000-000000000000']}::uuid[],
                         ${[3, 2 ** 40]}::bigint[]) AS v(id, after) ORDER BY after`;
  t.same(rows, [
    { id: '5f0b0c9e-8a8b-4b59-9d55-2c1c3c0a8a11', after: 3 },
    { id: '00000000-0000-4000-8000-000000000000', after: 2 ** 40 },
  ]);
});

t.test('any text survives: quotes, backslashes, commas, braces, spaces, NULL-looking words, unicode, empty', async (t) => {
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const nasty = [
    'a,b',
    '{x}',
    'say "hi"',
    'back\\slash',
    ' padded ',
    'NULL',
    'null',
    '',
    'ünï ✓ 🙂',
    '{"i":"x","p":[["b",1]]}',
    'new\nline',
  ];
  const [row] = await sql<{ a: string[] }[]>`SELECT ${nasty}::text[] AS a`;
  t.same(row?.a, nasty);
  const [empty] = await sql<{ n: number }[]>`SELECT cardinality(${[]}::text[]) AS n`;
  t.equal(empty?.n, 0, 'an empty list is an empty array');
  const [none] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM unnest(${[]}::uuid[])`;
  t.equal(none?.n, 0, 'an empty uuid list matches nothing');
});
