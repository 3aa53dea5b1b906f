/**
 * What the server sends, as schemas: the records, the change stream, push results and the error
 * envelope. HTTP responses are serialized through them (fastify's compiled serializer: what is not
 * declared here is not sent), and the OpenAPI and AsyncAPI documents are generated from them. Each is
 * checked against the protocol package's type of the same name at compile time, so a field added,
 * dropped or retyped on one side only fails `tsc`.
 */
import {
  type AnyRecord as AnyRecordType,
  type Budget as BudgetType,
  type Category as CategoryType,
  CLIENT_EVENT_TYPES,
  type CreateBudgetResponse as CreateBudgetResponseType,
  ERROR_CODES,
  type ErrorBody as ErrorBodyType,
  type ErrorDetail as ErrorDetailType,
  type EventsPage as EventsPageType,
  type Expense as ExpenseType,
  type Participant as ParticipantType,
  type PublicProfile as PublicProfileType,
  type PushResponse as PushResponseType,
  type PushResult as PushResultType,
  SERVER_EVENT_TYPES,
  type Snapshot as SnapshotType,
  type StreamEvent as StreamEventType,
  type User as UserType,
  type WireError as WireErrorType,
} from '@budget-sync/protocol';
import { type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';
import { component, nullable, ref } from './components.js';
import { assertSameType } from './same-type.js';

/** One of `values` (an `enum` in the documents). */
export const literals = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<TLiteral<T[number]>[]>;

/** Lower case, as the server always answers. */
export const Id = Type.String({ format: 'uuid', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
/** A Firebase uid. */
export const Uid = Type.String({ minLength: 1, maxLength: 128 });
/** Server epoch milliseconds (64-bit: a 32-bit integer would overflow). */
export const EpochMs = Type.Integer({ format: 'int64', minimum: 0, description: 'epoch milliseconds' });
/** A position in a budget's stream: 1, 2, 3, … with no gaps. */
export const Sequence = Type.Integer({ format: 'int64', minimum: 0 });
export const RecordVersion = Type.Integer({ format: 'int64', minimum: 1 });
/** Money as stored: a decimal string with exactly two decimals. */
export const StoredMoney = Type.String({
  pattern: '^\\d{1,10}\\.\\d{2}$',
  description: 'decimal string, two decimals',
  examples: ['150.00'],
});
const Day = Type.String({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' });

export const Budget = component(
  'Budget',
  Type.Object({
    id: Id,
    title: Type.String(),
    details: nullable(Type.String()),
    ownerId: Uid,
    createdBy: Uid,
    version: RecordVersion,
    createdAt: EpochMs,
    updatedAt: EpochMs,
  }),
);
export const Category = component(
  'Category',
  Type.Object({
    id: Id,
    budgetId: Id,
    name: Type.String(),
    allocate: StoredMoney,
    createdBy: Uid,
    version: RecordVersion,
    createdAt: EpochMs,
    updatedAt: EpochMs,
  }),
);
export const Expense = component(
  'Expense',
  Type.Object({
    id: Id,
    budgetId: Id,
    categoryId: Id,
    date: Day,
    amount: StoredMoney,
    note: nullable(Type.String()),
    createdBy: Uid,
    version: RecordVersion,
    createdAt: EpochMs,
    updatedAt: EpochMs,
  }),
);
export const Participant = component(
  'Participant',
  Type.Object({
    userId: Uid,
    budgetId: Id,
    role: Type.Union([Type.Literal('owner'), Type.Literal('member')]),
    joinedAt: EpochMs,
    firstName: nullable(Type.String()),
    lastName: nullable(Type.String()),
    photo: nullable(Type.String({ description: 'CDN URL' })),
  }),
);
/** Any record of the stream; the fields tell them apart (`title`, `name`, `amount`, `role`). */
export const AnyRecord = component('AnyRecord', Type.Union([ref(Budget), ref(Category), ref(Expense), ref(Participant)]));
/**
 * A record or null as the compiled serializer writes it (src/http/serializer.ts): one nullable
 * object with every field of the four records, each optional. Not a component: the documents and
 * the tests know only `AnyRecord`.
 */
export const RecordFields = Type.Object(
  Object.fromEntries(
    [Budget, Category, Expense, Participant].flatMap((r) => Object.entries(r.properties).map(([k, v]) => [k, Type.Optional(v)])),
  ),
);
export const User = component(
  'User',
  Type.Object({
    id: Uid,
    email: nullable(Type.String()),
    firstName: nullable(Type.String()),
    lastName: nullable(Type.String()),
    photo: nullable(Type.String({ description: 'CDN URL' })),
  }),
);
export const PublicProfile = component(
  'PublicProfile',
  Type.Object({
    id: Uid,
    firstName: nullable(Type.String()),
    lastName: nullable(Type.String()),
    photo: nullable(Type.String({ description: 'CDN URL' })),
  }),
);

export const ErrorDetail = component('ErrorDetail', Type.Object({ path: Type.String(), message: Type.String() }));
const ErrorCode = literals(Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]);
const errorFields = {
  code: { ...ErrorCode, description: 'Stable UPPER_SNAKE code (docs/errors.md); new codes may be added.' },
  message: Type.String({ description: 'For people, not for programs: match on `code`.' }),
  details: Type.Optional(Type.Array(ref(ErrorDetail), { description: 'Each validation problem with its path.' })),
};
/** An error as a push result or a socket `error` carries it. */
export const WireError = component('WireError', Type.Object(errorFields));
/** The body of every HTTP error. */
export const ErrorBody = component(
  'ErrorBody',
  Type.Object({ error: Type.Object({ statusCode: Type.Integer({ minimum: 400, maximum: 599 }), ...errorFields }) }),
);

export const EventType = literals([...CLIENT_EVENT_TYPES, ...SERVER_EVENT_TYPES]);

export const StreamEvent = component(
  'StreamEvent',
  Type.Object({
    sequence: Sequence,
    eventId: Id,
    eventType: EventType,
    budgetId: Id,
    recordId: Type.String({ description: "The record's id; a participant's user id for participant events" }),
    actorId: Uid,
    when: Type.Integer({ format: 'int64', description: "the device's clock, epoch ms: shown, never used for ordering" }),
    serverTime: EpochMs,
    version: nullable(RecordVersion),
    record: nullable(ref(AnyRecord)),
    cascade: Type.Optional(Type.Object({ expenseIds: Type.Array(Id) }, { description: 'category.delete: the expenses deleted with it' })),
  }),
);

export const PushResult = component(
  'PushResult',
  Type.Object({
    eventId: Type.String(),
    eventType: nullable(Type.String()),
    budgetId: nullable(Id),
    recordId: nullable(Type.String()),
    status: literals(['accepted', 'duplicate', 'conflict', 'rejected', 'skipped'] as const),
    sequence: Type.Optional(Sequence),
    version: Type.Optional(nullable(RecordVersion)),
    record: Type.Optional(nullable(ref(AnyRecord))),
    error: Type.Optional(ref(WireError)),
  }),
);
export const PushResponse = component('PushResponse', Type.Object({ events: Type.Array(ref(PushResult)) }));

export const EventsPage = component(
  'EventsPage',
  Type.Object({
    budgetId: Id,
    key: Sequence,
    nextKey: Sequence,
    events: Type.Array(ref(StreamEvent)),
    hasMore: Type.Boolean(),
  }),
);
export const CreateBudgetResponse = component(
  'CreateBudgetResponse',
  Type.Object({ budget: ref(Budget), participant: ref(Participant), sequence: Sequence }),
);
export const Snapshot = component(
  'Snapshot',
  Type.Object({
    budget: ref(Budget),
    participants: Type.Array(ref(Participant)),
    categories: Type.Array(ref(Category)),
    expenses: Type.Array(ref(Expense)),
    lastSequence: Sequence,
  }),
);

/** In the order a reader meets them (each after the components it refers to). */
export const WIRE_COMPONENTS = [
  Budget,
  Category,
  Expense,
  Participant,
  AnyRecord,
  User,
  PublicProfile,
  ErrorDetail,
  WireError,
  ErrorBody,
  StreamEvent,
  PushResult,
  PushResponse,
  EventsPage,
  CreateBudgetResponse,
  Snapshot,
];

assertSameType<Static<typeof Budget>, BudgetType>(true);
assertSameType<Static<typeof Category>, CategoryType>(true);
assertSameType<Static<typeof Expense>, ExpenseType>(true);
assertSameType<Static<typeof Participant>, ParticipantType>(true);
assertSameType<Static<typeof AnyRecord>, AnyRecordType>(true);
assertSameType<Static<typeof User>, UserType>(true);
assertSameType<Static<typeof PublicProfile>, PublicProfileType>(true);
assertSameType<Static<typeof ErrorDetail>, ErrorDetailType>(true);
assertSameType<Static<typeof WireError>, WireErrorType>(true);
assertSameType<Static<typeof ErrorBody>, ErrorBodyType>(true);
assertSameType<Static<typeof StreamEvent>, StreamEventType>(true);
assertSameType<Static<typeof PushResult>, PushResultType>(true);
assertSameType<Static<typeof PushResponse>, PushResponseType>(true);
assertSameType<Static<typeof EventsPage>, EventsPageType>(true);
assertSameType<Static<typeof CreateBudgetResponse>, CreateBudgetResponseType>(true);
assertSameType<Static<typeof Snapshot>, SnapshotType>(true);
