/**
 * docs/asyncapi.yaml (AsyncAPI 3.0), generated from the socket's message schemas
 * (src/protocol/socket.ts) and the close codes of the protocol package, so the socket's contract is
 * written once. `npm run docs` writes it; a test checks the committed file equals this output and
 * that the AsyncAPI parser accepts it.
 *
 * The document describes the server: it receives the client's messages (with the replies each may
 * get) and sends the rest. Code generators for clients invert that.
 */
import {
  BEARER_PROTOCOL_PREFIX,
  CLOSE_CODES,
  type ClientMessage,
  PROTOCOL_VERSION,
  SOCKET_PROTOCOL,
  type ServerMessage,
} from '@budget-sync/protocol';
import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { ConfigSchema } from '../src/config/schema.js';
import { CLIENT_MESSAGES, SERVER_MESSAGES, SOCKET_COMPONENTS } from '../src/protocol/socket.js';

type MessageType = ClientMessage['type'] | ServerMessage['type'];
type Json = Record<string, unknown>;

/** One line per message for the document; a message type without one does not compile. */
const SUMMARIES: Record<MessageType, string> = {
  subscribe: 'Follow a budget from `after` on: `subscribed`, then `events` from `after + 1`, then live.',
  unsubscribe: 'Stop following a budget.',
  push: 'Push 1–25 events, exactly as `POST /events`; answered `pushResult`.',
  auth: 'A fresh token for a long-lived socket; answered `authOk`.',
  ping: 'An application-level ping; answered `pong`.',
  hello: 'Sent once when the socket opens.',
  subscribed: "The subscription is made; `lastSequence` is the budget's last sequence at that moment.",
  unsubscribed: 'The subscription has ended.',
  events: 'Stream events of one budget, ascending, each exactly once, no gaps.',
  pushResult: 'One result per pushed event, in order (the results of `POST /events`).',
  authOk: 'The new token is in force until `expiresAt`.',
  pong: 'The answer to `ping`.',
  revoked: 'The subscription ended from the stream (left, removed, deleted): drop the budget.',
  membership: "The user's set of budgets changed (sent to every socket of the user, on every instance).",
  resync: 'The `after` of a subscribe is unusable: load a snapshot, subscribe from its `lastSequence`.',
  error: 'A refused message (`ref` is its `id`), or the reason of a close that follows.',
};

/** What each close code means for a client; a code without one does not compile. */
const CLOSE_MEANINGS: Record<keyof typeof CLOSE_CODES, string> = {
  DRAINING: 'The server is draining (deploy, scale-in): reconnect, to another instance.',
  INVALID_UTF8: 'A text frame that is not valid UTF-8 (required by the WebSocket standard).',
  TOO_BIG: 'A frame over the limit (256 KiB by default): send smaller pushes.',
  PROTOCOL_VIOLATION: 'Protocol violation: a burst of invalid messages.',
  TOKEN_EXPIRED: 'The token expired without `auth`, or `auth` named another user: reconnect with a fresh token.',
  TOO_MANY: 'Too many sockets for the user or the instance, or too many messages a second: back off, reconnect.',
  SLOW_CONSUMER: 'The client read too slowly: reconnect and subscribe from the last sequence.',
};

/** The literal `type` of a message schema. */
const typeOf = (schema: TSchema): MessageType => (schema.properties as { type: { const: MessageType } }).type.const;

/**
 * A TypeBox schema as an AsyncAPI (JSON Schema draft 7) schema: component refs point into the
 * document, `$id`s go (the document names them), and OpenAPI's discriminator object becomes
 * AsyncAPI's discriminator property name.
 */
function toAsyncApi(value: unknown, refs: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => toAsyncApi(v, refs));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$id') continue;
    if (key === '$ref' && typeof v === 'string') {
      refs.add(v);
      out.$ref = `#/components/schemas/${v}`;
    } else if (key === 'discriminator' && typeof v === 'object' && v !== null) {
      out.discriminator = (v as { propertyName: string }).propertyName;
    } else out[key] = toAsyncApi(v, refs);
  }
  return out;
}

/** The document as an object. */
export function asyncApiDocument(components: TSchema[] = SOCKET_COMPONENTS): Json {
  const byName = new Map(components.map((c) => [c.$id as string, c]));
  const schemas: Json = {};
  const pending = [...CLIENT_MESSAGES, ...SERVER_MESSAGES].map((m) => m.$id as string);
  const seen = new Set<string>();
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const schema = byName.get(name);
    if (!schema) throw new Error(`no schema component named ${name}`);
    const refs = new Set<string>();
    schemas[name] = toAsyncApi(schema, refs);
    pending.push(...refs);
  }
  const messageRef = (schema: TSchema) => ({ $ref: `#/channels/sync/messages/${typeOf(schema)}` });
  const messages: Json = {};
  for (const schema of [...CLIENT_MESSAGES, ...SERVER_MESSAGES]) {
    const type = typeOf(schema);
    messages[type] = { name: type, title: schema.$id, summary: SUMMARIES[type], payload: { $ref: `#/components/schemas/${schema.$id}` } };
  }
  const server = (type: ServerMessage['type']) => messageRef(SERVER_MESSAGES.find((s) => typeOf(s) === type) as TSchema);
  const replies: Record<ClientMessage['type'], ServerMessage['type'][]> = {
    subscribe: ['subscribed', 'events', 'resync', 'error'],
    unsubscribe: ['unsubscribed', 'error'],
    push: ['pushResult', 'error'],
    auth: ['authOk', 'error'],
    ping: ['pong'],
  };
  const operations: Json = {};
  for (const schema of CLIENT_MESSAGES) {
    const type = typeOf(schema) as ClientMessage['type'];
    operations[`receive${type[0]?.toUpperCase()}${type.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: '#/channels/sync' },
      summary: SUMMARIES[type],
      messages: [messageRef(schema)],
      reply: { channel: { $ref: '#/channels/sync' }, messages: replies[type].map(server) },
    };
  }
  operations.sendStream = {
    action: 'send',
    channel: { $ref: '#/channels/sync' },
    summary: 'What the server sends on its own: the greeting, the stream and notices.',
    messages: (['hello', 'events', 'revoked', 'membership', 'error'] as const).map(server),
  };
  const closeRows = Object.entries(CLOSE_CODES).map(([name, code]) => `| ${code} | ${CLOSE_MEANINGS[name as keyof typeof CLOSE_CODES]} |`);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'budget-sync socket',
      version: String(PROTOCOL_VERSION),
      description:
        'The live stream and pushes over one WebSocket per device (docs/protocol.md "The socket"). Generated from the ' +
        "server's message schemas by `npm run docs`: do not edit. The HTTP API is docs/openapi.json.",
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: `localhost:${ConfigSchema.properties.PORT.default}`,
        protocol: 'ws',
        description: 'The server as `npm run dev` starts it; deployments answer `wss` on their own host.',
        security: [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/subprotocol' }],
      },
    },
    channels: {
      sync: {
        address: '/sync',
        title: 'The socket',
        description: [
          `Every frame is one JSON text message with a \`type\`. Subprotocol: \`${SOCKET_PROTOCOL}\` (the server selects it).`,
          'The server pings with WebSocket ping frames every `heartbeatMs`; a peer that does not answer is dropped.',
          'An `error` message precedes a close where possible. Close codes:',
          '',
          '| code | meaning |',
          '|---|---|',
          ...closeRows,
        ].join('\n'),
        messages,
        bindings: {
          ws: {
            method: 'GET',
            headers: {
              type: 'object',
              properties: {
                Authorization: { type: 'string', description: '`Bearer <Firebase ID token>` (clients that can set headers)' },
                'Sec-WebSocket-Protocol': {
                  type: 'string',
                  description: `\`${SOCKET_PROTOCOL}, ${BEARER_PROTOCOL_PREFIX}<token>\` (browsers, which cannot set headers)`,
                },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
        'x-close-codes': Object.entries(CLOSE_CODES).map(([name, code]) => ({
          code,
          name,
          meaning: CLOSE_MEANINGS[name as keyof typeof CLOSE_CODES],
        })),
        'x-subprotocol': SOCKET_PROTOCOL,
      },
    },
    operations,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'Firebase ID token',
          description: 'The `Authorization` header of the upgrade request; a bad token refuses the upgrade with 401.',
        },
        subprotocol: {
          type: 'httpApiKey',
          name: 'Sec-WebSocket-Protocol',
          in: 'header',
          description: `For browsers: the subprotocol list \`["${SOCKET_PROTOCOL}", "${BEARER_PROTOCOL_PREFIX}<token>"]\`; the server selects \`${SOCKET_PROTOCOL}\` and never echoes the token.`,
        },
      },
    },
  };
}

/** docs/asyncapi.yaml's text. */
export function asyncApiYaml(components: TSchema[] = SOCKET_COMPONENTS): string {
  return `# Generated by \`npm run docs\` from src/protocol/socket.ts: do not edit.\n${stringify(asyncApiDocument(components), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
