/**
 * A query that needs a new connection while Postgres is down waits for it to come back instead of
 * failing at the first refused connect — so a Postgres restart is not a burst of 503s — and, on a
 * pool with a queue timeout (the request pool: REQUEST_WAIT_MS), a longer outage still fails within
 * that bound with a retryable error. A dedicated embedded cluster (its own port and data folder
 * under .data/), since it is stopped.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import t from 'tap';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { isUnavailable } from '../../src/db/pg-errors.js';
import { REQUEST_WAIT_MS } from '../../src/db/reconnect.js';
import { createSql } from '../../src/db/sql.js';

const dir = `.data/db-reconnect-${process.pid}`;
// persistent: stop() must not delete the data folder between stop and start; it is removed here.
const cluster = await startEmbeddedPostgres({ dir, persistent: true });
t.teardown(async () => {
  await cluster.stop().catch(() => {});
  await fs.rm(dir, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('queries and transactions started while Postgres restarts wait for it and succeed', async (t) => {
  // A bound far above the restart: starting the cluster took seconds under a load average of 15.
  const sql = createSql(cluster.url, { max: 2, outageWaitMs: 30_000 });
  t.teardown(() => sql.end({ timeout: 1 }));
  t.same(await sql`SELECT 1 AS n`, [{ n: 1 }]);
  await cluster.stop();
  const started = Date.now();
  const query = sql`SELECT 2 AS n`.catch((e: Error) => e);
  const tx = sql.begin((tx) => tx`SELECT 3 AS n`).catch((e: Error) => e);
  await sleep(400);
  await cluster.start();
  t.same(await query, [{ n: 2 }], 'the query ran once Postgres was back');
  t.same(await tx, [{ n: 3 }], 'so did the transaction');
  t.ok(Date.now() - started >= 400, 'after waiting through the outage');
});

t.test('without the wait, the same restart fails the query at once (what the wait is for)', async (t) => {
  const sql = createSql(cluster.url, { max: 1, reconnectWaitMs: 0 });
  t.teardown(() => sql.end({ timeout: 1 }));
  t.same(await sql`SELECT 1 AS n`, [{ n: 1 }]);
  await cluster.stop();
  const query = sql`SELECT 2 AS n`.catch((e: Error) => e);
  await sleep(400);
  await cluster.start();
  const failed = await query;
  t.type(failed, Error);
  t.equal((failed as { code?: string }).code, 'ECONNREFUSED');
});

t.test(
  'Postgres down for longer than the wait: queries fail within the bound, retryably, and the next one works once it is back',
  async (t) => {
    const sql = createSql(cluster.url, { max: 1, outageWaitMs: REQUEST_WAIT_MS });
    t.teardown(() => sql.end({ timeout: 1 }));
    t.same(await sql`SELECT 1 AS n`, [{ n: 1 }]);
    await cluster.stop();
    // Generous upper bounds: the machine is shared; what matters is that nothing waits for the
    // attempt's end (~10 s).
    const timed = async (q: Promise<unknown>) => {
      const started = Date.now();
      const failed = await q.catch((e: Error) => e);
      return { failed: failed as Error & { code?: string }, took: Date.now() - started };
    };
    // The attempt that meets the outage ends at the bound (its query started without one).
    const first = await timed(sql`SELECT 2 AS n`);
    t.equal(first.failed.code, 'ECONNREFUSED');
    t.ok(
      first.took >= REQUEST_WAIT_MS / 2 && first.took < REQUEST_WAIT_MS + 3000,
      `the first query waited, within the bound (${first.took} ms)`,
    );
    // Then each query has the bound of its own, while the next attempt keeps trying.
    const second = await timed(sql`SELECT 3 AS n`);
    t.equal(second.failed.code, 'QUEUE_TIMEOUT');
    t.ok(second.took >= REQUEST_WAIT_MS / 2 && second.took < REQUEST_WAIT_MS + 3000, `so did the next (${second.took} ms)`);
    t.ok(isUnavailable(first.failed) && isUnavailable(second.failed), 'both a 503 for the client');
    await cluster.start();
    t.same(await sql`SELECT 4 AS n`, [{ n: 4 }], 'the connect attempt went on meanwhile: the next query works');
  },
);

t.test('a pool that is only busy never fails a query for waiting', async (t) => {
  const sql = createSql(cluster.url, { max: 1, outageWaitMs: 200 });
  t.teardown(() => sql.end({ timeout: 1 }));
  // One connection, held for 1 s by the first query; the second waits five times the outage bound.
  const [slow, queued] = await Promise.all([sql`SELECT pg_sleep(1), 1 AS n`, sql`SELECT 2 AS n`]);
  t.equal(slow[0]?.n, 1);
  t.same(queued, [{ n: 2 }], 'the queued query ran');
});

/**
 * A stand-in for Postgres's start-up, in front of the real cluster: `down` refuses connections,
 * `starting` answers every session with the FATAL 57P03 "the database system is starting up" a
 * starting server sends, `up` passes bytes through to the cluster.
 */
async function startingProxy(target: number) {
  const port = await freePort();
  let phase: 'down' | 'starting' | 'up' = 'down';
  const sockets = new Set<net.Socket>();
  const fatal57P03 = (() => {
    const fields = Buffer.from('SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0');
    const head = Buffer.alloc(5);
    head.write('E', 0);
    head.writeInt32BE(fields.length + 4, 1);
    return Buffer.concat([head, fields]);
  })();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (phase === 'starting') {
      client.once('data', () => client.end(fatal57P03));
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  return {
    url: (clusterUrl: string) => {
      const u = new URL(clusterUrl);
      u.port = String(port);
      return u.toString();
    },
    async set(next: 'down' | 'starting' | 'up') {
      if (next === 'down' && server.listening) {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
      } else if (next !== 'down' && !server.listening) {
        await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
      }
      phase = next;
    },
  };
}

t.test('Postgres refusing sessions while it starts (57P03) is waited out too, not handed the queries', async (t) => {
  const proxy = await startingProxy(cluster.port);
  t.teardown(() => proxy.set('down'));
  await proxy.set('up');
  const sql = createSql(proxy.url(cluster.url), { max: 1, outageWaitMs: 30_000 });
  t.teardown(() => sql.end({ timeout: 1 }));
  t.same(await sql`SELECT 1 AS n`, [{ n: 1 }]);
  await proxy.set('down');
  await sleep(200); // the pool sees its connection close (a query on it then would fail, as in a real restart)
  const query = sql`SELECT 2 AS n`.catch((e: Error) => e);
  await sleep(300);
  await proxy.set('starting');
  await sleep(700);
  await proxy.set('up');
  t.same(await query, [{ n: 2 }], 'the query waited through refused connects and "starting up", then ran');

  // The same sequence, the driver's own connect: the query fails with 57P03 or ECONNREFUSED.
  const plain = createSql(proxy.url(cluster.url), { max: 1, reconnectWaitMs: 0 });
  t.teardown(() => plain.end({ timeout: 1 }));
  await proxy.set('starting');
  const failed = await plain`SELECT 3 AS n`.catch((e: Error) => e);
  t.equal((failed as { code?: string }).code, '57P03', 'without the wait, a starting server fails the query');
});
