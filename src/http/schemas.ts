import type {
  ConfirmPhotoRequest,
  CreateBudgetRequest,
  CreateInviteRequest,
  PushRequest,
  TransferOwnershipRequest,
  UpdateUserRequest,
} from '@budget-sync/protocol';
import { type Static, Type } from '@sinclair/typebox';
import { DateString, LIMITS, Text, UserId, Uuid, When } from '../protocol/primitives.js';
import { PushEnvelope } from '../protocol/socket.js';
import { assertSameType } from '../protocol/same-type.js';

/** The routes' path parameters, queries and bodies; with responses.ts they make up the OpenAPI document. */
export const BudgetParams = Type.Object({ budgetId: Uuid });
export const PageQuery = Type.Object({
  key: Type.Optional(Uuid),
  count: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
});
export const EventsQuery = Type.Object({
  budgetId: Uuid,
  // Bounded so `?key=1e23` is a 400, not an imprecise number echoed back as `1e+23`.
  key: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
  count: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  wait: Type.Integer({ minimum: 0, maximum: 60, default: 20 }),
});
export const SummaryQuery = Type.Object({ from: Type.Optional(DateString), to: Type.Optional(DateString) });
export const CreateBudgetBody = Type.Object(
  {
    eventId: Uuid,
    id: Uuid,
    title: Text(1, LIMITS.title),
    details: Type.Optional(Type.Union([Text(0, LIMITS.details), Type.Null()])),
    when: When,
  },
  { additionalProperties: false },
);
/** The envelope of the socket's `push` without its `type` and `id`: events are checked one by one. */
export const PushBody = Type.Object(
  { events: PushEnvelope.properties.events, mode: PushEnvelope.properties.mode },
  { additionalProperties: false },
);
// The bodies are the protocol package's request types (a push's events are checked one by one).
assertSameType<Static<typeof CreateBudgetBody>, CreateBudgetRequest>(true);
assertSameType<Static<typeof PushBody>, { [K in keyof PushRequest]: K extends 'events' ? unknown[] : PushRequest[K] }>(true);

export const InviteBody = Type.Object(
  {
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 90 * 86400 })),
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export const InviteParams = Type.Object({ budgetId: Uuid, inviteId: Uuid });
export const UserBody = Type.Object(
  {
    firstName: Type.Optional(Type.Union([Text(0, 100), Type.Null()])),
    lastName: Type.Optional(Type.Union([Text(0, 100), Type.Null()])),
    // No NUL (Postgres text cannot hold it: a 500 otherwise).
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254, pattern: '^[^@\\s\\u0000]+@[^@\\s\\u0000]+$' }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const OwnerBody = Type.Object({ userId: UserId }, { additionalProperties: false });
/** Longer than any key this server hands out (`pending/` + a percent-encoded 128-char uid + a uuid). */
export const ConfirmBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
/**
 * `type` is any string here so an unlisted one answers PHOTO_TYPE_NOT_ALLOWED, not a schema error;
 * `size` above 5 MiB likewise answers PHOTO_TOO_LARGE.
 */
export const UploadQuery = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 255 }),
  size: Type.Integer({ minimum: 1, description: 'bytes' }),
});
assertSameType<Static<typeof InviteBody>, CreateInviteRequest>(true);
assertSameType<Static<typeof OwnerBody>, TransferOwnershipRequest>(true);
assertSameType<Static<typeof UserBody>, UpdateUserRequest>(true);
assertSameType<Static<typeof ConfirmBody>, ConfirmPhotoRequest>(true);
