/**
 * Who uses this tab. The demo signs people in by name: `POST /token` on the app's own server
 * answers a `dev` token (a real app asks Firebase Auth). Accounts that signed in on this browser are
 * remembered (localStorage) with their last token, so "continue as Bob" works with no network; the
 * tab's choice is kept per tab (sessionStorage), so two windows of one browser can be two people.
 */
import type { GetToken } from '@budget-sync/client';

export interface Account {
  userId: string;
  name: string;
  token?: string;
  /** Epoch ms. */
  expiresAt?: number;
}

const ACCOUNTS = 'budget-sync.accounts';
const TAB = 'budget-sync.tab-user';

function load(): Record<string, Account> {
  try {
    return JSON.parse(localStorage.getItem(ACCOUNTS) ?? '{}') as Record<string, Account>;
  } catch {
    return {};
  }
}

function save(account: Account): void {
  localStorage.setItem(ACCOUNTS, JSON.stringify({ ...load(), [account.userId]: account }));
}

export function knownAccounts(): Account[] {
  return Object.values(load()).sort((a, b) => a.name.localeCompare(b.name));
}

/** The account this tab uses, if one was chosen. */
export function tabAccount(): Account | undefined {
  const id = sessionStorage.getItem(TAB);
  return id === null ? undefined : load()[id];
}

export function useAccount(account: Account): void {
  sessionStorage.setItem(TAB, account.userId);
}

export function leaveAccount(): void {
  sessionStorage.removeItem(TAB);
}

async function mint(name: string): Promise<Account> {
  const res = await fetch('/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  const body = (await res.json()) as Account & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `sign-in failed (${res.status})`);
  const account: Account = { userId: body.userId, name: body.name, token: body.token, expiresAt: body.expiresAt };
  save(account);
  return account;
}

/** Signs in by name (needs the network) and makes it this tab's account. */
export async function signIn(name: string): Promise<Account> {
  const account = await mint(name);
  useAccount(account);
  return account;
}

/**
 * The client's `getToken`: the stored token while it lasts (also offline), a new one from `/token`
 * when it is about to expire or the server refused it.
 */
export function tokenGetter(account: Account): GetToken {
  return async ({ forceRefresh }) => {
    const stored = load()[account.userId] ?? account;
    if (!forceRefresh && stored.token && (stored.expiresAt ?? 0) - Date.now() > 60_000) return stored.token;
    return (await mint(stored.name)).token ?? '';
  };
}
