/**
 * The reference client over long-poll against a real server: revocation (removal, deletion),
 * membership found and dropped, and a cursor the server never gave replaced from a snapshot.
 */
import t from 'tap';
import { MemoryStore } from '../../packages/client/src/index.js';
import { eventually, harness, localState, record, serverState, shared, switchableFetch } from './fixtures/support.js';

t.test('revocation over long-poll: removed or deleted budgets are dropped, unsent edits reported', async (t) => {
  const h = await harness(t);
  const net = switchableFetch();
  const { alice, bob, budgetId } = await shared(h, {});
  const carol = h.client('carol', { fetch: net.fetch });
  await carol.start();
  const { token } = await alice.createInvite(budgetId);
  await carol.join(token);
  await carol.flush();
  t.ok(await carol.budget(budgetId));

  // carol edits while cut off; meanwhile the owner removes her.
  net.state.offline = true;
  await new Promise((r) => setTimeout(r, 100));
  const cat = await carol.categoryAdd(budgetId, { name: 'Mine', allocate: '1' });
  const carolEvents = record(carol, 'revoked', 'membership');
  const res = await h.api.req('DELETE', `/budgets/${budgetId}/participants/carol`, 'alice');
  t.equal(res.statusCode, 200);
  // Back online, but her push stays unanswered until the revocation is seen: otherwise, under
  // load, the push may reach the server first and be answered `rejected NOT_PARTICIPANT` (the
  // other, equally valid, path), and this test would not be about revocation.
  net.state.refuse = (method, path) => method === 'POST' && path === '/events';
  net.state.offline = false;
  await eventually(() => carolEvents.of('revoked').length > 0, 10_000, 'carol revoked');
  net.state.refuse = undefined;
  t.match(carolEvents.of('revoked')[0], { budgetId, reason: 'removed' });
  t.same(
    carolEvents.of('revoked')[0]?.discarded.map((e) => e.eventId),
    [cat.eventId],
    'her unsent edit is reported as lost',
  );
  t.same(carolEvents.of('membership'), [{ budgetId, change: 'removed' }]);
  t.same(await carol.budgets(), []);
  t.same(await carol.store.budgetIds(), []);
  t.same(await carol.pending(), []);
  t.equal(carol.cursor(budgetId), undefined);

  // The owner deletes the budget: alice drops it on acceptance, bob when his poll hears 404.
  const bobEvents = record(bob, 'revoked');
  const aliceEvents = record(alice, 'revoked');
  await alice.budgetDelete(budgetId);
  await alice.flush();
  t.same(
    aliceEvents.of('revoked').map((r) => r.reason),
    ['deleted'],
  );
  await eventually(() => bobEvents.of('revoked').length > 0, 10_000, 'bob revoked');
  t.equal(bobEvents.of('revoked')[0]?.reason, 'deleted');
  t.same(await bob.budgets(), []);
  t.same(await alice.budgets(), []);
});

t.test('membership over long-poll: a budget joined elsewhere is discovered and loaded; leaving drops it', async (t) => {
  const h = await harness(t);
  const alice = h.client('alice');
  await alice.start();
  const { budgetId } = await alice.createBudget({ title: 'Discover me' });
  await alice.categoryAdd(budgetId, { name: 'Food', allocate: '5' });
  await alice.flush();
  const bob = h.client('bob');
  const events = record(bob, 'membership', 'revoked');
  await bob.start();
  await h.api.addMembers(budgetId, 'alice', 'bob'); // bob joins on another device
  await eventually(() => events.of('membership').length > 0, 10_000, 'membership added');
  t.same(events.of('membership'), [{ budgetId, change: 'added' }]);
  await bob.flush();
  t.same(await localState(bob, budgetId), await serverState(h.api, 'bob', budgetId));
  await bob.leave(budgetId);
  t.same(
    events.of('revoked').map((r) => r.reason),
    ['left'],
  );
  t.same(await bob.budgets(), []);
  await alice.flush();
  t.same(
    (await alice.participants(budgetId)).map((p) => p.userId),
    ['alice'],
  );
});

t.test('a cursor the server never gave (a restored device) is replaced from a snapshot', async (t) => {
  const h = await harness(t);
  const store = new MemoryStore();
  const alice = h.client('alice', { store });
  await alice.start();
  const { budgetId } = await alice.createBudget({ title: 'Restored' });
  await alice.categoryAdd(budgetId, { name: 'Food', allocate: '1' });
  await alice.flush();
  await alice.stop();
  await store.setCursor(budgetId, 500);
  await store.put('server', 'category', {
    id: crypto.randomUUID(),
    budgetId,
    name: 'Ghost',
    allocate: '1.00',
    createdBy: 'x',
    version: 1,
    createdAt: 1,
    updatedAt: 1,
  });
  const again = h.client('alice', { store });
  await again.start();
  await eventually(() => (again.cursor(budgetId) ?? 500) < 500, 5000, 'cursor reset');
  await again.categoryAdd(budgetId, { name: 'After', allocate: '2' });
  await again.flush();
  t.same(await localState(again, budgetId), await serverState(h.api, 'alice', budgetId));
  t.same((await again.categories(budgetId)).map((c) => c.name).sort(), ['After', 'Food']);
});
