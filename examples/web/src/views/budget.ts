/**
 * `#/b/<id>`: one budget — its title, the changes not sent yet, categories and expenses (tables.ts),
 * the people in it, inviting, leaving and deleting. When the budget goes away (removed, deleted,
 * left) the page goes back to the list; the notice says why.
 */
import type { Budget, Participant } from '@budget-sync/client';
import { formError, h, messageOf, patchList } from '../dom.js';
import type { View } from '../main.js';
import { changedFields } from '../notices.js';
import { type SyncSession, displayName } from '../sync.js';
import { categoriesTable, expensesTable } from './tables.js';

export function budgetView(main: HTMLElement, session: SyncSession, budgetId: string): View {
  const client = session.client;
  const title = h('h1', { class: 'title' });
  const meta = h('p', { class: 'muted' });
  const renameForm = h(
    'form',
    { class: 'inline', hidden: true },
    h('input', { name: 'title', maxlength: 200, 'aria-label': 'Title' }),
    h('button', { type: 'submit' }, 'Save'),
  );
  const renameButton = h('button', { type: 'button', class: 'link' }, 'Rename');
  const pending = h('details', { class: 'pending', hidden: true }, h('summary'), h('ul'));
  const categories = categoriesTable(session, budgetId);
  const expenses = expensesTable(session, budgetId);
  const people = h('ul', { class: 'people', id: 'people' });
  const inviteBox = h('div', { class: 'invite', hidden: true });
  const membershipError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const deleteButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Delete budget');
  let budget: Budget | undefined;
  let seen = false;

  const fail = (err: unknown) => {
    membershipError.hidden = false;
    membershipError.textContent = messageOf(err);
  };

  renameButton.addEventListener('click', () => {
    renameForm.hidden = false;
    const input = renameForm.elements.namedItem('title') as HTMLInputElement;
    input.value = budget?.title ?? '';
    input.focus();
  });
  renameForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = (renameForm.elements.namedItem('title') as HTMLInputElement).value;
    if (value === budget?.title) {
      renameForm.hidden = true;
      return;
    }
    client.budgetEdit(budgetId, { title: value }).then(
      () => {
        renameForm.hidden = true;
        formError(renameForm, null);
      },
      (err: unknown) => formError(renameForm, messageOf(err)),
    );
  });

  const invite = h('button', { type: 'button', id: 'invite' }, 'Invite someone');
  invite.addEventListener('click', () => {
    client.createInvite(budgetId).then(
      ({ token, expiresAt }) => {
        const link = `${location.origin}/#/join/${encodeURIComponent(token)}`;
        const field = h('input', { readonly: true, value: link, class: 'invite-link', 'aria-label': 'Invite link' });
        const copy = h('button', { type: 'button', class: 'link' }, 'Copy');
        copy.addEventListener('click', () => void navigator.clipboard?.writeText(link).then(() => (copy.textContent = 'Copied')));
        inviteBox.replaceChildren(
          h('p', {}, 'Send this link to the person you want in this budget:'),
          h('div', { class: 'inline' }, field, copy),
          h('p', { class: 'muted' }, `Anyone with the link can join until ${new Date(expiresAt).toLocaleString()}.`),
        );
        inviteBox.hidden = false;
        membershipError.hidden = true;
      },
      (err: unknown) => fail(navigator.onLine ? err : new Error('Inviting needs the network.')),
    );
  });
  const leave = h('button', { type: 'button', id: 'leave' }, 'Leave budget');
  leave.addEventListener('click', () => {
    client.leave(budgetId).then(() => location.replace('#/'), fail);
  });
  let confirming = false;
  deleteButton.addEventListener('click', () => {
    if (!confirming) {
      confirming = true;
      deleteButton.textContent = 'Really delete it for everyone?';
      return;
    }
    client.budgetDelete(budgetId).then(() => location.replace('#/'), fail);
  });

  main.append(
    h(
      'section',
      { class: 'budget', 'data-budget': budgetId },
      h(
        'div',
        { class: 'head' },
        h('a', { href: '#/', class: 'link' }, '← Budgets'),
        h('div', { class: 'title-row' }, title, renameButton),
        renameForm,
        meta,
      ),
      pending,
      h('div', { class: 'grid' }, categories.el, expenses.el),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'People'),
        people,
        h('div', { class: 'inline' }, invite, leave, deleteButton),
        inviteBox,
        membershipError,
      ),
    ),
  );
  session.wantSummary(budgetId);

  function personRow(p: Participant, b: Budget) {
    const me = p.userId === client.userId;
    const owner = b.ownerId === client.userId;
    return h(
      'li',
      { 'data-participant': p.userId },
      h('span', { class: 'name' }, displayName(p), me ? ' (you)' : ''),
      h('span', { class: 'role muted' }, p.role),
      owner && !me
        ? h(
            'span',
            { class: 'actions' },
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => void session.makeOwner(budgetId, p.userId).catch(fail) },
              'Make owner',
            ),
            h(
              'button',
              { type: 'button', class: 'link remove', onclick: () => void session.removeParticipant(budgetId, p.userId).catch(fail) },
              'Remove',
            ),
          )
        : null,
    );
  }

  let run = 0;
  return {
    update() {
      const mine = ++run;
      void (async () => {
        const b = await client.budget(budgetId);
        const [cats, exps, parts, ctx] = await Promise.all([
          client.categories(budgetId),
          client.expenses(budgetId),
          client.participants(budgetId),
          session.context(budgetId),
        ]);
        if (mine !== run) return;
        if (!b) {
          // Gone (removed, deleted, left): the notice says why.
          if (seen) return location.replace('#/');
          title.textContent = 'Not on this device';
          meta.textContent = 'This budget is not here (yet). If you just joined, it loads when the network is back.';
          return;
        }
        seen = true;
        budget = b;
        title.textContent = b.title;
        const owner = parts.find((p) => p.userId === b.ownerId);
        meta.textContent = b.ownerId === client.userId ? 'You own this budget.' : `Shared by ${owner ? displayName(owner) : b.ownerId}.`;
        deleteButton.hidden = b.ownerId !== client.userId;
        const waiting = session.pendingFor(budgetId);
        pending.hidden = waiting.length === 0;
        (pending.querySelector('summary') as HTMLElement).textContent =
          `${waiting.length} change${waiting.length === 1 ? '' : 's'} not sent yet — ${session.state === 'offline' ? 'they go out when you are back online' : 'sending…'}`;
        patchList(
          pending.querySelector('ul') as HTMLElement,
          waiting.map(({ event }) => ({
            key: event.eventId,
            sig: event.eventId,
            render: () => {
              const f = changedFields(event);
              const what = Object.entries(f)
                .map(([k, v]) => `${k} ${k === 'categoryId' ? (ctx.categories.find((c) => c.id === v)?.name ?? '') : String(v)}`)
                .join(', ');
              return h('li', { 'data-event': event.eventId, 'data-type': event.eventType }, `${event.eventType}${what ? `: ${what}` : ''}`);
            },
          })),
        );
        const data = {
          categories: cats,
          expenses: exps,
          summary: session.summary(budgetId, [cats, exps]),
          unsent: new Set(waiting.map((e) => e.event.recordId)),
          offline: session.state === 'offline',
        };
        categories.update(data);
        expenses.update(data);
        patchList(
          people,
          parts.map((p) => ({ key: p.userId, sig: JSON.stringify([p, b.ownerId]), render: () => personRow(p, b) })),
        );
      })();
    },
  };
}
