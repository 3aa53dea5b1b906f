/**
 * The postgres driver repairs (scripts/patch-postgres.mjs, run by postinstall), each reproduced:
 * a connection whose socket closes while a small write waits for its `setImmediate` must come back
 * after reconnecting, not hang on every later query (porsager/postgres#1208); a failing array-types
 * query at connection start must not be an unhandled rejection that kills the process (#1192).
 * Both were met by the convergence suite around a Postgres outage.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import postgres from 'postgres';
import t from 'tap';
import { createTestDb } from '../helpers/db.js';

const MARKERS = ['/* budget-sync: nextWrite reset fix */', '/* budget-sync: fetchArrayTypes rejection fix */'];

t.test('every build of the installed driver carries the repair, and re-running the script changes nothing', async (t) => {
  const entry = createRequire(import.meta.url).resolve('postgres');
  const root = path.resolve(path.dirname(entry), '..', '..'); // cjs/src/index.js → package root
  t.equal(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name, 'postgres');
  const builds = ['src', 'cjs/src', 'cf/src'].map((d) => path.join(root, d, 'connection.js')).filter((f) => fs.existsSync(f));
  t.ok(builds.length >= 2, 'found the ESM and CommonJS builds');
  const before = builds.map((f) => fs.readFileSync(f, 'utf8'));
  for (const [i, text] of before.entries()) {
    for (const m of MARKERS) t.ok(text.includes(m), `${path.relative(root, builds[i] as string)} has ${m}`);
    t.equal(
      text.match(/chunk = nextWriteTimer = null/g)?.length,
      4,
      'timer and chunk reset in nextWrite, its guard, terminate() and closed()',
    );
  }
  await promisify(execFile)(process.execPath, ['scripts/patch-postgres.mjs']);
  t.same(
    builds.map((f) => fs.readFileSync(f, 'utf8')),
    before,
    'idempotent',
  );
});

t.test('a connection closed with a write pending reconnects and answers again', async (t) => {
  const url = new URL(await createTestDb(t));
  const sockets: net.Socket[] = [];
  // `socket` is a documented option the type definitions of 3.4.9 leave out.
  const options: Record<string, unknown> = {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
    // Our own sockets, so the test can close one at the exact moment that matters.
    socket: () =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(Number(url.port), url.hostname);
        s.once('error', reject);
        s.once('connect', () => resolve(s));
        sockets.push(s);
      }),
  };
  const sql = postgres(url.toString(), options as postgres.Options<Record<string, never>>);
  t.teardown(() => sql.end({ timeout: 1 }));
  t.same(await sql`SELECT 1 AS n`, [{ n: 1 }], 'first connection works');

  // A query's small write is batched behind setImmediate; the socket's 'close' is delivered before
  // that immediate runs (in the wild: Postgres sends its last bytes and closes within one poll
  // phase). The test delivers 'close' in that window itself, then really closes the socket.
  const pending = sql`SELECT 2 AS n`.catch((e: Error) => e);
  for (let i = 0; i < 20; i++) await null; // the query is handed to the connection a few microtasks later
  const first = sockets[0] as net.Socket;
  first.emit('close', false);
  first.destroy();
  t.type(await pending, Error, 'the query caught by the close fails (the server retries such errors)');

  // Unpatched, the stale timer means no small write is ever flushed again on this connection: every
  // reconnect's StartupMessage stays buffered and connect_timeout fires again and again. Bounded, so
  // a regression fails instead of hanging.
  const answer = await Promise.race([
    sql`SELECT 3 AS n`.catch((e: Error) => e.message),
    new Promise((r) => setTimeout(() => r('no answer within 10 s'), 10_000)),
  ]);
  t.same(answer, [{ n: 3 }], 'the pool answers again after reconnecting');
  t.ok(sockets.length >= 2, 'on a new socket');
});

t.test('a failing array-types query at connection start is not an unhandled rejection', async (t) => {
  const url = await createTestDb(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  // A 1 ms statement_timeout from the startup packet on cancels the driver's own pg_type query,
  // the first statement of every new connection (the way #1192 reproduces it).
  const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { statement_timeout: 1 } });
  t.teardown(() => sql.end({ timeout: 1 }));
  const outcome = await sql`SELECT 1 AS n`.then(
    (r) => r,
    (e: Error) => e,
  );
  await new Promise((r) => setTimeout(r, 200)); // let a dropped rejection surface
  t.ok(Array.isArray(outcome) || outcome instanceof Error, 'the query itself settles');
  t.same(unhandled.map(String), [], 'no unhandled rejection');
});
