/**
 * The /sync socket on one in-process server over a real port: upgrade auth, the message contract,
 * backlog → live hand-over, limits and close codes.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import t from 'tap';
import WebSocket from 'ws';
import { ev } from '../helpers/api.js';
import { token, uuid } from '../helpers/server.js';
import { type Msg, type StreamEventJson, SyncClient, Tracker, eventually } from './fixtures/client.js';
import { Rest, listening, sleep } from './fixtures/harness.js';
import { NO_SINK } from '../../src/sync/changes.js';
import { Processor } from '../../src/sync/processor.js';

const server = await listening(t, { WS_HEARTBEAT_MS: '1000', WS_MAX_PAYLOAD_BYTES: '16384' });
const rest = new Rest(server.base);
const url = server.wsUrl;
const open: SyncClient[] = [];
const connect = async (uid: string, options: Parameters<typeof SyncClient.connect>[1] = {}) => {
  const c = await SyncClient.connect(url, { uid, ...options });
  open.push(c);
  return c;
};
t.teardown(() => {
  for (const c of open) c.close();
});

t.test('the upgrade is authenticated: 401 without a valid token, header or subprotocol', async (t) => {
  const refused = (ws: WebSocket) =>
    new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('upgrade accepted')));
      ws.once('error', () => {});
    });
  t.equal(await refused(new WebSocket(url)), 401, 'no token');
  t.equal(await refused(new WebSocket(url, { headers: { authorization: 'Bearer nope' } })), 401, 'bad header token');
  t.equal(await refused(new WebSocket(url, ['budget-sync.v1', 'bearer.nope'])), 401, 'bad subprotocol token');

  const viaProtocol = await connect('alice', { viaProtocol: true });
  t.equal(viaProtocol.ws.protocol, 'budget-sync.v1', 'the server selects budget-sync.v1, never the bearer entry');
  const hello = viaProtocol.messages[0] as Msg;
  t.match(hello, { type: 'hello', protocol: 1, userId: 'alice', heartbeatMs: 1000 });
  t.match(hello.connectionId, /^[0-9a-f-]{36}$/);
  viaProtocol.close();
});

t.test('subscribe: backlog then live, no gap and no repeat while another device pushes', async (t) => {
  const budgetId = await rest.createBudget('alice');
  const cat = ev.categoryAdd(budgetId);
  await rest.push('alice', [cat]);
  const writer = await connect('alice');
  // Build a backlog, then keep pushing while the reader subscribes from 0 and from the middle.
  for (let i = 0; i < 10; i++)
    await writer.request({ type: 'push', events: Array.from({ length: 20 }, () => ev.expenseAdd(budgetId, cat.recordId)) });
  let pushing = true;
  const pushes = (async () => {
    let n = 0;
    while (pushing || n < 5) {
      await writer.request({ type: 'push', events: [ev.expenseAdd(budgetId, cat.recordId), ev.expenseAdd(budgetId, cat.recordId)] });
      n++;
    }
  })();
  const fromZero = await connect('alice');
  const fromMiddle = await connect('alice');
  const subscribed = await fromZero.subscribe(budgetId, 0);
  t.match(subscribed, { type: 'subscribed', budgetId, lastSequence: Number });
  t.ok((subscribed.lastSequence as number) >= 203);
  await fromMiddle.subscribe(budgetId, 100);
  await sleep(300);
  pushing = false;
  await pushes;
  const last = await rest.lastSequence('alice', budgetId);
  await fromZero.reach(budgetId, last);
  await fromMiddle.reach(budgetId, last);
  t.ok(fromZero.tracker.complete(budgetId, last), `1..${last} exactly once, in order`);
  t.same(
    fromMiddle.tracker.sequences.get(budgetId),
    Array.from({ length: last - 100 }, (_, i) => 101 + i),
  );
  t.same([...fromZero.tracker.violations, ...fromMiddle.tracker.violations], []);
  // `subscribed` precedes the first `events` of its budget.
  const firstEvents = fromZero.messages.findIndex((m) => m.type === 'events');
  t.ok(fromZero.messages.findIndex((m) => m.type === 'subscribed') < firstEvents);
  // Stream events carry the contract's fields.
  const events = fromZero.messages.filter((m) => m.type === 'events').flatMap((m) => m.events as StreamEventJson[]);
  t.match(events[0], { sequence: 1, eventType: 'budget.create', budgetId, actorId: 'alice', serverTime: Number });
  t.match(events[2], { sequence: 3, eventType: 'category.add', recordId: cat.recordId, record: { name: 'Food' } });
});

t.test('one log read per budget per wake-up, however many sockets follow it', async (t) => {
  const budgetId = await rest.createBudget('alice');
  await rest.addMembers(budgetId, 'alice', 'bob');
  const readers = await Promise.all(Array.from({ length: 16 }, (_, i) => connect(i % 2 ? 'alice' : 'bob')));
  for (const r of readers) await r.subscribe(budgetId, 0);
  for (const r of readers) await r.reach(budgetId, 3);
  const metrics = server.services.metrics;
  const count = async (c: 'logReads' | 'memoryPages') => (await metrics[c].get()).values[0]?.value ?? 0;
  const reads = async () => (await count('logReads')) + (await count('memoryPages'));
  const before = await reads();
  const fromMemory = await count('memoryPages');
  await rest.push('alice', [ev.categoryAdd(budgetId)]);
  for (const r of readers) await r.reach(budgetId, 4);
  const used = (await reads()) - before;
  // One for the commit's wake-up; a safety poll tick may add one more. Never one per socket.
  t.ok(used >= 1 && used <= 2, `${used} pages read for 16 sockets`);
  // This instance's own commit, every socket at the head before it: sent without a log read.
  t.equal((await count('memoryPages')) - fromMemory, 1, 'the page came from the commit itself');
});

t.test('the budgets woken in one event-loop turn are read by one query', async (t) => {
  const budgets = await Promise.all(Array.from({ length: 12 }, () => rest.createBudget('alice')));
  const c = await connect('alice');
  for (const b of budgets) await c.subscribe(b, 0);
  for (const b of budgets) await c.reach(b, 2);
  const value = async (counter: 'logReads' | 'logQueries') => (await server.services.metrics[counter].get()).values[0]?.value ?? 0;
  const [reads, queries] = [await value('logReads'), await value('logQueries')];
  // One batch touching all twelve, written behind this instance's back (as another instance
  // would): twelve wake-ups in the same turn, none of them coverable from local commits.
  const other = new Processor(server.services.sql, NO_SINK);
  const pointers = (
    await other.push(
      budgets.map((b) => ev.categoryAdd(b)),
      'alice',
    )
  ).map((r) => ({ budgetId: r.budgetId as string, sequence: r.sequence as number }));
  server.realtime.hub.changed(pointers, []);
  for (const b of budgets) await c.reach(b, 3);
  const usedReads = (await value('logReads')) - reads;
  const usedQueries = (await value('logQueries')) - queries;
  t.ok(usedReads >= 12, `${usedReads} budget pages read`);
  // One for the commit; a safety poll tick may add one more. Not one per budget.
  t.ok(usedQueries >= 1 && usedQueries <= 2, `${usedQueries} queries for 12 budgets`);
});

t.test('unsubscribe stops one budget, the others go on', async (t) => {
  const a = await rest.createBudget('alice');
  const b = await rest.createBudget('alice');
  const c = await connect('alice');
  await c.subscribe(a, 2);
  await c.subscribe(b, 2);
  t.match(await c.request({ type: 'unsubscribe', budgetId: a.toUpperCase() }), { type: 'unsubscribed', budgetId: a });
  await rest.push('alice', [ev.categoryAdd(a)]);
  await rest.push('alice', [ev.categoryAdd(b)]);
  await c.reach(b, 3);
  await sleep(200);
  t.notOk(
    c.messages.some((m) => m.type === 'events' && m.budgetId === a),
    'nothing for the unsubscribed budget',
  );
  t.match(await c.request({ type: 'unsubscribe', budgetId: a }), { type: 'unsubscribed', budgetId: a }, 'unsubscribing twice is fine');
});

t.test('push over the socket gives exactly the results of POST /events', async (t) => {
  const budgetId = await rest.createBudget('alice');
  const c = await connect('alice');
  const cat = ev.categoryAdd(budgetId);
  const batch = [
    cat,
    ev.expenseAdd(budgetId, cat.recordId, { amount: '12.5' }),
    ev.edit('category.edit', budgetId, cat.recordId, 7, { name: 'x' }),
    ev.categoryAdd(budgetId),
  ];
  const viaSocket = await c.request({ type: 'push', events: batch, mode: 'independent' });
  t.equal(viaSocket.type, 'pushResult');
  const socketResults = viaSocket.events as Record<string, unknown>[];
  t.same(
    socketResults.map((r) => r.status),
    ['accepted', 'accepted', 'conflict', 'accepted'],
  );
  // The same batch again over HTTP: the accepted ones are duplicates with the original outcome.
  const viaHttp = await rest.push('alice', batch, 'independent');
  t.same(
    viaHttp.map((r) => ({ ...r, status: r.status === 'duplicate' ? 'accepted' : r.status })),
    socketResults,
    'same results (duplicate ↔ accepted) field by field',
  );
  // And the other way round: HTTP first, then the socket.
  const batch2 = [ev.categoryAdd(budgetId), ev.categoryAdd(budgetId, { allocate: 'x' }), ev.categoryAdd(budgetId)];
  const http2 = await rest.push('alice', batch2);
  const socket2 = (await c.request({ type: 'push', events: batch2 })).events as Record<string, unknown>[];
  t.same(
    socket2.map((r) => r.status),
    ['duplicate', 'rejected', 'skipped'],
  );
  t.same(
    http2.map((r) => r.status),
    ['accepted', 'rejected', 'skipped'],
  );
  t.same(socket2[1], http2[1]);

  // The envelope: 1..25 events, each with a UUID eventId.
  t.match(await c.request({ type: 'push', events: [] }), { type: 'error', code: 'INVALID_MESSAGE' });
  t.match(await c.request({ type: 'push', events: Array.from({ length: 26 }, () => ev.categoryAdd(budgetId)) }), {
    type: 'error',
    code: 'INVALID_MESSAGE',
  });
  t.match(await c.request({ type: 'push', id: 'p-x', events: [{ eventType: 'category.add' }] }), {
    type: 'error',
    code: 'VALIDATION_FAILED',
    ref: 'p-x',
    details: [{ path: '/events/0/eventId' }],
  });
  const foreign = await rest.createBudget('mallory');
  const refused = (await c.request({ type: 'push', events: [ev.categoryAdd(foreign)] })).events as Record<string, unknown>[];
  t.match(refused, [{ status: 'rejected', error: { code: 'NOT_PARTICIPANT' } }]);
});

t.test('ping, auth refresh and bad messages', async (t) => {
  const c = await connect('alice');
  t.same(await c.request({ type: 'ping', id: 7 }), { type: 'pong', id: 7 });
  c.send({ type: 'ping' });
  t.same(await c.waitFor((m) => m.type === 'pong' && m.id === undefined), { type: 'pong' });

  const fresh = await c.request({ type: 'auth', token: token('alice', { ttlSeconds: 7200 }) });
  t.equal(fresh.type, 'authOk');
  t.ok((fresh.expiresAt as number) > Date.now() + 3600_000);
  t.match(
    await c.request({ type: 'auth', token: 'garbage' }),
    { type: 'error', code: 'UNAUTHENTICATED' },
    'a bad token is refused, the socket stays',
  );

  c.send(Buffer.from([1, 2, 3]));
  t.match(await c.waitFor((m) => m.type === 'error'), { code: 'INVALID_MESSAGE', message: /binary/ });
  c.send('{not json');
  t.match(await c.waitFor((m) => m.type === 'error'), { code: 'INVALID_MESSAGE', message: /JSON/ });
  c.send('[1,2]');
  t.match(await c.waitFor((m) => m.type === 'error'), { code: 'INVALID_MESSAGE' });
  t.match(await c.request({ type: 'dance' }), { type: 'error', code: 'INVALID_MESSAGE', message: /unknown message type/ });
  t.match(await c.request({ type: 'subscribe', budgetId: 'nope' }), { type: 'error', code: 'INVALID_MESSAGE', details: Array });
  t.match(await c.request({ type: 'ping', extra: 1 }), { type: 'error', code: 'INVALID_MESSAGE' }, 'unknown fields are refused');
  t.same(await c.request({ type: 'ping', id: 'still-open' }), { type: 'pong', id: 'still-open' }, 'the socket still works');

  const other = await connect('alice');
  const wrongUser = await other.request({ type: 'auth', token: token('bob') });
  t.match(wrongUser, { type: 'error', code: 'UNAUTHENTICATED' });
  t.equal((await other.waitClosed()).code, 4401);
});

t.test('a flood of bad messages closes with 4000', async (t) => {
  const c = await connect('alice');
  for (let i = 0; i < 30; i++) c.send('nope');
  t.equal((await c.waitClosed()).code, 4000);
});

t.test('a token that expires without `auth` closes the socket with 4401', async (t) => {
  const c = await connect('alice', { token: token('alice', { ttlSeconds: 2 }) });
  const err = c.waitFor((m) => m.type === 'error', 5000);
  t.equal((await c.waitClosed(5000)).code, 4401);
  t.match(await err, { code: 'TOKEN_EXPIRED' });
});

t.test('a frame over WS_MAX_PAYLOAD_BYTES closes with 1009', async (t) => {
  const c = await connect('alice');
  c.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(20_000) }));
  t.equal((await c.waitClosed()).code, 1009);
});

t.test('an open socket does not hold on to its upgrade request (headers, token, logger)', async (t) => {
  // The plugin's per-socket error listener and the TCP socket's response pointer kept the request
  // alive for the socket's life (~3 KB each at 10k sockets); now only the socket itself is kept.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const requests: WeakRef<object>[] = [];
  const onUpgrade = (req: object) => requests.push(new WeakRef(req));
  server.app.server.on('upgrade', onUpgrade);
  t.teardown(() => server.app.server.off('upgrade', onUpgrade));
  const c = await connect('alice');
  t.equal(requests.length, 1);
  for (let i = 0; i < 5 && requests[0]?.deref() !== undefined; i++) {
    await sleep(10);
    gc();
  }
  t.equal(requests[0]?.deref(), undefined, 'the upgrade request was collected');
  t.same(await c.request({ type: 'ping', id: 1 }), { type: 'pong', id: 1 }, 'while its socket still works');
  c.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(20_000) }));
  t.equal((await c.waitClosed()).code, 1009, 'and its errors are still handled');
});

t.test('subscribe checks participation and the cursor', async (t) => {
  const c = await connect('alice');
  const foreign = await rest.createBudget('mallory');
  t.match(await c.request({ type: 'subscribe', budgetId: foreign, after: 0 }), { type: 'error', code: 'NOT_PARTICIPANT' });
  t.match(await c.request({ type: 'subscribe', budgetId: uuid(), after: 0 }), { type: 'error', code: 'BUDGET_NOT_FOUND' });
  const mine = await rest.createBudget('alice');
  t.same(await c.request({ type: 'subscribe', budgetId: mine, after: 99, id: 's' }), {
    type: 'resync',
    budgetId: mine,
    code: 'SNAPSHOT_REQUIRED',
    id: 's',
  });
  await rest.push('alice', [ev.categoryAdd(mine)]);
  await sleep(200);
  t.notOk(
    c.messages.some((m) => m.type === 'events'),
    'a resync is not a subscription',
  );
});

t.test('membership and revocation reach every socket of the user', async (t) => {
  const alice = await connect('alice');
  const bob = await connect('bob');
  const bob2 = await connect('bob');
  const budgetId = await rest.createBudget('alice');
  t.match(await alice.waitFor((m) => m.type === 'membership'), { budgetId, change: 'added' });
  await rest.addMembers(budgetId, 'alice', 'bob');
  for (const c of [bob, bob2]) t.match(await c.waitFor((m) => m.type === 'membership' && m.budgetId === budgetId), { change: 'added' });
  const tracker = new Tracker();
  const bob3 = await connect('bob', { tracker });
  await bob3.subscribe(budgetId, 0);
  await alice.subscribe(budgetId, 0);
  await bob.subscribe(budgetId, 0);
  const removed = await rest.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  t.equal(removed.status, 200);
  for (const c of [bob, bob3]) {
    t.same(await c.waitFor((m) => m.type === 'revoked'), { type: 'revoked', budgetId, reason: 'removed' });
    const events = c.messages.filter((m) => m.type === 'events').flatMap((m) => m.events as StreamEventJson[]);
    t.match(events.at(-1), { eventType: 'participant.remove', recordId: 'bob' }, 'the removal is the last event it gets');
  }
  for (const c of [bob, bob2]) t.match(await c.waitFor((m) => m.type === 'membership' && m.change === 'removed'), { budgetId });
  t.same(await bob.request({ type: 'ping', id: 1 }), { type: 'pong', id: 1 }, 'the socket stays open after revoked');
  await rest.push('alice', [ev.categoryAdd(budgetId)]);
  const last = await rest.lastSequence('alice', budgetId);
  await alice.reach(budgetId, last);
  t.equal(bob.tracker.cursor(budgetId), last - 1, 'nothing after the removal');
  t.equal(bob.messages.filter((m) => m.type === 'revoked').length, 1, 'revoked exactly once');

  // The owner leaving as the last member deletes the budget.
  const left = await rest.req('DELETE', `/budgets/${budgetId}/leave`, 'alice');
  t.equal(left.status, 200);
  t.same(await alice.waitFor((m) => m.type === 'revoked'), { type: 'revoked', budgetId, reason: 'left' });

  // budget.delete revokes every subscriber.
  const b2 = await rest.createBudget('alice');
  await rest.addMembers(b2, 'alice', 'carol');
  const carol = await connect('carol');
  await carol.subscribe(b2, 0);
  await alice.subscribe(b2, 0);
  const version = (await rest.req('GET', `/budgets/${b2}`, 'alice')).json.budget.version as number;
  await rest.push('alice', [{ eventId: uuid(), eventType: 'budget.delete', budgetId: b2, version, when: Date.now() }]);
  for (const c of [alice, carol])
    t.same(await c.waitFor((m) => m.type === 'revoked' && m.budgetId === b2), { type: 'revoked', budgetId: b2, reason: 'deleted' });
});

t.test('long-poll: wakes on a commit, 403 on removal, bounded by `wait`', async (t) => {
  const budgetId = await rest.createBudget('alice');
  await rest.addMembers(budgetId, 'alice', 'bob');
  const last = await rest.lastSequence('alice', budgetId);
  const poll = rest.req('GET', `/events?budgetId=${budgetId}&key=${last}&wait=20`, 'bob');
  await sleep(200);
  await rest.push('alice', [ev.categoryAdd(budgetId)]);
  const answer = await poll;
  t.equal(answer.status, 200);
  t.match(answer.json, { key: last, nextKey: last + 1, events: [{ sequence: last + 1 }] });

  const removedPoll = rest.req('GET', `/events?budgetId=${budgetId}&key=${last + 1}&wait=20`, 'bob');
  await sleep(200);
  await rest.req('DELETE', `/budgets/${budgetId}/participants/bob`, 'alice');
  const refused = await removedPoll;
  t.equal(refused.status, 403);
  t.match(refused.json, { error: { code: 'NOT_PARTICIPANT' } });

  const started = Date.now();
  const empty = await rest.req('GET', `/events?budgetId=${budgetId}&key=${last + 2}&wait=1`, 'alice');
  t.match(empty, { status: 200, json: { events: [], nextKey: last + 2 } });
  t.ok(Date.now() - started >= 900, 'held for `wait`');
});

t.test('heartbeat: a peer that does not answer pings is dropped', async (t) => {
  const deaf = await connect('alice', { autoPong: false });
  const fine = await connect('alice');
  let pings = 0;
  fine.ws.on('ping', () => pings++);
  const { code } = await deaf.waitClosed(6000);
  t.equal(code, 1006, 'terminated, no close frame');
  t.ok(pings >= 1, 'pinged');
  t.same(await fine.request({ type: 'ping', id: 1 }), { type: 'pong', id: 1 }, 'an answering peer stays');
});

t.test('metrics report the sockets and the fan-out', async (t) => {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  for (const name of [
    'ws_sockets_connected',
    'ws_subscriptions',
    'ws_events_delivered_total',
    'ws_delivery_lag_seconds_bucket',
    'realtime_listener_listening 1',
    'realtime_notifies_sent_total',
    'pg_notification_queue_usage',
    'realtime_log_reads_total',
  ]) {
    t.ok(text.includes(name), name);
  }
});

t.test('limits: messages per second and sockets per user close with 4429', async (t) => {
  const limited = await listening(t, { WS_MAX_MESSAGES_PER_SECOND: '2', WS_MAX_CONNECTIONS_PER_USER: '2' }, server.url);
  const c = await SyncClient.connect(limited.wsUrl, { uid: 'dave' });
  const d = await SyncClient.connect(limited.wsUrl, { uid: 'dave' });
  const third = new WebSocket(limited.wsUrl, { headers: { authorization: `Bearer ${token('dave')}` } });
  const thirdMessages: Msg[] = [];
  third.on('message', (data) => thirdMessages.push(JSON.parse(data.toString()) as Msg));
  const thirdClosed = new Promise<number>((resolve) => third.once('close', (code) => resolve(code)));
  t.equal(await thirdClosed, 4429);
  t.match(thirdMessages, [{ type: 'error', code: 'TOO_MANY_CONNECTIONS' }]);
  for (let i = 0; i < 20; i++) c.send({ type: 'ping' });
  t.equal((await c.waitClosed()).code, 4429);
  t.ok(c.messages.some((m) => m.type === 'error' && m.code === 'RATE_LIMITED'));
  await eventually(() => limited.realtime.connections.size === 1, 5000, 'the closed socket to be forgotten');
  const e = await SyncClient.connect(limited.wsUrl, { uid: 'dave' });
  t.equal(e.messages[0]?.type, 'hello', 'a slot is free again');
  d.close();
  e.close();
});

t.test('shutdown closes every socket with 1001 after an error SERVER_DRAINING', async (t) => {
  const draining = await listening(t, {}, server.url);
  const c = await SyncClient.connect(draining.wsUrl, { uid: 'alice' });
  const budgetId = await rest.createBudget('alice');
  const poll = new Rest(draining.base).req('GET', `/events?budgetId=${budgetId}&key=2&wait=30`, 'alice');
  await sleep(200);
  const closing = draining.close();
  t.equal((await c.waitClosed()).code, 1001);
  t.match(c.messages.at(-1), { type: 'error', code: 'SERVER_DRAINING' });
  t.match(await poll, { status: 200, json: { events: [] } }, 'a long-poll is answered at once');
  await closing;
});
