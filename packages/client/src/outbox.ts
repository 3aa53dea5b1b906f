/**
 * The outbox: the device's own changes, in the order they were made, until the server has them.
 *
 * - Events are immutable and carry an eventId made on the device (`crypto.randomUUID()`); a retry
 *   re-sends the same event under the same eventId, so a push whose answer was lost is answered
 *   `duplicate` the second time and never applied twice.
 * - Events go out in order, at most 25 per push, `stopOnError` by default, one push at a time.
 * - Results (docs/protocol.md "Push"):
 *   - `accepted` / `duplicate`: confirmed. The event is never sent again; it stays in the store
 *     marked with its sequence (still shown) until the inbox has applied the stream that far.
 *   - `conflict`: the server's `record` replaces the local one (deleted locally when `null`) and the
 *     event is dropped.
 *   - `rejected`: dropped and reported.
 *   - `skipped` (or no answer at all): kept, sent again later with the same eventId.
 *   When an event is dropped, the later events of the same record are dropped with it (reported
 *   with `cause` = the dropped eventId): their versions were counted on top of it, so they could
 *   only conflict — or, worse, match a version that someone else's edit produced.
 * - `budget.create` is sent alone, through `POST /budget`; everything after it waits for it.
 *
 * Every method runs inside the caller's store transaction (the client holds one lock for all).
 */
import { type CreateBudgetResponse, LIMITS } from '@budget-sync/protocol';
import type { LocalStore } from './store.js';
import { type Touched, type LocalView, isWide, targetOf } from './view.js';
import type { AnyRecord, BudgetCreateEvent, EventError, OutboxEntry, PushResult, QueuedEvent, RecordKind } from './types.js';

/** `budget.create` is always the first event of a budget's stream (docs/protocol.md "The change stream"). */
export const BUDGET_CREATE_SEQUENCE = 1;

/** Most events in one push (1..25). */
export const MAX_BATCH: number = LIMITS.batch;

export type Batch = { kind: 'create'; entry: OutboxEntry } | { kind: 'events'; entries: OutboxEntry[] };

export interface ConflictReport {
  event: QueuedEvent;
  code: string;
  /** The server's current record; `null` when it was deleted. */
  record: AnyRecord | null;
  /** For a later event of the same record dropped with it: the eventId that conflicted. */
  cause?: string;
}

export interface RejectedReport {
  event: QueuedEvent;
  error: EventError;
  /** For a later event dropped with it: the eventId that was rejected. */
  cause?: string;
}

export interface Settlement {
  confirmed: { event: QueuedEvent; status: 'accepted' | 'duplicate'; sequence: number }[];
  conflicts: ConflictReport[];
  rejected: RejectedReport[];
  /** Still in the outbox, to be sent again. */
  retry: QueuedEvent[];
  /** Our own `budget.delete` was accepted: the client drops the budget. */
  deletedBudgets: string[];
  /** Refused as NOT_PARTICIPANT / BUDGET_NOT_FOUND: the client checks whether it still has access. */
  suspectBudgets: string[];
  /** A created budget now has a cursor: the client subscribes to it. */
  createdBudgets: string[];
}

/** The answer of `POST /budget`. */
export type CreatedBudget = CreateBudgetResponse;

const emptySettlement = (): Settlement => ({
  confirmed: [],
  conflicts: [],
  rejected: [],
  retry: [],
  deletedBudgets: [],
  suspectBudgets: [],
  createdBudgets: [],
});

export class Outbox {
  constructor(
    private readonly store: LocalStore,
    private readonly view: LocalView,
  ) {}

  /** Queues an event after every other and shows it in the local layer. */
  async enqueue(event: QueuedEvent): Promise<OutboxEntry> {
    const entries = await this.store.outbox();
    const entry: OutboxEntry = { seq: (entries.at(-1)?.seq ?? 0) + 1, event };
    await this.store.saveOutbox(entry);
    entries.push(entry);
    await this.view.refresh(event.budgetId, isWide(event) ? 'all' : [targetOf(event)], entries);
    return entry;
  }

  /** Events not yet confirmed, in order. */
  async unsent(): Promise<OutboxEntry[]> {
    return (await this.store.outbox()).filter((e) => e.acceptedSequence === undefined);
  }

  /** The next push: a lone `budget.create`, or up to `max` events up to the next create. */
  async nextBatch(max = MAX_BATCH): Promise<Batch | undefined> {
    const unsent = await this.unsent();
    const first = unsent[0];
    if (!first) return undefined;
    if (first.event.eventType === 'budget.create') return { kind: 'create', entry: first };
    const entries: OutboxEntry[] = [];
    for (const e of unsent) {
      if (e.event.eventType === 'budget.create' || entries.length >= Math.min(max, MAX_BATCH)) break;
      entries.push(e);
    }
    return { kind: 'events', entries };
  }

  /** Applies the results of one push (`results[i]` answers `sent[i]`). */
  async settle(sent: OutboxEntry[], results: PushResult[]): Promise<Settlement> {
    const out = emptySettlement();
    let entries = await this.store.outbox();
    const touched = new Map<string, Touched>();
    const touch = (e: QueuedEvent) => addTouched(touched, e.budgetId, isWide(e) ? 'all' : [targetOf(e)]);
    const byEventId = new Map(results.map((r) => [r.eventId, r]));
    const acceptedNow = new Set(results.filter((r) => r.status === 'accepted' || r.status === 'duplicate').map((r) => r.eventId));
    const cursors = new Map<string, number | undefined>();
    const cursorOf = async (budgetId: string) => {
      if (!cursors.has(budgetId)) cursors.set(budgetId, await this.store.getCursor(budgetId));
      return cursors.get(budgetId);
    };

    /** Removes `entry` and the later not-yet-confirmed events of the same record; returns those. */
    const dropWithDependents = async (entry: OutboxEntry, alsoConfirmed: boolean): Promise<OutboxEntry[]> => {
      const target = targetOf(entry.event);
      const later = entries.filter((e) => {
        if (e.seq === entry.seq || e.event.budgetId !== entry.event.budgetId || e.event.eventType === 'budget.create') return false;
        const t = targetOf(e.event);
        if (t.kind !== target.kind || t.id !== target.id) return false;
        if (e.acceptedSequence !== undefined || acceptedNow.has(e.event.eventId)) return alsoConfirmed && e.seq < entry.seq;
        return e.seq > entry.seq;
      });
      const gone = [entry, ...later];
      await this.store.removeOutbox(gone.map((e) => e.event.eventId));
      const ids = new Set(gone.map((e) => e.event.eventId));
      entries = entries.filter((e) => !ids.has(e.event.eventId));
      for (const e of gone) touch(e.event);
      return later.filter((e) => e.acceptedSequence === undefined && !acceptedNow.has(e.event.eventId));
    };

    for (const sentEntry of sent) {
      const eventId = sentEntry.event.eventId;
      const entry = entries.find((e) => e.event.eventId === eventId);
      const result = byEventId.get(eventId);
      // Gone already: confirmed by the stream while the push was out, or dropped with an earlier one.
      if (!entry) continue;
      if (!result || result.status === 'skipped') {
        out.retry.push(entry.event);
        continue;
      }
      switch (result.status) {
        case 'accepted':
        case 'duplicate': {
          const sequence = result.sequence ?? 0;
          out.confirmed.push({ event: entry.event, status: result.status, sequence });
          if (entry.event.eventType === 'budget.delete') {
            out.deletedBudgets.push(entry.event.budgetId);
            break;
          }
          const cursor = await cursorOf(entry.event.budgetId);
          if (cursor !== undefined && cursor >= sequence) {
            await this.store.removeOutbox([eventId]);
            entries = entries.filter((e) => e.event.eventId !== eventId);
            touch(entry.event);
          } else {
            entry.acceptedSequence = sequence;
            await this.store.saveOutbox(entry);
          }
          break;
        }
        case 'conflict': {
          const record = result.record ?? null;
          const { kind, id } = targetOf(entry.event);
          const budgetId = entry.event.budgetId;
          // The device only edits what it shows: a record of the server layer, or one of its own
          // adds. When neither holds any more, the stream deleted the record before this answer
          // came: the answer's record is older than that, so it must not show.
          const known =
            (await this.store.get('server', kind as RecordKind, budgetId, id)) !== undefined ||
            entries.some((e) => e.event.budgetId === budgetId && e.event.eventType.endsWith('.add') && e.event.recordId === id);
          this.view.hint(budgetId, kind as RecordKind, id, known ? record : null);
          const code = result.error?.code ?? 'VERSION_CONFLICT';
          out.conflicts.push({ event: entry.event, code, record });
          // The hint already holds every confirmed change of the record: drop those entries too.
          for (const dep of await dropWithDependents(entry, true)) out.conflicts.push({ event: dep.event, code, record, cause: eventId });
          break;
        }
        case 'rejected': {
          const error: EventError = result.error ?? { code: 'REJECTED', message: 'rejected' };
          out.rejected.push({ event: entry.event, error });
          for (const dep of await dropWithDependents(entry, false)) out.rejected.push({ event: dep.event, error, cause: eventId });
          if (error.code === 'NOT_PARTICIPANT' || error.code === 'BUDGET_NOT_FOUND') out.suspectBudgets.push(entry.event.budgetId);
          break;
        }
      }
    }
    for (const [budgetId, t] of touched) await this.view.refresh(budgetId, t, entries);
    return out;
  }

  /**
   * Applies the answer of `POST /budget`. When the budget has no cursor yet, the answer is its state
   * at `sequence` (2): it becomes the server layer, and the stream continues from there.
   */
  async settleCreate(entry: OutboxEntry, created: CreatedBudget, replayed = false): Promise<Settlement> {
    const out = emptySettlement();
    const event = entry.event as BudgetCreateEvent;
    const budgetId = event.budgetId;
    // The answer is the state at `created.sequence` (2, after the owner's participant.add); the
    // create itself is the stream's first event.
    out.confirmed.push({ event, status: replayed ? 'duplicate' : 'accepted', sequence: BUDGET_CREATE_SEQUENCE });
    let cursor = await this.store.getCursor(budgetId);
    if (cursor === undefined) {
      await this.store.clearLayer('server', budgetId);
      await this.store.put('server', 'budget', created.budget);
      await this.store.put('server', 'participant', created.participant);
      await this.store.setCursor(budgetId, created.sequence);
      cursor = created.sequence;
      out.createdBudgets.push(budgetId);
    }
    if (cursor >= created.sequence) {
      await this.store.removeOutbox([event.eventId]);
    } else {
      entry.acceptedSequence = created.sequence;
      await this.store.saveOutbox(entry);
    }
    await this.view.refresh(budgetId, 'all');
    return out;
  }

  /**
   * `POST /budget` was refused (a 4xx that retrying cannot fix, e.g. 409 BUDGET_EXISTS): the create
   * and every later event of that budget are dropped; the budget's local data too when it never
   * reached the server (no cursor).
   */
  async rejectCreate(entry: OutboxEntry, error: EventError): Promise<Settlement & { dropLocal: boolean }> {
    const out = emptySettlement();
    const budgetId = entry.event.budgetId;
    const entries = await this.store.outbox();
    const later = entries.filter((e) => e.seq > entry.seq && e.event.budgetId === budgetId && e.acceptedSequence === undefined);
    await this.store.removeOutbox([entry.event.eventId, ...later.map((e) => e.event.eventId)]);
    out.rejected.push({ event: entry.event, error });
    for (const dep of later) out.rejected.push({ event: dep.event, error, cause: entry.event.eventId });
    const dropLocal = (await this.store.getCursor(budgetId)) === undefined;
    if (!dropLocal) await this.view.refresh(budgetId, 'all');
    return { ...out, dropLocal };
  }

  /**
   * The stream reached `cursor`: entries confirmed up to it, and our own events the stream just
   * brought (even if their push answer was lost), leave the outbox. Returns the removed events.
   */
  async confirmedByStream(budgetId: string, cursor: number, streamEventIds: readonly string[]): Promise<QueuedEvent[]> {
    const seen = new Set(streamEventIds);
    const done = (await this.store.outbox()).filter(
      (e) =>
        e.event.budgetId === budgetId && ((e.acceptedSequence !== undefined && e.acceptedSequence <= cursor) || seen.has(e.event.eventId)),
    );
    await this.store.removeOutbox(done.map((e) => e.event.eventId));
    return done.map((e) => e.event);
  }
}

/** Merges `add` into the touched set of `budgetId`. */
export function addTouched(map: Map<string, Touched>, budgetId: string, add: Touched): void {
  const before = map.get(budgetId);
  if (before === 'all' || add === 'all') map.set(budgetId, 'all');
  else map.set(budgetId, [...(before ?? []), ...add]);
}
