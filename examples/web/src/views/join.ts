/** `#/join/<token>`: an invite link. Joining needs the network; offline it waits for it. */
import { HttpError } from '@budget-sync/client';
import { h, messageOf } from '../dom.js';
import type { View } from '../main.js';
import type { SyncSession } from '../sync.js';

export function joinView(main: HTMLElement, session: SyncSession, token: string): View {
  const status = h('p', { id: 'join-status' }, 'Joining the budget…');
  main.append(h('section', { class: 'card' }, h('h1', {}, 'Invitation'), status));
  let trying = false;
  const attempt = () => {
    if (trying) return;
    if (!navigator.onLine) {
      status.textContent = 'You are offline: joining needs the network. This continues when you are back online.';
      return;
    }
    trying = true;
    session.client.join(token).then(
      (budget) => location.replace(`#/b/${budget.id}`),
      (err: unknown) => {
        trying = false;
        status.textContent =
          err instanceof HttpError && err.code === 'INVITE_INVALID'
            ? 'This invite link does not work any more (expired, used up or revoked, or the person who made it left). Ask for a new one.'
            : err instanceof HttpError && err.code === 'PARTICIPANT_LIMIT_REACHED'
              ? 'This budget is full.'
              : `Could not join: ${messageOf(err)}`;
      },
    );
  };
  window.addEventListener('online', attempt);
  attempt();
  return {
    update() {},
    destroy() {
      window.removeEventListener('online', attempt);
    },
  };
}
