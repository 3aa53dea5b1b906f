/** eventIds: a retry is a duplicate with the original outcome; reuse with other content is refused. */
import t from 'tap';
import { ev, type PushResultJson } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import { type Ctx, keys, one, setup, writeState } from './fixtures/support.js';

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

t.test('a retried eventId is a duplicate with the original outcome, even after later edits', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('gina');
  await api.addMembers(budgetId, 'gina', 'hank');
  const cat = ev.categoryAdd(budgetId, { allocate: '5' });
  const exp = ev.expenseAdd(budgetId, cat.recordId, { amount: '2.5' });
  const edit = ev.edit('expense.edit', budgetId, exp.recordId, 1, { note: 'first' });
  const original = await api.push('gina', [cat, exp, edit]);
  t.same(
    original.map((r) => r.status),
    ['accepted', 'accepted', 'accepted'],
  );
  // Later changes by someone else, and a delete.
  await api.push('hank', [
    ev.edit('expense.edit', budgetId, exp.recordId, 2, { note: 'second' }),
    ev.edit('category.edit', budgetId, cat.recordId, 1, { name: 'x' }),
  ]);
  await api.push('hank', [ev.del('expense.delete', budgetId, exp.recordId, 3)]);
  const before = await writeState(ctx.sql);

  const retried = await api.push('gina', [cat, exp, edit]);
  retried.forEach((r, i) => {
    const o = original[i] as PushResultJson;
    t.same(r, { ...o, status: 'duplicate' }, `${o.eventType}: duplicate with the original sequence, version and record`);
  });
  t.same(await writeState(ctx.sql), before, 'nothing was applied again');

  // `when` is not content; the alias `event` is the same field; money is compared normalised.
  const sameContent = { ...cat, when: cat.when + 5000, allocate: '5.00' } as Record<string, unknown>;
  delete sameContent.eventType;
  sameContent.event = 'category.add';
  t.match(await one(api, 'gina', sameContent), { status: 'duplicate', sequence: original[0]?.sequence });
  t.match(
    await one(api, 'hank', cat),
    { status: 'duplicate', sequence: original[0]?.sequence },
    'any current participant gets the duplicate',
  );
  t.match(
    await one(api, 'gina', { ...cat, eventId: cat.eventId.toUpperCase() }),
    { status: 'duplicate', eventId: cat.eventId },
    'eventIds compare case-insensitively',
  );
});

t.test('the same eventId with different content is EVENT_ID_REUSED; a non-participant never learns the original', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('ivan');
  const other = await api.createBudget('ivan');
  await api.addMembers(budgetId, 'ivan', 'jade');
  const cat = ev.categoryAdd(budgetId, { name: 'Rent', allocate: '700' });
  const [orig] = await api.push('ivan', [cat]);
  const before = await writeState(ctx.sql);

  const variants: [string, Record<string, unknown>][] = [
    ['another name', { ...cat, name: 'Rent!' }],
    ['another allocate', { ...cat, allocate: '701' }],
    ['another record id', { ...cat, recordId: uuid() }],
    ['another budget', { ...cat, budgetId: other }],
    ['another type', { ...ev.del('category.delete', budgetId, cat.recordId, 1), eventId: cat.eventId }],
  ];
  const results = await api.push(
    'ivan',
    variants.map(([, e]) => e),
    'independent',
  );
  for (const [i, [name]] of variants.entries()) t.match(results[i], { status: 'rejected', error: { code: 'EVENT_ID_REUSED' } }, name);
  t.ok(
    results.every((r) => r.record === undefined),
    'no record is returned with EVENT_ID_REUSED',
  );
  t.same(await writeState(ctx.sql), before);

  for (const [who, label] of [
    ['mallory', 'a stranger'],
    ['jade', 'a removed member'],
  ] as const) {
    if (who === 'jade') await api.req('DELETE', `/budgets/${budgetId}/participants/jade`, 'ivan');
    const r = await one(api, who, cat);
    t.match(r, { status: 'rejected', error: { code: 'NOT_PARTICIPANT' } }, `${label} asking for a duplicate is NOT_PARTICIPANT`);
    t.equal(r.record, undefined, `${label} gets no record`);
    t.equal(r.sequence, undefined, `${label} gets no sequence`);
  }
  // Even when they send it under a budget of their own (the decision in docs/protocol.md): the
  // answer names only what they sent, never the budget, record or sequence of the original.
  const mine = await api.createBudget('mallory');
  const beforeReplay = await writeState(ctx.sql);
  const replay = await one(api, 'mallory', { ...cat, budgetId: mine });
  t.match(replay, { status: 'rejected', error: { code: 'NOT_PARTICIPANT' }, budgetId: mine, recordId: cat.recordId });
  t.same(keys(replay), ['budgetId', 'error', 'eventId', 'eventType', 'recordId', 'status'], 'nothing of the original');
  t.same(await writeState(ctx.sql), beforeReplay, 'and nothing is written');
  t.match(await one(api, 'ivan', cat), { status: 'duplicate', sequence: orig?.sequence });
});

t.test('an eventId that came back conflict, rejected or skipped is judged afresh when sent again', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('kate');
  const cat = ev.categoryAdd(budgetId);
  const staleEdit = ev.edit('category.edit', budgetId, cat.recordId, 5, { name: 'later' });
  const expEarly = ev.expenseAdd(budgetId, cat.recordId); // category not there yet
  const skippedOne = ev.categoryAdd(budgetId, { name: 'Skipped' });

  const first = await api.push('kate', [expEarly, skippedOne]);
  t.same(
    first.map((r) => [r.status, r.error?.code]),
    [
      ['rejected', 'CATEGORY_NOT_FOUND'],
      ['skipped', undefined],
    ],
  );
  t.equal(first[1]?.sequence, undefined);
  t.same(
    first[1],
    { eventId: skippedOne.eventId, eventType: 'category.add', budgetId, recordId: skippedOne.recordId, status: 'skipped' },
    'a skipped result names its event',
  );
  t.same(
    (await api.push('kate', [cat, staleEdit])).map((r) => r.status),
    ['accepted', 'conflict'],
  );

  const again = await api.push('kate', [expEarly, skippedOne, { ...staleEdit, version: 1 }]);
  t.same(
    again.map((r) => r.status),
    ['accepted', 'accepted', 'accepted'],
    'all three are accepted now',
  );
  t.same(
    again.map((r) => r.sequence),
    [4, 5, 6],
  );
  // A conflicting edit may come back with the right version under the same eventId: the fingerprint
  // of the accepted one is what counts from now on.
  t.match(await one(api, 'kate', { ...staleEdit, version: 1 }), { status: 'duplicate', sequence: 6 });
  t.match(await one(api, 'kate', staleEdit), { status: 'rejected', error: { code: 'EVENT_ID_REUSED' } });
});

t.test('one batch may carry the same eventId twice: the second is a duplicate of the first', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('liam');
  const cat = ev.categoryAdd(budgetId);
  const rs = await api.push('liam', [cat, cat, { ...cat, name: 'different' }], 'independent');
  t.same(
    rs.map((r) => r.status),
    ['accepted', 'duplicate', 'rejected'],
  );
  t.equal(rs[1]?.sequence, rs[0]?.sequence);
  t.same(rs[1]?.record, rs[0]?.record);
  t.equal(rs[2]?.error?.code, 'EVENT_ID_REUSED');
  t.equal((await api.stream('liam', budgetId)).events.length, 3, 'one event in the stream');

  // A rejected first copy leaves no receipt: the second copy is judged afresh (and rejected again).
  const bad = ev.expenseAdd(budgetId, uuid());
  t.same(
    (await api.push('liam', [bad, bad], 'independent')).map((r) => r.error?.code),
    ['CATEGORY_NOT_FOUND', 'CATEGORY_NOT_FOUND'],
  );
});
