/**
 * The OpenAPI document (`GET /openapi.json`, committed as docs/openapi.json by `npm run docs`):
 * @fastify/swagger builds it from the route schemas; the named schemas are registered here once, so
 * fastify serializes responses with them and the document lists them under `components.schemas` by
 * their protocol names.
 */
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { ConfigSchema } from '../config/schema.js';
import { PUSH_EVENT_COMPONENTS, PushEvent, PushRequest } from '../protocol/events.js';
import { registerComponents } from './responses.js';
import { PushBody } from './schemas.js';

/**
 * Bodies the server checks more loosely than the contract says, documented as the contract:
 * `POST /events` checks only the envelope so that a bad event is a `rejected` result, but a client
 * should send the events of the contract.
 */
const DOCUMENTED_BODIES = new Map<unknown, unknown>([[PushBody, { $ref: 'PushRequest' }]]);

const TAGS = [
  { name: 'budgets', description: 'Creating budgets and reading them: pages, snapshots, summaries.' },
  { name: 'records', description: 'The live records of a budget: participants, categories, expenses.' },
  { name: 'events', description: 'Pushing events and reading the change stream (long-poll).' },
  { name: 'membership', description: 'Invites, joining, leaving, removal and ownership.' },
  { name: 'users', description: 'The caller, public profiles and profile photos.' },
  { name: 'operations', description: 'Health, readiness, metrics and this document: no token.' },
];

/**
 * A success answer without a description of its own is described by the operation's summary
 * (@fastify/swagger would write "Default Response", which a generated client shows as its doc).
 */
function described(schema: { summary?: unknown; response?: unknown }): unknown {
  const response = schema.response as Record<string, { description?: string }> | undefined;
  if (!response || typeof schema.summary !== 'string') return response;
  const summary = schema.summary;
  return Object.fromEntries(
    Object.entries(response).map(([status, r]) => [
      status,
      status.startsWith('2') && r.description === undefined ? { ...r, description: summary } : r,
    ]),
  );
}

export const openApiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'budget-sync',
      version: '1',
      description:
        'Real-time sync server for offline-first budgeting apps. The live stream is a WebSocket (`GET /sync`), described by ' +
        'docs/asyncapi.yaml; the protocol in prose is docs/protocol.md, the error codes docs/errors.md.',
      license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
    },
    servers: [
      {
        url: '{origin}',
        description: 'Where the server runs (scheme, host and port).',
        variables: { origin: { default: `http://localhost:${ConfigSchema.properties.PORT.default}` } },
      },
    ],
    tags: TAGS,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'Firebase ID token' } } },
    security: [{ bearer: [] }],
  },
  // Components keep their protocol names (the default would be def-0, def-1, …).
  refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  transform: ({ schema, url }) => {
    if (!schema) return { schema, url } as never;
    const body = schema.body === undefined ? undefined : DOCUMENTED_BODIES.get(schema.body);
    return { schema: { ...schema, ...(body === undefined ? {} : { body }), response: described(schema) }, url } as never;
  },
};

/** Registers the named schemas and the document; call before any route is added. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  registerComponents(app, [...PUSH_EVENT_COMPONENTS, PushEvent, PushRequest]);
  await app.register(swagger, openApiOptions);
}
