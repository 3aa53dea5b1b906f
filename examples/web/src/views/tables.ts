/**
 * The two tables of a budget — categories (allocated, spent, remaining) and expenses — with their
 * add forms and in-row editing. Rows are keyed by record id and rebuilt only when what they show
 * changes, so a change from someone else never wipes a row being edited here; if that very record
 * changes meanwhile, the row says so before it is saved over.
 */
import type { Category, Expense } from '@budget-sync/client';
import { fields, formError, h, messageOf, patchList } from '../dom.js';
import type { Summary } from '../money.js';
import type { SyncSession } from '../sync.js';

export interface TableData {
  categories: Category[];
  expenses: Expense[];
  summary: { source: 'server' | 'local'; summary: Summary };
  /** Records with an edit not confirmed by the server yet. */
  unsent: Set<string>;
  offline: boolean;
}

interface Editing {
  /** The version the person started editing. */
  version: number;
  draft: Record<string, string>;
}

const today = () => new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 10);

function actions(label: string, onEdit: () => void, onDelete: () => Promise<unknown>, fail: (m: string) => void): HTMLElement {
  return h(
    'td',
    { class: 'actions' },
    h('button', { type: 'button', class: 'edit link', 'aria-label': `Edit ${label}`, onclick: onEdit }, 'Edit'),
    h(
      'button',
      {
        type: 'button',
        class: 'delete link',
        'aria-label': `Delete ${label}`,
        onclick: () => void onDelete().catch((e: unknown) => fail(messageOf(e))),
      },
      'Delete',
    ),
  );
}

/** The editing cells of a row: inputs bound to the draft, Save and Cancel, an error line. */
function editCells(
  inputs: (HTMLInputElement | HTMLSelectElement)[],
  editing: Editing,
  save: () => Promise<unknown>,
  cancel: () => void,
  hint: string | null,
): HTMLElement[] {
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  for (const input of inputs) {
    input.addEventListener('input', () => {
      editing.draft[input.name] = input.value;
    });
    input.addEventListener('keydown', (ev) => {
      const key = (ev as KeyboardEvent).key;
      if (key === 'Enter') {
        ev.preventDefault();
        submit();
      } else if (key === 'Escape') cancel();
    });
  }
  const submit = () =>
    void save().catch((e: unknown) => {
      error.hidden = false;
      error.textContent = messageOf(e);
    });
  return [
    ...inputs.map((input) => h('td', {}, input)),
    h(
      'td',
      { class: 'actions' },
      h('button', { type: 'button', class: 'save', onclick: submit }, 'Save'),
      h('button', { type: 'button', class: 'link', onclick: cancel }, 'Cancel'),
      hint ? h('p', { class: 'hint' }, hint) : null,
      error,
    ),
  ];
}

/** The values that differ from the record's: what an edit sends. */
function changes(draft: Record<string, string>, current: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(draft).filter(([k, v]) => v !== current[k]));
}

export function categoriesTable(session: SyncSession, budgetId: string) {
  const client = session.client;
  const editing = new Map<string, Editing>();
  const body = h('tbody');
  const foot = h('tfoot');
  const source = h('p', { class: 'source muted' });
  const table = h(
    'table',
    { class: 'categories' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Category'),
        h('th', { class: 'num' }, 'Allocated'),
        h('th', { class: 'num' }, 'Spent'),
        h('th', { class: 'num' }, 'Remaining'),
        h('th'),
      ),
    ),
    body,
    foot,
  );
  const form = h(
    'form',
    { class: 'inline', id: 'add-category' },
    h('input', { name: 'name', required: true, maxlength: 200, placeholder: 'Category', 'aria-label': 'Category name' }),
    h('input', { name: 'allocate', required: true, inputmode: 'decimal', placeholder: 'Allocated', 'aria-label': 'Allocated', size: 9 }),
    h('button', { type: 'submit' }, 'Add category'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = fields(form);
    client.categoryAdd(budgetId, { name: f.name ?? '', allocate: f.allocate ?? '' }).then(
      () => {
        form.reset();
        formError(form, null);
      },
      (e: unknown) => formError(form, messageOf(e)),
    );
  });
  let last: TableData | undefined;
  const rerender = () => last && update(last);

  function update(d: TableData): void {
    last = d;
    const byId = new Map(d.summary.summary.categories.map((s) => [s.categoryId, s]));
    const sorted = [...d.categories].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    patchList(
      body,
      sorted.map((c) => {
        const s = byId.get(c.id);
        const edit = editing.get(c.id);
        const unsent = d.unsent.has(c.id);
        return {
          key: c.id,
          sig: JSON.stringify([c, s, edit ? 'edit' : '', unsent]),
          render: () => {
            if (edit) {
              const current = { name: c.name, allocate: c.allocate };
              const name = h('input', { name: 'name', value: edit.draft.name ?? c.name, 'aria-label': 'Category name', maxlength: 200 });
              const allocate = h('input', {
                name: 'allocate',
                value: edit.draft.allocate ?? c.allocate,
                inputmode: 'decimal',
                'aria-label': 'Allocated',
                size: 9,
              });
              const close = () => {
                editing.delete(c.id);
                rerender();
              };
              const hint =
                c.version !== edit.version ? `Changed elsewhere meanwhile: now “${c.name}”, ${c.allocate}. Saving replaces it.` : null;
              const save = async () => {
                const diff = changes({ name: name.value, allocate: allocate.value }, current);
                if (Object.keys(diff).length > 0) await client.categoryEdit(budgetId, c.id, diff);
                close();
              };
              return h(
                'tr',
                { 'data-category': c.id, class: 'editing' },
                ...editCells([name, allocate], edit, save, close, hint),
                h('td'),
                h('td'),
              );
            }
            const remaining = s?.remaining ?? c.allocate;
            return h(
              'tr',
              { 'data-category': c.id, 'data-version': c.version, class: unsent ? 'unsent' : '' },
              h('td', { class: 'name' }, h('span', { class: 'text' }, c.name), unsent ? h('span', { class: 'tag' }, 'unsent') : null),
              h('td', { class: 'num allocate' }, c.allocate),
              h('td', { class: 'num spent' }, s?.spent ?? '0.00'),
              h('td', { class: `num remaining${remaining.startsWith('-') ? ' over' : ''}` }, remaining),
              actions(
                `category ${c.name}`,
                () => {
                  editing.set(c.id, { version: c.version, draft: {} });
                  rerender();
                },
                () => client.categoryDelete(budgetId, c.id),
                (m) => session.notices.add({ kind: 'rejected', text: m }),
              ),
            );
          },
        };
      }),
    );
    if (d.categories.length === 0) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No categories yet.')));
    const t = d.summary.summary.totals;
    foot.replaceChildren(
      h(
        'tr',
        {},
        h('th', {}, 'Total'),
        h('th', { class: 'num' }, t.allocate),
        h('th', { class: 'num' }, t.spent),
        h('th', { class: `num${t.remaining.startsWith('-') ? ' over' : ''}` }, t.remaining),
        h('th'),
      ),
    );
    table.dataset.source = d.summary.source;
    source.textContent =
      d.summary.source === 'server'
        ? 'Spent and remaining: the server’s summary.'
        : d.offline
          ? 'Offline: spent and remaining worked out on this device, your unsent changes included.'
          : 'Worked out on this device until the server has confirmed the latest changes.';
  }

  return { el: h('section', { class: 'card' }, h('h2', {}, 'Categories'), table, source, form), update };
}

export function expensesTable(session: SyncSession, budgetId: string) {
  const client = session.client;
  const editing = new Map<string, Editing>();
  const body = h('tbody');
  const category = h('select', { name: 'categoryId', required: true, 'aria-label': 'Category' });
  const form = h(
    'form',
    { class: 'inline', id: 'add-expense' },
    h('input', { name: 'date', type: 'date', required: true, value: today(), 'aria-label': 'Date' }),
    category,
    h('input', { name: 'amount', required: true, inputmode: 'decimal', placeholder: 'Amount', 'aria-label': 'Amount', size: 9 }),
    h('input', { name: 'note', maxlength: 1000, placeholder: 'Note', 'aria-label': 'Note' }),
    h('button', { type: 'submit' }, 'Add expense'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = fields(form);
    client.expenseAdd(budgetId, { categoryId: f.categoryId ?? '', date: f.date ?? '', amount: f.amount ?? '', note: f.note || null }).then(
      () => {
        for (const name of ['amount', 'note']) (form.elements.namedItem(name) as HTMLInputElement).value = '';
        formError(form, null);
      },
      (e: unknown) => formError(form, messageOf(e)),
    );
  });
  let last: TableData | undefined;
  const rerender = () => last && update(last);
  const options = (cats: Category[], selected: string) =>
    cats.map((c) => h('option', { value: c.id, selected: c.id === selected }, c.name));

  function update(d: TableData): void {
    last = d;
    const names = new Map(d.categories.map((c) => [c.id, c.name]));
    // The form's category list follows the budget's, keeping the choice.
    const sig = JSON.stringify(d.categories.map((c) => [c.id, c.name]));
    if (category.dataset.sig !== sig) {
      const chosen = category.value;
      category.replaceChildren(...options(d.categories, chosen));
      category.dataset.sig = sig;
    }
    const sorted = [...d.expenses].sort((a, b) => b.date.localeCompare(a.date) || b.createdAt - a.createdAt || a.id.localeCompare(b.id));
    patchList(
      body,
      sorted.map((e) => {
        const edit = editing.get(e.id);
        const unsent = d.unsent.has(e.id);
        const categoryName = names.get(e.categoryId) ?? '—';
        return {
          key: e.id,
          sig: JSON.stringify([e, categoryName, edit ? 'edit' : '', unsent]),
          render: () => {
            if (edit) {
              const current = { date: e.date, categoryId: e.categoryId, amount: e.amount, note: e.note ?? '' };
              const v = (k: keyof typeof current) => edit.draft[k] ?? current[k];
              const inputs = [
                h('input', { name: 'date', type: 'date', value: v('date'), 'aria-label': 'Date' }),
                h('select', { name: 'categoryId', 'aria-label': 'Category' }, ...options(d.categories, v('categoryId'))),
                h('input', { name: 'amount', value: v('amount'), inputmode: 'decimal', 'aria-label': 'Amount', size: 9 }),
                h('input', { name: 'note', value: v('note'), maxlength: 1000, 'aria-label': 'Note' }),
              ];
              const close = () => {
                editing.delete(e.id);
                rerender();
              };
              const hint =
                e.version !== edit.version ? `Changed elsewhere meanwhile: now ${e.amount}, “${e.note ?? ''}”. Saving replaces it.` : null;
              const save = async () => {
                const diff: Record<string, string | null> = changes(Object.fromEntries(inputs.map((i) => [i.name, i.value])), current);
                if (diff.note === '') diff.note = null;
                if (Object.keys(diff).length > 0) await client.expenseEdit(budgetId, e.id, diff);
                close();
              };
              return h('tr', { 'data-expense': e.id, class: 'editing' }, ...editCells(inputs, edit, save, close, hint));
            }
            return h(
              'tr',
              { 'data-expense': e.id, 'data-version': e.version, class: unsent ? 'unsent' : '' },
              h('td', { class: 'date' }, e.date),
              h('td', { class: 'category' }, categoryName),
              h('td', { class: 'num amount' }, e.amount),
              h('td', { class: 'note' }, h('span', { class: 'text' }, e.note ?? ''), unsent ? h('span', { class: 'tag' }, 'unsent') : null),
              actions(
                `expense ${e.note ?? e.amount}`,
                () => {
                  editing.set(e.id, { version: e.version, draft: {} });
                  rerender();
                },
                () => client.expenseDelete(budgetId, e.id),
                (m) => session.notices.add({ kind: 'rejected', text: m }),
              ),
            );
          },
        };
      }),
    );
    if (d.expenses.length === 0) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No expenses yet.')));
  }

  const table = h(
    'table',
    { class: 'expenses' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'Date'), h('th', {}, 'Category'), h('th', { class: 'num' }, 'Amount'), h('th', {}, 'Note'), h('th')),
    ),
    body,
  );
  return { el: h('section', { class: 'card' }, h('h2', {}, 'Expenses'), form, table), update };
}
