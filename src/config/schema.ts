import { Type, type Static } from '@sinclair/typebox';

/** The `dev` token secret everyone can read here: refused unless the server listens on loopback only. */
export const DEFAULT_DEV_AUTH_SECRET = 'insecure-dev-secret-change-me';

/**
 * Every setting the server reads, with its type, default and meaning. This schema is the single
 * source of truth: `src/config/load.ts` is the only reader of the environment, and the README's table
 * is generated from it (`npm run docs`; a test keeps them in step). `secret: true` marks a setting
 * whose value is never printed, not even when it is invalid.
 */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
    description: '`production` refuses the `dev` and `emulator` auth modes and the embedded Postgres.',
  }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface to listen on (`0.0.0.0` in containers).' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP and WebSocket port.' }),
  LISTEN_BACKLOG: Type.Integer({
    minimum: 1,
    default: 4096,
    description:
      "Pending connections the kernel queues for the port (capped by net.core.somaxconn). Node's 511 overflowed in a 5,000-socket reconnect storm: dropped handshakes wait 1, 3, 7 s for SYN retransmits.",
  }),
  METRICS_PORT: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 65535,
      description:
        'Serve `/metrics` on this port only — an internal listener on `HOST` — and not on `PORT`, so publishing the API does not publish metrics. Unset: `/metrics` is on `PORT`.',
    }),
  ),
  METRICS_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      secret: true,
      description:
        'When set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>` (Prometheus `authorization: {credentials: …}`); use a long random value.',
    }),
  ),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level.' },
  ),

  DATABASE_URL: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'Postgres connection string. Unset: an embedded Postgres is started under `EMBEDDED_PG_DIR` and migrated.',
    }),
  ),
  DATABASE_POOL_MAX: Type.Integer({
    minimum: 1,
    maximum: 200,
    default: 10,
    description:
      'Request connections per instance; the fan-out adds 6 of its own (4 log readers, 1 notifier, 1 LISTEN). More do not add write throughput (commits serialise per budget).',
  }),
  DATABASE_MIGRATE: Type.Boolean({
    default: false,
    description: 'Apply migrations at start. Always on for the embedded Postgres; deployments run `npm run migrate` instead.',
  }),
  EMBEDDED_PG_DIR: Type.String({ default: '.data/postgres', description: 'Data folder of the embedded Postgres.' }),
  EMBEDDED_PG_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 54329, description: 'Port of the embedded Postgres.' }),

  AUTH_MODE: Type.Optional(
    Type.Union([Type.Literal('firebase'), Type.Literal('emulator'), Type.Literal('dev')], {
      description:
        'Token verifier. Default: `emulator` when `FIREBASE_AUTH_EMULATOR_HOST` is set, else `firebase` when `FIREBASE_PROJECT_ID` is set, else `dev`.',
    }),
  ),
  FIREBASE_PROJECT_ID: Type.Optional(Type.String({ minLength: 1, description: 'Firebase project whose ID tokens are accepted.' })),
  FIREBASE_SERVICE_ACCOUNT_BASE64: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'Service-account JSON, base64 (standard or URL-safe). Optional: verification needs only the project id.',
    }),
  ),
  FIREBASE_AUTH_EMULATOR_HOST: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        '`host:port` of the Firebase Auth emulator (read by firebase-admin too). It accepts unsigned tokens: refused in production, whatever `AUTH_MODE` says.',
    }),
  ),
  FIREBASE_CHECK_REVOKED: Type.Boolean({
    default: false,
    description: 'Ask Firebase whether a token was revoked when it is first seen (a network call per new token).',
  }),
  DEV_AUTH_SECRET: Type.String({
    minLength: 16,
    default: DEFAULT_DEV_AUTH_SECRET,
    secret: true,
    description:
      'HMAC secret of `dev` tokens (`npm run token -- <uid>`): whoever knows it signs in as anyone. `dev` mode is refused in production, and with this default unless `HOST` is a loopback address.',
  }),
  TOKEN_CACHE_SIZE: Type.Integer({ minimum: 0, default: 10000, description: 'Verified tokens kept in memory until they expire.' }),

  CORS_ORIGINS: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Browser origins allowed, comma-separated; `*` stands for a port or a first label (`http://localhost:*`), alone for any. Unset: localhost and 127.0.0.1 outside production, none in production.',
    }),
  ),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest accepted HTTP body (413 above).' }),
  PARTICIPANT_LIMIT: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Most participants a budget may have.' }),
  INVITE_TTL_SECONDS: Type.Integer({ minimum: 60, default: 604800, description: 'Default lifetime of an invite token (7 days).' }),
  RATE_LIMIT_MAX: Type.Integer({
    minimum: 1,
    default: 600,
    description: 'HTTP requests per user (or IP when unauthenticated) per window.',
  }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60000, description: 'HTTP rate-limit window.' }),
  RATE_LIMIT_AUTH_FAILURES_MAX: Type.Integer({
    minimum: 1,
    default: 60,
    description:
      'Failed authentications (no, bad or expired token) per client address per window; past it the address gets 429 before any token is checked, so guessing is bounded.',
  }),
  TRUST_PROXY: Type.Optional(
    Type.String({
      pattern: '^(true|[0-9]+|[0-9A-Fa-f:./]+(, *[0-9A-Fa-f:./]+)*)$',
      description:
        "Whose `X-Forwarded-For` names the client (its address is what per-address limits count): a number of proxy hops (`1` behind one load balancer), or your proxies' addresses/CIDRs, comma-separated; `true` believes any sender. Unset: the peer address counts.",
    }),
  ),
  LONGPOLL_MAX_WAIT_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 60, description: 'Upper bound of `GET /events?wait=`.' }),

  WS_MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 1024, default: 262144, description: 'Largest socket frame (close 1009 above).' }),
  WS_HEARTBEAT_MS: Type.Integer({ minimum: 1000, default: 25000, description: 'Ping interval; a peer that misses one ping is dropped.' }),
  WS_HIGH_WATER_BYTES: Type.Integer({
    minimum: 1024,
    default: 1048576,
    description: 'Stop sending to a socket whose send buffer passes this.',
  }),
  WS_HARD_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    default: 8388608,
    description: 'Close a socket (4503) whose send buffer passes this.',
  }),
  WS_SLOW_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    default: 30000,
    description: 'Close a socket (4503) that stays above the high-water mark this long.',
  }),
  WS_MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 50000, description: 'Sockets per instance (4429 above).' }),
  WS_MAX_CONNECTIONS_PER_USER: Type.Integer({ minimum: 1, default: 20, description: 'Sockets per user per instance (4429 above).' }),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: Type.Integer({
    minimum: 1,
    default: 100,
    description:
      'Budgets one socket may follow at once; a `subscribe` past it answers `error TOO_MANY_SUBSCRIPTIONS` (the socket stays open). Raise it if your users are in more budgets.',
  }),
  WS_MAX_MESSAGES_PER_SECOND: Type.Integer({
    minimum: 1,
    default: 50,
    description: 'Client messages per socket per second, averaged over 5 s (4429 above).',
  }),

  NOTIFY_CHANNEL: Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: '^[a-z_][a-z0-9_]*$',
    default: 'budget_sync',
    description: 'LISTEN/NOTIFY channel shared by all instances.',
  }),
  SAFETY_POLL_MS: Type.Integer({
    minimum: 100,
    default: 2000,
    description: 'How often subscribed budgets are compared with the log, in case a NOTIFY was lost.',
  }),
  LISTENER_HEARTBEAT_MS: Type.Integer({
    minimum: 100,
    default: 1000,
    description: 'Heartbeat NOTIFY interval; the listener is rebuilt after 3 missed heartbeats.',
  }),

  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10000, description: 'Time in-flight requests get after SIGTERM.' }),

  S3_BUCKET: Type.Optional(
    Type.String({ minLength: 1, description: 'Photo bucket. Unset: photo routes answer 503 `STORAGE_NOT_CONFIGURED`.' }),
  ),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'Region of the bucket.' }),
  S3_ENDPOINT: Type.Optional(Type.String({ minLength: 1, description: 'Endpoint of an S3-compatible store (MinIO, R2, …).' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false, description: 'Path-style bucket addressing (most S3-compatible stores).' }),
  CDN_BASE_URL: Type.Optional(
    Type.String({
      minLength: 1,
      description: "Public base URL that serves the bucket's `public/` prefix (CloudFront origin path `/public`).",
    }),
  ),
  PHOTO_UPLOAD_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 900, description: 'Lifetime of a presigned upload URL.' }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;
