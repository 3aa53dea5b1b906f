/**
 * `npm run bench:fanout [-- --seconds 10] [--rate 1000] [--sockets 1000,10000] [--storm 5000] [--markdown]`
 *
 * Real-time fan-out on this machine, loopback only, two server instances (child processes) on one
 * Postgres, sockets split evenly between them, every budget followed from both:
 *
 * 1. Write throughput in the same run, 8 writers of single-event batches through the Processor:
 *    no NOTIFY (the floor), the coalesced after-commit notifier (what the server does), and NOTIFY
 *    inside the write transaction (what it avoids: PITFALLS §1).
 * 2. Commit → delivery latency (now − event.serverTime at the client; serverTime is taken when the
 *    write transaction starts, so this includes the transaction) with 1k and then 10k sockets at
 *    `--rate` events/s, 10 sockets per budget, plus gaps and repeats per socket.
 * 3. RSS per idle socket: both instances' RSS with 10k subscribed, idle sockets minus before any.
 * 4. A reconnect storm: `--storm` sockets dropped and reopened at once while writes go on; time
 *    until each is subscribed again, then every socket must hold its budget's stream 1..N.
 *
 * Numbers from a 2-core VM where load generator, both servers and Postgres share the cores are
 * indicative only; compare ratios within one run.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import WebSocket from 'ws';
import { mintDevToken } from '../src/auth/dev-verifier.js';
import { type Sql, createSql } from '../src/db/sql.js';
import { Metrics } from '../src/http/metrics.js';
import { Notifier } from '../src/realtime/notifier.js';
import { encodeNotice } from '../src/realtime/notify-payload.js';
import { type ChangeSink, NO_SINK } from '../src/sync/changes.js';
import { Membership } from '../src/sync/membership.js';
import { Processor } from '../src/sync/processor.js';
import { BENCH_SECRET, type Instance, JsonClient, type SummaryRow, benchDatabase, machine, percentile, startInstance, table, writeSummary } from './lib/env.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    sockets: { type: 'string', default: '1000,10000' },
    storm: { type: 'string', default: '5000' },
    'write-seconds': { type: 'string', default: '4' },
    markdown: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const PHASES = values.sockets.split(',').map(Number);
const STORM = Number(values.storm);
const WRITE_SECONDS = Number(values['write-seconds']);
const PER_BUDGET = 10;
const EVENTS_PER_PUSH = 5;
const CHANNEL = 'budget_sync';
const WRITER = 'bench-writer';
const token = (uid: string) => mintDevToken(BENCH_SECRET, uid, { ttlSeconds: 4 * 3600 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : '–');

// The whole run is bounded: a hung phase fails the bench instead of holding the machine.
const LIMIT_MS = 15 * 60_000;
setTimeout(() => {
  process.stderr.write(`bench:fanout exceeded ${LIMIT_MS / 60_000} min, aborting\n`);
  process.exit(3);
}, LIMIT_MS).unref();

const categoryAdd = (budgetId: string) => ({ eventId: randomUUID(), eventType: 'category.add', budgetId, recordId: randomUUID(), name: 'bench', allocate: '10.00', when: Date.now() });

async function parallel<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  }));
}

// ---- 1. write throughput ------------------------------------------------------------------------

/** The same Sql, but every `begin` also NOTIFYs inside the transaction, before COMMIT. */
function notifyingInTransaction(sql: Sql): Sql {
  const payload = () => encodeNotice({ instanceId: 'bench-in-tx', pointers: [{ budgetId: randomUUID(), sequence: 1 }], membership: [] })[0] as string;
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop !== 'begin') return Reflect.get(target, prop, receiver);
      return (fn: (tx: never) => Promise<unknown>) =>
        target.begin(async (tx) => {
          const result = await fn(tx as never);
          await tx`SELECT pg_notify(${CHANNEL}, ${payload()})`;
          return result;
        });
    },
  });
}

async function writeThroughput(url: string): Promise<(string | number)[][]> {
  const writers = 8;
  const sql = createSql(url, { max: writers + 2, applicationName: 'bench-writer' });
  const membership = new Membership(sql, NO_SINK, { participantLimit: 10, inviteTtlSeconds: 3600 });
  const budgets: string[] = [];
  for (let i = 0; i < writers; i++) {
    const id = randomUUID();
    await membership.createBudget(`tw${i}`, { eventId: randomUUID(), id, title: 'tw', when: Date.now() });
    budgets.push(id);
  }
  const notifier = new Notifier(sql, CHANNEL, 'bench-writer', new Metrics(), pino({ level: 'silent' }));
  const coalesced: ChangeSink = { committed: (p, m) => notifier.publish(p, m) };
  const variants: [string, Processor][] = [
    ['no NOTIFY (floor)', new Processor(sql, NO_SINK)],
    ['coalesced notifier after commit (server)', new Processor(sql, coalesced)],
    ['NOTIFY inside the write transaction', new Processor(notifyingInTransaction(sql), NO_SINK)],
  ];
  const best = new Map<string, number>();
  // Two interleaved rounds, best of each, so drift (autovacuum, page cache) hits all variants alike.
  for (let round = 0; round < 2; round++) {
    for (const [name, processor] of variants) {
      const stop = Date.now() + WRITE_SECONDS * 1000;
      let events = 0;
      await Promise.all(budgets.map(async (b, i) => {
        while (Date.now() < stop) {
          await processor.push([categoryAdd(b)], `tw${i}`);
          events++;
        }
      }));
      best.set(name, Math.max(best.get(name) ?? 0, events / WRITE_SECONDS));
    }
  }
  await notifier.close();
  await sql.end({ timeout: 5 });
  const floor = best.get(variants[0]?.[0] as string) ?? 1;
  return variants.map(([name]) => [name, Math.round(best.get(name) ?? 0), `${(((best.get(name) ?? 0) / floor) * 100).toFixed(0)}%`]);
}

// ---- 2.–4. sockets ------------------------------------------------------------------------------

interface Device {
  uid: string;
  budgetId: string;
  url: string;
  ws?: WebSocket;
  cursor: number;
  gaps: number;
  repeats: number;
}

const recording = { from: Infinity, to: -Infinity, latencies: [] as number[], delivered: 0 };

function open(d: Device): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(d.url, { headers: { authorization: `Bearer ${token(d.uid)}` } });
    d.ws = ws;
    const timer = setTimeout(() => reject(new Error('subscribe timed out')), 60_000);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; events?: { sequence: number; serverTime: number }[] };
      if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe', budgetId: d.budgetId, after: d.cursor }));
      else if (msg.type === 'subscribed') {
        clearTimeout(timer);
        resolve();
      } else if (msg.type === 'events') {
        const now = Date.now();
        for (const e of msg.events ?? []) {
          if (e.sequence === d.cursor + 1) d.cursor = e.sequence;
          else if (e.sequence <= d.cursor) d.repeats++;
          else {
            d.gaps++;
            d.cursor = e.sequence;
          }
          if (e.serverTime >= recording.from && e.serverTime <= recording.to) {
            recording.latencies.push(now - e.serverTime);
            recording.delivered++;
          }
        }
      } else if (msg.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`server error: ${JSON.stringify(msg)}`));
      }
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Opens with retries (a storm may meet a full accept backlog); returns the failed attempts. */
async function openRetrying(d: Device): Promise<number> {
  for (let failures = 0; ; failures++) {
    try {
      await open(d);
      return failures;
    } catch (err) {
      d.ws?.terminate();
      if (failures > 20) throw err;
      await sleep(50 + Math.random() * 200);
    }
  }
}

/** Pushes `RATE` events/s (batches of 5, one random budget each) to both instances for `seconds`. */
async function drive(budgets: string[], clients: JsonClient[], seconds: number): Promise<number> {
  const pushesPerSecond = RATE / EVENTS_PER_PUSH;
  const started = Date.now();
  const stop = started + seconds * 1000;
  let sent = 0;
  let inFlight = 0;
  let accepted = 0;
  while (Date.now() < stop) {
    const due = Math.floor(((Date.now() - started) / 1000) * pushesPerSecond);
    while (sent < due && inFlight < 64) {
      const budgetId = budgets[Math.floor(Math.random() * budgets.length)] as string;
      const client = clients[sent % clients.length] as JsonClient;
      sent++;
      inFlight++;
      void client
        .request<{ events: { status: string }[] }>('POST', '/events', { events: Array.from({ length: EVENTS_PER_PUSH }, () => categoryAdd(budgetId)) })
        .then((r) => {
          accepted += r.json.events?.filter((e) => e.status === 'accepted').length ?? 0;
        })
        .catch(() => {})
        .finally(() => inFlight--);
    }
    await sleep(2);
  }
  while (inFlight > 0) await sleep(5);
  return accepted / seconds;
}

/** Both instances' `ws_delivery_lag_seconds` buckets (cumulative counts by upper bound), summed. */
async function lagBuckets(instances: Instance[]): Promise<Map<number, number>> {
  const sum = new Map<number, number>();
  for (const i of instances) {
    const text = await fetch(`${i.base}/metrics`).then((r) => r.text());
    for (const m of text.matchAll(/^ws_delivery_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      sum.set(le, (sum.get(le) ?? 0) + Number(m[2]));
    }
  }
  return sum;
}

/** The bucket bound (ms) under which `p`% of the sends between two scrapes fell: the servers' own view. */
function lagQuantile(before: Map<number, number>, after: Map<number, number>, p: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return '–';
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= (p / 100) * total) return Number.isFinite(le) ? `≤ ${le * 1000}` : '> 30000';
  }
  return '–';
}

async function rss(instances: Instance[]): Promise<number> {
  let total = 0;
  for (const i of instances) {
    const status = await fs.readFile(`/proc/${i.child.pid}/status`, 'utf8');
    total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  }
  return total;
}

async function latencyPhase(sockets: number, budgets: string[], clients: JsonClient[], instances: Instance[]): Promise<(string | number)[]> {
  recording.latencies = [];
  recording.delivered = 0;
  const warmup = 2000;
  recording.from = Date.now() + warmup;
  recording.to = recording.from + SECONDS * 1000;
  const lagBefore = await lagBuckets(instances);
  const written = await drive(budgets, clients, SECONDS + warmup / 1000);
  await sleep(2000); // let the tail arrive
  const lagAfter = await lagBuckets(instances);
  const sorted = recording.latencies.sort((a, b) => a - b);
  return [
    sockets, budgets.length, Math.round(written), Math.round(recording.delivered / SECONDS),
    fmt(percentile(sorted, 50)), fmt(percentile(sorted, 95)), fmt(percentile(sorted, 99)), fmt(sorted.at(-1) ?? NaN),
    lagQuantile(lagBefore, lagAfter, 50), lagQuantile(lagBefore, lagAfter, 99),
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  const db = await benchDatabase();
  const env = { WS_MAX_CONNECTIONS_PER_USER: '100000', WS_MAX_CONNECTIONS: '100000', WS_HEARTBEAT_MS: '30000', DATABASE_POOL_MAX: '10' };
  const instances = await Promise.all([startInstance(db.url, env), startInstance(db.url, env)]);
  const out: string[] = [`machine: ${machine()}`, `command: npm run bench:fanout${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, ''];
  const all: Device[] = [];
  const summary: SummaryRow[] = [];
  const clients = instances.map((i) => new JsonClient(i.port, token(WRITER)));
  try {
    process.stderr.write('write throughput…\n');
    out.push(`Write throughput, 8 writers × single-event batches, ${WRITE_SECONDS} s per variant, best of 2 interleaved rounds:`);
    const throughput = await writeThroughput(db.url);
    out.push(table(['variant', 'events/s', 'vs floor'], throughput, values.markdown), '');
    const [floorRow, notifierRow, inTxRow] = throughput as [(string | number)[], (string | number)[], (string | number)[]];
    summary.push(
      { benchmark: 'fanout', measured: 'writes with the coalesced notifier', value: `${notifierRow[1]} ev/s`, against: 'no NOTIFY at all', againstValue: `${floorRow[1]} ev/s`, ratio: `${notifierRow[2]}` },
      {
        benchmark: 'fanout',
        measured: 'writes with the coalesced notifier',
        value: `${notifierRow[1]} ev/s`,
        against: 'NOTIFY inside the write transaction (target ≥ 1.5×)',
        againstValue: `${inTxRow[1]} ev/s`,
        ratio: `${(Number(notifierRow[1]) / Number(inTxRow[1])).toFixed(2)}×`,
      },
    );

    // Budgets owned by the writer; each gets one user with PER_BUDGET devices.
    const maxSockets = Math.max(...PHASES, STORM);
    const budgetCount = Math.ceil(maxSockets / PER_BUDGET);
    const sql = createSql(db.url, { max: 16 });
    const membership = new Membership(sql, NO_SINK, { participantLimit: 10, inviteTtlSeconds: 3600 });
    const budgets: string[] = Array.from({ length: budgetCount }, () => randomUUID());
    process.stderr.write(`creating ${budgetCount} budgets…\n`);
    await parallel(budgets, 16, async (id, i) => {
      await membership.createBudget(WRITER, { eventId: randomUUID(), id, title: `b${i}`, when: Date.now() });
      const { token: invite } = await membership.createInvite(WRITER, id, {});
      await membership.join(`u${i}`, invite);
    });
    await sql.end({ timeout: 5 });
    const rssBefore = await rss(instances);

    const latencyRows: (string | number)[][] = [];
    let rssRow: (string | number)[] = [];
    for (const n of PHASES) {
      const active = budgets.slice(0, Math.ceil(n / PER_BUDGET));
      const fresh: Device[] = [];
      for (let i = all.length; i < n; i++) {
        const b = Math.floor(i / PER_BUDGET);
        fresh.push({ uid: `u${b}`, budgetId: budgets[b] as string, url: `ws://127.0.0.1:${instances[i % 2]?.port}/sync`, cursor: 0, gaps: 0, repeats: 0 });
      }
      process.stderr.write(`opening ${fresh.length} sockets (${n} in all)…\n`);
      await parallel(fresh, 200, async (d) => void (await openRetrying(d)));
      all.push(...fresh);
      await sleep(3000);
      const rssNow = await rss(instances);
      rssRow = [n, (rssBefore / 2 ** 20).toFixed(0), (rssNow / 2 ** 20).toFixed(0), ((rssNow - rssBefore) / n / 1024).toFixed(1)];
      process.stderr.write(`latency with ${n} sockets…\n`);
      latencyRows.push(await latencyPhase(n, active, clients, instances));
    }
    for (const r of latencyRows) {
      summary.push({
        benchmark: 'fanout',
        measured: `commit → delivery p99 at the clients, ${r[0]} sockets, ${r[2]} ev/s written`,
        value: `${r[6]} ms`,
        against: 'target',
        againstValue: '50 ms',
        ratio: `p50 ${r[4]} / p95 ${r[5]} ms; server send lag p99 ${r[9]} ms`,
      });
    }
    summary.push({ benchmark: 'fanout', measured: `server RSS per idle socket, ${rssRow[0]} sockets`, value: `${rssRow[3]} KiB`, against: 'target', againstValue: '16 KiB', ratio: `${(Number(rssRow[3]) / 16 * 100).toFixed(0)}%` });
    out.push(`Commit → delivery (ms), ${RATE} events/s requested in batches of ${EVENTS_PER_PUSH}, ${PER_BUDGET} sockets per budget, ${SECONDS} s after 2 s warm-up:`);
    out.push(
      table(['sockets', 'budgets', 'events/s written', 'deliveries/s', 'p50', 'p95', 'p99', 'max', 'server send lag p50', 'server send lag p99'], latencyRows, values.markdown),
      '',
      'p50–max: seen by the clients (all sockets live in this one load-generator process). Server send lag: the',
      "instances' own ws_delivery_lag_seconds histogram (commit → send, bucket bounds) over the same phase.",
      '',
    );
    out.push('Memory, both instances together (subscribed idle sockets, RSS after 3 s):');
    out.push(table(['sockets', 'RSS before (MiB)', 'RSS with sockets (MiB)', 'KiB per socket'], [rssRow], values.markdown), '');

    // The storm: drop STORM sockets at once and reopen them while writes go on.
    const victims = all.slice(0, STORM);
    const activeBudgets = budgets.slice(0, Math.ceil(all.length / PER_BUDGET));
    process.stderr.write(`reconnect storm of ${victims.length} sockets…\n`);
    const writes = drive(activeBudgets, clients, 10);
    await sleep(2000);
    const stormStart = Date.now();
    const times: number[] = [];
    let failures = 0;
    for (const d of victims) d.ws?.terminate();
    await Promise.all(victims.map(async (d) => {
      failures += await openRetrying(d);
      times.push(Date.now() - stormStart);
    }));
    const stormMs = Date.now() - stormStart;
    await writes;

    // Every socket must end with its budget's whole stream.
    const check = createSql(db.url, { max: 1 });
    const heads = new Map((await check<{ id: string; last_sequence: number }[]>`SELECT id, last_sequence FROM budgets`).map((r) => [r.id, r.last_sequence]));
    await check.end({ timeout: 5 });
    const deadline = Date.now() + 60_000;
    while (all.some((d) => d.cursor < (heads.get(d.budgetId) ?? 0)) && Date.now() < deadline) await sleep(100);
    const behind = all.filter((d) => d.cursor !== heads.get(d.budgetId)).length;
    const sorted = times.sort((a, b) => a - b);
    out.push(`Reconnect storm: ${victims.length} sockets dropped at once and reopened (retrying with 50–250 ms jitter) during ${RATE} events/s:`);
    out.push(
      table(
        ['sockets', 'resubscribed p50 (ms)', 'p95', 'p99', 'all back (ms)', 'failed attempts', 'sockets behind at end', 'gaps', 'repeats'],
        [[victims.length, percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99), stormMs, failures, behind, all.reduce((n, d) => n + d.gaps, 0), all.reduce((n, d) => n + d.repeats, 0)]],
        values.markdown,
      ),
    );
    const gaps = all.reduce((n, d) => n + d.gaps, 0);
    const repeats = all.reduce((n, d) => n + d.repeats, 0);
    summary.push({
      benchmark: 'fanout',
      measured: `reconnect storm: ${victims.length} sockets back and resumed`,
      value: `${stormMs} ms`,
      against: 'target',
      againstValue: '10000 ms',
      ratio: `${behind} behind, ${gaps} gaps, ${repeats} repeats`,
    });
    await writeSummary(values.json, summary);
    out.push('', `total run ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const d of all) d.ws?.terminate();
    for (const c of clients) c.close();
    await Promise.all(instances.map((i) => i.stop()));
    await db.close();
  }
}

await main();
process.exit(0);
