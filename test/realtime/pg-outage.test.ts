/**
 * Postgres stopped for ~10 s and started again, under two instances with live subscribers.
 *
 * porsager's listener does not survive an outage of ~8 s (docs/dependencies.md), so this needs the watchdog:
 * it must rebuild the LISTEN connection once Postgres is back, and the re-LISTEN resync plus NOTIFY
 * must deliver everything. The safety poll is off (60 s) to prove that path on its own.
 * A dedicated embedded cluster (its own port and data folder under .data/), since it is stopped.
 */
import fs from 'node:fs/promises';
import t from 'tap';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { ev } from '../helpers/api.js';
import { SyncClient, eventually } from './fixtures/client.js';
import { Rest, listening, sleep } from './fixtures/harness.js';

const OUTAGE_MS = 10_000;
const dir = `.data/rt-outage-${process.pid}`;
// persistent: stop() must not delete the data folder between stop and start; it is removed here.
const cluster = await startEmbeddedPostgres({ dir, persistent: true });
t.teardown(async () => {
  await cluster.stop().catch(() => {});
  await fs.rm(dir, { recursive: true, force: true });
});
await migrate(cluster.url);

t.test('Postgres down for 10 s: listeners are rebuilt and every subscriber gets 1..N', async (t) => {
  const env = { SAFETY_POLL_MS: '60000', LISTENER_HEARTBEAT_MS: '200' };
  const [a, b] = await Promise.all([listening(t, env, cluster.url), listening(t, env, cluster.url)]);
  const rest = new Rest(a.base);
  const budgetId = await rest.createBudget('omar');
  const cat = ev.categoryAdd(budgetId);
  await rest.push('omar', [cat]);
  const readers = await Promise.all([b.wsUrl, b.wsUrl, a.wsUrl].map((u) => SyncClient.connect(u, { uid: 'omar' })));
  t.teardown(() => {
    for (const r of readers) r.close();
  });
  for (const r of readers) await r.subscribe(budgetId, 0);
  const writer = await SyncClient.connect(a.wsUrl, { uid: 'omar' });
  t.teardown(() => writer.close());
  for (let i = 0; i < 5; i++) await writer.request({ type: 'push', events: [ev.expenseAdd(budgetId, cat.recordId)] });
  for (const r of readers) await r.reach(budgetId, 8);

  await cluster.stop();
  const failed = await writer.request({ type: 'push', events: [ev.expenseAdd(budgetId, cat.recordId)] }, 15_000);
  t.match(failed, { type: 'error', code: 'DATABASE_UNAVAILABLE' }, 'a push during the outage is refused with a retryable code');
  await sleep(OUTAGE_MS);
  await cluster.start();
  const rebuiltBefore = (await b.services.metrics.listenerRebuilds.get()).values[0]?.value ?? 0;
  t.ok(rebuiltBefore > 0, `the watchdog rebuilt B's listener (${rebuiltBefore} attempts during the outage)`);

  // Pushes are retried with the same events until the pool reconnects. porsager's pool backs off
  // up to 20 s between connection attempts after a long outage (3^retries / 100 s, shared by the
  // pool), so "back" can mean up to ~20 s after Postgres is: hence the 30 s bounds below.
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < 10; i++) {
    const events = [ev.expenseAdd(budgetId, cat.recordId)];
    for (;;) {
      const res = await writer.request({ type: 'push', events }, 30_000);
      if (res.type === 'pushResult') break;
      if (Date.now() > deadline) throw new Error(`push still failing: ${JSON.stringify(res)}`);
      await sleep(200);
    }
  }
  const n = await rest.lastSequence('omar', budgetId);
  t.equal(n, 18);
  for (const r of readers) await r.reach(budgetId, n, 30_000);
  t.ok(
    readers.every((r) => r.tracker.complete(budgetId, n)),
    `1..${n} on every reader`,
  );
  t.same(
    readers.flatMap((r) => r.tracker.violations),
    [],
  );
  await eventually(() => a.realtime.listener.isListening && b.realtime.listener.isListening, 10_000, 'both listeners back');
  // And NOTIFY itself works again across instances (still no safety poll).
  await writer.request({ type: 'push', events: [ev.expenseAdd(budgetId, cat.recordId)] });
  for (const r of readers) await r.reach(budgetId, n + 1, 10_000);
});
