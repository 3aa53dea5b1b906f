/**
 * `npm run bench:ingest [-- --markdown] [--seconds 3] [--history 1000000] [--clients 1,4,16,32] [--batches 1,25]`
 *
 * Pushes expense.add events over HTTP (POST /events) with batch sizes 1 and 25 from 1–32 concurrent
 * clients (each its own budget, as devices of different households are), and prints events/s beside
 * the floor: the same SQL the processor runs for the same batch — the same transaction, locks,
 * savepoints and statements — sent straight to the same Postgres by a minimal client with the same
 * pool size, in the same run. So each figure is a ratio: what HTTP, auth, validation and JSON cost.
 * A last column runs the floor again with a savepoint around every event, one after the other (the
 * design variant the processor avoids), to show what those round trips cost.
 * Then it loads `--history` events (default 1,000,000) into the log and measures again: per-event cost
 * must not grow with history.
 * Every cell is checked against the database: the events counted must equal the growth of the
 * measured budgets' `last_sequence` over the window, or the run stops.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mintDevToken } from '../src/auth/dev-verifier.js';
import { createSql, type Sql } from '../src/db/sql.js';
import { BENCH_SECRET, JsonClient, type SummaryRow, benchDatabase, machine, startInstance, table, writeSummary } from './lib/env.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    history: { type: 'string', default: '1000000' },
    markdown: { type: 'boolean', default: false },
    clients: { type: 'string', default: '1,4,16,32' },
    batches: { type: 'string', default: '1,25' },
    json: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const HISTORY = Number(values.history);
const CLIENTS = values.clients.split(',').map(Number);
const MAX_CLIENTS = Math.max(...CLIENTS);
const BATCHES = values.batches.split(',').map(Number);
const POOL = 10;

interface Target {
  budgetId: string;
  categoryId: string;
  uid: string;
}

const expenseAdd = (t: Target) => ({
  eventId: randomUUID(),
  eventType: 'expense.add',
  budgetId: t.budgetId,
  recordId: randomUUID(),
  categoryId: t.categoryId,
  date: '2025-05-06',
  amount: '12.34',
  note: 'bench',
  when: Date.now(),
});

/**
 * Runs `clients` loops of `step` for SECONDS after a short warm-up; returns events per second.
 * `written` reads how many events the measured clients' budgets hold (the sum of their
 * `last_sequence`): its growth over the measured window must equal the count, so a figure the
 * database does not confirm is never printed.
 */
async function measure(clients: number, step: (i: number) => Promise<number>, written: () => Promise<number>): Promise<number> {
  let stop = Date.now() + 500;
  const warm = Array.from({ length: clients }, async (_, i) => {
    while (Date.now() < stop) await step(i);
  });
  await Promise.all(warm);
  const before = await written();
  let events = 0;
  const started = Date.now();
  stop = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (Date.now() < stop) {
        // Not `events += await step(i)`: that reads `events` before the await and stores the stale
        // value plus n after it, so concurrent loops overwrite each other's counts — N clients were
        // counted as about one, which made throughput look as if it fell with every added writer.
        const n = await step(i);
        events += n;
      }
    }),
  );
  const elapsed = Date.now() - started;
  const grew = (await written()) - before;
  if (grew !== events) throw new Error(`counted ${events} events in ${clients} clients but their budgets' logs grew by ${grew}`);
  return (events / elapsed) * 1000;
}

/** Events in the logs of the first `clients` targets' budgets. */
async function eventsIn(sql: Sql, targets: Target[], clients: number): Promise<number> {
  const ids = targets.slice(0, clients).map((t) => t.budgetId);
  const [row] = await sql<{ n: number }[]>`SELECT coalesce(sum(last_sequence), 0)::bigint AS n FROM budgets WHERE id = ANY(${ids}::uuid[])`;
  return row?.n ?? 0;
}

const EXPENSE_JSON = `jsonb_build_object('id', r.id, 'budgetId', r.budget_id, 'categoryId', r.category_id, 'date', to_char(r.date, 'YYYY-MM-DD'),
  'amount', r.amount::text, 'note', r.note, 'createdBy', r.created_by, 'version', r.version, 'createdAt', r.created_at, 'updatedAt', r.updated_at)`;

/**
 * The processor's statements for a batch of expense.add events (src/sync/processor.ts and
 * apply-event.ts), without HTTP, auth or validation. With `savepoints`, the design variant that
 * sends the events one after the other, each in its own savepoint (two round trips per event), for
 * comparison.
 */
async function floorBatch(sql: Sql, t: Target, batch: number, savepoints = false): Promise<number> {
  const events = Array.from({ length: batch }, () => expenseAdd(t));
  const now = Date.now();
  await sql.begin(async (tx) => {
    // Pipelined in one round trip, lock first (as the processor sends them).
    const [[budget]] = await Promise.all([
      tx<{ id: string; last_sequence: number }[]>`
        SELECT * FROM budgets WHERE id = ANY(${[t.budgetId]}::uuid[]) ORDER BY id FOR UPDATE`.execute(),
      tx`SELECT budget_id FROM participants WHERE user_id = ${t.uid} AND budget_id = ANY(${[t.budgetId]}::uuid[])`.execute(),
      tx`SELECT * FROM events WHERE event_id = ANY(${events.map((e) => e.eventId)}::uuid[])`.execute(),
    ]);
    const head = budget?.last_sequence ?? 0;
    const json = tx.unsafe(EXPENSE_JSON);
    // The batch's last event also writes the budget's head (no separate UPDATE after the loop).
    const statement = (q: typeof tx, e: ReturnType<typeof expenseAdd>, seq: number, last: boolean) => q`
      WITH r AS (
        INSERT INTO expenses (id, budget_id, category_id, date, amount, note, created_by, version, created_at, updated_at)
        SELECT ${e.recordId}, ${e.budgetId}, c.id, ${e.date}, ${e.amount}, ${e.note}, ${t.uid}, 1, ${now}, ${now}
        FROM categories c WHERE c.id = ${e.categoryId} AND c.budget_id = ${e.budgetId} AND NOT c.deleted
        ON CONFLICT (id) DO NOTHING RETURNING *),
      ${last ? q`head AS (UPDATE budgets SET last_sequence = ${seq} WHERE id = ${e.budgetId} AND EXISTS (SELECT 1 FROM r)),` : q``}
      logged AS (
        INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, extra, fingerprint)
        SELECT ${e.budgetId}, ${seq}, ${e.eventId}, ${e.eventType}, ${e.recordId}, ${t.uid}, ${e.when}, ${now},
               r.version, ${json}, NULL::jsonb, ${'fingerprint-of-the-event-000000'}
        FROM r)
      SELECT r.*, ${json} AS record, NULL::uuid[] AS cascade_ids FROM r`;
    if (savepoints) {
      for (const [i, e] of events.entries())
        await tx.savepoint((sp) => statement(sp as typeof tx, e, head + i + 1, i === events.length - 1));
    } else {
      // All of the batch's statements in one round trip, as the processor's pipeline sends them.
      await Promise.all(events.map((e, i) => statement(tx, e, head + i + 1, i === events.length - 1).execute()));
    }
  });
  return batch;
}

/** Budgets and categories created straight in SQL, each owned by its own user. */
async function seedTargets(sql: Sql, n: number, prefix: string): Promise<Target[]> {
  const now = Date.now();
  const targets = Array.from({ length: n }, (_, i) => ({ budgetId: randomUUID(), categoryId: randomUUID(), uid: `${prefix}${i}` }));
  for (const t of targets) {
    await sql`INSERT INTO users (id, created_at, updated_at) VALUES (${t.uid}, ${now}, ${now}) ON CONFLICT DO NOTHING`;
    await sql`INSERT INTO budgets (id, title, owner_id, created_by, created_at, updated_at) VALUES (${t.budgetId}, 'bench', ${t.uid}, ${t.uid}, ${now}, ${now})`;
    await sql`INSERT INTO participants (budget_id, user_id, role, joined_at) VALUES (${t.budgetId}, ${t.uid}, 'owner', ${now})`;
    await sql`INSERT INTO categories (id, budget_id, name, allocate, created_by, created_at, updated_at)
              VALUES (${t.categoryId}, ${t.budgetId}, 'c', '100.00', ${t.uid}, ${now}, ${now})`;
  }
  return targets;
}

/** Appends `total` synthetic events spread over the budgets, continuing their sequences. */
async function loadHistory(sql: Sql, budgets: string[], total: number): Promise<void> {
  const per = Math.ceil(total / budgets.length);
  for (const id of budgets) {
    await sql.begin(async (tx) => {
      const [head] = await tx<{ s: number }[]>`SELECT last_sequence AS s FROM budgets WHERE id = ${id} FOR UPDATE`;
      const from = head?.s ?? 0;
      await tx`
        INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, fingerprint)
        SELECT ${id}, ${from}::bigint + g, gen_random_uuid(), 'expense.edit', gen_random_uuid()::text, 'history', 0, 0, g,
               '{"note":"history row of realistic size, about two hundred bytes of record json"}'::jsonb, 'h'
        FROM generate_series(1, ${per}::int) g`;
      await tx`UPDATE budgets SET last_sequence = ${from + per} WHERE id = ${id}`;
    });
  }
  await sql`VACUUM ANALYZE events`;
  // The load itself wrote ~0.5 GB of WAL: without a checkpoint here, the one it triggers runs
  // during the measured cells and charges the load's I/O to them.
  await sql`CHECKPOINT`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const db = await benchDatabase();
  const admin = createSql(db.url, { max: 2 });
  const floorSql = createSql(db.url, { max: POOL });
  const server = await startInstance(db.url, { DATABASE_POOL_MAX: String(POOL) });
  const rows: (string | number)[][] = [];
  try {
    const serverTargets = await seedTargets(admin, MAX_CLIENTS, 'server-');
    const floorTargets = await seedTargets(admin, MAX_CLIENTS, 'floor-');
    const clients = serverTargets.map((t) => new JsonClient(server.port, mintDevToken(BENCH_SECRET, t.uid, { ttlSeconds: 86400 })));

    const run = async (phase: string, batches: number[], clientCounts: number[]) => {
      const [counted] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
      const n = counted?.n ?? 0;
      for (const batch of batches) {
        for (const c of clientCounts) {
          const http = await measure(
            c,
            async (i) => {
              const t = serverTargets[i] as Target;
              const res = await (clients[i] as JsonClient).request<{ events: { status: string }[] }>('POST', '/events', {
                events: Array.from({ length: batch }, () => expenseAdd(t)),
              });
              if (res.status !== 200 || res.json.events.some((e) => e.status !== 'accepted')) throw new Error(`push failed: ${res.status}`);
              return batch;
            },
            () => eventsIn(admin, serverTargets, c),
          );
          const floorWritten = () => eventsIn(admin, floorTargets, c);
          const floor = await measure(c, (i) => floorBatch(floorSql, floorTargets[i] as Target, batch), floorWritten);
          const variant =
            phase === 'empty' ? await measure(c, (i) => floorBatch(floorSql, floorTargets[i] as Target, batch, true), floorWritten) : NaN;
          rows.push([
            phase,
            n.toLocaleString('en'),
            batch,
            c,
            Math.round(http),
            Math.round(floor),
            `${Math.round((http / floor) * 100)}%`,
            Number.isNaN(variant) ? '—' : Math.round(variant),
          ]);
          process.stderr.write(`${rows.at(-1)?.join('  ')}\n`);
        }
      }
    };

    await run('empty', BATCHES, CLIENTS);
    if (HISTORY > 0) {
      const t0 = Date.now();
      await loadHistory(
        admin,
        [...serverTargets, ...floorTargets].map((t) => t.budgetId),
        HISTORY,
      );
      process.stderr.write(`loaded ${HISTORY} history events in ${Date.now() - t0} ms\n`);
      await run(
        'history',
        BATCHES,
        CLIENTS.filter((c) => c >= 4),
      );
    }
    for (const c of clients) c.close();
  } finally {
    await server.stop();
    await floorSql.end();
    await admin.end();
    await db.close();
  }
  const headers = [
    'phase',
    'events in log',
    'batch',
    'clients',
    'HTTP events/s',
    'floor events/s',
    'HTTP / floor',
    'floor with a savepoint per event',
  ];
  process.stdout.write(`\nIngest: POST /events vs the same SQL sent straight to Postgres (pool ${POOL}, ${SECONDS} s per cell)\n`);
  process.stdout.write(
    `machine: ${machine()}\ncommand: npm run bench:ingest -- --seconds ${SECONDS} --history ${HISTORY}${values.batches === '1,25' ? '' : ` --batches ${values.batches}`}${values.clients === '1,4,16,32' ? '' : ` --clients ${values.clients}`}\n\n`,
  );
  process.stdout.write(`${table(headers, rows, values.markdown)}\n`);
  process.stdout.write(`\ntotal ${Math.round((Date.now() - started) / 1000)} s\n`);
  await writeSummary(values.json, summary(rows));
}

/** The combined table's rows: each cell against its floor, and the history cells against the empty log. */
function summary(rows: (string | number)[][]): SummaryRow[] {
  const out: SummaryRow[] = [];
  const empty = new Map<string, number>();
  for (const [phase, , batch, clients, http, floor] of rows) {
    const cell = `batch ${batch}, ${clients} clients`;
    out.push({
      benchmark: 'ingest',
      measured: `POST /events, ${cell}${phase === 'history' ? `, ${HISTORY.toLocaleString('en')} events in log` : ''}`,
      value: `${http} ev/s`,
      against: 'the same SQL straight to Postgres',
      againstValue: `${floor} ev/s`,
      ratio: `${Math.round((Number(http) / Number(floor)) * 100)}%`,
    });
    if (phase === 'empty') empty.set(cell, Number(http));
    else if (empty.has(cell)) {
      const before = empty.get(cell) as number;
      out.push({
        benchmark: 'ingest',
        measured: `per-event cost with ${HISTORY.toLocaleString('en')} events of history, ${cell}`,
        value: `${http} ev/s`,
        against: 'the same cell on an empty log',
        againstValue: `${before} ev/s`,
        ratio: `${Math.round((Number(http) / before) * 100)}%`,
      });
    }
  }
  return out;
}

await main();
