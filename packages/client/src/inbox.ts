/**
 * The inbox: the budget's change stream applied to the server layer, strictly in sequence order.
 *
 * - Per budget, the cursor is the last sequence applied. An event with `sequence ≤ cursor` was
 *   applied already and is ignored (re-delivery after a reconnect, an overlapping page), so applying
 *   is idempotent. `cursor + 1` is applied; anything beyond is a gap: `apply` stops there and says so,
 *   and the caller fetches `GET /events?key=cursor` and hands in the union.
 * - Every event type is applied, server-made ones too: `budget.create`, `participant.add`,
 *   `participant.role` (the new owner also becomes the budget's `ownerId`), `participant.remove`,
 *   and `category.delete` with its `cascade.expenseIds`.
 * - `budget.delete`, or `participant.remove` of this device's user, ends the budget here: its local
 *   data, cursor and outbox entries are dropped.
 * - Events applied and the cursor are written in the caller's one transaction, and the outbox
 *   entries the stream confirms leave in it too, so the local layer never shows a change twice or
 *   flickers back.
 * - A snapshot (`bootstrap`) replaces the server layer and sets the cursor to its `lastSequence`.
 */
import { type Outbox, addTouched } from './outbox.js';
import type { LocalStore } from './store.js';
import { type LocalView, type Touched, isWide, targetOf } from './view.js';
import type { Budget, Category, DropReason, Expense, Participant, QueuedEvent, Snapshot, StreamEvent } from './types.js';

export type ApplyOutcome =
  /** The budget has no cursor here (not loaded, or dropped): nothing applied. */
  | { status: 'unknown' }
  | {
      status: 'applied';
      /** The cursor after this call. */
      cursor: number;
      /** How many events were new. */
      applied: number;
      /** Set when events after `cursor` are missing: fetch from `cursor` and apply again. */
      gap?: { after: number; next: number };
      /** Set when the stream ended the budget here (it was dropped). */
      dropped?: { reason: DropReason; discarded: QueuedEvent[] };
    };

export class Inbox {
  constructor(
    private readonly store: LocalStore,
    private readonly view: LocalView,
    private readonly outbox: Outbox,
    private readonly userId: () => string,
  ) {}

  /** Applies stream events of one budget (any order, duplicates allowed). */
  async apply(budgetId: string, events: readonly StreamEvent[]): Promise<ApplyOutcome> {
    const start = await this.store.getCursor(budgetId);
    if (start === undefined) return { status: 'unknown' };
    const sorted = events.filter((e) => e.budgetId === budgetId && e.sequence > start).sort((a, b) => a.sequence - b.sequence);
    let cursor = start;
    let applied = 0;
    let gap: { after: number; next: number } | undefined;
    const touched = new Map<string, Touched>();
    const streamIds: string[] = [];
    for (const e of sorted) {
      if (e.sequence <= cursor) continue;
      if (e.sequence > cursor + 1) {
        gap = { after: cursor, next: e.sequence };
        break;
      }
      const reason = await this.applyOne(e, touched);
      cursor = e.sequence;
      applied += 1;
      streamIds.push(e.eventId);
      if (reason) return { status: 'applied', cursor, applied, dropped: { reason, discarded: await this.drop(budgetId) } };
    }
    if (applied === 0) return gap ? { status: 'applied', cursor, applied, gap } : { status: 'applied', cursor, applied };
    await this.store.setCursor(budgetId, cursor);
    for (const done of await this.outbox.confirmedByStream(budgetId, cursor, streamIds)) {
      addTouched(touched, budgetId, isWide(done) ? 'all' : [targetOf(done)]);
    }
    await this.view.refresh(budgetId, touched.get(budgetId) ?? []);
    return gap ? { status: 'applied', cursor, applied, gap } : { status: 'applied', cursor, applied };
  }

  /** Replaces the budget's server layer with a snapshot; the stream goes on from its lastSequence. */
  async bootstrap(snapshot: Snapshot): Promise<void> {
    const budgetId = snapshot.budget.id;
    await this.store.clearLayer('server', budgetId);
    await this.store.put('server', 'budget', snapshot.budget);
    for (const p of snapshot.participants) await this.store.put('server', 'participant', p);
    for (const c of snapshot.categories) await this.store.put('server', 'category', c);
    for (const x of snapshot.expenses) await this.store.put('server', 'expense', x);
    await this.store.setCursor(budgetId, snapshot.lastSequence);
    this.view.forget(budgetId);
    await this.outbox.confirmedByStream(budgetId, snapshot.lastSequence, []);
    await this.view.refresh(budgetId, 'all');
  }

  /** Forgets a budget; returns its events that never reached the server (they are lost). */
  async drop(budgetId: string): Promise<QueuedEvent[]> {
    const discarded = (await this.store.outbox())
      .filter((e) => e.event.budgetId === budgetId && e.acceptedSequence === undefined)
      .map((e) => e.event);
    await this.store.dropBudget(budgetId);
    this.view.forget(budgetId);
    return discarded;
  }

  /** One event on the server layer; returns why the budget ends here, if it does. */
  private async applyOne(e: StreamEvent, touched: Map<string, Touched>): Promise<DropReason | undefined> {
    const { budgetId, recordId } = e;
    const touch = (kind: 'budget' | 'category' | 'expense' | 'participant', id: string, version?: number | null) => {
      addTouched(touched, budgetId, [{ kind, id }]);
      if (version !== undefined) this.view.streamed(budgetId, kind, id, version);
    };
    const after = e.record && 'version' in e.record ? e.record.version : (e.version ?? 0);
    switch (e.eventType) {
      case 'budget.create':
      case 'budget.edit':
        if (e.record) await this.store.put('server', 'budget', e.record as Budget);
        touch('budget', budgetId, after);
        return undefined;
      case 'budget.delete':
        return 'deleted';
      case 'category.add':
      case 'category.edit':
        if (e.record) await this.store.put('server', 'category', e.record as Category);
        touch('category', recordId, after);
        return undefined;
      case 'category.delete': {
        await this.store.remove('server', 'category', budgetId, recordId);
        touch('category', recordId, null);
        // The cascade names the expenses deleted with the category; any other expense of it still
        // held here (there should be none) goes too, so nothing points at a missing category.
        const ids = new Set(e.cascade?.expenseIds ?? []);
        for (const x of await this.store.list('server', 'expense', budgetId)) if (x.categoryId === recordId) ids.add(x.id);
        for (const id of ids) {
          await this.store.remove('server', 'expense', budgetId, id);
          touch('expense', id, null);
        }
        return undefined;
      }
      case 'expense.add':
      case 'expense.edit':
        if (e.record) await this.store.put('server', 'expense', e.record as Expense);
        touch('expense', recordId, after);
        return undefined;
      case 'expense.delete':
        await this.store.remove('server', 'expense', budgetId, recordId);
        touch('expense', recordId, null);
        return undefined;
      case 'participant.add':
      case 'participant.role': {
        const participant = e.record as Participant | null;
        if (!participant) return undefined;
        await this.store.put('server', 'participant', participant);
        touch('participant', recordId);
        if (participant.role === 'owner') {
          const budget = await this.store.get('server', 'budget', budgetId, budgetId);
          if (budget && budget.ownerId !== participant.userId)
            await this.store.put('server', 'budget', { ...budget, ownerId: participant.userId });
          touch('budget', budgetId);
        }
        return undefined;
      }
      case 'participant.remove':
        await this.store.remove('server', 'participant', budgetId, recordId);
        touch('participant', recordId);
        if (recordId === this.userId()) return e.actorId === recordId ? 'left' : 'removed';
        return undefined;
    }
  }
}
