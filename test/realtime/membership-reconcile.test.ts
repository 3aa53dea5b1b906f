/**
 * A membership notice whose NOTIFY is lost must still reach the user's sockets: after every
 * (re)LISTEN the instance compares its connected users' budgets with the database
 * (src/realtime/membership-reconciler.ts). Deterministic loss: the two instances are given
 * different NOTIFY channels, so A never hears B's notices; only the reconciliation can tell A's
 * sockets. The (re)LISTEN is forced by terminating A's listener backend.
 */
import t, { type Test } from 'tap';
import { createTestDb } from '../helpers/db.js';
import { type Msg, SyncClient } from './fixtures/client.js';
import { Rest, listening } from './fixtures/harness.js';

const db = await createTestDb(t);
const env = { LISTENER_HEARTBEAT_MS: '200', SAFETY_POLL_MS: '500' };
const a = await listening(t, { ...env, NOTIFY_CHANNEL: 'deaf_a' }, db);
const b = await listening(t, { ...env, NOTIFY_CHANNEL: 'deaf_b' }, db);
const restB = new Rest(b.base);
const admin = a.services.sql;

/** Forces A to LISTEN again, as after a dropped connection. */
async function relistenA(t: Test): Promise<void> {
  const killed = await admin`
    SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
    WHERE application_name = 'budget-sync-listener' AND query ILIKE '%deaf_a%'`;
  t.equal(killed.length, 1, "A's listener backend terminated");
}

t.test('a join and a removal on the other instance reach the socket after a (re)LISTEN, not lost with the NOTIFY', async (t) => {
  const budgetId = await restB.createBudget('alice');
  const bob = await SyncClient.connect(a.wsUrl, { uid: 'bob' });
  t.teardown(() => bob.close());
  await eventuallyTrue(t, () => a.realtime.hub.membershipKnown('bob'), "A read bob's budgets when his socket opened");

  await restB.addMembers(budgetId, 'alice', 'bob');
  const isMembership = (change: string) => (m: Msg) => m.type === 'membership' && m.budgetId === budgetId && m.change === change;
  t.notOk(bob.messages.some(isMembership('added')), 'A did not hear of it (different channel): the notice is lost');

  await relistenA(t);
  t.match(await bob.waitFor(isMembership('added'), 15_000), { type: 'membership', budgetId, change: 'added' }, 'told after the (re)LISTEN');

  const removed = await restB.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  t.equal(removed.status, 200);
  await relistenA(t);
  t.match(await bob.waitFor(isMembership('removed'), 15_000), { change: 'removed' }, 'and the removal too');

  // Nothing changed since: another (re)LISTEN tells nothing more.
  const before = bob.messages.filter((m) => m.type === 'membership').length;
  await relistenA(t);
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(bob.messages.filter((m) => m.type === 'membership').length, before, 'no spurious notices');
});

async function eventuallyTrue(t: Test, fn: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.pass(what);
}
