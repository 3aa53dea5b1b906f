/**
 * Killed for real: a device process with a SqliteStore is SIGKILLed after the server applied its
 * push and before the answer reached its store. Reopened, the store still holds the edit as
 * unconfirmed; the next run re-sends it under the same eventId, the server answers `duplicate`,
 * and the edit exists once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { FetchLike } from '../../packages/client/src/http.js';
import { SqliteStore } from '../../packages/client/src/node.js';
import { childEnv } from '../helpers/child-env.js';
import { sqliteFile } from './fixtures/sqljs.js';
import { harness, localState, serverState, token } from './fixtures/support.js';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'kill-child.ts');

t.test('SIGKILL between a push and its result: re-sent after restart, answered duplicate, applied once', async (t) => {
  const h = await harness(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'budget-sync-kill-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'device.db');
  const uid = 'killed-device';

  // The device's first life: a budget with a category, synced.
  const before = h.client(uid, { store: await SqliteStore.open(await sqliteFile(file)) });
  await before.start();
  const { budgetId } = await before.createBudget({ title: 'Home' });
  const food = await before.categoryAdd(budgetId, { name: 'Food', allocate: '300' });
  await before.flush();
  await before.stop();

  // Second life, in its own process: edit, push, killed once the server has answered.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...childEnv(),
      KILL_CHILD: JSON.stringify({ file, baseUrl: h.baseUrl, token: token(uid), uid, budgetId, categoryId: food.recordId }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    // tsx compiles the client on start: seconds when idle, far more on a loaded machine.
    const timer = setTimeout(() => reject(new Error(`the device never pushed: ${out} ${err}`)), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ANSWERED')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`the device exited early: ${out} ${err}`)));
  });
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL', 'the device process was killed');
  const eventId = /QUEUED (\S+)/.exec(out)?.[1];
  t.ok(eventId, 'it had queued the edit');

  const onServer = await serverState(h.api, uid, budgetId);
  t.match(onServer.categories[0], { name: 'Renamed', version: 2 }, 'the server applied the push');

  // Third life: the store as the kill left it.
  const store = await SqliteStore.open(await sqliteFile(file));
  const pending = await store.outbox();
  t.same(
    pending.map((e) => [e.event.eventId, e.acceptedSequence]),
    [[eventId, undefined]],
    'the edit is still in the outbox, unconfirmed',
  );
  t.equal((await store.list('local', 'category', budgetId))[0]?.name, 'Renamed', 'and still shows');

  const gate = { open: false };
  const held: FetchLike = async (url, init) => {
    // The stream waits until the re-send was answered (it would otherwise confirm the edit first).
    while (!gate.open && init.method === 'GET' && new URL(url).pathname === '/events') await new Promise((r) => setTimeout(r, 20));
    return fetch(url, init);
  };
  const after = h.client(uid, { store, fetch: held });
  const confirmed = new Promise<{ status: string; eventId: string }>((resolve) =>
    after.on('confirmed', ({ status, event }) => resolve({ status, eventId: event.eventId })),
  );
  await after.start();
  t.same(await confirmed, { status: 'duplicate', eventId }, 'the re-send is answered duplicate');
  gate.open = true;
  await after.flush();
  const final = await serverState(h.api, uid, budgetId);
  t.match(final.categories[0], { name: 'Renamed', version: 2 }, 'applied once: still version 2');
  const log = await h.api.req('GET', `/events?budgetId=${budgetId}&key=0&count=500&wait=0`, uid);
  t.equal(
    (log.json() as { events: { eventId: string }[] }).events.filter((e) => e.eventId === eventId).length,
    1,
    'one event in the stream',
  );
  t.same(await localState(after, budgetId), final, 'device and server agree');
  t.same(await store.outbox(), [], 'the outbox is empty');
});
