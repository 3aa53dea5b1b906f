/**
 * The socket's messages (docs/protocol.md "The socket"): the client → server schemas with their
 * compiled TypeBox checkers and one parse step for a raw frame. The message types themselves are the
 * protocol package's (both directions).
 *
 * Checks are strict like HTTP bodies (src/http/validation.ts): unknown fields are errors, nothing
 * is coerced. A frame that is binary, not JSON, not an object or of an unknown `type` is
 * INVALID_MESSAGE; a known type with wrong fields is INVALID_MESSAGE with `details` per path.
 */
import type {
  AuthMessage,
  ClientMessage,
  ErrorMessage,
  MessageRef,
  PingMessage,
  PushMessage,
  SubscribeMessage,
  UnsubscribeMessage,
} from '@budget-sync/protocol';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, type ErrorDetail } from '../errors/app-error.js';
import { LIMITS, Uuid } from '../protocol/primitives.js';
import { assertSameType } from '../protocol/same-type.js';

/** The client's reference of a message, echoed as `id` in answers and `ref` in errors. */
const MessageId = Type.Union([
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
]);
const strict = { additionalProperties: false } as const;

const Subscribe = Type.Object(
  {
    type: Type.Literal('subscribe'),
    budgetId: Uuid,
    after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    id: Type.Optional(MessageId),
  },
  strict,
);
const Unsubscribe = Type.Object({ type: Type.Literal('unsubscribe'), budgetId: Uuid, id: Type.Optional(MessageId) }, strict);
const Push = Type.Object(
  {
    type: Type.Literal('push'),
    id: MessageId,
    // Each element is checked by the processor (a bad one is a `rejected` result); only the batch
    // size is the envelope's business, exactly as for POST /events.
    events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: LIMITS.batch }),
    mode: Type.Optional(Type.Union([Type.Literal('stopOnError'), Type.Literal('independent')])),
  },
  strict,
);
// Firebase ID tokens are ~1 KB; 8 KB leaves room without letting `auth` carry a novel.
const Auth = Type.Object(
  { type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 8192 }), id: Type.Optional(MessageId) },
  strict,
);
const Ping = Type.Object({ type: Type.Literal('ping'), id: Type.Optional(MessageId) }, strict);

// The schemas are checked against the protocol package's message types at compile time, so the
// two cannot drift. A push's events are `unknown` to the envelope (each is checked on its own).
assertSameType<Static<typeof MessageId>, MessageRef>(true);
assertSameType<Static<typeof Subscribe>, SubscribeMessage>(true);
assertSameType<Static<typeof Unsubscribe>, UnsubscribeMessage>(true);
assertSameType<Static<typeof Push>, { [K in keyof PushMessage]: K extends 'events' ? unknown[] : PushMessage[K] }>(true);
assertSameType<Static<typeof Auth>, AuthMessage>(true);
assertSameType<Static<typeof Ping>, PingMessage>(true);

/** A client message as checked here: a push's events are still unchecked (the processor does that). */
export type CheckedMessage = Exclude<ClientMessage, PushMessage> | Static<typeof Push>;

const compile = <T extends TSchema>(schema: T) => TypeCompiler.Compile(schema);
const CHECKERS = {
  subscribe: compile(Subscribe),
  unsubscribe: compile(Unsubscribe),
  push: compile(Push),
  auth: compile(Auth),
  ping: compile(Ping),
} as const;

export type Parsed = { ok: true; message: CheckedMessage } | { ok: false; error: AppError; ref?: MessageRef };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (message: string, ref?: MessageRef, details?: ErrorDetail[]): Parsed =>
  ref === undefined
    ? { ok: false, error: new AppError('INVALID_MESSAGE', message, details) }
    : { ok: false, error: new AppError('INVALID_MESSAGE', message, details), ref };

/** One frame → a checked client message, or the error to answer with (never throws). */
export function parseFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Parsed {
  if (isBinary) return invalid('binary frames are not part of the protocol; send JSON text');
  const text = Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid('the message is not valid JSON');
  }
  if (!isObject(value)) return invalid('a message must be a JSON object with a `type`');
  const ref = CHECKERS.ping.Check({ type: 'ping', id: value.id }) ? (value.id as MessageRef) : undefined;
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(CHECKERS, type)) {
    // Never stringify a non-string `type`: 10,000 levels of nesting overflow JSON.stringify's stack.
    return invalid(
      typeof type === 'string' ? `unknown message type ${JSON.stringify(type.slice(0, 40))}` : 'the message `type` must be a string',
      ref,
    );
  }
  const checker = CHECKERS[type as keyof typeof CHECKERS];
  if (!checker.Check(value)) {
    const details = [...checker.Errors(value)].slice(0, 10).map((e) => ({ path: e.path || '/', message: e.message }));
    return invalid(`the ${type} message does not match its schema`, ref, details);
  }
  return { ok: true, message: value as CheckedMessage };
}

/** `{...}` with `id` only when the client gave one. */
export const withId = <T extends object>(body: T, id: MessageRef | undefined): T & { id?: MessageRef } =>
  id === undefined ? body : { ...body, id };

/** The `error` message of an AppError, with the client's reference when known. */
export function errorMessage(err: AppError, ref?: MessageRef): ErrorMessage {
  const msg: ErrorMessage = { type: 'error', code: err.code, message: err.message };
  if (ref !== undefined) msg.ref = ref;
  if (err.details) msg.details = err.details;
  return msg;
}
