/**
 * A real server on a real port, and SyncClients against it. Clients are stopped at teardown
 * (before the server: tap runs teardowns last-in first-out).
 */
import type { AddressInfo, Socket } from 'node:net';
import type { Test } from 'tap';
import { SyncClient, type SyncClientOptions } from '../../src/client/index.js';
import type { FetchLike } from '../../src/client/http.js';
import type { Budget, Category, Expense, Participant } from '../../src/client/types.js';
import { Api } from '../helpers/api.js';
import { startTestServer, token, type TestServer } from '../helpers/server.js';

export interface Harness {
  server: TestServer;
  api: Api;
  baseUrl: string;
  /** A started-or-not client for `uid`; options override the test defaults. */
  client(uid: string, options?: Partial<SyncClientOptions>): SyncClient;
}

export async function harness(t: Test, env: Record<string, string> = {}): Promise<Harness> {
  const server = await startTestServer(t, env);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  // Runs after every client of the test stopped (teardowns run last-in first-out) and before the
  // server closes. The clients' keep-alive connections (fetch pools them) would otherwise hold
  // server.close() until SHUTDOWN_GRACE_MS cuts them: some are not idle in the server's eyes (a
  // connection opened for a request that was aborted before it was sent carries no request at
  // all, and may even be accepted after this teardown started). So every TCP connection is cut,
  // including late ones.
  const sockets = new Set<Socket>();
  let cutting = false;
  server.app.server.on('connection', (socket: Socket) => {
    if (cutting) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  t.teardown(async () => {
    cutting = true;
    for (let i = 0; i < 20 && sockets.size > 0; i++) {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  const { port } = server.app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    server,
    api: new Api(server.app),
    baseUrl,
    client(uid, options = {}) {
      const c = new SyncClient({
        baseUrl,
        getToken: () => token(uid),
        transport: 'longpoll',
        longPollWaitSeconds: 5,
        membershipPollMs: 250,
        backoff: { baseMs: 20, capMs: 250 },
        ...options,
      });
      t.teardown(() => c.stop());
      return c;
    },
  };
}

/** Sorted plain copies, for comparing a client's local layer with a server snapshot. */
export function normalise(s: { budget: Budget | null; participants: Participant[]; categories: Category[]; expenses: Expense[] }) {
  const byId = <T extends { id: string }>(l: T[]) => [...l].sort((a, b) => a.id.localeCompare(b.id));
  return {
    budget: s.budget,
    participants: [...s.participants].sort((a, b) => a.userId.localeCompare(b.userId)),
    categories: byId(s.categories),
    expenses: byId(s.expenses),
  };
}

/** The client's local layer of a budget in snapshot shape. */
export async function localState(c: SyncClient, budgetId: string) {
  return normalise({
    budget: (await c.budget(budgetId)) ?? null,
    participants: await c.participants(budgetId),
    categories: await c.categories(budgetId),
    expenses: await c.expenses(budgetId),
  });
}

/** The server's snapshot of a budget, read as `uid`. */
export async function serverState(api: Api, uid: string, budgetId: string) {
  const res = await api.req('GET', `/budgets/${budgetId}/snapshot`, uid);
  if (res.statusCode !== 200) throw new Error(`snapshot ${res.statusCode} ${res.body}`);
  return normalise(res.json());
}

/** A fetch that can be switched offline (no answer at all), and that counts calls. */
export function switchableFetch() {
  const state = {
    offline: false,
    calls: [] as string[],
    /** Event ids of every POST /events body sent, in order (a retry shows up twice). */
    pushed: [] as string[],
    /** Fail a request before it is sent (no answer), e.g. to keep the stream from flowing. */
    refuse: undefined as undefined | ((method: string, path: string) => boolean),
    /** Called after the server answered, before the client reads it; throw to lose the answer. */
    afterResponse: undefined as undefined | ((method: string, url: string) => void),
  };
  const fetchFn: FetchLike = async (url, init) => {
    const path = new URL(url).pathname;
    state.calls.push(`${init.method} ${path}`);
    if (state.offline || state.refuse?.(init.method, path)) throw new TypeError('fetch failed (offline)');
    if (init.method === 'POST' && path === '/events' && init.body) {
      for (const e of (JSON.parse(init.body) as { events: { eventId: string }[] }).events) state.pushed.push(e.eventId);
    }
    const res = await fetch(url, init);
    state.afterResponse?.(init.method, url);
    return res;
  };
  return { state, fetch: fetchFn };
}

/** Resolves when `predicate()` holds (polled), or fails after `ms`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { token };
