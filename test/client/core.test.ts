/**
 * The client's parts without a server: backoff, tokens, value checks, the emitter, inbox
 * ordering and the view, driven by hand-made stream events (the outbox: outbox.test.ts).
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Backoff, sleep } from '../../packages/client/src/backoff.js';
import { TypedEmitter } from '../../packages/client/src/emitter.js';
import { TokenSource, expiresAt } from '../../packages/client/src/token.js';
import { globalSocket } from '../../packages/client/src/transport-socket.js';
import * as check from '../../packages/client/src/values.js';
import { token as devToken } from '../helpers/server.js';
import { ME, OTHER, budget, category, edit, expense, participant, snapshot, streamEvent } from './fixtures/records.js';
import { replica as replicaOf } from './fixtures/replica.js';

const replica = () => replicaOf(ME);

t.test('Backoff: full jitter inside a doubling window, capped, reset; sleep stops on abort', async (t) => {
  const top = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.999999 });
  t.same(
    [1, 2, 3, 4, 5, 6].map(() => top.next()),
    [99, 199, 399, 799, 999, 999],
  );
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

t.test('globalSocket: the platform WebSocket with the token in the subprotocols, or a clear error', async (t) => {
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  t.teardown(() => {
    g.WebSocket = saved;
  });
  g.WebSocket = undefined;
  t.throws(() => globalSocket('ws://127.0.0.1:1/sync', 'tok'), /no global WebSocket here/, 'none (Node 20): says what to pass');
  const opened: unknown[] = [];
  g.WebSocket = class {
    constructor(...args: unknown[]) {
      opened.push(args);
    }
  };
  await globalSocket('ws://127.0.0.1:1/sync', 'tok');
  t.same(opened, [['ws://127.0.0.1:1/sync', ['budget-sync.v1', 'bearer.tok']]], 'browser-style auth');
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
  t.same(
    (await store.list('local', 'category', b)).map((c) => c.name),
    ['Rent'],
  );
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

t.test('view: an edit already contained in the record is not applied again', async (t) => {
  const { store, inbox, outbox } = replica();
  const b = randomUUID();
  const c = category(b, randomUUID(), { version: 5, name: 'Newer' });
  await inbox.bootstrap(snapshot(b, 3, { categories: [c] }));
  await outbox.enqueue(edit(b, 'category.edit', c.id, { version: 4, name: 'Older' }));
  t.equal((await store.get('local', 'category', b, c.id))?.name, 'Newer');
});
