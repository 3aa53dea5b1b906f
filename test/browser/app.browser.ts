/**
 * `npm run test:browser`: the web app of examples/web in headless Chromium, two browser contexts as
 * two people, against a real sync server on another origin (the app's own server, the one
 * `npm run demo` runs, serves it and mints its sign-in tokens). The whole story, through the page:
 * alice makes a budget and an invite link, bob joins, an expense of alice's reaches bob's page live
 * (the delay is printed), bob edits offline while alice edits one of the same expenses, bob comes
 * back and is told about the conflict, both pages end equal to the server's snapshot and summary;
 * bob closes the page offline with an unsent edit, opens the app again offline (service worker),
 * finds the edit (IndexedDB), and it goes out exactly once; the owner removes bob and bob's page
 * says so and drops the budget.
 *
 * `UPDATE_SCREENSHOTS=1 npm run test:browser` also writes the README's pictures to docs/img/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { startWebServer } from '../../examples/web/server.js';
import { freePort } from '../../src/db/embedded.js';
import { TEST_SECRET, auth } from '../helpers/server.js';
import {
  addCategory,
  addExpense,
  editExpense,
  expenseRow,
  fillExpense,
  fromSnapshot,
  servedByWorker,
  type Snapshot,
  shown,
  shownSummary,
  signIn,
  syncState,
  timeToRow,
  waitForState,
} from './app-driver.js';
import { launchBrowser, startSyncServer, until } from './harness.js';

// As in the demo: the sync server allows exactly the app's origin (CORS_ORIGINS).
const webPort = await freePort();
const { baseUrl } = await startSyncServer(t, { CORS_ORIGINS: `http://127.0.0.1:${webPort}` });
const web = await startWebServer({ apiUrl: baseUrl, devAuthSecret: TEST_SECRET, port: webPort });
t.teardown(() => web.close());
const browser = await launchBrowser(t);
const IMG = path.resolve(import.meta.dirname, '../../docs/img');

async function person(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 620, height: 820 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  watch(page);
  return { context, page };
}

/** A page error or a console error fails the test: the app must not throw. */
const problems: string[] = [];
function watch(page: Page): void {
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs each failed request while offline; the app itself logs nothing as error.
    if (m.type() === 'error' && !/ERR_INTERNET_DISCONNECTED|Failed to load resource|WebSocket connection/.test(m.text()))
      problems.push(m.text());
  });
}

async function api<T>(method: string, url: string, uid = 'alice'): Promise<T> {
  const res = await fetch(`${baseUrl}${url}`, { method, headers: auth(uid) });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The top of the page, as a person sees it on opening it. */
async function shot(page: Page): Promise<Buffer> {
  await page.evaluate('window.scrollTo(0, 0)');
  return page.screenshot();
}

/** Side-by-side pictures with captions, for the README. */
async function picture(file: string, shots: { caption: string; png: Buffer }[]): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  const context = await browser.newContext({ viewport: { width: 1280, height: 400 } });
  const page = await context.newPage();
  const figures = shots
    .map((s) => `<figure><img src="data:image/png;base64,${s.png.toString('base64')}"><figcaption>${s.caption}</figcaption></figure>`)
    .join('');
  await page.setContent(
    `<style>body{margin:0;padding:10px;display:flex;gap:12px;background:#dfe4e1;font:15px system-ui,sans-serif}figure{margin:0}img{display:block;border:1px solid #b9c2bd;border-radius:6px}figcaption{padding:6px 2px 0;color:#333}</style>${figures}`,
  );
  await fs.mkdir(IMG, { recursive: true });
  await fs.writeFile(path.join(IMG, file), await page.screenshot({ fullPage: true }));
  await context.close();
}

t.test('two people share a budget in the browser: live, offline, conflicts, reopen offline, removal', async (t) => {
  const alice = await person();
  const bob = await person();
  const a = alice.page;
  const b = bob.page;

  // alice signs in, makes a budget with two categories and two expenses, and an invite link.
  await a.goto(web.origin);
  await signIn(a, 'Alice');
  await waitForState(a, 'live');
  await a.fill('#new-budget input[name=title]', 'Trip to Lisbon');
  await a.click('#new-budget button[type=submit]');
  await a.waitForSelector('.budget h1.title:text("Trip to Lisbon")');
  const budgetId = (await a.getAttribute('.budget', 'data-budget')) ?? '';
  await addCategory(a, 'Food', '300');
  await addCategory(a, 'Transport', '120');
  await addExpense(a, { date: '2026-05-02', category: 'Food', amount: '48', note: 'Dinner' });
  await addExpense(a, { date: '2026-05-02', category: 'Transport', amount: '12', note: 'Metro' });
  await a.click('#invite');
  const link = await a.inputValue('.invite-link');
  t.match(link, new RegExp(`^${web.origin}/#/join/`), `an invite link: ${link.slice(0, 40)}…`);

  // bob opens the link, signs in, joins; each sees the other.
  await b.goto(link);
  await signIn(b, 'Bob');
  await b.waitForSelector(`.budget[data-budget="${budgetId}"] h1.title:text("Trip to Lisbon")`);
  await a.waitForSelector('li[data-participant="bob"]');
  await b.waitForSelector('li[data-participant="alice"]');
  await waitForState(b, 'live');
  t.match(await b.textContent('.budget .muted'), /Shared by Alice/, "bob's page: alice's budget");

  // alice adds an expense; bob's page shows it. The delay is measured in the browser, where both
  // pages share one clock: from alice's click to the row appearing in bob's DOM.
  await fillExpense(a, { date: '2026-05-03', category: 'Food', amount: '9.50', note: 'Pastéis de nata' });
  const delay = await timeToRow(a, '#add-expense button[type=submit]', b, 'Pastéis de nata');
  await a.click('#add-expense button[type=submit]');
  await expenseRow(b, 'Pastéis de nata').waitFor({ timeout: 20_000 });
  const ms = await delay();
  t.comment(`alice's click → bob's page: ${ms.toFixed(1)} ms`);
  t.ok(ms >= 0, "alice's expense reached bob's page");
  await b.waitForSelector('table.categories[data-source="server"]');
  await a.waitForSelector('table.categories[data-source="server"]');
  const live = [await shot(a), await shot(b)];
  await picture('two-people.png', [
    { caption: 'Alice’s window', png: live[0] as Buffer },
    { caption: 'Bob’s window: Alice’s expense arrived live', png: live[1] as Buffer },
  ]);

  // bob goes offline (the browser's own switch): two edits and one new expense wait on his device.
  await bob.context.setOffline(true);
  await waitForState(b, 'offline');
  await editExpense(b, 'Dinner', { amount: '52' });
  await editExpense(b, 'Metro', { note: 'Metro day pass', amount: '6.80' });
  await addExpense(b, { date: '2026-05-03', category: 'Transport', amount: '25', note: 'Taxi' });
  await waitForState(b, 'offline', 3);
  t.equal(await b.locator('.pending li[data-event]').count(), 3, 'bob sees three unsent changes');
  t.equal(await b.getAttribute('table.categories', 'data-source'), 'local', 'offline, the sums are worked out on the device');
  // Meanwhile alice changes the same dinner.
  await editExpense(a, 'Dinner', { amount: '50' });
  await waitForState(a, 'live', 0);
  const offline = await shot(b);

  // bob comes back: his dinner edit conflicts and is explained; the other two go through.
  await bob.context.setOffline(false);
  const notice = b.locator('.notice[data-kind="conflict"]');
  await notice.waitFor({ timeout: 30_000 });
  const said = (await notice.locator('.notice-text').textContent()) ?? '';
  t.match(said, /Your change to the expense “Dinner” was not saved: someone changed it first/, `bob is told: ${said}`);
  t.match(said, /You wanted: amount 52\.00.*It now reads: 50\.00/, 'what he wanted and what it is now');
  await waitForState(b, 'live', 0);
  await b.waitForSelector('table.categories[data-source="server"]');
  await picture('offline-conflict.png', [
    { caption: 'Bob offline: his changes wait on his device', png: offline },
    { caption: 'Back online: the changes went out, the conflict is explained', png: await shot(b) },
  ]);

  // Both pages show exactly the server's state.
  const converged = async () => {
    const snapshot = fromSnapshot(await api<Snapshot>('GET', `/budgets/${budgetId}/snapshot`));
    const summary = await api<{ categories: { categoryId: string; spent: string; remaining: string }[] }>(
      'GET',
      `/budgets/${budgetId}/summary`,
    );
    const sums = {
      source: 'server',
      categories: summary.categories
        .map((c) => ({ id: c.categoryId, spent: c.spent, remaining: c.remaining }))
        .sort((x, y) => x.id.localeCompare(y.id)),
    };
    const pages = await Promise.all([a, b].map(async (p) => ({ shown: await shown(p), sums: await shownSummary(p) })));
    return { snapshot, sums, pages };
  };
  const end = await until('both pages to show the server state', converged, (s) =>
    s.pages.every((p) => JSON.stringify(p) === JSON.stringify({ shown: s.snapshot, sums: s.sums })),
  );
  t.same(end.pages[0], { shown: end.snapshot, sums: end.sums }, "alice's page is the server's snapshot and summary");
  t.same(end.pages[1], { shown: end.snapshot, sums: end.sums }, "bob's page too");
  t.same(
    end.snapshot.expenses.map((e) => `${e.amount} ${e.note}`).sort(),
    ['6.80 Metro day pass', '25.00 Taxi', '50.00 Dinner', '9.50 Pastéis de nata'].sort(),
    "alice's dinner, bob's metro and taxi",
  );

  // "Use mine": bob's refused change, applied again on top of alice's.
  await notice.locator('button', { hasText: 'Use mine' }).click();
  await a.locator(`tr[data-expense] td.amount`, { hasText: '52.00' }).waitFor();
  t.pass("bob's change reached alice's page after he chose his");

  // bob edits offline and closes the page before it could be sent; the app opens again offline.
  await bob.context.setOffline(true);
  await waitForState(b, 'offline');
  await editExpense(b, 'Taxi', { amount: '27.50' });
  await waitForState(b, 'offline', 1);
  const eventId = (await b.getAttribute('.pending li[data-event]', 'data-event')) ?? '';
  t.ok(eventId, `the unsent edit is ${eventId}`);
  await b.waitForSelector('#offline-ready[data-ready="yes"]');
  await b.close();
  const again = await bob.context.newPage();
  watch(again);
  const frames: string[] = [];
  again.on('websocket', (ws) =>
    ws.on('framesent', (f) => typeof f.payload === 'string' && f.payload.includes(eventId) && frames.push(f.payload)),
  );
  await again.goto(`${web.origin}/#/b/${budgetId}`);
  await signIn(again, 'Bob', true);
  await waitForState(again, 'offline', 1);
  await expenseRow(again, 'Taxi').locator('td.amount', { hasText: '27.50' }).waitFor();
  t.equal(await again.getAttribute('.pending li[data-event]', 'data-event'), eventId, 'reopened offline: the edit is there, still unsent');
  t.equal(await servedByWorker(again), true, 'the page came from the service worker');

  await bob.context.setOffline(false);
  await waitForState(again, 'live', 0);
  await a.locator('tr[data-expense] td.amount', { hasText: '27.50' }).waitFor();
  const log = await api<{ events: { eventId: string; actorId: string; record: { amount: string } }[] }>(
    'GET',
    `/events?budgetId=${budgetId}&key=0&count=500&wait=0`,
  );
  const sent = log.events.filter((e) => e.eventId === eventId);
  t.equal(sent.length, 1, "the server's log has the edit once");
  t.match(sent[0], { actorId: 'bob', record: { amount: '27.50' } }, "bob's taxi edit");
  t.equal(frames.length, 1, 'and the reopened page sent it once');

  // The owner removes bob: his page says so and the budget leaves his device.
  await a.locator('li[data-participant="bob"] button.remove').click();
  const removed = again.locator('.notice[data-kind="removed"]');
  await removed.waitFor({ timeout: 20_000 });
  t.match(await removed.textContent(), /Alice removed you from “Trip to Lisbon”/, "bob's page says so");
  await again.waitForSelector('#budgets');
  await until(
    'the budget to leave bob’s list',
    () => again.locator(`li[data-budget="${budgetId}"]`).count(),
    (n) => n === 0,
  );
  await a.waitForSelector('li[data-participant="bob"]', { state: 'detached' });
  t.same(await syncState(again), { state: 'live', pending: 0 }, 'bob is still live, with nothing unsent');
  t.same(problems, [], 'no page errors');
});
