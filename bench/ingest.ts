/**
 * `npm run bench:ingest [-- --markdown] [--seconds 3] [--history 1000000] [--clients 8]
 *   [--batches 1,25] [--transports http,socket] [--repeat 1] [--floor pgbench|node|none]
 *   [--profile DIR] [--server-dir DIR] [--json FILE]`
 *
 * Pushes expense.add events over HTTP (POST /events) and over the socket (`push` on /sync), batches
 * of 1 and 25, from closed-loop clients (each its own budget, as devices of different households
 * are), and prints for each cell events/s, the server's CPU per request and per event and
 * Postgres's CPU per event, beside the floor: the processor's own statements for the same batch,
 * sent by pgbench (PostgreSQL's C client) with the same clients to the same database
 * (bench/ingest/floor.ts). Without pgbench it says so and runs the same statements from Node.
 * CPU is read from /proc for the server process and the Postgres cluster, so it is not skewed by
 * other work on a shared machine; events/s is, hence `--repeat` (the cells are interleaved).
 * Then it loads `--history` events into the log and measures again: cost must not grow with history.
 * Every cell is checked against the database: the events counted must equal the growth of the
 * measured budgets' heads over the window, or the run stops.
 *
 * `--profile DIR`: the server runs with --cpu-prof and every cell's profile is summarised by area
 * and function (bench/lib/cpuprofile.ts). `--server-dir DIR`: run the server of another checkout
 * (before/after comparisons from two worktrees, same bench, same floor).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mintDevToken } from '../src/auth/dev-verifier.js';
import { createSql } from '../src/db/sql.js';
import { type Pusher, type Transport, httpPusher, socketPusher } from './ingest/clients.js';
import { type Floor, findPgbench, nodeFloor, pgbenchFloor } from './ingest/floor.js';
import { type Cell, measure, perSecond, pgUsPerEvent, serverMsPerRequest, serverUsPerEvent } from './ingest/measure.js';
import { type Target, eventsIn, expenseAdd, loadHistory, randomTargets, seedTargets } from './ingest/seed.js';
import { type Profile, report, summarise } from './lib/cpuprofile.js';
import { InspectorProfiler } from './lib/inspector.js';
import {
  BENCH_SECRET,
  type Instance,
  type SummaryRow,
  benchDatabase,
  freePort,
  machine,
  startInstance,
  table,
  writeSummary,
} from './lib/env.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    history: { type: 'string', default: '1000000' },
    markdown: { type: 'boolean', default: false },
    clients: { type: 'string', default: '8' },
    batches: { type: 'string', default: '1,25' },
    transports: { type: 'string', default: 'http,socket' },
    repeat: { type: 'string', default: '1' },
    floor: { type: 'string' },
    profile: { type: 'string' },
    'server-dir': { type: 'string' },
    'pg-stats': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const HISTORY = Number(values.history);
const CLIENTS = values.clients.split(',').map(Number);
const MAX_CLIENTS = Math.max(...CLIENTS);
const BATCHES = values.batches.split(',').map(Number);
const TRANSPORTS = values.transports.split(',') as Transport[];
const REPEAT = Number(values.repeat);
const POOL = 10;
const PROFILE_DIR = values.profile ? path.resolve(values.profile) : undefined;
const SERVER_DIR = values['server-dir'] ? path.resolve(values['server-dir']) : undefined;

/** A measured path of one cell: its repeats, and what it is compared with. */
interface Row {
  phase: 'empty' | 'history';
  logSize: number;
  batch: number;
  clients: number;
  path: string;
  cells: Cell[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x: number, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const rate = (r: Row) => mean(r.cells.map(perSecond));
const spread = (r: Row) => {
  const xs = r.cells.map(perSecond);
  return xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '';
};
const cpuMean = (r: Row, f: (c: Cell) => number) => mean(r.cells.map(f));

async function main(): Promise<void> {
  const started = Date.now();
  const pgbench = values.floor === 'node' || values.floor === 'none' ? undefined : await findPgbench();
  const floorKind = values.floor === 'none' ? 'none' : pgbench ? 'pgbench' : 'node';
  if (values.floor === 'pgbench' && !pgbench)
    throw new Error('--floor pgbench: no pgbench found (PGBENCH, PATH, /usr/lib/postgresql/*/bin)');
  if (floorKind === 'node') {
    process.stderr.write('pgbench not found (PGBENCH, PATH, /usr/lib/postgresql/*/bin): the floor is the same statements sent from Node\n');
  }
  // --pg-stats: Postgres's own account of each cell's statements (pg_stat_statements).
  const db = await benchDatabase(values['pg-stats'] ? { shared_preload_libraries: 'pg_stat_statements' } : {});
  const admin = createSql(db.url, { max: 2 });
  if (values['pg-stats']) await admin`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  if (PROFILE_DIR) await fs.mkdir(PROFILE_DIR, { recursive: true });
  const rows: Row[] = [];
  let server: Instance | undefined;
  let floor: Floor | undefined;
  let profiler: InspectorProfiler | undefined;
  try {
    const serverTargets = await seedTargets(admin, randomTargets(MAX_CLIENTS, 'server-'));
    const floorTargets = await seedTargets(admin, randomTargets(MAX_CLIENTS, 'floor-'));
    floor =
      floorKind === 'pgbench'
        ? await pgbenchFloor(pgbench as string, db.url, floorTargets)
        : floorKind === 'node'
          ? nodeFloor(createSql(db.url, { max: POOL }), floorTargets)
          : undefined;
    const cpu = { dataDir: db.dataDir };
    const tokens = serverTargets.map((t) => mintDevToken(BENCH_SECRET, t.uid, { ttlSeconds: 86400 }));
    const written = (targets: Target[], c: number) => () =>
      eventsIn(
        admin,
        targets.slice(0, c).map((t) => t.budgetId),
      );

    const inspectPort = PROFILE_DIR ? await freePort() : undefined;
    const startServer = () =>
      startInstance(db.url, { DATABASE_POOL_MAX: String(POOL) }, inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [], SERVER_DIR);
    server = await startServer();
    profiler = inspectPort ? await InspectorProfiler.connect(inspectPort) : undefined;

    const run = async (phase: Row['phase'], clientCounts: number[]) => {
      const [counted] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
      const logSize = counted?.n ?? 0;
      for (const batch of BATCHES) {
        for (const c of clientCounts) {
          const row = (p: string): Row => ({ phase, logSize, batch, clients: c, path: p, cells: [] });
          const mine = TRANSPORTS.map((t) => ({ t, row: row(t === 'http' ? 'POST /events' : 'socket push') }));
          const floorRow = floor ? row(floor.name) : undefined;
          for (let r = 0; r < REPEAT; r++) {
            for (const { t, row: out } of mine) {
              const s = server as Instance;
              let profile: unknown;
              if (values['pg-stats']) await admin`SELECT pg_stat_statements_reset()`;
              const pushers: Pusher[] = await Promise.all(
                serverTargets
                  .slice(0, c)
                  .map((_, i) => (t === 'http' ? httpPusher(s.port, tokens[i] as string) : socketPusher(s.port, tokens[i] as string))),
              );
              const cell = await measure(
                c,
                batch,
                SECONDS,
                (i) => (pushers[i] as Pusher).push(Array.from({ length: batch }, () => expenseAdd(serverTargets[i] as Target))),
                written(serverTargets, c),
                { ...cpu, serverPid: s.child.pid },
                profiler && r === 0 ? aroundWith(profiler, (p) => (profile = p)) : undefined,
              );
              for (const p of pushers) p.close();
              out.cells.push(cell);
              if (PROFILE_DIR && profile) {
                const file = path.join(PROFILE_DIR, `${phase}-b${batch}-c${c}-${t}.cpuprofile`);
                await fs.writeFile(file, JSON.stringify(profile));
                process.stderr.write(`\n${file}\n${report(summarise(profile as Profile), 30, cell.requests)}\n`);
              }
              if (values['pg-stats']) process.stderr.write(await statements(admin, cell.requests));
              process.stderr.write(`${line(out, cell)}\n`);
            }
            if (floor && floorRow) {
              const cell = await floor.run(batch, c, SECONDS, written(floorTargets, c), cpu);
              floorRow.cells.push(cell);
              process.stderr.write(`${line(floorRow, cell)}\n`);
            }
          }
          rows.push(...mine.map((m) => m.row), ...(floorRow ? [floorRow] : []));
        }
      }
    };

    await run('empty', CLIENTS);
    if (HISTORY > 0) {
      const t0 = Date.now();
      await loadHistory(
        admin,
        [...serverTargets, ...floorTargets].map((t) => t.budgetId),
        HISTORY,
      );
      process.stderr.write(`loaded ${HISTORY} history events in ${Date.now() - t0} ms\n`);
      await run('history', CLIENTS);
    }
  } finally {
    profiler?.close();
    await server?.stop();
    await floor?.close();
    await admin.end();
    await db.close();
  }
  print(rows, floorKind, started);
  await writeSummary(values.json, summary(rows));
}

/** The cell's statements by Postgres's execution time, per request (pg_stat_statements). */
async function statements(sql: ReturnType<typeof createSql>, requests: number): Promise<string> {
  const rows = await sql<{ calls: number; ms: number; rows: number; query: string }[]>`
    SELECT calls::float8 AS calls, total_exec_time AS ms, rows::float8 AS rows, query FROM pg_stat_statements
    WHERE calls > ${Math.floor(requests / 20)} ORDER BY total_exec_time DESC LIMIT 15`;
  const lines = rows.map(
    (r) =>
      `${(r.calls / requests).toFixed(2).padStart(6)} calls/req ${((r.ms * 1000) / r.calls).toFixed(0).padStart(6)} µs/call ${((r.ms * 1000) / requests).toFixed(0).padStart(6)} µs/req  ${r.query.replace(/\s+/g, ' ').slice(0, 150)}`,
  );
  return `pg_stat_statements (execution time only; parse, plan, locks and commit are not in it):\n${lines.join('\n')}\n`;
}

const aroundWith = (p: InspectorProfiler, keep: (profile: unknown) => void) => ({
  start: () => p.start(),
  stop: async () => keep(await p.stop()),
});

const line = (r: Row, c: Cell) =>
  [
    r.phase,
    `batch ${r.batch}`,
    `${r.clients} clients`,
    r.path,
    `${fmt(perSecond(c))} ev/s`,
    `server ${fmt(serverMsPerRequest(c), 2)} ms/req`,
    `pg ${fmt(pgUsPerEvent(c))} µs/ev`,
    `load ${c.load.toFixed(1)}`,
  ].join('  ');

function print(rows: Row[], floorKind: string, started: number): void {
  const floorOf = (r: Row) =>
    rows.find((f) => f.phase === r.phase && f.batch === r.batch && f.clients === r.clients && f.path.includes('floor'));
  const headers = [
    'phase',
    'events in log',
    'batch',
    'clients',
    'path',
    'events/s',
    'of floor',
    'server CPU ms/request',
    'server CPU µs/event',
    'Postgres CPU µs/event',
  ];
  const body = rows.map((r) => {
    const f = floorOf(r);
    const isFloor = r === f;
    return [
      r.phase,
      fmt(r.logSize),
      r.batch,
      r.clients,
      r.path,
      `${fmt(rate(r))}${spread(r)}`,
      isFloor || !f ? '—' : `${Math.round((rate(r) / rate(f)) * 100)}%`,
      isFloor ? '—' : fmt(cpuMean(r, serverMsPerRequest), 3),
      isFloor ? '—' : fmt(cpuMean(r, serverUsPerEvent)),
      fmt(cpuMean(r, pgUsPerEvent)),
    ];
  });
  const loads = rows.flatMap((r) => r.cells.map((c) => c.load));
  process.stdout.write(
    `\nIngest: expense.add over HTTP and the socket vs the ${floorKind === 'pgbench' ? 'same statements sent by pgbench' : floorKind === 'node' ? 'same statements sent from Node (no pgbench found)' : 'no floor'} (pool ${POOL}, ${SECONDS} s per cell, ${REPEAT} repeat(s) interleaved)\n`,
  );
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--json' && all[i - 1] !== '--json');
  process.stdout.write(
    `machine: ${machine()}; load average during the cells ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}\ncommand: npm run bench:ingest${args.length ? ` -- ${args.join(' ')}` : ''}\n\n`,
  );
  process.stdout.write(`${table(headers, body, values.markdown)}\n`);
  process.stdout.write(`\ntotal ${Math.round((Date.now() - started) / 1000)} s\n`);
}

/** The combined table's rows: each path against its floor, and the history cells against the empty log. */
function summary(rows: Row[]): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const r of rows) {
    if (r.path.includes('floor')) continue;
    const cell = `batch ${r.batch}, ${r.clients} clients`;
    const history = r.phase === 'history' ? `, ${fmt(r.logSize)} events in log` : '';
    const f = rows.find((x) => x.phase === r.phase && x.batch === r.batch && x.clients === r.clients && x.path.includes('floor'));
    if (f) {
      out.push({
        benchmark: 'ingest',
        measured: `${r.path}, ${cell}${history}`,
        value: `${fmt(rate(r))} ev/s, ${fmt(cpuMean(r, serverMsPerRequest), 3)} ms CPU/req`,
        against: f.path.includes('pgbench')
          ? 'pgbench: the same statements straight to Postgres'
          : 'Node: the same statements straight to Postgres',
        againstValue: `${fmt(rate(f))} ev/s`,
        ratio: `${Math.round((rate(r) / rate(f)) * 100)}%`,
      });
    }
    const empty = rows.find((x) => x.phase === 'empty' && x.batch === r.batch && x.clients === r.clients && x.path === r.path);
    if (r.phase === 'history' && empty) {
      out.push({
        benchmark: 'ingest',
        measured: `${r.path} with ${fmt(r.logSize)} events of history, ${cell}`,
        value: `${fmt(rate(r))} ev/s`,
        against: 'the same cell on an empty log',
        againstValue: `${fmt(rate(empty))} ev/s`,
        ratio: `${Math.round((rate(r) / rate(empty)) * 100)}%`,
      });
    }
  }
  return out;
}

await main();
