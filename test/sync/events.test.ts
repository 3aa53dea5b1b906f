import t from 'tap';
import { type Api, ev } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import { type Ctx, fullStream, json, keys, one, setup, writeState } from './fixtures/support.js';

const BUDGET_KEYS = ['id', 'title', 'details', 'ownerId', 'createdBy', 'version', 'createdAt', 'updatedAt'].sort();
const CATEGORY_KEYS = ['id', 'budgetId', 'name', 'allocate', 'createdBy', 'version', 'createdAt', 'updatedAt'].sort();
const EXPENSE_KEYS = ['id', 'budgetId', 'categoryId', 'date', 'amount', 'note', 'createdBy', 'version', 'createdAt', 'updatedAt'].sort();

/** A budget with one category and one expense, owned by `owner`. */
async function seeded(api: Api, owner: string) {
  const budgetId = await api.createBudget(owner);
  const cat = ev.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  const exp = ev.expenseAdd(budgetId, cat.recordId, { amount: '10' });
  const rs = await api.push(owner, [cat, exp]);
  if (rs.some((r) => r.status !== 'accepted')) throw new Error(`seed: ${JSON.stringify(rs)}`);
  return { budgetId, categoryId: cat.recordId, expenseId: exp.recordId, catEvent: cat, expEvent: exp };
}

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

t.test('every client event type is accepted with the next sequence, the new version and the record after the change', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('alice', 'Household');

  const cat = ev.categoryAdd(budgetId, { name: 'Food', allocate: '100' });
  const catAdded = await one(api, 'alice', cat);
  t.match(catAdded, {
    eventId: cat.eventId,
    eventType: 'category.add',
    budgetId,
    recordId: cat.recordId,
    status: 'accepted',
    sequence: 3,
    version: 1,
  });
  t.same(keys(catAdded.record), CATEGORY_KEYS, 'a category record has exactly the protocol fields');
  t.match(catAdded.record, { id: cat.recordId, budgetId, name: 'Food', allocate: '100.00', createdBy: 'alice', version: 1 });
  t.type(catAdded.record?.createdAt, 'number');

  const cat2 = ev.categoryAdd(budgetId, { name: 'Travel', allocate: '0.5' });
  t.equal((await one(api, 'alice', cat2)).record?.allocate, '0.50', 'money is returned with two decimals');

  const catEdited = await one(api, 'alice', ev.edit('category.edit', budgetId, cat.recordId, 1, { name: 'Groceries' }));
  t.match(catEdited, { status: 'accepted', sequence: 5, version: 2, record: { name: 'Groceries', allocate: '100.00', version: 2 } });
  const catEdited2 = await one(api, 'alice', ev.edit('category.edit', budgetId, cat.recordId, 2, { allocate: '250.7' }));
  t.match(catEdited2, { sequence: 6, version: 3, record: { name: 'Groceries', allocate: '250.70' } });

  const exp = ev.expenseAdd(budgetId, cat.recordId, { amount: '12.5', note: 'coffee', date: '2025-05-06' });
  const expAdded = await one(api, 'alice', exp);
  t.match(expAdded, { status: 'accepted', sequence: 7, version: 1 });
  t.same(keys(expAdded.record), EXPENSE_KEYS, 'an expense record has exactly the protocol fields');
  t.match(expAdded.record, {
    id: exp.recordId,
    budgetId,
    categoryId: cat.recordId,
    date: '2025-05-06',
    amount: '12.50',
    note: 'coffee',
    createdBy: 'alice',
  });

  const expNoNote = await one(api, 'alice', ev.expenseAdd(budgetId, cat.recordId, { amount: '0' }));
  t.equal(expNoNote.record?.note, null, 'an expense without a note has note: null');
  t.equal(expNoNote.record?.amount, '0.00');

  const moved = await one(
    api,
    'alice',
    ev.edit('expense.edit', budgetId, exp.recordId, 1, { categoryId: cat2.recordId, date: '2024-02-29', amount: '3' }),
  );
  t.match(moved, { sequence: 9, version: 2, record: { categoryId: cat2.recordId, date: '2024-02-29', amount: '3.00', note: 'coffee' } });
  const cleared = await one(api, 'alice', ev.edit('expense.edit', budgetId, exp.recordId, 2, { note: null }));
  t.match(cleared, { sequence: 10, version: 3 });
  t.equal(cleared.record?.note, null, 'note: null clears the note');
  t.equal(cleared.record?.amount, '3.00', 'fields not sent are kept');

  const titled = await one(api, 'alice', ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'Home', details: 'shared costs' }));
  t.match(titled, { eventType: 'budget.edit', recordId: budgetId, sequence: 11, version: 2 });
  t.same(keys(titled.record), BUDGET_KEYS, 'a budget record has exactly the protocol fields');
  t.match(titled.record, { id: budgetId, title: 'Home', details: 'shared costs', ownerId: 'alice', createdBy: 'alice', version: 2 });
  // recordId may be left out of budget events; it is the budget id.
  const noRecordId = { eventId: uuid(), eventType: 'budget.edit', budgetId, version: 2, details: null, when: 1 };
  const detailsCleared = await one(api, 'alice', noRecordId);
  t.match(detailsCleared, { recordId: budgetId, sequence: 12, version: 3, record: { title: 'Home' } });
  t.equal(detailsCleared.record?.details, null, 'details: null clears the details');

  const expDeleted = await one(api, 'alice', ev.del('expense.delete', budgetId, exp.recordId, 3));
  t.match(expDeleted, { status: 'accepted', sequence: 13, version: 4 }, 'a delete increments the version too');
  t.equal(expDeleted.record, null, 'a delete answers record: null');

  const catDeleted = await one(api, 'alice', ev.del('category.delete', budgetId, cat2.recordId, 1));
  t.match(catDeleted, { status: 'accepted', sequence: 14, version: 2 });
  t.equal(catDeleted.record, null);

  const budgetDeleted = await one(api, 'alice', ev.del('budget.delete', budgetId, budgetId, 3));
  t.match(budgetDeleted, { status: 'accepted', sequence: 15, version: 4, recordId: budgetId });
  t.equal(budgetDeleted.record, null);

  // The stream (read from the log, here through SQL as the budget is now gone) holds each change as answered.
  const rows = await ctx.sql<{ sequence: number; event_type: string; version: number | null; record: unknown; actor_id: string }[]>`
    SELECT sequence, event_type, version, record, actor_id FROM events WHERE budget_id = ${budgetId} ORDER BY sequence`;
  t.same(
    rows.map((r) => r.sequence),
    [...Array(15).keys()].map((i) => i + 1),
    'sequences 1..15 without gaps',
  );
  t.same(
    rows.slice(2).map((r) => r.event_type),
    [
      'category.add',
      'category.add',
      'category.edit',
      'category.edit',
      'expense.add',
      'expense.add',
      'expense.edit',
      'expense.edit',
      'budget.edit',
      'budget.edit',
      'expense.delete',
      'category.delete',
      'budget.delete',
    ],
  );
  t.same(rows[9]?.record, cleared.record, 'the log holds the record the push answered');
  t.ok(rows.every((r) => r.actor_id === 'alice'));
  const [head] = await ctx.sql<{ last_sequence: number }[]>`SELECT last_sequence FROM budgets WHERE id = ${budgetId}`;
  t.equal(head?.last_sequence, 15, 'the budget head is the last sequence');
  t.equal((await api.req('GET', `/budgets/${budgetId}`, 'alice')).statusCode, 404, 'the deleted budget is gone');
});

t.test("the stream carries each accepted change with its full stream-event shape, the device's own changes included", async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('sam');
  await api.addMembers(budgetId, 'sam', 'tom');
  const cat = ev.categoryAdd(budgetId, { when: 1774718381798 });
  const [r] = await api.push('sam', [cat]);
  for (const reader of ['sam', 'tom']) {
    const events = await fullStream(api, reader, budgetId);
    t.same(
      events.map((e) => e.eventType),
      ['budget.create', 'participant.add', 'participant.add', 'category.add'],
      `${reader} sees everything`,
    );
    const last = events.at(-1);
    t.same(
      keys(last),
      ['sequence', 'eventId', 'eventType', 'budgetId', 'recordId', 'actorId', 'when', 'serverTime', 'version', 'record'].sort(),
    );
    t.match(last, {
      sequence: 4,
      eventId: cat.eventId,
      eventType: 'category.add',
      budgetId,
      recordId: cat.recordId,
      actorId: 'sam',
      when: 1774718381798,
      version: 1,
    });
    t.same(last?.record, r?.record);
    t.ok(
      typeof last?.serverTime === 'number' && Math.abs((last?.serverTime ?? 0) - Date.now()) < 60_000,
      'serverTime is the server clock, not `when`',
    );
  }
});

t.test('a stale version is a conflict with the server record; a deleted record is RECORD_DELETED with record null', async (t) => {
  const { api } = ctx;
  const { budgetId, categoryId, expenseId } = await seeded(api, 'carol');
  await one(api, 'carol', ev.edit('category.edit', budgetId, categoryId, 1, { name: 'Food & drink' }));
  await one(api, 'carol', ev.edit('expense.edit', budgetId, expenseId, 1, { amount: '11' }));
  await one(api, 'carol', ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'v2' }));
  const before = await writeState(ctx.sql);

  const stale = await api.push(
    'carol',
    [
      ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'stale' }),
      ev.del('budget.delete', budgetId, budgetId, 1),
      ev.edit('category.edit', budgetId, categoryId, 1, { name: 'stale' }),
      ev.del('category.delete', budgetId, categoryId, 3),
      ev.edit('expense.edit', budgetId, expenseId, 1, { note: 'stale' }),
      ev.del('expense.delete', budgetId, expenseId, 7),
    ],
    'independent',
  );
  t.same(
    stale.map((r) => [r.status, r.error?.code]),
    Array(6).fill(['conflict', 'VERSION_CONFLICT']),
  );
  t.match(stale[0]?.record, { id: budgetId, title: 'v2', version: 2 }, 'the server budget comes back');
  t.match(stale[1]?.record, { id: budgetId, title: 'v2', version: 2 });
  t.match(stale[2]?.record, { id: categoryId, name: 'Food & drink', version: 2 }, 'the server category comes back');
  t.match(stale[3]?.record, { id: categoryId, version: 2 });
  t.match(stale[4]?.record, { id: expenseId, amount: '11.00', version: 2 }, 'the server expense comes back');
  t.match(stale[5]?.record, { id: expenseId, version: 2 });
  t.ok(
    stale.every((r) => r.sequence === undefined && r.version === undefined),
    'a conflict carries no sequence or version',
  );
  t.same(await writeState(ctx.sql), before, 'nothing was written');

  await one(api, 'carol', ev.del('expense.delete', budgetId, expenseId, 2));
  await one(api, 'carol', ev.del('category.delete', budgetId, categoryId, 2));
  const gone = await api.push(
    'carol',
    [
      ev.edit('category.edit', budgetId, categoryId, 3, { name: 'x' }),
      ev.del('category.delete', budgetId, categoryId, 3),
      ev.edit('expense.edit', budgetId, expenseId, 3, { amount: '1' }),
      ev.del('expense.delete', budgetId, expenseId, 3),
      ev.edit('expense.edit', budgetId, expenseId, 1, { amount: '1' }),
    ],
    'independent',
  );
  t.same(
    gone.map((r) => [r.status, r.error?.code, r.record]),
    Array(5).fill(['conflict', 'RECORD_DELETED', null]),
    'deleted records answer RECORD_DELETED, whatever version was sent',
  );
});

t.test('events that refer to something that is not there are rejected with a precise code', async (t) => {
  const { api } = ctx;
  const a = await seeded(api, 'dave');
  const b = await seeded(api, 'dave'); // dave is in both budgets: still no cross-budget writes
  const deletedCat = ev.categoryAdd(a.budgetId);
  await api.push('dave', [deletedCat, ev.del('category.delete', a.budgetId, deletedCat.recordId, 1)]);
  const before = await writeState(ctx.sql);
  const bBefore = (await api.req('GET', `/budgets/${b.budgetId}/snapshot`, 'dave')).json();

  const cases: [string, unknown, string][] = [
    ['category.edit of a never-existing id', ev.edit('category.edit', a.budgetId, uuid(), 1, { name: 'x' }), 'NOT_FOUND'],
    ['category.delete of a never-existing id', ev.del('category.delete', a.budgetId, uuid(), 1), 'NOT_FOUND'],
    ['expense.edit of a never-existing id', ev.edit('expense.edit', a.budgetId, uuid(), 1, { amount: '1' }), 'NOT_FOUND'],
    ['expense.delete of a never-existing id', ev.del('expense.delete', a.budgetId, uuid(), 1), 'NOT_FOUND'],
    [
      "category.edit of budget B's category through budget A",
      ev.edit('category.edit', a.budgetId, b.categoryId, 1, { name: 'hijack' }),
      'NOT_FOUND',
    ],
    ["category.delete of budget B's category through budget A", ev.del('category.delete', a.budgetId, b.categoryId, 1), 'NOT_FOUND'],
    [
      "expense.edit of budget B's expense through budget A",
      ev.edit('expense.edit', a.budgetId, b.expenseId, 1, { amount: '999' }),
      'NOT_FOUND',
    ],
    ["expense.delete of budget B's expense through budget A", ev.del('expense.delete', a.budgetId, b.expenseId, 1), 'NOT_FOUND'],
    ["an expense in budget A with budget B's category", ev.expenseAdd(a.budgetId, b.categoryId), 'CATEGORY_NOT_FOUND'],
    ['an expense with a deleted category', ev.expenseAdd(a.budgetId, deletedCat.recordId), 'CATEGORY_NOT_FOUND'],
    ['an expense with a never-existing category', ev.expenseAdd(a.budgetId, uuid()), 'CATEGORY_NOT_FOUND'],
    [
      "an expense moved to budget B's category",
      ev.edit('expense.edit', a.budgetId, a.expenseId, 1, { categoryId: b.categoryId }),
      'CATEGORY_NOT_FOUND',
    ],
    [
      'an expense moved to a deleted category',
      ev.edit('expense.edit', a.budgetId, a.expenseId, 1, { categoryId: deletedCat.recordId }),
      'CATEGORY_NOT_FOUND',
    ],
    ['a category.add with an existing id', ev.categoryAdd(a.budgetId, { recordId: a.categoryId }), 'RECORD_EXISTS'],
    ["a category.add with budget B's category id", ev.categoryAdd(a.budgetId, { recordId: b.categoryId }), 'RECORD_EXISTS'],
    ['a category.add reusing a deleted category id', ev.categoryAdd(a.budgetId, { recordId: deletedCat.recordId }), 'RECORD_EXISTS'],
    ['an expense.add with an existing id', ev.expenseAdd(a.budgetId, a.categoryId, { recordId: a.expenseId }), 'RECORD_EXISTS'],
    ["an expense.add with budget B's expense id", ev.expenseAdd(a.budgetId, a.categoryId, { recordId: b.expenseId }), 'RECORD_EXISTS'],
    ['any event in a budget that never existed', ev.categoryAdd(uuid()), 'BUDGET_NOT_FOUND'],
    [
      'a budget event whose recordId is not its budgetId',
      ev.edit('budget.edit', a.budgetId, uuid(), 1, { title: 'x' }),
      'VALIDATION_FAILED',
    ],
  ];
  const results = await api.push(
    'dave',
    cases.map(([, e]) => e),
    'independent',
  );
  cases.forEach(([name, , code], i) => {
    t.match(results[i], { status: 'rejected', error: { code } }, name);
    t.equal(results[i]?.record, undefined, `${name}: a rejection carries no record`);
  });
  t.same(await writeState(ctx.sql), before, 'nothing was written');
  t.same((await api.req('GET', `/budgets/${b.budgetId}/snapshot`, 'dave')).json(), bBefore, 'budget B is unchanged');

  const unknown = uuid();
  t.match(await one(api, 'dave', ev.edit('budget.edit', unknown, unknown, 1, { title: 'x' })), {
    status: 'rejected',
    error: { code: 'BUDGET_NOT_FOUND' },
  });
});

t.test('only the owner deletes a budget; after that every event in it is BUDGET_NOT_FOUND', async (t) => {
  const { api } = ctx;
  const { budgetId, categoryId, expenseId } = await seeded(api, 'erin');
  await api.addMembers(budgetId, 'erin', 'frank');
  const byMember = await one(api, 'frank', ev.del('budget.delete', budgetId, budgetId, 1));
  t.match(byMember, { status: 'rejected', error: { code: 'NOT_OWNER' } });
  t.equal(byMember.record, undefined, 'NOT_OWNER does not leak the record');
  t.match(
    await one(api, 'frank', ev.del('budget.delete', budgetId, budgetId, 99)),
    { status: 'rejected', error: { code: 'NOT_OWNER' } },
    'NOT_OWNER comes before the version check',
  );
  t.match(await one(api, 'frank', ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'members may edit' })), {
    status: 'accepted',
    version: 2,
  });

  const del = ev.del('budget.delete', budgetId, budgetId, 2);
  t.match(await one(api, 'erin', del), { status: 'accepted', version: 3, record: null });
  const after = await api.push(
    'erin',
    [
      ev.edit('budget.edit', budgetId, budgetId, 3, { title: 'x' }),
      ev.del('budget.delete', budgetId, budgetId, 3),
      ev.categoryAdd(budgetId),
      ev.edit('category.edit', budgetId, categoryId, 1, { name: 'x' }),
      ev.expenseAdd(budgetId, categoryId),
      ev.del('expense.delete', budgetId, expenseId, 1),
    ],
    'independent',
  );
  t.same(
    after.map((r) => [r.status, r.error?.code]),
    Array(6).fill(['rejected', 'BUDGET_NOT_FOUND']),
  );
  t.match(
    await one(api, 'erin', del),
    { status: 'duplicate', sequence: 7, version: 3, record: null },
    'a retried delete is a duplicate, not an error',
  );
});

t.test('stopOnError skips everything after the first conflict or rejection and keeps what came before', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('mia');
  const cat = ev.categoryAdd(budgetId);
  await api.push('mia', [cat]);
  const batch = () => [
    ev.expenseAdd(budgetId, cat.recordId, { amount: '1' }),
    ev.expenseAdd(budgetId, cat.recordId, { amount: '2' }),
    ev.edit('category.edit', budgetId, cat.recordId, 9, { name: 'stale' }),
    ev.expenseAdd(budgetId, cat.recordId, { amount: '3' }),
    ev.categoryAdd(budgetId),
  ];
  const stop = await api.push('mia', batch()); // stopOnError is the default
  t.same(
    stop.map((r) => r.status),
    ['accepted', 'accepted', 'conflict', 'skipped', 'skipped'],
  );
  t.same(
    stop.map((r) => r.sequence),
    [4, 5, undefined, undefined, undefined],
  );
  const stream = await api.stream('mia', budgetId);
  t.same(
    stream.events.map((e) => e.sequence),
    [1, 2, 3, 4, 5],
    'the events before the conflict are committed, nothing after',
  );

  const indep = await api.push('mia', batch(), 'independent');
  t.same(
    indep.map((r) => r.status),
    ['accepted', 'accepted', 'conflict', 'accepted', 'accepted'],
  );
  t.same(
    indep.map((r) => r.sequence),
    [6, 7, undefined, 8, 9],
    'independent results keep gap-free sequences',
  );

  // An invalid event stops the batch like any rejection...
  const invalid = await api.push('mia', [
    ev.categoryAdd(budgetId),
    ev.categoryAdd(budgetId, { allocate: 'lots' }),
    ev.categoryAdd(budgetId),
  ]);
  t.same(
    invalid.map((r) => [r.status, r.error?.code]),
    [
      ['accepted', undefined],
      ['rejected', 'VALIDATION_FAILED'],
      ['skipped', undefined],
    ],
  );
  t.ok(Array.isArray((invalid[1]?.error as { details?: unknown })?.details), 'a validation rejection lists its details');
  // ...and after an earlier conflict it is skipped like anything else.
  const afterConflict = await api.push('mia', [
    ev.edit('category.edit', budgetId, cat.recordId, 9, { name: 'stale' }),
    ev.categoryAdd(budgetId, { allocate: 'lots' }),
    ev.categoryAdd(budgetId),
  ]);
  t.same(
    afterConflict.map((r) => r.status),
    ['conflict', 'skipped', 'skipped'],
    'only the first failure is reported in stopOnError',
  );
  const indepInvalid = await api.push('mia', [ev.categoryAdd(budgetId, { allocate: 'lots' }), ev.categoryAdd(budgetId)], 'independent');
  t.same(
    indepInvalid.map((r) => r.status),
    ['rejected', 'accepted'],
  );
  t.equal((await api.stream('mia', budgetId)).nextKey, 11);
});

t.test('category.delete deletes its live expenses, and the stream event lists them in cascade.expenseIds', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('nina');
  const food = ev.categoryAdd(budgetId, { name: 'Food' });
  const rent = ev.categoryAdd(budgetId, { name: 'Rent' });
  const e1 = ev.expenseAdd(budgetId, food.recordId);
  const e2 = ev.expenseAdd(budgetId, food.recordId);
  const e3 = ev.expenseAdd(budgetId, food.recordId);
  const other = ev.expenseAdd(budgetId, rent.recordId);
  await api.push('nina', [food, rent, e1, e2, e3, other, ev.del('expense.delete', budgetId, e3.recordId, 1)]);

  const [del] = await api.push('nina', [ev.del('category.delete', budgetId, food.recordId, 1)]);
  t.match(del, { status: 'accepted', version: 2, record: null });
  const last = (await fullStream(api, 'nina', budgetId)).at(-1);
  t.equal(last?.eventType, 'category.delete');
  t.same(
    last?.cascade,
    { expenseIds: [e1.recordId, e2.recordId].sort() },
    'the live expenses of the category, not the already-deleted one',
  );
  const left = json<{ expenses: { id: string }[] }>(await api.req('GET', `/budgets/${budgetId}/expenses`, 'nina'));
  t.same(
    left.expenses.map((e) => e.id),
    [other.recordId],
    "only the other category's expense is left",
  );
  t.match(await one(api, 'nina', ev.edit('expense.edit', budgetId, e1.recordId, 1, { amount: '5' })), {
    status: 'conflict',
    error: { code: 'RECORD_DELETED' },
    record: null,
  });
  const [rowE1] = await ctx.sql<{ version: number }[]>`SELECT version FROM expenses WHERE id = ${e1.recordId}`;
  t.equal(rowE1?.version, 2, 'a cascaded expense got a new version too');
  const plain = (await fullStream(api, 'nina', budgetId)).filter((e) => e.eventType !== 'category.delete');
  t.ok(
    plain.every((e) => e.cascade === undefined),
    'no other event carries cascade',
  );
});

t.test('money is exact: many small amounts sum without rounding, the largest amount round-trips', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('olga');
  const cat = ev.categoryAdd(budgetId, { allocate: '30' });
  await api.push('olga', [cat]);
  for (let b = 0; b < 8; b++) {
    const rs = await api.push(
      'olga',
      Array.from({ length: 25 }, (_, i) => ev.expenseAdd(budgetId, cat.recordId, { amount: (b * 25 + i) % 2 ? '0.2' : '0.1' })),
    );
    t.ok(rs.every((r) => r.status === 'accepted'));
  }
  const summary = json<{ totals: { spent: string; remaining: string; count: number }; categories: { spent: string }[] }>(
    await api.req('GET', `/budgets/${budgetId}/summary`, 'olga'),
  );
  t.same(summary.totals, { allocate: '30.00', spent: '30.00', remaining: '0.00', count: 200 }, '100 × 0.10 + 100 × 0.20 is exactly 30.00');
  const big = await one(api, 'olga', ev.expenseAdd(budgetId, cat.recordId, { amount: '9999999999.99' }));
  t.equal(big.record?.amount, '9999999999.99');
  const small = await one(api, 'olga', ev.expenseAdd(budgetId, cat.recordId, { amount: '0.5' }));
  t.equal(small.record?.amount, '0.50');
  t.equal(
    (await one(api, 'olga', ev.expenseAdd(budgetId, cat.recordId, { amount: '007.1' }))).record?.amount,
    '7.10',
    'leading zeros are dropped',
  );
});

t.test("the original service's `event` field is an alias of eventType", async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('pete');
  const aliased = ev.categoryAdd(budgetId) as Record<string, unknown>;
  aliased.event = aliased.eventType;
  delete aliased.eventType;
  const r = await one(api, 'pete', aliased);
  t.match(r, { status: 'accepted', eventType: 'category.add' });
  const both = { ...ev.categoryAdd(budgetId), event: 'category.add' };
  t.match(await one(api, 'pete', both), { status: 'accepted' }, 'both fields, equal, are fine');
  const differ = { ...ev.categoryAdd(budgetId), event: 'category.edit' };
  t.match(
    await one(api, 'pete', differ),
    { status: 'rejected', error: { code: 'VALIDATION_FAILED' } },
    'both fields, different, are refused',
  );
});

t.test('uppercase UUIDs are accepted and come back lowercase', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('quin');
  const cat = ev.categoryAdd(budgetId);
  const upper = { ...cat, eventId: cat.eventId.toUpperCase(), budgetId: budgetId.toUpperCase(), recordId: cat.recordId.toUpperCase() };
  const [r] = await api.push('quin', [upper]);
  t.match(r, { status: 'accepted', eventId: cat.eventId, budgetId, recordId: cat.recordId, record: { id: cat.recordId, budgetId } });
  const exp = ev.expenseAdd(budgetId.toUpperCase(), cat.recordId.toUpperCase());
  const [e] = await api.push('quin', [exp]);
  t.match(e, { status: 'accepted', budgetId, record: { categoryId: cat.recordId, budgetId } });
  t.match(await one(api, 'quin', ev.edit('category.edit', budgetId, cat.recordId.toUpperCase(), 1, { name: 'Upper' })), {
    status: 'accepted',
    version: 2,
  });
  const read = await api.req('GET', `/budgets/${budgetId.toUpperCase()}/categories/${cat.recordId.toUpperCase()}`, 'quin');
  t.equal(read.statusCode, 200);
  t.equal(json<{ category: { id: string } }>(read).category.id, cat.recordId);
  const stream = await api.stream('quin', budgetId.toUpperCase());
  t.ok(
    stream.events.every((x) => x.eventId === x.eventId.toLowerCase() && x.recordId === x.recordId.toLowerCase()),
    'the stream is lowercase',
  );
});

t.test('one batch may span budgets: each budget gets its own gap-free sequences, and authorization is per budget', async (t) => {
  const { api } = ctx;
  const a = await api.createBudget('rita');
  const b = await api.createBudget('rita');
  const foreign = await api.createBudget('sven');
  const ca = ev.categoryAdd(a);
  const cb = ev.categoryAdd(b);
  const rs = await api.push(
    'rita',
    [ca, cb, ev.expenseAdd(b, cb.recordId), ev.expenseAdd(a, ca.recordId), ev.categoryAdd(foreign), ev.categoryAdd(a)],
    'independent',
  );
  t.same(
    rs.map((r) => [r.budgetId, r.status, r.sequence]),
    [
      [a, 'accepted', 3],
      [b, 'accepted', 3],
      [b, 'accepted', 4],
      [a, 'accepted', 4],
      [foreign, 'rejected', undefined],
      [a, 'accepted', 5],
    ],
  );
  t.equal(rs[4]?.error?.code, 'NOT_PARTICIPANT');
  t.same(
    (await api.stream('rita', a)).events.map((e) => e.sequence),
    [1, 2, 3, 4, 5],
  );
  t.same(
    (await api.stream('rita', b)).events.map((e) => e.sequence),
    [1, 2, 3, 4],
  );
  t.same(
    (await api.stream('sven', foreign)).events.map((e) => e.sequence),
    [1, 2],
    'nothing reached the foreign budget',
  );
});
