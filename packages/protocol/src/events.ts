/**
 * Events: what a client pushes (`POST /events`, the socket's `push`), what each push answers, and
 * the change stream every device applies (docs/protocol.md "Events a client pushes", "Push",
 * "The change stream").
 */
import type { WireError } from './errors.js';
import type { AnyRecord, Budget, Participant } from './records.js';

/** The event types a client may push. */
export const CLIENT_EVENT_TYPES = [
  'budget.edit',
  'budget.delete',
  'category.add',
  'category.edit',
  'category.delete',
  'expense.add',
  'expense.edit',
  'expense.delete',
] as const;
export type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

/** Event types only the server writes (budget creation and membership). */
export const SERVER_EVENT_TYPES = ['budget.create', 'participant.add', 'participant.remove', 'participant.role'] as const;
export type ServerEventType = (typeof SERVER_EVENT_TYPES)[number];
export type EventType = ClientEventType | ServerEventType;

/** Every pushed event has these; `eventId` is made on the device and identifies it for retries. */
interface PushEventBase {
  eventId: string;
  budgetId: string;
  /** The device's clock (epoch ms): shown, never used for ordering. */
  when: number;
}

/** Edits and deletes name the record version they were made against. */
interface Versioned {
  version: number;
}

export interface BudgetEditEvent extends PushEventBase, Versioned {
  eventType: 'budget.edit';
  /** Optional for budget events; when given, it must equal `budgetId`. */
  recordId?: string;
  title?: string;
  details?: string | null;
}
export interface BudgetDeleteEvent extends PushEventBase, Versioned {
  eventType: 'budget.delete';
  recordId?: string;
}
export interface CategoryAddEvent extends PushEventBase {
  eventType: 'category.add';
  recordId: string;
  name: string;
  allocate: string;
}
export interface CategoryEditEvent extends PushEventBase, Versioned {
  eventType: 'category.edit';
  recordId: string;
  name?: string;
  allocate?: string;
}
export interface CategoryDeleteEvent extends PushEventBase, Versioned {
  eventType: 'category.delete';
  recordId: string;
}
export interface ExpenseAddEvent extends PushEventBase {
  eventType: 'expense.add';
  recordId: string;
  categoryId: string;
  date: string;
  amount: string;
  note?: string | null;
}
export interface ExpenseEditEvent extends PushEventBase, Versioned {
  eventType: 'expense.edit';
  recordId: string;
  categoryId?: string;
  date?: string;
  amount?: string;
  note?: string | null;
}
export interface ExpenseDeleteEvent extends PushEventBase, Versioned {
  eventType: 'expense.delete';
  recordId: string;
}

/** One event as a client pushes it, by `eventType`. */
export type PushEvent =
  | BudgetEditEvent
  | BudgetDeleteEvent
  | CategoryAddEvent
  | CategoryEditEvent
  | CategoryDeleteEvent
  | ExpenseAddEvent
  | ExpenseEditEvent
  | ExpenseDeleteEvent;

/** The pushed event of one type. */
export type PushEventOf<T extends ClientEventType> = Extract<PushEvent, { eventType: T }>;

export type PushMode = 'stopOnError' | 'independent';

/** `POST /events`. */
export interface PushRequest {
  /** 1..25 events, answered in this order. */
  events: PushEvent[];
  mode?: PushMode;
}

/** `POST /budget`: a budget is made by this request, not by a pushed event. */
export interface CreateBudgetRequest {
  eventId: string;
  id: string;
  title: string;
  details?: string | null;
  when: number;
}

/** The answer of `POST /budget`: the budget's state at `sequence` (its owner's `participant.add`). */
export interface CreateBudgetResponse {
  budget: Budget;
  participant: Participant;
  sequence: number;
}

/** What identifies an event in its result, as far as it could be read. */
export interface EventRef {
  eventId: string;
  eventType: string | null;
  budgetId: string | null;
  recordId: string | null;
}

export type PushStatus = 'accepted' | 'duplicate' | 'conflict' | 'rejected' | 'skipped';

/** One element of a push answer, in submission order. */
export interface PushResult extends EventRef {
  status: PushStatus;
  /** `accepted` / `duplicate`: the event's place in its budget's stream. */
  sequence?: number;
  version?: number | null;
  /** `conflict`: the server's current record (`null`: deleted). */
  record?: AnyRecord | null;
  error?: WireError;
}

/** The answer of `POST /events`. */
export interface PushResponse {
  events: PushResult[];
}

/** A change in a budget's stream: gap-free `sequence` per budget, each exactly once. */
export interface StreamEvent {
  sequence: number;
  eventId: string;
  eventType: EventType;
  budgetId: string;
  recordId: string;
  actorId: string;
  when: number;
  serverTime: number;
  version: number | null;
  record: AnyRecord | null;
  /** `category.delete`: the expenses deleted with the category. */
  cascade?: { expenseIds: string[] };
}

/** `GET /events?budgetId&key&count&wait`. */
export interface EventsPage {
  budgetId: string;
  key: number;
  nextKey: number;
  events: StreamEvent[];
  hasMore: boolean;
}
