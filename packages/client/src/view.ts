/**
 * The local layer: what the user sees = the server layer + every event still in the outbox, applied
 * on top in outbox order (optimistic). It is derived, never edited directly: after anything changes
 * a record's server state or the outbox entries touching it, `refresh` recomputes that record.
 *
 * Rules of the fold (one pending event on top of the record so far):
 * - an add creates the record (unless the record already exists: the server's copy wins);
 * - an edit or delete made against version v applies only while the record is at version ≤ v; once
 *   the record is past v the event is already in it (or was overtaken), so it is skipped. That makes
 *   the fold idempotent while an accepted event waits for the stream to bring it;
 * - a pending `category.delete` hides the category's expenses; a pending `budget.delete` hides the
 *   whole budget; a pending `budget.create` shows the budget and its owner (this device's user).
 *
 * Conflict hints: a `conflict` result carries the server's current record, usually newer than the
 * server layer (the stream has not brought it yet). It is kept here as a hint that stands in for the
 * server-layer record until the stream catches up to it (same or newer version, or the delete), so
 * the user sees the server's value at once. A hint is never set for a record the stream already
 * deleted here (the conflict answer can arrive after the stream), and a hint is dropped when the
 * stream deletes its record later. Hints live in memory; after a restart the stream brings the same
 * state a moment later.
 */
import type { ExpenseAddEvent } from '@budget-sync/protocol';
import type { LocalStore } from './store.js';
import {
  type AnyRecord,
  type Budget,
  type Category,
  type EventFields,
  type Expense,
  type OutboxEntry,
  type Participant,
  type QueuedEvent,
  RECORD_KINDS,
  type RecordKind,
  recordId,
} from './types.js';

/** Records to recompute: `all` for the whole budget, or specific (kind, id) pairs. */
export type Touched = 'all' | { kind: RecordKind; id: string }[];

const hintKey = (budgetId: string, kind: RecordKind, id: string) => `${budgetId}/${kind}/${id}`;

/** Which record a pending event writes (budget events: the budget itself). */
export function targetOf(e: QueuedEvent): { kind: RecordKind; id: string } {
  const kind = e.eventType.split('.')[0] as 'budget' | 'category' | 'expense';
  return { kind, id: kind === 'budget' ? e.budgetId : e.recordId };
}

/** True when the event changes more than its own record (so the whole budget is recomputed). */
export const isWide = (e: QueuedEvent) =>
  e.eventType === 'budget.create' || e.eventType === 'budget.delete' || e.eventType === 'category.delete';

export class LocalView {
  private readonly hints = new Map<string, AnyRecord | null>();

  constructor(
    private readonly store: LocalStore,
    private readonly userId: () => string,
  ) {}

  /** Remembers the server's current record from a conflict (`null`: it was deleted). */
  hint(budgetId: string, kind: RecordKind, id: string, record: AnyRecord | null): void {
    this.hints.set(hintKey(budgetId, kind, id), record);
  }

  /**
   * The stream changed a record (`version` after the change; `null`: deleted). A hint it has
   * caught up with is dropped here — including a hint the stream can never reach by version
   * because the record was deleted meanwhile (otherwise the deleted record would show forever).
   */
  streamed(budgetId: string, kind: RecordKind, id: string, version: number | null): void {
    const hk = hintKey(budgetId, kind, id);
    if (!this.hints.has(hk)) return;
    const hint = this.hints.get(hk) as AnyRecord | null;
    if (version === null || (hint !== null && versionOf(hint) <= version)) this.hints.delete(hk);
  }

  /** Forgets every hint of a budget (after a snapshot or when the budget is dropped). */
  forget(budgetId: string): void {
    for (const k of [...this.hints.keys()]) if (k.startsWith(`${budgetId}/`)) this.hints.delete(k);
  }

  /** Recomputes the local layer of `touched` records of one budget. Call inside a transaction. */
  async refresh(budgetId: string, touched: Touched, outbox?: OutboxEntry[]): Promise<void> {
    const pending = (outbox ?? (await this.store.outbox())).filter((e) => e.event.budgetId === budgetId).map((e) => e.event);
    const targets = touched === 'all' ? await this.everything(budgetId, pending) : dedupe(touched);
    for (const { kind, id } of targets) await this.recompute(budgetId, kind, id, pending);
  }

  private async everything(budgetId: string, pending: QueuedEvent[]): Promise<{ kind: RecordKind; id: string }[]> {
    const out: { kind: RecordKind; id: string }[] = [{ kind: 'budget', id: budgetId }];
    for (const kind of RECORD_KINDS) {
      if (kind === 'budget') continue;
      for (const layer of ['server', 'local'] as const) {
        for (const r of await this.store.list(layer, kind, budgetId)) out.push({ kind, id: recordId(kind, r) });
      }
    }
    for (const e of pending) out.push(targetOf(e));
    out.push({ kind: 'participant', id: this.userId() });
    return dedupe(out);
  }

  private async recompute(budgetId: string, kind: RecordKind, id: string, pending: QueuedEvent[]): Promise<void> {
    let rec: AnyRecord | undefined = await this.store.get('server', kind, budgetId, id);
    const hk = hintKey(budgetId, kind, id);
    if (this.hints.has(hk)) {
      const hint = this.hints.get(hk) as AnyRecord | null;
      const caughtUp = hint === null ? rec === undefined : rec !== undefined && versionOf(rec) >= versionOf(hint);
      if (caughtUp) this.hints.delete(hk);
      else rec = hint ?? undefined;
    }
    for (const e of pending) rec = this.step(kind, id, rec, e);
    if (rec && pending.some((e) => e.eventType === 'budget.delete')) rec = undefined;
    if (rec && kind === 'expense') {
      const categoryId = (rec as Expense).categoryId;
      if (pending.some((e) => e.eventType === 'category.delete' && e.recordId === categoryId)) rec = undefined;
    }
    if (rec) await this.store.put('local', kind, rec);
    else await this.store.remove('local', kind, budgetId, id);
  }

  /** One pending event on top of the record so far (see the rules at the top). */
  private step(kind: RecordKind, id: string, rec: AnyRecord | undefined, e: QueuedEvent): AnyRecord | undefined {
    const me = this.userId();
    if (e.eventType === 'budget.create') {
      if (kind === 'budget') {
        return (
          rec ??
          ({
            id: e.budgetId,
            title: e.title,
            details: e.details ?? null,
            ownerId: me,
            createdBy: me,
            version: 1,
            createdAt: e.when,
            updatedAt: e.when,
          } satisfies Budget)
        );
      }
      if (kind === 'participant' && id === me) {
        return (
          rec ??
          ({
            userId: me,
            budgetId: e.budgetId,
            role: 'owner',
            joinedAt: e.when,
            firstName: null,
            lastName: null,
            photo: null,
          } satisfies Participant)
        );
      }
      return rec;
    }
    const target = targetOf(e);
    if (target.kind !== kind || target.id !== id) return rec;
    const [, action] = e.eventType.split('.') as [string, 'add' | 'edit' | 'delete'];
    if (action === 'add') {
      if (rec) return rec;
      if (e.eventType === 'category.add') {
        return {
          id,
          budgetId: e.budgetId,
          name: e.name ?? '',
          allocate: e.allocate ?? '0.00',
          createdBy: me,
          version: 1,
          createdAt: e.when,
          updatedAt: e.when,
        } satisfies Category;
      }
      const x = e as ExpenseAddEvent;
      return {
        id,
        budgetId: e.budgetId,
        categoryId: x.categoryId ?? '',
        date: x.date ?? '',
        amount: x.amount ?? '0.00',
        note: x.note ?? null,
        createdBy: me,
        version: 1,
        createdAt: e.when,
        updatedAt: e.when,
      } satisfies Expense;
    }
    if (!rec || !('version' in e) || e.version === undefined) return rec;
    if (versionOf(rec) > e.version) return rec; // already in it, or overtaken
    if (action === 'delete') return undefined;
    const fields: Record<string, unknown> = {};
    const given = e as EventFields;
    for (const f of ['title', 'details', 'name', 'allocate', 'categoryId', 'date', 'amount', 'note'] as const) {
      if (given[f] !== undefined) fields[f] = given[f];
    }
    return { ...rec, ...fields, version: e.version + 1, updatedAt: e.when } as AnyRecord;
  }
}

const versionOf = (r: AnyRecord): number => ('version' in r ? r.version : 0);

function dedupe(list: { kind: RecordKind; id: string }[]): { kind: RecordKind; id: string }[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const k = `${t.kind}/${t.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
