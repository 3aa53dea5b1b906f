/** `#/`: the person's budgets, and a new one (works offline: it is sent when the network is back). */
import { fields, formError, h, messageOf, patchList } from '../dom.js';
import type { View } from '../main.js';
import { type SyncSession, displayName } from '../sync.js';

export function listView(main: HTMLElement, session: SyncSession): View {
  const client = session.client;
  const list = h('ul', { class: 'budgets', id: 'budgets' });
  const form = h(
    'form',
    { class: 'inline', id: 'new-budget' },
    h('input', {
      name: 'title',
      required: true,
      maxlength: 200,
      placeholder: 'New budget, e.g. Trip to Lisbon',
      'aria-label': 'Budget title',
    }),
    h('button', { type: 'submit' }, 'Create'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    client.createBudget({ title: fields(form).title ?? '' }).then(
      ({ budgetId }) => {
        location.hash = `#/b/${budgetId}`;
      },
      (err: unknown) => formError(form, messageOf(err)),
    );
  });
  main.append(h('section', { class: 'card' }, h('h1', {}, 'Your budgets'), list, form));

  let run = 0;
  return {
    update() {
      const mine = ++run;
      void (async () => {
        const budgets = await client.budgets();
        const rows = await Promise.all(
          budgets.map(async (b) => {
            const people = await client.participants(b.id);
            const owner = people.find((p) => p.userId === b.ownerId);
            const unsent = session.pendingFor(b.id).length;
            const meta = `${people.length} ${people.length === 1 ? 'person' : 'people'} · ${b.ownerId === client.userId ? 'yours' : `shared by ${owner ? displayName(owner) : b.ownerId}`}${unsent ? ` · ${unsent} unsent` : ''}`;
            return { b, meta };
          }),
        );
        if (mine !== run) return;
        patchList(
          list,
          rows.map(({ b, meta }) => ({
            key: b.id,
            sig: `${b.title}|${meta}`,
            render: () => h('li', { 'data-budget': b.id }, h('a', { href: `#/b/${b.id}` }, b.title), h('span', { class: 'muted' }, meta)),
          })),
        );
        if (rows.length === 0)
          list.append(h('li', { class: 'muted' }, 'No budgets yet: create one, or open an invite link someone sent you.'));
      })();
    },
  };
}
