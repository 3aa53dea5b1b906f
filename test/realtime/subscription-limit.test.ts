/**
 * WS_MAX_SUBSCRIPTIONS_PER_SOCKET on a real socket: past the cap a `subscribe` answers
 * `error TOO_MANY_SUBSCRIPTIONS` and changes nothing; the socket stays open and its subscriptions go on.
 */
import t from 'tap';
import { ev } from '../helpers/api.js';
import { SyncClient } from './fixtures/client.js';
import { Rest, listening } from './fixtures/harness.js';

const server = await listening(t, { WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '2' });
const rest = new Rest(server.base);

t.test('a third subscription on a socket capped at two is refused; re-subscribing and swapping are not', async (t) => {
  const [a, b, c] = [await rest.createBudget('alice'), await rest.createBudget('alice'), await rest.createBudget('alice')];
  const client = await SyncClient.connect(server.wsUrl, { uid: 'alice' });
  t.teardown(() => client.close());
  t.match(await client.subscribe(a, 0), { type: 'subscribed', budgetId: a });
  t.match(await client.subscribe(b, 0), { type: 'subscribed', budgetId: b });

  const refused = await client.request({ type: 'subscribe', budgetId: c, after: 0 });
  t.match(refused, { type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS' });
  t.match(refused.message, /2/, 'the message names the cap');

  t.match(await client.subscribe(a, 2), { type: 'subscribed', budgetId: a }, 'subscribing again to a followed budget replaces it');
  t.match(await client.request({ type: 'unsubscribe', budgetId: b }), { type: 'unsubscribed', budgetId: b });
  t.match(await client.subscribe(c, 0), { type: 'subscribed', budgetId: c }, 'after an unsubscribe there is room');

  await rest.push('alice', [ev.categoryAdd(a)]);
  await client.reach(a, 3);
  t.equal(client.ws.readyState, client.ws.OPEN, 'the socket stays open');
  t.equal(client.closeCode, undefined);
});
