/**
 * The pool and a dying connection: a socket that closes with a query pending fails that query with
 * a retryable error and the pool answers the next one on a new socket; a statement that fails while
 * a connection starts is never an unhandled rejection (Node would exit). Both hung or crashed the
 * convergence suite around a Postgres outage on the driver's previous major (porsager/postgres#1208,
 * #1192); these tests keep the behaviour, whatever the driver's internals.
 */
import net from 'node:net';
import postgres from 'postgres';
import t from 'tap';
import { isUnavailable } from '../../src/db/pg-errors.js';
import { createTestDb } from '../helpers/db.js';

t.test('a connection closed with a query pending reconnects and answers again', async (t) => {
  const url = new URL(await createTestDb(t));
  const sockets: net.Socket[] = [];
  const sql = postgres(url.toString(), {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
    // Our own sockets, so the test can close one at the exact moment that matters.
    socket: () =>
      new Promise<postgres.SocketLike>((resolve, reject) => {
        const s = net.connect(Number(url.port), url.hostname);
        s.once('error', reject);
        // net.Socket's overloaded `end` does not match the driver's structural type.
        s.once('connect', () => resolve(s as unknown as postgres.SocketLike));
        sockets.push(s);
      }),
  });
  t.teardown(() => sql.end({ timeout: 1 }));
  t.same(await sql`SELECT 1 AS n`, [{ n: 1 }], 'first connection works');

  // The socket's 'close' arrives while the query is being handed to the connection (in the wild:
  // Postgres sends its last bytes and closes within one poll phase); the test delivers it in that
  // window itself, then really closes the socket.
  const pending = sql`SELECT 2 AS n`.catch((e: Error) => e);
  for (let i = 0; i < 20; i++) await null;
  const first = sockets[0] as net.Socket;
  first.emit('close', false);
  first.destroy();
  const failed = await pending;
  t.type(failed, Error, 'the query caught by the close fails');
  t.ok(isUnavailable(failed), `with an error the server answers 503 and clients retry (${(failed as { code?: string }).code})`);

  // Bounded, so a pool that never sends again fails instead of hanging.
  const answer = await Promise.race([
    sql`SELECT 3 AS n`.catch((e: Error) => e.message),
    new Promise((r) => setTimeout(() => r('no answer within 10 s'), 10_000).unref()),
  ]);
  t.same(answer, [{ n: 3 }], 'the pool answers again after reconnecting');
  t.ok(sockets.length >= 2, 'on a new socket');
});

t.test('a statement failing as a connection starts is not an unhandled rejection', async (t) => {
  const url = await createTestDb(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  // A 1 ms statement_timeout from the startup packet on cancels whatever the connection runs first,
  // the driver's own type lookups included; a text[] parameter makes the pool want array types.
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 1 } });
  t.teardown(() => sql.end({ timeout: 1 }));
  const outcome = await sql`SELECT cardinality(${['a', 'b']}::text[]) AS n, pg_sleep(0.01)`.then(
    (r) => r,
    (e: Error) => e,
  );
  await new Promise((r) => setTimeout(r, 200)); // let a dropped rejection surface
  t.ok(outcome instanceof Error, 'the query itself fails (statement timeout)');
  t.same(unhandled.map(String), [], 'no unhandled rejection');
});
