/**
 * Client bugs the convergence suite found, each pinned down on its own (fast, no fault injection):
 * - a conflict hint the stream can never catch up with (the record was deleted) kept a deleted
 *   record in the local layer forever — whether the delete came after the conflict answer or
 *   before it;
 * - the `confirmed` report of a `budget.create` carried sequence 2 (the state of the answer), not
 *   the create's own place in the stream (1);
 * - stopping a socket client while its WebSocket was still connecting threw an unhandled 'error'
 *   (`ws`), which ends a Node process;
 * - the socket transport read `GET /budgets` once after `hello`; when that read failed, a budget
 *   joined while the device was away never loaded until the next reconnect;
 * - a device resuming from a cursor older than its user's leave and rejoin (on another device)
 *   replayed the leave, dropped the budget, and could miss loading it again (the scenario is
 *   pinned below; the order that lost it is timing-dependent).
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { SyncClient } from '../../packages/client/src/node.js';
import { BUDGET_CREATE_SEQUENCE } from '../../packages/client/src/outbox.js';
import type { Budget, BudgetCreateEvent, Expense, OutboundEvent, Participant, StreamEvent } from '../../packages/client/src/types.js';
import { eventually, harness } from '../client/fixtures/support.js';
import { token } from '../helpers/server.js';
import { replica as replicaOf } from '../client/fixtures/replica.js';

const ME = 'me';

const replica = () => replicaOf(ME);

const budget = (id: string): Budget => ({
  id,
  title: 'B',
  details: null,
  ownerId: ME,
  createdBy: ME,
  version: 1,
  createdAt: 1,
  updatedAt: 1,
});
const participant = (budgetId: string): Participant => ({
  userId: ME,
  budgetId,
  role: 'owner',
  joinedAt: 1,
  firstName: null,
  lastName: null,
  photo: null,
});
const expense = (budgetId: string, categoryId: string, id: string, version: number): Expense => ({
  id,
  budgetId,
  categoryId,
  date: '2025-01-01',
  amount: `${version}.00`,
  note: null,
  createdBy: 'other',
  version,
  createdAt: 1,
  updatedAt: version,
});
const streamEvent = (
  budgetId: string,
  sequence: number,
  eventType: StreamEvent['eventType'],
  recordId: string,
  record: Expense | null,
  version: number,
): StreamEvent => ({
  sequence,
  eventId: randomUUID(),
  eventType,
  budgetId,
  recordId,
  actorId: 'other',
  when: 1,
  serverTime: 1,
  version,
  record,
});

/** A loaded budget (cursor 5) with one expense at version 1, and this device's edit of it queued. */
async function withQueuedEdit() {
  const r = replica();
  const b = randomUUID();
  const cat = randomUUID();
  const x = randomUUID();
  await r.store.transaction(() =>
    r.inbox.bootstrap({
      budget: budget(b),
      participants: [participant(b)],
      lastSequence: 5,
      categories: [{ id: cat, budgetId: b, name: 'Food', allocate: '10.00', createdBy: ME, version: 1, createdAt: 1, updatedAt: 1 }],
      expenses: [expense(b, cat, x, 1)],
    }),
  );
  const edit: OutboundEvent = {
    eventId: randomUUID(),
    eventType: 'expense.edit',
    budgetId: b,
    recordId: x,
    when: 5,
    version: 1,
    amount: '9.00',
  };
  await r.store.transaction(() => r.outbox.enqueue(edit));
  const entries = await r.store.outbox();
  const conflict = async () =>
    r.store.transaction(() =>
      r.outbox.settle(entries, [
        {
          eventId: edit.eventId,
          eventType: 'expense.edit',
          budgetId: b,
          recordId: x,
          status: 'conflict',
          error: { code: 'VERSION_CONFLICT', message: 'changed' },
          record: expense(b, cat, x, 2),
        },
      ]),
    );
  return { ...r, b, cat, x, conflict };
}

t.test('a conflict hint does not outlive the record: the stream deletes it afterwards', async (t) => {
  const r = await withQueuedEdit();
  await r.conflict();
  t.match(await r.store.get('local', 'expense', r.b, r.x), { version: 2, amount: '2.00' }, 'the server value shows at once (the hint)');
  // One delivery: the edit that produced the hint's version, then the delete.
  await r.store.transaction(() =>
    r.inbox.apply(r.b, [
      streamEvent(r.b, 6, 'expense.edit', r.x, expense(r.b, r.cat, r.x, 2), 2),
      streamEvent(r.b, 7, 'expense.delete', r.x, null, 3),
    ]),
  );
  t.equal(await r.store.get('local', 'expense', r.b, r.x), undefined, 'deleted in the local layer too');
  t.same(await r.store.list('local', 'expense', r.b), await r.store.list('server', 'expense', r.b));
});

t.test('a conflict hint does not outlive the record: the answer comes after the stream deleted it', async (t) => {
  const r = await withQueuedEdit();
  await r.store.transaction(() =>
    r.inbox.apply(r.b, [
      streamEvent(r.b, 6, 'expense.edit', r.x, expense(r.b, r.cat, r.x, 2), 2),
      streamEvent(r.b, 7, 'expense.delete', r.x, null, 3),
    ]),
  );
  await r.conflict();
  t.equal(await r.store.get('local', 'expense', r.b, r.x), undefined, 'the older record of the answer does not come back');
  t.same(await r.store.outbox(), []);
});

t.test('a conflict hint still shows a newer record before the stream brings it', async (t) => {
  const r = await withQueuedEdit();
  await r.conflict();
  t.match(await r.store.get('local', 'expense', r.b, r.x), { version: 2 });
  await r.store.transaction(() => r.inbox.apply(r.b, [streamEvent(r.b, 6, 'expense.edit', r.x, expense(r.b, r.cat, r.x, 2), 2)]));
  t.match(await r.store.get('local', 'expense', r.b, r.x), { version: 2 }, 'and then the stream has it');
  await r.store.transaction(() => r.inbox.apply(r.b, [streamEvent(r.b, 7, 'expense.edit', r.x, expense(r.b, r.cat, r.x, 3), 3)]));
  t.match(await r.store.get('local', 'expense', r.b, r.x), { version: 3 });
});

t.test('the confirmation of a budget.create names sequence 1', async (t) => {
  const r = replica();
  const b = randomUUID();
  const create: BudgetCreateEvent = { eventId: randomUUID(), eventType: 'budget.create', budgetId: b, recordId: b, when: 1, title: 'New' };
  await r.store.transaction(() => r.outbox.enqueue(create));
  const [entry] = await r.store.outbox();
  const s = await r.store.transaction(() =>
    r.outbox.settleCreate(entry as never, { budget: budget(b), participant: participant(b), sequence: 2 }),
  );
  t.same(
    s.confirmed.map((c) => c.sequence),
    [BUDGET_CREATE_SEQUENCE],
  );
  t.equal(BUDGET_CREATE_SEQUENCE, 1);
  t.equal(await r.store.getCursor(b), 2, 'the answer is still the state at sequence 2');
});

t.test('stop() while the WebSocket is still connecting does not throw', async (t) => {
  // A peer that accepts TCP and never answers the upgrade: the socket stays CONNECTING.
  const held: net.Socket[] = [];
  const server = net.createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of held) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { port } = server.address() as net.AddressInfo;
  for (const pause of [0, 50]) {
    const c = new SyncClient({ baseUrl: `http://127.0.0.1:${port}`, getToken: () => token('u1'), userId: 'u1', transport: 'socket' });
    await c.start();
    await new Promise((r) => setTimeout(r, pause));
    await c.stop(); // before the fix: "WebSocket was closed before the connection was established", uncaught
  }
  await new Promise((r) => setTimeout(r, 100));
  t.pass('no uncaught error');
});

t.test('socket: the budget list read after hello is retried until it succeeds', async (t) => {
  const h = await harness(t);
  const budgetId = await h.api.createBudget('carol');
  let failures = 0;
  const client = h.client('carol', {
    transport: 'socket',
    fetch: async (url, init) => {
      // The first reads of GET /budgets fail as if the database were briefly away.
      if (new URL(url).pathname === '/budgets' && failures < 3) {
        failures++;
        return {
          status: 503,
          headers: { get: () => null },
          text: async () => JSON.stringify({ error: { statusCode: 503, code: 'DATABASE_UNAVAILABLE', message: 'down' } }),
        };
      }
      return fetch(url, init);
    },
  });
  await client.start();
  await eventually(async () => (await client.budget(budgetId)) !== undefined, 10_000, 'the budget to load without a reconnect');
  t.equal(failures, 3, 'read again after each failure');
  t.ok(client.connected);
});

t.test('socket: a device resuming from before its user left and rejoined elsewhere ends up holding the budget', async (t) => {
  const h = await harness(t);
  const budgetId = await h.api.createBudget('alice');
  const alice = h.client('alice');
  await alice.start();
  const { token: invite } = await alice.createInvite(budgetId);
  const phone = h.client('bob', { transport: 'socket' });
  const tablet = h.client('bob', { transport: 'socket' });
  await tablet.start();
  await tablet.join(invite);
  await phone.start();
  await eventually(async () => (await phone.budget(budgetId)) !== undefined, 10_000, 'the phone loads the budget');
  await phone.stop();

  // While the phone is away, bob leaves on the tablet and joins again: the phone's cursor now
  // predates both, and the `membership added` notice of the join went to no socket of the phone.
  await tablet.leave(budgetId);
  const again = await alice.createInvite(budgetId);
  await tablet.join(again.token);

  // Resuming replays bob's own leave (revoked). Whether the budget comes back depends on what the
  // phone learns first: its post-hello budget list, or the replayed leave. In the convergence run
  // that found it the list came first and the budget stayed dropped; the client now asks after any
  // revocation whether the user belongs to the budget again. (This test does not force that order.)
  await phone.start();
  await eventually(
    async () => (await phone.budget(budgetId)) !== undefined && phone.cursor(budgetId) !== undefined,
    10_000,
    'the phone holds the budget again',
  );
  t.ok(await phone.budget(budgetId), 'loaded');
});
