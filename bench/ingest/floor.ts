/**
 * The floor of the ingest bench: the processor's own statement for a batch of expense.add events
 * (src/sync/direct-push.ts with apply-event.ts and pipeline.ts), sent straight to the same
 * Postgres with the same number of clients — by pgbench, PostgreSQL's C client, so the figure has
 * no Node driver in it; or, where pgbench is missing, from Node.
 *
 * What the server sends for a batch of one budget's adds, and so the script: ONE statement, no
 * explicit transaction — the budget's lock and the checks (`locked`, `ok`), the inserts, their log
 * rows and the head. Each client owns a budget. Ids are random, as devices make them (md5 of a
 * random 63-bit number, as a uuid).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Sql } from '../../src/db/sql.js';
import { type Cell, type CpuSources, measure } from './measure.js';
import { type Target, expenseAdd } from './seed.js';
import { clusterCpu } from '../lib/cpu.js';

export interface Floor {
  name: string;
  run(batch: number, clients: number, seconds: number, written: () => Promise<number>, cpu: CpuSources): Promise<Cell>;
  close(): Promise<void>;
}

/** PGBENCH, then PATH, then Debian's PostgreSQL binaries (newest first); undefined if none runs. */
export async function findPgbench(): Promise<string | undefined> {
  const candidates = [process.env.PGBENCH, 'pgbench'];
  const debian = await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const v of debian.sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin/pgbench`);
  for (const c of candidates) {
    if (!c) continue;
    const ok = await promisify(execFile)(c, ['--version']).then(
      () => true,
      () => false,
    );
    if (ok) return c;
  }
  return undefined;
}

const EXPENSE_JSON = `jsonb_build_object('id', r.id, 'budgetId', r.budget_id, 'categoryId', r.category_id, 'date', to_char(r.date, 'YYYY-MM-DD'), 'amount', r.amount::text,
    'note', r.note, 'createdBy', r.created_by, 'version', r.version, 'createdAt', r.created_at, 'updatedAt', r.updated_at)`;

/** The statement's checks: the budget locked and unchanged since the snapshot, live, the actor in it, no receipt. */
const GUARD = (v: { budget: string; actor: string; receipt: string; live?: string }) => `
  locked AS MATERIALIZED (SELECT ctid AS at, last_sequence FROM budgets WHERE id = ${v.budget} FOR UPDATE),
  ok AS MATERIALIZED (
    SELECT l.last_sequence AS head FROM locked l JOIN budgets s ON s.ctid = l.at AND s.id = ${v.budget}
    WHERE s.deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM participants WHERE budget_id = ${v.budget} AND user_id = ${v.actor})
      AND NOT EXISTS (SELECT 1 FROM events WHERE ${v.receipt})
      ${v.live ?? ''}),`;

/** One expense.add as the processor's statement: the checks, the change, its log row and the head, one CTE. */
const APPEND = (v: { event: string; record: string; budget: string; category: string; actor: string; now: string }) => `
  WITH ${GUARD({ budget: v.budget, actor: v.actor, receipt: `event_id = ${v.event}` })}
    r AS (
      INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
      SELECT ${v.record}, ${v.budget}, c.id, '2025-05-06', '12.34', 'bench', ${v.actor}, 1, ${v.now}, ${v.now}
      FROM categories c WHERE c.id = ${v.category} AND c.budget_id = ${v.budget} AND NOT c.deleted AND EXISTS (SELECT 1 FROM ok)
      ON CONFLICT (id) DO NOTHING RETURNING *),
    head AS (UPDATE budgets SET last_sequence = ((SELECT head FROM ok) + 1) WHERE id = ${v.budget} AND EXISTS (SELECT 1 FROM r)),
    logged AS (
      INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
      SELECT ${v.budget}, ((SELECT head FROM ok) + 1), ${v.event}, 'expense.add', ${v.record}, ${v.actor}, ${v.now}, ${v.now},
             r.version, ${EXPENSE_JSON}, NULL::jsonb, 'fingerprint-of-the-event-000000'
      FROM r)
  SELECT r.*, ${EXPENSE_JSON} AS record, NULL::uuid[] AS cascade_ids, ((SELECT head FROM ok) + 1) AS seq FROM r`;

/**
 * Several expense.add as the processor's one statement for a run of adds (src/sync/pipeline.ts):
 * the checks (every category live too), the rows as one JSON value with sequences counted from
 * 1, the inserts (no ON CONFLICT: all or nothing), the log rows and the head, one CTE.
 */
const RUN = (v: { json: string; eventIds: string; budget: string; categories: string; actor: string; now: string; n: number }) => `
  WITH ${GUARD({
    budget: v.budget,
    actor: v.actor,
    receipt: `event_id = ANY(${v.eventIds}::uuid[])`,
    live: `AND (SELECT count(*) FROM categories WHERE id = ANY(${v.categories}::uuid[]) AND budget_id = ${v.budget} AND NOT deleted) = 1`,
  })}
    v AS (
      SELECT * FROM jsonb_to_recordset(${v.json}) AS v(
        ord int, id uuid, budget_id uuid, category_id uuid, name text, allocate numeric, date date, amount numeric, note text,
        event_id uuid, seq bigint, client_when bigint, fingerprint text, bump boolean)),
    r AS (
      INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
      SELECT v.id, v.budget_id, c.id, v.date, v.amount, v.note, ${v.actor}, 1, ${v.now}, ${v.now}
      FROM v JOIN categories c ON c.id = v.category_id AND c.budget_id = v.budget_id AND NOT c.deleted WHERE EXISTS (SELECT 1 FROM ok)
      ORDER BY v.ord
      RETURNING *),
    head AS (
      UPDATE budgets b SET last_sequence = v.seq + (SELECT head FROM ok) FROM v
      WHERE v.bump AND b.id = v.budget_id AND (SELECT count(*) FROM r) = ${v.n}),
    logged AS (
      INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
      SELECT v.budget_id, v.seq + (SELECT head FROM ok), v.event_id, 'expense.add', v.id::text, ${v.actor}, v.client_when, ${v.now}, r.version, ${EXPENSE_JSON}, NULL::jsonb, v.fingerprint
      FROM r JOIN v ON v.id = r.id ORDER BY v.ord)
  SELECT v.ord, r.*, ${EXPENSE_JSON} AS record, NULL::uuid[] AS cascade_ids, v.seq + (SELECT head FROM ok) AS seq FROM r JOIN v ON v.id = r.id`;

/** A run's rows as the processor sends them (one JSON parameter, sequences from 1), for the Node floor. */
const runRows = (t: Target, events: ReturnType<typeof expenseAdd>[]) =>
  events.map((e, ord) => ({
    ord,
    id: e.recordId,
    budget_id: t.budgetId,
    category_id: t.categoryId,
    name: null,
    allocate: null,
    date: e.date,
    amount: e.amount,
    note: e.note,
    event_id: e.eventId,
    seq: ord + 1,
    client_when: e.when,
    fingerprint: 'fingerprint-of-the-event-000000',
    bump: ord === events.length - 1,
  }));

/** The pgbench script of one batch (one line per statement: pgbench ends a statement at `;`). */
export function pgbenchScript(batch: number): string {
  const oneLine = (s: string) => `${s.replace(/\s+/g, ' ').trim()};`;
  // pgbench cannot build strings: the batch's random ids (md5 of one random number and the
  // event's place) and, for a run, its JSON are built by Postgres — about what parsing the
  // server's JSON parameter costs it.
  const event = (g: string) => `md5('e' || :r::text || '-' || ${g})::uuid`;
  const record = (g: string) => `md5('r' || :r::text || '-' || ${g})::uuid`;
  const rows = `(SELECT jsonb_agg(jsonb_build_object('ord', g - 1, 'id', ${record('g')}, 'budget_id', :budget::uuid, 'category_id', :category::uuid,
    'name', NULL, 'allocate', NULL, 'date', '2025-05-06', 'amount', '12.34', 'note', 'bench', 'event_id', ${event('g')},
    'seq', g, 'client_when', :now::bigint, 'fingerprint', 'fingerprint-of-the-event-000000', 'bump', g = ${batch}))
    FROM generate_series(1, ${batch}) g)`;
  const statement =
    batch === 1
      ? APPEND({ event: event('1'), record: record('1'), budget: ':budget', category: ':category', actor: ':uid', now: ':now' })
      : RUN({
          json: rows,
          eventIds: `ARRAY(SELECT ${event('g')} FROM generate_series(1, ${batch}) g)`,
          budget: ':budget',
          categories: 'ARRAY[:category::uuid]',
          actor: ':uid',
          now: ':now',
          n: batch,
        });
  const lines = [
    // A client's first statement learns its budget, category and user.
    '\\if :ready = 0',
    'SELECT budget, category, uid FROM bench_floor WHERE n = :client_id \\gset',
    '\\set ready 1',
    '\\endif',
    '\\set r random(1, 9223372036854775807)',
    '\\set now 1765000000000',
    oneLine(statement),
  ];
  return `${lines.join('\n')}\n`;
}

export async function pgbenchFloor(pgbench: string, url: string, targets: Target[]): Promise<Floor> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ingest-floor-'));
  const version = (await promisify(execFile)(pgbench, ['--version'])).stdout.trim();
  const setup = async (sql: Sql) => {
    await sql`CREATE TABLE IF NOT EXISTS bench_floor (n int PRIMARY KEY, budget uuid, category uuid, uid text)`;
    for (const [n, t] of targets.entries())
      await sql`INSERT INTO bench_floor VALUES (${n}, ${t.budgetId}, ${t.categoryId}, ${t.uid}) ON CONFLICT DO NOTHING`;
  };
  const { createSql } = await import('../../src/db/sql.js');
  const sql = createSql(url, { max: 1 });
  await setup(sql);
  await sql.end();
  return {
    name: `floor: pgbench (${version.replace(/^pgbench \(PostgreSQL\) /, '')})`,
    async run(batch, clients, seconds, written, cpu) {
      const script = path.join(dir, `batch-${batch}.sql`);
      await fs.writeFile(script, pgbenchScript(batch));
      const before = await written();
      const pg0 = clusterCpu(cpu.dataDir);
      const args = ['-n', '-M', 'prepared', '-f', script, '-c', String(clients), '-j', String(Math.min(clients, 2))];
      const out = await runPgbench(pgbench, [...args, '-T', String(seconds), '-D', 'ready=0', url]);
      // pgbench's backends exit with it; their CPU counts once the postmaster has reaped them.
      await new Promise((r) => setTimeout(r, 300));
      const pg1 = clusterCpu(cpu.dataDir);
      const grew = (await written()) - before;
      const tx = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
      const tps = Number(/tps = ([0-9.]+) \(without initial connection time\)/.exec(out)?.[1]);
      if (!(tx > 0) || !(tps > 0)) throw new Error(`pgbench printed no result:\n${out}`);
      if (tx * batch !== grew) throw new Error(`pgbench counted ${tx * batch} events but the budgets' logs grew by ${grew}`);
      const elapsed = tx / tps;
      return {
        events: tx * batch,
        requests: tx,
        seconds: elapsed,
        serverCpu: NaN,
        pgCpu: pg1 - pg0,
        loadCpu: NaN,
        load: os.loadavg()[0] ?? NaN,
      };
    },
    close: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

function runPgbench(pgbench: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(pgbench, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}:\n${out}`))));
  });
}

/** Without pgbench: the same statement from Node (the driver's cost is then in the floor). */
export function nodeFloor(sql: Sql, targets: Target[]): Floor {
  const batchOf = async (t: Target, batch: number) => {
    const events = Array.from({ length: batch }, () => expenseAdd(t));
    const now = Date.now();
    const q = (text: string, params: unknown[]) => sql.unsafe(text, params as never[], { prepare: true });
    const [e] = events;
    const rows =
      batch === 1
        ? await q(APPEND({ event: '$1', record: '$2', budget: '$3', category: '$4', actor: '$5', now: '$6' }), [
            e?.eventId,
            e?.recordId,
            t.budgetId,
            t.categoryId,
            t.uid,
            now,
          ])
        : await q(RUN({ json: '$1', eventIds: '$2', budget: '$3', categories: '$4', actor: '$5', now: '$6', n: batch }), [
            runRows(t, events),
            events.map((x) => x.eventId),
            t.budgetId,
            [t.categoryId],
            t.uid,
            now,
          ]);
    if (rows.length !== batch) throw new Error(`the floor's statement wrote ${rows.length} of ${batch} events`);
  };
  return {
    name: 'floor: Node (no pgbench)',
    run: (batch, clients, seconds, written, cpu) =>
      measure(clients, batch, seconds, (i) => batchOf(targets[i] as Target, batch), written, { dataDir: cpu.dataDir }),
    close: () => sql.end(),
  };
}
