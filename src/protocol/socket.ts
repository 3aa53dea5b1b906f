/**
 * The socket's messages as schemas, both directions (docs/protocol.md "The socket"), each checked
 * against the protocol package's message type of the same name. The server checks client messages
 * with them (src/realtime/messages.ts); docs/asyncapi.yaml is generated from them.
 */
import {
  type AuthMessage as AuthMessageType,
  type AuthOkMessage as AuthOkMessageType,
  ERROR_CODES,
  type ErrorMessage as ErrorMessageType,
  type EventsMessage as EventsMessageType,
  type HelloMessage as HelloMessageType,
  type MembershipMessage as MembershipMessageType,
  type MessageRef as MessageRefType,
  PROTOCOL_VERSION,
  type PingMessage as PingMessageType,
  type PongMessage as PongMessageType,
  type PushMessage as PushMessageType,
  type PushResultMessage as PushResultMessageType,
  type ResyncMessage as ResyncMessageType,
  type RevokedMessage as RevokedMessageType,
  type SubscribeMessage as SubscribeMessageType,
  type SubscribedMessage as SubscribedMessageType,
  type UnsubscribeMessage as UnsubscribeMessageType,
  type UnsubscribedMessage as UnsubscribedMessageType,
} from '@budget-sync/protocol';
import { type Static, type TProperties, Type } from '@sinclair/typebox';
import { component, ref } from './components.js';
import { PUSH_EVENT_COMPONENTS, PushEvent, PushModeSchema } from './events.js';
import { LIMITS, Uuid } from './primitives.js';
import { assertSameType } from './same-type.js';
import { ErrorDetail, Id, PushResult, Sequence, StreamEvent, Uid, WIRE_COMPONENTS, literals } from './wire.js';

/** The client's reference of a message, echoed as `id` in answers and `ref` in errors. */
export const MessageId = Type.Union([
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
]);
const strict = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

// ---- client → server ------------------------------------------------------------------------

export const SubscribeMessage = component(
  'SubscribeMessage',
  strict({
    type: Type.Literal('subscribe'),
    budgetId: Uuid,
    after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the last sequence the device holds (0: none)' }),
    id: Type.Optional(MessageId),
  }),
);
export const UnsubscribeMessage = component(
  'UnsubscribeMessage',
  strict({ type: Type.Literal('unsubscribe'), budgetId: Uuid, id: Type.Optional(MessageId) }),
);
/**
 * The envelope the server checks: each event is checked on its own by the processor (a bad one is a
 * `rejected` result), exactly as for `POST /events`. `PushMessage` below is the documented shape.
 */
export const PushEnvelope = strict({
  type: Type.Literal('push'),
  id: MessageId,
  events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: LIMITS.batch }),
  mode: Type.Optional(PushModeSchema),
});
export const PushMessage = component(
  'PushMessage',
  strict({ ...PushEnvelope.properties, events: Type.Array(ref(PushEvent), { minItems: 1, maxItems: LIMITS.batch }) }),
);
// Firebase ID tokens are ~1 KB; 8 KB leaves room without letting `auth` carry a novel.
export const AuthMessage = component(
  'AuthMessage',
  strict({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 8192 }), id: Type.Optional(MessageId) }),
);
export const PingMessage = component('PingMessage', strict({ type: Type.Literal('ping'), id: Type.Optional(MessageId) }));

export const CLIENT_MESSAGES = [SubscribeMessage, UnsubscribeMessage, PushMessage, AuthMessage, PingMessage];

// ---- server → client ------------------------------------------------------------------------

export const HelloMessage = component(
  'HelloMessage',
  Type.Object({
    type: Type.Literal('hello'),
    protocol: Type.Literal(PROTOCOL_VERSION),
    connectionId: Type.String(),
    userId: Uid,
    heartbeatMs: Type.Integer({ minimum: 1, description: 'the server pings this often' }),
  }),
);
export const SubscribedMessage = component(
  'SubscribedMessage',
  Type.Object({ type: Type.Literal('subscribed'), budgetId: Id, lastSequence: Sequence, id: Type.Optional(MessageId) }),
);
export const UnsubscribedMessage = component(
  'UnsubscribedMessage',
  Type.Object({ type: Type.Literal('unsubscribed'), budgetId: Id, id: Type.Optional(MessageId) }),
);
export const EventsMessage = component(
  'EventsMessage',
  Type.Object({ type: Type.Literal('events'), budgetId: Id, events: Type.Array(ref(StreamEvent)) }),
);
export const PushResultMessage = component(
  'PushResultMessage',
  Type.Object({ type: Type.Literal('pushResult'), id: MessageId, events: Type.Array(ref(PushResult)) }),
);
export const AuthOkMessage = component(
  'AuthOkMessage',
  Type.Object({
    type: Type.Literal('authOk'),
    expiresAt: Type.Integer({ format: 'int64', description: 'epoch ms when the new token expires' }),
    id: Type.Optional(MessageId),
  }),
);
export const PongMessage = component('PongMessage', Type.Object({ type: Type.Literal('pong'), id: Type.Optional(MessageId) }));
export const RevokedMessage = component(
  'RevokedMessage',
  Type.Object({ type: Type.Literal('revoked'), budgetId: Id, reason: literals(['left', 'removed', 'deleted'] as const) }),
);
export const MembershipMessage = component(
  'MembershipMessage',
  Type.Object({ type: Type.Literal('membership'), budgetId: Id, change: literals(['added', 'removed'] as const) }),
);
export const ResyncMessage = component(
  'ResyncMessage',
  Type.Object({ type: Type.Literal('resync'), budgetId: Id, code: Type.Literal('SNAPSHOT_REQUIRED'), id: Type.Optional(MessageId) }),
);
export const ErrorMessage = component(
  'ErrorMessage',
  Type.Object({
    type: Type.Literal('error'),
    code: literals(Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]),
    message: Type.String(),
    ref: Type.Optional({ ...MessageId, description: 'the `id` of the client message this answers' }),
    details: Type.Optional(Type.Array(ref(ErrorDetail))),
  }),
);

export const SERVER_MESSAGES = [
  HelloMessage,
  SubscribedMessage,
  UnsubscribedMessage,
  EventsMessage,
  PushResultMessage,
  AuthOkMessage,
  PongMessage,
  RevokedMessage,
  MembershipMessage,
  ResyncMessage,
  ErrorMessage,
];

assertSameType<Static<typeof MessageId>, MessageRefType>(true);
assertSameType<Static<typeof SubscribeMessage>, SubscribeMessageType>(true);
assertSameType<Static<typeof UnsubscribeMessage>, UnsubscribeMessageType>(true);
assertSameType<Static<typeof PushMessage>, PushMessageType>(true);
assertSameType<Static<typeof AuthMessage>, AuthMessageType>(true);
assertSameType<Static<typeof PingMessage>, PingMessageType>(true);
assertSameType<Static<typeof HelloMessage>, HelloMessageType>(true);
assertSameType<Static<typeof SubscribedMessage>, SubscribedMessageType>(true);
assertSameType<Static<typeof UnsubscribedMessage>, UnsubscribedMessageType>(true);
assertSameType<Static<typeof EventsMessage>, EventsMessageType>(true);
assertSameType<Static<typeof PushResultMessage>, PushResultMessageType>(true);
assertSameType<Static<typeof AuthOkMessage>, AuthOkMessageType>(true);
assertSameType<Static<typeof PongMessage>, PongMessageType>(true);
assertSameType<Static<typeof RevokedMessage>, RevokedMessageType>(true);
assertSameType<Static<typeof MembershipMessage>, MembershipMessageType>(true);
assertSameType<Static<typeof ResyncMessage>, ResyncMessageType>(true);
assertSameType<Static<typeof ErrorMessage>, ErrorMessageType>(true);

/** Every schema the socket's messages use, for the AsyncAPI document. */
export const SOCKET_COMPONENTS = [...WIRE_COMPONENTS, ...PUSH_EVENT_COMPONENTS, PushEvent, ...CLIENT_MESSAGES, ...SERVER_MESSAGES];
