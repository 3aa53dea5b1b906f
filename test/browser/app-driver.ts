/**
 * Drives the web app of examples/web the way a person does — fills its forms, clicks its buttons —
 * and reads what its page shows (through the app's `data-*` hooks), for app.browser.ts. Every wait
 * is on the page's state, never a sleep.
 */
import type { Page } from 'playwright-core';

// What the functions run inside the page use of its globals (this program has no DOM library;
// playwright sends the functions' source to the page, where the real ones answer).
interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
  addEventListener(type: string, fn: () => void, options: object): void;
}
declare const document: El & { body: El };
declare const window: Record<string, number | undefined>;
declare const navigator: { serviceWorker: { controller: object | null } };
declare class MutationObserver {
  constructor(fn: (records: unknown, observer: MutationObserver) => void);
  observe(target: El, options: object): void;
  disconnect(): void;
}

export interface Shown {
  title: string;
  categories: { id: string; name: string; allocate: string }[];
  expenses: { id: string; date: string; category: string; amount: string; note: string }[];
  people: { userId: string; role: string }[];
}

export interface ShownSummary {
  source: string;
  categories: { id: string; spent: string; remaining: string }[];
}

const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

/** What the open budget page shows, in the shape of `fromSnapshot`. */
export async function shown(page: Page): Promise<Shown> {
  const raw = await page.evaluate(() => {
    const text = (row: El, sel: string) => row.querySelector(sel)?.textContent?.trim() ?? '';
    return {
      title: document.querySelector('.budget h1.title')?.textContent ?? '',
      categories: [...document.querySelectorAll('tr[data-category]')].map((r) => ({
        id: r.dataset.category ?? '',
        name: text(r, 'td.name .text'),
        allocate: text(r, 'td.allocate'),
      })),
      expenses: [...document.querySelectorAll('tr[data-expense]')].map((r) => ({
        id: r.dataset.expense ?? '',
        date: text(r, 'td.date'),
        category: text(r, 'td.category'),
        amount: text(r, 'td.amount'),
        note: text(r, 'td.note .text'),
      })),
      people: [...document.querySelectorAll('li[data-participant]')].map((r) => ({
        userId: r.dataset.participant ?? '',
        role: text(r, '.role'),
      })),
    };
  });
  return {
    ...raw,
    categories: byId(raw.categories),
    expenses: byId(raw.expenses),
    people: [...raw.people].sort((a, b) => a.userId.localeCompare(b.userId)),
  };
}

export interface Snapshot {
  budget: { title: string };
  categories: { id: string; name: string; allocate: string }[];
  expenses: { id: string; categoryId: string; date: string; amount: string; note: string | null }[];
  participants: { userId: string; role: string }[];
}

/** The server's snapshot in the shape of `shown`. */
export function fromSnapshot(s: Snapshot): Shown {
  const names = new Map(s.categories.map((c) => [c.id, c.name]));
  return {
    title: s.budget.title,
    categories: byId(s.categories.map((c) => ({ id: c.id, name: c.name, allocate: c.allocate }))),
    expenses: byId(
      s.expenses.map((e) => ({ id: e.id, date: e.date, category: names.get(e.categoryId) ?? '', amount: e.amount, note: e.note ?? '' })),
    ),
    people: s.participants.map((p) => ({ userId: p.userId, role: p.role })).sort((a, b) => a.userId.localeCompare(b.userId)),
  };
}

export async function shownSummary(page: Page): Promise<ShownSummary> {
  return page.evaluate(() => ({
    source: document.querySelector('table.categories')?.dataset.source ?? '',
    categories: [...document.querySelectorAll('tr[data-category]')]
      .map((r) => ({
        id: r.dataset.category ?? '',
        spent: r.querySelector('td.spent')?.textContent ?? '',
        remaining: r.querySelector('td.remaining')?.textContent ?? '',
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  }));
}

/** The header's sync badge: `live` / `reconnecting` / `offline` / `connecting`, and unsent edits. */
export async function syncState(page: Page): Promise<{ state: string; pending: number }> {
  const el = page.locator('#sync-state');
  return { state: (await el.getAttribute('data-state')) ?? '', pending: Number((await el.getAttribute('data-pending')) ?? -1) };
}

export async function waitForState(page: Page, state: string, pending?: number): Promise<void> {
  const sel = `#sync-state[data-state="${state}"]${pending === undefined ? '' : `[data-pending="${pending}"]`}`;
  await page.waitForSelector(sel, { timeout: 20_000 });
}

/** Signs in on the app's sign-in screen: a new name, or a person who used this browser before. */
export async function signIn(page: Page, name: string, known = false): Promise<void> {
  if (known) await page.click(`button[data-account="${name.toLowerCase()}"]`);
  else {
    await page.fill('form.signin input[name=name]', name);
    await page.click('form.signin button[type=submit]');
  }
  await page.waitForSelector('#sync-state:not([hidden])');
}

export const expenseRow = (page: Page, note: string) =>
  page.locator('tr[data-expense]', { has: page.locator('td.note .text', { hasText: note }) });

export async function addCategory(page: Page, name: string, allocate: string): Promise<void> {
  await page.fill('#add-category input[name=name]', name);
  await page.fill('#add-category input[name=allocate]', allocate);
  await page.click('#add-category button[type=submit]');
  await page.locator('tr[data-category] td.name .text', { hasText: name }).waitFor();
}

export async function addExpense(page: Page, e: { date: string; category: string; amount: string; note: string }): Promise<void> {
  await fillExpense(page, e);
  await page.click('#add-expense button[type=submit]');
  await expenseRow(page, e.note).waitFor();
}

/** Fills the add-expense form without sending it. */
export async function fillExpense(page: Page, e: { date: string; category: string; amount: string; note: string }): Promise<void> {
  await page.fill('#add-expense input[name=date]', e.date);
  await page.selectOption('#add-expense select[name=categoryId]', { label: e.category });
  await page.fill('#add-expense input[name=amount]', e.amount);
  await page.fill('#add-expense input[name=note]', e.note);
}

/** Edits an expense in its row: Edit, change the fields, Save; waits for the row to show the change. */
export async function editExpense(page: Page, note: string, changes: { amount?: string; note?: string }): Promise<void> {
  const row = expenseRow(page, note);
  const id = await row.getAttribute('data-expense');
  await row.locator('button.edit').click();
  const editing = page.locator(`tr.editing[data-expense="${id}"]`);
  if (changes.amount !== undefined) await editing.locator('input[name=amount]').fill(changes.amount);
  if (changes.note !== undefined) await editing.locator('input[name=note]').fill(changes.note);
  await editing.locator('button.save').click();
  const after = page.locator(`tr[data-expense="${id}"]:not(.editing)`);
  await after.waitFor();
  if (changes.amount !== undefined) await after.locator('td.amount', { hasText: changes.amount }).waitFor();
}

/**
 * Times a change from one page to another on the browser's one clock: from the click on
 * `selector` in `from` to the moment an expense row with `note` appears in `to`'s DOM (ms).
 */
export async function timeToRow(from: Page, selector: string, to: Page, note: string): Promise<() => Promise<number>> {
  await to.evaluate((note) => {
    new MutationObserver((_, observer) => {
      if ([...document.querySelectorAll('tr[data-expense] td.note .text')].some((n) => n.textContent === note)) {
        window.seenAt = performance.timeOrigin + performance.now();
        observer.disconnect();
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  }, note);
  await from.evaluate((selector) => {
    document.querySelector(selector)?.addEventListener(
      'click',
      () => {
        window.clickedAt = performance.timeOrigin + performance.now();
      },
      { capture: true, once: true },
    );
  }, selector);
  return async () => {
    const clickedAt = (await from.evaluate(() => window.clickedAt)) ?? Number.NaN;
    const seenAt = (await (await to.waitForFunction(() => window.seenAt)).jsonValue()) as number;
    return seenAt - clickedAt;
  };
}

/** Whether the page was answered by the app's service worker. */
export const servedByWorker = (page: Page): Promise<boolean> => page.evaluate(() => navigator.serviceWorker.controller !== null);
