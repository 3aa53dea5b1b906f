/**
 * The floor of the ingest bench: the processor's own statement for a batch of expense.add events,
 * sent straight to the same Postgres with the same number of clients — by pgbench, PostgreSQL's C
 * client, so the figure has no Node driver in it; or, where pgbench is missing, from Node.
 *
 * A one-budget batch of adds is ONE statement with no explicit transaction
 * (src/sync/direct-push.ts): the budget's lock and the checks, the inserts, their log rows and the
 * head. The floor does not restate it: it has the server build it (`directStatement`) and captures
 * the text and parameters the driver sends, then replaces each parameter by a pgbench variable or
 * expression. Each client owns a budget. Ids are random, as devices make them (md5 of a random
 * 63-bit number, as a uuid).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type { Sql } from '../../src/db/sql.js';
import { parseClientEvent, type ClientEvent } from '../../src/protocol/events.js';
import { directStatement } from '../../src/sync/direct-push.js';
import { StreamWriter } from '../../src/sync/stream-writer.js';
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

/** The server's event for a raw expense.add (validated, with its fingerprint). */
function clientEvent(raw: unknown): ClientEvent {
  const parsed = parseClientEvent(raw);
  if (!parsed.ok) throw new Error(`the floor's event is invalid: ${parsed.error.message}`);
  return parsed.event;
}

/** Recognisable values for the captured statement's parameters. */
const SENTINEL = {
  budget: '0b000000-0000-4000-8000-000000000000',
  category: '0c000000-0000-4000-8000-000000000000',
  uid: 'floor-sentinel-user',
  now: 1765000000000,
  event: (i: number) => `0e000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  record: (i: number) => `0d000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
};

/**
 * The pgbench script of one batch: the server's statement for `batch` adds, built by
 * `directStatement` and captured from the driver (its budget does not exist, so it writes
 * nothing), each parameter replaced by a pgbench variable or expression. Any parameter it cannot
 * place stops the bench: the floor must be the server's statement, not something near it.
 */
export async function pgbenchScript(url: string, batch: number): Promise<string> {
  const events = Array.from({ length: batch }, (_, k) =>
    clientEvent({
      ...expenseAdd({ budgetId: SENTINEL.budget, categoryId: SENTINEL.category, uid: SENTINEL.uid }),
      eventId: SENTINEL.event(k + 1),
      recordId: SENTINEL.record(k + 1),
      when: SENTINEL.now,
    }),
  );
  let captured: { text: string; values: unknown[] } | undefined;
  const capture = postgres(url, { max: 1, onnotice: () => {}, debug: (_c, text, values) => (captured = { text, values }) });
  try {
    await directStatement(capture as unknown as Sql, SENTINEL.uid, events, new StreamWriter(SENTINEL.now)).statement;
  } finally {
    await capture.end();
  }
  if (!captured) throw new Error('the driver sent no statement');
  // pgbench cannot build strings: the batch's random ids (md5 of one random number and the
  // event's place) and, for a run, its JSON are built by Postgres — about what parsing the
  // server's JSON parameter costs it.
  const event = (g: string) => `md5('e' || :r::text || '-' || ${g})::uuid`;
  const record = (g: string) => `md5('r' || :r::text || '-' || ${g})::uuid`;
  const fingerprint = events[0]?.fingerprint;
  const rows = `(SELECT jsonb_agg(jsonb_build_object('ord', g - 1, 'id', ${record('g')}, 'budget_id', :budget::uuid, 'category_id', :category::uuid,
    'name', NULL, 'allocate', NULL, 'date', '2025-05-06', 'amount', '12.34', 'note', 'bench', 'event_id', ${event('g')},
    'seq', g, 'client_when', :now::bigint, 'fingerprint', '${fingerprint}', 'bump', g = ${batch}))
    FROM generate_series(1, ${batch}) g)`;
  const known = new Map<string, string>([
    [SENTINEL.budget, ':budget'],
    [SENTINEL.category, ':category'],
    [SENTINEL.uid, ':uid'],
    [String(SENTINEL.now), ':now'],
    [SENTINEL.event(1), event('1')],
    [SENTINEL.record(1), record('1')],
    [`{${SENTINEL.category}}`, 'ARRAY[:category::uuid]'],
    [`{${events.map((e) => e.eventId).join(',')}}`, `ARRAY(SELECT ${event('g')} FROM generate_series(1, ${batch}) g)`],
  ]);
  const { text, values } = captured;
  const statement = text.replace(/\$(\d+)/g, (_m, n: string) => {
    const v = values[Number(n) - 1];
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    // Arrays arrive in Postgres's text form, their elements quoted: `{"a","b"}`.
    const placed = known.get(s.startsWith('{') ? s.replaceAll('"', '') : s);
    if (placed) return placed;
    if (s.startsWith('[{') && s.includes('"ord"')) return rows;
    if (s.includes(SENTINEL.budget.slice(0, 8)) || s.includes('0e000000') || s.includes('0d000000'))
      throw new Error(`the floor cannot place parameter $${n}: ${s.slice(0, 200)}`);
    return `'${s.replaceAll("'", "''")}'`; // a constant of the batch (type, date, amount, note, fingerprint)
  });
  const lines = [
    // A client's first statement learns its budget, category and user.
    '\\if :ready = 0',
    'SELECT budget, category, uid FROM bench_floor WHERE n = :client_id \\gset',
    '\\set ready 1',
    '\\endif',
    '\\set r random(1, 9223372036854775807)',
    `\\set now ${SENTINEL.now}`,
    // One line: pgbench ends a statement at `;`.
    `${statement.replace(/\s+/g, ' ').trim()};`,
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
      await fs.writeFile(script, await pgbenchScript(url, batch));
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
    const events = Array.from({ length: batch }, () => clientEvent(expenseAdd(t)));
    const rows = await directStatement(sql, t.uid, events, new StreamWriter(Date.now())).statement;
    if (rows.length !== batch) throw new Error(`the floor's statement wrote ${rows.length} of ${batch} events`);
  };
  return {
    name: 'floor: Node (no pgbench)',
    run: (batch, clients, seconds, written, cpu) =>
      measure(clients, batch, seconds, (i) => batchOf(targets[i] as Target, batch), written, { dataDir: cpu.dataDir }),
    close: () => sql.end(),
  };
}
