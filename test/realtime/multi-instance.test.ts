/**
 * Two server processes on one database: commits, membership and long-polls cross instances through
 * NOTIFY (the safety poll is set to 60 s here, so nothing in this file is delivered by it), and a
 * SIGKILLed instance's clients resume on the survivor without loss.
 */
import t from 'tap';
import { ev } from '../helpers/api.js';
import { createTestDb } from '../helpers/db.js';
import { type Msg, SyncClient, Tracker } from './fixtures/client.js';
import { type Instance, Rest, sleep, spawnInstance } from './fixtures/harness.js';

const url = await createTestDb(t);
const env = { SAFETY_POLL_MS: '60000', LISTENER_HEARTBEAT_MS: '200' };
const [a, b] = (await Promise.all([spawnInstance(t, url, env), spawnInstance(t, url, env)])) as [Instance, Instance];
const restA = new Rest(a.base);
const restB = new Rest(b.base);
const open: SyncClient[] = [];
const connect = async (wsUrl: string, uid: string, tracker?: Tracker) => {
  const c = await SyncClient.connect(wsUrl, tracker ? { uid, tracker } : { uid });
  open.push(c);
  return c;
};
t.teardown(() => {
  for (const c of open) c.close();
});

t.test('commits on either instance reach every subscriber on both, exactly 1..N', async (t) => {
  const owner = 'olga';
  const budgets = await Promise.all([0, 1, 2].map(() => restA.createBudget(owner)));
  const cats = budgets.map((id) => ev.categoryAdd(id));
  await restA.push(owner, cats);
  const readers = await Promise.all([a.wsUrl, a.wsUrl, b.wsUrl, b.wsUrl].map((u) => connect(u, owner)));
  for (const r of readers) for (const id of budgets) await r.subscribe(id, 0);

  // A push on A reaches B's subscriber.
  await (await connect(a.wsUrl, owner)).request({
    type: 'push',
    events: [ev.expenseAdd(budgets[0] as string, cats[0]?.recordId as string)],
  });
  await (readers[2] as SyncClient).reach(budgets[0] as string, 4);

  // Four writers, two per instance, pushing into all three budgets at once.
  const writers = await Promise.all([a.wsUrl, a.wsUrl, b.wsUrl, b.wsUrl].map((u) => connect(u, owner)));
  await Promise.all(
    writers.map(async (w, wi) => {
      for (let i = 0; i < 15; i++) {
        const k = (wi + i) % 3;
        const res = await w.request({
          type: 'push',
          events: [
            ev.expenseAdd(budgets[k] as string, cats[k]?.recordId as string),
            ev.expenseAdd(budgets[k] as string, cats[k]?.recordId as string),
          ],
        });
        if (res.type !== 'pushResult') throw new Error(JSON.stringify(res));
      }
    }),
  );
  for (const id of budgets) {
    const n = await restB.lastSequence(owner, id);
    for (const r of readers) await r.reach(id, n, 15_000);
    t.ok(
      readers.every((r) => r.tracker.complete(id, n)),
      `every reader holds 1..${n} of a budget`,
    );
  }
  t.same(
    readers.flatMap((r) => r.tracker.violations),
    [],
  );
});

t.test('membership and revocation cross instances', async (t) => {
  const budgetId = await restA.createBudget('alice');
  const bobOnB = await connect(b.wsUrl, 'bob');
  const bob2OnB = await connect(b.wsUrl, 'bob');
  await restA.addMembers(budgetId, 'alice', 'bob');
  for (const c of [bobOnB, bob2OnB]) t.match(await c.waitFor((m) => m.type === 'membership', 10_000), { budgetId, change: 'added' });
  await bobOnB.subscribe(budgetId, 0);
  await bobOnB.reach(budgetId, 3);
  t.equal((await restA.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice')).status, 200);
  t.same(await bobOnB.waitFor((m) => m.type === 'revoked', 10_000), { type: 'revoked', budgetId, reason: 'removed' });
  for (const c of [bobOnB, bob2OnB])
    t.match(await c.waitFor((m) => m.type === 'membership' && m.change === 'removed', 10_000), { budgetId });
  t.equal(bobOnB.tracker.cursor(budgetId), 4, 'the removal (sequence 4) was the last event delivered');
  t.equal(bobOnB.messages.filter((m: Msg) => m.type === 'revoked').length, 1);
});

t.test('long-poll on B wakes on a commit on A, and ends with 403 on removal', async (t) => {
  const budgetId = await restA.createBudget('alice');
  await restA.addMembers(budgetId, 'alice', 'bob');
  const poll = restB.req('GET', `/events?budgetId=${budgetId}&key=3&wait=30`, 'bob');
  await sleep(300);
  await restA.push('alice', [ev.categoryAdd(budgetId)]);
  t.match(await poll, { status: 200, json: { events: [{ sequence: 4, eventType: 'category.add' }], nextKey: 4 } });
  const removed = restB.req('GET', `/events?budgetId=${budgetId}&key=4&wait=30`, 'bob');
  await sleep(300);
  await restA.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  t.match(await removed, { status: 403, json: { error: { code: 'NOT_PARTICIPANT' } } });
});

t.test('an instance SIGKILLed mid-stream: its clients resume on the other without loss', async (t) => {
  const victim = await spawnInstance(t, url, env);
  const restV = new Rest(victim.base);
  const budgets = await Promise.all([0, 1].map(() => restB.createBudget('kim')));
  const cats = budgets.map((id) => ev.categoryAdd(id));
  await restB.push('kim', cats);
  const trackers = [new Tracker(), new Tracker(), new Tracker()];
  const devices = await Promise.all(trackers.map((tr) => connect(victim.wsUrl, 'kim', tr)));
  for (const d of devices) for (const id of budgets) await d.subscribe(id, 0);

  // Writers push over HTTP, to the victim first; a failed push is retried as is on the survivor
  // (same eventIds: an event that did commit comes back `duplicate`, never twice in the stream).
  let killed = false;
  const write = async (w: number) => {
    for (let i = 0; i < 25; i++) {
      const k = (w + i) % 2;
      const batch = [ev.expenseAdd(budgets[k] as string, cats[k]?.recordId as string)];
      const first = killed || w === 0 ? restB : restV;
      try {
        await first.push('kim', batch);
      } catch {
        await restB.push('kim', batch);
      }
      if (i === 8 && w === 1) {
        killed = true;
        await victim.kill();
      }
    }
  };
  const reconnects = devices.map(async (d, i) => {
    const { code } = await d.waitClosed(20_000);
    t.equal(code, 1006, 'the crash is an abnormal close');
    const again = await connect(b.wsUrl, 'kim', trackers[i]);
    for (const id of budgets) await again.subscribe(id);
    return again;
  });
  await Promise.all([write(0), write(1)]);
  const resumed = await Promise.all(reconnects);
  for (const id of budgets) {
    const n = await restB.lastSequence('kim', id);
    for (const d of resumed) await d.reach(id, n, 15_000);
    t.ok(
      trackers.every((tr) => tr.complete(id, n)),
      `every device holds 1..${n} across the reconnect`,
    );
  }
  t.same(
    trackers.flatMap((tr) => tr.violations),
    [],
  );
});
