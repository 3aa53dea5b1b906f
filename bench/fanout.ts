/**
 * `npm run bench:fanout [-- --seconds 10] [--rate 1000] [--sockets 1000,10000] [--big 1000]
 *   [--big-share 0.01] [--batch 5] [--storm 5000] [--clients 2] [--seed 1] [--markdown]
 *   [--profile DIR] [--skip-writes] [--skip-storm]`
 *
 * Real-time fan-out on this machine, loopback only, two server instances (child processes) on one
 * Postgres, every budget's devices split between the two instances:
 *
 * 1. Write throughput in the same run, 8 writers of single-event batches through the Processor:
 *    no NOTIFY (the floor), the coalesced after-commit notifier (what the server does), and NOTIFY
 *    inside the write transaction (what it avoids: docs/dependencies.md, "Postgres LISTEN/NOTIFY").
 * 2. Commit → delivery latency at 1k and then 10k connected sockets, `--rate` events/s in batches
 *    of `--batch`. The workload (seeded by `--seed`, the same every run):
 *    - small budgets of 2–5 devices each (uniform), the devices belonging to 1–3 users of the
 *      budget (devices of one person, or of a couple or a family), every budget followed from both
 *      instances;
 *    - ONE big budget with `--big` subscribers (1,000: 500 users × 2 devices), half on each
 *      instance. It is part of every phase's socket count: in a phase of N sockets it has
 *      min(--big, N/2) subscribers (so 500 at 1k, next to 500 sockets on small budgets; 1,000 at
 *      10k next to 9,000 on small budgets), and it receives `--big-share` of the pushes (0.01 of
 *      1,000 ev/s = 10 ev/s → 10,000 deliveries/s at 1,000 subscribers); the rest go to the small
 *      budgets that have a device connected, chosen at random (seeded).
 *    Latency is measured at the client as now − event.serverTime. serverTime is taken when the
 *    write transaction STARTS, so the figure over-states commit → delivery by the transaction's own
 *    duration; so it is also measured as now − the event's commit time (bench/fanout/commit-latency.ts).
 *    Beside them: the instances' own `ws_delivery_lag_seconds` histogram (same origin, up to the
 *    send), their event-loop delay, GC time and CPU, and the load generator's event-loop delay.
 * 3. RSS per idle socket: both instances' RSS with all sockets subscribed and idle, minus before any;
 *    and the same after a full GC in both (through their inspectors, on loopback ports).
 * 4. A reconnect storm: `--storm` sockets (a seeded sample of all) dropped and reopened at once
 *    while writes go on; time until each is subscribed again, and until each has caught up with its
 *    budget's head at the moment of the drop; then every socket must hold its budget's stream 1..N
 *    with no gap and no repeat.
 *
 * The client sockets live in `--clients` child processes (default 2), not in the process that
 * drives the writes, so a burst of 1,000 big-budget messages does not queue behind the HTTP writer
 * (and vice versa) and one client's GC does not stall them all. All of it still shares the
 * machine's two cores with both servers and Postgres.
 *
 * `--profile DIR` writes CPU profiles (node --cpu-prof) of both instances and of every client
 * process into DIR. `--skip-writes` / `--skip-storm` leave parts out (profiling runs).
 *
 * Numbers from a 2-core VM where load generator, both servers and Postgres share the cores are
 * indicative only; compare ratios within one run.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createSql } from '../src/db/sql.js';
import { NO_SINK } from '../src/sync/changes.js';
import { Membership } from '../src/sync/membership.js';
import {
  JsonClient,
  type SummaryRow,
  benchDatabase,
  freePort,
  machine,
  percentile,
  startInstance,
  table,
  writeSummary,
} from './lib/env.js';
import { Clients } from './fanout/clients.js';
import { type DeviceSpec, WRITER, fmt, parallel, rng, sleep, token } from './fanout/common.js';
import type { Collected } from './fanout/client-worker.js';
import { commitToDelivery } from './fanout/commit-latency.js';
import { type Scrape, fullGc, lagQuantile, rss, scrape } from './fanout/server-metrics.js';
import { drive, phaseDevices, workload } from './fanout/workload.js';
import { walFlush, writeThroughput } from './fanout/write-throughput.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      rate: { type: 'string', default: '1000' },
      sockets: { type: 'string', default: '1000,10000' },
      big: { type: 'string', default: '1000' },
      'big-share': { type: 'string', default: '0.01' },
      batch: { type: 'string', default: '5' },
      storm: { type: 'string', default: '5000' },
      clients: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      'write-seconds': { type: 'string', default: '4' },
      profile: { type: 'string' },
      'skip-writes': { type: 'boolean', default: false },
      'skip-storm': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const SECONDS = Number(values.seconds);
  const RATE = Number(values.rate);
  const PHASES = values.sockets.split(',').map(Number);
  const BIG = Number(values.big);
  const BIG_SHARE = Number(values['big-share']);
  const BATCH = Number(values.batch);
  const STORM = values['skip-storm'] ? 0 : Number(values.storm);
  const WORKERS = Math.max(1, Number(values.clients));
  const SEED = Number(values.seed);
  const WARMUP_MS = 2000;
  const md = values.markdown;

  // The whole run is bounded: a hung phase fails the bench instead of holding the machine.
  const LIMIT_MS = 15 * 60_000;
  setTimeout(() => {
    process.stderr.write(`bench:fanout exceeded ${LIMIT_MS / 60_000} min, aborting\n`);
    process.exit(3);
  }, LIMIT_MS).unref();

  const started = Date.now();
  const profileDir = values.profile ? path.resolve(values.profile) : undefined;
  if (profileDir) await fs.mkdir(profileDir, { recursive: true });
  // Commit timestamps, for commit → delivery at the clients (bench/fanout/commit-latency.ts).
  const db = await benchDatabase({ track_commit_timestamp: 'on' });
  const participantLimit = Math.max(10, Math.ceil(BIG / 2) + 1);
  const env = {
    WS_MAX_CONNECTIONS_PER_USER: '100000',
    WS_MAX_CONNECTIONS: '100000',
    WS_HEARTBEAT_MS: '30000',
    DATABASE_POOL_MAX: '10',
    PARTICIPANT_LIMIT: String(Math.min(1000, participantLimit)),
  };
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  // Each instance's inspector, on loopback, only to ask for a full GC before the settled samples.
  const inspectorPorts = [await freePort(), await freePort()];
  const instances = await Promise.all(inspectorPorts.map((p) => startInstance(db.url, env, [...nodeArgs, `--inspect=127.0.0.1:${p}`])));
  const settled = async () => {
    await fullGc(inspectorPorts);
    const heap = (await scrape(instances)).reduce((sum, s) => sum + s.heapUsed, 0);
    return { rss: await rss(instances), heap };
  };
  const workers = Array.from({ length: WORKERS }, () => new Clients(profileDir));
  const mainEld = monitorEventLoopDelay({ resolution: 5 });
  mainEld.enable();
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  const out: string[] = [
    `machine: ${machine()}`,
    `command: npm run bench:fanout${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    `load average at start (1/5/15 min): ${load()}`,
    '',
  ];
  const summary: SummaryRow[] = [];
  const http = instances.map((i) => new JsonClient(i.port, token(WRITER)));
  // The bench's own reads of the log: commit times after each latency phase, heads in the storm.
  const check = createSql(db.url, { max: 1 });
  const byWorker = <T extends { id: number }>(items: T[]) => workers.map((_, w) => items.filter((x) => x.id % WORKERS === w));
  try {
    if (!values['skip-writes']) {
      process.stderr.write('write throughput…\n');
      const WRITE_SECONDS = Number(values['write-seconds']);
      out.push(`Write throughput, 8 writers × single-event batches, ${WRITE_SECONDS} s per variant, best of 2 interleaved rounds:`);
      const throughput = await writeThroughput(db.url, WRITE_SECONDS);
      out.push(table(['variant', 'events/s', 'vs floor'], throughput, md), '');
      const [floorRow, notifierRow, inTxRow] = throughput as [(string | number)[], (string | number)[], (string | number)[]];
      const ratio = Number(notifierRow[1]) / Number(inTxRow[1]);
      out.push(`coalesced notifier / in-transaction NOTIFY: ${ratio.toFixed(2)}× (target ≥ 1.5×)`);
      const flush = await walFlush(db.url);
      out.push(
        `WAL flush per commit here: ${flush.flushUs.toFixed(0)} µs (1 writer of single-row INSERTs: ${flush.onPerSecond}/s with synchronous_commit on, ${flush.offPerSecond}/s off).`,
        `NOTIFY's commit lock is held through that flush, so in-transaction NOTIFY caps the cluster near ${flush.flushUs > 0 ? Math.round(1e6 / flush.flushUs) : '∞'} commits/s;`,
        `the write path above reaches ${floorRow[1]}/s at its floor, so the lock binds only as commits/s approach that cap (at a 1–2 ms flush: 500–1,000/s).`,
        '',
      );
      summary.push(
        {
          benchmark: 'fanout',
          measured: 'writes with the coalesced notifier',
          value: `${notifierRow[1]} ev/s`,
          against: 'no NOTIFY at all',
          againstValue: `${floorRow[1]} ev/s`,
          ratio: `${notifierRow[2]}`,
        },
        {
          benchmark: 'fanout',
          measured: 'writes with the coalesced notifier',
          value: `${notifierRow[1]} ev/s`,
          against: 'NOTIFY inside the write transaction (target ≥ 1.5×)',
          againstValue: `${inTxRow[1]} ev/s`,
          ratio: `${ratio.toFixed(2)}×`,
        },
      );
    }

    // The workload: budgets owned by the writer (who pushes every event), joined by their devices' users.
    const maxSockets = Math.max(...PHASES);
    const w = workload(
      maxSockets,
      BIG,
      SEED,
      instances.map((i) => `ws://127.0.0.1:${i.port}/sync`),
    );
    const sql = createSql(db.url, { max: 16 });
    const membership = new Membership(sql, NO_SINK, { participantLimit, inviteTtlSeconds: 3600 });
    process.stderr.write(`creating 1 big budget (${w.bigUsers.length} users) and ${w.smallBudgets.length} small budgets…\n`);
    const setup = async (id: string, title: string) => {
      await membership.createBudget(WRITER, { eventId: randomUUID(), id, title, when: Date.now() });
      const { token: invite } = await membership.createInvite(WRITER, id, {});
      return invite;
    };
    const bigInvite = await setup(w.bigBudget, 'big');
    await parallel(w.bigUsers, 8, async (u) => void (await membership.join(u, bigInvite)));
    await parallel(w.smallBudgets, 16, async (b, i) => {
      const invite = await setup(b.id, `s${i}`);
      for (const u of b.users) await membership.join(u, invite);
    });
    await sql.end({ timeout: 5 });
    const rssBefore = await rss(instances);
    const settledBefore = await settled();
    const random = rng(SEED + 1);

    const opened = new Set<number>();
    const latencyRows: (string | number)[][] = [];
    const serverRows: (string | number)[][] = [];
    const rssRows: (string | number)[][] = [];
    let connected: DeviceSpec[] = [];
    for (const n of PHASES) {
      connected = phaseDevices(w, n);
      const fresh = connected.filter((d) => !opened.has(d.id));
      for (const d of fresh) opened.add(d.id);
      const bigSubs = connected.filter((d) => d.big).length;
      const smallActive = [...new Set(connected.filter((d) => !d.big).map((d) => d.budgetId))];
      process.stderr.write(
        `opening ${fresh.length} sockets (${n} in all: ${bigSubs} on the big budget, ${n - bigSubs} on ${smallActive.length} small budgets)…\n`,
      );
      const rssPrev = opened.size === fresh.length ? rssBefore : await rss(instances);
      const opens = await Promise.all(
        byWorker(fresh).map((devices, i) => (workers[i] as Clients).call<{ failures: number }>({ op: 'open', devices })),
      );
      const failedOpens = opens.reduce((s, o) => s + o.failures, 0);
      await sleep(3000);
      const rssNow = await rss(instances);
      const settledNow = await settled();
      rssRows.push([
        n,
        (rssBefore / 2 ** 20).toFixed(0),
        (rssNow / 2 ** 20).toFixed(0),
        ((rssNow - rssBefore) / n / 1024).toFixed(1),
        fresh.length,
        (rssPrev / 2 ** 20).toFixed(0),
        ((rssNow - rssPrev) / fresh.length / 1024).toFixed(1),
        rssRows.length === 0 ? 'none yet' : `${rssRows.length} (${PHASES.slice(0, rssRows.length).join(', ')} sockets)`,
        (settledBefore.rss / 2 ** 20).toFixed(0),
        (settledNow.rss / 2 ** 20).toFixed(0),
        ((settledNow.rss - settledBefore.rss) / n / 1024).toFixed(1),
        (settledBefore.heap / 2 ** 20).toFixed(0),
        (settledNow.heap / 2 ** 20).toFixed(0),
        ((settledNow.heap - settledBefore.heap) / n / 1024).toFixed(1),
      ]);

      process.stderr.write(`latency with ${n} sockets…\n`);
      const from = Date.now() + WARMUP_MS;
      const to = from + SECONDS * 1000;
      await Promise.all(workers.map((c) => c.call({ op: 'record', from, to })));
      const before = await scrape(instances); // also resets the instances' event-loop delay histograms
      mainEld.reset();
      const t0 = Date.now();
      const written = await drive(
        {
          rate: RATE,
          batch: BATCH,
          bigShare: BIG_SHARE,
          bigBudget: bigSubs > 0 ? w.bigBudget : undefined,
          small: smallActive,
          random,
          recordFrom: from,
        },
        http,
        SECONDS + WARMUP_MS / 1000,
      );
      const mainEldP99 = mainEld.percentile(99) / 1e6;
      const mainEldMax = mainEld.max / 1e6;
      await sleep(2000); // let the tail arrive
      const after = await scrape(instances);
      const elapsed = (Date.now() - t0) / 1000;
      const results = await Promise.all(workers.map((c) => c.call<Collected>({ op: 'collect' })));
      const committed = await commitToDelivery(check, results, from, to);
      if (committed?.missing) process.stderr.write(`${committed.missing} deliveries without a commit time\n`);
      const big = results.flatMap((r) => [...r.big]).sort((a, b) => a - b);
      const small = results.flatMap((r) => [...r.small]).sort((a, b) => a - b);
      const every = [...big, ...small].sort((a, b) => a - b);
      const row = (group: string, s: number[], c: number[] | undefined, evs: number) => [
        n,
        group,
        Math.round(evs),
        Math.round(s.length / SECONDS),
        fmt(percentile(s, 50)),
        fmt(percentile(s, 95)),
        fmt(percentile(s, 99)),
        fmt(s.at(-1) ?? NaN),
        c
          ? `${fmt(percentile(c, 50))} / ${fmt(percentile(c, 95))} / ${fmt(percentile(c, 99))} / ${fmt(c.at(-1) ?? NaN)}`
          : 'no commit timestamps',
      ];
      latencyRows.push(
        row('all', every, committed?.all, written.written),
        row(`big budget (${bigSubs} subscribers)`, big, committed?.big, written.big),
        row(`small budgets (${n - bigSubs} sockets on ${smallActive.length})`, small, committed?.small, written.written - written.big),
      );
      const perInstance = (f: (b: Scrape, a: Scrape) => number) => instances.map((_, i) => f(before[i] as Scrape, after[i] as Scrape));
      serverRows.push([
        n,
        `${lagQuantile(before, after, 50, 'commit')} / ${lagQuantile(before, after, 95, 'commit')} / ${lagQuantile(before, after, 99, 'commit')}`,
        lagQuantile(before, after, 50),
        lagQuantile(before, after, 99),
        `${lagQuantile(before, after, 50, 'wake')} / ${lagQuantile(before, after, 99, 'wake')}`,
        perInstance((_, a) => a.eldP99)
          .map(fmt)
          .join(' / '),
        perInstance((_, a) => a.eldMax)
          .map(fmt)
          .join(' / '),
        perInstance((b, a) => ((a.gc - b.gc) / elapsed) * 1000)
          .map(fmt)
          .join(' / '),
        perInstance((b, a) => ((a.cpu - b.cpu) / elapsed) * 100)
          .map((x) => x.toFixed(0))
          .join(' / '),
        perInstance((b, a) => (a.logQueries - b.logQueries) / elapsed)
          .map((x) => x.toFixed(0))
          .join(' / '),
        results.map((r) => fmt(r.eldP99)).join(' / '),
        results.map((r) => fmt(r.eldMax)).join(' / '),
        `${fmt(mainEldP99)} / ${fmt(mainEldMax)}`,
        `${fmt(percentile(written.requestMs, 50))} / ${fmt(percentile(written.requestMs, 99))}`,
        failedOpens,
      ]);
    }
    for (const r of latencyRows.filter((x) => x[1] === 'all')) {
      summary.push({
        benchmark: 'fanout',
        measured: `serverTime → delivery p99 at the clients, ${r[0]} sockets, ${r[2]} ev/s written`,
        value: `${r[6]} ms`,
        against: 'target',
        againstValue: '50 ms',
        ratio: `p50 ${r[4]} / p95 ${r[5]} ms`,
      });
      const [c50, c95, c99] = String(r[8]).split(' / ');
      if (c99 !== undefined) {
        summary.push({
          benchmark: 'fanout',
          measured: `commit → delivery p99 at the clients, ${r[0]} sockets, ${r[2]} ev/s written`,
          value: `${c99} ms`,
          against: 'target',
          againstValue: '50 ms',
          ratio: `p50 ${c50} / p95 ${c95} ms`,
        });
      }
    }
    for (const r of serverRows) {
      const [p50, p95, p99] = String(r[1]).split(' / ');
      summary.push({
        benchmark: 'fanout',
        measured: `commit → send p99 in the servers (histogram bucket), ${r[0]} sockets`,
        value: `${p99} ms`,
        against: 'target',
        againstValue: '50 ms',
        ratio: `p50 ${p50} / p95 ${p95} ms`,
      });
    }
    const rssRow = rssRows.at(-1) ?? [];
    summary.push({
      benchmark: 'fanout',
      measured: `server RSS per idle socket, ${rssRow[0]} sockets`,
      value: `${rssRow[3]} KiB`,
      against: 'target',
      againstValue: '16 KiB',
      ratio: `${((Number(rssRow[3]) / 16) * 100).toFixed(0)}%`,
    });
    summary.push({
      benchmark: 'fanout',
      measured: `server RSS per idle socket, the last ${rssRow[4]} opened`,
      value: `${rssRow[6]} KiB`,
      against: 'target',
      againstValue: '16 KiB',
      ratio: `${((Number(rssRow[6]) / 16) * 100).toFixed(0)}%`,
    });
    summary.push({
      benchmark: 'fanout',
      measured: `server RSS per idle socket after a full GC, ${rssRow[0]} sockets`,
      value: `${rssRow[10]} KiB`,
      against: 'target',
      againstValue: '16 KiB',
      ratio: `${((Number(rssRow[10]) / 16) * 100).toFixed(0)}%`,
    });
    summary.push({
      benchmark: 'fanout',
      measured: `server V8 heap in use per idle socket after a full GC, ${rssRow[0]} sockets`,
      value: `${rssRow[13]} KiB`,
      against: 'RSS target',
      againstValue: '16 KiB',
      ratio: `${((Number(rssRow[13]) / 16) * 100).toFixed(0)}%`,
    });
    out.push(
      `Latency (ms), ${RATE} events/s requested in batches of ${BATCH}, ${(BIG_SHARE * 100).toFixed(1)}% of the pushes to the big budget, ${SECONDS} s after a ${WARMUP_MS / 1000} s warm-up.`,
      'Small budgets: 2–5 devices of 1–3 users (seeded); the big budget: 2 devices per user, half on each instance, min(1000, sockets/2) subscribers.',
      'Measured at the clients as now − serverTime; serverTime is taken at the START of the write transaction, so this over-states commit → delivery by the transaction time.',
      "Commit → delivery: now − the event's commit time, read from Postgres after the phase (pg_xact_commit_timestamp of its log row, taken just before the commit's WAL flush):",
    );
    out.push(
      table(
        ['sockets', 'budgets', 'events/s written', 'deliveries/s', 'p50', 'p95', 'p99', 'max', 'commit → delivery p50 / p95 / p99 / max'],
        latencyRows,
        md,
      ),
      '',
    );
    out.push(
      'The same phases seen by the processes (x / y = instance 1 / instance 2, or client process 1 / 2). Commit → send: realtime_commit_to_send_seconds,',
    );
    out.push(
      'from COMMIT returning on the instance that wrote (the time rides in the NOTIFY) to the sends of those events to every ready socket (bucket bound, ms);',
    );
    out.push("send lag: the instances' ws_delivery_lag_seconds (serverTime → send, bucket bound, ms);");
    out.push(
      "wake → sent: realtime_wake_to_send_seconds, the hub's own part (a budget's wake-up — local commit or NOTIFY received — to the end of its log read and sends, bucket bound, ms);",
    );
    out.push(
      "event-loop delay p99 / max (ms, monitorEventLoopDelay); GC: ms of GC pause per second; CPU: % of one core; log queries/s: the hub reading the log; POST /events: the writes' own",
    );
    out.push(
      'request time at the writer (ms, pushes started after the warm-up), which bounds how much of the latency above is the write transaction rather than the fan-out:',
    );
    out.push(
      table(
        [
          'sockets',
          'commit → send p50 / p95 / p99',
          'send lag p50',
          'send lag p99',
          'wake → sent p50 / p99',
          'server loop delay p99',
          'server loop delay max',
          'server GC ms/s',
          'server CPU %',
          'log queries/s',
          'client loop delay p99',
          'client loop delay max',
          'writer process loop p99 / max',
          'POST /events p50 / p99',
          'failed opens',
        ],
        serverRows,
        md,
      ),
      '',
    );
    out.push(
      'Memory, both instances together (subscribed idle sockets; RSS 3 s after the last socket opened, the lowest of 12 samples over 3 s per instance):',
    );
    out.push(
      table(
        [
          'sockets',
          'RSS with none (MiB)',
          'RSS with all (MiB)',
          'KiB per socket',
          'sockets opened last',
          'RSS just before them (MiB)',
          'KiB per socket opened last',
          'latency phases before this step',
          'after a full GC: RSS with none (MiB)',
          'with all (MiB)',
          'KiB per socket',
          'V8 heap in use with none (MiB)',
          'with all (MiB)',
          'KiB per socket',
        ],
        rssRows,
        md,
      ),
      'One row per opening step. KiB per socket: (RSS with all − RSS before any socket) / sockets; from the second step on it also counts',
      'the heap the latency phases before it grew. Per socket opened last: across that opening step only. The first step runs before any',
      'write reaches the servers (the write-throughput phase runs in the benchmark process itself). After a full GC: the same, taken',
      "again after a full GC in both instances (through their inspectors), as V8's idle-time memory reducer does by itself some 10–30 s",
      'into an idle period, so the garbage the opening (or the latency phases) left is gone. RSS still moves by tens of MiB per process',
      'with what the allocators hand back to the system and when (an idle instance went 127 → 108 MiB within 10 s of a GC in one run,',
      "and stayed at 123 MiB for 15 s in the next); the V8 heap in use after a GC is the sockets' live JavaScript objects, exactly.",
      '',
    );

    let stormLine: SummaryRow | undefined;
    const heads = async () =>
      Object.fromEntries(
        (await check<{ id: string; last_sequence: number }[]>`SELECT id, last_sequence FROM budgets`).map((r) => [r.id, r.last_sequence]),
      );
    if (STORM > 0) {
      // The storm: drop a seeded sample of STORM sockets at once and reopen them while writes go on.
      const pick = rng(SEED + 2);
      const order = connected.map((d) => d.id);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(pick() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      const victims = order.slice(0, STORM).map((id) => ({ id }));
      const isBig = new Set(connected.filter((d) => d.big).map((d) => d.id));
      const bigVictims = victims.filter((v) => isBig.has(v.id)).length;
      process.stderr.write(`reconnect storm of ${victims.length} sockets (${bigVictims} of the big budget)…\n`);
      const smallActive = [...new Set(connected.filter((d) => !d.big).map((d) => d.budgetId))];
      const writes = drive({ rate: RATE, batch: BATCH, bigShare: BIG_SHARE, bigBudget: w.bigBudget, small: smallActive, random }, http, 12);
      await sleep(2000);
      const targets = await heads();
      const cpuBefore = await scrape(instances);
      const at = Date.now();
      const storms = await Promise.all(
        byWorker(victims).map((v, i) =>
          (workers[i] as Clients).call<{ resubscribed: number[]; upgraded: number[]; failures: number }>({
            op: 'storm',
            ids: v.map((x) => x.id),
            targets,
            at,
          }),
        ),
      );
      const allBack = Date.now() - at;
      const caught = await Promise.all(
        workers.map((c) => c.call<{ caught: number[]; notCaught: number }>({ op: 'caught', deadline: at + 60_000 })),
      );
      const cpuAfter = await scrape(instances);
      const delta = (k: 'cpu' | 'logQueries' | 'logReads' | 'memoryPages') =>
        cpuAfter.reduce((s, a, i) => s + a[k] - (cpuBefore[i] as Scrape)[k], 0);
      const serverCpu = delta('cpu');
      await writes;
      const end = await heads();
      const checks = await Promise.all(
        workers.map((c) =>
          c.call<{ behind: number; gaps: number; repeats: number; closes: number }>({
            op: 'check',
            heads: end,
            deadline: Date.now() + 60_000,
          }),
        ),
      );
      const resub = storms.flatMap((s) => s.resubscribed).sort((a, b) => a - b);
      const upgraded = storms.flatMap((s) => s.upgraded).sort((a, b) => a - b);
      const caughtMs = caught.flatMap((c) => c.caught).sort((a, b) => a - b);
      const notCaught = caught.reduce((s, c) => s + c.notCaught, 0);
      const sum = (k: 'behind' | 'gaps' | 'repeats' | 'closes') => checks.reduce((s, c) => s + c[k], 0);
      out.push(
        `Reconnect storm: ${victims.length} sockets (${bigVictims} of them on the big budget) dropped at once and reopened (retrying with 50–250 ms jitter) during ${RATE} events/s.`,
      );
      out.push('Upgraded: the WebSocket handshake done (before hello and subscribe); resubscribed: `subscribed` received.');
      out.push(
        'Server CPU: both instances, from the drop to the last socket caught up (the writes going on included), which unlike the times does not count waiting for a core. Log queries, budget pages read by them, and pages served from local commits instead, over the same span.',
      );
      out.push(
        "Caught up: the socket holds its budget's head as of the drop. Behind / gaps / repeats: every socket of the run, checked against the heads after the writes stopped:",
      );
      out.push(
        table(
          [
            'sockets',
            'upgraded p50 (ms)',
            'p99',
            'resubscribed p50 (ms)',
            'p99',
            'all back (ms)',
            'caught up p50 (ms)',
            'p99',
            'all caught up (ms)',
            'server CPU (s)',
            'log queries / budget pages read / from memory',
            'not caught up',
            'failed attempts',
            'sockets behind at end',
            'gaps',
            'repeats',
            'server closes',
          ],
          [
            [
              victims.length,
              percentile(upgraded, 50),
              percentile(upgraded, 99),
              percentile(resub, 50),
              percentile(resub, 99),
              allBack,
              percentile(caughtMs, 50),
              percentile(caughtMs, 99),
              caughtMs.at(-1) ?? '–',
              serverCpu.toFixed(1),
              `${delta('logQueries')} / ${delta('logReads')} / ${delta('memoryPages')}`,
              notCaught,
              storms.reduce((s, x) => s + x.failures, 0),
              sum('behind'),
              sum('gaps'),
              sum('repeats'),
              sum('closes'),
            ],
          ],
          md,
        ),
      );
      stormLine = {
        benchmark: 'fanout',
        measured: `reconnect storm: ${victims.length} sockets back and caught up`,
        value: `${caughtMs.at(-1) ?? '–'} ms`,
        against: 'target',
        againstValue: '10000 ms',
        ratio: `${notCaught} not caught up, ${sum('behind')} behind, ${sum('gaps')} gaps, ${sum('repeats')} repeats`,
      };
    } else {
      const end = await heads();
      const checks = await Promise.all(
        workers.map((c) =>
          c.call<{ behind: number; gaps: number; repeats: number; closes: number }>({
            op: 'check',
            heads: end,
            deadline: Date.now() + 60_000,
          }),
        ),
      );
      out.push(
        `No storm. Every socket checked against the heads: behind ${checks.reduce((s, c) => s + c.behind, 0)}, gaps ${checks.reduce((s, c) => s + c.gaps, 0)}, repeats ${checks.reduce((s, c) => s + c.repeats, 0)}, server closes ${checks.reduce((s, c) => s + c.closes, 0)}`,
      );
    }
    await check.end({ timeout: 5 });
    if (stormLine) summary.push(stormLine);
    await writeSummary(values.json, summary);
    out.push('', `total run ${((Date.now() - started) / 1000).toFixed(0)} s; load average at the end (1/5/15 min): ${load()}`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await Promise.all(workers.map((c) => c.stop()));
    for (const c of http) c.close();
    await Promise.all(instances.map((i) => i.stop()));
    await db.close();
  }
}

await main();
process.exit(0);
