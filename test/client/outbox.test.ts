/**
 * The client's outbox without a server: optimistic edits, what accepted, conflict and rejected
 * results do to the local layer and to dependent events, and how pushes are batched.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { MAX_BATCH } from '../../packages/client/src/outbox.js';
import type { QueuedEvent } from '../../packages/client/src/types.js';
import { ME, budget, category, edit, expense, participant, result, snapshot, streamEvent } from './fixtures/records.js';
import { replica as replicaOf } from './fixtures/replica.js';

const replica = () => replicaOf(ME);

t.test('outbox: optimistic edit, accepted → kept until the stream passes it, no flicker', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const c = category(b, randomUUID());
  await inbox.bootstrap(snapshot(b, 3, { categories: [c] }));
  const e1 = edit(b, 'category.edit', c.id, { version: 1, name: 'Groceries' });
  const e2 = edit(b, 'category.edit', c.id, { version: 2, allocate: '20.00' });
  await outbox.enqueue(e1);
  await outbox.enqueue(e2);
  t.match(await store.get('local', 'category', b, c.id), { name: 'Groceries', allocate: '20.00', version: 3 }, 'both shown at once');
  t.match(await store.get('server', 'category', b, c.id), { name: 'Food', version: 1 }, 'the server layer waits for the stream');

  const batch = await outbox.nextBatch();
  t.equal(batch?.kind === 'events' && batch.entries.length, 2);
  const after1 = { ...c, name: 'Groceries', version: 2 };
  const after2 = { ...after1, allocate: '20.00', version: 3 };
  const s = await outbox.settle(batch?.kind === 'events' ? batch.entries : [], [
    result(e1, 'accepted', { sequence: 4, version: 2, record: after1 }),
    result(e2, 'duplicate', { sequence: 5, version: 3, record: after2 }),
  ]);
  t.same(
    s.confirmed.map((x) => [x.status, x.sequence]),
    [
      ['accepted', 4],
      ['duplicate', 5],
    ],
  );
  t.same((await outbox.unsent()).length, 0, 'nothing left to send');
  t.same(
    (await store.outbox()).map((e) => e.acceptedSequence),
    [4, 5],
    'confirmed entries wait for the stream',
  );
  t.match(await store.get('local', 'category', b, c.id), { name: 'Groceries', allocate: '20.00', version: 3 }, 'still shown');

  await inbox.apply(b, [streamEvent(b, 4, 'category.edit', c.id, after1, { eventId: e1.eventId })]);
  t.same(
    (await store.outbox()).map((e) => e.event.eventId),
    [e2.eventId],
    'the stream confirmed the first',
  );
  t.match(
    await store.get('local', 'category', b, c.id),
    { name: 'Groceries', allocate: '20.00', version: 3 },
    'the second is still on top: no flicker',
  );
  await inbox.apply(b, [streamEvent(b, 5, 'category.edit', c.id, after2, { eventId: e2.eventId })]);
  t.same(await store.outbox(), []);
  t.same(await store.get('local', 'category', b, c.id), after2);
});

t.test('outbox: an event the stream brings is confirmed even when its push answer was lost', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  await inbox.bootstrap(snapshot(b, 2));
  const add = edit(b, 'category.add', randomUUID(), { name: 'Food', allocate: '10.00' });
  await outbox.enqueue(add);
  t.match(await store.get('local', 'category', b, add.recordId), { name: 'Food', version: 1, createdBy: ME });
  await inbox.apply(b, [
    streamEvent(b, 3, 'category.add', add.recordId, category(b, add.recordId, { createdAt: 99 }), { eventId: add.eventId }),
  ]);
  t.same(await store.outbox(), []);
  t.match(await store.get('local', 'category', b, add.recordId), { createdAt: 99 }, 'the server copy replaces the optimistic one');
  // A late answer for an entry that is gone is ignored.
  const s = await outbox.settle([{ seq: 1, event: add }], [result(add, 'accepted', { sequence: 3 })]);
  t.same(s.confirmed, []);
});

t.test('outbox: conflict → the server record shows, the event and its dependents are dropped', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const c = category(b, randomUUID());
  const other = category(b, randomUUID(), { name: 'Other' });
  await inbox.bootstrap(snapshot(b, 4, { categories: [c, other] }));
  const e1 = edit(b, 'category.edit', c.id, { version: 1, name: 'Mine' });
  const e2 = edit(b, 'category.edit', other.id, { version: 1, name: 'Other2' });
  const e3 = edit(b, 'category.edit', c.id, { version: 2, allocate: '99.00' });
  for (const e of [e1, e2, e3]) await outbox.enqueue(e);
  const theirs = { ...c, name: 'Theirs', version: 3 };
  const batch = await outbox.nextBatch();
  const s = await outbox.settle(batch?.kind === 'events' ? batch.entries : [], [
    result(e1, 'conflict', { error: { code: 'VERSION_CONFLICT', message: 'version' }, record: theirs }),
    result(e2, 'skipped'),
    result(e3, 'skipped'),
  ]);
  t.same(
    s.conflicts.map((x) => [x.event.eventId, x.code, x.cause]),
    [
      [e1.eventId, 'VERSION_CONFLICT', undefined],
      [e3.eventId, 'VERSION_CONFLICT', e1.eventId],
    ],
  );
  t.same(
    s.retry.map((e) => e.eventId),
    [e2.eventId],
    'skipped stays for the next push',
  );
  t.same(
    (await store.outbox()).map((e) => e.event.eventId),
    [e2.eventId],
  );
  t.same(await store.get('local', 'category', b, c.id), theirs, 'the server record shows at once');
  t.equal((await store.get('server', 'category', b, c.id))?.version, 1);

  // The stream then brings the versions in between: the newer hint keeps showing until it is reached.
  await inbox.apply(b, [streamEvent(b, 5, 'category.edit', c.id, { ...c, name: 'Mid', version: 2 })]);
  t.same(await store.get('local', 'category', b, c.id), theirs, 'no step back to an older version');
  await inbox.apply(b, [streamEvent(b, 6, 'category.edit', c.id, theirs)]);
  t.same(await store.get('local', 'category', b, c.id), theirs);
  await inbox.apply(b, [streamEvent(b, 7, 'category.edit', c.id, { ...theirs, name: 'Newest', version: 4 })]);
  t.equal((await store.get('local', 'category', b, c.id))?.name, 'Newest', 'the hint is gone once reached');

  // RECORD_DELETED: deleted here at once, even before the stream brings the delete.
  const e4 = edit(b, 'category.edit', other.id, { version: 1, name: 'x' });
  await store.removeOutbox([e2.eventId]);
  await outbox.enqueue(e4);
  const s2 = await outbox.settle(
    [{ seq: 9, event: e4 }],
    [result(e4, 'conflict', { error: { code: 'RECORD_DELETED', message: 'gone' }, record: null })],
  );
  t.same(
    s2.conflicts.map((x) => [x.code, x.record]),
    [['RECORD_DELETED', null]],
  );
  t.equal(await store.get('local', 'category', b, other.id), undefined);
  await inbox.apply(b, [streamEvent(b, 8, 'category.edit', other.id, { ...other, version: 2 })]);
  t.equal(await store.get('local', 'category', b, other.id), undefined, 'an older edit from the stream does not bring it back');
  await inbox.apply(b, [streamEvent(b, 9, 'category.delete', other.id, null, { cascade: { expenseIds: [] } })]);
  t.equal(await store.get('local', 'category', b, other.id), undefined);
});

t.test('outbox: rejected → dropped and reported with its dependents; the local layer goes back', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const c = category(b, randomUUID());
  const x = expense(b, c.id, randomUUID());
  await inbox.bootstrap(snapshot(b, 3, { categories: [c], expenses: [x] }));

  const del = edit(b, 'budget.delete', b, { version: 1 });
  await outbox.enqueue(del);
  t.equal(await store.get('local', 'budget', b, b), undefined, 'a pending budget delete hides the budget');
  t.same(await store.list('local', 'expense', b), [], '… and everything in it');
  const s = await outbox.settle(
    [{ seq: 1, event: del }],
    [result(del, 'rejected', { error: { code: 'NOT_OWNER', message: 'owner only' } })],
  );
  t.same(
    s.rejected.map((r) => r.error.code),
    ['NOT_OWNER'],
  );
  t.ok(await store.get('local', 'budget', b, b), 'back after the rejection');
  t.same((await store.list('local', 'expense', b)).length, 1);

  const add = edit(b, 'expense.add', randomUUID(), { categoryId: randomUUID(), date: '2025-01-01', amount: '1.00' });
  const fix = edit(b, 'expense.edit', add.recordId, { version: 1, amount: '2.00' });
  const catDel = edit(b, 'category.delete', c.id, { version: 1 });
  for (const e of [add, fix, catDel]) await outbox.enqueue(e);
  t.same(
    (await store.list('local', 'expense', b)).map((e) => e.id),
    [add.recordId],
    'a pending category delete hides its expenses',
  );
  const s2 = await outbox.settle(await store.outbox(), [
    result(add, 'rejected', { error: { code: 'CATEGORY_NOT_FOUND', message: 'no' } }),
    result(fix, 'skipped'),
    result(catDel, 'skipped'),
  ]);
  t.same(
    s2.rejected.map((r) => [r.event.eventId, r.cause]),
    [
      [add.eventId, undefined],
      [fix.eventId, add.eventId],
    ],
  );
  t.same(
    (await store.outbox()).map((e) => e.event.eventId),
    [catDel.eventId],
  );
  t.same(await store.list('local', 'expense', b), []);
  const s3 = await outbox.settle(await store.outbox(), [result(catDel, 'rejected', { error: { code: 'NOT_PARTICIPANT', message: 'no' } })]);
  t.same(s3.suspectBudgets, [b], 'NOT_PARTICIPANT makes the client check its access');
  t.same(
    (await store.list('local', 'expense', b)).map((e) => e.id),
    [x.id],
  );
});

t.test('outbox: batches of at most 25, a budget.create goes alone and first', async (t) => {
  const { store, outbox, inbox } = replica();
  const b = randomUUID();
  const create: QueuedEvent = { eventId: randomUUID(), eventType: 'budget.create', budgetId: b, recordId: b, when: 1, title: 'New' };
  await outbox.enqueue(create);
  t.match(await store.get('local', 'budget', b, b), { title: 'New', ownerId: ME, version: 1 }, 'shown before it is sent');
  t.match(await store.get('local', 'participant', b, ME), { role: 'owner' });
  const adds = Array.from({ length: 30 }, (_, i) => edit(b, 'category.add', randomUUID(), { name: `c${i}`, allocate: '1.00' }));
  for (const e of adds) await outbox.enqueue(e);
  t.same(
    (await store.outbox()).map((e) => e.seq),
    Array.from({ length: 31 }, (_, i) => i + 1),
  );
  const first = await outbox.nextBatch();
  t.equal(first?.kind, 'create');
  const s = await outbox.settleCreate((await store.outbox())[0]!, {
    budget: budget(b, { title: 'New', createdAt: 7 }),
    participant: participant(b, ME, 'owner'),
    sequence: 2,
  });
  t.same(s.createdBudgets, [b]);
  t.equal(await store.getCursor(b), 2, 'the answer of POST /budget is the state at sequence 2');
  const second = await outbox.nextBatch();
  t.equal(second?.kind === 'events' && second.entries.length, MAX_BATCH);
  const small = await outbox.nextBatch(10);
  t.equal(small?.kind === 'events' && small.entries.length, 10, 'a smaller batch size is honoured');
  await outbox.settle(
    second?.kind === 'events' ? second.entries : [],
    adds.slice(0, 25).map((e, i) => result(e, 'accepted', { sequence: 3 + i })),
  );
  const third = await outbox.nextBatch();
  t.equal(third?.kind === 'events' && third.entries.length, 5);

  // A create the server refuses takes the budget's later events and (never synced) local data along.
  const b2 = randomUUID();
  const create2: QueuedEvent = { eventId: randomUUID(), eventType: 'budget.create', budgetId: b2, recordId: b2, when: 1, title: 'Taken' };
  await outbox.enqueue(create2);
  const dep = edit(b2, 'category.add', randomUUID(), { name: 'x', allocate: '1.00' });
  await outbox.enqueue(dep);
  const entry = (await store.outbox()).find((e) => e.event.eventId === create2.eventId)!;
  const r = await outbox.rejectCreate(entry, { code: 'BUDGET_EXISTS', message: 'exists' });
  t.equal(r.dropLocal, true);
  t.same(
    r.rejected.map((x) => [x.event.eventId, x.cause]),
    [
      [create2.eventId, undefined],
      [dep.eventId, create2.eventId],
    ],
  );
  await inbox.drop(b2);
  t.notOk((await store.budgetIds()).includes(b2));
});
