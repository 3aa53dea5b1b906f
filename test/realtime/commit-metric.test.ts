/**
 * realtime_commit_to_send_seconds: a commit is timed on the instance that made it and the time
 * travels in the NOTIFY, so the other instance measures commit → send for its own sockets too.
 */
import t from 'tap';
import { ev } from '../helpers/api.js';
import { createTestDb } from '../helpers/db.js';
import { uuid } from '../helpers/server.js';
import { SyncClient } from './fixtures/client.js';
import { Rest, listening } from './fixtures/harness.js';

const db = await createTestDb(t);
const a = await listening(t, {}, db);
const b = await listening(t, {}, db);

async function commitToSendCount(server: typeof a): Promise<number> {
  const text = await server.services.metrics.registry.getSingleMetricAsString('realtime_commit_to_send_seconds');
  return Number(/^realtime_commit_to_send_seconds_count (\d+)/m.exec(text)?.[1] ?? 0);
}

t.test('commits on either instance are timed to the sends on A', async (t) => {
  const restB = new Rest(b.base);
  const restA = new Rest(a.base);
  const budgetId = await restB.createBudget('alice');
  const alice = await SyncClient.connect(a.wsUrl, { uid: 'alice' });
  t.teardown(() => alice.close());
  alice.send({ type: 'subscribe', budgetId, after: 0, id: 's' });
  const head = (await alice.waitFor((m) => m.type === 'subscribed')).lastSequence as number;
  const received = (seq: number) => (m: { type: string; events?: unknown }) =>
    m.type === 'events' && (m.events as { sequence: number }[]).some((e) => e.sequence === seq);
  await alice.waitFor(received(head), 10_000); // the backlog is sent before the clock starts
  const before = await commitToSendCount(a);

  const categoryAdd = () => ev.categoryAdd(budgetId, { recordId: uuid(), name: 'c', allocate: '1.00' });
  await restB.push('alice', [categoryAdd()]);
  await alice.waitFor(received(head + 1), 10_000);
  await waitUntil(async () => (await commitToSendCount(a)) > before);
  const afterRemote = await commitToSendCount(a);
  t.ok(afterRemote > before, "B's commit, timed by B and carried in the NOTIFY, observed on A");

  await restA.push('alice', [categoryAdd()]);
  await alice.waitFor(received(head + 2), 10_000);
  await waitUntil(async () => (await commitToSendCount(a)) > afterRemote);
  t.pass("A's own commit observed too");
});

async function waitUntil(fn: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 10_000;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
