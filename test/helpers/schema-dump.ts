import type { Sql } from '../../src/db/sql.js';

/**
 * A normalised description of the public schema, read from the catalog: tables and columns,
 * constraints and indexes, one per line, sorted. Unlike `pg_dump` its text is the same on
 * Postgres 15–18, so `test/schema.txt` can be compared on every CI matrix entry. Regenerate with
 * `npm run db:schema` after reviewing a migration.
 */
export async function dumpSchema(sql: Sql): Promise<string> {
  const columns = await sql<{ line: string }[]>`
    SELECT format('column %s.%s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                  coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')) AS line
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'pgmigrations'`;
  const constraints = await sql<{ line: string }[]>`
    SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid)) AS line
    FROM pg_constraint k
    JOIN pg_class c ON c.oid = k.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    -- Postgres 18 lists NOT NULL as constraints (contype 'n'); 15–17 do not. The columns say it.
    WHERE c.relname <> 'pgmigrations' AND k.contype <> 'n'`;
  const indexes = await sql<{ line: string }[]>`
    SELECT format('index %s', regexp_replace(indexdef, ' USING btree', '')) AS line
    FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'pgmigrations'`;
  return [...columns, ...constraints, ...indexes]
    .map((r) => r.line)
    .sort()
    .join('\n')
    .concat('\n');
}
