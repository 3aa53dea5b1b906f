import { createHash } from 'node:crypto';
import { CLIENT_EVENT_TYPES, type ClientEventType, type EventRef, type PushEventOf, SERVER_EVENT_TYPES } from '@budget-sync/protocol';
import { type Static, type TProperties, Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, type ErrorDetail } from '../errors/app-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { DateString, LIMITS, Money, Text, Uuid, Version, When, isCalendarDate, isUuid, normaliseMoney } from './primitives.js';
import { assertSameType } from './same-type.js';

const common = { eventId: Uuid, budgetId: Uuid, when: When };
const type = <T extends ClientEventType>(t: T) => ({ eventType: Type.Literal(t) });
const optionalRecordId = { recordId: Type.Optional(Uuid) };
const obj = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

/** Per type: the schema of the whole event and the fields that make up its content. */
const TYPE_SCHEMAS = {
  'budget.edit': obj({
    ...common,
    ...type('budget.edit'),
    ...optionalRecordId,
    version: Version,
    title: Type.Optional(Text(1, LIMITS.title)),
    details: Type.Optional(Type.Union([Text(0, LIMITS.details), Type.Null()])),
  }),
  'budget.delete': obj({ ...common, ...type('budget.delete'), ...optionalRecordId, version: Version }),
  'category.add': obj({ ...common, ...type('category.add'), recordId: Uuid, name: Text(1, LIMITS.name), allocate: Money }),
  'category.edit': obj({
    ...common,
    ...type('category.edit'),
    recordId: Uuid,
    version: Version,
    name: Type.Optional(Text(1, LIMITS.name)),
    allocate: Type.Optional(Money),
  }),
  'category.delete': obj({ ...common, ...type('category.delete'), recordId: Uuid, version: Version }),
  'expense.add': obj({
    ...common,
    ...type('expense.add'),
    recordId: Uuid,
    categoryId: Uuid,
    date: DateString,
    amount: Money,
    note: Type.Optional(Type.Union([Text(0, LIMITS.note), Type.Null()])),
  }),
  'expense.edit': obj({
    ...common,
    ...type('expense.edit'),
    recordId: Uuid,
    version: Version,
    categoryId: Type.Optional(Uuid),
    date: Type.Optional(DateString),
    amount: Type.Optional(Money),
    note: Type.Optional(Type.Union([Text(0, LIMITS.note), Type.Null()])),
  }),
  'expense.delete': obj({ ...common, ...type('expense.delete'), recordId: Uuid, version: Version }),
} satisfies Record<ClientEventType, TSchema>;

// The schemas and the protocol package's event types are checked against each other at compile
// time: a field added, dropped or retyped on one side only fails `tsc`.
type Schemas = typeof TYPE_SCHEMAS;
assertSameType<{ [K in ClientEventType]: Static<Schemas[K]> }, { [K in ClientEventType]: PushEventOf<K> }>(true);

const CHECKERS = Object.fromEntries(Object.entries(TYPE_SCHEMAS).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as unknown as {
  [K in ClientEventType]: ReturnType<typeof TypeCompiler.Compile>;
};

/** Edits must change something: at least one of these fields. */
const EDIT_FIELDS: Partial<Record<ClientEventType, string[]>> = {
  'budget.edit': ['title', 'details'],
  'category.edit': ['name', 'allocate'],
  'expense.edit': ['categoryId', 'date', 'amount', 'note'],
};

/** A validated, normalised client event (uuids lowercase, money with two decimals). */
export interface ClientEvent {
  eventId: string;
  eventType: ClientEventType;
  budgetId: string;
  /** The budget id for budget events. */
  recordId: string;
  when: number;
  version?: number;
  title?: string;
  details?: string | null;
  name?: string;
  allocate?: string;
  categoryId?: string;
  date?: string;
  amount?: string;
  note?: string | null;
  /** Hash of the content (type, budget, record and fields; not `when`), for EVENT_ID_REUSED. */
  fingerprint: string;
}

export type ParsedEvent = { ok: true; event: ClientEvent } | { ok: false; ref: EventRef; error: AppError };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads whatever identifies a raw event, for a result even when the event is invalid. */
export function eventRef(raw: unknown): EventRef {
  const o = isObject(raw) ? raw : {};
  const type = o.eventType ?? o.event;
  const id = (v: unknown) => (isUuid(v) ? v.toLowerCase() : null);
  return {
    eventId: isUuid(o.eventId) ? o.eventId.toLowerCase() : String(o.eventId ?? ''),
    eventType: typeof type === 'string' ? type.slice(0, 64) : null,
    budgetId: id(o.budgetId),
    recordId: id(o.recordId) ?? (typeof type === 'string' && type.startsWith('budget.') ? id(o.budgetId) : null),
  };
}

/** True when a batch element has a parseable eventId (otherwise the whole batch is a 400). */
export const hasEventId = (raw: unknown): boolean => isObject(raw) && isUuid(raw.eventId);

const reject = (raw: unknown, code: ErrorCode, message: string, details?: ErrorDetail[]): ParsedEvent => ({
  ok: false,
  ref: eventRef(raw),
  error: new AppError(code, message, details),
});

/** Validates and normalises one pushed event; never throws. */
export function parseClientEvent(raw: unknown): ParsedEvent {
  if (!isObject(raw)) return reject(raw, 'VALIDATION_FAILED', 'event must be an object');
  const input: Record<string, unknown> = { ...raw };
  // `event` is the original service's name for `eventType`; accept either, not both differing.
  if ('event' in input) {
    if ('eventType' in input && input.eventType !== input.event) {
      return reject(raw, 'VALIDATION_FAILED', 'event and eventType differ', [{ path: '/event', message: 'must equal eventType' }]);
    }
    input.eventType = input.event;
    delete input.event;
  }
  const type = input.eventType;
  if (typeof type !== 'string' || !Object.hasOwn(CHECKERS, type)) {
    const known = typeof type === 'string' && (SERVER_EVENT_TYPES as readonly string[]).includes(type);
    return reject(raw, 'VALIDATION_FAILED', known ? `${type} is written by the server only` : 'unknown eventType', [
      { path: '/eventType', message: `must be one of ${CLIENT_EVENT_TYPES.join(', ')}` },
    ]);
  }
  const eventType = type as ClientEventType;
  const checker = CHECKERS[eventType];
  if (!checker.Check(input)) {
    const details = [...checker.Errors(input)].slice(0, 10).map((e) => ({ path: e.path || '/', message: e.message }));
    return reject(raw, 'VALIDATION_FAILED', `invalid ${eventType} event`, details);
  }
  const details: ErrorDetail[] = [];
  const editFields = EDIT_FIELDS[eventType];
  if (editFields && !editFields.some((f) => input[f] !== undefined)) {
    details.push({ path: '/', message: `must change at least one of ${editFields.join(', ')}` });
  }
  for (const field of ['allocate', 'amount'] as const) {
    if (typeof input[field] === 'string') input[field] = normaliseMoney(input[field] as string);
  }
  if (typeof input.date === 'string' && !isCalendarDate(input.date)) details.push({ path: '/date', message: 'must be a calendar date' });
  const budgetId = (input.budgetId as string).toLowerCase();
  if (eventType.startsWith('budget.') && input.recordId !== undefined && (input.recordId as string).toLowerCase() !== budgetId) {
    details.push({ path: '/recordId', message: 'must equal budgetId for budget events' });
  }
  if (details.length > 0) return reject(raw, 'VALIDATION_FAILED', `invalid ${eventType} event`, details);

  const event = { ...input, eventType, budgetId, eventId: (input.eventId as string).toLowerCase() } as unknown as ClientEvent;
  event.recordId = eventType.startsWith('budget.') ? budgetId : (input.recordId as string).toLowerCase();
  if (event.categoryId) event.categoryId = event.categoryId.toLowerCase();
  event.fingerprint = fingerprint(event);
  return { ok: true, event };
}

function fingerprint(event: Omit<ClientEvent, 'fingerprint'>): string {
  const { eventId: _id, when: _when, fingerprint: _f, ...content } = event as ClientEvent;
  const canonical = JSON.stringify(
    Object.keys(content)
      .sort()
      .map((k) => [k, content[k as keyof typeof content]]),
  );
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 32);
}
