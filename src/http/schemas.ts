import type { CreateBudgetRequest, PushRequest } from '@budget-sync/protocol';
import { type Static, Type } from '@sinclair/typebox';
import { DateString, LIMITS, Text, UserId, Uuid, When } from '../protocol/primitives.js';
import { assertSameType } from '../protocol/same-type.js';

/** Route schemas shared by several routes; they also make up the OpenAPI document. */
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
export const PushBody = Type.Object(
  {
    events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: LIMITS.batch }),
    mode: Type.Optional(Type.Union([Type.Literal('stopOnError'), Type.Literal('independent')])),
  },
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
export const InviteCreated = Type.Object({
  token: Type.String({ description: 'Shown only here, once; the server keeps only its hash.' }),
  expiresAt: Type.Integer({ description: 'epoch ms' }),
});
export const InviteList = Type.Object({
  invites: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      createdBy: UserId,
      createdAt: Type.Integer({ description: 'epoch ms' }),
      expiresAt: Type.Integer({ description: 'epoch ms' }),
      maxUses: Type.Union([Type.Integer(), Type.Null()]),
      uses: Type.Integer(),
    }),
  ),
});
export const UserBody = Type.Object(
  {
    firstName: Type.Optional(Type.Union([Text(0, 100), Type.Null()])),
    lastName: Type.Optional(Type.Union([Text(0, 100), Type.Null()])),
    // No NUL (Postgres text cannot hold it: a 500 otherwise).
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254, pattern: '^[^@\\s\\u0000]+@[^@\\s\\u0000]+$' }), Type.Null()])),
  },
  { additionalProperties: false },
);
