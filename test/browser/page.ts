/**
 * The browser side of sync.browser.ts: the client package's universal entry with an IndexedDbStore,
 * driven by the test through `window.sync` (page.evaluate). Bundled by the harness from source.
 */
import { type FetchLike, IndexedDbStore, SyncClient } from '@budget-sync/client';

export interface OpenOptions {
  baseUrl: string;
  token: string;
  transport: 'socket' | 'longpoll';
  /** The IndexedDB database (one per user). */
  db: string;
  /**
   * `die-after-push`: a page that is about to be killed — only the push goes out, its answer is
   * never handed over (and nothing else is answered); `hold-stream`: stream reads wait until a
   * push was answered, so a re-sent event is answered by the server, not confirmed by the stream.
   */
  network?: 'normal' | 'die-after-push' | 'hold-stream';
}

let store: IndexedDbStore | undefined;
let client: SyncClient | undefined;
const log: string[] = [];

const forever = () => new Promise<never>(() => {});

function fetchFor(mode: OpenOptions['network']): FetchLike {
  let pushed = false;
  return async (url, init) => {
    const { pathname } = new URL(url);
    const isPush = init.method === 'POST' && pathname === '/events';
    if (mode === 'die-after-push') {
      if (!isPush) return forever();
      await fetch(url, init);
      log.push('push answered');
      return forever();
    }
    if (mode === 'hold-stream') {
      while (!pushed && init.method === 'GET' && pathname === '/events') await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(url, init);
      if (isPush) pushed = true;
      return res;
    }
    return fetch(url, init);
  };
}

const sync = {
  log,
  /** Opens the store only (what a reloaded page finds before it goes online). */
  async openStore(db: string): Promise<void> {
    store = await IndexedDbStore.open({ name: db });
  },
  async open(o: OpenOptions): Promise<void> {
    store ??= await IndexedDbStore.open({ name: o.db });
    client = new SyncClient({
      baseUrl: o.baseUrl,
      getToken: () => o.token,
      store,
      transport: o.transport,
      fetch: fetchFor(o.network),
      longPollWaitSeconds: 5,
      backoff: { baseMs: 50, capMs: 500 },
    });
    client.on('connected', ({ transport }) => log.push(`connected ${transport}`));
    client.on('confirmed', ({ status, event }) => log.push(`confirmed ${status} ${event.eventId}`));
    client.on('error', ({ context }) => log.push(`error ${context}`));
    await client.start();
  },
  client(): SyncClient {
    if (!client) throw new Error('open() first');
    return client;
  },
  async stop(): Promise<void> {
    await client?.stop();
  },
  /** The budget as this page holds it: the local layer, the cursor and the outbox. */
  async state(budgetId: string) {
    if (!store) throw new Error('openStore() first');
    const names = (list: { name: string }[]) => list.map((c) => c.name).sort();
    return {
      budget: (await store.get('local', 'budget', budgetId, budgetId))?.title ?? null,
      categories: names(await store.list('local', 'category', budgetId)),
      expenses: (await store.list('local', 'expense', budgetId)).map((e) => `${e.amount} ${e.note ?? ''}`.trim()).sort(),
      cursor: (await store.getCursor(budgetId)) ?? null,
      outbox: (await store.outbox()).map((e) => ({
        eventId: e.event.eventId,
        type: e.event.eventType,
        accepted: e.acceptedSequence ?? null,
      })),
    };
  },
};

(globalThis as unknown as { sync: typeof sync }).sync = sync;
export type PageSync = typeof sync;
