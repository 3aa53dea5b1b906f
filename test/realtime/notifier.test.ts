/**
 * The notifier's connection and send: an autocommit statement per send (no BEGIN/SET LOCAL/COMMIT
 * round trips) on a session that commits without waiting for the WAL flush (src/realtime/notifier.ts).
 */
import t from 'tap';
import pino from 'pino';
import { createSql } from '../../src/db/sql.js';
import { Metrics } from '../../src/metrics.js';
import { Notifier, createNotifierSql } from '../../src/realtime/notifier.js';
import { decodeNotice } from '../../src/realtime/notify-payload.js';
import { createTestDb } from '../helpers/db.js';
import { uuid } from '../helpers/server.js';

const url = await createTestDb(t);

t.test('the notifier session commits asynchronously; a send outside any explicit transaction is delivered', async (t) => {
  const notifierSql = createNotifierSql(url);
  const other = createSql(url, { max: 1 });
  t.teardown(() => Promise.all([notifierSql.end({ timeout: 1 }), other.end({ timeout: 1 })]));
  const [own] = await notifierSql<{ s: string }[]>`SELECT current_setting('synchronous_commit') AS s`;
  t.equal(own?.s, 'off', 'the notifier session');
  const [pool] = await other<{ s: string }[]>`SELECT current_setting('synchronous_commit') AS s`;
  t.equal(pool?.s, 'on', 'other pools keep the durable default');

  const received: string[] = [];
  const listening = await other.listen('notifier_test', (payload) => received.push(payload));
  t.teardown(() => listening.unlisten());
  const metrics = new Metrics();
  const notifier = new Notifier(notifierSql, 'notifier_test', 'instance-a', metrics, pino({ level: 'silent' }));
  const budgetId = uuid();
  notifier.publish([{ budgetId, sequence: 7, committedAt: Date.now() }], [{ userId: 'u1', budgetId, change: 'added' }]);
  await notifier.close();
  for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(received.length, 1, 'one payload');
  t.match(decodeNotice(received[0] as string), {
    instanceId: 'instance-a',
    pointers: [{ budgetId, sequence: 7 }],
    membership: [{ userId: 'u1', budgetId, change: 'added' }],
  });
  t.equal((await metrics.notifiesSent.get()).values[0]?.value, 1);
});
