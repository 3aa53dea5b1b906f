/**
 * One signed-in person's sync: a `SyncClient` over this person's IndexedDB store, the state the
 * header shows (live / reconnecting / offline, edits not sent yet), the server's summary of the open
 * budget, the few online-only calls the client package leaves to the app, and the notices made
 * from what the client reports.
 */
import { type Budget, HttpApi, IndexedDbStore, type OutboxEntry, SyncClient, TokenSource } from '@budget-sync/client';
import { type Summary, localSummary } from './money.js';
import { type Context, Notices, changedFields, conflictNotice, rejectedNotice, revokedNotice } from './notices.js';
import { type Account, tokenGetter } from './session.js';

export type SyncState = 'connecting' | 'live' | 'reconnecting' | 'offline';

interface ServerSummary extends Summary {
  /** The budget's cursor when the summary was read: it is shown only while the cursor is still there. */
  cursor: number | undefined;
}

export class SyncSession {
  readonly client: SyncClient;
  readonly notices = new Notices();
  state: SyncState = 'connecting';
  /** Edits the server has not confirmed yet, oldest first. */
  pending: OutboxEntry[] = [];
  /** The budgets as last read: what a message names after a budget was dropped. */
  private known = new Map<string, { title: string; owner: string | undefined }>();
  private readonly api: HttpApi;
  private readonly summaries = new Map<string, ServerSummary>();
  private readonly summaryWanted = new Set<string>();
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  private updateQueued = false;

  private constructor(
    readonly account: Account,
    apiUrl: string,
    store: IndexedDbStore,
  ) {
    const getToken = tokenGetter(account);
    this.client = new SyncClient({ baseUrl: apiUrl, getToken, userId: account.userId, store, transport: 'socket' });
    this.api = new HttpApi(apiUrl, new TokenSource(getToken));
    const c = this.client;
    c.on('connected', () => this.setState('live'));
    c.on('disconnected', () => this.setState(navigator.onLine ? 'reconnecting' : 'offline'));
    c.on('change', ({ budgetId }) => {
      this.summaryWanted.add(budgetId);
      this.update();
    });
    c.on('confirmed', () => this.update());
    c.on('membership', () => this.update());
    c.on('conflict', (report) => void this.onConflict(report));
    c.on('rejected', (report) => void this.context(report.event.budgetId).then((ctx) => this.notices.add(rejectedNotice(report, ctx))));
    c.on('revoked', ({ budgetId, reason, discarded }) => {
      const known = this.known.get(budgetId);
      this.notices.add(revokedNotice(known?.title ?? 'a budget', reason, discarded, known?.owner));
      this.update();
    });
    // Everything else the client reports it retries by itself (a lost connection, a refused token).
    c.on('error', ({ error, context }) => console.warn(`sync: ${context}`, error));
  }

  /** Opens the person's store and goes online when the browser is. */
  static async open(account: Account, apiUrl: string): Promise<SyncSession> {
    const store = await IndexedDbStore.open({ name: `budget-sync-${account.userId}` });
    const session = new SyncSession(account, apiUrl, store);
    // The browser knows before any socket does: offline, nothing is tried (edits queue in
    // IndexedDB); back online, connect at once instead of after the socket's backoff.
    window.addEventListener('offline', () => void session.goOffline());
    window.addEventListener('online', () => void session.goOnline());
    if (navigator.onLine) await session.goOnline();
    else await session.goOffline();
    return session;
  }

  async goOnline(): Promise<void> {
    if (!navigator.onLine) return;
    this.setState('connecting');
    await this.client.start();
    this.update();
  }

  async goOffline(): Promise<void> {
    await this.client.stop();
    this.setState('offline');
  }

  async close(): Promise<void> {
    await this.client.stop();
    this.listeners.clear();
  }

  /** Called (coalesced) whenever anything shown may have changed. */
  onUpdate(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private setState(state: SyncState): void {
    if (this.state === state) return;
    this.state = state;
    this.update();
  }

  update(): void {
    if (this.updateQueued) return;
    this.updateQueued = true;
    setTimeout(() => void this.refresh(), 0);
  }

  private async refresh(): Promise<void> {
    this.updateQueued = false;
    this.pending = (await this.client.pending()).filter((e) => e.acceptedSequence === undefined);
    for (const b of await this.client.budgets()) await this.remember(b);
    for (const fn of this.listeners) fn();
    this.scheduleSummaries();
  }

  private async remember(b: Budget): Promise<void> {
    const owner = (await this.client.participants(b.id)).find((p) => p.userId === b.ownerId);
    this.known.set(b.id, { title: b.title, owner: owner ? displayName(owner) : undefined });
  }

  pendingFor(budgetId: string): OutboxEntry[] {
    return this.pending.filter((e) => e.event.budgetId === budgetId);
  }

  // ---- the summary: the server's, when it shows what this device shows ------------------------

  /** `server` when the server's summary matches what this device holds, else worked out here. */
  summary(budgetId: string, local: Parameters<typeof localSummary>): { source: 'server' | 'local'; summary: Summary } {
    const server = this.summaries.get(budgetId);
    const cursor = this.client.cursor(budgetId);
    if (server && cursor !== undefined && server.cursor === cursor && this.pendingFor(budgetId).length === 0) {
      return { source: 'server', summary: server };
    }
    return { source: 'local', summary: localSummary(...local) };
  }

  /** Reads the server's summary of a budget about to be shown. */
  wantSummary(budgetId: string): void {
    this.summaryWanted.add(budgetId);
    this.scheduleSummaries();
  }

  /** One read per budget that changed, at most every 250 ms, only while live. */
  private scheduleSummaries(): void {
    if (this.summaryTimer || this.summaryWanted.size === 0) return;
    this.summaryTimer = setTimeout(() => {
      this.summaryTimer = undefined;
      if (this.state !== 'live') return;
      const ids = [...this.summaryWanted];
      this.summaryWanted.clear();
      void Promise.all(ids.map((id) => this.readSummary(id))).then(() => this.update());
    }, 250);
  }

  private async readSummary(budgetId: string): Promise<void> {
    const cursor = this.client.cursor(budgetId);
    if (cursor === undefined || this.pendingFor(budgetId).length > 0) return;
    try {
      const { body } = await this.api.request<Summary>('GET', `/budgets/${budgetId}/summary`);
      // Read while the stream moved on: it may show a state this device never had; read again.
      if (this.client.cursor(budgetId) !== cursor) this.summaryWanted.add(budgetId);
      else this.summaries.set(budgetId, { ...body, cursor });
    } catch (err) {
      console.warn('summary', err);
    }
  }

  // ---- online-only calls the client package leaves to the app ---------------------------------

  removeParticipant(budgetId: string, userId: string): Promise<unknown> {
    return this.api.request('DELETE', `/budgets/${budgetId}/participants/${encodeURIComponent(userId)}`);
  }

  makeOwner(budgetId: string, userId: string): Promise<unknown> {
    return this.api.request('PUT', `/budgets/${budgetId}/owner`, { userId });
  }

  // ---- notices ----------------------------------------------------------------------------------

  async context(budgetId: string): Promise<Context> {
    return {
      categories: await this.client.categories(budgetId),
      expenses: await this.client.expenses(budgetId),
      budgetTitle: (await this.client.budget(budgetId))?.title ?? this.known.get(budgetId)?.title,
    };
  }

  private async onConflict(report: Parameters<typeof conflictNotice>[0]): Promise<void> {
    const { event, record } = report;
    const ctx = await this.context(event.budgetId);
    const fields = changedFields(event);
    // "Use mine": the same change again, now on top of the record as it is.
    const reapply =
      record && event.eventType.endsWith('.edit') && Object.keys(fields).length > 0
        ? () => {
            const c = this.client;
            const id = event.recordId;
            if (event.eventType === 'expense.edit') return c.expenseEdit(event.budgetId, id, fields);
            if (event.eventType === 'category.edit') return c.categoryEdit(event.budgetId, id, fields);
            return c.budgetEdit(event.budgetId, fields);
          }
        : undefined;
    this.notices.add(conflictNotice(report, ctx, reapply));
  }
}

export function displayName(p: { userId: string; firstName: string | null; lastName: string | null }): string {
  return [p.firstName, p.lastName].filter(Boolean).join(' ') || p.userId;
}
