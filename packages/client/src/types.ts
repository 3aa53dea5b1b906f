/**
 * The client's own vocabulary, on top of the wire types of `@budget-sync/protocol` (a package with
 * no dependencies, so nothing of the server is pulled into an app's bundle).
 */
import type {
  AnyRecord,
  Budget,
  BudgetEditEvent,
  Category,
  CategoryEditEvent,
  Expense,
  ExpenseEditEvent,
  Participant,
  PushEvent,
  WireError,
} from '@budget-sync/protocol';

export type {
  AnyRecord,
  Budget,
  Category,
  ClientEventType,
  Expense,
  Participant,
  PushMode,
  PushResult,
  Snapshot,
  StreamEvent,
} from '@budget-sync/protocol';

/** The four kinds of record a device keeps per budget. */
export type RecordKind = 'budget' | 'category' | 'expense' | 'participant';
export const RECORD_KINDS: readonly RecordKind[] = ['budget', 'category', 'expense', 'participant'];

export interface RecordOf {
  budget: Budget;
  category: Category;
  expense: Expense;
  participant: Participant;
}

/**
 * The two layers of local state:
 * - `server`: what the budget looked like at the applied cursor (snapshot + stream, nothing else);
 * - `local`: what the user sees — the server layer with the outbox's pending events applied on top.
 * An app's UI reads `local`; the sync engine writes both.
 */
export type Layer = 'server' | 'local';

/** The record's id inside its budget: `id`, or `userId` for a participant. */
export function recordId(kind: RecordKind, record: AnyRecord): string {
  return kind === 'participant' ? (record as Participant).userId : (record as Budget | Category | Expense).id;
}

/** The budget a record belongs to. */
export function budgetOf(kind: RecordKind, record: AnyRecord): string {
  return kind === 'budget' ? (record as Budget).id : (record as Category | Expense | Participant).budgetId;
}

/**
 * An event as the device pushes it (docs/protocol.md "Events a client pushes"). Immutable once
 * queued: a retry sends exactly these bytes again under the same eventId, so the server can answer
 * `duplicate` instead of applying it twice. The client always sets `recordId` (for budget events:
 * the budget's id).
 */
export type OutboundEvent = PushEvent & { recordId: string };

type Content<E> = Omit<E, 'eventId' | 'eventType' | 'budgetId' | 'recordId' | 'when' | 'version'>;
/** Every content field of some pushed event, all optional: what edits are assembled from. */
export type EventFields = Partial<Content<BudgetEditEvent> & Content<CategoryEditEvent> & Content<ExpenseEditEvent>>;

/**
 * Creating a budget is `POST /budget`, not an event of `POST /events`, but it waits in the same
 * outbox so that a budget made offline and the edits made in it go out in the order they were made.
 */
export interface BudgetCreateEvent {
  eventId: string;
  eventType: 'budget.create';
  budgetId: string;
  recordId: string;
  when: number;
  title: string;
  details?: string | null;
}

export type QueuedEvent = OutboundEvent | BudgetCreateEvent;

export const isCreate = (e: QueuedEvent): e is BudgetCreateEvent => e.eventType === 'budget.create';

/** One row of the outbox. */
export interface OutboxEntry {
  /** Local order (ascending); events go out in this order. */
  seq: number;
  event: QueuedEvent;
  /**
   * Set once the server accepted the event (`accepted` or `duplicate`): the event is confirmed and
   * never sent again, but it stays here — still shown in the local layer — until the inbox has
   * applied the stream up to this sequence, so the UI does not flicker back to the old value.
   */
  acceptedSequence?: number;
}

/** The error of a refused event, as the server gave it (a newer server may send newer codes). */
export interface EventError extends Omit<WireError, 'code'> {
  code: string;
}

/** Why a budget's local data was dropped. */
export type DropReason =
  /** This user left (here or on another device). */
  | 'left'
  /** The owner removed this user, or the server says this user is not a participant (403). */
  | 'removed'
  /** The budget was deleted (404, or `budget.delete` in the stream). */
  | 'deleted'
  /** The budget was created offline and the server refused the creation. */
  | 'rejected';
