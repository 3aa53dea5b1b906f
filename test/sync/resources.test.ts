import t from 'tap';
import { type Api, ev } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import {
  type Ctx,
  type SnapshotJson,
  applyStreamEvent,
  canonical,
  expectError,
  fullStream,
  json,
  keys,
  setup,
  stable,
  stateFromSnapshot,
} from './fixtures/support.js';

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

const snapshot = async (api: Api, uid: string, budgetId: string) =>
  json<SnapshotJson>(await api.req('GET', `/budgets/${budgetId}/snapshot`, uid));
/** Snapshot `base` with every stream event after its lastSequence applied. */
async function rolledForward(api: Api, uid: string, budgetId: string, base: SnapshotJson) {
  const state = stateFromSnapshot(base);
  for (const e of await fullStream(api, uid, budgetId)) if (e.sequence > base.lastSequence) applyStreamEvent(state, e);
  return canonical(state);
}

t.test('POST /budget creates once: 201, a replay is 200 with the same body, another eventId is 409 BUDGET_EXISTS', async (t) => {
  const { api } = ctx;
  const body = { eventId: uuid(), id: uuid(), title: 'Trip', when: 1774718381798 };
  const created = await api.req('POST', '/budget', 'ann', body);
  t.equal(created.statusCode, 201);
  const b = json<{ budget: Record<string, unknown>; participant: Record<string, unknown>; sequence: number }>(created);
  t.same(keys(b), ['budget', 'participant', 'sequence']);
  t.same(keys(b.budget), ['id', 'title', 'details', 'ownerId', 'createdBy', 'version', 'createdAt', 'updatedAt'].sort());
  t.match(b.budget, { id: body.id, title: 'Trip', details: null, ownerId: 'ann', createdBy: 'ann', version: 1 });
  t.same(keys(b.participant), ['userId', 'budgetId', 'role', 'joinedAt', 'firstName', 'lastName', 'photo'].sort());
  t.match(b.participant, { userId: 'ann', budgetId: body.id, role: 'owner' });
  t.equal(b.sequence, 2);

  for (const when of [body.when, body.when + 1]) {
    const replay = await api.req('POST', '/budget', 'ann', { ...body, when });
    t.equal(replay.statusCode, 200, 'a replay is a 200 (a different `when` is still the same request)');
    t.equal(stable(replay.json()), stable(b), 'with the same body');
  }
  const upper = await api.req('POST', '/budget', 'ann', { ...body, eventId: body.eventId.toUpperCase(), id: body.id.toUpperCase() });
  t.equal(upper.statusCode, 200, 'uppercase ids are the same ids');
  expectError(
    t,
    await api.req('POST', '/budget', 'ann', { ...body, eventId: uuid() }),
    409,
    'BUDGET_EXISTS',
    'an existing id under another eventId',
  );
  expectError(
    t,
    await api.req('POST', '/budget', 'ann', { ...body, title: 'Other' }),
    409,
    'EVENT_ID_REUSED',
    'the eventId with other content',
  );
  expectError(t, await api.req('POST', '/budget', 'bob', body), 409, 'EVENT_ID_REUSED', 'the eventId replayed by someone else');

  const stream = await fullStream(api, 'ann', body.id);
  t.same(
    stream.map((e) => [e.sequence, e.eventType, e.recordId, e.actorId]),
    [
      [1, 'budget.create', body.id, 'ann'],
      [2, 'participant.add', 'ann', 'ann'],
    ],
  );
  t.equal(stream[0]?.eventId, body.eventId, 'budget.create carries the client eventId');
  t.equal(stream[0]?.when, body.when);
  t.same(stream[0]?.record, b.budget);
  t.same(stream[1]?.record, b.participant);

  const withDetails = await api.req('POST', '/budget', 'ann', { eventId: uuid(), id: uuid(), title: 'D', details: 'notes', when: 1 });
  t.equal(json<{ budget: { details: string } }>(withDetails).budget.details, 'notes');
  // The event id of a budget.create cannot be pushed as another event.
  const [r] = await api.push('ann', [{ ...ev.categoryAdd(body.id), eventId: body.eventId }]);
  t.match(r, { status: 'rejected', error: { code: 'EVENT_ID_REUSED' } });
});

t.test("GET /budgets pages through the caller's live budgets by key, each exactly once", async (t) => {
  const { api } = ctx;
  const own = await Promise.all(Array.from({ length: 6 }, (_, i) => api.createBudget('pager', `P${i}`)));
  const shared = await api.createBudget('someone');
  await api.addMembers(shared, 'someone', 'pager');
  const gone = await api.createBudget('pager');
  await api.push('pager', [ev.del('budget.delete', gone, gone, 1)]);
  await api.createBudget('someone'); // not pager's
  const expected = [...own, shared].sort();

  const seen: string[] = [];
  let key: string | null = null;
  let pages = 0;
  do {
    const res = await api.req('GET', `/budgets?count=3${key ? `&key=${key}` : ''}`, 'pager');
    t.equal(res.statusCode, 200);
    const page = json<{ budgets: { id: string }[]; nextKey: string | null }>(res);
    t.same(keys(page), ['budgets', 'nextKey']);
    t.ok(page.budgets.length <= 3);
    seen.push(...page.budgets.map((b) => b.id));
    key = page.nextKey;
    if (key) t.equal(key, page.budgets.at(-1)?.id, 'nextKey is the last id of the page');
    pages++;
  } while (key && pages < 10);
  t.same(seen, expected, "all 7 budgets, in key order, once each; not the deleted one, not others'");
  t.equal(pages, 3);
  const all = json<{ budgets: unknown[]; nextKey: null }>(await api.req('GET', '/budgets', 'pager'));
  t.equal(all.budgets.length, 7);
  t.equal(all.nextKey, null, 'nextKey is null at the end');
  const exact = json<{ budgets: unknown[]; nextKey: string | null }>(await api.req('GET', '/budgets?count=7', 'pager'));
  t.equal(exact.nextKey, null, 'a page that ends exactly at the last budget has nextKey null');
  t.same(json(await api.req('GET', '/budgets', 'nobody-yet')), { budgets: [], nextKey: null });
});

t.test('GET /budgets/:id/expenses pages by key over live expenses of that budget only', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('exp');
  const other = await api.createBudget('exp');
  const cat = ev.categoryAdd(budgetId);
  const otherCat = ev.categoryAdd(other);
  const adds = Array.from({ length: 13 }, () => ev.expenseAdd(budgetId, cat.recordId));
  await api.push('exp', [cat, otherCat, ...adds.slice(0, 10), ev.expenseAdd(other, otherCat.recordId)]);
  await api.push('exp', [...adds.slice(10), ev.del('expense.delete', budgetId, adds[4]?.recordId as string, 1)]);
  const expected = adds
    .filter((_, i) => i !== 4)
    .map((a) => a.recordId)
    .sort();

  const seen: string[] = [];
  let key: string | null = null;
  const sizes: number[] = [];
  do {
    const page: { expenses: { id: string; budgetId: string }[]; nextKey: string | null } = json(
      await api.req('GET', `/budgets/${budgetId}/expenses?count=5${key ? `&key=${key.toUpperCase()}` : ''}`, 'exp'),
    );
    sizes.push(page.expenses.length);
    t.ok(page.expenses.every((e) => e.budgetId === budgetId));
    seen.push(...page.expenses.map((e) => e.id));
    key = page.nextKey;
  } while (key && sizes.length < 10);
  t.same(sizes, [5, 5, 2]);
  t.same(seen, expected, 'every live expense once, in key order, without the deleted one');
  expectError(
    t,
    await api.req('GET', `/budgets/${budgetId}/expenses/${adds[4]?.recordId}`, 'exp'),
    404,
    'EXPENSE_NOT_FOUND',
    'a deleted expense',
  );
  t.match(json(await api.req('GET', `/budgets/${budgetId}/expenses/${adds[0]?.recordId}`, 'exp')), {
    expense: { id: adds[0]?.recordId, version: 1 },
  });
  t.same(keys(json(await api.req('GET', `/budgets/${budgetId}/categories/${cat.recordId}`, 'exp'))), ['category']);

  await api.push('exp', [ev.categoryAdd(budgetId, { recordId: uuid() })]);
  await api.push('exp', [ev.del('category.delete', budgetId, cat.recordId, 1)]);
  expectError(
    t,
    await api.req('GET', `/budgets/${budgetId}/categories/${cat.recordId}`, 'exp'),
    404,
    'CATEGORY_NOT_FOUND',
    'a deleted category',
  );
  const cats = json<{ categories: { id: string }[] }>(await api.req('GET', `/budgets/${budgetId}/categories`, 'exp'));
  t.equal(cats.categories.length, 1, 'the deleted category is not listed');
  t.same(json(await api.req('GET', `/budgets/${budgetId}/expenses`, 'exp')), { expenses: [], nextKey: null }, 'its expenses went with it');
});

t.test('a snapshot plus the stream after its lastSequence is the current state, even while writes go on', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('snap');
  await api.addMembers(budgetId, 'snap', 'snap2', 'snap3');
  const cat = ev.categoryAdd(budgetId);
  await api.push('snap', [cat, ...Array.from({ length: 5 }, () => ev.expenseAdd(budgetId, cat.recordId))]);
  const first = await snapshot(api, 'snap', budgetId);
  t.same(keys(first), ['budget', 'participants', 'categories', 'expenses', 'lastSequence'].sort());
  t.equal(first.lastSequence, 10);
  t.same(json(await api.req('GET', `/budgets/${budgetId}/last-event-sequence`, 'snap2')), { budgetId, lastSequence: 10 });
  t.match(json(await api.req('GET', `/budgets/${budgetId}`, 'snap3')), { budget: { id: budgetId }, lastSequence: 10 });

  // Snapshots taken while other requests write.
  const writers = Array.from({ length: 6 }, (_, i) =>
    api.push(
      i % 2 ? 'snap2' : 'snap3',
      [
        ev.expenseAdd(budgetId, cat.recordId),
        ev.edit('budget.edit', budgetId, budgetId, 1 + i, { title: `t${i}` }),
        ev.categoryAdd(budgetId),
      ],
      'independent',
    ),
  );
  const during = await Promise.all([snapshot(api, 'snap', budgetId), snapshot(api, 'snap2', budgetId), snapshot(api, 'snap3', budgetId)]);
  await Promise.all(writers);
  await api.req('DELETE', `/budgets/${budgetId}/participants/snap3`, 'snap');
  await api.req('PUT', `/budgets/${budgetId}/owner`, 'snap', { userId: 'snap2' });
  await api.push('snap2', [ev.del('category.delete', budgetId, cat.recordId, 1)]);

  const now = await snapshot(api, 'snap2', budgetId);
  const current = canonical(stateFromSnapshot(now));
  t.match(now.budget, { ownerId: 'snap2' });
  t.same(await rolledForward(api, 'snap2', budgetId, first), current, 'the first snapshot rolled forward is the current state');
  for (const s of during)
    t.same(await rolledForward(api, 'snap2', budgetId, s), current, `a snapshot at ${s.lastSequence} rolled forward is the current state`);
  t.same(json(await api.req('GET', `/budgets/${budgetId}/last-event-sequence`, 'snap2')), { budgetId, lastSequence: now.lastSequence });
  const stream = await fullStream(api, 'snap2', budgetId);
  t.equal(stream.at(-1)?.sequence, now.lastSequence, 'lastSequence is the last stream event');
});

t.test('GET /events pages the stream by key and count, ascending, with nextKey and hasMore', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('reader');
  await api.push(
    'reader',
    Array.from({ length: 8 }, () => ev.categoryAdd(budgetId)),
  );
  const page = async (query: string) => {
    const res = await api.req('GET', `/events?budgetId=${budgetId}&wait=0${query}`, 'reader');
    t.equal(res.statusCode, 200);
    return json<{ budgetId: string; key: number; nextKey: number; events: { sequence: number }[]; hasMore: boolean }>(res);
  };
  const first = await page('&count=4');
  t.same(keys(first), ['budgetId', 'events', 'hasMore', 'key', 'nextKey']);
  t.same([first.key, first.events.map((e) => e.sequence), first.nextKey, first.hasMore], [0, [1, 2, 3, 4], 4, true]);
  const second = await page('&key=4&count=4');
  t.same([second.events.map((e) => e.sequence), second.nextKey, second.hasMore], [[5, 6, 7, 8], 8, true]);
  const third = await page('&key=8&count=4');
  t.same([third.events.map((e) => e.sequence), third.nextKey, third.hasMore], [[9, 10], 10, false]);
  const atHead = await page('&key=10');
  t.same([atHead.events, atHead.nextKey, atHead.hasMore], [[], 10, false], 'at the head: nothing, nextKey = key');
  const all = await page('');
  t.equal(all.events.length, 10, 'count defaults to 100');
  t.equal(all.budgetId, budgetId);
});

t.test('the summary sums exactly per category and in total, within from/to, with negative remainders', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('sum');
  const food = ev.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  const fun = ev.categoryAdd(budgetId, { name: 'Fun', allocate: '0' });
  const idle = ev.categoryAdd(budgetId, { name: 'Idle', allocate: '5.5' });
  const dropped = ev.categoryAdd(budgetId, { name: 'Dropped', allocate: '1000' });
  await api.push('sum', [
    food,
    fun,
    idle,
    dropped,
    ev.expenseAdd(budgetId, food.recordId, { date: '2025-01-31', amount: '1000' }),
    ev.expenseAdd(budgetId, food.recordId, { date: '2025-02-01', amount: '10.10' }),
    ev.expenseAdd(budgetId, food.recordId, { date: '2025-02-28', amount: '20.20' }),
    ev.expenseAdd(budgetId, food.recordId, { date: '2025-03-01', amount: '3000' }),
    ev.expenseAdd(budgetId, fun.recordId, { date: '2025-02-14', amount: '12.5' }),
    ev.expenseAdd(budgetId, dropped.recordId, { date: '2025-02-14', amount: '7' }),
  ]);
  await api.push('sum', [ev.del('category.delete', budgetId, dropped.recordId, 1)]);

  const feb = json<Record<string, unknown>>(await api.req('GET', `/budgets/${budgetId}/summary?from=2025-02-01&to=2025-02-28`, 'sum'));
  t.same(
    feb,
    {
      budgetId,
      from: '2025-02-01',
      to: '2025-02-28',
      categories: [
        { categoryId: food.recordId, name: 'Food', allocate: '100.00', spent: '30.30', remaining: '69.70', count: 2 },
        { categoryId: fun.recordId, name: 'Fun', allocate: '0.00', spent: '12.50', remaining: '-12.50', count: 1 },
        { categoryId: idle.recordId, name: 'Idle', allocate: '5.50', spent: '0.00', remaining: '5.50', count: 0 },
      ],
      totals: { allocate: '105.50', spent: '42.80', remaining: '62.70', count: 3 },
    },
    'inclusive bounds; deleted categories and their expenses are left out',
  );
  const all = json<{ from: null; to: null; totals: Record<string, unknown> }>(await api.req('GET', `/budgets/${budgetId}/summary`, 'sum'));
  t.equal(all.from, null);
  t.equal(all.to, null);
  t.same(all.totals, { allocate: '105.50', spent: '4042.80', remaining: '-3937.30', count: 5 });
  const fromOnly = json<{ totals: { count: number } }>(await api.req('GET', `/budgets/${budgetId}/summary?from=2025-02-28`, 'sum'));
  t.equal(fromOnly.totals.count, 2, 'from alone: 02-28 and 03-01');
  const toOnly = json<{ totals: { count: number } }>(await api.req('GET', `/budgets/${budgetId}/summary?to=2025-01-31`, 'sum'));
  t.equal(toOnly.totals.count, 1, 'to alone: 01-31');
  const empty = await api.createBudget('sum');
  t.same(json<{ totals: unknown; categories: unknown[] }>(await api.req('GET', `/budgets/${empty}/summary`, 'sum')).totals, {
    allocate: '0.00',
    spent: '0.00',
    remaining: '0.00',
    count: 0,
  });
});

t.test('the summary of very large amounts is exact, never an overflow', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('rich');
  const cat = ev.categoryAdd(budgetId, { allocate: '9999999999.99' });
  await api.push('rich', [cat]);
  for (let i = 0; i < 5; i++) {
    const rs = await api.push(
      'rich',
      Array.from({ length: i === 4 ? 1 : 25 }, () => ev.expenseAdd(budgetId, cat.recordId, { amount: '9999999999.99' })),
    );
    t.ok(rs.every((r) => r.status === 'accepted'));
  }
  const res = await api.req('GET', `/budgets/${budgetId}/summary`, 'rich');
  t.equal(res.statusCode, 200, `101 maximal expenses sum without error (${res.body.slice(0, 120)})`);
  t.match(res.json(), {
    categories: [{ spent: '1009999999998.99', remaining: '-999999999999.00', count: 101 }],
    totals: { allocate: '9999999999.99', spent: '1009999999998.99', remaining: '-999999999999.00', count: 101 },
  });
});

t.test('operational routes: /healthz, /readyz, /metrics and /openapi.json need no token', async (t) => {
  const { server } = ctx;
  const get = (url: string) => server.app.inject({ method: 'GET', url });
  t.same(json(await get('/healthz')), { status: 'ok' });
  t.same(json(await get('/readyz')), { status: 'ready' });
  const metrics = await get('/metrics');
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /text\/plain/);
  t.match(metrics.body, /^# HELP http_requests_total/m, 'Prometheus text with the request counter');
  const doc = await get('/openapi.json');
  t.equal(doc.statusCode, 200);
  const spec = JSON.parse(doc.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  t.match(spec.openapi, /^3\./);
  for (const [path, method] of [
    ['/budget', 'post'],
    ['/budgets', 'get'],
    ['/budgets/{budgetId}', 'get'],
    ['/budgets/{budgetId}/snapshot', 'get'],
    ['/budgets/{budgetId}/last-event-sequence', 'get'],
    ['/budgets/{budgetId}/participants', 'get'],
    ['/budgets/{budgetId}/participants/{userId}', 'get'],
    ['/budgets/{budgetId}/categories', 'get'],
    ['/budgets/{budgetId}/categories/{categoryId}', 'get'],
    ['/budgets/{budgetId}/expenses', 'get'],
    ['/budgets/{budgetId}/expenses/{expenseId}', 'get'],
    ['/budgets/{budgetId}/summary', 'get'],
    ['/budgets/{budgetId}/invites', 'post'],
    ['/budgets/{budgetId}/join', 'get'],
    ['/invites/{token}/accept', 'post'],
    ['/budgets/{budgetId}/leave', 'delete'],
    ['/budgets/{budgetId}/participants/{userId}', 'delete'],
    ['/budgets/{budgetId}/owner', 'put'],
    ['/events', 'post'],
    ['/events', 'get'],
    ['/user', 'get'],
    ['/user', 'put'],
    ['/user', 'delete'],
    ['/profiles/{userId}', 'get'],
  ] as const) {
    t.ok(spec.paths[path]?.[method], `the document lists ${method.toUpperCase()} ${path}`);
  }
});
