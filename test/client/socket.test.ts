/**
 * The reference client over the socket (`GET /sync`) against a real server: live delivery, lost
 * push answers, reconnect and resume, token refresh and 4401, membership and revocation, resync,
 * and the server's close codes.
 */
import t from 'tap';
import WS from 'ws';
import { MemoryStore } from '../../packages/client/src/index.js';
import type { WebSocketLike } from '../../packages/client/src/transport-socket.js';
import { eventually, harness, localState, record, serverState, token } from './fixtures/support.js';

/**
 * A browser-style WebSocket constructor (`new (url, protocols)`, so auth goes in the subprotocol
 * list) over `ws`, that lets a test look at, drop or cut incoming messages.
 */
function socketClass(onIncoming?: (raw: string, socket: { terminate(): void }) => boolean) {
  const sockets: TestSocket[] = [];
  class TestSocket implements WebSocketLike {
    readonly inner: WS;
    onopen: ((e: unknown) => void) | null = null;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onclose: ((e: { code: number; reason: string }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    constructor(url: string, protocols?: string | string[]) {
      this.inner = new WS(url, protocols);
      this.inner.onopen = (e) => this.onopen?.(e);
      this.inner.onmessage = (e) => {
        if (onIncoming && !onIncoming(String(e.data), this)) return;
        this.onmessage?.(e);
      };
      this.inner.onclose = (e) => this.onclose?.({ code: e.code, reason: e.reason });
      this.inner.onerror = (e) => this.onerror?.(e);
      sockets.push(this);
    }
    get readyState() {
      return this.inner.readyState;
    }
    get protocol() {
      return this.inner.protocol;
    }
    send(data: string) {
      this.inner.send(data);
    }
    close(code?: number, reason?: string) {
      this.inner.close(code, reason);
    }
    terminate() {
      this.inner.terminate();
    }
  }
  return { TestSocket, sockets };
}

const socketOptions = { transport: 'socket' as const, backoff: { baseMs: 20, capMs: 200 } };

t.test('live: edits reach the other device without asking; subprotocol auth for browsers', async (t) => {
  const h = await harness(t);
  const { TestSocket, sockets } = socketClass();
  const alice = h.client('alice', socketOptions); // Node: Authorization header through `ws`
  const bob = h.client('bob', { ...socketOptions, WebSocket: TestSocket }); // browser-style
  const bobEvents = record(bob, 'connected', 'caughtUp', 'membership', 'change');
  await alice.start();
  await bob.start();
  await eventually(() => bob.connected, 5000, 'bob connected');
  t.equal(sockets[0]?.protocol, 'budget-sync.v1', 'the server picked budget-sync.v1, never the bearer entry');
  t.same(bobEvents.of('connected'), [{ transport: 'socket' }]);

  const { budgetId } = await alice.createBudget({ title: 'Live' });
  await alice.flush();
  const { token: invite } = await alice.createInvite(budgetId);
  await h.api.req('POST', `/invites/${invite}/accept`, 'bob');
  await eventually(async () => (await bob.budget(budgetId)) !== undefined, 5000, 'bob loads the budget after membership added');
  t.same(bobEvents.of('membership'), [{ budgetId, change: 'added' }]);

  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '10' });
  await eventually(async () => (await bob.categories(budgetId)).length === 1, 5000, 'the category reaches bob live');
  await bob.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-06-01', amount: '4.20' });
  await eventually(async () => (await alice.expenses(budgetId)).length === 1, 5000, "bob's expense reaches alice live");
  await eventually(() => bobEvents.of('caughtUp').length > 0, 5000, 'caughtUp');
  await alice.flush();
  await bob.flush();
  const server = await serverState(h.api, 'alice', budgetId);
  t.same(await localState(alice, budgetId), server);
  t.same(await localState(bob, budgetId), server);
  t.equal(sockets.length, 1, 'one socket for everything');
});

t.test('a pushResult never read: the socket dies, the client reconnects, nothing is applied twice', async (t) => {
  const h = await harness(t);
  let cut = 0;
  // The server commits the push; the connection dies before the client reads the answer. After
  // reconnecting, the client learns the outcome from the stream (its own eventIds come back) or by
  // sending the same events again (answered `duplicate`); either way each is applied once.
  const { TestSocket, sockets } = socketClass((raw, socket) => {
    if (cut < 2 && raw.includes('"type":"pushResult"')) {
      cut++;
      socket.terminate();
      return false;
    }
    return true;
  });
  const alice = h.client('alice', { ...socketOptions, WebSocket: TestSocket });
  const events = record(alice, 'connected', 'disconnected', 'confirmed');
  await alice.start();
  const { budgetId } = await alice.createBudget({ title: 'Once' });
  await alice.flush();
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '1' });
  const adds = [];
  for (let i = 0; i < 4; i++)
    adds.push(await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: `${i + 1}` }));
  await alice.flush();
  t.equal(cut, 2, 'two answers were lost');
  // flush() may resolve before the last reconnect: the events of a cut push can arrive in the same
  // read as its lost pushResult (the server sends its own commits without a log read), and they
  // alone confirm the push.
  await eventually(() => sockets.length >= 3, 10_000, 'a socket after each cut');
  t.ok(sockets.length >= 3, 'and the client reconnected each time');
  await eventually(() => events.of('disconnected').length >= 2, 10_000, 'two disconnects reported');
  const stream = await h.api.stream('alice', budgetId);
  for (const e of [cat, ...adds]) t.equal(stream.events.filter((s) => s.eventId === e.eventId).length, 1, `${e.eventType} applied once`);
  t.equal(stream.events.length, 2 + 5);
  t.same(await localState(alice, budgetId), await serverState(h.api, 'alice', budgetId));
  t.same(await alice.pending(), []);
});

t.test('a gap in the stream (a lost events message) is filled from GET /events', async (t) => {
  const h = await harness(t);
  let dropped = 0;
  let eventsSeen = 0;
  const { TestSocket } = socketClass((raw) => {
    if (!raw.includes('"type":"events"')) return true;
    eventsSeen++;
    if (eventsSeen === 3) {
      dropped++;
      return false; // the client never sees this message: the next one starts after a gap
    }
    return true;
  });
  const alice = h.client('alice', socketOptions);
  const bob = h.client('bob', { ...socketOptions, WebSocket: TestSocket });
  await alice.start();
  await bob.start();
  const { budgetId } = await alice.createBudget({ title: 'Gaps' });
  await alice.flush();
  await h.api.addMembers(budgetId, 'alice', 'bob');
  await eventually(async () => (await bob.budget(budgetId)) !== undefined, 5000, 'bob loaded it');
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '1' });
  await alice.flush();
  for (let i = 0; i < 6; i++) {
    await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: `${i + 1}` });
    await alice.flush();
  }
  await eventually(() => bob.cursor(budgetId) === alice.cursor(budgetId), 5000, 'bob caught up');
  t.equal(dropped, 1, 'one events message was lost');
  t.same(await localState(bob, budgetId), await serverState(h.api, 'bob', budgetId));
});

t.test('reconnect and resume from the cursor: nothing missed while the socket was down', async (t) => {
  const h = await harness(t);
  const { TestSocket, sockets } = socketClass();
  const alice = h.client('alice', socketOptions);
  const bob = h.client('bob', { ...socketOptions, WebSocket: TestSocket });
  await alice.start();
  await bob.start();
  const { budgetId } = await alice.createBudget({ title: 'Resume' });
  await alice.flush();
  await bob.join((await alice.createInvite(budgetId)).token);
  const cat = await alice.categoryAdd(budgetId, { name: 'Food', allocate: '10' });
  await bob.flush();
  const bobEvents = record(bob, 'connected', 'disconnected');

  // The network drops bob's connection; alice keeps writing meanwhile.
  sockets.at(-1)?.terminate();
  for (let i = 0; i < 40; i++) await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-01', amount: `${i}` });
  await alice.categoryEdit(budgetId, cat.recordId, { name: 'Groceries' });
  await alice.flush();
  await eventually(() => bobEvents.of('connected').length > 0, 5000, 'bob reconnected');
  t.ok(bobEvents.of('disconnected').length >= 1);
  await bob.flush();
  const server = await serverState(h.api, 'alice', budgetId);
  t.equal(server.expenses.length, 40);
  t.same(await localState(bob, budgetId), server);
  t.equal(bob.cursor(budgetId), alice.cursor(budgetId));

  // The server's own closes: 1001 (draining) and 4503 (slow consumer) mean reconnect and resume.
  for (const code of [1001, 4503]) {
    const before = bobEvents.of('connected').length;
    for (const conn of h.server.realtime.connections) if (conn.userId === 'bob') conn.close(code);
    await eventually(() => bobEvents.of('connected').length > before, 5000, `reconnect after ${code}`);
    t.ok(
      bobEvents.of('disconnected').some((d) => d.code === code),
      `saw close ${code}`,
    );
    await alice.expenseAdd(budgetId, { categoryId: cat.recordId, date: '2025-01-02', amount: '1' });
    await alice.flush();
    await bob.flush();
    t.same(await localState(bob, budgetId), await serverState(h.api, 'alice', budgetId));
  }
});

t.test('token: refreshed with `auth` before it expires; 4401 → a fresh token and reconnect', async (t) => {
  const h = await harness(t);
  const calls: boolean[] = [];
  const alice = h.client('alice', {
    ...socketOptions,
    getToken: ({ forceRefresh }) => {
      calls.push(forceRefresh);
      return token('alice', { ttlSeconds: 3 });
    },
    tokenRefreshMarginMs: 1500,
  });
  const events = record(alice, 'connected', 'disconnected', 'error');
  await alice.start();
  const { budgetId } = await alice.createBudget({ title: 'Tokens' });
  await alice.flush();
  await new Promise((r) => setTimeout(r, 4500)); // past the first token's expiry
  t.same(events.of('disconnected'), [], 'the socket stayed open');
  t.ok(calls.filter((f) => f).length >= 1, 'a fresh token was asked for');
  await alice.categoryAdd(budgetId, { name: 'Still here', allocate: '1' });
  await alice.flush();
  t.same(events.of('error'), []);

  // A client that lets its token run out gets 4401, then reconnects with a fresh one.
  const bob = h.client('bob', {
    ...socketOptions,
    getToken: () => token('bob', { ttlSeconds: 2 }),
    tokenRefreshMarginMs: -60_000, // never refreshes in time
  });
  const bobEvents = record(bob, 'connected', 'disconnected');
  await bob.start();
  await eventually(() => bobEvents.of('disconnected').some((d) => d.code === 4401), 8000, 'closed with 4401');
  await eventually(() => bobEvents.of('connected').length >= 2, 5000, 'reconnected');
  const own = await bob.createBudget({ title: 'After 4401' });
  await bob.flush();
  t.ok(await bob.budget(own.budgetId));
});

t.test('membership and revocation over the socket; removed while offline; resync', async (t) => {
  const h = await harness(t);
  const alice = h.client('alice', socketOptions);
  const bobStore = new MemoryStore();
  const bob = h.client('bob', { ...socketOptions, store: bobStore });
  const bobEvents = record(bob, 'membership', 'revoked');
  await alice.start();
  await bob.start();
  const { budgetId } = await alice.createBudget({ title: 'Members' });
  await alice.categoryAdd(budgetId, { name: 'Food', allocate: '1' });
  await alice.flush();
  await h.api.addMembers(budgetId, 'alice', 'bob');
  await eventually(async () => (await bob.categories(budgetId)).length === 1, 5000, 'bob loaded the budget');

  // Removed by the owner: `revoked` ends the subscription and bob drops the budget.
  await h.api.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  await eventually(() => bobEvents.of('revoked').length === 1, 5000, 'revoked');
  t.match(bobEvents.of('revoked')[0], { budgetId, reason: 'removed' });
  t.same(await bob.budgets(), []);

  // Re-added, then removed while bob is offline: the subscribe on reconnect is refused.
  await h.api.addMembers(budgetId, 'alice', 'bob');
  await eventually(async () => (await bob.budget(budgetId)) !== undefined, 5000, 'bob has it again');
  await bob.flush();
  await bob.stop();
  await h.api.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  const pendingEdit = await bob.categoryAdd(budgetId, { name: 'Lost', allocate: '1' });
  await bob.start();
  await eventually(() => bobEvents.of('revoked').length === 2, 5000, 'dropped after reconnecting');
  t.equal(bobEvents.of('revoked')[1]?.reason, 'removed');
  t.same(
    bobEvents.of('revoked')[1]?.discarded.map((e) => e.eventId),
    [pendingEdit.eventId],
  );
  t.same(await bob.budgets(), []);

  // resync: a cursor the server never gave (a restored device) → snapshot, then the stream.
  await h.api.addMembers(budgetId, 'alice', 'bob');
  await eventually(async () => (await bob.budget(budgetId)) !== undefined, 5000, 'bob has it a third time');
  await bob.stop();
  await bobStore.setCursor(budgetId, 10_000);
  await bobStore.put('server', 'category', {
    id: crypto.randomUUID(),
    budgetId,
    name: 'Ghost',
    allocate: '1.00',
    createdBy: 'x',
    version: 1,
    createdAt: 1,
    updatedAt: 1,
  });
  await bob.start();
  await eventually(() => (bob.cursor(budgetId) ?? 0) < 10_000, 5000, 'cursor reset by the snapshot');
  await alice.categoryAdd(budgetId, { name: 'After resync', allocate: '2' });
  await alice.flush();
  await bob.flush();
  t.same(await localState(bob, budgetId), await serverState(h.api, 'alice', budgetId), 'the ghost is gone, the rest is there');
  t.same(
    bobEvents.of('membership').map((m) => m.change),
    ['added', 'removed', 'added', 'removed', 'added'],
  );
});
