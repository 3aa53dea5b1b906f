/**
 * The answers of the HTTP routes: their bodies as named schemas (components, each checked against
 * the protocol package's type of the same name) and the error statuses each route declares. Every
 * response is serialized through its schema, so what is not declared here is not sent.
 */
import type {
  BudgetPage as BudgetPageType,
  BudgetResponse as BudgetResponseType,
  CategoryList as CategoryListType,
  CategoryResponse as CategoryResponseType,
  ExpensePage as ExpensePageType,
  ExpenseResponse as ExpenseResponseType,
  HealthStatus as HealthStatusType,
  InviteCreated as InviteCreatedType,
  InviteList as InviteListType,
  InviteSummary as InviteSummaryType,
  JoinResponse as JoinResponseType,
  LastSequenceResponse as LastSequenceResponseType,
  OwnerResponse as OwnerResponseType,
  ParticipantList as ParticipantListType,
  ParticipantRemoved as ParticipantRemovedType,
  ParticipantResponse as ParticipantResponseType,
  PhotoResponse as PhotoResponseType,
  PhotoUploadTicket as PhotoUploadTicketType,
  Summary as SummaryType,
  SummaryCategory as SummaryCategoryType,
  SummaryTotals as SummaryTotalsType,
} from '@budget-sync/protocol';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { component, nullable, ref } from '../protocol/components.js';
import { assertSameType } from '../protocol/same-type.js';
import {
  Budget,
  Category,
  EpochMs,
  ErrorBody,
  Expense,
  Id,
  Participant,
  Sequence,
  Uid,
  WIRE_COMPONENTS,
  literals,
} from '../protocol/wire.js';

const NextKey = nullable(Type.String({ format: 'uuid', description: 'pass as `key` for the next page; null at the end' }));
/** A sum of money; may be negative and longer than a stored amount. */
const Sum = Type.String({ pattern: '^-?\\d+\\.\\d{2}$', description: 'exact decimal string, two decimals' });

export const BudgetPage = component('BudgetPage', Type.Object({ budgets: Type.Array(ref(Budget)), nextKey: NextKey }));
export const BudgetResponse = component('BudgetResponse', Type.Object({ budget: ref(Budget), lastSequence: Sequence }));
export const LastSequenceResponse = component('LastSequenceResponse', Type.Object({ budgetId: Id, lastSequence: Sequence }));
export const ParticipantList = component('ParticipantList', Type.Object({ participants: Type.Array(ref(Participant)) }));
export const ParticipantResponse = component('ParticipantResponse', Type.Object({ participant: ref(Participant) }));
export const CategoryList = component('CategoryList', Type.Object({ categories: Type.Array(ref(Category)) }));
export const CategoryResponse = component('CategoryResponse', Type.Object({ category: ref(Category) }));
export const ExpensePage = component('ExpensePage', Type.Object({ expenses: Type.Array(ref(Expense)), nextKey: NextKey }));
export const ExpenseResponse = component('ExpenseResponse', Type.Object({ expense: ref(Expense) }));
const totals = { allocate: Sum, spent: Sum, remaining: Sum, count: Type.Integer({ minimum: 0 }) };
export const SummaryTotals = component('SummaryTotals', Type.Object(totals));
export const SummaryCategory = component('SummaryCategory', Type.Object({ categoryId: Id, name: Type.String(), ...totals }));
export const Summary = component(
  'Summary',
  Type.Object({
    budgetId: Id,
    from: nullable(Type.String({ format: 'date' })),
    to: nullable(Type.String({ format: 'date' })),
    categories: Type.Array(ref(SummaryCategory)),
    totals: ref(SummaryTotals),
  }),
);
export const InviteCreated = component(
  'InviteCreated',
  Type.Object({
    token: Type.String({ description: 'Shown only here, once; the server keeps only its hash.' }),
    expiresAt: EpochMs,
  }),
);
export const InviteSummary = component(
  'InviteSummary',
  Type.Object({
    id: Id,
    createdBy: Uid,
    createdAt: EpochMs,
    expiresAt: EpochMs,
    maxUses: nullable(Type.Integer({ minimum: 1, description: 'null: reusable until it expires' })),
    uses: Type.Integer({ minimum: 0 }),
  }),
);
export const InviteList = component('InviteList', Type.Object({ invites: Type.Array(ref(InviteSummary)) }));
export const JoinResponse = component('JoinResponse', Type.Object({ budget: ref(Budget), participant: ref(Participant) }));
export const ParticipantRemoved = component('ParticipantRemoved', Type.Object({ budgetId: Id, userId: Uid }));
export const OwnerResponse = component('OwnerResponse', Type.Object({ budget: ref(Budget) }));
export const PhotoUploadTicket = component(
  'PhotoUploadTicket',
  Type.Object({
    url: Type.String({ description: 'presigned PUT URL' }),
    key: Type.String(),
    expiresInSeconds: Type.Integer({ minimum: 1 }),
    headers: Type.Record(Type.String(), Type.String(), { description: 'send exactly these with the PUT' }),
  }),
);
export const PhotoResponse = component('PhotoResponse', Type.Object({ photo: Type.String({ description: 'CDN URL' }) }));
export const HealthStatus = component('HealthStatus', Type.Object({ status: literals(['ok', 'ready'] as const) }));

/** Every component the HTTP routes use, registered once as shared schemas by the app. */
export const HTTP_COMPONENTS: TSchema[] = [
  ...WIRE_COMPONENTS,
  BudgetPage,
  BudgetResponse,
  LastSequenceResponse,
  ParticipantList,
  ParticipantResponse,
  CategoryList,
  CategoryResponse,
  ExpensePage,
  ExpenseResponse,
  SummaryTotals,
  SummaryCategory,
  Summary,
  InviteCreated,
  InviteSummary,
  InviteList,
  JoinResponse,
  ParticipantRemoved,
  OwnerResponse,
  PhotoUploadTicket,
  PhotoResponse,
  HealthStatus,
];

assertSameType<Static<typeof BudgetPage>, BudgetPageType>(true);
assertSameType<Static<typeof BudgetResponse>, BudgetResponseType>(true);
assertSameType<Static<typeof LastSequenceResponse>, LastSequenceResponseType>(true);
assertSameType<Static<typeof ParticipantList>, ParticipantListType>(true);
assertSameType<Static<typeof ParticipantResponse>, ParticipantResponseType>(true);
assertSameType<Static<typeof CategoryList>, CategoryListType>(true);
assertSameType<Static<typeof CategoryResponse>, CategoryResponseType>(true);
assertSameType<Static<typeof ExpensePage>, ExpensePageType>(true);
assertSameType<Static<typeof ExpenseResponse>, ExpenseResponseType>(true);
assertSameType<Static<typeof SummaryTotals>, SummaryTotalsType>(true);
assertSameType<Static<typeof SummaryCategory>, SummaryCategoryType>(true);
assertSameType<Static<typeof Summary>, SummaryType>(true);
assertSameType<Static<typeof InviteCreated>, InviteCreatedType>(true);
assertSameType<Static<typeof InviteSummary>, InviteSummaryType>(true);
assertSameType<Static<typeof InviteList>, InviteListType>(true);
assertSameType<Static<typeof JoinResponse>, JoinResponseType>(true);
assertSameType<Static<typeof ParticipantRemoved>, ParticipantRemovedType>(true);
assertSameType<Static<typeof OwnerResponse>, OwnerResponseType>(true);
assertSameType<Static<typeof PhotoUploadTicket>, PhotoUploadTicketType>(true);
assertSameType<Static<typeof PhotoResponse>, PhotoResponseType>(true);
assertSameType<Static<typeof HealthStatus>, HealthStatusType>(true);

/** Registers every component as a shared schema of `app` (before its routes). */
export function registerComponents(app: FastifyInstance, extra: TSchema[] = []): void {
  for (const schema of [...HTTP_COMPONENTS, ...extra]) app.addSchema(schema);
}

/** What each error status means on this API (the codes are in docs/errors.md). */
const ERROR_STATUSES = {
  400: 'The request does not match its schema (VALIDATION_FAILED with `details`), is not JSON (INVALID_JSON) or is malformed (BAD_REQUEST).',
  401: 'No valid bearer token (UNAUTHENTICATED, TOKEN_EXPIRED).',
  403: 'Not allowed (NOT_PARTICIPANT, NOT_OWNER, PARTICIPANT_LIMIT_REACHED).',
  404: 'Not there (BUDGET_NOT_FOUND and the other *_NOT_FOUND codes, INVITE_INVALID).',
  409: 'Conflicts with the current state (BUDGET_EXISTS, OWNER_MUST_TRANSFER).',
  413: 'The body is larger than the limit (PAYLOAD_TOO_LARGE).',
  415: 'The body is not `application/json` (UNSUPPORTED_MEDIA_TYPE).',
  429: 'Too many requests (RATE_LIMITED); retry after `Retry-After` seconds.',
  500: 'A bug (INTERNAL), logged with the request id.',
  502: 'The object store failed (STORAGE_UNAVAILABLE); nothing was changed.',
  503: 'A dependency is unavailable (DATABASE_UNAVAILABLE, AUTH_UNAVAILABLE, STORAGE_NOT_CONFIGURED); retry with backoff.',
} as const;
export type ErrorStatus = keyof typeof ERROR_STATUSES;

/** The error envelope for each of `statuses`, with a description of what it means. */
export function errors(...statuses: ErrorStatus[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...ref(ErrorBody), description: ERROR_STATUSES[s] }]));
}

/** Every route that takes a token may answer these (no token, the limiter, a bug, an outage). */
export const AUTHENTICATED: ErrorStatus[] = [401, 429, 500, 503];
/** A route with path parameters, a query or a body may also refuse them (400). */
export const WITH_INPUT: ErrorStatus[] = [400, ...AUTHENTICATED];
/** A route with a JSON body may also refuse its size or type. */
export const WITH_BODY: ErrorStatus[] = [...WITH_INPUT, 413, 415];
/** A route scoped to one budget: not a participant (403) or no such budget (404). */
export const IN_BUDGET: ErrorStatus[] = [...WITH_INPUT, 403, 404];
