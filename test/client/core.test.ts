/**
 * The client's state machine without a server: store, view (optimistic layer), outbox rules and
 * inbox ordering, driven by hand-made results and stream events.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Backoff, sleep } from '../../src/client/backoff.js';
import { TypedEmitter } from '../../src/client/emitter.js';
import { MAX_BATCH } from '../../src/client/outbox.js';
import { MemoryStore } from '../../src/client/store.js';
import { TokenSource, expiresAt } from '../../src/client/token.js';
import type { Budget, Category, Expense, OutboundEvent, Participant, PushResult, QueuedEvent, Snapshot, StreamEvent } from '../../src/client/types.js';
import * as check from '../../src/client/values.js';
import { token as devToken } from '../helpers/server.js';
import { replica as replicaOf } from './fixtures/replica.js';

const ME = 'me';
const OTHER = 'other';

const replica = () => replicaOf(ME);

const budget = (id: string, over: Partial<Budget> = {}): Budget => ({
  id, title: 'B', details: null, ownerId: ME, createdBy: ME, version: 1, createdAt: 1, updatedAt: 1, ...over,
});
const category = (budgetId: string, id: string, over: Partial<Category> = {}): Category => ({
  id, budgetId, name: 'Food', allocate: '10.00', createdBy: ME, version: 1, createdAt: 1, updatedAt: 1, ...over,
});
const expense = (budgetId: string, categoryId: string, id: string, over: Partial<Expense> = {}): Expense => ({
  id, budgetId, categoryId, date: '2025-01-01', amount: '1.00', note: null, createdBy: ME, version: 1, createdAt: 1, updatedAt: 1, ...over,
});
const participant = (budgetId: string, userId: string, role: 'owner' | 'member' = 'member'): Participant => ({
  userId, budgetId, role, joinedAt: 1, firstName: null, lastName: null, photo: null,
});

function snapshot(budgetId: string, lastSequence: number, parts: Partial<Snapshot> = {}): Snapshot {
  return { budget: budget(budgetId), participants: [participant(budgetId, ME, 'owner')], categories: [], expenses: [], lastSequence, ...parts };
}

function streamEvent(budgetId: string, sequence: number, eventType: StreamEvent['eventType'], recordId: string, record: StreamEvent['record'], over: Partial<StreamEvent> = {}): StreamEvent {
  return {
    sequence, eventId: randomUUID(), eventType, budgetId, recordId, actorId: OTHER, when: 1, serverTime: 1,
    version: record && 'version' in record ? record.version : null, record, ...over,
  };
}

function edit(budgetId: string, eventType: OutboundEvent['eventType'], recordId: string, fields: Partial<OutboundEvent>): OutboundEvent {
  return { eventId: randomUUID(), eventType, budgetId, recordId, when: 5, ...fields };
}

const result = (e: QueuedEvent, status: PushResult['status'], over: Partial<PushResult> = {}): PushResult => ({
  eventId: e.eventId, eventType: e.eventType, budgetId: e.budgetId, recordId: e.recordId, status, ...over,
});

t.test('MemoryStore: layers, copies, outbox, and rollback of a failed transaction', async (t) => {
  const store = new MemoryStore();
  const b = randomUUID();
  const c = category(b, randomUUID());
  await store.put('server', 'category', c);
  c.name = 'mutated by the caller';
  t.equal((await store.get('server', 'category', b, c.id))?.name, 'Food', 'the store keeps its own copy');
  t.equal(await store.get('local', 'category', b, c.id), undefined, 'layers are separate');
  await store.put('server', 'budget', budget(b));
  await store.setCursor(b, 4);
  await store.saveOutbox({ seq: 1, event: edit(b, 'category.edit', c.id, { version: 1, name: 'x' }) });
  t.same(await store.budgetIds(), [b]);

  const before = { server: await store.list('server', 'category', b), cursor: await store.getCursor(b), outbox: await store.outbox() };
  await t.rejects(
    store.transaction(async () => {
      await store.put('server', 'category', { ...c, name: 'changed' });
      await store.remove('server', 'budget', b, b);
      await store.setCursor(b, 9);
      await store.saveOutbox({ seq: 2, event: edit(b, 'category.delete', c.id, { version: 1 }) });
      await store.removeOutbox([before.outbox[0]!.event.eventId]);
      await store.clearLayer('server', b);
      await store.put('local', 'budget', budget(randomUUID()));
      await store.dropBudget(b);
      throw new Error('boom');
    }),
    /boom/,
  );
  t.same(await store.list('server', 'category', b), before.server, 'records restored');
  t.ok(await store.get('server', 'budget', b, b), 'removed record restored');
  t.equal(await store.getCursor(b), 4, 'cursor restored');
  t.same(await store.outbox(), before.outbox, 'outbox restored');
  t.same(await store.budgetIds(), [b], 'no budget left behind by the failed transaction');

  await store.transaction(async () => store.dropBudget(b));
  t.same(await store.budgetIds(), []);
  t.same(await store.outbox(), [], 'dropping a budget drops its outbox entries');
});

t.test('Backoff: full jitter inside a doubling window, capped, reset; sleep stops on abort', async (t) => {
  const top = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
  t.same([1, 2, 3, 4, 5, 6].map(() => top.next()), [99, 199, 399, 799, 999, 999]);
  t.equal(top.attempts, 6);
  top.reset();
  t.equal(top.next(), 99);
  const any = new Backoff({ baseMs: 50, capMs: 400 });
  for (let i = 0; i < 50; i++) {
    const d = any.next();
    t.ok(d >= 0 && d < 400);
  }
  t.equal(new Backoff({ random: () => 0 }).next(), 0, 'full jitter reaches zero');
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 10);
  await sleep(10_000, ac.signal);
  t.ok(Date.now() - started < 1000);
  await sleep(10_000, ac.signal);
});

t.test('TokenSource: cached until near expiry, forced refresh, one call for concurrent callers', async (t) => {
  let calls = 0;
  const forced: boolean[] = [];
  let ttl = 3600;
  const source = new TokenSource(async ({ forceRefresh }) => {
    calls++;
    forced.push(forceRefresh);
    return devToken('alice', { ttlSeconds: ttl });
  }, 60_000);
  const [a, b] = await Promise.all([source.get(), source.get()]);
  t.equal(a, b);
  t.equal(calls, 1);
  await source.get();
  t.equal(calls, 1, 'cached');
  await source.refresh();
  t.equal(calls, 2);
  ttl = 30; // inside the margin: every get asks again
  await source.refresh();
  await source.get();
  t.equal(calls, 4);
  t.same(forced, [false, true, true, false]);
  t.equal(TokenSource.userId(a), 'alice');
  t.ok((expiresAt(a) ?? 0) > Date.now());
  t.equal(expiresAt('opaque-token'), undefined);
  t.equal(TokenSource.userId('a.%%%.c'), undefined);
  const opaque = new TokenSource(() => 'opaque');
  await opaque.get();
  t.equal(await opaque.get(), 'opaque', 'a token without exp is used until refused');
});

t.test('values: the server rules, checked before an edit is queued', async (t) => {
  t.equal(check.money('150', 'a'), '150.00');
  t.equal(check.money('007.5', 'a'), '7.50');
  for (const bad of ['1.234', '-1', '1e5', '', '12345678901']) t.throws(() => check.money(bad, 'amount'), TypeError);
  t.equal(check.date('2024-02-29', 'd'), '2024-02-29');
  for (const bad of ['2025-02-30', '2025-1-1', '0999-01-01']) t.throws(() => check.date(bad, 'date'), TypeError);
  t.equal(check.uuid('6414A1B2-0000-0000-0000-00000000000F', 'id'), '6414a1b2-0000-0000-0000-00000000000f');
  t.throws(() => check.uuid('nope', 'id'), TypeError);
  t.throws(() => check.text('', 'name', 10), TypeError);
  t.equal(check.text('', 'note', 10, 0), '');
  t.equal(check.jwtClaims('x.bm90IGpzb24.y'), undefined);
});

t.test('TypedEmitter: on, once, off, next; a throwing listener does not stop the others', async (t) => {
  const errors: unknown[] = [];
  class E extends TypedEmitter<{ a: number }> {
    fire(n: number) {
      this.emit('a', n);
    }
  }
  const e = new E((err) => errors.push(err));
  const seen: number[] = [];
  const off = e.on('a', (n) => seen.push(n));
  e.on('a', () => {
    throw new Error('listener');
  });
  e.once('a', (n) => seen.push(n * 10));
  const next = e.next('a');
  e.fire(1);
  off();
  e.fire(2);
  t.same(seen, [1, 10]);
  t.equal(await next, 1);
  t.equal(errors.length, 2);
});

t.test('inbox: strict order, re-delivery ignored, out-of-order buffered within a batch, gaps reported', async (t) => {
  const { store, inbox } = replica();
  const b = randomUUID();
  t.same(await inbox.apply(b, []), { status: 'unknown' }, 'a budget without a cursor is not applied to');
  await store.transaction(() => inbox.bootstrap(snapshot(b, 2)));
  const c = category(b, randomUUID());
  const e3 = streamEvent(b, 3, 'category.add', c.id, c);
  const e4 = streamEvent(b, 4, 'category.edit', c.id, { ...c, name: 'Rent', version: 2 });
  const e5 = streamEvent(b, 5, 'category.edit', c.id, { ...c, name: 'Fun', version: 3 });
  const r1 = await inbox.apply(b, [e4, e3]);
  t.match(r1, { status: 'applied', cursor: 4, applied: 2 });
  t.equal((await store.get('local', 'category', b, c.id))?.name, 'Rent');
  const r2 = await inbox.apply(b, [e3, e4]);
  t.match(r2, { status: 'applied', cursor: 4, applied: 0 }, 're-delivery changes nothing');
  const e7 = streamEvent(b, 7, 'category.edit', c.id, { ...c, name: 'Late', version: 5 });
  const r3 = await inbox.apply(b, [e7, e5]);
  t.match(r3, { status: 'applied', cursor: 5, applied: 1, gap: { after: 5, next: 7 } }, 'applies up to the gap and says where it is');
  t.equal(await store.getCursor(b), 5);
  t.equal((await store.get('server', 'category', b, c.id))?.name, 'Fun');
  const r4 = await inbox.apply(b, [e7]);
  t.match(r4, { status: 'applied', cursor: 5, applied: 0, gap: { after: 5, next: 7 } });
});

t.test('inbox: every event type, the cascade, ownership, and the end of a budget', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const food = category(b, randomUUID());
  const rent = category(b, randomUUID(), { name: 'Rent' });
  const x1 = expense(b, food.id, randomUUID());
  const x2 = expense(b, food.id, randomUUID());
  const x3 = expense(b, rent.id, randomUUID());
  await inbox.bootstrap(snapshot(b, 0, { participants: [] }));
  const events = [
    streamEvent(b, 1, 'budget.create', b, budget(b)),
    streamEvent(b, 2, 'participant.add', ME, participant(b, ME, 'owner'), { version: null }),
    streamEvent(b, 3, 'participant.add', OTHER, participant(b, OTHER), { version: null }),
    streamEvent(b, 4, 'category.add', food.id, food),
    streamEvent(b, 5, 'category.add', rent.id, rent),
    streamEvent(b, 6, 'expense.add', x1.id, x1),
    streamEvent(b, 7, 'expense.add', x2.id, x2),
    streamEvent(b, 8, 'expense.add', x3.id, x3),
    streamEvent(b, 9, 'expense.edit', x3.id, { ...x3, amount: '9.00', version: 2 }),
    streamEvent(b, 10, 'expense.delete', x3.id, null, { version: 3 }),
    streamEvent(b, 11, 'budget.edit', b, budget(b, { title: 'Home', version: 2 })),
    // x2 is not in the cascade list but belongs to the category: it goes too.
    streamEvent(b, 12, 'category.delete', food.id, null, { version: 2, cascade: { expenseIds: [x1.id] } }),
    streamEvent(b, 13, 'participant.role', OTHER, { ...participant(b, OTHER), role: 'owner' }, { version: null }),
    streamEvent(b, 14, 'participant.role', ME, participant(b, ME, 'member'), { version: null }),
  ];
  t.match(await inbox.apply(b, events), { status: 'applied', cursor: 14, applied: 14 });
  t.same((await store.list('local', 'category', b)).map((c) => c.name), ['Rent']);
  t.same(await store.list('local', 'expense', b), [], 'cascade applied');
  const local = await store.get('local', 'budget', b, b);
  t.match(local, { title: 'Home', version: 2, ownerId: OTHER }, 'the new owner is the budget owner');
  t.equal((await store.list('local', 'participant', b)).length, 2);

  // The owner removes another participant: nothing ends here.
  t.match(await inbox.apply(b, [streamEvent(b, 15, 'participant.add', 'third', participant(b, 'third'))]), { applied: 1 });
  t.match(await inbox.apply(b, [streamEvent(b, 16, 'participant.remove', 'third', null, { version: null })]), { applied: 1, cursor: 16 });

  // This user is removed: the budget ends here, its unsent events are reported as discarded.
  const pendingEdit = edit(b, 'category.edit', rent.id, { version: 1, name: 'Mine' });
  await outbox.enqueue(pendingEdit);
  const removed = await inbox.apply(b, [streamEvent(b, 17, 'participant.remove', ME, null, { version: null, actorId: OTHER })]);
  t.match(removed, { status: 'applied', cursor: 17, dropped: { reason: 'removed' } });
  t.same(removed.status === 'applied' ? removed.dropped?.discarded.map((e) => e.eventId) : null, [pendingEdit.eventId]);
  t.same(await store.budgetIds(), []);
  t.same(await store.outbox(), []);

  const b2 = randomUUID();
  await inbox.bootstrap(snapshot(b2, 2));
  t.match(await inbox.apply(b2, [streamEvent(b2, 3, 'participant.remove', ME, null, { actorId: ME })]), { dropped: { reason: 'left' } });
  const b3 = randomUUID();
  await inbox.bootstrap(snapshot(b3, 2));
  t.match(await inbox.apply(b3, [streamEvent(b3, 3, 'budget.delete', b3, null)]), { dropped: { reason: 'deleted' } });
});

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
  t.same(s.confirmed.map((x) => [x.status, x.sequence]), [['accepted', 4], ['duplicate', 5]]);
  t.same((await outbox.unsent()).length, 0, 'nothing left to send');
  t.same((await store.outbox()).map((e) => e.acceptedSequence), [4, 5], 'confirmed entries wait for the stream');
  t.match(await store.get('local', 'category', b, c.id), { name: 'Groceries', allocate: '20.00', version: 3 }, 'still shown');

  await inbox.apply(b, [streamEvent(b, 4, 'category.edit', c.id, after1, { eventId: e1.eventId })]);
  t.same((await store.outbox()).map((e) => e.event.eventId), [e2.eventId], 'the stream confirmed the first');
  t.match(await store.get('local', 'category', b, c.id), { name: 'Groceries', allocate: '20.00', version: 3 }, 'the second is still on top: no flicker');
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
  await inbox.apply(b, [streamEvent(b, 3, 'category.add', add.recordId, category(b, add.recordId, { createdAt: 99 }), { eventId: add.eventId })]);
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
  t.same(s.conflicts.map((x) => [x.event.eventId, x.code, x.cause]), [[e1.eventId, 'VERSION_CONFLICT', undefined], [e3.eventId, 'VERSION_CONFLICT', e1.eventId]]);
  t.same(s.retry.map((e) => e.eventId), [e2.eventId], 'skipped stays for the next push');
  t.same((await store.outbox()).map((e) => e.event.eventId), [e2.eventId]);
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
  const s2 = await outbox.settle([{ seq: 9, event: e4 }], [result(e4, 'conflict', { error: { code: 'RECORD_DELETED', message: 'gone' }, record: null })]);
  t.same(s2.conflicts.map((x) => [x.code, x.record]), [['RECORD_DELETED', null]]);
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
  const s = await outbox.settle([{ seq: 1, event: del }], [result(del, 'rejected', { error: { code: 'NOT_OWNER', message: 'owner only' } })]);
  t.same(s.rejected.map((r) => r.error.code), ['NOT_OWNER']);
  t.ok(await store.get('local', 'budget', b, b), 'back after the rejection');
  t.same((await store.list('local', 'expense', b)).length, 1);

  const add = edit(b, 'expense.add', randomUUID(), { categoryId: randomUUID(), date: '2025-01-01', amount: '1.00' });
  const fix = edit(b, 'expense.edit', add.recordId, { version: 1, amount: '2.00' });
  const catDel = edit(b, 'category.delete', c.id, { version: 1 });
  for (const e of [add, fix, catDel]) await outbox.enqueue(e);
  t.same((await store.list('local', 'expense', b)).map((e) => e.id), [add.recordId], 'a pending category delete hides its expenses');
  const s2 = await outbox.settle(
    (await store.outbox()),
    [result(add, 'rejected', { error: { code: 'CATEGORY_NOT_FOUND', message: 'no' } }), result(fix, 'skipped'), result(catDel, 'skipped')],
  );
  t.same(s2.rejected.map((r) => [r.event.eventId, r.cause]), [[add.eventId, undefined], [fix.eventId, add.eventId]]);
  t.same((await store.outbox()).map((e) => e.event.eventId), [catDel.eventId]);
  t.same(await store.list('local', 'expense', b), []);
  const s3 = await outbox.settle(await store.outbox(), [result(catDel, 'rejected', { error: { code: 'NOT_PARTICIPANT', message: 'no' } })]);
  t.same(s3.suspectBudgets, [b], 'NOT_PARTICIPANT makes the client check its access');
  t.same((await store.list('local', 'expense', b)).map((e) => e.id), [x.id]);
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
  t.same((await store.outbox()).map((e) => e.seq), Array.from({ length: 31 }, (_, i) => i + 1));
  const first = await outbox.nextBatch();
  t.equal(first?.kind, 'create');
  const s = await outbox.settleCreate((await store.outbox())[0]!, { budget: budget(b, { title: 'New', createdAt: 7 }), participant: participant(b, ME, 'owner'), sequence: 2 });
  t.same(s.createdBudgets, [b]);
  t.equal(await store.getCursor(b), 2, 'the answer of POST /budget is the state at sequence 2');
  const second = await outbox.nextBatch();
  t.equal(second?.kind === 'events' && second.entries.length, MAX_BATCH);
  const small = await outbox.nextBatch(10);
  t.equal(small?.kind === 'events' && small.entries.length, 10, 'a smaller batch size is honoured');
  await outbox.settle(second?.kind === 'events' ? second.entries : [], adds.slice(0, 25).map((e, i) => result(e, 'accepted', { sequence: 3 + i })));
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
  t.same(r.rejected.map((x) => [x.event.eventId, x.cause]), [[create2.eventId, undefined], [dep.eventId, create2.eventId]]);
  await inbox.drop(b2);
  t.notOk((await store.budgetIds()).includes(b2));
});

t.test('view: an edit already contained in the record is not applied again', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const c = category(b, randomUUID(), { version: 5, name: 'Newer' });
  await inbox.bootstrap(snapshot(b, 3, { categories: [c] }));
  await outbox.enqueue(edit(b, 'category.edit', c.id, { version: 4, name: 'Older' }));
  t.equal((await store.get('local', 'category', b, c.id))?.name, 'Newer');
});
