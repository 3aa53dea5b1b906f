/**
 * Faults, each ending with every subscriber holding the full gap-free stream: the LISTEN backend
 * killed under load, a commit that sends no NOTIFY at all (only the safety poll finds it), and a
 * client that stops reading (memory stays bounded, 4503, resume).
 */
import t from 'tap';
import postgres from 'postgres';
import { ev } from '../helpers/api.js';
import { createTestDb } from '../helpers/db.js';
import { uuid } from '../helpers/server.js';
import { createSql } from '../../src/db/sql.js';
import { LISTENER_APPLICATION_NAME } from '../../src/realtime/listener.js';
import { NO_SINK } from '../../src/sync/changes.js';
import { Processor } from '../../src/sync/processor.js';
import { SyncClient, Tracker, eventually } from './fixtures/client.js';
import { Rest, listening, sleep } from './fixtures/harness.js';

const url = await createTestDb(t);
const open: SyncClient[] = [];
const connect = async (wsUrl: string, uid: string, tracker?: Tracker) => {
  const c = await SyncClient.connect(wsUrl, tracker ? { uid, tracker } : { uid });
  open.push(c);
  return c;
};
t.teardown(() => {
  for (const c of open) c.close();
});

t.test('the LISTEN backend is killed repeatedly while two instances write', async (t) => {
  // No safety poll: recovery must come from the re-LISTEN resync and NOTIFY alone.
  const env = { SAFETY_POLL_MS: '60000', LISTENER_HEARTBEAT_MS: '200' };
  const [a, b] = await Promise.all([listening(t, env, url), listening(t, env, url)]);
  const rest = new Rest(a.base);
  const budgets = await Promise.all([0, 1].map(() => rest.createBudget('lena')));
  const cats = budgets.map((id) => ev.categoryAdd(id));
  await rest.push('lena', cats);
  const readers = await Promise.all([b.wsUrl, b.wsUrl, a.wsUrl].map((u) => connect(u, 'lena')));
  for (const r of readers) for (const id of budgets) await r.subscribe(id, 0);
  const writers = await Promise.all([a.wsUrl, b.wsUrl].map((u) => connect(u, 'lena')));

  const admin = postgres(url, { max: 1, onnotice: () => {} });
  t.teardown(() => admin.end({ timeout: 1 }));
  let killed = 0;
  const killer = (async () => {
    for (let i = 0; i < 4; i++) {
      await sleep(250);
      const rows = await admin`
        SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = ${LISTENER_APPLICATION_NAME} AND datname = current_database()`;
      killed += rows.length;
    }
  })();
  await Promise.all(
    writers.map(async (w, wi) => {
      for (let i = 0; i < 30; i++) {
        const k = (wi + i) % 2;
        await w.request({ type: 'push', events: [ev.expenseAdd(budgets[k] as string, cats[k]?.recordId as string)] });
        await sleep(20);
      }
    }),
  );
  await killer;
  t.ok(killed >= 4, `killed ${killed} listener backends`);
  for (const id of budgets) {
    const n = await rest.lastSequence('lena', id);
    for (const r of readers) await r.reach(id, n, 15_000);
    t.ok(
      readers.every((r) => r.tracker.complete(id, n)),
      `1..${n} everywhere`,
    );
  }
  t.same(
    readers.flatMap((r) => r.tracker.violations),
    [],
  );
  await eventually(() => a.realtime.listener.isListening && b.realtime.listener.isListening, 10_000, 'both listeners back');
});

t.test('a commit that sends no NOTIFY is found by the safety poll', async (t) => {
  const server = await listening(t, { SAFETY_POLL_MS: '300' }, url);
  const rest = new Rest(server.base);
  const budgetId = await rest.createBudget('pia');
  const reader = await connect(server.wsUrl, 'pia');
  await reader.subscribe(budgetId, 0);
  await reader.reach(budgetId, 2);
  // The write path with no sink: committed, but neither this instance nor any other is told.
  const sql = createSql(url, { max: 1 });
  t.teardown(() => sql.end({ timeout: 1 }));
  const silent = new Processor(sql, NO_SINK);
  const results = await silent.push([ev.categoryAdd(budgetId), ev.categoryAdd(budgetId)], 'pia');
  t.same(
    results.map((r) => r.sequence),
    [3, 4],
  );
  await reader.reach(budgetId, 4, 5000);
  t.ok(reader.tracker.complete(budgetId, 4));
});

type Paused = { _socket: { pause(): void; resume(): void } };
const bigEdits = (budgetId: string, from: number) =>
  Array.from({ length: 25 }, (_, i) => ({
    eventId: uuid(),
    eventType: 'budget.edit',
    budgetId,
    version: from + i,
    details: 'd'.repeat(2000),
    when: Date.now(),
  }));

t.test('a client that reads late: sending pauses at high water and resumes from the log when it drains', async (t) => {
  const server = await listening(t, { WS_HIGH_WATER_BYTES: String(64 * 1024), WS_SLOW_TIMEOUT_MS: '20000' }, url);
  const rest = new Rest(server.base);
  const budgetId = await rest.createBudget('ria');
  const reader = await connect(server.wsUrl, 'ria');
  await reader.subscribe(budgetId, 0);
  await reader.reach(budgetId, 2);
  const serverSide = [...server.realtime.connections].find((c) => c.id === reader.messages[0]?.connectionId);
  (reader.ws as unknown as Paused)._socket.pause();
  const writer = await connect(server.wsUrl, 'ria');
  let version = 1;
  while (serverSide?.canSend() && version < 400 * 25) {
    await writer.request({ type: 'push', events: bigEdits(budgetId, version) });
    version += 25;
  }
  t.notOk(serverSide?.canSend(), 'the server stopped sending to it (its cursor waits)');
  (reader.ws as unknown as Paused)._socket.resume();
  await writer.request({ type: 'push', events: bigEdits(budgetId, version) });
  const last = await rest.lastSequence('ria', budgetId);
  await reader.reach(budgetId, last, 20_000);
  t.ok(reader.tracker.complete(budgetId, last), `1..${last}, nothing lost while paused`);
  t.equal(reader.closeCode, undefined, 'still open');
});

t.test('a client that stops reading: bounded buffer, 4503, then it resumes without loss', async (t) => {
  const highWater = 64 * 1024;
  const server = await listening(
    t,
    { WS_HIGH_WATER_BYTES: String(highWater), WS_HARD_LIMIT_BYTES: String(8 * 1024 * 1024), WS_SLOW_TIMEOUT_MS: '1000' },
    url,
  );
  const rest = new Rest(server.base);
  const budgetId = await rest.createBudget('sam');
  const tracker = new Tracker();
  const reader = await connect(server.wsUrl, 'sam', tracker);
  await reader.subscribe(budgetId, 0);
  await reader.reach(budgetId, 2);
  const serverSide = [...server.realtime.connections].find((c) => c.id === reader.messages[0]?.connectionId);
  t.ok(serverSide, 'found the server side of the socket');
  (reader.ws as unknown as Paused)._socket.pause();

  const slowClosed = async () => (await server.services.metrics.socketCloses.get()).values.some((v) => v.labels.code === 4503);
  const writer = await connect(server.wsUrl, 'sam');
  let version = 1;
  let batches = 0;
  // ~57 KB of stream per batch; stop as soon as the server gave up on the reader (at most ~23 MB).
  while (!(await slowClosed()) && batches < 400) {
    const res = await writer.request({ type: 'push', events: bigEdits(budgetId, version) });
    version += 25;
    if ((res.events as { status: string }[]).some((r) => r.status !== 'accepted')) throw new Error(JSON.stringify(res).slice(0, 300));
    batches++;
  }
  t.ok(await slowClosed(), `the server closed the reader with 4503 after ${batches} batches`);
  const peak = serverSide?.peakBuffered ?? Infinity;
  t.ok(peak < highWater + 3 * 64 * 1024, `the server buffered at most ${peak} bytes for it (high water ${highWater})`);
  (reader.ws as unknown as Paused)._socket.resume();
  const { code } = await reader.waitClosed(10_000);
  t.equal(code, 4503);
  t.match(reader.messages.at(-1), { type: 'error', code: 'SLOW_CONSUMER' });
  const held = tracker.cursor(budgetId);
  const last = await rest.lastSequence('sam', budgetId);
  t.ok(held < last, `it fell behind (${held} of ${last})`);

  const again = await connect(server.wsUrl, 'sam', tracker);
  await again.subscribe(budgetId);
  await again.reach(budgetId, last, 20_000);
  t.ok(tracker.complete(budgetId, last), `1..${last} across the 4503 and the resume`);
  t.same(tracker.violations, []);
});
