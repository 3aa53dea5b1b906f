/**
 * `npm run test:browser`: the client package in headless Chromium, in a page served from another
 * origin than the sync server (CORS and the socket's Origin check in the path). It signs in with a
 * dev token, syncs a budget over the socket and over long-poll, keeps it in IndexedDB, and after a
 * reload finds records, cursor and unsent edits still there; a page killed between a push and its
 * answer re-sends after the reload and the server answers `duplicate`. A page on an origin outside
 * CORS_ORIGINS gets nothing. Needs Chromium or Chrome installed (see test/browser/harness.ts).
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { SyncClient } from '../../packages/client/src/node.js';
import { token } from '../helpers/server.js';
import { bundle, launchBrowser, serveStatic, startSyncServer, until } from './harness.js';
import type { OpenOptions, PageSync } from './page.js';

const html = '<!doctype html><meta charset="utf-8"><title>budget-sync browser test</title><script type="module" src="/page.js"></script>';
const site = await serveStatic(t, { '/index.html': html, '/page.js': await bundle('test/browser/page.ts') });
const { baseUrl } = await startSyncServer(t, { CORS_ORIGINS: site.origin });
const browser = await launchBrowser(t);

type Sync = { sync: PageSync };
/** Runs `fn` in the page with its `window.sync`. */
const inPage = <A, R>(page: Page, fn: (sync: PageSync, arg: A) => Promise<R> | R, arg: A): Promise<R> =>
  page.evaluate(
    // playwright sends the function's source; it runs in the page with `window.sync`.
    ([source, a]) => new Function('sync', 'arg', `return (${source})(sync, arg)`)((globalThis as unknown as Sync).sync, a),
    [fn.toString(), arg] as const,
  ) as Promise<R>;

t.test('a page on another origin syncs through CORS, keeps its budget in IndexedDB across reloads', async (t) => {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => 'sync' in globalThis);
  const alice: OpenOptions = { baseUrl, token: token('alice'), transport: 'socket', db: 'budget-sync-alice' };

  // Over the socket: create a budget, then another device's edit arrives live.
  await inPage(page, (s, o) => s.open(o), alice);
  await until(
    'the socket',
    () => inPage(page, (s) => s.log, null),
    (l) => l.includes('connected socket'),
  );
  const budgetId = await inPage(
    page,
    async (s) => {
      const c = s.client();
      const { budgetId } = await c.createBudget({ title: 'Household' });
      await c.categoryAdd(budgetId, { name: 'Food', allocate: '300' });
      await c.flush();
      return budgetId;
    },
    null,
  );
  const bob = new SyncClient({ baseUrl, getToken: () => token('bob'), transport: 'longpoll', backoff: { baseMs: 50, capMs: 500 } });
  t.teardown(() => bob.stop());
  await bob.start();
  const invite = await inPage(page, (s, id) => s.client().createInvite(id), budgetId);
  await bob.join(invite.token);
  const food = (await bob.categories(budgetId))[0];
  t.equal(food?.name, 'Food', "Node device got the page's category");
  await bob.expenseAdd(budgetId, { categoryId: food?.id ?? '', date: '2025-05-06', amount: '20', note: 'socket' });
  await bob.flush();
  await until(
    'the live expense',
    () => inPage(page, (s, id) => s.state(id), budgetId),
    (st) => st.expenses.includes('20.00 socket'),
  );
  t.pass('a change from another device arrived over the socket');

  // Over long-poll, same store.
  await inPage(page, (s) => s.stop(), null);
  await inPage(page, (s, o) => s.open(o), { ...alice, transport: 'longpoll' as const });
  await bob.expenseAdd(budgetId, { categoryId: food?.id ?? '', date: '2025-05-07', amount: '30', note: 'longpoll' });
  await bob.flush();
  await until(
    'the polled expense',
    () => inPage(page, (s, id) => s.state(id), budgetId),
    (st) => st.expenses.includes('30.00 longpoll'),
  );
  await inPage(
    page,
    async (s, id) => {
      await s.client().categoryAdd(id, { name: 'Travel', allocate: '100' });
      await s.client().flush();
    },
    budgetId,
  );
  await bob.flush();
  t.same((await bob.categories(budgetId)).map((c) => c.name).sort(), ['Food', 'Travel'], 'and a page edit went out');

  // Offline edits, then a reload: records, cursor and the unsent edits are still there.
  await inPage(page, (s) => s.stop(), null);
  await inPage(
    page,
    async (s, [id, categoryId]) => {
      await s.client().expenseAdd(id, { categoryId, date: '2025-05-08', amount: '5', note: 'offline' });
      await s.client().budgetEdit(id, { title: 'Household 2026' });
    },
    [budgetId, food?.id ?? ''] as const,
  );
  const before = await inPage(page, (s, id) => s.state(id), budgetId);
  t.equal(before.outbox.length, 2, 'two edits wait in the outbox');
  t.ok((before.cursor ?? 0) > 0, `the cursor is ${before.cursor}`);
  await page.reload();
  await page.waitForFunction(() => 'sync' in globalThis);
  await inPage(page, (s, db) => s.openStore(db), alice.db);
  const after = await inPage(page, (s, id) => s.state(id), budgetId);
  t.same(after, before, 'after the reload: the same records, cursor and unsent edits');
  t.equal(after.budget, 'Household 2026', 'the unsent edit still shows');

  // Online again: the edits go out once.
  await inPage(page, (s, o) => s.open(o), alice);
  await inPage(page, (s) => s.client().flush(), null);
  await bob.flush();
  t.equal((await bob.budget(budgetId))?.title, 'Household 2026', 'the edits reached the other device');
  t.same((await bob.expenses(budgetId)).map((e) => e.note).sort(), ['longpoll', 'offline', 'socket'], 'each once');
  const synced = await inPage(page, (s, id) => s.state(id), budgetId);
  t.same(synced.outbox, [], 'the outbox is empty');

  // Killed between a push and its answer: the page is reloaded with the answer never written.
  await inPage(page, (s) => s.stop(), null);
  await page.reload();
  await page.waitForFunction(() => 'sync' in globalThis);
  await inPage(page, (s, o) => s.open(o), { ...alice, transport: 'longpoll' as const, network: 'die-after-push' as const });
  const travel = (await bob.categories(budgetId)).find((c) => c.name === 'Travel');
  await inPage(page, (s, [id, cat]) => s.client().categoryEdit(id, cat, { allocate: '150' }), [budgetId, travel?.id ?? ''] as const);
  await until(
    'the push to be answered',
    () => inPage(page, (s) => s.log, null),
    (l) => l.includes('push answered'),
  );
  await page.reload();
  await page.waitForFunction(() => 'sync' in globalThis);
  await inPage(page, (s, db) => s.openStore(db), alice.db);
  const killed = await inPage(page, (s, id) => s.state(id), budgetId);
  t.equal(killed.outbox.length, 1, 'after the kill the edit is in the outbox');
  t.equal(killed.outbox[0]?.accepted, null, 'unconfirmed');
  await inPage(page, (s, o) => s.open(o), { ...alice, transport: 'longpoll' as const, network: 'hold-stream' as const });
  const log = await until(
    'the re-send',
    () => inPage(page, (s) => s.log, null),
    (l) => l.some((x) => x.startsWith('confirmed')),
  );
  t.ok(log.includes(`confirmed duplicate ${killed.outbox[0]?.eventId}`), 'the re-send is answered duplicate');
  await inPage(page, (s) => s.client().flush(), null);
  await bob.flush();
  const cat = (await bob.categories(budgetId)).find((c) => c.name === 'Travel');
  t.match(cat, { allocate: '150.00', version: 2 }, 'applied once');
  await inPage(page, (s) => s.stop(), null);
});

t.test('a page on an origin outside CORS_ORIGINS gets nothing', async (t) => {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  // The same page from `localhost`: another origin than the 127.0.0.1 one the server allows.
  await page.goto(`http://localhost:${site.port}/`);
  await page.waitForFunction(() => 'sync' in globalThis);
  const outcome = await page.evaluate(
    async ([base, bearer]) => {
      const http = await fetch(`${base}/user`, { headers: { authorization: `Bearer ${bearer}` } }).then(
        (r) => `status ${r.status}`,
        (e: Error) => e.name,
      );
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${base.replace('http', 'ws')}/sync`, ['budget-sync.v1', `bearer.${bearer}`]);
        ws.onopen = () => resolve('open');
        ws.onclose = (ev) => resolve(`closed ${ev.code}`);
      });
      return { http, socket };
    },
    [baseUrl, token('mallory')] as const,
  );
  t.same(outcome, { http: 'TypeError', socket: 'closed 1006' }, 'the fetch is blocked and the socket refused');
});
