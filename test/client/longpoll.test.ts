/**
 * The reference client over long-poll against a real server (real port, real fetch): offline work,
 * conflicts, rejections, retries without duplicates, the cascade, convergence (who may see a
 * budget: longpoll-access.test.ts).
 */
import t from 'tap';
import { MemoryStore } from '../../packages/client/src/index.js';
import { eventually, harness, localState, record, serverState, shared, switchableFetch } from './fixtures/support.js';

t.test('offline edits show at once, then one flush sends them all in order', async (t) => {
  const h = await harness(t);
  const alice = h.client('alice');
  // Not started: no network at all.
  const { budgetId } = await alice.createBudget({ title: 'Trip', details: 'offline' });
  const food = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '300' });
  const fuel = await alice.categoryAdd(budgetId, { name: 'Fuel', allocate: '120.5' });
  const x1 = await alice.expenseAdd(budgetId, { categoryId: food.recordId, date: '2025-05-06', amount: '12', note: 'lunch' });
  const x2 = await alice.expenseAdd(budgetId, { categoryId: fuel.recordId, date: '2025-05-07', amount: '60' });
  await alice.categoryEdit(budgetId, food.recordId, { allocate: '350' });
  await alice.expenseEdit(budgetId, x1.recordId, { amount: '13.40', note: null });
  await alice.expenseDelete(budgetId, x2.recordId);
  await alice.budgetEdit(budgetId, { title: 'Road trip' });

  t.match(await alice.budget(budgetId), { title: 'Road trip', details: 'offline', ownerId: 'alice', version: 2 });
  t.same((await alice.categories(budgetId)).map((c) => [c.name, c.allocate, c.version]).sort(), [
    ['Food', '350.00', 2],
    ['Fuel', '120.50', 1],
  ]);
  t.same(
    (await alice.expenses(budgetId)).map((x) => [x.amount, x.note, x.version]),
    [['13.40', null, 2]],
  );
  t.equal((await alice.pending()).length, 9);
  t.same((await h.api.req('GET', '/budgets', 'alice')).json(), { budgets: [], nextKey: null }, 'nothing reached the server');

  const events = record(alice, 'connected', 'confirmed', 'conflict', 'rejected', 'caughtUp');
  await alice.start();
  await alice.flush();
  t.same(events.of('conflict'), []);
  t.same(events.of('rejected'), []);
  t.equal(events.of('confirmed').length, 9);
  t.ok(events.of('connected').length >= 1);
  t.same(await alice.pending(), []);
  const server = await serverState(h.api, 'alice', budgetId);
  t.same(await localState(alice, budgetId), server, 'the local layer is the server snapshot');
  t.equal(server.budget && (server.budget as { title: string }).title, 'Road trip');
  const stream = await h.api.stream('alice', budgetId);
  t.same(
    stream.events.map((e) => e.eventType),
    [
      'budget.create',
      'participant.add',
      'category.add',
      'category.add',
      'expense.add',
      'expense.add',
      'category.edit',
      'expense.edit',
      'expense.delete',
      'budget.edit',
    ],
    'in the order they were made',
  );
  t.equal(alice.cursor(budgetId), 10);
  await eventually(() => events.of('caughtUp').length > 0, 5000, 'caughtUp');
});

t.test('the network goes away while running: edits wait, nothing is lost when it comes back', async (t) => {
  const h = await harness(t);
  const net = switchableFetch();
  const alice = h.client('alice', { fetch: net.fetch });
  const events = record(alice, 'connected', 'disconnected', 'error');
  await alice.start();
  const { budgetId } = await alice.createBudget({ title: 'Home' });
  await alice.flush();
  net.state.offline = true;
  await eventually(() => events.of('disconnected').length > 0, 5000, 'disconnected');
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '10' });
  for (let i = 0; i < 30; i++) await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: `${i}.5` });
  t.equal((await alice.expenses(budgetId)).length, 30, 'shown while offline');
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await alice.pending()).length, 31);
  net.state.offline = false;
  await alice.flush();
  t.same(await alice.pending(), []);
  t.same(await localState(alice, budgetId), await serverState(h.api, 'alice', budgetId));
  t.ok(events.of('connected').length >= 2, 'connected again');
  t.ok(net.state.calls.filter((c) => c === 'POST /events').length >= 2, 'more than one push: batches of at most 25');
});

t.test('conflict: the second writer gets the server record and its event is dropped', async (t) => {
  const h = await harness(t);
  const { alice, bob, budgetId } = await shared(h);
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  const gone = await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: '5' });
  await alice.flush();
  await bob.flush();
  await bob.stop(); // bob edits offline from the same versions
  await alice.categoryEdit(budgetId, cat.recordId, { name: 'Groceries' });
  await alice.expenseDelete(budgetId, gone.recordId);
  await alice.flush();

  const first = await bob.categoryEdit(budgetId, cat.recordId, { name: 'Eating out' });
  const second = await bob.categoryEdit(budgetId, cat.recordId, { allocate: '250' });
  const onDeleted = await bob.expenseEdit(budgetId, gone.recordId, { amount: '6' });
  t.match(await bob.categories(budgetId), [{ name: 'Eating out', allocate: '250.00', version: 3 }], 'bob sees his edits at once');
  const events = record(bob, 'conflict', 'rejected', 'confirmed');
  await bob.start();
  await bob.flush();
  const conflicts = events.of('conflict');
  t.same(
    conflicts.map((c) => [c.event.eventId, c.code, c.cause]),
    [
      [first.eventId, 'VERSION_CONFLICT', undefined],
      [second.eventId, 'VERSION_CONFLICT', first.eventId],
      // After the conflict in the same batch: skipped, then sent again and judged on its own.
      [onDeleted.eventId, 'RECORD_DELETED', undefined],
    ],
    'the edit, the edit made on top of it, and the edit of a deleted record',
  );
  t.match(conflicts[0]?.record, { name: 'Groceries', version: 2 });
  t.equal(conflicts[2]?.record, null);
  t.same(events.of('rejected'), []);
  const deleted = await h.api.stream('alice', budgetId);
  t.notOk(
    deleted.events.some((e) => e.eventId === onDeleted.eventId),
    'the edit of a deleted record never applied',
  );
  t.match(await bob.categories(budgetId), [{ name: 'Groceries', allocate: '100.00', version: 2 }], 'bob shows the server record');
  t.same(await bob.expenses(budgetId), []);
  t.same(await bob.pending(), []);
  await alice.flush();
  const server = await serverState(h.api, 'alice', budgetId);
  t.same(await localState(alice, budgetId), server);
  t.same(await localState(bob, budgetId), server);
});

t.test('rejected: reported, dropped, the local layer returns to the server state; later events still go', async (t) => {
  const h = await harness(t);
  const { alice, bob, budgetId } = await shared(h);
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  await alice.flush();
  await bob.flush();
  const events = record(bob, 'rejected', 'revoked');
  await bob.stop();
  const bogus = await bob.expenseAdd(budgetId, { categoryId: crypto.randomUUID(), date: '2025-01-01', amount: '1' });
  const fine = await bob.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-02', amount: '2' });
  const del = await bob.budgetDelete(budgetId); // members may not delete
  t.equal(await bob.budget(budgetId), undefined, 'hidden optimistically');
  t.same(await bob.expenses(budgetId), [], 'with everything in it');
  await t.rejects(bob.categoryAdd(budgetId, { name: 'x', allocate: '1' }), /no budget/, 'a budget being deleted takes no new records');
  await bob.start();
  await bob.flush();
  t.same(
    events.of('rejected').map((r) => [r.event.eventId, r.error.code]),
    [
      [bogus.eventId, 'CATEGORY_NOT_FOUND'],
      [del.eventId, 'NOT_OWNER'],
    ],
  );
  t.same(events.of('revoked'), []);
  t.match(await bob.budget(budgetId), { id: budgetId, title: 'Shared' }, 'the budget is back');
  t.same(
    (await bob.expenses(budgetId)).map((x) => x.id),
    [fine.recordId],
    'the refused expense is gone, the next one went through',
  );
  t.same(await bob.pending(), []);
  t.same(await localState(bob, budgetId), await serverState(h.api, 'bob', budgetId));
  await t.rejects(bob.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-02-30', amount: '1' }), TypeError);
  await t.rejects(bob.expenseEdit(budgetId, crypto.randomUUID(), { amount: '1' }), /no expense/);
  await t.rejects(bob.categoryEdit(budgetId, cat.recordId, {}), TypeError);
});

t.test('retries never duplicate: a lost answer, then a stop in the middle of a flush', async (t) => {
  const h = await harness(t);
  const net = switchableFetch();
  const store = new MemoryStore();
  const alice = h.client('alice', { fetch: net.fetch, store });
  const events = record(alice, 'confirmed');
  await alice.start();
  // The server commits POST /budget and POST /events, then the connection dies before the answer.
  // The stream is held back meanwhile, so the only way to learn the outcome is to send again.
  net.state.refuse = (method, path) => method === 'GET' && path === '/events';
  const lost = new Set<string>();
  net.state.afterResponse = (method, url) => {
    const path = new URL(url).pathname;
    if (method === 'POST' && (path === '/events' || path === '/budget') && !lost.has(path)) {
      lost.add(path);
      throw new TypeError('socket hang up');
    }
  };
  const { budgetId } = await alice.createBudget({ title: 'Once' });
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '1' });
  const adds = [];
  for (let i = 0; i < 5; i++)
    adds.push(await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: `${i + 1}` }));
  await eventually(async () => (await alice.pending()).every((e) => e.acceptedSequence !== undefined), 10_000, 'all confirmed');
  t.same([...lost].sort(), ['/budget', '/events'], 'both answers were lost');
  t.same(
    events.of('confirmed').map((c) => [c.event.eventType, c.status]),
    [['budget.create', 'duplicate'], ['category.add', 'duplicate'], ...adds.map(() => ['expense.add', 'duplicate'])],
    'the retries reused the eventIds and were answered duplicate',
  );
  t.same(
    net.state.pushed,
    [cat, ...adds, cat, ...adds].map((e) => e.eventId),
    'the same events went out twice',
  );
  net.state.refuse = undefined;
  await alice.flush();
  t.same(await alice.pending(), []);

  // Stop while a push is out: the server commits it, the client never reads the answer.
  let stopped: Promise<void> | undefined;
  net.state.afterResponse = (method, url) => {
    if (method === 'POST' && new URL(url).pathname === '/events' && !stopped) {
      stopped = alice.stop();
      throw new TypeError('connection reset');
    }
  };
  const more = [];
  for (let i = 0; i < 3; i++) more.push(await alice.expenseEdit(budgetId, adds[i]!.recordId, { note: `n${i}` }));
  await eventually(() => stopped !== undefined, 5000, 'the push to go out');
  await stopped;
  t.ok(
    (await store.outbox()).length > 0 && (await store.outbox()).every((e) => e.acceptedSequence === undefined),
    'the answer was never read',
  );
  net.state.afterResponse = undefined;
  // A new client on the same store (an app restart).
  const again = h.client('alice', { fetch: net.fetch, store });
  await again.start();
  await again.flush();
  t.same(await again.pending(), []);

  const stream = await h.api.stream('alice', budgetId);
  const counts = new Map<string, number>();
  for (const e of stream.events) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
  for (const e of [cat, ...adds, ...more]) t.equal(counts.get(e.eventId), 1, `${e.eventType} ${e.eventId} is in the stream exactly once`);
  t.equal(stream.events.length, 2 + 1 + 5 + 3);
  t.same(await localState(again, budgetId), await serverState(h.api, 'alice', budgetId));
});

t.test('category delete: the cascade removes its expenses on every device', async (t) => {
  const h = await harness(t);
  const { alice, bob, budgetId } = await shared(h);
  const food = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  const rent = await alice.categoryAdd(budgetId, { name: 'Rent', allocate: '900' });
  for (let i = 0; i < 3; i++) await alice.expenseAdd(budgetId, { categoryId: food.recordId, date: '2025-01-01', amount: '1' });
  const kept = await alice.expenseAdd(budgetId, { categoryId: rent.recordId, date: '2025-01-01', amount: '900' });
  await alice.flush();
  await bob.flush();
  t.equal((await bob.expenses(budgetId)).length, 4);

  await bob.categoryDelete(budgetId, food.recordId);
  t.same(
    (await bob.expenses(budgetId)).map((x) => x.id),
    [kept.recordId],
    'hidden on bob at once',
  );
  await bob.flush();
  await alice.flush();
  const server = await serverState(h.api, 'alice', budgetId);
  t.same(
    server.expenses.map((x) => x.id),
    [kept.recordId],
  );
  t.same(await localState(alice, budgetId), server, 'alice applied cascade.expenseIds');
  t.same(await localState(bob, budgetId), server);
  const del = (await h.api.stream('alice', budgetId)).events.find((e) => e.eventType === 'category.delete') as unknown as {
    cascade: { expenseIds: string[] };
  };
  t.equal(del.cascade.expenseIds.length, 3);
});

t.test('clients converge to the server snapshot (socket and long-poll, one of them offline for a while)', async (t) => {
  const h = await harness(t);
  const net = switchableFetch();
  const alice = h.client('alice', { transport: 'socket' });
  const bob = h.client('bob');
  await alice.start();
  await bob.start();
  const { budgetId } = await alice.createBudget({ title: 'Converge' });
  await alice.flush();
  await bob.join((await alice.createInvite(budgetId)).token);
  const carol = h.client('carol', { fetch: net.fetch, batchSize: 7 });
  await carol.start();
  const { token } = await alice.createInvite(budgetId);
  await carol.join(token);
  await carol.flush();
  const conflicts = { alice: 0, bob: 0, carol: 0 };
  alice.on('conflict', () => conflicts.alice++);
  bob.on('conflict', () => conflicts.bob++);
  carol.on('conflict', () => conflicts.carol++);

  const contested = await alice.categoryAdd(budgetId, { name: 'Contested', allocate: '1' });
  for (const c of [alice, bob, carol]) await c.flush();

  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const clients = [alice, bob, carol];
  for (let round = 0; round < 6; round++) {
    if (round === 2) {
      net.state.offline = true; // carol works offline for two rounds
      // Both rename the same category from the same version: alice is online and wins.
      await carol.categoryEdit(budgetId, contested.recordId, { name: 'carol' });
      await alice.categoryEdit(budgetId, contested.recordId, { name: 'alice' });
      await alice.flush();
    }
    if (round === 4) net.state.offline = false;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 6; i++) {
          const cats = await c.categories(budgetId);
          const xs = await c.expenses(budgetId);
          const op = rand(10);
          // Mostly the first few records, so that devices collide (and conflict) now and then.
          const cat = cats[rand(Math.max(Math.min(cats.length, 3), 1))];
          const x = xs[rand(Math.max(Math.min(xs.length, 4), 1))];
          if (op < 2 || !cat) await c.categoryAdd(budgetId, { name: `c${round}${i}`, allocate: `${rand(500)}` });
          else if (op < 5)
            await c.expenseAdd(budgetId, { categoryId: cat.id, date: `2025-03-0${1 + rand(9)}`, amount: `${rand(100)}.${rand(99)}` });
          else if (op < 7 && x) await c.expenseEdit(budgetId, x.id, { amount: `${rand(50)}`, note: rand(2) ? null : 'edited' });
          else if (op < 8) await c.categoryEdit(budgetId, cat.id, { allocate: `${rand(900)}` });
          else if (op < 9 && x) await c.expenseDelete(budgetId, x.id);
          else if (round > 3 && cats.length > 2) await c.categoryDelete(budgetId, cat.id);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 30));
  }
  for (let pass = 0; pass < 2; pass++) for (const c of clients) await c.flush({ timeoutMs: 20_000 });
  const server = await serverState(h.api, 'alice', budgetId);
  t.ok(server.expenses.length + server.categories.length > 0);
  for (const c of clients) {
    t.same(await c.pending(), []);
    t.same(await localState(c, budgetId), server, `${c.userId} holds exactly the server snapshot`);
  }
  t.ok(conflicts.carol >= 1, 'carol, back online, had at least one conflict');
  const survivor = server.categories.find((c) => c.id === contested.recordId);
  if (survivor) t.equal(survivor.name, 'alice', 'the online edit won');
  t.comment(`conflicts: ${JSON.stringify(conflicts)}, stream length ${(await h.api.stream('alice', budgetId)).events.length}`);
});
