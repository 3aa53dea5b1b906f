/**
 * The web app: who is signed in, the header (sync state, unsent edits), the notices, and the routes
 * (`#/` budgets, `#/b/<id>` one budget, `#/join/<token>` an invite link). Everything shown is read
 * from the client's local layer, so the app works the same offline; the service worker (sw.ts)
 * makes it open offline too.
 */
import { h, messageOf, patchList } from './dom.js';
import { type Account, knownAccounts, leaveAccount, signIn, tabAccount, useAccount } from './session.js';
import { SyncSession } from './sync.js';
import { budgetView } from './views/budget.js';
import { joinView } from './views/join.js';
import { listView } from './views/list.js';

export interface View {
  update(): void;
  destroy?(): void;
}

interface Config {
  apiUrl: string;
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;
let session: SyncSession | undefined;
let view: View | undefined;
/** Resolved at sign-out: lets go of the tab lock on this person's store. */
let release: (() => void) | undefined;

function show(next: View | undefined, ...nodes: Node[]): void {
  view?.destroy?.();
  view = next;
  $('main').replaceChildren(...nodes);
}

function route(): void {
  if (!session) return;
  const [, kind, arg] = location.hash.split('/');
  const main = $('main');
  view?.destroy?.();
  main.replaceChildren();
  if (kind === 'b' && arg) view = budgetView(main, session, arg);
  else if (kind === 'join' && arg) view = joinView(main, session, decodeURIComponent(arg));
  else view = listView(main, session);
  view.update();
}

function renderHeader(): void {
  const badge = $('sync-state');
  const who = $('who');
  if (!session) {
    badge.hidden = true;
    who.replaceChildren();
    return;
  }
  const pending = session.pending.length;
  const label = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' }[session.state];
  badge.hidden = false;
  badge.dataset.state = session.state;
  badge.dataset.pending = String(pending);
  badge.textContent = pending > 0 ? `${label} · ${pending} unsent` : label;
  badge.title =
    session.state === 'live'
      ? 'Connected: changes go out and come in as they happen'
      : 'Changes are kept on this device and sent when the connection is back';
  if (who.dataset.user !== session.account.userId) {
    who.dataset.user = session.account.userId;
    who.replaceChildren(
      h('span', {}, session.account.name),
      ' ',
      h('button', { class: 'link', type: 'button', onclick: () => void signOut() }, 'Switch user'),
    );
  }
}

function renderNotices(): void {
  const notices = session?.notices;
  patchList(
    $('notices'),
    (notices?.list ?? []).map((n) => ({
      key: String(n.id),
      sig: String(n.id),
      render: () =>
        h(
          'div',
          { class: `notice ${n.kind}`, 'data-kind': n.kind, role: n.kind === 'info' ? 'status' : 'alert' },
          h('div', { class: 'notice-text' }, h('strong', {}, n.text), n.detail ? h('p', {}, n.detail) : null),
          n.action
            ? h(
                'button',
                {
                  type: 'button',
                  onclick: () => {
                    notices?.dismiss(n.id);
                    void n.action?.run().catch((err: unknown) => notices?.add({ kind: 'rejected', text: messageOf(err) }));
                  },
                },
                n.action.label,
              )
            : null,
          h(
            'button',
            { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => notices?.dismiss(n.id) },
            n.action ? 'Keep theirs' : 'OK',
          ),
        ),
    })),
  );
}

/** "Who are you?": the people who used this browser before (works offline), or a new name. */
function signInView(config: Config): void {
  const form = h(
    'form',
    { class: 'card signin' },
    h('h1', {}, 'Who is budgeting?'),
    h('p', { class: 'muted' }, 'This demo signs you in by name: pick one, and use another window (or browser) for a second person.'),
    h(
      'label',
      {},
      'Your name ',
      h('input', { name: 'name', required: true, maxlength: 40, autocomplete: 'nickname', placeholder: 'e.g. Alice' }),
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = (form.elements.namedItem('name') as HTMLInputElement).value;
    signIn(name).then(
      (account) => void begin(account, config),
      (err: unknown) => {
        const box = form.querySelector<HTMLElement>('.form-error');
        if (box) {
          box.hidden = false;
          box.textContent = navigator.onLine ? messageOf(err) : 'Signing in for the first time needs the network.';
        }
      },
    );
  });
  const known = knownAccounts();
  const again = known.length
    ? h(
        'div',
        { class: 'card known' },
        h('h2', {}, 'Continue as'),
        known.map((a) =>
          h(
            'button',
            {
              type: 'button',
              'data-account': a.userId,
              onclick: () => {
                useAccount(a);
                void begin(a, config);
              },
            },
            a.name,
          ),
        ),
      )
    : null;
  show(undefined, ...(again ? [again, form] : [form]));
}

async function begin(account: Account, config: Config): Promise<void> {
  show(undefined, h('p', { class: 'muted' }, `Opening ${account.name}’s budgets…`));
  // One running client per store: a second tab of the same person waits for the first to close
  // (two clients writing one IndexedDB database would each miss the other's writes).
  if ('locks' in navigator) {
    const waiting = setTimeout(
      () =>
        show(
          undefined,
          h('p', { class: 'card' }, `${account.name} is open in another tab of this browser; this tab takes over when that one closes.`),
        ),
      500,
    );
    await new Promise<void>((granted) => {
      void navigator.locks.request(`budget-sync:${account.userId}`, () => {
        clearTimeout(waiting);
        granted();
        return new Promise<void>((done) => {
          release = done;
        });
      });
    });
  }
  session = await SyncSession.open(account, config.apiUrl);
  session.onUpdate(() => {
    renderHeader();
    view?.update();
  });
  session.notices.onChange(renderNotices);
  renderHeader();
  route();
}

async function signOut(): Promise<void> {
  await session?.close();
  session = undefined;
  release?.();
  leaveAccount();
  renderHeader();
  renderNotices();
  location.hash = location.hash.startsWith('#/join/') ? location.hash : '#/';
  signInView(await loadConfig());
}

function registerWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const hadController = navigator.serviceWorker.controller !== null;
  navigator.serviceWorker.register('/sw.js').catch((err: unknown) => console.warn('service worker', err));
  void navigator.serviceWorker.ready.then(() => {
    const ready = $('offline-ready');
    ready.dataset.ready = 'yes';
    ready.textContent = 'This app opens offline too: your budgets are kept in this browser.';
  });
  // A new build took over: the page still runs the old one until it is reloaded.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (hadController)
      session?.notices.add({
        kind: 'info',
        text: 'A new version of the app is ready.',
        action: { label: 'Reload', run: async () => location.reload() },
      });
  });
}

async function loadConfig(): Promise<Config> {
  return (await (await fetch('/config.json')).json()) as Config;
}

async function boot(): Promise<void> {
  registerWorker();
  const config = await loadConfig();
  window.addEventListener('hashchange', route);
  const account = tabAccount();
  if (account) await begin(account, config);
  else signInView(config);
}

boot().catch((err: unknown) => {
  $('main').replaceChildren(h('p', { class: 'card notice rejected' }, `The app could not start: ${messageOf(err)}`));
});
